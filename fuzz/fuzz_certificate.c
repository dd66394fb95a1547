/* Fuzzes cert_verify() (crypto/certificate.h): a deletion certificate
 * file as `coffer certificate verify` reads it (docs/privacy.md 8). A
 * refusal must say why; an accepted file must be the canonical text of
 * what it holds, byte for byte (so no second text of one certificate
 * verifies). */

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#include "crypto/certificate.h"
#include "lib/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *body = NULL, *file;
	struct error err;
	char *text, *canon;

	if (size > (1u << 16))
		return 0;
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	error_init(&err);
	if (cert_verify(text, size, NULL, &body, &err) < 0) {
		if (body != NULL || err.msg[0] == '\0') {
			fprintf(stderr, "fuzz_certificate: a refusal without its reason or with a body\n");
			abort();
		}
		free(text);
		return 0;
	}
	/* Accepted: the file is the canonical text of what it holds. */
	file = json_tokener_parse(text);
	canon = file ? cert_canonical(file, &err) : NULL;
	if (body == NULL || canon == NULL || strlen(canon) + 1 != size ||
	    memcmp(canon, text, size - 1) != 0) {
		fprintf(stderr, "fuzz_certificate: an accepted certificate is not canonical\n");
		abort();
	}
	free(canon);
	json_object_put(file);
	json_object_put(body);
	free(text);
	return 0;
}
