#ifndef COFFER_LOCKS_H
#define COFFER_LOCKS_H

/* What the server's Object Lock must keep (docs/s3.md "Lock extension",
 * "Legal hold"): every object the live restore points of a store (or of one
 * unit) need — their manifests, the packs holding their blobs (data and
 * metadata), the unit's key and live index segments, and the store's
 * config, key slots and deletion key. Lock extension moves the
 * retain-until date of those whose lock is about to lapse; legal hold sets
 * or releases a hold on a unit's. */

#include <stddef.h>
#include <stdint.h>

struct error;
struct store;

/* The objects the live points of `unit` (NULL: every unit) need, sorted
 * and unique, plus the store's own when with_store. A unit whose points
 * cannot be read is not left out silently: its error goes to
 * *problems_r (one string each, naming the unit; the caller frees) and
 * its readable part is still listed. -1 only when the units cannot be
 * listed, or `unit` does not exist. */
int locks_objects(struct store *s, const char *unit, int with_store, char ***names_r,
		  size_t *n_r, char ***problems_r, size_t *nproblems_r, struct error *err);
void locks_names_free(char **names, size_t n);

struct lock_extend_opts {
	const char *unit;      /* NULL: every unit */
	int64_t now;           /* Unix seconds; 0: this machine's clock */
	int64_t min_remaining; /* extend when less than this many seconds remain;
				* <= 0: a third of the store's lock days */
	int dry_run;           /* only read the locks and count */
};

#define LOCK_EXTEND_FAILURES_MAX 20

struct lock_extend_result {
	int has_locks;          /* 0: the store has no Object Lock; nothing done */
	int64_t until;          /* the date an extended object is given */
	int64_t below;          /* objects locked until before this are extended */
	uint64_t checked;       /* objects whose lock was read */
	uint64_t extended;      /* moved to `until` (dry run: would be) */
	uint64_t failed;        /* could not be read or extended, or a point unreadable */
	char *failures[LOCK_EXTEND_FAILURES_MAX]; /* the first ones, each naming its object */
	size_t nfailures;
};

/* For every object locks_objects() lists whose retain-until date is before
 * now + min_remaining, sets it to now + max(lock days, min_remaining + a
 * third of the lock days) with
 * the store's mode (never shortened: a later date stays). A few requests
 * at a time; a failure is counted and named, never stops the run. 0 even
 * with failures (res->failed says); -1 only when nothing could be
 * walked. A store without Object Lock: 0 and res->has_locks 0. */
int lock_extend(struct store *s, const struct lock_extend_opts *o, struct lock_extend_result *res,
		struct error *err);
void lock_extend_result_clear(struct lock_extend_result *res);

/* --- legal hold ---------------------------------------------------------- */

struct legal_hold_result {
	int has_locks;     /* 0: the store has no Object Lock; nothing done */
	uint64_t objects;  /* the unit's objects (with the store's) */
	uint64_t changed;  /* holds set, or released */
	uint64_t kept;     /* release: still held for another held unit */
	uint64_t failed;
	char *failures[LOCK_EXTEND_FAILURES_MAX];
	size_t nfailures;
};

/* Sets (on 1) or releases (on 0) the S3 legal hold of every object the live
 * points of `unit` need, the store's own objects included (locks_objects()).
 * A release leaves held what the units in `held` (other units under a
 * legal hold; their names in the store) need: packs and store objects
 * are shared. Needs s opened with BACKEND_ALLOW_DELETE (the deletion
 * credentials sign legal holds, docs/s3.md). Failures are counted and
 * named; 0 even then (res->failed), -1 when nothing could be walked. A
 * store without Object Lock: 0 and res->has_locks 0. */
int legal_hold_apply(struct store *s, const char *unit, int on, const char *const *held,
		     size_t nheld, struct legal_hold_result *res, struct error *err);
void legal_hold_result_clear(struct legal_hold_result *res);

#endif
