/* The stores' deletion logs, imported into the audit log (docs/service.md
 * "Expiry"). Whoever deletes from a store — the service's expiry, or
 * someone running `coffer forget`/`coffer prune` with the tenant's deletion
 * key — leaves a record in the store before deleting; the service writes
 * each record it has not seen into the tenant's audit log and brings the
 * catalog in line, so no deletion goes unseen. */
#include <json-c/json.h>
#include <stdlib.h>

#include "catalog/catalog.h"
#include "engine/views.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/service.h"
#include "store/store.h"

/* One record: audited, its points marked forgotten, then remembered (in
 * that order: a crash in between audits it twice rather than never). */
static int import_one(struct service *s, const char *tenant, const char *unit,
		      struct store_unit *su, const char *name, struct error *err)
{
	struct store_deletion *d = NULL;
	struct json_object *detail;
	int seen, ret = -1;

	if (catalog_deletion_seen(svc_catalog(s), tenant, unit, name, &seen, err) < 0)
		return -1;
	if (seen)
		return 0;
	if (store_deletion_read(su, name, &d, err) < 0)
		return -1;
	detail = view_deletion(d);
	if (svc_audit(s, NULL, tenant, "store.deletion", unit, detail, err) < 0)
		goto out;
	for (size_t i = 0; i < d->nseqs; i++) {
		struct error ignore;

		error_init(&ignore); /* a point the catalog never had */
		catalog_rp_mark_forgotten(svc_catalog(s), tenant, unit, d->seqs[i], &ignore);
	}
	if (catalog_deletion_mark(svc_catalog(s), tenant, unit, name, svc_now(s), err) < 0)
		goto out;
	log_info("event=store.deletion tenant=%s unit=%s record=%s action=%s tool=%s", tenant,
		 unit, name, d->action ? d->action : "", d->tool ? d->tool : "");
	ret = 0;
out:
	json_object_put(detail);
	store_deletion_free(&d);
	return ret;
}

void svc_deletions_import(struct service *s, const char *tenant, const char *unit,
			  struct store *st)
{
	struct store_unit *su;
	char **names = NULL;
	size_t n = 0;
	struct error err;

	error_init(&err);
	su = store_unit_open(st, unit, 0, &err);
	if (su == NULL) {
		if (err.code != ERROR_NOTFOUND) /* no point taken yet: nothing deleted */
			log_warn("event=store.deletion tenant=%s unit=%s error=%s", tenant, unit,
				 err.msg);
		return;
	}
	if (store_deletions_list(su, &names, &n, &err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (import_one(s, tenant, unit, su, names[i], &err) < 0)
			goto out;
out:
	if (err.msg[0])
		log_warn("event=store.deletion tenant=%s unit=%s error=%s", tenant, unit, err.msg);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	store_unit_close(&su);
}
