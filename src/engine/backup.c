#include "backup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "engine/fsmeta.h"
#include "engine/meta.h"
#include "engine/point_writer.h"
#include "engine/tree.h"
#include "engine/walk.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsat.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/progress.h"
#include "store/chunker.h"

#define QUEUE_CAP 4096
#define TASKS_MAX 8 /* chunks handed to idle workers, at most 64 MiB */
#define WAKE_BATCH 8 /* small files queued before an idle worker is woken */

struct job {
	struct meta_entry e;     /* e.path: where to open it below the root */
	char *abs;
	struct stat st; /* from the walk */
	int need_read;
	int reading;     /* a worker is still reading the file */
	size_t pending;  /* its chunks other workers still process */
	int done;
	int skip;
	char *warning;
};

/* A chunk of a file that the reading worker hands to an idle one, so one
 * large file keeps every core busy hashing, compressing and encrypting. */
struct chunk_task {
	struct job *j;
	size_t index; /* extent slot */
	uint8_t *data;
	size_t len;
	struct chunk_task *next;
};

struct backup {
	struct point_writer *pw;
	const struct backup_opts *o;
	int root_fd; /* the unit's folder: every open below it is relative */

	pthread_mutex_t lock;
	pthread_cond_t work_cv, done_cv;
	struct job *ring[QUEUE_CAP];
	size_t head, tail, next;
	size_t unclaimed; /* files queued that no worker has taken yet */
	struct chunk_task *tasks, *tasks_tail;
	size_t ntasks;
	int idle; /* workers waiting for work */
	int stop;
	int failed;
	struct error fail;

	struct fsmeta_links *links;
	struct fsmeta_reader *fr; /* xattrs and owner names of the walk's entries */
	struct tree_reader *parent;
	struct meta_entry *pe; /* current parent entry, NULL at its end */
	struct point_totals stats;
	uint64_t reused;
	struct progress prog;
};

struct worker {
	struct backup *b;
	pthread_t thread;
	struct point_stream *ps;
	struct buf data;
};

static void backup_warn(struct backup *b, const char *msg)
{
	point_writer_warn(b->pw, msg);
}

static void walk_warn(void *ctx, const char *msg) { backup_warn(ctx, msg); }

static void backup_fail(struct backup *b, const struct error *err)
{
	pthread_mutex_lock(&b->lock);
	if (!b->failed) {
		b->failed = 1;
		b->fail = *err;
	}
	b->stop = 1;
	pthread_cond_broadcast(&b->work_cv);
	pthread_cond_broadcast(&b->done_cv);
	pthread_mutex_unlock(&b->lock);
}

/* The job is done once its file is read and its chunks are stored.
 * Called with the lock held. */
static void job_settle(struct backup *b, struct job *j)
{
	if (!j->reading && j->pending == 0) {
		j->done = 1;
		/* The main thread only ever waits for the head of the queue:
		 * waking it for any other job is a wasted context switch. */
		if (b->head < b->tail && b->ring[b->head % QUEUE_CAP] == j)
			pthread_cond_signal(&b->done_cv);
	}
}

/* Stores one chunk: hands it to an idle worker when there is one, else
 * stores it here. Its extent slot is reserved now, in file order. */
static int chunk_emit(struct worker *w, struct job *j, const uint8_t *data, size_t n,
		      struct error *err)
{
	static const uint8_t zero[32];
	struct backup *b = w->b;
	struct chunk_task *t = NULL;
	uint8_t id[32];
	size_t idx;
	int offload;

