/* Restore of a mailbox restore point over IMAP (docs/mail.md section 3):
 * per folder, match the point's messages to the live ones, APPEND what is
 * missing with its flags and internal date, fix flags of what is there,
 * and (only if asked) expunge what the point does not have. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "crypto/crypto.h"
#include "engine/erasure.h"
#include "engine/mail_point.h"
#include "engine/maillayout.h"
#include "engine/meta.h"
#include "engine/point_reader.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "sources/imap.h"
#include "sources/mail.h"

#define APPEND_BATCH_MSGS 200
#define APPEND_BATCH_BYTES (32u << 20)

/* A live message of the target folder. */
struct rlive {
	uint32_t uid;
	uint64_t size;
	int64_t date;
	char *flags;
	char *msgid;
	uint8_t hash[32];
	int hashed, used;
};

/* A message of the point to put into the folder. */
struct rwant {
	struct mail_msg *m;
	const char *msgid;
	struct rlive *match;
};

struct rfolder {
	struct rlive *live;
	size_t nlive, cap;
	struct rlive **bykey; /* live sorted by (size, date) */
	struct rwant *want;
	size_t nwant;
};

struct mr {
	const struct mail_restore_opts *o;
	struct mail_restore_result *res;
	struct mail_point *pt;
	struct imap *imap;
	char tdelim;          /* the target's delimiter */
	char **live_names;    /* folders the target has */
	size_t nlive_names, caplive;
	uint64_t items;
};

/* ---- selection ---- */

static int path_below(const char *path, const char *prefix)
{
	size_t len = strlen(prefix);

	return len == 0 || strcmp(path, prefix) == 0 ||
	       (strncmp(path, prefix, len) == 0 && path[len] == '/');
}

/* 1: the whole folder, 2: some messages (marked in m->used), 0: none. */
static int select_folder(struct mr *r, struct mail_folder *f)
{
	const struct mail_restore_opts *o = r->o;
	size_t i, k;
	int some = 0;

	if (o->npatterns == 0 && o->nfolders == 0)
		return 1;
	for (i = 0; i < o->nfolders; i++) {
		char *p = maillayout_folder_path(o->folders[i], r->pt->delim);
		int below = path_below(f->path, p);

		free(p);
		if (!below)
			continue;
		if (o->nuids == 0)
			return 1;
		if (strcmp(f->name, o->folders[i]) != 0)
			continue;
		for (k = 0; k < o->nuids; k++) {
			struct mail_msg *m = mail_folder_msg(f, o->uids[k]);

			if (m) {
				m->used = 1;
				some = 1;
			}
		}
	}
	for (i = 0; i < o->npatterns; i++) {
		if (path_below(f->path, o->patterns[i]))
			return 1;
		for (k = 0; k < f->nmsgs; k++)
			if (strcmp(f->msgs[k].e.path, o->patterns[i]) == 0) {
				f->msgs[k].used = 1;
				some = 1;
			}
	}
	return some ? 2 : 0;
}

/* Every pattern must name something of the point: a typo is an error,
 * not a silent empty restore. */
/* Whether the restore selects tree path `path`: everything without a
 * selection; else below a selected folder or pattern. */
static int selects(struct mr *r, const char *path)
{
	const struct mail_restore_opts *o = r->o;
	struct mail_folder *f;
	size_t i;

	if (o->nfolders == 0 && o->npatterns == 0)
		return 1;
	for (i = 0; i < o->nfolders; i++)
		if ((f = mail_point_folder(r->pt, o->folders[i])) != NULL && path_below(path, f->path))
			return 1;
	for (i = 0; i < o->npatterns; i++)
		if (path_below(path, o->patterns[i]))
			return 1;
	return 0;
}

/* Counts, under their requests, the withheld entries the restore would
 * have put back (docs/privacy.md 2). */
static void count_withheld(struct mr *r, struct erasure_set *es)
{
	for (size_t i = 0; i < r->pt->nwithheld; i++)
		if (selects(r, r->pt->withheld[i].path))
			erasure_set_note(es, r->pt->withheld[i].request);
}

