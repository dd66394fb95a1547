/* Mail search and export in the service (docs/service.md "Mailboxes in the
 * service"): one search index per tenant (engine/mailindex.h) at
 * DATA/search/<tenant id>.db, fed after each mailbox backup and, when it is
 * behind the catalog, before a search; searches and exports through the
 * API, each audited before anything is read. The index holds plain text of
 * the tenant's mail, so it is one file per tenant (0600, in a 0700 folder)
 * and a search can only ever see its own tenant's file. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "catalog/catalog.h"
#include "crypto/crypto.h"
#include "engine/erasure.h"
#include "engine/mailexport.h"
#include "engine/mailindex.h"
#include "engine/views.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/parse.h"
#include "lib/timeutil.h"
#include "service/internal.h"
#include "service/service.h"
#include "store/index.h"
#include "store/rp.h"
#include "store/store.h"

#define SEARCH_LIMIT_DEFAULT 50
#define SEARCH_LIMIT_MAX 1000
/* A search's offset cursor at most (mailindex pages by offset). */
#define SEARCH_OFFSET_MAX 10000000u
#define FILTER_TEXT_MAX 1000

/* ---- filters ---- */

struct mail_filters {
	struct mailindex_query q;
	const char *format;
	struct json_object *echo; /* the filters as audited */
};

static void filters_clear(struct mail_filters *f)
{
	json_object_put(f->echo);
	f->echo = NULL;
}

/* A field's value as text: strings as they are, numbers and booleans
 * written out (a body may give them typed). NULL for other types. */
static const char *value_text(struct json_object *v, char *tmp, size_t len)
{
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	if (json_object_is_type(v, json_type_int)) {
		snprintf(tmp, len, "%" PRId64, json_object_get_int64(v));
		return tmp;
	}
	if (json_object_is_type(v, json_type_boolean)) {
		snprintf(tmp, len, "%s", json_object_get_boolean(v) ? "true" : "false");
		return tmp;
	}
	return NULL;
}

static int parse_bool(const char *s, int *v_r)
{
	if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
		*v_r = 1;
	else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		*v_r = 0;
	else
		return -1;
	return 0;
}

/* One filter; text points into `in` (which outlives f). */
static int filter_set(struct mail_filters *f, const char *key, const char *text, int search,
		      struct error *err)
{
	struct {
		const char *name;
		const char **slot;
	} texts[] = {
		{ "unit", &f->q.unit }, { "from", &f->q.from }, { "to", &f->q.to },
		{ "subject", &f->q.subject }, { "body", &f->q.body }, { "folder", &f->q.folder },
		{ "format", &f->format }, { "address", &f->q.address },
		{ "attachment", &f->q.attachment },
	};
	int64_t v;
	int b;

