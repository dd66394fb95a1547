/* Authentication and authorization: the only place roles and tenants are
 * compared (docs/service.md "Roles", docs/api.md "Roles and permissions").
 *
 * Tokens are bearer secrets "cft_" + 43 base64url characters (256 random
 * bits). The catalog keeps only the hex SHA-256 of the secret, so a copy of
 * the database does not give access; the secret is shown once, at
 * creation. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "catalog/catalog.h"
#include "crypto/crypto.h"
#include "lib/error.h"
#include "lib/hex.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "service/internal.h"
#include "service/service.h"
#include "service/views.h"

#define TOKEN_PREFIX "cft_"
#define TOKEN_RANDOM_BYTES 32
#define TOKEN_SECRET_MAX 256
#define TOKEN_NAME_MAX 200
#define BREAK_GLASS_MIN 10
#define BREAK_GLASS_MAX 1000

static const struct {
	enum svc_role role;
	const char *name;
} role_names[] = {
	{ SVC_ROLE_GLOBAL_ADMIN, "globalAdmin" },
	{ SVC_ROLE_TENANT_ADMIN, "tenantAdmin" },
	{ SVC_ROLE_RESTORE_OPERATOR, "restoreOperator" },
	{ SVC_ROLE_AUDITOR, "auditor" },
	{ SVC_ROLE_PRIVACY_OFFICER, "privacyOfficer" },
};

const char *svc_role_name(enum svc_role r)
{
	for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
		if (role_names[i].role == r)
			return role_names[i].name;
	return "unknown";
}

int svc_role_parse(const char *name, enum svc_role *r)
{
	for (size_t i = 0; name && i < sizeof(role_names) / sizeof(role_names[0]); i++) {
		if (strcmp(role_names[i].name, name) == 0) {
			*r = role_names[i].role;
			return 0;
		}
	}
	return -1;
}

void svc_principal_clear(struct svc_principal *p)
{
	if (p == NULL)
		return;
	free(p->token_id);
	free(p->tenant);
	memset(p, 0, sizeof(*p));
}

static void token_hash(const char *secret, char hex[65])
{
	uint8_t h[32];

	crypto_sha256(secret, strlen(secret), h);
	hex_encode(h, sizeof(h), hex);
}

int svc_authenticate(struct service *s, const char *secret, struct svc_principal *p,
		     struct error *err)
{
	struct catalog_token *t = NULL;
	char hex[65];
	enum svc_role role;

	memset(p, 0, sizeof(*p));
	if (secret == NULL || secret[0] == '\0' || strlen(secret) > TOKEN_SECRET_MAX)
		return error_setk(err, ERROR_KEY, "authenticate: missing or malformed token");
	token_hash(secret, hex);
	if (catalog_token_by_hash(svc_catalog(s), hex, &t, err) < 0) {
		if (err->code == ERROR_NOTFOUND)
			return error_setk(err, ERROR_KEY, "authenticate: unknown or revoked token");
		return error_prefix(err, "authenticate");
	}
	if (t->revoked || svc_role_parse(t->role, &role) < 0) {
		error_setk(err, ERROR_KEY, "authenticate: token %s is revoked or has no valid role",
			   t->id);
		catalog_token_free(&t);
		return -1;
	}
	/* last_used to the minute: a write per request would serialize them. */
	if (svc_now(s) - t->last_used >= 60 &&
	    catalog_token_touch(svc_catalog(s), t->id, svc_now(s), err) < 0) {
		catalog_token_free(&t);
		return error_prefix(err, "authenticate");
	}
	p->token_id = xstrdup(t->id);
	p->tenant = t->tenant ? xstrdup(t->tenant) : NULL;
	p->role = role;
	catalog_token_free(&t);
	return 0;
}

/* What each role may do, inside its own tenant. The global admin's rights
 * are of another kind (no tenant) and are checked in svc_authorize(). */
