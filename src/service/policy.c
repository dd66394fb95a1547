/* Protection policies (docs/service.md "Policies"): their fields checked
 * and applied on create and update; the scheduler acts on them. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
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
#include "sources/webdav_source.h"

#define DEFAULT_FREQUENCY 600
#define DEFAULT_RECENT_DAYS 14
#define DEFAULT_RETENTION_DAYS 365

/* A "subfolders" rule: each folder right inside path is a unit. */
static int check_subfolders_rule(struct service *s, const struct svc_principal *pr,
				 const char *tenant, struct json_object *r, struct error *err)
{
	static const char *const keys[] = { "type", "path", "kind", NULL };
	const char *path;

	if (svc_authorize_source(pr, "folder", svc_cfg(s)->folder_root != NULL, err) < 0 ||
	    svc_check_object(r, keys, "a subfolders rule", err) < 0 ||
	    svc_want_str(r, "path", 1, &path, err) < 0)
		return -1;
	return svc_check_folder_place(s, tenant, "rule: path", path, 0, err);
}

/* The sealed secret of the old rule over the same root as the same user,
 * or NULL: a rule sent back without its secret (GET never shows it)
 * keeps it. */
static const char *old_sealed(struct json_object *old, struct json_object *r)
{
	const char *user = jsonu_str(r, "user");

	for (size_t i = 0; old && i < json_object_array_length(old); i++) {
		struct json_object *o = json_object_array_get_idx(old, i);
		const char *ou = jsonu_str(o, "user");

		if (jsonu_str(o, "type") && strcmp(jsonu_str(o, "type"), "webdav") == 0 &&
		    jsonu_str(o, "url") && strcmp(jsonu_str(o, "url"), jsonu_str(r, "url")) == 0 &&
		    ((user == NULL && ou == NULL) || (user && ou && strcmp(user, ou) == 0)))
			return jsonu_str(o, "secretSealed");
	}
	return NULL;
}

/* A "webdav" rule: each collection right inside url is a unit with a
 * webdav source (docs/service.md "Policies"). Its URL is checked against
 * source_allow / source_deny now (and by the client at each connection);
 * *stored_r is the rule as the catalog keeps it, its secret sealed. */
static int check_webdav_rule(struct service *s, const struct svc_principal *pr,
			     const char *tenant, struct json_object *r, const char *kind,
			     struct json_object *old, struct json_object **stored_r,
			     struct error *err)
{
	static const char *const keys[] = { "type", "url", "user", "auth", "secret", "caFile",
					    "insecure", "timeoutSeconds", "connections", "kind", NULL };
	struct json_object *chk = NULL;
	const char *v, *sealed = NULL;
	char *host = NULL;
	uint16_t port;
	int ret = -1;

	*stored_r = NULL;
	if (svc_authorize_source(pr, "webdav", svc_cfg(s)->folder_root != NULL, err) < 0)
		return -1;
	if (catalog_kind_of(kind) == CATALOG_KIND_MAILBOX)
		return error_setk(err, ERROR_USAGE, "a webdav rule makes account or site units; "
				  "this policy protects mailboxes");
	if (json_object_object_get_ex(r, "secretSealed", NULL))
		return error_setk(err, ERROR_USAGE, "'secretSealed' is set by the service; give "
				  "'secret'");
	if (svc_check_object(r, keys, "a webdav rule", err) < 0 ||
	    svc_want_str(r, "url", 1, &v, err) < 0 || svc_want_str(r, "secret", 0, &v, err) < 0)
		return -1;
	if (v && strlen(v) > SVC_SECRET_MAX_LEN)
		return error_setk(err, ERROR_USAGE, "'secret' is too long");
	if (v == NULL && (sealed = old_sealed(old, r)) == NULL)
		return error_setk(err, ERROR_USAGE, "a webdav rule needs 'secret' (the password or "
				  "token for the root, sealed in the catalog)");
	if (json_object_deep_copy(r, &chk, NULL) < 0)
		return error_set(err, "cannot copy the rule");
	if (v == NULL) /* kept sealed: only the other fields are checked */
		json_object_object_add(chk, "secret", json_object_new_string(""));
	if (webdav_source_place(chk, &host, &port, err) < 0)
		goto out;
	if (netpolicy_check_host(svc_netpolicy(s), host, port, err) < 0)
		goto out;
	json_object_object_del(chk, "secret");
	if (v)
		json_object_object_add(chk, "secret", json_object_new_string(v));
	else
		json_object_object_add(chk, "secretSealed", json_object_new_string(sealed));
	svc_rule_secret_seal(s, tenant, chk);
	*stored_r = chk;
	chk = NULL;
	ret = 0;
out:
	json_object_put(chk);
	free(host);
	return ret;
}