	/* "format" is the export's; limit and after are a search page's. */
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (strcmp(key, texts[i].name) != 0 || (search && strcmp(key, "format") == 0))
			continue;
		if (*text == '\0' || strlen(text) > FILTER_TEXT_MAX)
			return error_setk(err, ERROR_USAGE, "filter \"%s\" must be 1 to %d characters",
					  key, FILTER_TEXT_MAX);
		*texts[i].slot = text;
		json_object_object_add(f->echo, key, json_object_new_string(text));
		return 0;
	}
	if (strcmp(key, "since") == 0 || strcmp(key, "until") == 0) {
		int until = key[0] == 'u';
		char field[32];
		int64_t t;

		/* As `until`, a day alone is the whole day (since <= date < until). */
		snprintf(field, sizeof(field), "filter \"%s\"", key);
		if (time_parse_field(field, text, until ? TIME_END_OF_DAY : 0, &t, err) < 0)
			return -1;
		t /= 1000000000;
		*(until ? &f->q.until : &f->q.since) = t;
		*(until ? &f->q.has_until : &f->q.has_since) = 1;
		json_object_object_add(f->echo, key, json_object_new_int64(t));
		return 0;
	}
	if (strcmp(key, "hasAttachment") == 0) {
		if (parse_bool(text, &b) < 0)
			return error_setk(err, ERROR_USAGE, "filter \"hasAttachment\" must be true or "
					  "false (got \"%.20s\")", text);
		f->q.has_attachment = b;
		json_object_object_add(f->echo, key, json_object_new_boolean(b));
		return 0;
	}
	if (strcmp(key, "restorePoint") == 0) {
		if (parse_int_field("filter \"restorePoint\"", text, 1, UINT32_MAX, &v, err) < 0)
			return -1;
		f->q.seq = (uint32_t)v;
		json_object_object_add(f->echo, key, json_object_new_int64((int64_t)v));
		return 0;
	}
	if (search && strcmp(key, "limit") == 0) {
		if (parse_int_field("limit", text, 1, SEARCH_LIMIT_MAX, &v, err) < 0)
			return -1;
		f->q.limit = (size_t)v;
		return 0;
	}
	if (search && strcmp(key, "after") == 0) {
		if (*text == '\0')
			return 0;
		if (parse_int(text, 0, SEARCH_OFFSET_MAX, &v) < 0)
			return error_setk(err, ERROR_USAGE, "after must be the \"next\" of a previous "
					  "page (got \"%.20s\")", text);
		f->q.offset = (size_t)v;
		return 0;
	}
	return error_setk(err, ERROR_USAGE, "unknown filter \"%.64s\"", key);
}

/* Parses the filters object (search: a search page; else an export). */
static int filters_parse(struct json_object *in, int search, struct mail_filters *f,
			 struct error *err)
{
	char tmp[32];

	memset(f, 0, sizeof(*f));
	f->echo = json_object_new_object();
	f->q.limit = SEARCH_LIMIT_DEFAULT;
	if (in == NULL)
		return 0;
	if (!json_object_is_type(in, json_type_object))
		return error_setk(err, ERROR_USAGE, "the filters must be a JSON object");
	json_object_object_foreach(in, key, val) {
		const char *text = val ? value_text(val, tmp, sizeof(tmp)) : NULL;

		if (text == NULL)
			return error_setk(err, ERROR_USAGE, "filter \"%.64s\" must be a string, a "
					  "number or a boolean", key);
		if (filter_set(f, key, text, search, err) < 0)
			return -1;
	}
	if (f->q.seq && f->q.unit == NULL)
		return error_setk(err, ERROR_USAGE, "filter \"restorePoint\" needs \"unit\"");
	if (f->format && strcmp(f->format, "mbox") != 0)
		return error_setk(err, ERROR_USAGE, "format \"%.32s\" is not offered: the API "
				  "exports mbox (for .eml files use coffer export --eml)", f->format);
	return 0;
}

int svc_mail_query(struct json_object *filters, struct mailindex_query *q, struct error *err)
{
	struct mail_filters f;
	int ret = filters_parse(filters, 0, &f, err);

	*q = f.q;
	filters_clear(&f);
	return ret;
}

/* ---- the tenant's index ---- */

static char *index_path(struct service *s, const char *tenant, struct error *err)
{
	char *dir = fs_join(svc_cfg(s)->data_dir, "search"), *path;

	if (fs_mkdir_p(dir, err) < 0) {
		free(dir);
		return NULL;
	}
	path = xasprintf("%s/%s.db", dir, tenant);
	free(dir);
	return path;
}

static struct mailindex *index_open_tenant(struct service *s, const char *tenant,
					   struct error *err)
{
	char *path = index_path(s, tenant, err);
	struct mailindex *mi;

	if (path == NULL)
		return NULL;
	mi = mailindex_open(path, err);
	if (mi == NULL)
		error_prefix(err, "search index of tenant %s", tenant);
	free(path);
	return mi;
}

/* Points left out of the index, for the caller to show. */
struct skipped {
	struct json_object *list; /* array, or NULL: log only */
};

