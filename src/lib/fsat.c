#include "fsat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "error.h"
#include "fsutil.h"
#include "mem.h"

/* System calls newer than the C library's headers. Their numbers are the
 * same on x86-64 and arm64 (the common table since Linux 5.1). */
#if !defined(SYS_fchmodat2) && ((defined(__x86_64__) && !defined(__ILP32__)) || \
				defined(__aarch64__))
#define SYS_fchmodat2 452
#endif
#if !defined(SYS_listxattrat) && ((defined(__x86_64__) && !defined(__ILP32__)) || \
				  defined(__aarch64__))
#define SYS_setxattrat 463
#define SYS_getxattrat 464
#define SYS_listxattrat 465
#define SYS_removexattrat 466
#endif

/* The *xattrat calls' value argument (struct xattr_args of Linux 6.13). */
struct fsat_xattr_args {
	uint64_t value;
	uint32_t size;
	uint32_t flags;
};

/* What the kernel lacks, learnt on first use (ENOSYS); read and set
 * without a lock, since every thread would learn the same. */
static int no_openat2, no_fchmodat2, no_xattrat;
/* /proc/self/fd: 0 not looked at yet, 1 there, -1 missing. */
static int proc_fd_state;

static int flag_get(const int *f) { return __atomic_load_n(f, __ATOMIC_RELAXED); }
static void flag_set(int *f, int v) { __atomic_store_n(f, v, __ATOMIC_RELAXED); }

/* Tests only: COFFER_FSAT_LEGACY=all (or a list of openat2, fchmodat2,
 * xattrat, proc) makes coffer act as on a kernel without those calls (or
 * without /proc), so the fallbacks run on any machine (docs/testing.md). */
__attribute__((constructor)) static void fsat_legacy(void)
{
	const char *v = getenv("COFFER_FSAT_LEGACY");
	int all = v && strcmp(v, "all") == 0;

	if (v == NULL)
		return;
	if (all || strstr(v, "openat2"))
		no_openat2 = 1;
	if (all || strstr(v, "fchmodat2"))
		no_fchmodat2 = 1;
	if (all || strstr(v, "xattrat"))
		no_xattrat = 1;
	if (all || strstr(v, "proc"))
		proc_fd_state = -1;
}

static void close_keep_errno(int fd)
{
	int saved = errno;

	close(fd);
	errno = saved;
}

/* Whether `name` in dirfd is a symbolic link (for messages and errno). */
static int is_link(int dirfd, const char *name)
{
	struct stat st;
	int saved = errno, link = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
				  S_ISLNK(st.st_mode);

	errno = saved;
	return link;
}

/* Copies the part [p, p+n) into name; -1 (errno) for a part that is too
 * long or would leave the folder. */
static int part_name(const char *p, size_t n, char name[NAME_MAX + 1])
{
	if (n > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (n == 2 && p[0] == '.' && p[1] == '.') {
		errno = EXDEV;
		return -1;
	}
	memcpy(name, p, n);
	name[n] = '\0';
	return 0;
}

/* fsat_open() without openat2: one O_NOFOLLOW open per part. ".." is
 * refused outright (openat2 allows it where it stays beneath). */
static int open_by_parts(int dirfd, const char *rel, int flags, mode_t mode)
{
	char name[NAME_MAX + 1];
	const char *p = rel, *slash;
	int fd = dirfd, next;

	if (*rel == '/') {
		errno = EXDEV;
		return -1;
	}
	while ((slash = strchr(p, '/')) != NULL) {
		size_t n = (size_t)(slash - p);

		if (n == 0 || (n == 1 && p[0] == '.')) {
			p = slash + 1;
			continue;
		}
		next = part_name(p, n, name) < 0 ? -1
			: openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOTDIR && is_link(fd, name))
			errno = ELOOP;
		if (fd != dirfd)
			close_keep_errno(fd);
		if (next < 0)
			return -1;
		fd = next;
		p = slash + 1;
	}
	if (part_name(p, strlen(p), name) < 0)
		next = -1;
	else
		next = openat(fd, *name ? name : ".", flags, mode);
	if (fd != dirfd)
		close_keep_errno(fd);
	return next;
}

