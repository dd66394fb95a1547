/* Fuzzes rp_parse(): a decrypted restore point, JSON (docs/format.md
 * section 7). */

#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

#include "lib/error.h"
#include "store/rp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err;
	struct rp *rp = NULL;

	error_init(&err);
	if (rp_parse(data, size, "fuzz", &rp, &err) < 0) {
		if (rp != NULL) {
			fprintf(stderr, "fuzz_rp: failed parse returned a restore point\n");
			abort();
		}
		return 0;
	}
	if (rp == NULL || rp->unit == NULL || rp->host == NULL || rp->source == NULL ||
	    rp->seq == 0 || (rp->nmeta > 0 && rp->meta == NULL)) {
		fprintf(stderr, "fuzz_rp: parse succeeded with an incomplete restore point\n");
		abort();
	}
	rp_free(&rp);
	return 0;
}