/* Checks the rules; *stored_r is them as the catalog keeps them (secrets
 * sealed). old: the policy's rules before (NULL on create). */
static int check_rules(struct service *s, const struct svc_principal *pr, const char *tenant,
		       struct json_object *rules, const char *kind, const char *old_json,
		       char **stored_r, struct error *err)
{
	struct json_object *old = old_json ? json_tokener_parse(old_json) : NULL;
	struct json_object *stored = json_object_new_array(), *r, *keep;
	const char *type, *rkind;
	int ret = -1;

	*stored_r = NULL;
	if (!json_object_is_type(rules, json_type_array)) {
		error_setk(err, ERROR_USAGE, "'rules' must be an array");
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(rules); i++) {
		r = json_object_array_get_idx(rules, i);
		keep = NULL;
		if (!json_object_is_type(r, json_type_object)) {
			error_setk(err, ERROR_USAGE, "rule %zu is not an object", i + 1);
			goto out;
		}
		if (svc_want_str(r, "type", 1, &type, err) < 0 ||
		    svc_want_str(r, "kind", 0, &rkind, err) < 0) {
			error_prefix(err, "rule %zu", i + 1);
			goto out;
		}
		if (rkind && strcmp(rkind, kind) != 0) {
			error_setk(err, ERROR_USAGE, "rule %zu: kind '%s' differs from the policy's "
				   "kind '%s' (one kind per policy)", i + 1, rkind, kind);
			goto out;
		}
		if (strcmp(type, "subfolders") == 0) {
			if (check_subfolders_rule(s, pr, tenant, r, err) < 0)
				goto rule_failed;
			keep = json_object_get(r);
		} else if (strcmp(type, "webdav") == 0) {
			if (check_webdav_rule(s, pr, tenant, r, kind, old, &keep, err) < 0)
				goto rule_failed;
		} else {
			error_setk(err, ERROR_USAGE, "rule %zu: type '%s' is not 'subfolders' or "
				   "'webdav'", i + 1, type);
			goto out;
		}
		json_object_array_add(stored, keep);
	}
	*stored_r = xstrdup(json_object_to_json_string_ext(stored, JSON_C_TO_STRING_PLAIN));
	ret = 0;
	goto out;
rule_failed:
	if (err->code != SVC_DENIED)
		error_prefix(err, "rule %zu", json_object_array_length(stored) + 1);
out:
	json_object_put(old);
	json_object_put(stored);
	return ret;
}

static int check_units(struct service *s, const char *tenant, const char *policy_id,
		       struct json_object *units, const char *kind, struct error *err)
{
	struct catalog_unit *u = NULL;
	const char *id;

	if (!json_object_is_type(units, json_type_array))
		return error_setk(err, ERROR_USAGE, "'units' must be an array of unit ids");
	for (size_t i = 0; i < json_object_array_length(units); i++) {
		struct json_object *v = json_object_array_get_idx(units, i);

		if (!json_object_is_type(v, json_type_string))
			return error_setk(err, ERROR_USAGE, "units[%zu] is not a unit id", i);
		id = json_object_get_string(v);
		if (catalog_unit_get(svc_catalog(s), tenant, id, &u, err) < 0) {
			if (err->code == ERROR_NOTFOUND)
				err->code = ERROR_USAGE;
			return error_prefix(err, "units[%zu]", i);
		}
		if (strcmp(u->kind, kind) != 0) {
			error_setk(err, ERROR_USAGE, "unit %s is a %s, the policy protects %s units",
				   id, u->kind, kind);
			catalog_unit_free(&u);
			return -1;
		}
		if (u->policy && (policy_id == NULL || strcmp(u->policy, policy_id) != 0)) {
			error_setk(err, ERROR_EXISTS, "unit %s is already protected by policy %s", id,
				   u->policy);
			catalog_unit_free(&u);
			return -1;
		}
		catalog_unit_free(&u);
		u = NULL;
	}
	return 0;
}

