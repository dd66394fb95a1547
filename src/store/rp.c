#include "rp.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/seal.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/hex.h"
#include "lib/jsonutil.h"
#include "lib/mem.h"
#include "lib/parse.h"
#include "lib/timeutil.h"
#include "store/backend.h"
#include "store/deletion.h"
#include "store/store.h"

#define RP_MAX_BODY (256u << 20)
#define RP_FORMAT 1
#define TOMBSTONE_MAX_BODY 4096
#define TOMBSTONE_FORMAT 1

void rp_free(struct rp **rpp)
{
	struct rp *rp = *rpp;
	size_t i;

	if (rp == NULL)
		return;
	free(rp->unit);
	free(rp->host);
	free(rp->source);
	free(rp->source_state);
	free(rp->meta);
	for (i = 0; i < rp->nwarnings; i++)
		free(rp->warnings[i]);
	free(rp->warnings);
	free(rp);
	*rpp = NULL;
}

void rp_add_warning(struct rp *rp, const char *msg)
{
	rp->warnings = xrealloc(rp->warnings, xmul(rp->nwarnings + 1, sizeof(char *)));
	rp->warnings[rp->nwarnings++] = xstrdup(msg);
}

static int64_t rp_until(int64_t time_ns, int64_t secs)
{
	int64_t t = time_ns / 1000000000, r;

	if (secs <= 0)
		return 0;
	if (__builtin_add_overflow(t, secs, &r))
		return INT64_MAX;
	return r > 0 ? r : 0;
}

void rp_set_retention(struct rp *rp, int64_t keep_s, int64_t retain_s)
{
	rp->keep_until = rp_until(rp->time_ns, keep_s);
	rp->retain_until = rp_until(rp->time_ns, retain_s);
}

int rp_spec_parse(const char *spec, int flags, char **unit_r, uint32_t *seq_r,
		  struct error *err)
{
	/* The last '@': a name with one of its own is then refused by name. */
	const char *at = strrchr(spec, '@');
	char *unit = at ? xstrndup(spec, (size_t)(at - spec)) : xstrdup(spec);
	int64_t v = 0;

	if (store_unit_name_check(unit, err) < 0) {
		free(unit);
		return error_prefix(err, "bad restore point \"%.80s\"", spec);
	}
	if (at == NULL || strcmp(at + 1, "latest") == 0) {
		if (!(flags & RP_SPEC_LATEST))
			goto bad;
	} else if (parse_int(at + 1, 1, UINT32_MAX, &v) < 0) {
		goto bad;
	}
	*unit_r = unit;
	*seq_r = (uint32_t)v;
	return 0;
bad:
	free(unit);
	return error_setk(err, ERROR_USAGE, "bad restore point \"%.80s\" (use UNIT@N, N from 1 to "
			  "4294967295%s)", spec, flags & RP_SPEC_LATEST ? ", UNIT or UNIT@latest" : "");
}

static int collect_seq(void *ctx, const char *name)
{
	struct buf *b = ctx;
	char *end;
	unsigned long v = strtoul(name, &end, 10);

	if (strlen(name) == 10 && *end == '\0' && v > 0 && v <= UINT32_MAX)
		buf_add_u32(b, (uint32_t)v);
	return 0;
}

static int seq_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The numbers named in folder `rel` of the unit, ascending. */
static int rp_list_dir(struct store_unit *u, const char *rel, uint32_t **seqs_r, size_t *n_r,
		       struct error *err)
{
	char *dir = store_unit_path(u, rel);
	struct buf b;
	size_t i, n;
	uint32_t *seqs;
	int ret;

	buf_init(&b, 0);
	ret = backend_list(store_backend(store_unit_store(u)), dir, collect_seq, &b, err);
	free(dir);
	n = b.len / 4;
	seqs = xcalloc(n ? n : 1, sizeof(uint32_t));
	for (i = 0; i < n; i++)
		seqs[i] = get_u32(b.data + 4 * i);
	buf_clear(&b);
	if (ret < 0) {
		free(seqs);
		return -1;
	}
	qsort(seqs, n, sizeof(uint32_t), seq_cmp);
	*seqs_r = seqs;
	*n_r = n;
	return 0;
}

int rp_list_all(struct store_unit *u, struct rp_slot **slots_r, size_t *n_r,
		struct error *err)
{
	uint32_t *live = NULL, *gone = NULL;
	size_t nlive = 0, ngone = 0, i = 0, j = 0, n = 0;
	struct rp_slot *slots;

