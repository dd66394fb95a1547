/* Fuzzes store_destroyed_parse(): the plaintext "destroyed/<uid>" record of
 * a destroyed unit (docs/format.md section 11). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#include "lib/error.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char uid[] = "0123456789abcdef0123456789abcdef";
	struct store_destroyed d;
	struct error err;
	uint8_t sig[64];

	error_init(&err);
	if (store_destroyed_parse((const char *)data, size, uid, "fuzz", &d, sig, &err) < 0) {
		if (d.host != NULL || d.tool != NULL || err.msg[0] == '\0') {
			fprintf(stderr, "fuzz_destroyed: a failed parse left fields or no message\n");
			abort();
		}
		return 0;
	}
	if (d.time <= 0 || d.host == NULL || d.tool == NULL || strchr(d.host, ' ') ||
	    strchr(d.tool, '\n')) {
		fprintf(stderr, "fuzz_destroyed: a record without its fields was taken\n");
		abort();
	}
	store_destroyed_clear(&d);
	return 0;
}
