/* Two-phase deletion of unreferenced packs without a lock; the algorithm,
 * its invariant and the plan format are in docs/prune.md. Per unit: write
 * our own writer marker, sweep the due plans (phase 2), tidy superseded
 * index segments and old writer markers, then mark (phase 1). */
#include "prune.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "engine/blobrefs.h"
#include "engine/idset.h"
#include "engine/meta.h"
#include "engine/packcopy.h"
#include "engine/writers.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/idarray.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/parse.h"
#include "store/backend.h"
#include "store/deletion.h"
#include "store/index.h"
#include "store/pack.h"
#include "store/rp.h"
#include "store/store.h"

#define PLAN_MAGIC "coffer-prune-plan"
#define PLAN_VERSION 1
#define PLAN_MAX ((size_t)64 << 20)
#define DEFAULT_GRACE 3600
#define DEFAULT_TIMEOUT 86400
#define DEFAULT_REPACK_BELOW 50 /* percent of a pack's bytes in use */
#define DEFAULT_REPACK_PCT 10   /* of a unit's indexed bytes, per run */
#define MIN_REPACK_BUDGET ((uint64_t)PACK_TARGET_SIZE)

/* --- indexed packs and how much of each is referenced -------------------- */

struct pack_stat {
	uint8_t id[32];
	uint64_t blobs, used, used_bytes, unused_bytes;
};

struct pack_table {
	struct pack_stat *v;
	size_t n, cap;
};

static struct pack_stat *pack_table_find(const struct pack_table *t, const uint8_t id[32])
{
	return idarray_find(t->v, t->n, sizeof(*t->v), id);
}

/* Finds or inserts, keeping the table sorted (packs are few). */
static struct pack_stat *pack_table_add(struct pack_table *t, const uint8_t id[32])
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->v = xrealloc(t->v, xmul(t->cap, sizeof(*t->v)));
	}
	return idarray_add(t->v, &t->n, sizeof(*t->v), id);
}

/* --- state ----------------------------------------------------------------- */

struct plan {
	char name[33];
	int64_t time;
	struct idset packs;
	int due, swept;
};

struct prune {
	struct store *s;
	struct backend *be;
	const struct prune_opts *o;
	struct prune_result *res;
	int64_t grace, timeout;
};

struct unit_prune {
	struct prune *p;
	const char *name;
	struct store_unit *u;
	struct writers *w;      /* our marker (none in a dry run), check 1 */
	int others_open;        /* another writer open at the last check */
	struct plan *plans;
	size_t nplans, ndue;
	struct index *ix;
	struct idset ref;       /* referenced blob ids */
	struct pack_table packs; /* indexed packs */
	struct idset disk;      /* packs on disk */
	struct idset repacked;  /* packs repacked in this run (dry run: that would be) */
	int changed;            /* index or packs changed since loaded */
};

static int64_t now_s(void) { return (int64_t)time(NULL); }

/* "units/<uid>/<dir>/<name>"; caller frees. */
static char *unit_object(struct unit_prune *up, const char *dir, const char *name)
{
	char *rel = xasprintf("%s/%s", dir, name), *obj = store_unit_path(up->u, rel);

	free(rel);
	return obj;
}

static int unit_remove(struct unit_prune *up, const char *dir, const char *name,
		       struct error *err)
{
	char *obj = unit_object(up, dir, name);
	int ret = backend_remove(up->p->be, obj, err);

	free(obj);
	return ret;
}

/* Like unit_remove, but an object the server still locks (S3 Object Lock)
 * is left for a later prune: 1, logged, not an error. */
static int unit_remove_unless_locked(struct unit_prune *up, const char *dir, const char *name,
				     struct error *err)
{
	if (unit_remove(up, dir, name, err) == 0)
		return 0;
	if (err->code != ERROR_LOCKED)
		return -1;
	log_info("%s: %s; left for a later prune", up->name, err->msg);
	error_init(err);
	return 1;
}

/* --- plans ------------------------------------------------------------------ */

struct lines {
	const char *p;
	size_t left;
};

/* The next '\n'-terminated line; 0 at the end or on a line without one. */
static int next_line(struct lines *l, const char **s_r, size_t *len_r)
{
	const char *nl = l->left ? memchr(l->p, '\n', l->left) : NULL;

	if (nl == NULL)
		return 0;
	*s_r = l->p;
	*len_r = (size_t)(nl - l->p);
	l->left -= *len_r + 1;
	l->p = nl + 1;
	return 1;
}

/* Reads "key <number>". */
static int line_number(struct lines *l, const char *key, int64_t *v)
{
	size_t klen = strlen(key), len;
	const char *s;

	if (!next_line(l, &s, &len) || len <= klen + 1 || memcmp(s, key, klen) != 0 ||
	    s[klen] != ' ')
		return -1;
	return parse_digits(s + klen + 1, len - klen - 1, v);
}

