#include "fsmeta.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
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
#define ACL_ACCESS "system.posix_acl_access"
#define ACL_DEFAULT "system.posix_acl_default"
#define SELINUX "security.selinux"
#define CAPABILITY "security.capability"

static int has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Other system.* names are file-system specific (NFSv4 ACLs, ext4's
 * inline data) and not kept: docs/format.md 8. */
int fsmeta_xattr_kept(const char *name)
{
	return has_prefix(name, "user.") || has_prefix(name, "trusted.") ||
	       has_prefix(name, "security.") || strcmp(name, ACL_ACCESS) == 0 ||
	       strcmp(name, ACL_DEFAULT) == 0;
}

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

/* The names of the attributes of `name`; 0 where there are none. */
static ssize_t fsmeta_list(int dirfd, const char *name, char *names)
{
	ssize_t len = fsat_listxattr(dirfd, name, names, XATTR_LIST_MAX_LEN);

	return len < 0 && (errno == ENOTSUP || errno == ENODATA) ? 0 : len;
}

struct idname {
	uint32_t id;
	char *name; /* "" : the id has no name here */
};

/* Ids and their names, sorted by id. */
struct idnames {
	struct idname *v;
	size_t n, cap;
};

struct fsmeta_reader {
	struct idnames users, groups;
	uint64_t denied;  /* attributes the process may not read */
	char *first_denied;
};

/* Reads the kept xattrs; with r, an attribute the process may not read
 * (user.* of a file it may not read, one an LSM refuses) is counted there,
 * for one warning per backup instead of one per file. */
static char *read_xattrs(struct fsmeta_reader *r, struct meta_entry *e, int dirfd,
			 const char *name, const char *shown)
{
	char *names = xmalloc(XATTR_LIST_MAX_LEN), *p, *msg = NULL;
	uint8_t *value = NULL;
	ssize_t len = fsmeta_list(dirfd, name, names);

	if (len < 0)
		msg = xasprintf("cannot list attributes of %s: %s", shown, strerror(errno));
	for (p = names; len > 0 && p < names + len; p += strlen(p) + 1) {
		ssize_t vlen;

		if (!fsmeta_xattr_kept(p))
			continue;
		if (value == NULL)
			value = xmalloc(XATTR_LIST_MAX_LEN);
		vlen = fsat_getxattr(dirfd, name, p, value, XATTR_LIST_MAX_LEN);
		if (vlen < 0 && errno == ENODATA)
			continue; /* removed since it was listed */
		if (vlen < 0 && r && (errno == EPERM || errno == EACCES)) {
			if (r->denied++ == 0)
				r->first_denied = xasprintf("%s of %s: %s", p, shown, strerror(errno));
			continue;
		}
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

char *fsmeta_read_xattrs(struct meta_entry *e, int dirfd, const char *name, const char *shown)
{
	return read_xattrs(NULL, e, dirfd, name, shown);
}

/* The name of a user or group id on this host: "" if it has none (or one
 * too long for a record). */
static char *lookup_name(uint32_t id, int group)
{
	size_t size = 4096;
	char *buf, *name;

	for (;;) {
		struct passwd pw, *pwr = NULL;
		struct group gr, *grr = NULL;
		int rc;

		buf = xmalloc(size);
		rc = group ? getgrgid_r(id, &gr, buf, size, &grr)
			   : getpwuid_r(id, &pw, buf, size, &pwr);
		if (rc == ERANGE && size < (1u << 22)) { /* a group of many members */
			free(buf);
			size *= 2;
			continue;
		}
		name = group ? (grr ? grr->gr_name : NULL) : (pwr ? pwr->pw_name : NULL);
		name = xstrdup(name && strlen(name) <= META_NAME_MAX ? name : "");
		free(buf);
		return name;
	}
}

/* The name of id, looked up once per table. */
static const char *idnames_get(struct idnames *t, uint32_t id, int group)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->v[mid].id == id)
			return t->v[mid].name;
		if (t->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->v = xrealloc(t->v, xmul(t->cap, sizeof(*t->v)));
	}
	memmove(&t->v[lo + 1], &t->v[lo], (t->n - lo) * sizeof(*t->v));
	t->n++;
	t->v[lo].id = id;
	t->v[lo].name = lookup_name(id, group);
	return t->v[lo].name;
}

