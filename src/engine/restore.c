#include "restore.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "engine/erasure.h"
#include "engine/fsmeta.h"
#include "engine/meta.h"
#include "engine/tree.h"
#include "engine/walk.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsat.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/progress.h"
#include "store/backend.h"
#include "store/index.h"
#include "store/pack.h"
#include "store/rp.h"
#include "store/store.h"

/* One read covers neighbouring blobs of a pack that are at most this far
 * apart: a round trip to an object store costs more than the bytes
 * between them. */
#define RESTORE_GAP_MAX ((uint64_t)256 << 10)
/* ... and at most this much, so that a pack's blobs are read by several
 * threads at once when few packs are left. */
#define RESTORE_RUN_MAX ((uint64_t)4 << 20)

enum state { ST_MISSING, ST_SAME, ST_ATTRS, ST_REPLACE };

struct item {
	struct meta_entry e;
	enum state state;
	int failed;
	int create_on_write; /* one blob is the whole file: the writer creates it */
};

/* One blob to write into one place of one file. */
struct piece {
	const uint8_t *pack;
	struct pack_entry pe;
	size_t item;
	uint64_t file_off;
};

/* A withheld entry: its path and the request withholding it (the set's). */
struct held {
	char *path;
	const char *request;
};

struct restore {
	const struct restore_opts *o;
	struct store_unit *u;
	struct rp *rp;
	struct index *ix;
	char *root;
	int root_fd;            /* the target folder; -1 in a dry run of a missing one */
	struct fsat_dirs *dirs; /* its folders, for the main thread's passes */
	struct item *items;
	size_t n;
	struct piece *pieces;
	size_t npieces;
	size_t next_piece; /* work cursor, under lock */
	pthread_mutex_t lock;
	struct restore_result *res;
	struct progress prog;
	uint64_t done_bytes, total_bytes;
	char *first_failure; /* "path: reason" of the first entry that failed */
	struct erasure_set *es; /* the unit's erasure ledger */
	struct held *held;      /* entries withheld by it, in path order: left alone */
	size_t nheld;
	struct fsmeta_writer *fw; /* owners by name, what may be applied */
};

static int selected(const struct restore_opts *o, const char *path)
{
	size_t i, len;
	char *prefix;
	int hit = 0;

	if (o->npatterns == 0)
		return 1;
	/* A pattern selects a path if it matches the path or one of its
	 * ancestors (so "docs" restores everything below docs/). */
	prefix = xstrdup(path);
	for (len = strlen(prefix); !hit; ) {
		for (i = 0; i < o->npatterns && !hit; i++)
			hit = fnmatch(o->patterns[i], prefix, FNM_PATHNAME) == 0;
		while (len > 0 && prefix[len] != '/')
			len--;
		if (len == 0)
			break;
		prefix[len] = '\0';
	}
	free(prefix);
	return hit;
}

/* Whether `dir` is an ancestor of a selected path (it must then exist). */
static int needed_dir(struct restore *r, size_t i)
{
	const char *p = r->items[i].e.path;
	size_t len = strlen(p), k;

	for (k = i + 1; k < r->n; k++) {
		const char *q = r->items[k].e.path;

		if (len > 0 && (strncmp(q, p, len) != 0 || q[len] != '/'))
			break;
		if (selected(r->o, q))
			return 1;
	}
	return 0;
}

static int item_cmp_path(const void *key, const void *elem)
{
	return meta_path_cmp(key, ((const struct item *)elem)->e.path);
}

static struct item *restore_find(struct restore *r, const char *path)
{
	return r->n ? bsearch(path, r->items, r->n, sizeof(*r->items), item_cmp_path) : NULL;
}

/* A hard link selected without the file it links to becomes a copy of
 * that file, so a granular restore of the link alone still has content. */
