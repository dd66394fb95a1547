/* coffer's pipelined IMAP client: connection state, commands (imap.h,
 * docs/imap.md). */
#include "sources/imap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "sources/imap_conn.h"
#include "sources/imap_parse.h"

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

static int conn_up(struct imap *c, struct error *err);

/* ---- small helpers ---- */

static char *b64(const uint8_t *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

static void wipe_free(char *s)
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

unsigned imap_caps(const struct imap *c)
{
	return c->caps;
}

const char *imap_capability_string(const struct imap *c)
{
	return c->capstr ? c->capstr : "";
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

int imap_has_cap(const struct imap *c, const char *cap)
{
	size_t n = strlen(cap);
	const char *p = c->capstr;

	while (p && *p) {
		const char *e = strchr(p, ' ');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if (l == n && strncasecmp(p, cap, n) == 0)
			return 1;
		p = e ? e + 1 : p + l;
	}
	return 0;
}

int imap_tls_parse(const char *s, enum imap_tls *r, struct error *err)
{
	if (s && !strcmp(s, "implicit"))
		*r = IMAP_TLS_IMPLICIT;
	else if (s && !strcmp(s, "starttls"))
		*r = IMAP_TLS_STARTTLS;
	else if (s && !strcmp(s, "none"))
		*r = IMAP_TLS_NONE;
	else
		return error_setk(err, ERROR_USAGE,
				  "bad IMAP tls mode \"%s\" (implicit, starttls or none)",
				  s ? s : "");
	return 0;
}

int imap_auth_parse(const char *s, enum imap_auth *r, struct error *err)
{
	static const char *const names[] = { "plain", "login", "xoauth2", "oauthbearer" };

	for (size_t k = 0; s && k < 4; k++) {
		if (!strcmp(s, names[k])) {
			*r = (enum imap_auth)k;
			return 0;
		}
	}
	return error_setk(err, ERROR_USAGE,
			  "bad IMAP auth mechanism \"%s\" (plain, login, xoauth2 or oauthbearer)",
			  s ? s : "");
}

static const char *auth_name(enum imap_auth a)
{
	switch (a) {
	case IMAP_AUTH_PLAIN: return "PLAIN";
	case IMAP_AUTH_LOGIN: return "LOGIN";
	case IMAP_AUTH_XOAUTH2: return "XOAUTH2";
	case IMAP_AUTH_OAUTHBEARER: return "OAUTHBEARER";
	}
	return "?";
}

/* ---- capabilities ---- */

static void caps_from_words(struct imap *c, const struct imap_arg *v, size_t n)
{
	static const struct { const char *name; unsigned bit; } known[] = {
		{ "CONDSTORE", IMAP_CAP_CONDSTORE }, { "UIDPLUS", IMAP_CAP_UIDPLUS },
		{ "LITERAL+", IMAP_CAP_LITERALPLUS }, { "LITERAL-", IMAP_CAP_LITERALMINUS },
		{ "MULTIAPPEND", IMAP_CAP_MULTIAPPEND }, { "SPECIAL-USE", IMAP_CAP_SPECIAL_USE },
		{ "LIST-EXTENDED", IMAP_CAP_LIST_EXTENDED }, { "LIST-STATUS", IMAP_CAP_LIST_STATUS },
		{ "ESEARCH", IMAP_CAP_ESEARCH }, { "ENABLE", IMAP_CAP_ENABLE },
		{ "STARTTLS", IMAP_CAP_STARTTLS }, { "SASL-IR", IMAP_CAP_SASL_IR },
		{ "IDLE", IMAP_CAP_IDLE }, { "MOVE", IMAP_CAP_MOVE },
		{ "NAMESPACE", IMAP_CAP_NAMESPACE },
	};
	struct buf b;
	unsigned keep = c->caps & IMAP_CAP_QRESYNC; /* ENABLEd stays enabled */

	buf_init(&b, 0);
	c->caps = keep;
	c->offers_qresync = 0;
	for (size_t k = 0; k < n; k++) {
		if (v[k].type != IMAP_ARG_ATOM)
			continue;
		if (b.len)
			buf_add(&b, " ", 1);
		buf_add(&b, v[k].data, v[k].len);
		for (size_t j = 0; j < sizeof(known) / sizeof(known[0]); j++)
			if (imap_arg_is_atom(&v[k], known[j].name))
				c->caps |= known[j].bit;
		if (imap_arg_is_atom(&v[k], "QRESYNC"))
			c->offers_qresync = 1;
	}
	free(c->capstr);
	c->capstr = b.data ? (char *)buf_steal(&b, NULL) : xstrdup("");
	c->caps_seen = 1;
}

/* ---- output ---- */

static unsigned cmd_begin(struct imap *c, const char *desc)
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

static void pending_drop(struct imap *c, unsigned tag)
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
		pending_drop(c, c->pend[0].tag);
}

/* The connection is unusable from here on. */
static void conn_drop(struct imap *c)
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
	conn_drop(c);
	return -1;
}

static int flush(struct imap *c, const char *desc, struct error *err)
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

static int wait_cont(struct imap *c, unsigned tag, struct error *err);

/* A literal's data after its "{n}" header: a synchronizing literal first
 * waits for the server's "+". Returns 1 if the command ended instead
 * (the server refused the literal), 0 sent, -1 error. */
static int send_literal(struct imap *c, unsigned tag, const char *desc, const void *data,
			size_t len, struct error *err)
{
	if (nonsync_ok(c, len)) {
		buf_addf(&c->out, "{%zu+}\r\n", len);
	} else {
		int rc;

		buf_addf(&c->out, "{%zu}\r\n", len);
		if (flush(c, desc, err) < 0)
			return -1;
		rc = wait_cont(c, tag, err);
		if (rc <= 0)
			return rc < 0 ? -1 : 1;
	}
	buf_add(&c->out, data, len);
	return 0;
}

/* A string argument: quoted when possible, else a literal. */
static int add_astring(struct imap *c, unsigned tag, const char *desc, const char *s,
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
	return send_literal(c, tag, desc, s, len, err);
}

/* A printable rendering of a mailbox name for messages. */
static char *shown_name(const char *s)
{
	char *t = imap_shown(s, 200), *q = xasprintf("\"%s\"", t);

	free(t);
	return q;
}

/* ---- input ---- */

static int fill(struct imap *c, size_t want, const char *desc, struct error *err)
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
		conn_drop(c);
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
static int read_resp(struct imap *c, struct imap_resp *r, const char *desc, struct error *err)
{
	for (;;) {
		size_t rlen = 0, want = 1;
		int rc = imap_frame(&c->fr, c->in.data ? c->in.data + c->in_start : NULL,
				    c->in.len - c->in_start, &c->lim, &rlen, &want, err);

		if (rc < 0) {
			error_prefix(err, "imap %s: %s", c->name, desc);
			conn_drop(c);
			return -1;
		}
		if (rc == 1) {
			uint8_t *p = c->in.data + c->in_start;

			c->in_start += rlen;
			imap_framer_reset(&c->fr);
			if (imap_resp_parse(p, rlen, &c->lim, r, err) < 0) {
				imap_resp_clear(r);
				error_prefix(err, "imap %s: %s", c->name, desc);
				conn_drop(c);
				return -1;
			}
			return 0;
		}
		if (fill(c, want, desc, err) < 0)
			return -1;
	}
}

static int uid_arg(const struct imap_arg *a, uint32_t *r)
{
	uint64_t n;

	if (imap_arg_number(a, &n) < 0 || n == 0 || n > UINT32_MAX)
		return -1;
	*r = (uint32_t)n;
	return 0;
}

static int proto_error(struct imap *c, const char *desc, const char *what, struct error *err)
{
	error_setk(err, ERROR_CORRUPT, "imap %s: %s: malformed response: %s", c->name, desc, what);
	conn_drop(c);
	return -1;
}