/* A policy may not keep points for less than its tenant's minimum (set by
 * the global admin), so a tenant admin's token cannot be used to make
 * expiry destroy history. Points already taken keep their own dates
 * whatever the policy says later (svc_backup_job_run fixes them). */
static int check_min_retention(struct service *s, const struct catalog_policy *p,
			       struct error *err)
{
	struct catalog_tenant *t = NULL;
	int ret = 0;

	if (catalog_tenant_get(svc_catalog(s), p->tenant, &t, err) < 0)
		return -1;
	if (p->retention_days < t->min_retention_days)
		ret = error_setk(err, SVC_DENIED, "forbidden: retentionDays %lld is below tenant "
				 "%s's minimum of %lld days (set by the global admin)",
				 (long long)p->retention_days, p->tenant,
				 (long long)t->min_retention_days);
	catalog_tenant_free(&t);
	return ret;
}

/* Applies the fields of `in` to p (create and update share it). */
static int policy_apply(struct service *s, const struct svc_principal *pr,
			struct catalog_policy *p, struct json_object *in, int creating,
			struct error *err)
{
	static const char *const allowed[] = { "name",	     "kind",	      "units",
					       "rules",	     "frequencySeconds", "recentDays",
					       "retentionDays", "state",	      "drill",
					       NULL };
	struct json_object *v;
	const char *str;
	char *str_r;

	if (svc_check_object(in, allowed, "a policy", err) < 0)
		return -1;
	if (svc_want_str(in, "name", creating, &str, err) < 0 ||
	    (str && svc_check_name("policy", str, err) < 0))
		return -1;
	if (str) {
		free(p->name);
		p->name = xstrdup(str);
	}
	if (svc_want_str(in, "kind", creating, &str, err) < 0)
		return -1;
	if (str && !creating && strcmp(str, p->kind) != 0)
		return error_setk(err, ERROR_USAGE, "a policy's kind cannot change (it is %s)",
				  p->kind);
	if (str && creating) {
		if (svc_check_kind(str, err) < 0)
			return -1;
		p->kind = xstrdup(str);
	}
	if (svc_want_int(in, "frequencySeconds", svc_cfg(s)->min_frequency_s, 366LL * 86400,
			 &p->frequency_s, err) < 0 ||
	    svc_want_int(in, "recentDays", 0, SVC_MAX_DAYS, &p->recent_days, err) < 0 ||
	    svc_want_int(in, "retentionDays", 1, SVC_MAX_DAYS, &p->retention_days, err) < 0)
		return -1;
	if (p->recent_days > p->retention_days)
		return error_setk(err, ERROR_USAGE, "recentDays (%lld) may not pass retentionDays "
				  "(%lld)", (long long)p->recent_days, (long long)p->retention_days);
	if (check_min_retention(s, p, err) < 0)
		return -1;
	if (json_object_object_get_ex(in, "units", &v)) {
		if (check_units(s, p->tenant, creating ? NULL : p->id, v, p->kind, err) < 0)
			return -1;
		free(p->units);
		p->units = xstrdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	}
	if (json_object_object_get_ex(in, "rules", &v)) {
		if (check_rules(s, pr, p->tenant, v, p->kind, creating ? NULL : p->rules, &str_r,
				err) < 0)
			return -1;
		free(p->rules);
		p->rules = str_r;
	}
	if (json_object_object_get_ex(in, "drill", &v)) {
		if (svc_drill_settings_check(s, v, p->kind, &str_r, err) < 0)
			return -1;
		free(p->drill);
		p->drill = str_r;
	}
	if (svc_want_str(in, "state", 0, &str, err) < 0)
		return -1;
	if (str) {
		enum catalog_policy_state want = catalog_policy_state_of(str);

		if (want != CATALOG_POLICY_ACTIVE && want != CATALOG_POLICY_ACTIVATING &&
		    want != CATALOG_POLICY_INACTIVE)
			return error_setk(err, ERROR_USAGE,
					  "state '%s' is not one of active, inactive", str);
		/* Activation starts from inactive; an active or activating
		 * policy stays as it is. */
		if (want == CATALOG_POLICY_INACTIVE ||
		    catalog_policy_state_of(p->state) == CATALOG_POLICY_INACTIVE) {
			free(p->state);
			p->state = xstrdup(catalog_policy_state_name(
				want == CATALOG_POLICY_INACTIVE ? CATALOG_POLICY_INACTIVE
								: CATALOG_POLICY_ACTIVATING));
		}
	}
	return 0;
}

