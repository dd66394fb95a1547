/* Tenants, protection units and protection policies: validation, the
 * tenant's store and key, sealed source secrets, and the descriptors that
 * let `coffer catalog rebuild` restore tenants and units (docs/service.md
 * "Policies", "Rebuild"). */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "crypto/crypto.h"
#include "crypto/seal.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/netpolicy.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/service.h"
#include "service/views.h"
#include "sources/imap.h"
#include "sources/mail.h"
#include "sources/source.h"
#include "store/store.h"

#define NAME_MAX_LEN 200
#define SECRET_MAX_LEN 4096
#define SEALED_PREFIX "v1."
#define DEFAULT_FREQUENCY 600
#define DEFAULT_RECENT_DAYS 14
#define DEFAULT_RETENTION_DAYS 365
#define MAX_DAYS (100 * 366)

/* ---- small JSON helpers ---- */

static const char *get_str(struct json_object *in, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(in, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int has(struct json_object *in, const char *key)
{
	return json_object_object_get_ex(in, key, NULL);
}

/* A required or optional string field, checked. */
static int want_str(struct json_object *in, const char *key, int required, const char **v_r,
		    struct error *err)
{
	struct json_object *v;

	*v_r = NULL;
	if (!json_object_object_get_ex(in, key, &v)) {
		if (required)
			return error_setk(err, ERROR_USAGE, "'%s' is required", key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return error_setk(err, ERROR_USAGE, "'%s' must be a string", key);
	*v_r = json_object_get_string(v);
	return 0;
}

static int want_int(struct json_object *in, const char *key, int64_t min, int64_t max,
		    int64_t *v_r, struct error *err)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(in, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return error_setk(err, ERROR_USAGE, "'%s' must be a whole number", key);
	n = json_object_get_int64(v);
	if (n < min || n > max)
		return error_setk(err, ERROR_USAGE, "'%s' must be from %lld to %lld (got %lld)", key,
				  (long long)min, (long long)max, (long long)n);
	*v_r = n;
	return 0;
}

/* Names people give: printable, no '/', not "." or "..". */
static int check_name(const char *what, const char *name, struct error *err)
{
	size_t len = strlen(name);

	if (len == 0 || len > NAME_MAX_LEN)
		return error_setk(err, ERROR_USAGE, "%s name must have 1 to %d characters", what,
				  NAME_MAX_LEN);
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '/'))
		return error_setk(err, ERROR_USAGE, "%s name '%s' may not be '.', '..' or hold '/'",
				  what, name);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return error_setk(err, ERROR_USAGE, "%s name holds a control character", what);
	return 0;
}

static int check_kind(const char *kind, struct error *err)
{
	if (strcmp(kind, "mailbox") && strcmp(kind, "account") && strcmp(kind, "site"))
		return error_setk(err, ERROR_USAGE,
				  "kind '%s' is not one of mailbox, account, site", kind);
	return 0;
}

static int check_unknown(struct json_object *in, const char *const *allowed, const char *what,
			 struct error *err)
{
	json_object_object_foreach(in, key, val) {
		size_t i;

		(void)val;
		for (i = 0; allowed[i]; i++)
			if (strcmp(allowed[i], key) == 0)
				break;
		if (allowed[i] == NULL)
			return error_setk(err, ERROR_USAGE, "unknown field '%s' in %s", key, what);
	}
	return 0;
}

static char *new_id(const char *prefix)
{
	uint8_t rnd[8];
	char hex[17];

	crypto_random(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), hex);
	return xasprintf("%s%s", prefix, hex);
}

/* ---- descriptors for rebuild ---- */

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
			struct error *err)
{
	struct json_object *o = json_object_new_object();
	char *dir = svc_tenant_meta_dir(s, tenant);
	int ret;

	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "id", json_object_new_string(tenant));
	json_object_object_add(o, "name", json_object_new_string(name));
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

/* ---- sealed secrets ---- */

static void secret_aad(const char *tenant, const char *unit_name, struct buf *aad)
{
	buf_addf(aad, "coffer-source-secret-v1\n%s\n%s", tenant, unit_name);
}