static void adopt_link_targets(struct restore *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		struct item *it = &r->items[i], *t;
		char *path;

		if (it->e.type != META_HARDLINK || !it->e.target || !selected(r->o, it->e.path) ||
		    selected(r->o, it->e.target) || (t = restore_find(r, it->e.target)) == NULL)
			continue;
		path = it->e.path;
		it->e.path = NULL;
		meta_entry_clear(&it->e);
		meta_entry_copy(&it->e, &t->e);
		free(it->e.path);
		it->e.path = path;
	}
}

static int held_cmp(const void *key, const void *elem)
{
	return meta_path_cmp(key, ((const struct held *)elem)->path);
}

/* The request withholding `path` from the restore, or NULL. */
static const char *restore_held(const struct restore *r, const char *path)
{
	const struct held *h =
		r->nheld ? bsearch(path, r->held, r->nheld, sizeof(*r->held), held_cmp) : NULL;

	return h ? h->request : NULL;
}

/* A withheld entry is neither written nor, in place, removed: the restore
 * acts as if that path were not its business (docs/privacy.md 2). A hard
 * link to a withheld file goes with it. */
static int restore_hold(struct restore *r, struct tree_reader *tr, const struct meta_entry *e)
{
	const char *req = tree_reader_withheld(tr);

	if (req == NULL && e->type == META_HARDLINK && e->target)
		req = restore_held(r, e->target);
	if (req == NULL)
		return 0;
	if (selected(r->o, e->path))
		erasure_set_note(r->es, req);
	r->held = xrealloc(r->held, xmul(r->nheld + 1, sizeof(*r->held)));
	r->held[r->nheld].path = xstrdup(e->path);
	r->held[r->nheld++].request = req;
	return 1;
}

static int restore_load(struct restore *r, struct error *err)
{
	struct tree_reader *tr = tree_reader_open(r->u, r->ix, r->rp, err);
	struct meta_entry *e;
	size_t cap = 0, i, n = 0;
	int ret;

	if (tr == NULL)
		return -1;
	tree_reader_withhold(tr, r->es, 1);
	while ((ret = tree_reader_next(tr, &e, err)) == 1) {
		if (restore_hold(r, tr, e))
			continue;
		if (r->n == cap) {
			cap = cap ? cap * 2 : 1024;
			r->items = xrealloc(r->items, xmul(cap, sizeof(*r->items)));
		}
		memset(&r->items[r->n], 0, sizeof(r->items[0]));
		meta_entry_copy(&r->items[r->n++].e, e);
	}
	tree_reader_close(&tr);
	if (ret < 0 || r->o->npatterns == 0)
		return ret;
	adopt_link_targets(r);
	for (i = 0; i < r->n; i++) {
		struct item *it = &r->items[i];

		if (selected(r->o, it->e.path) || (it->e.type == META_DIR && needed_dir(r, i)))
			r->items[n++] = *it;
		else
			meta_entry_clear(&it->e);
	}
	r->n = n;
	return 0;
}

/* A path for messages; every operation goes through the folder fds. */
static char *restore_abs(struct restore *r, const char *rel)
{
	return fs_join(r->root, rel);
}

/* The folder holding the entry at `rel` and its name there; -1 with the
 * entry failed (a part of its path is a link, or not a folder). */
static int item_dir(struct restore *r, struct item *it, const char **name_r);
static void path_failed(struct restore *r, const char *path, const struct error *err);

static void report(struct restore *r, const char *action, const char *path)
{
	if (r->o->report)
		r->o->report(r->o->ctx, action, *path ? path : ".");
}

static int all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Whether bytes [off, off+len) of the file match one extent: a hole reads
 * as zeros, data has the extent's keyed id. */
static int same_extent(int fd, struct crypto_mac *mac, const struct meta_extent *x, uint64_t off,
		       struct buf *data)
{
	static const uint8_t zero[32];
	uint8_t id[32];
	struct error err;
	int hole = memcmp(x->id, zero, 32) == 0;

