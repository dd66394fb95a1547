#include "point_writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "engine/meta.h"
#include "engine/blob_writer.h"
#include "engine/tree.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/hex.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "store/backend.h"
#include "store/chunker.h"
#include "store/index.h"
#include "store/pack.h"
#include "store/rp.h"
#include "store/store.h"

#define INDEX_FLUSH_ENTRIES 50000

struct point_stream {
	struct point_writer *pw;
	struct pack_writer *pack;
	struct crypto_mac *mac;
	struct buf pending; /* bytes of the current file not cut into a chunk yet */
	struct point_stream *next;
};

enum pw_state {
	PW_CREATED,  /* unit open, nothing written */
	PW_BEGUN,    /* writer marker written: a commit or an abort ends it */
	PW_ENDED,    /* committed or aborted, or a writer left open on purpose */
};

struct point_writer {
	struct store_unit *u;
	enum pw_state state;
	char sid[33];
	struct index *ix;
	struct blob_writer *blobs;
	struct tree_writer *tw;
	struct point_stream *streams, **streams_tail;
	struct rp *rp;
	struct rp *parent;      /* the latest live point's manifest, or NULL */
	struct error parent_err;
	int parent_damaged;
	int reuse_parent;
	struct point_totals totals;
	struct point_fence fence; /* check NULL: none */
	pthread_mutex_t lock;   /* rp's warnings */
};

/* Writer markers "sessions/<id>" and "sessions/<id>.end" tell prune that
 * a writer may still reference blobs it has not indexed yet (docs/prune.md).
 * Volatile: after a crash of this machine the writer is gone as well, and a
 * start marker that survived without its end only makes prune wait for it
 * to time out. Two fsync pairs fewer per point: on a busy disk, most of an
 * unchanged mail re-run. */
static int pw_marker(struct point_writer *pw, const char *suffix, struct error *err)
{
	char *rel = xasprintf("sessions/%s%s", pw->sid, suffix), *name = store_unit_path(pw->u, rel);
	char *body = xasprintf("%lld\n", (long long)time(NULL));
	struct backend *be = store_backend(store_unit_store(pw->u));
	struct backend_upload *up = backend_upload_begin(be, name, BACKEND_UPLOAD_VOLATILE, err);
	int ret = -1;

	if (up && backend_upload_write(be, up, body, strlen(body), err) < 0)
		backend_upload_abort(be, up);
	else if (up)
		ret = backend_upload_commit(be, up, err);
	free(rel);
	free(name);
	free(body);
	return ret;
}

struct point_writer *point_writer_open(struct store *s, const struct point_writer_opts *o,
					 struct error *err)
{
	struct point_writer *pw;
	struct store_unit *u = store_unit_open(s, o->unit, 1, err);
	struct timespec ts;

	if (u == NULL)
		return NULL;
	pw = xcalloc(1, sizeof(*pw));
	pw->u = u;
	pw->state = PW_CREATED;
	pw->streams_tail = &pw->streams;
	pthread_mutex_init(&pw->lock, NULL);
	error_init(&pw->parent_err);
	pw->rp = xcalloc(1, sizeof(*pw->rp));
	pw->rp->unit = xstrdup(o->unit);
	pw->rp->source = xstrdup(o->source);
	clock_gettime(CLOCK_REALTIME, &ts);
	pw->rp->time_ns = o->time_ns ? o->time_ns : (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	rp_set_retention(pw->rp, o->keep_seconds, o->retain_seconds);
	if (o->fence)
		pw->fence = *o->fence;
	return pw;
}

static void stream_free(struct point_stream *ps)
{
	pack_writer_close(&ps->pack);
	crypto_mac_free(&ps->mac);
	buf_clear(&ps->pending);
	free(ps);
}

void point_writer_close(struct point_writer **pwp)
{
	struct point_writer *pw = *pwp;

	if (pw == NULL)
		return;
	point_writer_abort(pw);
	while (pw->streams) {
		struct point_stream *ps = pw->streams;

		pw->streams = ps->next;
		stream_free(ps);
	}
	tree_writer_close(&pw->tw);
	blob_writer_close(&pw->blobs);
	index_close(&pw->ix);
	rp_free(&pw->parent);
	rp_free(&pw->rp);
	store_unit_close(&pw->u);
	pthread_mutex_destroy(&pw->lock);
	free(pw);
	*pwp = NULL;
}

/* The unit's latest live point, the parent. Only listing the points can
 * fail the writer; a damaged manifest is remembered for
 * point_writer_parent() and costs the source re-reading its content. */
static int pw_read_parent(struct point_writer *pw, struct error *err)
{
	uint32_t *seqs = NULL;
	size_t n;

	if (rp_list(pw->u, &seqs, &n, err) < 0)
		return -1;
	if (n > 0 && rp_read(pw->u, seqs[n - 1], &pw->parent, &pw->parent_err) < 0) {
		rp_free(&pw->parent);
		pw->parent_damaged = 1;
	}
	free(seqs);
	return 0;
}

int point_writer_begin(struct point_writer *pw, struct error *err)
{
	uint8_t rnd[16];

	if (pw->state != PW_CREATED)
		return error_set(err, "point writer of %s: begun twice", pw->rp->unit);
	crypto_random(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), pw->sid);
	if (pw_marker(pw, "", err) < 0) {
		pw->state = PW_ENDED;
		return -1;
	}
	pw->state = PW_BEGUN;
	pw->ix = index_open(pw->u, err);
	if (pw->ix == NULL) {
		/* The writer is left open, as writers always did here: prune
		 * waits for it a writer timeout (docs/prune.md). */
		pw->state = PW_ENDED;
		return -1;
	}
	pw->blobs = blob_writer_open(pw->u, pw->ix);
	pw->tw = tree_writer_open(pw->blobs, pw->u);
	if (pw_read_parent(pw, err) < 0) {
		point_writer_abort(pw);
		return -1;
	}
	return 0;
}

