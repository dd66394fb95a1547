/* Export of mail as mboxrd or .eml files (docs/mail.md section 6). The
 * bytes come from the store, checked against their ids, never from the
 * search index. */
#include "engine/mailexport.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "engine/erasure.h"
#include "engine/maillayout.h"
#include "engine/mailparse.h"
#include "engine/meta.h"
#include "engine/tree.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/mem.h"
#include "lib/mutf7.h"
#include "store/pack.h"
#include "store/rp.h"
#include "store/store.h"

#define EML_TRIES 100000

struct mailexport {
	enum mailexport_format format;
	int flags;
	char *path;
	int fd;           /* mbox: the file (or 1); eml: -1 */
	int created;      /* mbox: the file is ours to remove on failure */
	int finished;
	uint64_t count;
	struct buf out;
	mailexport_sink_fn *sink; /* MAILEXPORT_SINK */
	void *sink_ctx;
	json_object *withheld;    /* erasure report of every pass (erasure.h) */
};

/* ---- mboxrd ---- */

/* "+0200" -> seconds east of UTC; 0 when malformed. */
static long tz_offset(const char *tz)
{
	long h, m;

	if (tz == NULL || strlen(tz) != 5 || (tz[0] != '+' && tz[0] != '-'))
		return 0;
	for (h = 1; h < 5; h++)
		if (tz[h] < '0' || tz[h] > '9')
			return 0;
	h = (tz[1] - '0') * 10 + (tz[2] - '0');
	m = (tz[3] - '0') * 10 + (tz[4] - '0');
	return (tz[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
}

static int is_from_line(const uint8_t *p, size_t left)
{
	size_t i = 0;

	while (i < left && p[i] == '>')
		i++;
	return left - i >= 5 && memcmp(p + i, "From ", 5) == 0;
}

void mailexport_mboxrd(const uint8_t *msg, size_t len, const char *sender, int64_t idate,
		       const char *tz, struct buf *out)
{
	time_t t = (time_t)(idate + tz_offset(tz));
	struct tm tm;
	char when[64];
	size_t i = 0;

	if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y",
						  &tm) == 0)
		snprintf(when, sizeof(when), "Thu Jan  1 00:00:00 1970");
	buf_addf(out, "From %s %s\n", sender && *sender ? sender : "MAILER-DAEMON", when);
	while (i < len) {
		const uint8_t *nl = memchr(msg + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (msg + i)) + 1 : len - i;

		if (is_from_line(msg + i, len - i))
			buf_add(out, ">", 1);
		buf_add(out, msg + i, n);
		i += n;
	}
	buf_add(out, "\n", 1);
}

/* The sender for the From_ line: an address with no white space. */
static char *mbox_sender(const uint8_t *msg, size_t len)
{
	char *a = mailparse_sender_address(msg, len);

	if (a && strpbrk(a, " \t\r\n") != NULL) {
		free(a);
		a = NULL;
	}
	return a;
}

/* ---- eml names ---- */

/* One component of a folder path made safe as a file name. */
static void eml_component(struct buf *b, const char *c, size_t n)
{
	size_t i;

	if (n == 0) {
		buf_add(b, "%", 1);
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)c[i];

		if (ch < 0x20 || ch == 0x7f || ch == '/' || ch == '\\' || (i == 0 && ch == '.'))
			buf_addf(b, "%%%02X", ch);
		else
			buf_add(b, &ch, 1);
	}
}

/* DIR[/unit]/folder components; created. Caller frees. */
static char *eml_dir(struct mailexport *x, const char *unit, const char *folder_path,
		     struct error *err)
{
	struct buf b;
	const char *p = folder_path;
	char *dir;

	buf_init(&b, 0);
	buf_addf(&b, "%s", x->path);
	if (x->flags & MAILEXPORT_UNIT_DIRS) {
		buf_add(&b, "/", 1);
		eml_component(&b, unit, strlen(unit));
	}
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		buf_add(&b, "/", 1);
		eml_component(&b, p, n);
		p += n + (slash != NULL);
	}
	buf_add(&b, "", 1);
	dir = (char *)buf_steal(&b, NULL);
	if (fs_mkdir_p(dir, err) < 0) {
		free(dir);
		return NULL;
	}
	return dir;
}