	if (hole) {
		off_t next = lseek(fd, (off_t)off, SEEK_DATA);

		if (next < 0 || (uint64_t)next >= off + x->len)
			return 1; /* no data in the range: a hole */
	}
	buf_reset(data);
	if (fs_pread_all(fd, buf_extend(data, x->len), x->len, (off_t)off, "live file", &err) < 0)
		return 0;
	if (hole)
		return all_zero(data->data, data->len);
	crypto_mac_compute(mac, data->data, data->len, id);
	return memcmp(id, x->id, 32) == 0;
}

/* Whether the live file `name` in dirfd holds exactly the entry's bytes,
 * extent by extent. */
static int same_bytes(struct restore *r, const struct meta_entry *e, int dirfd, const char *name)
{
	struct crypto_mac *mac;
	struct buf data;
	uint64_t off = 0;
	size_t k;
	int fd, same = 1;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	mac = store_unit_id_mac(r->u);
	buf_init(&data, 0);
	for (k = 0; k < e->nextents && same; k++) {
		same = same_extent(fd, mac, &e->extents[k], off, &data);
		off += e->extents[k].len;
	}
	close(fd);
	buf_clear(&data);
	crypto_mac_free(&mac);
	return same && off == e->size;
}

static enum state compare_file(struct restore *r, struct item *it, int dirfd, const char *name,
			       const struct meta_entry *live)
{
	if (live->size != it->e.size || live->mtime_s != it->e.mtime_s ||
	    live->mtime_ns != it->e.mtime_ns)
		return ST_REPLACE;
	/* Size and mtime agree. If the change time does too, the file was not
	 * touched since the backup; otherwise its mtime may have been put
	 * back over new bytes (touch -r), so compare the bytes. */
	if ((live->ctime_s != it->e.ctime_s || live->ctime_ns != it->e.ctime_ns ||
	     live->ino != it->e.ino) && !same_bytes(r, &it->e, dirfd, name))
		return ST_REPLACE;
	return ST_SAME;
}

/* A hard link is in place when it is the same inode as its first link and
 * that first link is not about to be rewritten. */
static enum state compare_link(struct restore *r, struct item *it, const struct stat *st)
{
	struct item *t = it->e.target ? restore_find(r, it->e.target) : NULL;
	struct stat tst;
	int fd, same;

	if (t == NULL || (t->state != ST_SAME && t->state != ST_ATTRS))
		return ST_REPLACE;
	fd = fsat_open(r->root_fd, t->e.path, O_PATH, 0);
	same = fd >= 0 && fstat(fd, &tst) == 0 && tst.st_ino == st->st_ino &&
	       tst.st_dev == st->st_dev;
	if (fd >= 0)
		close(fd);
	return same ? ST_SAME : ST_REPLACE;
}

/* Compares a live file (`name` in dirfd) with the entry it should be. */
static enum state compare_live(struct restore *r, struct item *it, int dirfd, const char *name,
			       const char *abs, const struct stat *st)
{
	struct meta_entry live;
	enum state s;
	char *msg;

	if (it->e.type == META_HARDLINK)
		return compare_link(r, it, st);
	memset(&live, 0, sizeof(live));
	live.type = fsmeta_type(st->st_mode);
	fsmeta_from_stat(&live, st);
	if (live.type != it->e.type)
		return ST_REPLACE;
	if (it->e.type == META_FILE && compare_file(r, it, dirfd, name, &live) == ST_REPLACE)
		return ST_REPLACE;
	if (it->e.type == META_SYMLINK) {
		char target[4097];
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);

		if (n < 0 || it->e.target == NULL || (size_t)n != strlen(it->e.target) ||
		    memcmp(target, it->e.target, (size_t)n) != 0)
			return ST_REPLACE;
		return live.mtime_s == it->e.mtime_s && live.mtime_ns == it->e.mtime_ns &&
		       fsmeta_writer_same_owner(r->fw, &live, &it->e) ? ST_SAME : ST_ATTRS;
	}
	if ((it->e.type == META_CHR || it->e.type == META_BLK) && live.rdev != it->e.rdev)
		return ST_REPLACE;
	msg = fsmeta_read_xattrs(&live, dirfd, name, abs);
	free(msg);
	fsmeta_writer_note_live(r->fw, &live);
	s = fsmeta_writer_same(r->fw, &live, &it->e) &&
	    (it->e.type != META_DIR ||
	     (live.mtime_s == it->e.mtime_s && live.mtime_ns == it->e.mtime_ns)) ? ST_SAME : ST_ATTRS;
	meta_entry_clear(&live);
	return s;
}

