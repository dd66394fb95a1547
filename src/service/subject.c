/* Data-subject requests (docs/privacy.md sections 9 and 10): the export of
 * every message from or to an address, each once, and the access report
 * read from the audit log.
 *
 * Which messages: the tenant's search index, by its exact address table
 * (docs/mail.md section 5), so display names and substrings never match.
 * Their bytes: read only through engine/mailexport.h (an export to a sink),
 * as every other mail export reads them, so whatever that withholds is
 * withheld here too. Copies of one message in several mailboxes have
 * different message keys (their units' keys differ): the export tells
 * them apart by the SHA-256 of their bytes, keeps the first and lists
 * where every copy was found in X-Coffer-Source lines before it. */
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "catalog/catalog.h"
#include "crypto/crypto.h"
#include "engine/erasure.h"
#include "engine/mailexport.h"
#include "engine/mailindex.h"
#include "engine/mailparse.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/timeutil.h"
#include "service/internal.h"
#include "service/service.h"
#include "store/index.h"
#include "store/rp.h"
#include "store/store.h"

/* Index results asked per page. */
#define HITS_PAGE 1000
/* Messages about an address the access report looks at, at most. */
#define REPORT_HITS_MAX 100000
#define FLUSH_AT (1u << 20)

/* ---- what the index says about an address ---- */

/* One place of a message: a folder and UID of a unit, in points seqs. */
struct place {
	char *unit, *folder, *folder_utf8, *path;
	uint32_t uid;
	uint32_t *seqs; /* ascending */
	size_t nseqs;
};

/* One message row of the index: where it is and where to read it from
 * (the newest point holding it). */
struct cand {
	struct place *places;
	size_t nplaces;
	char *unit, *path;
	uint32_t seq;
	int read; /* its bytes came through the sink */
};

struct cands {
	struct cand *c;
	size_t n;
};

static void place_copy(struct place *to, const struct mailindex_place *pl)
{
	to->unit = xstrdup(pl->unit);
	to->folder = xstrdup(pl->folder);
	to->folder_utf8 = xstrdup(pl->folder_utf8);
	to->path = xstrdup(pl->path);
	to->uid = pl->uid;
	to->nseqs = pl->nseqs;
	to->seqs = xcalloc(pl->nseqs ? pl->nseqs : 1, sizeof(uint32_t));
	memcpy(to->seqs, pl->seqs, pl->nseqs * sizeof(uint32_t));
}

static void cands_clear(struct cands *cs)
{
	for (size_t i = 0; i < cs->n; i++) {
		struct cand *c = &cs->c[i];

		for (size_t k = 0; k < c->nplaces; k++) {
			free(c->places[k].unit);
			free(c->places[k].folder);
			free(c->places[k].folder_utf8);
			free(c->places[k].path);
			free(c->places[k].seqs);
		}
		free(c->places);
		free(c->unit);
		free(c->path);
	}
	free(cs->c);
	memset(cs, 0, sizeof(*cs));
}

static void cand_add(struct cands *cs, const struct mailindex_hit *h)
{
	struct cand *c;

	if (h->where == NULL)
		return;
	cs->c = xrealloc(cs->c, xmul(cs->n + 1, sizeof(*cs->c)));
	c = &cs->c[cs->n++];
	memset(c, 0, sizeof(*c));
	c->unit = xstrdup(h->where->unit);
	c->path = xstrdup(h->where->path);
	c->seq = h->where_seq;
	c->places = xcalloc(h->nplaces ? h->nplaces : 1, sizeof(*c->places));
	for (size_t k = 0; k < h->nplaces; k++)
		place_copy(&c->places[c->nplaces++], &h->places[k]);
}

/* Every message row of the index holding `addr`, newest first; at most
 * max (0: all). *more_r (may be NULL): some were left out. */
static int cands_collect(struct mailindex *mi, const char *addr, size_t max, struct cands *cs,
			 int *more_r, struct error *err)
{
	struct mailindex_query q = { .address = addr, .limit = HITS_PAGE };
	struct mailindex_results res;

	if (more_r)
		*more_r = 0;
	for (;;) {
		if (mailindex_search(mi, &q, &res, err) < 0)
			return -1;
		for (size_t i = 0; i < res.n; i++)
			cand_add(cs, &res.hits[i]);
		q.offset += res.n;
		if (!res.more || res.n == 0 || (max && cs->n >= max)) {
			if (more_r)
				*more_r = res.more;
			mailindex_results_clear(&res);
			return 0;
		}
		mailindex_results_clear(&res);
	}
}

/* ---- the export ---- */

/* One distinct content: its bytes in the spool file, and the message rows
 * that hold it. */
struct content {
	uint8_t hash[32];
	off_t off;
	size_t len;
	int64_t idate;
	char *tz, *sender;
	size_t *cands;
	size_t ncands;
};