	/* Manifests first: a forget between the two listings (tombstone put,
	 * then manifest deleted) shows in the second, so no number is lost. */
	if (rp_list_dir(u, "rp", &live, &nlive, err) < 0)
		return -1;
	if (rp_list_dir(u, "forgotten", &gone, &ngone, err) < 0) {
		free(live);
		return -1;
	}
	slots = xcalloc(nlive + ngone + 1, sizeof(*slots));
	while (i < nlive || j < ngone) {
		struct rp_slot *sl = &slots[n++];

		if (j == ngone || (i < nlive && live[i] < gone[j])) {
			sl->seq = live[i++];
			sl->manifest = 1;
		} else if (i == nlive || gone[j] < live[i]) {
			sl->seq = gone[j++];
			sl->forgotten = 1;
		} else {
			sl->seq = live[i++];
			j++;
			sl->manifest = sl->forgotten = 1;
		}
	}
	free(live);
	free(gone);
	*slots_r = slots;
	*n_r = n;
	return 0;
}

int rp_list(struct store_unit *u, uint32_t **seqs_r, size_t *n_r, struct error *err)
{
	struct rp_slot *slots;
	uint32_t *seqs;
	size_t i, n, k = 0;

	if (rp_list_all(u, &slots, &n, err) < 0)
		return -1;
	seqs = xcalloc(n ? n : 1, sizeof(uint32_t));
	for (i = 0; i < n; i++)
		if (slots[i].manifest && !slots[i].forgotten)
			seqs[k++] = slots[i].seq;
	free(slots);
	*seqs_r = seqs;
	*n_r = k;
	return 0;
}

static char *rp_name(struct store_unit *u, uint32_t seq)
{
	char rel[16];

	snprintf(rel, sizeof(rel), "rp/%010u", seq);
	return store_unit_path(u, rel);
}

static char *tombstone_name(struct store_unit *u, uint32_t seq)
{
	char rel[24];

	snprintf(rel, sizeof(rel), "forgotten/%010u", seq);
	return store_unit_path(u, rel);
}

/* An optional time in seconds: absent is 0; present, it must be an integer
 * >= 0. */
static int json_opt_time(json_object *o, const char *key, int64_t *v_r)
{
	json_object *v;

	*v_r = 0;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -1;
	*v_r = json_object_get_int64(v);
	return *v_r < 0 ? -1 : 0;
}

static int rp_parse_ids(json_object *arr, uint8_t (**ids_r)[32], size_t *n_r)
{
	size_t i, n = json_object_array_length(arr);
	uint8_t (*ids)[32] = xcalloc(n ? n : 1, 32);

	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";

		if (hex_decode(s, strlen(s), ids[i], 32) < 0) {
			free(ids);
			return -1;
		}
	}
	*ids_r = ids;
	*n_r = n;
	return 0;
}

static void rp_parse_stats(json_object *o, struct rp_stats *st)
{
	int ok = 1;

	if (o == NULL)
		return;
	st->files = (uint64_t)jsonu_int(o, "files", &ok);
	st->dirs = (uint64_t)jsonu_int(o, "dirs", &ok);
	st->bytes = (uint64_t)jsonu_int(o, "bytes", &ok);
	st->new_blobs = (uint64_t)jsonu_int(o, "new_blobs", &ok);
	st->new_bytes = (uint64_t)jsonu_int(o, "new_bytes", &ok);
	st->stored_bytes = (uint64_t)jsonu_int(o, "stored_bytes", &ok);
	st->incompressible_bytes = (uint64_t)jsonu_int(o, "incompressible_bytes", &ok);
}

/* Parses a sealed object's JSON body: an object whose "format" is at most
 * `max_format` (a newer one is ERROR_VERSION). `kind` and `what` name the
 * object in errors. NULL on failure. */
static json_object *json_open_versioned(const uint8_t *data, size_t len, const char *kind,
					const char *what, int64_t max_format, int64_t *format_r,
					struct error *err)
{
	json_tokener *tok = json_tokener_new();
	json_object *root;
	int ok = 1;

	root = len <= INT32_MAX ? json_tokener_parse_ex(tok, (const char *)data, (int)len) : NULL;
	json_tokener_free(tok);
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		error_setk(err, ERROR_CORRUPT, "%s %s is not valid JSON", kind, what);
		return NULL;
	}
	*format_r = jsonu_int(root, "format", &ok);
	if (ok && *format_r > max_format) {
		error_setk(err, ERROR_VERSION, "%s %s has format %lld; this coffer reads %lld", kind,
			   what, (long long)*format_r, (long long)max_format);
		json_object_put(root);
		return NULL;
	}
	if (!ok)
		*format_r = 0; /* missing: refused by the caller's "format < 1" */
	return root;
}