/* Writing into a folder changes its mtime: a folder that was in place
 * needs its times put back afterwards. */
static void touch_parent(struct restore *r, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *parent;
	struct item *p;

	if (*path == '\0')
		return;
	parent = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
	p = restore_find(r, parent);
	if (p && p->state == ST_SAME)
		p->state = ST_ATTRS;
	free(parent);
}

/* Walks the target: classifies every entry, and (in place) removes what
 * the restore point does not have. */
static int restore_scan(struct restore *r, struct error *err)
{
	struct walker *w;
	const char *rel, *abs, *name;
	struct stat st;
	int ret;

	if (r->root_fd < 0)
		return 0; /* a dry run of a missing folder: everything is missing */
	w = walker_open(r->root_fd, r->root, NULL, NULL, err);
	if (w == NULL)
		return -1;
	while ((ret = walker_next(w, &rel, &abs, &st, err)) == 1) {
		struct item *it = restore_find(r, rel);
		int dirfd = walker_at(w, &name);
		struct error e;

		if (it != NULL) {
			it->state = compare_live(r, it, dirfd, name, abs, &st);
			if (it->state == ST_REPLACE)
				walker_skip(w);
			continue;
		}
		if (restore_held(r, rel)) {
			walker_skip(w);
			continue;
		}
		if (!r->o->in_place || !selected(r->o, rel) || *rel == '\0')
			continue;
		walker_skip(w);
		report(r, "remove", rel);
		r->res->removed++;
		touch_parent(r, rel);
		if (!r->o->dry_run && fsat_remove_tree(dirfd, name, abs, &e) < 0) {
			/* Not an entry of the point, but the unit is not as the
			 * point has it: counted and named like one. */
			pthread_mutex_lock(&r->lock);
			path_failed(r, rel, &e);
			pthread_mutex_unlock(&r->lock);
		}
	}
	walker_close(&w);
	return ret < 0 ? -1 : 0;
}

/* A file that is exactly one blob is created when that blob is written:
 * one open instead of two for the many small files of a tree. */
static int whole_blob(const struct meta_entry *e)
{
	static const uint8_t zero[32];

	return e->nextents == 1 && e->extents[0].len == e->size &&
	       memcmp(e->extents[0].id, zero, 32) != 0;
}

/* Makes the entry as `name` in the folder dirfd (abs: its path, for
 * messages). */
static int restore_create(struct item *it, int dirfd, const char *name, const char *abs,
			  struct error *err)
{
	const struct meta_entry *e = &it->e;
	int fd;

	switch (e->type) {
	case META_DIR:
		/* An existing name stays: if it is not a folder (a link planted
		 * since the scan), opening it for its entries fails. */
		if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
			return error_sys(err, "mkdir(%s) failed", abs);
		return 0;
	case META_FILE:
		if (whole_blob(e)) {
			it->create_on_write = 1;
			return 0;
		}
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return error_sys(err, "create(%s) failed", abs);
		/* Holes stay holes: the size is set, only data is written. */
		if (ftruncate(fd, (off_t)e->size) < 0) {
			close(fd);
			return error_sys(err, "truncate(%s) failed", abs);
		}
		close(fd);
		return 0;
	case META_SYMLINK:
		if (symlinkat(e->target ? e->target : "", dirfd, name) < 0)
			return error_sys(err, "symlink(%s) failed", abs);
		return 0;
	case META_HARDLINK:
		return 0; /* after the files */
	case META_FIFO:
		if (mkfifoat(dirfd, name, e->mode & 07777) < 0)
			return error_sys(err, "mkfifo(%s) failed", abs);
		return 0;
	case META_SOCK:
		return 0; /* sockets are not restorable; their folder is */
	default:
		if (mknodat(dirfd, name, e->mode, (dev_t)e->rdev) < 0)
			return error_sys(err, "mknod(%s) failed", abs);
		return 0;
	}
}

