/* The descriptors that let `coffer catalog rebuild` restore tenants and
 * units (docs/service.md "Rebuild"): DATA/tenants/<id>/tenant.json and
 * units/<unit id>.json, written when each is created. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/mem.h"
#include "service/core.h"
#include "service/service.h"

char *svc_tenant_meta_dir(struct service *s, const char *tenant)
{
	return xasprintf("%s/tenants/%s", svc_cfg(s)->data_dir, tenant);
}

static int write_json(const char *dir, const char *name, struct json_object *o,
		      struct error *err)
{
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	char *path;
	int ret;

	if (fs_mkdir_p(dir, err) < 0)
		return -1;
	path = xasprintf("%s/%s", dir, name);
	ret = fs_write_replace(path, text, strlen(text), err);
	free(path);
	return ret;
}

int svc_tenant_describe(struct service *s, const char *tenant, const char *name,
			const char *location, struct error *err)
{
	struct json_object *o = json_object_new_object();
	char *dir = svc_tenant_meta_dir(s, tenant);
	int ret;

	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "id", json_object_new_string(tenant));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "location", json_object_new_string(location));
	ret = write_json(dir, "tenant.json", o, err);
	json_object_put(o);
	free(dir);
	return ret;
}

int svc_unit_describe(struct service *s, const struct catalog_unit *u, struct error *err)
{
	struct json_object *o = json_object_new_object();
	struct json_object *src = json_tokener_parse(u->source);
	char *dir = svc_tenant_meta_dir(s, u->tenant), *udir = xasprintf("%s/units", dir);
	char *name = xasprintf("%s.json", u->id);
	int ret;

	/* Secrets stay in the catalog only: a rebuilt unit needs its secret
	 * given again. */
	if (src) {
		json_object_object_del(src, "secret");
		json_object_object_del(src, "secretSealed");
	}
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "id", json_object_new_string(u->id));
	json_object_object_add(o, "kind", json_object_new_string(u->kind));
	json_object_object_add(o, "name", json_object_new_string(u->name));
	json_object_object_add(o, "source", src ? src : json_object_new_object());
	json_object_object_add(o, "created", json_object_new_int64(u->created));
	ret = write_json(udir, name, o, err);
	json_object_put(o);
	free(name);
	free(udir);
	free(dir);
	return ret;
}