static void skip_note(void *ctx, const char *unit, uint32_t seq, const struct error *why)
{
	struct skipped *sk = ctx;

	log_warn("event=search.skip unit=%s restore_point=%" PRIu32 " error=\"%s\"", unit, seq,
		 why->msg);
	if (sk->list) {
		struct json_object *o = json_object_new_object();
		char *id = xasprintf("%s@%" PRIu32, unit, seq);

		json_object_object_add(o, "restorePoint", json_object_new_string(id));
		json_object_object_add(o, "error", json_object_new_string(why->msg));
		json_object_array_add(sk->list, o);
		free(id);
	}
}

/* Brings one unit of the store into the index. */
static int index_unit(struct store *st, struct mailindex *mi, const char *unit,
		      struct skipped *sk, struct mailindex_stats *stats, struct error *err)
{
	struct store_unit *su = store_unit_open(st, unit, 0, err);
	int ret;

	if (su == NULL)
		return -1;
	ret = mailindex_update_unit(mi, su, skip_note, sk, stats, err);
	store_unit_close(&su);
	return ret;
}

/* The catalog's live restore points of a unit, ascending. */
static int live_points(struct service *s, const char *tenant, const char *unit, uint32_t **seqs_r,
		       size_t *n_r, struct error *err)
{
	struct catalog_rp **rps;
	size_t n;

	*seqs_r = NULL;
	*n_r = 0;
	if (svc_live_points(s, tenant, unit, &rps, &n, err) < 0)
		return -1;
	*seqs_r = xcalloc(n + 1, sizeof(uint32_t));
	for (size_t i = 0; i < n; i++)
		(*seqs_r)[i] = rps[i]->seq;
	*n_r = n;
	CATALOG_LIST_FREE(rps, n, catalog_rp_free);
	return 0;
}

/* Is the index behind the catalog for this unit? Drops the points the
 * catalog no longer has live (expired or forgotten: their mail must not be
 * found), then says whether a live point is missing. */
static int unit_behind(struct service *s, struct mailindex *mi, const char *tenant,
		       const char *unit, struct mailindex_stats *stats, struct error *err)
{
	uint32_t *seqs = NULL;
	size_t n = 0, i;
	int behind = 0, has;

	if (live_points(s, tenant, unit, &seqs, &n, err) < 0 ||
	    mailindex_drop_missing(mi, unit, seqs, n, stats, err) < 0) {
		free(seqs);
		return -1;
	}
	for (i = n; i-- > 0 && !behind;) {
		if ((has = mailindex_has_rp(mi, unit, seqs[i], err)) < 0) {
			free(seqs);
			return -1;
		}
		behind = !has;
	}
	free(seqs);
	return behind;
}

/* The tenant's mailbox units: the one asked for, or all of them. */
static int mailbox_units(struct service *s, const char *tenant, const char *unit,
			 char ***ids_r, size_t *n_r, struct error *err)
{
	struct catalog_unit_filter f = { .kind = catalog_kind_name(CATALOG_KIND_MAILBOX) };
	struct catalog_page pg = { NULL, 1000 };
	struct catalog_unit **us = NULL, *u = NULL;
	size_t n, i;

	*ids_r = NULL;
	*n_r = 0;
	if (unit) {
		if (catalog_unit_get(svc_catalog(s), tenant, unit, &u, err) < 0)
			return -1;
		if (catalog_kind_of(u->kind) != CATALOG_KIND_MAILBOX) {
			error_setk(err, ERROR_USAGE, "unit %s is of kind %s: only mailbox units are "
				   "searched", unit, u->kind);
			catalog_unit_free(&u);
			return -1;
		}
		*ids_r = xcalloc(1, sizeof(char *));
		(*ids_r)[(*n_r)++] = xstrdup(u->id);
		catalog_unit_free(&u);
		return 0;
	}
	for (;;) {
		if (catalog_unit_list(svc_catalog(s), tenant, &f, &pg, &us, &n, err) < 0)
			return -1;
		*ids_r = xrealloc(*ids_r, xmul(*n_r + n + 1, sizeof(char *)));
		for (i = 0; i < n; i++) {
			(*ids_r)[(*n_r)++] = xstrdup(us[i]->id);
			catalog_unit_free(&us[i]);
		}
		free(us);
		if (n < (size_t)pg.limit)
			return 0;
		pg.after = (*ids_r)[*n_r - 1];
	}
}