int fsat_open(int dirfd, const char *rel, int flags, mode_t mode)
{
	flags |= O_NOFOLLOW | O_CLOEXEC;
	if (!flag_get(&no_openat2)) {
		struct open_how how = {
			.flags = (uint64_t)flags,
			.mode = (flags & O_CREAT) ? mode : 0,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
		};
		long fd;
		int tries = 0;

		/* EAGAIN: a ".." raced with a rename; the kernel asks to retry. */
		do
			fd = syscall(SYS_openat2, dirfd, *rel ? rel : ".", &how, sizeof(how));
		while (fd < 0 && (errno == EINTR || errno == EAGAIN) && ++tries < 16);
		/* ENOSYS: an older kernel. EPERM may be a sandbox refusing the
		 * call, unless O_NOATIME explains it (the caller retries
		 * without, and a refused call then comes here). */
		if (fd >= 0 || (errno != ENOSYS && (errno != EPERM || (flags & O_NOATIME))))
			return (int)fd;
		if (errno == ENOSYS)
			flag_set(&no_openat2, 1);
	}
	return open_by_parts(dirfd, rel, flags, mode);
}

int fsat_open_parent(int dirfd, const char *rel, const char **name_r)
{
	const char *slash = strrchr(rel, '/');
	char *dir;
	int fd;

	*name_r = slash ? slash + 1 : rel;
	if (slash == NULL)
		return fsat_open(dirfd, ".", O_PATH | O_DIRECTORY, 0);
	dir = xstrndup(rel, (size_t)(slash - rel));
	fd = fsat_open(dirfd, dir, O_PATH | O_DIRECTORY, 0);
	free(dir);
	return fd;
}

/* The error of an open of part [path, path+len) of `path` that failed. */
static int root_error(const char *path, size_t len, int parent_fd, const char *name,
		      const char *beneath, struct error *err)
{
	int code = errno == ENOENT ? ERROR_NOTFOUND : ERROR_FAIL;

	if ((errno == ELOOP || errno == ENOTDIR) && is_link(parent_fd, name)) {
		if (beneath)
			return error_set(err, "%.*s is a symbolic link; coffer follows no link "
					 "below %s", (int)len, path, beneath);
		return error_set(err, "%.*s is a symbolic link; coffer does not follow it",
				 (int)len, path);
	}
	if (errno == ENOTDIR)
		return error_set(err, "%.*s is not a folder", (int)len, path);
	error_sys(err, "open(%.*s) failed", (int)len, path);
	err->code = code;
	return -1;
}

/* Opens path below the folder bfd (which is beneath) one part at a time:
 * makes missing folders with `create`, names the part that fails. `rest`
 * points into path at the first part below beneath. */
static int open_root_by_parts(int bfd, const char *beneath, const char *path, const char *rest,
			      int create, struct error *err)
{
	char name[NAME_MAX + 1];
	const char *p = rest;
	int fd = bfd;

	while (*p) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		int last = p[n] == '\0' || p[n + 1] == '\0';
		int flags = (last ? O_RDONLY : O_PATH) | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
		int next;

		if (part_name(p, n, name) < 0) {
			error_sys(err, "open(%s) failed", path);
			goto fail;
		}
		next = openat(fd, name, flags);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, name, 0700) < 0 && errno != EEXIST) {
				error_sys(err, "mkdir(%.*s) failed", (int)(p + n - path), path);
				goto fail;
			}
			next = openat(fd, name, flags);
		}
		if (next < 0) {
			root_error(path, (size_t)(p + n - path), fd, name, beneath, err);
			goto fail;
		}
		if (fd != bfd)
			close(fd);
		fd = next;
		p += n;
		while (*p == '/')
			p++;
	}
	return fd;
fail:
	if (fd != bfd)
		close_keep_errno(fd);
	return -1;
}

/* Whether every part of rel is a plain name (no empty, "." or ".." part;
 * a trailing '/' is allowed). */
