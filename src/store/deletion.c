/* The deletion log of a unit: records written before the deletion path
 * deletes anything, signed by the deletion key (docs/format.md 10). */
#include "deletion.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/seal.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/hex.h"
#include "lib/jsonutil.h"
#include "lib/mem.h"
#include "store/backend.h"
#include "store/store.h"

#define DELETION_FORMAT 1
#define DELETION_MAX_BODY ((size_t)1 << 20)
#define DELETION_NAME_LEN (20 + 1 + 16)
#define DELETION_STR_MAX UINT16_MAX

void store_deletion_free(struct store_deletion **dp)
{
	struct store_deletion *d = *dp;

	if (d == NULL)
		return;
	free(d->name);
	free(d->action);
	free(d->tool);
	free(d->host);
	free(d->unit);
	free(d->seqs);
	free(d);
	*dp = NULL;
}

/* 1 if name is "<20 digits>-<16 hex>"; its time into *time_r. */
static int deletion_name_ok(const char *name, int64_t *time_r)
{
	uint64_t t = 0;
	size_t i;

	if (strlen(name) != DELETION_NAME_LEN || name[20] != '-' ||
	    strspn(name + 21, "0123456789abcdef") != 16)
		return 0;
	for (i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		if (t > (UINT64_MAX - 9) / 10)
			return 0;
		t = t * 10 + (uint64_t)(name[i] - '0');
	}
	if (t > INT64_MAX)
		return 0;
	*time_r = (int64_t)t;
	return 1;
}

static void msg_add_str(struct buf *m, const char *s)
{
	size_t len = strlen(s);

	if (len > DELETION_STR_MAX)
		len = DELETION_STR_MAX; /* refused by the parser and the writer */
	buf_add_u16(m, (uint16_t)len);
	buf_add(m, s, len);
}

/* What a record says, borrowed: the writer's arguments or a parsed record. */
struct drec {
	const char *unit, *action, *host, *tool;
	int64_t time_ns;
	const uint32_t *seqs;
	size_t nseqs;
	uint64_t packs, bytes;
	uint8_t signature[64];
};

static struct drec drec_of(const struct store_deletion *d)
{
	struct drec r = { .unit = d->unit, .action = d->action, .host = d->host, .tool = d->tool,
			  .time_ns = d->time_ns, .seqs = d->seqs, .nseqs = d->nseqs,
			  .packs = d->packs, .bytes = d->bytes };

	memcpy(r.signature, d->signature, 64);
	return r;
}

/* The message the deletion key signs (docs/format.md 10). */
static void deletion_message(struct store *s, const char *name, const struct drec *d,
			     struct buf *m)
{
	const char *id = store_id(s);
	size_t i;

	buf_add(m, "coffer-v1 deletion", 19); /* with its NUL */
	buf_add(m, id, strlen(id));
	msg_add_str(m, name);
	msg_add_str(m, d->unit);
	buf_add_u64(m, (uint64_t)d->time_ns);
	msg_add_str(m, d->action);
	buf_add_u32(m, (uint32_t)d->nseqs);
	for (i = 0; i < d->nseqs; i++)
		buf_add_u32(m, d->seqs[i]);
	buf_add_u64(m, d->packs);
	buf_add_u64(m, d->bytes);
	msg_add_str(m, d->host);
	msg_add_str(m, d->tool);
}

static int action_ok(const char *a)
{
	return strcmp(a, "forget") == 0 || strcmp(a, "prune") == 0;
}

static char *deletion_to_json(const struct drec *d)
{
	json_object *root = json_object_new_object(), *seqs = json_object_new_array();
	char hex[129];
	char *out;
	size_t i;

	json_object_object_add(root, "format", json_object_new_int(DELETION_FORMAT));
	json_object_object_add(root, "time", json_object_new_int64(d->time_ns));
	json_object_object_add(root, "action", json_object_new_string(d->action));
	json_object_object_add(root, "unit", json_object_new_string(d->unit));
	for (i = 0; i < d->nseqs; i++)
		json_object_array_add(seqs, json_object_new_int64(d->seqs[i]));
	json_object_object_add(root, "seqs", seqs);
	json_object_object_add(root, "packs", json_object_new_int64((int64_t)d->packs));
	json_object_object_add(root, "bytes", json_object_new_int64((int64_t)d->bytes));
	json_object_object_add(root, "host", json_object_new_string(d->host));
	json_object_object_add(root, "tool", json_object_new_string(d->tool));
	hex_encode(d->signature, 64, hex);
	json_object_object_add(root, "signature", json_object_new_string(hex));
	out = xstrdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	json_object_put(root);
	return out;
}

