#ifndef COFFER_POINT_WRITER_H
#define COFFER_POINT_WRITER_H

/* Writing one restore point of a unit: the one place that owns the
 * writer marker, the packs, the metadata tree, the index and the
 * restore-point manifest, and the order in which they reach the store
 * (docs/engine.md "Writing a restore point"). The folder backup
 * (engine/backup.c) and every source (src/sources/) take their points
 * through it:
 *
 *   pw = point_writer_open(store, &opts, err)    opens (makes) the unit
 *   point_writer_begin(pw, err)                  writer marker, index, parent
 *   ps = point_writer_stream(pw)                 one per thread that stores content
 *   point_stream_write/_end(ps, &e, ...)         a file's bytes -> e's extents
 *   point_writer_add(pw, &e, err)                entries, in path order
 *   point_writer_commit(pw, &res, err)           packs, tree, index, manifest, end
 *   point_writer_close(&pw)                      aborts what was not committed
 *
 * A crash or a failure at any point leaves only objects no restore point
 * references; the unit's earlier points are never touched. */

#include <stddef.h>
#include <stdint.h>

struct chunker;
struct error;
struct index;
struct meta_entry;
struct rp;
struct store;
struct store_unit;

/* Fencing (docs/service.md "Several nodes"): asked right before the
 * manifest is written, after everything it references is stored; -1 (and
 * err) stops the point from being written. The service checks there that
 * its lease on the job still holds, so a node that lost its job while
 * paused never adds a point after the node that took it over. */
struct point_fence {
	int (*check)(void *ctx, struct error *err);
	void *ctx;
};

struct point_writer_opts {
	const char *unit;   /* store unit name; the unit is made if new */
	const char *source; /* what the point is of, as its manifest says
			       (a folder's real path, "imap://ann@host:993") */
	int64_t time_ns;    /* the point's time; 0: now */
	/* keepUntil/retainUntil = the point's time (seconds) + these; 0:
	 * none (docs/format.md 7). */
	int64_t keep_seconds, retain_seconds;
	const struct point_fence *fence; /* NULL: none */
};

/* What a restore point holds, as its source counts it (a folder: files
 * and folders walked, bytes of the files; a mailbox: messages, folders,
 * message bytes). */
struct point_totals {
	uint64_t files, dirs, bytes;
};

struct point_result {
	uint32_t seq;               /* the new point's number */
	struct point_totals totals;
	/* Blobs this point added to the store: count, raw bytes, bytes
	 * stored, raw bytes compression could not shrink. */
	uint64_t new_blobs, new_bytes, stored_bytes, incompressible_bytes;
	uint64_t nwarnings;
};

struct point_writer;

/* Opens unit o->unit of store s for a new restore point, making the unit
 * (its key object) if it does not exist yet. Nothing else is written. NULL
 * and err on failure. The writer keeps a copy of what o points to. */
struct point_writer *point_writer_open(struct store *s, const struct point_writer_opts *o,
					 struct error *err);
/* Aborts the writer if it was begun and not committed (point_writer_abort),
 * frees the writer and every stream of it; accepts NULL. */
void point_writer_close(struct point_writer **pw);

/* Begins the session: writes its marker (units/<uid>/sessions/<id>, which
 * keeps prune from deleting blobs this writer may reference before they
 * are indexed, docs/prune.md), opens the unit's index and reads the
 * manifest of its latest live point, the parent (a damaged manifest is no
 * failure: point_writer_parent says so). -1 on failure: no point can be
 * written then. */
int point_writer_begin(struct point_writer *pw, struct error *err);

/* The parent read by point_writer_begin: 1 and *rp_r (owned by the
 * writer), 0 if the unit had no live point, -1 and err if its manifest
 * could not be read (a source then stores everything again). */
int point_writer_parent(struct point_writer *pw, const struct rp **rp_r, struct error *err);
/* The parent's source state (the source's own summary of what it saw,
 * point_writer_set_source_state), or NULL. */
