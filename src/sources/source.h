#ifndef COFFER_SOURCE_H
#define COFFER_SOURCE_H

/* A source: where a protection unit lives, and how to take a restore point
 * of it and write one back (docs/service.md "Sources"). The service picks
 * the source by the "type" of the unit's source JSON and never branches on
 * it elsewhere; adding a source is adding a file and a line in source.c.
 *
 *   folder  {"type":"folder","path":"/srv/home/ann"}            (sources/folder.c)
 *   imap    {"type":"imap","host":…,"port":993,"tls":"implicit"|"starttls"|"none",
 *            "user":…,"auth":"plain"|"login"|"xoauth2"|"oauthbearer",
 *            "secret":… | "secretCommand":…}                    (sources/imap_source.c)
 *   webdav  {"type":"webdav","url":"https://host/remote.php/dav/files/ann/",
 *            "user":…,"auth":"basic"|"bearer","secret":…}    (sources/webdav_source.c)
 *
 * What a new source does (docs/engine.md "Writing a restore point"):
 *
 * - backup: walk the remote and hand what it finds to the engine's point
 *   writer (engine/point_writer.h), which owns everything written to the
 *   store and its order. point_writer_open + _begin; point_writer_parent
 *   for the last point (to reuse what did not change: copy its entries'
 *   extents instead of fetching the content again); content through a
 *   point_stream (point_stream_write ... point_stream_end fills an entry's
 *   extents; one stream per thread); each entry (struct meta_entry: a
 *   file, folder or link, with its attributes and xattrs, "user.<source>.*"
 *   for what is the source's own) by point_writer_add, in tree order;
 *   point_writer_checkpoint now and then in long runs; point_writer_warn for
 *   what is left out; point_writer_set_totals, then point_writer_commit for
 *   the result. Any failure before the commit: point_writer_close, which
 *   ends the writer; no restore point is written and nothing stored
 *   before is touched. A source that can tell nothing changed since the
 *   parent (its own summary, point_writer_set_source_state, equal to
 *   point_writer_parent_state) commits point_writer_reuse_parent.
 * - restore: open the point with engine/point_reader.h and read its tree
 *   back (tree_reader_open, blob_fetch in engine/tree.h, or the source's
 *   own reader of its layout), then write to the remote.
 *
 * A source never includes a store header (src/store/): store types it
 * passes along (the unit, the index, a manifest) are opaque handles it gets
 * from the engine.
 */

#include <stddef.h>
#include <stdint.h>

struct error;
struct json_object;
struct netpolicy;
struct point_fence;
struct store;

struct source_backup_opts {
	const char *unit;                  /* store unit name (the unit id) */
	const struct json_object *source;  /* the unit's source JSON */
	/* Folder sources: NULL, or a folder the unit's path lies inside that
	 * it must stay beneath: nothing below it is opened through a symbolic
	 * link (the service's FOLDER_ROOT/<tenant>; docs/engine.md
	 * "Confinement"). Other sources ignore it. */
	const char *beneath;
	int64_t time_ns;                   /* restore point time; 0: now */
	int64_t keep_seconds, retain_seconds; /* keepUntil/retainUntil = the point's time + these;
						 0: none (docs/format.md 7) */
	int quiet;
	/* Where a network source may connect (lib/netpolicy.h), checked on
	 * each address as it connects; NULL: anywhere (the CLI). The service
	 * passes its source_allow / source_deny policy. */
	const struct netpolicy *netpolicy;
	/* Asked before the point's manifest is written (engine/point_writer.h);
	 * NULL: none. The service's lease check. */
	const struct point_fence *fence;
};

struct source_backup_result {
	uint32_t seq;
	uint64_t items, bytes, new_bytes, stored_bytes, incompressible_bytes;
	uint64_t changed_items; /* items added, changed or removed since the parent */
	uint64_t nwarnings;
};

/* Told as a restore goes: items and bytes done so far. */
typedef void source_progress_cb(void *ctx, uint64_t items_done, uint64_t bytes_done);
/* Told once the work is known (again if it changes): items and bytes to do. */
typedef void source_total_cb(void *ctx, uint64_t items_total, uint64_t bytes_total);

/* A dry run's actions, one per entry: "write", "mkdir", "link" (would be
 * written), "remove", "attrs" (metadata only). */
typedef void source_plan_cb(void *ctx, const char *action, const char *path);

struct source_restore_opts {
	const char *rp;                    /* "UNIT@N" */
	const struct json_object *source;  /* the unit's source JSON (in place) */
	const struct json_object *target;  /* NULL: in place; else a source JSON to write to */
	const char *beneath;               /* as in source_backup_opts, for the target too */
	char **patterns;                   /* granular: paths/globs (folders), ids (mail) */
	size_t npatterns;
	int quiet;
	source_progress_cb *progress;
	source_total_cb *total;            /* NULL: not told */
	void *ctx;
	const struct netpolicy *netpolicy; /* as in source_backup_opts */
	/* A plan (restore sessions' "dryRun"): nothing is written, removed or
	 * created anywhere; each action is told to plan (with ctx), and the
	 * result's bytes_done is what would be written. A source that cannot
	 * tell cheaply what differs sets the result's estimate instead. */
	int dry_run;
	source_plan_cb *plan;
};

struct source_restore_result {
	uint64_t items_total, items_done, bytes_done, failed;
	uint64_t unchanged; /* entries already as in the point */
	int estimate;       /* dry run: the source did not compare (nothing told to plan) */
	/* Items the unit's erasure ledger withheld (left alone at the target),
	 * and by request as JSON text (erasure_set_report_text), or NULL; the
	 * caller frees withheld_by, also on failure. */
	uint64_t withheld;
	char *withheld_by;
};

struct source_ops {
	const char *type;
	int (*backup)(struct store *s, const struct source_backup_opts *o,
		      struct source_backup_result *res, struct error *err);
	int (*restore)(struct store *s, const struct source_restore_opts *o,
		       struct source_restore_result *res, struct error *err);
	/* A new source JSON for "restore to a new location" next to the
	 * original (a folder: "<path>.restored-1", the first free number,
	 * made beneath `beneath` as backup_opts says; a mailbox: the same
	 * mailbox, folder "Restored-<timestamp>"). dry_run: the same name,
	 * nothing created (a plan's target). */
	struct json_object *(*new_location)(const struct json_object *source, const char *beneath,
					    int64_t now, int dry_run, struct error *err);
};

/* NULL and an error naming the type if unknown. */
const struct source_ops *source_find(const struct json_object *source, struct error *err);

#endif