static void idnames_clear(struct idnames *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

struct fsmeta_reader *fsmeta_reader_create(void)
{
	return xcalloc(1, sizeof(struct fsmeta_reader));
}

void fsmeta_reader_destroy(struct fsmeta_reader **rp)
{
	struct fsmeta_reader *r = *rp;

	if (r == NULL)
		return;
	idnames_clear(&r->users);
	idnames_clear(&r->groups);
	free(r->first_denied);
	free(r);
	*rp = NULL;
}

char *fsmeta_reader_read(struct fsmeta_reader *r, struct meta_entry *e, int dirfd,
			 const char *name, const char *shown)
{
	free(e->uname);
	free(e->gname);
	e->uname = xstrdup(idnames_get(&r->users, e->uid, 0));
	e->gname = xstrdup(idnames_get(&r->groups, e->gid, 1));
	return read_xattrs(r, e, dirfd, name, shown);
}

char *fsmeta_reader_summary(const struct fsmeta_reader *r)
{
	if (r->denied == 0)
		return NULL;
	return xasprintf("%llu extended attribute%s could not be read and %s not kept (first: %s)",
			 (unsigned long long)r->denied, r->denied == 1 ? "" : "s",
			 r->denied == 1 ? "is" : "are", r->first_denied);
}

/* Names and their ids on this host, sorted by name. */
struct nameid {
	char *name;
	uint32_t id;
	int found;
};

struct nameids {
	struct nameid *v;
	size_t n, cap;
};

struct fsmeta_writer {
	int numeric, root, selinux;
	int inherit; /* a folder of the target has a default ACL */
	uint32_t euid, egid;
	struct nameids users, groups;
	uint64_t owners, denied, labels; /* not applied */
	char *first_denied;
};

/* The id of a user or group name on this host: 1, or 0 if it has none. */
static int lookup_id(const char *name, int group, uint32_t *id_r)
{
	size_t size = 4096;
	char *buf;
	int found;

	for (;;) {
		struct passwd pw, *pwr = NULL;
		struct group gr, *grr = NULL;
		int rc;

		buf = xmalloc(size);
		rc = group ? getgrnam_r(name, &gr, buf, size, &grr)
			   : getpwnam_r(name, &pw, buf, size, &pwr);
		if (rc == ERANGE && size < (1u << 22)) {
			free(buf);
			size *= 2;
			continue;
		}
		found = group ? grr != NULL : pwr != NULL;
		if (found)
			*id_r = group ? (uint32_t)grr->gr_gid : (uint32_t)pwr->pw_uid;
		free(buf);
		return found;
	}
}

/* The id a recorded owner gets here: the id of its name where the name
 * exists (as tar does), else the recorded id. */
static uint32_t nameids_map(struct nameids *t, const char *name, uint32_t id, int group)
{
	size_t lo = 0, hi = t->n;
	struct nameid *x;

	if (name == NULL || *name == '\0')
		return id;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->v[mid].name, name);

		if (c == 0)
			return t->v[mid].found ? t->v[mid].id : id;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->v = xrealloc(t->v, xmul(t->cap, sizeof(*t->v)));
	}
	memmove(&t->v[lo + 1], &t->v[lo], (t->n - lo) * sizeof(*t->v));
	t->n++;
	x = &t->v[lo];
	x->name = xstrdup(name);
	x->found = lookup_id(name, group, &x->id);
	return x->found ? x->id : id;
}

