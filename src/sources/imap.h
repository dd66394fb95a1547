#ifndef COFFER_IMAP_H
#define COFFER_IMAP_H

/* coffer's own pipelined IMAP4rev1 client (docs/imap.md).
 *
 * One `struct imap` is one authenticated connection to one mailbox server,
 * used by one thread. Over OpenSSL: implicit TLS or STARTTLS with the
 * certificate and host name checked by default. Every reply is parsed by
 * length under hard limits (line, literal, nesting, items); every failure
 * fills the struct error with a message naming the server, the command and
 * the server's response text ("imap alice@mail.example:993: SELECT "Sent"
 * failed: NO [NONEXISTENT] Mailbox doesn't exist"). The password or token
 * never reaches an error message or the log.
 *
 * Mailbox names are passed and returned as the server spells them
 * (modified UTF-7, RFC 3501 5.1.3); lib/mutf7.h decodes one for display. The client quotes names and strings as needed.
 *
 * Bulk fetches survive a dropped connection: the client reconnects, logs
 * in, selects the mailbox again and continues with the UIDs not yet
 * delivered, so a callback never sees a message twice (unless UIDVALIDITY
 * changed meanwhile: then the fetch fails with a clear error).
 */

#include <stddef.h>
#include <stdint.h>

struct error;
struct imap;
struct netpolicy;

enum imap_tls {
	IMAP_TLS_IMPLICIT = 0, /* TLS from the first byte (port 993) */
	IMAP_TLS_STARTTLS,     /* plain connect, then STARTTLS before login (port 143) */
	IMAP_TLS_NONE,         /* clear text: tests and trusted loopback only */
};

enum imap_auth {
	IMAP_AUTH_PLAIN = 0,   /* AUTHENTICATE PLAIN (SASL-IR when offered) */
	IMAP_AUTH_LOGIN,       /* the LOGIN command */
	IMAP_AUTH_XOAUTH2,     /* Gmail / Exchange Online bearer token */
	IMAP_AUTH_OAUTHBEARER, /* RFC 7628 bearer token */
};

struct imap_opts {
	const char *host;        /* name or address; also the name the certificate must carry */
	uint16_t port;           /* 0: 993 for implicit TLS, else 143 */
	enum imap_tls tls;
	const char *ca_file;     /* PEM trust anchors; NULL: the system's store */
	int insecure;            /* 1: do not check the certificate (never the default) */
	const char *user;
	enum imap_auth auth;
	/* The password (plain, login) or the bearer token (xoauth2,
	 * oauthbearer). If NULL, secret_command is run with /bin/sh -c once
	 * per imap_connect() and its standard output, without the trailing
	 * newline, is the secret. The client keeps a copy for reconnects and
	 * wipes it on destroy. */
	const char *secret;
	const char *secret_command;
	int connect_timeout_ms;  /* 0: 30 s */
	int timeout_ms;          /* each read or write; 0: 120 s */
	uint64_t max_literal;    /* largest literal accepted; 0: 64 MiB */
	size_t max_line;         /* longest reply line (without literals); 0: 8 MiB */
	int reconnects;          /* reconnect attempts per bulk command; 0: 3; -1: none */
	/* Where the client may connect (lib/netpolicy.h), checked on every
	 * address before connecting, reconnects included; NULL: anywhere (the
	 * CLI). Not copied: must outlive the struct imap. */
	const struct netpolicy *policy;
};

/* "implicit"|"starttls"|"none" and "plain"|"login"|"xoauth2"|"oauthbearer";
 * -1 and an error naming the bad word otherwise. */
int imap_tls_parse(const char *s, enum imap_tls *r, struct error *err);
int imap_auth_parse(const char *s, enum imap_auth *r, struct error *err);

/* Connects, checks the certificate, reads the greeting, STARTTLS if asked,
 * authenticates, and learns the capabilities (ENABLEs QRESYNC/CONDSTORE
 * when offered, sent along with the first command). NULL and an error on failure (err->code ERROR_KEY when
 * the server refused the credentials). */
