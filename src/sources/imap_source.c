/* The "imap" source: a mailbox backed up over IMAP, incrementally per
 * folder (docs/mail.md section 2), and the source interface over
 * mail_backup_run() / mail_restore_run(). */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "crypto/crypto.h"
#include "engine/mail_point.h"
#include "engine/maillayout.h"
#include "engine/meta.h"
#include "engine/point_writer.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/hex.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/progress.h"
#include "sources/imap.h"
#include "sources/mail.h"
#include "sources/source.h"

#define MAIL_MAX_LITERAL (256ull << 20)
#define FOLDER_TRIES 2

/* ---- the source JSON ---- */

int mail_imap_opts(const struct json_object *source, struct imap_opts *o, struct error *err)
{
	struct json_object *v;
	const char *s;

	memset(o, 0, sizeof(*o));
	if (source == NULL || !json_object_is_type(source, json_type_object))
		return error_setk(err, ERROR_USAGE, "imap source: not a JSON object");
	o->host = jsonu_str(source, "host");
	o->user = jsonu_str(source, "user");
	if (o->host == NULL || *o->host == 0)
		return error_setk(err, ERROR_USAGE, "imap source: \"host\" (a string) is missing");
	if (o->user == NULL || *o->user == 0)
		return error_setk(err, ERROR_USAGE, "imap source: \"user\" (a string) is missing");
	if (json_object_object_get_ex(source, "port", &v)) {
		int64_t port = json_object_get_int64(v);

		if (!json_object_is_type(v, json_type_int) || port < 1 || port > 65535)
			return error_setk(err, ERROR_USAGE, "imap source: \"port\" must be 1..65535");
		o->port = (uint16_t)port;
	}
	if ((s = jsonu_str(source, "tls")) != NULL && imap_tls_parse(s, &o->tls, err) < 0)
		return error_prefix(err, "imap source");
	if ((s = jsonu_str(source, "auth")) != NULL && imap_auth_parse(s, &o->auth, err) < 0)
		return error_prefix(err, "imap source");
	o->secret = jsonu_str(source, "secret");
	o->secret_command = jsonu_str(source, "secretCommand");
	if (o->secret == NULL && o->secret_command == NULL)
		return error_setk(err, ERROR_USAGE,
				  "imap source: \"secret\" or \"secretCommand\" is missing");
	o->ca_file = jsonu_str(source, "caFile");
	if (json_object_object_get_ex(source, "insecure", &v)) {
		/* json-c reads any non-empty string as true: "false" would
		 * turn the certificate check off. */
		if (!json_object_is_type(v, json_type_boolean))
			return error_setk(err, ERROR_USAGE,
					  "imap source: \"insecure\" must be true or false");
		o->insecure = json_object_get_boolean(v);
	}
	o->max_literal = MAIL_MAX_LITERAL;
	return 0;
}

static char *source_name(const struct imap_opts *o)
{
	return xasprintf("imap://%s@%s:%u", o->user, o->host,
			 o->port ? o->port : o->tls == IMAP_TLS_IMPLICIT ? 993u : 143u);
}

/* ---- backup state ---- */

/* A message of the folder being backed up, as listed live. */
struct live_msg {
	uint32_t uid;
	uint64_t size, modseq;
	int64_t date;
	int tz;
	char *flags;
	int listed;                  /* metadata known (listing or CHANGEDSINCE) */
	const struct mail_msg *from; /* content from this parent message */
	int matched, fetched;
	struct meta_entry e;         /* the finished entry once known */
};

struct folder_job {
	const struct imap_folder *lf;
	char *path;
	struct mail_folder *pf;  /* the parent's folder of the same name, or NULL */
	struct imap_mailbox mb;
	int same_validity;
	struct live_msg *v;
	size_t n, cap;
	struct imap_uidset vanished, exist;
	int have_exist;
};

struct mb {
	const struct mail_backup_opts *o;
	struct mail_backup_result *res;
	struct point_writer *pw;
	struct point_stream *ps;    /* message bodies */
	const struct rp *last;      /* the latest restore point's manifest, or NULL */
	struct mail_point *parent;  /* its messages, loaded unless nothing changed */
	struct imap *imap;
	unsigned caps;
	char delim;
	struct meta_entry **out;
	size_t nout, capout;
	struct progress prog;
	uint64_t items;
};

static void mb_warn(struct mb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mb_warn(struct mb *b, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	point_writer_warn(b->pw, msg);
	b->res->nwarnings++;
	free(msg);
}

static struct meta_entry *mb_new_entry(struct mb *b)
{
	if (b->nout == b->capout) {
		b->capout = b->capout ? b->capout * 2 : 1024;
		b->out = xrealloc(b->out, xmul(b->capout, sizeof(*b->out)));
	}
	return b->out[b->nout++] = xcalloc(1, sizeof(struct meta_entry));
}

/* Attributes kept in user.imap.flags of a folder: the ones that say
 * what it is, not the ones that change with its content. */
static char *folder_flags(const struct imap_folder *f)
{
	static const char *const keep[] = { "\\Noselect", "\\NonExistent", "\\Noinferiors" };
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	buf_add(&b, "", 0);
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		if (f->attr_text == NULL || strcasestr(f->attr_text, keep[i]) == NULL)
			continue;
		if (b.len)
			buf_add(&b, " ", 1);
		buf_add(&b, keep[i], strlen(keep[i]));
	}
	return (char *)buf_steal(&b, NULL);
}

