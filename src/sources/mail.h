#ifndef COFFER_MAIL_H
#define COFFER_MAIL_H

/* Mailbox backup and restore over IMAP (docs/mail.md): the work behind
 * the "imap" source (source_imap_ops) and `coffer mail`. */

#include <stddef.h>
#include <stdint.h>

struct error;
struct imap_opts;
struct json_object;
struct netpolicy;
struct store;

/* Fills o from an imap source JSON (docs/mail.md, source.h): host, port,
 * tls, user, auth, secret | secretCommand, caFile, insecure. Strings point
 * into the JSON object, which must outlive o. */
int mail_imap_opts(const struct json_object *source, struct imap_opts *o, struct error *err);

struct point_fence;
struct mail_backup_opts {
	const char *unit;
	const struct json_object *source; /* imap source JSON */
	int64_t time_ns;                  /* 0: now */
	int64_t keep_seconds, retain_seconds; /* keepUntil/retainUntil = the point's time +
						 these; 0: none (docs/format.md 7) */
	int quiet;
	const struct netpolicy *netpolicy; /* where it may connect; NULL: anywhere */
	const struct point_fence *fence;   /* engine/point_writer.h; NULL: none */
};

struct mail_backup_result {
	uint32_t seq;
	uint64_t folders, messages, bytes;
	uint64_t folders_unchanged;  /* copied from the parent without SELECT */
	uint64_t folders_changedsince; /* listed with CHANGEDSINCE (CONDSTORE/QRESYNC) */
	uint64_t folders_listed;     /* listed in full (new, new UIDVALIDITY, no CONDSTORE) */
	uint64_t messages_reused;    /* content taken from the parent by UID */
	uint64_t messages_matched;   /* content found in the parent by size, date and Message-ID */
	uint64_t messages_fetched, bytes_fetched; /* bodies fetched */
	uint64_t changed_items;      /* messages added, changed or removed since the parent */
	uint64_t new_bytes, stored_bytes, incompressible_bytes;
	uint64_t nwarnings;
	int whole_point_reused;      /* nothing changed: the last point's metadata, as it is */
};

/* Takes a restore point of the mailbox as unit o->unit. -1 on failure:
 * then no restore point was written and nothing stored before changed. */
int mail_backup_run(struct store *s, const struct mail_backup_opts *o,
		    struct mail_backup_result *res, struct error *err);

/* Told of each message a restore appended: the folder it went to, the
 * message's UID in the restore point and the new UID (0 without UIDPLUS). */
typedef void mail_appended_cb(void *ctx, const char *folder, uint32_t point_uid,
			      uint32_t new_uid);
typedef void mail_progress_cb(void *ctx, uint64_t items_done, uint64_t bytes_done);

struct mail_restore_opts {
	const char *rp;                   /* "UNIT@N" */
	const struct json_object *target; /* the mailbox to write to (source JSON) */
	const char *into_folder;          /* NULL: in place (same folder names) */
	char **patterns;                  /* folder or message paths of the point; NULL: all */
	size_t npatterns;
	char **folders;                   /* or folders by IMAP name (with those below them) */
	size_t nfolders;
	const uint32_t *uids;             /* with exactly one folder: only these messages */
	size_t nuids;
	int delete_newer;                 /* expunge live messages the point lacks */
	int quiet;
	mail_appended_cb *appended;
	mail_progress_cb *progress;
	void *ctx;
	const struct netpolicy *netpolicy; /* where it may connect; NULL: anywhere */
	/* A plan: the mailbox is read (EXAMINE, FETCH) but nothing is
	 * created, appended or changed; plan is told "write" (a message to
	 * append) or "attrs" (flags to set) with the message's path in the
	 * point, and the result counts them (appended, appended_bytes,
	 * flags_fixed) as the restore would. */
	int dry_run;
	void (*plan)(void *ctx, const char *action, const char *path);
};

struct mail_restore_result {
	uint64_t folders, folders_created;
	uint64_t messages;      /* selected in the point */
	uint64_t present;       /* already in the mailbox */
	uint64_t appended, appended_bytes;
	uint64_t flags_fixed;
	uint64_t deleted;       /* with delete_newer */
	uint64_t failed;
	/* Messages the erasure ledger withheld, and by request (JSON text,
	 * or NULL; the caller frees it, also on failure). */
	uint64_t withheld;
	char *withheld_by;
};

int mail_restore_run(struct store *s, const struct mail_restore_opts *o,
		     struct mail_restore_result *res, struct error *err);

/* One folder of a restore point, for `coffer mail folders`. */
struct mail_folder_info {
	const char *name, *path, *specialuse, *flags;
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq, messages, bytes;
};
typedef void mail_folder_cb(void *ctx, const struct mail_folder_info *f);
int mail_folders_list(struct store *s, const char *rp, mail_folder_cb *cb, void *ctx,
		      struct error *err);

/* "Restored-20261121T075800Z" for a time in ns (caller frees). */
char *mail_restored_name(int64_t time_ns);

#endif