int point_writer_parent(struct point_writer *pw, const struct rp **rp_r, struct error *err)
{
	*rp_r = pw->parent;
	if (pw->parent_damaged) {
		*err = pw->parent_err;
		return -1;
	}
	return pw->parent != NULL;
}

const char *point_writer_parent_state(struct point_writer *pw)
{
	return pw->parent ? pw->parent->source_state : NULL;
}

struct store_unit *point_writer_unit(struct point_writer *pw)
{
	return pw->u;
}

const struct index *point_writer_index(struct point_writer *pw)
{
	return pw->ix;
}

const struct chunker *point_writer_chunker(struct point_writer *pw)
{
	return store_unit_chunker(pw->u, 0);
}

void point_writer_warn(struct point_writer *pw, const char *msg)
{
	log_warn("%s", msg);
	pthread_mutex_lock(&pw->lock);
	rp_add_warning(pw->rp, msg);
	pthread_mutex_unlock(&pw->lock);
}

void point_writer_set_source_state(struct point_writer *pw, const char *state)
{
	free(pw->rp->source_state);
	pw->rp->source_state = state ? xstrdup(state) : NULL;
}

void point_writer_set_totals(struct point_writer *pw, const struct point_totals *t)
{
	pw->totals = *t;
}

struct point_stream *point_writer_stream(struct point_writer *pw)
{
	struct point_stream *ps = xcalloc(1, sizeof(*ps));

	ps->pw = pw;
	ps->pack = blob_writer_pack(pw->blobs, 0);
	ps->mac = store_unit_id_mac(pw->u);
	buf_init(&ps->pending, 0);
	*pw->streams_tail = ps;
	pw->streams_tail = &ps->next;
	return ps;
}

int point_stream_put(struct point_stream *ps, const void *data, size_t len, uint8_t id_r[32],
		     struct error *err)
{
	return blob_writer_put(ps->pw->blobs, ps->pack, ps->mac, data, len, id_r, err);
}

/* Cuts and stores chunks of data[0..len) while at least a maximum chunk
 * is left (or everything, when final); returns the bytes consumed. A
 * stateless chunker cuts the same wherever the window starts, as long as
 * it starts at a cut and holds a maximum chunk. */
static int stream_cut(struct point_stream *ps, struct meta_entry *e, const uint8_t *data,
		      size_t len, int final, size_t *used_r, struct error *err)
{
	const struct chunker *ch = store_unit_chunker(ps->pw->u, 0);
	size_t off = 0;

	while (len - off > 0 && (final || len - off >= ch->p.max)) {
		size_t n = chunker_next(ch, data + off, len - off);
		uint8_t id[32];

		if (point_stream_put(ps, data + off, n, id, err) < 0)
			return -1;
		meta_entry_add_extent(e, id, (uint32_t)n);
		off += n;
	}
	*used_r = off;
	return 0;
}

int point_stream_write(struct point_stream *ps, struct meta_entry *e, const void *data,
		       size_t len, struct error *err)
{
	size_t used;

	if (ps->pending.len == 0) {
		/* Straight from the caller's bytes; only the tail is kept. */
		if (stream_cut(ps, e, data, len, 0, &used, err) < 0)
			return -1;
		buf_add(&ps->pending, (const uint8_t *)data + used, len - used);
		return 0;
	}
	buf_add(&ps->pending, data, len);
	if (stream_cut(ps, e, ps->pending.data, ps->pending.len, 0, &used, err) < 0)
		return -1;
	memmove(ps->pending.data, ps->pending.data + used, ps->pending.len - used);
	ps->pending.len -= used;
	return 0;
}