/* A pattern naming something the erasure ledger withholds is no error:
 * it was there, and is withheld. */
static int withheld_path(struct mr *r, const char *pattern)
{
	for (size_t i = 0; i < r->pt->nwithheld; i++)
		if (path_below(r->pt->withheld[i].path, pattern))
			return 1;
	return 0;
}

static int check_selection(struct mr *r, struct error *err)
{
	const struct mail_restore_opts *o = r->o;
	size_t i, k;

	for (i = 0; i < o->nfolders; i++) {
		if (mail_point_folder(r->pt, o->folders[i]) == NULL)
			return error_setk(err, ERROR_NOTFOUND, "folder %s is not in restore point %s",
					  o->folders[i], o->rp);
		for (k = 0; k < o->nuids && o->nfolders == 1; k++)
			if (mail_folder_msg(mail_point_folder(r->pt, o->folders[i]), o->uids[k]) == NULL)
				return error_setk(err, ERROR_NOTFOUND, "message %u of folder %s is not "
						  "in restore point %s", o->uids[k], o->folders[i], o->rp);
	}
	if (o->nuids > 0 && o->nfolders != 1)
		return error_setk(err, ERROR_USAGE, "messages by UID need exactly one folder");
	for (i = 0; i < o->npatterns; i++) {
		int found = 0;

		for (k = 0; k < r->pt->nfolders && !found; k++) {
			struct mail_folder *f = &r->pt->folders[k];
			size_t m;

			found = path_below(f->path, o->patterns[i]);
			for (m = 0; m < f->nmsgs && !found; m++)
				found = strcmp(f->msgs[m].e.path, o->patterns[i]) == 0;
		}
		if (!found && !withheld_path(r, o->patterns[i]))
			return error_setk(err, ERROR_NOTFOUND, "%s is not in restore point %s",
					  o->patterns[i], o->rp);
	}
	return 0;
}

/* ---- target names ---- */

static char *target_name(struct mr *r, const struct mail_folder *f)
{
	struct buf b;
	const char *p;

	if (r->o->into_folder == NULL)
		return xstrdup(f->name);
	buf_init(&b, 0);
	buf_add(&b, r->o->into_folder, strlen(r->o->into_folder));
	buf_add_u8(&b, (uint8_t)(r->tdelim ? r->tdelim : '/'));
	/* The point's hierarchy re-joined with the target's delimiter. */
	for (p = f->name; *p; p++)
		buf_add_u8(&b, (uint8_t)(r->pt->delim && *p == r->pt->delim && r->tdelim ?
					 r->tdelim : *p));
	return (char *)buf_steal(&b, NULL);
}

static int live_has(struct mr *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nlive_names; i++)
		if (strcmp(r->live_names[i], name) == 0 ||
		    (strcasecmp(name, "INBOX") == 0 && strcasecmp(r->live_names[i], "INBOX") == 0))
			return 1;
	return 0;
}

static void live_add(struct mr *r, const char *name)
{
	if (r->nlive_names == r->caplive) {
		r->caplive = r->caplive ? r->caplive * 2 : 32;
		r->live_names = xrealloc(r->live_names, xmul(r->caplive, sizeof(char *)));
	}
	r->live_names[r->nlive_names++] = xstrdup(name);
}

static int ensure_folder(struct mr *r, const char *name, struct error *err)
{
	if (live_has(r, name) || r->o->dry_run)
		return 0;
	if (imap_create(r->imap, name, err) < 0) {
		if (err->code != ERROR_EXISTS)
			return -1;
		error_init(err);
	} else {
		r->res->folders_created++;
	}
	live_add(r, name);
	return 0;
}

/* ---- the live folder ---- */

static int on_live(void *ctx, const struct imap_msg *m, struct error *err)
{
	struct rfolder *rf = ctx;
	struct rlive *l;

	(void)err;
	if (rf->nlive == rf->cap) {
		rf->cap = rf->cap ? rf->cap * 2 : 256;
		rf->live = xrealloc(rf->live, xmul(rf->cap, sizeof(*rf->live)));
	}
	l = &rf->live[rf->nlive++];
	memset(l, 0, sizeof(*l));
	l->uid = m->uid;
	l->size = m->size;
	l->date = m->internaldate_unix;
	l->flags = imap_msg_flags(m);
	return 0;
}