/* Response codes that matter wherever they come. */
static void handle_code(struct imap *c, struct imap_resp *r, struct pending *p)
{
	uint64_t n;

	if (!strcmp(r->code, "CAPABILITY")) {
		caps_from_words(c, r->code_args, r->code_nargs);
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
		return proto_error(c, desc, "VANISHED without a UID set", err);
	a = &r->args[k];
	imap_uidset_init(&s);
	if (imap_uidset_parse(&s, (const char *)a->data, a->len, err) < 0) {
		imap_uidset_clear(&s);
		return proto_error(c, desc, "VANISHED with a bad UID set", err);
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
			return proto_error(c, desc, "unexpected continuation \"+\"", err);
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
			return proto_error(c, desc, "reply with an unknown tag", err);
		p->done = 1;
		p->status = !strcmp(r->name, "OK") ? ST_OK : !strcmp(r->name, "NO") ? ST_NO : ST_BAD;
		memcpy(p->code, r->code, sizeof(p->code));
		p->text = xstrdup(r->text);
		handle_code(c, r, p);
		return 0;
	}
	if (r->is_status) {
		if (!strcmp(r->name, "BYE")) {
			free(c->bye);
			c->bye = imap_shown(r->text, 300);
		}
		handle_code(c, r, NULL);
		return 0;
	}
	if (!strcmp(r->name, "CAPABILITY")) {
		caps_from_words(c, r->args, r->nargs);
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

		if (read_resp(c, &r, desc, err) < 0)
			break;
		rc = dispatch(c, &r, desc, want_cont ? &cont : NULL, err);
		imap_resp_clear(&r);
		if (rc < 0) {
			conn_drop(c); /* mid-reply: the stream is out of step */
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

static int wait_tag(struct imap *c, unsigned tag, struct error *err)
{
	return read_until(c, tag, 0, err);
}

/* Reads until a continuation (1) or until `tag` is answered (0). */
static int wait_cont(struct imap *c, unsigned tag, struct error *err)
{
	return read_until(c, tag, 1, err);
}

/* The error of a command the server refused; drops its pending entry. */
static int cmd_failed(struct imap *c, unsigned tag, struct error *err)
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
	pending_drop(c, tag);
	return -1;
}

/* The command `tag` that wait_tag() saw complete; its response code
 * becomes the last one. NULL (an internal error) if it is not pending. */
static struct pending *pending_finished(struct imap *c, unsigned tag, struct error *err)
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
static int finish(struct imap *c, unsigned tag, struct error *err)
{
	struct pending *p;

	if (wait_tag(c, tag, err) < 0 || !(p = pending_finished(c, tag, err)))
		return -1;
	if (p->status != ST_OK)
		return cmd_failed(c, tag, err);
	pending_drop(c, tag);
	return 0;
}

/* After a failure in a pipelined run: lets the commands still in flight
 * finish (their data ignored), so later commands do not see their replies. */
static void drain(struct imap *c)
{
	struct error e;

	c->on_untagged = NULL;
	c->on_vanished = NULL;
	for (size_t k = 0; k < c->npend; k++) {
		if (!c->pend[k].done && wait_tag(c, c->pend[k].tag, &e) < 0)
			return; /* the connection is gone, and the list with it */
	}
	pending_drop_all(c);
}

/* Sends a command line built in c->out (after cmd_begin) and waits. */
static int run(struct imap *c, unsigned tag, struct error *err)
{
	struct pending *p = pending_find(c, tag);
	char *desc = xstrdup(p->desc);
	int rc;

	buf_add(&c->out, "\r\n", 2);
	rc = flush(c, desc, err);
	free(desc);
	if (rc < 0)
		return -1;
	return finish(c, tag, err);
}

static int simple(struct imap *c, const char *line, struct error *err)
{
	unsigned tag;

	if (conn_up(c, err) < 0)
		return -1;
	tag = cmd_begin(c, line);
	buf_addf(&c->out, "%s", line);
	return run(c, tag, err);
}

int imap_command(struct imap *c, const char *line, struct error *err)
{
	if (strpbrk(line, "\r\n"))
		return error_setk(err, ERROR_USAGE, "imap %s: a command line may not contain CR or LF",
				  c->name);
	return simple(c, line, err);
}

/* ---- login ---- */

static int run_secret_command(const char *cmd, char **secret_r, struct error *err)
{
	FILE *f = popen(cmd, "r");
	struct buf b;
	char chunk[4096];
	size_t n;
	int st;

	if (!f)
		return error_sys(err, "cannot run the secretCommand");
	buf_init(&b, 65536);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_append(&b, chunk, n, err) < 0) {
			explicit_bzero(chunk, sizeof(chunk));
			pclose(f);
			if (b.data)
				explicit_bzero(b.data, b.cap);
			buf_clear(&b);
			return error_setk(err, ERROR_USAGE,
					  "the secretCommand printed more than 64 KiB");
		}
	}
	explicit_bzero(chunk, sizeof(chunk));
	st = pclose(f);
	while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		b.data[--b.len] = '\0';
	if (st != 0 || b.len == 0 || memchr(b.data, '\0', b.len)) {
		if (b.data)
			explicit_bzero(b.data, b.cap);
		buf_clear(&b);
		if (st != 0)
			return error_setk(err, ERROR_USAGE, "the secretCommand failed (%s %d)",
					  WIFEXITED(st) ? "exit status" : "status",
					  WIFEXITED(st) ? WEXITSTATUS(st) : st);
		return error_setk(err, ERROR_USAGE, "the secretCommand printed no usable secret");
	}
	*secret_r = (char *)buf_steal(&b, NULL);
	return 0;
}

/* The SASL initial response of the configured mechanism (secret inside). */
static char *sasl_initial(struct imap *c, size_t *len_r)
{
	struct buf b;

	buf_init(&b, 0);
	switch (c->o.auth) {
	case IMAP_AUTH_PLAIN:
		buf_add(&b, "", 1);
		buf_add(&b, c->user, strlen(c->user));
		buf_add(&b, "", 1);
		buf_add(&b, c->secret, strlen(c->secret));
		break;
	case IMAP_AUTH_XOAUTH2:
		buf_addf(&b, "user=%s\001auth=Bearer %s\001\001", c->user, c->secret);
		break;
	case IMAP_AUTH_OAUTHBEARER:
		/* gs2 header: ',' and '=' in the name are escaped (RFC 5801). */
		buf_add(&b, "n,a=", 4);
		for (const char *u = c->user; *u; u++) {
			if (*u == ',')
				buf_add(&b, "=2C", 3);
			else if (*u == '=')
				buf_add(&b, "=3D", 3);
			else
				buf_add(&b, u, 1);
		}
		buf_addf(&b, ",\001host=%s\001port=%u\001auth=Bearer %s\001\001", c->host,
			 c->o.port, c->secret);
		break;
	case IMAP_AUTH_LOGIN:
		break;
	}
	*len_r = b.len;
	return b.data ? (char *)buf_steal(&b, NULL) : xstrdup("");
}

static int authenticate(struct imap *c, struct error *err)
{
	const char *mech = auth_name(c->o.auth);
	char desc[64], capname[64];
	size_t ilen;
	char *initial, *enc;
	unsigned tag;
	int sent = 0, rc;

	snprintf(desc, sizeof(desc), "AUTHENTICATE %s", mech);
	snprintf(capname, sizeof(capname), "AUTH=%s", mech);
	if (!imap_has_cap(c, capname))
		return error_setk(err, ERROR_FAIL, "imap %s: the server does not offer %s",
				  c->name, capname);
	initial = sasl_initial(c, &ilen);
	enc = b64((const uint8_t *)initial, ilen);
	explicit_bzero(initial, ilen);
	free(initial);
	tag = cmd_begin(c, desc);
	buf_addf(&c->out, "AUTHENTICATE %s", mech);
	if (c->caps & IMAP_CAP_SASL_IR) {
		buf_addf(&c->out, " %s", enc);
		sent = 1;
	}
	buf_add(&c->out, "\r\n", 2);
	c->wipe_out = 1;
	if (flush(c, desc, err) < 0)
		goto fail;
	for (;;) {
		rc = wait_cont(c, tag, err);
		if (rc < 0)
			goto fail;
		if (rc == 0)
			break;
		/* A challenge: our initial response, or after it an error
		 * report of the OAuth mechanisms that wants a dummy reply. */
		if (!sent) {
			buf_addf(&c->out, "%s\r\n", enc);
			sent = 1;
		} else if (c->o.auth == IMAP_AUTH_OAUTHBEARER) {
			buf_add(&c->out, "AQ==\r\n", 6);
		} else if (c->o.auth == IMAP_AUTH_XOAUTH2) {
			buf_add(&c->out, "\r\n", 2);
		} else {
			buf_add(&c->out, "*\r\n", 3);
		}
		c->wipe_out = 1;
		if (flush(c, desc, err) < 0)
			goto fail;
	}
	wipe_free(enc);
	enc = NULL;
	if (finish(c, tag, err) < 0) {
		/* A dropped connection is not a refused login (as in LOGIN). */
		if (!c->io_failed)
			err->code = ERROR_KEY;
		return -1;
	}
	return 0;
fail:
	wipe_free(enc);
	return -1;
}

static int login_cmd(struct imap *c, struct error *err)
{
	unsigned tag;
	int rc;

	if (imap_has_cap(c, "LOGINDISABLED"))
		return error_setk(err, ERROR_FAIL,
				  "imap %s: the server refuses LOGIN here (LOGINDISABLED)", c->name);
	tag = cmd_begin(c, "LOGIN");
	buf_add(&c->out, "LOGIN ", 6);
	c->wipe_out = 1;
	if ((rc = add_astring(c, tag, "LOGIN", c->user, err)) != 0)
		goto refused;
	buf_add(&c->out, " ", 1);
	c->wipe_out = 1;
	if ((rc = add_astring(c, tag, "LOGIN", c->secret, err)) != 0)
		goto refused;
	c->wipe_out = 1;
	if (run(c, tag, err) < 0) {
		if (!c->io_failed)
			err->code = ERROR_KEY;
		return -1;
	}
	return 0;
refused:
	if (rc < 0)
		return -1;
	finish(c, tag, err);
	err->code = ERROR_KEY;
	return -1;
}

/* Whatever the peer is, none of what it sent goes into the message: the
 * address may be a service that is not IMAP, and its banner is not the
 * tenant's business (docs/imap.md "Where the service connects"). */
static int not_imap(struct imap *c, struct error *err)
{
	error_setk(err, ERROR_CORRUPT, "imap %s: the server did not answer as an IMAP server "
		   "(no \"* OK\" greeting)", c->name);
	conn_drop(c);
	return -1;
}

static int read_greeting(struct imap *c, struct error *err)
{
	struct imap_resp r;
	int rc = 0;

	/* Every IMAP greeting starts "* " (RFC 3501 7.1): anything else is
	 * told at once, not after the line limit or the read timeout. */
	while (c->in.len - c->in_start < 2)
		if (fill(c, 2, "greeting", err) < 0)
			return -1;
	if (memcmp(c->in.data + c->in_start, "* ", 2) != 0)
		return not_imap(c, err);
	if (read_resp(c, &r, "greeting", err) < 0) {
		if (err->code == ERROR_CORRUPT) /* unframable or unparsable */
			return not_imap(c, err);
		return -1;
	}
	if (r.kind != IMAP_RESP_UNTAGGED || !r.is_status) {
		imap_resp_clear(&r);
		return not_imap(c, err);
	}
	if (!strcmp(r.name, "BYE") || !strcmp(r.name, "NO") || !strcmp(r.name, "BAD")) {
		char *text = imap_shown(r.text, 300);

		rc = error_setk(err, ERROR_FAIL, "imap %s: the server refused the connection: %s %s",
				c->name, r.name, text);
		free(text);
		conn_drop(c);
	} else if (!strcmp(r.name, "PREAUTH")) {
		rc = error_setk(err, ERROR_FAIL,
				"imap %s: the server pre-authenticated the connection (PREAUTH); "
				"coffer logs in itself", c->name);
		conn_drop(c);
	} else {
		handle_code(c, &r, NULL);
	}
	imap_resp_clear(&r);
	return rc;
}

static int capability(struct imap *c, struct error *err)
{
	free(c->capstr);
	c->capstr = NULL;
	return simple(c, "CAPABILITY", err);
}

/* Connects and logs in; on failure the connection is closed. */
static int do_connect(struct imap *c, struct error *err)
{
	struct imap_conn_opts co = {
		.host = c->host, .port = c->o.port, .ca_file = c->ca_file,
		.insecure = c->o.insecure, .connect_timeout_ms = c->o.connect_timeout_ms,
		.timeout_ms = c->o.timeout_ms, .policy = c->o.policy,
	};

	c->io_failed = 0;
	free(c->bye);
	c->bye = NULL;
	free(c->capstr);
	c->capstr = NULL;
	c->caps = 0;
	c->conn = imap_conn_open(&co, c->o.tls == IMAP_TLS_IMPLICIT, err);
	if (!c->conn) {
		c->io_failed = 1;
		return error_prefix(err, "imap %s", c->name);
	}
	if (read_greeting(c, err) < 0)
		return -1;
	if (!c->capstr && capability(c, err) < 0)
		goto fail;
	if (c->o.tls == IMAP_TLS_STARTTLS) {
		if (!(c->caps & IMAP_CAP_STARTTLS)) {
			error_setk(err, ERROR_FAIL, "imap %s: the server does not offer STARTTLS",
				   c->name);
			goto fail;
		}
		if (simple(c, "STARTTLS", err) < 0)
			goto fail;
		/* Bytes after the OK were sent in clear text: refuse them. */
		if (c->in.len > c->in_start) {
			proto_error(c, "STARTTLS", "data after the STARTTLS reply", err);
			goto fail;
		}
		if (imap_conn_starttls(c->conn, err) < 0) {
			error_prefix(err, "imap %s", c->name);
			goto fail;
		}
		if (capability(c, err) < 0)
			goto fail;
	}
	if (!c->secret && c->secret_command &&
	    run_secret_command(c->secret_command, &c->secret, err) < 0) {
		error_prefix(err, "imap %s", c->name);
		goto fail;
	}
	if (!c->secret) {
		error_setk(err, ERROR_USAGE, "imap %s: no secret (password or token) given", c->name);
		goto fail;
	}
	c->caps_seen = 0;
	if ((c->o.auth == IMAP_AUTH_LOGIN ? login_cmd(c, err) : authenticate(c, err)) < 0)
		goto fail;
	/* Capabilities change with login; most servers send them in the OK. */
	if (!c->caps_seen && capability(c, err) < 0)
		goto fail;
	if (c->offers_qresync && (c->caps & IMAP_CAP_ENABLE) &&
	    simple(c, "ENABLE QRESYNC", err) < 0)
		goto fail;
	return 0;
fail:
	conn_drop(c);
	return -1;
}

static int select_cmd(struct imap *c, const char *mailbox, const struct imap_select_opts *o,
		      struct imap_mailbox *r, struct error *err);

/* Reconnects after a dropped connection and selects the folder again. */
static int reconnect(struct imap *c, struct error *err)
{
	char *mailbox = c->selected ? xstrdup(c->selected) : NULL;
	struct imap_select_opts so = { .readonly = c->sel_readonly, .condstore = c->sel_condstore };
	struct imap_mailbox mb;
	uint32_t uv = c->sel_uidvalidity;
	int rc = 0;

	conn_drop(c);
	if (do_connect(c, err) < 0) {
		free(mailbox);
		return -1;
	}
	if (mailbox) {
		rc = select_cmd(c, mailbox, &so, &mb, err);
		if (rc == 0 && mb.uidvalidity != uv) {
			char *shown = shown_name(mailbox);

			rc = error_setk(err, ERROR_FAIL,
					"imap %s: UIDVALIDITY of %s changed from %u to %u while "
					"reconnecting", c->name, shown, uv, mb.uidvalidity);
			free(shown);
			/* The caller's UIDs now name other messages: no UID
			 * command may run on this selection. */
			free(c->selected);
			c->selected = NULL;
			imap_mailbox_clear(&mb);
		}
		if (rc == 0)
			imap_mailbox_clear(&mb);
	}
	free(mailbox);
	return rc;
}

/* Before a command: a connection that broke is made again. */
static int conn_up(struct imap *c, struct error *err)
{
	if (c->conn)
		return 0;
	return reconnect(c, err);
}

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
	if (do_connect(c, err) < 0) {
		imap_close(&c);
		return NULL;
	}
	return c;
}

