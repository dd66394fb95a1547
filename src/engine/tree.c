#include "tree.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "engine/blob_writer.h"
#include "engine/erasure.h"
#include "engine/meta.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/hex.h"
#include "lib/mem.h"
#include "store/backend.h"
#include "store/chunker.h"
#include "store/index.h"
#include "store/pack.h"
#include "store/rp.h"
#include "store/store.h"

#define TREE_LIST_MAX 256
#define TREE_LEVELS_MAX 8

struct blob_check {
	struct pack_reader *pr;
	const uint8_t *pack;
	const struct pack_entry *e;
	int verify;
	struct buf *out;
	const char *what;
};

static int blob_check_cb(void *ctx, const uint8_t *data, size_t len, struct error *err)
{
	struct blob_check *bc = ctx;

	(void)len;
	return pack_reader_blob(bc->pr, bc->pack, bc->e, data, bc->verify, bc->out, bc->what, err);
}

int blob_fetch(struct store_unit *u, const struct index *ix, struct pack_reader *pr,
	       const uint8_t id[32], int verify, struct buf *out, struct error *err)
{
	struct pack_entry e;
	const uint8_t *pack;
	char hex[65], *name, *what;
	uint8_t *stored;
	int ret;

	hex_encode(id, 32, hex);
	if (!index_lookup(ix, id, &e, &pack))
		return error_setk(err, ERROR_NOTFOUND, "blob %.16s is not in the index", hex);
	name = pack_name(u, pack);
	stored = xmalloc(BLOB_LEN(e.len_flags) + 1);
	what = xasprintf("blob %.16s in pack %s", hex, name);
	{
		struct blob_check bc = { pr, pack, &e, verify, out, what };

		/* Decoding is the check: a blob that does not open is read
		 * again, then from an older version of an overwritten pack. */
		ret = backend_get_range_verified(store_backend(store_unit_store(u)), name, e.offset,
						 BLOB_LEN(e.len_flags), stored, blob_check_cb, &bc,
						 err);
	}
	free(what);
	free(stored);
	free(name);
	return ret;
}

/* One level of chunked stream: bytes in, blob ids out. */
struct stream {
	struct buf pending;
	struct buf ids; /* 32-byte ids */
};

struct tree_writer {
	struct blob_writer *s;
	struct store_unit *u;
	struct pack_writer *pw;
	struct crypto_mac *mac;
	const struct chunker *ch;
	struct stream st;
	struct buf rec;
};

struct tree_writer *tree_writer_open(struct blob_writer *s, struct store_unit *u)
{
	struct tree_writer *tw = xcalloc(1, sizeof(*tw));

	tw->s = s;
	tw->u = u;
	tw->pw = blob_writer_pack(s, 1);
	tw->mac = store_unit_id_mac(u);
	tw->ch = store_unit_chunker(u, 1);
	buf_init(&tw->st.pending, 0);
	buf_init(&tw->st.ids, 0);
	buf_init(&tw->rec, 0);
	return tw;
}

void tree_writer_close(struct tree_writer **twp)
{
	struct tree_writer *tw = *twp;

	if (tw == NULL)
		return;
	pack_writer_close(&tw->pw);
	crypto_mac_free(&tw->mac);
	buf_clear(&tw->st.pending);
	buf_clear(&tw->st.ids);
	buf_clear(&tw->rec);
	free(tw);
	*twp = NULL;
}

/* Cuts and stores chunks from st->pending while at least a maximum chunk
 * is buffered (or everything, at the end). */
static int stream_cut(struct tree_writer *tw, struct stream *st, int final, struct error *err)
{
	size_t off = 0;
	uint8_t id[32];

	while (st->pending.len - off > 0 &&
	       (final || st->pending.len - off >= tw->ch->p.max)) {
		size_t n = chunker_next(tw->ch, st->pending.data + off, st->pending.len - off);

		if (blob_writer_put(tw->s, tw->pw, tw->mac, st->pending.data + off, n, id, err) < 0)
			return -1;
		buf_add(&st->ids, id, 32);
		off += n;
	}
	memmove(st->pending.data, st->pending.data + off, st->pending.len - off);
	st->pending.len -= off;
	return 0;
}

int tree_writer_add(struct tree_writer *tw, const struct meta_entry *e, struct error *err)
{
	if (meta_entry_check(e, err) < 0)
		return -1;
	buf_reset(&tw->rec);
	meta_entry_encode(e, &tw->rec);
	buf_add(&tw->st.pending, tw->rec.data, tw->rec.len);
	return stream_cut(tw, &tw->st, 0, err);
}