static int eml_write(struct mailexport *x, const char *unit, const char *path, const uint8_t *msg,
		     size_t len, struct error *err)
{
	const char *slash = strrchr(path, '/');
	char *folder = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
	const char *base = slash ? slash + 1 : path;
	char *dir = eml_dir(x, unit, folder, err), *file = NULL;
	int fd = -1, ret = -1;
	unsigned n;

	if (dir == NULL)
		goto out;
	for (n = 1; n < EML_TRIES && fd < 0; n++) {
		free(file);
		file = n == 1 ? xasprintf("%s/%s.eml", dir, base) :
				xasprintf("%s/%s-%u.eml", dir, base, n);
		fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0 && errno != EEXIST) {
			error_sys(err, "cannot create %s", file);
			goto out;
		}
	}
	if (fd < 0) {
		error_set(err, "cannot find a free name for %s/%s.eml", dir, base);
		goto out;
	}
	if (fs_write_all(fd, msg, len, file, err) < 0) {
		unlink(file); /* out: closes fd */
		goto out;
	}
	if (close(fd) < 0) {
		error_sys(err, "close(%s) failed", file);
		fd = -1;
		unlink(file);
		goto out;
	}
	fd = -1;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(file);
	free(dir);
	free(folder);
	return ret;
}

/* ---- the export ---- */

static int dir_empty_or_missing(const char *path, struct error *err)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int empty = 1;

	if (d == NULL) {
		if (errno == ENOENT)
			return fs_mkdir_p(path, err);
		return error_sys(err, "cannot open export folder %s", path);
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	if (!empty)
		return error_setk(err, ERROR_EXISTS, "export folder %s is not empty", path);
	return 0;
}

struct mailexport *mailexport_open(enum mailexport_format format, const char *path, int flags,
				     struct error *err)
{
	struct mailexport *x = xcalloc(1, sizeof(*x));

	x->format = format;
	x->flags = flags;
	x->path = xstrdup(path);
	x->fd = -1;
	buf_init(&x->out, 0);
	if (format == MAILEXPORT_EML) {
		if (dir_empty_or_missing(path, err) < 0)
			mailexport_close(&x);
		return x;
	}
	if (strcmp(path, "-") == 0) {
		x->fd = STDOUT_FILENO;
		return x;
	}
	x->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (x->fd < 0) {
		if (errno == EEXIST)
			error_setk(err, ERROR_EXISTS, "mbox file %s exists already: not overwritten",
				   path);
		else
			error_sys(err, "cannot create mbox file %s", path);
		mailexport_close(&x);
		return NULL;
	}
	x->created = 1;
	return x;
}

struct mailexport *mailexport_open_sink(mailexport_sink_fn *sink, void *ctx)
{
	struct mailexport *x = xcalloc(1, sizeof(*x));

	x->format = MAILEXPORT_SINK;
	x->path = xstrdup("(sink)");
	x->fd = -1;
	x->sink = sink;
	x->sink_ctx = ctx;
	buf_init(&x->out, 0);
	return x;
}

void mailexport_close(struct mailexport **xp)
{
	struct mailexport *x = *xp;

	if (x == NULL)
		return;
	if (x->fd > STDOUT_FILENO)
		close(x->fd);
	if (x->created && !x->finished)
		unlink(x->path);
	buf_clear(&x->out);
	free(x->path);
	json_object_put(x->withheld);
	free(x);
	*xp = NULL;
}

uint64_t mailexport_count(const struct mailexport *x)
{
	return x->count;
}

struct json_object *mailexport_withheld(const struct mailexport *x)
{
	return x->withheld;
}

static int mbox_flush(struct mailexport *x, struct error *err)
{
	int ret = fs_write_all(x->fd, x->out.data, x->out.len, x->path, err);

	buf_reset(&x->out);
	return ret;
}

int mailexport_finish(struct mailexport *x, struct error *err)
{
	if (x->format == MAILEXPORT_MBOX) {
		if (mbox_flush(x, err) < 0)
			return -1;
		if (x->fd != STDOUT_FILENO && fsync(x->fd) < 0)
			return error_sys(err, "fsync(%s) failed", x->path);
	}
	x->finished = 1;
	return 0;
}

/* ---- reading messages out of a point ---- */

struct pass {
	struct mailexport *x;
	struct store_unit *u;
	const struct index *ix;
	struct pack_reader *pr;
	const struct rp *rp;
	struct buf msg, blob;
};

