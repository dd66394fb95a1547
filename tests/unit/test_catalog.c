/* The catalog (src/catalog/catalog.h) on a real SQLite file: every record
 * kind, tenant scoping, pagination, the job queue under racing threads,
 * the audit chain against tampering done with sqlite3 directly, and
 * schema migrations. */
#include <inttypes.h>
#include <pthread.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog/audit_chain.h"
#include "catalog/catalog.h"
#include "crypto/crypto.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/hex.h"
#include "lib/mem.h"

#include "harness.h"

#define LATEST_VERSION 6

/* The database the cases run on: SQLite files (pg_base NULL), or for the
 * catalog_pg_* cases the PostgreSQL server COFFER_TEST_PG_URL names, each
 * case in a schema of its own (search_path set in the URL). */
static const char *pg_base;

/* SQL for SQLite or for PostgreSQL, where a case must say it differently. */
static const char *sql_of(const char *sqlite, const char *pg) { return pg_base ? pg : sqlite; }

/* Runs SQL on the catalog behind its back, as an attacker or an older
 * coffer would; 0 if it succeeded. */
static int raw_sql(const char *url, const char *sql)
{
	int ok;

	if (strncmp(url, "postgresql://", 13) == 0) {
		PGconn *pg = PQconnectdb(url);
		PGresult *res = PQexec(pg, sql);

		ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
		     PQresultStatus(res) == PGRES_TUPLES_OK;
		PQclear(res);
		PQfinish(pg);
	} else {
		sqlite3 *db = NULL;

		ok = sqlite3_open(url, &db) == SQLITE_OK;
		if (ok) {
			sqlite3_busy_timeout(db, 5000);
			ok = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
		}
		sqlite3_close(db);
	}
	return ok ? 0 : 1;
}

static int raw_int_row(void *ctx, int ncol, char **vals, char **names)
{
	(void)names;
	if (ncol > 0 && vals[0] != NULL)
		*(int *)ctx = (int)strtol(vals[0], NULL, 10);
	return 0;
}

/* The first column of the first row of a query; -1 if none. */
static int raw_int(const char *url, const char *sql)
{
	int v = -1;

	if (strncmp(url, "postgresql://", 13) == 0) {
		PGconn *pg = PQconnectdb(url);
		PGresult *res = PQexec(pg, sql);

		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 &&
		    !PQgetisnull(res, 0, 0))
			v = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		PQfinish(pg);
	} else {
		sqlite3 *db = NULL;

		if (sqlite3_open(url, &db) == SQLITE_OK)
			sqlite3_exec(db, sql, raw_int_row, &v, NULL);
		sqlite3_close(db);
	}
	return v;
}

/* A fresh catalog: a file in a temporary folder, or a new schema on the
 * PostgreSQL server; *url_r (what catalog_open took) is freed by the
 * caller. */
static struct catalog *open_new(const char *tag, char **url_r, struct error *err)
{
	static int n;
	char *url, *ddl;

	if (pg_base == NULL) {
		url = xasprintf("%s/catalog.db", th_tmpdir(tag));
	} else {
		char schema[64];
		size_t i;

		snprintf(schema, sizeof(schema), "t_%s_%ld_%d", tag, (long)getpid(), n++);
		for (i = 0; schema[i]; i++)
			if (!((schema[i] >= 'a' && schema[i] <= 'z') ||
			      (schema[i] >= '0' && schema[i] <= '9')))
				schema[i] = '_';
		ddl = xasprintf("CREATE SCHEMA %s", schema);
		if (raw_sql(pg_base, ddl) != 0) {
			free(ddl);
			*url_r = xstrdup(pg_base);
			error_set(err, "cannot create schema %s on %s", schema, pg_base);
			return NULL;
		}
		free(ddl);
		url = xasprintf("%s%soptions=-csearch_path%%3D%s", pg_base,
				strchr(pg_base, '?') ? "&" : "?", schema);
	}
	*url_r = url;
	return catalog_open(url, err);
}

/* What the catalog's messages call the database of `url`. */
static const char *db_label(const char *url) { return pg_base ? "postgresql " : url; }

