/* Backends (src/store/backend.h): put-if-absent, deletion only when
 * allowed, the fault-injecting wrapper, temporaries hidden from listings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "store/backend.h"

#include "harness.h"

#define MAX_NAMES 16

struct names {
	char *v[MAX_NAMES];
	size_t n;
};

static int collect(void *ctx, const char *name)
{
	struct names *l = ctx;

	if (l->n == MAX_NAMES)
		return -1;
	l->v[l->n++] = strdup(name);
	return 0;
}

static void names_clear(struct names *l)
{
	while (l->n > 0)
		free(l->v[--l->n]);
}

/* Whether `rel` exists under root on disk. */
static int exists(const char *root, const char *rel)
{
	char *path = fs_join(root, rel);
	struct stat st;
	int ret = stat(path, &st) == 0;

	free(path);
	return ret;
}

static int dir_entries(const char *root, const char *rel)
{
	char *path = fs_join(root, rel);
	int n = th_dir_entries(path);

	free(path);
	return n;
}

/* Reads `name` and compares it with want. */
static int has_content(struct backend *be, const char *name, const char *want)
{
	struct buf b;
	struct error err;
	int ret;

	buf_init(&b, 0);
	error_init(&err);
	ret = backend_get(be, name, &b, 1 << 20, &err) == 0 && b.len == strlen(want) &&
	      memcmp(b.data, want, b.len) == 0;
	buf_clear(&b);
	return ret;
}

static void test_put_if_absent(void)
{
	const char *root = th_tmpdir("backend");
	const char *name = "units/ab/rp/0000000001", *name2 = "units/ab/packs/00/0001";
	struct backend *be = backend_local_open(root, 0);
	struct backend_upload *up = NULL;
	struct error err;

	CHECK_OK(backend_put(be, name, "first", 5, &err), &err);
	CHECK(has_content(be, name, "first"));
	CHECK_FAILS(backend_put(be, name, "second!", 7, &err), &err, ERROR_EXISTS);
	CHECKF(strstr(err.msg, "0000000001") != NULL, "message does not name the object: %s",
	       err.msg);
	CHECK(has_content(be, name, "first"));
	CHECKF(dir_entries(root, "units/ab/rp") == 1, "temporaries left in units/ab/rp (%d entries)",
	       dir_entries(root, "units/ab/rp"));
	/* The same through a streamed upload, the way packs are written. */
	up = backend_upload_begin(be, name2, 0, &err);
	CHECKF(up != NULL, "upload_begin failed: %s", err.msg);
	CHECK_OK(backend_upload_write(be, up, "pack 1", 6, &err), &err);
	error_init(&err);
	CHECK_OK(backend_upload_commit(be, up, &err), &err);
	up = backend_upload_begin(be, name2, 0, &err);
	CHECKF(up != NULL, "upload_begin failed: %s", err.msg);
	CHECK_OK(backend_upload_write(be, up, "pack 2", 6, &err), &err);
	error_init(&err);
	CHECK(backend_upload_commit(be, up, &err) < 0);
	up = NULL;
	CHECKF(err.code == ERROR_EXISTS, "second upload commit: kind %d: %s", err.code, err.msg);
	CHECK(has_content(be, name2, "pack 1"));
	CHECKF(dir_entries(root, "units/ab/packs/00") == 1, "temporaries left after a refused upload");
out:
	if (up)
		backend_upload_abort(be, up);
	backend_close(&be);
	backend_close(&be); /* NULL is accepted */
}

/* A lazy upload (how packs are written) larger than what the local backend
 * keeps in flight: written back and dropped from the page cache piece by
 * piece as it goes (pieces of odd sizes, so ranges do not fall on pages),
 * it must still commit exactly the bytes written. */
