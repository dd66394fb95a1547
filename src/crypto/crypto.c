#include "crypto.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/mem.h"

static void crypto_die(const char *what)
{
	fprintf(stderr, "coffer: %s failed in OpenSSL\n", what);
	abort();
}

void crypto_random(void *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1)
		crypto_die("RAND_bytes");
}

void crypto_wipe(void *buf, size_t len) { OPENSSL_cleanse(buf, len); }

void crypto_sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned int outlen = 32;

	if (EVP_Digest(data, len, out, &outlen, EVP_sha256(), NULL) != 1)
		crypto_die("SHA-256");
}

struct crypto_mac {
	EVP_MAC_CTX *keyed; /* initialised with the key; dup'd per message */
};

static EVP_MAC *crypto_hmac_alg(void)
{
	static EVP_MAC *alg;

	/* EVP_MAC_fetch is thread-safe; the race only leaks one reference. */
	if (alg == NULL)
		alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (alg == NULL)
		crypto_die("EVP_MAC_fetch(HMAC)");
	return alg;
}

static char sha256_name[] = "SHA256";

struct crypto_mac *crypto_mac_new(const uint8_t key[32])
{
	struct crypto_mac *mac = xcalloc(1, sizeof(*mac));
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, sha256_name, 0),
		OSSL_PARAM_construct_end(),
	};

	mac->keyed = EVP_MAC_CTX_new(crypto_hmac_alg());
	if (mac->keyed == NULL || EVP_MAC_init(mac->keyed, key, 32, params) != 1)
		crypto_die("HMAC init");
	return mac;
}

void crypto_mac_free(struct crypto_mac **macp)
{
	if (*macp == NULL)
		return;
	EVP_MAC_CTX_free((*macp)->keyed);
	free(*macp);
	*macp = NULL;
}

void crypto_mac_compute(struct crypto_mac *mac, const void *data, size_t len, uint8_t out[32])
{
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(mac->keyed);
	size_t outlen;

	if (ctx == NULL || EVP_MAC_update(ctx, data, len) != 1 ||
	    EVP_MAC_final(ctx, out, &outlen, 32) != 1)
		crypto_die("HMAC");
	EVP_MAC_CTX_free(ctx);
}

void crypto_hmac(const uint8_t key[32], const void *a, size_t alen, const void *b, size_t blen,
		 uint8_t out[32])
{
	struct crypto_mac *mac = crypto_mac_new(key);
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(mac->keyed);
	size_t outlen;

	if (ctx == NULL || EVP_MAC_update(ctx, a, alen) != 1 ||
	    (b != NULL && EVP_MAC_update(ctx, b, blen) != 1) ||
	    EVP_MAC_final(ctx, out, &outlen, 32) != 1)
		crypto_die("HMAC");
	EVP_MAC_CTX_free(ctx);
	crypto_mac_free(&mac);
}

void crypto_derive(const uint8_t key[32], const char *label, uint8_t out[32])
{
	static const char prefix[] = "coffer-v1 ";

	crypto_hmac(key, prefix, sizeof(prefix) - 1, label, strlen(label), out);
}

struct crypto_aead {
	EVP_CIPHER_CTX *enc;
	EVP_CIPHER_CTX *dec;
};

struct crypto_aead *crypto_aead_new(void)
{
	struct crypto_aead *aead = xcalloc(1, sizeof(*aead));