/* "secret" -> "secretSealed": AES-256-GCM under the service key, bound to
 * tenant and unit name; hex of nonce || ciphertext || tag. */
static void secret_seal(struct service *s, const char *tenant, const char *unit_name,
			struct json_object *src)
{
	const char *secret = get_str(src, "secret");
	struct crypto_aead *aead;
	uint8_t nonce[CRYPTO_NONCE_LEN], *ct;
	size_t len, ctlen;
	struct buf aad;
	char *hex;

	if (secret == NULL)
		return;
	len = strlen(secret);
	ctlen = len + CRYPTO_TAG_LEN;
	ct = xmalloc(CRYPTO_NONCE_LEN + ctlen);
	crypto_random(nonce, sizeof(nonce));
	memcpy(ct, nonce, sizeof(nonce));
	buf_init(&aad, 0);
	secret_aad(tenant, unit_name, &aad);
	aead = crypto_aead_new();
	crypto_aead_set_key(aead, svc_service_key(s));
	crypto_aead_seal(aead, nonce, aad.data, aad.len, secret, len, ct + CRYPTO_NONCE_LEN);
	crypto_aead_free(&aead);
	hex = xmalloc(strlen(SEALED_PREFIX) + 2 * (CRYPTO_NONCE_LEN + ctlen) + 1);
	memcpy(hex, SEALED_PREFIX, strlen(SEALED_PREFIX));
	hex_encode(ct, CRYPTO_NONCE_LEN + ctlen, hex + strlen(SEALED_PREFIX));
	json_object_object_del(src, "secret");
	json_object_object_add(src, "secretSealed", json_object_new_string(hex));
	free(hex);
	free(ct);
	buf_clear(&aad);
}

struct json_object *svc_unit_source_open(struct service *s, const struct catalog_unit *u,
					 struct error *err)
{
	struct json_object *src = json_tokener_parse(u->source);
	const char *sealed;
	struct crypto_aead *aead;
	uint8_t *ct = NULL, *pt = NULL;
	size_t hexlen, ctlen;
	struct buf aad;

	if (src == NULL || !json_object_is_type(src, json_type_object)) {
		json_object_put(src);
		error_setk(err, ERROR_CORRUPT, "unit %s: its source in the catalog is not JSON",
			   u->id);
		return NULL;
	}
	sealed = get_str(src, "secretSealed");
	if (sealed == NULL)
		return src;
	if (strncmp(sealed, SEALED_PREFIX, strlen(SEALED_PREFIX)) != 0)
		goto bad;
	sealed += strlen(SEALED_PREFIX);
	hexlen = strlen(sealed);
	if (hexlen % 2 || hexlen / 2 < CRYPTO_NONCE_LEN + CRYPTO_TAG_LEN ||
	    hexlen / 2 > SECRET_MAX_LEN + CRYPTO_NONCE_LEN + CRYPTO_TAG_LEN)
		goto bad;
	ct = xmalloc(hexlen / 2);
	if (hex_decode(sealed, hexlen, ct, hexlen / 2) < 0)
		goto bad;
	ctlen = hexlen / 2 - CRYPTO_NONCE_LEN;
	pt = xcalloc(1, ctlen - CRYPTO_TAG_LEN + 1);
	buf_init(&aad, 0);
	secret_aad(u->tenant, u->name, &aad);
	aead = crypto_aead_new();
	crypto_aead_set_key(aead, svc_service_key(s));
	if (crypto_aead_open(aead, ct, aad.data, aad.len, ct + CRYPTO_NONCE_LEN, ctlen, pt) < 0) {
		crypto_aead_free(&aead);
		buf_clear(&aad);
		goto bad;
	}
	crypto_aead_free(&aead);
	buf_clear(&aad);
	json_object_object_add(src, "secret",
			       json_object_new_string_len((const char *)pt,
							  (int)(ctlen - CRYPTO_TAG_LEN)));
	json_object_object_del(src, "secretSealed");
	crypto_wipe(pt, ctlen - CRYPTO_TAG_LEN);
	free(pt);
	free(ct);
	return src;
bad:
	free(ct);
	free(pt);
	json_object_put(src);
	error_setk(err, ERROR_KEY, "unit %s: its sealed secret does not open with the service key "
		   "(DATA/keys/service.key)", u->id);
	return NULL;
}

