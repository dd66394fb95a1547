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
#define ERASURE_FORMAT 2 /* an "erase" record (10.1); forget and prune stay 1 */
#define ERASURE_ITEMS_MAX 1000000 /* keys + patterns of one record */
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
	if (d->erase) {
		store_erasure_clear(d->erase);
		free(d->erase);
	}
	free(d);
	*dp = NULL;
}

void store_erasure_clear(struct store_erasure *x)
{
	size_t i;

	if (x == NULL)
		return;
	free(x->request);
	free(x->keys);
	for (i = 0; i < x->npatterns; i++)
		free(x->patterns[i]);
	free(x->patterns);
	memset(x, 0, sizeof(*x));
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
	const struct store_erasure *erase;
	uint8_t signature[64];
};

static struct drec drec_of(const struct store_deletion *d)
{
	struct drec r = { .unit = d->unit, .action = d->action, .host = d->host, .tool = d->tool,
			  .time_ns = d->time_ns, .seqs = d->seqs, .nseqs = d->nseqs,
			  .packs = d->packs, .bytes = d->bytes, .erase = d->erase };

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
	if (d->erase == NULL)
		return;
	msg_add_str(m, d->erase->request);
	buf_add_u64(m, (uint64_t)d->erase->cutoff);
	buf_add_u32(m, (uint32_t)d->erase->nkeys);
	buf_add(m, d->erase->keys, d->erase->nkeys * 32);
	buf_add_u32(m, (uint32_t)d->erase->npatterns);
	for (i = 0; i < d->erase->npatterns; i++)
		msg_add_str(m, d->erase->patterns[i]);
}

/* An erase record is "erase" and nothing else is. */
static int action_ok(const char *a, int erase)
{
	if (erase)
		return strcmp(a, "erase") == 0;
	return strcmp(a, "forget") == 0 || strcmp(a, "prune") == 0;
}

static json_object *erasure_to_json(const struct store_erasure *x)
{
	json_object *o = json_object_new_object(), *keys = json_object_new_array(),
		    *pats = json_object_new_array();
	char hex[65];
	size_t i;

	json_object_object_add(o, "request", json_object_new_string(x->request));
	json_object_object_add(o, "cutoff", json_object_new_int64(x->cutoff));
	for (i = 0; i < x->nkeys; i++) {
		hex_encode(x->keys[i], 32, hex);
		json_object_array_add(keys, json_object_new_string(hex));
	}
	json_object_object_add(o, "keys", keys);
	for (i = 0; i < x->npatterns; i++)
		json_object_array_add(pats, json_object_new_string(x->patterns[i]));
	json_object_object_add(o, "patterns", pats);
	return o;
}

static char *deletion_to_json(const struct drec *d)
{
	json_object *root = json_object_new_object(), *seqs = json_object_new_array();
	char hex[129];
	char *out;
	size_t i;

	json_object_object_add(root, "format",
			       json_object_new_int(d->erase ? ERASURE_FORMAT : DELETION_FORMAT));
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
	if (d->erase)
		json_object_object_add(root, "erase", erasure_to_json(d->erase));
	hex_encode(d->signature, 64, hex);
	json_object_object_add(root, "signature", json_object_new_string(hex));
	out = xstrdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	json_object_put(root);
	return out;
}

static int erasure_ok(const struct store_erasure *x)
{
	size_t i;

	if (x->request == NULL || strlen(x->request) > DELETION_STR_MAX || x->cutoff < 0 ||
	    x->nkeys + x->npatterns > ERASURE_ITEMS_MAX)
		return 0;
	for (i = 0; i < x->npatterns; i++)
		if (x->patterns[i] == NULL || strlen(x->patterns[i]) > DELETION_STR_MAX)
			return 0;
	return 1;
}