/* An id as the catalog makes them: prefix "x-" and 16 lowercase hex. */
static int is_id(const char *s, char prefix)
{
	size_t i;

	if (s == NULL || strlen(s) != 18 || s[0] != prefix || s[1] != '-')
		return 0;
	for (i = 2; i < 18; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static void test_catalog_tenants_and_units(void)
{
	struct catalog_tenant *ta = NULL, *tb = NULL, *t = NULL, **ts = NULL;
	struct catalog_unit *u1 = NULL, *u2 = NULL, *u = NULL, **us = NULL;
	struct catalog_unit_filter f = { 0 };
	struct catalog_page pg = { 0 };
	struct catalog *c = NULL;
	struct error err;
	size_t n = 0, i;
	char *path = NULL, last[32] = "";

	error_init(&err);
	c = open_new("units", &path, &err);
	CHECKF(c != NULL, "open: %s", err.msg);
	CHECK(catalog_schema_version(c) == LATEST_VERSION);

	CHECK_OK(catalog_tenant_create(c, "acme", "/srv/acme", &ta, &err), &err);
	CHECK(is_id(ta->id, 't'));
	/* WAL mode: writes go to the -wal file while the catalog is open. */
	if (pg_base == NULL) {
		char *wal = xasprintf("%s-wal", path);
		struct stat st;
		int found = stat(wal, &st) == 0;

		free(wal);
		CHECK(found);
	}
	CHECK(strcmp(ta->name, "acme") == 0 && strcmp(ta->state, "active") == 0);
	CHECK(strcmp(ta->store, "/srv/acme") == 0 && ta->created > 0);
	CHECK_FAILS(catalog_tenant_create(c, "acme", NULL, &t, &err), &err, ERROR_EXISTS);
	CHECK_OK(catalog_tenant_create(c, "globex", NULL, &tb, &err), &err);
	CHECK(tb->store == NULL);
	CHECK_OK(catalog_tenant_set_state(c, tb->id, CATALOG_TENANT_OFFBOARDING, &err), &err);
	CHECK_OK(catalog_tenant_get(c, tb->id, &t, &err), &err);
	CHECK(strcmp(t->state, "offboarding") == 0);
	catalog_tenant_free(&t);
	t = NULL;
	CHECK_FAILS(catalog_tenant_get(c, "t-0000000000000000", &t, &err), &err, ERROR_NOTFOUND);
	CHECKF(strstr(err.msg, "t-0000000000000000") != NULL, "message: %s", err.msg);
	CHECK_OK(catalog_tenant_list(c, NULL, &ts, &n, &err), &err);
	CHECK(n == 2 && strcmp(ts[0]->id, ts[1]->id) < 0);
	CATALOG_LIST_FREE(ts, n, catalog_tenant_free);
	ts = NULL;

	CHECK_OK(catalog_unit_create(c, ta->id, "site", "docs", "{\"type\":\"folder\"}", &u1, &err),
		 &err);
	CHECK(is_id(u1->id, 'u') && strcmp(u1->state, "unprotected") == 0);
	CHECK(u1->policy == NULL && u1->last_error == NULL && u1->next_due == 0);
	CHECK_OK(catalog_unit_create(c, ta->id, "mailbox", "ceo", "{}", &u2, &err), &err);
	/* Unique per tenant: another tenant may use the same name. */
	CHECK_FAILS(catalog_unit_create(c, ta->id, "site", "docs", "{}", &u, &err), &err,
		    ERROR_EXISTS);
	CHECK_OK(catalog_unit_create(c, tb->id, "site", "docs", "{}", &u, &err), &err);
	catalog_unit_free(&u);
	u = NULL;
	CHECK_FAILS(catalog_unit_create(c, ta->id, "printer", "p", "{}", &u, &err), &err,
		    ERROR_USAGE);
	CHECK_FAILS(catalog_unit_create(c, "t-ffffffffffffffff", "site", "x", "{}", &u, &err),
		    &err, ERROR_NOTFOUND);

	/* Tenant scoping: tenant B sees none of A's units. */
	CHECK_OK(catalog_unit_get(c, ta->id, u1->id, &u, &err), &err);
	CHECK(strcmp(u->name, "docs") == 0 && strcmp(u->source, "{\"type\":\"folder\"}") == 0);
	catalog_unit_free(&u);
	u = NULL;
	CHECK_FAILS(catalog_unit_get(c, tb->id, u1->id, &u, &err), &err, ERROR_NOTFOUND);
	CHECK_FAILS(catalog_unit_get(c, NULL, u1->id, &u, &err), &err, ERROR_NOTFOUND);
	CHECK_FAILS(catalog_unit_find(c, tb->id, "ceo", &u, &err), &err, ERROR_NOTFOUND);
	CHECK_OK(catalog_unit_find(c, ta->id, "ceo", &u, &err), &err);
	CHECK(strcmp(u->id, u2->id) == 0);
	catalog_unit_free(&u);
	u = NULL;
	CHECK_OK(catalog_unit_list(c, tb->id, NULL, NULL, &us, &n, &err), &err);
	CHECK(n == 1 && strcmp(us[0]->tenant, tb->id) == 0);
	CATALOG_LIST_FREE(us, n, catalog_unit_free);
	us = NULL;
	CHECK_OK(catalog_unit_list(c, NULL, NULL, NULL, &us, &n, &err), &err);
	CHECK(n == 3);
	CATALOG_LIST_FREE(us, n, catalog_unit_free);
	us = NULL;
	f.kind = "mailbox";
	CHECK_OK(catalog_unit_list(c, ta->id, &f, NULL, &us, &n, &err), &err);
	CHECK(n == 1 && strcmp(us[0]->name, "ceo") == 0);
	CATALOG_LIST_FREE(us, n, catalog_unit_free);
	us = NULL;
	f.kind = NULL;
	f.name_prefix = "do";
	CHECK_OK(catalog_unit_list(c, NULL, &f, NULL, &us, &n, &err), &err);
	CHECK(n == 2 && strcmp(us[0]->name, "docs") == 0 && strcmp(us[1]->name, "docs") == 0);
	CATALOG_LIST_FREE(us, n, catalog_unit_free);
	us = NULL;
	/* A name_prefix is not a LIKE pattern. */
	f.name_prefix = "d%";
	CHECK_OK(catalog_unit_list(c, NULL, &f, NULL, &us, &n, &err), &err);
	CHECK(n == 0);
	CATALOG_LIST_FREE(us, n, catalog_unit_free);
	us = NULL;

	/* Update writes the scheduling fields; matched by tenant and id. */
	free(u1->state);
	u1->state = xstrdup("protected");
	u1->policy = xstrdup("p-0123456789abcdef");
	u1->last_error = xstrdup("source unreadable");
	u1->failures = 3;
	u1->next_due = 1234;
	u1->last_attempt = 1000;
	CHECK_OK(catalog_unit_update(c, u1, &err), &err);
	CHECK_OK(catalog_unit_get(c, ta->id, u1->id, &u, &err), &err);
	CHECK(strcmp(u->state, "protected") == 0 && strcmp(u->policy, "p-0123456789abcdef") == 0);
	CHECK(strcmp(u->last_error, "source unreadable") == 0 && u->failures == 3);
	CHECK(u->next_due == 1234 && u->last_attempt == 1000 && u->last_success == 0);
	catalog_unit_free(&u);
	u = NULL;
	f.name_prefix = NULL;
	f.policy = "p-0123456789abcdef";
	CHECK_OK(catalog_unit_list(c, NULL, &f, NULL, &us, &n, &err), &err);
	CHECK(n == 1 && strcmp(us[0]->id, u1->id) == 0);
	CATALOG_LIST_FREE(us, n, catalog_unit_free);
	us = NULL;
	free(u1->tenant);
	u1->tenant = xstrdup(tb->id);
	CHECK_FAILS(catalog_unit_update(c, u1, &err), &err, ERROR_NOTFOUND);

	/* Pages of one walk every unit once, in id order. */
	pg.limit = 1;
	for (i = 0; i < 4; i++) {
		CHECK_OK(catalog_unit_list(c, NULL, NULL, &pg, &us, &n, &err), &err);
		if (i == 3) {
			CHECK(n == 0);
			break;
		}
		CHECK(n == 1);
		CHECK(last[0] == '\0' || strcmp(us[0]->id, last) > 0);
		snprintf(last, sizeof(last), "%s", us[0]->id);
		pg.after = last;
		CATALOG_LIST_FREE(us, n, catalog_unit_free);
		us = NULL;
		n = 0;
	}
out:
	if (us != NULL)
		CATALOG_LIST_FREE(us, n, catalog_unit_free);
	catalog_unit_free(&u);
	catalog_unit_free(&u1);
	catalog_unit_free(&u2);
	catalog_tenant_free(&t);
	catalog_tenant_free(&ta);
	catalog_tenant_free(&tb);
	catalog_close(&c);
	free(path);
}

/* A tenant and a unit to hang other records on. */
static int fixture(struct catalog *c, const char *tenant_name, char **tenant_r, char **unit_r,
		   struct error *err)
{
	struct catalog_tenant *t = NULL;
	struct catalog_unit *u = NULL;

	if (catalog_tenant_create(c, tenant_name, NULL, &t, err) < 0)
		return -1;
	if (catalog_unit_create(c, t->id, "account", "alice", "{}", &u, err) < 0) {
		catalog_tenant_free(&t);
		return -1;
	}
	*tenant_r = xstrdup(t->id);
	*unit_r = xstrdup(u->id);
	catalog_tenant_free(&t);
	catalog_unit_free(&u);
	return 0;
}

/* A legal hold: set with a reason, kept since its first setting, read by
 * get, find and list, released; only on the tenant's own units. */
static void test_catalog_legal_hold(void)
{
	struct catalog_unit *u = NULL, **us = NULL;
	struct catalog *c = NULL;
	struct error err;
	char *path = NULL, *tenant = NULL, *unit = NULL, *other = NULL, *ounit = NULL;
	size_t n = 0;

	error_init(&err);
	c = open_new("hold", &path, &err);
	CHECKF(c != NULL, "open: %s", err.msg);
	CHECK_OK(fixture(c, "a", &tenant, &unit, &err), &err);
	CHECK_OK(fixture(c, "b", &other, &ounit, &err), &err);
	CHECK_OK(catalog_unit_get(c, tenant, unit, &u, &err), &err);
	CHECK(u->legal_hold == NULL && u->legal_hold_since == 0);
	catalog_unit_free(&u);
	CHECK_OK(catalog_unit_set_legal_hold(c, tenant, unit, "case 42", 1000, &err), &err);
	CHECK_OK(catalog_unit_get(c, tenant, unit, &u, &err), &err);
	CHECK(u->legal_hold && strcmp(u->legal_hold, "case 42") == 0 && u->legal_hold_since == 1000);
	catalog_unit_free(&u);
	/* A new reason keeps the start. */
	CHECK_OK(catalog_unit_set_legal_hold(c, tenant, unit, "case 43", 2000, &err), &err);
	CHECK_OK(catalog_unit_find(c, tenant, "alice", &u, &err), &err);
	CHECK(u->legal_hold && strcmp(u->legal_hold, "case 43") == 0 && u->legal_hold_since == 1000);
	catalog_unit_free(&u);
	CHECK_OK(catalog_unit_list(c, tenant, NULL, NULL, &us, &n, &err), &err);
	CHECK(n == 1 && us[0]->legal_hold && strcmp(us[0]->legal_hold, "case 43") == 0);
	CATALOG_LIST_FREE(us, n, catalog_unit_free);
	us = NULL;
	/* Another tenant's unit, an unknown unit, an empty reason. */
	CHECK_FAILS(catalog_unit_set_legal_hold(c, other, unit, "x", 1, &err), &err, ERROR_NOTFOUND);
	CHECK_FAILS(catalog_unit_set_legal_hold(c, tenant, "u-ffffffffffffffff", "x", 1, &err),
		    &err, ERROR_NOTFOUND);
	CHECKF(strstr(err.msg, "u-ffffffffffffffff") != NULL, "message: %s", err.msg);
	CHECK_FAILS(catalog_unit_set_legal_hold(c, tenant, unit, "", 1, &err), &err, ERROR_USAGE);
	CHECK_OK(catalog_unit_get(c, other, ounit, &u, &err), &err);
	CHECK(u->legal_hold == NULL);
	catalog_unit_free(&u);
	/* Released: both cleared; a hold set again starts anew. */
	CHECK_OK(catalog_unit_set_legal_hold(c, tenant, unit, NULL, 3000, &err), &err);
	CHECK_OK(catalog_unit_get(c, tenant, unit, &u, &err), &err);
	CHECK(u->legal_hold == NULL && u->legal_hold_since == 0);
	catalog_unit_free(&u);
	CHECK_OK(catalog_unit_set_legal_hold(c, tenant, unit, "case 44", 4000, &err), &err);
	CHECK_OK(catalog_unit_get(c, tenant, unit, &u, &err), &err);
	CHECK(u->legal_hold_since == 4000);
out:
	if (us != NULL)
		CATALOG_LIST_FREE(us, n, catalog_unit_free);
	catalog_unit_free(&u);
	free(tenant);
	free(unit);
	free(other);
	free(ounit);
	catalog_close(&c);
	free(path);
}

/* A unit's source replaced (a webdav rule's new credentials): only that
 * unit of that tenant, and never an empty one. */
static void test_catalog_unit_source(void)
{
	struct catalog_unit *u = NULL;
	struct catalog *c = NULL;
	struct error err;
	char *path = NULL, *tenant = NULL, *unit = NULL, *other = NULL, *ounit = NULL;

	error_init(&err);
	c = open_new("source", &path, &err);
	CHECKF(c != NULL, "open: %s", err.msg);
	CHECK_OK(fixture(c, "a", &tenant, &unit, &err), &err);
	CHECK_OK(fixture(c, "b", &other, &ounit, &err), &err);
	CHECK_OK(catalog_unit_set_source(c, tenant, unit, "{\"type\":\"webdav\"}", &err), &err);
	CHECK_OK(catalog_unit_get(c, tenant, unit, &u, &err), &err);
	CHECK(strcmp(u->source, "{\"type\":\"webdav\"}") == 0);
	catalog_unit_free(&u);
	CHECK_FAILS(catalog_unit_set_source(c, other, unit, "{}", &err), &err, ERROR_NOTFOUND);
	CHECK_FAILS(catalog_unit_set_source(c, tenant, unit, "", &err), &err, ERROR_USAGE);
	CHECK_OK(catalog_unit_get(c, other, ounit, &u, &err), &err);
	CHECK(strstr(u->source, "webdav") == NULL);
out:
	catalog_unit_free(&u);
	free(tenant);
	free(unit);
	free(other);
	free(ounit);
	catalog_close(&c);
	free(path);
}

static void test_catalog_policies(void)
{
	struct catalog_policy p = { 0 }, *g = NULL, **ps = NULL;
	struct catalog *c = NULL;
	struct error err;
	char *path = NULL, *tenant = NULL, *unit = NULL, *other = NULL, *ounit = NULL;
	size_t n = 0;

	error_init(&err);
	c = open_new("policies", &path, &err);
	CHECKF(c != NULL, "open: %s", err.msg);
	CHECK_OK(fixture(c, "a", &tenant, &unit, &err), &err);
	CHECK_OK(fixture(c, "b", &other, &ounit, &err), &err);
	p.name = xstrdup("drives");
	p.kind = xstrdup("account");
	p.tenant = xstrdup(tenant);
	CHECK_OK(catalog_policy_create(c, &p, &err), &err);
	CHECK(is_id(p.id, 'p'));
	CHECK(p.frequency_s == 600 && p.recent_days == 14 && p.retention_days == 365);
	CHECK_OK(catalog_policy_get(c, tenant, p.id, &g, &err), &err);
	CHECK(strcmp(g->state, "inactive") == 0 && strcmp(g->units, "[]") == 0);
	CHECK(strcmp(g->rules, "[]") == 0 && g->frequency_s == 600 && g->created > 0);
	catalog_policy_free(&g);
	g = NULL;
	CHECK_FAILS(catalog_policy_get(c, other, p.id, &g, &err), &err, ERROR_NOTFOUND);
	{
		struct catalog_policy dup = { .tenant = p.tenant, .name = p.name, .kind = p.kind };

		CHECK_FAILS(catalog_policy_create(c, &dup, &err), &err, ERROR_EXISTS);
	}
	p.state = xstrdup("activating");
	p.units = xasprintf("[\"%s\"]", unit);
	p.rules = xstrdup("[{\"type\":\"subfolders\",\"path\":\"/srv/home\"}]");
	p.frequency_s = 60;
	p.updated = 77;
	CHECK_OK(catalog_policy_update(c, &p, &err), &err);
	CHECK_OK(catalog_policy_get(c, tenant, p.id, &g, &err), &err);
	CHECK(strcmp(g->state, "activating") == 0 && strcmp(g->units, p.units) == 0);
	CHECK(strcmp(g->rules, p.rules) == 0 && g->frequency_s == 60 && g->updated == 77);
	CHECK_OK(catalog_policy_list(c, tenant, NULL, &ps, &n, &err), &err);
	CHECK(n == 1 && strcmp(ps[0]->id, p.id) == 0);
	CATALOG_LIST_FREE(ps, n, catalog_policy_free);
	ps = NULL;
	CHECK_OK(catalog_policy_list(c, other, NULL, &ps, &n, &err), &err);
	CHECK(n == 0);
	/* Another tenant cannot update it. */
	free(p.tenant);
	p.tenant = xstrdup(other);
	CHECK_FAILS(catalog_policy_update(c, &p, &err), &err, ERROR_NOTFOUND);
out:
	if (ps != NULL)
		CATALOG_LIST_FREE(ps, n, catalog_policy_free);
	catalog_policy_free(&g);
	free(p.id);
	free(p.tenant);
	free(p.name);
	free(p.kind);
	free(p.state);
	free(p.units);
	free(p.rules);
	free(tenant);
	free(unit);
	free(other);
	free(ounit);
	catalog_close(&c);
	free(path);
}

/* Restore drills: numbered per unit, listed newest first, each unit's
 * newest with its totals; a policy keeps its drill settings. */
static void test_catalog_drills(void)
{
	struct catalog_policy p = { 0 }, *g = NULL;
	struct catalog_drill d = { 0 }, **ds = NULL;
	struct catalog *c = NULL;
	struct error err;
	char *path = NULL, *tenant = NULL, *unit = NULL, *other = NULL, *ounit = NULL;
	char passed[] = "passed", failed[] = "failed", detail[] = "{\"problemList\":[]}";
	int64_t seq = 0;
	size_t n = 0;

	error_init(&err);
	c = open_new("drills", &path, &err);
	CHECKF(c != NULL, "open: %s", err.msg);
	CHECK_OK(fixture(c, "a", &tenant, &unit, &err), &err);
	CHECK_OK(fixture(c, "b", &other, &ounit, &err), &err);
	p.name = xstrdup("sites");
	p.kind = xstrdup("site");
	p.tenant = xstrdup(tenant);
	p.drill = xstrdup("{\"everySeconds\":86400}");
	p.state = xstrdup("active");
	CHECK_OK(catalog_policy_create(c, &p, &err), &err);
	CHECK_OK(catalog_policy_get(c, tenant, p.id, &g, &err), &err);
	CHECK(g->drill && strcmp(g->drill, p.drill) == 0);
	catalog_policy_free(&g);
	free(p.drill);
	p.drill = NULL; /* drills stopped */
	CHECK_OK(catalog_policy_update(c, &p, &err), &err);
	CHECK_OK(catalog_policy_get(c, tenant, p.id, &g, &err), &err);
	CHECK(g->drill == NULL);

	CHECK_OK(catalog_drill_next_seq(c, tenant, unit, &seq, &err), &err);
	CHECK(seq == 1);
	d.tenant = tenant;
	d.unit = unit;
	for (int i = 1; i <= 3; i++) {
		d.seq = i;
		d.state = i == 2 ? failed : passed;
		d.started = 100 * i;
		d.finished = 100 * i + 5;
		d.slices = 3;
		d.slice = i - 1;
		d.packs = i;
		d.bytes = 1000 * i;
		d.detail = detail;
		CHECK_OK(catalog_drill_put(c, &d, &err), &err);
	}
	CHECK_FAILS(catalog_drill_put(c, &d, &err), &err, ERROR_EXISTS);
	CHECK_OK(catalog_drill_next_seq(c, tenant, unit, &seq, &err), &err);
	CHECK(seq == 4);
	CHECK_OK(catalog_drill_next_seq(c, other, ounit, &seq, &err), &err);
	CHECK(seq == 1);
	CHECK_OK(catalog_drill_list(c, tenant, unit, 1, &(struct catalog_page){ .limit = 2 }, &ds,
				    &n, &err), &err);
	CHECK(n == 2 && ds[0]->seq == 3 && ds[1]->seq == 2 && strcmp(ds[1]->state, "failed") == 0);
	CATALOG_LIST_FREE(ds, n, catalog_drill_free);
	ds = NULL;
	CHECK_OK(catalog_drill_list(c, tenant, unit, 1, &(struct catalog_page){ .after = "2" }, &ds,
				    &n, &err), &err);
	CHECK(n == 1 && ds[0]->seq == 1 && ds[0]->bytes == 1000 && ds[0]->finished == 105);
	CATALOG_LIST_FREE(ds, n, catalog_drill_free);
	ds = NULL;
	CHECK_OK(catalog_drill_latest(c, tenant, NULL, &ds, &n, &err), &err);
	CHECK(n == 1 && ds[0]->seq == 3 && ds[0]->total == 3 && ds[0]->failed_total == 1);
	CHECK(ds[0]->packs_total == 6 && ds[0]->bytes_total == 6000);
	CATALOG_LIST_FREE(ds, n, catalog_drill_free);
	ds = NULL;
	/* Another tenant sees none of them. */
	CHECK_OK(catalog_drill_latest(c, other, NULL, &ds, &n, &err), &err);
	CHECK(n == 0);
	CATALOG_LIST_FREE(ds, n, catalog_drill_free);
	ds = NULL;
	CHECK_OK(catalog_drill_list(c, other, unit, 0, NULL, &ds, &n, &err), &err);
	CHECK(n == 0);
	/* A purged tenant takes its drills along. */
	CHECK_OK(catalog_tenant_purge(c, tenant, &err), &err);
out:
	if (ds != NULL)
		CATALOG_LIST_FREE(ds, n, catalog_drill_free);
	catalog_policy_free(&g);
	free(p.id);
	free(p.tenant);
	free(p.name);
	free(p.kind);
	free(p.state);
	free(p.drill);
	free(tenant);
	free(unit);
	free(other);
	free(ounit);
	catalog_close(&c);
	free(path);
}

static void test_catalog_restore_points(void)
{
	struct catalog_rp rp = { 0 }, *g = NULL, **rps = NULL;
	struct catalog_rp_filter f = { 0 };
	struct catalog_page pg = { 0 };
	struct catalog *c = NULL;
	struct error err;
	char *path = NULL, *tenant = NULL, *unit = NULL, *other = NULL, *ounit = NULL;
	char hash[65], unknown[] = "u-ffffffffffffffff";
	size_t n = 0;
	uint32_t seq;

	error_init(&err);
	c = open_new("rps", &path, &err);
	CHECKF(c != NULL, "open: %s", err.msg);
	CHECK_OK(fixture(c, "a", &tenant, &unit, &err), &err);
	CHECK_OK(fixture(c, "b", &other, &ounit, &err), &err);
	rp.tenant = tenant;
	rp.unit = unit;
	rp.hash = hash;
	for (seq = 1; seq <= 5; seq++) {
		snprintf(hash, sizeof(hash), "%064x", seq);
		rp.seq = seq;
		rp.time_ns = (int64_t)seq * 1000000000LL;
		rp.files = seq;
		rp.bytes = UINT64_MAX - seq; /* unsigned values survive */
		CHECK_OK(catalog_rp_put(c, &rp, &err), &err);
	}
	/* Put again replaces. */
	rp.seq = 2;
	rp.files = 42;
	rp.bytes = UINT64_MAX - 2;
	rp.time_ns = 2000000000LL;
	snprintf(hash, sizeof(hash), "%064x", 99);
	CHECK_OK(catalog_rp_put(c, &rp, &err), &err);
	CHECK_OK(catalog_rp_get(c, tenant, unit, 2, &g, &err), &err);
	CHECK(g->files == 42 && strcmp(g->hash, hash) == 0 && g->bytes == UINT64_MAX - 2);
	CHECK(g->time_ns == 2000000000LL && g->forgotten == 0);
	catalog_rp_free(&g);
	g = NULL;
	CHECK_FAILS(catalog_rp_get(c, other, unit, 2, &g, &err), &err, ERROR_NOTFOUND);
	CHECK_FAILS(catalog_rp_get(c, tenant, unit, 9, &g, &err), &err, ERROR_NOTFOUND);
	/* A restore point of a unit the catalog does not know. */
	rp.unit = unknown;
	CHECK_FAILS(catalog_rp_put(c, &rp, &err), &err, ERROR_NOTFOUND);
	rp.unit = unit;

	CHECK_OK(catalog_rp_mark_forgotten(c, tenant, unit, 3, &err), &err);
	CHECK_FAILS(catalog_rp_mark_forgotten(c, tenant, unit, 9, &err), &err, ERROR_NOTFOUND);
	CHECK_OK(catalog_rp_list(c, tenant, unit, NULL, NULL, &rps, &n, &err), &err);
	CHECK(n == 4 && rps[0]->seq == 1 && rps[1]->seq == 2 && rps[2]->seq == 4);
	CATALOG_LIST_FREE(rps, n, catalog_rp_free);
	rps = NULL;
	f.include_forgotten = 1;
	CHECK_OK(catalog_rp_list(c, tenant, unit, &f, NULL, &rps, &n, &err), &err);
	CHECK(n == 5 && rps[2]->seq == 3 && rps[2]->forgotten == 1);
	CATALOG_LIST_FREE(rps, n, catalog_rp_free);
	rps = NULL;
	/* Strict time bounds: after 1 s, before 4 s. */
	f.after_ns = 1000000000LL;
	f.before_ns = 4000000000LL;
	CHECK_OK(catalog_rp_list(c, tenant, unit, &f, NULL, &rps, &n, &err), &err);
	CHECK(n == 2 && rps[0]->seq == 2 && rps[1]->seq == 3);
	CATALOG_LIST_FREE(rps, n, catalog_rp_free);
	rps = NULL;
	/* Pages by seq, cursor exclusive. */
	memset(&f, 0, sizeof(f));
	f.include_forgotten = 1;
	pg.after = "2";
	pg.limit = 2;
	CHECK_OK(catalog_rp_list(c, tenant, unit, &f, &pg, &rps, &n, &err), &err);
	CHECK(n == 2 && rps[0]->seq == 3 && rps[1]->seq == 4);
	CATALOG_LIST_FREE(rps, n, catalog_rp_free);
	rps = NULL;
	pg.after = "two";
	CHECK_FAILS(catalog_rp_list(c, tenant, unit, &f, &pg, &rps, &n, &err), &err, ERROR_USAGE);
	CHECKF(strstr(err.msg, "'two'") != NULL, "message: %s", err.msg);
	CHECK_OK(catalog_rp_list(c, other, unit, NULL, NULL, &rps, &n, &err), &err);
	CHECK(n == 0);
	CATALOG_LIST_FREE(rps, n, catalog_rp_free);
	rps = NULL;
	/* Newest first: the cursor bounds from above; forgotten 3 left out. */
	memset(&f, 0, sizeof(f));
	f.desc = 1;
	pg.after = NULL;
	CHECK_OK(catalog_rp_list(c, tenant, unit, &f, &pg, &rps, &n, &err), &err);
	CHECK(n == 2 && rps[0]->seq == 5 && rps[1]->seq == 4);
	CATALOG_LIST_FREE(rps, n, catalog_rp_free);
	rps = NULL;
	pg.after = "4";
	CHECK_OK(catalog_rp_list(c, tenant, unit, &f, &pg, &rps, &n, &err), &err);
	CHECK(n == 2 && rps[0]->seq == 2 && rps[1]->seq == 1);
	CATALOG_LIST_FREE(rps, n, catalog_rp_free);
	rps = NULL;
	/* Sums of the live points, by the database (bytes wrap as uint64). */
	{
		struct catalog_rp_stats **st = NULL;
		size_t ns = 0;

		CHECK_OK(catalog_rp_stats(c, tenant, &st, &ns, &err), &err);
		CHECK(ns == 1 && strcmp(st[0]->unit, unit) == 0 && st[0]->points == 4);
		CHECK(ns == 1 && st[0]->bytes == UINT64_MAX - 15 && st[0]->stored_bytes == 0 &&
		      st[0]->newest_ns == 5000000000LL);
		CATALOG_LIST_FREE(st, ns, catalog_rp_stats_free);
		CHECK_OK(catalog_rp_stats(c, other, &st, &ns, &err), &err);
		CHECK(ns == 0);
		CATALOG_LIST_FREE(st, ns, catalog_rp_stats_free);
	}
	CHECK_OK(catalog_rp_clear(c, &err), &err);
	CHECK_OK(catalog_rp_list(c, tenant, unit, &f, NULL, &rps, &n, &err), &err);
	CHECK(n == 0);
out:
	if (rps != NULL)
		CATALOG_LIST_FREE(rps, n, catalog_rp_free);
	catalog_rp_free(&g);
	free(tenant);
	free(unit);
	free(other);
	free(ounit);
	catalog_close(&c);
	free(path);
}

static struct catalog_artifact *artifact_new(const char *unit, uint32_t seq, const char *mode)
{
	struct catalog_artifact *a = xcalloc(1, sizeof(*a));

	a->unit = xstrdup(unit);
	a->seq = seq;
	a->mode = xstrdup(mode);
	return a;
}

static void test_catalog_sessions(void)
{
	struct catalog_session s = { 0 }, *g = NULL, **ss = NULL;
	struct catalog_artifact *a;
	struct catalog_unit *u2 = NULL;
	struct catalog *c = NULL;
	struct error err;
	char *path = NULL, *tenant = NULL, *unit = NULL, *other = NULL, *ounit = NULL;
	size_t n = 0;

	error_init(&err);
	c = open_new("sessions", &path, &err);
	CHECKF(c != NULL, "open: %s", err.msg);
	CHECK_OK(fixture(c, "a", &tenant, &unit, &err), &err);
	CHECK_OK(fixture(c, "b", &other, &ounit, &err), &err);
	CHECK_OK(catalog_unit_create(c, tenant, "site", "wiki", "{}", &u2, &err), &err);
	s.tenant = xstrdup(tenant);
	s.created_by = xstrdup("k-0000000000000001");
	s.created = 500;
	s.nartifacts = 2;
	s.artifacts = xcalloc(2, sizeof(*s.artifacts));
	s.artifacts[0] = artifact_new(unit, 3, "in_place");
	s.artifacts[1] = artifact_new(u2->id, 1, "granular");
	s.artifacts[1]->patterns = xstrdup("[\"reports/*.pdf\"]");
	CHECK_OK(catalog_session_create(c, &s, &err), &err);
	CHECK(is_id(s.id, 's'));
	CHECK(strcmp(s.artifacts[0]->session, s.id) == 0);
	CHECK(strcmp(s.artifacts[1]->tenant, tenant) == 0);

	CHECK_OK(catalog_session_get(c, tenant, s.id, &g, &err), &err);
	CHECK(strcmp(g->state, "pending") == 0 && g->created == 500 && g->nartifacts == 2);
	a = strcmp(g->artifacts[0]->unit, unit) == 0 ? g->artifacts[0] : g->artifacts[1];
	CHECK(a->seq == 3 && strcmp(a->mode, "in_place") == 0 && strcmp(a->state, "pending") == 0);
	CHECK(a->patterns == NULL && a->target == NULL);
	catalog_session_free(&g);
	g = NULL;
	CHECK_FAILS(catalog_session_get(c, other, s.id, &g, &err), &err, ERROR_NOTFOUND);

	a = s.artifacts[0];
	a->state = xstrdup("running");
	a->items_done = 10;
	a->items_total = 20;
	a->bytes_done = 1000;
	a->bytes_total = 5000;
	a->started = 501;
	CHECK_OK(catalog_artifact_update(c, a, &err), &err);
	CHECK_OK(catalog_session_set_state(c, s.id, CATALOG_SESSION_RUNNING, 0, &err), &err);
	CHECK_OK(catalog_session_list(c, tenant, NULL, &ss, &n, &err), &err);
	CHECK(n == 1 && strcmp(ss[0]->state, "running") == 0 && ss[0]->nartifacts == 2);
	a = strcmp(ss[0]->artifacts[0]->unit, unit) == 0 ? ss[0]->artifacts[0]
							   : ss[0]->artifacts[1];
	CHECK(strcmp(a->state, "running") == 0 && a->items_done == 10 && a->bytes_total == 5000);
	CHECK(a->started == 501);
	CATALOG_LIST_FREE(ss, n, catalog_session_free);
	ss = NULL;
	CHECK_OK(catalog_session_list(c, other, NULL, &ss, &n, &err), &err);
	CHECK(n == 0);
	CATALOG_LIST_FREE(ss, n, catalog_session_free);
	ss = NULL;
	CHECK_FAILS(catalog_session_set_state(c, "s-ffffffffffffffff", CATALOG_SESSION_FAILED, 9,
					      &err),
		    &err,
		    ERROR_NOTFOUND);
	/* A session naming a unknown unit is not created at all. */
	{
		char creator[] = "k-0000000000000001";
		struct catalog_session bad = { .tenant = tenant, .created_by = creator };
		struct catalog_artifact *arts[2];

		arts[0] = artifact_new(unit, 1, "in_place");
		arts[1] = artifact_new("u-ffffffffffffffff", 1, "in_place");
		bad.artifacts = arts;
		bad.nartifacts = 2;
		error_init(&err);
		if (catalog_session_create(c, &bad, &err) == 0)
			th_fail(__FILE__, __LINE__, "a session with an unknown unit was created");
		free(bad.id);
		for (int i = 0; i < 2; i++) {
			free(arts[i]->session);
			free(arts[i]->tenant);
			free(arts[i]->unit);
			free(arts[i]->mode);
			free(arts[i]);
		}
		CHECK(!th_failed() && err.code == ERROR_NOTFOUND);
	}
	CHECK_OK(catalog_session_list(c, NULL, NULL, &ss, &n, &err), &err);
	CHECK(n == 1);
out:
	if (ss != NULL)
		CATALOG_LIST_FREE(ss, n, catalog_session_free);
	catalog_session_free(&g);
	for (n = 0; n < s.nartifacts; n++) {
		free(s.artifacts[n]->session);
		free(s.artifacts[n]->tenant);
		free(s.artifacts[n]->unit);
		free(s.artifacts[n]->mode);
		free(s.artifacts[n]->patterns);
		free(s.artifacts[n]->state);
		free(s.artifacts[n]);
	}
	free(s.artifacts);
	free(s.id);
	free(s.tenant);
	free(s.created_by);
	catalog_unit_free(&u2);
	free(tenant);
	free(unit);
	free(other);
	free(ounit);
	catalog_close(&c);
	free(path);
}

static void test_catalog_tokens(void)
{
	struct catalog_token *t1 = NULL, *t2 = NULL, *g = NULL, **ts = NULL;
	struct catalog *c = NULL;
	struct error err;
	char *path = NULL, *tenant = NULL, *unit = NULL;
	int64_t count = -1;
	size_t n = 0;

	error_init(&err);
	c = open_new("tokens", &path, &err);
	CHECKF(c != NULL, "open: %s", err.msg);
	CHECK_OK(fixture(c, "a", &tenant, &unit, &err), &err);
	CHECK_OK(catalog_token_count(c, NULL, NULL, &count, &err), &err);
	CHECK(count == 0);
	CHECK_OK(catalog_token_create(c, NULL, "globalAdmin", "root", "aa11", &t1, &err), &err);
	CHECK(is_id(t1->id, 'k') && t1->tenant == NULL && t1->revoked == 0);
	CHECK_OK(catalog_token_create(c, tenant, "auditor", "audit", "bb22", &t2, &err), &err);
	CHECK_FAILS(catalog_token_create(c, tenant, "auditor", "dup", "bb22", &g, &err), &err,
		    ERROR_EXISTS);
	CHECK_OK(catalog_token_by_hash(c, "bb22", &g, &err), &err);
	CHECK(strcmp(g->id, t2->id) == 0 && strcmp(g->role, "auditor") == 0);
	CHECK(strcmp(g->tenant, tenant) == 0 && strcmp(g->name, "audit") == 0);
	catalog_token_free(&g);
	g = NULL;
	CHECK_OK(catalog_token_touch(c, t2->id, 4242, &err), &err);
	CHECK_OK(catalog_token_list(c, tenant, NULL, &ts, &n, &err), &err);
	CHECK(n == 1 && strcmp(ts[0]->id, t2->id) == 0 && ts[0]->last_used == 4242);
	CATALOG_LIST_FREE(ts, n, catalog_token_free);
	ts = NULL;
	CHECK_OK(catalog_token_list(c, NULL, NULL, &ts, &n, &err), &err);
	CHECK(n == 2);
	CATALOG_LIST_FREE(ts, n, catalog_token_free);
	ts = NULL;
	/* The tenant must match to revoke; a revoked token no longer works. */
	CHECK_FAILS(catalog_token_revoke(c, NULL, t2->id, &err), &err, ERROR_NOTFOUND);
	CHECK_FAILS(catalog_token_revoke(c, tenant, t1->id, &err), &err, ERROR_NOTFOUND);
	CHECK_OK(catalog_token_revoke(c, tenant, t2->id, &err), &err);
	CHECK_FAILS(catalog_token_by_hash(c, "bb22", &g, &err), &err, ERROR_NOTFOUND);
	CHECKF(strstr(err.msg, "bb22") == NULL, "the hash reached a message: %s", err.msg);
	CHECK_OK(catalog_token_by_hash(c, "aa11", &g, &err), &err);
	CHECK_OK(catalog_token_count(c, NULL, NULL, &count, &err), &err);
	CHECK(count == 2);
out:
	if (ts != NULL)
		CATALOG_LIST_FREE(ts, n, catalog_token_free);
	catalog_token_free(&g);
	catalog_token_free(&t1);
	catalog_token_free(&t2);
	free(tenant);
	free(unit);
	catalog_close(&c);
	free(path);
}

static void test_catalog_pages(void)
{
	struct catalog_tenant **ts = NULL;
	struct catalog_page pg = { 0 };
	struct catalog *c = NULL;
	struct error err;
	char *path = NULL, name[32];
	size_t n = 0, total = 0;
	int i;

	error_init(&err);
	c = open_new("pages", &path, &err);
	CHECKF(c != NULL, "open: %s", err.msg);
	for (i = 0; i < 1003; i++) {
		struct catalog_tenant t = { .name = name, .created = i };
		char id[32];

		/* Ids in a known order, so pages can be checked exactly. */
		snprintf(id, sizeof(id), "t-%016x", i);
		snprintf(name, sizeof(name), "tenant %d", i);
		t.id = id;
		CHECK_OK(catalog_tenant_insert(c, &t, &err), &err);
	}
	CHECK_OK(catalog_tenant_list(c, NULL, &ts, &n, &err), &err);
	CHECKF(n == 100, "default page has %zu", n);
	CATALOG_LIST_FREE(ts, n, catalog_tenant_free);
	ts = NULL;
	pg.limit = 5000;
	CHECK_OK(catalog_tenant_list(c, &pg, &ts, &n, &err), &err);
	CHECKF(n == 1000, "a limit of 5000 gave %zu", n);
	CHECK(strcmp(ts[999]->id, "t-00000000000003e7") == 0);
	pg.after = "t-00000000000003e7";
	CATALOG_LIST_FREE(ts, n, catalog_tenant_free);
	ts = NULL;
	CHECK_OK(catalog_tenant_list(c, &pg, &ts, &n, &err), &err);
	CHECK(n == 3 && strcmp(ts[0]->id, "t-00000000000003e8") == 0);
	CATALOG_LIST_FREE(ts, n, catalog_tenant_free);
	ts = NULL;
	/* Walking in pages of 7 sees each tenant once, in order. */
	pg.after = NULL;
	pg.limit = 7;
	for (;;) {
		char last[32];

		CHECK_OK(catalog_tenant_list(c, &pg, &ts, &n, &err), &err);
		if (n == 0)
			break;
		for (size_t k = 0; k < n; k++) {
			char want[32];

			snprintf(want, sizeof(want), "t-%016zx", total + k);
			CHECKF(strcmp(ts[k]->id, want) == 0, "got %s, want %s", ts[k]->id, want);
		}
		total += n;
		snprintf(last, sizeof(last), "%s", ts[n - 1]->id);
		CATALOG_LIST_FREE(ts, n, catalog_tenant_free);
		ts = NULL;
		pg.after = name;
		snprintf(name, sizeof(name), "%s", last);
	}
	CHECK(total == 1003);
out:
	if (ts != NULL)
		CATALOG_LIST_FREE(ts, n, catalog_tenant_free);
	catalog_close(&c);
	free(path);
}

static int64_t enqueue(struct catalog *c, const char *tenant, const char *unit, const char *kind,
		       const char *session, int64_t not_before, struct error *err)
{
	struct catalog_job j = { 0 };
	char kbuf[16], tbuf[32], ubuf[32], sbuf[32];
	int64_t id;

	/* The record's strings are not const: copy into buffers. */
	snprintf(kbuf, sizeof(kbuf), "%s", kind);
	snprintf(tbuf, sizeof(tbuf), "%s", tenant);
	snprintf(ubuf, sizeof(ubuf), "%s", unit);
	snprintf(sbuf, sizeof(sbuf), "%s", session ? session : "");
	j.kind = kbuf;
	j.tenant = tbuf;
	j.unit = ubuf;
	j.session = session ? sbuf : NULL;
	j.created = 100;
	j.not_before = not_before;
	return catalog_job_enqueue(c, &j, &id, err) < 0 ? -1 : id;
}

/* A restore session of `units` (for restore jobs to name). */
static char *session_of(struct catalog *c, const char *tenant, char **units, size_t nunits,
			struct error *err)
{
	struct catalog_session s = { 0 };
	char *id = NULL;
	size_t i;

	s.tenant = xstrdup(tenant);
	s.created_by = xstrdup("system");
	s.artifacts = xcalloc(nunits, sizeof(*s.artifacts));
	s.nartifacts = nunits;
	for (i = 0; i < nunits; i++)
		s.artifacts[i] = artifact_new(units[i], 1, "in_place");
	if (catalog_session_create(c, &s, err) == 0) {
		id = s.id;
		s.id = NULL;
	}
	for (i = 0; i < nunits; i++) {
		free(s.artifacts[i]->session);
		free(s.artifacts[i]->tenant);
		free(s.artifacts[i]->unit);
		free(s.artifacts[i]->mode);
		free(s.artifacts[i]);
	}
	free(s.artifacts);
	free(s.id);
	free(s.tenant);
	free(s.created_by);
	return id;
}

static void test_catalog_jobs(void)
{
	struct catalog_job *j = NULL, **js = NULL;
	struct catalog_job_filter f = { 0 };
	struct catalog_page pg = { 0 };
	struct catalog *c = NULL;
	struct error err;
	char *path = NULL, *tenant = NULL, *unit = NULL, *sess = NULL, *sess2 = NULL;
	int64_t b1, b2, e1, r1, r2, r3;
	size_t n = 0;

	error_init(&err);
	c = open_new("jobs", &path, &err);
	CHECKF(c != NULL, "open: %s", err.msg);
	CHECK_OK(fixture(c, "a", &tenant, &unit, &err), &err);
	sess = session_of(c, tenant, &unit, 1, &err);
	CHECKF(sess != NULL, "session: %s", err.msg);
	sess2 = session_of(c, tenant, &unit, 1, &err);
	CHECKF(sess2 != NULL, "session: %s", err.msg);

	/* Dedup: one queued or running job per unit and kind; restores per
	 * session and unit. */
	b1 = enqueue(c, tenant, unit, "backup", NULL, 0, &err);
	CHECKF(b1 > 0, "enqueue: %s", err.msg);
	b2 = enqueue(c, tenant, unit, "backup", NULL, 0, &err);
	CHECK(b2 == b1);
	e1 = enqueue(c, tenant, unit, "expire", NULL, 0, &err);
	CHECK(e1 > b1);
	r1 = enqueue(c, tenant, unit, "restore", sess, 0, &err);
	r2 = enqueue(c, tenant, unit, "restore", sess, 0, &err);
	r3 = enqueue(c, tenant, unit, "restore", sess2, 0, &err);
	CHECK(r1 > e1 && r2 == r1 && r3 > r1);
	{
		char restore[] = "restore";
		struct catalog_job nosession = { .kind = restore, .unit = unit };

		/* A restore job must name its session. */
		CHECK_FAILS(catalog_job_enqueue(c, &nosession, &b2, &err), &err, ERROR_USAGE);
	}
	CHECK(catalog_job_queue_depth(c) == 4);

	/* Claims go oldest first, one job per unit at a time. */
	CHECK_OK(catalog_job_claim(c, "n1", 1000, 60, &j, &err), &err);
	CHECK(j != NULL && j->id == b1 && strcmp(j->state, "running") == 0);
	CHECK(j->started == 1000 && j->attempts == 1);
	catalog_job_free(&j);
	j = NULL;
	CHECK_OK(catalog_job_claim(c, "n1", 1000, 60, &j, &err), &err);
	CHECK(j == NULL);
	/* While it runs, another backup of the unit is the running one. */
	CHECK(enqueue(c, tenant, unit, "backup", NULL, 0, &err) == b1);
	CHECK_OK(catalog_job_set_detail(c, b1, NULL, 0, "{\"files\":3}", &err), &err);
	CHECK_OK(catalog_job_finish(c, b1, NULL, 0, CATALOG_JOB_QUEUED, "source busy", NULL, 1001,
				    2000, &err),
		 &err);
	CHECK_OK(catalog_job_get(c, b1, &j, &err), &err);
	CHECK(strcmp(j->state, "queued") == 0 && strcmp(j->error, "source busy") == 0);
	CHECK(strcmp(j->detail, "{\"files\":3}") == 0 && j->not_before == 2000);
	catalog_job_free(&j);
	j = NULL;
	/* b1 waits until 2000, so the expire job goes first. */
	CHECK_OK(catalog_job_claim(c, "n1", 1500, 60, &j, &err), &err);
	CHECK(j != NULL && j->id == e1);
	catalog_job_free(&j);
	j = NULL;
	CHECK_OK(catalog_job_finish(c, e1, NULL, 0, CATALOG_JOB_SUCCEEDED, NULL,
				    "{\"forgotten\":2}", 1600, 0, &err),
		 &err);
	CHECK_OK(catalog_job_claim(c, "n1", 2000, 60, &j, &err), &err);
	CHECK(j != NULL && j->id == b1 && j->attempts == 2);
	catalog_job_free(&j);
	j = NULL;
	CHECK_OK(catalog_job_finish(c, b1, NULL, 0, CATALOG_JOB_FAILED, "boom", NULL, 2001, 0, &err),
		 &err);
	CHECK_FAILS(catalog_job_finish(c, b1, NULL, 0, CATALOG_JOB_RUNNING, NULL, NULL, 0, 0, &err),
		    &err, ERROR_USAGE);
	CHECK_FAILS(catalog_job_finish(c, 999, NULL, 0, CATALOG_JOB_FAILED, NULL, NULL, 0, 0, &err),
		    &err, ERROR_NOTFOUND);
	/* Once finished, a new backup job is queued. */
	b2 = enqueue(c, tenant, unit, "backup", NULL, 0, &err);
	CHECK(b2 > r3);

	f.kind = "restore";
	CHECK_OK(catalog_job_list(c, &f, NULL, &js, &n, &err), &err);
	CHECK(n == 2 && js[0]->id == r1 && js[1]->id == r3);
	CHECK(strcmp(js[0]->session, sess) == 0);
	CATALOG_LIST_FREE(js, n, catalog_job_free);
	js = NULL;
	memset(&f, 0, sizeof(f));
	f.state = "failed";
	CHECK_OK(catalog_job_list(c, &f, NULL, &js, &n, &err), &err);
	CHECK(n == 1 && js[0]->id == b1 && strcmp(js[0]->error, "boom") == 0);
	CATALOG_LIST_FREE(js, n, catalog_job_free);
	js = NULL;
	pg.after = "2";
	pg.limit = 2;
	CHECK_OK(catalog_job_list(c, NULL, &pg, &js, &n, &err), &err);
	CHECK(n == 2 && js[0]->id == 3 && js[1]->id == 4);
out:
	if (js != NULL)
		CATALOG_LIST_FREE(js, n, catalog_job_free);
	catalog_job_free(&j);
	free(tenant);
	free(unit);
	free(sess);
	free(sess2);
	catalog_close(&c);
	free(path);
}

/* Leases: a claim holds the job for a node until its lease ends; the
 * holder renews it; once it lapses another node takes the job over, and
 * the old holder's heartbeat, detail and finish are refused (fencing). */
static void test_catalog_leases(void)
{
	struct catalog_job *j = NULL;
	struct catalog *c = NULL;
	struct error err;
	char *path = NULL, *tenant = NULL, *unit = NULL, want[128];
	int64_t b, e;

	error_init(&err);
	c = open_new("leases", &path, &err);
	CHECKF(c != NULL, "open: %s", err.msg);
	CHECK_OK(fixture(c, "a", &tenant, &unit, &err), &err);
	b = enqueue(c, tenant, unit, "backup", NULL, 0, &err);
	e = enqueue(c, tenant, unit, "expire", NULL, 0, &err);
	CHECKF(b > 0 && e > b, "enqueue: %s", err.msg);
	CHECK_FAILS(catalog_job_claim(c, NULL, 100, 30, &j, &err), &err, ERROR_USAGE);

	CHECK_OK(catalog_job_claim(c, "node-a", 100, 30, &j, &err), &err);
	CHECK(j != NULL && j->id == b && strcmp(j->owner, "node-a") == 0);
	CHECK(j->fence == 1 && j->lease_until == 130 && j->attempts == 1 && j->error == NULL);
	catalog_job_free(&j);
	/* Live lease: nothing for another node (the expire job's unit is busy). */
	CHECK_OK(catalog_job_claim(c, "node-b", 130, 30, &j, &err), &err);
	CHECK(j == NULL);
	CHECK_OK(catalog_job_heartbeat(c, b, "node-a", 1, 140, &err), &err);
	CHECK_OK(catalog_job_claim(c, "node-b", 140, 30, &j, &err), &err);
	CHECK(j == NULL);
	/* Only the holder, with its fence, renews. */
	CHECK_FAILS(catalog_job_heartbeat(c, b, "node-b", 1, 200, &err), &err, ERROR_CONFLICT);
	CHECK_FAILS(catalog_job_heartbeat(c, b, "node-a", 2, 200, &err), &err, ERROR_CONFLICT);
	CHECK_FAILS(catalog_job_heartbeat(c, 999, "node-a", 1, 200, &err), &err, ERROR_NOTFOUND);
	CHECK_OK(catalog_job_get(c, b, &j, &err), &err);
	CHECK(j->lease_until == 140);
	catalog_job_free(&j);

	/* The lease lapses: node-b takes the job over. */
	CHECK_OK(catalog_job_claim(c, "node-b", 141, 30, &j, &err), &err);
	CHECK(j != NULL && j->id == b && strcmp(j->owner, "node-b") == 0);
	CHECK(j->fence == 2 && j->lease_until == 171 && j->attempts == 2 && j->started == 141);
	CHECKF(j->error && strcmp(j->error, "taken over from node node-a: its lease expired") == 0,
	       "error: %s", j->error ? j->error : "(null)");
	catalog_job_free(&j);
	/* node-a, back from a pause, may write nothing more. */
	snprintf(want, sizeof(want), "job %" PRId64 " is no longer ours: taken over by node node-b",
		 b);
	CHECK_FAILS(catalog_job_heartbeat(c, b, "node-a", 1, 200, &err), &err, ERROR_CONFLICT);
	CHECKF(strstr(err.msg, want) != NULL, "message: %s", err.msg);
	CHECK_FAILS(catalog_job_set_detail(c, b, "node-a", 1, "{\"x\":1}", &err), &err,
		    ERROR_CONFLICT);
	CHECK_FAILS(catalog_job_finish(c, b, "node-a", 1, CATALOG_JOB_SUCCEEDED, NULL, NULL, 150, 0,
				       &err),
		    &err, ERROR_CONFLICT);
	CHECKF(strstr(err.msg, want) != NULL, "message: %s", err.msg);
	CHECK_OK(catalog_job_get(c, b, &j, &err), &err);
	CHECK(strcmp(j->state, "running") == 0 && j->detail == NULL && j->fence == 2);
	catalog_job_free(&j);
	/* The new holder finishes; the lease ends with the run. */
	CHECK_OK(catalog_job_set_detail(c, b, "node-b", 2, "{\"x\":2}", &err), &err);
	CHECK_OK(catalog_job_finish(c, b, "node-b", 2, CATALOG_JOB_SUCCEEDED, NULL, NULL, 160, 0,
				    &err),
		 &err);
	CHECK_FAILS(catalog_job_finish(c, b, "node-b", 2, CATALOG_JOB_FAILED, "late", NULL, 161, 0,
				       &err),
		    &err, ERROR_CONFLICT);
	CHECKF(strstr(err.msg, "it is succeeded") != NULL, "message: %s", err.msg);
	CHECK_OK(catalog_job_get(c, b, &j, &err), &err);
	CHECK(strcmp(j->state, "succeeded") == 0 && j->lease_until == 0);
	CHECK(strcmp(j->detail, "{\"x\":2}") == 0 && strcmp(j->owner, "node-b") == 0);
	catalog_job_free(&j);

	/* A restarted node requeues its own running jobs only. */
	CHECK_OK(catalog_job_claim(c, "node-a", 200, 30, &j, &err), &err);
	CHECK(j != NULL && j->id == e && j->fence == 1);
	catalog_job_free(&j);
	error_init(&err);
	CHECK(catalog_job_requeue_running(c, "node-b", "restarted", &err) == 0);
	CHECK(catalog_job_requeue_running(c, "node-a", "restarted", &err) == 1);
	CHECK_OK(catalog_job_get(c, e, &j, &err), &err);
	CHECK(strcmp(j->state, "queued") == 0 && strcmp(j->error, "restarted") == 0);
	CHECK(j->lease_until == 0);
	catalog_job_free(&j);
	/* Claimed again: the fence goes on counting. */
	CHECK_OK(catalog_job_claim(c, "node-b", 201, 30, &j, &err), &err);
	CHECK(j != NULL && j->id == e && j->fence == 2 && strcmp(j->error, "restarted") == 0);
out:
	catalog_job_free(&j);
	free(tenant);
	free(unit);
	catalog_close(&c);
	free(path);
}

static void test_catalog_requeue_running(void)
{
	struct catalog_job *j = NULL;
	struct catalog *c = NULL;
	struct error err;
	char *path = NULL, *tenant = NULL, *unit = NULL;
	int64_t id;

	error_init(&err);
	c = open_new("requeue", &path, &err);
	CHECKF(c != NULL, "open: %s", err.msg);
	CHECK_OK(fixture(c, "a", &tenant, &unit, &err), &err);
	id = enqueue(c, tenant, unit, "backup", NULL, 0, &err);
	CHECKF(id > 0, "enqueue: %s", err.msg);
	CHECK_OK(catalog_job_claim(c, "n1", 10, 60, &j, &err), &err);
	CHECK(j != NULL && j->id == id);
	catalog_job_free(&j);
	j = NULL;
	/* A restart: the catalog is opened again and the running job requeued. */
	catalog_close(&c);
	c = catalog_open(path, &err);
	CHECKF(c != NULL, "reopen: %s", err.msg);
	error_init(&err);
	CHECK(catalog_job_requeue_running(c, NULL, "interrupted: the service stopped", &err) == 1);
	CHECK(catalog_job_requeue_running(c, NULL, "again", &err) == 0);
	CHECK_OK(catalog_job_get(c, id, &j, &err), &err);
	CHECK(strcmp(j->state, "queued") == 0);
	CHECK(strcmp(j->error, "interrupted: the service stopped") == 0);
	catalog_job_free(&j);
	j = NULL;
	CHECK_OK(catalog_job_claim(c, "n1", 20, 60, &j, &err), &err);
	CHECK(j != NULL && j->id == id && j->attempts == 2 && j->started == 20);
out:
	catalog_job_free(&j);
	free(tenant);
	free(unit);
	catalog_close(&c);
	free(path);
}

#define RACE_UNITS 6
#define RACE_THREADS 4

/* Units the racing workers hold right now, checked under one mutex. */
struct race {
	const char *path;
	struct catalog *shared; /* threads 0 and 1 share it; 2 and 3 open their own */
	pthread_mutex_t lock;
	char *units[RACE_UNITS];
	int busy[RACE_UNITS];
	int claims;
	char failure[ERROR_MSG_MAX];
};

static int race_unit(struct race *r, const char *unit)
{
	for (int i = 0; i < RACE_UNITS; i++)
		if (strcmp(r->units[i], unit) == 0)
			return i;
	return -1;
}

static void race_fail(struct race *r, const char *msg)
{
	pthread_mutex_lock(&r->lock);
	if (r->failure[0] == '\0')
		snprintf(r->failure, sizeof(r->failure), "%s", msg);
	pthread_mutex_unlock(&r->lock);
}

/* One worker: claim, hold the unit for a moment, finish; until the queue
 * is empty. */
static int race_step(struct race *r, struct catalog *c, struct error *err)
{
	struct catalog_job *j = NULL, **running = NULL;
	struct catalog_job_filter f = { .state = "running" };
	size_t nrunning = 0;
	int u, ret = -1;

	if (catalog_job_claim(c, "n1", 1000, 60, &j, err) < 0)
		return -1;
	if (j == NULL)
		return catalog_job_queue_depth(c) > 0 ? 1 : 0;
	u = race_unit(r, j->unit);
	pthread_mutex_lock(&r->lock);
	if (u < 0 || r->busy[u]++ != 0)
		snprintf(err->msg, sizeof(err->msg), "job %" PRId64 " of a busy unit claimed", j->id);
	else
		r->claims++;
	pthread_mutex_unlock(&r->lock);
	if (err->msg[0] != '\0')
		goto out;
	f.unit = j->unit;
	if (catalog_job_list(c, &f, NULL, &running, &nrunning, err) < 0)
		goto out;
	CATALOG_LIST_FREE(running, nrunning, catalog_job_free);
	if (nrunning != 1) {
		snprintf(err->msg, sizeof(err->msg), "%zu running jobs of one unit", nrunning);
		goto out;
	}
	pthread_mutex_lock(&r->lock);
	r->busy[u]--;
	pthread_mutex_unlock(&r->lock);
	/* Release in our bookkeeping before the catalog does. */
	if (catalog_job_finish(c, j->id, NULL, 0, CATALOG_JOB_SUCCEEDED, NULL, NULL, 1001, 0,
			       err) < 0)
		goto out;
	ret = 1;
out:
	catalog_job_free(&j);
	return ret;
}

static void *race_worker(void *arg)
{
	struct race *r = ((void **)arg)[0];
	long idx = (long)(intptr_t)((void **)arg)[1];
	struct catalog *own = NULL, *c = r->shared;
	struct error err;
	int rc;

	error_init(&err);
	if (idx >= 2) {
		own = catalog_open(r->path, &err);
		if (own == NULL) {
			race_fail(r, err.msg);
			return NULL;
		}
		c = own;
	}
	do {
		error_init(&err);
		rc = race_step(r, c, &err);
	} while (rc > 0);
	if (rc < 0)
		race_fail(r, err.msg);
	catalog_close(&own);
	return NULL;
}

static void test_catalog_claim_race(void)
{
	struct race r = { 0 };
	struct catalog_job **js = NULL;
	struct catalog_job_filter f = { .state = "succeeded" };
	struct catalog_page pg = { .limit = 1000 };
	pthread_t th[RACE_THREADS];
	void *args[RACE_THREADS][2];
	struct error err;
	char *path = NULL, *tenant = NULL, *sess[2] = { NULL, NULL };
	size_t n = 0, i;
	int round, started = 0, want = 0;

	pthread_mutex_init(&r.lock, NULL);
	error_init(&err);
	r.shared = open_new("race", &path, &err);
	r.path = path;
	CHECKF(r.shared != NULL, "open: %s", err.msg);
	CHECK_OK(fixture(r.shared, "a", &tenant, &r.units[0], &err), &err);
	for (i = 1; i < RACE_UNITS; i++) {
		struct catalog_unit *u = NULL;
		char name[16];

		snprintf(name, sizeof(name), "unit%zu", i);
		CHECK_OK(catalog_unit_create(r.shared, tenant, "site", name, "{}", &u, &err), &err);
		r.units[i] = xstrdup(u->id);
		catalog_unit_free(&u);
	}
	for (i = 0; i < 2; i++) {
		sess[i] = session_of(r.shared, tenant, r.units, RACE_UNITS, &err);
		CHECKF(sess[i] != NULL, "session: %s", err.msg);
	}
	/* Four jobs of different kinds per unit, so claims compete for units. */
	for (round = 0; round < 3; round++) {
		for (i = 0; i < RACE_UNITS; i++) {
			CHECK(enqueue(r.shared, tenant, r.units[i], "backup", NULL, 0, &err) > 0);
			CHECK(enqueue(r.shared, tenant, r.units[i], "expire", NULL, 0, &err) > 0);
			CHECK(enqueue(r.shared, tenant, r.units[i], "restore", sess[0], 0, &err) > 0);
			CHECK(enqueue(r.shared, tenant, r.units[i], "restore", sess[1], 0, &err) > 0);
		}
		want += 4 * RACE_UNITS;
		r.claims = 0;
		for (i = 0; i < RACE_THREADS; i++) {
			args[i][0] = &r;
			args[i][1] = (void *)(intptr_t)i;
			CHECK(pthread_create(&th[i], NULL, race_worker, args[i]) == 0);
			started++;
		}
		while (started > 0)
			pthread_join(th[--started], NULL);
		CHECKF(r.failure[0] == '\0', "round %d: %s", round, r.failure);
		CHECKF(r.claims == 4 * RACE_UNITS, "round %d: %d claims", round, r.claims);
	}
	/* Every job ran exactly once. */
	CHECK_OK(catalog_job_list(r.shared, &f, &pg, &js, &n, &err), &err);
	CHECKF(n == (size_t)want, "%zu succeeded jobs, want %d", n, want);
	for (i = 0; i < n; i++)
		CHECKF(js[i]->attempts == 1, "job %" PRId64 " ran %d times", js[i]->id,
		       js[i]->attempts);
out:
	while (started > 0)
		pthread_join(th[--started], NULL);
	if (js != NULL)
		CATALOG_LIST_FREE(js, n, catalog_job_free);
	for (i = 0; i < RACE_UNITS; i++)
		free(r.units[i]);
	free(sess[0]);
	free(sess[1]);
	free(tenant);
	catalog_close(&r.shared);
	pthread_mutex_destroy(&r.lock);
	free(path);
}

/* The documented encoding (docs/service.md "Audit chain"), written again
 * here so the test does not trust the code it checks. */
static void netstring(struct buf *b, const char *s)
{
	buf_addf(b, "%zu:%s,", strlen(s), s);
}

static void expected_hash(const struct catalog_audit *a, char hex[65])
{
	char num[32];
	uint8_t md[32];
	struct buf b;

	buf_init(&b, 0);
	netstring(&b, "coffer-audit-v1");
	snprintf(num, sizeof(num), "%" PRId64, a->seq);
	netstring(&b, num);
	snprintf(num, sizeof(num), "%" PRId64, a->time);
	netstring(&b, num);
	netstring(&b, a->tenant ? a->tenant : "");
	netstring(&b, a->actor);
	netstring(&b, a->action);
	netstring(&b, a->target ? a->target : "");
	netstring(&b, a->detail ? a->detail : "");
	netstring(&b, a->prev);
	crypto_sha256(b.data, b.len, md);
	hex_encode(md, sizeof(md), hex);
	buf_clear(&b);
}

/* The format outside any driver (catalog/audit_chain.c): the worked
 * example of docs/service.md "Audit chain", links and the checker's
 * verdicts on a chain built by hand. */
static void test_catalog_audit_chain_format(void)
{
	char tenant[] = "t-0123456789abcdef", actor[] = "k-00000000000000aa",
	     create[] = "tenant.create", detail[] = "{\"name\":\"acme\"}", system[] = "system",
	     token[] = "token.create", expire[] = "restorePoint.expire", empty[] = "{}",
	     revoke[] = "token.revoke";
	struct catalog_audit e[3] = {
		{ .time = 1700000000, .tenant = tenant, .actor = actor, .action = create,
		  .target = tenant, .detail = detail },
		{ .time = 1700000001, .actor = system, .action = token },
		{ .time = 1700000002, .tenant = tenant, .actor = system, .action = expire,
		  .detail = empty },
	};
	struct audit_chain_check ck;
	struct error err;
	char want[65], *saved = NULL;

	error_init(&err);
	audit_chain_link(&e[0], NULL);
	CHECK(e[0].seq == 1 && strcmp(e[0].prev, "") == 0);
	CHECKF(strcmp(e[0].hash, "c33da204af9357b7361924f3efbcd47eeb2c258e7083c6a9a6709329f1659d65")
	       == 0, "the example of docs/service.md hashes to %s", e[0].hash);
	for (int i = 1; i < 3; i++) {
		audit_chain_link(&e[i], &e[i - 1]);
		expected_hash(&e[i], want);
		CHECK(e[i].seq == i + 1 && strcmp(e[i].prev, e[i - 1].hash) == 0);
		CHECK(strcmp(e[i].hash, want) == 0);
	}
	audit_chain_check_init(&ck);
	for (int i = 0; i < 3; i++)
		CHECK_OK(audit_chain_check_next(&ck, &e[i], &err), &err);
	CHECK(ck.next == 4 && strcmp(ck.prev, e[2].hash) == 0);

	/* A changed field, a missing entry, a broken link. */
	audit_chain_check_init(&ck);
	CHECK_OK(audit_chain_check_next(&ck, &e[0], &err), &err);
	e[1].action = revoke;
	CHECK_FAILS(audit_chain_check_next(&ck, &e[1], &err), &err, ERROR_CORRUPT);
	CHECK(strstr(err.msg, "audit entry 2 was changed") != NULL);
	e[1].action = token;
	CHECK_FAILS(audit_chain_check_next(&ck, &e[2], &err), &err, ERROR_CORRUPT);
	CHECK(strstr(err.msg, "audit entry 2 is missing (the entry after 1 is 3)") != NULL);
	audit_chain_check_init(&ck);
	CHECK_OK(audit_chain_check_next(&ck, &e[0], &err), &err);
	CHECK_OK(audit_chain_check_next(&ck, &e[1], &err), &err);
	saved = e[2].prev;
	e[2].prev = e[0].hash;
	CHECK_FAILS(audit_chain_check_next(&ck, &e[2], &err), &err, ERROR_CORRUPT);
	CHECK(strstr(err.msg, "audit entry 3 does not follow entry 2") != NULL);
out:
	if (saved != NULL)
		e[2].prev = saved;
	for (int i = 0; i < 3; i++) {
		free(e[i].prev);
		free(e[i].hash);
	}
}

/* Five entries: seq 1..5, tenants t-a (1, 3, 5) and global (2, 4). */
static int audit_five(struct catalog *c, char last_hash[65], struct error *err)
{
	static const char *const actions[] = { "tenant.create", "token.create",
					       "restoreSession.create", "tenant.create",
					       "restorePoint.list" };
	struct catalog_audit *a = NULL;
	int i;

	for (i = 0; i < 5; i++) {
		if (catalog_audit_append(c, 1000 + i, i % 2 == 0 ? "t-a" : NULL, "k-0000000000000001",
					 actions[i], i == 1 ? NULL : "u-1",
					 i == 3 ? NULL : "{\"n\":1}", &a, err) < 0)
			return -1;
		snprintf(last_hash, 65, "%s", a->hash);
		catalog_audit_free(&a);
	}
	return 0;
}

static void test_catalog_audit_append_list(void)
{
	struct catalog_audit **as = NULL, *a = NULL;
	struct catalog_audit_filter f = { 0 };
	struct catalog_page pg = { 0 };
	struct catalog *c = NULL;
	struct error err;
	char *path = NULL, *head = NULL, last[65], want[65];
	int64_t count = -1;
	size_t n = 0, i;

	error_init(&err);
	c = open_new("audit", &path, &err);
	CHECKF(c != NULL, "open: %s", err.msg);
	CHECK_OK(catalog_audit_verify(c, &count, &head, &err), &err);
	CHECK(count == 0 && strcmp(head, "") == 0);
	free(head);
	head = NULL;
	CHECK_OK(audit_five(c, last, &err), &err);
	CHECK_OK(catalog_audit_verify(c, &count, &head, &err), &err);
	CHECK(count == 5 && strcmp(head, last) == 0);

	CHECK_OK(catalog_audit_list(c, NULL, NULL, &as, &n, &err), &err);
	CHECK(n == 5);
	for (i = 0; i < n; i++) {
		CHECK(as[i]->seq == (int64_t)i + 1 && as[i]->time == 1000 + (int64_t)i);
		CHECK(strcmp(as[i]->prev, i == 0 ? "" : as[i - 1]->hash) == 0);
		expected_hash(as[i], want);
		CHECKF(strcmp(as[i]->hash, want) == 0, "entry %zu: hash %s, documented %s", i + 1,
		       as[i]->hash, want);
	}
	CHECK(as[1]->tenant == NULL && as[1]->target == NULL && as[3]->detail == NULL);
	CATALOG_LIST_FREE(as, n, catalog_audit_free);
	as = NULL;
	f.tenant = "t-a";
	CHECK_OK(catalog_audit_list(c, &f, NULL, &as, &n, &err), &err);
	CHECK(n == 3 && as[0]->seq == 1 && as[1]->seq == 3 && as[2]->seq == 5);
	CATALOG_LIST_FREE(as, n, catalog_audit_free);
	as = NULL;
	f.tenant = NULL;
	f.action_prefix = "tenant.";
	CHECK_OK(catalog_audit_list(c, &f, NULL, &as, &n, &err), &err);
	CHECK(n == 2 && as[0]->seq == 1 && as[1]->seq == 4);
	CATALOG_LIST_FREE(as, n, catalog_audit_free);
	as = NULL;
	f.action_prefix = NULL;
	f.since = 1001;
	f.until = 1003;
	CHECK_OK(catalog_audit_list(c, &f, NULL, &as, &n, &err), &err);
	CHECK(n == 3 && as[0]->seq == 2 && as[2]->seq == 4);
	CATALOG_LIST_FREE(as, n, catalog_audit_free);
	as = NULL;
	pg.after = "3";
	CHECK_OK(catalog_audit_list(c, NULL, &pg, &as, &n, &err), &err);
	CHECK(n == 2 && as[0]->seq == 4);
	CATALOG_LIST_FREE(as, n, catalog_audit_free);
	as = NULL;
	/* The database itself refuses to change or remove entries. */
	CHECK(raw_sql(path, "UPDATE audit SET detail = 'x' WHERE seq = 2") != 0);
	CHECK(raw_sql(path, "DELETE FROM audit WHERE seq = 2") != 0);
	CHECK_FAILS(catalog_audit_append(c, 1, NULL, "", "x", NULL, NULL, &a, &err), &err,
		    ERROR_USAGE);
out:
	if (as != NULL)
		CATALOG_LIST_FREE(as, n, catalog_audit_free);
	catalog_audit_free(&a);
	free(head);
	catalog_close(&c);
	free(path);
}

/* Tampers with the audit table behind the catalog (dropping the guard
 * triggers as an attacker with the file would) and checks that verify
 * fails naming `want`. */
static void audit_tamper(const char *tag, const char *sql, const char *want)
{
	struct catalog *c = NULL;
	struct error err;
	char *path = NULL, *head = NULL, last[65];
	int64_t count = -1;

	error_init(&err);
	c = open_new(tag, &path, &err);
	CHECKF(c != NULL, "open: %s", err.msg);
	CHECK_OK(audit_five(c, last, &err), &err);
	CHECK(raw_sql(path, sql_of("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete",
				   "DROP TRIGGER audit_no_update ON audit;"
				   " DROP TRIGGER audit_no_delete ON audit")) == 0);
	CHECKF(raw_sql(path, sql) == 0, "%s failed", sql);
	CHECK_FAILS(catalog_audit_verify(c, &count, &head, &err), &err, ERROR_CORRUPT);
	CHECKF(strstr(err.msg, want) != NULL, "after %s: message '%s' does not name '%s'", sql,
	       err.msg, want);
	CHECK(head == NULL);
out:
	free(head);
	catalog_close(&c);
	free(path);
}

static void test_catalog_audit_tamper(void)
{
	audit_tamper("t-detail", "UPDATE audit SET detail = '{\"n\":2}' WHERE seq = 3",
		     "audit entry 3 was changed");
	if (th_failed())
		return;
	audit_tamper("t-null", "UPDATE audit SET target = NULL WHERE seq = 4", "audit entry 4 ");
	if (th_failed())
		return;
	audit_tamper("t-gap", "DELETE FROM audit WHERE seq = 3", "audit entry 3 is missing");
	if (th_failed())
		return;
	audit_tamper("t-first", "DELETE FROM audit WHERE seq = 1", "audit entry 1 is missing");
	if (th_failed())
		return;
	/* Rewriting an entry with a fresh hash breaks the link to the next. */
	audit_tamper("t-rehash", "UPDATE audit SET hash = (SELECT hash FROM audit WHERE seq = 1)"
				 " WHERE seq = 2",
		     "audit entry 2 ");
}

static void test_catalog_migrations(void)
{
	struct catalog_tenant *t = NULL;
	struct catalog *c = NULL;
	struct error err;
	char *path = NULL, *head = NULL, last[65], tid[32] = "";
	int64_t count = 0;

	error_init(&err);
	c = open_new("migrate", &path, &err);
	CHECKF(c != NULL, "open: %s", err.msg);
	CHECK(catalog_schema_version(c) == LATEST_VERSION);
	CHECK_OK(catalog_tenant_create(c, "keep", NULL, &t, &err), &err);
	snprintf(tid, sizeof(tid), "%s", t->id);
	catalog_tenant_free(&t);
	t = NULL;
	CHECK_OK(audit_five(c, last, &err), &err);
	catalog_close(&c);

	/* A catalog of the current version opens, unchanged. */
	c = catalog_open(path, &err);
	CHECKF(c != NULL, "reopen: %s", err.msg);
	CHECK(catalog_schema_version(c) == LATEST_VERSION);
	CHECK_OK(catalog_tenant_get(c, tid, &t, &err), &err);
	catalog_close(&c);

	/* Back to version 1 (what steps 2 and 3 made is gone): opening
	 * migrates, and an existing tenant gets the default minimum. */
	CHECK(raw_sql(path, sql_of("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;",
				   "DROP TRIGGER audit_no_update ON audit;"
				   " DROP TRIGGER audit_no_delete ON audit;"
				   " DROP TRIGGER audit_no_truncate ON audit;"
				   " DROP FUNCTION audit_append_only();")) == 0);
	CHECK(raw_sql(path, " DROP INDEX jobs_one_active; DROP INDEX jobs_one_active_restore;"
			    " DROP INDEX units_policy; DROP INDEX jobs_queue; DROP INDEX jobs_unit;"
			    " DROP INDEX audit_tenant;"
			    " ALTER TABLE restore_points DROP COLUMN keep_until;"
			    " ALTER TABLE restore_points DROP COLUMN retain_until;"
			    " ALTER TABLE tenants DROP COLUMN min_retention_days;"
			    " DROP TABLE store_deletions;"
			    " ALTER TABLE jobs DROP COLUMN owner; ALTER TABLE jobs DROP COLUMN lease_until;"
			    " ALTER TABLE jobs DROP COLUMN fence; ALTER TABLE units DROP COLUMN legal_hold;"
			    " ALTER TABLE units DROP COLUMN legal_hold_since;"
			    " DROP INDEX erasures_tenant; DROP TABLE erasures;"
			    " DROP TABLE deletion_certificates;"
			    " ALTER TABLE tenants DROP COLUMN legal_hold;"
			    " ALTER TABLE tenants DROP COLUMN legal_hold_since;"
			    " ALTER TABLE tenants DROP COLUMN erasure_four_eyes;"
			    " ALTER TABLE tenants DROP COLUMN destroy_delay_days;"
			    " ALTER TABLE tenants DROP COLUMN offboard_grace_days;"
			    " ALTER TABLE tenants DROP COLUMN offboard_requested;"
			    " ALTER TABLE tenants DROP COLUMN offboard_due;"
			    " ALTER TABLE units DROP COLUMN destroy_requested;"
			    " ALTER TABLE units DROP COLUMN destroy_due;"
			    " ALTER TABLE units DROP COLUMN source_gone_since;"
			    " ALTER TABLE artifacts DROP COLUMN withheld;"
			    " DROP TABLE drills; ALTER TABLE policies DROP COLUMN drill;"
			    " UPDATE schema_version SET version = 1") ==
	      0);
	c = catalog_open(path, &err);
	CHECKF(c != NULL, "open version 1: %s", err.msg);
	CHECK(catalog_schema_version(c) == LATEST_VERSION);
	catalog_tenant_free(&t);
	t = NULL;
	CHECK_OK(catalog_tenant_get(c, tid, &t, &err), &err);
	CHECK(t->min_retention_days == CATALOG_MIN_RETENTION_DAYS);
	CHECK(raw_sql(path, "DELETE FROM audit WHERE seq = 1") != 0);
	CHECK_OK(catalog_audit_verify(c, &count, &head, &err), &err);
	CHECK(count == 5);
	catalog_close(&c);

	/* A newer version is refused, naming the file and both versions. */
	CHECK(raw_sql(path, "UPDATE schema_version SET version = 7") == 0);
	error_init(&err);
	c = catalog_open(path, &err);
	CHECK(c == NULL);
	CHECKF(err.code == ERROR_VERSION, "kind %d: %s", err.code, err.msg);
	CHECKF(strstr(err.msg, db_label(path)) != NULL && strstr(err.msg, "version 7") != NULL &&
		       strstr(err.msg, "1 to 6") != NULL,
	       "message: %s", err.msg);
	/* And left as it was. */
	CHECK(raw_int(path, "SELECT version FROM schema_version") == 7);
out:
	catalog_tenant_free(&t);
	free(head);
	catalog_close(&c);
	free(path);
}

static void test_catalog_bad_url(void)
{
	struct catalog *c;
	struct error err;
	char *url = NULL;

	/* An unknown scheme is named, and nothing after it (a password?). */
	error_init(&err);
	c = catalog_open("mysql://coffer:sekrit@db/coffer", &err);
	CHECKF(c == NULL && err.code == ERROR_USAGE && strstr(err.msg, "'mysql://'") != NULL &&
		       strstr(err.msg, "sekrit") == NULL,
	       "message: %s", err.msg);
	/* A PostgreSQL server that is not there: host, port and database are
	 * named with libpq's reason; the password is not. */
	error_init(&err);
	c = catalog_open("postgresql://coffer:sekrit@127.0.0.1:1/coffer", &err);
	CHECKF(c == NULL && strstr(err.msg, "postgresql 127.0.0.1:1/coffer") != NULL &&
		       strstr(err.msg, "sekrit") == NULL && strstr(err.msg, "onnect") != NULL,
	       "message: %s", err.msg);
	error_init(&err);
	c = catalog_open("postgres://coffer:sekrit@127.0.0.1:1/coffer?sslmode=nonsense", &err);
	CHECKF(c == NULL && strstr(err.msg, "sekrit") == NULL, "message: %s", err.msg);
	error_init(&err);
	c = catalog_open("/nonexistent-dir/sub/catalog.db", &err);
	CHECKF(c == NULL && strstr(err.msg, "/nonexistent-dir/sub/catalog.db") != NULL,
	       "message: %s", err.msg);
	/* A file that is not a database. */
	url = xasprintf("%s/junk.db", th_tmpdir("junk"));
	{
		FILE *f = fopen(url, "w");

		CHECK(f != NULL);
		for (int i = 0; i < 200; i++)
			fputs("this is not an SQLite database\n", f);
		fclose(f);
	}
	error_init(&err);
	c = catalog_open(url, &err);
	CHECKF(c == NULL && strstr(err.msg, url) != NULL && strstr(err.msg, "not a database"),
	       "message: %s", err.msg);
	free(url);
	url = xasprintf("sqlite:%s/c.db", th_tmpdir("url"));
	c = catalog_open(url, &err);
	CHECKF(c != NULL, "open %s: %s", url, err.msg);
	CHECK(catalog_schema_version(c) == LATEST_VERSION);
out:
	free(url);
	catalog_close(&c);
}

/* The strings each state and kind is stored and shown as: they are the
 * catalog's columns and the API's values, so none may change; a string not
 * in a table is no value. */
static void test_catalog_names(void)
{
	static const char *const jobs[] = { "queued", "running", "succeeded", "failed" };
	static const char *const sessions[] = { "pending", "running", "succeeded", "failed" };

	for (unsigned i = 0; i < 4; i++) {
		CHECK(strcmp(catalog_job_state_name(CATALOG_JOB_QUEUED + i), jobs[i]) == 0);
		CHECK(catalog_job_state_of(jobs[i]) == CATALOG_JOB_QUEUED + i);
		CHECK(strcmp(catalog_session_state_name(CATALOG_SESSION_PENDING + i), sessions[i]) ==
		      0);
		CHECK(catalog_session_state_of(sessions[i]) == CATALOG_SESSION_PENDING + i);
	}
	CHECK(strcmp(catalog_tenant_state_name(CATALOG_TENANT_ACTIVE), "active") == 0);
	CHECK(catalog_tenant_state_of("offboarding") == CATALOG_TENANT_OFFBOARDING);
	CHECK(strcmp(catalog_kind_name(CATALOG_KIND_MAILBOX), "mailbox") == 0);
	CHECK(catalog_kind_of("account") == CATALOG_KIND_ACCOUNT);
	CHECK(catalog_kind_of("site") == CATALOG_KIND_SITE);
	CHECK(strcmp(catalog_unit_state_name(CATALOG_UNIT_UNPROTECTED), "unprotected") == 0);
	CHECK(catalog_unit_state_of("activating") == CATALOG_UNIT_ACTIVATING);
	CHECK(catalog_unit_state_of("protected") == CATALOG_UNIT_PROTECTED);
	CHECK(catalog_unit_state_of("removed") == CATALOG_UNIT_REMOVED);
	CHECK(strcmp(catalog_policy_state_name(CATALOG_POLICY_INACTIVE), "inactive") == 0);
	CHECK(catalog_policy_state_of("activating") == CATALOG_POLICY_ACTIVATING);
	CHECK(catalog_policy_state_of("active") == CATALOG_POLICY_ACTIVE);
	CHECK(strcmp(catalog_job_kind_name(CATALOG_JOB_BACKUP), "backup") == 0);
	CHECK(catalog_job_kind_of("expire") == CATALOG_JOB_EXPIRE);
	CHECK(catalog_job_kind_of("restore") == CATALOG_JOB_RESTORE);
	CHECK(strcmp(catalog_restore_mode_name(CATALOG_MODE_IN_PLACE), "in_place") == 0);
	CHECK(catalog_restore_mode_of("new_location") == CATALOG_MODE_NEW_LOCATION);
	CHECK(catalog_restore_mode_of("granular") == CATALOG_MODE_GRANULAR);
	/* Unknown strings and values. */
	CHECK(catalog_job_state_of("Running") == 0 && catalog_job_state_of("") == 0 &&
	      catalog_job_state_of(NULL) == 0);
	CHECK(catalog_kind_of("inPlace") == 0 && catalog_restore_mode_of("inPlace") == 0);
	CHECK(catalog_job_state_name(0) == NULL &&
	      catalog_job_state_name(CATALOG_JOB_FAILED + 1) == NULL);
out:
	return;
}

const struct unit_test catalog_tests[] = {
	{ "catalog_tenants_and_units", test_catalog_tenants_and_units },
	{ "catalog_legal_hold", test_catalog_legal_hold },
	{ "catalog_unit_source", test_catalog_unit_source },
	{ "catalog_policies", test_catalog_policies },
	{ "catalog_restore_points", test_catalog_restore_points },
	{ "catalog_drills", test_catalog_drills },
	{ "catalog_sessions", test_catalog_sessions },
	{ "catalog_tokens", test_catalog_tokens },
	{ "catalog_pages", test_catalog_pages },
	{ "catalog_jobs", test_catalog_jobs },
	{ "catalog_leases", test_catalog_leases },
	{ "catalog_requeue_running", test_catalog_requeue_running },
	{ "catalog_claim_race", test_catalog_claim_race },
	{ "catalog_audit_chain_format", test_catalog_audit_chain_format },
	{ "catalog_audit_append_list", test_catalog_audit_append_list },
	{ "catalog_audit_tamper", test_catalog_audit_tamper },
	{ "catalog_migrations", test_catalog_migrations },
	{ "catalog_bad_url", test_catalog_bad_url },
	{ "catalog_names", test_catalog_names },
	{ NULL, NULL },
};

/* ---- the same cases on PostgreSQL, and what only several processes
 * sharing one PostgreSQL catalog can show (tests/e2e/catalog_pg.sh) ---- */

#define PG_CASE(name)                                         \
	static void test_catalog_pg_##name(void)              \
	{                                                     \
		pg_base = getenv("COFFER_TEST_PG_URL");       \
		test_catalog_##name();                        \
	}
PG_CASE(tenants_and_units)
PG_CASE(legal_hold)
PG_CASE(policies)
PG_CASE(restore_points)
PG_CASE(drills)
PG_CASE(sessions)
PG_CASE(tokens)
PG_CASE(pages)
PG_CASE(jobs)
PG_CASE(leases)
PG_CASE(requeue_running)
PG_CASE(claim_race)
PG_CASE(audit_append_list)
PG_CASE(audit_tamper)
PG_CASE(migrations)

#define PROCS 2

/* Runs fn(i, url, out) in PROCS processes at once, each with a catalog
 * of its own, its results as lines in the file out; 0 if all exited 0,
 * else the failures in err. */
static int in_processes(const char *url, const char *dir,
			int (*fn)(int i, struct catalog *c, FILE *out, struct error *err),
			struct error *err)
{
	pid_t pids[PROCS];
	int i, status, failed = 0;

	fflush(NULL);
	for (i = 0; i < PROCS; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			return error_sys(err, "fork");
		if (pids[i] == 0) {
			char *name = xasprintf("%s/out.%d", dir, i);
			FILE *out = fopen(name, "w");
			struct catalog *c;
			struct error e;
			int rc = 1;

			error_init(&e);
			c = out ? catalog_open(url, &e) : NULL;
			if (c != NULL && fn(i, c, out, &e) == 0)
				rc = 0;
			if (rc != 0 && out != NULL)
				fprintf(out, "error %s\n", e.msg);
			catalog_close(&c);
			if (out != NULL)
				fclose(out);
			free(name);
			_exit(rc); /* the parent's memory is not ours to check for leaks */
		}
	}
	for (i = 0; i < PROCS; i++) {
		while (waitpid(pids[i], &status, 0) < 0)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	if (failed) {
		char line[512] = "", found[512] = "";

		for (i = 0; i < PROCS && found[0] == '\0'; i++) {
			char *name = xasprintf("%s/out.%d", dir, i);
			FILE *f = fopen(name, "r");

			while (f != NULL && fgets(line, sizeof(line), f) != NULL)
				if (strncmp(line, "error ", 6) == 0) {
					snprintf(found, sizeof(found), "%s", line);
					break;
				}
			if (f != NULL)
				fclose(f);
			free(name);
		}
		return error_set(err, "%d of %d processes failed (%s)", failed, PROCS, found);
	}
	return 0;
}

/* A node claiming and finishing jobs until none is left; one line per
 * claim: the job id. A second running job of the claimed unit fails. */
static int claim_loop(int i, struct catalog *c, FILE *out, struct error *err)
{
	char node[16];

	snprintf(node, sizeof(node), "p%d", i);
	for (;;) {
		struct catalog_job *j = NULL, **running = NULL;
		struct catalog_job_filter f = { .state = "running" };
		size_t nrunning = 0;

		if (catalog_job_claim(c, node, 1000, 60, &j, err) < 0)
			return -1;
		if (j == NULL) {
			int64_t depth = catalog_job_queue_depth(c);

			if (depth == 0)
				return 0;
			if (depth < 0)
				return error_set(err, "queue depth failed");
			/* The rest are of units the other node holds. */
			usleep(1000);
			continue;
		}
		fprintf(out, "%" PRId64 "\n", j->id);
		f.unit = j->unit;
		if (catalog_job_list(c, &f, NULL, &running, &nrunning, err) < 0) {
			catalog_job_free(&j);
			return -1;
		}
		CATALOG_LIST_FREE(running, nrunning, catalog_job_free);
		if (nrunning != 1) {
			catalog_job_free(&j);
			return error_set(err, "%zu running jobs of one unit", nrunning);
		}
		if (catalog_job_finish(c, j->id, node, j->fence, CATALOG_JOB_SUCCEEDED, NULL, NULL,
				       1001, 0, err) < 0) {
			catalog_job_free(&j);
			return -1;
		}
		catalog_job_free(&j);
	}
}

#define CLAIM_UNITS 30

/* Two processes (two nodes) claim from one queue at once: no job is
 * claimed twice, every job is claimed, two jobs of one unit never run at
 * once. */
static void test_catalog_pg_claim_processes(void)
{
	struct catalog *c = NULL;
	struct error err;
	char *url = NULL, *tenant = NULL, *unit = NULL, *sess = NULL;
	const char *dir = th_tmpdir("claimp");
	static char seen[4 * CLAIM_UNITS + 16];
	int64_t maxid = 0, id;
	int i, total = 0;

	pg_base = getenv("COFFER_TEST_PG_URL");
	error_init(&err);
	c = open_new("claimp", &url, &err);
	CHECKF(c != NULL, "open: %s", err.msg);
	CHECK_OK(fixture(c, "a", &tenant, &unit, &err), &err);
	for (i = 0; i < CLAIM_UNITS; i++) {
		struct catalog_unit *u = NULL;
		char name[16];

		snprintf(name, sizeof(name), "unit%d", i);
		CHECK_OK(catalog_unit_create(c, tenant, "site", name, "{}", &u, &err), &err);
		id = enqueue(c, tenant, u->id, "backup", NULL, 0, &err);
		CHECK(id > 0 && enqueue(c, tenant, u->id, "expire", NULL, 0, &err) == id + 1);
		maxid = id + 1;
		catalog_unit_free(&u);
	}
	CHECK(maxid == 2 * CLAIM_UNITS);
	catalog_close(&c);
	CHECK_OK(in_processes(url, dir, claim_loop, &err), &err);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < PROCS; i++) {
		char *name = xasprintf("%s/out.%d", dir, i), line[64];
		FILE *f = fopen(name, "r");
		int mine = 0;

		free(name);
		CHECK(f != NULL);
		while (fgets(line, sizeof(line), f) != NULL) {
			id = strtoll(line, NULL, 10);
			if (id < 1 || id > maxid || seen[id]++) {
				fclose(f);
				CHECKF(0, "job %s claimed twice or unknown", line);
			}
			mine++;
			total++;
		}
		fclose(f);
		printf("# process %d claimed %d jobs\n", i, mine);
	}
	CHECKF(total == maxid, "%d claims of %" PRId64 " jobs", total, maxid);
out:
	catalog_close(&c);
	free(tenant);
	free(unit);
	free(sess);
	free(url);
}

/* The units of the enqueue test, in the order both processes use. */
static char *enq_tenant, *enq_units[CLAIM_UNITS];

/* A node enqueueing a backup of every unit; one line per unit: the id. */
static int enqueue_loop(int i, struct catalog *c, FILE *out, struct error *err)
{
	(void)i;
	for (int k = 0; k < CLAIM_UNITS; k++) {
		int64_t id = enqueue(c, enq_tenant, enq_units[k], "backup", NULL, 0, err);

		if (id <= 0)
			return -1;
		fprintf(out, "%" PRId64 "\n", id);
	}
	return 0;
}

/* Two processes (nodes) queue the same backups at once: each unit gets
 * one job, and both are told its id (the dedupe holds across nodes, and
 * neither sees the other's insert as an error). */
static void test_catalog_pg_enqueue_processes(void)
{
	struct catalog_job **js = NULL;
	struct catalog_job_filter f = { .kind = "backup" };
	struct catalog_page pg = { .limit = 1000 };
	struct catalog *c = NULL;
	struct error err;
	char *url = NULL, *unit = NULL;
	const char *dir = th_tmpdir("enqp");
	size_t n = 0;
	int k;

	pg_base = getenv("COFFER_TEST_PG_URL");
	error_init(&err);
	c = open_new("enqp", &url, &err);
	CHECKF(c != NULL, "open: %s", err.msg);
	CHECK_OK(fixture(c, "a", &enq_tenant, &unit, &err), &err);
	for (k = 0; k < CLAIM_UNITS; k++) {
		struct catalog_unit *u = NULL;
		char name[16];

		snprintf(name, sizeof(name), "unit%d", k);
		CHECK_OK(catalog_unit_create(c, enq_tenant, "site", name, "{}", &u, &err), &err);
		enq_units[k] = xstrdup(u->id);
		catalog_unit_free(&u);
	}
	CHECK_OK(in_processes(url, dir, enqueue_loop, &err), &err);
	{
		char *p0 = xasprintf("%s/out.0", dir), *p1 = xasprintf("%s/out.1", dir);
		FILE *f0 = fopen(p0, "r"), *f1 = fopen(p1, "r");
		char l0[64], l1[64];
		int same = f0 != NULL && f1 != NULL, lines = 0;

		while (same && fgets(l0, sizeof(l0), f0) != NULL) {
			same = fgets(l1, sizeof(l1), f1) != NULL && strcmp(l0, l1) == 0;
			lines++;
		}
		if (f0 != NULL)
			fclose(f0);
		if (f1 != NULL)
			fclose(f1);
		free(p0);
		free(p1);
		CHECKF(same && lines == CLAIM_UNITS,
		       "the two processes were told different jobs (%d lines alike)", lines);
	}
	CHECK_OK(catalog_job_list(c, &f, &pg, &js, &n, &err), &err);
	CHECKF(n == CLAIM_UNITS, "%zu backup jobs for %d units", n, CLAIM_UNITS);
out:
	if (js != NULL)
		CATALOG_LIST_FREE(js, n, catalog_job_free);
	for (k = 0; k < CLAIM_UNITS; k++) {
		free(enq_units[k]);
		enq_units[k] = NULL;
	}
	free(enq_tenant);
	enq_tenant = NULL;
	free(unit);
	catalog_close(&c);
	free(url);
}

#define AUDIT_EACH 200

static int audit_loop(int i, struct catalog *c, FILE *out, struct error *err)
{
	char actor[16];

	(void)out;
	snprintf(actor, sizeof(actor), "proc-%d", i);
	for (int k = 0; k < AUDIT_EACH; k++)
		if (catalog_audit_append(c, 1000 + k, NULL, actor, "test.append", NULL, NULL, NULL,
					 err) < 0)
			return -1;
	return 0;
}

/* Two processes append 200 entries each at once: 400 entries, one chain. */
static void test_catalog_pg_audit_processes(void)
{
	struct catalog *c = NULL;
	struct error err;
	char *url = NULL, *head = NULL;
	int64_t count = 0;

	pg_base = getenv("COFFER_TEST_PG_URL");
	error_init(&err);
	c = open_new("auditp", &url, &err);
	CHECKF(c != NULL, "open: %s", err.msg);
	catalog_close(&c);
	CHECK_OK(in_processes(url, th_tmpdir("auditp"), audit_loop, &err), &err);
	c = catalog_open(url, &err);
	CHECKF(c != NULL, "open: %s", err.msg);
	CHECK_OK(catalog_audit_verify(c, &count, &head, &err), &err);
	CHECKF(count == PROCS * AUDIT_EACH, "%" PRId64 " entries", count);
out:
	free(head);
	catalog_close(&c);
	free(url);
}

/* Two nodes (two connections): the first claims and stops renewing; once
 * its lease lapses the second takes the job over, and the first's
 * heartbeat, detail and finish are refused. */
static void test_catalog_pg_takeover(void)
{
	struct catalog *a = NULL, *b = NULL;
	struct catalog_job *ja = NULL, *jb = NULL;
	struct error err;
	char *url = NULL, *tenant = NULL, *unit = NULL;
	int64_t id;

	pg_base = getenv("COFFER_TEST_PG_URL");
	error_init(&err);
	a = open_new("takeover", &url, &err);
	CHECKF(a != NULL, "open: %s", err.msg);
	b = catalog_open(url, &err);
	CHECKF(b != NULL, "open: %s", err.msg);
	CHECK_OK(fixture(a, "a", &tenant, &unit, &err), &err);
	id = enqueue(a, tenant, unit, "backup", NULL, 0, &err);
	CHECK(id > 0);
	CHECK_OK(catalog_job_claim(a, "node-a", 100, 10, &ja, &err), &err);
	CHECK(ja != NULL && ja->id == id);
	CHECK_OK(catalog_job_heartbeat(a, id, "node-a", ja->fence, 120, &err), &err);
	CHECK_OK(catalog_job_claim(b, "node-b", 120, 10, &jb, &err), &err);
	CHECK(jb == NULL);
	CHECK_OK(catalog_job_claim(b, "node-b", 121, 10, &jb, &err), &err);
	CHECK(jb != NULL && jb->id == id && jb->fence == ja->fence + 1);
	CHECK(strcmp(jb->error, "taken over from node node-a: its lease expired") == 0);
	CHECK_FAILS(catalog_job_heartbeat(a, id, "node-a", ja->fence, 140, &err), &err,
		    ERROR_CONFLICT);
	CHECKF(strstr(err.msg, "taken over by node node-b") != NULL, "message: %s", err.msg);
	CHECK_FAILS(catalog_job_set_detail(a, id, "node-a", ja->fence, "{}", &err), &err,
		    ERROR_CONFLICT);
	CHECK_FAILS(catalog_job_finish(a, id, "node-a", ja->fence, CATALOG_JOB_FAILED, "x", NULL,
				       130, 0, &err),
		    &err, ERROR_CONFLICT);
	CHECK_OK(catalog_job_heartbeat(b, id, "node-b", jb->fence, 140, &err), &err);
	CHECK_OK(catalog_job_finish(b, id, "node-b", jb->fence, CATALOG_JOB_SUCCEEDED, NULL, NULL,
				    130, 0, &err),
		 &err);
out:
	catalog_job_free(&ja);
	catalog_job_free(&jb);
	free(tenant);
	free(unit);
	catalog_close(&a);
	catalog_close(&b);
	free(url);
}

/* Restarts the server (COFFER_TEST_PG_RESTART: a command); 0 if it ran.
 * The server it starts inherits none of our descriptors (the harness
 * waits for the end of its pipe). */
static int pg_restart(void)
{
	const char *cmd = getenv("COFFER_TEST_PG_RESTART");
	int status;
	pid_t pid;

	if (cmd == NULL || *cmd == '\0')
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		closefrom(3);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* PostgreSQL restarted between two calls: a call may fail, naming the
 * catalog, and the next one works; a call that opens a transaction works
 * at once (its BEGIN is tried again on a new connection). */
static void test_catalog_pg_restart(void)
{
	struct catalog_tenant *t = NULL;
	struct catalog *c = NULL;
	struct error err;
	char *url = NULL, tid[32];

	pg_base = getenv("COFFER_TEST_PG_URL");
	error_init(&err);
	c = open_new("restart", &url, &err);
	CHECKF(c != NULL, "open: %s", err.msg);
	CHECK_OK(catalog_tenant_create(c, "acme", NULL, &t, &err), &err);
	snprintf(tid, sizeof(tid), "%s", t->id);
	catalog_tenant_free(&t);
	CHECKF(pg_restart() == 0, "restart with COFFER_TEST_PG_RESTART='%s' failed",
	       getenv("COFFER_TEST_PG_RESTART") ? getenv("COFFER_TEST_PG_RESTART") : "");
	error_init(&err);
	if (catalog_tenant_get(c, tid, &t, &err) < 0) {
		CHECKF(strstr(err.msg, "postgresql 127.0.0.1") != NULL && err.code == ERROR_FAIL,
		       "the failure does not name the catalog: %s", err.msg);
		printf("# first call after the restart: %s\n", err.msg);
	}
	catalog_tenant_free(&t);
	CHECK_OK(catalog_tenant_get(c, tid, &t, &err), &err);
	CHECK(strcmp(t->name, "acme") == 0);
	catalog_tenant_free(&t);
	/* A transaction first after the restart. */
	CHECK(pg_restart() == 0);
	CHECK_OK(catalog_audit_append(c, 1, NULL, "system", "test.restart", NULL, NULL, NULL, &err),
		 &err);
	CHECK_OK(catalog_tenant_get(c, tid, &t, &err), &err);
out:
	catalog_tenant_free(&t);
	catalog_close(&c);
	free(url);
}

const struct unit_test catalog_pg_tests[] = {
	{ "catalog_pg_tenants_and_units", test_catalog_pg_tenants_and_units },
	{ "catalog_pg_legal_hold", test_catalog_pg_legal_hold },
	{ "catalog_pg_policies", test_catalog_pg_policies },
	{ "catalog_pg_restore_points", test_catalog_pg_restore_points },
	{ "catalog_pg_drills", test_catalog_pg_drills },
	{ "catalog_pg_sessions", test_catalog_pg_sessions },
	{ "catalog_pg_tokens", test_catalog_pg_tokens },
	{ "catalog_pg_pages", test_catalog_pg_pages },
	{ "catalog_pg_jobs", test_catalog_pg_jobs },
	{ "catalog_pg_leases", test_catalog_pg_leases },
	{ "catalog_pg_requeue_running", test_catalog_pg_requeue_running },
	{ "catalog_pg_claim_race", test_catalog_pg_claim_race },
	{ "catalog_pg_audit_append_list", test_catalog_pg_audit_append_list },
	{ "catalog_pg_audit_tamper", test_catalog_pg_audit_tamper },
	{ "catalog_pg_migrations", test_catalog_pg_migrations },
	{ "catalog_pg_claim_processes", test_catalog_pg_claim_processes },
	{ "catalog_pg_enqueue_processes", test_catalog_pg_enqueue_processes },
	{ "catalog_pg_audit_processes", test_catalog_pg_audit_processes },
	{ "catalog_pg_takeover", test_catalog_pg_takeover },
	{ "catalog_pg_restart", test_catalog_pg_restart },
	{ NULL, NULL },
};
