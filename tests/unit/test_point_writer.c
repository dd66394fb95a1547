/* The point writer (src/engine/point_writer.h), the one way a restore
 * point is written: an aborted or killed writer leaves no point and does
 * not break the chain; the next commit is the next number, chained to the
 * last point; a source that knows nothing changed gets the parent's tree;
 * content cuts the same however its bytes arrive. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/check.h"
#include "engine/meta.h"
#include "engine/point_writer.h"
#include "engine/tree.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/mem.h"
#include "store/index.h"
#include "store/pack.h"
#include "store/rp.h"
#include "store/store.h"

#include "harness.h"

#define UNIT "mbx"
#define BODY_LEN (3u << 20)

struct pfx {
	struct th_store ts;
	struct store *s;
	uint8_t *body; /* a file's content */
};

static int pfx_setup(struct pfx *f)
{
	memset(f, 0, sizeof(*f));
	f->s = th_store_new(&f->ts);
	CHECK(f->s != NULL);
	f->body = th_random(22, BODY_LEN);
	return 0;
out:
	return -1;
}

static void pfx_clear(struct pfx *f)
{
	store_close(&f->s);
	free(f->body);
}

static void dir_entry(struct meta_entry *e, const char *path)
{
	memset(e, 0, sizeof(*e));
	e->type = META_DIR;
	e->path = xstrdup(path);
	e->mode = 0700;
	e->mtime_s = 1700000000;
}

/* Writes one point of UNIT: the root, folder "in" with file "in/a" (the
 * body) and a link, through a writer begun on store s; with `commit` 0,
 * stores everything and aborts instead. Fills *res on a commit. */
static int write_point(struct store *s, const uint8_t *body, int commit, const char *state,
		       struct point_result *res, struct error *err)
{
	struct point_writer_opts o = { .unit = UNIT, .source = "test:" UNIT,
				       .time_ns = 1700000000000000000LL };
	struct point_writer *pw = point_writer_open(s, &o, err);
	struct point_stream *ps;
	struct meta_entry root, dir, file, link;
	struct point_totals t = { .files = 1, .dirs = 2, .bytes = BODY_LEN };
	int ret = -1;

	dir_entry(&root, "");
	dir_entry(&dir, "in");
	memset(&file, 0, sizeof(file));
	file.type = META_FILE;
	file.path = xstrdup("in/a");
	file.mode = 0600;
	file.size = BODY_LEN;
	memset(&link, 0, sizeof(link));
	link.type = META_SYMLINK;
	link.path = xstrdup("in/b");
	link.target = xstrdup("a");
	meta_entry_add_xattr(&file, "user.imap.flags", "\\Seen", 5);
	if (pw == NULL || point_writer_begin(pw, err) < 0)
		goto out;
	ps = point_writer_stream(pw);
	if (point_stream_write(ps, &file, body, BODY_LEN, err) < 0 ||
	    point_stream_end(ps, &file, err) < 0 || point_stream_flush(ps, err) < 0 ||
	    point_writer_add(pw, &root, err) < 0 || point_writer_add(pw, &dir, err) < 0 ||
	    point_writer_add(pw, &file, err) < 0 || point_writer_add(pw, &link, err) < 0)
		goto out;
	point_writer_warn(pw, "a warning the point keeps");
	if (state)
		point_writer_set_source_state(pw, state);
	point_writer_set_totals(pw, &t);
	if (commit)
		ret = point_writer_commit(pw, res, err);
	else
		ret = 0;
out:
	point_writer_close(&pw); /* aborts an uncommitted writer */
	meta_entry_clear(&root);
	meta_entry_clear(&dir);
	meta_entry_clear(&file);
	meta_entry_clear(&link);
	return ret;
}

static size_t count_points(struct store *s)
{
	struct store_unit *u;
	struct error err;
	uint32_t *seqs = NULL;
	size_t n = 0;

	u = store_unit_open(s, UNIT, 0, &err);
	if (u && rp_list(u, &seqs, &n, &err) < 0)
		n = (size_t)-1;
	free(seqs);
	store_unit_close(&u);
	return n;
}

