/* A mailbox restore point read back (mail_point.h); the layout itself is
 * engine/maillayout.c. */
#include "engine/mail_point.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tree.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "store/pack.h"
#include "store/rp.h"

#define MSGID_MAX 998
#define HEADER_SCAN_MAX (1u << 20)

/* The end of the header part: the offset after the blank line, or len. */
static size_t header_end(const uint8_t *d, size_t len, int *complete_r)
{
	size_t i;

	*complete_r = 0;
	if (len > 0 && d[0] == '\n') {
		*complete_r = 1;
		return 1;
	}
	if (len > 1 && d[0] == '\r' && d[1] == '\n') {
		*complete_r = 1;
		return 2;
	}
	for (i = 0; i + 1 < len; i++) {
		if (d[i] != '\n')
			continue;
		if (d[i + 1] == '\n' || (d[i + 1] == '\r' && i + 2 < len && d[i + 2] == '\n')) {
			*complete_r = 1;
			return i + 1;
		}
	}
	return len;
}

int mail_header_complete(const uint8_t *data, size_t len)
{
	int complete;

	header_end(data, len, &complete);
	return complete;
}

static int is_msgid_name(const uint8_t *p, size_t len)
{
	static const char name[] = "message-id:";
	size_t i;

	if (len < sizeof(name) - 1)
		return 0;
	for (i = 0; i < sizeof(name) - 1; i++)
		if (tolower(p[i]) != name[i])
			return 0;
	return 1;
}

char *mail_message_id(const uint8_t *data, size_t len)
{
	int complete;
	size_t end = header_end(data, len, &complete), i = 0;

	while (i < end) {
		size_t eol = i;

		while (eol < end && data[eol] != '\n')
			eol++;
		if (is_msgid_name(data + i, eol - i)) {
			struct buf v;
			size_t j = i + 11;

			/* The value runs on over folded lines (starting with
			 * space or tab); whitespace is dropped, since a
			 * Message-ID has none that matters. */
			buf_init(&v, 0);
			for (;;) {
				for (; j < eol; j++)
					if (!isspace(data[j]) && v.len < MSGID_MAX)
						buf_add_u8(&v, data[j]);
				if (eol + 1 >= end || (data[eol + 1] != ' ' && data[eol + 1] != '\t'))
					break;
				j = eol + 1;
				eol = j;
				while (eol < end && data[eol] != '\n')
					eol++;
			}
			if (v.len == 0) {
				buf_clear(&v);
				return NULL;
			}
			return (char *)buf_steal(&v, NULL);
		}
		i = eol + 1;
	}
	return NULL;
}

/* ---- a restore point read back ---- */

static int folder_cmp_path(const void *a, const void *b)
{
	const struct mail_folder *x = a, *y = b;

	return strcmp(x->path, y->path);
}

/* The folder whose path is `path` (folders sorted by path, bsearch). */
static struct mail_folder *folder_by_path(struct mail_folder *v, size_t n, const char *path)
{
	struct mail_folder key = { .path = (char *)(uintptr_t)path };

	return n ? bsearch(&key, v, n, sizeof(*v), folder_cmp_path) : NULL;
}

static int key_cmp(const void *a, const void *b)
{
	const struct mail_msg *x = *(const struct mail_msg *const *)a;
	const struct mail_msg *y = *(const struct mail_msg *const *)b;

	if (x->e.size != y->e.size)
		return x->e.size < y->e.size ? -1 : 1;
	if (x->e.mtime_s != y->e.mtime_s)
		return x->e.mtime_s < y->e.mtime_s ? -1 : 1;
	return 0;
}

static void folder_add_msg(struct mail_folder *f, uint32_t uid, const struct meta_entry *e)
{
	struct mail_msg *m;

	if (f->nmsgs == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		f->msgs = xrealloc(f->msgs, xmul(f->cap, sizeof(*f->msgs)));
	}
	m = &f->msgs[f->nmsgs++];
	memset(m, 0, sizeof(*m));
	m->uid = uid;
	meta_entry_copy(&m->e, e);
}

static void folder_from_entry(struct mail_folder *f, const struct meta_entry *e, char *name)
{
	char *flags = meta_entry_xattr_str(e, MAILLAYOUT_XATTR_FLAGS);

	memset(f, 0, sizeof(*f));
	f->name = name;
	f->path = xstrdup(e->path);
	meta_entry_copy(&f->dir, e);
	f->uidvalidity = (uint32_t)maillayout_xattr_u64(e, MAILLAYOUT_XATTR_UIDVALIDITY, 0);
	f->uidnext = (uint32_t)maillayout_xattr_u64(e, MAILLAYOUT_XATTR_UIDNEXT, 0);
	f->highestmodseq = maillayout_xattr_u64(e, MAILLAYOUT_XATTR_HIGHESTMODSEQ, 0);
	f->noselect = flags && (strstr(flags, "\\Noselect") || strstr(flags, "\\NonExistent"));
	free(flags);
}