int rp_parse(const uint8_t *data, size_t len, const char *what, struct rp **rp_r,
	     struct error *err)
{
	json_object *root, *meta = NULL, *blobs = NULL, *v;
	struct rp *rp = xcalloc(1, sizeof(*rp));
	const char *s;
	int ok = 1;
	int64_t format, seq, levels;
	size_t i;

	root = json_open_versioned(data, len, "restore point", what, RP_FORMAT, &format, err);
	if (root == NULL)
		goto fail;
	seq = jsonu_int(root, "seq", &ok);
	rp->time_ns = jsonu_int(root, "time", &ok);
	json_object_object_get_ex(root, "meta", &meta);
	if (meta)
		json_object_object_get_ex(meta, "blobs", &blobs);
	levels = meta ? jsonu_int(meta, "levels", &ok) : 0;
	if (!ok || format < 1 || seq < 1 || seq > UINT32_MAX || levels < 0 || levels > 8 ||
	    jsonu_str(root, "unit") == NULL || blobs == NULL ||
	    !json_object_is_type(blobs, json_type_array) ||
	    rp_parse_ids(blobs, &rp->meta, &rp->nmeta) < 0) {
		error_setk(err, ERROR_CORRUPT, "restore point %s is malformed", what);
		goto fail;
	}
	rp->seq = (uint32_t)seq;
	rp->levels = (uint32_t)levels;
	rp->unit = xstrdup(jsonu_str(root, "unit"));
	rp->host = xstrdup((s = jsonu_str(root, "host")) ? s : "");
	rp->source = xstrdup((s = jsonu_str(root, "source")) ? s : "");
	if ((s = jsonu_str(root, "sourceState")) != NULL)
		rp->source_state = xstrdup(s);
	if (json_opt_time(root, "keepUntil", &rp->keep_until) < 0 ||
	    json_opt_time(root, "retainUntil", &rp->retain_until) < 0) {
		error_setk(err, ERROR_CORRUPT, "restore point %s has a bad keepUntil or retainUntil",
			   what);
		goto fail;
	}
	s = jsonu_str(root, "parent");
	if (s && *s) {
		if (hex_decode(s, strlen(s), rp->parent, 32) < 0) {
			error_setk(err, ERROR_CORRUPT, "restore point %s has a bad parent hash", what);
			goto fail;
		}
		rp->has_parent = 1;
	}
	json_object_object_get_ex(root, "stats", &v);
	rp_parse_stats(v, &rp->stats);
	if (json_object_object_get_ex(root, "warnings", &v) &&
	    json_object_is_type(v, json_type_array))
		for (i = 0; i < json_object_array_length(v); i++) {
			/* NULL for a JSON null: skip it. */
			s = json_object_get_string(json_object_array_get_idx(v, i));
			if (s != NULL)
				rp_add_warning(rp, s);
		}
	json_object_put(root);
	*rp_r = rp;
	return 0;
fail:
	json_object_put(root);
	rp_free(&rp);
	return -1;
}

int rp_read_manifest(struct store_unit *u, uint32_t seq, struct rp **rp_r, struct error *err)
{
	char *name = rp_name(u, seq);
	struct buf body;
	struct rp *rp = NULL;
	uint8_t hash[32];
	int ret = -1;

	buf_init(&body, 0);
	if (store_unit_get_sealed(u, name, SEAL_RESTORE_POINT, RP_MAX_BODY, &body, hash, err) < 0 ||
	    rp_parse(body.data, body.len, name, &rp, err) < 0)
		goto out;
	if (rp->seq != seq || strcmp(rp->unit, store_unit_name(u)) != 0) {
		error_setk(err, ERROR_CORRUPT, "restore point %s claims to be %s@%u", name, rp->unit,
			   rp->seq);
		goto out;
	}
	memcpy(rp->hash, hash, 32);
	*rp_r = rp;
	rp = NULL;
	ret = 0;
out:
	rp_free(&rp);
	buf_clear(&body);
	free(name);
	return ret;
}

void rp_tombstone_free(struct rp_tombstone **tp)
{
	struct rp_tombstone *t = *tp;

	if (t == NULL)
		return;
	free(t->unit);
	free(t);
	*tp = NULL;
}