/* ---- tenants ---- */

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
	if (check_unknown(in, allowed, "a tenant", err) < 0 ||
	    want_str(in, "name", 1, &name, err) < 0 || check_name("tenant", name, err) < 0)
		return -1;
	t.id = new_id("t-");
	t.name = svc_in(name);
	t.state = svc_in("active");
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
	if (check_unknown(in, allowed, "a tenant update", err) < 0 ||
	    want_int(in, "minRetentionDays", 1, MAX_DAYS, &days, err) < 0)
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

/* ---- units ---- */

/* Whether `path` is `dir` or inside it (both without a trailing '/'). */
static int path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/' ||
					     (n == 1 && dir[0] == '/'));
}

/* An absolute path with no empty, "." or ".." component and no trailing
 * '/', so that comparing paths as strings compares places. */
static int path_plain(const char *path)
{
	const char *c = path;

	if (path[0] != '/' || path[1] == '\0' || strlen(path) > 4000)
		return 0;
	while (*c == '/') {
		const char *e = strchr(c + 1, '/');
		size_t n = e ? (size_t)(e - c - 1) : strlen(c + 1);

		if (n == 0 || (n == 1 && c[1] == '.') || (n == 2 && c[1] == '.' && c[2] == '.'))
			return 0;
		c += n + 1;
	}
	return 1;
}

/* Whether one place may be a tenant's folder (a unit, or a subfolders
 * rule), checked on the path as given and, if it exists, with its
 * symbolic links resolved:
 *  - never the data folder, inside it, or above it (it holds every
 *    tenant's keys and stores);
 *  - with folder_root set, inside FOLDER_ROOT/<tenant name>; a unit
 *    strictly inside, so its "<path>.restored-N" sibling is too.
 * This is what keeps one tenant's admin from backing up, or restoring over,
 * another tenant's folders or the service's own. */
/* "FOLDER_ROOT/<name>", with FOLDER_ROOT as configured ("/srv/homes/" is
 * "/srv/homes"); the caller frees. */
static char *tenant_folder_root(const char *folder_root, const char *name)
{
	size_t n = strlen(folder_root);

	while (n > 1 && folder_root[n - 1] == '/')
		n--;
	return xasprintf("%.*s/%s", (int)n, folder_root, name);
}

/* Jobs open nothing below the tenant's folder root through a symbolic
 * link, whenever it was planted (docs/engine.md "Confinement"), so a path
 * that goes through one now would only fail: it is refused at once. (Only
 * advice: what the jobs do is the guarantee.) */
static int folder_link_below(const char *root, const char *path, const char *what,
			     struct error *err)
{
	size_t n = strlen(root);
	char *p = xstrdup(path);
	struct stat st;
	int ret = 0;

	for (size_t i = n + 1; ret == 0 && i <= strlen(path); i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		p[i] = '\0';
		if (lstat(p, &st) < 0)
			break; /* not there yet */
		if (S_ISLNK(st.st_mode))
			ret = error_setk(err, ERROR_USAGE, "%s: '%s' goes through '%s', a symbolic "
					 "link; coffer follows no link below %s/", what, path, p,
					 root);
		p[i] = path[i];
	}
	free(p);
	return ret;
}

