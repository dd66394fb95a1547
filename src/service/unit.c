/* Protection units: their creation, with the checks of the source (where a
 * folder or an IMAP server may be, how its secret is given). */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "engine/locks.h"
#include "lib/error.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/netpolicy.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/offboard.h"
#include "service/service.h"
#include "service/views.h"
#include "sources/imap.h"
#include "sources/mail.h"
#include "sources/source.h"
#include "sources/webdav_source.h"
#include "store/backend.h"
#include "store/store.h"

/* Where an imap source may connect (settings source_allow, source_deny):
 * checked here on what the host resolves to now, so a refused address is a
 * clear 400; the IMAP client checks again on every address it connects to,
 * as a name may resolve elsewhere by then. */
static int check_imap_place(struct service *s, struct json_object *src, struct error *err)
{
	struct imap_opts io;
	uint16_t port;

	if (mail_imap_opts(src, &io, err) < 0)
		return error_prefix(err, "source");
	/* as imap_connect(): 993 for implicit TLS, else 143 */
	port = io.port ? io.port : io.tls == IMAP_TLS_IMPLICIT ? 993 : 143;
	if (netpolicy_check_host(svc_netpolicy(s), io.host, port, err) < 0)
		return error_prefix(err, "source");
	return 0;
}

/* Where a webdav source may connect: as for imap, its URL's host and port
 * against source_allow / source_deny now; the client checks every address
 * again as it connects. */
static int check_webdav_place(struct service *s, struct json_object *src, struct error *err)
{
	char *host;
	uint16_t port;
	int ret;

	if (webdav_source_place(src, &host, &port, err) < 0)
		return error_prefix(err, "source");
	ret = netpolicy_check_host(svc_netpolicy(s), host, port, err);
	free(host);
	return ret < 0 ? error_prefix(err, "source") : 0;
}

static int check_source(struct service *s, const char *tenant, struct json_object *src,
			struct error *err)
{
	static const char *const folder_keys[] = { "type", "path", NULL };
	static const char *const webdav_keys[] = { "type", "url", "user", "auth", "secret",
						   "caFile", "insecure", "timeoutSeconds",
						   "connections", NULL };
	const char *type, *path, *v;

	if (src == NULL || !json_object_is_type(src, json_type_object))
		return error_setk(err, ERROR_USAGE, "'source' must be an object with a 'type'");
	if (svc_want_str(src, "type", 1, &type, err) < 0)
		return error_prefix(err, "source");
	if (source_find(src, err) == NULL) {
		err->code = ERROR_USAGE;
		return error_prefix(err, "source");
	}
	if (strcmp(type, "folder") == 0) {
		if (svc_check_object(src, folder_keys, "a folder source", err) < 0 ||
		    svc_want_str(src, "path", 1, &path, err) < 0)
			return error_prefix(err, "source");
		if (svc_check_folder_place(s, tenant, "source: path", path, 1, err) < 0)
			return -1;
	} else if (strcmp(type, "imap") == 0) {
		if (svc_want_str(src, "host", 1, &v, err) < 0 ||
		    svc_want_str(src, "user", 1, &v, err) < 0)
			return error_prefix(err, "source");
		if (svc_want_str(src, "secret", 0, &v, err) < 0 ||
		    svc_want_str(src, "secretCommand", 0, &v, err) < 0)
			return error_prefix(err, "source");
		if (json_object_object_get_ex(src, "secretSealed", NULL))
			return error_setk(err, ERROR_USAGE, "source: 'secretSealed' is set by the "
					  "service; give 'secret'");
		if (v != NULL && !svc_cfg(s)->allow_secret_command)
			return error_setk(err, ERROR_USAGE, "source: 'secretCommand' would run on "
					  "the server as the service user; this server does not allow "
					  "it (setting allow_secret_command)");
		if (v == NULL && jsonu_str(src, "secret") == NULL)
			return error_setk(err, ERROR_USAGE,
					  "source: an imap source needs 'secret' or 'secretCommand'");
		if (jsonu_str(src, "secret") &&
		    strlen(jsonu_str(src, "secret")) > SVC_SECRET_MAX_LEN)
			return error_setk(err, ERROR_USAGE, "source: 'secret' is too long");
		if (check_imap_place(s, src, err) < 0)
			return -1;
	} else if (strcmp(type, "webdav") == 0) {
		if (json_object_object_get_ex(src, "secretSealed", NULL))
			return error_setk(err, ERROR_USAGE, "source: 'secretSealed' is set by the "
					  "service; give 'secret'");
		if (json_object_object_get_ex(src, "secretCommand", NULL))
			return error_setk(err, ERROR_USAGE, "source: a webdav source takes 'secret' "
					  "(sealed in the catalog), not 'secretCommand'");
		if (svc_check_object(src, webdav_keys, "a webdav source", err) < 0 ||
		    svc_want_str(src, "url", 1, &v, err) < 0 ||
		    svc_want_str(src, "secret", 1, &v, err) < 0)
			return error_prefix(err, "source");
		if (strlen(v) > SVC_SECRET_MAX_LEN)
			return error_setk(err, ERROR_USAGE, "source: 'secret' is too long");
		if (check_webdav_place(s, src, err) < 0)
			return -1;
	}
	return 0;
}

