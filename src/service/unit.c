/* Protection units: their creation, with the checks of the source (where a
 * folder or an IMAP server may be, how its secret is given). */
#include <json-c/json.h>
#include <string.h>

#include "catalog/catalog.h"
#include "lib/error.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "lib/netpolicy.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/service.h"
#include "service/views.h"
#include "sources/imap.h"
#include "sources/mail.h"
#include "sources/source.h"

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

static int check_source(struct service *s, const char *tenant, struct json_object *src,
			struct error *err)
{
	static const char *const folder_keys[] = { "type", "path", NULL };
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

	if (svc_authorize(p, tenant, SVC_PERM_UNIT_CREATE, err) < 0)
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