/* Signs and writes d into the unit's folder `dir` under a new name. */
static int record_write(struct store_unit *u, const char *dir, struct drec *d, struct error *err)
{
	struct store *s = store_unit_store(u);
	char host[256], name[DELETION_NAME_LEN + 1], hex[17], *rel = NULL, *obj = NULL;
	char *json = NULL;
	uint8_t rnd[8];
	struct buf m;
	int ret = -1, attempt;

	buf_init(&m, 0);
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	d->unit = store_unit_name(u);
	d->tool = store_actor(s);
	d->host = host;
	if (d->time_ns <= 0 || !action_ok(d->action, d->erase != NULL) || d->nseqs > UINT32_MAX ||
	    strlen(d->tool) > DELETION_STR_MAX || strlen(d->unit) > DELETION_STR_MAX ||
	    (d->erase && !erasure_ok(d->erase))) {
		error_setk(err, ERROR_USAGE, "bad deletion record (%s at %lld)", d->action,
			   (long long)d->time_ns);
		goto out;
	}
	for (attempt = 0; attempt < 4; attempt++) {
		crypto_random(rnd, sizeof(rnd));
		hex_encode(rnd, sizeof(rnd), hex);
		snprintf(name, sizeof(name), "%020lld-%s", (long long)d->time_ns, hex);
		buf_reset(&m);
		deletion_message(s, name, d, &m);
		if (store_deletion_sign(s, m.data, m.len, d->signature, err) < 0)
			goto out;
		free(json);
		free(rel);
		free(obj);
		json = deletion_to_json(d);
		rel = xasprintf("%s/%s", dir, name);
		obj = store_unit_path(u, rel);
		if (store_unit_put_sealed(u, obj, SEAL_DELETION, json, strlen(json), 3, NULL,
					  err) == 0) {
			ret = 0;
			goto out;
		}
		if (err->code != ERROR_EXISTS)
			break;
	}
	error_prefix(err, "cannot write the %s record of %s", d->erase ? "erasure" : "deletion",
		     store_unit_name(u));
out:
	buf_clear(&m);
	free(json);
	free(rel);
	free(obj);
	return ret;
}

int store_deletion_record(struct store_unit *u, const char *action, int64_t time_ns,
			  const uint32_t *seqs, size_t nseqs, uint64_t packs, uint64_t bytes,
			  struct error *err)
{
	struct drec d = { .action = action, .time_ns = time_ns, .seqs = seqs, .nseqs = nseqs,
			  .packs = packs, .bytes = bytes };

	return record_write(u, "deletions", &d, err);
}

int store_erasure_record(struct store_unit *u, int64_t time_ns, const struct store_erasure *what,
			 struct error *err)
{
	struct drec d = { .action = "erase", .time_ns = time_ns, .erase = what };