static int plain_parts(const char *rel)
{
	const char *p = rel;

	while (*p) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return 1;
}

int fsat_open_root(const char *beneath, const char *path, int create, struct error *err)
{
	const char *rest;
	char *base;
	size_t blen;
	int bfd, fd;

	if (beneath == NULL) {
		if (create && fs_mkdir_p(path, err) < 0)
			return -1;
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return root_error(path, strlen(path), AT_FDCWD, path, NULL, err);
		return fd;
	}
	blen = strlen(beneath);
	while (blen > 1 && beneath[blen - 1] == '/')
		blen--;
	if (beneath[0] != '/' || strncmp(path, beneath, blen) != 0 ||
	    (path[blen] != '\0' && path[blen] != '/' && blen > 1)) {
		return error_setk(err, ERROR_USAGE, "%s is not inside %.*s", path, (int)blen,
				  beneath);
	}
	rest = path + blen;
	while (*rest == '/')
		rest++;
	if (!plain_parts(rest))
		return error_setk(err, ERROR_USAGE, "%s has an empty, '.' or '..' part", path);
	base = xstrndup(beneath, blen);
	bfd = open(base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (bfd < 0) {
		root_error(base, blen, AT_FDCWD, base, NULL, err);
		free(base);
		return -1;
	}
	/* Most of the time one call opens it; the walk part by part is for a
	 * missing folder to make, and to name the part that fails. */
	fd = fsat_open(bfd, *rest ? rest : ".", O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0 && *rest == '\0')
		root_error(base, blen, AT_FDCWD, base, NULL, err);
	else if (fd < 0)
		fd = open_root_by_parts(bfd, base, path, rest, create, err);
	close_keep_errno(bfd);
	free(base);
	return fd;
}

/* The names in the folder fd, "." and ".." left out, *n_r of them; NULL
 * (errno) if it cannot be read. */
static char **list_names(int fd, size_t *n_r)
{
	const size_t size = 32768;
	char *buf = xmalloc(size), **names = xcalloc(1, sizeof(char *));
	size_t n = 0, cap = 1;
	ssize_t len;

	while ((len = getdents64(fd, buf, size)) > 0) {
		for (ssize_t off = 0; off < len;) {
			struct dirent64 *de = (struct dirent64 *)(void *)(buf + off);

			off += de->d_reclen;
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (n == cap) {
				cap *= 2;
				names = xrealloc(names, xmul(cap, sizeof(char *)));
			}
			names[n++] = xstrdup(de->d_name);
		}
	}
	free(buf);
	if (len < 0) {
		int saved = errno;

		while (n > 0)
			free(names[--n]);
		free(names);
		errno = saved;
		return NULL;
	}
	*n_r = n;
	return names;
}

int fsat_remove_tree(int dirfd, const char *name, const char *shown, struct error *err)
{
	char **names;
	size_t n = 0, i;
	int fd, ret = 0;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR)
		return error_sys(err, "remove(%s) failed", shown);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return error_sys(err, "remove(%s) failed", shown);
	names = list_names(fd, &n);
	if (names == NULL)
		ret = error_sys(err, "remove(%s) failed: cannot list it", shown);
	for (i = 0; names && i < n; i++) {
		char *child = ret == 0 ? fs_join(shown, names[i]) : NULL;

		if (ret == 0)
			ret = fsat_remove_tree(fd, names[i], child, err);
		free(child);
		free(names[i]);
	}
	free(names);
	close(fd);
	if (ret == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		ret = error_sys(err, "remove(%s) failed", shown);
	return ret;
}

int fsat_chmod(int dirfd, const char *name, mode_t mode)
{
#ifdef SYS_fchmodat2
	if (!flag_get(&no_fchmodat2)) {
		long r = syscall(SYS_fchmodat2, dirfd, name, mode, AT_SYMLINK_NOFOLLOW);

		if (r == 0 || errno != ENOSYS)
			return (int)r;
		flag_set(&no_fchmodat2, 1);
	}
#endif
	/* glibc opens it O_PATH | O_NOFOLLOW, refuses a link, and changes it
	 * through /proc/self/fd. */
	return fchmodat(dirfd, name, mode, AT_SYMLINK_NOFOLLOW);
}

/* ---- extended attributes ---- */

enum xop { XLIST, XGET, XSET, XREMOVE };

struct xcall {
	enum xop op;
	const char *attr;
	void *value;   /* XLIST: the list; XGET, XSET: the value */
	size_t size;
};

/* The l*xattr call on a path that names `name` in dirfd. */
static ssize_t xattr_path(const struct xcall *x, const char *path)
{
	switch (x->op) {
	case XLIST: return llistxattr(path, x->value, x->size);
	case XGET: return lgetxattr(path, x->attr, x->value, x->size);
	case XSET: return lsetxattr(path, x->attr, x->value, x->size, 0);
	default: return lremovexattr(path, x->attr);
	}
}

/* The f*xattr call on an fd of `name`, when there is no /proc: only a
 * file or a folder is opened (opening a device or a fifo could block or
 * act), and the others have no user attributes anyway. */
static ssize_t xattr_fd(const struct xcall *x, int dirfd, const char *name)
{
	struct stat st;
	ssize_t r;
	int fd;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		if (x->op == XLIST)
			return 0;
		errno = x->op == XGET ? ENODATA : ENOTSUP;
		return -1;
	}
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	switch (x->op) {
	case XLIST: r = flistxattr(fd, x->value, x->size); break;
	case XGET: r = fgetxattr(fd, x->attr, x->value, x->size); break;
	case XSET: r = fsetxattr(fd, x->attr, x->value, x->size, 0); break;
	default: r = fremovexattr(fd, x->attr); break;
	}
	close_keep_errno(fd);
	return r;
}

