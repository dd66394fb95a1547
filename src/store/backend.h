#ifndef COFFER_BACKEND_H
#define COFFER_BACKEND_H

/* Where a store's objects live. A backend only adds objects (put-if-absent,
 * or a streamed upload committed under its final name) and reads them;
 * deletion exists only on a backend opened with BACKEND_ALLOW_DELETE, which
 * only prune does. Names are relative, '/'-separated ("units/ab/rp/1").
 *
 * Implementations: the local folder (backend_local.c), S3 (backend_s3.c,
 * docs/s3.md) and a fault-injecting wrapper for tests (backend_fault.c). */

#include <stddef.h>
#include <stdint.h>

struct buf;
struct error;
struct backend;
struct backend_upload;

enum { BACKEND_ALLOW_DELETE = 1 };

/* Upload flags. LAZY: the commit links the object without waiting for it
 * to reach the disk; backend_sync() makes every lazy object durable. For
 * packs, which nothing references until an index segment is written after
 * a sync (docs/format.md section 1). */
enum { BACKEND_UPLOAD_LAZY = 1 };
/* VOLATILE: visible to every reader once committed, but never needs to
 * survive a crash of this machine, so the commit does not wait for the
 * disk at all (backend_sync() need not follow). For writer markers, which
 * speak for a process that a crash ends too (docs/prune.md). Backends
 * whose every object is durable when written (S3) ignore it. */
enum { BACKEND_UPLOAD_VOLATILE = 2 };

/* Called per name by list(); returning -1 stops the listing. */
typedef int backend_list_cb(void *ctx, const char *name);

/* Checks what a read returned (data, len): 0 if it is right, else -1 with
 * an ERROR_CORRUPT error naming the object. Used by the verified reads. */
typedef int backend_verify_cb(void *ctx, const uint8_t *data, size_t len, struct error *err);

struct backend_notes;

struct backend_ops {
	int (*put)(struct backend *be, const char *name, const void *data, size_t len,
		   struct error *err);
	struct backend_upload *(*upload_begin)(struct backend *be, const char *name, int flags,
					       struct error *err);
	int (*upload_write)(struct backend_upload *up, const void *data, size_t len,
			    struct error *err);
	/* Both end the upload and free it. */
	int (*upload_commit)(struct backend_upload *up, struct error *err);
	void (*upload_abort)(struct backend_upload *up);
	int (*get)(struct backend *be, const char *name, struct buf *out, size_t max,
		   struct error *err);
	int (*get_range)(struct backend *be, const char *name, uint64_t off, size_t len,
			 void *out, struct error *err);
	int (*size)(struct backend *be, const char *name, uint64_t *size_r, struct error *err);
	/* Lists the object names directly inside folder `dir` (not recursive). */
	int (*list)(struct backend *be, const char *dir, backend_list_cb *cb, void *ctx,
		    struct error *err);
	/* ERROR_LOCKED when the server refuses because the object is locked
	 * (S3 Object Lock), saying until when if it knows. */
	int (*remove)(struct backend *be, const char *name, struct error *err);
	/* The object's server-side lock: Unix seconds of its retain-until
	 * date (0: none) and whether a legal hold is on. NULL in a backend
	 * without locks (the local folder). ERROR_NOTFOUND if it is missing. */
	int (*lock)(struct backend *be, const char *name, int64_t *until_r, int *hold_r,
		    struct error *err);
	/* Lock extension: when the object's retain-until date is before
	 * `below`, sets it to `until` (same mode; never earlier than it is);
	 * until 0 only asks. On S3 every version of the name that carries a
	 * lock is looked at (an overwrite adds versions). *before_r gets the
	 * earliest date it had, *extended_r whether one was (or would be)
	 * moved. NULL where there are no locks. ERROR_NOTFOUND if missing. */
	int (*retain)(struct backend *be, const char *name, int64_t below, int64_t until,
		      int64_t *before_r, int *extended_r, struct error *err);
	/* Sets (on 1) or releases (0) the object's legal hold. NULL where
	 * there are no locks. */
	int (*hold)(struct backend *be, const char *name, int on, struct error *err);
	/* Makes every object committed so far durable. */
	int (*sync)(struct backend *be, struct error *err);
	/* The version ids an object has (a versioned S3 bucket keeps the
	 * versions an overwrite put over it), oldest first; NULL in a
	 * backend whose objects have one version (the local folder). */
	int (*versions)(struct backend *be, const char *name, backend_list_cb *cb, void *ctx,
			struct error *err);
	/* Reads version `version` of the object: len bytes at off, or with
	 * len 0 the whole object (at most max bytes), appended to out. */
	int (*get_version)(struct backend *be, const char *name, const char *version, uint64_t off,
			   size_t len, struct buf *out, size_t max, struct error *err);
	void (*close)(struct backend *be);
	/* A human name of an object for messages ("/srv/store/units/..."). */
	char *(*describe)(struct backend *be, const char *name);
};

struct backend {
	const struct backend_ops *ops;
	int flags;
	/* How many requests the backend wants in flight at once (readers
	 * run that many threads); 0: no preference (a local folder). */
	int parallel;
	/* Objects read from an older version (backend_overwritten()). */
	struct backend_notes *notes;
};

struct backend *backend_local_open(const char *root, int flags);

/* Object Lock modes of an S3 backend (docs/s3.md). */
enum { BACKEND_LOCK_NONE = 0, BACKEND_LOCK_COMPLIANCE = 1, BACKEND_LOCK_GOVERNANCE = 2 };

/* 1 if a store spec is a URL ("scheme://..."), 0 if it is a local folder. */
int backend_spec_is_url(const char *spec);
/* Opens the backend a store spec names: "s3://HOST[:PORT]/BUCKET[/PREFIX]"
 * or "s3+http://..." is S3, another "scheme://" is refused (ERROR_USAGE
 * naming it), anything else is a local folder. */
