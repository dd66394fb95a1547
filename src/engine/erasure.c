/* The erasure set of a unit: its ledger records (docs/format.md 10.1) held
 * for one read, with what the read withheld under each. The keys of records
 * without patterns (mail) hold anywhere and sit in one sorted table; the
 * keys of a path record hold at its paths only, sorted in the record.
 * Patterns are few (a request names a handful of paths) and are matched
 * one by one. */
#include "engine/erasure.h"

#include <fnmatch.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "engine/meta.h"
#include "engine/tree.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "store/deletion.h"
#include "store/index.h"
#include "store/rp.h"
#include "store/store.h"

/* One content key and the record naming it. */
struct erasure_key {
	uint8_t key[32];
	size_t rec;
};

struct erasure_set {
	struct store_deletion **recs;
	uint64_t *counts; /* per record */
	size_t nrecs;
	struct erasure_key *keys;
	size_t nkeys;
	int has_patterns;
};

struct erasure_set *erasure_set_empty(void)
{
	return xcalloc(1, sizeof(struct erasure_set));
}

void erasure_set_free(struct erasure_set **esp)
{
	struct erasure_set *es = *esp;
	size_t i;

	if (es == NULL)
		return;
	for (i = 0; i < es->nrecs; i++)
		store_deletion_free(&es->recs[i]);
	free(es->recs);
	free(es->counts);
	free(es->keys);
	free(es);
	*esp = NULL;
}

size_t erasure_set_records(const struct erasure_set *es) { return es ? es->nrecs : 0; }

static int key_cmp(const void *a, const void *b)
{
	return memcmp(((const struct erasure_key *)a)->key, ((const struct erasure_key *)b)->key,
		      32);
}

static int raw_key_cmp(const void *a, const void *b) { return memcmp(a, b, 32); }

static void index_record(struct erasure_set *es, size_t r)
{
	struct store_erasure *x = es->recs[r]->erase;
	size_t i;

	if (x->npatterns > 0) {
		es->has_patterns = 1;
		if (x->nkeys > 1)
			qsort(x->keys, x->nkeys, 32, raw_key_cmp);
		return;
	}
	es->keys = xrealloc(es->keys, xmul(es->nkeys + x->nkeys + 1, sizeof(*es->keys)));
	for (i = 0; i < x->nkeys; i++) {
		memcpy(es->keys[es->nkeys].key, x->keys[i], 32);
		es->keys[es->nkeys++].rec = r;
	}
}

int erasure_set_load(struct store_unit *u, struct erasure_set **es_r, struct error *err)
{
	struct erasure_set *es = erasure_set_empty();
	char **names = NULL;
	size_t n = 0, i;
	int ret = -1;

	*es_r = NULL;
	if (store_erasures_list(u, &names, &n, err) < 0)
		goto out;
	es->recs = xcalloc(n ? n : 1, sizeof(*es->recs));
	es->counts = xcalloc(n ? n : 1, sizeof(*es->counts));
	for (i = 0; i < n; i++) {
		if (store_erasure_read(u, names[i], &es->recs[es->nrecs], err) < 0)
			goto out;
		index_record(es, es->nrecs++);
	}
	if (es->nkeys > 1)
		qsort(es->keys, es->nkeys, sizeof(*es->keys), key_cmp);
	*es_r = es;
	es = NULL;
	ret = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	erasure_set_free(&es);
	if (ret < 0)
		error_prefix(err, "erasure ledger");
	return ret;
}

void erasure_set_keys(const struct erasure_set *es, uint8_t (**keys_r)[32], size_t *n_r)
{
	size_t i, n = es ? es->nkeys : 0;

	*keys_r = xcalloc(n ? n : 1, 32);
	for (i = 0; i < n; i++)
		memcpy((*keys_r)[i], es->keys[i].key, 32);
	*n_r = n;
}

void erasure_content_key(const struct meta_entry *e, uint8_t key[32])
{
	struct buf ids;
	size_t i;

	buf_init(&ids, 0);
	for (i = 0; i < e->nextents; i++)
		buf_add(&ids, e->extents[i].id, 32);
	crypto_sha256(ids.data, ids.len, key);
	buf_clear(&ids);
}

/* Whether `path` or one of its ancestors matches a pattern of x. */
static int path_matches(const struct store_erasure *x, const char *path)
{
	char *prefix = xstrdup(path);
	size_t len = strlen(prefix), i;
	int hit = 0;

	for (;;) {
		for (i = 0; i < x->npatterns && !hit; i++)
			hit = fnmatch(x->patterns[i], prefix, FNM_PATHNAME) == 0;
		while (!hit && len > 0 && prefix[len] != '/')
			len--;
		if (hit || len == 0)
			break;
		prefix[len] = '\0';
	}
	free(prefix);
	return hit;
}

const char *erasure_set_match(const struct erasure_set *es, const struct meta_entry *e,
			      int64_t rp_time)
{
	struct erasure_key k;
	int has_key = 0;
	size_t i;

	if (es == NULL || es->nrecs == 0)
		return NULL;
	/* Content first: an empty file has no content to erase (its key is
	 * every empty file's). */
	if (e->type == META_FILE && e->nextents > 0) {
		struct erasure_key *hit;

		erasure_content_key(e, k.key);
		has_key = 1;
		hit = es->nkeys ? bsearch(&k, es->keys, es->nkeys, sizeof(*es->keys), key_cmp)
				: NULL;
		if (hit != NULL)
			return es->recs[hit->rec]->erase->request;
	}
	if (!es->has_patterns || e->path[0] == '\0')
		return NULL;
	/* A path: everything there up to the cutoff; after it, the files
	 * whose content was there then (an unchanged file the next backup
	 * took again), not what is new. */
	for (i = 0; i < es->nrecs; i++) {
		const struct store_erasure *x = es->recs[i]->erase;

		if (x->npatterns == 0 || !path_matches(x, e->path))
			continue;
		if (rp_time <= x->cutoff ||
		    (has_key && x->nkeys &&
		     bsearch(k.key, x->keys, x->nkeys, 32, raw_key_cmp) != NULL))
			return x->request;
	}
	return NULL;
}

