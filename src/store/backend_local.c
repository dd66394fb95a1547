/* The local folder backend: one file per object, committed with
 * fs_tmp_commit() (temporary, fsync, link without replacing, fsync dir). */
#include "backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/mem.h"

struct local {
	struct backend be;
	char *root;
	char *tmp; /* uploads in progress: tmp/<unix time>-XXXXXX */
};

struct backend_upload {
	int fd;
	int durable; /* not LAZY: synced when committed, unless nosync */
	int nosync;  /* VOLATILE: committed without waiting for the disk */
	char *tmp;
	char *final;
	uint64_t written; /* bytes written so far */
	uint64_t settled; /* bytes before this are on the disk and out of the page cache */
};

/* A lazy upload (a pack) starts the disk writing each piece as it is
 * written and, a few pieces later, waits for it and drops it from the
 * page cache: the disk works while the backup computes, instead of all at
 * the final syncfs, and the pages are reused for the next piece instead
 * of fresh ones (first-touched pages are expensive, on VMs most of all)
 * while the user's own cached files stay. */
#define LOCAL_SETTLE_LAG ((uint64_t)8 << 20)

static char *local_path(struct backend *be, const char *name)
{
	return fs_join(((struct local *)be)->root, name);
}

static char *local_describe(struct backend *be, const char *name)
{
	return local_path(be, name);
}

/* Creates the object's folder on first use. */
static int local_mkparent(const char *path, struct error *err)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	int ret = 0;

	if (slash) {
		*slash = '\0';
		if (access(dir, F_OK) < 0)
			ret = fs_mkdir_p(dir, err);
	}
	free(dir);
	return ret;
}

static struct backend_upload *local_upload_begin(struct backend *be, const char *name, int flags,
						 struct error *err)
{
	struct local *l = (struct local *)be;
	struct backend_upload *up = xcalloc(1, sizeof(*up));

	up->durable = !(flags & BACKEND_UPLOAD_LAZY);
	up->nosync = (flags & BACKEND_UPLOAD_VOLATILE) != 0;
	up->final = local_path(be, name);
	if (local_mkparent(up->final, err) < 0 || (access(l->tmp, F_OK) < 0 &&
						   fs_mkdir_p(l->tmp, err) < 0) ||
	    (up->fd = fs_tmp_open(up->final, l->tmp, &up->tmp, err)) < 0) {
		free(up->final);
		free(up);
		return NULL;
	}
	return up;
}

/* Waits until [settled, end) is on the disk and drops it from the cache.
 * Only a hint: where the calls are not supported the data stays cached
 * and the commit's sync writes it. */
static void local_upload_settle(struct backend_upload *up, uint64_t end)
{
	if (end <= up->settled)
		return;
	if (sync_file_range(up->fd, (off_t)up->settled, (off_t)(end - up->settled),
			    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
				    SYNC_FILE_RANGE_WAIT_AFTER) == 0)
		posix_fadvise(up->fd, (off_t)up->settled, (off_t)(end - up->settled),
			      POSIX_FADV_DONTNEED);
	up->settled = end;
}

static int local_upload_write(struct backend_upload *up, const void *data, size_t len,
			      struct error *err)
{
	uint64_t off = up->written;

	if (fs_write_all(up->fd, data, len, up->tmp, err) < 0)
		return -1;
	up->written += len;
	if (!up->durable) {
		sync_file_range(up->fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
		if (up->written > LOCAL_SETTLE_LAG)
			local_upload_settle(up, up->written - LOCAL_SETTLE_LAG);
	}
	return 0;
}

static void upload_free(struct backend_upload *up)
{
	free(up->tmp);
	free(up->final);
	free(up);
}

static int local_upload_commit(struct backend_upload *up, struct error *err)
{
	int ret;

	if (!up->durable)
		local_upload_settle(up, up->written);
	ret = fs_tmp_commit(up->fd, up->tmp, up->final, up->durable && !up->nosync, err);

	upload_free(up);
	return ret;
}

static void local_upload_abort(struct backend_upload *up)
{
	close(up->fd);
	unlink(up->tmp);
	upload_free(up);
}

static int local_get(struct backend *be, const char *name, struct buf *out, size_t max,
		     struct error *err)
{
	char *path = local_path(be, name);
	int ret = fs_read_file(path, out, max, err);

