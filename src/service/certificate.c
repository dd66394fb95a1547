/* The service's deletion certificates (docs/privacy.md 8): its Ed25519
 * key pair, derived from the service key so every node signs with the
 * same; issuing a certificate into the catalog; the API's reads. The
 * format and its checks are crypto/certificate.c's. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "crypto/certificate.h"
#include "crypto/crypto.h"
#include "lib/error.h"
#include "lib/hex.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/offboard.h"
#include "service/service.h"

/* A label of its own: the seed is independent of every other key the
 * service key derives (docs/service.md "Keys"). */
#define SIGNING_LABEL "deletion certificate signing key"

void svc_certificate_keys(struct service *s, uint8_t pk[32], uint8_t sk[64])
{
	uint8_t seed[CRYPTO_SIGN_SEED_LEN];

	crypto_derive(svc_service_key(s), SIGNING_LABEL, seed);
	crypto_ed25519_keypair(seed, pk, sk);
	crypto_wipe(seed, sizeof(seed));
}

int svc_certificate_issue(struct service *s, const char *tenant, const char *subject,
			  struct json_object *body, char **id_r, struct error *err)
{
	struct catalog_certificate x = { 0 };
	uint8_t pk[32], sk[64];
	char *text;
	int ret;

	*id_r = NULL;
	x.id = svc_new_id("c-");
	json_object_object_add(body, "id", json_object_new_string(x.id));
	svc_certificate_keys(s, pk, sk);
	text = cert_sign(body, sk, pk, err);
	crypto_wipe(sk, sizeof(sk));
	if (text == NULL) {
		free(x.id);
		return -1;
	}
	x.tenant = svc_in(tenant);
	x.subject = svc_in(subject);
	x.created = svc_now(s);
	x.body = text;
	ret = catalog_certificate_put(svc_catalog(s), &x, err);
	free(text);
	if (ret < 0) {
		free(x.id);
		return -1;
	}
	*id_r = x.id;
	return 0;
}

int svc_certificate_key(struct service *s, struct json_object **out, struct error *err)
{
	uint8_t pk[32], sk[64];
	char hex[65];

	(void)err;
	svc_certificate_keys(s, pk, sk);
	crypto_wipe(sk, sizeof(sk));
	hex_encode(pk, sizeof(pk), hex);
	*out = json_object_new_object();
	json_object_object_add(*out, "algorithm", json_object_new_string("Ed25519"));
	json_object_object_add(*out, "publicKey", json_object_new_string(hex));
	json_object_object_add(*out, "format", json_object_new_string(CERT_FORMAT));
	return 0;
}

/* The global admin, or the tenant's admin while the tenant exists (its
 * tokens go with it). */
static int may_read(const struct svc_principal *p, const char *tenant, struct error *err)
{
	return svc_authorize(p, tenant, SVC_PERM_TENANTS_MANAGE, err);
}

static struct json_object *certificate_view(const struct catalog_certificate *x, int whole)
{
	struct json_object *o = json_object_new_object(), *body = NULL;
	struct error ignore;

	json_object_object_add(o, "id", json_object_new_string(x->id));
	json_object_object_add(o, "tenant", json_object_new_string(x->tenant));
	json_object_object_add(o, "subject", json_object_new_string(x->subject));
	json_object_object_add(o, "created", json_object_new_int64(x->created));
	error_init(&ignore);
	if (cert_verify(x->body, strlen(x->body), NULL, &body, &ignore) == 0) {
		json_object_object_add(o, "kind", json_object_get(json_object_object_get(body,
											 "kind")));
		json_object_object_add(o, "totals",
				       json_object_get(json_object_object_get(body, "totals")));
	}
	if (whole)
		json_object_object_add(o, "certificate", json_object_get(body));
	json_object_put(body);
	return o;
}

