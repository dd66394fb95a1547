/* Erasure requests (docs/privacy.md 2): a data subject's mail, found by
 * address or by a search, or paths of a unit, withheld from everything
 * that lets content leave coffer.
 *
 * A request is made by one person and approved by another (four-eyes,
 * per tenant). Approval resolves it into what the store can check without
 * the catalog — content keys of messages, path patterns with a cutoff — and
 * writes one signed record per unit into the unit's erasure ledger
 * (docs/format.md 10.1). From then on every reader honours it: restores,
 * listings, find, diff, exports, the search index (whose rows of those
 * messages go now, and which never takes them in again), on every node and
 * after a catalog rebuild. While a legal hold covers a unit the request
 * waits, approved, and takes effect when the hold ends. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "catalog/catalog.h"
#include "crypto/crypto.h"
#include "engine/erasure.h"
#include "engine/idset.h"
#include "engine/mailindex.h"
#include "engine/views.h"
#include "lib/error.h"
#include "lib/hex.h"
#include "lib/jsonutil.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "service/internal.h"
#include "service/service.h"
#include "service/views.h"
#include "store/backend.h"
#include "store/deletion.h"
#include "store/store.h"

#define ERASURE_REASON_MAX 1000
#define ERASURE_NAMES_MAX 100   /* addresses or paths in one request */
#define ERASURE_NAME_MAX 1000
#define ERASURE_PAGE 1000       /* search hits read at once while resolving */
#define ERASURE_KEYS_MAX 500000 /* messages one request may name in one unit */

/* ---- what a request withheld, as the API shows it ---- */

struct json_object *svc_withheld_text(uint64_t n, const char *by)
{
	struct json_object *o = json_object_new_object(), *arr = by ? json_tokener_parse(by) : NULL;

	json_object_object_add(o, "items", json_object_new_int64((int64_t)n));
	json_object_object_add(o, "byRequest", arr ? arr : json_object_new_array());
	return o;
}

struct json_object *svc_withheld_obj(const struct erasure_set *es)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "items", json_object_new_int64((int64_t)erasure_set_withheld(es)));
	json_object_object_add(o, "byRequest", erasure_set_report(es));
	return o;
}

char *svc_withheld_json(uint64_t n, const char *by)
{
	struct json_object *o;
	char *text;

	if (n == 0)
		return NULL;
	o = svc_withheld_text(n, by);
	text = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return text;
}

/* ---- checking a request ---- */

static int text_ok(const char *s, size_t max)
{
	if (s == NULL || *s == '\0' || strlen(s) > max)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* The array `key` of in: 1..ERASURE_NAMES_MAX strings, each checked by ok.
 * A copy the caller puts. */
static struct json_object *names_of(struct json_object *in, const char *key,
				    int (*ok)(const char *), const char *what, struct error *err)
{
	struct json_object *arr = NULL, *out;
	size_t i, n;

	if (!json_object_object_get_ex(in, key, &arr) || !json_object_is_type(arr, json_type_array) ||
	    (n = json_object_array_length(arr)) == 0 || n > ERASURE_NAMES_MAX) {
		error_setk(err, ERROR_USAGE, "'%s' must be an array of 1 to %d %s", key,
			   ERASURE_NAMES_MAX, what);
		return NULL;
	}
	out = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(arr, i);
		const char *t = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
									: NULL;

		if (t == NULL || !ok(t)) {
			json_object_put(out);
			error_setk(err, ERROR_USAGE, "'%s'[%zu] is not one of the %s", key, i, what);
			return NULL;
		}
		json_object_array_add(out, json_object_new_string(t));
	}
	return out;
}

/* An address: local@domain, no spaces, at most 254 characters. */
static int address_ok(const char *a)
{
	const char *at = strchr(a, '@');

	return text_ok(a, 254) && at && at > a && at[1] && !strchr(at + 1, '@') &&
	       !strpbrk(a, " <>,;\"");
}

/* A path pattern relative to the unit's root, never one that takes the
 * whole unit (that is `unit destroy`), without "." or ".." parts. */
static int pattern_ok(const char *p)
{
	const char *c;

	if (!text_ok(p, ERASURE_NAME_MAX) || p[0] == '/' || strspn(p, "*/") == strlen(p))
		return 0;
	for (c = p; c; c = strchr(c, '/')) {
		if (*c == '/')
			c++;
		if ((c[0] == '.' && (c[1] == '/' || c[1] == '\0')) ||
		    (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == '\0')))
			return 0;
	}
	return 1;
}

