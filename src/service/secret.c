/* Sealed source secrets (docs/service.md "Configuration"): a unit's
 * "secret", and a webdav inclusion rule's, is sealed under the service key
 * before it reaches the catalog, and opened only for the job or the
 * evaluation that needs it. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "crypto/crypto.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/hex.h"
#include "lib/jsonutil.h"
#include "lib/mem.h"
#include "service/core.h"

#define SEALED_PREFIX "v1."

static void secret_aad(const char *tenant, const char *unit_name, struct buf *aad)
{
	buf_addf(aad, "coffer-source-secret-v1\n%s\n%s", tenant, unit_name);
}

/* A webdav rule's secret is bound to its tenant and root URL instead: it
 * cannot be moved to another rule, nor to a unit. */
static void rule_aad(const char *tenant, const char *url, struct buf *aad)
{
	buf_addf(aad, "coffer-rule-secret-v1\n%s\n%s", tenant, url);
}

/* "secret" -> "secretSealed": AES-256-GCM under the service key, bound to
 * aad (which it clears); hex of nonce || ciphertext || tag. */
static void seal(struct service *s, struct buf *aad, struct json_object *src)
{
	const char *secret = jsonu_str(src, "secret");
	struct crypto_aead *aead;
	uint8_t nonce[CRYPTO_NONCE_LEN], *ct;
	size_t len, ctlen;
	char *hex;

	if (secret == NULL) {
		buf_clear(aad);
		return;
	}
	len = strlen(secret);
	ctlen = len + CRYPTO_TAG_LEN;
	ct = xmalloc(CRYPTO_NONCE_LEN + ctlen);
	crypto_random(nonce, sizeof(nonce));
	memcpy(ct, nonce, sizeof(nonce));
	aead = crypto_aead_new();
	crypto_aead_set_key(aead, svc_service_key(s));
	crypto_aead_seal(aead, nonce, aad->data, aad->len, secret, len, ct + CRYPTO_NONCE_LEN);
	crypto_aead_free(&aead);
	hex = xmalloc(strlen(SEALED_PREFIX) + 2 * (CRYPTO_NONCE_LEN + ctlen) + 1);
	memcpy(hex, SEALED_PREFIX, strlen(SEALED_PREFIX));
	hex_encode(ct, CRYPTO_NONCE_LEN + ctlen, hex + strlen(SEALED_PREFIX));
	json_object_object_del(src, "secret");
	json_object_object_add(src, "secretSealed", json_object_new_string(hex));
	free(hex);
	free(ct);
	buf_clear(aad);
}

void svc_secret_seal(struct service *s, const char *tenant, const char *unit_name,
		     struct json_object *src)
{
	struct buf aad;

	buf_init(&aad, 0);
	secret_aad(tenant, unit_name, &aad);
	seal(s, &aad, src);
}

void svc_rule_secret_seal(struct service *s, const char *tenant, struct json_object *rule)
{
	struct buf aad;

	buf_init(&aad, 0);
	rule_aad(tenant, jsonu_str(rule, "url") ? jsonu_str(rule, "url") : "", &aad);
	seal(s, &aad, rule);
}

/* "secretSealed" of src -> "secret", opened with aad (which it clears);
 * -1 if it does not open. */
static int unseal(struct service *s, struct buf *aad, struct json_object *src)
{
	const char *sealed = jsonu_str(src, "secretSealed");
	struct crypto_aead *aead;
	uint8_t *ct = NULL, *pt = NULL;
	size_t hexlen, ctlen;

	if (sealed == NULL) {
		buf_clear(aad);
		return 0;
	}
	if (strncmp(sealed, SEALED_PREFIX, strlen(SEALED_PREFIX)) != 0)
		goto bad;
	sealed += strlen(SEALED_PREFIX);
	hexlen = strlen(sealed);
	if (hexlen % 2 || hexlen / 2 < CRYPTO_NONCE_LEN + CRYPTO_TAG_LEN ||
	    hexlen / 2 > SVC_SECRET_MAX_LEN + CRYPTO_NONCE_LEN + CRYPTO_TAG_LEN)
		goto bad;
	ct = xmalloc(hexlen / 2);
	if (hex_decode(sealed, hexlen, ct, hexlen / 2) < 0)
		goto bad;
	ctlen = hexlen / 2 - CRYPTO_NONCE_LEN;
	pt = xcalloc(1, ctlen - CRYPTO_TAG_LEN + 1);
	aead = crypto_aead_new();
	crypto_aead_set_key(aead, svc_service_key(s));
	if (crypto_aead_open(aead, ct, aad->data, aad->len, ct + CRYPTO_NONCE_LEN, ctlen, pt) < 0) {
		crypto_aead_free(&aead);
		goto bad;
	}
	crypto_aead_free(&aead);
	buf_clear(aad);
	json_object_object_add(src, "secret",
			       json_object_new_string_len((const char *)pt,
							  (int)(ctlen - CRYPTO_TAG_LEN)));
	json_object_object_del(src, "secretSealed");
	crypto_wipe(pt, ctlen - CRYPTO_TAG_LEN);
	free(pt);
	free(ct);
	return 0;
bad:
	free(ct);
	free(pt);
	buf_clear(aad);
	return -1;
}

struct json_object *svc_unit_source_open(struct service *s, const struct catalog_unit *u,
					 struct error *err)
{
	struct json_object *src = json_tokener_parse(u->source);
	struct buf aad;

	if (src == NULL || !json_object_is_type(src, json_type_object)) {
		json_object_put(src);
		error_setk(err, ERROR_CORRUPT, "unit %s: its source in the catalog is not JSON",
			   u->id);
		return NULL;
	}
	buf_init(&aad, 0);
	secret_aad(u->tenant, u->name, &aad);
	if (unseal(s, &aad, src) < 0) {
		json_object_put(src);
		error_setk(err, ERROR_KEY, "unit %s: its sealed secret does not open with the "
			   "service key (DATA/keys/service.key)", u->id);
		return NULL;
	}
	return src;
}

struct json_object *svc_rule_open(struct service *s, const char *tenant,
				  const struct json_object *rule, struct error *err)
{
	struct json_object *r = NULL;
	struct buf aad;

	if (json_object_deep_copy((struct json_object *)(uintptr_t)rule, &r, NULL) < 0) {
		error_set(err, "cannot copy the rule");
		return NULL;
	}
	buf_init(&aad, 0);
	rule_aad(tenant, jsonu_str(r, "url") ? jsonu_str(r, "url") : "", &aad);
	if (unseal(s, &aad, r) < 0) {
		json_object_put(r);
		error_setk(err, ERROR_KEY, "the rule's sealed secret does not open with the service "
			   "key (DATA/keys/service.key)");
		return NULL;
	}
	return r;
}