/* Counts and names a failure at `path`; called with the lock held. */
static void path_failed(struct restore *r, const char *path, const struct error *err)
{
	r->res->failed++;
	log_error("%s: %s", path, err->msg);
	if (r->first_failure == NULL)
		r->first_failure = xasprintf("%s: %s", *path ? path : ".", err->msg);
}

static void item_failed(struct restore *r, struct item *it, const struct error *err)
{
	pthread_mutex_lock(&r->lock);
	if (!it->failed) {
		it->failed = 1;
		path_failed(r, it->e.path, err);
	}
	pthread_mutex_unlock(&r->lock);
}

static int piece_cmp(const void *a, const void *b)
{
	const struct piece *p = a, *q = b;
	int c = memcmp(p->pack, q->pack, 32);

	return c ? c : (p->pe.offset > q->pe.offset) - (p->pe.offset < q->pe.offset);
}

static void restore_plan(struct restore *r, size_t i, size_t *cap)
{
	struct item *it = &r->items[i];
	uint64_t off = 0;
	size_t k;

	for (k = 0; k < it->e.nextents; k++) {
		static const uint8_t zero[32];
		const struct meta_extent *x = &it->e.extents[k];
		struct piece p = { .item = i, .file_off = off };

		off += x->len;
		if (memcmp(x->id, zero, 32) == 0)
			continue;
		if (!index_lookup(r->ix, x->id, &p.pe, &p.pack)) {
			struct error e;

			error_setk(&e, ERROR_NOTFOUND, "a blob of this file is missing from the store");
			item_failed(r, it, &e);
			continue;
		}
		if (r->npieces == *cap) {
			*cap = *cap ? *cap * 2 : 4096;
			r->pieces = xrealloc(r->pieces, xmul(*cap, sizeof(*r->pieces)));
		}
		r->pieces[r->npieces++] = p;
		r->total_bytes += x->len;
	}
}

/* Opened below the target's folder with no link followed (one call, from
 * any writer thread), so a folder of the path swapped for a link since it
 * was made fails the write instead of redirecting it. */
static void write_piece(struct restore *r, const struct piece *p, const struct buf *data)
{
	struct item *it = &r->items[p->item];
	struct error err;
	int fd = fsat_open(r->root_fd, it->e.path,
			   O_WRONLY | (it->create_on_write ? O_CREAT | O_TRUNC : 0), 0600);
	char *abs = NULL;

	if (fd < 0) {
		abs = restore_abs(r, it->e.path);
		if (errno == ELOOP)
			error_set(&err, "open(%s) failed: a part of the path is a symbolic link, "
				  "which coffer does not follow", abs);
		else
			error_sys(&err, "open(%s) failed", abs);
	}
	if (fd < 0 || fs_pwrite_all(fd, data->data, data->len, (off_t)p->file_off,
				    it->e.path, &err) < 0)
		item_failed(r, it, &err);
	if (fd >= 0)
		close(fd);
	free(abs);
}

/* Takes the next pack's run of pieces; reads the pack range once and
 * writes every blob to every file that needs it. */
