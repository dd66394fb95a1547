#ifndef COFFER_FIND_H
#define COFFER_FIND_H

/* Finding a lost file: every version of the paths that match a name
 * pattern, across a unit's live restore points ("report.xlsx, some time
 * last month" is one question). Works for every unit whose points are
 * trees of files: folders, drives and sites.
 *
 * A version is one content of one path: the points that hold the path with
 * the same bytes (the same extents) share it, so a file that changed
 * twice across 300 points is three versions, each with the first and last
 * point that hold it. */

#include <stddef.h>
#include <stdint.h>

struct error;
struct store_unit;

struct find_opts {
	/* A glob (fnmatch): with a '/', matched against the whole path
	 * ("docs" "/" "*.xlsx"); without, against the last part of it
	 * ("report*.xlsx"). */
	const char *pattern;
	int ignore_case;
	size_t max_versions; /* 0: FIND_MAX_VERSIONS; more is ERROR_USAGE */
};
#define FIND_MAX_VERSIONS 100000

struct find_version {
	char *path;
	unsigned version;         /* 1, 2, ... per path, oldest first */
	uint8_t type;             /* META_FILE, META_DIR, ... */
	uint64_t size;
	int64_t mtime_s;          /* as the point recorded it */
	uint32_t first_seq, last_seq;
	int64_t first_time_ns, last_time_ns;
	size_t npoints;           /* points holding this version */
};

struct find_result {
	struct find_version *v; /* by path, then version */
	size_t n;
	size_t points;          /* live points searched */
	/* Matching entries the unit's erasure ledger withheld (counted once
	 * per point that has them), and by request (erasure_set_report_text). */
	uint64_t withheld;
	char *withheld_by;
};

/* Searches every live point of u. -1 and err naming the point on a
 * damaged one; ERROR_USAGE for a bad pattern or too many versions. */
int find_run(struct store_unit *u, const struct find_opts *o, struct find_result *res,
	     struct error *err);
void find_result_clear(struct find_result *res);

#endif