	return record_write(u, "erasures", &d, err);
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

static int records_list(struct store_unit *u, const char *folder, char ***names_r, size_t *n_r,
			struct error *err)
{
	char *dir = store_unit_path(u, folder);
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

int store_deletions_list(struct store_unit *u, char ***names_r, size_t *n_r, struct error *err)
{
	return records_list(u, "deletions", names_r, n_r, err);
}

int store_erasures_list(struct store_unit *u, char ***names_r, size_t *n_r, struct error *err)
{
	return records_list(u, "erasures", names_r, n_r, err);
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

/* The "erase" member of a format-2 record; NULL if malformed. */
static struct store_erasure *erasure_parse(json_object *o)
{
	struct store_erasure *x = xcalloc(1, sizeof(*x));
	json_object *keys, *pats;
	size_t i, nk, np;
	int64_t cutoff;

	if (!json_object_is_type(o, json_type_object) || json_u63(o, "cutoff", &cutoff) < 0 ||
	    !str_ok(jsonu_str(o, "request")) || !json_object_object_get_ex(o, "keys", &keys) ||
	    !json_object_is_type(keys, json_type_array) ||
	    !json_object_object_get_ex(o, "patterns", &pats) ||
	    !json_object_is_type(pats, json_type_array))
		goto bad;
	nk = json_object_array_length(keys);
	np = json_object_array_length(pats);
	if (nk + np > ERASURE_ITEMS_MAX)
		goto bad;
	x->request = xstrdup(jsonu_str(o, "request"));
	x->cutoff = cutoff;
	x->keys = xcalloc(nk ? nk : 1, 32);
	for (i = 0; i < nk; i++) {
		const char *h = json_object_get_string(json_object_array_get_idx(keys, i));

		if (!json_object_is_type(json_object_array_get_idx(keys, i), json_type_string) ||
		    strlen(h) != 64 || hex_decode(h, 64, x->keys[i], 32) < 0)
			goto bad;
		x->nkeys++;
	}
	x->patterns = xcalloc(np ? np : 1, sizeof(char *));
	for (i = 0; i < np; i++) {
		json_object *v = json_object_array_get_idx(pats, i);

		if (!json_object_is_type(v, json_type_string) || !str_ok(json_object_get_string(v)))
			goto bad;
		x->patterns[x->npatterns++] = xstrdup(json_object_get_string(v));
	}
	return x;
bad:
	store_erasure_clear(x);
	free(x);
	return NULL;
}

int store_deletion_parse(const uint8_t *data, size_t len, const char *what,
			 struct store_deletion **d_r, struct error *err)
{
	struct store_deletion *d = xcalloc(1, sizeof(*d));
	json_tokener *tok = json_tokener_new();
	json_object *root, *seqs = NULL, *erase = NULL;
	const char *sig;
	int64_t format = 0, packs = 0, bytes = 0;
	size_t i, n = 0;

	root = len <= INT32_MAX ? json_tokener_parse_ex(tok, (const char *)data, (int)len) : NULL;
	json_tokener_free(tok);
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		error_setk(err, ERROR_CORRUPT, "deletion record %s is not valid JSON", what);
		goto fail;
	}
	if (json_u63(root, "format", &format) == 0 && format > ERASURE_FORMAT) {
		error_setk(err, ERROR_VERSION, "deletion record %s has format %lld; this coffer "
			   "reads up to %d", what, (long long)format, ERASURE_FORMAT);
		goto fail;
	}
	/* Format 2 is an erase record with its "erase" member, and only that. */
	if (!json_object_object_get_ex(root, "erase", &erase))
		erase = NULL;
	if ((format == ERASURE_FORMAT) != (erase != NULL))
		goto malformed;
	if (json_object_object_get_ex(root, "seqs", &seqs) &&
	    json_object_is_type(seqs, json_type_array))
		n = json_object_array_length(seqs);
	else
		seqs = NULL;
	if (format < 1 || json_u63(root, "time", &d->time_ns) < 0 || d->time_ns == 0 ||
	    json_u63(root, "packs", &packs) < 0 || json_u63(root, "bytes", &bytes) < 0 ||
	    seqs == NULL || n > UINT32_MAX || !str_ok(jsonu_str(root, "action")) ||
	    !action_ok(jsonu_str(root, "action"), erase != NULL) ||
	    !str_ok(jsonu_str(root, "unit")) ||
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
	if (erase != NULL && (d->erase = erasure_parse(erase)) == NULL)
		goto malformed;
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

/* Reads record `name` of the unit's folder `dir`, an erase record there
 * and only there. */
static int record_read(struct store_unit *u, const char *dir, const char *name,
		       struct store_deletion **d_r, struct error *err)
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
	rel = xasprintf("%s/%s", dir, name);
	obj = store_unit_path(u, rel);
	if (store_unit_get_sealed(u, obj, SEAL_DELETION, DELETION_MAX_BODY, &body, NULL, err) < 0 ||
	    store_deletion_parse(body.data, body.len, obj, &d, err) < 0)
		goto out;
	if ((d->erase != NULL) != (strcmp(dir, "erasures") == 0)) {
		error_setk(err, ERROR_CORRUPT, "record %s is a%s record in the wrong folder", obj,
			   d->erase ? "n erasure" : " deletion");
		goto out;
	}
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

int store_deletion_read(struct store_unit *u, const char *name, struct store_deletion **d_r,
			struct error *err)
{
	return record_read(u, "deletions", name, d_r, err);
}

int store_erasure_read(struct store_unit *u, const char *name, struct store_deletion **d_r,
		       struct error *err)
{
	return record_read(u, "erasures", name, d_r, err);
}
