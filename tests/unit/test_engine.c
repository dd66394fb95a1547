/* Backup and restore of a folder (engine/backup.h, engine/restore.h) as a
 * user relies on them (docs/engine.md, docs/cli.md "restore"): a restore
 * gives back the tree that was backed up — bytes, modes, times, links,
 * empty files and folders; a backup of an unchanged tree reads and stores
 * no file again; a restore into a folder that holds files writes only what
 * differs and keeps what the point does not have, an in-place one removes
 * it; a dry run changes nothing; a point whose pack is gone restores
 * everything else and leaves no file with made-up content. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "engine/backup.h"
#include "engine/meta.h"
#include "engine/restore.h"
#include "engine/tree.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/mem.h"
#include "store/index.h"
#include "store/pack.h"
#include "store/rp.h"
#include "store/store.h"

#include "harness.h"

#define BIG_LEN ((3u << 20) + 17) /* several chunks */
#define SPARSE_LEN (8u << 20)

/* The tree every test backs up. */
struct efx {
	struct th_store ts;
	struct store *s;
	const char *src; /* the unit's folder */
	uint64_t nfiles; /* regular files in it, the hard link's second name included;
			    every one but that has content of its own */
};

static char *path_of(const char *dir, const char *rel)
{
	return *rel ? fs_join(dir, rel) : xstrdup(dir);
}

static int put_bytes(const char *dir, const char *rel, const void *data, size_t len,
		     mode_t mode)
{
	char *p = fs_join(dir, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600), ret = -1;

	if (fd >= 0 && (len == 0 || write(fd, data, len) == (ssize_t)len) && fchmod(fd, mode) == 0)
		ret = 0;
	if (fd >= 0 && close(fd) < 0)
		ret = -1;
	free(p);
	return ret;
}

static int put_text(const char *dir, const char *rel, const char *text)
{
	return put_bytes(dir, rel, text, strlen(text), 0644);
}

static int make_dir(const char *dir, const char *rel, mode_t mode)
{
	char *p = fs_join(dir, rel);
	int ret = mkdir(p, 0700) == 0 && chmod(p, mode) == 0 ? 0 : -1;

	free(p);
	return ret;
}

static int make_link(const char *dir, const char *rel, const char *target)
{
	char *p = fs_join(dir, rel);
	int ret = symlink(target, p);

	free(p);
	return ret;
}

/* Sets atime and mtime of dir/rel (not following a link) to t.ns. */
static int set_time(const char *dir, const char *rel, time_t sec, long nsec)
{
	struct timespec ts[2] = { { sec, nsec }, { sec, nsec } };
	char *p = path_of(dir, rel);
	int ret = utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);

	free(p);
	return ret;
}

static ino_t inode_of(const char *dir, const char *rel)
{
	char *p = fs_join(dir, rel);
	struct stat st;
	ino_t ino = lstat(p, &st) == 0 ? st.st_ino : 0;

	free(p);
	return ino;
}

/* The unit: files of every size class and mode, an empty file, an empty
 * folder, nested folders, a symbolic link inside the tree and a dangling
 * one, a hard link, a sparse file, an extended attribute, and times with
 * nanoseconds set last, deepest first (so writing inside a folder does not
 * move its time). */
