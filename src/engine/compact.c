/* Compaction: packs that hold erased blobs are rewritten without them
 * (docs/prune.md "Compaction", docs/privacy.md 3). Per unit with erasure
 * records: our writer marker and writer check 1, the erased blobs from
 * every restore point, the candidate packs, the still-needed blobs copied
 * into new packs and indexed, the old packs dropped from the index, writer
 * check 2, a deletion record, and last the old packs deleted. A crash at
 * any step leaves every point restorable; the next run finishes. */
#include "compact.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/blobrefs.h"
#include "engine/erasure.h"
#include "engine/idset.h"
#include "engine/meta.h"
#include "engine/packcopy.h"
#include "engine/writers.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "store/backend.h"
#include "store/deletion.h"
#include "store/index.h"
#include "store/pack.h"
#include "store/rp.h"
#include "store/store.h"

#define DEFAULT_TIMEOUT 86400

/* --- state ------------------------------------------------------------------ */

/* A pack that holds an erased blob. */
struct cand {
	uint8_t id[32];
	int indexed, on_disk;
	struct pack_entry *t; /* its trailer */
	size_t nt;
	uint64_t size;
};

struct compact {
	struct store *s;
	struct backend *be;
	const struct compact_opts *o;
	int64_t timeout;
};

struct unit_compact {
	struct compact *c;
	struct compact_unit_result *r;
	const char *name;
	struct store_unit *u;
	struct writers *w;       /* our marker (none in a dry run), check 1 */
	uint32_t latest;         /* the newest live point at check 1; 0: none */
	struct erasure_set *es;
	struct index *ix;
	struct idset keep;       /* blobs a restore point still needs */
	struct idset erased;     /* blobs only withheld entries use */
	struct idset indexed;    /* packs the index lists */
	struct idset disk;       /* packs on disk */
	struct cand *cand;
	size_t ncand;
	struct idset cand_ids;
	struct idset copy;       /* blobs of candidates to copy into new packs */
	struct packcopy_result pc; /* the new packs */
};

/* The newest live point: the parent of the unit's next backup. */
static int latest_point(struct unit_compact *uc, uint32_t *seq_r, struct error *err)
{
	uint32_t *seqs = NULL;
	size_t n;

	if (rp_list(uc->u, &seqs, &n, err) < 0)
		return -1;
	*seq_r = n > 0 ? seqs[n - 1] : 0;
	free(seqs);
	return 0;
}

/* --- the erased blobs ----------------------------------------------------------- */

/* Where the extents of a withheld entry go. In the newest point, an entry
 * withheld only up to a cutoff (a path pattern) is kept: the next backup
 * copies its parent's extents for a file it finds unchanged without
 * reading it again, and that new point's file is not withheld. An entry
 * withheld by its content key is withheld in every point, later ones too. */
static struct idset *withheld_into(struct unit_compact *uc, uint32_t seq,
				   const struct meta_entry *e, struct idset *gone)
{
	if (seq == uc->latest && erasure_set_match(uc->es, e, INT64_MAX) == NULL)
		return &uc->keep;
	return gone;
}

struct sets_ctx {
	struct unit_compact *uc;
	struct idset gone;      /* blobs of withheld entries */
};

/* A point's blob goes to keep (metadata, entries shown) or gone (entries
 * withheld); holes go nowhere. */
static void sets_note(void *ctx, uint32_t seq, const uint8_t id[32], const struct meta_entry *e,
		      int withheld)
{
	static const uint8_t zero[32];
	struct sets_ctx *sc = ctx;

	if (e == NULL)
		idset_push(&sc->uc->keep, id);
	else if (memcmp(id, zero, 32) != 0)
		idset_push(withheld ? withheld_into(sc->uc, seq, e, &sc->gone) : &sc->uc->keep, id);
}

/* erased = blobs of withheld entries that no shown entry and no metadata
 * of any point with a manifest uses (prune's referenced set, split). Fails
 * if any part of a point cannot be read. */