struct backend *backend_open(const char *spec, int flags, struct error *err);
/* Whether backend_open() would take the spec's form (nothing is contacted):
 * 0, or -1 and the ERROR_USAGE it would give. For callers that check a
 * spec before they ask for keys or write files. */
int backend_spec_check(const char *spec, struct error *err);
/* The S3 backend; credentials, region, CA file, retries and timeout come
 * from the environment (docs/s3.md). ERROR_USAGE for a bad spec or
 * missing credentials. */
struct backend *backend_s3_open(const char *spec, int flags, struct error *err);
/* From now on every object be writes carries Object Lock `mode` with a
 * retain-until date `days` after the PUT. -1 if be is not S3. */
int backend_s3_set_lock(struct backend *be, int mode, unsigned days);
/* The lock mode (BACKEND_LOCK_*) and days be writes with; NONE, 0 if it
 * has none or is not S3. */
int backend_s3_lock_mode(struct backend *be, unsigned *days_r);
/* For `coffer init`: the bucket exists with Object Lock enabled (created
 * with it when missing) and the store's prefix holds nothing. ERROR_USAGE
 * for a bucket without Object Lock, ERROR_EXISTS when not empty. */
int backend_s3_prepare(struct backend *be, struct error *err);
/* Wraps `inner` (taking ownership) with faults described by `spec`
 * (docs/testing.md): "op:N:kind[,op:N:kind...]". */
struct backend *backend_fault_open(struct backend *inner, const char *spec, struct error *err);
/* The backend a fault wrapper wraps; be itself if it is none. */
struct backend *backend_fault_inner(struct backend *be);

/* Thin wrappers that keep callers from touching the table. */
int backend_put(struct backend *be, const char *name, const void *data, size_t len,
		struct error *err);
struct backend_upload *backend_upload_begin(struct backend *be, const char *name, int flags,
					    struct error *err);
int backend_upload_write(struct backend *be, struct backend_upload *up, const void *data,
			 size_t len, struct error *err);
int backend_upload_commit(struct backend *be, struct backend_upload *up, struct error *err);
void backend_upload_abort(struct backend *be, struct backend_upload *up);
int backend_get(struct backend *be, const char *name, struct buf *out, size_t max,
		struct error *err);
int backend_get_range(struct backend *be, const char *name, uint64_t off, size_t len, void *out,
		      struct error *err);
int backend_size(struct backend *be, const char *name, uint64_t *size_r, struct error *err);
int backend_list(struct backend *be, const char *dir, backend_list_cb *cb, void *ctx,
		 struct error *err);
/* Refuses unless the backend was opened with BACKEND_ALLOW_DELETE.
 * ERROR_LOCKED if the server refused because the object is locked. */
int backend_remove(struct backend *be, const char *name, struct error *err);
/* The object's lock (see the table): *until_r 0 and *hold_r 0 where the
 * backend has none. */
int backend_lock(struct backend *be, const char *name, int64_t *until_r, int *hold_r,
		 struct error *err);
/* Whether the server would refuse to delete the object now (by this
 * machine's clock): 0 if not (also when it is missing), -1 with
 * ERROR_LOCKED "WHAT is locked by Object Lock until DATE" (or "under a
 * legal hold") if so, -1 with another kind if the lock cannot be read.
 * `what` names the object for people ("restore point u@3"). */
int backend_lock_check(struct backend *be, const char *name, const char *what,
		       struct error *err);
/* See the table. Both ERROR_USAGE where the backend has no locks (the
 * local folder): callers check backend_has_locks() first. backend_hold()
 * needs BACKEND_ALLOW_DELETE: on S3 it is signed with the deletion
 * credentials, since a bucket policy cannot tell setting a hold from
 * releasing one (docs/s3.md). */
int backend_retain(struct backend *be, const char *name, int64_t below, int64_t until,
		   int64_t *before_r, int *extended_r, struct error *err);
int backend_hold(struct backend *be, const char *name, int on, struct error *err);
/* 1 if objects in this backend carry Object Lock (an S3 store whose config
 * asks for it: backend_s3_set_lock()), else 0. */
int backend_has_locks(struct backend *be);
/* The spec without its settings ("?..."): what names the store, for
 * caches and identity; the caller frees it. */
char *backend_spec_identity(const char *spec);
/* "2027-01-06T10:00:00Z" into out (at least 21 bytes). */
void backend_lock_date(int64_t secs, char *out, size_t size);
char *backend_describe(struct backend *be, const char *name);
/* Reads that check what they got (docs/s3.md, "Integrity"): backend_get or
 * backend_get_range, then verify(). A read that fails as damaged
 * (ERROR_CORRUPT, from the backend or from verify) is tried once more (a
 * fault on the way); if that fails too and the backend keeps versions, the
 * object was perhaps overwritten (in a versioned bucket the backup
 * credentials can put a new version over a locked one): its versions are
 * read oldest first and the first that verifies is taken, with a warning
 * that names the object (once per object) and a note for
 * backend_overwritten(). Else the first error. */
int backend_get_verified(struct backend *be, const char *name, struct buf *out, size_t max,
			 backend_verify_cb *verify, void *ctx, struct error *err);
int backend_get_range_verified(struct backend *be, const char *name, uint64_t off, size_t len,
			       void *out, backend_verify_cb *verify, void *ctx,
			       struct error *err);
/* The objects read so far from an older version than their newest
 * (overwritten), sorted; the caller frees the array and the names. */
size_t backend_overwritten(struct backend *be, char ***names_r);
int backend_sync(struct backend *be, struct error *err);
void backend_close(struct backend **be);

#endif