/* Writer markers of the unit: started ones and ended ones. */
static void count_markers(struct pfx *f, int *started_r, int *ended_r)
{
	struct store_unit *u;
	struct error err;
	struct dirent *d;
	char *rel, *dir;
	DIR *dh;

	*started_r = *ended_r = 0;
	u = store_unit_open(f->s, UNIT, 0, &err);
	if (u == NULL)
		return;
	rel = store_unit_path(u, "sessions");
	dir = fs_join(f->ts.root, rel);
	dh = opendir(dir);
	while (dh && (d = readdir(dh)) != NULL) {
		size_t n = strlen(d->d_name);

		if (d->d_name[0] == '.')
			continue;
		if (n > 4 && strcmp(d->d_name + n - 4, ".end") == 0)
			(*ended_r)++;
		else
			(*started_r)++;
	}
	if (dh)
		closedir(dh);
	free(rel);
	free(dir);
	store_unit_close(&u);
}

/* Reads point `seq` back: its entries, the file's bytes, the manifest. */
static int read_point(struct pfx *f, uint32_t seq, struct rp **rp_r, struct error *err)
{
	char *spec = xasprintf(UNIT "@%u", seq);
	struct store_unit *u = NULL;
	struct index *ix = NULL;
	struct tree_reader *tr = NULL;
	struct pack_reader *pr = NULL;
	struct meta_entry *e;
	struct buf content, blob;
	int ret = -1, r, n = 0;

	buf_init(&content, 0);
	buf_init(&blob, 0);
	if (tree_resolve(f->s, spec, &u, rp_r, err) < 0 || (ix = index_open(u, err)) == NULL ||
	    (tr = tree_reader_open(u, ix, *rp_r, err)) == NULL)
		goto out;
	pr = pack_reader_open(u);
	while ((r = tree_reader_next(tr, &e, err)) == 1) {
		static const char *const paths[] = { "", "in", "in/a", "in/b" };

		if (n >= 4 || strcmp(e->path, paths[n]) != 0) {
			error_set(err, "entry %d is %s", n, e->path);
			goto out;
		}
		if (n == 2) {
			for (size_t i = 0; i < e->nextents; i++) {
				if (blob_fetch(u, ix, pr, e->extents[i].id, 1, &blob, err) < 0)
					goto out;
				buf_add(&content, blob.data, blob.len);
			}
			if (content.len != BODY_LEN || memcmp(content.data, f->body, BODY_LEN) != 0 ||
			    e->nxattrs != 1 || strcmp(e->xattrs[0].name, "user.imap.flags") != 0) {
				error_set(err, "in/a does not read back as written");
				goto out;
			}
		}
		if (n == 3 && (e->type != META_SYMLINK || strcmp(e->target, "a") != 0)) {
			error_set(err, "in/b is not the link");
			goto out;
		}
		n++;
	}
	if (r == 0 && n == 4)
		ret = 0;
	else if (r == 0)
		error_set(err, "%d entries", n);
out:
	pack_reader_close(&pr);
	tree_reader_close(&tr);
	index_close(&ix);
	store_unit_close(&u);
	buf_clear(&content);
	buf_clear(&blob);
	free(spec);
	return ret;
}

static int check_clean(struct pfx *f, struct check_result *cr, struct error *err)
{
	struct check_opts co = { .read_data = 1, .quiet = 1 };

	if (check_run(f->s, &co, cr, err) < 0)
		return -1;
	if (cr->problems != 0)
		return error_set(err, "check found %llu problems",
				 (unsigned long long)cr->problems);
	return 0;
}

/* An aborted writer leaves no restore point, and ends its writer marker (so
 * prune need not wait for it); the next commits are 1 and 2, chained. */
