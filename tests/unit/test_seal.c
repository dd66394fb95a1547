/* Sealed objects and key slots (src/crypto/seal.h, docs/format.md 3.1 and
 * 3.2). */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/seal.h"
#include "lib/buf.h"
#include "lib/error.h"

#include "harness.h"

#define WHAT "units/0123456789abcdef0123456789abcdef/index/42"

static void test_seal_roundtrip(void)
{
	static const enum seal_type types[] = { SEAL_UNIT_KEY, SEAL_INDEX, SEAL_RESTORE_POINT };
	static const size_t lens[] = { 0, 1, 1000, 70000 };
	uint8_t key[32], *body = th_random(40, 70000);
	struct buf sealed, sealed2, out;
	struct error err;
	size_t t, i;

	buf_init(&sealed, 0);
	buf_init(&sealed2, 0);
	buf_init(&out, 1 << 20);
	th_fill(41, key, sizeof(key));
	for (t = 0; t < 3; t++) {
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			size_t len = lens[i];

			buf_reset(&sealed);
			buf_reset(&out);
			seal_object(key, types[t], body, len, &sealed);
			CHECK(sealed.len == SEAL_HEADER_LEN + len + CRYPTO_TAG_LEN);
			CHECK(memcmp(sealed.data, "COFFER", 6) == 0);
			CHECK(sealed.data[6] == (uint8_t)types[t] && sealed.data[7] == SEAL_VERSION);
			CHECK_OK(seal_open(key, types[t], sealed.data, sealed.len, WHAT, &out, &err),
				 &err);
			CHECKF(out.len == len && memcmp(out.data, body, len) == 0,
			       "type %c, %zu bytes: body differs after seal/open", types[t], len);
			CHECK(out.data[out.len] == '\0');
		}
	}
	/* A fresh salt per object: the same body seals differently. */
	buf_reset(&sealed);
	seal_object(key, SEAL_INDEX, body, 100, &sealed);
	seal_object(key, SEAL_INDEX, body, 100, &sealed2);
	CHECK(sealed.len == sealed2.len && memcmp(sealed.data + 8, sealed2.data + 8, 32) != 0);
	CHECK(memcmp(sealed.data + SEAL_HEADER_LEN, sealed2.data + SEAL_HEADER_LEN, 100) != 0);
	/* The type is part of the object: an index segment is not a restore point. */
	CHECK_FAILS(seal_open(key, SEAL_RESTORE_POINT, sealed.data, sealed.len, WHAT, &out, &err),
		    &err, ERROR_CORRUPT);
out:
	buf_clear(&sealed);
	buf_clear(&sealed2);
	buf_clear(&out);
	free(body);
}

static void test_seal_wrong_key(void)
{
	uint8_t key[32], other[32];
	struct buf sealed, out;
	struct error err;

	buf_init(&sealed, 0);
	buf_init(&out, 0);
	th_fill(50, key, sizeof(key));
	memcpy(other, key, sizeof(other));
	other[31] ^= 1;
	seal_object(key, SEAL_RESTORE_POINT, "{\"format\":1}", 12, &sealed);
	CHECK_FAILS(seal_open(other, SEAL_RESTORE_POINT, sealed.data, sealed.len, WHAT, &out, &err),
		    &err, ERROR_CORRUPT);
	CHECKF(strstr(err.msg, WHAT) != NULL, "message does not name the object: %s", err.msg);
	CHECK(out.len == 0);
out:
	buf_clear(&sealed);
	buf_clear(&out);
}

static void test_seal_damaged(void)
{
	uint8_t key[32];
	struct buf sealed, out;
	struct error err;
	size_t i;

	buf_init(&sealed, 0);
	buf_init(&out, 0);
	th_fill(55, key, sizeof(key));
	seal_object(key, SEAL_INDEX, "index body", 10, &sealed);
	/* Every byte of salt, body and tag is authenticated. */
	for (i = 8; i < sealed.len; i++) {
		sealed.data[i] ^= 0x10;
		CHECK_FAILS(seal_open(key, SEAL_INDEX, sealed.data, sealed.len, WHAT, &out, &err), &err,
			    ERROR_CORRUPT);
		sealed.data[i] ^= 0x10;
	}
	sealed.data[0] = 'X';
	CHECK_FAILS(seal_open(key, SEAL_INDEX, sealed.data, sealed.len, WHAT, &out, &err), &err,
		    ERROR_CORRUPT);
	sealed.data[0] = 'C';
	for (i = 0; i < SEAL_HEADER_LEN + CRYPTO_TAG_LEN; i++)
		CHECK_FAILS(seal_open(key, SEAL_INDEX, sealed.data, i, WHAT, &out, &err), &err,
			    ERROR_CORRUPT);
	CHECK_OK(seal_open(key, SEAL_INDEX, sealed.data, sealed.len, WHAT, &out, &err), &err);
out:
	buf_clear(&sealed);
	buf_clear(&out);
}

/* docs/format.md: a reader refuses an object whose version is newer than it
 * knows, naming the object. */
static void test_seal_newer_version(void)
{
	uint8_t key[32];
	struct buf sealed, out;
	struct error err;

	buf_init(&sealed, 0);
	buf_init(&out, 0);
	th_fill(60, key, sizeof(key));
	seal_object(key, SEAL_INDEX, "body", 4, &sealed);
	sealed.data[7] = 2;
	CHECK_FAILS(seal_open(key, SEAL_INDEX, sealed.data, sealed.len, WHAT, &out, &err), &err,
		    ERROR_VERSION);
	CHECKF(strstr(err.msg, WHAT) != NULL, "message does not name the object: %s", err.msg);
	CHECKF(strstr(err.msg, "version 2") != NULL, "message does not name the version: %s",
	       err.msg);
	CHECK_FAILS(seal_check_header(sealed.data, sealed.len, SEAL_INDEX, WHAT, &err), &err,
		    ERROR_VERSION);
out:
	buf_clear(&sealed);
	buf_clear(&out);
}