int store_deletion_record(struct store_unit *u, const char *action, int64_t time_ns,
			  const uint32_t *seqs, size_t nseqs, uint64_t packs, uint64_t bytes,
			  struct error *err)
{
	struct store *s = store_unit_store(u);
	struct drec d = { 0 };
	char host[256], name[DELETION_NAME_LEN + 1], hex[17], *rel = NULL, *obj = NULL;
	char *json = NULL;
	uint8_t rnd[8];
	struct buf m;
	int ret = -1, attempt;

	buf_init(&m, 0);
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	d.time_ns = time_ns;
	d.action = action;
	d.unit = store_unit_name(u);
	d.tool = store_actor(s);
	d.host = host;
	d.seqs = seqs;
	d.nseqs = nseqs;
	d.packs = packs;
	d.bytes = bytes;
	if (time_ns <= 0 || !action_ok(action) || nseqs > UINT32_MAX ||
	    strlen(d.tool) > DELETION_STR_MAX || strlen(d.unit) > DELETION_STR_MAX) {
		error_setk(err, ERROR_USAGE, "bad deletion record (%s at %lld)", action,
			   (long long)time_ns);
		goto out;
	}
	for (attempt = 0; attempt < 4; attempt++) {
		crypto_random(rnd, sizeof(rnd));
		hex_encode(rnd, sizeof(rnd), hex);
		snprintf(name, sizeof(name), "%020lld-%s", (long long)time_ns, hex);
		buf_reset(&m);
		deletion_message(s, name, &d, &m);
		if (store_deletion_sign(s, m.data, m.len, d.signature, err) < 0)
			goto out;
		free(json);
		free(rel);
		free(obj);
		json = deletion_to_json(&d);
		rel = xasprintf("deletions/%s", name);
		obj = store_unit_path(u, rel);
		if (store_unit_put_sealed(u, obj, SEAL_DELETION, json, strlen(json), 3, NULL,
					  err) == 0) {
			ret = 0;
			goto out;
		}
		if (err->code != ERROR_EXISTS)
			break;
	}
	error_prefix(err, "cannot write the deletion record of %s", store_unit_name(u));
out:
	buf_clear(&m);
	free(json);
	free(rel);
	free(obj);
	return ret;
}

