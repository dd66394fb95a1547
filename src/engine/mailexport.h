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
struct rp;
struct store_unit;

enum mailexport_format {
	MAILEXPORT_MBOX = 1,
	MAILEXPORT_EML = 2,
};

/* MAILEXPORT_UNIT_DIRS: .eml files go below a folder named by the unit
 * (for exports that span units or points, such as search results). */
#define MAILEXPORT_UNIT_DIRS 1

struct mailexport;

/* Starts an export to `path`: an mbox file that must not exist yet ("-":
 * standard output), or a folder that is missing or empty (created). */
struct mailexport *mailexport_open(enum mailexport_format format, const char *path, int flags,
				     struct error *err);
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

/* Appends the mboxrd form of one message (From_ line, quoted body, final
 * newline) to out. Exposed for tests. */
void mailexport_mboxrd(const uint8_t *msg, size_t len, const char *sender, int64_t idate,
		       const char *tz, struct buf *out);

#endif