static int sets_compute(struct unit_compact *uc, struct error *err)
{
	static const struct blobrefs_ops ops = { .blob = sets_note };
	struct sets_ctx sc = { .uc = uc };
	size_t i;
	int ret;

	ret = blobrefs_walk(uc->u, uc->ix, uc->es, &ops, &sc, err);
	idset_sort(&uc->keep);
	idset_sort(&sc.gone);
	for (i = 0; ret == 0 && i < sc.gone.n; i++)
		if (!idset_has(&uc->keep, sc.gone.v[i]))
			idset_push(&uc->erased, sc.gone.v[i]);
	idset_sort(&uc->erased);
	idset_clear(&sc.gone);
	return ret;
}

/* --- candidate packs ---------------------------------------------------------------- */

static int collect_pack(void *ctx, const uint8_t pack_id[32])
{
	idset_push(&((struct unit_compact *)ctx)->disk, pack_id);
	return 0;
}

static int list_disk_packs(struct unit_compact *uc, struct error *err)
{
	int ret = pack_list(uc->u, collect_pack, uc, err);

	idset_sort(&uc->disk);
	return ret;
}

static void cand_add(struct unit_compact *uc, const uint8_t id[32], int indexed)
{
	struct cand *c;

	uc->cand = xrealloc(uc->cand, xmul(uc->ncand + 1, sizeof(*uc->cand)));
	c = &uc->cand[uc->ncand++];
	memset(c, 0, sizeof(*c));
	memcpy(c->id, id, 32);
	c->indexed = indexed;
	c->on_disk = idset_has(&uc->disk, id);
	idset_push(&uc->cand_ids, id);
}

static int note_indexed(void *ctx, const uint8_t pack_id[32], const struct pack_entry *e)
{
	struct unit_compact *uc = ctx;

	idset_push(&uc->indexed, pack_id);
	if (idset_has(&uc->erased, e->id))
		idset_push(&uc->cand_ids, pack_id); /* sorted into candidates below */
	return 0;
}

static int trailer_has_erased(struct unit_compact *uc, const struct pack_entry *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (idset_has(&uc->erased, t[i].id))
			return 1;
	return 0;
}

/* Indexed packs that list an erased blob, and packs on disk the index does
 * not list (left by a compaction that crashed after its index) whose
 * trailer holds one. A candidate whose trailer cannot be read is left
 * alone (check reports it). */
static void find_candidates(struct unit_compact *uc, struct pack_reader *pr)
{
	struct idset hit = { 0 };
	struct error err;
	size_t i, n;

	index_foreach(uc->ix, note_indexed, uc);
	idset_sort(&uc->indexed);
	idset_sort(&uc->cand_ids);
	hit = uc->cand_ids;
	memset(&uc->cand_ids, 0, sizeof(uc->cand_ids));
	for (i = 0; i < hit.n; i++)
		cand_add(uc, hit.v[i], 1);
	for (i = 0; i < uc->disk.n; i++)
		if (!idset_has(&uc->indexed, uc->disk.v[i]))
			cand_add(uc, uc->disk.v[i], 0);
	idset_clear(&hit);
	for (i = n = 0; i < uc->ncand; i++) {
		struct cand *c = &uc->cand[i];

		error_init(&err);
		if (!c->on_disk || pack_reader_trailer(pr, c->id, &c->t, &c->nt, &err) < 0) {
			if (c->on_disk || c->indexed)
				log_warn("%s: %s; pack left as it is (run check)", uc->name,
					 c->on_disk ? err.msg : "an indexed pack is missing");
			free(c->t);
			continue;
		}
		if (!c->indexed && !trailer_has_erased(uc, c->t, c->nt)) {
			free(c->t);
			continue;
		}
		uc->cand[n++] = *c;
	}
	uc->ncand = n;
	uc->cand_ids.n = 0;
	for (i = 0; i < n; i++)
		idset_push(&uc->cand_ids, uc->cand[i].id);
	idset_sort(&uc->cand_ids);
}