static int hex32(const char *s, uint8_t out[32])
{
	return s != NULL && strlen(s) == 64 && hex_decode(s, 64, out, 32) == 0 ? 0 : -1;
}

int rp_tombstone_parse(const uint8_t *data, size_t len, const char *what,
		       struct rp_tombstone **t_r, struct error *err)
{
	json_object *root;
	struct rp_tombstone *t = xcalloc(1, sizeof(*t));
	const char *parent, *sig;
	int64_t format, seq;
	int ok = 1;

	root = json_open_versioned(data, len, "tombstone", what, TOMBSTONE_FORMAT, &format, err);
	if (root == NULL)
		goto fail;
	seq = jsonu_int(root, "seq", &ok);
	t->time_ns = jsonu_int(root, "time", &ok);
	t->forgotten_ns = jsonu_int(root, "forgotten", &ok);
	parent = jsonu_str(root, "parent");
	if (!ok || format < 1 || seq < 1 || seq > UINT32_MAX || jsonu_str(root, "unit") == NULL ||
	    hex32(jsonu_str(root, "hash"), t->hash) < 0 || parent == NULL ||
	    (*parent != '\0' && hex32(parent, t->parent) < 0)) {
		error_setk(err, ERROR_CORRUPT, "tombstone %s is malformed", what);
		goto fail;
	}
	t->seq = (uint32_t)seq;
	t->has_parent = *parent != '\0';
	t->unit = xstrdup(jsonu_str(root, "unit"));
	sig = jsonu_str(root, "signature");
	if (sig != NULL) {
		if (strlen(sig) != 128 || hex_decode(sig, 128, t->signature, 64) < 0) {
			error_setk(err, ERROR_CORRUPT, "tombstone %s has a malformed signature", what);
			goto fail;
		}
		t->has_signature = 1;
	}
	json_object_put(root);
	*t_r = t;
	return 0;
fail:
	json_object_put(root);
	rp_tombstone_free(&t);
	return -1;
}

int rp_tombstone_read(struct store_unit *u, uint32_t seq, struct rp_tombstone **t_r,
		      struct error *err)
{
	char *name = tombstone_name(u, seq);
	struct rp_tombstone *t = NULL;
	uint8_t hash[32];
	struct buf body;
	int ret = -1;

	buf_init(&body, 0);
	if (store_unit_get_sealed(u, name, SEAL_TOMBSTONE, TOMBSTONE_MAX_BODY, &body, hash,
				  err) < 0 ||
	    rp_tombstone_parse(body.data, body.len, name, &t, err) < 0)
		goto out;
	memcpy(t->object_hash, hash, 32);
	/* Sealing binds a tombstone to its unit's key, not to its number. */
	if (t->seq != seq || strcmp(t->unit, store_unit_name(u)) != 0) {
		error_setk(err, ERROR_CORRUPT, "tombstone %s claims to be %s@%u", name, t->unit,
			   t->seq);
		goto out;
	}
	*t_r = t;
	t = NULL;
	ret = 0;
out:
	rp_tombstone_free(&t);
	buf_clear(&body);
	free(name);
	return ret;
}

/* 1 and a "was forgotten" error if point seq has a tombstone, 0 if not,
 * -1 if the tombstone cannot be read. */
static int rp_check_forgotten(struct store_unit *u, uint32_t seq, struct error *err)
{
	struct rp_tombstone *t = NULL;
	struct error terr;
	char date[64];
	struct tm tm;
	time_t secs;

	error_init(&terr);
	if (rp_tombstone_read(u, seq, &t, &terr) < 0) {
		if (terr.code == ERROR_NOTFOUND)
			return 0;
		*err = terr;
		return -1;
	}
	secs = (time_t)(t->forgotten_ns / 1000000000);
	if (gmtime_r(&secs, &tm) == NULL || strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC",
						     &tm) == 0)
		snprintf(date, sizeof(date), "an unknown date");
	error_setk(err, ERROR_NOTFOUND, "restore point %s@%u was forgotten on %s (expired)",
		   store_unit_name(u), seq, date);
	rp_tombstone_free(&t);
	return 1;
}

int rp_read(struct store_unit *u, uint32_t seq, struct rp **rp_r, struct error *err)
{
	int r = rp_check_forgotten(u, seq, err);

	if (r != 0)
		return -1;
	if (rp_read_manifest(u, seq, rp_r, err) == 0)
		return 0;
	/* Forgotten while we read it: say so rather than "not found". */
	if (err->code == ERROR_NOTFOUND)
		rp_check_forgotten(u, seq, err);
	return -1;
}