struct imap *imap_connect(const struct imap_opts *o, struct error *err);

/* Sends LOGOUT and closes the connection without waiting for the reply
 * (nothing in it matters). Call imap_close() afterwards. */
int imap_logout(struct imap *imap, struct error *err);

/* Closes (without LOGOUT) and frees; accepts NULL and sets *imap to NULL. */
void imap_close(struct imap **imap);

/* "user@host:port" as used in messages. */
const char *imap_name(const struct imap *imap);

/* ---- capabilities ---- */

enum {
	IMAP_CAP_CONDSTORE = 1u << 0,
	IMAP_CAP_QRESYNC = 1u << 1,      /* set only once ENABLE QRESYNC succeeded: the
					  * ENABLE goes out with the first command after
					  * login, so not before that one's reply */
	IMAP_CAP_UIDPLUS = 1u << 2,
	IMAP_CAP_LITERALPLUS = 1u << 3,  /* LITERAL+ */
	IMAP_CAP_LITERALMINUS = 1u << 4, /* LITERAL- (non-synchronizing up to 4096 bytes) */
	IMAP_CAP_MULTIAPPEND = 1u << 5,
	IMAP_CAP_SPECIAL_USE = 1u << 6,
	IMAP_CAP_LIST_EXTENDED = 1u << 7,
	IMAP_CAP_LIST_STATUS = 1u << 8,
	IMAP_CAP_ESEARCH = 1u << 9,
	IMAP_CAP_ENABLE = 1u << 10,
	IMAP_CAP_STARTTLS = 1u << 11,
	IMAP_CAP_SASL_IR = 1u << 12,
	IMAP_CAP_IDLE = 1u << 13,
	IMAP_CAP_MOVE = 1u << 14,
	IMAP_CAP_NAMESPACE = 1u << 15,
};

/* IMAP_CAP_* bits of the current (authenticated) connection. */
unsigned imap_caps(const struct imap *imap);
/* 1 if the server announced the capability (case-insensitive, e.g. "IDLE",
 * "AUTH=PLAIN"), else 0. */
int imap_has_cap(const struct imap *imap, const char *cap);
/* The announced capabilities, space-separated, as the server sent them. */
const char *imap_capability_string(const struct imap *imap);

/* ---- UID sets ---- */

/* A set of UIDs as sorted, disjoint, non-adjacent ranges. Embedded by
 * value: imap_uidset_init() / imap_uidset_clear(). */
struct imap_uidrange {
	uint32_t lo, hi; /* inclusive */
};
struct imap_uidset {
	struct imap_uidrange *r;
	size_t n, cap;
};

void imap_uidset_init(struct imap_uidset *s);
void imap_uidset_clear(struct imap_uidset *s);
/* Adds lo..hi (any order of calls; merges). */
void imap_uidset_add(struct imap_uidset *s, uint32_t lo, uint32_t hi);
int imap_uidset_contains(const struct imap_uidset *s, uint32_t uid);
uint64_t imap_uidset_count(const struct imap_uidset *s);
/* Parses IMAP sequence-set syntax ("1:5,7,9:12"; "*" is refused); -1 and
 * an error on bad syntax. Adds to s. */
int imap_uidset_parse(struct imap_uidset *s, const char *text, size_t len, struct error *err);
/* "1:5,7,9:12" (xasprintf'd; "" for an empty set). */
char *imap_uidset_format(const struct imap_uidset *s);

/* ---- folders ---- */