static void test_lazy_upload_large(void)
{
	const char *root = th_tmpdir("backend-lazy");
	const size_t piece = (4u << 20) + 4093, total = 5 * piece + 77;
	struct backend *be = backend_local_open(root, 0);
	struct backend_upload *up = NULL;
	uint8_t *data = malloc(total), probe[64];
	struct buf got;
	struct error err;
	size_t i, off;

	buf_init(&got, 0);
	CHECK(data != NULL);
	for (i = 0; i < total; i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	up = backend_upload_begin(be, "units/ab/packs/00/lazy", BACKEND_UPLOAD_LAZY, &err);
	CHECKF(up != NULL, "upload_begin failed: %s", err.msg);
	for (off = 0; off < total; off += piece)
		CHECK_OK(backend_upload_write(be, up, data + off,
					      total - off < piece ? total - off : piece, &err),
			 &err);
	error_init(&err);
	CHECK_OK(backend_upload_commit(be, up, &err), &err);
	up = NULL;
	CHECK_OK(backend_sync(be, &err), &err);
	CHECK_OK(backend_get(be, "units/ab/packs/00/lazy", &got, 64u << 20, &err), &err);
	CHECKF(got.len == total && memcmp(got.data, data, total) == 0,
	       "lazy upload read back %zu bytes, not the %zu written", got.len, total);
	CHECK_OK(backend_get_range(be, "units/ab/packs/00/lazy", 3 * piece - 5, sizeof(probe),
				   probe, &err),
		 &err);
	CHECK(memcmp(probe, data + 3 * piece - 5, sizeof(probe)) == 0);
	CHECKF(dir_entries(root, "tmp") == 0, "temporaries left after a lazy upload");
out:
	if (up)
		backend_upload_abort(be, up);
	buf_clear(&got);
	free(data);
	backend_close(&be);
}

static void test_remove_needs_permission(void)
{
	const char *root = th_tmpdir("backend");
	struct backend *be = backend_local_open(root, 0), *pruner = NULL;
	struct error err;

	CHECK_OK(backend_put(be, "units/ab/index/1", "segment", 7, &err), &err);
	error_init(&err);
	CHECK(backend_remove(be, "units/ab/index/1", &err) < 0);
	CHECKF(strstr(err.msg, "units/ab/index/1") != NULL, "message does not name the object: %s",
	       err.msg);
	CHECK(exists(root, "units/ab/index/1"));
	CHECK(has_content(be, "units/ab/index/1", "segment"));
	pruner = backend_local_open(root, BACKEND_ALLOW_DELETE);
	CHECK_OK(backend_remove(pruner, "units/ab/index/1", &err), &err);
	CHECK(!exists(root, "units/ab/index/1"));
	CHECK_FAILS(backend_get(be, "units/ab/index/1", &(struct buf){ 0 }, 100, &err), &err,
		    ERROR_NOTFOUND);
out:
	backend_close(&be);
	backend_close(&pruner);
}

static void test_fault_put(void)
{
	const char *root = th_tmpdir("backend");
	struct backend *be = NULL;
	struct error err;

	error_init(&err);
	be = backend_fault_open(backend_local_open(root, 0), "commit:2:enospc", &err);
	CHECKF(be != NULL, "backend_fault_open failed: %s", err.msg);
	CHECK_OK(backend_put(be, "o/1", "one", 3, &err), &err);
	error_init(&err);
	CHECK(backend_put(be, "o/2", "two", 3, &err) < 0);
	CHECKF(strstr(err.msg, strerror(ENOSPC)) != NULL, "message does not say ENOSPC: %s",
	       err.msg);
	CHECKF(strstr(err.msg, "o/2") != NULL, "message does not name the object: %s", err.msg);
	CHECK(!exists(root, "o/2"));
	CHECK_FAILS(backend_size(be, "o/2", &(uint64_t){ 0 }, &err), &err, ERROR_NOTFOUND);
	CHECKF(dir_entries(root, "o") == 1, "o/ holds %d entries after the fault, expected 1",
	       dir_entries(root, "o"));
	/* Only the second commit fails. */
	CHECK_OK(backend_put(be, "o/3", "three", 5, &err), &err);
	CHECK(has_content(be, "o/1", "one") && has_content(be, "o/3", "three"));
out:
	backend_close(&be);
}

/* A rule naming objects counts only those: "commit@/rp/:2" fails the
 * second restore point, whatever else was committed around it. */
static void test_fault_by_name(void)
{
	const char *root = th_tmpdir("backend");
	struct backend *be = NULL, *bad;
	struct error err;

	error_init(&err);
	be = backend_fault_open(backend_local_open(root, 0), "commit@/rp/:2:eio", &err);
	CHECKF(be != NULL, "backend_fault_open failed: %s", err.msg);
	CHECK_OK(backend_put(be, "u/rp/1", "a", 1, &err), &err);
	CHECK_OK(backend_put(be, "u/packs/1", "b", 1, &err), &err);
	CHECK_OK(backend_put(be, "u/packs/2", "c", 1, &err), &err);
	error_init(&err);
	CHECK(backend_put(be, "u/rp/2", "d", 1, &err) < 0);
	CHECKF(strstr(err.msg, "u/rp/2") != NULL, "message does not name the object: %s", err.msg);
	CHECK_OK(backend_put(be, "u/packs/3", "e", 1, &err), &err);
	CHECK_OK(backend_put(be, "u/rp/3", "f", 1, &err), &err);
	bad = backend_fault_open(backend_local_open(root, 0), "commit@:1:eio", &err);
	CHECK(bad == NULL && err.code == ERROR_USAGE);
out:
	backend_close(&be);
}

static void test_fault_upload(void)
{
	const char *root = th_tmpdir("backend");
	struct backend *be = NULL, *bad;
	struct backend_upload *up = NULL;
	struct error err;

	error_init(&err);
	be = backend_fault_open(backend_local_open(root, 0), "commit:1:enospc", &err);
	CHECKF(be != NULL, "backend_fault_open failed: %s", err.msg);
	up = backend_upload_begin(be, "p/pack", 0, &err);
	CHECKF(up != NULL, "upload_begin failed: %s", err.msg);
	CHECK_OK(backend_upload_write(be, up, "data", 4, &err), &err);
	error_init(&err);
	CHECK(backend_upload_commit(be, up, &err) < 0);
	up = NULL;
	CHECKF(strstr(err.msg, strerror(ENOSPC)) != NULL, "message does not say ENOSPC: %s",
	       err.msg);
	CHECK(!exists(root, "p/pack"));
	CHECKF(dir_entries(root, "p") == 0, "p/ holds %d entries after a failed commit",
	       dir_entries(root, "p"));
	/* A bad spec is refused and the inner backend freed (no leak). */
	bad = backend_fault_open(backend_local_open(root, 0), "commit:0:enospc", &err);
	CHECK(bad == NULL && err.code == ERROR_USAGE);
	bad = backend_fault_open(backend_local_open(root, 0), "commit:1:melt", &err);
	CHECK(bad == NULL && err.code == ERROR_USAGE);
out:
	if (up)
		backend_upload_abort(be, up);
	backend_close(&be);
}

static void test_list_hides_temporaries(void)
{
	const char *root = th_tmpdir("backend");
	struct backend *be = backend_local_open(root, 0);
	struct backend_upload *up = NULL;
	struct names l = { .n = 0 };
	struct error err;
	char *stale = NULL;

	/* An upload in progress has a temporary in tmp/, nothing under its name... */
	up = backend_upload_begin(be, "d/b-pending", 0, &err);
	CHECKF(up != NULL, "upload_begin failed: %s", err.msg);
	CHECK_OK(backend_upload_write(be, up, "x", 1, &err), &err);
	CHECK(dir_entries(root, "tmp") == 1 && dir_entries(root, "d") == 0);
	CHECK_OK(backend_list(be, "d", collect, &l, &err), &err);
	CHECKF(l.n == 0, "listing shows %zu names, the first \"%s\"", l.n, l.n ? l.v[0] : "");
	/* ...and so does a writer that died (a stale temporary). */
	stale = fs_join(root, "d/.tmp-Abc123");
	CHECK(fs_write_once(stale, "junk", 4, &err) == 0);
	CHECK_OK(backend_put(be, "d/a-real", "real", 4, &err), &err);
	CHECK(dir_entries(root, "d") == 2);
	CHECK_OK(backend_list(be, "d", collect, &l, &err), &err);
	CHECKF(l.n == 1 && strcmp(l.v[0], "a-real") == 0, "listing shows %zu names, the first \"%s\"",
	       l.n, l.n ? l.v[0] : "");
	names_clear(&l);
	/* Listing a missing folder is empty, not an error. */
	CHECK_OK(backend_list(be, "nothing/here", collect, &l, &err), &err);
	CHECK(l.n == 0);
	backend_upload_abort(be, up);
	up = NULL;
	CHECK(dir_entries(root, "d") == 2 && !exists(root, "d/b-pending") &&
	      dir_entries(root, "tmp") == 0);
out:
	names_clear(&l);
	if (up)
		backend_upload_abort(be, up);
	free(stale);
	backend_close(&be);
}

const struct unit_test backend_tests[] = {
	{ "backend: put-if-absent on an existing name fails with ERROR_EXISTS, content kept",
	  test_put_if_absent },
	{ "backend: a lazy upload of 20 MiB, written back as it goes, commits every byte",
	  test_lazy_upload_large },
	{ "backend: remove is refused without BACKEND_ALLOW_DELETE", test_remove_needs_permission },
	{ "backend: fault commit:2:enospc fails the second put, nothing left", test_fault_put },
	{ "backend: fault on upload commit leaves neither object nor temporary", test_fault_upload },
	{ "backend: a fault rule naming objects counts only those", test_fault_by_name },
	{ "backend: uploads stay in tmp/ until committed; list hides temporaries", test_list_hides_temporaries },
	{ NULL, NULL },
};