static const char *const search_keys[] = { "unit", "from", "to", "subject", "body", "folder",
					   "since", "until", "hasAttachment", "address", NULL };

/* The filters of a "search" request: a search's filters, at least one
 * that narrows it (an erasure of every message is not a search). */
static struct json_object *filters_of(struct json_object *in, struct error *err)
{
	struct json_object *f = NULL;
	int narrow = 0;

	if (!json_object_object_get_ex(in, "filters", &f) || !json_object_is_type(f, json_type_object))
		return error_setk(err, ERROR_USAGE, "'filters' (an object of search filters) is "
				  "required"), NULL;
	json_object_object_foreach(f, key, val) {
		size_t i;

		for (i = 0; search_keys[i] && strcmp(search_keys[i], key) != 0; i++)
			;
		if (search_keys[i] == NULL)
			return error_setk(err, ERROR_USAGE, "filter \"%.64s\" is not one an erasure "
					  "takes", key), NULL;
		/* Words are strings (the query keeps pointers into them). */
		if (strcmp(key, "hasAttachment") != 0 && !json_object_is_type(val, json_type_string))
			return error_setk(err, ERROR_USAGE, "filter \"%.64s\" must be a string",
					  key), NULL;
		if (strcmp(key, "unit") != 0 && strcmp(key, "folder") != 0 &&
		    strcmp(key, "hasAttachment") != 0 && val != NULL)
			narrow = 1;
	}
	if (!narrow)
		return error_setk(err, ERROR_USAGE, "'filters' must name a sender, recipient, "
				  "address, subject, words or dates: an erasure of every message "
				  "is not a search"), NULL;
	return json_object_get(f);
}

/* Checks `in` and makes the request's kind and spec. */
static int spec_make(struct service *s, const char *tenant, struct json_object *in,
		     const char **kind_r, struct json_object **spec_r, struct error *err)
{
	const char *kind = jsonu_str(in, "kind");
	struct json_object *spec = json_object_new_object(), *v;
	struct catalog_unit *u = NULL;

	*spec_r = NULL;
	if (kind && strcmp(kind, "addresses") == 0) {
		if ((v = names_of(in, "addresses", address_ok, "addresses (a@b.c)", err)) == NULL)
			goto fail;
		json_object_object_add(spec, "addresses", v);
		*kind_r = "addresses";
	} else if (kind && strcmp(kind, "search") == 0) {
		if ((v = filters_of(in, err)) == NULL)
			goto fail;
		json_object_object_add(spec, "filters", v);
		*kind_r = "search";
	} else if (kind && strcmp(kind, "paths") == 0) {
		const char *unit = jsonu_str(in, "unit");

		if (unit == NULL) {
			error_setk(err, ERROR_USAGE, "'unit' (the unit's id) is required");
			goto fail;
		}
		if (catalog_unit_get(svc_catalog(s), tenant, unit, &u, err) < 0)
			goto fail;
		if ((v = names_of(in, "paths", pattern_ok,
				  "paths or patterns relative to the unit's root", err)) == NULL)
			goto fail;
		json_object_object_add(spec, "unit", json_object_new_string(unit));
		json_object_object_add(spec, "paths", v);
		*kind_r = "paths";
	} else {
		error_setk(err, ERROR_USAGE, "'kind' must be \"addresses\", \"search\" or \"paths\"");
		goto fail;
	}
	catalog_unit_free(&u);
	*spec_r = spec;
	return 0;
fail:
	catalog_unit_free(&u);
	json_object_put(spec);
	return -1;
}

/* ---- legal holds ---- */

/* A legal hold on one unit of the tenant the request touches (a paths
 * request: its unit; a mail request: any mailbox unit): a new string
 * saying which, or NULL. */
static char *unit_held(struct service *s, const struct catalog_erasure *e, const char *only,
		       struct error *err)
{
	struct catalog_unit_filter f = { .kind = only ? NULL : "mailbox" };
	struct catalog_page pg = { NULL, 1000 };
	struct catalog_unit **us = NULL, *u = NULL;
	char *why = NULL, *last = NULL;
	size_t n = 0, i;