/* copy = blobs of candidates that a point needs and no pack that stays
 * lists; counts what goes. */
static void plan_copies(struct unit_compact *uc)
{
	struct packcopy_src *src = xcalloc(uc->ncand + 1, sizeof(*src));
	size_t i;

	for (i = 0; i < uc->ncand; i++)
		src[i] = (struct packcopy_src){ uc->cand[i].id, uc->cand[i].t, uc->cand[i].nt };
	packcopy_plan(uc->ix, src, uc->ncand, &uc->cand_ids, &uc->keep, &uc->copy,
		      &uc->r->blobs_dropped);
	free(src);
}

/* --- copying -------------------------------------------------------------------------- */

/* New packs holding every blob of `copy`, and an index segment listing
 * them (engine/packcopy.c). */
static int copy_blobs(struct unit_compact *uc, struct error *err)
{
	struct packcopy_src *src = xcalloc(uc->ncand + 1, sizeof(*src));
	size_t i;
	int ret;

	for (i = 0; i < uc->ncand; i++)
		src[i] = (struct packcopy_src){ uc->cand[i].id, uc->cand[i].t, uc->cand[i].nt };
	ret = packcopy_run(uc->u, uc->c->be, src, uc->ncand, &uc->copy, &uc->pc, err);
	uc->r->blobs_copied = uc->pc.blobs;
	uc->r->new_packs = uc->pc.new_packs;
	free(src);
	return ret;
}

/* --- dropping the old packs --------------------------------------------------------- */

static int keep_not_candidate(void *ctx, const uint8_t pack_id[32])
{
	return !idset_has(&((struct unit_compact *)ctx)->cand_ids, pack_id);
}

/* A writer open or new since check 1, or a point added or forgotten since
 * (the newest point is the next backup's parent): 0, nothing may go. */
static int recheck(struct unit_compact *uc, struct error *err)
{
	uint32_t latest;
	int ok;

	ok = writers_recheck(uc->w, err);
	if (ok < 0 || latest_point(uc, &latest, err) < 0)
		return -1;
	return ok && latest == uc->latest;
}

/* Indexes the candidates again after a stopped compaction: a backup that
 * started meanwhile may have found a blob of theirs in the old index. */
static int undo(struct unit_compact *uc, struct error *err)
{
	struct index_builder *b = index_builder_new();
	size_t i;
	int ret;

	for (i = 0; i < uc->ncand; i++)
		if (uc->cand[i].indexed)
			index_builder_add_pack(b, uc->cand[i].id, uc->cand[i].t, uc->cand[i].nt);
	ret = index_builder_write(b, uc->u, err);
	index_builder_free(&b);
	return ret;
}

static void pack_sizes(struct unit_compact *uc, uint64_t *old_r, uint64_t *new_r)
{
	struct error ignored;
	uint64_t size;
	size_t i;
	char *name;

	*old_r = *new_r = 0;
	for (i = 0; i < uc->ncand; i++) {
		name = pack_name(uc->u, uc->cand[i].id);
		if (backend_size(uc->c->be, name, &size, &ignored) == 0)
			uc->cand[i].size = size;
		*old_r += uc->cand[i].size;
		free(name);
	}
	for (i = 0; i < uc->pc.packs.n; i++) {
		name = pack_name(uc->u, uc->pc.packs.v[i]);
		if (backend_size(uc->c->be, name, &size, &ignored) == 0)
			*new_r += size;
		free(name);
	}
}