int imap_logout(struct imap *c, struct error *err)
{
	int rc = 0;

	if (c->conn) {
		rc = simple(c, "LOGOUT", err);
		conn_drop(c);
	}
	return rc;
}

void imap_close(struct imap **cp)
{
	struct imap *c = *cp;

	if (!c)
		return;
	conn_drop(c);
	buf_clear(&c->in);
	buf_clear(&c->out);
	free(c->pend);
	wipe_free(c->secret);
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

/* ---- LIST / STATUS ---- */

static unsigned folder_attr(const struct imap_arg *a)
{
	static const struct { const char *name; unsigned bit; } attrs[] = {
		{ "\\NOSELECT", IMAP_MBX_NOSELECT }, { "\\NONEXISTENT", IMAP_MBX_NOSELECT },
		{ "\\NOINFERIORS", IMAP_MBX_NOINFERIORS }, { "\\HASCHILDREN", IMAP_MBX_HASCHILDREN },
		{ "\\HASNOCHILDREN", IMAP_MBX_HASNOCHILDREN }, { "\\MARKED", IMAP_MBX_MARKED },
		{ "\\UNMARKED", IMAP_MBX_UNMARKED }, { "\\SUBSCRIBED", IMAP_MBX_SUBSCRIBED },
		{ "\\ALL", IMAP_MBX_ALL }, { "\\ARCHIVE", IMAP_MBX_ARCHIVE },
		{ "\\DRAFTS", IMAP_MBX_DRAFTS }, { "\\FLAGGED", IMAP_MBX_FLAGGED },
		{ "\\JUNK", IMAP_MBX_JUNK }, { "\\SENT", IMAP_MBX_SENT },
		{ "\\TRASH", IMAP_MBX_TRASH }, { "\\IMPORTANT", IMAP_MBX_IMPORTANT },
	};

	for (size_t k = 0; k < sizeof(attrs) / sizeof(attrs[0]); k++)
		if (imap_arg_is_atom(a, attrs[k].name))
			return attrs[k].bit;
	return 0;
}

static void status_items(struct imap_status *st, const struct imap_arg *list)
{
	for (size_t k = 0; k + 1 < list->n; k += 2) {
		const struct imap_arg *key = &list->list[k];
		uint64_t n;

		if (imap_arg_number(&list->list[k + 1], &n) < 0)
			continue;
		if (imap_arg_is_atom(key, "MESSAGES") && n <= UINT32_MAX) {
			st->messages = (uint32_t)n;
			st->have |= IMAP_ST_MESSAGES;
		} else if (imap_arg_is_atom(key, "UIDNEXT") && n <= UINT32_MAX) {
			st->uidnext = (uint32_t)n;
			st->have |= IMAP_ST_UIDNEXT;
		} else if (imap_arg_is_atom(key, "UIDVALIDITY") && n <= UINT32_MAX) {
			st->uidvalidity = (uint32_t)n;
			st->have |= IMAP_ST_UIDVALIDITY;
		} else if (imap_arg_is_atom(key, "UNSEEN") && n <= UINT32_MAX) {
			st->unseen = (uint32_t)n;
			st->have |= IMAP_ST_UNSEEN;
		} else if (imap_arg_is_atom(key, "HIGHESTMODSEQ")) {
			st->highestmodseq = n;
			st->have |= IMAP_ST_HIGHESTMODSEQ;
		}
	}
}

/* A mailbox name argument; "INBOX" in any case is INBOX. */
static char *mailbox_arg(const struct imap_arg *a)
{
	char *s = imap_arg_dup(a);

	if (!strcasecmp(s, "INBOX"))
		memcpy(s, "INBOX", 5);
	return s;
}

struct list_ctx {
	struct imap_folder_list *l;
	size_t cap;
	/* imap_status(): the one folder asked about */
	const char *want;
	struct imap_status *one;
	int found;
};

static struct imap_folder *folder_by_name(struct imap_folder_list *l, const char *name)
{
	/* STATUS follows its LIST: look from the end. */
	for (size_t k = l->n; k > 0; k--)
		if (!strcmp(l->v[k - 1].name, name))
			return &l->v[k - 1];
	return NULL;
}

static int on_list(struct imap *c, struct imap_resp *r, void *ctx, struct error *err)
{
	struct list_ctx *x = ctx;

	if (!strcmp(r->name, "LIST") && x->l) {
		struct imap_folder *f;
		struct buf at;

		if (r->nargs < 3 || r->args[0].type != IMAP_ARG_LIST ||
		    !(imap_arg_is_string(&r->args[1]) || r->args[1].type == IMAP_ARG_NIL) ||
		    !imap_arg_is_string(&r->args[2]))
			return proto_error(c, "LIST", "bad LIST reply", err);
		if (x->l->n == x->cap) {
			x->cap = x->cap ? x->cap * 2 : 32;
			x->l->v = xrealloc(x->l->v, xmul(x->cap, sizeof(*x->l->v)));
		}
		f = &x->l->v[x->l->n++];
		memset(f, 0, sizeof(*f));
		f->name = mailbox_arg(&r->args[2]);
		f->delim = r->args[1].type == IMAP_ARG_NIL || r->args[1].len == 0 ?
				   0 : (char)r->args[1].data[0];
		buf_init(&at, 0);
		for (size_t k = 0; k < r->args[0].n; k++) {
			const struct imap_arg *a = &r->args[0].list[k];

			if (a->type != IMAP_ARG_ATOM)
				continue;
			f->attrs |= folder_attr(a);
			if (at.len)
				buf_add(&at, " ", 1);
			buf_add(&at, a->data, a->len);
		}
		f->attr_text = at.data ? (char *)buf_steal(&at, NULL) : xstrdup("");
		return 0;
	}
	if (!strcmp(r->name, "STATUS")) {
		char *name;
		struct imap_status *st = NULL;
		struct imap_folder *f;

		if (r->nargs < 2 || !imap_arg_is_string(&r->args[0]) ||
		    r->args[1].type != IMAP_ARG_LIST)
			return proto_error(c, "STATUS", "bad STATUS reply", err);
		name = mailbox_arg(&r->args[0]);
		if (x->one && !strcmp(name, x->want)) {
			st = x->one;
			x->found = 1;
		} else if (x->l && (f = folder_by_name(x->l, name)) != NULL) {
			st = &f->status;
		}
		if (st)
			status_items(st, &r->args[1]);
		free(name);
	}
	return 0;
}

static const char *status_att(const struct imap *c, int unseen)
{
	if (c->caps & IMAP_CAP_CONDSTORE)
		return unseen ? "MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ" :
				"MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ";
	return unseen ? "MESSAGES UIDNEXT UIDVALIDITY UNSEEN" : "MESSAGES UIDNEXT UIDVALIDITY";
}

/* Pipelined STATUS of every selectable folder (no LIST-STATUS). */
static int status_all(struct imap *c, struct imap_folder_list *l, struct error *err)
{
	enum { WINDOW = 64 };
	unsigned tags[WINDOW];
	size_t head = 0, nq = 0, next = 0;
	int rc = 0;

	while (rc == 0 && (next < l->n || nq > 0)) {
		while (next < l->n && nq < WINDOW) {
			struct imap_folder *f = &l->v[next++];
			unsigned tag;
			char *desc, *name;

			if (f->attrs & IMAP_MBX_NOSELECT)
				continue;
			name = shown_name(f->name); /* from LIST: the server's text */
			desc = xasprintf("STATUS %s", name);
			free(name);
			tag = cmd_begin(c, desc);
			free(desc);
			buf_add(&c->out, "STATUS ", 7);
			if ((rc = add_astring(c, tag, "STATUS", f->name, err)) != 0)
				break;
			buf_addf(&c->out, " (%s)\r\n", status_att(c, 0));
			tags[(head + nq++) % WINDOW] = tag;
		}
		if (rc == 0 && (rc = flush(c, "STATUS", err)) < 0)
			break;
		if (nq == 0)
			break;
		rc = finish(c, tags[head], err);
		head = (head + 1) % WINDOW;
		nq--;
	}
	if (rc != 0)
		drain(c);
	return rc < 0 ? -1 : 0;
}

int imap_list(struct imap *c, int with_status, struct imap_folder_list *r, struct error *err)
{
	struct list_ctx x = { .l = r };
	int ext = (c->caps & IMAP_CAP_LIST_EXTENDED) != 0;
	int su = ext && (c->caps & IMAP_CAP_SPECIAL_USE);
	int ls = ext && with_status && (c->caps & IMAP_CAP_LIST_STATUS);
	unsigned tag;
	int rc;

	r->v = NULL;
	r->n = 0;
	if (conn_up(c, err) < 0)
		return -1;
	tag = cmd_begin(c, "LIST \"\" \"*\"");
	buf_add(&c->out, "LIST \"\" \"*\"", 11);
	if (su || ls) {
		buf_addf(&c->out, " RETURN (CHILDREN%s", su ? " SPECIAL-USE" : "");
		if (ls)
			buf_addf(&c->out, " STATUS (%s)", status_att(c, 0));
		buf_add(&c->out, ")", 1);
	}
	c->on_untagged = on_list;
	c->hctx = &x;
	rc = run(c, tag, err);
	if (rc == 0 && with_status && !ls)
		rc = status_all(c, r, err);
	c->on_untagged = NULL;
	if (rc < 0)
		imap_folder_list_clear(r);
	return rc;
}

void imap_folder_list_clear(struct imap_folder_list *l)
{
	for (size_t k = 0; k < l->n; k++) {
		free(l->v[k].name);
		free(l->v[k].attr_text);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int imap_status(struct imap *c, const char *mailbox, struct imap_status *r, struct error *err)
{
	struct list_ctx x = { .want = mailbox, .one = r };
	char *shown = shown_name(mailbox), *desc = xasprintf("STATUS %s", shown);
	unsigned tag;
	int rc;

	memset(r, 0, sizeof(*r));
	free(shown);
	if (conn_up(c, err) < 0) {
		free(desc);
		return -1;
	}
	tag = cmd_begin(c, desc);
	free(desc);
	buf_add(&c->out, "STATUS ", 7);
	rc = add_astring(c, tag, "STATUS", mailbox, err);
	if (rc == 0) {
		buf_addf(&c->out, " (%s)", status_att(c, 1));
		c->on_untagged = on_list;
		c->hctx = &x;
		rc = run(c, tag, err);
		c->on_untagged = NULL;
	} else if (rc > 0) {
		rc = finish(c, tag, err);
	}
	return rc < 0 ? -1 : 0;
}

/* A command with one mailbox argument. */
static int mailbox_cmd(struct imap *c, const char *verb, const char *mailbox, struct error *err)
{
	char *shown = shown_name(mailbox), *desc = xasprintf("%s %s", verb, shown);
	unsigned tag;
	int rc;

	free(shown);
	if (conn_up(c, err) < 0) {
		free(desc);
		return -1;
	}
	tag = cmd_begin(c, desc);
	free(desc);
	buf_addf(&c->out, "%s ", verb);
	rc = add_astring(c, tag, verb, mailbox, err);
	if (rc == 0)
		return run(c, tag, err);
	if (rc > 0)
		finish(c, tag, err);
	return -1;
}

int imap_create(struct imap *c, const char *mailbox, struct error *err)
{
	return mailbox_cmd(c, "CREATE", mailbox, err);
}

int imap_delete(struct imap *c, const char *mailbox, struct error *err)
{
	if (c->selected && !strcmp(c->selected, mailbox)) {
		free(c->selected);
		c->selected = NULL;
	}
	return mailbox_cmd(c, "DELETE", mailbox, err);
}

/* ---- FETCH responses ---- */

/* Fills m from a FETCH response; 0, or -1 if it is malformed. */
static int parse_fetch(struct imap *c, struct imap_resp *r, struct imap_msg *m, uint64_t max_body)
{
	const struct imap_arg *l;

	memset(m, 0, sizeof(*m));
	m->seq = r->num;
	if (r->nargs != 1 || r->args[0].type != IMAP_ARG_LIST || r->args[0].n % 2)
		return -1;
	l = &r->args[0];
	for (size_t k = 0; k < l->n; k += 2) {
		const struct imap_arg *key = &l->list[k], *v = &l->list[k + 1];

		if (key->type != IMAP_ARG_ATOM)
			return -1;
		if (imap_arg_is_atom(key, "UID")) {
			if (uid_arg(v, &m->uid) < 0)
				return -1;
		} else if (imap_arg_is_atom(key, "FLAGS")) {
			size_t n = 0;

			if (v->type != IMAP_ARG_LIST)
				return -1;
			if (v->n + 1 > c->flagcap) {
				c->flagcap = v->n + 1;
				c->flagv = xrealloc(c->flagv, xmul(c->flagcap, sizeof(*c->flagv)));
			}
			for (size_t j = 0; j < v->n; j++) {
				struct imap_arg *f = &v->list[j];

				if (f->type != IMAP_ARG_ATOM)
					return -1;
				if (imap_arg_is_atom(f, "\\RECENT"))
					continue;
				/* The parse is done: the byte after the atom is a
				 * delimiter we may overwrite. */
				f->data[f->len] = '\0';
				c->flagv[n++] = (const char *)f->data;
			}
			m->flags = c->flagv;
			m->nflags = n;
			m->have |= IMAP_HAVE_FLAGS;
		} else if (imap_arg_is_atom(key, "INTERNALDATE")) {
			if (!imap_arg_is_string(v) ||
			    imap_date_parse((const char *)v->data, v->len, &m->internaldate_unix,
					    &m->internaldate_tz) < 0)
				return -1;
			v->data[v->len] = '\0';
			m->internaldate = (const char *)v->data;
			m->have |= IMAP_HAVE_INTERNALDATE;
		} else if (imap_arg_is_atom(key, "RFC822.SIZE")) {
			if (imap_arg_number(v, &m->size) < 0)
				return -1;
			m->have |= IMAP_HAVE_SIZE;
		} else if (imap_arg_is_atom(key, "MODSEQ")) {
			if (v->type != IMAP_ARG_LIST || v->n != 1 ||
			    imap_arg_number(&v->list[0], &m->modseq) < 0)
				return -1;
			m->have |= IMAP_HAVE_MODSEQ;
		} else if (imap_arg_is_atom(key, "BODY[]")) {
			if (v->type == IMAP_ARG_NIL) {
				m->body = (const uint8_t *)"";
				m->body_len = 0;
			} else if (imap_arg_is_string(v)) {
				if (v->len > max_body) {
					m->body_too_big = 1;
					if (!(m->have & IMAP_HAVE_SIZE))
						m->size = v->len;
				} else {
					m->body = v->data;
					m->body_len = v->len;
				}
			} else {
				return -1;
			}
			m->have |= IMAP_HAVE_BODY;
		} else if (key->len > 12 && !strncasecmp((const char *)key->data, "BODY[HEADER", 11)) {
			if (imap_arg_is_string(v)) {
				m->header = v->data;
				m->header_len = v->len;
			} else if (v->type == IMAP_ARG_NIL) {
				m->header = (const uint8_t *)"";
			} else {
				return -1;
			}
			m->have |= IMAP_HAVE_HEADER;
		}
	}
	return 0;
}

/* ---- SELECT ---- */

struct select_ctx {
	const struct imap_select_opts *o;
};

static int on_select(struct imap *c, struct imap_resp *r, void *ctx, struct error *err)
{
	struct select_ctx *x = ctx;
	struct imap_msg m;

	if (strcmp(r->name, "FETCH") || !x->o || !x->o->on_fetch)
		return 0;
	if (parse_fetch(c, r, &m, UINT64_MAX) < 0)
		return proto_error(c, "SELECT", "bad FETCH reply", err);
	if (!m.uid)
		return 0;
	return x->o->on_fetch(x->o->ctx, &m, err);
}

static int select_cmd(struct imap *c, const char *mailbox, const struct imap_select_opts *o,
		      struct imap_mailbox *r, struct error *err)
{
	static const struct imap_select_opts none = { 0 };
	struct select_ctx x;
	const char *verb;
	char *shown, *desc;
	unsigned tag;
	int rc;

	if (!o)
		o = &none;
	x.o = o;
	verb = o->readonly ? "EXAMINE" : "SELECT";
	memset(r, 0, sizeof(*r));
	imap_uidset_init(&r->vanished);
	free(c->selected);
	c->selected = NULL;
	shown = shown_name(mailbox);
	desc = xasprintf("%s %s", verb, shown);
	free(shown);
	tag = cmd_begin(c, desc);
	free(desc);
	buf_addf(&c->out, "%s ", verb);
	rc = add_astring(c, tag, verb, mailbox, err);
	if (rc > 0) {
		finish(c, tag, err);
		return -1;
	}
	if (rc < 0)
		return -1;
	if ((c->caps & IMAP_CAP_QRESYNC) && o->qresync_uidvalidity) {
		buf_addf(&c->out, " (QRESYNC (%u %llu", o->qresync_uidvalidity,
			 (unsigned long long)o->qresync_modseq);
		if (o->qresync_known_uids && *o->qresync_known_uids &&
		    strspn(o->qresync_known_uids, "0123456789:,") == strlen(o->qresync_known_uids))
			buf_addf(&c->out, " %s", o->qresync_known_uids);
		buf_add(&c->out, "))", 2);
	} else if (o->condstore && (c->caps & IMAP_CAP_CONDSTORE)) {
		buf_add(&c->out, " (CONDSTORE)", 12);
	}
	c->selecting = r;
	c->on_untagged = on_select;
	c->hctx = &x;
	c->exists = 0;
	rc = run(c, tag, err);
	c->selecting = NULL;
	c->on_untagged = NULL;
	if (rc < 0) {
		imap_mailbox_clear(r);
		return -1;
	}
	if (!strcmp(c->last_code, "READ-ONLY"))
		r->readonly = 1;
	/* Some servers report HIGHESTMODSEQ without announcing CONDSTORE;
	 * without the capability, CHANGEDSINCE cannot be relied on. */
	if (r->nomodseq || !(c->caps & IMAP_CAP_CONDSTORE))
		r->highestmodseq = 0;
	c->selected = xstrdup(mailbox);
	c->sel_readonly = o->readonly;
	c->sel_condstore = o->condstore || o->qresync_uidvalidity;
	c->sel_uidvalidity = r->uidvalidity;
	c->exists = r->exists;
	return 0;
}

int imap_select(struct imap *c, const char *mailbox, const struct imap_select_opts *o,
		struct imap_mailbox *r, struct error *err)
{
	memset(r, 0, sizeof(*r));
	if (conn_up(c, err) < 0)
		return -1;
	return select_cmd(c, mailbox, o, r, err);
}

void imap_mailbox_clear(struct imap_mailbox *mb)
{
	imap_uidset_clear(&mb->vanished);
}

/* ---- SEARCH ---- */

static int on_search(struct imap *c, struct imap_resp *r, void *ctx, struct error *err)
{
	struct imap_uidset *s = ctx;

	if (!strcmp(r->name, "SEARCH")) {
		for (size_t k = 0; k < r->nargs; k++) {
			uint32_t uid;

			if (r->args[k].type == IMAP_ARG_LIST)
				continue; /* (MODSEQ n) */
			if (uid_arg(&r->args[k], &uid) < 0)
				return proto_error(c, "UID SEARCH", "bad SEARCH reply", err);
			imap_uidset_add(s, uid, uid);
		}
	} else if (!strcmp(r->name, "ESEARCH")) {
		for (size_t k = 0; k + 1 < r->nargs; k++) {
			if (imap_arg_is_atom(&r->args[k], "ALL") &&
			    imap_uidset_parse(s, (const char *)r->args[k + 1].data,
					      r->args[k + 1].len, err) < 0)
				return proto_error(c, "UID SEARCH", "bad ESEARCH reply", err);
		}
	}
	return 0;
}

int imap_uid_search(struct imap *c, const char *criteria, struct imap_uidset *r,
		    struct error *err)
{
	char *desc;
	unsigned tag;
	int rc;

	if (strpbrk(criteria, "\r\n"))
		return error_setk(err, ERROR_USAGE, "imap %s: search criteria may not contain CR or LF",
				  c->name);
	if (conn_up(c, err) < 0)
		return -1;
	desc = xasprintf("UID SEARCH %.200s", criteria);
	tag = cmd_begin(c, desc);
	free(desc);
	buf_addf(&c->out, "UID SEARCH %s", criteria);
	c->on_untagged = on_search;
	c->hctx = r;
	rc = run(c, tag, err);
	c->on_untagged = NULL;
	return rc;
}

/* ---- bulk FETCH with resume ---- */

struct fetch_ctx {
	const struct imap_fetch_opts *o;
	unsigned need;           /* IMAP_HAVE_* a delivered message must carry */
	uint64_t max_body;
	struct imap_uidset *done;
	int cb_failed;
};

static int on_fetch(struct imap *c, struct imap_resp *r, void *ctx, struct error *err)
{
	struct fetch_ctx *x = ctx;
	struct imap_msg m;

	if (strcmp(r->name, "FETCH"))
		return 0;
	if (parse_fetch(c, r, &m, x->max_body) < 0)
		return proto_error(c, "UID FETCH", "bad FETCH reply", err);
	/* Unsolicited FETCHes (a flag changed elsewhere) lack what we asked for. */
	if (!m.uid || (m.have & x->need) != x->need)
		return 0;
	if (imap_uidset_contains(x->done, m.uid))
		return 0; /* delivered before a reconnect: never twice */
	imap_uidset_add(x->done, m.uid, m.uid);
	if (x->o->cb(x->o->ctx, &m, err) < 0) {
		x->cb_failed = 1;
		return -1;
	}
	return 0;
}

static void fetch_items(const struct imap *c, const struct imap_fetch_opts *o, struct buf *b)
{
	buf_add(b, "(UID", 4);
	if (o->items & IMAP_ITEM_FLAGS)
		buf_add(b, " FLAGS", 6);
	if (o->items & IMAP_ITEM_INTERNALDATE)
		buf_add(b, " INTERNALDATE", 13);
	if (o->items & IMAP_ITEM_SIZE)
		buf_add(b, " RFC822.SIZE", 12);
	if ((o->items & IMAP_ITEM_MODSEQ) && (c->caps & IMAP_CAP_CONDSTORE))
		buf_add(b, " MODSEQ", 7);
	if (o->items & IMAP_ITEM_HEADER_FIELDS)
		buf_addf(b, " BODY.PEEK[HEADER.FIELDS (%s)]",
			 o->header_fields ? o->header_fields : "MESSAGE-ID");
	if (o->items & IMAP_ITEM_BODY)
		buf_add(b, " BODY.PEEK[]", 12);
	buf_add(b, ")", 1);
	if (o->changedsince && (c->caps & IMAP_CAP_CONDSTORE))
		buf_addf(b, " (CHANGEDSINCE %llu%s)", (unsigned long long)o->changedsince,
			 o->vanished && (c->caps & IMAP_CAP_QRESYNC) ? " VANISHED" : "");
}

/* rest = want minus done, by ranges. */
static void uidset_minus(const struct imap_uidset *want, const struct imap_uidset *done,
			 struct imap_uidset *rest)
{
	size_t j = 0;

	for (size_t k = 0; k < want->n; k++) {
		uint64_t lo = want->r[k].lo, hi = want->r[k].hi;

		while (j < done->n && done->r[j].hi < lo)
			j++;
		for (size_t i = j; i < done->n && done->r[i].lo <= hi && lo <= hi; i++) {
			if (done->r[i].lo > lo)
				imap_uidset_add(rest, (uint32_t)lo, done->r[i].lo - 1);
			lo = (uint64_t)done->r[i].hi + 1;
		}
		if (lo <= hi)
			imap_uidset_add(rest, (uint32_t)lo, (uint32_t)hi);
	}
}

static void push_piece(char ***v, size_t *n, size_t *cap, struct imap_uidset *piece)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = xrealloc(*v, xmul(*cap, sizeof(**v)));
	}
	(*v)[(*n)++] = imap_uidset_format(piece);
	imap_uidset_clear(piece);
}

/* The UIDs still to fetch, as command-sized set strings: about `batch`
 * UIDs each, at most 500 ranges; a huge range (an open end like
 * 1000:4294967295, which the server answers only for the UIDs that exist)
 * is a piece of its own. 4294967295 is used rather than "*", because
 * "N:*" means "the last message" when no UID is at least N. */
static char **fetch_batches(const struct imap_fetch_opts *o, const struct imap_uidset *done,
			    size_t *n_r)
{
	struct imap_uidset want, rest, piece;
	char **v = NULL;
	size_t n = 0, cap = 0;
	uint64_t batch = o->batch ? o->batch : (o->items & IMAP_ITEM_BODY) ? 200 : 2000, inpiece = 0;

	imap_uidset_init(&want);
	imap_uidset_init(&rest);
	imap_uidset_init(&piece);
	if (o->all)
		imap_uidset_add(&want, 1, UINT32_MAX);
	else
		for (size_t k = 0; k < o->uids->n; k++)
			imap_uidset_add(&want, o->uids->r[k].lo, o->uids->r[k].hi);
	uidset_minus(&want, done, &rest);
	for (size_t k = 0; k < rest.n; k++) {
		uint64_t lo = rest.r[k].lo, hi = rest.r[k].hi;

		if (hi - lo + 1 > 100000) {
			struct imap_uidset one;

			imap_uidset_init(&one);
			imap_uidset_add(&one, (uint32_t)lo, (uint32_t)hi);
			push_piece(&v, &n, &cap, &one);
			continue;
		}
		while (lo <= hi) {
			uint64_t take = hi - lo + 1 < batch - inpiece ? hi - lo + 1 : batch - inpiece;

			imap_uidset_add(&piece, (uint32_t)lo, (uint32_t)(lo + take - 1));
			inpiece += take;
			lo += take;
			if (inpiece >= batch || piece.n >= 500) {
				push_piece(&v, &n, &cap, &piece);
				inpiece = 0;
			}
		}
	}
	if (piece.n)
		push_piece(&v, &n, &cap, &piece);
	imap_uidset_clear(&want);
	imap_uidset_clear(&rest);
	imap_uidset_clear(&piece);
	*n_r = n;
	return v;
}

static void free_batches(char **v, size_t n)
{
	for (size_t k = 0; k < n; k++)
		free(v[k]);
	free(v);
}

/* One pass over what is left; -1 on failure. */
static int fetch_round(struct imap *c, struct fetch_ctx *x, struct error *err)
{
	enum { WINDOW = 8 };
	unsigned tags[WINDOW];
	size_t nb, next = 0, head = 0, nq = 0;
	char **batches = fetch_batches(x->o, x->done, &nb);
	struct buf items;
	int rc = 0;

	buf_init(&items, 0);
	fetch_items(c, x->o, &items);
	c->on_untagged = on_fetch;
	c->hctx = x;
	c->on_vanished = x->o->on_vanished;
	c->vctx = x->o->ctx;
	while (rc == 0 && (next < nb || nq > 0)) {
		while (next < nb && nq < WINDOW) {
			char *desc = xasprintf("UID FETCH %.60s%s %s", batches[next],
					       strlen(batches[next]) > 60 ? "..." : "",
					       (const char *)items.data);
			unsigned tag = cmd_begin(c, desc);

			free(desc);
			buf_addf(&c->out, "UID FETCH %s %s\r\n", batches[next++],
				 (const char *)items.data);
			tags[(head + nq++) % WINDOW] = tag;
		}
		if ((rc = flush(c, "UID FETCH", err)) < 0)
			break;
		rc = finish(c, tags[head], err);
		head = (head + 1) % WINDOW;
		nq--;
	}
	if (rc != 0 && !x->cb_failed)
		drain(c);
	c->on_untagged = NULL;
	c->on_vanished = NULL;
	buf_clear(&items);
	free_batches(batches, nb);
	return rc;
}

static void backoff(int attempt)
{
	static const long ms[] = { 200, 1000, 3000, 5000 };
	long t = ms[attempt < 4 ? attempt : 3];
	struct timespec ts = { .tv_sec = t / 1000, .tv_nsec = (t % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int imap_fetch(struct imap *c, const struct imap_fetch_opts *o, struct error *err)
{
	struct imap_uidset done;
	struct fetch_ctx x = { .o = o };
	int attempt = 0, rc;

	if (!c->selected)
		return error_setk(err, ERROR_USAGE, "imap %s: UID FETCH without a selected folder",
				  c->name);
	if (!o->cb)
		return error_setk(err, ERROR_USAGE, "imap %s: UID FETCH without a callback", c->name);
	if (!o->all && (!o->uids || o->uids->n == 0))
		return 0;
	x.need = 0;
	if (o->items & IMAP_ITEM_FLAGS)
		x.need |= IMAP_HAVE_FLAGS;
	if (o->items & IMAP_ITEM_INTERNALDATE)
		x.need |= IMAP_HAVE_INTERNALDATE;
	if (o->items & IMAP_ITEM_SIZE)
		x.need |= IMAP_HAVE_SIZE;
	if (o->items & IMAP_ITEM_BODY)
		x.need |= IMAP_HAVE_BODY;
	if (o->items & IMAP_ITEM_HEADER_FIELDS)
		x.need |= IMAP_HAVE_HEADER;
	x.max_body = o->max_body ? o->max_body : c->lim.max_literal;
	imap_uidset_init(&done);
	x.done = &done;
	for (;;) {
		c->io_failed = 0;
		rc = conn_up(c, err);
		if (rc == 0)
			rc = fetch_round(c, &x, err);
		if (rc == 0)
			break;
		if (x.cb_failed) {
			/* Do not read the rest of a big reply: drop the
			 * connection; the next command reconnects. */
			conn_drop(c);
			break;
		}
		if (!c->io_failed || attempt >= c->o.reconnects ||
		    c->o.reconnects < 0)
			break;
		log_warn("%s; reconnecting (attempt %d of %d), %llu messages delivered so far",
			 err->msg, attempt + 1, c->o.reconnects,
			 (unsigned long long)imap_uidset_count(&done));
		conn_drop(c);
		backoff(attempt++);
	}
	imap_uidset_clear(&done);
	return rc;
}

/* ---- APPEND ---- */

static void add_flags(struct buf *b, const char *const *flags, size_t n)
{
	int first = 1;

	buf_add(b, "(", 1);
	for (size_t k = 0; k < n; k++) {
		if (!flags[k] || !*flags[k] || !strcasecmp(flags[k], "\\Recent") ||
		    strpbrk(flags[k], " ()\"{\r\n%*]"))
			continue; /* not a flag IMAP can carry */
		buf_addf(b, "%s%s", first ? "" : " ", flags[k]);
		first = 0;
	}
	buf_add(b, ")", 1);
}

static void add_date(struct buf *b, const struct imap_append_msg *m)
{
	char d[40];

	if (m->internaldate && !strpbrk(m->internaldate, "\"\\\r\n")) {
		buf_addf(b, " \"%s\"", m->internaldate);
	} else if (m->internaldate_unix) {
		imap_date_format(m->internaldate_unix, m->internaldate_tz, d, sizeof(d));
		buf_addf(b, " \"%s\"", d);
	}
}

/* Records an APPENDUID of the command that appended msgs [first, first+n). */
static void record_appenduid(struct pending *p, size_t first, size_t n, uint32_t *uv_r,
			     uint32_t *uids_r)
{
	struct imap_uidset s;
	struct error e;
	size_t i = first;

	if (!p->appenduid_set)
		return;
	if (uv_r)
		*uv_r = p->appenduid_validity;
	if (!uids_r)
		return;
	imap_uidset_init(&s);
	/* RFC 4315: the UIDs are in the order of the messages appended. */
	if (imap_uidset_parse(&s, p->appenduid_set, strlen(p->appenduid_set), &e) == 0 &&
	    imap_uidset_count(&s) == n) {
		for (size_t k = 0; k < s.n; k++)
			for (uint64_t u = s.r[k].lo; u <= s.r[k].hi; u++)
				uids_r[i++] = (uint32_t)u;
	}
	imap_uidset_clear(&s);
}

int imap_append(struct imap *c, const char *mailbox, const struct imap_append_msg *msgs,
		size_t n, uint32_t *uidvalidity_r, uint32_t *uids_r, struct error *err)
{
	enum { WINDOW = 32, MULTI_MAX = 100, MULTI_BYTES = 8 << 20 };
	struct { unsigned tag; size_t first, n; } q[WINDOW];
	size_t head = 0, nq = 0, next = 0;
	int multi = (c->caps & IMAP_CAP_MULTIAPPEND) != 0;
	char *shown = shown_name(mailbox), *desc = xasprintf("APPEND %s", shown);
	int rc = 0;

	free(shown);
	if (uids_r)
		memset(uids_r, 0, xmul(n, sizeof(*uids_r)));
	if (uidvalidity_r)
		*uidvalidity_r = 0;
	if (conn_up(c, err) < 0) {
		free(desc);
		return -1;
	}
	while (rc == 0 && (next < n || nq > 0)) {
		while (rc == 0 && next < n && nq < WINDOW) {
			size_t first = next, bytes = 0;
			unsigned tag = cmd_begin(c, desc);

			buf_add(&c->out, "APPEND ", 7);
			if ((rc = add_astring(c, tag, "APPEND", mailbox, err)) != 0)
				break;
			do {
				const struct imap_append_msg *m = &msgs[next];

				buf_add(&c->out, " ", 1);
				add_flags(&c->out, m->flags, m->nflags);
				add_date(&c->out, m);
				buf_add(&c->out, " ", 1);
				if ((rc = send_literal(c, tag, desc, m->data, m->len, err)) != 0)
					break;
				bytes += m->len;
				next++;
				/* Send big messages as they come, not all at once. */
				if (c->out.len > (1u << 20) && (rc = flush(c, desc, err)) < 0)
					break;
			} while (multi && next < n && next - first < MULTI_MAX && bytes < MULTI_BYTES);
			if (rc != 0)
				break;
			buf_add(&c->out, "\r\n", 2);
			q[(head + nq) % WINDOW].tag = tag;
			q[(head + nq) % WINDOW].first = first;
			q[(head + nq) % WINDOW].n = next - first;
			nq++;
		}
		if (rc > 0) {
			/* The server refused a synchronizing literal: its tagged NO is in. */
			rc = -1;
			cmd_failed(c, c->pend[c->npend - 1].tag, err);
			break;
		}
		if (rc < 0 || (rc = flush(c, desc, err)) < 0)
			break;
		{
			unsigned tag = q[head].tag;
			struct pending *p;

			if ((rc = wait_tag(c, tag, err)) < 0)
				break;
			if (!(p = pending_finished(c, tag, err))) {
				rc = -1;
				break;
			}
			if (p->status != ST_OK) {
				rc = cmd_failed(c, tag, err);
				break;
			}
			record_appenduid(p, q[head].first, q[head].n, uidvalidity_r, uids_r);
			pending_drop(c, tag);
			head = (head + 1) % WINDOW;
			nq--;
		}
	}
	free(desc);
	if (rc < 0)
		drain(c); /* the APPENDs already sent finish; the connection stays in step */
	return rc < 0 ? -1 : 0;
}

/* ---- STORE / EXPUNGE ---- */

/* Splits a set into command-sized pieces (at most 500 ranges each). */
static char **set_pieces(const struct imap_uidset *s, size_t *n_r)
{
	size_t n = (s->n + 499) / 500;
	char **v = xcalloc(n ? n : 1, sizeof(*v));

	for (size_t k = 0; k < n; k++) {
		struct imap_uidset part = { .r = s->r + k * 500,
					    .n = s->n - k * 500 > 500 ? 500 : s->n - k * 500 };

		part.cap = part.n;
		v[k] = imap_uidset_format(&part);
	}
	*n_r = n;
	return v;
}

static int pieces_cmd(struct imap *c, const struct imap_uidset *s, const char *verb,
		      const char *tail, struct error *err)
{
	size_t n;
	char **v;
	int rc = 0;

	if (!c->selected)
		return error_setk(err, ERROR_USAGE, "imap %s: %s without a selected folder",
				  c->name, verb);
	if (conn_up(c, err) < 0)
		return -1;
	v = set_pieces(s, &n);
	for (size_t k = 0; k < n && rc == 0; k++) {
		char *desc = xasprintf("%s %.60s%s%s", verb, v[k], strlen(v[k]) > 60 ? "..." : "",
				       tail);
		unsigned tag = cmd_begin(c, desc);

		free(desc);
		buf_addf(&c->out, "%s %s%s", verb, v[k], tail);
		rc = run(c, tag, err);
	}
	free_batches(v, n);
	return rc;
}

int imap_uid_store(struct imap *c, const struct imap_uidset *uids, const char *op,
		   const char *const *flags, size_t nflags, struct error *err)
{
	struct buf tail;
	int rc;

	if (strcmp(op, "+FLAGS") && strcmp(op, "-FLAGS") && strcmp(op, "FLAGS"))
		return error_setk(err, ERROR_USAGE, "imap %s: bad STORE operation \"%s\"", c->name,
				  op);
	if (uids->n == 0)
		return 0;
	buf_init(&tail, 0);
	buf_addf(&tail, " %s.SILENT ", op);
	add_flags(&tail, flags, nflags);
	rc = pieces_cmd(c, uids, "UID STORE", (const char *)tail.data, err);
	buf_clear(&tail);
	return rc;
}

int imap_uid_expunge(struct imap *c, const struct imap_uidset *uids, struct error *err)
{
	if (uids->n == 0)
		return 0;
	if (!(c->caps & IMAP_CAP_UIDPLUS))
		return imap_expunge(c, err);
	return pieces_cmd(c, uids, "UID EXPUNGE", "", err);
}

int imap_expunge(struct imap *c, struct error *err)
{
	if (!c->selected)
		return error_setk(err, ERROR_USAGE, "imap %s: EXPUNGE without a selected folder",
				  c->name);
	return simple(c, "EXPUNGE", err);
}