static char *folder_specialuse(const struct imap_folder *f)
{
	static const struct { unsigned bit; const char *name; } uses[] = {
		{ IMAP_MBX_ALL, "\\All" }, { IMAP_MBX_ARCHIVE, "\\Archive" },
		{ IMAP_MBX_DRAFTS, "\\Drafts" }, { IMAP_MBX_FLAGGED, "\\Flagged" },
		{ IMAP_MBX_JUNK, "\\Junk" }, { IMAP_MBX_SENT, "\\Sent" },
		{ IMAP_MBX_TRASH, "\\Trash" }, { IMAP_MBX_IMPORTANT, "\\Important" },
	};
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	buf_add(&b, "", 0);
	for (i = 0; i < sizeof(uses) / sizeof(uses[0]); i++) {
		if (!(f->attrs & uses[i].bit))
			continue;
		if (b.len)
			buf_add(&b, " ", 1);
		buf_add(&b, uses[i].name, strlen(uses[i].name));
	}
	return (char *)buf_steal(&b, NULL);
}

static void set_num(struct meta_entry *e, const char *name, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	maillayout_entry_set(e, name, num);
}

/* The folder's dir entry; xattrs in a fixed order so an unchanged folder
 * encodes the same. */
static void mb_folder_entry(struct mb *b, const struct imap_folder *lf, const char *path,
			    uint32_t uidvalidity, uint32_t uidnext, uint64_t hms)
{
	struct meta_entry *e = mb_new_entry(b);
	char *flags = folder_flags(lf), *use = folder_specialuse(lf);

	maillayout_dir_entry(e, path);
	maillayout_entry_set(e, MAILLAYOUT_XATTR_NAME, lf->name);
	if (!(lf->attrs & IMAP_MBX_NOSELECT)) {
		set_num(e, MAILLAYOUT_XATTR_UIDVALIDITY, uidvalidity);
		set_num(e, MAILLAYOUT_XATTR_UIDNEXT, uidnext);
		if (hms)
			set_num(e, MAILLAYOUT_XATTR_HIGHESTMODSEQ, hms);
	}
	if (*use)
		maillayout_entry_set(e, MAILLAYOUT_XATTR_SPECIALUSE, use);
	maillayout_entry_set(e, MAILLAYOUT_XATTR_FLAGS, flags);
	free(flags);
	free(use);
	b->res->folders++;
}

static void tz_text(int tz, char out[8])
{
	int a = tz < 0 ? -tz : tz;

	snprintf(out, 8, "%c%02d%02d", tz < 0 ? '-' : '+', (a / 60) % 100, a % 60);
}

/* ---- per-folder listing ---- */

