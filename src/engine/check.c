/* Verifies a store, unit by unit: the restore point chain, the index
 * against the packs on disk, with read_data every blob, and then every
 * restore point's metadata and files against what was found, so that each
 * problem names the point and the file it damages. A problem is reported
 * and counted, and the check goes on. */
#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/erasure.h"
#include "engine/meta.h"
#include "engine/tree.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/hex.h"
#include "lib/idarray.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/progress.h"
#include "store/backend.h"
#include "store/deletion.h"
#include "store/index.h"
#include "store/pack.h"
#include "store/rp.h"
#include "store/store.h"

#define CHECK_PACK_MAX ((size_t)256 << 20)

/* A sorted set of pack ids with a count each. */
struct pack_item {
	uint8_t id[32];
	uint64_t n;
};

struct pack_set {
	struct pack_item *v;
	size_t n, cap;
};

/* A blob found bad in one pack, and why. */
struct bad_blob {
	uint8_t id[32];
	uint8_t pack[32];
	char *why;
};

/* An index entry with its pack, for reading pack by pack. */
struct located {
	uint32_t pack; /* into the unit's pack_set of indexed packs */
	struct pack_entry e;
};

struct check {
	struct store *s;
	const struct check_opts *o;
	struct check_result *res;
	struct progress prog;
	uint64_t items, bytes;
};

struct unit_check {
	struct check *c;
	const char *name;
	struct store_unit *u;
	struct rp **points; /* those that could be read */
	size_t npoints;
	struct index *ix;
	struct pack_set disk, indexed;
	int list_failed; /* some pack folder could not be listed */
	struct bad_blob *bad;
	size_t nbad, capbad;
	struct located *loc;
	size_t nloc, caploc;
	struct erasure_set *es; /* the unit's erasure ledger; NULL if unreadable */
};