/* Messages arrive after their folder but maybe after other folders too
 * (children sort among the messages), so they are collected first and
 * put into their folders once all folders are known. */
struct pending_msg {
	char *dir;
	uint32_t uid;
	struct meta_entry e;
};

static int point_read(struct mail_point *pt, const struct rp *rp, struct tree_reader *tr,
		      struct pending_msg **pend_r, size_t *npend_r, struct error *err)
{
	struct meta_entry *e;
	size_t cap = 0, fcap = 0;
	int r, seen_root = 0;

	while ((r = tree_reader_next(tr, &e, err)) == 1) {
		if (tree_reader_withheld(tr) != NULL) {
			pt->withheld = xrealloc(pt->withheld,
						xmul(pt->nwithheld + 1, sizeof(*pt->withheld)));
			pt->withheld[pt->nwithheld].path = xstrdup(e->path);
			pt->withheld[pt->nwithheld++].request = tree_reader_withheld(tr);
			continue;
		}
		if (!seen_root) {
			seen_root = 1;
			if (maillayout_check_root(e, rp->unit, rp->seq, err) < 0)
				return -1;
			pt->delim = maillayout_root_delimiter(e);
			meta_entry_copy(&pt->root, e);
			continue;
		}
		if (e->type == META_DIR) {
			char *name = meta_entry_xattr_str(e, MAILLAYOUT_XATTR_NAME);

			if (name == NULL)
				continue; /* a path prefix only */
			if (pt->nfolders == fcap) {
				fcap = fcap ? fcap * 2 : 16;
				pt->folders = xrealloc(pt->folders, xmul(fcap, sizeof(*pt->folders)));
			}
			folder_from_entry(&pt->folders[pt->nfolders++], e, name);
		} else if (e->type == META_FILE) {
			const char *slash = strrchr(e->path, '/');
			struct pending_msg *pm;
			uint32_t uid;

			if (!maillayout_message_uid(e->path, &uid))
				continue;
			if (*npend_r == cap) {
				cap = cap ? cap * 2 : 256;
				*pend_r = xrealloc(*pend_r, xmul(cap, sizeof(**pend_r)));
			}
			pm = &(*pend_r)[(*npend_r)++];
			pm->dir = slash ? xstrndup(e->path, (size_t)(slash - e->path)) : xstrdup("");
			pm->uid = uid;
			meta_entry_copy(&pm->e, e);
		}
	}
	if (r < 0)
		return error_prefix(err, "restore point %s@%u", rp->unit, rp->seq);
	if (!seen_root)
		return maillayout_check_root(NULL, rp->unit, rp->seq, err);
	return 0;
}

static void point_index(struct mail_point *pt)
{
	size_t i, j, n = 0;

	for (i = 0; i < pt->nfolders; i++)
		n += pt->folders[i].nmsgs;
	pt->bykey = xcalloc(n ? n : 1, sizeof(*pt->bykey));
	for (i = 0; i < pt->nfolders; i++)
		for (j = 0; j < pt->folders[i].nmsgs; j++)
			pt->bykey[pt->nbykey++] = &pt->folders[i].msgs[j];
	qsort(pt->bykey, pt->nbykey, sizeof(*pt->bykey), key_cmp);
}

int mail_point_open(struct store_unit *u, const struct index *ix, const struct rp *rp,
		    struct erasure_set *es, struct mail_point **pt_r, struct error *err)
{
	struct mail_point *pt = xcalloc(1, sizeof(*pt));
	struct tree_reader *tr = tree_reader_open(u, ix, rp, err);
	struct pending_msg *pend = NULL;
	size_t npend = 0, i;
	int ret = -1;

	if (tr != NULL && es != NULL)
		tree_reader_withhold(tr, es, 1);

	pt->u = u;
	pt->ix = ix;
	pt->pr = pack_reader_open(u);
	if (tr != NULL)
		ret = point_read(pt, rp, tr, &pend, &npend, err);
	else
		error_prefix(err, "restore point %s@%u", rp->unit, rp->seq);
	tree_reader_close(&tr);
	/* Folder order (tree order) is kept in the file; a sorted copy by
	 * path would need its own array, so sort and rely on name lookups. */
	if (pt->nfolders > 1)
		qsort(pt->folders, pt->nfolders, sizeof(*pt->folders), folder_cmp_path);
	for (i = 0; i < npend; i++) {
		struct mail_folder *f = ret == 0 ? folder_by_path(pt->folders, pt->nfolders,
								  pend[i].dir) : NULL;

		if (f != NULL)
			folder_add_msg(f, pend[i].uid, &pend[i].e);
		else if (ret == 0)
			log_warn("%s in the restore point is not in a folder; left out", pend[i].e.path);
		meta_entry_clear(&pend[i].e);
		free(pend[i].dir);
	}
	free(pend);
	if (ret < 0) {
		mail_point_close(&pt);
		return -1;
	}
	point_index(pt);
	*pt_r = pt;
	return 0;
}