static int efx_setup(struct efx *f)
{
	static const char *const by_depth[] = {
		"docs/a.txt", "docs/hard", "docs/big.bin", "docs", "deep/er/est/f", "deep/er/est",
		"deep/er", "deep", "empty", "emptydir", "run.sh", "link", "dangling", "sparse",
		"dup1", "dup2", "",
	};
	uint8_t *big = th_random(31, BIG_LEN);
	char *p = NULL;
	int fd = -1;

	memset(f, 0, sizeof(*f));
	f->s = th_store_new(&f->ts);
	CHECK(f->s != NULL);
	f->src = th_tmpdir("unit");
	CHECK(make_dir(f->src, "docs", 0750) == 0 && make_dir(f->src, "deep", 0755) == 0 &&
	      make_dir(f->src, "deep/er", 0755) == 0 && make_dir(f->src, "deep/er/est", 0711) == 0 &&
	      make_dir(f->src, "emptydir", 0700) == 0);
	CHECK(put_bytes(f->src, "docs/a.txt", "alpha\n", 6, 0640) == 0);
	CHECK(put_bytes(f->src, "docs/big.bin", big, BIG_LEN, 0600) == 0);
	CHECK(put_bytes(f->src, "deep/er/est/f", "deep down", 9, 0444) == 0);
	CHECK(put_bytes(f->src, "empty", "", 0, 0604) == 0);
	CHECK(put_bytes(f->src, "run.sh", "#!/bin/sh\necho hi\n", 18, 0755) == 0);
	CHECK(put_bytes(f->src, "dup1", big, 100000, 0644) == 0);
	CHECK(put_bytes(f->src, "dup2", big, 100000, 0644) == 0);
	CHECK(make_link(f->src, "link", "docs/a.txt") == 0);
	CHECK(make_link(f->src, "dangling", "../nowhere/x") == 0);
	p = fs_join(f->src, "docs/a.txt");
	{
		char *q = fs_join(f->src, "docs/hard");

		CHECK(link(p, q) == 0);
		free(q);
	}
	/* Where the file system takes no user.* attributes, both sides have none. */
	CHECKF(lsetxattr(p, "user.coffer.test", "v\0x", 3, 0) == 0 || errno == ENOTSUP,
	       "setxattr: %s", strerror(errno));
	free(p);
	/* A hole, then 4 KiB of data at the end. */
	p = fs_join(f->src, "sparse");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && pwrite(fd, big, 4096, SPARSE_LEN - 4096) == 4096);
	f->nfiles = 9;
	for (size_t i = 0; i < sizeof(by_depth) / sizeof(by_depth[0]); i++)
		CHECKF(set_time(f->src, by_depth[i], 1600000000 + (time_t)i * 1000,
				123456789 + (long)i) == 0, "utimensat(%s): %s", by_depth[i],
		       strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	free(p);
	free(big);
	return th_failed() ? -1 : 0;
}

static void efx_clear(struct efx *f)
{
	store_close(&f->s);
}

static int efx_backup(struct efx *f, struct backup_result *br)
{
	struct backup_opts bo = { .unit = "u", .path = f->src, .quiet = 1, .threads = 2 };
	struct error err;

	CHECK_OK(backup_run(f->s, &bo, br, &err), &err);
	return 0;
out:
	return -1;
}

/* ---- comparing trees ---- */

static int same_xattrs(const char *a, const char *b)
{
	char la[1024], lb[1024], va[256], vb[256];
	ssize_t na = llistxattr(a, la, sizeof(la)), nb = llistxattr(b, lb, sizeof(lb));

	if (na < 0 || nb < 0 || na != nb || memcmp(la, lb, (size_t)na) != 0)
		return 0;
	for (ssize_t i = 0; i < na; i += (ssize_t)strlen(la + i) + 1) {
		ssize_t xa = lgetxattr(a, la + i, va, sizeof(va)), xb = lgetxattr(b, la + i, vb, sizeof(vb));

		if (xa < 0 || xa != xb || memcmp(va, vb, (size_t)xa) != 0)
			return 0;
	}
	return 1;
}

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in a folder; the caller frees each and the array. */
static char **dir_names(const char *path, size_t *n_r)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	*n_r = 0;
	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		names = xrealloc(names, xmul(n + 1, sizeof(*names)));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), names_cmp);
	*n_r = n;
	return names;
}

/* Whether b/rel is a._rel: type, mode, size, bytes, link target, times to
 * the nanosecond, attributes, and the same names below a folder. Records
 * the first difference as the failure. */