static void test_abort_then_commit(void)
{
	struct pfx f;
	struct point_result r1, r2;
	struct rp *p1 = NULL, *p2 = NULL;
	struct check_result cr;
	struct error err;
	int started, ended;

	if (pfx_setup(&f) < 0)
		goto out;
	CHECK_OK(write_point(f.s, f.body, 0, NULL, NULL, &err), &err);
	CHECK(count_points(f.s) == 0);
	count_markers(&f, &started, &ended);
	CHECKF(started == 1 && ended == 1, "writer markers: %d started, %d ended", started, ended);

	CHECK_OK(write_point(f.s, f.body, 1, NULL, &r1, &err), &err);
	CHECK(r1.seq == 1);
	CHECK(r1.totals.files == 1 && r1.totals.dirs == 2 && r1.totals.bytes == BODY_LEN);
	CHECK(r1.nwarnings == 1);
	/* The aborted writer's packs were never indexed: stored again. */
	CHECKF(r1.new_bytes >= BODY_LEN, "new_bytes %llu", (unsigned long long)r1.new_bytes);
	CHECK_OK(write_point(f.s, f.body, 1, NULL, &r2, &err), &err);
	CHECK(r2.seq == 2);
	CHECKF(r2.new_bytes == 0, "unchanged content stored again: %llu",
	       (unsigned long long)r2.new_bytes);
	CHECK(count_points(f.s) == 2);
	count_markers(&f, &started, &ended);
	CHECKF(started == 3 && ended == 3, "writer markers: %d started, %d ended", started, ended);

	CHECK_OK(read_point(&f, 1, &p1, &err), &err);
	CHECK_OK(read_point(&f, 2, &p2, &err), &err);
	CHECK(!p1->has_parent);
	CHECK(p2->has_parent && memcmp(p2->parent, p1->hash, 32) == 0);
	CHECK(strcmp(p1->source, "test:" UNIT) == 0 && p1->host && p1->host[0]);
	CHECK(p1->nwarnings == 1 && strcmp(p1->warnings[0], "a warning the point keeps") == 0);
	CHECK(p2->stats.files == 1 && p2->stats.dirs == 2 && p2->stats.bytes == BODY_LEN);
	CHECK_OK(check_clean(&f, &cr, &err), &err);
	CHECK(cr.restore_points == 2);
out:
	rp_free(&p1);
	rp_free(&p2);
	pfx_clear(&f);
}

/* A writer killed at the commit of its manifest (after its packs and
 * index segment) leaves no point and an open writer marker; the next commit is
 * point 1, finds the killed writer's blobs indexed, and checks clean. */
static void test_commit_after_killed_writer(void)
{
	struct pfx f;
	struct point_result r;
	struct rp *p1 = NULL;
	struct check_result cr;
	struct error err;
	int started, ended, status;
	pid_t pid;

	if (pfx_setup(&f) < 0)
		goto out;
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct store *ks;

		setenv("COFFER_FAULTS", "commit@/rp/:1:kill", 1);
		ks = store_open(f.ts.root, &f.ts.ks, 0, NULL, &err);
		if (ks == NULL || write_point(ks, f.body, 1, NULL, &r, &err) < 0)
			_exit(3);
		_exit(0); /* the fault rule did not fire */
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECKF(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);
	CHECK(count_points(f.s) == 0);
	count_markers(&f, &started, &ended);
	CHECKF(started == 1 && ended == 0, "writer markers: %d started, %d ended", started, ended);

	CHECK_OK(write_point(f.s, f.body, 1, NULL, &r, &err), &err);
	CHECK(r.seq == 1);
	CHECKF(r.new_bytes == 0, "indexed content stored again: %llu",
	       (unsigned long long)r.new_bytes);
	CHECK_OK(read_point(&f, 1, &p1, &err), &err);
	CHECK(!p1->has_parent);
	CHECK_OK(check_clean(&f, &cr, &err), &err);
	CHECK(cr.restore_points == 1);
out:
	rp_free(&p1);
	pfx_clear(&f);
}

/* A source that knows nothing changed takes the parent's tree: the new
 * point reads back the same, costs no blob, and keeps the source state
 * the next writer sees as its parent's. */
