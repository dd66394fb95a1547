/* Fuzzes store_deletion_pub_parse(): the plaintext "deletion-key" object
 * of a store (docs/format.md section 9). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#include "lib/error.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_deletion_pub k;
	struct error err;
	size_t i;

	error_init(&err);
	if (store_deletion_pub_parse(data, size, "fuzz", &k, &err) < 0) {
		if (k.tombstones != NULL || k.hashes != NULL || k.ntombstones != 0) {
			fprintf(stderr, "fuzz_deletion_key: failed parse left tombstones\n");
			abort();
		}
		return 0;
	}
	for (i = 0; i < k.ntombstones; i++) {
		/* "units/<32 hex>/forgotten/<10 digits>", sorted */
		if (strlen(k.tombstones[i]) != 6 + 32 + 11 + 10 ||
		    (i > 0 && strcmp(k.tombstones[i - 1], k.tombstones[i]) > 0)) {
			fprintf(stderr, "fuzz_deletion_key: bad tombstone name %s\n", k.tombstones[i]);
			abort();
		}
	}
	store_deletion_pub_clear(&k);
	return 0;
}