	if (only) {
		if (catalog_unit_get(svc_catalog(s), e->tenant, only, &u, err) == 0 && u->legal_hold)
			why = xasprintf("legal hold on unit %s (%s)", u->id, u->legal_hold);
		catalog_unit_free(&u);
		return why;
	}
	do {
		if (catalog_unit_list(svc_catalog(s), e->tenant, &f, &pg, &us, &n, err) < 0)
			break;
		for (i = 0; i < n; i++) {
			if (why == NULL && us[i]->legal_hold)
				why = xasprintf("legal hold on unit %s (%s)", us[i]->id,
						us[i]->legal_hold);
			if (i == n - 1) {
				free(last);
				last = xstrdup(us[i]->id);
			}
			catalog_unit_free(&us[i]);
		}
		free(us);
		pg.after = last;
	} while (why == NULL && n == (size_t)pg.limit);
	free(last);
	return why;
}

/* What holds the request back: a legal hold on the tenant or on a unit it
 * touches. A new string, or NULL (also when the catalog cannot tell: the
 * caller sees err set then). */
static char *held_by(struct service *s, const struct catalog_erasure *e, struct error *err)
{
	struct catalog_tenant *t = NULL;
	struct json_object *spec = json_tokener_parse(e->spec);
	char *why = NULL;

	if (catalog_tenant_get(svc_catalog(s), e->tenant, &t, err) == 0) {
		if (t->legal_hold)
			why = xasprintf("legal hold on the tenant (%s)", t->legal_hold);
		else
			why = unit_held(s, e, strcmp(e->kind, "paths") == 0 ? jsonu_str(spec, "unit")
									  : NULL, err);
	}
	json_object_put(spec);
	catalog_tenant_free(&t);
	return why;
}

/* ---- resolving a request into what each unit withholds ---- */

struct target {
	char *unit;
	struct idset keys; /* message keys */
	struct json_object *patterns; /* a paths request's, or NULL */
};

struct targets {
	struct target *v;
	size_t n;
};

static struct target *target_for(struct targets *ts, const char *unit)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		if (strcmp(ts->v[i].unit, unit) == 0)
			return &ts->v[i];
	ts->v = xrealloc(ts->v, xmul(ts->n + 1, sizeof(*ts->v)));
	memset(&ts->v[ts->n], 0, sizeof(ts->v[0]));
	ts->v[ts->n].unit = xstrdup(unit);
	return &ts->v[ts->n++];
}

static void targets_clear(struct targets *ts)
{
	for (size_t i = 0; i < ts->n; i++) {
		free(ts->v[i].unit);
		idset_clear(&ts->v[i].keys);
		json_object_put(ts->v[i].patterns);
	}
	free(ts->v);
	memset(ts, 0, sizeof(*ts));
}

static int target_add_key(struct target *t, const uint8_t key[32], struct error *err)
{
	if (t->keys.n == ERASURE_KEYS_MAX)
		return error_setk(err, ERROR_USAGE, "the request names more than %d messages of "
				  "unit %s: narrow it", ERASURE_KEYS_MAX, t->unit);
	idset_push(&t->keys, key);
	return 0;
}

/* Every message the query finds, wherever the index has it. */
static int collect_hits(struct mailindex *mi, struct mailindex_query *q, struct targets *ts,
			struct error *err)
{
	struct mailindex_results res = { 0 };
	size_t i, k;
	int ret = 0;

	q->limit = ERASURE_PAGE;
	q->offset = 0;
	do {
		mailindex_results_clear(&res);
		if (mailindex_search(mi, q, &res, err) < 0)
			return -1;
		for (i = 0; ret == 0 && i < res.n; i++)
			for (k = 0; ret == 0 && k < res.hits[i].nplaces; k++)
				ret = target_add_key(target_for(ts, res.hits[i].places[k].unit),
						     res.hits[i].key, err);
		q->offset += res.n;
	} while (ret == 0 && res.more);
	mailindex_results_clear(&res);
	return ret;
}

/* A mail request: the index (brought up to date first) finds the messages
 * of every mailbox unit. */
static int resolve_mail(struct service *s, const struct catalog_erasure *e,
			struct json_object *spec, struct targets *ts, struct error *err)
{
	struct mailindex *mi = svc_mail_index(s, e->tenant, 1, err);
	struct mailindex_query q;
	struct json_object *arr;
	int ret = 0;