static ssize_t xattr_at(const struct xcall *x, int dirfd, const char *name)
{
	char path[64 + NAME_MAX];
	int n;

#ifdef SYS_listxattrat
	if (!flag_get(&no_xattrat)) {
		struct fsat_xattr_args a = { .value = (uintptr_t)x->value, .size = (uint32_t)x->size };
		long r;

		switch (x->op) {
		case XLIST:
			r = syscall(SYS_listxattrat, dirfd, name, AT_SYMLINK_NOFOLLOW, x->value,
				    x->size);
			break;
		case XGET:
			r = syscall(SYS_getxattrat, dirfd, name, AT_SYMLINK_NOFOLLOW, x->attr, &a,
				    sizeof(a));
			break;
		case XSET:
			r = syscall(SYS_setxattrat, dirfd, name, AT_SYMLINK_NOFOLLOW, x->attr, &a,
				    sizeof(a));
			break;
		default:
			r = syscall(SYS_removexattrat, dirfd, name, AT_SYMLINK_NOFOLLOW, x->attr);
			break;
		}
		if (r >= 0 || errno != ENOSYS)
			return r;
		flag_set(&no_xattrat, 1);
	}
#endif
	/* /proc/self/fd/N is the folder dirfd holds, wherever it is now;
	 * the l* calls do not follow a link in `name`. */
	if (flag_get(&proc_fd_state) == 0)
		flag_set(&proc_fd_state, access("/proc/self/fd", X_OK) == 0 ? 1 : -1);
	if (flag_get(&proc_fd_state) < 0)
		return xattr_fd(x, dirfd, name);
	n = snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return xattr_path(x, path);
}

ssize_t fsat_listxattr(int dirfd, const char *name, char *list, size_t size)
{
	struct xcall x = { .op = XLIST, .value = list, .size = size };

	return xattr_at(&x, dirfd, name);
}

ssize_t fsat_getxattr(int dirfd, const char *name, const char *attr, void *value, size_t size)
{
	struct xcall x = { .op = XGET, .attr = attr, .value = value, .size = size };

	return xattr_at(&x, dirfd, name);
}

int fsat_setxattr(int dirfd, const char *name, const char *attr, const void *value, size_t size)
{
	struct xcall x = { .op = XSET, .attr = attr, .value = (void *)(uintptr_t)value,
			   .size = size };

	return (int)xattr_at(&x, dirfd, name);
}