int svc_certificate_list(struct service *s, const struct svc_principal *p, const char *tenant,
			 const struct svc_page *page, struct json_object **out, struct error *err)
{
	struct catalog_page pg = { .after = page ? page->after : NULL,
				   .limit = page ? page->limit : 0 };
	struct catalog_certificate **xs = NULL;
	struct json_object *items;
	size_t n = 0;

	*out = NULL;
	if (may_read(p, tenant, err) < 0 ||
	    catalog_certificate_list(svc_catalog(s), tenant, &pg, &xs, &n, err) < 0)
		return -1;
	items = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(items, certificate_view(xs[i], 0));
	*out = json_object_new_object();
	json_object_object_add(*out, "items", items);
	json_object_object_add(*out, "next",
			       n > 0 && (int)n == (pg.limit > 0 ? pg.limit : 100)
				       ? json_object_new_string(xs[n - 1]->id)
				       : NULL);
	CATALOG_LIST_FREE(xs, n, catalog_certificate_free);
	return 0;
}

int svc_certificate_get(struct service *s, const struct svc_principal *p, const char *tenant,
			const char *id, char **text_r, struct error *err)
{
	struct catalog_certificate *x = NULL;

	*text_r = NULL;
	if (may_read(p, tenant, err) < 0 ||
	    catalog_certificate_get(svc_catalog(s), tenant, id, &x, err) < 0)
		return -1;
	*text_r = x->body;
	x->body = NULL;
	catalog_certificate_free(&x);
	return 0;
}

/* Every member of rec but floating-point numbers (the canonical form has
 * none), as a new object. */
static struct json_object *record_copy(struct json_object *rec)
{
	struct json_object *o = json_object_new_object();

	if (json_object_is_type(rec, json_type_object)) {
		json_object_object_foreach(rec, k, v) {
			if (!json_object_is_type(v, json_type_double))
				json_object_object_add(o, k, json_object_get(v));
		}
	}
	return o;
}

int svc_certificate_unit(struct service *s, const char *tenant, const char *unit,
			 struct json_object *record, char **id_r, struct error *err)
{
	struct json_object *b = json_object_new_object(), *o, *units;
	struct catalog_tenant *t = NULL;
	struct error ignore;
	int64_t now = svc_now(s), v;
	int ok, ret;

	json_object_object_add(b, "kind", json_object_new_string("unitDestruction"));
	json_object_object_add(b, "issued", json_object_new_int64(now));
	o = json_object_new_object();
	json_object_object_add(o, "service", json_object_new_string("coffer"));
	json_object_object_add(o, "node", json_object_new_string(svc_node(s)));
	json_object_object_add(b, "issuer", o);
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(tenant));
	error_init(&ignore);
	if (catalog_tenant_get(svc_catalog(s), tenant, &t, &ignore) == 0)
		json_object_object_add(o, "name", json_object_new_string(t->name));
	catalog_tenant_free(&t);
	json_object_object_add(b, "tenant", o);
	units = json_object_new_array();
	json_object_array_add(units, record_copy(record));
	json_object_object_add(b, "units", units);
	o = json_object_new_object();
	json_object_object_add(o, "units", json_object_new_int64(1));
	v = jsonu_int(record, "restorePoints", &ok);
	json_object_object_add(o, "restorePoints", json_object_new_int64(ok ? v : 0));
	v = jsonu_int(record, "objects", &ok);
	json_object_object_add(o, "objects", json_object_new_int64(ok ? v : 0));
	v = jsonu_int(record, "bytes", &ok);
	json_object_object_add(o, "bytes", json_object_new_int64(ok ? v : 0));
	json_object_object_add(b, "totals", o);
	o = json_object_new_object();
	json_object_object_add(o, "destroyed", json_object_new_int64(now));
	json_object_object_add(b, "steps", o);
	json_object_object_add(b, "method", json_object_new_string(
		"cryptographic erase: the unit's key was destroyed first, so nothing of it "
		"decrypts again; then its objects were deleted as locks allow"));
	json_object_object_add(b, "standard", json_object_new_string(
		"NIST SP 800-88 Rev. 1, purge by cryptographic erase (section 2.6)"));
	ret = svc_certificate_issue(s, tenant, unit, b, id_r, err);
	json_object_put(b);
	return ret;
}