static void test_reuse_parent(void)
{
	struct pfx f;
	struct point_writer_opts o = { .unit = UNIT, .source = "test:" UNIT };
	struct point_writer *pw = NULL;
	struct point_result r;
	struct point_totals t;
	const struct rp *parent;
	struct rp *p1 = NULL, *p2 = NULL;
	struct error err;

	if (pfx_setup(&f) < 0)
		goto out;
	pw = point_writer_open(f.s, &o, &err);
	CHECKF(pw != NULL, "create: %s", err.msg);
	CHECK_OK(point_writer_begin(pw, &err), &err);
	CHECK(point_writer_parent(pw, &parent, &err) == 0 && parent == NULL);
	CHECK_FAILS(point_writer_reuse_parent(pw, &t, &err), &err, ERROR_FAIL);
	point_writer_close(&pw);

	CHECK_OK(write_point(f.s, f.body, 1, "state-1", &r, &err), &err);
	pw = point_writer_open(f.s, &o, &err);
	CHECKF(pw != NULL, "create: %s", err.msg);
	CHECK_OK(point_writer_begin(pw, &err), &err);
	CHECK(point_writer_parent(pw, &parent, &err) == 1 && parent != NULL);
	CHECK(point_writer_parent_state(pw) && strcmp(point_writer_parent_state(pw), "state-1") == 0);
	point_writer_set_source_state(pw, "state-1");
	CHECK_OK(point_writer_reuse_parent(pw, &t, &err), &err);
	CHECK(t.files == 1 && t.dirs == 2 && t.bytes == BODY_LEN);
	CHECK_OK(point_writer_commit(pw, &r, &err), &err);
	CHECK(r.seq == 2 && r.new_blobs == 0 && r.totals.bytes == BODY_LEN);
	CHECK_OK(read_point(&f, 1, &p1, &err), &err);
	CHECK_OK(read_point(&f, 2, &p2, &err), &err);
	CHECK(p2->nmeta == p1->nmeta && p2->levels == p1->levels &&
	      memcmp(p2->meta, p1->meta, 32 * p1->nmeta) == 0);
	CHECK(p2->source_state && strcmp(p2->source_state, "state-1") == 0);
	CHECK(p2->has_parent && memcmp(p2->parent, p1->hash, 32) == 0);
out:
	point_writer_close(&pw);
	rp_free(&p1);
	rp_free(&p2);
	pfx_clear(&f);
}

/* Content is cut by what it is, not by how it arrives: one write or many
 * small ones give the same extents (so dedup works across sources). */
static void test_stream_cuts(void)
{
	struct pfx f;
	struct point_writer_opts o = { .unit = UNIT, .source = "test:" UNIT };
	struct point_writer *pw = NULL;
	struct point_stream *ps;
	struct meta_entry a, b;
	const size_t len = 12u << 20;
	uint8_t *data = NULL;
	struct error err;
	size_t off = 0, step = 1;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (pfx_setup(&f) < 0)
		goto out;
	data = th_random(23, len);
	pw = point_writer_open(f.s, &o, &err);
	CHECKF(pw != NULL, "create: %s", err.msg);
	CHECK_OK(point_writer_begin(pw, &err), &err);
	ps = point_writer_stream(pw);
	CHECK_OK(point_stream_write(ps, &a, data, len, &err), &err);
	CHECK_OK(point_stream_end(ps, &a, &err), &err);
	while (off < len) {
		size_t n = step < len - off ? step : len - off;

		CHECK_OK(point_stream_write(ps, &b, data + off, n, &err), &err);
		off += n;
		step = step * 7 + 4093;
	}
	CHECK_OK(point_stream_end(ps, &b, &err), &err);
	CHECK(a.nextents > 2 && meta_same_content(&a, &b));
out:
	point_writer_close(&pw);
	meta_entry_clear(&a);
	meta_entry_clear(&b);
	free(data);
	pfx_clear(&f);
}

const struct unit_test point_writer_tests[] = {
	{ "point_writer: an aborted writer leaves no point; the next commits chain",
	  test_abort_then_commit },
	{ "point_writer: a commit after a writer killed at its manifest",
	  test_commit_after_killed_writer },
	{ "point_writer: an unchanged source reuses the parent's tree", test_reuse_parent },
	{ "point_writer: content cuts the same however its bytes arrive", test_stream_cuts },
	{ NULL, NULL },
};
