/* The IMAP client's connection set-up (imap_internal.h): the greeting,
 * capabilities, STARTTLS, authentication (LOGIN and SASL, the secret and
 * the secretCommand), and reconnecting before a command. */
#include "sources/imap_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#include <openssl/evp.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "sources/imap_conn.h"

/* ---- small helpers ---- */

static char *b64(const uint8_t *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

unsigned imap_caps(const struct imap *c)
{
	return c->caps;
}

const char *imap_capability_string(const struct imap *c)
{
	return c->capstr ? c->capstr : "";
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

void imap_caps_from_words(struct imap *c, const struct imap_arg *v, size_t n)
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
	tag = imap_cmd_begin(c, desc);
	buf_addf(&c->out, "AUTHENTICATE %s", mech);
	if (c->caps & IMAP_CAP_SASL_IR) {
		buf_addf(&c->out, " %s", enc);
		sent = 1;
	}
	buf_add(&c->out, "\r\n", 2);
	c->wipe_out = 1;
	if (imap_flush(c, desc, err) < 0)
		goto fail;
	for (;;) {
		rc = imap_wait_cont(c, tag, err);
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
		if (imap_flush(c, desc, err) < 0)
			goto fail;
	}
	imap_wipe_free(enc);
	enc = NULL;
	if (imap_finish(c, tag, err) < 0) {
		/* A dropped connection is not a refused login (as in LOGIN). */
		if (!c->io_failed)
			err->code = ERROR_KEY;
		return -1;
	}
	return 0;
fail:
	imap_wipe_free(enc);
	return -1;
}

static int login_cmd(struct imap *c, struct error *err)
{
	unsigned tag;
	int rc;

	if (imap_has_cap(c, "LOGINDISABLED"))
		return error_setk(err, ERROR_FAIL,
				  "imap %s: the server refuses LOGIN here (LOGINDISABLED)", c->name);
	tag = imap_cmd_begin(c, "LOGIN");
	buf_add(&c->out, "LOGIN ", 6);
	c->wipe_out = 1;
	if ((rc = imap_add_astring(c, tag, "LOGIN", c->user, err)) != 0)
		goto refused;
	buf_add(&c->out, " ", 1);
	c->wipe_out = 1;
	if ((rc = imap_add_astring(c, tag, "LOGIN", c->secret, err)) != 0)
		goto refused;
	c->wipe_out = 1;
	if (imap_run(c, tag, err) < 0) {
		if (!c->io_failed)
			err->code = ERROR_KEY;
		return -1;
	}
	return 0;
refused:
	if (rc < 0)
		return -1;
	imap_finish(c, tag, err);
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
	imap_connection_drop(c);
	return -1;
}

static int read_greeting(struct imap *c, struct error *err)
{
	struct imap_resp r;
	int rc = 0;

	/* Every IMAP greeting starts "* " (RFC 3501 7.1): anything else is
	 * told at once, not after the line limit or the read timeout. */
	while (c->in.len - c->in_start < 2)
		if (imap_fill(c, 2, "greeting", err) < 0)
			return -1;
	if (memcmp(c->in.data + c->in_start, "* ", 2) != 0)
		return not_imap(c, err);
	if (imap_read_resp(c, &r, "greeting", err) < 0) {
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
		imap_connection_drop(c);
	} else if (!strcmp(r.name, "PREAUTH")) {
		rc = error_setk(err, ERROR_FAIL,
				"imap %s: the server pre-authenticated the connection (PREAUTH); "
				"coffer logs in itself", c->name);
		imap_connection_drop(c);
	} else {
		imap_handle_code(c, &r, NULL);
	}
	imap_resp_clear(&r);
	return rc;
}

static int capability(struct imap *c, struct error *err)
{
	free(c->capstr);
	c->capstr = NULL;
	return imap_simple(c, "CAPABILITY", err);
}

/* Connects and logs in; on failure the connection is closed. */
int imap_do_connect(struct imap *c, struct error *err)
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
		if (imap_simple(c, "STARTTLS", err) < 0)
			goto fail;
		/* Bytes after the OK were sent in clear text: refuse them. */
		if (c->in.len > c->in_start) {
			imap_proto_error(c, "STARTTLS", "data after the STARTTLS reply", err);
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
	/* ENABLE goes out with the next command rather than taking a round
	 * trip of its own; the first reply waited for checks it
	 * (imap_finish). Nothing sent before then depends on QRESYNC. */
	if (c->offers_qresync && (c->caps & IMAP_CAP_ENABLE)) {
		c->enable_tag = imap_cmd_begin(c, "ENABLE QRESYNC");
		buf_addf(&c->out, "ENABLE QRESYNC\r\n");
	}
	return 0;
fail:
	imap_connection_drop(c);
	return -1;
}

/* Reconnects after a dropped connection and selects the folder again. */
static int reconnect(struct imap *c, struct error *err)
{
	char *mailbox = c->selected ? xstrdup(c->selected) : NULL;
	struct imap_select_opts so = { .readonly = c->sel_readonly, .condstore = c->sel_condstore };
	struct imap_mailbox mb;
	uint32_t uv = c->sel_uidvalidity;
	int rc = 0;

	imap_connection_drop(c);
	if (imap_do_connect(c, err) < 0) {
		free(mailbox);
		return -1;
	}
	if (mailbox) {
		rc = imap_select_cmd(c, mailbox, &so, &mb, err);
		if (rc == 0 && mb.uidvalidity != uv) {
			char *shown = imap_shown_name(mailbox);

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
int imap_connection_up(struct imap *c, struct error *err)
{
	if (c->conn)
		return 0;
	return reconnect(c, err);
}