static json_object *rp_ids_json(const uint8_t (*ids)[32], size_t n)
{
	json_object *arr = json_object_new_array_ext((int)n);
	char hex[65];
	size_t i;

	for (i = 0; i < n; i++) {
		hex_encode(ids[i], 32, hex);
		json_object_array_add(arr, json_object_new_string(hex));
	}
	return arr;
}

static char *rp_to_json(const struct rp *rp)
{
	json_object *root = json_object_new_object(), *meta, *st, *w;
	char hex[65];
	char *out;
	size_t i;

	json_object_object_add(root, "format", json_object_new_int(RP_FORMAT));
	json_object_object_add(root, "unit", json_object_new_string(rp->unit));
	json_object_object_add(root, "seq", json_object_new_int64(rp->seq));
	if (rp->has_parent)
		hex_encode(rp->parent, 32, hex);
	else
		hex[0] = '\0';
	json_object_object_add(root, "parent", json_object_new_string(hex));
	json_object_object_add(root, "time", json_object_new_int64(rp->time_ns));
	json_object_object_add(root, "host", json_object_new_string(rp->host ? rp->host : ""));
	json_object_object_add(root, "source", json_object_new_string(rp->source ? rp->source : ""));
	if (rp->source_state)
		json_object_object_add(root, "sourceState", json_object_new_string(rp->source_state));
	if (rp->keep_until > 0)
		json_object_object_add(root, "keepUntil", json_object_new_int64(rp->keep_until));
	if (rp->retain_until > 0)
		json_object_object_add(root, "retainUntil", json_object_new_int64(rp->retain_until));
	meta = json_object_new_object();
	json_object_object_add(meta, "blobs", rp_ids_json((const uint8_t (*)[32])rp->meta, rp->nmeta));
	json_object_object_add(meta, "levels", json_object_new_int((int)rp->levels));
	json_object_object_add(root, "meta", meta);
	st = json_object_new_object();
	json_object_object_add(st, "files", json_object_new_int64((int64_t)rp->stats.files));
	json_object_object_add(st, "dirs", json_object_new_int64((int64_t)rp->stats.dirs));
	json_object_object_add(st, "bytes", json_object_new_int64((int64_t)rp->stats.bytes));
	json_object_object_add(st, "new_blobs", json_object_new_int64((int64_t)rp->stats.new_blobs));
	json_object_object_add(st, "new_bytes", json_object_new_int64((int64_t)rp->stats.new_bytes));
	json_object_object_add(st, "stored_bytes",
			       json_object_new_int64((int64_t)rp->stats.stored_bytes));
	json_object_object_add(st, "incompressible_bytes",
			       json_object_new_int64((int64_t)rp->stats.incompressible_bytes));
	json_object_object_add(root, "stats", st);
	w = json_object_new_array();
	for (i = 0; i < rp->nwarnings; i++)
		json_object_array_add(w, json_object_new_string(rp->warnings[i]));
	json_object_object_add(root, "warnings", w);
	out = xstrdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	json_object_put(root);
	return out;
}

/* Seals and puts point rp->seq; ERROR_EXISTS if the number is taken. */
static int rp_put(struct store_unit *u, struct rp *rp, struct error *err)
{
	char *json = rp_to_json(rp), *name = rp_name(u, rp->seq);
	int ret = store_unit_put_sealed(u, name, SEAL_RESTORE_POINT, json, strlen(json), 3,
					rp->hash, err);

	free(json);
	free(name);
	return ret;
}

/* The hash of the unit's latest point, live or forgotten, into rp->parent
 * and the next number into rp->seq. 1: the latest was forgotten while we
 * looked (list again). */
static int rp_chain_to_latest(struct store_unit *u, struct rp *rp, struct error *err)
{
	struct rp_slot *slots, last;
	size_t n;

	if (rp_list_all(u, &slots, &n, err) < 0)
		return -1;
	last = n ? slots[n - 1] : (struct rp_slot){ 0 };
	free(slots);
	rp->seq = last.seq + 1;
	rp->has_parent = 0;
	if (n == 0)
		return 0;
	if (last.seq == UINT32_MAX)
		return error_set(err, "unit %s has no restore point numbers left",
				 store_unit_name(u));
	if (last.forgotten) {
		struct rp_tombstone *t = NULL;

		if (rp_tombstone_read(u, last.seq, &t, err) < 0)
			return -1;
		memcpy(rp->parent, t->hash, 32);
		rp_tombstone_free(&t);
	} else {
		struct rp *prev = NULL;

		if (rp_read_manifest(u, last.seq, &prev, err) < 0)
			return err->code == ERROR_NOTFOUND ? 1 : -1;
		memcpy(rp->parent, prev->hash, 32);
		rp_free(&prev);
	}
	rp->has_parent = 1;
	return 0;
}