	pthread_mutex_lock(&b->lock);
	idx = j->e.nextents;
	meta_entry_add_extent(&j->e, zero, (uint32_t)n);
	offload = b->idle > 0 && b->ntasks < TASKS_MAX;
	if (offload)
		j->pending++;
	pthread_mutex_unlock(&b->lock);
	if (offload) {
		t = xcalloc(1, sizeof(*t));
		t->j = j;
		t->index = idx;
		t->len = n;
		t->data = xmalloc(n);
		memcpy(t->data, data, n);
		pthread_mutex_lock(&b->lock);
		if (b->tasks_tail)
			b->tasks_tail->next = t;
		else
			b->tasks = t;
		b->tasks_tail = t;
		b->ntasks++;
		pthread_cond_signal(&b->work_cv);
		pthread_mutex_unlock(&b->lock);
		return 0;
	}
	if (point_stream_put(w->ps, data, n, id, err) < 0)
		return -1;
	pthread_mutex_lock(&b->lock);
	memcpy(j->e.extents[idx].id, id, 32);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

/* Stores a chunk another worker handed over (called with the lock held;
 * drops it while working). */
static int worker_task(struct worker *w, struct chunk_task *t, struct error *err)
{
	struct backup *b = w->b;
	uint8_t id[32];
	int ret;

	pthread_mutex_unlock(&b->lock);
	ret = point_stream_put(w->ps, t->data, t->len, id, err);
	pthread_mutex_lock(&b->lock);
	if (ret == 0)
		memcpy(t->j->e.extents[t->index].id, id, 32);
	t->j->pending--;
	job_settle(b, t->j);
	free(t->data);
	free(t);
	return ret;
}

/* Chunks and stores data[0..len), appending extents. Keeps the tail that
 * may still grow into a chunk unless `final`. Returns bytes consumed. */
static int worker_chunks(struct worker *w, struct job *j, int final, size_t *used_r,
			 struct error *err)
{
	const struct chunker *ch = point_writer_chunker(w->b->pw);
	size_t off = 0;