struct subject_export {
	struct service *s;
	const char *tenant;
	struct cands cs;
	struct content *ct;
	size_t nct;
	size_t *slots; /* open addressing over ct by hash: index + 1, 0 empty */
	size_t nslots;
	int spool;
	off_t spool_len;
	struct cand **group; /* the message rows being read from one point, by path */
	size_t ngroup;
	struct json_object *names; /* unit id -> name (cache) */
	struct json_object *withheld; /* what the erasure ledgers withheld (erasure.h) */
};

static uint64_t hash_slot(const uint8_t hash[32])
{
	uint64_t v;

	memcpy(&v, hash, sizeof(v));
	return v;
}

static void slots_grow(struct subject_export *x)
{
	size_t n = x->nslots ? 2 * x->nslots : 1024;

	free(x->slots);
	x->slots = xcalloc(n, sizeof(size_t));
	x->nslots = n;
	for (size_t i = 0; i < x->nct; i++) {
		size_t k = hash_slot(x->ct[i].hash) & (n - 1);

		while (x->slots[k])
			k = (k + 1) & (n - 1);
		x->slots[k] = i + 1;
	}
}

/* The content with this hash, or a new one (*is_new_r = 1). */
static struct content *content_find(struct subject_export *x, const uint8_t hash[32],
				    int *is_new_r)
{
	size_t k;

	if (2 * (x->nct + 1) > x->nslots)
		slots_grow(x);
	for (k = hash_slot(hash) & (x->nslots - 1); x->slots[k];
	     k = (k + 1) & (x->nslots - 1)) {
		if (memcmp(x->ct[x->slots[k] - 1].hash, hash, 32) == 0) {
			*is_new_r = 0;
			return &x->ct[x->slots[k] - 1];
		}
	}
	x->ct = xrealloc(x->ct, xmul(x->nct + 1, sizeof(*x->ct)));
	memset(&x->ct[x->nct], 0, sizeof(*x->ct));
	memcpy(x->ct[x->nct].hash, hash, 32);
	x->slots[k] = ++x->nct;
	*is_new_r = 1;
	return &x->ct[x->nct - 1];
}

/* The message row of the group being read that is at `path`, or NULL. */
static struct cand *group_find(const struct subject_export *x, const char *path)
{
	size_t lo = 0, hi = x->ngroup;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(x->group[mid]->path, path);

