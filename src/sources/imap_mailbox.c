/* The IMAP client's folder commands (imap_internal.h): LIST, STATUS,
 * CREATE, DELETE, and SELECT / EXAMINE. */
#include "sources/imap_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/mem.h"

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
			return imap_proto_error(c, "LIST", "bad LIST reply", err);
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
			return imap_proto_error(c, "STATUS", "bad STATUS reply", err);
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
			name = imap_shown_name(f->name); /* from LIST: the server's text */
			desc = xasprintf("STATUS %s", name);
			free(name);
			tag = imap_cmd_begin(c, desc);
			free(desc);
			buf_add(&c->out, "STATUS ", 7);
			if ((rc = imap_add_astring(c, tag, "STATUS", f->name, err)) != 0)
				break;
			buf_addf(&c->out, " (%s)\r\n", status_att(c, 0));
			tags[(head + nq++) % WINDOW] = tag;
		}
		if (rc == 0 && (rc = imap_flush(c, "STATUS", err)) < 0)
			break;
		if (nq == 0)
			break;
		rc = imap_finish(c, tags[head], err);
		head = (head + 1) % WINDOW;
		nq--;
	}
	if (rc != 0)
		imap_drain(c);
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
	if (imap_connection_up(c, err) < 0)
		return -1;
	tag = imap_cmd_begin(c, "LIST \"\" \"*\"");
	buf_add(&c->out, "LIST \"\" \"*\"", 11);
	if (su || ls) {
		buf_addf(&c->out, " RETURN (CHILDREN%s", su ? " SPECIAL-USE" : "");
		if (ls)
			buf_addf(&c->out, " STATUS (%s)", status_att(c, 0));
		buf_add(&c->out, ")", 1);
	}
	c->on_untagged = on_list;
	c->hctx = &x;
	rc = imap_run(c, tag, err);
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

/* Begins "VERB mailbox" (the caller may add more before running it):
 * connects if needed, queues the command under a new tag (*tag_r) and
 * adds the mailbox name. What imap_add_astring returns: 0 to go on, 1 if
 * the command was ended (the caller finishes it), -1 on failure. */
static int mailbox_cmd_begin(struct imap *c, const char *verb, const char *mailbox,
			     unsigned *tag_r, struct error *err)
{
	char *shown = imap_shown_name(mailbox), *desc = xasprintf("%s %s", verb, shown);

	free(shown);
	if (imap_connection_up(c, err) < 0) {
		free(desc);
		return -1;
	}
	*tag_r = imap_cmd_begin(c, desc);
	free(desc);
	buf_addf(&c->out, "%s ", verb);
	return imap_add_astring(c, *tag_r, verb, mailbox, err);
}

int imap_status(struct imap *c, const char *mailbox, struct imap_status *r, struct error *err)
{
	struct list_ctx x = { .want = mailbox, .one = r };
	unsigned tag;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = mailbox_cmd_begin(c, "STATUS", mailbox, &tag, err);
	if (rc == 0) {
		buf_addf(&c->out, " (%s)", status_att(c, 1));
		c->on_untagged = on_list;
		c->hctx = &x;
		rc = imap_run(c, tag, err);
		c->on_untagged = NULL;
	} else if (rc > 0) {
		rc = imap_finish(c, tag, err);
	}
	return rc < 0 ? -1 : 0;
}

/* A command with one mailbox argument and nothing else. */
static int mailbox_cmd(struct imap *c, const char *verb, const char *mailbox, struct error *err)
{
	unsigned tag;
	int rc = mailbox_cmd_begin(c, verb, mailbox, &tag, err);

	if (rc == 0)
		return imap_run(c, tag, err);
	if (rc > 0)
		imap_finish(c, tag, err);
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
	if (imap_parse_fetch(c, r, &m, UINT64_MAX) < 0)
		return imap_proto_error(c, "SELECT", "bad FETCH reply", err);
	if (!m.uid)
		return 0;
	return x->o->on_fetch(x->o->ctx, &m, err);
}

int imap_select_cmd(struct imap *c, const char *mailbox, const struct imap_select_opts *o,
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
	if (o->qresync_uidvalidity && imap_enable_settled(c, err) < 0)
		return -1;
	verb = o->readonly ? "EXAMINE" : "SELECT";
	memset(r, 0, sizeof(*r));
	imap_uidset_init(&r->vanished);
	free(c->selected);
	c->selected = NULL;
	shown = imap_shown_name(mailbox);
	desc = xasprintf("%s %s", verb, shown);
	free(shown);
	tag = imap_cmd_begin(c, desc);
	free(desc);
	buf_addf(&c->out, "%s ", verb);
	rc = imap_add_astring(c, tag, verb, mailbox, err);
	if (rc > 0) {
		imap_finish(c, tag, err);
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
	rc = imap_run(c, tag, err);
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
	if (imap_connection_up(c, err) < 0)
		return -1;
	return imap_select_cmd(c, mailbox, o, r, err);
}

void imap_mailbox_clear(struct imap_mailbox *mb)
{
	imap_uidset_clear(&mb->vanished);
}