static int read_message(struct pass *ps, const struct meta_entry *e, struct error *err)
{
	static const uint8_t zero[32];
	size_t i;

	buf_reset(&ps->msg);
	for (i = 0; i < e->nextents; i++) {
		const struct meta_extent *xt = &e->extents[i];

		if (memcmp(xt->id, zero, 32) == 0) {
			memset(buf_extend(&ps->msg, xt->len), 0, xt->len);
			continue;
		}
		if (blob_fetch(ps->u, ps->ix, ps->pr, xt->id, 1, &ps->blob, err) < 0)
			return error_prefix(err, "reading message %s of %s@%u", e->path,
					    store_unit_name(ps->u), ps->rp->seq);
		buf_add(&ps->msg, ps->blob.data, ps->blob.len);
	}
	return 0;
}

static int export_message(struct pass *ps, const struct meta_entry *e, struct error *err)
{
	struct mailexport *x = ps->x;

	if (read_message(ps, e, err) < 0)
		return -1;
	if (x->format == MAILEXPORT_SINK) {
		char *tz = meta_entry_xattr_str(e, MAILLAYOUT_XATTR_TZ);
		struct mailexport_msg m = {
			.unit = store_unit_name(ps->u), .seq = ps->rp->seq, .path = e->path,
			.internal_date = e->mtime_s, .tz = tz ? tz : "", .data = ps->msg.data,
			.len = ps->msg.len,
		};
		int r = x->sink(x->sink_ctx, &m, err);

		free(tz);
		if (r < 0)
			return -1;
	} else if (x->format == MAILEXPORT_EML) {
		if (eml_write(x, store_unit_name(ps->u), e->path, ps->msg.data, ps->msg.len, err) < 0)
			return -1;
	} else {
		char *tz = meta_entry_xattr_str(e, MAILLAYOUT_XATTR_TZ);
		char *sender = mbox_sender(ps->msg.data, ps->msg.len);

		mailexport_mboxrd(ps->msg.data, ps->msg.len, sender, e->mtime_s, tz, &x->out);
		free(sender);
		free(tz);
		if (x->out.len >= (1u << 20) && mbox_flush(x, err) < 0)
			return -1;
	}
	x->count++;
	return 0;
}

static int is_message(const struct meta_entry *e)
{
	uint32_t uid;

	return e->type == META_FILE && maillayout_message_uid(e->path, &uid);
}

/* What a pass selects: entries for which `want` says 1. */
typedef int want_cb(void *ctx, const struct meta_entry *e);

static int run_pass(struct pass *ps, want_cb *want, void *ctx, struct error *err)
{
	struct tree_reader *tr = NULL;
	struct erasure_set *es = NULL;
	struct meta_entry *e;
	int ret, first = 1;

	if (erasure_set_load(ps->u, &es, err) < 0 ||
	    (tr = tree_reader_open(ps->u, ps->ix, ps->rp, err)) == NULL) {
		erasure_set_free(&es);
		return -1;
	}
	/* Marked, so only what the pass would export counts as withheld. */
	tree_reader_withhold(tr, es, 1);
	buf_init(&ps->msg, 0);
	buf_init(&ps->blob, 0);
	ps->pr = pack_reader_open(ps->u);
	while ((ret = tree_reader_next(tr, &e, err)) == 1) {
		if (first && maillayout_check_root(e, store_unit_name(ps->u), ps->rp->seq, err) < 0) {
			ret = -1;
			break;
		}
		first = 0;
		if (!want(ctx, e))
			continue;
		if (tree_reader_withheld(tr) != NULL) {
			erasure_set_note(es, tree_reader_withheld(tr));
			continue;
		}
		if (export_message(ps, e, err) < 0) {
			ret = -1;
			break;
		}
	}
	if (ret == 0 && first)
		ret = maillayout_check_root(NULL, store_unit_name(ps->u), ps->rp->seq, err);
	if (ps->x->withheld == NULL)
		ps->x->withheld = json_object_new_array();
	erasure_report_add(ps->x->withheld, es);
	erasure_set_free(&es);
	tree_reader_close(&tr);
	pack_reader_close(&ps->pr);
	buf_clear(&ps->msg);
	buf_clear(&ps->blob);
	return ret < 0 ? -1 : 0;
}