static int plan_parse(struct plan *pl, const struct buf *b, const char *obj, struct error *err)
{
	struct lines l = { (const char *)b->data, b->len };
	int64_t version, n, i;
	const char *s;
	size_t len;
	uint8_t id[32];

	if (!next_line(&l, &s, &len) || len != strlen(PLAN_MAGIC) || memcmp(s, PLAN_MAGIC, len) != 0 ||
	    line_number(&l, "version", &version) < 0)
		return error_setk(err, ERROR_CORRUPT, "prune plan %s is malformed", obj);
	if (version > PLAN_VERSION)
		return error_setk(err, ERROR_VERSION, "prune plan %s has version %lld; this coffer "
				  "reads version %d", obj, (long long)version, PLAN_VERSION);
	if (line_number(&l, "time", &pl->time) < 0 || line_number(&l, "packs", &n) < 0)
		return error_setk(err, ERROR_CORRUPT, "prune plan %s is malformed", obj);
	for (i = 0; i < n; i++) {
		if (!next_line(&l, &s, &len) || len != 64 || !hex_is_lower(s, 64) ||
		    hex_decode(s, 64, id, 32) < 0)
			return error_setk(err, ERROR_CORRUPT, "prune plan %s: bad pack line %lld", obj,
					  (long long)i + 1);
		idset_push(&pl->packs, id);
	}
	if (!next_line(&l, &s, &len) || len != 3 || memcmp(s, "end", 3) != 0 || l.left != 0)
		return error_setk(err, ERROR_CORRUPT, "prune plan %s is truncated", obj);
	idset_sort(&pl->packs);
	return 0;
}

/* Plans that cannot be read are reported and left alone. */
static int collect_plan(void *ctx, const char *name)
{
	struct unit_prune *up = ctx;
	char *obj;
	struct plan pl = { 0 };
	struct error err;
	struct buf b;
	int ok;

	if (strlen(name) != 32 || !hex_is_lower(name, 32))
		return 0;
	memcpy(pl.name, name, 33);
	obj = unit_object(up, "prune", name);
	buf_init(&b, PLAN_MAX);
	error_init(&err);
	ok = backend_get(up->p->be, obj, &b, PLAN_MAX, &err) == 0 && plan_parse(&pl, &b, obj, &err) == 0;
	if (ok) {
		pl.due = now_s() - pl.time >= up->p->grace;
		up->ndue += pl.due;
		up->plans = xrealloc(up->plans, xmul(up->nplans + 1, sizeof(pl)));
		up->plans[up->nplans++] = pl;
	} else {
		log_warn("%s; plan kept", err.msg);
		idset_clear(&pl.packs);
	}
	buf_clear(&b);
	free(obj);
	return 0;
}

static int plans_load(struct unit_prune *up, struct error *err)
{
	char *dir = store_unit_path(up->u, "prune");
	int ret = backend_list(up->p->be, dir, collect_plan, up, err);

	free(dir);
	return ret;
}

static int plan_write(struct unit_prune *up, const struct idset *packs, struct error *err)
{
	uint8_t rnd[16];
	char name[33], hex[65], *obj;
	struct buf b;
	size_t i;
	int ret;

	buf_init(&b, 0);
	buf_addf(&b, "%s\nversion %d\ntime %lld\npacks %zu\n", PLAN_MAGIC, PLAN_VERSION,
		 (long long)now_s(), packs->n);
	for (i = 0; i < packs->n; i++) {
		hex_encode(packs->v[i], 32, hex);
		buf_addf(&b, "%s\n", hex);
	}
	buf_addf(&b, "end\n");
	crypto_random(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), name);
	obj = unit_object(up, "prune", name);
	ret = backend_put(up->p->be, obj, b.data, b.len, err);
	free(obj);
	buf_clear(&b);
	return ret;
}

/* Packs named by plans that stay (not swept in this run). */
static void plans_remaining(const struct unit_prune *up, struct idset *out)
{
	size_t i, k;

	for (i = 0; i < up->nplans; i++)
		if (!up->plans[i].swept)
			for (k = 0; k < up->plans[i].packs.n; k++)
				idset_push(out, up->plans[i].packs.v[k]);
	idset_sort(out);
}

/* --- the referenced set ------------------------------------------------------ */

struct ref_ctx {
	struct unit_prune *up;
	struct idset pending;   /* this point's blobs not yet in ref */
};

static void ref_note(void *ctx, uint32_t seq, const uint8_t id[32], const struct meta_entry *e,
		     int withheld)
{
	static const uint8_t zero[32];
	struct ref_ctx *rc = ctx;

	(void)seq, (void)e, (void)withheld;
	if (memcmp(id, zero, 32) != 0 && !idset_has(&rc->up->ref, id))
		idset_push(&rc->pending, id);
}

/* A point read whole joins ref (kept sorted for ref_note's lookups). */
static void ref_point_done(void *ctx, uint32_t seq)
{
	struct ref_ctx *rc = ctx;

	(void)seq;
	idset_sort(&rc->pending);
	idset_merge(&rc->up->ref, &rc->pending);
	rc->pending.n = 0;
}

/* ref = every blob (metadata and file extents) of every point with a
 * manifest, live or not: a manifest left beside its tombstone is either a
 * forget that could not finish or a tombstone the deletion key did not
 * sign (prune_finish_forgets() removed the others), and neither may cost
 * the point its data. Fails if any part of a point cannot be read. */
static int ref_compute(struct unit_prune *up, struct error *err)
{
	static const struct blobrefs_ops ops = { .blob = ref_note, .point_done = ref_point_done };
	struct ref_ctx rc = { .up = up };
	int ret = blobrefs_walk(up->u, up->ix, NULL, &ops, &rc, err);

	idset_clear(&rc.pending);
	return ret;
}

/* --- the index and the packs on disk ----------------------------------------- */

static int tally_entry(void *ctx, const uint8_t pack_id[32], const struct pack_entry *e)
{
	struct unit_prune *up = ctx;
	struct pack_stat *ps = pack_table_add(&up->packs, pack_id);

	ps->blobs++;
	if (idset_has(&up->ref, e->id)) {
		ps->used++;
		ps->used_bytes += BLOB_LEN(e->len_flags);
	} else
		ps->unused_bytes += BLOB_LEN(e->len_flags);
	return 0;
}

