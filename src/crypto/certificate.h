#ifndef COFFER_CERTIFICATE_H
#define COFFER_CERTIFICATE_H

/* Signed deletion certificates (docs/privacy.md 8): a canonical JSON form
 * and its Ed25519 signature. Pure: no clock, no files, no service, so that
 * `coffer certificate verify` checks a certificate offline.
 *
 * The canonical form of a JSON value: objects with their keys in byte
 * order, no white space, strings as UTF-8 with only '"', '\\' and the
 * control characters below 0x20 escaped ("\"", "\\\\", "\\u00xx" in lowercase
 * hex), whole numbers in decimal (no floating point: refused), true, false,
 * null. A certificate file is exactly
 *     canonical({"certificate": BODY, "signature": HEX}) "\n"
 * where BODY holds "format": CERT_FORMAT and "publicKey" (64 lowercase hex
 * digits), and HEX (128 lowercase hex digits) is the Ed25519 signature of
 * CERT_SIGNING_CONTEXT followed by canonical(BODY). A file that is not
 * byte for byte in that form is refused before any signature is checked,
 * so a changed byte anywhere fails. */

#include <stddef.h>
#include <stdint.h>

struct error;
struct json_object;

#define CERT_FORMAT "coffer-deletion-certificate-1"
#define CERT_SIGNING_CONTEXT "coffer deletion certificate v1\n"

/* The canonical text of v (caller frees); ERROR_USAGE naming the first
 * value that has none (a floating-point number). */
char *cert_canonical(struct json_object *v, struct error *err);
/* Sets body's "format" and "publicKey" (pk), signs it with sk, and returns
 * the certificate file's text (caller frees). */
char *cert_sign(struct json_object *body, const uint8_t sk[64], const uint8_t pk[32],
		struct error *err);
/* Checks a certificate file's text: its form, its format, and its
 * signature by the key it names, which must be `pk` when pk is not NULL.
 * 0 with *body_r (the caller puts it; may be NULL) the certified body;
 * -1 with ERROR_CORRUPT (or ERROR_VERSION for an unknown format) saying
 * what is wrong. */
int cert_verify(const char *text, size_t len, const uint8_t *pk, struct json_object **body_r,
		struct error *err);
/* 64 lowercase hex digits into 32 bytes; -1 on anything else. */
int cert_key_parse(const char *hex, uint8_t pk[32]);

#endif