int rp_write(struct store_unit *u, struct rp *rp, struct error *err)
{
	int attempt, r;

	for (attempt = 0; attempt < 100; attempt++) {
		r = rp_chain_to_latest(u, rp, err);
		if (r < 0)
			return error_prefix(err, "cannot chain the new restore point");
		if (r == 1)
			continue;
		if (rp_put(u, rp, err) == 0)
			return 0;
		if (err->code != ERROR_EXISTS)
			return -1;
	}
	return error_set(err, "could not number the restore point: too many concurrent writers");
}

/* The message the deletion key signs for a tombstone (docs/format.md 7.1). */
static void tombstone_message(struct store_unit *u, const struct rp_tombstone *t, struct buf *m)
{
	static const uint8_t zero[32];
	const char *id = store_id(store_unit_store(u));
	size_t ulen = strlen(t->unit);

	buf_add(m, "coffer-v1 tombstone", 20); /* with its NUL */
	buf_add(m, id, strlen(id));
	buf_add_u16(m, (uint16_t)(ulen > UINT16_MAX ? UINT16_MAX : ulen));
	buf_add(m, t->unit, ulen > UINT16_MAX ? UINT16_MAX : ulen);
	buf_add_u32(m, t->seq);
	buf_add(m, t->hash, 32);
	buf_add_u8(m, t->has_parent ? 1 : 0);
	buf_add(m, t->has_parent ? t->parent : zero, 32);
	buf_add_u64(m, (uint64_t)t->time_ns);
	buf_add_u64(m, (uint64_t)t->forgotten_ns);
}

int rp_tombstone_verify(struct store_unit *u, const struct rp_tombstone *t, struct error *err)
{
	struct store *s = store_unit_store(u);
	char *name = tombstone_name(u, t->seq);
	uint8_t pk[32];
	struct buf m;
	int ret = -1;

	buf_init(&m, 0);
	if (store_deletion_public(s, pk, err) < 0)
		goto out;
	if (!t->has_signature) {
		if (store_deletion_predates_key(s, name, t->object_hash)) {
			ret = 0;
			goto out;
		}
		error_setk(err, ERROR_CORRUPT, "tombstone %s is not signed by the store's deletion "
			   "key (written with the store key alone?)", name);
		goto out;
	}
	tombstone_message(u, t, &m);
	if (store_deletion_verify(s, m.data, m.len, t->signature, err) < 0) {
		if (err->code == ERROR_CORRUPT)
			error_setk(err, ERROR_CORRUPT, "tombstone %s has a signature that does not "
				   "verify under the store's deletion key (forged or altered?)", name);
		goto out;
	}
	ret = 0;
out:
	buf_clear(&m);
	free(name);
	return ret;
}

static char *tombstone_to_json(struct store_unit *u, const struct rp *rp, int64_t now_ns,
			       struct error *err)
{
	json_object *root = json_object_new_object();
	struct rp_tombstone t = { .unit = rp->unit, .seq = rp->seq, .has_parent = rp->has_parent,
				  .time_ns = rp->time_ns, .forgotten_ns = now_ns };
	uint8_t sig[64];
	char hex[129];
	char *out;
	struct buf m;

	memcpy(t.hash, rp->hash, 32);
	memcpy(t.parent, rp->parent, 32);
	buf_init(&m, 0);
	tombstone_message(u, &t, &m);
	if (store_deletion_sign(store_unit_store(u), m.data, m.len, sig, err) < 0) {
		buf_clear(&m);
		json_object_put(root);
		return NULL;
	}
	buf_clear(&m);

	json_object_object_add(root, "format", json_object_new_int(TOMBSTONE_FORMAT));
	json_object_object_add(root, "unit", json_object_new_string(rp->unit));
	json_object_object_add(root, "seq", json_object_new_int64(rp->seq));
	hex_encode(rp->hash, 32, hex);
	json_object_object_add(root, "hash", json_object_new_string(hex));
	if (rp->has_parent)
		hex_encode(rp->parent, 32, hex);
	else
		hex[0] = '\0';
	json_object_object_add(root, "parent", json_object_new_string(hex));
	json_object_object_add(root, "time", json_object_new_int64(rp->time_ns));
	json_object_object_add(root, "forgotten", json_object_new_int64(now_ns));
	hex_encode(sig, 64, hex);
	json_object_object_add(root, "signature", json_object_new_string(hex));
	out = xstrdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	json_object_put(root);
	return out;
}