static int collect_pack(void *ctx, const uint8_t pack_id[32])
{
	idset_push(&((struct unit_prune *)ctx)->disk, pack_id);
	return 0;
}

static int unit_open_index(struct unit_prune *up, struct error *err)
{
	index_close(&up->ix);
	up->ix = index_open(up->u, err);
	return up->ix ? 0 : -1;
}

/* Tallies the indexed packs against the referenced set and lists the
 * packs on disk. */
static int unit_load_packs(struct unit_prune *up, struct error *err)
{
	int ret;

	free(up->packs.v);
	memset(&up->packs, 0, sizeof(up->packs));
	idset_clear(&up->disk);
	index_foreach(up->ix, tally_entry, up);
	ret = pack_list(up->u, collect_pack, up, err);
	idset_sort(&up->disk);
	up->changed = 0;
	return ret;
}

/* After the sweep changed the index or the packs. */
static int unit_reload(struct unit_prune *up, struct error *err)
{
	if (!up->changed)
		return 0;
	return unit_open_index(up, err) < 0 ? -1 : unit_load_packs(up, err);
}

/* --- phase 2: sweep --------------------------------------------------------- */

struct candidate {
	uint8_t id[32];
	int on_disk, indexed;
	struct pack_entry *trailer;
	size_t ntrailer;
};

struct sweep {
	struct unit_prune *up;
	struct candidate *c;
	size_t n;
	struct idset ids;      /* candidate ids, sorted */
	uint8_t *findable;     /* per ref id: listed by an entry of a kept pack */
	uint64_t kept;
};

static void sweep_clear(struct sweep *sw)
{
	size_t i;

	for (i = 0; i < sw->n; i++)
		free(sw->c[i].trailer);
	free(sw->c);
	idset_clear(&sw->ids);
	free(sw->findable);
}

/* Step 3a: planned packs no referenced index entry points to. */
static void sweep_first_cut(struct sweep *sw)
{
	struct unit_prune *up = sw->up;
	struct idset planned = { 0 };
	size_t i, k;

	for (i = 0; i < up->nplans; i++)
		if (up->plans[i].due)
			for (k = 0; k < up->plans[i].packs.n; k++)
				idset_push(&planned, up->plans[i].packs.v[k]);
	idset_sort(&planned);
	sw->c = xcalloc(planned.n ? planned.n : 1, sizeof(*sw->c));
	for (i = 0; i < planned.n; i++) {
		const struct pack_stat *ps = pack_table_find(&up->packs, planned.v[i]);
		struct candidate *c = &sw->c[sw->n];

		if (ps && ps->used) {
			sw->kept++;
			continue;
		}
		c->indexed = ps != NULL;
		c->on_disk = idset_has(&up->disk, planned.v[i]);
		if (!c->indexed && !c->on_disk)
			continue; /* already gone */
		memcpy(c->id, planned.v[i], 32);
		idset_push(&sw->ids, c->id);
		sw->n++;
	}
	idset_clear(&planned);
}

static int note_findable(void *ctx, const uint8_t pack_id[32], const struct pack_entry *e)
{
	struct sweep *sw = ctx;
	size_t k;

	if (!idset_has(&sw->ids, pack_id) && (k = idset_find(&sw->up->ref, e->id)) != SIZE_MAX)
		sw->findable[k] = 1;
	return 0;
}

/* Whether a candidate holds a referenced blob no kept pack's entry lists. */
static int candidate_pinned(struct sweep *sw, struct candidate *c, struct pack_reader *pr)
{
	struct error err;
	char hex[65];
	size_t i, k;

	if (!c->on_disk)
		return 0;
	error_init(&err);
	if (pack_reader_trailer(pr, c->id, &c->trailer, &c->ntrailer, &err) < 0) {
		log_warn("%s; pack kept", err.msg);
		return 1;
	}
	for (i = 0; i < c->ntrailer; i++) {
		k = idset_find(&sw->up->ref, c->trailer[i].id);
		if (k != SIZE_MAX && !sw->findable[k]) {
			hex_encode(c->id, 32, hex);
			log_info("%s: pack %.16s holds a blob in use; kept", sw->up->name, hex);
			return 1;
		}
	}
	return 0;
}

/* Step 3b: drops candidates with a pinning blob (dropping only adds
 * findable entries, so the findable flags computed against the first cut
 * stay valid). */
static void sweep_pins(struct sweep *sw)
{
	struct pack_reader *pr = pack_reader_open(sw->up->u);
	size_t i, n = 0;

	sw->findable = xcalloc(sw->up->ref.n ? sw->up->ref.n : 1, 1);
	index_foreach(sw->up->ix, note_findable, sw);
	for (i = 0; i < sw->n; i++) {
		if (candidate_pinned(sw, &sw->c[i], pr)) {
			free(sw->c[i].trailer);
			sw->kept++;
			continue;
		}
		sw->c[n++] = sw->c[i];
	}
	sw->n = n;
	sw->ids.n = 0;
	for (i = 0; i < sw->n; i++)
		idset_push(&sw->ids, sw->c[i].id);
	pack_reader_close(&pr);
}

/* Step 3c: drops candidates the server still locks (S3 Object Lock):
 * they stay where they are, indexed as they were, and phase 1 plans them
 * again for a later sweep. Dropping only keeps more, as in step 3b. A lock
 * that cannot be read keeps the pack too. */