	if (mi == NULL)
		return -1;
	if (strcmp(e->kind, "addresses") == 0) {
		arr = json_object_object_get(spec, "addresses");
		for (size_t i = 0; ret == 0 && i < json_object_array_length(arr); i++) {
			memset(&q, 0, sizeof(q));
			q.address = json_object_get_string(json_object_array_get_idx(arr, i));
			ret = collect_hits(mi, &q, ts, err);
		}
	} else {
		ret = svc_mail_query(json_object_object_get(spec, "filters"), &q, err);
		if (ret == 0)
			ret = collect_hits(mi, &q, ts, err);
	}
	mailindex_close(&mi);
	return ret;
}

static int resolve(struct service *s, const struct catalog_erasure *e, struct targets *ts,
		   struct error *err)
{
	struct json_object *spec = json_tokener_parse(e->spec);
	int ret;

	if (spec == NULL)
		return error_setk(err, ERROR_CORRUPT, "erasure request %s: its spec is not JSON",
				  e->id);
	if (strcmp(e->kind, "paths") == 0) {
		struct target *t = target_for(ts, jsonu_str(spec, "unit"));

		t->patterns = json_object_get(json_object_object_get(spec, "paths"));
		ret = 0;
	} else {
		ret = resolve_mail(s, e, spec, ts, err);
	}
	json_object_put(spec);
	for (size_t i = 0; ret == 0 && i < ts->n; i++)
		idset_sort(&ts->v[i].keys); /* a message in 50 points and 3 folders is one */
	return ret;
}

/* ---- carrying it out ---- */

/* Writes the unit's ledger record, then takes its messages out of the
 * search index. The record first: once it exists every reader withholds,
 * whatever happens to the index. */
static int target_write(struct service *s, struct store *st, const struct catalog_erasure *e,
			struct target *t, int64_t now, struct json_object *detail,
			struct error *err)
{
	struct store_erasure x = { .request = e->id, .cutoff = now, .keys = t->keys.v,
				   .nkeys = t->keys.n };
	struct store_unit *su = store_unit_open(st, t->unit, 0, err);
	struct json_object *d = json_object_new_object();
	struct mailindex *mi = NULL;
	uint64_t removed = 0;
	size_t i, np = t->patterns ? json_object_array_length(t->patterns) : 0;
	int ret = -1;

	x.patterns = xcalloc(np ? np : 1, sizeof(char *));
	for (i = 0; i < np; i++)
		x.patterns[x.npatterns++] =
			xstrdup(json_object_get_string(json_object_array_get_idx(t->patterns, i)));
	/* A path record also names the files there now by content, so the
	 * same file taken again by a later backup stays withheld. */
	if (su == NULL || (np > 0 && erasure_path_keys(su, &x, err) < 0) ||
	    store_erasure_record(su, now * 1000000000, &x, err) < 0)
		goto out;
	json_object_object_add(d, "unit", json_object_new_string(t->unit));
	if (t->keys.n > 0) {
		if ((mi = svc_mail_index(s, e->tenant, 0, err)) == NULL ||
		    mailindex_forget(mi, t->unit, (const uint8_t(*)[32])t->keys.v, t->keys.n, &removed,
				     err) < 0)
			goto out;
		json_object_object_add(d, "messages", json_object_new_int64((int64_t)t->keys.n));
	}
	if (np > 0) {
		json_object_object_add(d, "paths", json_object_get(t->patterns));
		json_object_object_add(d, "files", json_object_new_int64((int64_t)x.nkeys));
		view_add_time(d, "pointsUpTo", now);
	}
	json_object_array_add(detail, json_object_get(d));
	log_info("event=erasure.unit tenant=%s request=%s unit=%s messages=%zu paths=%zu "
		 "index_removed=%" PRIu64, e->tenant, e->id, t->unit, t->keys.n, np, removed);
	ret = 0;
out:
	if (ret < 0)
		error_prefix(err, "erasure request %s in unit %s", e->id, t->unit);
	json_object_put(d);
	mailindex_close(&mi);
	for (i = 0; i < x.npatterns; i++)
		free(x.patterns[i]);
	free(x.patterns);
	if (np > 0)
		free(x.keys); /* erasure_path_keys' */
	store_unit_close(&su);
	return ret;
}

/* Carries out an approved request unless a legal hold holds it back
 * (then it stays approved: svc_erasures_resume() tries again). */