/* The deletion record first (docs/format.md 10), then the old packs. */
static int delete_old(struct unit_compact *uc, struct error *err)
{
	uint64_t old_bytes, new_bytes;
	struct timespec ts;
	size_t i;

	pack_sizes(uc, &old_bytes, &new_bytes);
	clock_gettime(CLOCK_REALTIME, &ts);
	if (store_deletion_record(uc->u, "prune", (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
				  NULL, 0, uc->ncand, old_bytes, err) < 0)
		return -1;
	for (i = 0; i < uc->ncand; i++) {
		char *name = pack_name(uc->u, uc->cand[i].id);
		int ret = backend_remove(uc->c->be, name, err);

		free(name);
		if (ret < 0)
			return -1;
		uc->r->packs_rewritten++;
	}
	uc->r->bytes_freed = old_bytes > new_bytes ? old_bytes - new_bytes : 0;
	return 0;
}

static int rewrite(struct unit_compact *uc, struct error *err)
{
	struct error undo_err;
	size_t i;
	int indexed = 0, ok;

	if (copy_blobs(uc, err) < 0)
		return -1;
	for (i = 0; i < uc->ncand; i++)
		indexed |= uc->cand[i].indexed;
	if (indexed && index_rewrite(uc->ix, uc->u, keep_not_candidate, uc, err) < 0)
		return -1;
	ok = recheck(uc, err);
	if (ok == 1)
		return delete_old(uc, err);
	error_init(&undo_err);
	if (indexed && undo(uc, &undo_err) < 0) {
		log_error("%s: the packs of an interrupted compaction could not be indexed again: "
			  "%s; run compact again", uc->name, undo_err.msg);
		if (ok == 0)
			*err = undo_err;
		return -1;
	}
	if (ok < 0)
		return -1;
	uc->r->deferred = 1;
	log_info("%s: a backup started during compaction; nothing deleted", uc->name);
	return 0;
}

static void dry_report(struct unit_compact *uc)
{
	uint64_t old_bytes, new_bytes, copied = 0;
	size_t i, k;

	pack_sizes(uc, &old_bytes, &new_bytes);
	for (i = 0; i < uc->ncand; i++)
		for (k = 0; k < uc->cand[i].nt; k++)
			if (idset_has(&uc->copy, uc->cand[i].t[k].id))
				copied += BLOB_LEN(uc->cand[i].t[k].len_flags);
	uc->r->packs_rewritten = uc->ncand;
	uc->r->blobs_copied = uc->copy.n;
	uc->r->bytes_freed = old_bytes > copied ? old_bytes - copied : 0;
}

/* --- one unit ---------------------------------------------------------------------------- */

/* Check 1, the sets and the candidates. 1: nothing to do (or deferred,
 * or skipped: reported). */
static int unit_prepare(struct unit_compact *uc, struct error *err)
{
	struct pack_reader *pr;
	struct error set_err;

	if (!uc->c->o->dry_run && writers_mark(uc->w, err) < 0)
		return -1;
	if (writers_load(uc->w, err) < 0)
		return -1;
	if (writers_open(uc->w)) {
		uc->r->deferred = 1;
		log_info("%s: another backup or prune is writing; compaction deferred", uc->name);
		return 1;
	}
	uc->ix = index_open(uc->u, err);
	if (uc->ix == NULL || latest_point(uc, &uc->latest, err) < 0)
		return -1;
	error_init(&set_err);
	if (sets_compute(uc, &set_err) < 0) {
		log_warn("%s: %s; unit not compacted (nothing is deleted on incomplete information)",
			 uc->name, set_err.msg);
		uc->r->skipped = 1;
		return 1;
	}
	uc->r->erased_blobs = uc->erased.n;
	if (uc->erased.n == 0 || list_disk_packs(uc, err) < 0)
		return uc->erased.n == 0 ? 1 : -1;
	pr = pack_reader_open(uc->u);
	find_candidates(uc, pr);
	pack_reader_close(&pr);
	if (uc->ncand == 0)
		return 1;
	plan_copies(uc);
	return 0;
}

static void unit_compact_clear(struct unit_compact *uc)
{
	size_t i;

	if (uc->w)
		writers_unmark(uc->w, "compaction");
	for (i = 0; i < uc->ncand; i++)
		free(uc->cand[i].t);
	free(uc->cand);
	writers_destroy(&uc->w);
	erasure_set_free(&uc->es);
	index_close(&uc->ix);
	idset_clear(&uc->keep);
	idset_clear(&uc->erased);
	idset_clear(&uc->indexed);
	idset_clear(&uc->disk);
	idset_clear(&uc->cand_ids);
	idset_clear(&uc->copy);
	idset_clear(&uc->pc.packs);
	store_unit_close(&uc->u);
}

static struct compact_unit_result *result_add(struct compact_result *res, const char *name)
{
	struct compact_unit_result *r;

	res->units = xrealloc(res->units, xmul(res->n + 1, sizeof(*res->units)));
	r = &res->units[res->n++];
	memset(r, 0, sizeof(*r));
	r->unit = xstrdup(name);
	return r;
}

static int compact_unit(struct compact *c, const char *name, struct compact_result *res,
			struct error *err)
{
	struct unit_compact uc = { .c = c, .name = name };
	int ret;

	uc.u = store_unit_open(c->s, name, 0, err);
	ret = uc.u ? erasure_set_load(uc.u, &uc.es, err) : -1;
	if (ret == 0 && erasure_set_records(uc.es) > 0) {
		uc.r = result_add(res, name);
		uc.w = writers_create(uc.u, name, c->timeout);
		ret = unit_prepare(&uc, err);
		if (ret == 0 && c->o->dry_run)
			dry_report(&uc);
		else if (ret == 0)
			ret = rewrite(&uc, err);
		if (ret == 0 && !c->o->dry_run && uc.r->packs_rewritten)
			log_info("%s: %llu packs rewritten, %llu blobs dropped, %llu bytes freed", name,
				 (unsigned long long)uc.r->packs_rewritten,
				 (unsigned long long)uc.r->blobs_dropped,
				 (unsigned long long)uc.r->bytes_freed);
	}
	unit_compact_clear(&uc);
	if (ret < 0)
		return error_prefix(err, "compaction of unit %s", name);
	return 0;
}

static int compact_refuse(struct compact *c, struct error *err)
{
	/* Locked objects cannot go before their date; rewriting the packs
	 * would only add copies (docs/privacy.md 3). */
	if (backend_has_locks(c->be))
		return error_setk(err, ERROR_LOCKED, "store %s has Object Lock: compaction cannot "
				  "remove locked objects early; erased data goes when the last "
				  "restore point holding it expires, its locks lapse and prune runs",
				  store_path(c->s));
	if (c->o->dry_run)
		return 0;
	if (!store_deletion_unlocked(c->s))
		return error_setk(err, ERROR_KEY, "compaction needs the store's deletion key "
				  "(--deletion-key-file); the store key alone cannot delete");
	if (!(c->be->flags & BACKEND_ALLOW_DELETE))
		return error_setk(err, ERROR_USAGE, "compaction needs the store %s opened for "
				  "deletion", store_path(c->s));
	return 0;
}

int compact_run(struct store *s, const struct compact_opts *o, struct compact_result *res,
		struct error *err)
{
	struct compact c = { .s = s, .be = store_backend(s), .o = o };
	char **names = NULL;
	size_t n = 0, i;
	int failed = 0;

	memset(res, 0, sizeof(*res));
	c.timeout = o->writer_timeout <= 0 ? DEFAULT_TIMEOUT : o->writer_timeout;
	if (compact_refuse(&c, err) < 0)
		return -1;
	if (o->units == NULL && store_unit_names(s, &names, &n, err) < 0)
		return error_prefix(err, "compaction of %s", store_path(s));
	if (o->units != NULL)
		n = o->nunits;
	for (i = 0; i < n; i++) {
		struct error uerr;

		error_init(&uerr);
		if (compact_unit(&c, names ? names[i] : o->units[i], res, &uerr) < 0) {
			if (failed++ == 0)
				*err = uerr;
			else
				log_error("%s", uerr.msg);
		}
		if (names)
			free(names[i]);
	}
	free(names);
	return failed ? -1 : 0;
}

void compact_result_clear(struct compact_result *res)
{
	size_t i;

	for (i = 0; i < res->n; i++)
		free(res->units[i].unit);
	free(res->units);
	memset(res, 0, sizeof(*res));
}