static void *restore_worker(void *arg)
{
	struct restore *r = arg;
	struct backend *be = store_backend(store_unit_store(r->u));
	struct pack_reader *pr = pack_reader_open(r->u);
	struct buf range, blob;
	struct error err;

	buf_init(&range, 0);
	buf_init(&blob, 0);
	for (;;) {
		size_t first, last, k;
		uint64_t lo, hi;
		char *name;
		int ok, blob_ok;

		/* The next run of one pack's pieces: sorted by offset, each
		 * within RESTORE_GAP_MAX of the bytes read so far. */
		pthread_mutex_lock(&r->lock);
		first = r->next_piece;
		lo = hi = 0;
		if (first < r->npieces) {
			lo = r->pieces[first].pe.offset;
			hi = lo + BLOB_LEN(r->pieces[first].pe.len_flags);
		}
		for (last = first + (first < r->npieces); last < r->npieces; last++) {
			const struct piece *p = &r->pieces[last];
			uint64_t end = p->pe.offset + BLOB_LEN(p->pe.len_flags);

			if (memcmp(p->pack, r->pieces[first].pack, 32) != 0 ||
			    p->pe.offset > hi + RESTORE_GAP_MAX ||
			    (end > hi && end - lo > RESTORE_RUN_MAX))
				break;
			if (end > hi)
				hi = end;
		}
		r->next_piece = last;
		pthread_mutex_unlock(&r->lock);
		if (first == r->npieces)
			break;
		name = pack_name(r->u, r->pieces[first].pack);
		buf_reset(&range);
		ok = backend_get_range(be, name, lo, (size_t)(hi - lo),
				       buf_extend(&range, (size_t)(hi - lo)), &err) == 0;
		blob_ok = ok;
		for (k = first; k < last; k++) {
			const struct piece *p = &r->pieces[k];

			/* Pieces are sorted by offset: a blob used by several files
			 * is decrypted once. */
			if (!ok) /* a damaged pack: try its blobs one by one */
				blob_ok = blob_fetch(r->u, r->ix, pr, p->pe.id, 0, &blob, &err) == 0;
			else if (k == first || p->pe.offset != r->pieces[k - 1].pe.offset) {
				char *what = xasprintf("blob at %u in pack %s", p->pe.offset, name);

				blob_ok = pack_reader_blob(pr, p->pack, &p->pe,
							   range.data + (p->pe.offset - lo), 0, &blob,
							   what, &err) == 0;
				free(what);
				/* Damaged on the way, or an overwritten pack: the
				 * blob alone, read again or from an older version. */
				if (!blob_ok && err.code == ERROR_CORRUPT)
					blob_ok = blob_fetch(r->u, r->ix, pr, p->pe.id, 0, &blob,
							     &err) == 0;
			}
			if (!blob_ok) {
				item_failed(r, &r->items[p->item], &err);
				continue;
			}
			write_piece(r, p, &blob);
			pthread_mutex_lock(&r->lock);
			r->done_bytes += blob.len;
			progress_update(&r->prog, k, r->done_bytes);
			if (r->o->bytes)
				r->o->bytes(r->o->ctx, r->done_bytes, r->total_bytes);
			pthread_mutex_unlock(&r->lock);
		}
		free(name);
	}
	buf_clear(&range);
	buf_clear(&blob);
	pack_reader_close(&pr);
	return NULL;
}

static void restore_content(struct restore *r)
{
	pthread_t threads[16];
	long n = r->o->threads > 0 ? r->o->threads : sysconf(_SC_NPROCESSORS_ONLN);
	int started = 0, i, parallel = store_backend(store_unit_store(r->u))->parallel;

	/* An object store answers after a round trip: keep as many reads in
	 * flight as it wants (COFFER_S3_CONNECTIONS), not one per core. */
	if (r->o->threads <= 0 && parallel > n)
		n = parallel;
	if (n < 1)
		n = 1;
	if (n > 16)
		n = 16;
	if (r->npieces == 0)
		return;
	qsort(r->pieces, r->npieces, sizeof(*r->pieces), piece_cmp);
	for (i = 0; i < n; i++)
		if (pthread_create(&threads[i], NULL, restore_worker, r) == 0)
			started++;
	if (started == 0)
		restore_worker(r);
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
}

/* Creates what is missing or must be replaced, plans content. Failures
 * are per entry (named, counted); the rest goes on. */