int fsat_removexattr(int dirfd, const char *name, const char *attr)
{
	struct xcall x = { .op = XREMOVE, .attr = attr };

	return (int)xattr_at(&x, dirfd, name);
}

/* ---- folders kept open for paths in tree order ---- */

struct dir_frame {
	char *rel; /* the folder's path below the root */
	int fd;    /* O_PATH */
};

struct fsat_dirs {
	int root_fd;
	char *root;
	struct dir_frame *stack;
	size_t depth, cap;
};

struct fsat_dirs *fsat_dirs_open(int root_fd, const char *root)
{
	struct fsat_dirs *d = xcalloc(1, sizeof(*d));

	d->root_fd = root_fd;
	d->root = xstrdup(root);
	return d;
}

static void dirs_pop(struct fsat_dirs *d)
{
	struct dir_frame *f = &d->stack[--d->depth];

	close(f->fd);
	free(f->rel);
}

void fsat_dirs_close(struct fsat_dirs **dp)
{
	struct fsat_dirs *d = *dp;

	if (d == NULL)
		return;
	while (d->depth > 0)
		dirs_pop(d);
	free(d->stack);
	free(d->root);
	free(d);
	*dp = NULL;
}

/* Whether the folder `dir` is the first `len` bytes of rel, or above them. */
static int dir_holds(const char *dir, const char *rel, size_t len)
{
	size_t n = strlen(dir);

	return n <= len && memcmp(dir, rel, n) == 0 && (n == len || rel[n] == '/');
}

int fsat_dirs_parent(struct fsat_dirs *d, const char *rel, const char **name_r,
		     struct error *err)
{
	const char *slash = strrchr(rel, '/');
	size_t plen, start;

	if (*rel == '\0') {
		*name_r = ".";
		return d->root_fd;
	}
	*name_r = slash ? slash + 1 : rel;
	if (slash == NULL)
		return d->root_fd;
	plen = (size_t)(slash - rel);
	while (d->depth > 0 && !dir_holds(d->stack[d->depth - 1].rel, rel, plen))
		dirs_pop(d);
	start = d->depth ? strlen(d->stack[d->depth - 1].rel) + 1 : 0;
	while (start < plen) {
		const char *p = rel + start, *end = memchr(p, '/', plen - start);
		size_t n = end ? (size_t)(end - p) : plen - start;
		int parent = d->depth ? d->stack[d->depth - 1].fd : d->root_fd, fd;
		char name[NAME_MAX + 1];

		if (n == 0 || (n == 1 && p[0] == '.') || part_name(p, n, name) < 0)
			return error_setk(err, ERROR_CORRUPT, "%s/%s: a path with an empty, '.' "
					  "or '..' part", d->root, rel);
		fd = openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			if ((errno == ELOOP || errno == ENOTDIR) && is_link(parent, name))
				return error_set(err, "%s/%.*s is a symbolic link; coffer does "
						 "not follow it", d->root, (int)(start + n), rel);
			if (errno == ENOTDIR)
				return error_set(err, "%s/%.*s is not a folder", d->root,
						 (int)(start + n), rel);
			return error_sys(err, "open(%s/%.*s) failed", d->root, (int)(start + n),
					 rel);
		}
		if (d->depth == d->cap) {
			d->cap = d->cap ? d->cap * 2 : 16;
			d->stack = xrealloc(d->stack, xmul(d->cap, sizeof(*d->stack)));
		}
		d->stack[d->depth].rel = xstrndup(rel, start + n);
		d->stack[d->depth++].fd = fd;
		start += n + 1;
	}
	return d->stack[d->depth - 1].fd;
}

void fsat_dirs_forget(struct fsat_dirs *d, const char *rel)
{
	size_t i;

	if (*rel == '\0') {
		while (d->depth > 0)
			dirs_pop(d);
		return;
	}
	for (i = 0; i < d->depth; i++)
		if (dir_holds(rel, d->stack[i].rel, strlen(d->stack[i].rel)))
			break;
	while (d->depth > i)
		dirs_pop(d);
}