static void format_utc(int64_t secs, char *out, size_t len)
{
	time_t t = (time_t)secs;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, len, "%lld (Unix time)", (long long)secs);
}

static int64_t ns_to_s(int64_t ns)
{
	return ns / 1000000000 - (ns % 1000000000 < 0);
}

/* 1 if a live point after rp (higher number, time not earlier) has a time
 * in rp's ISO week, else 0. Times ascend with numbers in
 * practice, so the scan stops at the first later week. A later point that
 * cannot be read does not count. */
static int rp_week_has_later(struct store_unit *u, const struct rp *rp, const uint32_t *live,
			     size_t n)
{
	int64_t week = time_iso_week(ns_to_s(rp->time_ns));
	size_t i;

	for (i = 0; i < n; i++) {
		struct rp *later = NULL;
		struct error ignored;
		int64_t w;

		if (live[i] <= rp->seq)
			continue;
		error_init(&ignored);
		if (rp_read_manifest(u, live[i], &later, &ignored) < 0)
			continue;
		w = time_iso_week(ns_to_s(later->time_ns));
		if (later->time_ns >= rp->time_ns && w == week) {
			rp_free(&later);
			return 1;
		}
		rp_free(&later);
		if (w > week)
			break;
	}
	return 0;
}

/* The retention rules of docs/format.md 7: 0 if rp may be forgotten at
 * now_ns, else ERROR_LOCKED saying until when and why. last: the newest
 * live point too, once past its retainUntil (a unit whose source is gone,
 * rp_forget_last_at). */
static int rp_check_retention(struct store_unit *u, const struct rp *rp, int64_t now_ns,
			      int last, struct error *err)
{
	int64_t now_s = ns_to_s(now_ns);
	const char *name = store_unit_name(u);
	uint32_t *live = NULL;
	size_t n, i;
	int newest = 1, r, ret = -1;
	char date[64];

	if (rp_list(u, &live, &n, err) < 0)
		return -1;
	for (i = 0; i < n; i++)
		newest &= live[i] <= rp->seq;
	if (newest && last && rp->retain_until > 0 && now_s > rp->retain_until) {
		ret = 0;
		goto out;
	}
	if (newest) {
		error_setk(err, ERROR_LOCKED, "restore point %s@%u is retained until a newer restore "
			   "point of the unit exists (it is the unit's newest live point, which is "
			   "never forgotten)", name, rp->seq);
		goto out;
	}
	if (rp->keep_until > 0 && now_s < rp->keep_until) {
		format_utc(rp->keep_until, date, sizeof(date));
		error_setk(err, ERROR_LOCKED, "restore point %s@%u is retained until %s (its "
			   "keepUntil: nothing may forget it before then)", name, rp->seq, date);
		goto out;
	}
	if (rp->retain_until > 0 && now_s <= rp->retain_until) {
		r = rp_week_has_later(u, rp, live, n);
		if (r == 0) {
			format_utc(rp->retain_until, date, sizeof(date));
			error_setk(err, ERROR_LOCKED, "restore point %s@%u is retained until %s (its "
				   "retainUntil: before then it may only be thinned out by a later "
				   "live restore point of the same ISO week, and there is none)", name,
				   rp->seq, date);
			goto out;
		}
	}
	ret = 0;
out:
	free(live);
	return ret;
}

/* Step 1 and 2 of docs/format.md 7.1: the point's retention, the deletion
 * record, the signed tombstone from the manifest. Another forget may have
 * put the tombstone first; then it must say the same. */
static int rp_tombstone_write(struct store_unit *u, uint32_t seq, int64_t now_ns, int last,
			      struct error *err)
{
	struct rp *rp = NULL;
	struct rp_tombstone *t = NULL;
	char *json = NULL, *name = NULL, *what = NULL;
	int ret = -1;

