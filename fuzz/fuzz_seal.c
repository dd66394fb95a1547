/* Fuzzes seal_open() and seal_check_header(): a sealed object
 * (docs/format.md section 3.2) under a fixed all-0x42 key, opened as each
 * of the types 'U', 'I' and 'R'. Also checks that sealing the input as a
 * body opens back to it. */

#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

#include "crypto/seal.h"
#include "lib/buf.h"
#include "lib/error.h"

#define ROUNDTRIP_MAX (64u << 10)

static const enum seal_type types[] = { SEAL_UNIT_KEY, SEAL_INDEX, SEAL_RESTORE_POINT };

static void roundtrip(const uint8_t key[32], enum seal_type type, const uint8_t *data,
		      size_t size)
{
	struct buf sealed, body;
	struct error err;

	error_init(&err);
	buf_init(&sealed, 0);
	buf_init(&body, 0);
	seal_object(key, type, data, size, &sealed);
	if (seal_open(key, type, sealed.data, sealed.len, "fuzz", &body, &err) < 0 ||
	    body.len != size || (size > 0 && memcmp(body.data, data, size) != 0)) {
		fprintf(stderr, "fuzz_seal: a sealed body of %zu bytes does not open back: %s\n",
			size, err.msg);
		abort();
	}
	buf_clear(&sealed);
	buf_clear(&body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum seal_type all[] = { SEAL_UNIT_KEY, SEAL_INDEX, SEAL_RESTORE_POINT,
					      SEAL_KEY_SLOT, SEAL_PACK };
	uint8_t key[32];
	struct error err;
	struct buf body;
	size_t i;

	fuzz_seal_key(key);
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		error_init(&err);
		(void)seal_check_header(data, size, all[i], "fuzz", &err);
	}
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		/* A buffer with a limit exercises the reserve failure too. */
		buf_init(&body, i == 0 ? 1024 : 0);
		error_init(&err);
		if (seal_open(key, types[i], data, size, "fuzz", &body, &err) == 0 &&
		    body.len != size - SEAL_HEADER_LEN - 16) {
			fprintf(stderr, "fuzz_seal: opened body has %zu bytes of %zu\n", body.len,
				size);
			abort();
		}
		buf_clear(&body);
	}
	if (size <= ROUNDTRIP_MAX)
		roundtrip(key, types[size % 3], data, size);
	return 0;
}
