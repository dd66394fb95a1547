#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "mem.h"

int fs_read_file(const char *path, struct buf *out, size_t max, struct error *err)
{
	struct stat st;
	int fd, ret = -1;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_sys(err, "open(%s) failed", path);
	if (fstat(fd, &st) < 0) {
		error_sys(err, "fstat(%s) failed", path);
		goto out;
	}
	if ((size_t)st.st_size > max) {
		error_setk(err, ERROR_CORRUPT, "%s is %lld bytes, more than the limit of %zu",
			   path, (long long)st.st_size, max);
		goto out;
	}
	if (buf_reserve(out, (size_t)st.st_size, err) < 0)
		goto out;
	for (;;) {
		uint8_t chunk[65536];

		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error_sys(err, "read(%s) failed", path);
			goto out;
		}
		if (n == 0)
			break;
		if (out->len + (size_t)n > max) {
			error_setk(err, ERROR_CORRUPT, "%s is larger than the limit of %zu", path, max);
			goto out;
		}
		if (buf_append(out, chunk, (size_t)n, err) < 0)
			goto out;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

int fs_mkdir_p(const char *path, struct error *err)
{
	char *p = xstrdup(path);
	size_t i, len = strlen(p);
	int ret = 0;

	for (i = 1; i <= len && ret == 0; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			ret = error_sys(err, "mkdir(%s) failed", p);
		p[i] = i < len ? '/' : '\0';
	}
	free(p);
	return ret;
}

int fs_fsync_dir(const char *dir, struct error *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return error_sys(err, "open(%s) failed", dir);
	if (fsync(fd) < 0) {
		error_sys(err, "fsync(%s) failed", dir);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int fs_write_all(int fd, const void *data, size_t len, const char *what, struct error *err)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_sys(err, "write(%s) failed", what);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_pwrite_all(int fd, const void *data, size_t len, off_t off, const char *what,
		  struct error *err)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_sys(err, "write(%s) failed", what);
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_pread_all(int fd, void *data, size_t len, off_t off, const char *what, struct error *err)
{
	uint8_t *p = data;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_sys(err, "read(%s) failed", what);
		if (n == 0)
			return error_setk(err, ERROR_CORRUPT, "read(%s) failed: file is truncated", what);
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_tmp_open(const char *final_path, const char *tmp_dir, char **tmp_path_r,
		struct error *err)
{
	const char *slash = strrchr(final_path, '/');
	size_t dirlen = slash ? (size_t)(slash - final_path) : 1;
	char *tmp;
	int fd;

	if (tmp_dir)
		tmp = xasprintf("%s/%lld-XXXXXX", tmp_dir, (long long)time(NULL));
	else
		tmp = xasprintf("%.*s/.tmp-XXXXXX", (int)dirlen, slash ? final_path : ".");
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		error_sys(err, "mkstemp(%s) failed", tmp);
		free(tmp);
		return -1;
	}
	*tmp_path_r = tmp;
	return fd;
}

static char *fs_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
}

int fs_tmp_commit(int fd, const char *tmp_path, const char *final_path, int durable,
		  struct error *err)
{
	char *dir = NULL;
	int ret = -1;

	if (durable && fsync(fd) < 0) {
		error_sys(err, "fsync(%s) failed", tmp_path);
		close(fd);
		goto out;
	}
	if (close(fd) < 0) {
		error_sys(err, "close(%s) failed", tmp_path);
		goto out;
	}
	if (link(tmp_path, final_path) < 0) {
		error_sys(err, "link(%s, %s) failed", tmp_path, final_path);
		goto out;
	}
	dir = fs_dirname(final_path);
	ret = durable ? fs_fsync_dir(dir, err) : 0;
out:
	unlink(tmp_path);
	free(dir);
	return ret;
}

static int fs_write_tmp(const char *path, const void *data, size_t len, char **tmp_r,
			struct error *err)
{
	int fd = fs_tmp_open(path, NULL, tmp_r, err);

	if (fd < 0)
		return -1;
	if (fs_write_all(fd, data, len, *tmp_r, err) < 0 || fsync(fd) < 0) {
		if (err->msg[0] == '\0')
			error_sys(err, "fsync(%s) failed", *tmp_r);
		close(fd);
		unlink(*tmp_r);
		free(*tmp_r);
		return -1;
	}
	return fd;
}

int fs_write_once(const char *path, const void *data, size_t len, struct error *err)
{
	char *tmp;
	int fd, ret;

	err->msg[0] = '\0';
	fd = fs_write_tmp(path, data, len, &tmp, err);
	if (fd < 0)
		return -1;
	ret = fs_tmp_commit(fd, tmp, path, 1, err);
	free(tmp);
	return ret;
}

int fs_write_secret(const char *path, const void *data, size_t len, struct error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0)
		return error_setk(err, errno == EEXIST ? ERROR_EXISTS : ERROR_FAIL,
				  "cannot create key file %s: %s", path, strerror(errno));
	err->msg[0] = '\0';
	if (fs_write_all(fd, data, len, path, err) < 0 || fsync(fd) < 0) {
		if (err->msg[0] == '\0')
			error_sys(err, "fsync(%s) failed", path);
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) < 0) {
		unlink(path);
		return error_sys(err, "close(%s) failed", path);
	}
	return 0;
}

int fs_write_replace(const char *path, const void *data, size_t len, struct error *err)
{
	char *tmp;
	int fd, ret = 0;

	err->msg[0] = '\0';
	fd = fs_write_tmp(path, data, len, &tmp, err);
	if (fd < 0)
		return -1;
	close(fd);
	if (rename(tmp, path) < 0) {
		ret = error_sys(err, "rename(%s, %s) failed", tmp, path);
		unlink(tmp);
	}
	free(tmp);
	return ret;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int fs_remove_tree(const char *path, struct error *err)
{
	if (nftw(path, remove_one, 32, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return error_sys(err, "remove(%s) failed", path);
	return 0;
}

char *fs_join(const char *a, const char *b)
{
	size_t al = strlen(a);

	if (al == 0)
		return xstrdup(b);
	if (*b == '\0')
		return xstrdup(a);
	return xasprintf("%s%s%s", a, a[al - 1] == '/' ? "" : "/", b);
}