static int collect_record(void *ctx, const char *name)
{
	struct buf *b = ctx;
	int64_t t;
	char *copy;

	if (!deletion_name_ok(name, &t))
		return 0;
	copy = xstrdup(name);
	buf_add(b, &copy, sizeof(copy));
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int store_deletions_list(struct store_unit *u, char ***names_r, size_t *n_r, struct error *err)
{
	char *dir = store_unit_path(u, "deletions");
	struct buf b;
	char **names;
	size_t n, i;
	int ret;

	buf_init(&b, 0);
	ret = backend_list(store_backend(store_unit_store(u)), dir, collect_record, &b, err);
	free(dir);
	n = b.len / sizeof(char *);
	names = xcalloc(n ? n : 1, sizeof(char *));
	if (n)
		memcpy(names, b.data, n * sizeof(char *));
	buf_clear(&b);
	if (ret < 0) {
		for (i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return -1;
	}
	if (n > 1)
		qsort(names, n, sizeof(char *), name_cmp);
	*names_r = names;
	*n_r = n;
	return 0;
}

/* A non-negative integer member; -1 if absent or anything else. */
static int json_u63(json_object *o, const char *key, int64_t *v_r)
{
	int ok = 1;

	*v_r = jsonu_int(o, key, &ok);
	return ok && *v_r >= 0 ? 0 : -1;
}

static int str_ok(const char *s)
{
	return s != NULL && strlen(s) <= DELETION_STR_MAX;
}

int store_deletion_parse(const uint8_t *data, size_t len, const char *what,
			 struct store_deletion **d_r, struct error *err)
{
	struct store_deletion *d = xcalloc(1, sizeof(*d));
	json_tokener *tok = json_tokener_new();
	json_object *root, *seqs = NULL;
	const char *sig;
	int64_t format = 0, packs = 0, bytes = 0;
	size_t i, n = 0;

	root = len <= INT32_MAX ? json_tokener_parse_ex(tok, (const char *)data, (int)len) : NULL;
	json_tokener_free(tok);
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		error_setk(err, ERROR_CORRUPT, "deletion record %s is not valid JSON", what);
		goto fail;
	}
	if (json_u63(root, "format", &format) == 0 && format > DELETION_FORMAT) {
		error_setk(err, ERROR_VERSION, "deletion record %s has format %lld; this coffer "
			   "reads %d", what, (long long)format, DELETION_FORMAT);
		goto fail;
	}
	if (json_object_object_get_ex(root, "seqs", &seqs) &&
	    json_object_is_type(seqs, json_type_array))
		n = json_object_array_length(seqs);
	else
		seqs = NULL;
	if (format < 1 || json_u63(root, "time", &d->time_ns) < 0 || d->time_ns == 0 ||
	    json_u63(root, "packs", &packs) < 0 || json_u63(root, "bytes", &bytes) < 0 ||
	    seqs == NULL || n > UINT32_MAX || !str_ok(jsonu_str(root, "action")) ||
	    !action_ok(jsonu_str(root, "action")) || !str_ok(jsonu_str(root, "unit")) ||
	    !str_ok(jsonu_str(root, "host")) || !str_ok(jsonu_str(root, "tool")))
		goto malformed;
	d->packs = (uint64_t)packs;
	d->bytes = (uint64_t)bytes;
	d->seqs = xcalloc(n ? n : 1, sizeof(uint32_t));
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(seqs, i);
		int64_t seq;

		if (!json_object_is_type(v, json_type_int))
			goto malformed;
		seq = json_object_get_int64(v);
		if (seq < 1 || seq > UINT32_MAX)
			goto malformed;
		d->seqs[d->nseqs++] = (uint32_t)seq;
	}
	sig = jsonu_str(root, "signature");
	if (sig != NULL) {
		if (strlen(sig) != 128 || hex_decode(sig, 128, d->signature, 64) < 0)
			goto malformed;
		d->has_signature = 1;
	}
	d->action = xstrdup(jsonu_str(root, "action"));
	d->unit = xstrdup(jsonu_str(root, "unit"));
	d->host = xstrdup(jsonu_str(root, "host"));
	d->tool = xstrdup(jsonu_str(root, "tool"));
	json_object_put(root);
	*d_r = d;
	return 0;
malformed:
	error_setk(err, ERROR_CORRUPT, "deletion record %s is malformed", what);
fail:
	json_object_put(root);
	store_deletion_free(&d);
	return -1;
}

int store_deletion_read(struct store_unit *u, const char *name, struct store_deletion **d_r,
			struct error *err)
{
	struct store *s = store_unit_store(u);
	struct store_deletion *d = NULL;
	char *rel = NULL, *obj = NULL;
	struct drec view;
	struct buf body, m;
	int64_t name_time;
	int ret = -1;

	buf_init(&body, 0);
	buf_init(&m, 0);
	if (!deletion_name_ok(name, &name_time)) {
		error_setk(err, ERROR_NOTFOUND, "\"%s\" is not the name of a deletion record", name);
		goto out;
	}
	rel = xasprintf("deletions/%s", name);
	obj = store_unit_path(u, rel);
	if (store_unit_get_sealed(u, obj, SEAL_DELETION, DELETION_MAX_BODY, &body, NULL, err) < 0 ||
	    store_deletion_parse(body.data, body.len, obj, &d, err) < 0)
		goto out;
	if (strcmp(d->unit, store_unit_name(u)) != 0 || d->time_ns != name_time) {
		error_setk(err, ERROR_CORRUPT, "deletion record %s claims to be of %s at %lld", obj,
			   d->unit, (long long)d->time_ns);
		goto out;
	}
	if (!d->has_signature) {
		error_setk(err, ERROR_CORRUPT, "deletion record %s is not signed by the store's "
			   "deletion key", obj);
		goto out;
	}
	view = drec_of(d);
	deletion_message(s, name, &view, &m);
	if (store_deletion_verify(s, m.data, m.len, d->signature, err) < 0) {
		if (err->code == ERROR_NOTFOUND)
			error_setk(err, ERROR_CORRUPT, "deletion record %s is signed but the store has "
				   "no deletion key (deletion-key removed?)", obj);
		else if (err->code == ERROR_CORRUPT)
			error_setk(err, ERROR_CORRUPT, "deletion record %s has a signature that does "
				   "not verify under the store's deletion key (forged or altered?)",
				   obj);
		goto out;
	}
	d->name = xstrdup(name);
	*d_r = d;
	d = NULL;
	ret = 0;
out:
	store_deletion_free(&d);
	buf_clear(&body);
	buf_clear(&m);
	free(rel);
	free(obj);
	return ret;
}