static void ids_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

/* Before a search: every unit searched whose index is behind the catalog
 * is brought up to date from the tenant's store. */
static int index_catch_up(struct service *s, struct mailindex *mi, const char *tenant,
			  const char *unit, struct skipped *sk, struct error *err)
{
	struct mailindex_stats stats = { 0 };
	struct store *st = NULL;
	char **ids = NULL;
	size_t n = 0, i;
	int ret = -1, behind;

	if (mailbox_units(s, tenant, unit, &ids, &n, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if ((behind = unit_behind(s, mi, tenant, ids[i], &stats, err)) < 0)
			goto out;
		if (!behind)
			continue;
		if (st == NULL && (st = svc_tenant_store(s, tenant, 0, err)) == NULL)
			goto out;
		if (index_unit(st, mi, ids[i], sk, &stats, err) < 0) {
			error_prefix(err, "search index of unit %s", ids[i]);
			goto out;
		}
	}
	if (stats.points || stats.dropped)
		log_info("event=search.update tenant=%s points=%" PRIu64 " parsed=%" PRIu64
			 " dropped=%" PRIu64, tenant, stats.points, stats.parsed, stats.dropped);
	ret = 0;
out:
	store_close(&st);
	ids_free(ids, n);
	return ret;
}

struct mailindex *svc_mail_index(struct service *s, const char *tenant, int catch_up,
				 struct error *err)
{
	struct mailindex *mi = index_open_tenant(s, tenant, err);
	struct skipped sk = { NULL }; /* points left out are logged */

	if (mi && catch_up && index_catch_up(s, mi, tenant, NULL, &sk, err) < 0)
		mailindex_close(&mi);
	return mi;
}

void svc_mail_index_point(struct service *s, const char *tenant, const char *unit, uint32_t seq,
			  int64_t job)
{
	struct mailindex_stats stats = { 0 };
	struct skipped sk = { json_object_new_array() };
	struct json_object *d = NULL, *r = json_object_new_object();
	struct catalog_job *j = NULL;
	struct mailindex *mi = NULL;
	struct store *st = NULL;
	struct error err, e2;
	int ret = -1;

	error_init(&err);
	if ((mi = index_open_tenant(s, tenant, &err)) != NULL &&
	    (st = svc_tenant_store(s, tenant, 0, &err)) != NULL)
		ret = index_unit(st, mi, unit, &sk, &stats, &err);
	if (ret == 0 && json_object_array_length(sk.list) > 0) {
		error_setk(&err, ERROR_FAIL, "%zu restore points left out (first: %s: %s)",
			   json_object_array_length(sk.list),
			   json_object_get_string(json_object_object_get(
				   json_object_array_get_idx(sk.list, 0), "restorePoint")),
			   json_object_get_string(json_object_object_get(
				   json_object_array_get_idx(sk.list, 0), "error")));
		ret = -1;
	}
	if (ret == 0) {
		json_object_object_add(r, "indexed", json_object_new_boolean(1));
		json_object_object_add(r, "messagesParsed",
				       json_object_new_int64((int64_t)stats.parsed));
		log_info("event=search.index tenant=%s unit=%s restore_point=%" PRIu32
			 " parsed=%" PRIu64, tenant, unit, seq, stats.parsed);
	} else {
		json_object_object_add(r, "indexed", json_object_new_boolean(0));
		json_object_object_add(r, "error", json_object_new_string(err.msg));
		log_warn("event=search.index tenant=%s unit=%s restore_point=%" PRIu32
			 " error=\"%s\"", tenant, unit, seq, err.msg);
	}
	store_close(&st);
	mailindex_close(&mi);
	json_object_put(sk.list);
	/* Shown in the job's detail beside what the backup took. */
	error_init(&e2);
	if (job > 0 && catalog_job_get(svc_catalog(s), job, &j, &e2) == 0) {
		d = j->detail ? json_tokener_parse(j->detail) : NULL;
		if (d == NULL || !json_object_is_type(d, json_type_object)) {
			json_object_put(d);
			d = json_object_new_object();
		}
		json_object_object_add(d, "searchIndex", json_object_get(r));
		if (catalog_job_set_detail(svc_catalog(s), job, NULL, 0,
					   json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN),
					   &e2) < 0)
			log_warn("event=job.detail job=%" PRId64 " error=\"%s\"", job, e2.msg);
	}
	json_object_put(d);
	json_object_put(r);
	catalog_job_free(&j);
}