/* Folder attributes from LIST (RFC 3501, 5258, 6154). */
enum {
	IMAP_MBX_NOSELECT = 1u << 0,     /* \Noselect or \NonExistent */
	IMAP_MBX_NOINFERIORS = 1u << 1,
	IMAP_MBX_HASCHILDREN = 1u << 2,
	IMAP_MBX_HASNOCHILDREN = 1u << 3,
	IMAP_MBX_MARKED = 1u << 4,
	IMAP_MBX_UNMARKED = 1u << 5,
	IMAP_MBX_SUBSCRIBED = 1u << 6,
	/* special use */
	IMAP_MBX_ALL = 1u << 8,
	IMAP_MBX_ARCHIVE = 1u << 9,
	IMAP_MBX_DRAFTS = 1u << 10,
	IMAP_MBX_FLAGGED = 1u << 11,
	IMAP_MBX_JUNK = 1u << 12,
	IMAP_MBX_SENT = 1u << 13,
	IMAP_MBX_TRASH = 1u << 14,
	IMAP_MBX_IMPORTANT = 1u << 15,
};
#define IMAP_MBX_SPECIAL_USE 0xff00u

/* What STATUS told of one folder; `have` says which fields were sent. */
enum {
	IMAP_ST_MESSAGES = 1u << 0,
	IMAP_ST_UIDNEXT = 1u << 1,
	IMAP_ST_UIDVALIDITY = 1u << 2,
	IMAP_ST_UNSEEN = 1u << 3,
	IMAP_ST_HIGHESTMODSEQ = 1u << 4,
};
struct imap_status {
	unsigned have;
	uint32_t messages, uidnext, uidvalidity, unseen;
	uint64_t highestmodseq;
};

struct imap_folder {
	char *name;       /* as the server spells it (modified UTF-7) */
	char delim;       /* hierarchy delimiter; 0 for NIL (flat) */
	unsigned attrs;   /* IMAP_MBX_* */
	char *attr_text;  /* every attribute as sent, space-separated ("\HasNoChildren \Sent") */
	struct imap_status status; /* filled when imap_list() was asked for it */
};

struct imap_folder_list {
	struct imap_folder *v;
	size_t n;
};

/* Lists every folder (LIST "" "*"), with special-use attributes
 * (RETURN (SPECIAL-USE) when SPECIAL-USE is offered; without it, the
 * attributes the server sends anyway — no XLIST). With `with_status`,
 * each selectable folder's MESSAGES UIDNEXT UIDVALIDITY (+HIGHESTMODSEQ
 * with CONDSTORE) in the same round trip when LIST-STATUS is offered, else
 * by pipelined STATUS commands. The caller frees with
 * imap_folder_list_clear(). */
int imap_list(struct imap *imap, int with_status, struct imap_folder_list *r,
	      struct error *err);
void imap_folder_list_clear(struct imap_folder_list *l);

/* STATUS of one folder (MESSAGES UIDNEXT UIDVALIDITY UNSEEN, +HIGHESTMODSEQ
 * with CONDSTORE). err->code ERROR_NOTFOUND if it does not exist. */
int imap_status(struct imap *imap, const char *mailbox, struct imap_status *r,
		struct error *err);

/* CREATE; err->code ERROR_EXISTS if the server says it exists already. */
int imap_create(struct imap *imap, const char *mailbox, struct error *err);
/* DELETE; err->code ERROR_NOTFOUND if it does not exist. */
int imap_delete(struct imap *imap, const char *mailbox, struct error *err);

/* Text a server sent (a reply's text, a mailbox name), made fit for an
 * error message: at most `max` bytes of it, each byte outside printable
 * ASCII written \xNN, "..." when cut (xmalloc'd). */
char *imap_shown(const char *s, size_t max);

/* ---- messages ---- */

/* What a FETCH response carried; `have` says which fields. */
enum {
	IMAP_HAVE_FLAGS = 1u << 0,
	IMAP_HAVE_INTERNALDATE = 1u << 1,
	IMAP_HAVE_SIZE = 1u << 2,
	IMAP_HAVE_MODSEQ = 1u << 3,
	IMAP_HAVE_BODY = 1u << 4,   /* BODY[] */
	IMAP_HAVE_HEADER = 1u << 5, /* BODY[HEADER.FIELDS (...)] */
};

/* One message as a FETCH response described it. Everything points into
 * the client's buffers and is valid only during the callback. */
