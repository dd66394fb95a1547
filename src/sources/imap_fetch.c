/* The IMAP client's reading of messages (imap_internal.h): FETCH
 * responses, UID SEARCH, and the pipelined bulk UID FETCH that resumes
 * after a dropped connection. */
#include "sources/imap_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/mem.h"

/* ---- FETCH responses ---- */

/* Fills m from a FETCH response; 0, or -1 if it is malformed. */
int imap_parse_fetch(struct imap *c, struct imap_resp *r, struct imap_msg *m, uint64_t max_body)
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
			if (imap_uid_arg(v, &m->uid) < 0)
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

/* ---- SEARCH ---- */

static int on_search(struct imap *c, struct imap_resp *r, void *ctx, struct error *err)
{
	struct imap_uidset *s = ctx;

	if (!strcmp(r->name, "SEARCH")) {
		for (size_t k = 0; k < r->nargs; k++) {
			uint32_t uid;

			if (r->args[k].type == IMAP_ARG_LIST)
				continue; /* (MODSEQ n) */
			if (imap_uid_arg(&r->args[k], &uid) < 0)
				return imap_proto_error(c, "UID SEARCH", "bad SEARCH reply", err);
			imap_uidset_add(s, uid, uid);
		}
	} else if (!strcmp(r->name, "ESEARCH")) {
		for (size_t k = 0; k + 1 < r->nargs; k++) {
			if (imap_arg_is_atom(&r->args[k], "ALL") &&
			    imap_uidset_parse(s, (const char *)r->args[k + 1].data,
					      r->args[k + 1].len, err) < 0)
				return imap_proto_error(c, "UID SEARCH", "bad ESEARCH reply", err);
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
	if (imap_connection_up(c, err) < 0)
		return -1;
	desc = xasprintf("UID SEARCH %.200s", criteria);
	tag = imap_cmd_begin(c, desc);
	free(desc);
	buf_addf(&c->out, "UID SEARCH %s", criteria);
	c->on_untagged = on_search;
	c->hctx = r;
	rc = imap_run(c, tag, err);
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
	if (imap_parse_fetch(c, r, &m, x->max_body) < 0)
		return imap_proto_error(c, "UID FETCH", "bad FETCH reply", err);
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

void imap_free_batches(char **v, size_t n)
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
			unsigned tag = imap_cmd_begin(c, desc);

			free(desc);
			buf_addf(&c->out, "UID FETCH %s %s\r\n", batches[next++],
				 (const char *)items.data);
			tags[(head + nq++) % WINDOW] = tag;
		}
		if ((rc = imap_flush(c, "UID FETCH", err)) < 0)
			break;
		rc = imap_finish(c, tags[head], err);
		head = (head + 1) % WINDOW;
		nq--;
	}
	if (rc != 0 && !x->cb_failed)
		imap_drain(c);
	c->on_untagged = NULL;
	c->on_vanished = NULL;
	buf_clear(&items);
	imap_free_batches(batches, nb);
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
		rc = imap_connection_up(c, err);
		if (rc == 0)
			rc = fetch_round(c, &x, err);
		if (rc == 0)
			break;
		if (x.cb_failed) {
			/* Do not read the rest of a big reply: drop the
			 * connection; the next command reconnects. */
			imap_connection_drop(c);
			break;
		}
		if (!c->io_failed || attempt >= c->o.reconnects ||
		    c->o.reconnects < 0)
			break;
		log_warn("%s; reconnecting (attempt %d of %d), %llu messages delivered so far",
			 err->msg, attempt + 1, c->o.reconnects,
			 (unsigned long long)imap_uidset_count(&done));
		imap_connection_drop(c);
		backoff(attempt++);
	}
	imap_uidset_clear(&done);
	return rc;
}