static int erasure_apply(struct service *s, const char *tenant, const char *id,
			 struct error *err)
{
	struct catalog_erasure *e = NULL;
	struct targets ts = { 0 };
	struct json_object *detail = NULL, *audit;
	struct store *st = NULL;
	int64_t now = svc_now(s);
	char *held = NULL, *text = NULL;
	int ret = -1;

	if (catalog_erasure_get(svc_catalog(s), tenant, id, &e, err) < 0)
		return -1;
	if (strcmp(e->state, "approved") != 0) {
		ret = 0;
		goto out;
	}
	error_init(err);
	held = held_by(s, e, err);
	if (held != NULL || err->code != 0) {
		ret = held ? 0 : -1;
		goto out;
	}
	if (resolve(s, e, &ts, err) < 0 ||
	    (st = svc_tenant_store(s, tenant, BACKEND_ALLOW_DELETE, err)) == NULL)
		goto out;
	detail = json_object_new_array();
	for (size_t i = 0; i < ts.n; i++)
		if (target_write(s, st, e, &ts.v[i], now, detail, err) < 0)
			goto out;
	text = xstrdup(json_object_to_json_string_ext(detail, JSON_C_TO_STRING_PLAIN));
	if (catalog_erasure_set_effective(svc_catalog(s), tenant, id, now, text, err) < 0)
		goto out;
	audit = json_object_new_object();
	json_object_object_add(audit, "units", json_object_get(detail));
	ret = svc_audit(s, NULL, tenant, "erasure.effective", id, audit, err);
	json_object_put(audit);
out:
	if (ret < 0)
		log_warn("event=erasure.apply tenant=%s request=%s error=\"%s\"", tenant, id,
			 err->msg);
	json_object_put(detail);
	store_close(&st);
	targets_clear(&ts);
	free(held);
	free(text);
	catalog_erasure_free(&e);
	return ret;
}

void svc_erasures_resume(struct service *s, const char *tenant)
{
	struct catalog_page pg = { NULL, 1000 };
	struct catalog_erasure **es = NULL;
	size_t n = 0, i;
	struct error err;

	error_init(&err);
	if (catalog_erasure_list(svc_catalog(s), tenant, "approved", &pg, &es, &n, &err) < 0) {
		log_warn("event=erasure.resume error=\"%s\"", err.msg);
		return;
	}
	for (i = 0; i < n; i++) {
		error_init(&err);
		erasure_apply(s, es[i]->tenant, es[i]->id, &err);
		catalog_erasure_free(&es[i]);
	}
	free(es);
}

void svc_erasures_tick(struct service *s)
{
	static int64_t last; /* the scheduler's thread only */
	int64_t now = (int64_t)time(NULL);

	if (now - last < 10)
		return;
	last = now;
	svc_erasures_resume(s, NULL);
}

/* A request record owning copies of its strings. */
static struct catalog_erasure *erasure_new(const char *id, const char *tenant, const char *kind,
					   const char *spec, const char *reason, const char *state,
					   const char *by, int64_t when)
{
	struct catalog_erasure *e = xcalloc(1, sizeof(*e));

	e->id = xstrdup(id);
	e->tenant = xstrdup(tenant);
	e->kind = xstrdup(kind);
	e->spec = xstrdup(spec);
	e->reason = xstrdup(reason);
	e->state = xstrdup(state);
	e->requested_by = xstrdup(by);
	e->requested = when;
	return e;
}

/* ---- catalog rebuild ---- */

/* What one ledger record says the request withholds in its unit, as the
 * "withholds" entries of a request. */
static struct json_object *record_detail(const struct store_deletion *d, const char *unit)
{
	struct json_object *o = json_object_new_object(), *pats;

	json_object_object_add(o, "unit", json_object_new_string(unit));
	json_object_object_add(o, d->erase->npatterns ? "files" : "messages",
			       json_object_new_int64((int64_t)d->erase->nkeys));
	if (d->erase->npatterns > 0) {
		pats = json_object_new_array();
		for (size_t i = 0; i < d->erase->npatterns; i++)
			json_object_array_add(pats, json_object_new_string(d->erase->patterns[i]));
		json_object_object_add(o, "paths", pats);
		view_add_time(o, "pointsUpTo", d->erase->cutoff);
	}
	return o;
}

/* Adds record d of `unit` to the catalog: a new effective request, or one
 * more unit of a request already rebuilt from another unit. */
