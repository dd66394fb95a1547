/* Deletion certificates: canonical JSON and Ed25519 (certificate.h). */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/certificate.h"
#include "crypto/crypto.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/hex.h"
#include "lib/mem.h"

/* A certificate is small; this bounds what a hostile file can make us
 * allocate. */
#define CERT_MAX (16u << 20)

static void canon_string(struct buf *b, const char *s, size_t len)
{
	buf_add_u8(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\') {
			buf_add_u8(b, '\\');
			buf_add_u8(b, ch);
		} else if (ch < 0x20) {
			buf_addf(b, "\\u%04x", ch);
		} else {
			buf_add_u8(b, ch);
		}
	}
	buf_add_u8(b, '"');
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int canon_value(struct buf *b, struct json_object *v, const char *where,
		       struct error *err);

static int canon_object(struct buf *b, struct json_object *v, struct error *err)
{
	size_t n = (size_t)json_object_object_length(v), i = 0;
	const char **keys = xcalloc(n + 1, sizeof(*keys));
	int ret = 0;

	json_object_object_foreach(v, key, val) {
		(void)val;
		keys[i++] = key;
	}
	qsort(keys, n, sizeof(*keys), cmp_key);
	buf_add_u8(b, '{');
	for (i = 0; i < n && ret == 0; i++) {
		if (i > 0)
			buf_add_u8(b, ',');
		canon_string(b, keys[i], strlen(keys[i]));
		buf_add_u8(b, ':');
		ret = canon_value(b, json_object_object_get(v, keys[i]), keys[i], err);
	}
	buf_add_u8(b, '}');
	free(keys);
	return ret;
}

static int canon_value(struct buf *b, struct json_object *v, const char *where,
		       struct error *err)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		buf_add(b, "null", 4);
		return 0;
	case json_type_boolean:
		if (json_object_get_boolean(v))
			buf_add(b, "true", 4);
		else
			buf_add(b, "false", 5);
		return 0;
	case json_type_int:
		buf_addf(b, "%lld", (long long)json_object_get_int64(v));
		return 0;
	case json_type_string:
		canon_string(b, json_object_get_string(v), (size_t)json_object_get_string_len(v));
		return 0;
	case json_type_object:
		return canon_object(b, v, err);
	case json_type_array:
		buf_add_u8(b, '[');
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			if (i > 0)
				buf_add_u8(b, ',');
			if (canon_value(b, json_object_array_get_idx(v, i), where, err) < 0)
				return -1;
		}
		buf_add_u8(b, ']');
		return 0;
	case json_type_double:
	default:
		return error_setk(err, ERROR_USAGE, "'%s': a certificate holds whole numbers only",
				  where);
	}
}

char *cert_canonical(struct json_object *v, struct error *err)
{
	struct buf b;

	buf_init(&b, 0);
	if (canon_value(&b, v, "(top)", err) < 0) {
		buf_clear(&b);
		return NULL;
	}
	return (char *)buf_steal(&b, NULL);
}

/* The bytes signed: the context, then the body's canonical text. */
static char *signed_text(struct json_object *body, size_t *len_r, struct error *err)
{
	char *canon = cert_canonical(body, err), *msg;

	if (canon == NULL)
		return NULL;
	msg = xasprintf("%s%s", CERT_SIGNING_CONTEXT, canon);
	free(canon);
	*len_r = strlen(msg);
	return msg;
}

char *cert_sign(struct json_object *body, const uint8_t sk[64], const uint8_t pk[32],
		struct error *err)
{
	struct json_object *file;
	uint8_t sig[CRYPTO_SIGNATURE_LEN];
	char pkhex[65], sighex[2 * CRYPTO_SIGNATURE_LEN + 1], *msg, *text, *out;
	size_t len;

	hex_encode(pk, 32, pkhex);
	json_object_object_add(body, "format", json_object_new_string(CERT_FORMAT));
	json_object_object_add(body, "publicKey", json_object_new_string(pkhex));
	msg = signed_text(body, &len, err);
	if (msg == NULL)
		return NULL;
	crypto_ed25519_sign(sk, msg, len, sig);
	free(msg);
	hex_encode(sig, sizeof(sig), sighex);
	file = json_object_new_object();
	json_object_object_add(file, "certificate", json_object_get(body));
	json_object_object_add(file, "signature", json_object_new_string(sighex));
	text = cert_canonical(file, err);
	json_object_put(file);
	if (text == NULL)
		return NULL;
	out = xasprintf("%s\n", text);
	free(text);
	return out;
}