/* Folder selection: the paths of folders named `folder`, and below. */
struct folder_sel {
	const char *folder;
	char **paths;
	size_t n;
};

static int below(const char *path, const char *prefix)
{
	size_t len = strlen(prefix);

	return len == 0 || (strncmp(path, prefix, len) == 0 && path[len] == '/');
}

static int want_folder(void *ctx, const struct meta_entry *e)
{
	struct folder_sel *fs = ctx;
	size_t i;

	if (e->type == META_DIR) {
		int hit = strcmp(e->path, fs->folder) == 0;

		if (!hit) {
			char *name = meta_entry_xattr_str(e, MAILLAYOUT_XATTR_NAME);
			char *utf8 = name ? mutf7_decode_or_keep(name) : NULL;

			hit = name && (strcmp(name, fs->folder) == 0 || strcmp(utf8, fs->folder) == 0);
			free(name);
			free(utf8);
		}
		if (hit && *e->path != '\0') {
			fs->paths = xrealloc(fs->paths, xmul(fs->n + 1, sizeof(char *)));
			fs->paths[fs->n++] = xstrdup(e->path);
		}
		return 0;
	}
	if (!is_message(e))
		return 0;
	for (i = 0; i < fs->n; i++)
		if (below(e->path, fs->paths[i]))
			return 1;
	return 0;
}

static int want_all(void *ctx, const struct meta_entry *e)
{
	(void)ctx;
	return is_message(e);
}

int mailexport_add_rp(struct mailexport *x, struct store_unit *u, const struct index *ix,
		      const struct rp *rp, const char *folder, struct error *err)
{
	struct pass ps = { .x = x, .u = u, .ix = ix, .rp = rp };
	struct folder_sel fs = { .folder = folder };
	size_t i;
	int ret;

	if (folder == NULL)
		return run_pass(&ps, want_all, NULL, err);
	ret = run_pass(&ps, want_folder, &fs, err);
	if (ret == 0 && fs.n == 0)
		ret = error_setk(err, ERROR_NOTFOUND, "%s@%u has no folder \"%s\"",
				 store_unit_name(u), rp->seq, folder);
	for (i = 0; i < fs.n; i++)
		free(fs.paths[i]);
	free(fs.paths);
	return ret;
}

/* Path selection: a sorted copy of the wanted paths, and which were seen. */
struct path_sel {
	char **paths;
	uint8_t *seen;
	size_t n;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int want_path(void *ctx, const struct meta_entry *e)
{
	struct path_sel *ps = ctx;
	const char *key = e->path;
	char **hit;

	if (!is_message(e))
		return 0;
	hit = bsearch(&key, ps->paths, ps->n, sizeof(char *), cmp_str);
	if (hit == NULL || ps->seen[hit - ps->paths])
		return 0;
	ps->seen[hit - ps->paths] = 1;
	return 1;
}

int mailexport_add_paths(struct mailexport *x, struct store_unit *u, const struct index *ix,
			 const struct rp *rp, const char *const *paths, size_t n,
			 struct error *err)
{
	struct pass ps = { .x = x, .u = u, .ix = ix, .rp = rp };
	struct path_sel sel = { .n = n };
	size_t i;
	int ret;

	sel.paths = xcalloc(n ? n : 1, sizeof(char *));
	sel.seen = xcalloc(n ? n : 1, 1);
	for (i = 0; i < n; i++)
		sel.paths[i] = xstrdup(paths[i]);
	qsort(sel.paths, n, sizeof(char *), cmp_str);
	/* One of each: bsearch may find any copy, and only it is marked seen. */
	for (i = 0, sel.n = 0; i < n; i++) {
		if (sel.n > 0 && strcmp(sel.paths[i], sel.paths[sel.n - 1]) == 0)
			free(sel.paths[i]);
		else
			sel.paths[sel.n++] = sel.paths[i];
	}
	ret = run_pass(&ps, want_path, &sel, err);
	for (i = 0; i < sel.n && ret == 0; i++)
		if (!sel.seen[i])
			ret = error_setk(err, ERROR_NOTFOUND, "%s@%u has no message %s",
					 store_unit_name(u), rp->seq, sel.paths[i]);
	for (i = 0; i < sel.n; i++)
		free(sel.paths[i]);
	free(sel.paths);
	free(sel.seen);
	return ret;
}