static void sweep_locks(struct sweep *sw)
{
	struct unit_prune *up = sw->up;
	size_t i, n = 0;

	for (i = 0; i < sw->n; i++) {
		struct candidate *c = &sw->c[i];
		char *name = pack_name(up->u, c->id), hex[65], *what;
		struct error err;
		int ret = 0;

		hex_encode(c->id, 32, hex);
		what = xasprintf("pack %.16s", hex);
		error_init(&err);
		if (c->on_disk)
			ret = backend_lock_check(up->p->be, name, what, &err);
		free(what);
		free(name);
		if (ret < 0) {
			if (err.code == ERROR_LOCKED) {
				log_info("%s: %s; left for a later prune", up->name, err.msg);
				up->p->res->locked_packs++;
			} else {
				log_warn("%s: %s; pack kept", up->name, err.msg);
				sw->kept++;
			}
			free(c->trailer);
			continue;
		}
		sw->c[n++] = *c;
	}
	sw->n = n;
	sw->ids.n = 0;
	for (i = 0; i < sw->n; i++)
		idset_push(&sw->ids, sw->c[i].id);
}

static int keep_not_candidate(void *ctx, const uint8_t pack_id[32])
{
	return !idset_has(&((struct sweep *)ctx)->ids, pack_id);
}

/* Indexes the candidates again after a stopped sweep: a backup that
 * started meanwhile may reference their blobs. */
static int sweep_undo(struct sweep *sw, struct error *err)
{
	struct index_builder *b = index_builder_new();
	size_t i;
	int ret;

	for (i = 0; i < sw->n; i++)
		if (sw->c[i].indexed && sw->c[i].trailer)
			index_builder_add_pack(b, sw->c[i].id, sw->c[i].trailer, sw->c[i].ntrailer);
	ret = index_builder_write(b, sw->up->u, err);
	index_builder_free(&b);
	if (ret < 0)
		log_error("%s: the packs of an interrupted prune could not be indexed again: %s; "
			  "run prune again", sw->up->name, err->msg);
	return ret;
}