static struct live_msg *job_msg(struct folder_job *j, uint32_t uid)
{
	size_t lo = 0, hi = j->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (j->v[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < j->n && j->v[lo].uid == uid ? &j->v[lo] : NULL;
}

static struct live_msg *job_add(struct folder_job *j, uint32_t uid)
{
	struct live_msg *m;

	if (j->n == j->cap) {
		j->cap = j->cap ? j->cap * 2 : 256;
		j->v = xrealloc(j->v, xmul(j->cap, sizeof(*j->v)));
	}
	m = &j->v[j->n++];
	memset(m, 0, sizeof(*m));
	m->uid = uid;
	return m;
}

static int live_cmp(const void *a, const void *b)
{
	const struct live_msg *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static void live_set(struct live_msg *lm, const struct imap_msg *m)
{
	if (m->have & IMAP_HAVE_FLAGS) {
		free(lm->flags);
		lm->flags = imap_msg_flags(m);
	}
	if (m->have & IMAP_HAVE_INTERNALDATE) {
		lm->date = m->internaldate_unix;
		lm->tz = m->internaldate_tz;
	}
	if (m->have & IMAP_HAVE_SIZE)
		lm->size = m->size;
	if (m->have & IMAP_HAVE_MODSEQ)
		lm->modseq = m->modseq;
	lm->listed = (m->have & (IMAP_HAVE_FLAGS | IMAP_HAVE_INTERNALDATE | IMAP_HAVE_SIZE)) ==
		     (IMAP_HAVE_FLAGS | IMAP_HAVE_INTERNALDATE | IMAP_HAVE_SIZE);
}

/* Listing replies arrive in any order; they are sorted afterwards. */
static int on_listing(void *ctx, const struct imap_msg *m, struct error *err)
{
	struct folder_job *j = ctx;

	(void)err;
	live_set(job_add(j, m->uid), m);
	return 0;
}

static void on_vanished(void *ctx, const struct imap_uidset *uids)
{
	struct folder_job *j = ctx;
	size_t i;

	for (i = 0; i < uids->n; i++)
		imap_uidset_add(&j->vanished, uids->r[i].lo, uids->r[i].hi);
}

static void job_sort(struct folder_job *j)
{
	size_t i, k = 0;

	if (j->n > 1)
		qsort(j->v, j->n, sizeof(*j->v), live_cmp);
	/* A UID reported twice (a FETCH during SELECT and the listing): the
	 * later report wins. */
	for (i = 0; i < j->n; i++) {
		if (k > 0 && j->v[k - 1].uid == j->v[i].uid) {
			free(j->v[k - 1].flags);
			j->v[k - 1] = j->v[i];
			continue;
		}
		j->v[k++] = j->v[i];
	}
	j->n = k;
}

static void live_free_all(struct folder_job *j)
{
	size_t i;

	for (i = 0; i < j->n; i++)
		free(j->v[i].flags);
	free(j->v);
	j->v = NULL;
	j->n = j->cap = 0;
	imap_uidset_clear(&j->vanished);
}

/* Everything the parent knew, then what changed since its HIGHESTMODSEQ. */
static int list_changedsince(struct mb *b, struct folder_job *j, struct error *err)
{
	struct folder_job changed = { 0 };
	struct imap_fetch_opts fo = {
		.all = 1, .items = IMAP_ITEM_META | IMAP_ITEM_MODSEQ,
		.changedsince = j->pf->highestmodseq, .vanished = (b->caps & IMAP_CAP_QRESYNC) != 0,
		.cb = on_listing, .on_vanished = on_vanished, .ctx = &changed,
	};
	size_t i, nparent;

	imap_uidset_init(&changed.vanished);
	if (imap_fetch(b->imap, &fo, err) < 0) {
		live_free_all(&changed);
		return -1;
	}
	for (i = 0; i < changed.vanished.n; i++)
		imap_uidset_add(&j->vanished, changed.vanished.r[i].lo, changed.vanished.r[i].hi);
	/* Without VANISHED, which UIDs still exist comes from a search. */
	if (!(b->caps & IMAP_CAP_QRESYNC)) {
		if (imap_uid_search(b->imap, "ALL", &j->exist, err) < 0) {
			live_free_all(&changed);
			return -1;
		}
		j->have_exist = 1;
	}
	job_sort(&changed);
	for (i = 0; i < j->pf->nmsgs; i++) {
		const struct mail_msg *pm = &j->pf->msgs[i];

		if (imap_uidset_contains(&j->vanished, pm->uid) ||
		    (j->have_exist && !imap_uidset_contains(&j->exist, pm->uid)))
			continue;
		job_add(j, pm->uid)->from = pm;
	}
	/* The parent's part is sorted: changed messages it has are updated
	 * in place, new ones appended and sorted in once. */
	nparent = j->n;
	for (i = 0; i < changed.n; i++) {
		struct folder_job head = { .v = j->v, .n = nparent };
		struct live_msg *lm = job_msg(&head, changed.v[i].uid);

		if (lm == NULL) {
			if (j->have_exist && !imap_uidset_contains(&j->exist, changed.v[i].uid)) {
				free(changed.v[i].flags);
				continue;
			}
			lm = job_add(j, changed.v[i].uid);
			*lm = changed.v[i];
			continue;
		}
		free(lm->flags);
		lm->flags = changed.v[i].flags;
		lm->date = changed.v[i].date;
		lm->tz = changed.v[i].tz;
		lm->size = changed.v[i].size;
		lm->modseq = changed.v[i].modseq;
		lm->listed = changed.v[i].listed;
	}
	if (j->n > 1)
		qsort(j->v, j->n, sizeof(*j->v), live_cmp);
	free(changed.v);
	imap_uidset_clear(&changed.vanished);
	return 0;
}

static int list_all(struct mb *b, struct folder_job *j, struct error *err)
{
	struct imap_fetch_opts fo = {
		.all = 1, .items = IMAP_ITEM_META, .cb = on_listing, .ctx = j,
	};
	size_t i;

	if (j->mb.highestmodseq > 0)
		fo.items |= IMAP_ITEM_MODSEQ;
	if (imap_fetch(b->imap, &fo, err) < 0)
		return -1;
	job_sort(j);
	if (j->same_validity)
		for (i = 0; i < j->n; i++)
			j->v[i].from = mail_folder_msg(j->pf, j->v[i].uid);
	return 0;
}

/* ---- content: matching and fetching ---- */

struct header_ctx {
	struct mb *b;
	struct folder_job *j;
};

/* A new UID whose size, date and Message-ID equal a parent message's
 * (any folder) takes that message's content: moved messages and folders
 * with a new UIDVALIDITY cost a header, not a body. */
static int on_header(void *ctx, const struct imap_msg *m, struct error *err)
{
	struct header_ctx *hc = ctx;
	struct live_msg *lm = job_msg(hc->j, m->uid);
	struct mail_msg **cand;
	char *id;
	size_t n, i;

	if (lm == NULL || !(m->have & IMAP_HAVE_HEADER))
		return 0;
	id = mail_message_id(m->header, m->header_len);
	if (id == NULL)
		return 0;
	cand = mail_point_bykey(hc->b->parent, lm->size, lm->date, &n);
	for (i = 0; i < n && lm->from == NULL; i++) {
		const char *pid;

		if (mail_point_msgid(hc->b->parent, cand[i], &pid, err) < 0) {
			free(id);
			return -1;
		}
		if (pid && strcmp(pid, id) == 0) {
			lm->from = cand[i];
			lm->matched = 1;
			hc->b->res->messages_matched++;
		}
	}
	free(id);
	return 0;
}

static int match_by_content(struct mb *b, struct folder_job *j, struct error *err)
{
	struct imap_uidset want;
	struct header_ctx hc = { b, j };
	size_t i, n;
	int ret = 0;

	if (b->parent == NULL)
		return 0;
	imap_uidset_init(&want);
	for (i = 0; i < j->n; i++) {
		if (j->v[i].from == NULL && j->v[i].listed &&
		    mail_point_bykey(b->parent, j->v[i].size, j->v[i].date, &n) && n > 0)
			imap_uidset_add(&want, j->v[i].uid, j->v[i].uid);
	}
	if (want.n > 0) {
		struct imap_fetch_opts fo = {
			.uids = &want, .items = IMAP_ITEM_HEADER_FIELDS,
			.header_fields = "MESSAGE-ID", .cb = on_header, .ctx = &hc,
		};

		ret = imap_fetch(b->imap, &fo, err);
	}
	imap_uidset_clear(&want);
	return ret;
}

static int store_body(struct mb *b, struct live_msg *lm, const uint8_t *data, size_t len,
		      struct error *err)
{
	char tz[8];

	tz_text(lm->tz, tz);
	meta_entry_clear(&lm->e);
	maillayout_message_entry(&lm->e, "", lm->uid, len, lm->date, tz,
				 lm->flags ? lm->flags : "", 0, 0);
	if (point_stream_write(b->ps, &lm->e, data, len, err) < 0)
		return -1;
	return point_stream_end(b->ps, &lm->e, err);
}

static int on_body(void *ctx, const struct imap_msg *m, struct error *err)
{
	struct header_ctx *hc = ctx;
	struct mb *b = hc->b;
	struct live_msg *lm = job_msg(hc->j, m->uid);

	if (lm == NULL || lm->fetched)
		return 0;
	if (m->body_too_big) {
		mb_warn(b, "message %u of %s is %" PRIu64 " bytes, more than coffer fetches "
			"(%llu); not in this restore point", m->uid, hc->j->lf->name, m->size,
			(unsigned long long)MAIL_MAX_LITERAL);
		return 0;
	}
	if (!(m->have & IMAP_HAVE_BODY))
		return 0;
	if (store_body(b, lm, m->body, m->body_len, err) < 0)
		return -1;
	if (m->body_len != lm->size && lm->listed)
		log_info("message %u of %s: RFC822.SIZE %" PRIu64 " but %zu bytes; keeping the bytes",
			 m->uid, hc->j->lf->name, lm->size, m->body_len);
	lm->fetched = 1;
	b->res->messages_fetched++;
	b->res->bytes_fetched += m->body_len;
	progress_update(&b->prog, ++b->items, b->res->bytes_fetched);
	return point_writer_checkpoint(b->pw, err);
}

static int fetch_bodies(struct mb *b, struct folder_job *j, struct error *err)
{
	struct imap_uidset want;
	struct header_ctx hc = { b, j };
	size_t i;
	int ret = 0;

	imap_uidset_init(&want);
	for (i = 0; i < j->n; i++) {
		if (j->v[i].from != NULL)
			continue;
		/* A literal above the client's max_literal fails the whole
		 * reply (and so every backup of the mailbox): leave such a
		 * message out, by its listed size, with a warning. */
		if (j->v[i].listed && j->v[i].size > MAIL_MAX_LITERAL) {
			mb_warn(b, "message %u of %s is %" PRIu64 " bytes, more than coffer fetches "
				"(%llu); not in this restore point", j->v[i].uid, j->lf->name,
				j->v[i].size, (unsigned long long)MAIL_MAX_LITERAL);
			continue;
		}
		imap_uidset_add(&want, j->v[i].uid, j->v[i].uid);
	}
	if (want.n > 0) {
		struct imap_fetch_opts fo = {
			.uids = &want, .items = IMAP_ITEM_BODY, .cb = on_body, .ctx = &hc,
			.max_body = MAIL_MAX_LITERAL,
		};

		ret = imap_fetch(b->imap, &fo, err);
	}
	imap_uidset_clear(&want);
	return ret;
}

/* ---- per folder ---- */

static int same_entry(const struct meta_entry *a, const struct meta_entry *b)
{
	return meta_same_content(a, b) && meta_same_attrs(a, b);
}

/* The finished entries of a listed folder; counts what changed. */
static void job_emit(struct mb *b, struct folder_job *j)
{
	size_t i, kept = 0;

	for (i = 0; i < j->n; i++) {
		struct live_msg *lm = &j->v[i];
		struct meta_entry *e;
		const struct mail_msg *same;
		char tz[8];

		if (lm->from == NULL && !lm->fetched)
			continue; /* expunged before its body was fetched */
		e = mb_new_entry(b);
		if (lm->from != NULL && !lm->listed) {
			/* unchanged since the parent (CHANGEDSINCE did not name it) */
			meta_entry_copy(e, &lm->from->e);
			free(e->path);
			e->path = maillayout_message_path(j->path, lm->uid);
		} else {
			const struct meta_entry *content = lm->from ? &lm->from->e : &lm->e;
			size_t k;

			tz_text(lm->tz, tz);
			maillayout_message_entry(e, j->path, lm->uid, content->size, lm->date, tz,
						 lm->flags ? lm->flags : "", j->mb.highestmodseq > 0,
						 lm->modseq);
			for (k = 0; k < content->nextents; k++)
				meta_entry_add_extent(e, content->extents[k].id,
						      content->extents[k].len);
		}
		if (lm->from && !lm->matched)
			b->res->messages_reused++;
		b->res->messages++;
		b->res->bytes += e->size;
		same = j->pf && j->same_validity ? mail_folder_msg(j->pf, lm->uid) : NULL;
		if (same)
			kept++;
		if (same == NULL || !same_entry(e, &same->e))
			b->res->changed_items++;
	}
	if (j->pf)
		b->res->changed_items += j->pf->nmsgs - kept;
}

/* A folder whose STATUS equals the parent's: its entries are the
 * parent's, not a byte fetched. */
static int folder_unchanged(struct mb *b, const struct imap_folder *lf, const struct mail_folder *pf)
{
	const struct imap_status *st = &lf->status;
	const unsigned need = IMAP_ST_MESSAGES | IMAP_ST_UIDNEXT | IMAP_ST_UIDVALIDITY |
			      IMAP_ST_HIGHESTMODSEQ;

	return pf != NULL && (b->caps & IMAP_CAP_CONDSTORE) && (st->have & need) == need &&
	       st->highestmodseq != 0 && pf->highestmodseq == st->highestmodseq &&
	       pf->uidvalidity == st->uidvalidity && pf->uidnext == st->uidnext &&
	       pf->nmsgs == st->messages;
}

static void job_clear(struct folder_job *j)
{
	size_t i;

	for (i = 0; i < j->n; i++) {
		free(j->v[i].flags);
		meta_entry_clear(&j->v[i].e);
	}
	free(j->v);
	free(j->path);
	imap_uidset_clear(&j->vanished);
	imap_uidset_clear(&j->exist);
	imap_mailbox_clear(&j->mb);
}

static int backup_folder(struct mb *b, const struct imap_folder *lf, struct error *err)
{
	struct folder_job j = { .lf = lf };
	struct imap_select_opts so = { .readonly = 1, .condstore = 1 };
	size_t i;
	int ret = 0;

	j.path = maillayout_folder_path(lf->name, b->delim);
	j.pf = b->parent ? mail_point_folder(b->parent, lf->name) : NULL;
	if (j.pf)
		j.pf->seen = 1;
	imap_uidset_init(&j.vanished);
	imap_uidset_init(&j.exist);
	if (lf->attrs & IMAP_MBX_NOSELECT) {
		mb_folder_entry(b, lf, j.path, 0, 0, 0);
		goto out;
	}
	if (folder_unchanged(b, lf, j.pf)) {
		mb_folder_entry(b, lf, j.path, j.pf->uidvalidity, j.pf->uidnext,
				j.pf->highestmodseq);
		for (i = 0; i < j.pf->nmsgs; i++) {
			struct meta_entry *e = mb_new_entry(b);

			meta_entry_copy(e, &j.pf->msgs[i].e);
			free(e->path);
			e->path = maillayout_message_path(j.path, j.pf->msgs[i].uid);
			b->res->messages++;
			b->res->messages_reused++;
			b->res->bytes += e->size;
		}
		b->res->folders_unchanged++;
		b->items += j.pf->nmsgs;
		progress_update(&b->prog, b->items, b->res->bytes_fetched);
		goto out;
	}
	/* EXAMINE: a backup never changes the mailbox, \Seen included. */
	ret = imap_select(b->imap, lf->name, &so, &j.mb, err);
	if (ret < 0 && err->code == ERROR_NOTFOUND) {
		/* deleted between LIST and now: not in this point */
		char *shown = imap_shown(lf->name, 200);

		mb_warn(b, "folder %s vanished during the backup: %s", shown, err->msg);
		free(shown);
		error_init(err);
		ret = 0;
		goto out;
	}
	if (ret < 0)
		goto out;
	j.same_validity = j.pf != NULL && j.pf->uidvalidity == j.mb.uidvalidity;
	if (j.same_validity && j.pf->highestmodseq > 0 && j.mb.highestmodseq > 0 &&
	    j.mb.highestmodseq >= j.pf->highestmodseq) {
		b->res->folders_changedsince++;
		ret = list_changedsince(b, &j, err);
	} else {
		b->res->folders_listed++;
		ret = list_all(b, &j, err);
	}
	if (ret == 0)
		ret = match_by_content(b, &j, err);
	if (ret == 0)
		ret = fetch_bodies(b, &j, err);
	if (ret == 0) {
		mb_folder_entry(b, lf, j.path, j.mb.uidvalidity, j.mb.uidnext, j.mb.highestmodseq);
		job_emit(b, &j);
	}
out:
	if (ret < 0) {
		char *shown = imap_shown(lf->name, 200); /* the server's text */

		error_prefix(err, "folder %s", shown);
		free(shown);
	}
	job_clear(&j);
	return ret;
}

/* ---- the tree ---- */

static int entry_cmp(const void *a, const void *b)
{
	const struct meta_entry *x = *(const struct meta_entry *const *)a;
	const struct meta_entry *y = *(const struct meta_entry *const *)b;

	return meta_path_cmp(x->path, y->path);
}

/* Dirs for path prefixes that are no folder (e.g. "a" of "a.b" when the
 * server does not list "a"), so the tree is whole. */
static void mb_add_prefixes(struct mb *b)
{
	size_t i, n = b->nout;

	qsort(b->out, b->nout, sizeof(*b->out), entry_cmp);
	for (i = 0; i < n; i++) {
		const struct meta_entry *e = b->out[i];
		char *p;
		const char *slash;

		if (e->type != META_DIR || (slash = strrchr(e->path, '/')) == NULL)
			continue;
		p = xstrndup(e->path, (size_t)(slash - e->path));
		for (;;) {
			struct meta_entry key = { .path = p }, *kp = &key;
			char *up;

			if (bsearch(&kp, b->out, n, sizeof(*b->out), entry_cmp) != NULL)
				break;
			/* not yet added either? (added ones are past n) */
			{
				size_t k;
				int found = 0;

				for (k = n; k < b->nout && !found; k++)
					found = strcmp(b->out[k]->path, p) == 0;
				if (found)
					break;
			}
			maillayout_dir_entry(mb_new_entry(b), p);
			slash = strrchr(p, '/');
			if (slash == NULL)
				break;
			up = xstrndup(p, (size_t)(slash - p));
			free(p);
			p = up;
		}
		free(p);
	}
	qsort(b->out, b->nout, sizeof(*b->out), entry_cmp);
}

static int mb_write_tree(struct mb *b, struct error *err)
{
	size_t i;

	mb_add_prefixes(b);
	for (i = 0; i < b->nout; i++) {
		if (i > 0 && meta_path_cmp(b->out[i - 1]->path, b->out[i]->path) == 0)
			return error_set(err, "two entries of the mailbox map to %s", b->out[i]->path);
		if (point_writer_add(b->pw, b->out[i], err) < 0)
			return -1;
	}
	return 0;
}

/* ---- the whole backup ---- */

/* The latest restore point's manifest (read when the point writer began):
 * cheap, and enough to tell an unchanged mailbox (mailbox_state). */
static void mb_read_last(struct mb *b)
{
	struct error err;

	if (point_writer_parent(b->pw, &b->last, &err) < 0)
		/* A damaged parent only costs fetching everything again. */
		log_warn("%s; fetching every message again", err.msg);
}

/* Every folder and message of the latest point, to reuse what is unchanged. */
static void mb_load_parent(struct mb *b)
{
	struct error err;

	error_init(&err);
	if (b->last && mail_point_open(point_writer_unit(b->pw), point_writer_index(b->pw),
					b->last, NULL, &b->parent, &err) < 0)
		log_warn("%s; fetching every message again", err.msg);
}

/* A digest of the mailbox as LIST-STATUS shows it: each folder's name,
 * attributes and special use, and for a selectable one its UIDVALIDITY,
 * UIDNEXT, MESSAGES and HIGHESTMODSEQ. With CONDSTORE any change to a
 * message (new, expunged, flags) moves HIGHESTMODSEQ or these counts, so an
 * equal digest means an unchanged mailbox. NULL without CONDSTORE or when
 * a folder's status lacks a field: then nothing is concluded. */
static char *mailbox_state(const struct mb *b, const struct imap_folder_list *fl)
{
	const unsigned need = IMAP_ST_MESSAGES | IMAP_ST_UIDNEXT | IMAP_ST_UIDVALIDITY |
			      IMAP_ST_HIGHESTMODSEQ;
	struct buf d;
	uint8_t h[32];
	char *hex = NULL;
	size_t i;

	if (!(b->caps & IMAP_CAP_CONDSTORE))
		return NULL;
	buf_init(&d, 0);
	buf_addf(&d, "coffer-mailbox-state %s %d\n", MAILLAYOUT_VERSION, b->delim);
	for (i = 0; i < fl->n; i++) {
		const struct imap_folder *f = &fl->v[i];
		const struct imap_status *st = &f->status;
		char *flags = folder_flags(f), *use = folder_specialuse(f);

		buf_addf(&d, "%zu:%s %s|%s", strlen(f->name), f->name, flags, use);
		free(flags);
		free(use);
		if (!(f->attrs & IMAP_MBX_NOSELECT)) {
			if ((st->have & need) != need || st->highestmodseq == 0)
				goto out;
			buf_addf(&d, " %" PRIu32 " %" PRIu32 " %" PRIu32 " %" PRIu64, st->uidvalidity,
				 st->uidnext, st->messages, st->highestmodseq);
		}
		buf_addf(&d, "\n");
	}
	crypto_sha256(d.data, d.len, h);
	hex = xmalloc(65);
	hex_encode(h, 32, hex);
out:
	buf_clear(&d);
	return hex;
}

/* Nothing changed since the latest point: the new point is that one's
 * metadata stream again. No message is fetched or written, and the store
 * grows by one manifest. */
static int mb_reuse_last(struct mb *b, struct error *err)
{
	struct point_totals t;

	if (point_writer_reuse_parent(b->pw, &t, err) < 0)
		return -1;
	b->res->messages = b->res->messages_reused = t.files;
	b->res->folders = b->res->folders_unchanged = t.dirs;
	b->res->bytes = t.bytes;
	b->res->whole_point_reused = 1;
	return 0;
}

static int mb_root(struct mb *b)
{
	maillayout_root_entry(mb_new_entry(b), b->delim);
	return 0;
}

static void mb_logout(struct mb *b)
{
	struct error ignored;

	if (b->imap)
		imap_logout(b->imap, &ignored);
}

static int mb_finish_unchanged(struct mb *b, struct imap_folder_list *fl, struct error *err)
{
	mb_logout(b);
	imap_folder_list_clear(fl);
	return mb_reuse_last(b, err);
}

static int mb_body(struct mb *b, const struct imap_opts *io, struct error *err)
{
	struct imap_folder_list fl = { 0 };
	size_t i;
	int ret;

	mb_read_last(b);
	b->imap = imap_connect(io, err);
	ret = b->imap ? 0 : -1;
	if (ret == 0)
		ret = imap_list(b->imap, 1, &fl, err);
	if (ret == 0) /* after the first reply: ENABLE QRESYNC's is in */
		b->caps = imap_caps(b->imap);
	for (i = 0; ret == 0 && i < fl.n; i++)
		if (fl.v[i].delim)
			b->delim = fl.v[i].delim;
	if (ret == 0) {
		char *state = mailbox_state(b, &fl);
		const char *last_state = point_writer_parent_state(b->pw);
		int same = state && last_state && strcmp(state, last_state) == 0;

		point_writer_set_source_state(b->pw, state);
		free(state);
		if (same)
			return mb_finish_unchanged(b, &fl, err);
		mb_load_parent(b);
		ret = mb_root(b);
	}
	for (i = 0; ret == 0 && i < fl.n; i++) {
		int tries = 0;

		/* A dropped connection outside a bulk fetch (which resumes by
		 * itself) fails the command; the folder is done again on a new
		 * connection. Blobs stored by the failed try are deduplicated. */
		while ((ret = backup_folder(b, &fl.v[i], err)) < 0 && err->code == ERROR_FAIL &&
		       tries++ < FOLDER_TRIES) {
			log_warn("%s; trying again", err->msg);
			error_init(err);
		}
	}
	/* Messages of folders that are gone count as removed. */
	for (i = 0; ret == 0 && b->parent && i < b->parent->nfolders; i++)
		if (!b->parent->folders[i].seen)
			b->res->changed_items += b->parent->folders[i].nmsgs;
	if (ret == 0)
		mb_logout(b);
	imap_folder_list_clear(&fl);
	/* The message packs, then the tree (sorted: it is known whole only
	 * now); the point writer commits the rest. */
	if (ret == 0)
		ret = point_stream_flush(b->ps, err);
	if (ret == 0)
		ret = mb_write_tree(b, err);
	if (ret == 0) {
		struct point_totals t = {
			.files = b->res->messages, .dirs = b->res->folders, .bytes = b->res->bytes,
		};

		point_writer_set_totals(b->pw, &t);
	}
	return ret;
}

static void mb_free(struct mb *b)
{
	size_t i;

	for (i = 0; i < b->nout; i++) {
		meta_entry_clear(b->out[i]);
		free(b->out[i]);
	}
	free(b->out);
	imap_close(&b->imap);
	mail_point_close(&b->parent);
	/* Ends a point writer that did not commit (its end marker). */
	point_writer_close(&b->pw);
}

int mail_backup_run(struct store *s, const struct mail_backup_opts *o,
		    struct mail_backup_result *res, struct error *err)
{
	struct mb b = { .o = o, .res = res };
	struct imap_opts io;
	struct point_writer_opts po = { .unit = o->unit, .time_ns = o->time_ns,
					.keep_seconds = o->keep_seconds,
					.retain_seconds = o->retain_seconds,
					.fence = o->fence };
	struct point_result pr;
	char *source;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	if (mail_imap_opts(o->source, &io, err) < 0)
		return -1;
	io.policy = o->netpolicy;
	source = source_name(&io);
	po.source = source;
	b.pw = point_writer_open(s, &po, err);
	if (b.pw == NULL) {
		free(source);
		return error_prefix(err, "backup of mailbox %s", o->unit);
	}
	progress_init(&b.prog, "mail backup", 0, o->quiet);
	/* The writer marker tells prune that blobs not indexed yet may be
	 * referenced soon (docs/prune.md). */
	if (point_writer_begin(b.pw, err) < 0)
		goto out;
	b.ps = point_writer_stream(b.pw);
	ret = mb_body(&b, &io, err);
	if (ret == 0)
		ret = point_writer_commit(b.pw, &pr, err);
	if (ret == 0) {
		res->seq = pr.seq;
		res->new_bytes = pr.new_bytes;
		res->stored_bytes = pr.stored_bytes;
		res->incompressible_bytes = pr.incompressible_bytes;
	}
out:
	progress_done(&b.prog);
	if (ret < 0)
		error_prefix(err, "backup of mailbox %s (%s) failed", o->unit, source);
	mb_free(&b);
	free(source);
	return ret;
}

/* ---- the source interface ---- */

static int imap_backup(struct store *s, const struct source_backup_opts *o,
		       struct source_backup_result *res, struct error *err)
{
	struct mail_backup_opts mo = {
		.unit = o->unit, .source = o->source, .time_ns = o->time_ns, .quiet = o->quiet,
		.keep_seconds = o->keep_seconds, .retain_seconds = o->retain_seconds,
		.netpolicy = o->netpolicy, .fence = o->fence,
	};
	struct mail_backup_result mr;

	if (mail_backup_run(s, &mo, &mr, err) < 0)
		return -1;
	memset(res, 0, sizeof(*res));
	res->seq = mr.seq;
	res->items = mr.messages;
	res->bytes = mr.bytes;
	res->new_bytes = mr.new_bytes;
	res->stored_bytes = mr.stored_bytes;
	res->incompressible_bytes = mr.incompressible_bytes;
	res->changed_items = mr.changed_items;
	res->nwarnings = mr.nwarnings;
	return 0;
}

struct src_restore_ctx {
	const struct source_restore_opts *o;
};

static void src_progress(void *ctx, uint64_t items, uint64_t bytes)
{
	struct src_restore_ctx *c = ctx;

	if (c->o->progress)
		c->o->progress(c->o->ctx, items, bytes);
}

static void src_appended(void *ctx, const char *folder, uint32_t point_uid, uint32_t new_uid)
{
	(void)ctx;
	log_info("appended %s %u as UID %u", folder, point_uid, new_uid);
}

static void src_plan(void *ctx, const char *action, const char *path)
{
	struct src_restore_ctx *c = ctx;

	if (c->o->plan)
		c->o->plan(c->o->ctx, action, path);
}

static int imap_restore(struct store *s, const struct source_restore_opts *o,
			struct source_restore_result *res, struct error *err)
{
	struct src_restore_ctx c = { o };
	const struct json_object *target = o->target ? o->target : o->source;
	struct mail_restore_opts mo = {
		.rp = o->rp, .target = target, .into_folder = jsonu_str(target, "intoFolder"),
		.patterns = o->patterns, .npatterns = o->npatterns, .quiet = o->quiet,
		.appended = src_appended, .progress = src_progress, .ctx = &c,
		.netpolicy = o->netpolicy, .dry_run = o->dry_run, .plan = src_plan,
	};
	struct mail_restore_result mr;

	memset(res, 0, sizeof(*res));
	if (mail_restore_run(s, &mo, &mr, err) < 0) {
		free(mr.withheld_by);
		return -1;
	}
	res->items_total = mr.messages;
	res->items_done = mr.present + mr.appended;
	res->bytes_done = mr.appended_bytes;
	res->unchanged = mr.present > mr.flags_fixed ? mr.present - mr.flags_fixed : 0;
	res->failed = mr.failed;
	res->withheld = mr.withheld;
	res->withheld_by = mr.withheld_by;
	return 0;
}

char *mail_restored_name(int64_t time_ns)
{
	time_t t = (time_t)(time_ns / 1000000000);
	struct tm tm;
	char when[32];

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
	return xasprintf("Restored-%s", when);
}

static struct json_object *imap_new_location(const struct json_object *source,
					     const char *beneath, int64_t now, int dry_run,
					     struct error *err)
{
	struct json_object *copy = NULL;
	char *name;

	(void)beneath; /* folders only */
	(void)dry_run; /* nothing is made here: the restore makes the folder */
	if (json_object_deep_copy((struct json_object *)(uintptr_t)source, &copy, NULL) < 0 ||
	    copy == NULL) {
		error_set(err, "cannot copy the source JSON");
		return NULL;
	}
	name = mail_restored_name(now * 1000000000LL); /* now: Unix seconds */
	json_object_object_add(copy, "intoFolder", json_object_new_string(name));
	free(name);
	return copy;
}

const struct source_ops source_imap_ops = {
	.type = "imap",
	.backup = imap_backup,
	.restore = imap_restore,
	.new_location = imap_new_location,
};
