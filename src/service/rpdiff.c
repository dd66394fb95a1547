/* What changed between two restore points of a unit (svc_rp_diff(),
 * GET U/restorePoints/{seq}/diff, docs/api.md "For the console"):
 * engine/diff.h's merge-join of the two trees, which withholds what the
 * erasure ledger covers on both sides, answered a page at a time. The read
 * is audited first as a content read (the paths are content). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "catalog/catalog.h"
#include "engine/diff.h"
#include "engine/meta.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "lib/parse.h"
#include "service/internal.h"
#include "service/service.h"
#include "service/views.h"
#include "store/store.h"

/* The changes of one page: the diff runs whole (its summary counts every
 * change), and keeps those from offset on, up to limit. */
struct diff_page {
	uint64_t seen, offset;
	int limit;
	struct json_object *items;
};

static const char *change_name(char kind)
{
	switch (kind) {
	case '+': return "added";
	case '-': return "removed";
	case 'M': return "changed";
	default: return "attrs"; /* metadata only: mode, times, owner, xattrs */
	}
}

static void diff_page_add(void *ctx, char kind, const char *path, const struct meta_entry *e)
{
	struct diff_page *pg = ctx;
	struct json_object *o;

	if (pg->seen++ < pg->offset || json_object_array_length(pg->items) >= (size_t)pg->limit)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "change", json_object_new_string(change_name(kind)));
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "type", json_object_new_string(view_entry_type(e->type)));
	if (e->type == META_FILE)
		json_object_object_add(o, "size", json_object_new_int64((int64_t)e->size));
	json_object_array_add(pg->items, o);
}

static struct json_object *summary_json(const struct diff_result *res)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "added", json_object_new_int64((int64_t)res->added));
	json_object_object_add(o, "removed", json_object_new_int64((int64_t)res->removed));
	json_object_object_add(o, "changed", json_object_new_int64((int64_t)res->modified));
	json_object_object_add(o, "attrs", json_object_new_int64((int64_t)res->attrs));
	return o;
}

/* The live point before seq (against 0: the default); ERROR_USAGE when
 * seq is the first. */
static int point_before(struct service *s, const char *tenant, const char *unit, uint32_t seq,
			uint32_t *against_r, struct error *err)
{
	struct catalog_rp_filter f = { .desc = 1 };
	struct catalog_rp **rps = NULL;
	char after[16];
	struct catalog_page pg = { .after = after, .limit = 1 };
	size_t n = 0;

	snprintf(after, sizeof(after), "%" PRIu32, seq);
	if (catalog_rp_list(svc_catalog(s), tenant, unit, &f, &pg, &rps, &n, err) < 0)
		return -1;
	if (n == 1)
		*against_r = rps[0]->seq;
	CATALOG_LIST_FREE(rps, n, catalog_rp_free);
	if (n == 0)
		return error_setk(err, ERROR_USAGE,
				  "restore point %" PRIu32 " is the unit's first: say 'against' which",
				  seq);
	return 0;
}

static int diff_answer(struct store *st, const char *unit, uint32_t seq, uint32_t against,
		       struct diff_page *pg, struct json_object **out, struct error *err)
{
	struct diff_result res = { 0 };
	char *old = xasprintf("%s@%" PRIu32, unit, against), *new = xasprintf("%s@%" PRIu32, unit, seq);
	char next[32];
	int ret = diff_run(st, old, new, diff_page_add, pg, &res, err);

	if (ret == 0) {
		*out = json_object_new_object();
		json_object_object_add(*out, "unit", json_object_new_string(unit));
		json_object_object_add(*out, "restorePoint", json_object_new_int64(seq));
		json_object_object_add(*out, "against", json_object_new_int64(against));
		json_object_object_add(*out, "items", json_object_get(pg->items));
		snprintf(next, sizeof(next), "%" PRIu64, pg->offset + (uint64_t)pg->limit);
		json_object_object_add(*out, "next", pg->seen > pg->offset + (uint64_t)pg->limit
					  ? json_object_new_string(next) : NULL);
		json_object_object_add(*out, "summary", summary_json(&res));
		json_object_object_add(*out, "withheld",
				       svc_withheld_text(res.withheld, res.withheld_by));
	}
	free(res.withheld_by);
	free(old);
	free(new);
	return ret;
}

int svc_rp_diff(struct service *s, const struct svc_principal *p, const char *tenant,
		const char *unit, uint32_t seq, uint32_t against, const struct svc_page *page,
		struct json_object **out, struct error *err)
{
	struct diff_page pg = { .limit = page && page->limit > 0 ? page->limit : 100 };
	struct catalog_unit *u = NULL;
	struct json_object *detail;
	struct store *st = NULL;
	char *spec = NULL;
	int64_t off = 0;
	int ret = -1;

	*out = NULL;
	if (svc_authorize(p, tenant, SVC_PERM_CONTENT_READ, err) < 0 ||
	    catalog_unit_get(svc_catalog(s), tenant, unit, &u, err) < 0)
		return -1;
	catalog_unit_free(&u);
	if (page && page->after && parse_int(page->after, 0, INT64_MAX, &off) < 0)
		return error_setk(err, ERROR_USAGE, "after: '%s' is not a cursor of this diff",
				  page->after);
	if (svc_live_point(s, tenant, unit, seq, err) < 0 ||
	    (against == 0 && point_before(s, tenant, unit, seq, &against, err) < 0) ||
	    svc_live_point(s, tenant, unit, against, err) < 0)
		return -1;
	spec = xasprintf("%s@%" PRIu32, unit, seq);
	/* A content read is audited before anything is read. */
	detail = json_object_new_object();
	json_object_object_add(detail, "against", json_object_new_int64(against));
	ret = svc_audit(s, p, tenant, "restorePoint.diff", spec, detail, err);
	json_object_put(detail);
	free(spec);
	if (ret < 0 || (st = svc_tenant_store(s, tenant, 0, err)) == NULL)
		return -1;
	pg.offset = (uint64_t)off;
	pg.items = json_object_new_array();
	ret = diff_answer(st, unit, seq, against, &pg, out, err);
	json_object_put(pg.items);
	store_close(&st);
	return ret;
}
