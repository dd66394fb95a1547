/* Deletion certificates (src/crypto/certificate.h, docs/privacy.md 8):
 * the canonical form, signing, and that any changed byte fails. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/certificate.h"
#include "crypto/crypto.h"
#include "lib/error.h"

#include "harness.h"

static void test_canonical_form(void)
{
	struct json_object *v = json_tokener_parse(
		"{ \"b\": [3, -1, true, null, \"x\"], \"a\": {\"z\": 1, \"\\u00e9\": \"q\\\"\\\\\\n/\"},"
		"  \"A\": \"\" }");
	struct error err;
	char *c;

	error_init(&err);
	c = cert_canonical(v, &err);
	CHECKF(c != NULL, "canonical: %s", err.msg);
	if (c == NULL)
		goto out;
	/* Keys in byte order (A < a < b; z < é in UTF-8), no spaces, only
	 * '"', '\\' and controls escaped ('/' and non-ASCII as they are). */
	CHECKF(strcmp(c, "{\"A\":\"\",\"a\":{\"z\":1,\"\xc3\xa9\":\"q\\\"\\\\\\u000a/\"},"
			 "\"b\":[3,-1,true,null,\"x\"]}") == 0, "got %s", c);
	free(c);
	json_object_put(v);
	v = json_tokener_parse("{\"n\": 1.5}");
	error_init(&err);
	c = cert_canonical(v, &err);
	CHECK(c == NULL && err.code == ERROR_USAGE && strstr(err.msg, "'n'") != NULL);
	free(c);
out:
	json_object_put(v);
}

static char *signed_sample(uint8_t pk[32], uint8_t sk[64])
{
	struct json_object *b = json_object_new_object();
	uint8_t seed[32];
	struct error err;
	char *text;

	memset(seed, 7, sizeof(seed));
	crypto_ed25519_keypair(seed, pk, sk);
	json_object_object_add(b, "tenant", json_object_new_string("acme \xe2\x80\x94 ltd"));
	json_object_object_add(b, "objects", json_object_new_int64(42));
	error_init(&err);
	text = cert_sign(b, sk, pk, &err);
	json_object_put(b);
	return text;
}

static void test_sign_verify(void)
{
	uint8_t pk[32], sk[64], other[32];
	struct json_object *body = NULL;
	struct error err;
	char *text = signed_sample(pk, sk);
	size_t len = strlen(text);

	error_init(&err);
	CHECKF(cert_verify(text, len, NULL, &body, &err) == 0, "verify: %s", err.msg);
	CHECK(body != NULL && json_object_get_int64(json_object_object_get(body, "objects")) == 42);
	json_object_put(body);
	CHECKF(cert_verify(text, len, pk, NULL, &err) == 0, "verify with the key: %s", err.msg);
	memcpy(other, pk, sizeof(other));
	other[0] ^= 1;
	error_init(&err);
	CHECK(cert_verify(text, len, other, NULL, &err) < 0 && err.code == ERROR_CORRUPT);
	/* Every byte, changed: refused, whatever it hits. */
	for (size_t i = 0; i < len; i++) {
		char *t = strdup(text);

		t[i] = t[i] == 'a' ? 'b' : t[i] == '"' ? '\'' : (char)(t[i] ^ 0x01);
		error_init(&err);
		CHECKF(cert_verify(t, len, NULL, NULL, &err) < 0, "byte %zu changed, still verifies",
		       i);
		free(t);
	}
	/* Upper-case hex is another text of the same signature: refused. */
	{
		char *t = strdup(text), *sig = strstr(t, "\"signature\":\"");
		size_t k = 0;

		for (sig += 13; sig[k] && (sig[k] < 'a' || sig[k] > 'f'); k++)
			;
		sig[k] = (char)(sig[k] - 32);
		error_init(&err);
		CHECK(cert_verify(t, len, NULL, NULL, &err) < 0);
		free(t);
	}
	error_init(&err);
	CHECK(cert_verify(text, len - 1, NULL, NULL, &err) < 0);
out:
	free(text);
}

const struct unit_test certificate_tests[] = {
	{ "certificate: canonical form (sorted keys, escapes, no floats)", test_canonical_form },
	{ "certificate: signed, verified, any changed byte refused", test_sign_verify },
	{ NULL, NULL },
};
