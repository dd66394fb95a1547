/* coffer's pipelined IMAP client (imap.h, docs/imap.md): the handle
 * (connect, logout, close), the command queue (tags and the replies still
 * pending), output with literals, and reading and dispatching responses.
 * What the commands do is in imap_login.c, imap_mailbox.c, imap_fetch.c
 * and imap_append.c; imap_internal.h is what they share. */
#include "sources/imap_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "sources/imap_conn.h"

/* ---- small helpers ---- */

void imap_wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

const char *imap_name(const struct imap *c)
{
	return c->name;
}

const char *imap_last_code(const struct imap *c)
{
	return c->last_code;
}

const char *imap_selected(const struct imap *c)
{
	return c->selected;
}

uint32_t imap_exists(const struct imap *c)
{
	return c->exists;
}

/* ---- output ---- */

unsigned imap_cmd_begin(struct imap *c, const char *desc)
{
	struct pending *p;

	if (c->npend == c->cappend) {
		c->cappend = c->cappend ? c->cappend * 2 : 16;
		c->pend = xrealloc(c->pend, xmul(c->cappend, sizeof(*c->pend)));
	}
	p = &c->pend[c->npend++];
	memset(p, 0, sizeof(*p));
	p->tag = ++c->next_tag;
	p->desc = xstrdup(desc);
	buf_addf(&c->out, "C%u ", p->tag);
	return p->tag;
}

static struct pending *pending_find(struct imap *c, unsigned tag)
{
	for (size_t k = 0; k < c->npend; k++)
		if (c->pend[k].tag == tag)
			return &c->pend[k];
	return NULL;
}

void imap_pending_drop(struct imap *c, unsigned tag)
{
	struct pending *p = pending_find(c, tag);
	size_t k;

	if (!p)
		return;
	k = (size_t)(p - c->pend);
	free(p->desc);
	free(p->text);
	free(p->appenduid_set);
	memmove(&c->pend[k], &c->pend[k + 1], (c->npend - k - 1) * sizeof(*c->pend));
	c->npend--;
}

static void pending_drop_all(struct imap *c)
{
	while (c->npend)
		imap_pending_drop(c, c->pend[0].tag);
	c->enable_tag = 0;
}

/* The connection is unusable from here on. */
void imap_connection_drop(struct imap *c)
{
	imap_conn_close(&c->conn);
	pending_drop_all(c);
	buf_reset(&c->in);
	c->in_start = 0;
	imap_framer_reset(&c->fr);
	if (c->wipe_out && c->out.data)
		explicit_bzero(c->out.data, c->out.cap);
	buf_reset(&c->out);
	c->wipe_out = 0;
}

/* An I/O failure: prefix, remember that reconnecting may help, drop. */
static int io_error(struct imap *c, const char *desc, struct error *err)
{
	error_prefix(err, "imap %s: %s", c->name, desc);
	c->io_failed = 1;
	imap_connection_drop(c);
	return -1;
}

int imap_flush(struct imap *c, const char *desc, struct error *err)
{
	int rc = 0;

	if (!c->conn)
		return error_setk(err, ERROR_FAIL, "imap %s: %s: not connected", c->name, desc);
	if (c->out.len)
		rc = imap_conn_write(c->conn, c->out.data, c->out.len, err);
	if (c->wipe_out && c->out.data)
		explicit_bzero(c->out.data, c->out.cap);
	c->wipe_out = 0;
	buf_reset(&c->out);
	if (rc < 0)
		return io_error(c, desc, err);
	return 0;
}

static int can_quote(const char *s, size_t len)
{
	for (size_t k = 0; k < len; k++) {
		unsigned char ch = (unsigned char)s[k];

		if (ch == '\r' || ch == '\n' || ch == 0 || ch >= 0x80)
			return 0;
	}
	return len < 1024;
}

static int nonsync_ok(const struct imap *c, size_t len)
{
	return (c->caps & IMAP_CAP_LITERALPLUS) ||
	       ((c->caps & IMAP_CAP_LITERALMINUS) && len <= 4096);
}

/* A literal's data after its "{n}" header: a synchronizing literal first
 * waits for the server's "+". Returns 1 if the command ended instead
 * (the server refused the literal), 0 sent, -1 error. */
int imap_send_literal(struct imap *c, unsigned tag, const char *desc, const void *data,
			size_t len, struct error *err)
{
	if (nonsync_ok(c, len)) {
		buf_addf(&c->out, "{%zu+}\r\n", len);
	} else {
		int rc;

		buf_addf(&c->out, "{%zu}\r\n", len);
		if (imap_flush(c, desc, err) < 0)
			return -1;
		rc = imap_wait_cont(c, tag, err);
		if (rc <= 0)
			return rc < 0 ? -1 : 1;
	}
	buf_add(&c->out, data, len);
	return 0;
}