/* ---- search ---- */

/* Checks the filters' unit and point against the catalog (a unit of
 * another tenant is 404 like a missing one), audits, brings the index up to
 * date. The caller owns *mi_r. */
static int search_begin(struct service *s, const struct svc_principal *p, const char *tenant,
			struct mail_filters *f, const char *action, struct skipped *sk,
			struct mailindex **mi_r, struct error *err)
{
	char **ids = NULL;
	size_t n = 0;

	*mi_r = NULL;
	if (f->q.unit && mailbox_units(s, tenant, f->q.unit, &ids, &n, err) < 0)
		return -1;
	ids_free(ids, n);
	if (f->q.seq && svc_live_point(s, tenant, f->q.unit, f->q.seq, err) < 0)
		return -1;
	/* Audited before anything is read: the filters, never the results. */
	if (svc_audit(s, p, tenant, action, f->q.unit, f->echo, err) < 0)
		return -1;
	if ((*mi_r = index_open_tenant(s, tenant, err)) == NULL)
		return -1;
	if (index_catch_up(s, *mi_r, tenant, f->q.unit, sk, err) < 0) {
		mailindex_close(mi_r);
		return -1;
	}
	return 0;
}

int svc_mail_search(struct service *s, const struct svc_principal *p, const char *tenant,
		    struct json_object *filters, struct json_object **out, struct error *err)
{
	struct mail_filters f;
	struct mailindex_results res = { 0 };
	struct skipped sk = { NULL };
	struct mailindex *mi = NULL;
	struct json_object *items;
	int ret = -1;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_CONTENT_READ, err) < 0)
		return -1;
	if (filters_parse(filters, 1, &f, err) < 0)
		goto out;
	sk.list = json_object_new_array();
	if (search_begin(s, p, tenant, &f, "mail.search", &sk, &mi, err) < 0 ||
	    mailindex_search(mi, &f.q, &res, err) < 0)
		goto out;
	items = json_object_new_array();
	for (size_t i = 0; i < res.n; i++)
		json_object_array_add(items, view_hit(&res.hits[i]));
	*out = json_object_new_object();
	json_object_object_add(*out, "items", items);
	if (res.more) {
		char next[24];

		snprintf(next, sizeof(next), "%zu", f.q.offset + res.n);
		json_object_object_add(*out, "next", json_object_new_string(next));
	} else {
		json_object_object_add(*out, "next", NULL);
	}
	if (json_object_array_length(sk.list) > 0)
		json_object_object_add(*out, "leftOut", json_object_get(sk.list));
	ret = 0;
out:
	mailindex_results_clear(&res);
	mailindex_close(&mi);
	json_object_put(sk.list);
	filters_clear(&f);
	return ret;
}

/* ---- export ---- */

/* An mbox being written to DATA/tmp, handed over as an unlinked fd. */
struct export_file {
	char *path;
	struct mailexport *x;
};

static int export_start(struct service *s, struct export_file *ef, struct error *err)
{
	char *dir = fs_join(svc_cfg(s)->data_dir, "tmp");
	uint8_t rnd[8];
	char hex[17];

	memset(ef, 0, sizeof(*ef));
	if (fs_mkdir_p(dir, err) < 0) {
		free(dir);
		return -1;
	}
	crypto_random(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), hex);
	ef->path = xasprintf("%s/mail-export-%s.mbox", dir, hex);
	free(dir);
	ef->x = mailexport_open(MAILEXPORT_MBOX, ef->path, 0, err);
	return ef->x ? 0 : -1;
}