	while (w->data.len - off > 0 && (final || w->data.len - off >= ch->p.max)) {
		size_t n = chunker_next(ch, w->data.data + off, w->data.len - off);

		if (chunk_emit(w, j, w->data.data + off, n, err) < 0)
			return -1;
		off += n;
	}
	*used_r = off;
	return 0;
}

static void add_hole(struct meta_entry *e, uint64_t len)
{
	static const uint8_t zero[32];

	while (len > 0) {
		uint32_t n = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;

		meta_entry_add_extent(e, zero, n);
		len -= n;
	}
}

/* Reads [off, end) of the file (end = UINT64_MAX: to EOF); returns the
 * position reached. */
static int worker_read_range(struct worker *w, struct job *j, int fd, uint64_t off, uint64_t end,
			     uint64_t *pos_r, struct error *err)
{
	const size_t step = 4u << 20;
	size_t used_final;

	buf_reset(&w->data);
	for (;;) {
		size_t want = step, used;
		ssize_t n;

		if (end != UINT64_MAX && end - off < want)
			want = (size_t)(end - off);
		if (want == 0)
			break;
		if (buf_reserve(&w->data, want, err) < 0)
			return -1;
		n = pread(fd, w->data.data + w->data.len, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* An unreadable source file is a warning, not a failed backup. */
			j->warning = xasprintf("read(%s) failed: %s; not in this restore point",
					       j->abs, strerror(errno));
			j->skip = 1;
			return 0;
		}
		if (n == 0)
			break;
		w->data.len += (size_t)n;
		off += (uint64_t)n;
		if (worker_chunks(w, j, 0, &used, err) < 0)
			return -1;
		memmove(w->data.data, w->data.data + used, w->data.len - used);
		w->data.len -= used;
	}
	*pos_r = off;
	return worker_chunks(w, j, 1, &used_final, err);
}

/* Sparse files: store only the data regions, holes as zero extents. */
static int worker_read_sparse(struct worker *w, struct job *j, int fd, uint64_t size,
			      uint64_t *pos_r, struct error *err)
{
	uint64_t pos = 0;

	while (pos < size) {
		off_t data = lseek(fd, (off_t)pos, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			data = (off_t)size;
		else if (data < 0)
			return error_sys(err, "lseek(%s) failed", j->abs);
		if ((uint64_t)data > pos) {
			pthread_mutex_lock(&w->b->lock);
			add_hole(&j->e, (uint64_t)data - pos);
			pthread_mutex_unlock(&w->b->lock);
			pos = (uint64_t)data;
		}
		if (pos >= size)
			break;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return error_sys(err, "lseek(%s) failed", j->abs);
		if (worker_read_range(w, j, fd, pos, (uint64_t)hole, &pos, err) < 0)
			return -1;
		if (j->skip)
			return 0;
	}
	*pos_r = pos;
	return 0;
}

static int same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}


/* Reads and stores one file. The walk's lstat is the "before": if the
 * file's fstat after reading differs, it changed (or was replaced) while
 * read, which is recorded as a warning with the metadata seen last. */
static int worker_file(struct worker *w, struct job *j, struct error *err)
{
	const struct stat *before = &j->st;
	struct stat after;
	uint64_t pos = 0;
	int fd, ret;

	/* Below the unit's folder, never through a link: a folder of the path
	 * swapped for one since the walk saw the file fails the open. */
	fd = fsat_open(w->b->root_fd, j->e.path, O_RDONLY | O_NOATIME, 0);
	if (fd < 0 && errno == EPERM)
		fd = fsat_open(w->b->root_fd, j->e.path, O_RDONLY, 0);
	if (fd < 0) {
		j->warning = xasprintf("cannot read %s: %s; not in this restore point", j->abs,
				       strerror(errno));
		j->skip = 1;
		return 0;
	}
	if (before->st_blocks * 512 < before->st_size)
		ret = worker_read_sparse(w, j, fd, (uint64_t)before->st_size, &pos, err);
	else
		ret = worker_read_range(w, j, fd, 0, (uint64_t)before->st_size, &pos, err);
	if (ret == 0 && !j->skip && fstat(fd, &after) == 0 && !same_stat(before, &after)) {
		j->warning = xasprintf("%s changed while it was read; the restore point holds "
				       "the bytes as read", j->abs);
		fsmeta_from_stat(&j->e, &after);
	}
	close(fd);
	j->e.size = pos;
	if (j->e.nextents && (j->e.flags & META_FLAG_SPARSE) == 0 &&
	    before->st_blocks * 512 < before->st_size)
		j->e.flags |= META_FLAG_SPARSE;
	return ret;
}

/* Takes the next file to read, skipping entries that need no reading;
 * NULL when there is none. Called with the lock held. */
static struct job *next_file(struct backup *b)
{
	/* Jobs before head were written out and freed by the main thread. */
	if (b->next < b->head)
		b->next = b->head;
	while (b->next < b->tail) {
		struct job *j = b->ring[b->next++ % QUEUE_CAP];

		if (j->need_read) {
			b->unclaimed--;
			return j;
		}
	}
	return NULL;
}

/* Handed-over chunks first (they hold memory and a file waits for them),
 * then the next file. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct backup *b = w->b;
	struct error err;
	int ret = 0;

	error_init(&err);
	pthread_mutex_lock(&b->lock);
	while (ret == 0 && !b->failed) {
		struct chunk_task *t = b->tasks;
		struct job *j;

		if (t != NULL) {
			b->tasks = t->next;
			if (b->tasks == NULL)
				b->tasks_tail = NULL;
			b->ntasks--;
			ret = worker_task(w, t, &err);
		} else if ((j = next_file(b)) != NULL) {
			j->reading = 1;
			pthread_mutex_unlock(&b->lock);
			ret = worker_file(w, j, &err);
			pthread_mutex_lock(&b->lock);
			j->reading = 0;
			job_settle(b, j);
		} else if (b->stop) {
			break;
		} else {
			b->idle++;
			pthread_cond_wait(&b->work_cv, &b->lock);
			b->idle--;
		}
	}
	pthread_mutex_unlock(&b->lock);
	if (ret < 0)
		backup_fail(b, &err);
	else if (!b->failed && point_stream_flush(w->ps, &err) < 0)
		backup_fail(b, &err);
	return NULL;
}

static void entry_read_xattrs(struct backup *b, struct meta_entry *e, int dirfd,
			      const char *name, const char *abs)
{
	char *msg = fsmeta_reader_read(b->fr, e, dirfd, name, abs);

	if (msg)
		backup_warn(b, msg);
	free(msg);
}

/* Advances the parent point to `rel`; returns its entry if it has one. A
 * damaged parent only costs re-reading files: it is dropped with a warning. */
static void parent_find(struct backup *b, const char *rel, struct meta_entry **pe_r)
{
	struct error err;
	int c, r;

	*pe_r = NULL;
	while (b->pe != NULL && (c = meta_path_cmp(b->pe->path, rel)) <= 0) {
		if (c == 0) {
			*pe_r = b->pe;
			return;
		}
		r = tree_reader_next(b->parent, &b->pe, &err);
		if (r < 0)
			log_warn("%s; reading the remaining files again", err.msg);
		if (r <= 0)
			b->pe = NULL;
	}
}

static int parent_unchanged(const struct meta_entry *pe, const struct stat *st)
{
	return pe->type == META_FILE && pe->size == (uint64_t)st->st_size &&
	       pe->mtime_s == st->st_mtim.tv_sec && pe->mtime_ns == (uint32_t)st->st_mtim.tv_nsec &&
	       pe->ctime_s == st->st_ctim.tv_sec && pe->ctime_ns == (uint32_t)st->st_ctim.tv_nsec &&
	       pe->ino == (uint64_t)st->st_ino;
}

/* A job for the walk's current item: `name` in the folder dirfd. */
static struct job *backup_make_job(struct backup *b, const char *rel, const char *abs,
				   const struct stat *st, int dirfd, const char *name)
{
	struct job *j = xcalloc(1, sizeof(*j));
	struct meta_entry *pe;
	const char *first;

	j->e.path = xstrdup(rel);
	j->e.type = fsmeta_type(st->st_mode);
	fsmeta_from_stat(&j->e, st);
	entry_read_xattrs(b, &j->e, dirfd, name, abs);
	if (j->e.type == META_SYMLINK) {
		char target[PATH_MAX + 1];
		ssize_t n = readlinkat(dirfd, name, target, PATH_MAX);

		if (n < 0) {
			j->warning = xasprintf("cannot read link %s: %s", abs, strerror(errno));
			j->skip = 1;
		} else {
			j->e.target = xstrndup(target, (size_t)n);
		}
	}
	if (j->e.type == META_DIR)
		b->stats.dirs++;
	if (j->e.type != META_FILE)
		return j;
	b->stats.files++;
	if (st->st_nlink > 1 && (first = fsmeta_links_first(b->links, st, rel)) != NULL) {
		j->e.type = META_HARDLINK;
		j->e.target = xstrdup(first);
		return j;
	}
	b->stats.bytes += (uint64_t)st->st_size;
	parent_find(b, rel, &pe);
	if (pe && parent_unchanged(pe, st)) {
		size_t i;

		for (i = 0; i < pe->nextents; i++)
			meta_entry_add_extent(&j->e, pe->extents[i].id, pe->extents[i].len);
		j->e.flags = pe->flags;
		b->reused++;
		return j;
	}
	if (st->st_size > 0) {
		j->need_read = 1;
		j->abs = xstrdup(abs);
		j->st = *st;
	}
	return j;
}

/* Writes finished jobs at the head of the queue into the metadata stream,
 * in walk order. With `all`, waits for every job. */
static int backup_drain(struct backup *b, int all, struct error *err)
{
	pthread_mutex_lock(&b->lock);
	for (;;) {
		struct job *j;

		while (!b->failed && b->head < b->tail && !b->ring[b->head % QUEUE_CAP]->done &&
		       (all || b->tail - b->head == QUEUE_CAP)) {
			if (b->unclaimed > 0)
				pthread_cond_broadcast(&b->work_cv);
			pthread_cond_wait(&b->done_cv, &b->lock);
		}
		if (b->failed) {
			pthread_mutex_unlock(&b->lock);
			*err = b->fail;
			return -1;
		}
		if (b->head == b->tail || !b->ring[b->head % QUEUE_CAP]->done)
			break;
		j = b->ring[b->head++ % QUEUE_CAP];
		pthread_mutex_unlock(&b->lock);
		if (j->warning)
			backup_warn(b, j->warning);
		if (!j->skip && point_writer_add(b->pw, &j->e, err) < 0) {
			backup_fail(b, err);
			return -1;
		}
		meta_entry_clear(&j->e);
		free(j->abs);
		free(j->warning);
		free(j);
		pthread_mutex_lock(&b->lock);
	}
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static int backup_push(struct backup *b, struct job *j, struct error *err)
{
	if (!j->need_read)
		j->done = 1;
	pthread_mutex_lock(&b->lock);
	b->ring[b->tail++ % QUEUE_CAP] = j;
	/* Waking a worker costs two context switches: do it for a large file
	 * or a batch of small ones, not for each entry (folders and unchanged
	 * files need no worker at all). backup_drain() wakes them before it
	 * waits, so nothing queued is left unclaimed. */
	if (j->need_read && (++b->unclaimed >= WAKE_BATCH || j->st.st_size >= (1 << 20)))
		pthread_cond_signal(&b->work_cv);
	pthread_mutex_unlock(&b->lock);
	return backup_drain(b, 0, err);
}

static int backup_walk(struct backup *b, struct error *err)
{
	struct walker *w = walker_open(b->root_fd, b->o->path, walk_warn, b, err);
	const char *rel, *abs, *name;
	struct stat st;
	uint64_t items = 0;
	int ret = 0;

	if (w == NULL)
		return -1;
	while (ret == 0 && (ret = walker_next(w, &rel, &abs, &st, err)) == 1) {
		int dirfd = walker_at(w, &name);

		ret = backup_push(b, backup_make_job(b, rel, abs, &st, dirfd, name), err);
		progress_update(&b->prog, ++items, b->stats.bytes);
		if (ret == 0)
			ret = point_writer_checkpoint(b->pw, err);
	}
	walker_close(&w);
	return ret;
}

/* The parent point's tree, merge-joined with the walk so unchanged files
 * are not read again. A damaged parent only costs re-reading everything. */
static void backup_open_parent(struct backup *b)
{
	const struct rp *last;
	struct error err;
	int ret = point_writer_parent(b->pw, &last, &err);

	if (ret == 1) {
		b->parent = tree_reader_open(point_writer_unit(b->pw), point_writer_index(b->pw),
					     last, &err);
		ret = b->parent ? tree_reader_next(b->parent, &b->pe, &err) : -1;
		if (ret == 0)
			b->pe = NULL;
		else if (ret == 1)
			ret = 0;
		b->prog.total_bytes = last->stats.bytes;
	}
	if (ret < 0) {
		log_warn("%s; reading every file again", err.msg);
		tree_reader_close(&b->parent);
		b->pe = NULL;
	}
}

static int backup_threads(const struct backup_opts *o)
{
	long n = o->threads > 0 ? o->threads : sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 16 ? 16 : (int)n;
}

/* Walks and stores everything; the point is committed by the caller. */
static int backup_body(struct backup *b, struct error *err)
{
	struct worker workers[16];
	int n = backup_threads(b->o), i, started = 0, ret = 0;

	for (i = 0; i < n; i++) {
		workers[i] = (struct worker){ .b = b };
		workers[i].ps = point_writer_stream(b->pw);
		buf_init(&workers[i].data, 0);
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0)
			break;
		started++;
	}
	backup_open_parent(b);
	ret = backup_walk(b, err);
	if (ret == 0)
		ret = backup_drain(b, 1, err);
	if (ret < 0)
		backup_fail(b, err);
	pthread_mutex_lock(&b->lock);
	b->stop = 1;
	pthread_cond_broadcast(&b->work_cv);
	pthread_mutex_unlock(&b->lock);
	for (i = 0; i < started; i++)
		pthread_join(workers[i].thread, NULL);
	if (ret == 0 && b->failed) {
		*err = b->fail;
		ret = -1;
	}
	for (i = 0; i < started; i++)
		buf_clear(&workers[i].data);
	return ret;
}

static void backup_free_queue(struct backup *b)
{
	size_t i;

	while (b->tasks) {
		struct chunk_task *t = b->tasks;

		b->tasks = t->next;
		free(t->data);
		free(t);
	}
	for (i = b->head; i < b->tail; i++) {
		struct job *j = b->ring[i % QUEUE_CAP];

		meta_entry_clear(&j->e);
		free(j->abs);
		free(j->warning);
		free(j);
	}
}

int backup_run(struct store *s, const struct backup_opts *o, struct backup_result *res,
	       struct error *err)
{
	struct backup b = { .o = o };
	struct point_writer_opts po = { .unit = o->unit, .time_ns = o->time_ns,
					.keep_seconds = o->keep_seconds,
					.retain_seconds = o->retain_seconds,
					.fence = o->fence };
	struct point_result pr;
	char *real;
	int ret = -1;