static int same_tree(const char *a, const char *b, const char *rel)
{
	char *pa = path_of(a, rel), *pb = path_of(b, rel), **na = NULL, **nb = NULL;
	char ta[256], tb[256];
	size_t ca = 0, cb = 0;
	struct stat sa, sb;
	ssize_t la, lb;

	CHECKF(lstat(pa, &sa) == 0, "lstat(%s): %s", pa, strerror(errno));
	CHECKF(lstat(pb, &sb) == 0, "%s was not restored", *rel ? rel : ".");
	CHECKF((sa.st_mode & S_IFMT) == (sb.st_mode & S_IFMT), "%s: type differs", rel);
	CHECKF(S_ISLNK(sa.st_mode) || (sa.st_mode & 07777) == (sb.st_mode & 07777),
	       "%s: mode %o, restored %o", rel, sa.st_mode & 07777, sb.st_mode & 07777);
	CHECKF(sa.st_mtim.tv_sec == sb.st_mtim.tv_sec && sa.st_mtim.tv_nsec == sb.st_mtim.tv_nsec,
	       "%s: mtime %lld.%09ld, restored %lld.%09ld", rel, (long long)sa.st_mtim.tv_sec,
	       sa.st_mtim.tv_nsec, (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
	CHECKF(sa.st_uid == sb.st_uid && sa.st_gid == sb.st_gid, "%s: owner differs", rel);
	CHECKF(same_xattrs(pa, pb), "%s: extended attributes differ", rel);
	if (S_ISLNK(sa.st_mode)) {
		la = readlink(pa, ta, sizeof(ta));
		lb = readlink(pb, tb, sizeof(tb));
		CHECKF(la >= 0 && la == lb && memcmp(ta, tb, (size_t)la) == 0, "%s: link target "
		       "differs", rel);
	} else if (S_ISREG(sa.st_mode)) {
		CHECKF(sa.st_size == sb.st_size, "%s: %lld bytes, restored %lld", rel,
		       (long long)sa.st_size, (long long)sb.st_size);
		CHECKF(th_same_file(pa, pb), "%s: content differs", rel);
		CHECKF(sa.st_nlink == sb.st_nlink, "%s: %lu links, restored %lu", rel,
		       (unsigned long)sa.st_nlink, (unsigned long)sb.st_nlink);
	} else if (S_ISDIR(sa.st_mode)) {
		na = dir_names(pa, &ca);
		nb = dir_names(pb, &cb);
		CHECKF(ca == cb, "%s: %zu entries, restored %zu", *rel ? rel : ".", ca, cb);
		for (size_t i = 0; i < ca; i++) {
			char *sub = *rel ? fs_join(rel, na[i]) : xstrdup(na[i]);
			int same;

			CHECKF(strcmp(na[i], nb[i]) == 0, "%s: %s restored as %s", *rel ? rel : ".",
			       na[i], nb[i]);
			same = same_tree(a, b, sub);
			free(sub);
			if (!same)
				goto out;
		}
	}
out:
	for (size_t i = 0; i < ca; i++)
		free(na[i]);
	for (size_t i = 0; i < cb; i++)
		free(nb[i]);
	free(na);
	free(nb);
	free(pa);
	free(pb);
	return !th_failed();
}

/* ---- tests ---- */

/* Backup, then restore into a folder that does not exist yet: the same
 * tree comes back (docs/engine.md "Restore"), holes stay holes, and the
 * two names of a hard link are one file again. */
static void test_backup_restore_same_tree(void)
{
	struct restore_opts ro = { .rp = "u@1", .quiet = 1, .threads = 2 };
	struct backup_result br;
	struct restore_result rr;
	struct error err;
	struct efx f;
	char *target = NULL, *sp = NULL;
	struct stat st;

	if (efx_setup(&f) < 0)
		goto out;
	CHECK(efx_backup(&f, &br) == 0);
	CHECK(br.seq == 1 && br.nwarnings == 0);
	CHECKF(br.stats.files == f.nfiles, "%llu files", (unsigned long long)br.stats.files);
	ro.target = target = fs_join(th_tmpdir("out"), "new/restored");
	CHECK_OK(restore_run(f.s, &ro, &rr, &err), &err);
	CHECK(rr.failed == 0);
	if (!same_tree(f.src, ro.target, ""))
		goto out;
	CHECK(inode_of(ro.target, "docs/a.txt") == inode_of(ro.target, "docs/hard"));
	sp = fs_join(ro.target, "sparse");
	CHECK(stat(sp, &st) == 0);
	CHECKF((uint64_t)st.st_blocks * 512 < SPARSE_LEN / 2, "the sparse file takes %lld blocks",
	       (long long)st.st_blocks);
out:
	free(sp);
	free(target);
	efx_clear(&f);
}

/* A second backup of the tree as it was reads no file again and stores no
 * content: the new point costs metadata only, and restores the same tree. */
static void test_incremental_unchanged(void)
{
	struct restore_opts ro = { .rp = "u", .quiet = 1, .threads = 2 };
	struct backup_result b1, b2;
	struct restore_result rr;
	struct error err;
	struct efx f;

	if (efx_setup(&f) < 0)
		goto out;
	CHECK(efx_backup(&f, &b1) == 0 && efx_backup(&f, &b2) == 0);
	CHECK(b2.seq == 2);
	CHECKF(b2.reused_files == f.nfiles - 1, "%llu of %llu files reused",
	       (unsigned long long)b2.reused_files, (unsigned long long)f.nfiles - 1);
	CHECK(b2.stats.files == b1.stats.files && b2.stats.bytes == b1.stats.bytes);
	/* Only metadata may be new (atimes move when folders are read). */
	CHECKF(b2.stats.new_bytes < 64 * 1024, "%llu new bytes for an unchanged tree",
	       (unsigned long long)b2.stats.new_bytes);
	ro.target = th_tmpdir("out");
	CHECK_OK(restore_run(f.s, &ro, &rr, &err), &err);
	same_tree(f.src, ro.target, "");
out:
	efx_clear(&f);
}

/* A restore into a folder that already holds files (not in place): files
 * of the point that differ are rewritten, equal ones are left alone (not
 * even opened), and what the point does not have stays (restore.h; only
 * --in-place removes, docs/cli.md). */
static void test_restore_into_nonempty(void)
{
	struct restore_opts ro = { .rp = "u@1", .quiet = 1, .threads = 2 };
	struct backup_result br;
	struct restore_result rr;
	struct error err;
	struct efx f;
	ino_t same_ino;
	const char *out;

	if (efx_setup(&f) < 0)
		goto out;
	CHECK(efx_backup(&f, &br) == 0);
	out = ro.target = th_tmpdir("out");
	CHECK_OK(restore_run(f.s, &ro, &rr, &err), &err);
	same_ino = inode_of(out, "run.sh");
	CHECK(put_text(out, "docs/a.txt", "changed since") == 0);
	CHECK(put_text(out, "extra.txt", "mine") == 0);
	CHECK(make_dir(out, "extradir", 0755) == 0 && put_text(out, "extradir/x", "x") == 0);
	CHECK_OK(restore_run(f.s, &ro, &rr, &err), &err);
	CHECK(rr.failed == 0 && rr.removed == 0);
	/* a.txt and its hard link */
	CHECKF(rr.written_files >= 1 && rr.written_files <= 2, "%llu files written",
	       (unsigned long long)rr.written_files);
	CHECK(rr.unchanged > 0);
	CHECK(th_holds(out, "docs/a.txt", "alpha\n") && th_holds(out, "docs/hard", "alpha\n"));
	CHECK(inode_of(out, "run.sh") == same_ino);
	CHECK(th_holds(out, "extra.txt", "mine") && th_holds(out, "extradir/x", "x"));
out:
	efx_clear(&f);
}

/* In place, the folder is rolled back: changed files rewritten, files and
 * folders the point does not have removed, removed ones put back. */
static void test_restore_in_place(void)
{
	struct restore_opts ro = { .rp = "u@1", .in_place = 1, .quiet = 1, .threads = 2 };
	struct backup_result br;
	struct restore_result rr;
	struct error err;
	struct efx f;
	char *p = NULL;
	const char *copy;

	if (efx_setup(&f) < 0)
		goto out;
	copy = th_tmpdir("copy");
	CHECK(efx_backup(&f, &br) == 0);
	{
		struct restore_opts to = { .rp = "u@1", .target = copy, .quiet = 1 };

		CHECK_OK(restore_run(f.s, &to, &rr, &err), &err);
	}
	CHECK(put_text(f.src, "docs/a.txt", "encrypted by ransomware") == 0);
	CHECK(put_text(f.src, "README-PAY.txt", "pay") == 0);
	CHECK(make_dir(f.src, "new", 0755) == 0 && put_text(f.src, "new/x", "x") == 0);
	p = fs_join(f.src, "run.sh");
	CHECK(unlink(p) == 0);
	CHECK_OK(restore_run(f.s, &ro, &rr, &err), &err);
	CHECK(rr.failed == 0 && rr.removed >= 2);
	CHECK(!th_exists(f.src, "README-PAY.txt") && !th_exists(f.src, "new"));
	same_tree(copy, f.src, "");
out:
	free(p);
	efx_clear(&f);
}

static void count_report(void *ctx, const char *action, const char *path)
{
	(void)action;
	(void)path;
	(*(int *)ctx)++;
}

/* A dry run says what it would do and changes nothing (docs/cli.md). */
static void test_restore_dry_run(void)
{
	struct restore_opts ro = { .rp = "u@1", .in_place = 1, .dry_run = 1, .quiet = 1,
				   .report = count_report };
	struct backup_result br;
	struct restore_result rr;
	struct error err;
	struct efx f;
	int told = 0;
	char *fresh = NULL;

	ro.ctx = &told;
	if (efx_setup(&f) < 0)
		goto out;
	CHECK(efx_backup(&f, &br) == 0);
	CHECK(put_text(f.src, "docs/a.txt", "changed") == 0);
	CHECK(put_text(f.src, "extra", "extra") == 0);
	CHECK_OK(restore_run(f.s, &ro, &rr, &err), &err);
	CHECK(told >= 2 && rr.removed == 1 && rr.written_files >= 1);
	CHECK(th_holds(f.src, "docs/a.txt", "changed") && th_holds(f.src, "extra", "extra"));
	/* Into a folder that does not exist: not made. */
	ro.in_place = 0;
	ro.target = fresh = fs_join(th_tmpdir("out"), "not-yet");
	CHECK_OK(restore_run(f.s, &ro, &rr, &err), &err);
	CHECK(!th_exists(fresh, ""));
out:
	free(fresh);
	efx_clear(&f);
}

/* ---- a pack that is gone ---- */

static int count_files(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char *sub;
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		sub = fs_join(path, de->d_name);
		if (lstat(sub, &st) == 0)
			n += S_ISDIR(st.st_mode) ? count_files(sub) : 1;
		free(sub);
	}
	closedir(d);
	return n;
}

/* The store object name of the pack that holds the first blob of the file
 * `path` of point `spec` (NULL if it has none); the caller frees. */
static char *pack_of(struct store *s, const char *spec, const char *path)
{
	struct store_unit *u = NULL;
	struct tree_reader *tr = NULL;
	struct index *ix = NULL;
	struct meta_entry *e;
	struct pack_entry pe;
	const uint8_t *pack;
	struct rp *rp = NULL;
	struct error err;
	char *name = NULL;
	int r;

	CHECK_OK(tree_resolve(s, spec, &u, &rp, &err), &err);
	ix = index_open(u, &err);
	CHECKF(ix != NULL, "index_open: %s", err.msg);
	tr = tree_reader_open(u, ix, rp, &err);
	CHECKF(tr != NULL, "tree_reader_open: %s", err.msg);
	while ((r = tree_reader_next(tr, &e, &err)) == 1)
		if (strcmp(e->path, path) == 0 && e->nextents > 0 &&
		    index_lookup(ix, e->extents[0].id, &pe, &pack))
			name = pack_name(u, pack);
	CHECKF(r == 0, "tree_reader_next: %s", err.msg);
out:
	tree_reader_close(&tr);
	index_close(&ix);
	rp_free(&rp);
	store_unit_close(&u);
	return name;
}

/* A point whose newest data pack is gone: the restore fails naming a file
 * whose content is missing and how many entries failed; that file is not
 * left behind with zeros (or half its bytes) in it; everything else of the
 * point is restored (restore.h: "the others were"). */
static void test_restore_missing_pack(void)
{
	struct restore_opts ro = { .rp = "u@2", .quiet = 1, .threads = 2 };
	struct backup_result br;
	struct restore_result rr;
	struct error err;
	struct efx f;
	char *pack = NULL, *abs = NULL, *msg = NULL;
	uint8_t *fresh = th_random(77, 200000);
	const char *out;

	if (efx_setup(&f) < 0)
		goto out;
	CHECK(efx_backup(&f, &br) == 0);
	/* Point 2 adds one file, whose content goes to a pack of its own. */
	CHECK(put_bytes(f.src, "docs/new.bin", fresh, 200000, 0644) == 0);
	CHECK(efx_backup(&f, &br) == 0 && br.seq == 2);
	pack = pack_of(f.s, "u@2", "docs/new.bin");
	CHECK(pack != NULL);
	abs = fs_join(store_path(f.s), pack);
	CHECKF(unlink(abs) == 0, "unlink(%s): %s", abs, strerror(errno));
	out = ro.target = th_tmpdir("out");
	error_init(&err);
	if (restore_run(f.s, &ro, &rr, &err) == 0) {
		CHECKF(0, "the restore of a point whose pack %s is gone succeeded", pack);
	}
	msg = xstrdup(err.msg);
	CHECKF(rr.failed >= 1, "failed %llu: %s", (unsigned long long)rr.failed, msg);
	CHECKF(strstr(msg, "docs/new.bin") != NULL && strstr(msg, "could not be restored") != NULL,
	       "the error does not name the file: %s", msg);
	CHECKF(strstr(msg, pack) != NULL, "the error does not name the pack %s: %s", pack, msg);
	CHECKF(!th_exists(out, "docs/new.bin"), "docs/new.bin left behind without its content");
	CHECK(th_holds(out, "docs/a.txt", "alpha\n") && th_holds(out, "deep/er/est/f", "deep down"));
	CHECK(th_exists(out, "emptydir") && th_exists(out, "empty") && th_exists(out, "link"));
	CHECKF(count_files(out) == count_files(f.src) - 1, "%d restored of %d", count_files(out),
	       count_files(f.src) - 1);
out:
	free(pack);
	free(abs);
	free(msg);
	free(fresh);
	efx_clear(&f);
}

/* A backup that fails writes no point: the unit's chain is as before. */
static void test_backup_failure_no_point(void)
{
	struct backup_opts bo = { .unit = "u", .quiet = 1 };
	struct restore_opts ro = { .rp = "u@2", .quiet = 1 };
	struct backup_result br;
	struct restore_result rr;
	struct error err;
	struct efx f;
	char *missing = NULL;

	if (efx_setup(&f) < 0)
		goto out;
	CHECK(efx_backup(&f, &br) == 0);
	bo.path = missing = fs_join(f.src, "no-such-folder");
	CHECK(backup_run(f.s, &bo, &br, &err) < 0);
	ro.target = th_tmpdir("out");
	CHECK_FAILS(restore_run(f.s, &ro, &rr, &err), &err, ERROR_NOTFOUND);
	/* The next backup is point 2. */
	CHECK(efx_backup(&f, &br) == 0 && br.seq == 2);
out:
	free(missing);
	efx_clear(&f);
}

const struct unit_test engine_tests[] = {
	{ "engine: backup then restore gives back the same tree", test_backup_restore_same_tree },
	{ "engine: an unchanged tree is backed up without reading or storing a file",
	  test_incremental_unchanged },
	{ "engine: a restore into a folder with files writes what differs, keeps the rest",
	  test_restore_into_nonempty },
	{ "engine: an in-place restore rolls the folder back", test_restore_in_place },
	{ "engine: a dry run changes nothing", test_restore_dry_run },
	{ "engine: a point with a pack gone restores the rest, names the file, leaves no "
	  "made-up content", test_restore_missing_pack },
	{ "engine: a failed backup writes no point", test_backup_failure_no_point },
	{ NULL, NULL },
};