	aead->enc = EVP_CIPHER_CTX_new();
	aead->dec = EVP_CIPHER_CTX_new();
	if (aead->enc == NULL || aead->dec == NULL ||
	    EVP_EncryptInit_ex(aead->enc, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_DecryptInit_ex(aead->dec, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1)
		crypto_die("AES-256-GCM init");
	return aead;
}

void crypto_aead_free(struct crypto_aead **aeadp)
{
	if (*aeadp == NULL)
		return;
	EVP_CIPHER_CTX_free((*aeadp)->enc);
	EVP_CIPHER_CTX_free((*aeadp)->dec);
	free(*aeadp);
	*aeadp = NULL;
}

void crypto_aead_set_key(struct crypto_aead *aead, const uint8_t key[32])
{
	if (EVP_EncryptInit_ex(aead->enc, NULL, NULL, key, NULL) != 1 ||
	    EVP_DecryptInit_ex(aead->dec, NULL, NULL, key, NULL) != 1)
		crypto_die("AES-256-GCM key");
}

void crypto_aead_seal(struct crypto_aead *aead, const uint8_t nonce[12], const void *aad,
		      size_t aadlen, const void *pt, size_t len, uint8_t *out)
{
	int n = 0;

	if (len > INT32_MAX || EVP_EncryptInit_ex(aead->enc, NULL, NULL, NULL, nonce) != 1 ||
	    (aadlen > 0 && EVP_EncryptUpdate(aead->enc, NULL, &n, aad, (int)aadlen) != 1) ||
	    (len > 0 && EVP_EncryptUpdate(aead->enc, out, &n, pt, (int)len) != 1) ||
	    EVP_EncryptFinal_ex(aead->enc, out + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(aead->enc, EVP_CTRL_GCM_GET_TAG, CRYPTO_TAG_LEN, out + len) != 1)
		crypto_die("AES-256-GCM seal");
}

int crypto_aead_open(struct crypto_aead *aead, const uint8_t nonce[12], const void *aad,
		     size_t aadlen, const void *ct, size_t ctlen, uint8_t *out)
{
	size_t len;
	int n = 0;
	uint8_t tag[CRYPTO_TAG_LEN];

	if (ctlen < CRYPTO_TAG_LEN || ctlen > INT32_MAX)
		return -1;
	len = ctlen - CRYPTO_TAG_LEN;
	memcpy(tag, (const uint8_t *)ct + len, CRYPTO_TAG_LEN);
	if (EVP_DecryptInit_ex(aead->dec, NULL, NULL, NULL, nonce) != 1 ||
	    (aadlen > 0 && EVP_DecryptUpdate(aead->dec, NULL, &n, aad, (int)aadlen) != 1) ||
	    (len > 0 && EVP_DecryptUpdate(aead->dec, out, &n, ct, (int)len) != 1) ||
	    EVP_CIPHER_CTX_ctrl(aead->dec, EVP_CTRL_GCM_SET_TAG, CRYPTO_TAG_LEN, tag) != 1)
		crypto_die("AES-256-GCM open");
	return EVP_DecryptFinal_ex(aead->dec, out + n, &n) == 1 ? 0 : -1;
}

void crypto_nonce(uint64_t n, uint8_t nonce[12])
{
	int i;

	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[11 - i] = (uint8_t)(n >> (8 * i));
}

static void crypto_sodium_die(const char *what)
{
	fprintf(stderr, "coffer: %s failed in libsodium\n", what);
	abort();
}

static void crypto_sodium_init(void)
{
	/* Thread-safe, and cheap once done. */
	if (sodium_init() < 0)
		crypto_sodium_die("initialisation");
}

void crypto_ed25519_keypair(const uint8_t seed[CRYPTO_SIGN_SEED_LEN],
			    uint8_t pk[CRYPTO_SIGN_PUBLIC_LEN], uint8_t sk[CRYPTO_SIGN_SECRET_LEN])
{
	crypto_sodium_init();
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0)
		crypto_sodium_die("Ed25519 key pair");
}

void crypto_ed25519_sign(const uint8_t sk[CRYPTO_SIGN_SECRET_LEN], const void *msg, size_t len,
			 uint8_t sig[CRYPTO_SIGNATURE_LEN])
{
	crypto_sodium_init();
	if (crypto_sign_detached(sig, NULL, msg, len, sk) != 0)
		crypto_sodium_die("Ed25519 signature");
}

int crypto_ed25519_verify(const uint8_t pk[CRYPTO_SIGN_PUBLIC_LEN], const void *msg, size_t len,
			  const uint8_t sig[CRYPTO_SIGNATURE_LEN])
{
	crypto_sodium_init();
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : -1;
}

int crypto_argon2id(const char *pass, size_t passlen, const uint8_t salt[16], uint64_t opslimit,
		    uint64_t memlimit, uint8_t out[32], struct error *err)
{
	if (sodium_init() < 0)
		return error_set(err, "libsodium initialisation failed");
	if (opslimit < crypto_pwhash_OPSLIMIT_MIN || opslimit > crypto_pwhash_OPSLIMIT_MAX ||
	    memlimit < crypto_pwhash_MEMLIMIT_MIN || memlimit > (1ULL << 34))
		return error_setk(err, ERROR_CORRUPT, "Argon2id parameters out of range");
	if (crypto_pwhash(out, 32, pass, passlen, salt, opslimit, (size_t)memlimit,
			  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return error_set(err, "Argon2id failed (out of memory?)");
	return 0;
}
