#ifndef COFFER_MAIL_POINT_H
#define COFFER_MAIL_POINT_H

/* A mailbox restore point read back, for the IMAP source's backup (its
 * parent) and restore: folders and messages in memory, messages found by
 * UID or by size and date, their Message-IDs and bytes. The layout it
 * reads (names, user.imap.* xattrs, the root check) is
 * engine/maillayout.h (docs/mail.md section 1). The unit, index and
 * manifest it reads come from engine/point_reader.h or point_writer.h, so
 * a source reads a point without a store header. */

#include <stddef.h>
#include <stdint.h>

#include "engine/maillayout.h"
#include "engine/meta.h"

struct buf;
struct erasure_set;
struct error;
struct index;
struct pack_reader;
struct rp;
struct store_unit;

/* The Message-ID of a message from its header bytes (the whole message or
 * a HEADER.FIELDS reply): unfolded, outer whitespace trimmed; NULL when it
 * has none. Looks at most at the header part of data[0..len). Caller frees. */
char *mail_message_id(const uint8_t *data, size_t len);

/* Whether data[0..len) holds the whole header (a blank line was seen). */
int mail_header_complete(const uint8_t *data, size_t len);

/* A restore point read back. */
struct mail_msg {
	uint32_t uid;
	struct meta_entry e; /* as stored: path, size, mtime, xattrs, extents */
	char *msgid;         /* loaded on demand by mail_point_msgid() */
	int msgid_loaded;
	int used;            /* scratch for matching */
};

struct mail_folder {
	char *name;     /* MAILLAYOUT_XATTR_NAME */
	char *path;     /* tree path */
	struct meta_entry dir;
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq; /* 0: absent */
	int noselect;
	int seen;       /* scratch: the backup met it live */
	struct mail_msg *msgs; /* in UID order */
	size_t nmsgs, cap;
};

struct mail_point {
	struct store_unit *u;     /* borrowed */
	const struct index *ix;   /* borrowed */
	struct pack_reader *pr;
	char delim;               /* 0: flat namespace */
	struct meta_entry root;
	struct mail_folder *folders; /* in tree order */
	size_t nfolders;
	/* messages of every folder ordered by (size, date), for matching */
	struct mail_msg **bykey;
	size_t nbykey;
	/* entries the erasure set given to mail_point_open withholds, left
	 * out of the folders: the path and the request (the set's), in tree
	 * order, for the reader to count what it would have restored */
	struct mail_withheld {
		char *path;
		const char *request;
	} *withheld;
	size_t nwithheld;
};

/* Reads restore point rp of unit u as a mailbox; fails naming the point if
 * it is not one or has another mapping version (maillayout_check_root).
 * With es, what the unit's erasure ledger covers is left out, listed in
 * pt->withheld (not counted: the reader counts what it selects): a reader
 * for a user passes point_reader_erasures(); the backup's parent NULL. */
int mail_point_open(struct store_unit *u, const struct index *ix, const struct rp *rp,
		    struct erasure_set *es,
		    struct mail_point **pt_r, struct error *err);
void mail_point_close(struct mail_point **pt);
struct mail_folder *mail_point_folder(struct mail_point *pt, const char *name);
struct mail_msg *mail_folder_msg(struct mail_folder *f, uint32_t uid);
/* The messages with this size and internal date: *n_r of them from the
 * returned position of pt->bykey. */
struct mail_msg **mail_point_bykey(struct mail_point *pt, uint64_t size, int64_t date,
				   size_t *n_r);
/* The Message-ID of a stored message (reads its first chunks once). NULL
 * when it has none; -1 on a store error. */
int mail_point_msgid(struct mail_point *pt, struct mail_msg *m, const char **msgid_r,
		     struct error *err);
/* The message's exact bytes into out (replacing its contents). */
int mail_point_read(struct mail_point *pt, const struct mail_msg *m, struct buf *out,
		    struct error *err);

#endif