int svc_unit_create_internal(struct service *s, const char *tenant, const char *kind,
			     const char *name, struct json_object *source,
			     struct catalog_unit **u_r, struct error *err)
{
	struct json_object *src;
	int ret;

	if (svc_check_kind(kind, err) < 0 || svc_check_name("unit", name, err) < 0 ||
	    check_source(s, tenant, source, err) < 0)
		return -1;
	/* A deep copy: the caller's object keeps its secret for the reply
	 * to leave out, ours seals it. */
	src = NULL;
	if (json_object_deep_copy(source, &src, NULL) < 0)
		return error_set(err, "cannot copy the source");
	svc_secret_seal(s, tenant, name, src);
	ret = catalog_unit_create(svc_catalog(s), tenant, kind, name,
				  json_object_to_json_string_ext(src, JSON_C_TO_STRING_PLAIN), u_r,
				  err);
	json_object_put(src);
	if (ret < 0)
		return -1;
	(*u_r)->created = (*u_r)->created ? (*u_r)->created : svc_now(s);
	if (svc_unit_describe(s, *u_r, err) < 0)
		log_warn("event=unit.describe unit=%s error=\"%s\"", (*u_r)->id, err->msg);
	return 0;
}

int svc_unit_create(struct service *s, const struct svc_principal *p, const char *tenant,
		    struct json_object *in, struct json_object **out, struct error *err)
{
	static const char *const allowed[] = { "name", "kind", "source", NULL };
	struct json_object *src = NULL, *detail;
	struct catalog_unit *u = NULL;
	struct catalog_tenant *t = NULL;
	const char *name, *kind;
	int ret = -1;

	if (svc_authorize(p, tenant, SVC_PERM_UNIT_CREATE, err) < 0 ||
	    svc_tenant_writable(s, tenant, "create a unit", err) < 0)
		return -1;
	if (svc_check_object(in, allowed, "a unit", err) < 0 ||
	    svc_want_str(in, "name", 1, &name, err) < 0 ||
	    svc_want_str(in, "kind", 1, &kind, err) < 0)
		return -1;
	if (!json_object_object_get_ex(in, "source", &src))
		return error_setk(err, ERROR_USAGE, "'source' is required");
	if (json_object_is_type(src, json_type_object) && jsonu_str(src, "type") &&
	    svc_authorize_source(p, jsonu_str(src, "type"), svc_cfg(s)->folder_root != NULL,
				 err) < 0)
		return -1;
	if (catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0)
		return -1;
	if (svc_unit_create_internal(s, tenant, kind, name, src, &u, err) < 0)
		goto out;
	detail = json_object_new_object();
	json_object_object_add(detail, "name", json_object_new_string(name));
	json_object_object_add(detail, "kind", json_object_new_string(kind));
	ret = svc_audit(s, p, tenant, "protectionUnit.create", u->id, detail, err);
	json_object_put(detail);
	if (ret < 0)
		goto out;
	log_info("event=unit.create tenant=%s unit=%s kind=%s", tenant, u->id, kind);
	*out = view_unit(u);
out:
	catalog_tenant_free(&t);
	catalog_unit_free(&u);
	return ret;
}

/* ---- legal hold ---- */

#define LEGAL_HOLD_REASON_MAX 1024

/* The ids of the tenant's units under a legal hold, but `unit`. */
static int held_units(struct service *s, const char *tenant, const char *unit, char ***ids_r,
		      size_t *n_r, struct error *err)
{
	struct catalog_page pg = { .limit = 1000 };
	char **ids = NULL, *after = NULL;
	size_t n = 0;

	for (;;) {
		struct catalog_unit **us = NULL;
		size_t m = 0, i;

		pg.after = after;
		if (catalog_unit_list(svc_catalog(s), tenant, NULL, &pg, &us, &m, err) < 0) {
			free(after);
			locks_names_free(ids, n);
			return -1;
		}
		for (i = 0; i < m; i++) {
			if (us[i]->legal_hold == NULL || strcmp(us[i]->id, unit) == 0)
				continue;
			ids = xrealloc(ids, xmul(n + 1, sizeof(char *)));
			ids[n++] = xstrdup(us[i]->id);
		}
		free(after);
		after = m > 0 ? xstrdup(us[m - 1]->id) : NULL;
		CATALOG_LIST_FREE(us, m, catalog_unit_free);
		if (m < 1000)
			break;
	}
	free(after);
	*ids_r = ids;
	*n_r = n;
	return 0;
}