/* Exactly 2 * len lowercase hex digits. */
static int hex_strict(const char *hex, uint8_t *out, size_t len)
{
	if (hex == NULL || strlen(hex) != 2 * len)
		return -1;
	for (size_t i = 0; i < 2 * len; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return -1;
	return hex_decode(hex, 2 * len, out, len);
}

int cert_key_parse(const char *hex, uint8_t pk[32])
{
	return hex_strict(hex, pk, 32);
}

static const char *str_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The file parsed, if it is in the canonical form; else NULL with err. */
static struct json_object *parse_canonical(const char *text, size_t len, struct error *err)
{
	struct json_tokener *tok;
	struct json_object *v = NULL;
	char *again = NULL;
	struct error ignore;

	if (len == 0 || len > CERT_MAX || text[len - 1] != '\n' || memchr(text, '\0', len)) {
		error_setk(err, ERROR_CORRUPT, "not a deletion certificate: a certificate is one "
			   "line of JSON ending in a newline");
		return NULL;
	}
	tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	v = json_tokener_parse_ex(tok, text, (int)(len - 1));
	if (v == NULL || json_tokener_get_parse_end(tok) != len - 1) {
		error_setk(err, ERROR_CORRUPT, "the certificate is not valid JSON (changed or "
			   "damaged)");
		json_object_put(v);
		json_tokener_free(tok);
		return NULL;
	}
	json_tokener_free(tok);
	error_init(&ignore);
	again = cert_canonical(v, &ignore);
	if (again == NULL || strlen(again) != len - 1 || memcmp(again, text, len - 1) != 0) {
		error_setk(err, ERROR_CORRUPT, "the certificate is not in its canonical form (changed "
			   "after it was signed)");
		json_object_put(v);
		v = NULL;
	}
	free(again);
	return v;
}

int cert_verify(const char *text, size_t len, const uint8_t *pk, struct json_object **body_r,
		struct error *err)
{
	struct json_object *file, *body = NULL;
	uint8_t sig[CRYPTO_SIGNATURE_LEN], inner[32];
	const char *format;
	char *msg = NULL;
	size_t mlen;
	int ret = -1;

	if (body_r)
		*body_r = NULL;
	file = parse_canonical(text, len, err);
	if (file == NULL)
		return -1;
	if (!json_object_object_get_ex(file, "certificate", &body) ||
	    !json_object_is_type(body, json_type_object) || json_object_object_length(file) != 2) {
		error_setk(err, ERROR_CORRUPT, "not a deletion certificate: it needs exactly "
			   "\"certificate\" and \"signature\"");
		goto out;
	}
	format = str_of(body, "format");
	if (format == NULL || strcmp(format, CERT_FORMAT) != 0) {
		error_setk(err, ERROR_VERSION, "unknown certificate format '%s' (this coffer reads "
			   "%s)", format ? format : "(none)", CERT_FORMAT);
		goto out;
	}
	if (hex_strict(str_of(file, "signature"), sig, sizeof(sig)) < 0) {
		error_setk(err, ERROR_CORRUPT, "the certificate's signature is not 128 lowercase hex "
			   "digits");
		goto out;
	}
	if (cert_key_parse(str_of(body, "publicKey"), inner) < 0) {
		error_setk(err, ERROR_CORRUPT, "the certificate's publicKey is not 64 lowercase hex "
			   "digits");
		goto out;
	}
	if (pk != NULL && memcmp(pk, inner, 32) != 0) {
		error_setk(err, ERROR_CORRUPT, "the certificate was signed by another key than the one "
			   "given (its publicKey differs)");
		goto out;
	}
	msg = signed_text(body, &mlen, err);
	if (msg == NULL)
		goto out;
	if (crypto_ed25519_verify(inner, msg, mlen, sig) < 0) {
		error_setk(err, ERROR_CORRUPT, "BAD signature: the certificate was changed after it "
			   "was signed, or not signed by its publicKey");
		goto out;
	}
	if (body_r)
		*body_r = json_object_get(body);
	ret = 0;
out:
	free(msg);
	json_object_put(file);
	return ret;
}
