#ifndef COFFER_DRILL_H
#define COFFER_DRILL_H

/* The test restore of a restore drill (docs/service.md "Restore drills"):
 * a sample of the files (or messages) of a restore point is restored with
 * the ordinary restore (engine/restore.h) into a scratch folder, and each
 * restored file is compared with what the point says of it: its size and,
 * extent by extent, the keyed id of its content (the point's content
 * hash). Entries the unit's erasure ledger withholds are never sampled;
 * they are counted. Nothing is written to the store or to the unit's
 * source. */

#include <stddef.h>
#include <stdint.h>

struct error;
struct store;

/* Told about each problem: the entry's path (NULL: the restore as a
 * whole) and what is wrong. */
typedef void drill_report_cb(void *ctx, const char *path, const char *problem);

struct drill_sample_opts {
	const char *unit;
	uint32_t seq;      /* 0: the newest point */
	size_t nsample;    /* how many files to sample (at most) */
	uint64_t seed;     /* picks the sample: the same seed, the same sample */
	const char *scratch; /* an empty folder, made if missing; the caller removes it */
	drill_report_cb *report;
	void *ctx;
};

struct drill_sample_result {
	uint32_t seq;        /* the point sampled */
	uint64_t files;      /* files in the point (not withheld) */
	uint64_t withheld;   /* files of the point the erasure ledger withholds */
	uint64_t sampled, verified, bytes, problems;
	char **paths;        /* the sampled paths (sampled of them); the caller frees
				them with drill_sample_result_clear() */
};

/* 0 when the drill ran (problems counted in res and reported), -1 when it
 * could not start (no such unit or point, an unreadable index). */
int drill_sample_run(struct store *s, const struct drill_sample_opts *o,
		     struct drill_sample_result *res, struct error *err);
void drill_sample_result_clear(struct drill_sample_result *res);

#endif