/* A string argument: quoted when possible, else a literal. */
int imap_add_astring(struct imap *c, unsigned tag, const char *desc, const char *s,
		       struct error *err)
{
	size_t len = strlen(s);

	if (can_quote(s, len)) {
		buf_add(&c->out, "\"", 1);
		for (size_t k = 0; k < len; k++) {
			if (s[k] == '"' || s[k] == '\\')
				buf_add(&c->out, "\\", 1);
			buf_add(&c->out, &s[k], 1);
		}
		buf_add(&c->out, "\"", 1);
		return 0;
	}
	return imap_send_literal(c, tag, desc, s, len, err);
}

/* A printable rendering of a mailbox name for messages. */
char *imap_shown_name(const char *s)
{
	char *t = imap_shown(s, 200), *q = xasprintf("\"%s\"", t);

	free(t);
	return q;
}

/* ---- input ---- */

int imap_fill(struct imap *c, size_t want, const char *desc, struct error *err)
{
	size_t more = want > 65536 ? want : 65536;
	ssize_t n;

	if (!c->conn)
		return error_setk(err, ERROR_FAIL, "imap %s: %s: not connected", c->name, desc);
	/* Move the response being received to the front when that frees room. */
	if (c->in_start > 0 && (c->in_start >= c->in.len / 2 || c->in.cap - c->in.len < more + 1)) {
		memmove(c->in.data, c->in.data + c->in_start, c->in.len - c->in_start);
		c->in.len -= c->in_start;
		c->in_start = 0;
	}
	if (buf_reserve(&c->in, more, err) < 0) {
		/* Only reached if the limits are inconsistent; still, stop. */
		error_prefix(err, "imap %s: %s", c->name, desc);
		imap_connection_drop(c);
		return -1;
	}
	n = imap_conn_read(c->conn, c->in.data + c->in.len, c->in.cap - c->in.len - 1, err);
	if (n < 0)
		return io_error(c, desc, err);
	if (n == 0) {
		if (c->bye)
			error_setk(err, ERROR_FAIL, "the server closed the connection: BYE %s", c->bye);
		else
			error_setk(err, ERROR_FAIL, "the server closed the connection");
		return io_error(c, desc, err);
	}
	c->in.len += (size_t)n;
	c->in.data[c->in.len] = '\0';
	return 0;
}

/* The next whole response, parsed; it points into c->in until the next call. */
int imap_read_resp(struct imap *c, struct imap_resp *r, const char *desc, struct error *err)
{
	for (;;) {
		size_t rlen = 0, want = 1;
		int rc = imap_frame(&c->fr, c->in.data ? c->in.data + c->in_start : NULL,
				    c->in.len - c->in_start, &c->lim, &rlen, &want, err);

		if (rc < 0) {
			error_prefix(err, "imap %s: %s", c->name, desc);
			imap_connection_drop(c);
			return -1;
		}
		if (rc == 1) {
			uint8_t *p = c->in.data + c->in_start;

			c->in_start += rlen;
			imap_framer_reset(&c->fr);
			if (imap_resp_parse(p, rlen, &c->lim, r, err) < 0) {
				imap_resp_clear(r);
				error_prefix(err, "imap %s: %s", c->name, desc);
				imap_connection_drop(c);
				return -1;
			}
			return 0;
		}
		if (imap_fill(c, want, desc, err) < 0)
			return -1;
	}
}

int imap_uid_arg(const struct imap_arg *a, uint32_t *r)
{
	uint64_t n;

	if (imap_arg_number(a, &n) < 0 || n == 0 || n > UINT32_MAX)
		return -1;
	*r = (uint32_t)n;
	return 0;
}

int imap_proto_error(struct imap *c, const char *desc, const char *what, struct error *err)
{
	error_setk(err, ERROR_CORRUPT, "imap %s: %s: malformed response: %s", c->name, desc, what);
	imap_connection_drop(c);
	return -1;
}

