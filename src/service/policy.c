/* Protection policies (docs/service.md "Policies"): their fields checked
 * and applied on create and update; the scheduler acts on them. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/service.h"
#include "service/views.h"

#define DEFAULT_FREQUENCY 600
#define DEFAULT_RECENT_DAYS 14
#define DEFAULT_RETENTION_DAYS 365

static int check_rules(struct service *s, const struct svc_principal *pr, const char *tenant,
		       struct json_object *rules, const char *kind, struct error *err)
{
	static const char *const rule_keys[] = { "type", "path", "kind", NULL };
	const char *type, *path, *rkind;

	if (!json_object_is_type(rules, json_type_array))
		return error_setk(err, ERROR_USAGE, "'rules' must be an array");
	if (json_object_array_length(rules) > 0 &&
	    svc_authorize_source(pr, "folder", svc_cfg(s)->folder_root != NULL, err) < 0)
		return -1;
	for (size_t i = 0; i < json_object_array_length(rules); i++) {
		struct json_object *r = json_object_array_get_idx(rules, i);

		if (svc_check_object(r, rule_keys, "a rule", err) < 0 ||
		    svc_want_str(r, "type", 1, &type, err) < 0 ||
		    svc_want_str(r, "path", 1, &path, err) < 0 ||
		    svc_want_str(r, "kind", 0, &rkind, err) < 0)
			return error_prefix(err, "rule %zu", i + 1);
		if (strcmp(type, "subfolders") != 0)
			return error_setk(err, ERROR_USAGE, "rule %zu: type '%s' is not 'subfolders'",
					  i + 1, type);
		if (svc_check_folder_place(s, tenant, "rule: path", path, 0, err) < 0)
			return error_prefix(err, "rule %zu", i + 1);
		if (rkind && strcmp(rkind, kind) != 0)
			return error_setk(err, ERROR_USAGE, "rule %zu: kind '%s' differs from the "
					  "policy's kind '%s' (one kind per policy)", i + 1, rkind,
					  kind);
	}
	return 0;
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
					       "retentionDays", "state",	      NULL };
	struct json_object *v;
	const char *str;

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
		if (check_rules(s, pr, p->tenant, v, p->kind, err) < 0)
			return -1;
		free(p->rules);
		p->rules = xstrdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
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

int svc_policy_create(struct service *s, const struct svc_principal *pr, const char *tenant,
		      struct json_object *in, struct json_object **out, struct error *err)
{
	struct catalog_policy p = { 0 }, *got = NULL;
	struct catalog_tenant *t = NULL;
	int ret = -1;

	if (svc_authorize(pr, tenant, SVC_PERM_CONFIG_WRITE, err) < 0)
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
	if (catalog_policy_get(svc_catalog(s), tenant, p.id, &got, err) < 0 ||
	    svc_audit(s, pr, tenant, "protectionPolicy.create", p.id, in, err) < 0)
		goto out;
	log_info("event=policy.create tenant=%s policy=%s state=%s", tenant, p.id, p.state);
	svc_kick_scheduler(s);
	*out = view_policy(got);
	ret = 0;
out:
	catalog_tenant_free(&t);
	catalog_policy_free(&got);
	free(p.id);
	free(p.tenant);
	free(p.name);
	free(p.kind);
	free(p.state);
	free(p.units);
	free(p.rules);
	return ret;
}

int svc_policy_update(struct service *s, const struct svc_principal *pr, const char *tenant,
		      const char *id, struct json_object *in, struct json_object **out,
		      struct error *err)
{
	struct catalog_policy *p = NULL;
	int ret = -1;

	if (svc_authorize(pr, tenant, SVC_PERM_CONFIG_WRITE, err) < 0)
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
	if (ret < 0 || (ret = svc_audit(s, pr, tenant, "protectionPolicy.update", id, in, err)) < 0)
		goto out;
	log_info("event=policy.update tenant=%s policy=%s state=%s", tenant, id, p->state);
	svc_kick_scheduler(s);
	*out = view_policy(p);
out:
	catalog_policy_free(&p);
	return ret;
}
