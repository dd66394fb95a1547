/* Confinement (lib/fsat.c, engine/walk.c, engine/restore.c; docs/engine.md
 * "Confinement"): nothing below a confinement root, or inside a unit, is
 * opened through a symbolic link, whenever the link was planted — before
 * the operation, or while a walk or a restore runs (the races are made
 * deterministic from the walk's loop and the restore's report callback). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/backup.h"
#include "engine/restore.h"
#include "engine/walk.h"
#include "lib/error.h"
#include "lib/fsat.h"
#include "lib/fsutil.h"
#include "lib/mem.h"
#include "store/store.h"

#include "harness.h"

/* dir/rel with `text` in it (mode 0644). */
static int put(const char *dir, const char *rel, const char *text)
{
	char *p = fs_join(dir, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644), ret = -1;

	if (fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text))
		ret = 0;
	if (fd >= 0)
		close(fd);
	free(p);
	return ret;
}

static int sub_mkdir(const char *dir, const char *rel, mode_t mode)
{
	char *p = fs_join(dir, rel);
	int ret = mkdir(p, mode);

	free(p);
	return ret;
}

static mode_t mode_of(const char *dir, const char *rel)
{
	char *p = fs_join(dir, rel);
	struct stat st;
	mode_t m = lstat(p, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;

	free(p);
	return m;
}

/* Replaces dir/rel with a symbolic link to target (the old entry moved to
 * rel.moved, inside the unit). */
static int swap_for_link(const char *dir, const char *rel, const char *target)
{
	char *p = fs_join(dir, rel), *moved = xasprintf("%s.moved", p);
	int ret = rename(p, moved) == 0 && symlink(target, p) == 0 ? 0 : -1;

	free(p);
	free(moved);
	return ret;
}

static void test_open_root(void)
{
	const char *top = th_tmpdir("top"), *out = th_tmpdir("outside");
	char *t = fs_join(top, "t"), *p = NULL, *q = NULL, *t2 = fs_join(top, "t2");
	struct error err;
	int fd = -1;

	CHECK(sub_mkdir(top, "t", 0755) == 0 && sub_mkdir(t, "a", 0755) == 0);
	p = fs_join(t, "a");
	CHECK(sub_mkdir(p, "u", 0755) == 0);
	free(p);
	CHECK(symlink(out, (p = fs_join(t, "l"))) == 0);
	free(p);
	CHECK(sub_mkdir(out, "y", 0755) == 0);

	p = fs_join(t, "a/u");
	fd = fsat_open_root(t, p, 0, &err);
	CHECKF(fd >= 0, "open a/u: %s", err.msg);
	close(fd);
	fd = fsat_open_root(t, t, 0, &err);
	CHECKF(fd >= 0, "open the root itself: %s", err.msg);
	close(fd);
	free(p);

	/* A link below the root, before the folder or as it. */
	p = fs_join(t, "l/y");
	error_init(&err);
	fd = fsat_open_root(t, p, 0, &err);
	q = xasprintf("%s/l is a symbolic link", t);
	CHECKF(fd < 0 && strstr(err.msg, q) != NULL, "through a link: %s", err.msg);
	fd = fsat_open_root(t, p, 1, &err);
	CHECKF(fd < 0 && strstr(err.msg, q) != NULL, "made through a link: %s", err.msg);
	CHECK(th_dir_entries(out) == 1);
	free(p);
	p = fs_join(t, "l");
	fd = fsat_open_root(t, p, 0, &err);
	CHECKF(fd < 0 && strstr(err.msg, q) != NULL, "the link itself: %s", err.msg);
	fd = fsat_open_root(NULL, p, 0, &err);
	CHECKF(fd < 0 && strstr(err.msg, "symbolic link") != NULL, "no root: %s", err.msg);
	free(p);
	/* Without a root, links above the last part are the user's. */
	p = fs_join(t, "l/y");
	fd = fsat_open_root(NULL, p, 0, &err);
	CHECKF(fd >= 0, "a link above, no root: %s", err.msg);
	close(fd);
	free(p);

	/* Made below the root, one folder at a time. */
	p = fs_join(t, "new/deeper/u");
	fd = fsat_open_root(t, p, 1, &err);
	CHECKF(fd >= 0, "made: %s", err.msg);
	close(fd);
	CHECK(mode_of(t, "new/deeper/u") == 0700);
	free(p);
	p = fs_join(t, "missing");
	fd = fsat_open_root(t, p, 0, &err);
	CHECK(fd < 0 && err.code == ERROR_NOTFOUND);
	free(p);

	/* Outside, or with '..', or below a root that is itself a link. */
	CHECK_FAILS(fsat_open_root(t, out, 0, &err), &err, ERROR_USAGE);
	p = xasprintf("%s/a/../../t2", t);
	CHECK_FAILS(fsat_open_root(t, p, 0, &err), &err, ERROR_USAGE);
	free(p);
	p = xasprintf("%sx/a", t); /* "/top/tx" is not inside "/top/t" */
	CHECK_FAILS(fsat_open_root(t, p, 0, &err), &err, ERROR_USAGE);
	free(p);
	CHECK(symlink(t, t2) == 0);
	p = fs_join(t2, "a");
	error_init(&err);
	fd = fsat_open_root(t2, p, 0, &err);
	CHECKF(fd < 0 && strstr(err.msg, "symbolic link") != NULL, "root a link: %s", err.msg);
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	free(p);
	free(q);
	free(t);
	free(t2);
}

static void test_open_beneath(void)
{
	const char *top = th_tmpdir("top"), *out = th_tmpdir("outside");
	char *l = fs_join(top, "a/l");
	int dfd = open(top, O_RDONLY | O_DIRECTORY), fd = -1;

	CHECK(dfd >= 0 && sub_mkdir(top, "a", 0755) == 0 && put(top, "a/f", "f") == 0);
	CHECK(symlink(out, l) == 0 && put(out, "secret", "s") == 0);
	fd = fsat_open(dfd, "a/f", O_RDONLY, 0);
	CHECK(fd >= 0);
	close(fd);
	fd = fsat_open(dfd, "a/l/secret", O_RDONLY, 0);
	CHECK(fd < 0 && errno == ELOOP);
	fd = fsat_open(dfd, "a/l/new", O_WRONLY | O_CREAT, 0600);
	CHECK(fd < 0 && errno == ELOOP);
	fd = fsat_open(dfd, "a/l", O_RDONLY, 0);
	CHECK(fd < 0 && errno == ELOOP);
	fd = fsat_open(dfd, "../x", O_RDONLY, 0);
	CHECK(fd < 0 && errno == EXDEV);
	fd = fsat_open(dfd, "/etc/passwd", O_RDONLY, 0);
	CHECK(fd < 0 && errno == EXDEV);
	CHECK(th_dir_entries(out) == 1);
	/* A mode is never changed through a link. */
	CHECK(chmod(out, 0700) == 0);
	CHECK(fsat_chmod(dfd, "a/l", 0777) < 0 && mode_of(out, "") == 0700);
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	free(l);
}

static int warnings;
static void count_warning(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
	warnings++;
}

/* A folder swapped for a link between the walk seeing it and entering it
 * is not entered. */
static void test_walk_swap(void)
{
	const char *u = th_tmpdir("unit"), *out = th_tmpdir("outside");
	struct walker *w = NULL;
	const char *rel, *abs;
	struct stat st;
	struct error err;
	int fd = -1, r, seen_sub = 0, leaked = 0;

	CHECK(put(u, "a.txt", "a") == 0 && sub_mkdir(u, "sub", 0755) == 0 &&
	      put(u, "sub/s.txt", "s") == 0 && put(out, "secret", "x") == 0);
	fd = fsat_open_root(NULL, u, 0, &err);
	CHECKF(fd >= 0, "open: %s", err.msg);
	warnings = 0;
	w = walker_open(fd, u, count_warning, NULL, &err);
	CHECK(w != NULL);
	while ((r = walker_next(w, &rel, &abs, &st, &err)) == 1) {
		if (strcmp(rel, "sub") == 0) {
			seen_sub = S_ISDIR(st.st_mode);
			CHECK(swap_for_link(u, "sub", out) == 0);
		}
		if (strncmp(rel, "sub/", 4) == 0)
			leaked = 1;
	}
	CHECKF(r == 0, "walk: %s", err.msg);
	CHECK(seen_sub && !leaked && warnings == 1);
out:
	walker_close(&w);
	if (fd >= 0)
		close(fd);
}

struct rfx {
	const char *unit, *out;
	struct th_store ts;
	struct store *s;
};

static int rfx_setup(struct rfx *f)
{
	struct backup_opts bo = { .unit = "u", .quiet = 1, .threads = 2 };
	struct backup_result br;
	struct error err;

	memset(f, 0, sizeof(*f));
	f->s = th_store_new(&f->ts);
	CHECK(f->s != NULL);
	f->unit = th_tmpdir("unit");
	f->out = th_tmpdir("outside");
	CHECK(sub_mkdir(f->unit, "sub", 0755) == 0 && put(f->unit, "sub/b.txt", "bee") == 0 &&
	      put(f->unit, "sub/c.txt", "sea") == 0 && put(f->unit, "top.txt", "top") == 0);
	CHECK(chmod(f->out, 0700) == 0 && put(f->out, "secret", "keep me") == 0);
	bo.path = f->unit;
	CHECK_OK(backup_run(f->s, &bo, &br, &err), &err);
	return 0;
out:
	return -1;
}

/* What the restore's report callback does, once, at one action. */
struct swap_at {
	const char *action, *path; /* when told this */
	const char *dir, *rel, *target; /* swap dir/rel for a link to target */
	int done;
};

static void swap_report(void *ctx, const char *action, const char *path)
{
	struct swap_at *s = ctx;

	if (!s->done && strcmp(action, s->action) == 0 && strcmp(path, s->path) == 0)
		s->done = swap_for_link(s->dir, s->rel, s->target) == 0 ? 1 : -1;
}

/* The folder of files being restored is swapped for a link to another
 * folder after the scan: nothing is written there. */
static void test_restore_swap_folder(void)
{
	struct rfx f;
	struct swap_at sw = { .action = "write", .path = "sub/c.txt", .rel = "sub" };
	struct restore_opts ro = { .rp = "u@1", .in_place = 1, .quiet = 1, .threads = 2,
				   .report = swap_report, .ctx = &sw };
	struct restore_result rr;
	struct error err;
	char *p = NULL;

	if (rfx_setup(&f) < 0)
		goto out;
	sw.dir = f.unit;
	sw.target = f.out;
	p = fs_join(f.unit, "sub/b.txt");
	CHECK(unlink(p) == 0);
	free(p);
	p = fs_join(f.unit, "sub/c.txt");
	CHECK(unlink(p) == 0);
	error_init(&err);
	CHECK(restore_run(f.s, &ro, &rr, &err) < 0);
	CHECK(sw.done == 1);
	CHECKF(rr.failed >= 1 && strstr(err.msg, "symbolic link") != NULL, "%s", err.msg);
	CHECK(th_dir_entries(f.out) == 1 && th_holds(f.out, "secret", "keep me"));
	CHECK(mode_of(f.out, "") == 0700);
out:
	free(p);
	store_close(&f.s);
}

/* A file swapped for a link to a file outside after the scan: its mode and
 * times are not set through the link. */
static void test_restore_swap_file(void)
{
	struct rfx f;
	struct swap_at sw = { .action = "attrs", .path = "top.txt", .rel = "top.txt" };
	struct restore_opts ro = { .rp = "u@1", .in_place = 1, .quiet = 1,
				   .report = swap_report, .ctx = &sw };
	struct restore_result rr;
	struct error err;
	char *p = NULL, *secret = NULL;
	struct stat before, after;

	if (rfx_setup(&f) < 0)
		goto out;
	secret = fs_join(f.out, "secret");
	sw.dir = f.unit;
	sw.target = secret;
	CHECK(chmod(secret, 0600) == 0 && lstat(secret, &before) == 0);
	p = fs_join(f.unit, "top.txt");
	CHECK(chmod(p, 0600) == 0); /* only its mode differs: "attrs" */
	error_init(&err);
	restore_run(f.s, &ro, &rr, &err);
	CHECK(sw.done == 1);
	CHECK(lstat(secret, &after) == 0);
	CHECKF((after.st_mode & 07777) == 0600, "mode %o", (unsigned)(after.st_mode & 07777));
	CHECK(after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
	      after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
	CHECK(th_holds(f.out, "secret", "keep me"));
out:
	free(p);
	free(secret);
	store_close(&f.s);
}

/* An in-place restore over a unit whose folder became a link to another
 * folder replaces the link, and a restore below a root refuses a link
 * above the unit. */
static void test_restore_link_in_unit(void)
{
	struct rfx f;
	struct restore_opts ro = { .rp = "u@1", .in_place = 1, .quiet = 1 };
	struct restore_result rr;
	struct error err;
	char *p = NULL, *up = NULL, *target = NULL;

	if (rfx_setup(&f) < 0)
		goto out;
	p = fs_join(f.unit, "sub");
	CHECK(fsat_remove_tree(AT_FDCWD, p, p, &err) == 0 && symlink(f.out, p) == 0);
	CHECK_OK(restore_run(f.s, &ro, &rr, &err), &err);
	CHECK(mode_of(f.unit, "sub") == 0755 && th_holds(f.unit, "sub/b.txt", "bee"));
	CHECK(th_dir_entries(f.out) == 1 && th_holds(f.out, "secret", "keep me"));
	/* beneath: the unit's parent swapped for a link to the outside. */
	up = xasprintf("%s.up", f.unit);
	CHECK(mkdir(up, 0755) == 0);
	target = fs_join(up, "par/u");
	ro.in_place = 0;
	ro.target = target;
	ro.beneath = up;
	free(p);
	p = fs_join(up, "par");
	CHECK(symlink(f.out, p) == 0);
	error_init(&err);
	CHECK(restore_run(f.s, &ro, &rr, &err) < 0);
	CHECKF(strstr(err.msg, "par is a symbolic link") != NULL, "%s", err.msg);
	CHECK(th_dir_entries(f.out) == 1);
out:
	free(p);
	free(up);
	free(target);
	store_close(&f.s);
}

const struct unit_test confine_tests[] = {
	{ "confine/open_root", test_open_root },
	{ "confine/open_beneath", test_open_beneath },
	{ "confine/walk_swap", test_walk_swap },
	{ "confine/restore_swap_folder", test_restore_swap_folder },
	{ "confine/restore_swap_file", test_restore_swap_file },
	{ "confine/restore_link_in_unit", test_restore_link_in_unit },
	{ NULL, NULL },
};