static int check_folder_place(struct service *s, const char *tenant, const char *what,
			      const char *path, int unit, struct error *err)
{
	const struct svc_config *cfg = svc_cfg(s);
	char *data = realpath(cfg->data_dir, NULL), *real = realpath(path, NULL);
	char *froot = cfg->folder_root ? realpath(cfg->folder_root, NULL) : NULL;
	/* The path as given against the root as configured, and the path with
	 * links resolved against the resolved root. */
	char *roots[2] = { NULL, NULL };
	const char *places[2] = { path, real };
	struct catalog_tenant *t = NULL;
	int ret = -1;

	if (!path_plain(path)) {
		error_setk(err, ERROR_USAGE, "%s: '%s' must be an absolute path without '.', '..' "
			   "or empty parts", what, path);
		goto out;
	}
	if (cfg->folder_root) {
		if (catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0)
			goto out;
		roots[0] = tenant_folder_root(cfg->folder_root, t->name);
		roots[1] = xasprintf("%s/%s", froot ? froot : cfg->folder_root, t->name);
	}
	for (int i = 0; i < 2; i++) {
		const char *p = places[i], *root = roots[i];

		if (p == NULL)
			continue;
		if (data && (path_within(p, data) || path_within(data, p))) {
			error_setk(err, ERROR_USAGE, "%s: '%s' holds or is inside the service's data "
				   "folder", what, path);
			goto out;
		}
		if (root && (!path_within(p, root) || (unit && strcmp(p, root) == 0))) {
			error_setk(err, ERROR_USAGE, "%s: '%s' is not inside this tenant's folder "
				   "root %s/", what, path, roots[0]);
			goto out;
		}
	}
	if (roots[0] && folder_link_below(roots[0], path, what, err) < 0)
		goto out;
	ret = 0;
out:
	catalog_tenant_free(t);
	free(roots[0]);
	free(roots[1]);
	free(froot);
	free(real);
	free(data);
	return ret;
}

/* What check_folder_place() checked when the unit was made is enforced
 * when it is used: the jobs confine every open to this folder. */
int svc_folder_beneath(struct service *s, const char *tenant, char **beneath_r,
		       struct error *err)
{
	const char *folder_root = svc_cfg(s)->folder_root;
	struct catalog_tenant *t = NULL;