static int sweep_delete(struct sweep *sw, struct error *err)
{
	struct unit_prune *up = sw->up;
	struct prune_result *res = up->p->res;
	uint64_t *sizes = xcalloc(sw->n + 1, sizeof(uint64_t)), npacks = 0, nbytes = 0;
	struct timespec ts;
	size_t i;

	for (i = 0; i < sw->n; i++) {
		char *name = pack_name(up->u, sw->c[i].id);
		struct error ignored;

		if (sw->c[i].on_disk && backend_size(up->p->be, name, &sizes[i], &ignored) < 0)
			sizes[i] = 0;
		npacks += sw->c[i].on_disk;
		nbytes += sizes[i];
		free(name);
	}
	/* The unit's deletion log first (docs/format.md 10): every deletion
	 * of data leaves a trace, even one that dies right after. */
	clock_gettime(CLOCK_REALTIME, &ts);
	if (npacks > 0 &&
	    store_deletion_record(up->u, "prune", (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
				  NULL, 0, npacks, nbytes, err) < 0) {
		free(sizes);
		return -1;
	}
	for (i = 0; i < sw->n; i++) {
		char *name = pack_name(up->u, sw->c[i].id);
		int ret = 0;

		if (sw->c[i].on_disk)
			ret = backend_remove(up->p->be, name, err);
		free(name);
		if (ret < 0 && err->code == ERROR_LOCKED) {
			/* Its lock looked lapsed, yet the server refuses (clocks
			 * apart, a lock extended). The pack stays on disk,
			 * unindexed and unreferenced, as after a crash here:
			 * phase 1 of this run plans it again. */
			log_info("%s: %s; left for a later prune", up->name, err->msg);
			error_init(err);
			res->locked_packs++;
			continue;
		}
		if (ret < 0) {
			free(sizes);
			return -1;
		}
		res->deleted_packs += sw->c[i].on_disk;
		res->deleted_bytes += sizes[i];
	}
	free(sizes);
	/* A swept plan that stays (locked) is swept again next time and
	 * finds its packs gone: harmless. */
	for (i = 0; i < up->nplans; i++)
		if (up->plans[i].swept &&
		    unit_remove_unless_locked(up, "prune", up->plans[i].name, err) < 0)
			return -1;
	return 0;
}

static void sweep_dry_report(struct sweep *sw)
{
	struct prune_result *res = sw->up->p->res;
	uint64_t bytes = 0, size;
	struct error ignored;
	size_t i;

	for (i = 0; i < sw->n; i++) {
		char *name = pack_name(sw->up->u, sw->c[i].id);

		if (sw->c[i].on_disk && backend_size(sw->up->p->be, name, &size, &ignored) == 0)
			bytes += size;
		res->deleted_packs += sw->c[i].on_disk;
		free(name);
	}
	res->deleted_bytes += bytes;
	log_info("%s: dry run: would delete %zu packs (%llu bytes), keep %llu planned packs",
		 sw->up->name, sw->n, (unsigned long long)bytes, (unsigned long long)sw->kept);
}

/* Steps 4 to 6; returns 1 if it stopped for a writer (plans kept). */
static int sweep_apply(struct sweep *sw, struct error *err)
{
	struct unit_prune *up = sw->up;
	int rewrite = 0, ok;
	size_t i;

	for (i = 0; i < sw->n; i++)
		rewrite |= sw->c[i].indexed;
	if (rewrite && index_rewrite(up->ix, up->u, keep_not_candidate, sw, err) < 0)
		return -1;
	ok = writers_recheck(up->w, err); /* step 5 */
	if (ok == 1)
		return sweep_delete(sw, err);
	for (i = 0; i < up->nplans; i++)
		up->plans[i].swept = 0;
	if (rewrite) {
		struct error undo_err;

		if (sweep_undo(sw, &undo_err) < 0 && ok == 0) {
			*err = undo_err;
			return -1;
		}
	}
	if (ok < 0)
		return -1;
	up->others_open = 1;
	up->p->res->deferred_plans += up->ndue;
	log_info("%s: a backup started during prune; deleting deferred", up->name);
	return 1;
}

static int prune_sweep(struct unit_prune *up, struct error *err)
{
	struct sweep sw = { .up = up };
	size_t i;
	int ret = 0;

	if (up->ndue == 0)
		return 0;
	if (up->others_open) {
		up->p->res->deferred_plans += up->ndue;
		log_info("%s: another backup is writing; %zu due plans deferred", up->name, up->ndue);
		return 0;
	}
	for (i = 0; i < up->nplans; i++)
		up->plans[i].swept = up->plans[i].due;
	sweep_first_cut(&sw);
	sweep_pins(&sw);
	sweep_locks(&sw);
	up->p->res->kept_packs += sw.kept;
	if (up->p->o->dry_run) {
		for (i = 0; i < up->nplans; i++)
			up->plans[i].swept = 0;
		sweep_dry_report(&sw);
	} else {
		ret = sweep_apply(&sw, err);
		up->changed = 1;
	}
	sweep_clear(&sw);
	return ret < 0 ? -1 : 0;
}

/* --- housekeeping (no other writer open) -------------------------------------- */

struct segment_ctx {
	struct unit_prune *up;
	struct error *err;
};

static int drop_segment(void *ctx, const char *name, int superseded)
{
	struct segment_ctx *sc = ctx;
	const char *cache;
	char *path;

	if (!superseded)
		return 0;
	switch (unit_remove_unless_locked(sc->up, "index", name, sc->err)) {
	case -1:
		return -1;
	case 1: /* still superseded next time; readers skip it meanwhile */
		sc->up->p->res->locked_segments++;
		return 0;
	}
	sc->up->p->res->deleted_segments++;
	cache = store_unit_cache(sc->up->u, &(struct error){ 0 });
	if (cache) {
		path = xasprintf("%s/idx-%s", cache, name);
		unlink(path);
		free(path);
	}
	return 0;
}

static int drop_superseded(struct unit_prune *up, struct error *err)
{
	struct segment_ctx sc = { .up = up, .err = err };

	if (unit_reload(up, err) < 0)
		return -1;
	return index_foreach_segment(up->ix, drop_segment, &sc);
}

static int prune_tidy(struct unit_prune *up, struct error *err)
{
	if (up->others_open || up->p->o->dry_run)
		return 0;
	if (drop_superseded(up, err) < 0 || writers_tidy(up->w, &up->p->res->deleted_markers, err) < 0)
		return -1;
	return 0;
}

/* --- repacking (no other writer open) ------------------------------------------- */

/* A partly used pack chosen for repacking, with its trailer. */
struct repack_pack {
	const struct pack_stat *ps;
	struct pack_entry *t;
	size_t nt;
};

struct repack {
	struct unit_prune *up;
	struct repack_pack *v;
	size_t n;
	struct idset ids;       /* the chosen packs, sorted */
	uint64_t live;          /* stored bytes of their blobs in use */
};

static uint64_t pack_bytes(const struct pack_stat *ps)
{
	return ps->used_bytes + ps->unused_bytes;
}

/* Least live share first: the most space back per byte copied. */
static int cmp_live_share(const void *a, const void *b)
{
	const struct pack_stat *x = *(const struct pack_stat *const *)a;
	const struct pack_stat *y = *(const struct pack_stat *const *)b;
	/* Pack sizes are below 2^25, so the products cannot overflow. */
	uint64_t l = x->used_bytes * pack_bytes(y), r = y->used_bytes * pack_bytes(x);

	if (l != r)
		return l < r ? -1 : 1;
	return memcmp(x->id, y->id, 32);
}

/* Bytes of blobs this run may copy in the unit (prune.h). */
static uint64_t repack_budget(const struct unit_prune *up)
{
	const struct prune_opts *o = up->p->o;
	uint64_t total = 0, b;
	size_t i;

	if (o->max_repack > 0)
		return o->max_repack;
	for (i = 0; i < up->packs.n; i++)
		total += pack_bytes(&up->packs.v[i]);
	b = total / 100 * (uint64_t)(o->max_repack_pct > 0 ? o->max_repack_pct : DEFAULT_REPACK_PCT);
	return o->max_repack_pct > 0 || b >= MIN_REPACK_BUDGET ? b : MIN_REPACK_BUDGET;
}

/* Whether the server still locks the pack (S3 Object Lock): repacking it
 * now would only add copies, since the old one cannot go. A lock that
 * cannot be read counts as one. */
static int repack_locked(struct unit_prune *up, const uint8_t id[32])
{
	char *name = pack_name(up->u, id), hex[65], *what;
	struct error err;
	int ret;

	hex_encode(id, 32, hex);
	what = xasprintf("pack %.16s", hex);
	error_init(&err);
	ret = backend_lock_check(up->p->be, name, what, &err);
	if (ret < 0)
		log_info("%s: %s; not repacked", up->name, err.msg);
	free(what);
	free(name);
	return ret < 0;
}

/* The packs below the threshold, least live first, as far as the budget
 * goes; locked ones are skipped. */
static void repack_choose(struct repack *rp, int below)
{
	struct unit_prune *up = rp->up;
	struct prune_result *res = up->p->res;
	const struct pack_stat **c = xcalloc(up->packs.n + 1, sizeof(*c));
	uint64_t budget = repack_budget(up);
	size_t i, n = 0;

	for (i = 0; i < up->packs.n; i++) {
		const struct pack_stat *ps = &up->packs.v[i];

		if (ps->used && ps->unused_bytes && idset_has(&up->disk, ps->id) &&
		    ps->used_bytes * 100 < (uint64_t)below * pack_bytes(ps))
			c[n++] = ps;
	}
	qsort(c, n, sizeof(*c), cmp_live_share);
	rp->v = xcalloc(n + 1, sizeof(*rp->v));
	for (i = 0; i < n; i++) {
		if (rp->live + c[i]->used_bytes > budget) {
			res->repack_budget_packs++;
			continue;
		}
		if (repack_locked(up, c[i]->id)) {
			res->repack_locked_packs++;
			continue;
		}
		rp->v[rp->n++].ps = c[i];
		rp->live += c[i]->used_bytes;
	}
	free(c);
}

/* Reads the chosen packs' trailers; a pack whose trailer cannot be read
 * is left as it is (check reports it). */
static void repack_trailers(struct repack *rp)
{
	struct pack_reader *pr = pack_reader_open(rp->up->u);
	struct error err;
	size_t i, n = 0;

	for (i = 0; i < rp->n; i++) {
		error_init(&err);
		if (pack_reader_trailer(pr, rp->v[i].ps->id, &rp->v[i].t, &rp->v[i].nt, &err) < 0) {
			log_warn("%s: %s; pack not repacked", rp->up->name, err.msg);
			rp->live -= rp->v[i].ps->used_bytes;
			continue;
		}
		rp->v[n++] = rp->v[i];
	}
	rp->n = n;
	for (i = 0; i < n; i++)
		idset_push(&rp->ids, rp->v[i].ps->id);
	idset_sort(&rp->ids);
	pack_reader_close(&pr);
}

static uint64_t packs_size(struct unit_prune *up, const struct idset *ids)
{
	struct error ignored;
	uint64_t sum = 0, size;
	size_t i;

	for (i = 0; i < ids->n; i++) {
		char *name = pack_name(up->u, ids->v[i]);

		if (backend_size(up->p->be, name, &size, &ignored) == 0)
			sum += size;
		free(name);
	}
	return sum;
}

static int keep_not_repacked(void *ctx, const uint8_t pack_id[32])
{
	return !idset_has(&((struct repack *)ctx)->ids, pack_id);
}

/* Indexes the old packs again: a backup that started meanwhile may have
 * found a blob of theirs in the old index that was not copied. */
static int repack_undo(struct repack *rp, struct error *err)
{
	struct index_builder *b = index_builder_new();
	size_t i;
	int ret;

	for (i = 0; i < rp->n; i++)
		index_builder_add_pack(b, rp->v[i].ps->id, rp->v[i].t, rp->v[i].nt);
	ret = index_builder_write(b, rp->up->u, err);
	index_builder_free(&b);
	if (ret < 0)
		log_error("%s: the packs of an interrupted repack could not be indexed again: %s; "
			  "run prune again", rp->up->name, err->msg);
	return ret;
}

/* Copies, drops the old packs from the index, checks the writers (check
 * 2) and undoes on a new writer. The old packs stay on disk, unindexed:
 * phase 1 plans them and a later sweep deletes them. */
static int repack_apply(struct repack *rp, struct packcopy_src *src, const struct idset *copy,
			struct error *err)
{
	struct unit_prune *up = rp->up;
	struct prune_result *res = up->p->res;
	struct packcopy_result pc = { 0 };
	uint64_t old_bytes = packs_size(up, &rp->ids), new_bytes;
	int ok;

	up->changed = 1;
	if (packcopy_run(up->u, up->p->be, src, rp->n, copy, &pc, err) < 0) {
		idset_clear(&pc.packs);
		if (err->code != ERROR_CORRUPT)
			return -1;
		/* A damaged blob must not stop the sweeps of every later run:
		 * the old packs stay indexed, the copies made so far are
		 * unindexed leftovers that phase 1 plans. */
		log_warn("%s: %s; nothing repacked (run check)", up->name, err->msg);
		up->repacked.n = 0;
		error_init(err);
		return 0;
	}
	if (index_rewrite(up->ix, up->u, keep_not_repacked, rp, err) < 0) {
		idset_clear(&pc.packs);
		return -1;
	}
	new_bytes = packs_size(up, &pc.packs);
	idset_clear(&pc.packs);
	ok = writers_recheck(up->w, err);
	if (ok == 1) {
		res->repacked_packs += rp->n;
		res->repack_written_bytes += new_bytes;
		res->repack_freed_bytes += old_bytes > new_bytes ? old_bytes - new_bytes : 0;
		log_info("%s: repacked %zu packs: %llu blobs copied into %llu new packs (%llu bytes); "
			 "%llu bytes to be freed by a later sweep", up->name, rp->n,
			 (unsigned long long)pc.blobs, (unsigned long long)pc.new_packs,
			 (unsigned long long)new_bytes,
			 (unsigned long long)(old_bytes > new_bytes ? old_bytes - new_bytes : 0));
		return 0;
	}
	if (repack_undo(rp, ok == 0 ? err : &(struct error){ 0 }) < 0 && ok == 0)
		return -1;
	up->repacked.n = 0; /* indexed again: still partly used, reported so */
	if (ok < 0)
		return -1;
	up->others_open = 1;
	res->repack_deferred_units++;
	log_info("%s: a backup started during the repack; old packs indexed again", up->name);
	return 0;
}

/* Rewrites the unit's partly used packs (docs/prune.md "Repacking"). */
static int prune_repack(struct unit_prune *up, struct error *err)
{
	const struct prune_opts *o = up->p->o;
	int below = o->repack_below ? o->repack_below : DEFAULT_REPACK_BELOW;
	struct repack rp = { .up = up };
	struct packcopy_src *src;
	struct idset copy = { 0 };
	uint64_t dropped = 0;
	size_t i;
	int ret = 0;

	if (below < 0 || up->others_open || unit_reload(up, err) < 0)
		return below < 0 || up->others_open ? 0 : -1;
	repack_choose(&rp, below);
	repack_trailers(&rp);
	src = xcalloc(rp.n + 1, sizeof(*src));
	for (i = 0; i < rp.n; i++) {
		src[i] = (struct packcopy_src){ rp.v[i].ps->id, rp.v[i].t, rp.v[i].nt };
		idset_push(&up->repacked, rp.v[i].ps->id);
	}
	idset_sort(&up->repacked);
	if (rp.n > 0)
		packcopy_plan(up->ix, src, rp.n, &rp.ids, &up->ref, &copy, &dropped);
	if (rp.n > 0 && o->dry_run) {
		uint64_t old_bytes = packs_size(up, &rp.ids);

		up->p->res->repacked_packs += rp.n;
		up->p->res->repack_written_bytes += rp.live;
		up->p->res->repack_freed_bytes += old_bytes > rp.live ? old_bytes - rp.live : 0;
		log_info("%s: dry run: would repack %zu packs, copying %zu blobs (%llu bytes)",
			 up->name, rp.n, copy.n, (unsigned long long)rp.live);
	} else if (rp.n > 0) {
		ret = repack_apply(&rp, src, &copy, err);
	}
	for (i = 0; i < rp.n; i++)
		free(rp.v[i].t);
	free(rp.v);
	free(src);
	idset_clear(&rp.ids);
	idset_clear(&copy);
	return ret;
}

/* --- phase 1: mark -------------------------------------------------------------- */

/* An unindexed pack: planned if no blob in it is needed, re-indexed if a
 * referenced blob is findable nowhere else, kept if its trailer is bad. */
static void mark_unindexed(struct unit_prune *up, const uint8_t id[32], struct pack_reader *pr,
			   struct idset *plan, struct index_builder *reindex)
{
	struct pack_entry *t = NULL;
	struct error err;
	size_t n, i;
	int needed = 0;

	error_init(&err);
	if (pack_reader_trailer(pr, id, &t, &n, &err) < 0) {
		log_warn("%s; pack kept (run check)", err.msg);
		return;
	}
	for (i = 0; i < n && !needed; i++)
		needed = idset_has(&up->ref, t[i].id) && !index_lookup(up->ix, t[i].id, NULL, NULL);
	if (needed) {
		index_builder_add_pack(reindex, id, t, n);
		up->p->res->reindexed_packs++;
	} else {
		idset_push(plan, id);
	}
	free(t);
}

static void mark_collect(struct unit_prune *up, struct idset *plan, struct index_builder *reindex)
{
	struct pack_reader *pr = pack_reader_open(up->u);
	struct idset skip = { 0 };
	size_t i;

	plans_remaining(up, &skip);
	for (i = 0; i < up->packs.n; i++) {
		const struct pack_stat *ps = &up->packs.v[i];

		if (ps->used == 0 && !idset_has(&skip, ps->id)) {
			idset_push(plan, ps->id);
		} else if (ps->used && ps->unused_bytes && !idset_has(&up->repacked, ps->id)) {
			up->p->res->partial_packs++;
			up->p->res->partial_waste_bytes += ps->unused_bytes;
		}
	}
	for (i = 0; i < up->disk.n; i++)
		if (!pack_table_find(&up->packs, up->disk.v[i]) && !idset_has(&skip, up->disk.v[i]))
			mark_unindexed(up, up->disk.v[i], pr, plan, reindex);
	idset_sort(plan);
	idset_clear(&skip);
	pack_reader_close(&pr);
}

static int prune_mark(struct unit_prune *up, struct error *err)
{
	struct index_builder *reindex = index_builder_new();
	struct idset plan = { 0 };
	int ret = 0;

	ret = unit_reload(up, err);
	if (ret == 0)
		mark_collect(up, &plan, reindex);
	if (ret == 0 && index_builder_count(reindex) > 0) {
		log_warn("%s: %zu blobs in use were in no index segment; %s", up->name,
			 index_builder_count(reindex), up->p->o->dry_run ? "would index them" :
			 "indexing them again");
		if (!up->p->o->dry_run)
			ret = index_builder_write(reindex, up->u, err);
	}
	if (ret == 0 && plan.n > 0) {
		up->p->res->planned_packs += plan.n;
		log_info("%s: %s%zu unused packs", up->name,
			 up->p->o->dry_run ? "dry run: would plan " : "planned ", plan.n);
		if (!up->p->o->dry_run)
			ret = plan_write(up, &plan, err);
	}
	idset_clear(&plan);
	index_builder_free(&reindex);
	return ret;
}

/* --- one unit ------------------------------------------------------------------ */

/* Steps before any decision: marker, check 1, plans, referenced set.
 * Returns 1 when the unit must be skipped (reported). */
static int prune_prepare(struct unit_prune *up, struct error *err)
{
	struct error ref_err;

	if (!up->p->o->dry_run && writers_mark(up->w, err) < 0)
		return -1;
	if (writers_load(up->w, err) < 0 || plans_load(up, err) < 0 ||
	    unit_open_index(up, err) < 0)
		return -1;
	up->others_open = writers_open(up->w);
	error_init(&ref_err);
	if (ref_compute(up, &ref_err) < 0) {
		log_warn("%s: %s; unit not pruned (nothing is deleted on incomplete information)",
			 up->name, ref_err.msg);
		up->p->res->skipped_units++;
		return 1;
	}
	return unit_load_packs(up, err);
}

static void unit_prune_clear(struct unit_prune *up)
{
	size_t i;

	if (up->w)
		writers_unmark(up->w, "prune");
	for (i = 0; i < up->nplans; i++)
		idset_clear(&up->plans[i].packs);
	free(up->plans);
	writers_destroy(&up->w);
	index_close(&up->ix);
	idset_clear(&up->ref);
	free(up->packs.v);
	idset_clear(&up->disk);
	idset_clear(&up->repacked);
	store_unit_close(&up->u);
}

/* Ends forgets interrupted after their tombstone (docs/format.md 7.1): the
 * manifest left beside it goes. A failure here costs a few hundred bytes,
 * not correctness (readers already treat the point as forgotten), so it is
 * logged and the prune goes on. */
static void prune_finish_forgets(struct unit_prune *up)
{
	struct rp_slot *slots;
	struct error err;
	size_t n, i;

	error_init(&err);
	if (up->p->o->dry_run)
		return;
	if (rp_list_all(up->u, &slots, &n, &err) < 0) {
		log_warn("%s", err.msg);
		return;
	}
	for (i = 0; i < n; i++)
		if (slots[i].forgotten && slots[i].manifest &&
		    rp_forget(up->u, slots[i].seq, &err) < 0) {
			if (err.code == ERROR_LOCKED) /* the server still locks it: next time */
				log_info("%s", err.msg);
			else
				log_warn("%s", err.msg);
		}
	free(slots);
}

static int prune_unit(struct prune *p, const char *name, struct error *err)
{
	struct unit_prune up = { .p = p, .name = name };
	int ret;

	up.u = store_unit_open(p->s, name, 0, err);
	if (up.u == NULL)
		return -1;
	up.w = writers_create(up.u, name, p->timeout);
	prune_finish_forgets(&up);
	ret = prune_prepare(&up, err);
	if (ret == 0)
		ret = prune_sweep(&up, err);
	if (ret == 0)
		ret = prune_tidy(&up, err);
	if (ret == 0)
		ret = prune_repack(&up, err);
	if (ret == 0)
		ret = prune_mark(&up, err);
	unit_prune_clear(&up);
	if (ret < 0)
		return error_prefix(err, "prune of unit %s", name);
	return 0;
}

struct tmp_sweep {
	struct prune *p;
	int64_t now;
	struct error *err;
};

static int sweep_temporary(void *ctx, const char *name)
{
	struct tmp_sweep *ts = ctx;
	char *end, *obj;
	long long born = strtoll(name, &end, 10);
	int ret = 0;

	/* An upload older than any live writer belongs to a dead process. */
	if (end == name || *end != '-' || ts->now - born <= ts->p->timeout)
		return 0;
	ts->p->res->deleted_temporaries++;
	if (ts->p->o->dry_run)
		return 0;
	obj = xasprintf("tmp/%s", name);
	ret = backend_remove(ts->p->be, obj, ts->err);
	free(obj);
	if (ret < 0 && ts->err->code == ERROR_LOCKED) { /* the server locks it: next time */
		log_info("%s; left for a later prune", ts->err->msg);
		error_init(ts->err);
		ts->p->res->deleted_temporaries--;
		ret = 0;
	}
	return ret;
}

/* Removes temporaries of uploads that were interrupted (tmp/, docs/prune.md). */
static int prune_temporaries(struct prune *p, struct error *err)
{
	struct tmp_sweep ts = { .p = p, .now = (int64_t)time(NULL), .err = err };

	return backend_list(p->be, "tmp", sweep_temporary, &ts, err);
}

int prune_run(struct store *s, const struct prune_opts *o, struct prune_result *res,
	      struct error *err)
{
	struct prune p = { .s = s, .be = store_backend(s), .o = o, .res = res };
	char **names;
	size_t n, i;
	int failed = 0;

	memset(res, 0, sizeof(*res));
	p.grace = o->grace_seconds < 0 ? DEFAULT_GRACE : o->grace_seconds;
	p.timeout = o->writer_timeout <= 0 ? DEFAULT_TIMEOUT : o->writer_timeout;
	/* A dry run reads only; everything else is the deletion path. */
	if (!o->dry_run && !store_deletion_unlocked(s))
		return error_setk(err, ERROR_KEY, "pruning needs the store's deletion key "
				  "(--deletion-key-file); the store key alone cannot delete");
	if (!o->dry_run && !(p.be->flags & BACKEND_ALLOW_DELETE))
		return error_setk(err, ERROR_USAGE, "prune needs the store %s opened for deletion",
				  store_path(s));
	if (store_unit_names(s, &names, &n, err) < 0)
		return error_prefix(err, "prune of %s", store_path(s));
	for (i = 0; i < n; i++) {
		struct error uerr;

		error_init(&uerr);
		/* One unit's failure does not stop the others; the first is returned. */
		if (prune_unit(&p, names[i], &uerr) < 0) {
			if (failed++ == 0)
				*err = uerr;
			else
				log_error("%s", uerr.msg);
		}
		free(names[i]);
	}
	free(names);
	if (!failed && prune_temporaries(&p, err) < 0)
		failed = 1;
	return failed ? -1 : 0;
}