		if (c == 0)
			return x->group[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The sender of the From_ line: an address without white space, or NULL. */
static char *mbox_sender(const uint8_t *msg, size_t len)
{
	char *a = mailparse_sender_address(msg, len);

	if (a && strpbrk(a, " \t\r\n") != NULL) {
		free(a);
		a = NULL;
	}
	return a;
}

/* Each message read: the first copy of a content goes to the spool file;
 * every copy adds its message row to the content's. */
static int on_message(void *ctx, const struct mailexport_msg *m, struct error *err)
{
	struct subject_export *x = ctx;
	struct cand *cd = group_find(x, m->path);
	struct content *c;
	uint8_t hash[32];
	int is_new;

	if (cd == NULL || cd->read)
		return 0;
	cd->read = 1;
	crypto_sha256(m->data, m->len, hash);
	c = content_find(x, hash, &is_new);
	if (is_new) {
		if (fs_pwrite_all(x->spool, m->data, m->len, x->spool_len, "the export's spool file",
				  err) < 0)
			return -1;
		c->off = x->spool_len;
		c->len = m->len;
		x->spool_len += (off_t)m->len;
		c->idate = m->internal_date;
		c->tz = xstrdup(m->tz);
		c->sender = mbox_sender(m->data, m->len);
	}
	c->cands = xrealloc(c->cands, xmul(c->ncands + 1, sizeof(size_t)));
	c->cands[c->ncands++] = (size_t)(cd - x->cs.c);
	return 0;
}

/* Message rows in reading order: by unit, point, then path. */
static int cand_order(const void *a, const void *b)
{
	const struct cand *p = *(struct cand *const *)a, *q = *(struct cand *const *)b;
	int c = strcmp(p->unit, q->unit);

	if (c == 0)
		c = (p->seq > q->seq) - (p->seq < q->seq);
	return c ? c : strcmp(p->path, q->path);
}

/* Reads one point's share: x->group[0..ngroup), all of unit su at seq. */
static int read_group(struct subject_export *x, struct mailexport *sink, struct store_unit *su,
		      uint32_t seq, struct error *err)
{
	const char **paths = xcalloc(x->ngroup, sizeof(char *));
	struct index *ix = NULL;
	struct rp *rp = NULL;
	int ret = -1;

	for (size_t i = 0; i < x->ngroup; i++)
		paths[i] = x->group[i]->path;
	if (rp_read(su, seq, &rp, err) == 0 && (ix = index_open(su, err)) != NULL)
		ret = mailexport_add_paths(sink, su, ix, rp, paths, x->ngroup, err);
	if (ret < 0)
		error_prefix(err, "export from %s@%" PRIu32, store_unit_name(su), seq);
	index_close(&ix);
	rp_free(&rp);
	free(paths);
	return ret;
}

/* Reads every message row once, from its newest point, through a sink
 * export. */
static int read_all(struct subject_export *x, struct store *st, struct error *err)
{
	struct cand **order = xcalloc(x->cs.n ? x->cs.n : 1, sizeof(*order));
	struct mailexport *sink = mailexport_open_sink(on_message, x);
	struct store_unit *su = NULL;
	size_t i, k;
	int ret = 0;

	for (i = 0; i < x->cs.n; i++)
		order[i] = &x->cs.c[i];
	qsort(order, x->cs.n, sizeof(*order), cand_order);
	for (i = 0; i < x->cs.n && ret == 0; i = k) {
		const struct cand *c = order[i];

		for (k = i + 1; k < x->cs.n; k++) {
			const struct cand *d = order[k];

			if (d->seq != c->seq || strcmp(d->unit, c->unit) != 0)
				break;
		}
		if (su == NULL || strcmp(store_unit_name(su), c->unit) != 0) {
			store_unit_close(&su);
			if ((su = store_unit_open(st, c->unit, 0, err)) == NULL) {
				ret = -1;
				break;
			}
		}
		x->group = order + i; /* sorted by path within the point */
		x->ngroup = k - i;
		ret = read_group(x, sink, su, c->seq, err);
	}
	x->group = NULL;
	x->ngroup = 0;
	if (mailexport_withheld(sink))
		x->withheld = json_object_get(mailexport_withheld(sink));
	store_unit_close(&su);
	mailexport_close(&sink);
	free(order);
	return ret;
}

/* A unit's name from the catalog (cached), or NULL. */
static const char *unit_name(struct subject_export *x, const char *id)
{
	struct catalog_unit *u = NULL;
	struct json_object *v;
	struct error err;

	if (json_object_object_get_ex(x->names, id, &v))
		return v ? json_object_get_string(v) : NULL;
	error_init(&err);
	if (catalog_unit_get(svc_catalog(x->s), x->tenant, id, &u, &err) == 0)
		json_object_object_add(x->names, id, json_object_new_string(u->name));
	else
		json_object_object_add(x->names, id, NULL);
	catalog_unit_free(&u);
	return json_object_object_get_ex(x->names, id, &v) && v ? json_object_get_string(v) : NULL;
}

/* s as a quoted string of a header field: '"' and '\' escaped, control
 * characters as '?' (a line break would end the field). */
static void add_quoted(struct buf *b, const char *s)
{
	buf_add(b, "\"", 1);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			buf_add(b, "\\", 1);
		if (ch < 0x20 || ch == 0x7f)
			ch = '?';
		buf_add(b, &ch, 1);
	}
	buf_add(b, "\"", 1);
}

/* One X-Coffer-Source line per place of every copy of the content, in the
 * message's own line ending, each numbered "n=K/N": a message that carries
 * such lines itself cannot pass them off as the export's, since exactly N
 * lines come before its bytes. */
static void source_lines(struct subject_export *x, const struct content *c, const uint8_t *msg,
			 struct buf *b)
{
	const uint8_t *nl = c->len ? memchr(msg, '\n', c->len) : NULL;
	const char *eol = nl && nl > msg && nl[-1] == '\r' ? "\r\n" : "\n";
	size_t total = 0, n = 0;

	for (size_t i = 0; i < c->ncands; i++)
		for (size_t k = 0; k < x->cs.c[c->cands[i]].nplaces; k++)
			total += x->cs.c[c->cands[i]].places[k].nseqs > 0;
	for (size_t i = 0; i < c->ncands; i++) {
		const struct cand *cd = &x->cs.c[c->cands[i]];

		for (size_t k = 0; k < cd->nplaces; k++) {
			const struct place *pl = &cd->places[k];
			const char *name = unit_name(x, pl->unit);

			if (pl->nseqs == 0)
				continue;
			buf_addf(b, "X-Coffer-Source: n=%zu/%zu; unit=%s; unitName=", ++n, total,
				 pl->unit);
			add_quoted(b, name ? name : "");
			buf_addf(b, "; folder=");
			add_quoted(b, pl->folder_utf8);
			buf_addf(b, "; uid=%" PRIu32 "; firstRestorePoint=%" PRIu32
				 "; lastRestorePoint=%" PRIu32 "; restorePoints=%zu%s", pl->uid,
				 pl->seqs[0], pl->seqs[pl->nseqs - 1], pl->nseqs, eol);
		}
	}
}

static int write_mbox(struct subject_export *x, int fd, const char *path, struct error *err)
{
	struct buf out, msg, whole;
	int ret = 0;

	buf_init(&out, 0);
	buf_init(&msg, 0);
	buf_init(&whole, 0);
	for (size_t i = 0; i < x->nct && ret == 0; i++) {
		const struct content *c = &x->ct[i];

		buf_reset(&msg);
		buf_reset(&whole);
		if (fs_pread_all(x->spool, buf_extend(&msg, c->len), c->len, c->off,
				 "the export's spool file", err) < 0) {
			ret = -1;
			break;
		}
		/* The source lines, then the message's exact bytes. */
		source_lines(x, c, msg.data, &whole);
		buf_add(&whole, msg.data, msg.len);
		mailexport_mboxrd(whole.data, whole.len, c->sender, c->idate, c->tz, &out);
		if (out.len >= FLUSH_AT) {
			ret = fs_write_all(fd, out.data, out.len, path, err);
			buf_reset(&out);
		}
	}
	if (ret == 0)
		ret = fs_write_all(fd, out.data, out.len, path, err);
	if (ret == 0 && fsync(fd) < 0)
		ret = error_sys(err, "fsync(%s) failed", path);
	buf_clear(&out);
	buf_clear(&msg);
	buf_clear(&whole);
	return ret;
}

/* A new file DATA/tmp/<what>-<random><ext>, 0600; its path in *path_r. */
static int tmp_create(struct service *s, const char *what, const char *ext, char **path_r,
		      struct error *err)
{
	char *dir = fs_join(svc_cfg(s)->data_dir, "tmp");
	uint8_t rnd[8];
	char hex[17];
	int fd;