static const unsigned role_perms[] = {
	[SVC_ROLE_GLOBAL_ADMIN] = 0,
	[SVC_ROLE_TENANT_ADMIN] = 1u << SVC_PERM_TENANTS_MANAGE | 1u << SVC_PERM_STATUS_READ |
				  1u << SVC_PERM_CONFIG_WRITE | 1u << SVC_PERM_CONTENT_READ |
				  1u << SVC_PERM_RESTORE | 1u << SVC_PERM_AUDIT_READ |
				  1u << SVC_PERM_UNIT_CREATE | 1u << SVC_PERM_METRICS_READ |
				  1u << SVC_PERM_PRIVACY,
	[SVC_ROLE_RESTORE_OPERATOR] = 1u << SVC_PERM_STATUS_READ | 1u << SVC_PERM_CONTENT_READ |
				      1u << SVC_PERM_RESTORE | 1u << SVC_PERM_METRICS_READ,
	[SVC_ROLE_AUDITOR] = 1u << SVC_PERM_STATUS_READ | 1u << SVC_PERM_AUDIT_READ |
			     1u << SVC_PERM_METRICS_READ,
	/* Reads no content by itself: what an erasure or a subject export
	 * needs to see, it sees through those (audited) operations only. */
	[SVC_ROLE_PRIVACY_OFFICER] = 1u << SVC_PERM_STATUS_READ | 1u << SVC_PERM_AUDIT_READ |
				     1u << SVC_PERM_METRICS_READ | 1u << SVC_PERM_PRIVACY,
};

static const char *perm_name(enum svc_perm perm)
{
	switch (perm) {
	case SVC_PERM_TENANTS_MANAGE: return "manage tenants and tokens";
	case SVC_PERM_STATUS_READ: return "read the status";
	case SVC_PERM_CONFIG_WRITE: return "change the configuration";
	case SVC_PERM_CONTENT_READ: return "read backed-up content";
	case SVC_PERM_RESTORE: return "restore";
	case SVC_PERM_AUDIT_READ: return "read the audit log";
	case SVC_PERM_UNIT_CREATE: return "create protection units";
	case SVC_PERM_TENANT_SETTINGS: return "change the limits";
	case SVC_PERM_METRICS_READ: return "read the metrics";
	case SVC_PERM_PRIVACY: return "handle data-subject requests";
	}
	return "do this";
}

static int deny(const struct svc_principal *p, const char *tenant, enum svc_perm perm,
		struct error *err)
{
	return error_setk(err, SVC_DENIED, "forbidden: token %s (%s%s%s) may not %s %s%s",
			  p->token_id ? p->token_id : "?", svc_role_name(p->role),
			  p->tenant ? " of " : "", p->tenant ? p->tenant : "", perm_name(perm),
			  tenant ? "of tenant " : "globally", tenant ? tenant : "");
}

/* The global admin manages tenants and tokens of any tenant, creates folder
 * units (svc_authorize_source) and reads the global audit log; it never
 * sees tenant data. Everyone else acts inside
 * its own tenant only, with the rights of role_perms; TENANTS_MANAGE on its
 * own tenant means its tokens and its tenant record. */
int svc_authorize(const struct svc_principal *p, const char *tenant, enum svc_perm perm,
		  struct error *err)
{
	if (p == NULL || p->token_id == NULL)
		return error_setk(err, SVC_DENIED, "forbidden: not authenticated");
	if (p->role == SVC_ROLE_GLOBAL_ADMIN) {
		if (p->tenant == NULL &&
		    (perm == SVC_PERM_TENANTS_MANAGE ||
		     ((perm == SVC_PERM_UNIT_CREATE || perm == SVC_PERM_TENANT_SETTINGS) &&
		      tenant != NULL) ||
		     (perm == SVC_PERM_AUDIT_READ && tenant == NULL) ||
		     perm == SVC_PERM_METRICS_READ))
			return 0;
		return deny(p, tenant, perm, err);
	}
	if (p->role < SVC_ROLE_GLOBAL_ADMIN || p->role > SVC_ROLE_LAST)
		return deny(p, tenant, perm, err);
	if (tenant == NULL || p->tenant == NULL || strcmp(tenant, p->tenant) != 0)
		return deny(p, tenant, perm, err);
	if ((role_perms[p->role] & 1u << perm) == 0)
		return deny(p, tenant, perm, err);
	return 0;
}

