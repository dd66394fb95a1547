#include "backend.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "store/s3proto.h"

int backend_spec_is_url(const char *spec)
{
	return s3proto_is_url(spec);
}

int backend_spec_check(const char *spec, struct error *err)
{
	struct s3proto_spec sp;

	if (!s3proto_is_url(spec))
		return 0;
	if (s3proto_spec_parse(spec, &sp, err) < 0)
		return -1;
	s3proto_spec_clear(&sp);
	return 0;
}

struct backend *backend_open(const char *spec, int flags, struct error *err)
{
	if (s3proto_is_url(spec))
		return backend_s3_open(spec, flags, err);
	return backend_local_open(spec, flags);
}

int backend_put(struct backend *be, const char *name, const void *data, size_t len,
		struct error *err)
{
	return be->ops->put(be, name, data, len, err);
}

struct backend_upload *backend_upload_begin(struct backend *be, const char *name, int flags,
					    struct error *err)
{
	return be->ops->upload_begin(be, name, flags, err);
}

int backend_sync(struct backend *be, struct error *err)
{
	return be->ops->sync(be, err);
}

int backend_upload_write(struct backend *be, struct backend_upload *up, const void *data,
			 size_t len, struct error *err)
{
	return be->ops->upload_write(up, data, len, err);
}

int backend_upload_commit(struct backend *be, struct backend_upload *up, struct error *err)
{
	return be->ops->upload_commit(up, err);
}

void backend_upload_abort(struct backend *be, struct backend_upload *up)
{
	be->ops->upload_abort(up);
}

int backend_get(struct backend *be, const char *name, struct buf *out, size_t max,
		struct error *err)
{
	return be->ops->get(be, name, out, max, err);
}

int backend_get_range(struct backend *be, const char *name, uint64_t off, size_t len, void *out,
		      struct error *err)
{
	return be->ops->get_range(be, name, off, len, out, err);
}

int backend_size(struct backend *be, const char *name, uint64_t *size_r, struct error *err)
{
	return be->ops->size(be, name, size_r, err);
}

int backend_list(struct backend *be, const char *dir, backend_list_cb *cb, void *ctx,
		 struct error *err)
{
	return be->ops->list(be, dir, cb, ctx, err);
}

int backend_remove(struct backend *be, const char *name, struct error *err)
{
	if (!(be->flags & BACKEND_ALLOW_DELETE))
		return error_set(err, "remove(%s) refused: the store was not opened for deletion",
				 name);
	return be->ops->remove(be, name, err);
}

int backend_lock(struct backend *be, const char *name, int64_t *until_r, int *hold_r,
		 struct error *err)
{
	*until_r = 0;
	*hold_r = 0;
	if (be->ops->lock == NULL)
		return 0;
	return be->ops->lock(be, name, until_r, hold_r, err);
}

int backend_retain(struct backend *be, const char *name, int64_t below, int64_t until,
		   int64_t *before_r, int *extended_r, struct error *err)
{
	*before_r = 0;
	*extended_r = 0;
	if (be->ops->retain == NULL)
		return error_setk(err, ERROR_USAGE, "this store has no Object Lock");
	return be->ops->retain(be, name, below, until, before_r, extended_r, err);
}

int backend_hold(struct backend *be, const char *name, int on, struct error *err)
{
	if (be->ops->hold == NULL)
		return error_setk(err, ERROR_USAGE, "this store has no Object Lock");
	if (!(be->flags & BACKEND_ALLOW_DELETE))
		return error_set(err, "legal hold of %s refused: the store was not opened with the "
				 "deletion credentials", name);
	return be->ops->hold(be, name, on, err);
}

int backend_has_locks(struct backend *be)
{
	unsigned days;

	return be->ops->retain != NULL &&
	       backend_s3_lock_mode(backend_fault_inner(be), &days) != BACKEND_LOCK_NONE;
}

char *backend_spec_identity(const char *spec)
{
	return s3proto_spec_identity(spec);
}

void backend_lock_date(int64_t secs, char *out, size_t size)
{
	time_t t = (time_t)secs;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, size, "%lld", (long long)secs);
}

int backend_lock_check(struct backend *be, const char *name, const char *what,
		       struct error *err)
{
	int64_t until;
	int hold;
	char date[40];

	if (backend_lock(be, name, &until, &hold, err) < 0)
		return err->code == ERROR_NOTFOUND ? 0 : -1;
	if (hold)
		return error_setk(err, ERROR_LOCKED, "%s is locked by an Object Lock legal hold",
				  what);
	if (until > (int64_t)time(NULL)) {
		backend_lock_date(until, date, sizeof(date));
		return error_setk(err, ERROR_LOCKED, "%s is locked by Object Lock until %s", what,
				  date);
	}
	return 0;
}

char *backend_describe(struct backend *be, const char *name)
{
	return be->ops->describe(be, name);
}

/* --- verified reads ---------------------------------------------------------- */

/* Objects read from an older version: name and the version that verified. */
struct backend_notes {
	char **names;
	char **versions;
	size_t n;
};

static pthread_mutex_t notes_lock = PTHREAD_MUTEX_INITIALIZER;

static void notes_free(struct backend_notes *nt)
{
	size_t i;

	if (nt == NULL)
		return;
	for (i = 0; i < nt->n; i++) {
		free(nt->names[i]);
		free(nt->versions[i]);
	}
	free(nt->names);
	free(nt->versions);
	free(nt);
}

/* The version of name that verified before, or NULL; the caller frees it. */
static char *notes_version(struct backend *be, const char *name)
{
	char *v = NULL;
	size_t i;

	pthread_mutex_lock(&notes_lock);
	for (i = 0; be->notes != NULL && i < be->notes->n; i++)
		if (strcmp(be->notes->names[i], name) == 0)
			v = xstrdup(be->notes->versions[i]);
	pthread_mutex_unlock(&notes_lock);
	return v;
}