/* Response codes that matter wherever they come. */
void imap_handle_code(struct imap *c, struct imap_resp *r, struct pending *p)
{
	uint64_t n;

	if (!strcmp(r->code, "CAPABILITY")) {
		imap_caps_from_words(c, r->code_args, r->code_nargs);
		return;
	}
	if (p && !strcmp(r->code, "APPENDUID") && r->code_nargs == 2 &&
	    imap_arg_number(&r->code_args[0], &n) == 0 && n <= UINT32_MAX &&
	    imap_arg_is_string(&r->code_args[1])) {
		p->appenduid_validity = (uint32_t)n;
		free(p->appenduid_set);
		p->appenduid_set = imap_arg_dup(&r->code_args[1]);
		return;
	}
	if (!c->selecting || r->code_nargs < 1 || imap_arg_number(&r->code_args[0], &n) < 0) {
		if (c->selecting && !strcmp(r->code, "NOMODSEQ"))
			c->selecting->nomodseq = 1;
		if (c->selecting && !strcmp(r->code, "READ-ONLY"))
			c->selecting->readonly = 1;
		return;
	}
	if (!strcmp(r->code, "UIDVALIDITY") && n <= UINT32_MAX)
		c->selecting->uidvalidity = (uint32_t)n;
	else if (!strcmp(r->code, "UIDNEXT") && n <= UINT32_MAX)
		c->selecting->uidnext = (uint32_t)n;
	else if (!strcmp(r->code, "HIGHESTMODSEQ"))
		c->selecting->highestmodseq = n;
}

static int handle_vanished(struct imap *c, struct imap_resp *r, const char *desc,
			   struct error *err)
{
	struct imap_uidset s;
	size_t k = 0;
	const struct imap_arg *a;

	if (r->nargs >= 1 && r->args[0].type == IMAP_ARG_LIST)
		k = 1; /* (EARLIER) */
	if (r->nargs != k + 1 || r->args[k].type != IMAP_ARG_ATOM)
		return imap_proto_error(c, desc, "VANISHED without a UID set", err);
	a = &r->args[k];
	imap_uidset_init(&s);
	if (imap_uidset_parse(&s, (const char *)a->data, a->len, err) < 0) {
		imap_uidset_clear(&s);
		return imap_proto_error(c, desc, "VANISHED with a bad UID set", err);
	}
	if (c->selecting) {
		for (size_t j = 0; j < s.n; j++)
			imap_uidset_add(&c->selecting->vanished, s.r[j].lo, s.r[j].hi);
	} else if (c->on_vanished) {
		c->on_vanished(c->vctx, &s);
	}
	if (k == 0) {
		uint64_t cnt = imap_uidset_count(&s);

		c->exists = cnt > c->exists ? 0 : c->exists - (uint32_t)cnt;
	}
	imap_uidset_clear(&s);
	return 0;
}

/* Handles one response; a continuation sets *cont. */
static int dispatch(struct imap *c, struct imap_resp *r, const char *desc, int *cont,
		    struct error *err)
{
	if (r->kind == IMAP_RESP_CONT) {
		if (!cont)
			return imap_proto_error(c, desc, "unexpected continuation \"+\"", err);
		*cont = 1;
		return 0;
	}
	if (r->kind == IMAP_RESP_TAGGED) {
		struct pending *p = NULL;

		if (r->tag[0] == 'C') {
			char *end;
			unsigned long t = strtoul(r->tag + 1, &end, 10);

			if (*end == '\0')
				p = pending_find(c, (unsigned)t);
		}
		if (!p || p->done)
			return imap_proto_error(c, desc, "reply with an unknown tag", err);
		p->done = 1;
		p->status = !strcmp(r->name, "OK") ? ST_OK : !strcmp(r->name, "NO") ? ST_NO : ST_BAD;
		memcpy(p->code, r->code, sizeof(p->code));
		p->text = xstrdup(r->text);
		imap_handle_code(c, r, p);
		return 0;
	}
	if (r->is_status) {
		if (!strcmp(r->name, "BYE")) {
			free(c->bye);
			c->bye = imap_shown(r->text, 300);
		}
		imap_handle_code(c, r, NULL);
		return 0;
	}
	if (!strcmp(r->name, "CAPABILITY")) {
		imap_caps_from_words(c, r->args, r->nargs);
		return 0;
	}
	if (!strcmp(r->name, "EXISTS") && r->has_num) {
		c->exists = r->num;
		if (c->selecting)
			c->selecting->exists = r->num;
		return 0;
	}
	if (!strcmp(r->name, "EXPUNGE") && r->has_num) {
		if (c->exists)
			c->exists--;
		return 0;
	}
	if (!strcmp(r->name, "VANISHED"))
		return handle_vanished(c, r, desc, err);
	if (!strcmp(r->name, "ENABLED")) {
		for (size_t k = 0; k < r->nargs; k++)
			if (imap_arg_is_atom(&r->args[k], "QRESYNC"))
				c->caps |= IMAP_CAP_QRESYNC;
		return 0;
	}
	if (c->on_untagged)
		return c->on_untagged(c, r, c->hctx, err);
	return 0; /* RECENT, FLAGS, unsolicited FETCH, ...: nothing to do */
}