int svc_authorize_source(const struct svc_principal *p, const char *type, int folder_root,
			 struct error *err)
{
	int folder = strcmp(type, "folder") == 0;

	if (p == NULL || p->token_id == NULL)
		return error_setk(err, SVC_DENIED, "forbidden: not authenticated");
	if (p->role == SVC_ROLE_GLOBAL_ADMIN) {
		if (!folder)
			return error_setk(err, SVC_DENIED, "forbidden: a globalAdmin creates folder "
					  "units only; a tenant's admins create its '%s' units", type);
		return 0;
	}
	if (folder && !folder_root)
		return error_setk(err, SVC_DENIED, "forbidden: folders are places on this server; "
				  "without folder_root only a globalAdmin may name them (set "
				  "folder_root to let tenants use FOLDER_ROOT/<tenant>/)");
	return 0;
}

/* base64url without padding: 32 bytes -> 43 characters. */
static void base64url(const uint8_t *in, size_t len, char *out)
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = a[v >> 6 & 63];
		out[o++] = a[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = a[v >> 6 & 63];
	}
	out[o] = '\0';
}

/* Whether the global admin may create a token of `tenant`: only its first
 * tenantAdmin token (none ever made, revoked ones included, so revoking the
 * admins' tokens does not reopen the door), or with a break-glass reason,
 * which svc_token_create() writes into the tenant's audit log. Otherwise the
 * global admin could give itself a restoreOperator token and read the
 * tenant's data (docs/service.md "Threat model"). */
static int token_check_global(struct service *s, const char *tenant, enum svc_role role,
			      const char *break_glass, struct error *err)
{
	int64_t admins;

	if (break_glass != NULL) {
		if (strlen(break_glass) < BREAK_GLASS_MIN || strlen(break_glass) > BREAK_GLASS_MAX)
			return error_setk(err, ERROR_USAGE, "create token: 'breakGlass' must give "
					  "the reason in %d to %d characters", BREAK_GLASS_MIN,
					  BREAK_GLASS_MAX);
		return 0;
	}
	if (role != SVC_ROLE_TENANT_ADMIN)
		return error_setk(err, SVC_DENIED, "forbidden: a globalAdmin creates only the first "
				  "tenantAdmin token of a tenant; its own admins create the others "
				  "(or give 'breakGlass' with a reason, written in the tenant's audit "
				  "log)");
	if (catalog_token_count(svc_catalog(s), tenant, svc_role_name(SVC_ROLE_TENANT_ADMIN),
				&admins, err) < 0)
		return error_prefix(err, "create token");
	if (admins > 0)
		return error_setk(err, SVC_DENIED, "forbidden: tenant %s already has a tenantAdmin "
				  "token; its admins create its tokens (or give 'breakGlass' with a "
				  "reason, written in the tenant's audit log)", tenant);
	return 0;
}

/* Who may create which token: see svc_token_create() in service.h. */
static int token_check(struct service *s, const struct svc_principal *by, const char *tenant,
		       enum svc_role role, const char *name, const char *break_glass,
		       struct error *err)
{
	struct catalog_tenant *t = NULL;