/* What the audit log keeps of a create or update: the input without the
 * rules' secrets. The caller puts it. */
static struct json_object *audit_detail(struct json_object *in)
{
	struct json_object *d = NULL, *rules;

	if (json_object_deep_copy(in, &d, NULL) < 0)
		return NULL;
	if (json_object_object_get_ex(d, "rules", &rules) &&
	    json_object_is_type(rules, json_type_array))
		for (size_t i = 0; i < json_object_array_length(rules); i++) {
			struct json_object *r = json_object_array_get_idx(rules, i);

			if (json_object_is_type(r, json_type_object) &&
			    json_object_object_get_ex(r, "secret", NULL))
				json_object_object_add(r, "secret", json_object_new_string("(sealed)"));
		}
	return d;
}

int svc_policy_create(struct service *s, const struct svc_principal *pr, const char *tenant,
		      struct json_object *in, struct json_object **out, struct error *err)
{
	struct catalog_policy p = { 0 }, *got = NULL;
	struct catalog_tenant *t = NULL;
	struct json_object *detail = NULL;
	int ret = -1;

	if (svc_authorize(pr, tenant, SVC_PERM_CONFIG_WRITE, err) < 0 ||
	    svc_tenant_writable(s, tenant, "create a policy", err) < 0)
		return -1;
	if (catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0)
		return -1;
	p.tenant = xstrdup(tenant);
	p.state = xstrdup(catalog_policy_state_name(CATALOG_POLICY_INACTIVE));
	p.units = xstrdup("[]");
	p.rules = xstrdup("[]");
	p.frequency_s = DEFAULT_FREQUENCY;
	p.recent_days = DEFAULT_RECENT_DAYS;
	p.retention_days = t->min_retention_days > DEFAULT_RETENTION_DAYS ? t->min_retention_days
									   : DEFAULT_RETENTION_DAYS;
	p.created = p.updated = svc_now(s);
	svc_lock(s);
	if (policy_apply(s, pr, &p, in, 1, err) < 0 || catalog_policy_create(svc_catalog(s), &p, err) < 0) {
		svc_unlock(s);
		goto out;
	}
	svc_unlock(s);
	detail = audit_detail(in);
	if (catalog_policy_get(svc_catalog(s), tenant, p.id, &got, err) < 0 ||
	    svc_audit(s, pr, tenant, "protectionPolicy.create", p.id, detail, err) < 0)
		goto out;
	log_info("event=policy.create tenant=%s policy=%s state=%s", tenant, p.id, p.state);
	svc_kick_scheduler(s);
	*out = view_policy(got);
	ret = 0;
out:
	json_object_put(detail);
	catalog_tenant_free(&t);
	catalog_policy_free(&got);
	free(p.id);
	free(p.tenant);
	free(p.name);
	free(p.kind);
	free(p.state);
	free(p.units);
	free(p.rules);
	free(p.drill);
	return ret;
}

int svc_policy_update(struct service *s, const struct svc_principal *pr, const char *tenant,
		      const char *id, struct json_object *in, struct json_object **out,
		      struct error *err)
{
	struct catalog_policy *p = NULL;
	struct json_object *detail = NULL;
	int ret = -1;

	if (svc_authorize(pr, tenant, SVC_PERM_CONFIG_WRITE, err) < 0 ||
	    svc_tenant_writable(s, tenant, "change a policy", err) < 0)
		return -1;
	svc_lock(s);
	if (catalog_policy_get(svc_catalog(s), tenant, id, &p, err) < 0 ||
	    policy_apply(s, pr, p, in, 0, err) < 0) {
		svc_unlock(s);
		goto out;
	}
	p->updated = svc_now(s);
	ret = catalog_policy_update(svc_catalog(s), p, err);
	svc_unlock(s);
	detail = audit_detail(in);
	if (ret < 0 ||
	    (ret = svc_audit(s, pr, tenant, "protectionPolicy.update", id, detail, err)) < 0)
		goto out;
	log_info("event=policy.update tenant=%s policy=%s state=%s", tenant, id, p->state);
	svc_kick_scheduler(s);
	*out = view_policy(p);
out:
	json_object_put(detail);
	catalog_policy_free(&p);
	return ret;
}