/* Reads responses until the command `tag` is answered (0: look at its
 * pending status) or, when `want_cont`, until the server asks for the
 * rest of a literal (1). -1: the connection failed. */
static int read_until(struct imap *c, unsigned tag, int want_cont, struct error *err)
{
	struct pending *p = pending_find(c, tag);
	char *desc;
	int ret = -1;

	if (!p)
		return error_setk(err, ERROR_FAIL, "imap %s: internal: no command C%u", c->name, tag);
	if (p->done)
		return 0;
	desc = xstrdup(p->desc);
	for (;;) {
		struct imap_resp r;
		int rc, cont = 0;

		if (imap_read_resp(c, &r, desc, err) < 0)
			break;
		rc = dispatch(c, &r, desc, want_cont ? &cont : NULL, err);
		imap_resp_clear(&r);
		if (rc < 0) {
			imap_connection_drop(c); /* mid-reply: the stream is out of step */
			break;
		}
		if (cont) {
			ret = 1;
			break;
		}
		p = pending_find(c, tag);
		if (p && p->done) {
			ret = 0;
			break;
		}
	}
	free(desc);
	return ret;
}

int imap_wait_tag(struct imap *c, unsigned tag, struct error *err)
{
	return read_until(c, tag, 0, err);
}

/* Reads until a continuation (1) or until `tag` is answered (0). */
int imap_wait_cont(struct imap *c, unsigned tag, struct error *err)
{
	return read_until(c, tag, 1, err);
}

/* The error of a command the server refused; drops its pending entry. */
int imap_cmd_failed(struct imap *c, unsigned tag, struct error *err)
{
	struct pending *p = pending_find(c, tag);
	int kind = ERROR_FAIL;
	char *text, *code;

	if (!strcmp(p->code, "NONEXISTENT") || !strcmp(p->code, "TRYCREATE"))
		kind = ERROR_NOTFOUND;
	else if (!strcmp(p->code, "ALREADYEXISTS"))
		kind = ERROR_EXISTS;
	else if (!strcmp(p->code, "AUTHENTICATIONFAILED") || !strcmp(p->code, "AUTHORIZATIONFAILED"))
		kind = ERROR_KEY;
	text = imap_shown(p->text ? p->text : "", 300);
	code = imap_shown(p->code, sizeof(p->code));
	error_setk(err, kind, "imap %s: %s failed: %s %s%s%s%s", c->name, p->desc,
		   p->status == ST_NO ? "NO" : "BAD", code[0] ? "[" : "", code,
		   code[0] ? "] " : "", text);
	free(text);
	free(code);
	imap_pending_drop(c, tag);
	return -1;
}

/* The command `tag` that imap_wait_tag() saw complete; its response code
 * becomes the last one. NULL (an internal error) if it is not pending. */
struct pending *imap_pending_finished(struct imap *c, unsigned tag, struct error *err)
{
	struct pending *p = pending_find(c, tag);

	if (!p) {
		error_set(err, "imap %s: no pending command with tag %u", c->name, tag);
		return NULL;
	}
	snprintf(c->last_code, sizeof(c->last_code), "%s", p->code);
	return p;
}

/* Waits for `tag`; 0 if OK (and drops it), else -1 with the error. */
/* The ENABLE sent along after login (imap_do_connect), once its reply is
 * in: a refusal is an error, as it was when ENABLE waited for its own. */
static int enable_checked(struct imap *c, struct error *err)
{
	unsigned tag = c->enable_tag;
	struct pending *p = tag ? pending_find(c, tag) : NULL;

	if (p == NULL || !p->done)
		return 0;
	c->enable_tag = 0;
	if (p->status != ST_OK)
		return imap_cmd_failed(c, tag, err);
	imap_pending_drop(c, tag);
	return 0;
}

int imap_enable_settled(struct imap *c, struct error *err)
{
	if (!c->enable_tag)
		return 0;
	if (imap_flush(c, "ENABLE QRESYNC", err) < 0 || imap_wait_tag(c, c->enable_tag, err) < 0)
		return -1;
	return enable_checked(c, err);
}