struct imap_msg {
	uint32_t uid, seq;
	unsigned have;
	const char *const *flags; /* "\Seen", "$Label1", ... as sent (no "\Recent") */
	size_t nflags;
	const char *internaldate; /* as sent: "17-Jul-1996 02:44:25 -0700" */
	int64_t internaldate_unix; /* the same in seconds since 1970 UTC */
	int internaldate_tz;       /* the zone in minutes east of UTC */
	uint64_t size;             /* RFC822.SIZE */
	uint64_t modseq;           /* MODSEQ (CONDSTORE) */
	const uint8_t *body;       /* BODY[]: the message's exact bytes */
	size_t body_len;
	int body_too_big;          /* BODY[] was larger than max_body: body is NULL, size says how big */
	const uint8_t *header;     /* BODY[HEADER.FIELDS (...)] as sent */
	size_t header_len;
};

/* Told once per message. Return 0 to go on, -1 (with err filled) to stop:
 * the client then drops the connection rather than read the rest, and
 * the next command reconnects. */
typedef int imap_msg_cb(void *ctx, const struct imap_msg *m, struct error *err);

/* m's flags as one space-separated string, in the order sent ("" for
 * none); the caller frees it. */
char *imap_msg_flags(const struct imap_msg *m);

/* Told the UIDs a server reported VANISHED (QRESYNC) or, with a sequence
 * number it could map, EXPUNGEd while a command ran. */
typedef void imap_vanished_cb(void *ctx, const struct imap_uidset *uids);

/* What SELECT / EXAMINE reported. */
struct imap_mailbox {
	uint32_t uidvalidity, uidnext, exists;
	uint64_t highestmodseq; /* 0 without CONDSTORE or with NOMODSEQ */
	int nomodseq;
	int readonly;
	struct imap_uidset vanished; /* QRESYNC: VANISHED (EARLIER) since the given modseq */
};

struct imap_select_opts {
	int readonly;    /* EXAMINE instead of SELECT */
	int condstore;   /* ask for CONDSTORE when offered (HIGHESTMODSEQ, MODSEQ) */
	/* QRESYNC (used only when IMAP_CAP_QRESYNC): what the caller knew of
	 * the folder; the server then reports VANISHED UIDs into
	 * r->vanished and FETCH (UID FLAGS MODSEQ) of changed messages to
	 * on_fetch. Zero uidvalidity: no QRESYNC. */
	uint32_t qresync_uidvalidity;
	uint64_t qresync_modseq;
	const char *qresync_known_uids; /* optional "1:500" */
	imap_msg_cb *on_fetch;
	void *ctx;
};

/* SELECT (or EXAMINE) a folder. Fills r (the caller clears
 * r->vanished with imap_mailbox_clear()). err->code ERROR_NOTFOUND if
 * the folder does not exist. */
int imap_select(struct imap *imap, const char *mailbox, const struct imap_select_opts *o,
		struct imap_mailbox *r, struct error *err);
void imap_mailbox_clear(struct imap_mailbox *mb);
/* The selected folder's name, or NULL. */
const char *imap_selected(const struct imap *imap);
/* EXISTS as last reported for the selected folder. */
uint32_t imap_exists(const struct imap *imap);

/* UID SEARCH with the given criteria, sent as written ("ALL",
 * "MODSEQ 1234", "UID 100:*"); the UIDs found are added to r. */
int imap_uid_search(struct imap *imap, const char *criteria, struct imap_uidset *r,
		    struct error *err);

/* What to fetch with imap_fetch(). */
enum {
	IMAP_ITEM_FLAGS = 1u << 0,
	IMAP_ITEM_INTERNALDATE = 1u << 1,
	IMAP_ITEM_SIZE = 1u << 2,        /* RFC822.SIZE */
	IMAP_ITEM_MODSEQ = 1u << 3,      /* needs CONDSTORE */
	IMAP_ITEM_BODY = 1u << 4,        /* BODY.PEEK[]: never sets \Seen */
	IMAP_ITEM_HEADER_FIELDS = 1u << 5, /* BODY.PEEK[HEADER.FIELDS (header_fields)] */
};
#define IMAP_ITEM_META (IMAP_ITEM_FLAGS | IMAP_ITEM_INTERNALDATE | IMAP_ITEM_SIZE)

