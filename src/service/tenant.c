/* Tenants: creation with the tenant's store and key file, and the settings
 * the global admin changes. */
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "crypto/crypto.h"
#include "crypto/seal.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/service.h"
#include "service/views.h"
#include "store/store.h"

static void tenant_undo(struct service *s, const char *id)
{
	struct error ignore;
	char *p;

	error_init(&ignore);
	p = xasprintf("%s/stores/%s", svc_cfg(s)->data_dir, id);
	fs_remove_tree(p, &ignore);
	free(p);
	p = xasprintf("%s/keys/%s.key", svc_cfg(s)->data_dir, id);
	unlink(p);
	free(p);
	p = xasprintf("%s/keys/%s.delete.key", svc_cfg(s)->data_dir, id);
	unlink(p);
	free(p);
	p = svc_tenant_meta_dir(s, id);
	fs_remove_tree(p, &ignore);
	free(p);
}

/* The store and its key file: 32 random bytes as hex, mode 0600. */
static int tenant_store_create(struct service *s, const char *id, char **store_r,
			       struct error *err)
{
	struct keysource ks = { .kdf = KEYSLOT_KEYFILE };
	char *key_path = xasprintf("%s/keys/%s.key", svc_cfg(s)->data_dir, id);
	char *store = xasprintf("%s/stores/%s", svc_cfg(s)->data_dir, id);
	uint8_t rnd[32];
	char hex[66];
	int fd, ret = -1;

	crypto_random(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), hex);
	crypto_wipe(rnd, sizeof(rnd));
	hex[64] = '\n';
	hex[65] = '\0';
	fd = open(key_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		error_sys(err, "cannot create key file %s", key_path);
		goto out;
	}
	if (fs_write_all(fd, hex, 65, key_path, err) < 0 || fsync(fd) < 0) {
		if (err->msg[0] == '\0')
			error_sys(err, "fsync(%s) failed", key_path);
		close(fd);
		goto out;
	}
	close(fd);
	ks.secret = (const uint8_t *)hex;
	ks.len = 65;
	if (fs_mkdir_p(store, err) < 0 || store_init(store, &ks, err) < 0)
		goto out;
	*store_r = store;
	store = NULL;
	ret = 0;
out:
	crypto_wipe(hex, sizeof(hex));
	free(key_path);
	free(store);
	return ret;
}

int svc_tenant_create(struct service *s, const struct svc_principal *p, struct json_object *in,
		      struct json_object **out, struct error *err)
{
	static const char *const allowed[] = { "name", NULL };
	struct catalog_tenant t = { 0 }, *got = NULL;
	struct json_object *detail;
	const char *name;
	int ret = -1;

	if (svc_authorize(p, NULL, SVC_PERM_TENANTS_MANAGE, err) < 0)
		return -1;
	if (in == NULL || !json_object_is_type(in, json_type_object))
		return error_setk(err, ERROR_USAGE, "a tenant is a JSON object with a name");
	if (svc_check_unknown(in, allowed, "a tenant", err) < 0 ||
	    svc_want_str(in, "name", 1, &name, err) < 0 ||
	    svc_check_name("tenant", name, err) < 0)
		return -1;
	t.id = svc_new_id("t-");
	t.name = svc_in(name);
	t.state = svc_in(catalog_tenant_state_name(CATALOG_TENANT_ACTIVE));
	t.created = svc_now(s);
	if (tenant_store_create(s, t.id, &t.store, err) < 0 ||
	    svc_tenant_describe(s, t.id, name, err) < 0 ||
	    catalog_tenant_insert(svc_catalog(s), &t, err) < 0) {
		error_prefix(err, "cannot create tenant '%s'", name);
		tenant_undo(s, t.id);
		goto out;
	}
	if (catalog_tenant_get(svc_catalog(s), t.id, &got, err) < 0)
		goto out;
	detail = json_object_new_object();
	json_object_object_add(detail, "name", json_object_new_string(name));
	if (svc_audit(s, p, t.id, "tenant.create", t.id, detail, err) < 0) {
		json_object_put(detail);
		goto out;
	}
	json_object_put(detail);
	log_info("event=tenant.create tenant=%s", t.id);
	*out = view_tenant(got);
	ret = 0;
out:
	catalog_tenant_free(got);
	free(t.id);
	free(t.store);
	return ret;
}

int svc_tenant_update(struct service *s, const struct svc_principal *p, const char *tenant,
		      struct json_object *in, struct json_object **out, struct error *err)
{
	static const char *const allowed[] = { "minRetentionDays", NULL };
	struct catalog_tenant *t = NULL;
	struct json_object *detail;
	int64_t days = 0;
	int ret = -1;

	if (svc_authorize(p, tenant, SVC_PERM_TENANT_SETTINGS, err) < 0)
		return -1;
	if (in == NULL || !json_object_is_type(in, json_type_object))
		return error_setk(err, ERROR_USAGE, "a tenant update is a JSON object");
	if (svc_check_unknown(in, allowed, "a tenant update", err) < 0 ||
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
	if (svc_audit(s, p, tenant, "tenant.update", tenant, detail, err) < 0)
		goto out;
	log_info("event=tenant.update tenant=%s min_retention_days=%lld", tenant,
		 (long long)t->min_retention_days);
	*out = view_tenant(t);
	ret = 0;
out:
	json_object_put(detail);
	catalog_tenant_free(t);
	return ret;
}
