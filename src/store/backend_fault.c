/* A backend that passes everything to another one but injects faults, for
 * the crash and full-disk tests. Spec (COFFER_FAULTS, docs/testing.md):
 * comma-separated rules "OP[@TEXT]:N[+]:KIND" where OP is write (every put,
 * upload write and commit), commit (put and upload commit), read (get,
 * range), remove (deletion) or lock (asking for an object's lock), and
 * @TEXT keeps only operations on objects whose name contains TEXT (e.g.
 * "commit@/rp/" for restore points); N counts those operations from 1
 * ("N+" means N and every later one); KIND is enospc, eio, kill (SIGKILL:
 * the process dies right there), stop (SIGSTOP: the process waits right
 * there, before the operation, until the test sends SIGCONT; then the
 * operation goes on), locked (as S3 Object Lock: a remove is
 * refused with ERROR_LOCKED, a lock query answers "retained for a day"),
 * and for reads two answers a real S3 server cannot be made to give:
 * short (a 200 whose body is cut short: the read returns ERROR_CORRUPT
 * naming the object, as the S3 backend does for a body shorter than
 * asked) and badsum (the body arrives damaged: one byte flipped, which the
 * reader's check must catch). */
#include "backend.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/mem.h"

enum fault_op { FAULT_WRITE, FAULT_COMMIT, FAULT_READ, FAULT_REMOVE, FAULT_LOCK, FAULT_OPS };
enum fault_kind { FAULT_ENOSPC, FAULT_EIO, FAULT_KILL, FAULT_STOP, FAULT_LOCKED, FAULT_SHORT,
		  FAULT_BADSUM };

struct fault_rule {
	enum fault_op op;
	char name[32];         /* "": any object */
	unsigned long n;
	int onwards;
	enum fault_kind kind;
	atomic_ulong count;    /* operations this rule has seen */
};

struct fault {
	struct backend be;
	struct backend *inner;
	struct fault_rule rules[16];
	size_t nrules;
};

struct backend_upload {
	struct fault *f;
	struct backend_upload *inner;
	char *name;
};

/* Counts one operation of each class it belongs to; -1 if a rule fires.
 * A read's damage (short, badsum) is not an error: *damage_r says it, the
 * read goes on and fault_damage() spoils what it returned. */
static int fault_hit_damage(struct fault *f, const enum fault_op *ops, size_t nops,
			    const char *name, int *damage_r, struct error *err)
{
	size_t i, j;

	for (i = 0; i < nops; i++) {
		for (j = 0; j < f->nrules; j++) {
			struct fault_rule *r = &f->rules[j];
			unsigned long n;

			if (r->op != ops[i] || (r->name[0] && !strstr(name, r->name)))
				continue;
			n = atomic_fetch_add(&r->count, 1) + 1;
			if (r->onwards ? n < r->n : n != r->n)
				continue;
			if (r->kind == FAULT_KILL)
				kill(getpid(), SIGKILL);
			if (r->kind == FAULT_STOP) {
				kill(getpid(), SIGSTOP);
				continue;
			}
			if (r->kind == FAULT_SHORT || r->kind == FAULT_BADSUM) {
				if (damage_r != NULL) /* else not a read: nothing to spoil */
					*damage_r = (int)r->kind;
				continue;
			}
			if (r->kind == FAULT_LOCKED)
				return error_setk(err, ERROR_LOCKED, "DELETE %s refused: it is locked "
						  "by Object Lock (injected fault)", name);
			errno = r->kind == FAULT_ENOSPC ? ENOSPC : EIO;
			return error_sys(err, "write(%s) failed (injected fault)", name);
		}
	}
	return 0;
}

static int fault_hit(struct fault *f, const enum fault_op *ops, size_t nops, const char *name,
		     struct error *err)
{
	return fault_hit_damage(f, ops, nops, name, NULL, err);
}

/* Spoils a read's answer (out from start) as the rule said. */
static int fault_damage(struct fault *f, int damage, const char *name, struct buf *out,
			size_t start, struct error *err)
{
	char *what;

	if (damage == FAULT_BADSUM && out->len > start) {
		out->data[start + (out->len - start) / 2] ^= 0x20;
		return 0;
	}
	if (damage != FAULT_SHORT)
		return 0;
	what = backend_describe(f->inner, name);
	error_setk(err, ERROR_CORRUPT, "GET %s returned %zu bytes, not %zu (a 200 with a short "
		   "body; injected fault)", what, (out->len - start) / 2, out->len - start);
	free(what);
	out->len = start;
	return -1;
}

static const enum fault_op op_write[] = { FAULT_WRITE };
static const enum fault_op op_commit[] = { FAULT_WRITE, FAULT_COMMIT };
static const enum fault_op op_read[] = { FAULT_READ };
static const enum fault_op op_remove[] = { FAULT_REMOVE };
static const enum fault_op op_lock[] = { FAULT_LOCK };

