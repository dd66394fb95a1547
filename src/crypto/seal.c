#include "seal.h"

#include <string.h>

#include "crypto/crypto.h"
#include "lib/buf.h"
#include "lib/error.h"

static const uint8_t seal_magic[6] = { 'C', 'O', 'F', 'F', 'E', 'R' };

static void seal_object_key(const uint8_t key[32], enum seal_type type, const uint8_t *salt,
			    uint8_t out[32])
{
	uint8_t label[7 + 32] = { 'o', 'b', 'j', 'e', 'c', 't', (uint8_t)type };

	memcpy(label + 7, salt, 32);
	crypto_hmac(key, label, sizeof(label), NULL, 0, out);
}

void seal_object(const uint8_t key[32], enum seal_type type, const void *body, size_t len,
		 struct buf *out)
{
	uint8_t header[SEAL_HEADER_LEN], okey[32], nonce[12];
	struct crypto_aead *aead = crypto_aead_new();

	memcpy(header, seal_magic, 6);
	header[6] = (uint8_t)type;
	header[7] = SEAL_VERSION;
	crypto_random(header + 8, 32);
	seal_object_key(key, type, header + 8, okey);
	crypto_aead_set_key(aead, okey);
	crypto_nonce(0, nonce);
	buf_add(out, header, sizeof(header));
	crypto_aead_seal(aead, nonce, header, sizeof(header), body, len,
			 buf_extend(out, len + CRYPTO_TAG_LEN));
	crypto_wipe(okey, sizeof(okey));
	crypto_aead_free(&aead);
}

int seal_check_header(const uint8_t *data, size_t len, enum seal_type type, const char *what,
		      struct error *err)
{
	if (len < 8 || memcmp(data, seal_magic, 6) != 0)
		return error_setk(err, ERROR_CORRUPT, "%s is not a coffer object (bad magic)", what);
	if (data[6] != (uint8_t)type)
		return error_setk(err, ERROR_CORRUPT, "%s has object type '%c', expected '%c'",
				  what, data[6] >= 32 && data[6] < 127 ? data[6] : '?', type);
	if (data[7] > SEAL_VERSION)
		return error_setk(err, ERROR_VERSION,
				  "%s has format version %u; this coffer reads version %u only",
				  what, data[7], SEAL_VERSION);
	if (data[7] == 0)
		return error_setk(err, ERROR_CORRUPT, "%s has format version 0", what);
	return 0;
}

int seal_open(const uint8_t key[32], enum seal_type type, const uint8_t *data, size_t len,
	      const char *what, struct buf *body, struct error *err)
{
	uint8_t okey[32], nonce[12];
	struct crypto_aead *aead;
	size_t ptlen;
	int ret;

	if (seal_check_header(data, len, type, what, err) < 0)
		return -1;
	if (len < SEAL_HEADER_LEN + CRYPTO_TAG_LEN)
		return error_setk(err, ERROR_CORRUPT, "%s is truncated (%zu bytes)", what, len);
	ptlen = len - SEAL_HEADER_LEN - CRYPTO_TAG_LEN;
	if (buf_reserve(body, ptlen, err) < 0)
		return error_prefix(err, "%s", what);
	seal_object_key(key, type, data + 8, okey);
	aead = crypto_aead_new();
	crypto_aead_set_key(aead, okey);
	crypto_nonce(0, nonce);
	ret = crypto_aead_open(aead, nonce, data, SEAL_HEADER_LEN, data + SEAL_HEADER_LEN,
			       len - SEAL_HEADER_LEN, body->data + body->len);
	crypto_wipe(okey, sizeof(okey));
	crypto_aead_free(&aead);
	if (ret < 0)
		return error_setk(err, ERROR_CORRUPT,
				  "%s failed authentication (damaged, or not written with this key)",
				  what);
	body->len += ptlen;
	body->data[body->len] = '\0';
	return 0;
}

static int keyslot_kek(const uint8_t *header, const struct keysource *src, uint8_t kek[32],
		       struct error *err)
{
	const uint8_t *salt = header + 32;

	if (src->kdf == KEYSLOT_KEYFILE) {
		/* The salt is 16 bytes but crypto_hmac() takes a 32-byte key: pad
		 * with zeros, which HMAC does anyway, so this is HMAC(salt, ...). */
		uint8_t hkey[32] = { 0 };

		if (src->len < 32)
			return error_setk(err, ERROR_KEY, "key file is %zu bytes; at least 32 needed",
					  src->len);
		memcpy(hkey, salt, 16);
		crypto_hmac(hkey, src->secret, src->len, NULL, 0, kek);
		return 0;
	}
	return crypto_argon2id((const char *)src->secret, src->len, salt, get_u64(header + 16),
			       get_u64(header + 24), kek, err);
}

int keyslot_create(const uint8_t *master, const struct keysource *src, uint8_t slot[KEYSLOT_LEN],
		   struct error *err)
{
	uint8_t kek[32], nonce[12];
	struct crypto_aead *aead;
	int argon = src->kdf == KEYSLOT_ARGON2ID;

	memset(slot, 0, KEYSLOT_LEN);
	memcpy(slot, seal_magic, 6);
	slot[6] = SEAL_KEY_SLOT;
	slot[7] = SEAL_VERSION;
	slot[8] = (uint8_t)src->kdf;
	put_u64(slot + 16, argon ? 3 : 0);
	put_u64(slot + 24, argon ? 64ULL << 20 : 0);
	crypto_random(slot + 32, 16);
	if (keyslot_kek(slot, src, kek, err) < 0)
		return -1;
	aead = crypto_aead_new();
	crypto_aead_set_key(aead, kek);
	crypto_nonce(0, nonce);
	crypto_aead_seal(aead, nonce, slot, 48, master, MASTER_KEY_LEN, slot + 48);
	crypto_aead_free(&aead);
	crypto_wipe(kek, sizeof(kek));
	return 0;
}

int keyslot_open(const uint8_t *slot, size_t len, const struct keysource *src, const char *what,
		 uint8_t *master, struct error *err)
{
	uint8_t kek[32], nonce[12];
	struct crypto_aead *aead;
	int ret;

	if (seal_check_header(slot, len, SEAL_KEY_SLOT, what, err) < 0)
		return -1;
	if (len != KEYSLOT_LEN)
		return error_setk(err, ERROR_CORRUPT, "%s is %zu bytes, expected %d", what, len,
				  KEYSLOT_LEN);
	if (slot[8] != KEYSLOT_ARGON2ID && slot[8] != KEYSLOT_KEYFILE)
		return error_setk(err, ERROR_CORRUPT, "%s has unknown key derivation %u", what,
				  slot[8]);
	if (slot[8] != (uint8_t)src->kdf)
		return 0;
	if (keyslot_kek(slot, src, kek, err) < 0)
		return error_prefix(err, "%s", what);
	aead = crypto_aead_new();
	crypto_aead_set_key(aead, kek);
	crypto_nonce(0, nonce);
	ret = crypto_aead_open(aead, nonce, slot, 48, slot + 48, MASTER_KEY_LEN + CRYPTO_TAG_LEN,
			       master);
	crypto_aead_free(&aead);
	crypto_wipe(kek, sizeof(kek));
	if (ret < 0) {
		crypto_wipe(master, MASTER_KEY_LEN);
		return 0;
	}
	return 1;
}