struct imap_fetch_opts {
	const struct imap_uidset *uids; /* which messages (UIDs in the selected folder) */
	int all;                /* or every message: UID FETCH 1:* (uids ignored) */
	unsigned items;         /* IMAP_ITEM_*; UID is always fetched */
	const char *header_fields; /* e.g. "MESSAGE-ID" for IMAP_ITEM_HEADER_FIELDS */
	uint64_t changedsince;  /* CONDSTORE: only messages with a greater MODSEQ; 0: all */
	int vanished;           /* QRESYNC: add VANISHED (needs changedsince) */
	uint64_t max_body;      /* larger BODY[] are skipped (body_too_big); 0: max_literal */
	size_t batch;           /* UIDs per command, commands pipelined; 0: 2000 meta, 200 bodies */
	imap_msg_cb *cb;
	imap_vanished_cb *on_vanished;
	void *ctx;
};

/* Pipelined bulk UID FETCH of the selected folder: splits the set into
 * commands of `batch` UIDs, keeps several in flight, and calls cb once per
 * message in the order the server answers. A dropped connection is
 * resumed (see the top of this file). -1 and an error on failure; the
 * messages already delivered stay delivered. */
int imap_fetch(struct imap *imap, const struct imap_fetch_opts *o, struct error *err);

/* One message to APPEND. */
struct imap_append_msg {
	const uint8_t *data;
	size_t len;
	const char *const *flags; /* system flags and keywords; "\Recent" is dropped */
	size_t nflags;
	const char *internaldate; /* "17-Jul-1996 02:44:25 -0700"; NULL: use internaldate_unix */
	int64_t internaldate_unix; /* with internaldate_tz; 0 and internaldate NULL: server's clock */
	int internaldate_tz;
};

/* Appends n messages to mailbox: pipelined (non-synchronizing literals
 * with LITERAL+, or LITERAL- for small ones), as one MULTIAPPEND command
 * per batch when offered, else one APPEND each. With UIDPLUS the new UIDs
 * are stored in uids_r[i] (0 where the server did not say) and the
 * folder's UIDVALIDITY in *uidvalidity_r; both may be NULL. err->code
 * ERROR_NOTFOUND when the folder does not exist ([TRYCREATE]). */
int imap_append(struct imap *imap, const char *mailbox, const struct imap_append_msg *msgs,
		size_t n, uint32_t *uidvalidity_r, uint32_t *uids_r, struct error *err);

/* UID STORE set op (flags) with .SILENT; op is "+FLAGS", "-FLAGS" or
 * "FLAGS". */
int imap_uid_store(struct imap *imap, const struct imap_uidset *uids, const char *op,
		   const char *const *flags, size_t nflags, struct error *err);

/* UID EXPUNGE of the set with UIDPLUS; without UIDPLUS, EXPUNGE, which
 * removes every message marked \Deleted in the folder. */
int imap_uid_expunge(struct imap *imap, const struct imap_uidset *uids, struct error *err);
int imap_expunge(struct imap *imap, struct error *err);

/* Sends one command line as written (no literals) and waits for its
 * tagged OK; for tests and rare commands (e.g. "NOOP", "UNSELECT"). */
int imap_command(struct imap *imap, const char *line, struct error *err);

/* The response code of the last tagged reply ("NONEXISTENT",
 * "AUTHENTICATIONFAILED", ...), or "" if none. */
const char *imap_last_code(const struct imap *imap);

/* Date helpers: "17-Jul-1996 02:44:25 -0700" ⇄ seconds since 1970 UTC and
 * zone minutes. imap_date_parse returns -1 on a malformed date. */
int imap_date_parse(const char *s, size_t len, int64_t *unix_r, int *tz_r);
/* Writes into out (at least 32 bytes). */
void imap_date_format(int64_t unix_time, int tz_minutes, char *out, size_t outlen);

#endif