static int fault_put(struct backend *be, const char *name, const void *data, size_t len,
		     struct error *err)
{
	struct fault *f = (struct fault *)be;

	if (fault_hit(f, op_commit, 2, name, err) < 0)
		return -1;
	return backend_put(f->inner, name, data, len, err);
}

static struct backend_upload *fault_upload_begin(struct backend *be, const char *name, int flags,
						 struct error *err)
{
	struct fault *f = (struct fault *)be;
	struct backend_upload *inner = backend_upload_begin(f->inner, name, flags, err);
	struct backend_upload *up;

	if (inner == NULL)
		return NULL;
	up = xcalloc(1, sizeof(*up));
	up->f = f;
	up->inner = inner;
	up->name = xstrdup(name);
	return up;
}

static int fault_upload_write(struct backend_upload *up, const void *data, size_t len,
			      struct error *err)
{
	if (fault_hit(up->f, op_write, 1, up->name, err) < 0)
		return -1;
	return backend_upload_write(up->f->inner, up->inner, data, len, err);
}

static int fault_upload_commit(struct backend_upload *up, struct error *err)
{
	struct fault *f = up->f;
	struct backend_upload *inner = up->inner;
	int ret = fault_hit(f, op_commit, 2, up->name, err);

	free(up->name);
	free(up);
	if (ret < 0) {
		backend_upload_abort(f->inner, inner);
		return -1;
	}
	return backend_upload_commit(f->inner, inner, err);
}

static void fault_upload_abort(struct backend_upload *up)
{
	backend_upload_abort(up->f->inner, up->inner);
	free(up->name);
	free(up);
}

static int fault_get(struct backend *be, const char *name, struct buf *out, size_t max,
		     struct error *err)
{
	struct fault *f = (struct fault *)be;
	size_t start = out->len;
	int damage = 0;

	if (fault_hit_damage(f, op_read, 1, name, &damage, err) < 0 ||
	    backend_get(f->inner, name, out, max, err) < 0)
		return -1;
	return fault_damage(f, damage, name, out, start, err);
}

static int fault_get_range(struct backend *be, const char *name, uint64_t off, size_t len,
			   void *out, struct error *err)
{
	struct fault *f = (struct fault *)be;
	struct buf b = { .data = out, .len = len, .cap = len };
	int damage = 0;

	if (fault_hit_damage(f, op_read, 1, name, &damage, err) < 0 ||
	    backend_get_range(f->inner, name, off, len, out, err) < 0)
		return -1;
	return fault_damage(f, damage, name, &b, 0, err);
}

static int fault_versions(struct backend *be, const char *name, backend_list_cb *cb, void *ctx,
			  struct error *err)
{
	struct fault *f = (struct fault *)be;

	if (f->inner->ops->versions == NULL)
		return 0; /* one version: nothing older to read */
	return f->inner->ops->versions(f->inner, name, cb, ctx, err);
}

/* Reads of an older version count as reads (and are damaged alike). */
static int fault_get_version(struct backend *be, const char *name, const char *version,
			     uint64_t off, size_t len, struct buf *out, size_t max,
			     struct error *err)
{
	struct fault *f = (struct fault *)be;
	size_t start = out->len;
	int damage = 0;

	if (f->inner->ops->get_version == NULL)
		return error_set(err, "versions are not supported");
	if (fault_hit_damage(f, op_read, 1, name, &damage, err) < 0 ||
	    f->inner->ops->get_version(f->inner, name, version, off, len, out, max, err) < 0)
		return -1;
	return fault_damage(f, damage, name, out, start, err);
}

static int fault_size(struct backend *be, const char *name, uint64_t *size_r, struct error *err)
{
	return backend_size(((struct fault *)be)->inner, name, size_r, err);
}

static int fault_list(struct backend *be, const char *dir, backend_list_cb *cb, void *ctx,
		      struct error *err)
{
	return backend_list(((struct fault *)be)->inner, dir, cb, ctx, err);
}

static int fault_remove(struct backend *be, const char *name, struct error *err)
{
	struct fault *f = (struct fault *)be;

	if (fault_hit(f, op_remove, 1, name, err) < 0)
		return -1;
	return backend_remove(f->inner, name, err);
}

static int fault_lock(struct backend *be, const char *name, int64_t *until_r, int *hold_r,
		      struct error *err)
{
	struct fault *f = (struct fault *)be;

	if (fault_hit(f, op_lock, 1, name, err) < 0) {
		if (err->code != ERROR_LOCKED)
			return -1;
		*until_r = (int64_t)time(NULL) + 86400;
		*hold_r = 0;
		return 0;
	}
	return backend_lock(f->inner, name, until_r, hold_r, err);
}

