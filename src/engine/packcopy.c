/* Copies the needed blobs of packs that go into new packs, then indexes
 * them (packcopy.h). Shared by prune's repacking and erasure compaction. */
#include "packcopy.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/hex.h"
#include "lib/mem.h"
#include "store/backend.h"
#include "store/index.h"
#include "store/pack.h"

#define PACK_READ_MAX ((size_t)256 << 20) /* a pack closes before 32 MiB */

/* --- which blobs ----------------------------------------------------------- */

struct outside_ctx {
	const struct idset *src_ids, *copy;
	struct idset outside;
};

/* Blobs to copy that an index entry of a pack that stays lists. */
static int note_outside(void *ctx, const uint8_t pack_id[32], const struct pack_entry *e)
{
	struct outside_ctx *oc = ctx;

	if (!idset_has(oc->src_ids, pack_id) && idset_has(oc->copy, e->id))
		idset_push(&oc->outside, e->id);
	return 0;
}

void packcopy_plan(const struct index *ix, const struct packcopy_src *src, size_t n,
		   const struct idset *src_ids, const struct idset *keep, struct idset *copy_r,
		   uint64_t *dropped_r)
{
	struct idset want = { 0 }, dropped = { 0 };
	struct outside_ctx oc = { .src_ids = src_ids, .copy = &want };
	size_t i, k;

	for (i = 0; i < n; i++)
		for (k = 0; k < src[i].nt; k++)
			idset_push(idset_has(keep, src[i].t[k].id) ? &want : &dropped, src[i].t[k].id);
	idset_sort(&want);
	idset_sort(&dropped);
	index_foreach(ix, note_outside, &oc);
	idset_sort(&oc.outside);
	for (i = 0; i < want.n; i++)
		if (!idset_has(&oc.outside, want.v[i]))
			idset_push(copy_r, want.v[i]);
	idset_sort(copy_r);
	*dropped_r += dropped.n;
	idset_clear(&want);
	idset_clear(&dropped);
	idset_clear(&oc.outside);
}

/* --- copying ---------------------------------------------------------------- */

struct copier {
	struct store_unit *u;
	struct backend *be;
	const struct idset *copy;
	struct packcopy_result *r;
	struct index_builder *fresh; /* the new packs' entries */
	struct pack_reader *pr;
	struct pack_writer *pw[2];   /* data, metadata */
	uint8_t *done;               /* per blob of copy: copied */
	struct buf pack, plain;
};

static void fresh_committed(void *ctx, const uint8_t pack_id[32], const struct pack_entry *entries,
			    size_t n)
{
	struct copier *cp = ctx;

	index_builder_add_pack(cp->fresh, pack_id, entries, n);
	idset_push(&cp->r->packs, pack_id);
	cp->r->new_packs++;
}

/* The place in copy of a blob still to copy, or SIZE_MAX. */
static size_t to_copy(const struct copier *cp, const uint8_t id[32])
{
	size_t at = idset_find(cp->copy, id);

	return at != SIZE_MAX && !cp->done[at] ? at : SIZE_MAX;
}

static int copy_blob(struct copier *cp, const struct packcopy_src *s, const struct pack_entry *e,
		     const char *name, struct error *err)
{
	int meta = BLOB_TYPE(e->len_flags) == BLOB_META;
	char hex[65], *what;
	int ret;

	hex_encode(e->id, 32, hex);
	what = xasprintf("blob %.16s of %s", hex, name);
	if ((uint64_t)e->offset + BLOB_LEN(e->len_flags) > cp->pack.len)
		ret = error_setk(err, ERROR_CORRUPT, "%s lies beyond the pack's end", what);
	else if (pack_reader_blob(cp->pr, s->id, e, cp->pack.data + e->offset, 1, &cp->plain,
				  what, err) < 0 ||
		 pack_writer_add(cp->pw[meta], e->id, cp->plain.data, cp->plain.len, NULL, err) < 0)
		ret = -1;
	else
		ret = 0;
	free(what);
	return ret;
}

/* Copies the blobs of one source that are still to be copied. */
static int copy_pack(struct copier *cp, const struct packcopy_src *s, struct error *err)
{
	char *name;
	size_t k, at;
	int ret = 0, any = 0;

	for (k = 0; k < s->nt && !any; k++)
		any = to_copy(cp, s->t[k].id) != SIZE_MAX;
	if (!any)
		return 0;
	name = pack_name(cp->u, s->id);
	buf_reset(&cp->pack);
	if (backend_get(cp->be, name, &cp->pack, PACK_READ_MAX, err) < 0) {
		free(name);
		return -1;
	}
	for (k = 0; ret == 0 && k < s->nt; k++) {
		if ((at = to_copy(cp, s->t[k].id)) == SIZE_MAX)
			continue;
		ret = copy_blob(cp, s, &s->t[k], name, err);
		if (ret == 0) {
			cp->done[at] = 1;
			cp->r->blobs++;
		}
	}
	free(name);
	return ret;
}

int packcopy_run(struct store_unit *u, struct backend *be, const struct packcopy_src *src,
		 size_t n, const struct idset *copy, struct packcopy_result *r, struct error *err)
{
	struct copier cp = { .u = u, .be = be, .copy = copy, .r = r };
	size_t i;
	int ret = 0;

	if (copy->n == 0)
		return 0;
	cp.fresh = index_builder_new();
	cp.done = xcalloc(copy->n, 1);
	cp.pr = pack_reader_open(u);
	cp.pw[0] = pack_writer_open(u, BLOB_DATA, fresh_committed, &cp);
	cp.pw[1] = pack_writer_open(u, BLOB_META, fresh_committed, &cp);
	buf_init(&cp.pack, 0);
	buf_init(&cp.plain, 0);
	for (i = 0; ret == 0 && i < n; i++)
		ret = copy_pack(&cp, &src[i], err);
	if (ret == 0 && (pack_writer_flush(cp.pw[0], err) < 0 || pack_writer_flush(cp.pw[1], err) < 0))
		ret = -1;
	/* index_builder_write syncs the new packs before the segment. */
	if (ret == 0)
		ret = index_builder_write(cp.fresh, u, err);
	idset_sort(&r->packs);
	pack_writer_close(&cp.pw[0]);
	pack_writer_close(&cp.pw[1]);
	pack_reader_close(&cp.pr);
	index_builder_free(&cp.fresh);
	buf_clear(&cp.pack);
	buf_clear(&cp.plain);
	free(cp.done);
	return ret;
}