/* Finishes the file and opens it for the caller; the name is gone at once,
 * so nothing stays behind whatever happens to the request. */
static int export_end(struct export_file *ef, struct svc_export *out, struct error *err)
{
	struct stat stt;
	int fd;

	if (mailexport_finish(ef->x, err) < 0)
		return -1;
	fd = open(ef->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_sys(err, "open(%s) failed", ef->path);
	unlink(ef->path);
	if (fstat(fd, &stt) < 0) {
		error_sys(err, "fstat(%s) failed", ef->path);
		close(fd);
		return -1;
	}
	out->fd = fd;
	out->size = (uint64_t)stt.st_size;
	out->messages = mailexport_count(ef->x);
	out->withheld = erasure_report_total(mailexport_withheld(ef->x));
	out->withheld_by = out->withheld
		? xstrdup(json_object_to_json_string_ext(mailexport_withheld(ef->x),
							 JSON_C_TO_STRING_PLAIN))
		: NULL;
	return 0;
}

static void export_clear(struct export_file *ef)
{
	mailexport_close(&ef->x); /* removes an unfinished file */
	free(ef->path);
	ef->path = NULL;
}

int svc_mail_export_rp(struct service *s, const struct svc_principal *p, const char *tenant,
		       const char *unit, uint32_t seq, const char *folder, const char *format,
		       struct svc_export *x, struct error *err)
{
	struct catalog_unit *u = NULL;
	struct export_file ef = { 0 };
	struct json_object *detail = NULL;
	struct store_unit *su = NULL;
	struct store *st = NULL;
	struct index *ix = NULL;
	struct rp *rp = NULL;
	char *spec = NULL;
	int ret = -1;

	x->fd = -1;
	if (svc_authorize(p, tenant, SVC_PERM_CONTENT_READ, err) < 0 ||
	    catalog_unit_get(svc_catalog(s), tenant, unit, &u, err) < 0)
		return -1;
	if (format && strcmp(format, "mbox") != 0) {
		error_setk(err, ERROR_USAGE, "format \"%.32s\" is not offered: the API exports mbox",
			   format);
		goto out;
	}
	if (svc_live_point(s, tenant, unit, seq, err) < 0)
		goto out;
	spec = xasprintf("%s@%" PRIu32, unit, seq);
	detail = json_object_new_object();
	json_object_object_add(detail, "format", json_object_new_string("mbox"));
	if (folder)
		json_object_object_add(detail, "folder", json_object_new_string(folder));
	if (svc_audit(s, p, tenant, "mail.export", spec, detail, err) < 0)
		goto out;
	if ((st = svc_tenant_store(s, tenant, 0, err)) == NULL ||
	    (su = store_unit_open(st, unit, 0, err)) == NULL || rp_read(su, seq, &rp, err) < 0 ||
	    (ix = index_open(su, err)) == NULL || export_start(s, &ef, err) < 0 ||
	    mailexport_add_rp(ef.x, su, ix, rp, folder, err) < 0 || export_end(&ef, x, err) < 0) {
		error_prefix(err, "export of %s", spec);
		goto out;
	}
	log_info("event=mail.export tenant=%s restore_point=%s messages=%" PRIu64, tenant, spec,
		 x->messages);
	ret = 0;
out:
	export_clear(&ef);
	index_close(&ix);
	rp_free(&rp);
	store_unit_close(&su);
	store_close(&st);
	json_object_put(detail);
	free(spec);
	catalog_unit_free(&u);
	return ret;
}

/* The messages a search found, by the restore point each is taken from. */
struct found {
	char *unit;
	uint32_t seq;
	char **paths;
	size_t n;
};

static void found_add(struct found **fs, size_t *nfs, const struct mailindex_hit *h)
{
	struct found *f = NULL;

	if (h->where == NULL)
		return;
	for (size_t i = 0; i < *nfs && f == NULL; i++)
		if ((*fs)[i].seq == h->where_seq && strcmp((*fs)[i].unit, h->where->unit) == 0)
			f = &(*fs)[i];
	if (f == NULL) {
		*fs = xrealloc(*fs, xmul(*nfs + 1, sizeof(**fs)));
		f = &(*fs)[(*nfs)++];
		memset(f, 0, sizeof(*f));
		f->unit = xstrdup(h->where->unit);
		f->seq = h->where_seq;
	}
	f->paths = xrealloc(f->paths, xmul(f->n + 1, sizeof(char *)));
	f->paths[f->n++] = xstrdup(h->where->path);
}

static void found_free(struct found *fs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < fs[i].n; k++)
			free(fs[i].paths[k]);
		free(fs[i].paths);
		free(fs[i].unit);
	}
	free(fs);
}

