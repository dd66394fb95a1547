/* Primitives (src/crypto/crypto.h): AES-256-GCM, nonces, SHA-256 and
 * HMAC-SHA256 checked against published vectors and OpenSSL's one-shot
 * HMAC(). */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "crypto/crypto.h"
#include "lib/hex.h"

#include "harness.h"

#define MSG_MAX 1000

static void test_aead_roundtrip(void)
{
	static const size_t lens[] = { 0, 1, 15, 16, 17, 1000 };
	struct crypto_aead *w = crypto_aead_new(), *r = crypto_aead_new();
	uint8_t key[32], nonce[12], aad[40], pt[MSG_MAX], ct[MSG_MAX + 16], back[MSG_MAX];
	size_t i;

	th_fill(10, key, sizeof(key));
	th_fill(11, aad, sizeof(aad));
	th_fill(12, pt, sizeof(pt));
	/* Writer and reader are separate contexts, as in packs. */
	crypto_aead_set_key(w, key);
	crypto_aead_set_key(r, key);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i];

		crypto_nonce(40 + i, nonce);
		crypto_aead_seal(w, nonce, aad, sizeof(aad), pt, len, ct);
		CHECKF(len < 16 || memcmp(ct, pt, len) != 0, "%zu bytes: ciphertext equals plaintext",
		       len);
		memset(back, 0xaa, sizeof(back));
		CHECKF(crypto_aead_open(r, nonce, aad, sizeof(aad), ct, len + 16, back) == 0,
		       "%zu bytes with AAD: open failed", len);
		CHECKF(memcmp(back, pt, len) == 0, "%zu bytes with AAD: wrong plaintext", len);
		/* Without AAD, as blobs in packs. */
		crypto_aead_seal(w, nonce, NULL, 0, pt, len, ct);
		CHECKF(crypto_aead_open(r, nonce, NULL, 0, ct, len + 16, back) == 0,
		       "%zu bytes without AAD: open failed", len);
		CHECKF(memcmp(back, pt, len) == 0, "%zu bytes without AAD: wrong plaintext", len);
	}
out:
	crypto_aead_free(&w);
	crypto_aead_free(&r);
	crypto_aead_free(&w); /* NULL is accepted */
}

static void test_aead_tamper(void)
{
	struct crypto_aead *a = crypto_aead_new();
	uint8_t key[32], key2[32], nonce[12], nonce2[12], aad[40], pt[MSG_MAX], ct[MSG_MAX + 16];
	uint8_t back[MSG_MAX];
	/* Bits to flip: in the ciphertext (first, middle, last byte), the tag. */
	static const size_t ct_bits[] = { 0, 500 * 8 + 3, 999 * 8 + 7, 1000 * 8, 1015 * 8 + 7 };
	static const size_t aad_bits[] = { 0, 39 * 8 + 7 };
	size_t i;

	th_fill(20, key, sizeof(key));
	th_fill(21, key2, sizeof(key2));
	th_fill(22, aad, sizeof(aad));
	th_fill(23, pt, sizeof(pt));
	crypto_nonce(7, nonce);
	crypto_nonce(8, nonce2);
	crypto_aead_set_key(a, key);
	crypto_aead_seal(a, nonce, aad, sizeof(aad), pt, sizeof(pt), ct);
	for (i = 0; i < sizeof(ct_bits) / sizeof(ct_bits[0]); i++) {
		ct[ct_bits[i] / 8] ^= (uint8_t)(1u << (ct_bits[i] % 8));
		CHECKF(crypto_aead_open(a, nonce, aad, sizeof(aad), ct, sizeof(ct), back) < 0,
		       "flipped bit %zu of ciphertext||tag still opens", ct_bits[i]);
		ct[ct_bits[i] / 8] ^= (uint8_t)(1u << (ct_bits[i] % 8));
	}
	for (i = 0; i < sizeof(aad_bits) / sizeof(aad_bits[0]); i++) {
		aad[aad_bits[i] / 8] ^= (uint8_t)(1u << (aad_bits[i] % 8));
		CHECKF(crypto_aead_open(a, nonce, aad, sizeof(aad), ct, sizeof(ct), back) < 0,
		       "flipped bit %zu of AAD still opens", aad_bits[i]);
		aad[aad_bits[i] / 8] ^= (uint8_t)(1u << (aad_bits[i] % 8));
	}
	CHECKF(crypto_aead_open(a, nonce, aad, sizeof(aad) - 1, ct, sizeof(ct), back) < 0,
	       "shortened AAD still opens");
	CHECKF(crypto_aead_open(a, nonce2, aad, sizeof(aad), ct, sizeof(ct), back) < 0,
	       "another nonce still opens");
	CHECKF(crypto_aead_open(a, nonce, aad, sizeof(aad), ct, sizeof(ct) - 1, back) < 0,
	       "truncated ciphertext still opens");
	CHECKF(crypto_aead_open(a, nonce, aad, sizeof(aad), ct, 15, back) < 0,
	       "input shorter than a tag still opens");
	crypto_aead_set_key(a, key2);
	CHECKF(crypto_aead_open(a, nonce, aad, sizeof(aad), ct, sizeof(ct), back) < 0,
	       "another key still opens");
	/* A failed open must not spoil the context for the next object. */
	crypto_aead_set_key(a, key);
	CHECKF(crypto_aead_open(a, nonce, aad, sizeof(aad), ct, sizeof(ct), back) == 0 &&
		       memcmp(back, pt, sizeof(pt)) == 0,
	       "the intact message no longer opens after failed attempts");
out:
	crypto_aead_free(&a);
}