static void restore_build(struct restore *r)
{
	size_t i, cap = 0;

	for (i = 0; i < r->n; i++)
		if (r->items[i].state == ST_MISSING || r->items[i].state == ST_REPLACE)
			touch_parent(r, r->items[i].e.path);
	for (i = 0; i < r->n; i++) {
		struct item *it = &r->items[i];
		const char *name;
		char *abs;
		struct error e;
		int dirfd;

		if (it->state == ST_SAME) {
			r->res->unchanged++;
			continue;
		}
		if (it->state == ST_ATTRS) {
			report(r, "attrs", it->e.path);
			continue;
		}
		report(r, it->e.type == META_DIR ? "mkdir" :
			  it->e.type == META_HARDLINK ? "link" : "write", it->e.path);
		if (it->e.type == META_FILE) {
			r->res->written_files++;
			r->res->written_bytes += it->e.size;
		}
		if (r->o->dry_run || (dirfd = item_dir(r, it, &name)) < 0)
			continue;
		abs = restore_abs(r, it->e.path);
		if (it->state == ST_REPLACE && it->e.type != META_HARDLINK && *it->e.path)
			fsat_dirs_forget(r->dirs, it->e.path); /* no fd of what goes */
		if (it->state == ST_REPLACE && it->e.type != META_HARDLINK && *it->e.path &&
		    fsat_remove_tree(dirfd, name, abs, &e) < 0)
			item_failed(r, it, &e);
		else if (restore_create(it, dirfd, name, abs, &e) < 0)
			item_failed(r, it, &e);
		else if (it->e.type == META_FILE)
			restore_plan(r, i, &cap);
		free(abs);
	}
}

/* A file whose content could not be restored is removed rather than left
 * looking restored with zeros in it. */
static void restore_drop_failed(struct restore *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		struct item *it = &r->items[i];
		struct error e;
		const char *name;
		int dirfd;

		if (!it->failed || it->e.type != META_FILE || it->state == ST_SAME ||
		    it->state == ST_ATTRS)
			continue;
		dirfd = fsat_dirs_parent(r->dirs, it->e.path, &name, &e);
		if (dirfd >= 0)
			unlinkat(dirfd, name, 0);
		report(r, "failed", it->e.path);
	}
}

static void restore_links(struct restore *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		struct item *it = &r->items[i];
		const char *name, *first_name;
		char *abs, *first;
		struct error e;
		int dirfd, first_fd;

		if (it->e.type != META_HARDLINK || it->state == ST_SAME || it->e.target == NULL)
			continue;
		abs = restore_abs(r, it->e.path);
		first = restore_abs(r, it->e.target);
		/* Both folders opened below the target with no link followed. */
		dirfd = fsat_open_parent(r->root_fd, it->e.path, &name);
		first_fd = dirfd < 0 ? -1 : fsat_open_parent(r->root_fd, it->e.target, &first_name);
		if (dirfd < 0 || first_fd < 0)
			item_failed(r, it, (error_sys(&e, "link(%s, %s) failed: cannot open the "
						      "folder", first, abs), &e));
		else if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			item_failed(r, it, (error_sys(&e, "unlink(%s) failed", abs), &e));
		else if (linkat(first_fd, first_name, dirfd, name, 0) < 0)
			item_failed(r, it, (error_sys(&e, "link(%s, %s) failed", first, abs), &e));
		if (dirfd >= 0)
			close(dirfd);
		if (first_fd >= 0)
			close(first_fd);
		free(abs);
		free(first);
	}
}

static void restore_item_attrs(struct restore *r, struct item *it)
{
	const char *name;
	struct error e;
	char *abs;
	int dirfd;

	if (it->state == ST_SAME || it->failed || it->e.type == META_HARDLINK ||
	    it->e.type == META_SOCK || (dirfd = item_dir(r, it, &name)) < 0)
		return;
	abs = restore_abs(r, it->e.path);
	if (fsmeta_apply(r->fw, &it->e, dirfd, name, abs, it->state != ST_ATTRS, &e) < 0)
		item_failed(r, it, &e);
	else if (it->state == ST_ATTRS)
		r->res->attrs_fixed++;
	free(abs);
}

