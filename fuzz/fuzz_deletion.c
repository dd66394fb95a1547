/* Fuzzes store_deletion_parse(): a decrypted record of a unit's deletion
 * log or erasure ledger, JSON (docs/format.md sections 10 and 10.1). */

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
	    (strcmp(d->action, "forget") != 0 && strcmp(d->action, "prune") != 0 &&
	     strcmp(d->action, "erase") != 0)) {
		fprintf(stderr, "fuzz_deletion: parse succeeded with an incomplete record\n");
		abort();
	}
	/* An erase record and only it carries what it erases, complete. */
	if ((strcmp(d->action, "erase") == 0) != (d->erase != NULL) ||
	    (d->erase && (d->erase->request == NULL || d->erase->cutoff < 0 ||
			  (d->erase->npatterns && d->erase->patterns == NULL) ||
			  (d->erase->nkeys && d->erase->keys == NULL)))) {
		fprintf(stderr, "fuzz_deletion: an erase record without its erasure, or the reverse\n");
		abort();
	}
	for (i = 0; d->erase && i < d->erase->npatterns; i++)
		if (d->erase->patterns[i] == NULL) {
			fprintf(stderr, "fuzz_deletion: a NULL pattern\n");
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
