/* coffer certificate verify: checks a deletion certificate offline (no
 * service, no catalog, no store): its canonical form and its Ed25519
 * signature (docs/privacy.md 8, crypto/certificate.h). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "crypto/certificate.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/jsonutil.h"
#include "lib/timeutil.h"

#define CERT_FILE_MAX (16u << 20)

/* --public-key: 64 hex digits, or a file holding them (or the JSON of GET
 * /v1/certificateKey). */
static int key_arg(const char *arg, uint8_t pk[32], struct error *err)
{
	struct json_object *o;
	struct buf b;
	char *t;
	int ret;

	if (cert_key_parse(arg, pk) == 0)
		return 0;
	buf_init(&b, 1u << 16);
	if (fs_read_file(arg, &b, 1u << 16, err) < 0) {
		buf_clear(&b);
		return error_setk(err, ERROR_USAGE, "--public-key %s: neither 64 lowercase hex digits "
				  "nor a readable file", arg);
	}
	t = (char *)b.data;
	o = json_tokener_parse(t);
	if (o != NULL && jsonu_str(o, "publicKey") != NULL) {
		ret = cert_key_parse(jsonu_str(o, "publicKey"), pk);
	} else {
		t[strcspn(t, " \r\n\t")] = '\0';
		ret = cert_key_parse(t, pk);
	}
	json_object_put(o);
	buf_clear(&b);
	if (ret < 0)
		return error_setk(err, ERROR_USAGE, "--public-key %s: the file holds no key (64 "
				  "lowercase hex digits)", arg);
	return 0;
}

static void print_time(const char *what, struct json_object *steps, const char *key)
{
	char date[32];
	int ok;
	int64_t t = jsonu_int(steps, key, &ok);

	if (!ok || t == 0)
		return; /* not a step of this kind of certificate */
	time_format(t, date);
	printf("  %-16s %s\n", what, date);
}

static void print_body(struct json_object *b)
{
	struct json_object *tenant = json_object_object_get(b, "tenant");
	struct json_object *totals = json_object_object_get(b, "totals");
	struct json_object *steps = json_object_object_get(b, "steps");
	struct json_object *units = json_object_object_get(b, "units");
	struct json_object *store = json_object_object_get(b, "store");
	int ok;

	printf("certificate %s (%s)\n", jsonu_str(b, "id") ? jsonu_str(b, "id") : "?",
	       jsonu_str(b, "kind") ? jsonu_str(b, "kind") : "?");
	if (tenant)
		printf("tenant: %s (%s)\n", jsonu_str(tenant, "name") ? jsonu_str(tenant, "name") : "?",
		       jsonu_str(tenant, "id") ? jsonu_str(tenant, "id") : "?");
	if (store)
		printf("store: %s in location %s\n", jsonu_str(store, "place") ?
		       jsonu_str(store, "place") : "?", jsonu_str(store, "location") ?
		       jsonu_str(store, "location") : "?");
	if (totals)
		printf("deleted: %lld units, %lld restore points, %lld objects, %lld bytes\n",
		       (long long)jsonu_int(totals, "units", &ok),
		       (long long)jsonu_int(totals, "restorePoints", &ok),
		       (long long)jsonu_int(totals, "objects", &ok),
		       (long long)jsonu_int(totals, "bytes", &ok));
	for (size_t i = 0; units && i < json_object_array_length(units); i++) {
		struct json_object *u = json_object_array_get_idx(units, i);

		printf("  unit %s %s (%s): %lld restore points\n",
		       jsonu_str(u, "id") ? jsonu_str(u, "id") : "?",
		       jsonu_str(u, "name") ? jsonu_str(u, "name") : "?",
		       jsonu_str(u, "kind") ? jsonu_str(u, "kind") : "?",
		       (long long)jsonu_int(u, "restorePoints", &ok));
	}
	if (steps) {
		printf("steps:\n");
		print_time("requested", steps, "requested");
		print_time("grace ended", steps, "graceEnded");
		print_time("keys destroyed", steps, "keysDestroyed");
		print_time("objects deleted", steps, "objectsDeleted");
		print_time("catalog purged", steps, "catalogPurged");
		print_time("destroyed", steps, "destroyed");
	}
	if (jsonu_str(b, "method"))
		printf("method: %s\n", jsonu_str(b, "method"));
	if (jsonu_str(b, "standard"))
		printf("standard: %s\n", jsonu_str(b, "standard"));
	if (json_object_object_get(b, "issuer"))
		printf("issuer: %s on node %s\n",
		       jsonu_str(json_object_object_get(b, "issuer"), "service") ?
		       jsonu_str(json_object_object_get(b, "issuer"), "service") : "?",
		       jsonu_str(json_object_object_get(b, "issuer"), "node") ?
		       jsonu_str(json_object_object_get(b, "issuer"), "node") : "?");
	printf("public key: %s\n", jsonu_str(b, "publicKey"));
}

static int verify(struct cli *c, const char *file, const char *key)
{
	struct json_object *body = NULL;
	uint8_t pk[32];
	struct error err;
	struct buf b;
	int rc;

	error_init(&err);
	if (key != NULL && key_arg(key, pk, &err) < 0) {
		fprintf(stderr, "coffer: %s\n", err.msg);
		return EXIT_USAGE;
	}
	buf_init(&b, CERT_FILE_MAX);
	if (fs_read_file(file, &b, CERT_FILE_MAX, &err) < 0) {
		fprintf(stderr, "coffer: %s\n", err.msg);
		buf_clear(&b);
		return EXIT_FAIL;
	}
	rc = cert_verify((const char *)b.data, b.len, key ? pk : NULL, &body, &err);
	buf_clear(&b);
	if (rc < 0) {
		fprintf(stderr, "coffer: %s: %s\nsignature: BAD\n", file, err.msg);
		return EXIT_DAMAGE;
	}
	if (c->json) {
		printf("%s\n", json_object_to_json_string_ext(body, JSON_C_TO_STRING_PRETTY));
	} else if (!c->quiet) {
		print_body(body);
		printf("signature: good\n");
		if (key == NULL)
			printf("checked against the key inside the certificate: compare it with the "
			       "service's (GET /v1/certificateKey), or give --public-key\n");
		else
			printf("checked against the key given (--public-key)\n");
	}
	json_object_put(body);
	return EXIT_OK;
}

int cmd_certificate(struct cli *c, int argc, char **argv)
{
	const char *file = NULL, *key = NULL, *v;

	if (argc < 2 || strcmp(argv[1], "verify") != 0)
		return cli_usage("certificate", USAGE_CERTIFICATE);
	for (int i = 2; i < argc; i++) {
		if ((v = cli_option_value(argc, argv, &i, "--public-key")) != NULL)
			key = v;
		else if (argv[i][0] != '-' && file == NULL)
			file = argv[i];
		else
			return cli_usage("certificate", USAGE_CERTIFICATE);
	}
	if (file == NULL)
		return cli_usage("certificate", USAGE_CERTIFICATE);
	return verify(c, file, key);
}
