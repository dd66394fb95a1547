#ifndef COFFER_MAILEXPORT_H
#define COFFER_MAILEXPORT_H

/* Export of mail from mailbox restore points (docs/mail.md section 6): as
 * one mboxrd file or as a folder of .eml files, with the messages' exact
 * bytes read from the store. One export is used by one thread. */

#include <stddef.h>
#include <stdint.h>

struct buf;
struct error;
struct index;
struct json_object;
struct rp;
struct store_unit;

enum mailexport_format {
	MAILEXPORT_MBOX = 1,
	MAILEXPORT_EML = 2,
	MAILEXPORT_SINK = 3, /* mailexport_open_sink() only */
};

/* MAILEXPORT_UNIT_DIRS: .eml files go below a folder named by the unit
 * (for exports that span units or points, such as search results). */
#define MAILEXPORT_UNIT_DIRS 1

struct mailexport;

/* Starts an export to `path`: an mbox file that must not exist yet ("-":
 * standard output), or a folder that is missing or empty (created). */
struct mailexport *mailexport_open(enum mailexport_format format, const char *path, int flags,
				     struct error *err);
/* A message read by an export to a sink: the same messages, read the same
 * way, that an mbox export would write. */
struct mailexport_msg {
	const char *unit;
	uint32_t seq;
	const char *path;      /* tree path "FOLDER/UID10" */
	int64_t internal_date; /* Unix seconds */
	const char *tz;        /* "+0200" as stored, or "" */
	const uint8_t *data;   /* the message's exact bytes, valid during the call */
	size_t len;
};
/* 0 to go on; -1 (with err) stops the export with that error. */
typedef int mailexport_sink_fn(void *ctx, const struct mailexport_msg *m, struct error *err);

/* An export that writes no file: each message goes to sink(ctx, ...) in
 * the order an mbox export would write it (data-subject exports dedup and
 * annotate them before writing). Never fails. */
struct mailexport *mailexport_open_sink(mailexport_sink_fn *sink, void *ctx);

/* Without mailexport_finish(), removes the mbox file written so far. */
void mailexport_close(struct mailexport **x);

/* Writes the messages of restore point rp of unit u (tree read through ix):
 * all of them, or those of `folder` (IMAP name, decoded name or tree path)
 * and the folders below it. ERROR_NOTFOUND if there is no such folder,
 * ERROR_USAGE if the point is not a mailbox. */
int mailexport_add_rp(struct mailexport *x, struct store_unit *u, const struct index *ix,
		      const struct rp *rp, const char *folder, struct error *err);

/* Writes the messages at the tree paths paths[0..n) of rp ("FOLDER/UID10",
 * as search results give them). ERROR_NOTFOUND names a path rp lacks. */
int mailexport_add_paths(struct mailexport *x, struct store_unit *u, const struct index *ix,
			 const struct rp *rp, const char *const *paths, size_t n,
			 struct error *err);

/* Flushes and syncs what was written. */
int mailexport_finish(struct mailexport *x, struct error *err);

/* Messages written so far. */
uint64_t mailexport_count(const struct mailexport *x);
/* What the units' erasure ledgers withheld from the export so far: an
 * erasure report array (engine/erasure.h), NULL before the first point;
 * owned by x. */
struct json_object *mailexport_withheld(const struct mailexport *x);

/* Appends the mboxrd form of one message (From_ line, quoted body, final
 * newline) to out. Exposed for tests. */
void mailexport_mboxrd(const uint8_t *msg, size_t len, const char *sender, int64_t idate,
		       const char *tz, struct buf *out);

#endif