static void nameids_clear(struct nameids *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

struct fsmeta_writer *fsmeta_writer_create(int numeric_owner)
{
	struct fsmeta_writer *w = xcalloc(1, sizeof(*w));

	w->numeric = numeric_owner;
	w->euid = (uint32_t)geteuid();
	w->egid = (uint32_t)getegid();
	w->root = w->euid == 0;
	/* selinuxfs is mounted where SELinux is enabled; elsewhere a label is
	 * an inert string that a later relabelling would trust. */
	w->selinux = access("/sys/fs/selinux/enforce", F_OK) == 0;
	return w;
}

void fsmeta_writer_destroy(struct fsmeta_writer **wp)
{
	struct fsmeta_writer *w = *wp;

	if (w == NULL)
		return;
	nameids_clear(&w->users);
	nameids_clear(&w->groups);
	free(w->first_denied);
	free(w);
	*wp = NULL;
}

void fsmeta_writer_note_live(struct fsmeta_writer *w, const struct meta_entry *live)
{
	if (live->type == META_DIR && meta_entry_xattr(live, ACL_DEFAULT) != NULL)
		w->inherit = 1;
}

static void writer_owner(struct fsmeta_writer *w, const struct meta_entry *e, uint32_t *uid_r,
			 uint32_t *gid_r)
{
	*uid_r = w->numeric ? e->uid : nameids_map(&w->users, e->uname, e->uid, 0);
	*gid_r = w->numeric ? e->gid : nameids_map(&w->groups, e->gname, e->gid, 1);
}

/* Whether the writer sets (and removes) the attribute `name`: user.* and
 * ACLs always (an owner may), trusted.* and security.* as root, an SELinux
 * label only where SELinux is enabled. */
static int writer_applies(const struct fsmeta_writer *w, const char *name)
{
	if (!fsmeta_xattr_kept(name))
		return 0;
	if (strcmp(name, SELINUX) == 0)
		return w->selinux;
	return w->root || (!has_prefix(name, "trusted.") && !has_prefix(name, "security."));
}

int fsmeta_writer_same_owner(struct fsmeta_writer *w, const struct meta_entry *live,
			     const struct meta_entry *e)
{
	uint32_t uid, gid;

	if (!w->root)
		return 1;
	writer_owner(w, e, &uid, &gid);
	return live->uid == uid && live->gid == gid;
}

struct skip_ctx {
	const struct fsmeta_writer *w;
	const struct meta_entry *e;
};

static int skip_xattr(const char *name, void *ctx)
{
	const struct skip_ctx *c = ctx;

	/* A label the point lacks is the host's own, left alone. */
	return !writer_applies(c->w, name) ||
	       (strcmp(name, SELINUX) == 0 && meta_entry_xattr(c->e, SELINUX) == NULL);
}

int fsmeta_writer_same(struct fsmeta_writer *w, const struct meta_entry *live,
		       const struct meta_entry *e)
{
	struct skip_ctx c = { w, e };

	return live->type == e->type && live->mode == e->mode &&
	       fsmeta_writer_same_owner(w, live, e) &&
	       (e->type == META_DIR ||
		(live->mtime_s == e->mtime_s && live->mtime_ns == e->mtime_ns)) &&
	       meta_same_xattrs(live, e, skip_xattr, &c);
}

static void writer_denied(struct fsmeta_writer *w, const char *what, const char *shown)
{
	if (w->denied++ == 0)
		w->first_denied = xasprintf("%s of %s", what, shown);
}

/* Removes what the live entry has and e lacks (of what the writer
 * applies); a new entry can only have inherited an ACL. */
static int remove_xattrs(struct fsmeta_writer *w, const struct meta_entry *e, int dirfd,
			 const char *name, const char *shown, int fresh, struct error *err)
{
	char *names, *p;
	ssize_t len;
	int ret = 0;

	if (fresh) {
		if (!w->inherit)
			return 0;
		if (meta_entry_xattr(e, ACL_ACCESS) == NULL &&
		    fsat_removexattr(dirfd, name, ACL_ACCESS) < 0 && errno != ENODATA)
			return error_sys(err, "removexattr(%s, %s) failed", shown, ACL_ACCESS);
		if (e->type == META_DIR && meta_entry_xattr(e, ACL_DEFAULT) == NULL &&
		    fsat_removexattr(dirfd, name, ACL_DEFAULT) < 0 && errno != ENODATA)
			return error_sys(err, "removexattr(%s, %s) failed", shown, ACL_DEFAULT);
		return 0;
	}
	names = xmalloc(XATTR_LIST_MAX_LEN);
	len = fsmeta_list(dirfd, name, names);
	for (p = names; len > 0 && p < names + len; p += strlen(p) + 1) {
		if (!writer_applies(w, p) || strcmp(p, SELINUX) == 0 || meta_entry_xattr(e, p))
			continue;
		if (fsat_removexattr(dirfd, name, p) < 0 && errno != ENODATA)
			ret = error_sys(err, "removexattr(%s, %s) failed", shown, p);
	}
	free(names);
	return ret;
}

/* Sets one attribute; what the process may not set (not being root) is
 * counted, not an error. */
static int set_xattr(struct fsmeta_writer *w, const struct meta_xattr *x, int dirfd,
		     const char *name, const char *shown, struct error *err)
{
	if (!writer_applies(w, x->name)) {
		if (strcmp(x->name, SELINUX) == 0)
			w->labels++;
		else if (fsmeta_xattr_kept(x->name))
			writer_denied(w, x->name, shown);
		return 0;
	}
	if (fsat_setxattr(dirfd, name, x->name, x->value, x->len) == 0)
		return 0;
	if (!w->root && (errno == EPERM || errno == EACCES)) {
		writer_denied(w, x->name, shown);
		return 0;
	}
	return error_sys(err, "setxattr(%s, %s) failed", shown, x->name);
}

static int apply_xattrs(struct fsmeta_writer *w, const struct meta_entry *e, int dirfd,
			const char *name, const char *shown, int fresh, struct error *err)
{
	size_t i;
	int pass;

	if (remove_xattrs(w, e, dirfd, name, shown, fresh, err) < 0)
		return -1;
	/* The capability last: nothing after it may count as a change that
	 * drops it. */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < e->nxattrs; i++)
			if ((strcmp(e->xattrs[i].name, CAPABILITY) == 0) == pass &&
			    set_xattr(w, &e->xattrs[i], dirfd, name, shown, err) < 0)
				return -1;
	return 0;
}

