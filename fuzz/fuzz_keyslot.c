/* Fuzzes keyslot_open() (docs/format.md section 3.1) with a key-file key
 * source of 32 bytes of 0x5a. Slots that ask for Argon2id (byte 8 = 1) are
 * skipped: the KDF would take the fuzzer's memory and time, with limits
 * taken from the input. Also checks that a slot made by keyslot_create()
 * for the first 64 bytes of the input opens back to them. */

#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

#include "crypto/seal.h"
#include "lib/error.h"

static void roundtrip(const struct keysource *src, const uint8_t *master)
{
	uint8_t slot[KEYSLOT_LEN], opened[MASTER_KEY_LEN];
	struct error err;
	int ret;

	error_init(&err);
	if (keyslot_create(master, src, slot, &err) < 0) {
		fprintf(stderr, "fuzz_keyslot: keyslot_create failed: %s\n", err.msg);
		abort();
	}
	ret = keyslot_open(slot, sizeof(slot), src, "fuzz", opened, &err);
	if (ret != 1 || memcmp(opened, master, MASTER_KEY_LEN) != 0) {
		fprintf(stderr, "fuzz_keyslot: a new key-file slot does not open (%d): %s\n", ret,
			err.msg);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t secret[FUZZ_KEYFILE_LEN], master[MASTER_KEY_LEN];
	struct keysource src = { KEYSLOT_KEYFILE, secret, sizeof(secret) };
	struct keysource shortsrc = { KEYSLOT_KEYFILE, secret, 16 };
	struct error err;
	int ret;

	if (size > 8 && data[8] == KEYSLOT_ARGON2ID)
		return 0;
	fuzz_keyfile(secret);
	error_init(&err);
	ret = keyslot_open(data, size, &src, "fuzz", master, &err);
	if (ret < -1 || ret > 1)
		abort();
	if (ret == 1 && (size != KEYSLOT_LEN || data[8] != KEYSLOT_KEYFILE)) {
		fprintf(stderr, "fuzz_keyslot: opened a slot of %zu bytes, kdf %u\n", size,
			size > 8 ? data[8] : 0);
		abort();
	}
	/* A key file that is too short must be refused, never used. */
	error_init(&err);
	ret = keyslot_open(data, size, &shortsrc, "fuzz", master, &err);
	if (ret == 1)
		abort();
	if (size >= MASTER_KEY_LEN)
		roundtrip(&src, data);
	return 0;
}