void mail_point_close(struct mail_point **ptp)
{
	struct mail_point *pt = *ptp;
	size_t i, j;

	if (pt == NULL)
		return;
	for (i = 0; i < pt->nfolders; i++) {
		struct mail_folder *f = &pt->folders[i];

		for (j = 0; j < f->nmsgs; j++) {
			meta_entry_clear(&f->msgs[j].e);
			free(f->msgs[j].msgid);
		}
		free(f->msgs);
		free(f->name);
		free(f->path);
		meta_entry_clear(&f->dir);
	}
	free(pt->folders);
	free(pt->bykey);
	for (i = 0; i < pt->nwithheld; i++)
		free(pt->withheld[i].path);
	free(pt->withheld);
	meta_entry_clear(&pt->root);
	pack_reader_close(&pt->pr);
	free(pt);
	*ptp = NULL;
}

struct mail_folder *mail_point_folder(struct mail_point *pt, const char *name)
{
	size_t i;

	for (i = 0; i < pt->nfolders; i++)
		if (strcmp(pt->folders[i].name, name) == 0)
			return &pt->folders[i];
	return NULL;
}

static int msg_uid_cmp(const void *a, const void *b)
{
	const struct mail_msg *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

struct mail_msg *mail_folder_msg(struct mail_folder *f, uint32_t uid)
{
	struct mail_msg key = { .uid = uid };

	return f->nmsgs ? bsearch(&key, f->msgs, f->nmsgs, sizeof(*f->msgs), msg_uid_cmp) : NULL;
}

struct mail_msg **mail_point_bykey(struct mail_point *pt, uint64_t size, int64_t date,
				   size_t *n_r)
{
	struct mail_msg probe, *pp = &probe;
	size_t lo = 0, hi = pt->nbykey, end;

	probe.e.size = size;
	probe.e.mtime_s = date;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (key_cmp(&pt->bykey[mid], &pp) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < pt->nbykey && key_cmp(&pt->bykey[end], &pp) == 0; end++)
		;
	*n_r = end - lo;
	return pt->bykey + lo;
}

int mail_point_msgid(struct mail_point *pt, struct mail_msg *m, const char **msgid_r,
		     struct error *err)
{
	struct buf all, blob;
	size_t i;
	int ret = 0;

	if (m->msgid_loaded) {
		*msgid_r = m->msgid;
		return 0;
	}
	buf_init(&all, 0);
	buf_init(&blob, 0);
	/* The header is nearly always inside the first chunk. */
	for (i = 0; i < m->e.nextents && all.len < HEADER_SCAN_MAX; i++) {
		ret = blob_fetch(pt->u, pt->ix, pt->pr, m->e.extents[i].id, 0, &blob, err);
		if (ret < 0)
			break;
		buf_add(&all, blob.data, blob.len);
		if (mail_header_complete(all.data, all.len))
			break;
	}
	if (ret == 0) {
		m->msgid = mail_message_id(all.data, all.len);
		m->msgid_loaded = 1;
		*msgid_r = m->msgid;
	} else {
		error_prefix(err, "message %s", m->e.path);
	}
	buf_clear(&all);
	buf_clear(&blob);
	return ret;
}

int mail_point_read(struct mail_point *pt, const struct mail_msg *m, struct buf *out,
		    struct error *err)
{
	struct buf blob;
	size_t i;
	int ret = 0;

	buf_reset(out);
	buf_init(&blob, 0);
	for (i = 0; i < m->e.nextents && ret == 0; i++) {
		ret = blob_fetch(pt->u, pt->ix, pt->pr, m->e.extents[i].id, 1, &blob, err);
		if (ret == 0 && blob.len != m->e.extents[i].len)
			ret = error_setk(err, ERROR_CORRUPT, "a chunk has %zu bytes, not %u",
					 blob.len, m->e.extents[i].len);
		if (ret == 0)
			buf_add(out, blob.data, blob.len);
	}
	buf_clear(&blob);
	if (ret < 0)
		return error_prefix(err, "cannot read message %s", m->e.path);
	return 0;
}
