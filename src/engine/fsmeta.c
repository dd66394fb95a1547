#include "fsmeta.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "engine/meta.h"
#include "lib/error.h"
#include "lib/fsat.h"
#include "lib/idarray.h"
#include "lib/mem.h"

#define XATTR_LIST_MAX_LEN (64u << 10)

uint8_t fsmeta_type(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return META_FILE;
	case S_IFDIR: return META_DIR;
	case S_IFLNK: return META_SYMLINK;
	case S_IFIFO: return META_FIFO;
	case S_IFCHR: return META_CHR;
	case S_IFBLK: return META_BLK;
	default: return META_SOCK;
	}
}

void fsmeta_from_stat(struct meta_entry *e, const struct stat *st)
{
	e->mode = st->st_mode;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->size = S_ISREG(st->st_mode) || S_ISLNK(st->st_mode) ? (uint64_t)st->st_size : 0;
	e->mtime_s = st->st_mtim.tv_sec;
	e->mtime_ns = (uint32_t)st->st_mtim.tv_nsec;
	e->atime_s = st->st_atim.tv_sec;
	e->atime_ns = (uint32_t)st->st_atim.tv_nsec;
	e->ctime_s = st->st_ctim.tv_sec;
	e->ctime_ns = (uint32_t)st->st_ctim.tv_nsec;
	e->ino = st->st_ino;
	e->dev = st->st_dev;
	e->rdev = st->st_rdev;
	e->nlink = (uint32_t)st->st_nlink;
}

/* The names in a listxattr() result that are user.* attributes. */
static ssize_t fsmeta_list(int dirfd, const char *name, char *names)
{
	ssize_t len = fsat_listxattr(dirfd, name, names, XATTR_LIST_MAX_LEN);

	return len < 0 && (errno == ENOTSUP || errno == ENODATA) ? 0 : len;
}

char *fsmeta_read_xattrs(struct meta_entry *e, int dirfd, const char *name, const char *shown)
{
	char *names = xmalloc(XATTR_LIST_MAX_LEN), *p, *msg = NULL;
	uint8_t *value = NULL;
	ssize_t len = fsmeta_list(dirfd, name, names);

	if (len < 0)
		msg = xasprintf("cannot list attributes of %s: %s", shown, strerror(errno));
	for (p = names; len > 0 && p < names + len; p += strlen(p) + 1) {
		ssize_t vlen;

		if (strncmp(p, "user.", 5) != 0)
			continue;
		if (value == NULL)
			value = xmalloc(XATTR_LIST_MAX_LEN);
		vlen = fsat_getxattr(dirfd, name, p, value, XATTR_LIST_MAX_LEN);
		if (vlen < 0) {
			free(msg);
			msg = xasprintf("cannot read attribute %s of %s: %s", p, shown,
					strerror(errno));
			continue;
		}
		meta_entry_add_xattr(e, p, value, (uint32_t)vlen);
	}
	free(value);
	free(names);
	return msg;
}

static int fsmeta_apply_xattrs(const struct meta_entry *e, int dirfd, const char *name,
			       const char *shown, int fresh, struct error *err)
{
	char *names = xmalloc(XATTR_LIST_MAX_LEN), *p;
	ssize_t len = fresh ? 0 : fsmeta_list(dirfd, name, names);
	size_t i;
	int ret = 0;

	for (p = names; len > 0 && p < names + len; p += strlen(p) + 1) {
		int keep = 0;

		if (strncmp(p, "user.", 5) != 0)
			continue;
		for (i = 0; i < e->nxattrs; i++)
			keep |= strcmp(e->xattrs[i].name, p) == 0;
		if (!keep && fsat_removexattr(dirfd, name, p) < 0 && errno != ENODATA)
			ret = error_sys(err, "removexattr(%s, %s) failed", shown, p);
	}
	for (i = 0; i < e->nxattrs && ret == 0; i++)
		if (fsat_setxattr(dirfd, name, e->xattrs[i].name, e->xattrs[i].value,
				  e->xattrs[i].len) < 0)
			ret = error_sys(err, "setxattr(%s, %s) failed", shown, e->xattrs[i].name);
	free(names);
	return ret;
}

int fsmeta_apply(const struct meta_entry *e, int dirfd, const char *name, const char *shown,
		 int fresh, struct error *err)
{
	struct timespec times[2];

	if (geteuid() == 0 && fchownat(dirfd, name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return error_sys(err, "chown(%s) failed", shown);
	/* Never through a link: one swapped in since the entry was made would
	 * hand its target's mode to whoever planted it. */
	if (e->type != META_SYMLINK && fsat_chmod(dirfd, name, e->mode & 07777) < 0)
		return error_sys(err, "chmod(%s) failed", shown);
	if (e->type != META_SYMLINK && (e->nxattrs > 0 || !fresh) &&
	    fsmeta_apply_xattrs(e, dirfd, name, shown, fresh, err) < 0)
		return -1;
	times[0].tv_sec = e->atime_s;
	times[0].tv_nsec = e->atime_ns;
	times[1].tv_sec = e->mtime_s;
	times[1].tv_nsec = e->mtime_ns;
	if (utimensat(dirfd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
		return error_sys(err, "utimensat(%s) failed", shown);
	return 0;
}

struct link_rec {
	uint8_t key[32]; /* device and inode, zero padded: an idarray key */
	char *path;
};

struct fsmeta_links {
	struct link_rec *v;
	size_t n, cap;
};

struct fsmeta_links *fsmeta_links_new(void)
{
	return xcalloc(1, sizeof(struct fsmeta_links));
}

void fsmeta_links_free(struct fsmeta_links **lp)
{
	struct fsmeta_links *l = *lp;
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	free(l);
	*lp = NULL;
}

const char *fsmeta_links_first(struct fsmeta_links *l, const struct stat *st, const char *path)
{
	uint8_t key[32] = { 0 };
	struct link_rec *rec;
	uint64_t dev = st->st_dev, ino = st->st_ino;

	memcpy(key, &dev, 8);
	memcpy(key + 8, &ino, 8);
	if ((rec = idarray_find(l->v, l->n, sizeof(*l->v), key)) != NULL)
		return rec->path;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xrealloc(l->v, xmul(l->cap, sizeof(*l->v)));
	}
	rec = idarray_add(l->v, &l->n, sizeof(*l->v), key);
	rec->path = xstrdup(path);
	return NULL;
}