/* Owner, mode, xattrs and times; folders last and deepest first, since
 * writing inside a folder changes its mtime. */
static void restore_attrs(struct restore *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->items[i].e.type != META_DIR)
			restore_item_attrs(r, &r->items[i]);
	for (i = r->n; i-- > 0;)
		if (r->items[i].e.type == META_DIR)
			restore_item_attrs(r, &r->items[i]);
}

static int item_dir(struct restore *r, struct item *it, const char **name_r)
{
	struct error e;
	int dirfd = fsat_dirs_parent(r->dirs, it->e.path, name_r, &e);

	if (dirfd < 0)
		item_failed(r, it, &e);
	return dirfd;
}

static void restore_skip_segment(void *ctx, const char *name, const struct error *err)
{
	(void)ctx;
	log_error("index segment %s left out: %s", name, err->msg);
}

int restore_run(struct store *s, const struct restore_opts *o, struct restore_result *res,
		struct error *err)
{
	struct restore r = { .o = o, .res = res, .root_fd = -1 };
	int ret = -1;

	memset(res, 0, sizeof(*res));
	pthread_mutex_init(&r.lock, NULL);
	r.fw = fsmeta_writer_create(o->numeric_owner);
	if (tree_resolve(s, o->rp, &r.u, &r.rp, err) < 0)
		goto out;
	r.root = o->target ? xstrdup(o->target) : xstrdup(r.rp->source);
	if (!o->target && !o->in_place) {
		error_setk(err, ERROR_USAGE, "restore needs --to DIR or --in-place");
		goto out;
	}
	r.ix = index_open_tolerant(r.u, restore_skip_segment, NULL, err);
	if (r.ix == NULL || erasure_set_load(r.u, &r.es, err) < 0 || restore_load(&r, err) < 0)
		goto out;
	res->entries = r.n;
	res->withheld = erasure_set_withheld(r.es);
	res->withheld_by = erasure_set_report_text(r.es);
	/* Opened once (made if missing, unless a dry run); everything below
	 * it goes through folder fds, never through a link. */
	r.root_fd = fsat_open_root(o->beneath, r.root, !o->dry_run, err);
	if (r.root_fd < 0 && !(o->dry_run && err->code == ERROR_NOTFOUND)) {
		error_prefix(err, "cannot write into %s", r.root);
		goto out;
	}
	r.dirs = fsat_dirs_open(r.root_fd, r.root);
	if (restore_scan(&r, err) < 0)
		goto out;
	restore_build(&r);
	if (!o->dry_run) {
		progress_init(&r.prog, "restore", r.total_bytes, o->quiet);
		if (o->bytes)
			o->bytes(o->ctx, 0, r.total_bytes);
		restore_content(&r);
		progress_done(&r.prog);
		restore_links(&r);
		restore_attrs(&r);
		restore_drop_failed(&r);
		res->not_applied = fsmeta_writer_summary(r.fw);
	}
	if (res->failed) {
		error_set(err, "%llu of %llu entries could not be restored (first: %s)",
			  (unsigned long long)res->failed, (unsigned long long)res->entries,
			  r.first_failure ? r.first_failure : "?");
		goto out;
	}
	ret = 0;
out:
	for (size_t i = 0; i < r.n; i++)
		meta_entry_clear(&r.items[i].e);
	free(r.items);
	free(r.pieces);
	fsat_dirs_close(&r.dirs);
	if (r.root_fd >= 0)
		close(r.root_fd);
	free(r.root);
	free(r.first_failure);
	for (size_t i = 0; i < r.nheld; i++)
		free(r.held[i].path);
	free(r.held);
	erasure_set_free(&r.es);
	fsmeta_writer_destroy(&r.fw);
	index_close(&r.ix);
	rp_free(&r.rp);
	store_unit_close(&r.u);
	pthread_mutex_destroy(&r.lock);
	if (ret < 0)
		error_prefix(err, "restore of %s", o->rp);
	return ret;
}