int tree_writer_finish(struct tree_writer *tw, struct rp *rp, struct error *err)
{
	uint32_t levels = 0;

	if (stream_cut(tw, &tw->st, 1, err) < 0)
		return -1;
	/* A long id list is itself a stream, so that a small change costs a
	 * few list chunks, not the whole list. */
	while (tw->st.ids.len / 32 > TREE_LIST_MAX && levels < TREE_LEVELS_MAX) {
		buf_reset(&tw->st.pending);
		buf_add(&tw->st.pending, tw->st.ids.data, tw->st.ids.len);
		buf_reset(&tw->st.ids);
		if (stream_cut(tw, &tw->st, 1, err) < 0)
			return -1;
		levels++;
	}
	if (pack_writer_flush(tw->pw, err) < 0)
		return -1;
	free(rp->meta);
	rp->nmeta = tw->st.ids.len / 32;
	rp->meta = xmalloc(xmul(rp->nmeta ? rp->nmeta : 1, 32));
	memcpy(rp->meta, tw->st.ids.data, tw->st.ids.len);
	rp->levels = levels;
	return 0;
}

struct tree_reader {
	struct store_unit *u;
	const struct index *ix;
	struct pack_reader *pr;
	char *what;
	uint8_t (*ids)[32];
	size_t nids, next;
	struct buf data, blob;
	size_t pos;
	struct meta_entry cur;
	/* Withholding (tree_reader_withhold): the set, whether withheld
	 * entries are given marked, the point's time, the withheld folder
	 * being walked (its entries are withheld with it) and the request
	 * that withholds the current entry. */
	struct erasure_set *es;
	int mark;
	int64_t rp_time;
	char *held_dir;
	const char *held_req, *cur_req;
};

/* Expands the id list levels down to the metadata blobs themselves. */
static int tree_expand(struct store_unit *u, const struct index *ix, struct pack_reader *pr,
		       const struct rp *rp, uint8_t (**ids_r)[32], size_t *n_r,
		       struct buf *all, struct error *err)
{
	struct buf cur, next, blob;
	uint32_t level;
	size_t i;
	int ret = 0;

	buf_init(&cur, 0);
	buf_init(&next, 0);
	buf_init(&blob, 0);
	buf_add(&cur, rp->meta, rp->nmeta * 32);
	for (level = 0; level < rp->levels && ret == 0; level++) {
		if (all)
			buf_add(all, cur.data, cur.len);
		buf_reset(&next);
		for (i = 0; i + 32 <= cur.len && ret == 0; i += 32) {
			ret = blob_fetch(u, ix, pr, cur.data + i, 0, &blob, err);
			if (ret == 0 && blob.len % 32 != 0)
				ret = error_setk(err, ERROR_CORRUPT, "metadata list blob is malformed");
			if (ret == 0)
				buf_add(&next, blob.data, blob.len);
		}
		buf_reset(&cur);
		buf_add(&cur, next.data, next.len);
	}
	if (ret == 0) {
		if (all)
			buf_add(all, cur.data, cur.len);
		*n_r = cur.len / 32;
		*ids_r = (uint8_t (*)[32])buf_steal(&cur, NULL);
	}
	buf_clear(&cur);
	buf_clear(&next);
	buf_clear(&blob);
	return ret;
}

struct tree_reader *tree_reader_open(struct store_unit *u, const struct index *ix,
				     const struct rp *rp, struct error *err)
{
	struct tree_reader *tr = xcalloc(1, sizeof(*tr));

	tr->u = u;
	tr->ix = ix;
	tr->pr = pack_reader_open(u);
	tr->what = xasprintf("%s@%u", rp->unit, rp->seq);
	tr->rp_time = rp->time_ns / 1000000000;
	buf_init(&tr->data, 0);
	buf_init(&tr->blob, 0);
	if (tree_expand(u, ix, tr->pr, rp, &tr->ids, &tr->nids, NULL, err) < 0) {
		error_prefix(err, "restore point %s: metadata unreadable", tr->what);
		tree_reader_close(&tr);
		return NULL;
	}
	return tr;
}

void tree_reader_close(struct tree_reader **trp)
{
	struct tree_reader *tr = *trp;

	if (tr == NULL)
		return;
	pack_reader_close(&tr->pr);
	meta_entry_clear(&tr->cur);
	buf_clear(&tr->data);
	buf_clear(&tr->blob);
	free(tr->ids);
	free(tr->what);
	free(tr->held_dir);
	free(tr);
	*trp = NULL;
}