static void test_keyslot_keyfile(void)
{
	uint8_t master[MASTER_KEY_LEN], got[MASTER_KEY_LEN], slot[KEYSLOT_LEN], slot2[KEYSLOT_LEN];
	uint8_t file[64], wrong[64], zero[16] = { 0 };
	struct keysource right = { KEYSLOT_KEYFILE, file, sizeof(file) };
	struct keysource bad = { KEYSLOT_KEYFILE, wrong, sizeof(wrong) };
	struct keysource shortfile = { KEYSLOT_KEYFILE, file, 31 };
	struct keysource pass = { KEYSLOT_ARGON2ID, file, sizeof(file) };
	struct error err;

	th_fill(70, master, sizeof(master));
	th_fill(71, file, sizeof(file));
	memcpy(wrong, file, sizeof(wrong));
	wrong[63] ^= 0x80;
	CHECK_OK(keyslot_create(master, &right, slot, &err), &err);
	CHECK(memcmp(slot, "COFFERK\1", 8) == 0 && slot[8] == KEYSLOT_KEYFILE);
	CHECK(memcmp(slot + 16, zero, 16) == 0); /* no Argon2id parameters */
	CHECK(memcmp(slot + 48, master, sizeof(master)) != 0); /* not stored in clear */
	error_init(&err);
	memset(got, 0, sizeof(got));
	CHECKF(keyslot_open(slot, sizeof(slot), &right, "keys/a", got, &err) == 1,
	       "the right key file does not open the slot: %s", err.msg);
	CHECK(memcmp(got, master, sizeof(master)) == 0);
	CHECKF(keyslot_open(slot, sizeof(slot), &bad, "keys/a", got, &err) == 0,
	       "a wrong key file does not return 0: %s", err.msg);
	/* A slot for a passphrase is skipped without running the KDF. */
	CHECK(keyslot_open(slot, sizeof(slot), &pass, "keys/a", got, &err) == 0);
	/* Too short a key file is refused when creating and opening. */
	CHECK_FAILS(keyslot_create(master, &shortfile, slot2, &err), &err, ERROR_KEY);
	CHECK_FAILS(keyslot_open(slot, sizeof(slot), &shortfile, "keys/a", got, &err), &err,
		    ERROR_KEY);
	/* Two slots for the same key file differ (random salt), both open. */
	CHECK_OK(keyslot_create(master, &right, slot2, &err), &err);
	CHECK(memcmp(slot + 32, slot2 + 32, 16) != 0);
	CHECK(keyslot_open(slot2, sizeof(slot2), &right, "keys/b", got, &err) == 1);
	/* Damage anywhere in the slot header or ciphertext is not a key. */
	slot[40] ^= 1;
	CHECK(keyslot_open(slot, sizeof(slot), &right, "keys/a", got, &err) != 1);
	slot[40] ^= 1;
	CHECK_FAILS(keyslot_open(slot, sizeof(slot) - 1, &right, "keys/a", got, &err), &err,
		    ERROR_CORRUPT);
out:
	return;
}

/* Argon2id is slow on purpose (64 MiB, 3 passes): one slot, one test. */
static void test_keyslot_passphrase(void)
{
	static const char phrase[] = "correct horse battery staple";
	static const char other[] = "correct horse battery stapler";
	uint8_t master[MASTER_KEY_LEN], got[MASTER_KEY_LEN], slot[KEYSLOT_LEN];
	struct keysource right = { KEYSLOT_ARGON2ID, (const uint8_t *)phrase, sizeof(phrase) - 1 };
	struct keysource bad = { KEYSLOT_ARGON2ID, (const uint8_t *)other, sizeof(other) - 1 };
	struct error err;

	th_fill(80, master, sizeof(master));
	CHECK_OK(keyslot_create(master, &right, slot, &err), &err);
	CHECK(slot[8] == KEYSLOT_ARGON2ID);
	CHECK(get_u64(slot + 16) == 3 && get_u64(slot + 24) == 64ULL << 20);
	error_init(&err);
	CHECKF(keyslot_open(slot, sizeof(slot), &right, "keys/p", got, &err) == 1,
	       "the passphrase does not open its slot: %s", err.msg);
	CHECK(memcmp(got, master, sizeof(master)) == 0);
	CHECKF(keyslot_open(slot, sizeof(slot), &bad, "keys/p", got, &err) == 0,
	       "a wrong passphrase does not return 0: %s", err.msg);
out:
	return;
}

const struct unit_test seal_tests[] = {
	{ "seal: seal_object/seal_open roundtrip", test_seal_roundtrip },
	{ "seal: wrong key fails with ERROR_CORRUPT", test_seal_wrong_key },
	{ "seal: damaged or truncated object fails with ERROR_CORRUPT", test_seal_damaged },
	{ "seal: version 2 fails with ERROR_VERSION naming the object", test_seal_newer_version },
	{ "keyslot: key file opens its slot, a wrong one returns 0", test_keyslot_keyfile },
	{ "keyslot: Argon2id passphrase opens its slot, a wrong one returns 0",
	  test_keyslot_passphrase },
	{ NULL, NULL },
};
