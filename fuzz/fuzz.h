#ifndef COFFER_FUZZ_H
#define COFFER_FUZZ_H

/* Shared by the libFuzzer targets and the seed generator: the entry point
 * libFuzzer calls, and the fixed keys under which the seeds are sealed so
 * that the targets can open them. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Every sealed object ('U', 'I', 'R') is sealed under 32 bytes of 0x42. */
#define FUZZ_SEAL_KEY_BYTE 0x42
/* The key-file key source: 32 bytes of 0x5a. */
#define FUZZ_KEYFILE_BYTE 0x5a
#define FUZZ_KEYFILE_LEN 32

static inline void fuzz_seal_key(uint8_t key[32]) { memset(key, FUZZ_SEAL_KEY_BYTE, 32); }
static inline void fuzz_keyfile(uint8_t secret[FUZZ_KEYFILE_LEN])
{
	memset(secret, FUZZ_KEYFILE_BYTE, FUZZ_KEYFILE_LEN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