	*path_r = NULL;
	if (fs_mkdir_p(dir, err) < 0) {
		free(dir);
		return -1;
	}
	crypto_random(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), hex);
	*path_r = xasprintf("%s/%s-%s%s", dir, what, hex, ext);
	free(dir);
	fd = open(*path_r, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		error_sys(err, "cannot create %s", *path_r);
	return fd;
}

/* Writes the mbox and hands it over open, its name already gone. */
static int export_finish(struct subject_export *x, struct svc_export *out, struct error *err)
{
	char *path = NULL;
	int fd = tmp_create(x->s, "subject-export", ".mbox", &path, err), rfd = -1;
	struct stat stt;
	int ret = -1;

	if (fd < 0)
		goto out;
	if (write_mbox(x, fd, path, err) < 0)
		goto out;
	if ((rfd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(rfd, &stt) < 0) {
		error_sys(err, "cannot open %s", path);
		goto out;
	}
	out->fd = rfd;
	out->size = (uint64_t)stt.st_size;
	out->messages = x->nct;
	out->withheld = x->withheld ? erasure_report_total(x->withheld) : 0;
	out->withheld_by = out->withheld ? xstrdup(json_object_to_json_string_ext(
					x->withheld, JSON_C_TO_STRING_PLAIN)) : NULL;
	rfd = -1;
	ret = 0;
out:
	if (rfd >= 0)
		close(rfd);
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	free(path);
	return ret;
}

static void export_clear(struct subject_export *x)
{
	for (size_t i = 0; i < x->nct; i++) {
		free(x->ct[i].tz);
		free(x->ct[i].sender);
		free(x->ct[i].cands);
	}
	free(x->ct);
	free(x->slots);
	cands_clear(&x->cs);
	if (x->spool >= 0)
		close(x->spool);
	json_object_put(x->names);
	json_object_put(x->withheld);
}

/* The address and format of a request; *addr_r normalized. */
static int export_input(struct json_object *in, char **addr_r, struct error *err)
{
	struct json_object *v;
	const char *a = NULL;

	*addr_r = NULL;
	if (in && json_object_object_get_ex(in, "format", &v) && v &&
	    (!json_object_is_type(v, json_type_string) ||
	     strcmp(json_object_get_string(v), "mbox") != 0))
		return error_setk(err, ERROR_USAGE, "format \"%.32s\" is not offered: a subject "
				  "export is mbox", json_object_get_string(v));
	if (in && json_object_object_get_ex(in, "address", &v) && v &&
	    json_object_is_type(v, json_type_string))
		a = json_object_get_string(v);
	if (a == NULL)
		return error_setk(err, ERROR_USAGE, "\"address\" (an e-mail address) is required");
	if ((*addr_r = mailparse_address_norm(a)) == NULL)
		return error_setk(err, ERROR_USAGE, "address \"%.300s\" is not one e-mail address "
				  "(local-part@domain)", a);
	return 0;
}

static void add_unique(struct json_object *arr, const char *s)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), s) == 0)
			return;
	json_object_array_add(arr, json_object_new_string(s));
}

/* What the audit entry says before anything is read: the address and
 * what the index names (message rows, their places, the units). */
static struct json_object *export_detail(const struct cands *cs, const char *addr)
{
	struct json_object *d = json_object_new_object(), *units = json_object_new_array();
	size_t places = 0;

	for (size_t i = 0; i < cs->n; i++) {
		places += cs->c[i].nplaces;
		add_unique(units, cs->c[i].unit);
		for (size_t k = 0; k < cs->c[i].nplaces; k++)
			add_unique(units, cs->c[i].places[k].unit);
	}
	json_object_object_add(d, "address", json_object_new_string(addr));
	json_object_object_add(d, "format", json_object_new_string("mbox"));
	json_object_object_add(d, "messagesIndexed", json_object_new_int64((int64_t)cs->n));
	json_object_object_add(d, "places", json_object_new_int64((int64_t)places));
	json_object_object_add(d, "units", units);
	return d;
}