static int tree_reader_decode(struct tree_reader *tr, struct meta_entry **e_r, struct error *err)
{
	size_t used;
	int ret;

	meta_entry_clear(&tr->cur);
	for (;;) {
		/* Before the first chunk the buffer is NULL: NULL + 0 is UB. */
		ret = meta_entry_decode(tr->data.data ? tr->data.data + tr->pos : tr->data.data,
					tr->data.len - tr->pos, &tr->cur, &used, err);
		if (ret < 0)
			return error_prefix(err, "restore point %s", tr->what);
		if (ret == 1) {
			tr->pos += used;
			*e_r = &tr->cur;
			return 1;
		}
		if (tr->next == tr->nids) {
			if (tr->pos != tr->data.len)
				return error_setk(err, ERROR_CORRUPT,
						  "restore point %s: metadata stream ends mid-record",
						  tr->what);
			return 0;
		}
		/* Keep the unparsed tail and append the next blob. */
		if (tr->pos > 0)
			memmove(tr->data.data, tr->data.data + tr->pos, tr->data.len - tr->pos);
		tr->data.len -= tr->pos;
		tr->pos = 0;
		if (blob_fetch(tr->u, tr->ix, tr->pr, tr->ids[tr->next], 0, &tr->blob, err) < 0)
			return error_prefix(err, "restore point %s: metadata unreadable", tr->what);
		tr->next++;
		buf_add(&tr->data, tr->blob.data, tr->blob.len);
	}
}

void tree_reader_withhold(struct tree_reader *tr, struct erasure_set *es, int mark)
{
	tr->es = es;
	tr->mark = mark;
}

const char *tree_reader_withheld(const struct tree_reader *tr) { return tr->cur_req; }

/* The request withholding e: the withheld folder's it is inside, or its
 * own. Entries come depth first, so the folder's entries follow it. */
static const char *withheld_request(struct tree_reader *tr, const struct meta_entry *e)
{
	const char *req;

	if (tr->held_dir != NULL) {
		size_t len = strlen(tr->held_dir);

		if (strncmp(e->path, tr->held_dir, len) == 0 && e->path[len] == '/')
			return tr->held_req;
		free(tr->held_dir);
		tr->held_dir = NULL;
	}
	req = erasure_set_match(tr->es, e, tr->rp_time);
	if (req != NULL && e->type == META_DIR) {
		tr->held_dir = xstrdup(e->path);
		tr->held_req = req;
	}
	return req;
}

int tree_reader_next(struct tree_reader *tr, struct meta_entry **e_r, struct error *err)
{
	int r;

	for (;;) {
		r = tree_reader_decode(tr, e_r, err);
		tr->cur_req = NULL;
		if (r != 1 || tr->es == NULL)
			return r;
		tr->cur_req = withheld_request(tr, *e_r);
		if (tr->cur_req == NULL || tr->mark)
			return 1;
		erasure_set_note(tr->es, tr->cur_req);
	}
}

int tree_meta_blobs(struct store_unit *u, const struct index *ix, const struct rp *rp,
		    uint8_t (**ids_r)[32], size_t *n_r, struct error *err)
{
	struct pack_reader *pr = pack_reader_open(u);
	uint8_t (*leaf)[32] = NULL;
	struct buf all;
	size_t nleaf;
	int ret;

	buf_init(&all, 0);
	ret = tree_expand(u, ix, pr, rp, &leaf, &nleaf, &all, err);
	free(leaf);
	pack_reader_close(&pr);
	if (ret < 0) {
		buf_clear(&all);
		return -1;
	}
	*n_r = all.len / 32;
	*ids_r = (uint8_t (*)[32])buf_steal(&all, NULL);
	return 0;
}

int tree_resolve(struct store *s, const char *spec, struct store_unit **u_r, struct rp **rp_r,
		 struct error *err)
{
	struct store_unit *u = NULL;
	uint32_t *seqs = NULL, seq;
	char *name = NULL;
	size_t n;
	int ret = -1;

	if (rp_spec_parse(spec, RP_SPEC_LATEST, &name, &seq, err) < 0 ||
	    (u = store_unit_open(s, name, 0, err)) == NULL)
		goto out;
	if (seq == 0) {
		if (rp_list(u, &seqs, &n, err) < 0)
			goto out;
		if (n == 0) {
			error_setk(err, ERROR_NOTFOUND, "unit %s has no restore points", name);
			goto out;
		}
		seq = seqs[n - 1];
	}
	if (rp_read(u, seq, rp_r, err) < 0)
		goto out;
	*u_r = u;
	u = NULL;
	ret = 0;
out:
	free(seqs);
	free(name);
	store_unit_close(&u);
	return ret;
}