/* The S3 side: a folder store has no holds (the catalog's hold is then
 * the whole of it: expiry and forget refuse). */
static int legal_hold_store(struct service *s, const struct catalog_tenant *t, const char *unit,
			    int on, struct json_object *detail, struct error *err)
{
	struct legal_hold_result res;
	struct store *st = NULL;
	char **held = NULL, *spec;
	size_t nheld = 0;
	int ret = -1;

	spec = svc_tenant_store_spec(s, t, err);
	if (spec == NULL)
		return -1;
	if (!backend_spec_is_url(spec)) {
		free(spec);
		return 0;
	}
	free(spec);
	if ((!on && held_units(s, t->id, unit, &held, &nheld, err) < 0) ||
	    (st = svc_tenant_store(s, t->id, BACKEND_ALLOW_DELETE, err)) == NULL)
		goto out;
	if (legal_hold_apply(st, unit, on, (const char *const *)held, nheld, &res, err) < 0)
		goto out;
	if (res.has_locks) {
		json_object_object_add(detail, "objects", json_object_new_int64((int64_t)res.objects));
		json_object_object_add(detail, on ? "held" : "released",
				       json_object_new_int64((int64_t)res.changed));
		if (!on)
			json_object_object_add(detail, "keptForOtherHolds",
					       json_object_new_int64((int64_t)res.kept));
	}
	log_info("event=unit.legal_hold tenant=%s unit=%s hold=%s objects=%llu changed=%llu "
		 "kept=%llu failed=%llu", t->id, unit, on ? "on" : "off",
		 (unsigned long long)res.objects, (unsigned long long)res.changed,
		 (unsigned long long)res.kept, (unsigned long long)res.failed);
	if (res.failed > 0)
		error_set(err, "%llu object%s of unit %s could not be %s (the first: %s); try "
			  "again", (unsigned long long)res.failed, res.failed == 1 ? "" : "s", unit,
			  on ? "put under legal hold" : "released",
			  res.nfailures ? res.failures[0] : "");
	else
		ret = 0;
	legal_hold_result_clear(&res);
out:
	store_close(&st);
	locks_names_free(held, nheld);
	return ret;
}

int svc_unit_legal_hold(struct service *s, const struct svc_principal *p, const char *tenant,
			const char *unit, const char *reason, struct json_object **out,
			struct error *err)
{
	struct catalog_tenant *t = NULL;
	struct catalog_unit *u = NULL;
	struct json_object *detail = json_object_new_object();
	char *was = NULL;
	int ret = -1;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_CONFIG_WRITE, err) < 0)
		goto out;
	if (reason != NULL && (reason[0] == '\0' || strlen(reason) > LEGAL_HOLD_REASON_MAX)) {
		error_setk(err, ERROR_USAGE, "'reason' must be 1 to %d bytes",
			   LEGAL_HOLD_REASON_MAX);
		goto out;
	}
	if (catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0 ||
	    catalog_unit_get(svc_catalog(s), tenant, unit, &u, err) < 0)
		goto out;
	if (reason == NULL && u->legal_hold == NULL) {
		error_setk(err, ERROR_NOTFOUND, "unit %s has no legal hold", unit);
		goto out;
	}
	was = u->legal_hold ? xstrdup(u->legal_hold) : NULL;
	json_object_object_add(detail, "reason", json_object_new_string(reason ? reason : was));
	/* Set: the catalog first, so that expiry stops before the first
	 * object is held. Release: the objects first, so that a release that
	 * fails half-way leaves the unit held everywhere it says. */
	if (reason != NULL &&
	    catalog_unit_set_legal_hold(svc_catalog(s), tenant, unit, reason, svc_now(s), err) < 0)
		goto out;
	if (legal_hold_store(s, t, unit, reason != NULL, detail, err) < 0)
		goto out;
	if (reason == NULL &&
	    catalog_unit_set_legal_hold(svc_catalog(s), tenant, unit, NULL, svc_now(s), err) < 0)
		goto out;
	if (svc_audit(s, p, tenant, reason ? "unit.legalHold.set" : "unit.legalHold.release", unit,
		      detail, err) < 0)
		goto out;
	log_info("event=unit.legalHold.%s tenant=%s unit=%s", reason ? "set" : "release", tenant,
		 unit);
	if (reason == NULL) /* erasures the hold held back take effect now */
		svc_erasures_resume(s, tenant);
	catalog_unit_free(&u);
	if (catalog_unit_get(svc_catalog(s), tenant, unit, &u, err) < 0)
		goto out;
	*out = view_unit(u);
	ret = 0;
out:
	free(was);
	json_object_put(detail);
	catalog_unit_free(&u);
	catalog_tenant_free(&t);
	return ret;
}
