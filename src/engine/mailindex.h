#ifndef COFFER_MAILINDEX_H
#define COFFER_MAILINDEX_H

/* The mail search index (docs/mail.md section 5): an SQLite FTS5 database
 * of the messages of mailbox restore points, one row per distinct message
 * and ranges of occurrences (unit, restore point, folder, UID, flags). It is
 * a cache, rebuildable from the store, but it holds plain text of the mail.
 *
 * Threads: a struct mailindex is one SQLite connection, used by one thread
 * at a time; open one per thread. Several handles and processes may share
 * one file. */

#include <stddef.h>
#include <stdint.h>

struct error;
struct index;
struct rp;
struct store_unit;

#define MAILINDEX_FORMAT 3
/* Bytes of a message read and parsed (the rest is not indexed). */
#define MAILINDEX_PARSE_MAX (64u << 20)

struct mailindex;

/* Opens (creating when missing, mode 0600) the index at path. An index of
 * an older format version is emptied (it is a cache: indexing fills it
 * again from the store); a newer one fails with ERROR_VERSION. */
struct mailindex *mailindex_open(const char *path, struct error *err);
void mailindex_close(struct mailindex **mi);

struct mailindex_stats {
	uint64_t points;      /* restore points indexed by this call */
	uint64_t messages;    /* messages seen in them */
	uint64_t parsed;      /* of which new: read and parsed */
	uint64_t parse_errors;/* of which parsed with an error noted */
	uint64_t dropped;     /* restore points dropped (gone from the store) */
};

/* Indexes restore point rp of unit u (its tree read through ix): a no-op
 * when it is indexed already. Only messages whose key is new are read and
 * parsed. Fails (ERROR_USAGE) for a point that is not a mailbox. st may be
 * NULL; counts are added. */
int mailindex_add_rp(struct mailindex *mi, struct store_unit *u, const struct index *ix,
		     const struct rp *rp, struct mailindex_stats *st, struct error *err);

/* Brings the unit up to date: drops its indexed points that the store no
 * longer has, then indexes the missing ones, oldest first. A point that
 * cannot be read or is not a mailbox is reported to `skip` (when not NULL)
 * and left out; other failures stop. */
typedef void mailindex_skip_cb(void *ctx, const char *unit, uint32_t seq,
			       const struct error *why);
int mailindex_update_unit(struct mailindex *mi, struct store_unit *u, mailindex_skip_cb *skip,
			  void *ctx, struct mailindex_stats *st, struct error *err);

/* Forgets the unit's indexed points not among seqs[0..n) (sorted or not),
 * then deletes occurrences and messages no indexed point holds. */
int mailindex_drop_missing(struct mailindex *mi, const char *unit, const uint32_t *seqs,
			   size_t n, struct mailindex_stats *st, struct error *err);

/* Takes the messages with these keys out of unit's occurrences, and out
 * of the index altogether (text, addresses) when no occurrence is left: an
 * erasure took effect (docs/privacy.md 2). *removed_r: keys that were
 * there. Later points of the unit are indexed without them
 * (mailindex_add_rp honours the unit's erasure ledger). */
int mailindex_forget(struct mailindex *mi, const char *unit, const uint8_t (*keys)[32], size_t n,
		     uint64_t *removed_r, struct error *err);

/* Whether point unit@seq is indexed: 1, 0, or -1 on error. */
int mailindex_has_rp(struct mailindex *mi, const char *unit, uint32_t seq, struct error *err);

/* A search. Every filter is optional (NULL / 0); all given ones must hold.
 * Text filters are plain words typed by a user (never FTS5 syntax). */
struct mailindex_query {
	const char *unit;     /* occurrences of this unit */
	uint32_t seq;         /* in this restore point of `unit` (0: any) */
	const char *folder;   /* folder IMAP name (raw or UTF-8) or tree path */
	const char *from;     /* words of From */
	const char *to;       /* words of To or Cc */
	const char *subject;  /* words of Subject */
	const char *body;     /* words of the body text or attachment names */
	const char *attachment; /* words of attachment file names only */
	const char *address;  /* one whole address in From, Sender, Reply-To, To,
				 Cc or Bcc (case-insensitive; display names never
				 match); ERROR_USAGE if it is not an address */
	int64_t since, until; /* since <= date < until, when has_* is set */
	int has_since, has_until;
	int has_attachment;   /* 1: only messages with attachments */
	size_t limit;         /* page size (0: 50) */
	size_t offset;        /* results to skip */
};

/* Where a message is: one folder and UID of a unit, in restore points seqs. */
struct mailindex_place {
	char *unit;
	char *folder;        /* IMAP name as stored (modified UTF-7) */
	char *folder_utf8;   /* the same, decoded */
	char *path;          /* tree path of the message file */
	uint32_t uid;
	char *flags;
	int64_t internal_date;
	char *tz;
	uint32_t *seqs;      /* ascending */
	size_t nseqs;
};

struct mailindex_hit {
	uint8_t key[32];
	char *from, *to, *subject;
	int64_t date;
	int has_attachment;
	uint64_t size;
	char *snippet;
	char *error;          /* parse problem, or NULL */
	/* The newest place and point matching the query's unit, point and
	 * folder filters. */
	const struct mailindex_place *where;
	uint32_t where_seq;
	struct mailindex_place *places;
	size_t nplaces;
};

struct mailindex_results {
	struct mailindex_hit *hits;
	size_t n;
	int more; /* another page follows */
};

/* Runs q: newest first (date, then insertion order), at most q->limit hits
 * from q->offset. Fills res (the caller clears it). ERROR_USAGE for a bad
 * query (a restore point without a unit, or one not indexed). */
int mailindex_search(struct mailindex *mi, const struct mailindex_query *q,
		     struct mailindex_results *res, struct error *err);
void mailindex_results_clear(struct mailindex_results *res);

/* A restore point holding a hit. */
struct mailindex_point {
	const char *unit; /* the place's: valid while the hit is */
	uint32_t seq;
};

/* The points holding h over all its places, by unit and then number, each
 * once (a message in two folders of one point is one point to restore
 * from). The caller frees the array. */
struct mailindex_point *mailindex_hit_points(const struct mailindex_hit *h, size_t *n_r);

#endif