int svc_subject_export(struct service *s, const struct svc_principal *p, const char *tenant,
		       struct json_object *in, struct svc_export *out, struct error *err)
{
	struct subject_export x = { .s = s, .tenant = tenant, .spool = -1 };
	struct json_object *detail = NULL;
	struct mailindex *mi = NULL;
	struct store *st = NULL;
	char *addr = NULL, *spool_path = NULL;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (svc_authorize(p, tenant, SVC_PERM_PRIVACY, err) < 0 ||
	    export_input(in, &addr, err) < 0)
		goto out;
	x.names = json_object_new_object();
	/* The index is brought up to date and asked first (nothing of a
	 * message is read from the store for that beyond indexing), so that
	 * the audit entry can say what the export covers. */
	if ((mi = svc_mail_index(s, tenant, 1, err)) == NULL ||
	    cands_collect(mi, addr, 0, &x.cs, NULL, err) < 0)
		goto out;
	mailindex_close(&mi);
	detail = export_detail(&x.cs, addr);
	if (svc_audit(s, p, tenant, "subject.export", addr, detail, err) < 0)
		goto out;
	if ((x.spool = tmp_create(s, "subject-spool", "", &spool_path, err)) < 0)
		goto out;
	unlink(spool_path); /* nothing stays behind, whatever happens */
	if ((st = svc_tenant_store(s, tenant, 0, err)) == NULL || read_all(&x, st, err) < 0 ||
	    export_finish(&x, out, err) < 0) {
		error_prefix(err, "subject export");
		goto out;
	}
	log_info("event=subject.export tenant=%s indexed=%zu messages=%zu bytes=%" PRIu64
		 " withheld=%" PRIu64, tenant, x.cs.n, x.nct, out->size, out->withheld);
	ret = 0;
out:
	store_close(&st);
	mailindex_close(&mi);
	json_object_put(detail);
	export_clear(&x);
	free(spool_path);
	free(addr);
	return ret;
}

/* ---- the access report ---- */

struct actor {
	char *id, *name, *role;
};

struct report {
	struct service *s;
	const char *tenant;
	char *unit_id, *unit_name; /* a unit's report */
	char *addr;                /* an address's report */
	struct cands about;        /* the messages the index knows about addr */
	int about_more;            /* more than REPORT_HITS_MAX */
	int unit_is_mailbox;       /* searches without a unit filter cover it */
	struct actor *actors;
	size_t nactors;
	int all_tokens; /* every token loaded, not only the tenant's */
	struct json_object *names; /* unit id -> name */
};

static void actors_load(struct report *r, const char *tenant, struct error *err)
{
	struct catalog_page pg = { NULL, 1000 };
	struct catalog_token **ts = NULL;
	char *after = NULL;
	size_t n;

	for (;;) {
		if (catalog_token_list(svc_catalog(r->s), tenant, &pg, &ts, &n, err) < 0)
			break;
		for (size_t i = 0; i < n; i++) {
			struct actor *a;

			r->actors = xrealloc(r->actors, xmul(r->nactors + 1, sizeof(*r->actors)));
			a = &r->actors[r->nactors++];
			a->id = xstrdup(ts[i]->id);
			a->name = xstrdup(ts[i]->name ? ts[i]->name : "");
			a->role = xstrdup(ts[i]->role ? ts[i]->role : "");
		}
		free(after);
		after = n ? xstrdup(ts[n - 1]->id) : NULL;
		CATALOG_LIST_FREE(ts, n, catalog_token_free);
		if (n < (size_t)pg.limit)
			break;
		pg.after = after;
	}
	free(after);
}

/* The token behind an actor id (revoked ones too), or NULL ("system"). */
static const struct actor *actor_of(struct report *r, const char *id)
{
	struct error err;

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < r->nactors; i++)
			if (strcmp(r->actors[i].id, id) == 0)
				return &r->actors[i];
		if (r->all_tokens || strcmp(id, "system") == 0)
			return NULL;
		/* A global token (the global admin's) acted in the tenant. */
		r->all_tokens = 1;
		error_init(&err);
		actors_load(r, NULL, &err);
	}
	return NULL;
}

static const char *report_unit_name(struct report *r, const char *id)
{
	struct catalog_unit *u = NULL;
	struct json_object *v;
	struct error err;

	if (json_object_object_get_ex(r->names, id, &v))
		return v ? json_object_get_string(v) : NULL;
	error_init(&err);
	if (catalog_unit_get(svc_catalog(r->s), r->tenant, id, &u, &err) == 0)
		json_object_object_add(r->names, id, json_object_new_string(u->name));
	else
		json_object_object_add(r->names, id, NULL);
	catalog_unit_free(&u);
	return json_object_object_get_ex(r->names, id, &v) && v ? json_object_get_string(v) : NULL;
}

static int addr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c >= 0x80 || strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL;
}