static void test_nonce(void)
{
	static const uint8_t want[12] = { 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t want40[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40 };
	static const uint8_t wantmax[12] = { 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
					     0xff, 0xff, 0xff, 0xff };
	uint8_t n[12], zero[12] = { 0 };

	memset(n, 0x55, sizeof(n));
	crypto_nonce(0x0102030405060708ULL, n);
	CHECK(memcmp(n, want, 12) == 0);
	memset(n, 0x55, sizeof(n));
	crypto_nonce(0, n);
	CHECK(memcmp(n, zero, 12) == 0);
	crypto_nonce(40, n);
	CHECK(memcmp(n, want40, 12) == 0);
	crypto_nonce(UINT64_MAX, n);
	CHECK(memcmp(n, wantmax, 12) == 0);
out:
	return;
}

static int unhex(const char *hex, uint8_t out[32]) { return hex_decode(hex, 64, out, 32); }

static void test_sha256(void)
{
	uint8_t want[32], got[32];

	/* FIPS 180-2 appendix B.1 */
	CHECK(unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want) == 0);
	crypto_sha256("abc", 3, got);
	CHECK(memcmp(got, want, 32) == 0);
	CHECK(unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want) == 0);
	crypto_sha256("", 0, got);
	CHECK(memcmp(got, want, 32) == 0);
out:
	return;
}

/* RFC 4231 test case 2. Its key "Jefe" is 4 bytes; HMAC pads a short key
 * with zeros to the block size, so "Jefe" and 28 zero bytes is the same
 * key, and crypto_hmac() must give the published result. */
static void test_hmac_rfc4231(void)
{
	static const char data[] = "what do ya want for nothing?";
	uint8_t key[32] = { 'J', 'e', 'f', 'e' }, want[32], got[32], ref[32];
	unsigned int reflen = 0;

	CHECK(unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want) == 0);
	CHECK(HMAC(EVP_sha256(), "Jefe", 4, (const uint8_t *)data, sizeof(data) - 1, ref,
		   &reflen) != NULL && reflen == 32);
	CHECKF(memcmp(ref, want, 32) == 0, "OpenSSL HMAC() disagrees with RFC 4231");
	crypto_hmac(key, data, sizeof(data) - 1, NULL, 0, got);
	CHECKF(memcmp(got, want, 32) == 0, "crypto_hmac differs from RFC 4231 test case 2");
	/* The same message split in two parts. */
	crypto_hmac(key, data, 10, data + 10, sizeof(data) - 11, got);
	CHECKF(memcmp(got, want, 32) == 0, "crypto_hmac(a, b) differs from RFC 4231 test case 2");
out:
	return;
}

/* crypto_hmac, the reusable crypto_mac state and crypto_derive all equal
 * OpenSSL's HMAC() over the concatenated message. */
static void test_hmac_matches_openssl(void)
{
	static const size_t lens[] = { 0, 1, 31, 32, 63, 64, 65, 1000, 4096 };
	struct crypto_mac *mac = NULL;
	uint8_t key[32], msg[4096], ref[32], got[32];
	unsigned int reflen;
	size_t i, split;
	char label[64];

	th_fill(30, key, sizeof(key));
	th_fill(31, msg, sizeof(msg));
	mac = crypto_mac_new(key);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i];

		CHECK(HMAC(EVP_sha256(), key, 32, msg, len, ref, &reflen) != NULL);
		crypto_hmac(key, msg, len, NULL, 0, got);
		CHECKF(memcmp(got, ref, 32) == 0, "crypto_hmac of %zu bytes differs from HMAC()", len);
		for (split = 0; split <= len; split += len / 3 + 1) {
			crypto_hmac(key, msg, split, msg + split, len - split, got);
			CHECKF(memcmp(got, ref, 32) == 0,
			       "crypto_hmac of %zu + %zu bytes differs from HMAC()", split, len - split);
		}
		/* The keyed state is reused across messages. */
		crypto_mac_compute(mac, msg, len, got);
		CHECKF(memcmp(got, ref, 32) == 0,
		       "crypto_mac_compute of %zu bytes (message %zu on this state) differs", len,
		       i + 1);
	}
	/* K(label) = HMAC(key, "coffer-v1 " || label) (docs/format.md 3). */
	memcpy(label, "coffer-v1 data", 14);
	CHECK(HMAC(EVP_sha256(), key, 32, (const uint8_t *)label, 14, ref, &reflen) != NULL);
	crypto_derive(key, "data", got);
	CHECKF(memcmp(got, ref, 32) == 0, "crypto_derive(\"data\") is not HMAC(key, \"coffer-v1 data\")");
out:
	crypto_mac_free(&mac);
	crypto_mac_free(&mac);
}

const struct unit_test crypto_tests[] = {
	{ "crypto: AES-GCM seal/open roundtrip", test_aead_roundtrip },
	{ "crypto: flipped bit in ciphertext, tag or AAD fails open", test_aead_tamper },
	{ "crypto: crypto_nonce is a 96-bit big-endian counter", test_nonce },
	{ "crypto: SHA-256 matches FIPS 180-2", test_sha256 },
	{ "crypto: HMAC-SHA256 matches RFC 4231 test case 2", test_hmac_rfc4231 },
	{ "crypto: HMAC, keyed state and derive match OpenSSL HMAC()", test_hmac_matches_openssl },
	{ NULL, NULL },
};