static int rebuild_record(struct service *s, const char *tenant, const char *unit,
			  const struct store_deletion *d, struct error *err)
{
	struct catalog_erasure *have = NULL;
	struct json_object *detail, *spec = json_object_new_object();
	const char *kind = d->erase->npatterns ? "paths" : "messages";
	char *text;
	int ret;

	if (catalog_erasure_get(svc_catalog(s), tenant, d->erase->request, &have, err) == 0) {
		detail = have->detail ? json_tokener_parse(have->detail) : NULL;
		if (detail == NULL)
			detail = json_object_new_array();
	} else if (err->code == ERROR_NOTFOUND) {
		if (d->erase->npatterns)
			json_object_object_add(spec, "unit", json_object_new_string(unit));
		have = erasure_new(d->erase->request, tenant, kind, json_object_to_json_string(spec),
				   "(rebuilt from the erasure ledger)", "effective", "unknown",
				   d->erase->cutoff);
		have->decided = have->effective = d->erase->cutoff;
		ret = catalog_erasure_insert(svc_catalog(s), have, err);
		catalog_erasure_free(&have);
		if (ret < 0) {
			json_object_put(spec);
			return -1;
		}
		detail = json_object_new_array();
	} else {
		json_object_put(spec);
		return -1;
	}
	json_object_array_add(detail, record_detail(d, unit));
	text = xstrdup(json_object_to_json_string_ext(detail, JSON_C_TO_STRING_PLAIN));
	ret = catalog_erasure_set_effective(svc_catalog(s), tenant, d->erase->request,
					    d->erase->cutoff, text, err);
	free(text);
	json_object_put(detail);
	json_object_put(spec);
	catalog_erasure_free(&have);
	return ret;
}

int svc_erasures_rebuild(struct service *s, const char *tenant, struct store_unit *su,
			 struct error *err)
{
	char **names = NULL;
	size_t n = 0, i;
	int ret = 0;

	if (store_erasures_list(su, &names, &n, err) < 0)
		return -1;
	for (i = 0; i < n && ret == 0; i++) {
		struct store_deletion *d = NULL;

		ret = store_erasure_read(su, names[i], &d, err) < 0 ? -1
		      : rebuild_record(s, tenant, store_unit_name(su), d, err);
		store_deletion_free(&d);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ret;
}

/* ---- the API ---- */

static char *new_erasure_id(void)
{
	uint8_t rnd[8];
	char hex[17];

	crypto_random(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), hex);
	return xasprintf("e-%s", hex);
}

static int erasure_out(struct service *s, const char *tenant, const char *id,
		       struct json_object **out, struct error *err)
{
	struct catalog_erasure *e = NULL;
	char *held = NULL;
	struct error ignored;

	if (catalog_erasure_get(svc_catalog(s), tenant, id, &e, err) < 0)
		return -1;
	error_init(&ignored);
	if (strcmp(e->state, "approved") == 0)
		held = held_by(s, e, &ignored);
	*out = view_erasure(e, held);
	free(held);
	catalog_erasure_free(&e);
	return 0;
}

/* Approves (or rejects) request e as p: the four-eyes rule, the
 * transition, the audit entry; then carries an approval out. */
static int erasure_decide(struct service *s, const struct svc_principal *p,
			  const struct catalog_tenant *t, const struct catalog_erasure *e,
			  int approve, struct error *err)
{
	const char *by = p->token_id;
	struct json_object *detail;
	int ret;

	if (strcmp(e->state, "requested") != 0)
		return error_setk(err, ERROR_CONFLICT, "erasure request %s is %s, not waiting for "
				  "a decision", e->id, e->state);
	if (approve && t->erasure_four_eyes && strcmp(e->requested_by, by) == 0)
		return error_setk(err, SVC_DENIED, "forbidden: four-eyes: erasure request %s was "
				  "made by token %s, so another person must approve it", e->id, by);
	if (catalog_erasure_decide(svc_catalog(s), e->tenant, e->id, "requested",
				   approve ? "approved" : "rejected", by, svc_now(s), err) < 0)
		return -1;
	detail = json_object_new_object();
	json_object_object_add(detail, "fourEyes", json_object_new_boolean(t->erasure_four_eyes));
	json_object_object_add(detail, "requestedBy", json_object_new_string(e->requested_by));
	ret = svc_audit(s, p, e->tenant, approve ? "erasure.approve" : "erasure.reject", e->id,
			detail, err);
	json_object_put(detail);
	if (ret < 0 || !approve)
		return ret;
	return erasure_apply(s, e->tenant, e->id, err);
}