	/* Who asks comes first: a refusal must not depend on the details. */
	if (by != NULL) {
		if (role == SVC_ROLE_GLOBAL_ADMIN && by->role != SVC_ROLE_GLOBAL_ADMIN)
			return error_setk(err, SVC_DENIED, "forbidden: only a globalAdmin may create "
					  "globalAdmin tokens");
		if (svc_authorize(by, tenant, SVC_PERM_TENANTS_MANAGE, err) < 0)
			return -1;
		if (break_glass != NULL && (by->role != SVC_ROLE_GLOBAL_ADMIN || tenant == NULL))
			return error_setk(err, ERROR_USAGE, "create token: 'breakGlass' is for a "
					  "globalAdmin creating a tenant's token");
	}
	if (name == NULL || name[0] == '\0' || strlen(name) > TOKEN_NAME_MAX)
		return error_setk(err, ERROR_USAGE, "create token: a name of 1 to %d characters "
				  "is needed", TOKEN_NAME_MAX);
	if (role < SVC_ROLE_GLOBAL_ADMIN || role > SVC_ROLE_LAST)
		return error_setk(err, ERROR_USAGE, "create token: unknown role");
	if (role == SVC_ROLE_GLOBAL_ADMIN && tenant != NULL)
		return error_setk(err, ERROR_USAGE, "create token: a globalAdmin token belongs to "
				  "no tenant (got tenant %s)", tenant);
	if (role != SVC_ROLE_GLOBAL_ADMIN && tenant == NULL)
		return error_setk(err, ERROR_USAGE, "create token: a %s token needs a tenant",
				  svc_role_name(role));
	if (tenant != NULL) {
		if (catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0)
			return error_prefix(err, "create token");
		catalog_tenant_free(&t);
		if (by != NULL && by->role == SVC_ROLE_GLOBAL_ADMIN &&
		    token_check_global(s, tenant, role, break_glass, err) < 0)
			return -1;
	}
	return 0;
}

int svc_token_create(struct service *s, const struct svc_principal *by, const char *tenant,
		     enum svc_role role, const char *name, const char *break_glass,
		     struct json_object **out, struct error *err)
{
	uint8_t rnd[TOKEN_RANDOM_BYTES];
	char secret[sizeof(TOKEN_PREFIX) + 2 * TOKEN_RANDOM_BYTES], hex[65];
	struct catalog_token *t = NULL;
	struct json_object *detail;
	int ret = -1;

	*out = NULL;
	if (token_check(s, by, tenant, role, name, break_glass, err) < 0)
		return -1;
	crypto_random(rnd, sizeof(rnd));
	memcpy(secret, TOKEN_PREFIX, strlen(TOKEN_PREFIX));
	base64url(rnd, sizeof(rnd), secret + strlen(TOKEN_PREFIX));
	crypto_wipe(rnd, sizeof(rnd));
	token_hash(secret, hex);
	if (catalog_token_create(svc_catalog(s), tenant, svc_role_name(role), name, hex, &t,
				 err) < 0) {
		error_prefix(err, "create token");
		goto out;
	}
	detail = json_object_new_object();
	json_object_object_add(detail, "role", json_object_new_string(svc_role_name(role)));
	json_object_object_add(detail, "name", json_object_new_string(name));
	if (break_glass != NULL) {
		json_object_object_add(detail, "breakGlass", json_object_new_string(break_glass));
		log_warn("event=token.break_glass tenant=%s token=%s by=%s role=%s", tenant, t->id,
			 by && by->token_id ? by->token_id : "system", svc_role_name(role));
	}
	ret = svc_audit(s, by, tenant, break_glass ? "token.create.breakGlass" : "token.create",
			t->id, detail, err);
	json_object_put(detail);
	if (ret < 0) {
		/* An unaudited token must not work. */
		struct error e2;

		error_init(&e2);
		catalog_token_revoke(svc_catalog(s), tenant, t->id, &e2);
		goto out;
	}
	*out = view_token(t);
	json_object_object_add(*out, "secret", json_object_new_string(secret));
out:
	crypto_wipe(secret, sizeof(secret));
	catalog_token_free(&t);
	return ret;
}

int svc_token_revoke(struct service *s, const struct svc_principal *p, const char *tenant,
		     const char *id, struct json_object **out, struct error *err)
{
	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_TENANTS_MANAGE, err) < 0)
		return -1;
	if (catalog_token_revoke(svc_catalog(s), tenant, id, err) < 0)
		return error_prefix(err, "revoke token %s", id);
	if (svc_audit(s, p, tenant, "token.revoke", id, NULL, err) < 0)
		return -1;
	*out = json_object_new_object();
	json_object_object_add(*out, "id", json_object_new_string(id));
	json_object_object_add(*out, "revoked", json_object_new_boolean(1));
	return 0;
}
