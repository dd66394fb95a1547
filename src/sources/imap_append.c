/* The IMAP client's writing of messages (imap_internal.h): pipelined
 * APPEND (LITERAL+, MULTIAPPEND, UIDPLUS), and UID STORE and EXPUNGE of
 * UID sets. */
#include "sources/imap_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/mem.h"

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
	char *shown = imap_shown_name(mailbox), *desc = xasprintf("APPEND %s", shown);
	int rc = 0;

	free(shown);
	if (uids_r)
		memset(uids_r, 0, xmul(n, sizeof(*uids_r)));
	if (uidvalidity_r)
		*uidvalidity_r = 0;
	if (imap_connection_up(c, err) < 0) {
		free(desc);
		return -1;
	}
	while (rc == 0 && (next < n || nq > 0)) {
		while (rc == 0 && next < n && nq < WINDOW) {
			size_t first = next, bytes = 0;
			unsigned tag = imap_cmd_begin(c, desc);

			buf_add(&c->out, "APPEND ", 7);
			if ((rc = imap_add_astring(c, tag, "APPEND", mailbox, err)) != 0)
				break;
			do {
				const struct imap_append_msg *m = &msgs[next];

				buf_add(&c->out, " ", 1);
				add_flags(&c->out, m->flags, m->nflags);
				add_date(&c->out, m);
				buf_add(&c->out, " ", 1);
				if ((rc = imap_send_literal(c, tag, desc, m->data, m->len, err)) != 0)
					break;
				bytes += m->len;
				next++;
				/* Send big messages as they come, not all at once. */
				if (c->out.len > (1u << 20) && (rc = imap_flush(c, desc, err)) < 0)
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
			imap_cmd_failed(c, c->pend[c->npend - 1].tag, err);
			break;
		}
		if (rc < 0 || (rc = imap_flush(c, desc, err)) < 0)
			break;
		{
			unsigned tag = q[head].tag;
			struct pending *p;

			if ((rc = imap_wait_tag(c, tag, err)) < 0)
				break;
			if (!(p = imap_pending_finished(c, tag, err))) {
				rc = -1;
				break;
			}
			if (p->status != ST_OK) {
				rc = imap_cmd_failed(c, tag, err);
				break;
			}
			record_appenduid(p, q[head].first, q[head].n, uidvalidity_r, uids_r);
			imap_pending_drop(c, tag);
			head = (head + 1) % WINDOW;
			nq--;
		}
	}
	free(desc);
	if (rc < 0)
		imap_drain(c); /* the APPENDs already sent finish; the connection stays in step */
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
	if (imap_connection_up(c, err) < 0)
		return -1;
	v = set_pieces(s, &n);
	for (size_t k = 0; k < n && rc == 0; k++) {
		char *desc = xasprintf("%s %.60s%s%s", verb, v[k], strlen(v[k]) > 60 ? "..." : "",
				       tail);
		unsigned tag = imap_cmd_begin(c, desc);

		free(desc);
		buf_addf(&c->out, "%s %s%s", verb, v[k], tail);
		rc = imap_run(c, tag, err);
	}
	imap_free_batches(v, n);
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
	return imap_simple(c, "EXPUNGE", err);
}
