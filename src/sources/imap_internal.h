#ifndef COFFER_IMAP_INTERNAL_H
#define COFFER_IMAP_INTERNAL_H

/* The IMAP client's state and what its files share; internal to
 * src/sources/imap*.c (the interface is imap.h, docs/imap.md):
 *
 *   imap.c          the handle, the command queue, output, reading and
 *                   dispatching responses
 *   imap_login.c    greeting, capabilities, STARTTLS, authentication,
 *                   reconnecting
 *   imap_mailbox.c  LIST, STATUS, CREATE, DELETE, SELECT / EXAMINE
 *   imap_fetch.c    FETCH responses, UID SEARCH, bulk UID FETCH
 *   imap_append.c   APPEND, UID STORE, EXPUNGE
 *
 * A command: imap_connection_up(), imap_cmd_begin() (a tag and a pending
 * entry; the line goes to c->out), then imap_run() for one command, or
 * imap_flush() and imap_finish() per tag for a pipelined run (imap_drain()
 * after a failure). Untagged data goes to c->on_untagged while a command
 * runs. */

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "sources/imap.h"
#include "sources/imap_parse.h"

struct error;
struct imap_conn;

enum { ST_OK = 0, ST_NO, ST_BAD };

/* A command sent and not yet answered (or answered, not yet looked at). */
struct pending {
	unsigned tag;
	int done, status;
	char *desc;  /* what error messages call the command: never a secret */
	char *text;  /* the tagged reply's text */
	char code[32];
	uint32_t appenduid_validity; /* [APPENDUID v set] */
	char *appenduid_set;
};

typedef int untagged_fn(struct imap *c, struct imap_resp *r, void *ctx, struct error *err);

struct imap {
	/* options (strings owned) */
	struct imap_opts o;
	char *host, *user, *ca_file, *secret_command;
	char *secret;   /* wiped on destroy */
	char *name;     /* user@host:port */

	struct imap_conn *conn;
	int io_failed;  /* the connection broke (I/O, EOF, timeout): reconnecting may help */
	char *bye;      /* text of the server's BYE, if any */
	struct imap_limits lim;
	struct buf in;
	size_t in_start;
	struct imap_framer fr;
	struct buf out;
	int wipe_out;   /* the output holds a secret: zero it after sending */

	unsigned next_tag;
	struct pending *pend;
	size_t npend, cappend;
	unsigned enable_tag; /* ENABLE sent with the next command, reply unchecked; 0: none */

	unsigned caps;
	int offers_qresync;
	int caps_seen;  /* capabilities arrived since caps_seen was cleared */
	char *capstr;
	char last_code[32];

	/* the selected folder, for reconnects */
	char *selected;
	int sel_readonly, sel_condstore;
	uint32_t sel_uidvalidity, exists;

	/* who wants untagged data while a command runs */
	untagged_fn *on_untagged;
	void *hctx;
	struct imap_mailbox *selecting;
	imap_vanished_cb *on_vanished;
	void *vctx;

	/* scratch for imap_msg.flags */
	const char **flagv;
	size_t flagcap;
};

/* ---- imap.c ---- */

/* Wipes and frees a secret; accepts NULL. */
void imap_wipe_free(char *s);

/* Starts a command: a new tag and its pending entry, "C<tag> " in c->out;
 * returns the tag. desc names the command in errors (never a secret). */
unsigned imap_cmd_begin(struct imap *c, const char *desc);
void imap_pending_drop(struct imap *c, unsigned tag);
/* The connection is unusable from here on: closes it and forgets every
 * pending command and buffered byte. */
void imap_connection_drop(struct imap *c);
/* Sends c->out. */
int imap_flush(struct imap *c, const char *desc, struct error *err);
/* A literal ({n} or {n+}) and its data: 0 sent, 1 if the server refused
 * it (the command ended), -1 error. */
int imap_send_literal(struct imap *c, unsigned tag, const char *desc, const void *data,
		      size_t len, struct error *err);
/* A string argument, quoted or as a literal; returns as imap_send_literal(). */
int imap_add_astring(struct imap *c, unsigned tag, const char *desc, const char *s,
		     struct error *err);
/* A mailbox name as error messages show it, quoted (xmalloc'd). */
char *imap_shown_name(const char *s);

/* One read into c->in, with room for at least `want` more bytes. */
int imap_fill(struct imap *c, size_t want, const char *desc, struct error *err);
/* The next whole response, parsed; it points into c->in until the next call. */
int imap_read_resp(struct imap *c, struct imap_resp *r, const char *desc, struct error *err);
/* A UID (1 to 2^32 - 1). */
int imap_uid_arg(const struct imap_arg *a, uint32_t *r);
/* A malformed response: ERROR_CORRUPT, and the connection is dropped. */
int imap_proto_error(struct imap *c, const char *desc, const char *what, struct error *err);
/* Response codes that matter wherever they come (p: the tagged reply's command). */
void imap_handle_code(struct imap *c, struct imap_resp *r, struct pending *p);

/* Reads until `tag` is answered (0); -1: the connection failed. */
int imap_wait_tag(struct imap *c, unsigned tag, struct error *err);
/* Reads until a continuation (1) or until `tag` is answered (0). */
int imap_wait_cont(struct imap *c, unsigned tag, struct error *err);
/* The error of a command the server refused; drops its pending entry. */
int imap_cmd_failed(struct imap *c, unsigned tag, struct error *err);
/* The command `tag` that imap_wait_tag() saw complete. */
struct pending *imap_pending_finished(struct imap *c, unsigned tag, struct error *err);
/* Waits for `tag`; 0 if OK (and drops it), else -1 with the error. */
int imap_finish(struct imap *c, unsigned tag, struct error *err);
/* Sends the ENABLE queued after login, if any, and waits for its reply:
 * before a command that depends on whether QRESYNC is on. */
int imap_enable_settled(struct imap *c, struct error *err);
/* Lets the commands still in flight finish, their data ignored. */
void imap_drain(struct imap *c);
/* Ends the command line in c->out, sends it and waits for its reply. */
int imap_run(struct imap *c, unsigned tag, struct error *err);
/* Sends one command line as written (connecting first if needed) and
 * waits for its reply. */
int imap_simple(struct imap *c, const char *line, struct error *err);

/* ---- imap_login.c ---- */

/* The capabilities from a CAPABILITY response or response code. */
void imap_caps_from_words(struct imap *c, const struct imap_arg *v, size_t n);
/* Connects and logs in; on failure the connection is closed. */
int imap_do_connect(struct imap *c, struct error *err);
/* Before a command: a connection that broke is made again (and the
 * folder selected again). */
int imap_connection_up(struct imap *c, struct error *err);

/* ---- imap_mailbox.c ---- */

/* SELECT or EXAMINE on a connection that is up. */
int imap_select_cmd(struct imap *c, const char *mailbox, const struct imap_select_opts *o,
		    struct imap_mailbox *r, struct error *err);

/* ---- imap_fetch.c ---- */

/* Fills m from a FETCH response; 0, or -1 if it is malformed. */
int imap_parse_fetch(struct imap *c, struct imap_resp *r, struct imap_msg *m,
		     uint64_t max_body);
/* Frees n strings and their array. */
void imap_free_batches(char **v, size_t n);

#endif