/* Does text name addr as a whole address (case-insensitive)? "ann@x.org"
 * is not named by "joann@x.org" nor by "ann@x.org.uk". */
static int names_address(const char *text, const char *addr)
{
	size_t n = strlen(addr);

	for (const char *p = text; p && *p; p++) {
		const unsigned char *after = (const unsigned char *)p + n;

		if (strncasecmp(p, addr, n) != 0)
			continue;
		if (p > text && addr_char((unsigned char)p[-1]))
			continue;
		if (*after && addr_char(*after) &&
		    !(*after == '.' && !addr_char(after[1])))
			continue;
		return 1;
	}
	return 0;
}

/* Does a search's filter object name the address? */
static int filters_name(struct json_object *d, const char *addr)
{
	static const char *const keys[] = { "address", "from", "to", "subject", "body" };
	struct json_object *v;

	for (size_t i = 0; d && i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_object_get_ex(d, keys[i], &v) && v &&
		    json_object_is_type(v, json_type_string) &&
		    names_address(json_object_get_string(v), addr))
			return 1;
	return 0;
}

static int has_seq(const struct place *pl, uint32_t seq)
{
	for (size_t i = 0; i < pl->nseqs; i++)
		if (pl->seqs[i] == seq)
			return 1;
	return 0;
}

/* Is path (a message's tree path) selected by a restore's pattern: the
 * path itself, a folder above it, or a glob matching either? */
static int pattern_selects(const char *pat, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n;
	char *folder;
	int hit;

	while (*pat == '/')
		pat++;
	n = strlen(pat);
	while (n > 0 && pat[n - 1] == '/')
		n--;
	if (n == 0 || (strncmp(path, pat, n) == 0 && (path[n] == '\0' || path[n] == '/')))
		return 1;
	folder = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
	hit = fnmatch(pat, path, 0) == 0 || fnmatch(pat, folder, 0) == 0;
	free(folder);
	return hit;
}

/* How many messages about the address are in unit@seq and selected by
 * paths (a JSON array of patterns; NULL: all) or by folder (IMAP name,
 * decoded name or tree path; NULL: all). */
static size_t about_in(const struct report *r, const char *unit, uint32_t seq,
		       struct json_object *paths, const char *folder)
{
	size_t count = 0;

	for (size_t i = 0; i < r->about.n; i++) {
		const struct cand *c = &r->about.c[i];
		int hit = 0;

		for (size_t k = 0; k < c->nplaces && !hit; k++) {
			const struct place *pl = &c->places[k];

			if (strcmp(pl->unit, unit) != 0 || !has_seq(pl, seq))
				continue;
			if (folder)
				hit = strcmp(pl->folder, folder) == 0 ||
				      strcmp(pl->folder_utf8, folder) == 0 ||
				      pattern_selects(folder, pl->path);
			else if (paths && json_object_is_type(paths, json_type_array))
				for (size_t j = 0; j < json_object_array_length(paths) && !hit; j++)
					hit = pattern_selects(json_object_get_string(
						json_object_array_get_idx(paths, j)), pl->path);
			else
				hit = 1;
		}
		count += hit;
	}
	return count;
}

/* "UNIT@SEQ" -> unit (caller frees) and seq; NULL if target is not one. */
static char *point_target(const char *target, uint32_t *seq_r)
{
	const char *at = target ? strrchr(target, '@') : NULL;
	char *end;
	unsigned long v;

	if (at == NULL || at == target || at[1] < '0' || at[1] > '9')
		return NULL;
	v = strtoul(at + 1, &end, 10);
	if (*end || v == 0 || v > UINT32_MAX)
		return NULL;
	*seq_r = (uint32_t)v;
	return xstrndup(target, (size_t)(at - target));
}

/* One row of the report being built. */
struct row {
	char *unit;      /* NULL: not one unit */
	uint32_t seq;    /* 0: none */
	int all_units;   /* the action covered every mailbox unit */
	size_t messages; /* messages about the address it reached, when known */
	int matched;
};

/* A restore session's items that restored the unit's content or messages
 * about the address. */
static void match_session(struct report *r, struct json_object *d, struct row *w)
{
	struct json_object *items, *it, *v;

	if (!json_object_object_get_ex(d, "items", &items) ||
	    !json_object_is_type(items, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		const char *unit;
		uint32_t seq;

		it = json_object_array_get_idx(items, i);
		if (!json_object_object_get_ex(it, "unit", &v) || v == NULL)
			continue;
		unit = json_object_get_string(v);
		seq = json_object_object_get_ex(it, "restorePoint", &v) && v ?
		      (uint32_t)json_object_get_int64(v) : 0;
		if (r->unit_id && strcmp(unit, r->unit_id) == 0) {
			w->matched = 1;
			free(w->unit);
			w->unit = xstrdup(unit);
			w->seq = seq;
			return;
		}
		if (r->addr) {
			size_t n = about_in(r, unit, seq, json_object_object_get_ex(it, "paths", &v) ?
					    v : NULL, NULL);

			if (n) {
				w->matched = 1;
				w->messages += n;
				if (w->unit == NULL) {
					w->unit = xstrdup(unit);
					w->seq = seq;
				}
			}
		}
	}
}

static int in_array(struct json_object *arr, const char *s)
{
	if (arr == NULL || !json_object_is_type(arr, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), s) == 0)
			return 1;
	return 0;
}