int svc_erasure_create(struct service *s, const struct svc_principal *p, const char *tenant,
		       struct json_object *in, struct json_object **out, struct error *err)
{
	struct catalog_erasure *e = NULL, *got = NULL;
	struct catalog_tenant *t = NULL;
	struct json_object *spec = NULL, *detail;
	const char *kind = NULL, *reason = jsonu_str(in, "reason");
	char *id = NULL;
	int ret = -1;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_PRIVACY, err) < 0 ||
	    catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0)
		return -1;
	if (!text_ok(reason, ERASURE_REASON_MAX)) {
		error_setk(err, ERROR_USAGE, "'reason' (1 to %d characters: the data subject's "
			   "request, a case number) is required", ERASURE_REASON_MAX);
		goto out;
	}
	if (spec_make(s, tenant, in, &kind, &spec, err) < 0)
		goto out;
	id = new_erasure_id();
	e = erasure_new(id, tenant, kind, json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PLAIN),
			reason, "requested", p->token_id, svc_now(s));
	detail = json_object_new_object();
	json_object_object_add(detail, "kind", json_object_new_string(kind));
	json_object_object_add(detail, "spec", json_object_get(spec));
	json_object_object_add(detail, "reason", json_object_new_string(reason));
	ret = catalog_erasure_insert(svc_catalog(s), e, err) < 0 ? -1
	      : svc_audit(s, p, tenant, "erasure.request", id, detail, err);
	json_object_put(detail);
	/* A tenant without four-eyes: the requester's request is its approval. */
	if (ret == 0 && !t->erasure_four_eyes &&
	    (ret = catalog_erasure_get(svc_catalog(s), tenant, id, &got, err)) == 0)
		ret = erasure_decide(s, p, t, got, 1, err);
	if (ret == 0)
		ret = erasure_out(s, tenant, id, out, err);
out:
	catalog_erasure_free(&got);
	catalog_erasure_free(&e);
	free(id);
	json_object_put(spec);
	catalog_tenant_free(&t);
	return ret;
}

int svc_erasure_decide(struct service *s, const struct svc_principal *p, const char *tenant,
		       const char *id, int approve, struct json_object **out, struct error *err)
{
	struct catalog_erasure *e = NULL;
	struct catalog_tenant *t = NULL;
	int ret = -1;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_PRIVACY, err) < 0 ||
	    catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0)
		return -1;
	if (catalog_erasure_get(svc_catalog(s), tenant, id, &e, err) == 0 &&
	    erasure_decide(s, p, t, e, approve, err) == 0)
		ret = erasure_out(s, tenant, id, out, err);
	catalog_erasure_free(&e);
	catalog_tenant_free(&t);
	return ret;
}

int svc_erasure_get(struct service *s, const struct svc_principal *p, const char *tenant,
		    const char *id, struct json_object **out, struct error *err)
{
	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_PRIVACY, err) < 0)
		return -1;
	return erasure_out(s, tenant, id, out, err);
}

int svc_erasure_list(struct service *s, const struct svc_principal *p, const char *tenant,
		     const char *state, const struct svc_page *page, struct json_object **out,
		     struct error *err)
{
	struct catalog_page pg = { page->after, page->limit };
	struct catalog_erasure **es = NULL;
	struct json_object *items;
	size_t n = 0, i;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_PRIVACY, err) < 0 ||
	    catalog_erasure_list(svc_catalog(s), tenant, state, &pg, &es, &n, err) < 0)
		return -1;
	items = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct error ignored;
		char *held = NULL;

		error_init(&ignored);
		if (strcmp(es[i]->state, "approved") == 0)
			held = held_by(s, es[i], &ignored);
		json_object_array_add(items, view_erasure(es[i], held));
		free(held);
	}
	*out = json_object_new_object();
	json_object_object_add(*out, "items", items);
	json_object_object_add(*out, "next", n == (size_t)page->limit && n > 0
						     ? json_object_new_string(es[n - 1]->id)
						     : NULL);
	for (i = 0; i < n; i++)
		catalog_erasure_free(&es[i]);
	free(es);
	return 0;
}
