/* Tenants: creation with the tenant's store and key file, and the settings
 * the global admin changes. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "crypto/crypto.h"
#include "crypto/seal.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/offboard.h"
#include "service/service.h"
#include "service/views.h"
#include "store/store.h"

/* What a failed creation leaves: the store where it can go, the
 * descriptor, and key files a node of an older version would have made. */
static void tenant_undo(struct service *s, const char *id, const char *location)
{
	struct error ignore;
	char *p;

	error_init(&ignore);
	svc_tenant_store_undo(s, id, location);
	p = svc_tenant_meta_dir(s, id);
	fs_remove_tree(p, &ignore);
	free(p);
}

int svc_tenant_create(struct service *s, const struct svc_principal *p, struct json_object *in,
		      struct json_object **out, struct error *err)
{
	static const char *const allowed[] = { "name", "location", NULL };
	struct catalog_tenant t = { 0 }, *got = NULL;
	struct json_object *detail;
	const char *name, *location;
	int ret = -1;

	if (svc_authorize(p, NULL, SVC_PERM_TENANTS_MANAGE, err) < 0)
		return -1;
	if (svc_check_object(in, allowed, "a tenant", err) < 0 ||
	    svc_want_str(in, "name", 1, &name, err) < 0 ||
	    svc_want_str(in, "location", 0, &location, err) < 0 ||
	    svc_check_name("tenant", name, err) < 0)
		return -1;
	if (location == NULL)
		location = svc_cfg(s)->default_location ? svc_cfg(s)->default_location
							: SVC_LOCATION_LOCAL;
	t.id = svc_new_id("t-");
	t.name = svc_in(name);
	t.state = svc_in(catalog_tenant_state_name(CATALOG_TENANT_ACTIVE));
	t.created = svc_now(s);
	t.store = svc_in(location);
	if (svc_tenant_store_create(s, t.id, location, err) < 0 ||
	    svc_tenant_describe(s, t.id, name, location, err) < 0 ||
	    catalog_tenant_insert(svc_catalog(s), &t, err) < 0) {
		error_prefix(err, "cannot create tenant '%s'", name);
		tenant_undo(s, t.id, location);
		goto out;
	}
	if (catalog_tenant_get(svc_catalog(s), t.id, &got, err) < 0)
		goto out;
	detail = json_object_new_object();
	json_object_object_add(detail, "name", json_object_new_string(name));
	json_object_object_add(detail, "location", json_object_new_string(location));
	if (svc_audit(s, p, t.id, "tenant.create", t.id, detail, err) < 0) {
		json_object_put(detail);
		goto out;
	}
	json_object_put(detail);
	log_info("event=tenant.create tenant=%s", t.id);
	*out = view_tenant(got);
	ret = 0;
out:
	catalog_tenant_free(&got);
	free(t.id);
	return ret;
}

int svc_tenant_update(struct service *s, const struct svc_principal *p, const char *tenant,
		      struct json_object *in, struct json_object **out, struct error *err)
{
	static const char *const allowed[] = { "minRetentionDays", "offboardGraceDays",
					       "destroyDelayDays", "erasureFourEyes", NULL };
	struct catalog_tenant *t = NULL;
	struct json_object *detail;
	int64_t days = 0;
	int ret = -1;

	if (svc_authorize(p, tenant, SVC_PERM_TENANT_SETTINGS, err) < 0)
		return -1;
	/* Data stays where it was written: moving a tenant is not offered. */
	if (json_object_object_get_ex(in, "location", NULL))
		return error_setk(err, ERROR_USAGE, "a tenant's location is fixed when it is "
				  "created and cannot be changed");
	if (svc_check_object(in, allowed, "a tenant update", err) < 0 ||
	    svc_want_int(in, "minRetentionDays", 1, SVC_MAX_DAYS, &days, err) < 0)
		return -1;
	if (catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0)
		return -1;
	detail = json_object_new_object();
	json_object_object_add(detail, "minRetentionDaysBefore",
			       json_object_new_int64(t->min_retention_days));
	if (days > 0) {
		json_object_object_add(detail, "minRetentionDays", json_object_new_int64(days));
		if (catalog_tenant_set_min_retention(svc_catalog(s), tenant, days, err) < 0)
			goto out;
		t->min_retention_days = days;
	}
	if (svc_tenant_privacy_update(s, t, in, detail, err) < 0)
		goto out;
	catalog_tenant_free(&t);
	if (catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0)
		goto out;
	if (svc_audit(s, p, tenant, "tenant.update", tenant, detail, err) < 0)
		goto out;
	log_info("event=tenant.update tenant=%s min_retention_days=%lld", tenant,
		 (long long)t->min_retention_days);
	*out = view_tenant(t);
	ret = 0;
out:
	json_object_put(detail);
	catalog_tenant_free(&t);
	return ret;
}
