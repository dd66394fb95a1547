#ifndef COFFER_RESTORE_H
#define COFFER_RESTORE_H

/* Restores a restore point, whole or the entries matching paths/globs,
 * into a folder or in place. The target is compared with the point first:
 * only what differs is written, and in place, what the point does not have
 * is removed — so a rollback costs time in proportion to the damage.
 * Content is fetched pack by pack (each pack read once) and written by
 * several threads. */

#include <stddef.h>
#include <stdint.h>

struct error;
struct store;

/* Told about each action (also in a dry run): "write", "remove", "attrs",
 * "link", "mkdir", "failed". */
typedef void restore_report_cb(void *ctx, const char *action, const char *path);
/* Told as content is written: bytes written so far and the total to write;
 * first once with done 0 when the total is known (called from the writer
 * threads, one at a time). */
typedef void restore_bytes_cb(void *ctx, uint64_t done, uint64_t total);

struct restore_opts {
	const char *rp;       /* UNIT[@N] */
	const char *target;   /* NULL with in_place: the point's source folder */
	/* NULL, or a folder the target lies inside that the restore must stay
	 * beneath: no symbolic link is followed from it down to the target
	 * (the service's FOLDER_ROOT/<tenant>; docs/engine.md "Confinement").
	 * Inside the target no link is ever followed, and the target itself
	 * may not be one. */
	const char *beneath;
	int in_place;
	int dry_run;
	int numeric_owner; /* owners by recorded id, not by name (tar's --numeric-owner) */
	char **patterns;
	size_t npatterns;
	int threads;
	int quiet;
	restore_report_cb *report;
	restore_bytes_cb *bytes; /* NULL: not told */
	void *ctx;
};

struct restore_result {
	uint64_t entries, written_files, written_bytes, removed, attrs_fixed, unchanged, failed;
	/* Entries the unit's erasure ledger withholds (neither written nor
	 * removed), and by request: erasure_set_report_text()'s JSON, or NULL;
	 * the caller frees it, also on failure. */
	uint64_t withheld;
	char *withheld_by;
	/* One line on what could not be applied (owners and attributes when
	 * not root, SELinux labels without SELinux), or NULL; the caller
	 * frees it, also on failure. */
	char *not_applied;
};

/* 0 when everything selected was restored; -1 with the error otherwise
 * (result->failed counts entries that could not be restored; the others
 * were). */
int restore_run(struct store *s, const struct restore_opts *o, struct restore_result *res,
		struct error *err);

#endif
