/* Fuzzes store_deletion_parse(): a decrypted record of a unit's deletion
 * log, JSON (docs/format.md section 10). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#include "lib/error.h"
#include "store/deletion.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err;
	struct store_deletion *d = NULL;
	size_t i;

	error_init(&err);
	if (store_deletion_parse(data, size, "fuzz", &d, &err) < 0) {
		if (d != NULL) {
			fprintf(stderr, "fuzz_deletion: failed parse returned a record\n");
			abort();
		}
		return 0;
	}
	if (d == NULL || d->action == NULL || d->unit == NULL || d->host == NULL ||
	    d->tool == NULL || d->time_ns <= 0 || d->name != NULL ||
	    (strcmp(d->action, "forget") != 0 && strcmp(d->action, "prune") != 0)) {
		fprintf(stderr, "fuzz_deletion: parse succeeded with an incomplete record\n");
		abort();
	}
	for (i = 0; i < d->nseqs; i++)
		if (d->seqs[i] == 0) {
			fprintf(stderr, "fuzz_deletion: seq 0 accepted\n");
			abort();
		}
	store_deletion_free(&d);
	return 0;
}