	if (rp_read_manifest(u, seq, &rp, err) < 0) {
		if (err->code == ERROR_NOTFOUND)
			error_setk(err, ERROR_NOTFOUND, "no such restore point");
		goto out;
	}
	if (rp_check_retention(u, rp, now_ns, last, err) < 0)
		goto out;
	/* Before anything is written: a manifest the server still locks (S3
	 * Object Lock, by the real clock whatever now_ns says) could not be
	 * deleted after its tombstone, and the point would read as forgotten
	 * while its manifest stays. */
	name = rp_name(u, seq);
	what = xasprintf("restore point %s@%u", store_unit_name(u), seq);
	if (backend_lock_check(store_backend(store_unit_store(u)), name, what, err) < 0)
		goto out;
	free(name);
	name = NULL;
	json = tombstone_to_json(u, rp, now_ns, err);
	if (json == NULL)
		goto out;
	/* The record first: every deletion leaves a trace, even one that
	 * dies right after. */
	if (store_deletion_record(u, "forget", now_ns, &seq, 1, 0, 0, err) < 0)
		goto out;
	name = tombstone_name(u, seq);
	if (store_unit_put_sealed(u, name, SEAL_TOMBSTONE, json, strlen(json), 3, NULL, err) == 0) {
		ret = 0;
		goto out;
	}
	if (err->code != ERROR_EXISTS || rp_tombstone_read(u, seq, &t, err) < 0)
		goto out;
	if (memcmp(t->hash, rp->hash, 32) != 0) {
		error_setk(err, ERROR_CORRUPT, "tombstone %s does not match restore point %s@%u",
			   name, store_unit_name(u), seq);
		goto out;
	}
	ret = 0;
out:
	rp_tombstone_free(&t);
	rp_free(&rp);
	free(json);
	free(name);
	free(what);
	return ret;
}

static int rp_forget_flags(struct store_unit *u, uint32_t seq, int64_t now_ns, int last,
			   struct error *err)
{
	struct backend *be = store_backend(store_unit_store(u));
	struct rp_tombstone *t = NULL;
	char *name = NULL;
	int ret = -1;

	if (!store_deletion_unlocked(store_unit_store(u))) {
		error_setk(err, ERROR_KEY, "forgetting needs the store's deletion key "
			   "(--deletion-key-file); the store key alone cannot delete");
		goto out;
	}
	if (!(be->flags & BACKEND_ALLOW_DELETE)) {
		error_setk(err, ERROR_USAGE, "the store %s was not opened for deletion (forgetting "
			   "deletes the manifest; only expiry and `coffer forget` may)",
			   store_path(store_unit_store(u)));
		goto out;
	}
	if (now_ns == 0) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		now_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	}
	if (rp_tombstone_read(u, seq, &t, err) < 0) {
		/* A damaged tombstone stays for check to report. */
		if (err->code != ERROR_NOTFOUND || rp_tombstone_write(u, seq, now_ns, last, err) < 0)
			goto out;
	} else if (rp_tombstone_verify(u, t, err) < 0) {
		/* Written with the store key alone: coffer does not finish
		 * that forget for it (check reports the tombstone). */
		error_prefix(err, "the manifest is kept");
		goto out;
	}
	/* Step 3: the tombstone is durable, so the manifest may go. */
	name = rp_name(u, seq);
	if (backend_remove(be, name, err) < 0) {
		/* Checked before the tombstone, yet refused now (clocks apart,
		 * a lock extended meanwhile, or an earlier forget's tombstone):
		 * the point is forgotten and its manifest stays; say so. */
		if (err->code == ERROR_LOCKED) {
			char *why = xstrdup(err->msg);

			error_setk(err, ERROR_LOCKED, "restore point %s@%u is forgotten (its "
				   "tombstone is written) but its manifest stays, locked: %s; the "
				   "next forget of it or prune deletes it once the lock lapses",
				   store_unit_name(u), seq, why);
			free(why);
		}
		goto out;
	}
	ret = 0;
out:
	rp_tombstone_free(&t);
	free(name);
	/* A refusal for retention names the point already. */
	if (ret < 0 && err->code != ERROR_LOCKED)
		error_prefix(err, "cannot forget restore point %s@%u", store_unit_name(u), seq);
	return ret;
}

int rp_forget_at(struct store_unit *u, uint32_t seq, int64_t now_ns, struct error *err)
{
	return rp_forget_flags(u, seq, now_ns, 0, err);
}

int rp_forget_last_at(struct store_unit *u, uint32_t seq, int64_t now_ns, struct error *err)
{
	return rp_forget_flags(u, seq, now_ns, 1, err);
}

int rp_forget(struct store_unit *u, uint32_t seq, struct error *err)
{
	return rp_forget_at(u, seq, 0, err);
}
