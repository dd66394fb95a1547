#ifndef COFFER_BACKUP_H
#define COFFER_BACKUP_H

/* Takes a restore point of a folder as a protection unit: walks it, reads
 * only files whose size, mtime, ctime or inode changed since the last
 * point, chunks, deduplicates, compresses, encrypts and packs on all
 * cores, then commits packs, index and restore point, in that order
 * (through the point writer, engine/point_writer.h). */

#include <stdint.h>

#include "store/rp.h"

struct error;
struct store;

struct point_fence;

struct backup_opts {
	const char *unit;
	const char *path;
	/* NULL, or a folder `path` lies inside that the backup must stay
	 * beneath: no symbolic link is followed from it down to path (the
	 * service's FOLDER_ROOT/<tenant>; docs/engine.md "Confinement"). Inside
	 * path no link is ever followed, and path itself may not be one. */
	const char *beneath;
	int threads; /* 0: one per core */
	int quiet;
	int64_t time_ns; /* the restore point's time; 0: now (the service passes its clock) */
	/* keepUntil/retainUntil = the point's time (seconds) + these; 0: none
	 * (docs/format.md 7). Negative is refused. */
	int64_t keep_seconds, retain_seconds;
	const struct point_fence *fence; /* point_writer.h; NULL: none */
};

struct backup_result {
	uint32_t seq;
	struct rp_stats stats;
	uint64_t reused_files; /* files not read again */
	uint64_t nwarnings;
};

/* 0 on success (possibly with warnings, counted in the result; each was
 * logged and recorded in the restore point), -1 on failure: then no
 * restore point was written and nothing stored before was touched. */
int backup_run(struct store *s, const struct backup_opts *o, struct backup_result *res,
	       struct error *err);

#endif