static int fault_retain(struct backend *be, const char *name, int64_t below, int64_t until,
			int64_t *before_r, int *extended_r, struct error *err)
{
	return backend_retain(((struct fault *)be)->inner, name, below, until, before_r,
			      extended_r, err);
}

static int fault_hold(struct backend *be, const char *name, int on, struct error *err)
{
	return backend_hold(((struct fault *)be)->inner, name, on, err);
}

static int fault_sync(struct backend *be, struct error *err)
{
	return backend_sync(((struct fault *)be)->inner, err);
}

static char *fault_describe(struct backend *be, const char *name)
{
	return backend_describe(((struct fault *)be)->inner, name);
}

static void fault_close(struct backend *be)
{
	struct fault *f = (struct fault *)be;

	backend_close(&f->inner);
	free(f);
}

static const struct backend_ops fault_ops = {
	.put = fault_put,
	.upload_begin = fault_upload_begin,
	.upload_write = fault_upload_write,
	.upload_commit = fault_upload_commit,
	.upload_abort = fault_upload_abort,
	.get = fault_get,
	.get_range = fault_get_range,
	.size = fault_size,
	.list = fault_list,
	.remove = fault_remove,
	.lock = fault_lock,
	.retain = fault_retain,
	.hold = fault_hold,
	.sync = fault_sync,
	.versions = fault_versions,
	.get_version = fault_get_version,
	.close = fault_close,
	.describe = fault_describe,
};

struct backend *backend_fault_inner(struct backend *be)
{
	return be->ops == &fault_ops ? ((struct fault *)be)->inner : be;
}

static int fault_parse_rule(const char *s, size_t len, struct fault_rule *r)
{
	char tmp[96], *colon1, *colon2, *at, *end;

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	colon1 = strchr(tmp, ':');
	colon2 = colon1 ? strchr(colon1 + 1, ':') : NULL;
	if (colon2 == NULL)
		return -1;
	*colon1 = *colon2 = '\0';
	if ((at = strchr(tmp, '@')) != NULL) {
		*at = '\0';
		if (at[1] == '\0' || strlen(at + 1) >= sizeof(r->name))
			return -1;
		memcpy(r->name, at + 1, strlen(at + 1) + 1);
	}
	if (strcmp(tmp, "write") == 0) r->op = FAULT_WRITE;
	else if (strcmp(tmp, "commit") == 0) r->op = FAULT_COMMIT;
	else if (strcmp(tmp, "read") == 0) r->op = FAULT_READ;
	else if (strcmp(tmp, "remove") == 0) r->op = FAULT_REMOVE;
	else if (strcmp(tmp, "lock") == 0) r->op = FAULT_LOCK;
	else return -1;
	errno = 0;
	r->n = strtoul(colon1 + 1, &end, 10);
	if (errno != 0 || end == colon1 + 1 || r->n == 0)
		return -1;
	r->onwards = *end == '+';
	if (*end != '\0' && !(r->onwards && end[1] == '\0'))
		return -1;
	if (strcmp(colon2 + 1, "enospc") == 0) r->kind = FAULT_ENOSPC;
	else if (strcmp(colon2 + 1, "eio") == 0) r->kind = FAULT_EIO;
	else if (strcmp(colon2 + 1, "kill") == 0) r->kind = FAULT_KILL;
	else if (strcmp(colon2 + 1, "stop") == 0) r->kind = FAULT_STOP;
	else if (strcmp(colon2 + 1, "locked") == 0) r->kind = FAULT_LOCKED;
	else if (strcmp(colon2 + 1, "short") == 0) r->kind = FAULT_SHORT;
	else if (strcmp(colon2 + 1, "badsum") == 0) r->kind = FAULT_BADSUM;
	else return -1;
	return 0;
}

struct backend *backend_fault_open(struct backend *inner, const char *spec, struct error *err)
{
	struct fault *f = xcalloc(1, sizeof(*f));
	const char *p = spec;

	f->be.ops = &fault_ops;
	f->be.flags = inner->flags;
	f->be.parallel = inner->parallel;
	f->inner = inner;
	while (*p != '\0') {
		size_t len = strcspn(p, ",");

		if (f->nrules == sizeof(f->rules) / sizeof(f->rules[0]) ||
		    fault_parse_rule(p, len, &f->rules[f->nrules]) < 0) {
			error_setk(err, ERROR_USAGE, "bad fault rule in COFFER_FAULTS: %.*s",
				   (int)len, p);
			fault_close(&f->be);
			return NULL;
		}
		f->nrules++;
		p += len + (p[len] == ',');
	}
	return &f->be;
}