static int live_key_cmp(const void *a, const void *b)
{
	const struct rlive *x = *(const struct rlive *const *)a, *y = *(const struct rlive *const *)b;

	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* The live messages with this size and date. */
static struct rlive **live_bykey(struct rfolder *rf, uint64_t size, int64_t date, size_t *n_r)
{
	size_t lo = 0, hi = rf->nlive, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct rlive *l = rf->bykey[mid];

		if (l->size < size || (l->size == size && l->date < date))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < rf->nlive && rf->bykey[end]->size == size &&
		       rf->bykey[end]->date == date; end++)
		;
	*n_r = end - lo;
	return rf->bykey + lo;
}

static int live_uid_cmp(const void *a, const void *b)
{
	const struct rlive *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* rf->live is sorted by UID once listed. */
static struct rlive *live_by_uid(struct rfolder *rf, uint32_t uid)
{
	struct rlive key = { .uid = uid };

	return rf->nlive ? bsearch(&key, rf->live, rf->nlive, sizeof(*rf->live), live_uid_cmp)
			 : NULL;
}

static int on_live_header(void *ctx, const struct imap_msg *m, struct error *err)
{
	struct rfolder *rf = ctx;
	struct rlive *l = live_by_uid(rf, m->uid);

	(void)err;
	if (l && (m->have & IMAP_HAVE_HEADER)) {
		free(l->msgid);
		l->msgid = mail_message_id(m->header, m->header_len);
	}
	return 0;
}

static int on_live_body(void *ctx, const struct imap_msg *m, struct error *err)
{
	struct rfolder *rf = ctx;
	struct rlive *l = live_by_uid(rf, m->uid);

	(void)err;
	if (l && (m->have & IMAP_HAVE_BODY)) {
		crypto_sha256(m->body, m->body_len, l->hash);
		l->hashed = 1;
	}
	return 0;
}

/* Message-IDs of the live messages that could be one of the point's,
 * and, where neither side has one, a hash of the live bytes. */
static int live_identify(struct mr *r, struct rfolder *rf, struct error *err)
{
	struct imap_uidset hdr, body;
	size_t i, k, n;
	int ret = 0;

	imap_uidset_init(&hdr);
	imap_uidset_init(&body);
	for (i = 0; i < rf->nwant; i++) {
		struct rlive **c = live_bykey(rf, rf->want[i].m->e.size, rf->want[i].m->e.mtime_s, &n);

		for (k = 0; k < n; k++)
			imap_uidset_add(&hdr, c[k]->uid, c[k]->uid);
	}
	if (hdr.n > 0) {
		struct imap_fetch_opts fo = {
			.uids = &hdr, .items = IMAP_ITEM_HEADER_FIELDS, .header_fields = "MESSAGE-ID",
			.cb = on_live_header, .ctx = rf,
		};

		ret = imap_fetch(r->imap, &fo, err);
	}
	for (i = 0; ret == 0 && i < rf->nwant; i++) {
		struct rlive **c;

		if (mail_point_msgid(r->pt, rf->want[i].m, &rf->want[i].msgid, err) < 0) {
			ret = -1;
			break;
		}
		if (rf->want[i].msgid)
			continue;
		c = live_bykey(rf, rf->want[i].m->e.size, rf->want[i].m->e.mtime_s, &n);
		for (k = 0; k < n; k++)
			if (c[k]->msgid == NULL)
				imap_uidset_add(&body, c[k]->uid, c[k]->uid);
	}
	if (ret == 0 && body.n > 0) {
		struct imap_fetch_opts fo = {
			.uids = &body, .items = IMAP_ITEM_BODY, .cb = on_live_body, .ctx = rf,
		};

		ret = imap_fetch(r->imap, &fo, err);
	}
	imap_uidset_clear(&hdr);
	imap_uidset_clear(&body);
	return ret;
}

static int want_matches(struct mr *r, struct rwant *w, struct rlive *l, struct error *err)
{
	struct buf data;
	uint8_t h[32];

	if (w->msgid || l->msgid)
		return w->msgid && l->msgid && strcmp(w->msgid, l->msgid) == 0;
	if (!l->hashed)
		return 0;
	buf_init(&data, 0);
	if (mail_point_read(r->pt, w->m, &data, err) < 0) {
		buf_clear(&data);
		return -1;
	}
	crypto_sha256(data.data, data.len, h);
	buf_clear(&data);
	return memcmp(h, l->hash, 32) == 0;
}

static int match_all(struct mr *r, struct rfolder *rf, struct error *err)
{
	size_t i, k, n;

	for (i = 0; i < rf->nwant; i++) {
		struct rlive **c = live_bykey(rf, rf->want[i].m->e.size, rf->want[i].m->e.mtime_s, &n);

		for (k = 0; k < n && rf->want[i].match == NULL; k++) {
			int same;

			if (c[k]->used)
				continue;
			same = want_matches(r, &rf->want[i], c[k], err);
			if (same < 0)
				return -1;
			if (same) {
				c[k]->used = 1;
				rf->want[i].match = c[k];
			}
		}
	}
	return 0;
}

/* ---- changes ---- */

/* Splits a flags string into a vector pointing into `copy`. */
static size_t split_flags(char *copy, const char **v, size_t max)
{
	size_t n = 0;
	char *p = copy;

	while (*p && n < max) {
		while (*p == ' ')
			p++;
		if (*p == 0)
			break;
		v[n++] = p;
		while (*p && *p != ' ')
			p++;
		if (*p)
			*p++ = 0;
	}
	return n;
}

#define FLAGS_MAX 256

static int same_flag_set(const char *a, const char *b)
{
	char *ca = xstrdup(a), *cb = xstrdup(b);
	const char *va[FLAGS_MAX], *vb[FLAGS_MAX];
	size_t na = split_flags(ca, va, FLAGS_MAX), nb = split_flags(cb, vb, FLAGS_MAX), i, k;
	int same = na == nb;

	for (i = 0; i < na && same; i++) {
		int found = 0;

		for (k = 0; k < nb && !found; k++)
			found = strcasecmp(va[i], vb[k]) == 0;
		same = found;
	}
	free(ca);
	free(cb);
	return same;
}

static void plan_tell(struct mr *r, const char *action, const struct rwant *w)
{
	if (r->o->plan)
		r->o->plan(r->o->ctx, action, w->m->e.path);
}

static int fix_flags(struct mr *r, struct rfolder *rf, struct error *err)
{
	size_t i;

	for (i = 0; i < rf->nwant; i++) {
		struct rwant *w = &rf->want[i];
		char *want = meta_entry_xattr_str(&w->m->e, MAILLAYOUT_XATTR_FLAGS), *copy;
		const char *v[FLAGS_MAX];
		struct imap_uidset one;
		size_t n;
		int ret;

		if (w->match == NULL || same_flag_set(want ? want : "", w->match->flags)) {
			free(want);
			continue;
		}
		if (r->o->dry_run) {
			free(want);
			plan_tell(r, "attrs", w);
			r->res->flags_fixed++;
			continue;
		}
		copy = xstrdup(want ? want : "");
		n = split_flags(copy, v, FLAGS_MAX);
		imap_uidset_init(&one);
		imap_uidset_add(&one, w->match->uid, w->match->uid);
		ret = imap_uid_store(r->imap, &one, "FLAGS", v, n, err);
		imap_uidset_clear(&one);
		free(copy);
		free(want);
		if (ret < 0)
			return -1;
		r->res->flags_fixed++;
	}
	return 0;
}

static int tz_minutes(const struct meta_entry *e)
{
	char *tz = meta_entry_xattr_str(e, MAILLAYOUT_XATTR_TZ);
	int m = 0;

	if (tz && strlen(tz) == 5 && (tz[0] == '+' || tz[0] == '-')) {
		m = ((tz[1] - '0') * 10 + (tz[2] - '0')) * 60 + (tz[3] - '0') * 10 + (tz[4] - '0');
		if (tz[0] == '-')
			m = -m;
	}
	free(tz);
	return m;
}

struct append_batch {
	struct imap_append_msg *msgs;
	struct buf *data;
	char **flagcopy;
	const char *(*flagv)[FLAGS_MAX];
	struct rwant **who;
	size_t n;
	size_t bytes;
};

static int append_flush(struct mr *r, const char *name, struct append_batch *ab,
			struct error *err)
{
	uint32_t *uids = xcalloc(ab->n ? ab->n : 1, sizeof(*uids));
	size_t i;
	int ret = ab->n ? imap_append(r->imap, name, ab->msgs, ab->n, NULL, uids, err) : 0;

	for (i = 0; i < ab->n; i++) {
		if (ret == 0) {
			r->res->appended++;
			r->res->appended_bytes += ab->data[i].len;
			if (r->o->appended)
				r->o->appended(r->o->ctx, name, ab->who[i]->m->uid, uids[i]);
			r->items++;
			if (r->o->progress)
				r->o->progress(r->o->ctx, r->items, r->res->appended_bytes);
		}
		buf_clear(&ab->data[i]);
		free(ab->flagcopy[i]);
	}
	free(uids);
	ab->n = 0;
	ab->bytes = 0;
	return ret;
}

/* A plan's appends: the messages no live one matched. */
static void plan_missing(struct mr *r, struct rfolder *rf)
{
	for (size_t i = 0; i < rf->nwant; i++)
		if (rf->want[i].match == NULL) {
			plan_tell(r, "write", &rf->want[i]);
			r->res->appended++;
			r->res->appended_bytes += rf->want[i].m->e.size;
		}
}

static int append_missing(struct mr *r, struct rfolder *rf, const char *name, struct error *err)
{
	struct append_batch ab = { 0 };
	size_t i;
	int ret = 0;

	if (r->o->dry_run) {
		plan_missing(r, rf);
		return 0;
	}
	ab.msgs = xcalloc(APPEND_BATCH_MSGS, sizeof(*ab.msgs));
	ab.data = xcalloc(APPEND_BATCH_MSGS, sizeof(*ab.data));
	ab.flagcopy = xcalloc(APPEND_BATCH_MSGS, sizeof(*ab.flagcopy));
	ab.flagv = xcalloc(APPEND_BATCH_MSGS, sizeof(*ab.flagv));
	ab.who = xcalloc(APPEND_BATCH_MSGS, sizeof(*ab.who));
	for (i = 0; i < rf->nwant && ret == 0; i++) {
		struct rwant *w = &rf->want[i];
		struct imap_append_msg *am;
		char *flags;
		size_t k = ab.n;

		if (w->match)
			continue;
		buf_init(&ab.data[k], 0);
		if (mail_point_read(r->pt, w->m, &ab.data[k], err) < 0) {
			buf_clear(&ab.data[k]);
			ret = -1;
			break;
		}
		flags = meta_entry_xattr_str(&w->m->e, MAILLAYOUT_XATTR_FLAGS);
		ab.flagcopy[k] = flags ? flags : xstrdup("");
		am = &ab.msgs[k];
		memset(am, 0, sizeof(*am));
		am->data = ab.data[k].data;
		am->len = ab.data[k].len;
		am->flags = ab.flagv[k];
		am->nflags = split_flags(ab.flagcopy[k], ab.flagv[k], FLAGS_MAX);
		am->internaldate_unix = w->m->e.mtime_s;
		am->internaldate_tz = tz_minutes(&w->m->e);
		ab.who[k] = w;
		ab.n++;
		ab.bytes += ab.data[k].len;
		if (ab.n == APPEND_BATCH_MSGS || ab.bytes >= APPEND_BATCH_BYTES)
			ret = append_flush(r, name, &ab, err);
	}
	if (ret == 0)
		ret = append_flush(r, name, &ab, err);
	else
		for (i = 0; i < ab.n; i++) {
			buf_clear(&ab.data[i]);
			free(ab.flagcopy[i]);
		}
	free(ab.msgs);
	free(ab.data);
	free(ab.flagcopy);
	free(ab.flagv);
	free(ab.who);
	return ret;
}

static int delete_newer(struct mr *r, struct rfolder *rf, struct error *err)
{
	static const char *const deleted[] = { "\\Deleted" };
	struct imap_uidset gone;
	size_t i;
	int ret = 0;

	imap_uidset_init(&gone);
	for (i = 0; i < rf->nlive; i++)
		if (!rf->live[i].used)
			imap_uidset_add(&gone, rf->live[i].uid, rf->live[i].uid);
	if (gone.n > 0) {
		ret = imap_uid_store(r->imap, &gone, "+FLAGS", deleted, 1, err);
		if (ret == 0)
			ret = imap_uid_expunge(r->imap, &gone, err);
		if (ret == 0)
			r->res->deleted += imap_uidset_count(&gone);
	}
	imap_uidset_clear(&gone);
	return ret;
}

static void rfolder_clear(struct rfolder *rf)
{
	size_t i;

	for (i = 0; i < rf->nlive; i++) {
		free(rf->live[i].flags);
		free(rf->live[i].msgid);
	}
	free(rf->live);
	free(rf->bykey);
	free(rf->want);
}

static int restore_folder(struct mr *r, struct mail_folder *f, int how, struct error *err)
{
	struct rfolder rf = { 0 };
	struct imap_select_opts so = { 0 };
	struct imap_mailbox mb;
	char *name = target_name(r, f);
	size_t i;
	int ret, fresh;

	memset(&mb, 0, sizeof(mb));
	r->res->folders++;
	/* A \Noselect folder cannot be created as such: the CREATE of a
	 * child makes it (RFC 3501 6.3.3). */
	if (f->noselect) {
		free(name);
		return 0;
	}
	ret = ensure_folder(r, name, err);
	/* A plan EXAMINEs (read-only); a folder it would create has nothing
	 * to compare: every selected message would be appended. */
	so.readonly = r->o->dry_run;
	fresh = r->o->dry_run && !live_has(r, name);
	if (ret == 0 && !fresh)
		ret = imap_select(r->imap, name, &so, &mb, err);
	if (ret == 0 && !fresh) {
		struct imap_fetch_opts fo = {
			.all = 1, .items = IMAP_ITEM_META, .cb = on_live, .ctx = &rf,
		};

		ret = imap_fetch(r->imap, &fo, err);
	}
	if (ret == 0) {
		if (rf.nlive > 1)
			qsort(rf.live, rf.nlive, sizeof(*rf.live), live_uid_cmp);
		rf.bykey = xcalloc(rf.nlive ? rf.nlive : 1, sizeof(*rf.bykey));
		for (i = 0; i < rf.nlive; i++)
			rf.bykey[i] = &rf.live[i];
		if (rf.nlive > 1)
			qsort(rf.bykey, rf.nlive, sizeof(*rf.bykey), live_key_cmp);
		rf.want = xcalloc(f->nmsgs ? f->nmsgs : 1, sizeof(*rf.want));
		for (i = 0; i < f->nmsgs; i++)
			if (how == 1 || f->msgs[i].used)
				rf.want[rf.nwant++].m = &f->msgs[i];
		r->res->messages += rf.nwant;
		if (!fresh)
			ret = live_identify(r, &rf, err);
	}
	if (ret == 0)
		ret = match_all(r, &rf, err);
	if (ret == 0) {
		for (i = 0; i < rf.nwant; i++)
			if (rf.want[i].match) {
				r->res->present++;
				r->items++;
			}
		ret = fix_flags(r, &rf, err);
	}
	if (ret == 0)
		ret = append_missing(r, &rf, name, err);
	if (ret == 0 && how == 1 && r->o->delete_newer)
		ret = delete_newer(r, &rf, err);
	if (ret < 0) {
		char *from = imap_shown(f->name, 200), *into = imap_shown(name, 200);

		error_prefix(err, "restore of folder %s into %s", from, into);
		free(from);
		free(into);
	}
	imap_mailbox_clear(&mb);
	rfolder_clear(&rf);
	free(name);
	return ret;
}

static int restore_all(struct mr *r, struct error *err)
{
	struct imap_folder_list fl = { 0 };
	size_t i;
	int ret = imap_list(r->imap, 0, &fl, err);

	for (i = 0; ret == 0 && i < fl.n; i++) {
		if (fl.v[i].delim)
			r->tdelim = fl.v[i].delim;
		if (!(fl.v[i].attrs & IMAP_MBX_NOSELECT))
			live_add(r, fl.v[i].name);
	}
	imap_folder_list_clear(&fl);
	if (ret == 0 && r->o->into_folder)
		ret = ensure_folder(r, r->o->into_folder, err);
	/* Folders sort by path, so parents come before their children. */
	for (i = 0; ret == 0 && i < r->pt->nfolders; i++) {
		int how = select_folder(r, &r->pt->folders[i]);

		if (how)
			ret = restore_folder(r, &r->pt->folders[i], how, err);
	}
	return ret;
}

int mail_restore_run(struct store *s, const struct mail_restore_opts *o,
		     struct mail_restore_result *res, struct error *err)
{
	struct mr r = { .o = o, .res = res };
	struct point_reader *pr = NULL;
	struct imap_opts io;
	size_t i;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	if (mail_imap_opts(o->target, &io, err) < 0)
		return -1;
	io.policy = o->netpolicy;
	if (o->delete_newer && (o->npatterns || o->nuids))
		return error_setk(err, ERROR_USAGE, "--delete-newer works on whole folders only, "
				  "not with single messages");
	if (point_reader_open(s, o->rp, &pr, err) < 0 ||
	    mail_point_open(point_reader_unit(pr), point_reader_index(pr), point_reader_rp(pr),
			    point_reader_erasures(pr), &r.pt, err) < 0 ||
	    check_selection(&r, err) < 0)
		goto out;
	r.imap = imap_connect(&io, err);
	if (r.imap == NULL)
		goto out;
	count_withheld(&r, point_reader_erasures(pr));
	ret = restore_all(&r, err);
	res->withheld = erasure_set_withheld(point_reader_erasures(pr));
	res->withheld_by = erasure_set_report_text(point_reader_erasures(pr));
	if (ret == 0) {
		struct error ignored;

		imap_logout(r.imap, &ignored);
	}
out:
	imap_close(&r.imap);
	for (i = 0; i < r.nlive_names; i++)
		free(r.live_names[i]);
	free(r.live_names);
	mail_point_close(&r.pt);
	point_reader_close(&pr);
	if (ret < 0)
		error_prefix(err, "restore of %s", o->rp);
	return ret;
}

int mail_folders_list(struct store *s, const char *rpspec, mail_folder_cb *cb, void *ctx,
		      struct error *err)
{
	struct point_reader *pr = NULL;
	struct mail_point *pt = NULL;
	size_t i, k;
	int ret = -1;

	if (point_reader_open(s, rpspec, &pr, err) < 0 ||
	    mail_point_open(point_reader_unit(pr), point_reader_index(pr), point_reader_rp(pr),
			    point_reader_erasures(pr), &pt, err) < 0)
		goto out;
	for (i = 0; i < pt->nfolders; i++) {
		struct mail_folder *f = &pt->folders[i];
		char *use = meta_entry_xattr_str(&f->dir, MAILLAYOUT_XATTR_SPECIALUSE);
		char *flags = meta_entry_xattr_str(&f->dir, MAILLAYOUT_XATTR_FLAGS);
		struct mail_folder_info fi = {
			.name = f->name, .path = f->path, .specialuse = use ? use : "",
			.flags = flags ? flags : "", .uidvalidity = f->uidvalidity,
			.uidnext = f->uidnext, .highestmodseq = f->highestmodseq,
			.messages = f->nmsgs,
		};

		for (k = 0; k < f->nmsgs; k++)
			fi.bytes += f->msgs[k].e.size;
		cb(ctx, &fi);
		free(use);
		free(flags);
	}
	ret = 0;
out:
	mail_point_close(&pt);
	point_reader_close(&pr);
	return ret;
}
