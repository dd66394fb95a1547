#include "backend.h"

#include <stdio.h>
#include <time.h>

#include "lib/error.h"
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

void backend_close(struct backend **be)
{
	if (*be == NULL)
		return;
	(*be)->ops->close(*be);
	*be = NULL;
}
