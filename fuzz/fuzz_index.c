/* Fuzzes index_parse_body(): a decrypted index segment body
 * (docs/format.md section 6). A body it accepts must have the length its
 * header announces. */

#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

#include "lib/buf.h"
#include "lib/error.h"
#include "store/index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err;
	uint64_t need;

	error_init(&err);
	if (index_parse_body(data, size, "fuzz", &err) < 0)
		return 0;
	need = 16 + (uint64_t)get_u32(data) * 32 + (uint64_t)get_u32(data + 4) * 48 +
	       (uint64_t)get_u32(data + 8) * 32;
	if (need != size) {
		fprintf(stderr, "fuzz_index: accepted a body of %zu bytes, header says %llu\n", size,
			(unsigned long long)need);
		abort();
	}
	return 0;
}
