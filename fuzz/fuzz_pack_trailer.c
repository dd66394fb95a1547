/* Fuzzes pack_parse_trailer(): a decrypted pack trailer body
 * (docs/format.md section 5). Accepted entries must be the bytes of the
 * input. */

#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

#include "lib/buf.h"
#include "lib/error.h"
#include "store/pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pack_entry *entries = NULL;
	struct error err;
	size_t n = 0, i;

	error_init(&err);
	if (pack_parse_trailer(data, size, "fuzz", &entries, &n, &err) < 0) {
		if (entries != NULL || n != 0)
			abort();
		return 0;
	}
	if (entries == NULL || size != 4 + n * 48 || get_u32(data) != n) {
		fprintf(stderr, "fuzz_pack_trailer: accepted %zu entries from %zu bytes\n", n, size);
		abort();
	}
	for (i = 0; i < n; i++) {
		const uint8_t *p = data + 4 + i * 48;

		if (memcmp(entries[i].id, p, 32) != 0 || entries[i].offset != get_u32(p + 32) ||
		    entries[i].len_flags != get_u32(p + 36) || entries[i].raw_len != get_u32(p + 40)) {
			fprintf(stderr, "fuzz_pack_trailer: entry %zu does not match its bytes\n", i);
			abort();
		}
	}
	free(entries);
	return 0;
}