/* Does entry a belong in the report? Fills w. */
static void match_entry(struct report *r, const struct catalog_audit *a, struct json_object *d,
			struct row *w)
{
	const char *act = a->action, *target = a->target;
	struct json_object *v;
	uint32_t seq = 0;
	char *unit = point_target(target, &seq);

	memset(w, 0, sizeof(*w));
	if (strcmp(act, "restoreSession.create") == 0) {
		match_session(r, d, w);
	} else if (strcmp(act, "subject.export") == 0) {
		w->matched = r->addr ? json_object_object_get_ex(d, "address", &v) && v &&
				       strcmp(json_object_get_string(v), r->addr) == 0
				     : json_object_object_get_ex(d, "units", &v) &&
				       in_array(v, r->unit_id);
		w->all_units = 1;
	} else if (strcmp(act, "restorePoint.list") == 0 || strcmp(act, "unit.find") == 0 ||
		   strncmp(act, "restorePoint.diff", 17) == 0 || strcmp(act, "unit.diff") == 0) {
		/* Listings and finds show names, not mail: a unit's report only. */
		if (r->unit_id && target) {
			const char *u = unit ? unit : target;

			w->matched = strcmp(u, r->unit_id) == 0;
			w->unit = xstrdup(u);
			w->seq = seq;
		}
	} else if (strcmp(act, "mail.export") == 0 && unit) {
		/* A restore point (or one folder of it) as mbox. */
		const char *folder = json_object_object_get_ex(d, "folder", &v) && v ?
				     json_object_get_string(v) : NULL;

		w->unit = xstrdup(unit);
		w->seq = seq;
		if (r->unit_id)
			w->matched = strcmp(unit, r->unit_id) == 0;
		else if ((w->messages = about_in(r, unit, seq, NULL, folder)) > 0)
			w->matched = 1;
	} else if (strcmp(act, "mail.search") == 0 || strcmp(act, "mail.export") == 0) {
		/* A search, or the export of one: target is its unit filter. */
		if (target)
			w->unit = xstrdup(target);
		w->all_units = target == NULL;
		if (r->addr)
			w->matched = filters_name(d, r->addr);
		else
			w->matched = target ? strcmp(target, r->unit_id) == 0
					    : r->unit_is_mailbox;
	}
	free(unit);
}

static struct json_object *row_json(struct report *r, const struct catalog_audit *a,
				    struct json_object *d, const struct row *w)
{
	struct json_object *o = json_object_new_object();
	const struct actor *ac = actor_of(r, a->actor);
	const char *uname = w->unit ? report_unit_name(r, w->unit) : NULL;
	char when[32];

	time_format(a->time, when);
	json_object_object_add(o, "seq", json_object_new_int64(a->seq));
	json_object_object_add(o, "time", json_object_new_string(when));
	json_object_object_add(o, "actor", json_object_new_string(a->actor));
	json_object_object_add(o, "actorName", ac ? json_object_new_string(ac->name) : NULL);
	json_object_object_add(o, "actorRole", json_object_new_string(ac ? ac->role
								   : "system"));
	json_object_object_add(o, "action", json_object_new_string(a->action));
	json_object_object_add(o, "unit", w->unit ? json_object_new_string(w->unit) : NULL);
	json_object_object_add(o, "unitName", uname ? json_object_new_string(uname) : NULL);
	json_object_object_add(o, "restorePoint", w->seq ? json_object_new_int64(w->seq) : NULL);
	json_object_object_add(o, "allUnits", json_object_new_boolean(w->all_units));
	if (r->addr && w->messages)
		json_object_object_add(o, "messages", json_object_new_int64((int64_t)w->messages));
	json_object_object_add(o, "target", a->target ? json_object_new_string(a->target) : NULL);
	json_object_object_add(o, "what", json_object_get(d));
	return o;
}

/* Entries after page->after, up to page->limit rows. */
static int report_scan(struct report *r, const struct svc_access_query *q,
		       const struct svc_page *page, struct json_object *items, char **next_r,
		       struct error *err)
{
	struct catalog_audit_filter f = { .tenant = r->tenant, .since = q->since,
					  .until = q->until };
	char after[32];
	struct catalog_page pg = { page->after, 1000 };
	int limit = page->limit > 0 ? page->limit : 100;