void erasure_set_note(struct erasure_set *es, const char *request)
{
	size_t i;

	for (i = 0; es && i < es->nrecs; i++) {
		if (strcmp(es->recs[i]->erase->request, request) == 0) {
			es->counts[i]++;
			return;
		}
	}
}

uint64_t erasure_set_withheld(const struct erasure_set *es)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; es && i < es->nrecs; i++)
		n += es->counts[i];
	return n;
}

struct json_object *erasure_set_report(const struct erasure_set *es)
{
	json_object *arr = json_object_new_array();
	size_t i, k;

	for (i = 0; es && i < es->nrecs; i++) {
		const char *req = es->recs[i]->erase->request;
		json_object *o;
		uint64_t n = 0;
		int seen = 0;

		for (k = 0; k < i && !seen; k++)
			seen = strcmp(es->recs[k]->erase->request, req) == 0;
		if (seen)
			continue;
		for (k = i; k < es->nrecs; k++)
			if (strcmp(es->recs[k]->erase->request, req) == 0)
				n += es->counts[k];
		if (n == 0)
			continue;
		o = json_object_new_object();

		json_object_object_add(o, "request", json_object_new_string(req));
		json_object_object_add(o, "items", json_object_new_int64((int64_t)n));
		json_object_array_add(arr, o);
	}
	return arr;
}

char *erasure_set_report_text(const struct erasure_set *es)
{
	json_object *arr;
	char *text;

	if (erasure_set_withheld(es) == 0)
		return NULL;
	arr = erasure_set_report(es);
	text = xstrdup(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	json_object_put(arr);
	return text;
}

void erasure_report_add(struct json_object *acc, const struct erasure_set *es)
{
	json_object *add = erasure_set_report(es);
	size_t i, k;

	for (i = 0; i < json_object_array_length(add); i++) {
		json_object *o = json_object_array_get_idx(add, i), *have = NULL, *v;
		const char *req = json_object_get_string(json_object_object_get(o, "request"));
		int64_t n = json_object_get_int64(json_object_object_get(o, "items"));

		for (k = 0; k < json_object_array_length(acc) && have == NULL; k++) {
			v = json_object_array_get_idx(acc, k);
			if (strcmp(json_object_get_string(json_object_object_get(v, "request")),
				   req) == 0)
				have = v;
		}
		if (have == NULL) {
			json_object_array_add(acc, json_object_get(o));
			continue;
		}
		v = json_object_object_get(have, "items");
		json_object_object_add(have, "items",
				       json_object_new_int64(json_object_get_int64(v) + n));
	}
	json_object_put(add);
}

uint64_t erasure_report_total(struct json_object *report)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; report && i < json_object_array_length(report); i++)
		n += (uint64_t)json_object_get_int64(
			json_object_object_get(json_object_array_get_idx(report, i), "items"));
	return n;
}

/* The content keys of the files of point rp under the patterns. */
static int point_path_keys(struct store_unit *u, const struct index *ix, const struct rp *rp,
			   const struct store_erasure *x, struct buf *keys, struct error *err)
{
	struct tree_reader *tr = tree_reader_open(u, ix, rp, err);
	struct meta_entry *e;
	uint8_t key[32];
	int r;

	if (tr == NULL)
		return -1;
	while ((r = tree_reader_next(tr, &e, err)) == 1) {
		if (e->type != META_FILE || e->nextents == 0 || !path_matches(x, e->path))
			continue;
		erasure_content_key(e, key);
		buf_add(keys, key, 32);
	}
	tree_reader_close(&tr);
	return r;
}

int erasure_path_keys(struct store_unit *u, struct store_erasure *x, struct error *err)
{
	struct index *ix = NULL;
	struct buf keys;
	uint32_t *seqs = NULL;
	size_t n = 0, i, k, m = 0;
	int ret = -1;

	buf_init(&keys, 0);
	if (rp_list(u, &seqs, &n, err) < 0 || (ix = index_open(u, err)) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		struct rp *rp = NULL;

		if (rp_read(u, seqs[i], &rp, err) < 0)
			goto out;
		ret = rp->time_ns / 1000000000 > x->cutoff ? 0
		      : point_path_keys(u, ix, rp, x, &keys, err);
		rp_free(&rp);
		if (ret < 0)
			goto out;
	}
	ret = -1;
	n = keys.len / 32;
	if (n > 1)
		qsort(keys.data, n, 32, raw_key_cmp);
	free(x->keys);
	x->keys = xcalloc(n ? n : 1, 32);
	for (k = 0; k < n; k++)
		if (m == 0 || memcmp(x->keys[m - 1], keys.data + k * 32, 32) != 0)
			memcpy(x->keys[m++], keys.data + k * 32, 32);
	x->nkeys = m;
	ret = 0;
out:
	if (ret < 0)
		error_prefix(err, "the files under the erased paths of %s", store_unit_name(u));
	buf_clear(&keys);
	index_close(&ix);
	free(seqs);
	return ret;
}