static void check_problem(struct check *c, const char *unit, uint32_t seq, const char *path,
			  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void check_problem(struct check *c, const char *unit, uint32_t seq, const char *path,
			  const char *fmt, ...)
{
	char msg[ERROR_MSG_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->res->problems++;
	if (c->o->report)
		c->o->report(c->o->ctx, unit, seq, path, msg);
	else if (seq)
		log_error("%s@%u%s%s: %s", unit, seq, path ? ": " : "", path ? path : "", msg);
	else
		log_error("%s: %s", unit, msg);
}

/* --- pack sets ---------------------------------------------------------- */

static struct pack_item *pack_set_find(const struct pack_set *ps, const uint8_t id[32])
{
	return idarray_find(ps->v, ps->n, sizeof(*ps->v), id);
}

/* Finds or inserts (kept sorted: packs are few next to blobs). */
static struct pack_item *pack_set_add(struct pack_set *ps, const uint8_t id[32])
{
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? ps->cap * 2 : 64;
		ps->v = xrealloc(ps->v, xmul(ps->cap, sizeof(*ps->v)));
	}
	return idarray_add(ps->v, &ps->n, sizeof(*ps->v), id);
}

/* --- bad blobs ---------------------------------------------------------- */

static void bad_add(struct unit_check *uc, const uint8_t id[32], const uint8_t pack[32],
		    const char *why)
{
	if (uc->nbad == uc->capbad) {
		uc->capbad = uc->capbad ? uc->capbad * 2 : 64;
		uc->bad = xrealloc(uc->bad, xmul(uc->capbad, sizeof(*uc->bad)));
	}
	memcpy(uc->bad[uc->nbad].id, id, 32);
	memcpy(uc->bad[uc->nbad].pack, pack, 32);
	uc->bad[uc->nbad++].why = xstrdup(why);
}

static int bad_cmp(const void *a, const void *b)
{
	const struct bad_blob *x = a, *y = b;
	int c = memcmp(x->id, y->id, 32);

	return c ? c : memcmp(x->pack, y->pack, 32);
}

/* Why the blob `id` of a restore point cannot be read, or NULL: it must be
 * indexed, and the copy that the index points to must not be bad. */
static const char *blob_problem(const struct unit_check *uc, const uint8_t id[32])
{
	struct bad_blob key, *b;
	const uint8_t *pack;

	if (!index_lookup(uc->ix, id, NULL, &pack))
		return "is not in the index";
	memcpy(key.id, id, 32);
	memcpy(key.pack, pack, 32);
	b = uc->nbad ? bsearch(&key, uc->bad, uc->nbad, sizeof(key), bad_cmp) : NULL;
	return b ? b->why : NULL;
}

/* --- restore point chain ------------------------------------------------ */

static void chain_gap(struct unit_check *uc, uint32_t from, uint32_t to)
{
	if (from == to)
		check_problem(uc->c, uc->name, from, NULL,
			      "restore point %u is missing (removed?)", from);
	else
		check_problem(uc->c, uc->name, 0, NULL,
			      "restore points %u to %u are missing (removed?)", from, to);
}

/* One link of the chain: point or tombstone `seq` names `parent` (if
 * has_parent); prev_hash is the hash of seq-1 if known (read, or recorded
 * by its tombstone), else NULL (then the link is unknown). */
static void chain_link(struct unit_check *uc, uint32_t seq, const uint8_t *parent,
		       int has_parent, const uint8_t *prev_hash, const char *what)
{
	if (seq == 1) {
		if (has_parent)
			check_problem(uc->c, uc->name, 1, NULL,
				      "%s 1 names a parent (earlier points removed?)", what);
		return;
	}
	if (!has_parent || (prev_hash && memcmp(parent, prev_hash, 32) != 0))
		check_problem(uc->c, uc->name, seq, NULL,
			      "%s %u does not chain to %u (altered or replaced?)", what, seq,
			      seq - 1);
}

/* A forgotten point: its tombstone must authenticate, sit in its place and
 * chain; what it records is then the link to the next point. 0 if it did. */
static int chain_tombstone(struct unit_check *uc, uint32_t seq, const uint8_t *prev_hash,
			   uint8_t hash_r[32])
{
	struct rp_tombstone *t = NULL;
	struct error err;

	error_init(&err);
	uc->c->res->forgotten_points++;
	if (rp_tombstone_read(uc->u, seq, &t, &err) < 0) {
		check_problem(uc->c, uc->name, seq, NULL, "%s", err.msg);
		uc->c->res->damaged_points++;
		return -1;
	}
	chain_link(uc, seq, t->parent, t->has_parent, prev_hash, "forgotten restore point");
	/* Only the deletion key forgets (docs/format.md 7.1): a tombstone it
	 * did not sign was written with the store key alone. */
	if (rp_tombstone_verify(uc->u, t, &err) < 0) {
		if (err.code != ERROR_NOTFOUND)
			check_problem(uc->c, uc->name, seq, NULL, "%s", err.msg);
		else if (t->has_signature)
			check_problem(uc->c, uc->name, seq, NULL, "the tombstone is signed but the "
				      "store has no deletion key to verify it (deletion-key removed?)");
	}
	memcpy(hash_r, t->hash, 32);
	rp_tombstone_free(&t);
	return 0;
}

/* Every record of the unit's deletion log must authenticate and carry the
 * deletion key's signature (docs/format.md 10). */
static void check_records(struct unit_check *uc, int erasures)
{
	struct store_deletion *d = NULL;
	struct error err;
	char **names = NULL;
	size_t n = 0, i;
	int r;

	error_init(&err);
	r = erasures ? store_erasures_list(uc->u, &names, &n, &err)
		     : store_deletions_list(uc->u, &names, &n, &err);
	if (r < 0) {
		check_problem(uc->c, uc->name, 0, NULL, "cannot list the %s: %s",
			      erasures ? "erasure ledger" : "deletion log", err.msg);
		return;
	}
	for (i = 0; i < n; i++) {
		error_init(&err);
		r = erasures ? store_erasure_read(uc->u, names[i], &d, &err)
			     : store_deletion_read(uc->u, names[i], &d, &err);
		if (r < 0)
			check_problem(uc->c, uc->name, 0, NULL, "%s", err.msg);
		else
			uc->c->res->deletion_records++;
		store_deletion_free(&d);
		free(names[i]);
	}
	free(names);
}

/* ... and so must every record of its erasure ledger (10.1): a record the
 * deletion key did not sign would hide content from every restore. */
static void check_deletions(struct unit_check *uc)
{
	check_records(uc, 0);
	check_records(uc, 1);
}

static void check_chain(struct unit_check *uc)
{
	struct rp_slot *slots = NULL;
	uint32_t expect = 1;
	uint8_t prev_hash[32];
	int have_prev = 0;
	struct error err;
	size_t n, i;

	error_init(&err);
	if (rp_list_all(uc->u, &slots, &n, &err) < 0) {
		check_problem(uc->c, uc->name, 0, NULL, "cannot list restore points: %s", err.msg);
		return;
	}
	uc->points = xcalloc(n ? n : 1, sizeof(*uc->points));
	for (i = 0; i < n; i++) {
		uint32_t seq = slots[i].seq;
		struct rp *rp = NULL;

		if (seq > expect) {
			chain_gap(uc, expect, seq - 1);
			have_prev = 0;
		}
		expect = seq + 1;
		if (slots[i].forgotten) {
			/* A manifest left beside its tombstone is an unfinished
			 * forget (the next forget or prune ends it), not damage. */
			have_prev = chain_tombstone(uc, seq, have_prev ? prev_hash : NULL,
						    prev_hash) == 0;
			continue;
		}
		uc->c->res->restore_points++;
		if (rp_read(uc->u, seq, &rp, &err) < 0) {
			check_problem(uc->c, uc->name, seq, NULL, "%s", err.msg);
			uc->c->res->damaged_points++;
			have_prev = 0;
			continue;
		}
		chain_link(uc, seq, rp->parent, rp->has_parent, have_prev ? prev_hash : NULL,
			   "restore point");
		uc->points[uc->npoints++] = rp;
		memcpy(prev_hash, rp->hash, 32);
		have_prev = 1;
	}
	free(slots);
}

/* --- packs on disk and in the index ------------------------------------- */

struct list_ctx {
	struct unit_check *uc;
	const char *dir; /* 2 hex */
};

static int list_pack(void *ctx, const char *name)
{
	struct list_ctx *lc = ctx;
	uint8_t id[32];

	if (strlen(name) != 64 || strncmp(name, lc->dir, 2) != 0 || hex_decode(name, 64, id, 32) < 0) {
		check_problem(lc->uc->c, lc->uc->name, 0, NULL,
			      "unexpected object packs/%s/%s", lc->dir, name);
		return 0;
	}
	pack_set_add(&lc->uc->disk, id);
	return 0;
}

static int list_pack_dir(void *ctx, const char *name)
{
	struct unit_check *uc = ctx;
	struct list_ctx lc = { .uc = uc, .dir = name };
	char *rel = xasprintf("packs/%s", name), *dir = store_unit_path(uc->u, rel);
	struct error err;
	uint8_t byte;

	error_init(&err);
	if (strlen(name) != 2 || hex_decode(name, 2, &byte, 1) < 0) {
		check_problem(uc->c, uc->name, 0, NULL, "unexpected object packs/%s", name);
	} else if (backend_list(store_backend(store_unit_store(uc->u)), dir, list_pack, &lc,
				&err) < 0) {
		check_problem(uc->c, uc->name, 0, NULL, "%s", err.msg);
		uc->list_failed = 1;
	}
	free(rel);
	free(dir);
	return 0;
}

/* Lists the packs on disk; -1 (reported) if the list is incomplete, since
 * packs would then look missing. */
static int list_disk_packs(struct unit_check *uc)
{
	char *dir = store_unit_path(uc->u, "packs");
	struct error err;

	error_init(&err);
	if (backend_list(store_backend(store_unit_store(uc->u)), dir, list_pack_dir, uc, &err) < 0) {
		check_problem(uc->c, uc->name, 0, NULL, "%s", err.msg);
		uc->list_failed = 1;
	}
	free(dir);
	uc->c->res->packs += uc->disk.n;
	if (uc->list_failed)
		check_problem(uc->c, uc->name, 0, NULL,
			      "the packs could not be listed; no blob was checked");
	return uc->list_failed ? -1 : 0;
}

static int count_indexed(void *ctx, const uint8_t pack_id[32], const struct pack_entry *e)
{
	struct unit_check *uc = ctx;

	(void)e;
	pack_set_add(&uc->indexed, pack_id)->n++;
	return 0;
}

/* Index entries of missing packs are bad blobs; with read_data, the
 * others are collected to be read pack by pack. */
static int locate_entry(void *ctx, const uint8_t pack_id[32], const struct pack_entry *e)
{
	struct unit_check *uc = ctx;
	struct pack_item *p = pack_set_find(&uc->indexed, pack_id);

	if (!pack_set_find(&uc->disk, pack_id)) {
		char hex[65], *why;

		hex_encode(pack_id, 32, hex);
		why = xasprintf("is in pack %.16s, which is missing", hex);
		bad_add(uc, e->id, pack_id, why);
		free(why);
		return 0;
	}
	if (!uc->c->o->read_data ||
	    !check_pack_in_slice(pack_id, uc->c->o->slices, uc->c->o->slice))
		return 0;
	if (uc->nloc == uc->caploc) {
		uc->caploc = uc->caploc ? uc->caploc * 2 : 4096;
		uc->loc = xrealloc(uc->loc, xmul(uc->caploc, sizeof(*uc->loc)));
	}
	uc->loc[uc->nloc].pack = (uint32_t)(p - uc->indexed.v);
	uc->loc[uc->nloc++].e = *e;
	return 0;
}

static void report_missing_packs(struct unit_check *uc)
{
	uint64_t unindexed = 0;
	char hex[65];
	size_t i;

	for (i = 0; i < uc->indexed.n; i++) {
		if (pack_set_find(&uc->disk, uc->indexed.v[i].id))
			continue;
		hex_encode(uc->indexed.v[i].id, 32, hex);
		check_problem(uc->c, uc->name, 0, NULL,
			      "pack %s is missing (%llu indexed blobs)", hex,
			      (unsigned long long)uc->indexed.v[i].n);
	}
	for (i = 0; i < uc->disk.n; i++)
		unindexed += pack_set_find(&uc->indexed, uc->disk.v[i].id) == NULL;
	uc->c->res->unindexed_packs += unindexed;
	if (unindexed && !uc->c->o->quiet)
		log_info("%s: %llu packs are not indexed: left by an interrupted backup "
			 "(not a problem; prune removes them)", uc->name,
			 (unsigned long long)unindexed);
}

static int check_index(struct unit_check *uc)
{
	uc->c->res->blobs += index_entry_count(uc->ix);
	index_foreach(uc->ix, count_indexed, uc);
	report_missing_packs(uc);
	return index_foreach(uc->ix, locate_entry, uc);
}

/* --- reading every blob ------------------------------------------------- */

static int located_cmp(const void *a, const void *b)
{
	const struct located *x = a, *y = b;

	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return (x->e.offset > y->e.offset) - (x->e.offset < y->e.offset);
}

static int entry_cmp_id(const void *a, const void *b)
{
	return memcmp(((const struct pack_entry *)a)->id, ((const struct pack_entry *)b)->id, 32);
}

/* Every index entry of the pack must be in its trailer, at the same place. */
static void compare_trailer(struct unit_check *uc, struct pack_reader *pr, const uint8_t pack[32],
			    const struct located *loc, size_t n)
{
	struct pack_entry *t = NULL, *hit;
	size_t nt, i, wrong = 0;
	struct error err;
	char hex[65];

	hex_encode(pack, 32, hex);
	error_init(&err);
	if (pack_reader_trailer(pr, pack, &t, &nt, &err) < 0) {
		check_problem(uc->c, uc->name, 0, NULL, "%s", err.msg);
		return;
	}
	qsort(t, nt, sizeof(*t), entry_cmp_id);
	for (i = 0; i < n; i++) {
		hit = nt ? bsearch(&loc[i].e, t, nt, sizeof(*t), entry_cmp_id) : NULL;
		wrong += hit == NULL || hit->offset != loc[i].e.offset ||
			 hit->len_flags != loc[i].e.len_flags || hit->raw_len != loc[i].e.raw_len;
	}
	if (wrong)
		check_problem(uc->c, uc->name, 0, NULL,
			      "%zu index entries disagree with the trailer of pack %s", wrong, hex);
	free(t);
}

static void verify_blob(struct unit_check *uc, struct pack_reader *pr, const uint8_t pack[32],
			const struct buf *data, const struct pack_entry *e, struct buf *out)
{
	uint64_t end = (uint64_t)e->offset + BLOB_LEN(e->len_flags);
	struct error err;
	char hex[65], *what;

	hex_encode(pack, 32, hex);
	if (end > data->len) {
		what = xasprintf("is past the end of pack %.16s (truncated?)", hex);
		bad_add(uc, e->id, pack, what);
		free(what);
		return;
	}
	what = xasprintf("in pack %.16s", hex);
	error_init(&err);
	if (pack_reader_blob(pr, pack, e, data->data + e->offset, 1, out, what, &err) < 0)
		bad_add(uc, e->id, pack, err.msg);
	free(what);
}

struct pack_check {
	struct pack_reader *pr;
	const uint8_t *pack;
	const char *name;
};

static int pack_check_cb(void *ctx, const uint8_t *data, size_t len, struct error *err)
{
	struct pack_check *pc = ctx;

	return pack_verify_whole(pc->pr, pc->pack, data, len, pc->name, err);
}

/* Reads one pack whole (checked to be the pack its name says, else read
 * again or from an older version) and verifies each of its indexed blobs. */
static void check_pack(struct unit_check *uc, struct pack_reader *pr, const struct located *loc,
		       size_t n, struct buf *data, struct buf *out)
{
	const uint8_t *pack = uc->indexed.v[loc[0].pack].id;
	char *name = pack_name(uc->u, pack);
	struct error err;
	size_t i;

	struct pack_check pc = { pr, pack, name };

	buf_reset(data);
	error_init(&err);
	if (backend_get_verified(store_backend(store_unit_store(uc->u)), name, data, CHECK_PACK_MAX,
				 pack_check_cb, &pc, &err) < 0) {
		check_problem(uc->c, uc->name, 0, NULL, "%s", err.msg);
		for (i = 0; i < n; i++)
			bad_add(uc, loc[i].e.id, pack, "is in a pack that cannot be read");
	} else {
		for (i = 0; i < n; i++)
			verify_blob(uc, pr, pack, data, &loc[i].e, out);
		compare_trailer(uc, pr, pack, loc, n);
	}
	uc->c->bytes += data->len;
	uc->c->res->packs_read++;
	uc->c->res->bytes_read += data->len;
	progress_update(&uc->c->prog, ++uc->c->items, uc->c->bytes);
	free(name);
}

static void check_read_data(struct unit_check *uc)
{
	struct pack_reader *pr = pack_reader_open(uc->u);
	struct buf data, out;
	size_t i, j;

	buf_init(&data, 0);
	buf_init(&out, 0);
	if (uc->nloc > 1) /* none: a unit whose first backup died (qsort takes no NULL) */
		qsort(uc->loc, uc->nloc, sizeof(*uc->loc), located_cmp);
	for (i = 0; i < uc->nloc; i = j) {
		for (j = i + 1; j < uc->nloc && uc->loc[j].pack == uc->loc[i].pack; j++)
			;
		check_pack(uc, pr, &uc->loc[i], j - i, &data, &out);
	}
	buf_clear(&data);
	buf_clear(&out);
	pack_reader_close(&pr);
}

/* --- restore points against the blobs ----------------------------------- */

/* 1 if some metadata blob of the point is unusable (each is reported). */
static int check_point_meta(struct unit_check *uc, const struct rp *rp)
{
	uint8_t (*ids)[32] = NULL;
	struct error err;
	const char *why;
	char hex[65];
	size_t n, i;
	int damaged = 0;

	error_init(&err);
	if (tree_meta_blobs(uc->u, uc->ix, rp, &ids, &n, &err) < 0) {
		check_problem(uc->c, uc->name, rp->seq, NULL, "%s", err.msg);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if ((why = blob_problem(uc, ids[i])) == NULL)
			continue;
		hex_encode(ids[i], 32, hex);
		check_problem(uc->c, uc->name, rp->seq, NULL, "metadata damaged: blob %.16s %s", hex,
			      why);
		damaged = 1;
	}
	free(ids);
	return damaged;
}

/* 1 if the file has an unusable blob (reported with the first one). */
static int check_file(struct unit_check *uc, const struct rp *rp, const struct meta_entry *e)
{
	static const uint8_t zero[32];
	const char *why = NULL, *w;
	const uint8_t *first = NULL;
	size_t i, nbad = 0;
	char hex[65];

	for (i = 0; i < e->nextents; i++) {
		if (memcmp(e->extents[i].id, zero, 32) == 0 ||
		    (w = blob_problem(uc, e->extents[i].id)) == NULL)
			continue;
		if (nbad++ == 0) {
			why = w;
			first = e->extents[i].id;
		}
	}
	if (nbad == 0)
		return 0;
	hex_encode(first, 32, hex);
	if (nbad == 1)
		check_problem(uc->c, uc->name, rp->seq, e->path,
			      "file content damaged: blob %.16s %s", hex, why);
	else
		check_problem(uc->c, uc->name, rp->seq, e->path,
			      "file content damaged: blob %.16s %s (and %zu more blobs)", hex, why,
			      nbad - 1);
	uc->c->res->damaged_files++;
	return 1;
}

static void check_point(struct unit_check *uc, const struct rp *rp)
{
	struct tree_reader *tr;
	struct meta_entry *e;
	struct error err;
	int damaged, r = -1;

	error_init(&err);
	damaged = check_point_meta(uc, rp);
	tr = damaged ? NULL : tree_reader_open(uc->u, uc->ix, rp, &err);
	if (tr != NULL) {
		tree_reader_withhold(tr, uc->es, 1);
		while ((r = tree_reader_next(tr, &e, &err)) == 1) {
			/* No reader lets a withheld entry's content out, and
			 * compaction removes it on purpose (docs/prune.md
			 * "Compaction"): its blobs may be gone. */
			if (tree_reader_withheld(tr) == NULL)
				damaged |= check_file(uc, rp, e);
			progress_update(&uc->c->prog, ++uc->c->items, uc->c->bytes);
		}
		tree_reader_close(&tr);
	}
	if (!damaged && r < 0) {
		check_problem(uc->c, uc->name, rp->seq, NULL, "%s", err.msg);
		damaged = 1;
	}
	uc->c->res->damaged_points += damaged;
}

/* --- one unit ------------------------------------------------------------ */

static void skip_segment(void *ctx, const char *name, const struct error *err)
{
	struct unit_check *uc = ctx;

	check_problem(uc->c, uc->name, 0, NULL, "index segment %s left out (its blobs look "
		      "missing): %s", name, err->msg);
}

static void check_blobs(struct unit_check *uc)
{
	struct error err;
	size_t i;

	error_init(&err);
	uc->ix = index_open_tolerant(uc->u, skip_segment, uc, &err);
	if (uc->ix == NULL) {
		check_problem(uc->c, uc->name, 0, NULL, "%s; no blob could be checked", err.msg);
		uc->c->res->damaged_points += uc->npoints;
		return;
	}
	if (list_disk_packs(uc) < 0)
		return;
	/* A ledger that does not verify is reported by check_records();
	 * then every entry is checked. */
	if (erasure_set_load(uc->u, &uc->es, &err) < 0)
		error_init(&err);
	check_index(uc);
	if (uc->c->o->read_data)
		check_read_data(uc);
	if (uc->nbad)
		qsort(uc->bad, uc->nbad, sizeof(*uc->bad), bad_cmp);
	for (i = 0; i < uc->npoints; i++)
		check_point(uc, uc->points[i]);
}

static void unit_check_clear(struct unit_check *uc)
{
	size_t i;

	for (i = 0; i < uc->npoints; i++)
		rp_free(&uc->points[i]);
	free(uc->points);
	for (i = 0; i < uc->nbad; i++)
		free(uc->bad[i].why);
	free(uc->bad);
	free(uc->disk.v);
	free(uc->indexed.v);
	free(uc->loc);
	erasure_set_free(&uc->es);
	index_close(&uc->ix);
	store_unit_close(&uc->u);
}

static void check_unit(struct check *c, const char *name)
{
	struct unit_check uc = { .c = c, .name = name };
	struct error err;

	error_init(&err);
	c->res->units++;
	uc.u = store_unit_open(c->s, name, 0, &err);
	if (uc.u == NULL) {
		check_problem(c, name, 0, NULL, "%s", err.msg);
		return;
	}
	check_chain(&uc);
	check_deletions(&uc);
	check_blobs(&uc);
	unit_check_clear(&uc);
}

/* Objects read from an older version because their newest one did not
 * verify: someone with write access put a new version over them. The data
 * is whole (the locked older version); the store was tampered with. */
static void check_overwritten(struct check *c)
{
	struct backend *be = store_backend(c->s);
	char **names, *what, *msg;
	size_t n, i;

	n = backend_overwritten(be, &names);
	for (i = 0; i < n; i++) {
		what = backend_describe(be, names[i]);
		msg = xasprintf("%s was overwritten: its newest version does not verify; its older "
				"version that does was read (the store's data is whole, but someone "
				"who can write to it put a new version over this object)", what);
		c->res->overwritten++;
		if (c->o->warning)
			c->o->warning(c->o->ctx, "", 0, NULL, msg);
		free(msg);
		free(what);
		free(names[i]);
	}
	free(names);
}

int check_pack_in_slice(const uint8_t id[32], uint32_t slices, uint32_t slice)
{
	uint64_t v = 0;

	if (slices <= 1)
		return 1;
	for (int i = 0; i < 8; i++)
		v = v << 8 | id[i];
	return v % slices == slice;
}

int check_run(struct store *s, const struct check_opts *o, struct check_result *res,
	      struct error *err)
{
	struct check c = { .s = s, .o = o, .res = res };
	char **names;
	size_t n, i;

	memset(res, 0, sizeof(*res));
	if (o->slices > 1 && o->slice >= o->slices)
		return error_setk(err, ERROR_USAGE, "check: slice %u of %u does not exist", o->slice,
				  o->slices);
	if (o->unit) {
		progress_init(&c.prog, "check", 0, o->quiet);
		check_unit(&c, o->unit);
		progress_done(&c.prog);
		check_overwritten(&c);
		return 0;
	}
	if (store_unit_names(s, &names, &n, err) < 0) {
		/* One damaged unit key hides every unit's name: that is damage to
		 * report, not a failure to run. */
		if (err->code != ERROR_CORRUPT && err->code != ERROR_NOTFOUND)
			return error_prefix(err, "check of %s: cannot list the units", store_path(s));
		check_problem(&c, "", 0, NULL, "cannot list the units (no unit was checked): %s",
			      err->msg);
		return 0;
	}
	progress_init(&c.prog, "check", 0, o->quiet);
	for (i = 0; i < n; i++) {
		check_unit(&c, names[i]);
		free(names[i]);
	}
	free(names);
	progress_done(&c.prog);
	check_overwritten(&c);
	return 0;
}