/* Every page of the search, grouped. */
static int found_collect(struct mailindex *mi, struct mailindex_query *q, struct found **fs,
			 size_t *nfs, struct error *err)
{
	struct mailindex_results res;

	q->limit = SEARCH_LIMIT_MAX;
	q->offset = 0;
	for (;;) {
		if (mailindex_search(mi, q, &res, err) < 0)
			return -1;
		for (size_t i = 0; i < res.n; i++)
			found_add(fs, nfs, &res.hits[i]);
		q->offset += res.n;
		if (!res.more || res.n == 0) {
			mailindex_results_clear(&res);
			return 0;
		}
		mailindex_results_clear(&res);
	}
}

static int found_export(struct store *st, struct mailexport *x, const struct found *f,
			struct error *err)
{
	struct store_unit *su = store_unit_open(st, f->unit, 0, err);
	struct index *ix = NULL;
	struct rp *rp = NULL;
	int ret = -1;

	if (su && rp_read(su, f->seq, &rp, err) == 0 && (ix = index_open(su, err)) != NULL)
		ret = mailexport_add_paths(x, su, ix, rp, (const char *const *)f->paths, f->n, err);
	if (ret < 0)
		error_prefix(err, "export from %s@%" PRIu32, f->unit, f->seq);
	index_close(&ix);
	rp_free(&rp);
	store_unit_close(&su);
	return ret;
}

int svc_mail_export_search(struct service *s, const struct svc_principal *p, const char *tenant,
			   struct json_object *filters, struct svc_export *x, struct error *err)
{
	struct mail_filters f;
	struct skipped sk = { NULL };
	struct export_file ef = { 0 };
	struct mailindex *mi = NULL;
	struct found *fs = NULL;
	struct store *st = NULL;
	size_t nfs = 0, i;
	int ret = -1;

	x->fd = -1;
	if (svc_authorize(p, tenant, SVC_PERM_CONTENT_READ, err) < 0)
		return -1;
	if (filters_parse(filters, 0, &f, err) < 0)
		goto out;
	json_object_object_add(f.echo, "format", json_object_new_string("mbox"));
	if (search_begin(s, p, tenant, &f, "mail.export", &sk, &mi, err) < 0 ||
	    found_collect(mi, &f.q, &fs, &nfs, err) < 0)
		goto out;
	mailindex_close(&mi);
	if ((st = svc_tenant_store(s, tenant, 0, err)) == NULL || export_start(s, &ef, err) < 0)
		goto out;
	for (i = 0; i < nfs; i++)
		if (found_export(st, ef.x, &fs[i], err) < 0)
			goto out;
	if (export_end(&ef, x, err) < 0)
		goto out;
	log_info("event=mail.export tenant=%s search=1 messages=%" PRIu64, tenant, x->messages);
	ret = 0;
out:
	export_clear(&ef);
	store_close(&st);
	found_free(fs, nfs);
	mailindex_close(&mi);
	filters_clear(&f);
	return ret;
}