int imap_finish(struct imap *c, unsigned tag, struct error *err)
{
	struct pending *p;

	if (imap_wait_tag(c, tag, err) < 0)
		return -1;
	if (enable_checked(c, err) < 0) {
		imap_pending_drop(c, tag);
		return -1;
	}
	if (!(p = imap_pending_finished(c, tag, err)))
		return -1;
	if (p->status != ST_OK)
		return imap_cmd_failed(c, tag, err);
	imap_pending_drop(c, tag);
	return 0;
}

/* After a failure in a pipelined run: lets the commands still in flight
 * finish (their data ignored), so later commands do not see their replies. */
void imap_drain(struct imap *c)
{
	struct error e;

	c->on_untagged = NULL;
	c->on_vanished = NULL;
	for (size_t k = 0; k < c->npend; k++) {
		if (!c->pend[k].done && imap_wait_tag(c, c->pend[k].tag, &e) < 0)
			return; /* the connection is gone, and the list with it */
	}
	pending_drop_all(c);
}

/* Sends a command line built in c->out (after cmd_begin) and waits. */
int imap_run(struct imap *c, unsigned tag, struct error *err)
{
	struct pending *p = pending_find(c, tag);
	char *desc = xstrdup(p->desc);
	int rc;

	buf_add(&c->out, "\r\n", 2);
	rc = imap_flush(c, desc, err);
	free(desc);
	if (rc < 0)
		return -1;
	return imap_finish(c, tag, err);
}

int imap_simple(struct imap *c, const char *line, struct error *err)
{
	unsigned tag;

	if (imap_connection_up(c, err) < 0)
		return -1;
	tag = imap_cmd_begin(c, line);
	buf_addf(&c->out, "%s", line);
	return imap_run(c, tag, err);
}

int imap_command(struct imap *c, const char *line, struct error *err)
{
	if (strpbrk(line, "\r\n"))
		return error_setk(err, ERROR_USAGE, "imap %s: a command line may not contain CR or LF",
				  c->name);
	return imap_simple(c, line, err);
}

/* ---- the handle ---- */

struct imap *imap_connect(const struct imap_opts *o, struct error *err)
{
	struct imap *c;

	if (!o->host || !*o->host || !o->user || !*o->user) {
		error_setk(err, ERROR_USAGE, "imap: host and user are required");
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->o = *o;
	c->host = xstrdup(o->host);
	c->user = xstrdup(o->user);
	c->ca_file = o->ca_file ? xstrdup(o->ca_file) : NULL;
	c->secret = o->secret ? xstrdup(o->secret) : NULL;
	c->secret_command = o->secret_command ? xstrdup(o->secret_command) : NULL;
	c->o.host = c->o.user = c->o.ca_file = c->o.secret = c->o.secret_command = NULL;
	if (!c->o.port)
		c->o.port = o->tls == IMAP_TLS_IMPLICIT ? 993 : 143;
	if (c->o.connect_timeout_ms <= 0)
		c->o.connect_timeout_ms = 30000;
	if (c->o.timeout_ms <= 0)
		c->o.timeout_ms = 120000;
	if (c->o.reconnects == 0)
		c->o.reconnects = 3;
	imap_limits_default(&c->lim);
	if (o->max_literal)
		c->lim.max_literal = o->max_literal;
	if (o->max_line)
		c->lim.max_line = o->max_line;
	buf_init(&c->in, (size_t)(c->lim.max_literal + 2 * c->lim.max_line + 131072));
	buf_init(&c->out, 0);
	c->name = xasprintf("%s@%s:%u", c->user, c->host, c->o.port);
	if (imap_do_connect(c, err) < 0) {
		imap_close(&c);
		return NULL;
	}
	return c;
}

int imap_logout(struct imap *c, struct error *err)
{
	int rc = 0;

	if (c->conn) {
		/* The session is over once LOGOUT is sent; its answer (BYE,
		 * OK) tells the client nothing, so it does not wait for that
		 * round trip and the server's clean-up: on an unchanged mail
		 * re-run, the round trips are most of the time. */
		imap_cmd_begin(c, "LOGOUT");
		buf_addf(&c->out, "LOGOUT\r\n");
		rc = imap_flush(c, "LOGOUT", err);
		imap_connection_drop(c);
	}
	return rc;
}

void imap_close(struct imap **cp)
{
	struct imap *c = *cp;

	if (!c)
		return;
	imap_connection_drop(c);
	buf_clear(&c->in);
	buf_clear(&c->out);
	free(c->pend);
	imap_wipe_free(c->secret);
	free(c->secret_command);
	free(c->host);
	free(c->user);
	free(c->ca_file);
	free(c->name);
	free(c->bye);
	free(c->capstr);
	free(c->selected);
	free(c->flagv);
	free(c);
	*cp = NULL;
}