	*beneath_r = NULL;
	if (folder_root == NULL)
		return 0;
	if (catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0)
		return -1;
	*beneath_r = tenant_folder_root(folder_root, t->name);
	catalog_tenant_free(t);
	return 0;
}

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
	if (want_str(src, "type", 1, &type, err) < 0)
		return error_prefix(err, "source");
	if (source_find(src, err) == NULL) {
		err->code = ERROR_USAGE;
		return error_prefix(err, "source");
	}
	if (strcmp(type, "folder") == 0) {
		if (check_unknown(src, folder_keys, "a folder source", err) < 0 ||
		    want_str(src, "path", 1, &path, err) < 0)
			return error_prefix(err, "source");
		if (check_folder_place(s, tenant, "source: path", path, 1, err) < 0)
			return -1;
	} else if (strcmp(type, "imap") == 0) {
		if (want_str(src, "host", 1, &v, err) < 0 || want_str(src, "user", 1, &v, err) < 0)
			return error_prefix(err, "source");
		if (want_str(src, "secret", 0, &v, err) < 0 ||
		    want_str(src, "secretCommand", 0, &v, err) < 0)
			return error_prefix(err, "source");
		if (has(src, "secretSealed"))
			return error_setk(err, ERROR_USAGE, "source: 'secretSealed' is set by the "
					  "service; give 'secret'");
		if (v != NULL && !svc_cfg(s)->allow_secret_command)
			return error_setk(err, ERROR_USAGE, "source: 'secretCommand' would run on "
					  "the server as the service user; this server does not allow "
					  "it (setting allow_secret_command)");
		if (v == NULL && get_str(src, "secret") == NULL)
			return error_setk(err, ERROR_USAGE,
					  "source: an imap source needs 'secret' or 'secretCommand'");
		if (get_str(src, "secret") && strlen(get_str(src, "secret")) > SECRET_MAX_LEN)
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

	if (check_kind(kind, err) < 0 || check_name("unit", name, err) < 0 ||
	    check_source(s, tenant, source, err) < 0)
		return -1;
	/* A deep copy: the caller's object keeps its secret for the reply
	 * to leave out, ours seals it. */
	src = NULL;
	if (json_object_deep_copy(source, &src, NULL) < 0)
		return error_set(err, "cannot copy the source");
	secret_seal(s, tenant, name, src);
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
	if (in == NULL || !json_object_is_type(in, json_type_object))
		return error_setk(err, ERROR_USAGE, "a unit is a JSON object");
	if (check_unknown(in, allowed, "a unit", err) < 0 ||
	    want_str(in, "name", 1, &name, err) < 0 || want_str(in, "kind", 1, &kind, err) < 0)
		return -1;
	if (!json_object_object_get_ex(in, "source", &src))
		return error_setk(err, ERROR_USAGE, "'source' is required");
	if (json_object_is_type(src, json_type_object) && get_str(src, "type") &&
	    svc_authorize_source(p, get_str(src, "type"), svc_cfg(s)->folder_root != NULL,
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
	catalog_tenant_free(t);
	catalog_unit_free(u);
	return ret;
}

/* ---- policies ---- */

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

		if (!json_object_is_type(r, json_type_object) ||
		    check_unknown(r, rule_keys, "a rule", err) < 0 ||
		    want_str(r, "type", 1, &type, err) < 0 || want_str(r, "path", 1, &path, err) < 0 ||
		    want_str(r, "kind", 0, &rkind, err) < 0)
			return err->msg[0] ? error_prefix(err, "rule %zu", i + 1)
					   : error_setk(err, ERROR_USAGE, "rule %zu is not an object",
							i + 1);
		if (strcmp(type, "subfolders") != 0)
			return error_setk(err, ERROR_USAGE, "rule %zu: type '%s' is not 'subfolders'",
					  i + 1, type);
		if (check_folder_place(s, tenant, "rule: path", path, 0, err) < 0)
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
			catalog_unit_free(u);
			return -1;
		}
		if (u->policy && (policy_id == NULL || strcmp(u->policy, policy_id) != 0)) {
			error_setk(err, ERROR_EXISTS, "unit %s is already protected by policy %s", id,
				   u->policy);
			catalog_unit_free(u);
			return -1;
		}
		catalog_unit_free(u);
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
	catalog_tenant_free(t);
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

	if (in == NULL || !json_object_is_type(in, json_type_object))
		return error_setk(err, ERROR_USAGE, "a policy is a JSON object");
	if (check_unknown(in, allowed, "a policy", err) < 0)
		return -1;
	if (want_str(in, "name", creating, &str, err) < 0 || (str && check_name("policy", str, err) < 0))
		return -1;
	if (str) {
		free(p->name);
		p->name = xstrdup(str);
	}
	if (want_str(in, "kind", creating, &str, err) < 0)
		return -1;
	if (str && !creating && strcmp(str, p->kind) != 0)
		return error_setk(err, ERROR_USAGE, "a policy's kind cannot change (it is %s)",
				  p->kind);
	if (str && creating) {
		if (check_kind(str, err) < 0)
			return -1;
		p->kind = xstrdup(str);
	}
	if (want_int(in, "frequencySeconds", svc_cfg(s)->min_frequency_s, 366LL * 86400,
		     &p->frequency_s, err) < 0 ||
	    want_int(in, "recentDays", 0, MAX_DAYS, &p->recent_days, err) < 0 ||
	    want_int(in, "retentionDays", 1, MAX_DAYS, &p->retention_days, err) < 0)
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
	if (want_str(in, "state", 0, &str, err) < 0)
		return -1;
	if (str) {
		const char *next;

		if (strcmp(str, "active") == 0 || strcmp(str, "activating") == 0)
			next = strcmp(p->state, "inactive") == 0 ? "activating" : p->state;
		else if (strcmp(str, "inactive") == 0)
			next = "inactive";
		else
			return error_setk(err, ERROR_USAGE,
					  "state '%s' is not one of active, inactive", str);
		free(p->state);
		p->state = xstrdup(next);
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
	p.state = xstrdup("inactive");
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
	catalog_tenant_free(t);
	catalog_policy_free(got);
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
	catalog_policy_free(p);
	return ret;
}
