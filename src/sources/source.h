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
 */

#include <stddef.h>
#include <stdint.h>

struct error;
struct json_object;
struct netpolicy;
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
};

struct source_restore_result {
	uint64_t items_total, items_done, bytes_done, failed;
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
	 * mailbox, folder "Restored-<timestamp>"). */
	struct json_object *(*new_location)(const struct json_object *source, const char *beneath,
					    int64_t now, struct error *err);
};

/* NULL and an error naming the type if unknown. */
const struct source_ops *source_find(const struct json_object *source, struct error *err);

#endif
