#ifndef COFFER_CRYPTO_H
#define COFFER_CRYPTO_H

/* Primitives, all from OpenSSL (and libsodium for Argon2id): random bytes,
 * SHA-256, HMAC-SHA256 with a reusable keyed state, AES-256-GCM. Key
 * material is wiped with crypto_wipe() when done. See docs/format.md. */

#include <stddef.h>
#include <stdint.h>

struct error;

#define CRYPTO_KEY_LEN 32
#define CRYPTO_ID_LEN 32
#define CRYPTO_NONCE_LEN 12
#define CRYPTO_TAG_LEN 16

/* Fills buf with random bytes; aborts if the system RNG fails. */
void crypto_random(void *buf, size_t len);
void crypto_wipe(void *buf, size_t len);
void crypto_sha256(const void *data, size_t len, uint8_t out[32]);

/* HMAC-SHA256 in one call; the message is a || b (b may be NULL). */
void crypto_hmac(const uint8_t key[32], const void *a, size_t alen, const void *b, size_t blen,
		 uint8_t out[32]);

/* Derives K(label) = HMAC(key, "coffer-v1 " || label). */
void crypto_derive(const uint8_t key[32], const char *label, uint8_t out[32]);

/* A keyed HMAC state, reusable and safe to use from one thread at a time;
 * cheaper than crypto_hmac() for many small messages. */
struct crypto_mac;
struct crypto_mac *crypto_mac_new(const uint8_t key[32]);
void crypto_mac_free(struct crypto_mac **mac);
void crypto_mac_compute(struct crypto_mac *mac, const void *data, size_t len, uint8_t out[32]);

/* AES-256-GCM context, one per thread; rekey per pack or object. */
struct crypto_aead;
struct crypto_aead *crypto_aead_new(void);
void crypto_aead_free(struct crypto_aead **aead);
void crypto_aead_set_key(struct crypto_aead *aead, const uint8_t key[32]);
/* Encrypts len bytes into out (len + 16 bytes: ciphertext and tag). */
void crypto_aead_seal(struct crypto_aead *aead, const uint8_t nonce[12], const void *aad,
		      size_t aadlen, const void *pt, size_t len, uint8_t *out);
/* Decrypts ctlen bytes (with tag) into out (ctlen - 16 bytes); -1 if the
 * tag does not verify (the output is then garbage and must not be used). */
int crypto_aead_open(struct crypto_aead *aead, const uint8_t nonce[12], const void *aad,
		     size_t aadlen, const void *ct, size_t ctlen, uint8_t *out);

/* nonce = 96-bit big-endian n */
void crypto_nonce(uint64_t n, uint8_t nonce[12]);

/* Ed25519 signatures (libsodium crypto_sign), for the deletion key
 * (docs/format.md 9). A key pair comes from a 32-byte seed; the secret
 * key (64 bytes) holds the seed and the public key. */
#define CRYPTO_SIGN_SEED_LEN 32
#define CRYPTO_SIGN_PUBLIC_LEN 32
#define CRYPTO_SIGN_SECRET_LEN 64
#define CRYPTO_SIGNATURE_LEN 64
void crypto_ed25519_keypair(const uint8_t seed[CRYPTO_SIGN_SEED_LEN],
			    uint8_t pk[CRYPTO_SIGN_PUBLIC_LEN], uint8_t sk[CRYPTO_SIGN_SECRET_LEN]);
void crypto_ed25519_sign(const uint8_t sk[CRYPTO_SIGN_SECRET_LEN], const void *msg, size_t len,
			 uint8_t sig[CRYPTO_SIGNATURE_LEN]);
/* 0 if sig is pk's signature of msg, -1 if not. */
int crypto_ed25519_verify(const uint8_t pk[CRYPTO_SIGN_PUBLIC_LEN], const void *msg, size_t len,
			  const uint8_t sig[CRYPTO_SIGNATURE_LEN]);

/* Argon2id (libsodium crypto_pwhash) of a passphrase into a 32-byte key. */
int crypto_argon2id(const char *pass, size_t passlen, const uint8_t salt[16], uint64_t opslimit,
		    uint64_t memlimit, uint8_t out[32], struct error *err);

#endif