	*next_r = NULL;
	for (;;) {
		struct catalog_audit **as = NULL;
		size_t n = 0, i;

		if (catalog_audit_list(svc_catalog(r->s), &f, &pg, &as, &n, err) < 0)
			return -1;
		for (i = 0; i < n; i++) {
			struct json_object *d = as[i]->detail ? json_tokener_parse(as[i]->detail)
							      : NULL;
			struct row w;

			match_entry(r, as[i], d, &w);
			if (w.matched)
				json_object_array_add(items, row_json(r, as[i], d, &w));
			free(w.unit);
			json_object_put(d);
			if ((int)json_object_array_length(items) == limit) {
				i++;
				break;
			}
		}
		if (n > 0)
			snprintf(after, sizeof(after), "%" PRId64, as[i - 1]->seq);
		CATALOG_LIST_FREE(as, n, catalog_audit_free);
		if ((int)json_object_array_length(items) == limit) {
			*next_r = xstrdup(after);
			return 0;
		}
		if (n < (size_t)pg.limit)
			return 0;
		pg.after = after;
	}
}

/* The unit (by id or name) or the address the report is about. */
static int report_subject(struct report *r, const struct svc_access_query *q,
			  struct error *err)
{
	struct catalog_unit *u = NULL;
	struct error e2;

	if ((q->unit == NULL) == (q->address == NULL))
		return error_setk(err, ERROR_USAGE, "an access report needs one of \"unit\" or "
				  "\"address\"");
	if (q->address) {
		if ((r->addr = mailparse_address_norm(q->address)) == NULL)
			return error_setk(err, ERROR_USAGE, "address \"%.300s\" is not one e-mail "
					  "address (local-part@domain)", q->address);
		return 0;
	}
	error_init(&e2);
	if (catalog_unit_get(svc_catalog(r->s), r->tenant, q->unit, &u, &e2) < 0 &&
	    catalog_unit_find(svc_catalog(r->s), r->tenant, q->unit, &u, err) < 0)
		return -1;
	r->unit_id = xstrdup(u->id);
	r->unit_name = xstrdup(u->name);
	r->unit_is_mailbox = catalog_kind_of(u->kind) == CATALOG_KIND_MAILBOX;
	catalog_unit_free(&u);
	return 0;
}

static void report_clear(struct report *r)
{
	for (size_t i = 0; i < r->nactors; i++) {
		free(r->actors[i].id);
		free(r->actors[i].name);
		free(r->actors[i].role);
	}
	free(r->actors);
	cands_clear(&r->about);
	free(r->unit_id);
	free(r->unit_name);
	free(r->addr);
	json_object_put(r->names);
}

static struct json_object *report_detail(const struct report *r,
					 const struct svc_access_query *q)
{
	struct json_object *d = json_object_new_object();

	if (r->unit_id)
		json_object_object_add(d, "unit", json_object_new_string(r->unit_id));
	if (r->addr)
		json_object_object_add(d, "address", json_object_new_string(r->addr));
	if (q->since)
		json_object_object_add(d, "since", json_object_new_int64(q->since));
	if (q->until)
		json_object_object_add(d, "until", json_object_new_int64(q->until));
	return d;
}

int svc_access_report(struct service *s, const struct svc_principal *p, const char *tenant,
		      const struct svc_access_query *q, const struct svc_page *page,
		      struct json_object **out, struct error *err)
{
	struct report r = { .s = s, .tenant = tenant };
	struct json_object *detail = NULL, *items = NULL;
	struct mailindex *mi = NULL;
	struct error e2;
	char *next = NULL;
	int ret = -1;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_PRIVACY, err) < 0)
		return -1;
	r.names = json_object_new_object();
	if (report_subject(&r, q, err) < 0)
		goto out;
	detail = report_detail(&r, q);
	if (svc_audit(s, p, tenant, "subject.report", r.unit_id ? r.unit_id : r.addr, detail,
		      err) < 0)
		goto out;
	/* Which restores and exports reached mail about the address: as the
	 * index knows it now (points since forgotten are gone from it). */
	if (r.addr && ((mi = svc_mail_index(s, tenant, 0, err)) == NULL ||
		       cands_collect(mi, r.addr, REPORT_HITS_MAX, &r.about, &r.about_more,
				     err) < 0))
		goto out;
	mailindex_close(&mi);
	error_init(&e2);
	actors_load(&r, tenant, &e2); /* without names, rows still say the token id */
	items = json_object_new_array();
	if (report_scan(&r, q, page, items, &next, err) < 0)
		goto out;
	*out = json_object_new_object();
	if (r.unit_id) {
		json_object_object_add(*out, "unit", json_object_new_string(r.unit_id));
		json_object_object_add(*out, "unitName", json_object_new_string(r.unit_name));
	} else {
		json_object_object_add(*out, "address", json_object_new_string(r.addr));
		json_object_object_add(*out, "messagesIndexed",
				       json_object_new_int64((int64_t)r.about.n));
		if (r.about_more)
			json_object_object_add(*out, "messagesTruncated",
					       json_object_new_boolean(1));
	}
	json_object_object_add(*out, "items", items);
	json_object_object_add(*out, "next", next ? json_object_new_string(next) : NULL);
	items = NULL;
	ret = 0;
out:
	mailindex_close(&mi);
	json_object_put(items);
	json_object_put(detail);
	free(next);
	report_clear(&r);
	return ret;
}