	/* Opened once; the walk and the reads go through it. */
	b.root_fd = fsat_open_root(o->beneath, o->path, 0, err);
	if (b.root_fd < 0)
		return error_prefix(err, "backup of %s as %s failed", o->path, o->unit);
	real = realpath(o->path, NULL);
	if (real == NULL) {
		close(b.root_fd);
		return error_sys(err, "cannot back up %s", o->path);
	}
	po.source = real;
	b.pw = point_writer_open(s, &po, err);
	if (b.pw == NULL) {
		close(b.root_fd);
		free(real);
		return -1;
	}
	pthread_mutex_init(&b.lock, NULL);
	pthread_cond_init(&b.work_cv, NULL);
	pthread_cond_init(&b.done_cv, NULL);
	progress_init(&b.prog, "backup", 0, o->quiet);
	b.links = fsmeta_links_new();
	b.fr = fsmeta_reader_create();
	if (point_writer_begin(b.pw, err) < 0)
		goto out;
	ret = backup_body(&b, err);
	if (ret == 0) {
		/* Once per backup, not once per file. */
		char *denied = fsmeta_reader_summary(b.fr);

		if (denied)
			backup_warn(&b, denied);
		free(denied);
		point_writer_set_totals(b.pw, &b.stats);
		ret = point_writer_commit(b.pw, &pr, err);
	}
	if (ret == 0) {
		memset(&res->stats, 0, sizeof(res->stats));
		res->seq = pr.seq;
		res->stats.files = pr.totals.files;
		res->stats.dirs = pr.totals.dirs;
		res->stats.bytes = pr.totals.bytes;
		res->stats.new_blobs = pr.new_blobs;
		res->stats.new_bytes = pr.new_bytes;
		res->stats.stored_bytes = pr.stored_bytes;
		res->stats.incompressible_bytes = pr.incompressible_bytes;
		res->reused_files = b.reused;
		res->nwarnings = pr.nwarnings;
	}
out:
	progress_done(&b.prog);
	backup_free_queue(&b);
	tree_reader_close(&b.parent);
	/* Ends a session that did not commit (its end marker). */
	point_writer_close(&b.pw);
	fsmeta_links_free(&b.links);
	fsmeta_reader_destroy(&b.fr);
	pthread_mutex_destroy(&b.lock);
	pthread_cond_destroy(&b.work_cv);
	pthread_cond_destroy(&b.done_cv);
	free(real);
	close(b.root_fd);
	if (ret < 0)
		error_prefix(err, "backup of %s as %s failed", o->path, o->unit);
	return ret;
}
