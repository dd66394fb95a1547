/* Fuzzes rp_tombstone_parse(): a decrypted tombstone of a forgotten
 * restore point, JSON (docs/format.md section 7.1). */

#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

#include "lib/error.h"
#include "store/rp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err;
	struct rp_tombstone *t = NULL;

	error_init(&err);
	if (rp_tombstone_parse(data, size, "fuzz", &t, &err) < 0) {
		if (t != NULL) {
			fprintf(stderr, "fuzz_tombstone: failed parse returned a tombstone\n");
			abort();
		}
		return 0;
	}
	if (t == NULL || t->unit == NULL || t->seq == 0) {
		fprintf(stderr, "fuzz_tombstone: parse succeeded with an incomplete tombstone\n");
		abort();
	}
	rp_tombstone_free(&t);
	return 0;
}