	free(path);
	return ret;
}

static int local_get_range(struct backend *be, const char *name, uint64_t off, size_t len,
			   void *out, struct error *err)
{
	char *path = local_path(be, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0) {
		ret = error_sys(err, "open(%s) failed", path);
	} else {
		ret = fs_pread_all(fd, out, len, (off_t)off, path, err);
		close(fd);
	}
	free(path);
	return ret;
}

static int local_size(struct backend *be, const char *name, uint64_t *size_r, struct error *err)
{
	char *path = local_path(be, name);
	struct stat st;
	int ret = 0;

	if (stat(path, &st) < 0)
		ret = error_sys(err, "stat(%s) failed", path);
	else
		*size_r = (uint64_t)st.st_size;
	free(path);
	return ret;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists in sorted order, skipping temporaries, so callers see a stable view. */
static int local_list(struct backend *be, const char *dir, backend_list_cb *cb, void *ctx,
		      struct error *err)
{
	char *path = local_path(be, dir);
	DIR *d = opendir(path);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int ret = 0;

	if (d == NULL) {
		ret = errno == ENOENT ? 0 : error_sys(err, "opendir(%s) failed", path);
		free(path);
		return ret;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = xrealloc(names, xmul(cap, sizeof(*names)));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		if (ret == 0 && cb(ctx, names[i]) < 0)
			ret = -1;
		free(names[i]);
	}
	free(names);
	free(path);
	return ret;
}

static int local_remove(struct backend *be, const char *name, struct error *err)
{
	char *path = local_path(be, name);
	int ret = 0;

	if (unlink(path) < 0 && errno != ENOENT)
		ret = error_sys(err, "unlink(%s) failed", path);
	free(path);
	return ret;
}

/* A put is a one-write upload: the same temporary folder, the same commit. */
static int local_put(struct backend *be, const char *name, const void *data, size_t len,
		     struct error *err)
{
	struct backend_upload *up = local_upload_begin(be, name, 0, err);

	if (up == NULL)
		return -1;
	if (local_upload_write(up, data, len, err) < 0) {
		local_upload_abort(up);
		return -1;
	}
	return local_upload_commit(up, err);
}

/* One syncfs() flushes every lazily committed object of the file system. */
static int local_sync(struct backend *be, struct error *err)
{
	struct local *l = (struct local *)be;
	int fd = open(l->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return error_sys(err, "open(%s) failed", l->root);
	if (syncfs(fd) < 0)
		ret = error_sys(err, "syncfs(%s) failed", l->root);
	close(fd);
	return ret;
}

static void local_close(struct backend *be)
{
	struct local *l = (struct local *)be;

	free(l->root);
	free(l->tmp);
	free(l);
}

static const struct backend_ops local_ops = {
	.put = local_put,
	.upload_begin = local_upload_begin,
	.upload_write = local_upload_write,
	.upload_commit = local_upload_commit,
	.upload_abort = local_upload_abort,
	.get = local_get,
	.get_range = local_get_range,
	.size = local_size,
	.list = local_list,
	.remove = local_remove,
	.sync = local_sync,
	.close = local_close,
	.describe = local_describe,
};

struct backend *backend_local_open(const char *root, int flags)
{
	struct local *l = xcalloc(1, sizeof(*l));

	l->be.ops = &local_ops;
	l->be.flags = flags;
	l->root = xstrdup(root);
	l->tmp = fs_join(root, "tmp");
	return &l->be;
}