int point_stream_end(struct point_stream *ps, struct meta_entry *e, struct error *err)
{
	size_t used;
	int ret = stream_cut(ps, e, ps->pending.data, ps->pending.len, 1, &used, err);

	buf_reset(&ps->pending);
	return ret;
}

int point_stream_flush(struct point_stream *ps, struct error *err)
{
	return pack_writer_flush(ps->pack, err);
}

int point_writer_add(struct point_writer *pw, const struct meta_entry *e, struct error *err)
{
	return tree_writer_add(pw->tw, e, err);
}

int point_writer_checkpoint(struct point_writer *pw, struct error *err)
{
	if (blob_writer_pending_index(pw->blobs) >= INDEX_FLUSH_ENTRIES)
		return blob_writer_flush_index(pw->blobs, err);
	return 0;
}

int point_writer_reuse_parent(struct point_writer *pw, struct point_totals *totals_r,
			      struct error *err)
{
	const struct rp *l = pw->parent;

	if (l == NULL)
		return error_set(err, "unit %s has no readable restore point to reuse", pw->rp->unit);
	free(pw->rp->meta);
	pw->rp->nmeta = l->nmeta;
	pw->rp->meta = xmalloc(l->nmeta * sizeof(*l->meta) + 1);
	memcpy(pw->rp->meta, l->meta, l->nmeta * sizeof(*l->meta));
	pw->rp->levels = l->levels;
	pw->totals.files = l->stats.files;
	pw->totals.dirs = l->stats.dirs;
	pw->totals.bytes = l->stats.bytes;
	*totals_r = pw->totals;
	pw->reuse_parent = 1;
	return 0;
}

/* Packs (lazily committed), the tree, an index segment after a sync that
 * makes the packs durable, then the manifest: each step only references
 * what the ones before made durable. */
static int pw_write(struct point_writer *pw, struct error *err)
{
	struct blob_writer_stats ss;
	struct point_stream *ps;
	char host[256] = "";

	for (ps = pw->streams; ps != NULL; ps = ps->next)
		if (point_stream_flush(ps, err) < 0)
			return -1;
	if (!pw->reuse_parent && tree_writer_finish(pw->tw, pw->rp, err) < 0)
		return -1;
	if (blob_writer_flush_index(pw->blobs, err) < 0)
		return -1;
	blob_writer_get_stats(pw->blobs, &ss);
	pw->rp->stats.files = pw->totals.files;
	pw->rp->stats.dirs = pw->totals.dirs;
	pw->rp->stats.bytes = pw->totals.bytes;
	pw->rp->stats.new_blobs = ss.new_blobs;
	pw->rp->stats.new_bytes = ss.new_bytes;
	pw->rp->stats.stored_bytes = ss.stored_bytes;
	pw->rp->stats.incompressible_bytes = ss.incompressible_bytes;
	gethostname(host, sizeof(host) - 1);
	free(pw->rp->host);
	pw->rp->host = xstrdup(host);
	if (pw->fence.check && pw->fence.check(pw->fence.ctx, err) < 0)
		return error_prefix(err, "restore point %s@%u not written", pw->rp->unit,
				    pw->rp->seq);
	return rp_write(pw->u, pw->rp, err);
}

int point_writer_commit(struct point_writer *pw, struct point_result *res, struct error *err)
{
	struct error ignored;

	if (pw->state != PW_BEGUN)
		return error_set(err, "point writer of %s: commit before point_writer_begin", pw->rp->unit);
	if (pw_write(pw, err) < 0) {
		point_writer_abort(pw);
		return -1;
	}
	/* A failed merge or end marker costs speed later, not data. */
	if (index_merge(pw->ix, pw->u, &ignored) < 0)
		log_warn("%s", ignored.msg);
	if (pw_marker(pw, ".end", &ignored) < 0)
		log_warn("%s", ignored.msg);
	pw->state = PW_ENDED;
	memset(res, 0, sizeof(*res));
	res->seq = pw->rp->seq;
	res->totals = pw->totals;
	res->new_blobs = pw->rp->stats.new_blobs;
	res->new_bytes = pw->rp->stats.new_bytes;
	res->stored_bytes = pw->rp->stats.stored_bytes;
	res->incompressible_bytes = pw->rp->stats.incompressible_bytes;
	res->nwarnings = pw->rp->nwarnings;
	return 0;
}

void point_writer_abort(struct point_writer *pw)
{
	struct error ignored;

	if (pw == NULL || pw->state != PW_BEGUN)
		return;
	/* This writer will never write a restore point: say so, or prune
	 * would wait a whole writer timeout for it. */
	pw_marker(pw, ".end", &ignored);
	pw->state = PW_ENDED;
}