int fsmeta_apply(struct fsmeta_writer *w, const struct meta_entry *e, int dirfd,
		 const char *name, const char *shown, int fresh, struct error *err)
{
	struct timespec times[2];
	uint32_t uid, gid;

	writer_owner(w, e, &uid, &gid);
	/* Owner first: chown() clears set-id bits and file capabilities, which
	 * the mode and the xattrs then put back. */
	if (w->root && fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return error_sys(err, "chown(%s) failed", shown);
	if (!w->root && (uid != w->euid || gid != w->egid))
		w->owners++;
	/* Never through a link: one swapped in since the entry was made would
	 * hand its target's mode to whoever planted it. */
	if (e->type != META_SYMLINK && fsat_chmod(dirfd, name, e->mode & 07777) < 0)
		return error_sys(err, "chmod(%s) failed", shown);
	if (e->type != META_SYMLINK && (e->nxattrs > 0 || !fresh || w->inherit) &&
	    apply_xattrs(w, e, dirfd, name, shown, fresh, err) < 0)
		return -1;
	times[0].tv_sec = e->atime_s;
	times[0].tv_nsec = e->atime_ns;
	times[1].tv_sec = e->mtime_s;
	times[1].tv_nsec = e->mtime_ns;
	if (utimensat(dirfd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
		return error_sys(err, "utimensat(%s) failed", shown);
	return 0;
}

char *fsmeta_writer_summary(const struct fsmeta_writer *w)
{
	char *owners = NULL, *denied = NULL, *labels = NULL, *line;

	if (w->owners + w->denied + w->labels == 0)
		return NULL;
	if (w->owners)
		owners = xasprintf("the owner of %llu entr%s (not running as root)",
				   (unsigned long long)w->owners, w->owners == 1 ? "y" : "ies");
	if (w->denied)
		denied = xasprintf("%s%llu extended attribute%s (first: %s)", owners ? ", " : "",
				   (unsigned long long)w->denied, w->denied == 1 ? "" : "s",
				   w->first_denied);
	if (w->labels)
		labels = xasprintf("%s%llu SELinux label%s (SELinux is not enabled here)",
				   owners || denied ? ", " : "", (unsigned long long)w->labels,
				   w->labels == 1 ? "" : "s");
	line = xasprintf("not applied: %s%s%s", owners ? owners : "", denied ? denied : "",
			 labels ? labels : "");
	free(owners);
	free(denied);
	free(labels);
	return line;
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