/* 1 if the note is new (the warning is said once per object). */
static int notes_add(struct backend *be, const char *name, const char *version)
{
	struct backend_notes *nt;
	size_t i;
	int added = 0;

	pthread_mutex_lock(&notes_lock);
	if (be->notes == NULL)
		be->notes = xcalloc(1, sizeof(*be->notes));
	nt = be->notes;
	for (i = 0; i < nt->n && strcmp(nt->names[i], name) != 0; i++)
		;
	if (i == nt->n) {
		nt->names = xrealloc(nt->names, xmul(nt->n + 1, sizeof(char *)));
		nt->versions = xrealloc(nt->versions, xmul(nt->n + 1, sizeof(char *)));
		nt->names[nt->n] = xstrdup(name);
		nt->versions[nt->n++] = xstrdup(version);
		added = 1;
	}
	pthread_mutex_unlock(&notes_lock);
	return added;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t backend_overwritten(struct backend *be, char ***names_r)
{
	size_t i, n;

	pthread_mutex_lock(&notes_lock);
	n = be->notes ? be->notes->n : 0;
	*names_r = xcalloc(n ? n : 1, sizeof(char *));
	for (i = 0; i < n; i++)
		(*names_r)[i] = xstrdup(be->notes->names[i]);
	pthread_mutex_unlock(&notes_lock);
	qsort(*names_r, n, sizeof(char *), name_cmp);
	return n;
}

struct version_list {
	char **v;
	size_t n;
};

static int version_add(void *ctx, const char *version)
{
	struct version_list *l = ctx;

	l->v = xrealloc(l->v, xmul(l->n + 1, sizeof(char *)));
	l->v[l->n++] = xstrdup(version);
	return 0;
}

/* One read: the newest version (version NULL) or an older one. len 0:
 * the whole object into out; else len bytes at off into out. */
static int read_one(struct backend *be, const char *name, const char *version, uint64_t off,
		    size_t len, struct buf *out, size_t max, backend_verify_cb *verify, void *ctx,
		    struct error *err)
{
	size_t start = out->len;
	int ret;

	if (version != NULL)
		ret = be->ops->get_version(be, name, version, off, len, out, max, err);
	else if (len == 0)
		ret = backend_get(be, name, out, max, err);
	else
		ret = backend_get_range(be, name, off, len, buf_extend(out, len), err);
	if (ret == 0 && out->len - start != (len ? len : out->len - start)) {
		char *what = backend_describe(be, name);

		ret = error_setk(err, ERROR_CORRUPT, "%s: a read returned %zu bytes, not %zu", what,
				 out->len - start, len);
		free(what);
	}
	if (ret == 0)
		ret = verify(ctx, out->data + start, out->len - start, err);
	if (ret < 0)
		out->len = start;
	return ret;
}

static int read_verified(struct backend *be, const char *name, uint64_t off, size_t len,
			 struct buf *out, size_t max, backend_verify_cb *verify, void *ctx,
			 struct error *err)
{
	struct version_list l = { NULL, 0 };
	struct error first, e;
	char *known, *what;
	size_t i;
	int ret = -1;

	if (read_one(be, name, NULL, off, len, out, max, verify, ctx, err) == 0)
		return 0;
	if (err->code != ERROR_CORRUPT)
		return -1;
	first = *err;
	/* Once more: a proxy or a link may have damaged that answer. */
	if (read_one(be, name, NULL, off, len, out, max, verify, ctx, err) == 0)
		return 0;
	if (err->code != ERROR_CORRUPT || be->ops->versions == NULL || be->ops->get_version == NULL) {
		*err = first;
		return -1;
	}
	/* Overwritten? The version that verified before, else every version,
	 * oldest first. */
	if ((known = notes_version(be, name)) != NULL) {
		ret = read_one(be, name, known, off, len, out, max, verify, ctx, &e);
		free(known);
		if (ret == 0)
			return 0;
	}
	error_init(&e);
	if (be->ops->versions(be, name, version_add, &l, &e) < 0)
		log_warn("cannot list the versions of %s: %s", name, e.msg);
	for (i = 0; ret < 0 && i < l.n; i++) {
		ret = read_one(be, name, l.v[i], off, len, out, max, verify, ctx, &e);
		if (ret == 0 && notes_add(be, name, l.v[i])) {
			what = backend_describe(be, name);
			log_warn("%s was overwritten: its newest version does not verify (%s); read "
				 "its version %s, the oldest one that does (Object Lock keeps it)",
				 what, first.msg, l.v[i]);
			free(what);
		}
	}
	for (i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	if (ret < 0)
		*err = first;
	return ret;
}

int backend_get_verified(struct backend *be, const char *name, struct buf *out, size_t max,
			 backend_verify_cb *verify, void *ctx, struct error *err)
{
	return read_verified(be, name, 0, 0, out, max, verify, ctx, err);
}

int backend_get_range_verified(struct backend *be, const char *name, uint64_t off, size_t len,
			       void *out, backend_verify_cb *verify, void *ctx, struct error *err)
{
	struct buf b;
	int ret;

	if (len == 0)
		return 0;
	buf_init(&b, 0);
	ret = read_verified(be, name, off, len, &b, len, verify, ctx, err);
	if (ret == 0)
		memcpy(out, b.data, len);
	buf_clear(&b);
	return ret;
}

void backend_close(struct backend **be)
{
	if (*be == NULL)
		return;
	notes_free((*be)->notes);
	(*be)->notes = NULL;
	(*be)->ops->close(*be);
	*be = NULL;
}