const char *point_writer_parent_state(struct point_writer *pw);

/* The unit and its index, for reading the parent's tree and content
 * (tree_reader_open, mail_point_open); owned by the writer, valid once
 * begun. */
struct store_unit *point_writer_unit(struct point_writer *pw);
const struct index *point_writer_index(struct point_writer *pw);
/* The unit's content chunker, for a caller that cuts chunks itself
 * (point_stream_put). */
const struct chunker *point_writer_chunker(struct point_writer *pw);

/* A warning the restore point records (and the log shows): something of
 * the source left out or stored as it was seen. Thread-safe. */
void point_writer_warn(struct point_writer *pw, const char *msg);
/* The source's own summary of its state, kept in the manifest so that an
 * unchanged source can be told from the next point's parent; copied. */
void point_writer_set_source_state(struct point_writer *pw, const char *state);
/* What the point holds (struct point_totals); the manifest's counts. */
void point_writer_set_totals(struct point_writer *pw, const struct point_totals *t);

/* A stream of content into the unit's packs, with a pack writer of its
 * own: one per thread that stores bytes. Owned by the writer (freed with
 * it); made before the threads that use it start. Thread-safe across
 * streams, not within one. */
struct point_stream;
struct point_stream *point_writer_stream(struct point_writer *pw);

/* Stores one chunk as a blob unless the unit or this writer already has
 * it; fills id_r with its keyed id. For callers that cut chunks with
 * point_writer_chunker() themselves. */
int point_stream_put(struct point_stream *ps, const void *data, size_t len, uint8_t id_r[32],
		     struct error *err);
/* Appends data[0..len) to the content of file entry e: cuts it into
 * content-defined chunks as enough bytes arrive, stores them and appends
 * their extents to e. Any number of calls, then point_stream_end(), which
 * stores the rest; one file at a time per stream. The caller keeps e. */
int point_stream_write(struct point_stream *ps, struct meta_entry *e, const void *data,
		       size_t len, struct error *err);
int point_stream_end(struct point_stream *ps, struct meta_entry *e, struct error *err);
/* Commits the stream's open pack, if any (lazily: made durable with the
 * next index segment). point_writer_commit flushes what is left open. */
int point_stream_flush(struct point_stream *ps, struct error *err);

/* Adds entry e (any type; its extents stored, or taken from the parent)
 * to the point's metadata tree. Entries come in tree order: depth first,
 * children sorted by name (meta_path_cmp), the root "" first. Not
 * thread-safe. */
int point_writer_add(struct point_writer *pw, const struct meta_entry *e, struct error *err);
/* Writes an index segment of the packs committed so far once enough new
 * blobs wait for one (50,000), so that a crash keeps most of the work. */
int point_writer_checkpoint(struct point_writer *pw, struct error *err);

/* The new point is the parent's tree as it is: nothing is added (no
 * entry, no content), and its totals are the parent's (filled in
 * *totals_r). For a source that knows nothing changed. Fails when there
 * is no readable parent. */
int point_writer_reuse_parent(struct point_writer *pw, struct point_totals *totals_r,
			      struct error *err);

/* Commits the restore point, in this order: the streams' open packs; the
 * rest of the metadata tree (its packs); an index segment of every pack
 * of the writer, after the packs are made durable (backend_sync); the
 * manifest, put-if-absent as the next number of the unit's chain. Then
 * merges index segments when there are many and writes the writer's end
 * marker (failures of these two are logged: they cost speed, not data).
 * Fills res. On failure no point was written and the writer is ended
 * (aborted). Every stream must be idle. */
int point_writer_commit(struct point_writer *pw, struct point_result *res, struct error *err);

/* Ends a begun writer without a restore point: writes its end marker so
 * prune does not wait for it (a failure to is ignored: prune then waits a
 * writer timeout). What was stored stays, referenced by no point, until
 * prune. Idempotent; a no-op after a commit. */
void point_writer_abort(struct point_writer *pw);

#endif
