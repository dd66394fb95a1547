#ifndef COFFER_DIFF_H
#define COFFER_DIFF_H

/* Differences between two restore points of a unit, or between a point
 * and the live folder: '+' added, '-' removed, 'M' content changed, 'm'
 * metadata only. Against the live folder, content counts as changed when
 * size or mtime differ (the check backup uses). */

#include <stdint.h>

struct error;
struct meta_entry;
struct store;

/* e: the entry as the newer side has it (the older side's for '-'). */
typedef void diff_report_cb(void *ctx, char kind, const char *path, const struct meta_entry *e);

struct diff_result {
	uint64_t added, removed, modified, attrs;
	/* Entries of the points the erasure ledger withheld (neither side
	 * shows them), and by request (JSON text or NULL; the caller frees). */
	uint64_t withheld;
	char *withheld_by;
};

/* rp2 NULL or "live": compare with rp1's source folder. */
int diff_run(struct store *s, const char *rp1, const char *rp2, diff_report_cb *cb, void *ctx,
	     struct diff_result *res, struct error *err);

#endif
