/* The catalog (catalog.h; docs/service.md "Catalog"): every query, once,
 * for every database. The statements go through the driver-neutral layer
 * of db.h (db_sqlite.c, db_pg.c); the few places where SQLite and
 * PostgreSQL need different SQL ask dialect() and say why.
 *
 * One connection per struct catalog, guarded by a recursive mutex: every
 * public function may be called from any thread, and a function that
 * needs several statements to be atomic holds the mutex across a
 * transaction. Several processes (nodes) may share one PostgreSQL catalog:
 * each read-then-write is made safe against them by the transaction and a
 * lock named where it is taken (see the audit log and job claims). */
#include "catalog/catalog.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/audit_chain.h"
#include "catalog/catalog_schema.h"
#include "catalog/db.h"
#include "crypto/crypto.h"
#include "lib/error.h"
#include "lib/hex.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/parse.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000
#define ID_HEX 16

/* PostgreSQL advisory lock keys (pg_advisory_xact_lock), one per thing
 * that several nodes must do one at a time. Arbitrary constants, fixed
 * because every coffer node must use the same ones: "coffer" in ASCII,
 * then a number. */
#define PG_LOCK_MIGRATE 0x636f666665720001LL
#define PG_LOCK_AUDIT 0x636f666665720002LL
#define PG_LOCK_CLAIM 0x636f666665720003LL
#define PG_LOCK_SCHEDULER 0x636f666665720004LL

struct catalog {
	struct db *db;
	pthread_mutex_t lock; /* recursive: transactions wrap db_run() */
	int version;
	int found_version; /* in the catalog when opened; -1 before it is read */
};

/* ---- statements ---- */

#define PS(x) ((struct db_param){ .type = DB_TEXT, .s = (x) })
#define PI(x) ((struct db_param){ .type = DB_INT, .i = (int64_t)(x) })
/* An array of parameters and its length, for db_run() and friends. */
#define PARAMS(...)                                  \
	(const struct db_param[]){ __VA_ARGS__ },    \
		sizeof((const struct db_param[]){ __VA_ARGS__ }) / sizeof(struct db_param)
#define NO_PARAMS NULL, 0

typedef db_row_fn row_fn;

/* The SQL of the catalog's dialect: for the few statements that must
 * differ (each caller says why). */
static const char *dialect(const struct catalog *c, const char *sqlite, const char *pg)
{
	return db_dialect(c->db) == DB_POSTGRES ? pg : sqlite;
}

/* Runs one statement under the catalog's mutex (db_run() of db.h).
 * Returns the rows read, or for a statement without rows the rows it
 * changed; -1 on failure. */
static int64_t cat_run(struct catalog *c, const char *sql, const struct db_param *p, size_t np,
		       row_fn *each, void *ctx, struct error *err)
{
	int64_t n;

	pthread_mutex_lock(&c->lock);
	n = db_run(c->db, sql, p, np, each, ctx, err);
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* A statement that must change exactly one row; ERROR_NOTFOUND names
 * `what` when it changes none. */
static int db_change1(struct catalog *c, const char *sql, const struct db_param *p, size_t np,
		      const char *what, struct error *err)
{
	int64_t n = cat_run(c, sql, p, np, NULL, NULL, err);

	if (n < 0)
		return -1;
	if (n == 0)
		return error_setk(err, ERROR_NOTFOUND, "%s not found", what);
	return 0;
}

static int db_exec(struct catalog *c, const char *sql, struct error *err)
{
	return cat_run(c, sql, NO_PARAMS, NULL, NULL, err) < 0 ? -1 : 0;
}

/* Transactions hold the mutex from begin to commit or rollback (db.h says
 * what each database's BEGIN locks). */
static int tx_begin(struct catalog *c, struct error *err)
{
	pthread_mutex_lock(&c->lock);
	if (db_begin(c->db, err) < 0) {
		pthread_mutex_unlock(&c->lock);
		return -1;
	}
	return 0;
}

static void tx_rollback(struct catalog *c)
{
	db_rollback(c->db);
	pthread_mutex_unlock(&c->lock);
}

static int tx_commit(struct catalog *c, struct error *err)
{
	if (db_commit(c->db, err) < 0) {
		tx_rollback(c);
		return -1;
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* Inside a transaction, PostgreSQL only: waits for the advisory lock
 * `key`, held until the transaction ends, so that every node does the
 * thing it guards one at a time. SQLite needs none: BEGIN IMMEDIATE
 * already holds the database's one write lock. */
static int tx_lock(struct catalog *c, int64_t key, struct error *err)
{
	if (db_dialect(c->db) != DB_POSTGRES)
		return 0;
	return cat_run(c, "SELECT pg_advisory_xact_lock($1)", PARAMS(PI(key)), NULL, NULL, err) <
		       0 ? -1 : 0;
}

/* ---- rows to records ---- */

static char *col_text(const struct db_row *st, int i) { return db_col_text(st, i); }

static int64_t col_int(const struct db_row *st, int i) { return db_col_int(st, i); }

static int int64_row(const struct db_row *st, void *ctx, struct error *err)
{
	(void)err;
	*(int64_t *)ctx = col_int(st, 0);
	return 1;
}

/* How to make and free one kind of record. */
struct record {
	void *(*make)(const struct db_row *st);
	void (*free)(void *rec);
};

/* Records collected from a query. */
struct rows {
	const struct record *rec;
	void **v;
	size_t n, cap;
};

static int rows_add(const struct db_row *st, void *ctx, struct error *err)
{
	struct rows *r = ctx;

	(void)err;
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->v = xrealloc(r->v, xmul(r->cap, sizeof(*r->v)));
	}
	r->v[r->n++] = r->rec->make(st);
	return 0;
}

static void rows_clear(struct rows *r)
{
	while (r->n > 0)
		r->rec->free(r->v[--r->n]);
	free(r->v);
	r->v = NULL;
	r->cap = 0;
}

/* Runs a query, collecting its rows as records of kind rec. */
static int db_list(struct catalog *c, const struct record *rec, const char *sql,
		   const struct db_param *p, size_t np, struct rows *r, struct error *err)
{
	memset(r, 0, sizeof(*r));
	r->rec = rec;
	if (cat_run(c, sql, p, np, rows_add, r, err) < 0) {
		rows_clear(r);
		return -1;
	}
	return 0;
}

/* Runs a query for one record; ERROR_NOTFOUND naming `what` if none. */
static void *db_get(struct catalog *c, const struct record *rec, const char *sql,
		    const struct db_param *p, size_t np, const char *what, struct error *err)
{
	struct rows r;
	void *one;

	if (db_list(c, rec, sql, p, np, &r, err) < 0)
		return NULL;
	if (r.n == 0) {
		free(r.v);
		error_setk(err, ERROR_NOTFOUND, "%s not found", what);
		return NULL;
	}
	one = r.v[0];
	r.v[0] = r.v[--r.n];
	rows_clear(&r);
	return one;
}

/* Hands collected records to a typed array out_r (element by element:
 * void * and struct pointers need not share a representation). */
#define ROWS_TAKE(r, out_r, n_r)                                               \
	do {                                                                   \
		*(n_r) = (r)->n;                                               \
		*(out_r) = xcalloc((r)->n ? (r)->n : 1, sizeof(**(out_r)));    \
		for (size_t k_ = 0; k_ < (r)->n; k_++)                         \
			(*(out_r))[k_] = (r)->v[k_];                           \
		free((r)->v);                                                  \
		memset((r), 0, sizeof(*(r)));                                  \
	} while (0)

/* ---- pages, ids, time ---- */

static int64_t page_limit(const struct catalog_page *pg)
{
	if (pg == NULL || pg->limit <= 0)
		return PAGE_DEFAULT;
	return pg->limit > PAGE_MAX ? PAGE_MAX : pg->limit;
}

/* The cursor of a page ordered by text id; "" sorts before every id. */
static const char *page_after_id(const struct catalog_page *pg)
{
	return pg == NULL || pg->after == NULL ? "" : pg->after;
}

/* The cursor of a page ordered by a number (seq, job id); -1 before all. */
static int page_after_num(const struct catalog_page *pg, int64_t *after_r, struct error *err)
{
	*after_r = -1;
	if (pg == NULL || pg->after == NULL || pg->after[0] == '\0')
		return 0;
	if (parse_int(pg->after, 0, INT64_MAX, after_r) < 0)
		return error_setk(err, ERROR_USAGE,
				  "page cursor '%s' is not a non-negative decimal number", pg->after);
	return 0;
}

/* "t-" + 16 hex digits from the system CSPRNG. */
static char *new_id(char prefix)
{
	uint8_t raw[ID_HEX / 2];
	char hex[ID_HEX + 1];

	crypto_random(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), hex);
	return xasprintf("%c-%s", prefix, hex);
}

static int64_t now_s(void) { return (int64_t)time(NULL); }

static int need(const char *value, const char *what, struct error *err)
{
	if (value == NULL || value[0] == '\0')
		return error_setk(err, ERROR_USAGE, "%s is missing", what);
	return 0;
}

/* ---- open, migrate, close ---- */

static int version_row(const struct db_row *st, void *ctx, struct error *err)
{
	(void)err;
	*(int *)ctx = (int)col_int(st, 0);
	return 0;
}

/* The version recorded in the catalog (inside a transaction). */
static int schema_version_get(struct catalog *c, int *version_r, struct error *err)
{
	int64_t n;

	*version_r = 0;
	if (db_exec(c, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
		    err) < 0)
		return -1;
	n = cat_run(c, "SELECT version FROM schema_version", NO_PARAMS, version_row, version_r,
		    err);
	if (n < 0)
		return -1;
	if (n == 0)
		return cat_run(c, "INSERT INTO schema_version (version) VALUES (0)", NO_PARAMS,
			       NULL, NULL, err) < 0 ? -1 : 0;
	if (n > 1)
		return error_setk(err, ERROR_CORRUPT, "schema_version has %" PRId64 " rows, not 1",
				  n);
	return 0;
}

/* Applies the next pending step, if any; 1 if one was applied. Each step
 * re-reads the version inside its transaction, under the migration lock
 * in PostgreSQL (SQLite's BEGIN IMMEDIATE is one already), so two nodes
 * opening a new catalog at once do not apply a step twice. */
static int schema_step(struct catalog *c, struct error *err)
{
	size_t latest;
	const struct catalog_migration *steps = catalog_schema_steps(&latest);
	const char *sql;
	int version;

	if (tx_begin(c, err) < 0)
		return -1;
	if (tx_lock(c, PG_LOCK_MIGRATE, err) < 0 || schema_version_get(c, &version, err) < 0)
		goto fail;
	c->version = version;
	if (c->found_version < 0)
		c->found_version = version;
	if (version < 0 || (size_t)version > latest) {
		error_setk(err, ERROR_VERSION,
			   "schema version %d is not one this coffer knows (it knows 1 to %zu): "
			   "written by a newer coffer?",
			   version, latest);
		goto fail;
	}
	if ((size_t)version == latest) {
		tx_rollback(c);
		return 0;
	}
	/* A step with a text of its own for PostgreSQL (catalog_schema.c). */
	sql = dialect(c, steps[version].sql,
		      steps[version].pg_sql ? steps[version].pg_sql : steps[version].sql);
	if (db_exec_script(c->db, sql, err) < 0) {
		error_prefix(err, "migration to schema version %d (%s) failed", version + 1,
			     steps[version].what);
		goto fail;
	}
	if (cat_run(c, "UPDATE schema_version SET version = $1", PARAMS(PI(version + 1)), NULL,
		    NULL, err) < 0)
		goto fail;
	if (tx_commit(c, err) < 0)
		return -1;
	c->version = version + 1;
	/* A new catalog is not news; an upgrade of an existing one is. */
	if (c->found_version > 0)
		log_info("catalog %s: migrated to schema version %d (%s)", db_name(c->db),
			 c->version, steps[version].what);
	return 1;
fail:
	tx_rollback(c);
	return -1;
}

struct catalog *catalog_open(const char *url, struct error *err)
{
	struct catalog *c;
	pthread_mutexattr_t attr;
	int rc;

	c = xcalloc(1, sizeof(*c));
	c->found_version = -1;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&c->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	c->db = db_open(url, err);
	if (c->db == NULL)
		goto fail;
	while ((rc = schema_step(c, err)) > 0)
		;
	if (rc < 0) {
		error_prefix(err, "open catalog %s", db_name(c->db));
		goto fail;
	}
	return c;
fail:
	catalog_close(&c);
	return NULL;
}

void catalog_close(struct catalog **cp)
{
	struct catalog *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	db_close(&c->db);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int catalog_schema_version(struct catalog *c) { return c->version; }

/* ---- tenants ---- */

#define TENANT_COLS "id, name, state, store, created, min_retention_days"
/* Read, not inserted: a tenant inserted again (rebuild) takes the defaults. */
#define TENANT_READ_COLS                                                     \
	TENANT_COLS ", legal_hold, legal_hold_since, erasure_four_eyes, " \
		    "destroy_delay_days, offboard_grace_days, offboard_requested, offboard_due"

static void *tenant_make(const struct db_row *st)
{
	struct catalog_tenant *t = xcalloc(1, sizeof(*t));

	t->id = col_text(st, 0);
	t->name = col_text(st, 1);
	t->state = col_text(st, 2);
	t->store = col_text(st, 3);
	t->created = col_int(st, 4);
	t->min_retention_days = col_int(st, 5);
	t->legal_hold = col_text(st, 6);
	t->legal_hold_since = col_int(st, 7);
	t->erasure_four_eyes = (int)col_int(st, 8);
	t->destroy_delay_days = col_int(st, 9);
	t->offboard_grace_days = col_int(st, 10);
	t->offboard_requested = col_int(st, 11);
	t->offboard_due = col_int(st, 12);
	return t;
}

static void tenant_free_v(void *p)
{
	struct catalog_tenant *x = p;

	catalog_tenant_free(&x);
}
static const struct record tenant_rec = { tenant_make, tenant_free_v };

int catalog_tenant_insert(struct catalog *c, const struct catalog_tenant *t, struct error *err)
{
	if (need(t->id, "tenant id", err) < 0 || need(t->name, "tenant name", err) < 0)
		return error_prefix(err, "catalog: insert tenant");
	if (cat_run(c, "INSERT INTO tenants (" TENANT_COLS ") VALUES ($1, $2, $3, $4, $5, $6)",
		    PARAMS(PS(t->id), PS(t->name), PS(t->state ? t->state : "active"), PS(t->store),
			   PI(t->created),
			   PI(t->min_retention_days > 0 ? t->min_retention_days
						       : CATALOG_MIN_RETENTION_DAYS)),
		    NULL, NULL, err) < 0)
		return error_prefix(err, "catalog: insert tenant %s (%s)", t->id, t->name);
	return 0;
}

int catalog_tenant_create(struct catalog *c, const char *name, const char *store_path,
			  struct catalog_tenant **t_r, struct error *err)
{
	struct catalog_tenant t = { .name = xstrdup(name ? name : ""),
				    .store = store_path ? xstrdup(store_path) : NULL,
				    .created = now_s() };
	int ret;

	*t_r = NULL;
	t.id = new_id('t');
	ret = catalog_tenant_insert(c, &t, err);
	if (ret == 0)
		ret = catalog_tenant_get(c, t.id, t_r, err);
	free(t.id);
	free(t.name);
	free(t.store);
	return ret;
}

int catalog_tenant_set_state(struct catalog *c, const char *id, enum catalog_tenant_state state,
			     struct error *err)
{
	const char *name = catalog_tenant_state_name(state);

	if (need(name, "tenant state", err) < 0 ||
	    db_change1(c, "UPDATE tenants SET state = $2 WHERE id = $1", PARAMS(PS(id), PS(name)),
		       "tenant", err) < 0)
		return error_prefix(err, "catalog: set state of tenant %s", id);
	return 0;
}

int catalog_tenant_set_min_retention(struct catalog *c, const char *id, int64_t days,
				     struct error *err)
{
	if (db_change1(c, "UPDATE tenants SET min_retention_days = $2 WHERE id = $1",
		       PARAMS(PS(id), PI(days)), "tenant", err) < 0)
		return error_prefix(err, "catalog: set minimum retention of tenant %s", id);
	return 0;
}

int catalog_tenant_set_privacy(struct catalog *c, const char *id, int erasure_four_eyes,
			       int64_t destroy_delay_days, int64_t offboard_grace_days,
			       struct error *err)
{
	if (db_change1(c,
		       "UPDATE tenants SET erasure_four_eyes = $2, destroy_delay_days = $3,"
		       " offboard_grace_days = $4 WHERE id = $1",
		       PARAMS(PS(id), PI(erasure_four_eyes != 0), PI(destroy_delay_days),
			      PI(offboard_grace_days)),
		       "tenant", err) < 0)
		return error_prefix(err, "catalog: set privacy settings of tenant %s", id);
	return 0;
}

int catalog_tenant_set_legal_hold(struct catalog *c, const char *id, const char *reason,
				  int64_t now, struct error *err)
{
	if (db_change1(c,
		       "UPDATE tenants SET legal_hold = $2,"
		       " legal_hold_since = CASE WHEN $2 IS NULL THEN 0"
		       "  WHEN legal_hold IS NULL THEN $3 ELSE legal_hold_since END"
		       " WHERE id = $1",
		       PARAMS(PS(id), PS(reason), PI(now)), "tenant", err) < 0)
		return error_prefix(err, "catalog: set legal hold of tenant %s", id);
	return 0;
}

int catalog_tenant_set_offboard(struct catalog *c, const char *id, int64_t requested,
				int64_t due, struct error *err)
{
	if (db_change1(c,
		       "UPDATE tenants SET offboard_requested = $2, offboard_due = $3 WHERE id = $1",
		       PARAMS(PS(id), PI(requested), PI(due)), "tenant", err) < 0)
		return error_prefix(err, "catalog: set offboarding of tenant %s", id);
	return 0;
}

int catalog_tenant_get(struct catalog *c, const char *id, struct catalog_tenant **t_r,
		       struct error *err)
{
	*t_r = db_get(c, &tenant_rec, "SELECT " TENANT_READ_COLS " FROM tenants WHERE id = $1",
		      PARAMS(PS(id)), "tenant", err);
	return *t_r ? 0 : error_prefix(err, "catalog: get tenant %s", id);
}

int catalog_tenant_list(struct catalog *c, const struct catalog_page *pg,
			struct catalog_tenant ***ts_r, size_t *n_r, struct error *err)
{
	struct rows r;

	if (db_list(c, &tenant_rec,
		    "SELECT " TENANT_READ_COLS " FROM tenants WHERE id > $1 ORDER BY id LIMIT $2",
		    PARAMS(PS(page_after_id(pg)), PI(page_limit(pg))), &r, err) < 0)
		return error_prefix(err, "catalog: list tenants");
	ROWS_TAKE(&r, ts_r, n_r);
	return 0;
}

void catalog_tenant_free(struct catalog_tenant **tp)
{
	struct catalog_tenant *t = *tp;

	*tp = NULL;
	if (t == NULL)
		return;
	free(t->id);
	free(t->name);
	free(t->state);
	free(t->store);
	free(t->legal_hold);
	free(t);
}

/* ---- protection units ---- */

#define UNIT_COLS                                                                \
	"id, tenant, kind, name, source, policy, state, last_error, created, " \
	"last_success, last_attempt, next_due, failures, legal_hold, legal_hold_since"
/* Read, not inserted: set by their own calls. */
#define UNIT_READ_COLS \
	UNIT_COLS ", destroy_requested, destroy_due, source_gone_since"

static void *unit_make(const struct db_row *st)
{
	struct catalog_unit *u = xcalloc(1, sizeof(*u));

	u->id = col_text(st, 0);
	u->tenant = col_text(st, 1);
	u->kind = col_text(st, 2);
	u->name = col_text(st, 3);
	u->source = col_text(st, 4);
	u->policy = col_text(st, 5);
	u->state = col_text(st, 6);
	u->last_error = col_text(st, 7);
	u->created = col_int(st, 8);
	u->last_success = col_int(st, 9);
	u->last_attempt = col_int(st, 10);
	u->next_due = col_int(st, 11);
	u->failures = (int)col_int(st, 12);
	u->legal_hold = col_text(st, 13);
	u->legal_hold_since = col_int(st, 14);
	u->destroy_requested = col_int(st, 15);
	u->destroy_due = col_int(st, 16);
	u->source_gone_since = col_int(st, 17);
	return u;
}

static void unit_free_v(void *p)
{
	struct catalog_unit *x = p;

	catalog_unit_free(&x);
}
static const struct record unit_rec = { unit_make, unit_free_v };

int catalog_unit_insert(struct catalog *c, const struct catalog_unit *u, struct error *err)
{
	if (need(u->id, "unit id", err) < 0 || need(u->tenant, "unit tenant", err) < 0 ||
	    need(u->name, "unit name", err) < 0 || need(u->kind, "unit kind", err) < 0 ||
	    need(u->source, "unit source", err) < 0)
		return error_prefix(err, "catalog: insert unit");
	if (cat_run(c,
		    "INSERT INTO units (" UNIT_COLS ") VALUES "
		    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
		    PARAMS(PS(u->id), PS(u->tenant), PS(u->kind), PS(u->name), PS(u->source),
			   PS(u->policy), PS(u->state ? u->state : "unprotected"),
			   PS(u->last_error), PI(u->created), PI(u->last_success),
			   PI(u->last_attempt), PI(u->next_due), PI(u->failures), PS(u->legal_hold),
			   PI(u->legal_hold ? u->legal_hold_since : 0)),
		    NULL, NULL, err) < 0)
		return error_prefix(err, "catalog: insert unit '%s' of tenant %s", u->name,
				    u->tenant);
	return 0;
}

int catalog_unit_create(struct catalog *c, const char *tenant, const char *kind,
			const char *name, const char *source_json, struct catalog_unit **u_r,
			struct error *err)
{
	struct catalog_unit u = { .created = now_s() };
	int ret;

	*u_r = NULL;
	/* Copies, as the record's strings are not const. */
	u.id = new_id('u');
	u.tenant = tenant ? xstrdup(tenant) : NULL;
	u.kind = kind ? xstrdup(kind) : NULL;
	u.name = name ? xstrdup(name) : NULL;
	u.source = source_json ? xstrdup(source_json) : NULL;
	ret = catalog_unit_insert(c, &u, err);
	if (ret == 0)
		ret = catalog_unit_get(c, tenant, u.id, u_r, err);
	free(u.id);
	free(u.tenant);
	free(u.kind);
	free(u.name);
	free(u.source);
	return ret;
}

int catalog_unit_get(struct catalog *c, const char *tenant, const char *id,
		     struct catalog_unit **u_r, struct error *err)
{
	*u_r = db_get(c, &unit_rec, "SELECT " UNIT_READ_COLS " FROM units WHERE tenant = $1 AND id = $2",
		      PARAMS(PS(tenant), PS(id)), "unit", err);
	return *u_r ? 0 : error_prefix(err, "catalog: get unit %s of tenant %s", id,
				       tenant ? tenant : "(none)");
}

int catalog_unit_find(struct catalog *c, const char *tenant, const char *name,
		      struct catalog_unit **u_r, struct error *err)
{
	*u_r = db_get(c, &unit_rec,
		      "SELECT " UNIT_READ_COLS " FROM units WHERE tenant = $1 AND name = $2",
		      PARAMS(PS(tenant), PS(name)), "unit", err);
	return *u_r ? 0 : error_prefix(err, "catalog: find unit '%s' of tenant %s", name,
				       tenant ? tenant : "(none)");
}

int catalog_unit_list(struct catalog *c, const char *tenant, const struct catalog_unit_filter *f,
		      const struct catalog_page *pg, struct catalog_unit ***us_r, size_t *n_r,
		      struct error *err)
{
	static const struct catalog_unit_filter any;
	struct rows r;

	if (f == NULL)
		f = &any;
	if (db_list(c, &unit_rec,
		    "SELECT " UNIT_READ_COLS " FROM units"
		    " WHERE ($1 IS NULL OR tenant = $1) AND ($2 IS NULL OR kind = $2)"
		    " AND ($3 IS NULL OR policy = $3) AND ($4 IS NULL OR state = $4)"
		    " AND ($5 IS NULL OR substr(name, 1, length($5)) = $5)"
		    " AND id > $6"
		    " AND ($8 = 0 OR ($8 > 0 AND source_gone_since > 0)"
		    " OR ($8 < 0 AND source_gone_since = 0))"
		    " ORDER BY id LIMIT $7",
		    PARAMS(PS(tenant), PS(f->kind), PS(f->policy), PS(f->state), PS(f->name_prefix),
			   PS(page_after_id(pg)), PI(page_limit(pg)), PI(f->source_gone)),
		    &r, err) < 0)
		return error_prefix(err, "catalog: list units");
	ROWS_TAKE(&r, us_r, n_r);
	return 0;
}

int catalog_unit_update(struct catalog *c, const struct catalog_unit *u, struct error *err)
{
	if (need(u->state, "unit state", err) < 0 ||
	    db_change1(c,
		       "UPDATE units SET policy = $3, state = $4, last_error = $5,"
		       " last_success = $6, last_attempt = $7, next_due = $8, failures = $9"
		       " WHERE tenant = $1 AND id = $2",
		       PARAMS(PS(u->tenant), PS(u->id), PS(u->policy), PS(u->state),
			      PS(u->last_error), PI(u->last_success), PI(u->last_attempt),
			      PI(u->next_due), PI(u->failures)),
		       "unit", err) < 0)
		return error_prefix(err, "catalog: update unit %s", u->id);
	return 0;
}

void catalog_unit_free(struct catalog_unit **up)
{
	struct catalog_unit *u = *up;

	*up = NULL;
	if (u == NULL)
		return;
	free(u->id);
	free(u->tenant);
	free(u->kind);
	free(u->name);
	free(u->source);
	free(u->policy);
	free(u->state);
	free(u->last_error);
	free(u->legal_hold);
	free(u);
}

int catalog_unit_set_destroy(struct catalog *c, const char *tenant, const char *id,
			     int64_t requested, int64_t due, struct error *err)
{
	if (db_change1(c,
		       "UPDATE units SET destroy_requested = $3, destroy_due = $4"
		       " WHERE tenant = $1 AND id = $2",
		       PARAMS(PS(tenant), PS(id), PI(requested), PI(due)), "unit", err) < 0)
		return error_prefix(err, "catalog: set destruction of unit %s", id);
	return 0;
}

int catalog_unit_set_source_gone(struct catalog *c, const char *tenant, const char *id,
				 int64_t since, struct error *err)
{
	if (db_change1(c, "UPDATE units SET source_gone_since = $3 WHERE tenant = $1 AND id = $2",
		       PARAMS(PS(tenant), PS(id), PI(since)), "unit", err) < 0)
		return error_prefix(err, "catalog: set source gone of unit %s", id);
	return 0;
}

int catalog_unit_set_legal_hold(struct catalog *c, const char *tenant, const char *id,
				const char *reason, int64_t now, struct error *err)
{
	if (reason != NULL && need(reason, "legal hold reason", err) < 0)
		return error_prefix(err, "catalog: set legal hold on unit %s", id);
	/* The SET expressions read the row as it was: an existing hold keeps
	 * its start. */
	if (db_change1(c,
		       "UPDATE units SET legal_hold = $3,"
		       " legal_hold_since = CASE WHEN $3 IS NULL THEN 0"
		       "  WHEN legal_hold IS NULL THEN $4 ELSE legal_hold_since END"
		       " WHERE tenant = $1 AND id = $2",
		       PARAMS(PS(tenant), PS(id), PS(reason), PI(now)), "unit", err) < 0)
		return error_prefix(err, "catalog: %s legal hold on unit %s of tenant %s",
				    reason ? "set" : "release", id, tenant ? tenant : "(none)");
	return 0;
}

int catalog_unit_set_source(struct catalog *c, const char *tenant, const char *id,
			    const char *source, struct error *err)
{
	if (need(source, "unit source", err) < 0 ||
	    db_change1(c, "UPDATE units SET source = $3 WHERE tenant = $1 AND id = $2",
		       PARAMS(PS(tenant), PS(id), PS(source)), "unit", err) < 0)
		return error_prefix(err, "catalog: set the source of unit %s of tenant %s", id,
				    tenant ? tenant : "(none)");
	return 0;
}

/* ---- protection policies ---- */

#define POLICY_COLS                                                                  \
	"id, tenant, name, kind, state, units, rules, frequency_s, recent_days, " \
	"retention_days, created, updated, drill"

static void *policy_make(const struct db_row *st)
{
	struct catalog_policy *p = xcalloc(1, sizeof(*p));

	p->id = col_text(st, 0);
	p->tenant = col_text(st, 1);
	p->name = col_text(st, 2);
	p->kind = col_text(st, 3);
	p->state = col_text(st, 4);
	p->units = col_text(st, 5);
	p->rules = col_text(st, 6);
	p->frequency_s = col_int(st, 7);
	p->recent_days = col_int(st, 8);
	p->retention_days = col_int(st, 9);
	p->created = col_int(st, 10);
	p->updated = col_int(st, 11);
	p->drill = col_text(st, 12);
	return p;
}

static void policy_free_v(void *p)
{
	struct catalog_policy *x = p;

	catalog_policy_free(&x);
}
static const struct record policy_rec = { policy_make, policy_free_v };

int catalog_policy_create(struct catalog *c, struct catalog_policy *p, struct error *err)
{
	char *id;

	if (need(p->tenant, "policy tenant", err) < 0 || need(p->name, "policy name", err) < 0 ||
	    need(p->kind, "policy kind", err) < 0)
		return error_prefix(err, "catalog: create policy");
	if (p->frequency_s <= 0)
		p->frequency_s = 600;
	if (p->recent_days <= 0)
		p->recent_days = 14;
	if (p->retention_days <= 0)
		p->retention_days = 365;
	if (p->created == 0)
		p->created = now_s();
	if (p->updated == 0)
		p->updated = p->created;
	id = new_id('p');
	if (cat_run(c,
		    "INSERT INTO policies (" POLICY_COLS ") VALUES "
		    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
		    PARAMS(PS(id), PS(p->tenant), PS(p->name), PS(p->kind),
			   PS(p->state ? p->state : "inactive"), PS(p->units ? p->units : "[]"),
			   PS(p->rules ? p->rules : "[]"), PI(p->frequency_s), PI(p->recent_days),
			   PI(p->retention_days), PI(p->created), PI(p->updated), PS(p->drill)),
		    NULL, NULL, err) < 0) {
		free(id);
		return error_prefix(err, "catalog: create policy '%s' of tenant %s", p->name,
				    p->tenant);
	}
	free(p->id);
	p->id = id;
	return 0;
}

int catalog_policy_get(struct catalog *c, const char *tenant, const char *id,
		       struct catalog_policy **p_r, struct error *err)
{
	*p_r = db_get(c, &policy_rec,
		      "SELECT " POLICY_COLS " FROM policies WHERE tenant = $1 AND id = $2",
		      PARAMS(PS(tenant), PS(id)), "policy", err);
	return *p_r ? 0 : error_prefix(err, "catalog: get policy %s of tenant %s", id,
				       tenant ? tenant : "(none)");
}

int catalog_policy_list(struct catalog *c, const char *tenant, const struct catalog_page *pg,
			struct catalog_policy ***ps_r, size_t *n_r, struct error *err)
{
	struct rows r;

	if (db_list(c, &policy_rec,
		    "SELECT " POLICY_COLS " FROM policies"
		    " WHERE ($1 IS NULL OR tenant = $1) AND id > $2 ORDER BY id LIMIT $3",
		    PARAMS(PS(tenant), PS(page_after_id(pg)), PI(page_limit(pg))), &r, err) < 0)
		return error_prefix(err, "catalog: list policies");
	ROWS_TAKE(&r, ps_r, n_r);
	return 0;
}

int catalog_policy_update(struct catalog *c, const struct catalog_policy *p, struct error *err)
{
	if (need(p->name, "policy name", err) < 0 || need(p->kind, "policy kind", err) < 0 ||
	    need(p->state, "policy state", err) < 0 ||
	    db_change1(c,
		       "UPDATE policies SET name = $3, kind = $4, state = $5, units = $6,"
		       " rules = $7, frequency_s = $8, recent_days = $9, retention_days = $10,"
		       " updated = $11, drill = $12 WHERE tenant = $1 AND id = $2",
		       PARAMS(PS(p->tenant), PS(p->id), PS(p->name), PS(p->kind), PS(p->state),
			      PS(p->units ? p->units : "[]"), PS(p->rules ? p->rules : "[]"),
			      PI(p->frequency_s), PI(p->recent_days), PI(p->retention_days),
			      PI(p->updated ? p->updated : now_s()), PS(p->drill)),
		       "policy", err) < 0)
		return error_prefix(err, "catalog: update policy %s", p->id);
	return 0;
}

void catalog_policy_free(struct catalog_policy **pp)
{
	struct catalog_policy *p = *pp;

	*pp = NULL;
	if (p == NULL)
		return;
	free(p->id);
	free(p->tenant);
	free(p->name);
	free(p->kind);
	free(p->state);
	free(p->units);
	free(p->rules);
	free(p->drill);
	free(p);
}

/* ---- restore points ---- */

#define RP_COLS                                                                           \
	"tenant, unit, seq, time_ns, hash, files, bytes, new_bytes, stored_bytes, " \
	"incompressible_bytes, changed_entries, nwarnings, forgotten, keep_until, retain_until"

static void *rp_make(const struct db_row *st)
{
	struct catalog_rp *rp = xcalloc(1, sizeof(*rp));

	rp->tenant = col_text(st, 0);
	rp->unit = col_text(st, 1);
	rp->seq = (uint32_t)col_int(st, 2);
	rp->time_ns = col_int(st, 3);
	rp->hash = col_text(st, 4);
	/* Unsigned counters travel as their 64-bit pattern. */
	rp->files = (uint64_t)col_int(st, 5);
	rp->bytes = (uint64_t)col_int(st, 6);
	rp->new_bytes = (uint64_t)col_int(st, 7);
	rp->stored_bytes = (uint64_t)col_int(st, 8);
	rp->incompressible_bytes = (uint64_t)col_int(st, 9);
	rp->changed_entries = (uint64_t)col_int(st, 10);
	rp->nwarnings = (int)col_int(st, 11);
	rp->forgotten = (int)col_int(st, 12);
	rp->keep_until = col_int(st, 13);
	rp->retain_until = col_int(st, 14);
	return rp;
}

static void rp_free_v(void *p)
{
	struct catalog_rp *x = p;

	catalog_rp_free(&x);
}
static const struct record rp_rec = { rp_make, rp_free_v };

int catalog_rp_put(struct catalog *c, const struct catalog_rp *rp, struct error *err)
{
	if (need(rp->tenant, "tenant", err) < 0 || need(rp->unit, "unit", err) < 0 ||
	    need(rp->hash, "restore point hash", err) < 0)
		return error_prefix(err, "catalog: put restore point");
	if (cat_run(c,
		    "INSERT INTO restore_points (" RP_COLS ") VALUES "
		    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
		    " ON CONFLICT (tenant, unit, seq) DO UPDATE SET time_ns = $4, hash = $5,"
		    " files = $6, bytes = $7, new_bytes = $8, stored_bytes = $9,"
		    " incompressible_bytes = $10, changed_entries = $11, nwarnings = $12,"
		    " forgotten = $13, keep_until = $14, retain_until = $15",
		    PARAMS(PS(rp->tenant), PS(rp->unit), PI(rp->seq), PI(rp->time_ns), PS(rp->hash),
			   PI(rp->files), PI(rp->bytes), PI(rp->new_bytes), PI(rp->stored_bytes),
			   PI(rp->incompressible_bytes), PI(rp->changed_entries), PI(rp->nwarnings),
			   PI(rp->forgotten != 0), PI(rp->keep_until), PI(rp->retain_until)),
		    NULL, NULL, err) < 0)
		return error_prefix(err, "catalog: put restore point %s@%" PRIu32, rp->unit,
				    rp->seq);
	return 0;
}

int catalog_rp_get(struct catalog *c, const char *tenant, const char *unit, uint32_t seq,
		   struct catalog_rp **rp_r, struct error *err)
{
	*rp_r = db_get(c, &rp_rec,
		       "SELECT " RP_COLS " FROM restore_points"
		       " WHERE tenant = $1 AND unit = $2 AND seq = $3",
		       PARAMS(PS(tenant), PS(unit), PI(seq)), "restore point", err);
	return *rp_r ? 0 : error_prefix(err, "catalog: get restore point %s@%" PRIu32, unit, seq);
}

int catalog_rp_list(struct catalog *c, const char *tenant, const char *unit,
		    const struct catalog_rp_filter *f, const struct catalog_page *pg,
		    struct catalog_rp ***rps_r, size_t *n_r, struct error *err)
{
	static const struct catalog_rp_filter any;
	static const char *const sql[2] = {
		"SELECT " RP_COLS " FROM restore_points WHERE tenant = $1 AND unit = $2"
		" AND ($3 = 0 OR time_ns < $3) AND ($4 = 0 OR time_ns > $4)"
		" AND ($5 <> 0 OR forgotten = 0) AND seq > $6 ORDER BY seq LIMIT $7",
		/* Newest first: the cursor (-1: none) bounds from above. */
		"SELECT " RP_COLS " FROM restore_points WHERE tenant = $1 AND unit = $2"
		" AND ($3 = 0 OR time_ns < $3) AND ($4 = 0 OR time_ns > $4)"
		" AND ($5 <> 0 OR forgotten = 0) AND ($6 < 0 OR seq < $6)"
		" ORDER BY seq DESC LIMIT $7",
	};
	struct rows r;
	int64_t after;

	if (f == NULL)
		f = &any;
	if (page_after_num(pg, &after, err) < 0 ||
	    db_list(c, &rp_rec, sql[f->desc != 0],
		    PARAMS(PS(tenant), PS(unit), PI(f->before_ns), PI(f->after_ns),
			   PI(f->include_forgotten != 0), PI(after), PI(page_limit(pg))),
		    &r, err) < 0)
		return error_prefix(err, "catalog: list restore points of %s", unit);
	ROWS_TAKE(&r, rps_r, n_r);
	return 0;
}

static void *rp_stats_make(const struct db_row *st)
{
	struct catalog_rp_stats *x = xcalloc(1, sizeof(*x));

	x->unit = col_text(st, 0);
	x->points = (uint64_t)col_int(st, 1);
	x->bytes = (uint64_t)col_int(st, 2);
	x->stored_bytes = (uint64_t)col_int(st, 3);
	x->newest_ns = col_int(st, 4);
	return x;
}

void catalog_rp_stats_free(struct catalog_rp_stats **st)
{
	if (*st != NULL)
		free((*st)->unit);
	free(*st);
	*st = NULL;
}

static void rp_stats_free_v(void *x)
{
	struct catalog_rp_stats *st = x;

	catalog_rp_stats_free(&st);
}

static const struct record rp_stats_rec = { rp_stats_make, rp_stats_free_v };

int catalog_rp_stats(struct catalog *c, const char *tenant, struct catalog_rp_stats ***st_r,
		     size_t *n_r, struct error *err)
{
	struct rows r;

	/* PostgreSQL's SUM of bigint is numeric: read back as text digits. */
	if (db_list(c, &rp_stats_rec,
		    "SELECT unit, COUNT(*), COALESCE(SUM(bytes), 0), COALESCE(SUM(stored_bytes), 0),"
		    " MAX(time_ns) FROM restore_points WHERE tenant = $1 AND forgotten = 0"
		    " GROUP BY unit ORDER BY unit",
		    PARAMS(PS(tenant)), &r, err) < 0)
		return error_prefix(err, "catalog: sum the restore points of %s", tenant);
	ROWS_TAKE(&r, st_r, n_r);
	return 0;
}

int catalog_rp_mark_forgotten(struct catalog *c, const char *tenant, const char *unit,
			      uint32_t seq, struct error *err)
{
	if (db_change1(c,
		       "UPDATE restore_points SET forgotten = 1"
		       " WHERE tenant = $1 AND unit = $2 AND seq = $3",
		       PARAMS(PS(tenant), PS(unit), PI(seq)), "restore point", err) < 0)
		return error_prefix(err, "catalog: mark restore point %s@%" PRIu32 " forgotten",
				    unit, seq);
	return 0;
}

int catalog_rp_clear(struct catalog *c, struct error *err)
{
	if (db_exec(c, "DELETE FROM restore_points", err) < 0)
		return error_prefix(err, "catalog: clear restore points");
	return 0;
}

void catalog_rp_free(struct catalog_rp **rpp)
{
	struct catalog_rp *rp = *rpp;

	*rpp = NULL;
	if (rp == NULL)
		return;
	free(rp->tenant);
	free(rp->unit);
	free(rp->hash);
	free(rp);
}

/* ---- jobs ---- */

#define JOB_COLS                                                                         \
	"id, tenant, unit, kind, session, state, error, detail, attempts, created, " \
	"not_before, started, finished, owner, lease_until, fence"

static void *job_make(const struct db_row *st)
{
	struct catalog_job *j = xcalloc(1, sizeof(*j));

	j->id = col_int(st, 0);
	j->tenant = col_text(st, 1);
	j->unit = col_text(st, 2);
	j->kind = col_text(st, 3);
	j->session = col_text(st, 4);
	j->state = col_text(st, 5);
	j->error = col_text(st, 6);
	j->detail = col_text(st, 7);
	j->attempts = (int)col_int(st, 8);
	j->created = col_int(st, 9);
	j->not_before = col_int(st, 10);
	j->started = col_int(st, 11);
	j->finished = col_int(st, 12);
	j->owner = col_text(st, 13);
	j->lease_until = col_int(st, 14);
	j->fence = col_int(st, 15);
	return j;
}

static void job_free_v(void *p)
{
	struct catalog_job *x = p;

	catalog_job_free(&x);
}
static const struct record job_rec = { job_make, job_free_v };

/* The id of the queued or running job that `j` would duplicate, if any:
 * same unit and kind, or for restores the same session and unit. */
static int job_find_active(struct catalog *c, const struct catalog_job *j, int64_t *id_r,
			   struct error *err)
{
	int is_restore = catalog_job_kind_of(j->kind) == CATALOG_JOB_RESTORE;

	*id_r = 0;
	return cat_run(c,
		       "SELECT id FROM jobs WHERE state IN ('queued', 'running') AND unit = $1"
		       " AND (($3 = 1 AND kind = 'restore' AND session = $4)"
		       "  OR ($3 = 0 AND kind = $2))"
		       " ORDER BY id LIMIT 1",
		       PARAMS(PS(j->unit), PS(j->kind), PI(is_restore), PS(j->session)), int64_row,
		       id_r, err) < 0 ? -1 : 0;
}

int catalog_job_enqueue(struct catalog *c, const struct catalog_job *j, int64_t *id_r,
			struct error *err)
{
	int64_t id = 0;

	*id_r = 0;
	if (need(j->kind, "job kind", err) < 0 || need(j->unit, "job unit", err) < 0 ||
	    (catalog_job_kind_of(j->kind) == CATALOG_JOB_RESTORE &&
	     need(j->session, "restore job session", err) < 0))
		return error_prefix(err, "catalog: enqueue job");
	if (tx_begin(c, err) < 0)
		goto fail;
	if (job_find_active(c, j, &id, err) < 0)
		goto rollback;
	/* Without a conflict target, DO NOTHING covers both partial unique
	 * indexes (jobs_one_active, jobs_one_active_restore), in SQLite and
	 * PostgreSQL alike. */
	if (id == 0 &&
	    cat_run(c,
		    "INSERT INTO jobs (tenant, unit, kind, session, state, detail, attempts,"
		    " created, not_before, started, finished)"
		    " VALUES ($1, $2, $3, $4, 'queued', $5, 0, $6, $7, 0, 0)"
		    " ON CONFLICT DO NOTHING RETURNING id",
		    PARAMS(PS(j->tenant), PS(j->unit), PS(j->kind), PS(j->session), PS(j->detail),
			   PI(j->created ? j->created : now_s()), PI(j->not_before)),
		    int64_row, &id, err) < 0)
		goto rollback;
	/* Nothing inserted: another node queued the same job after our look-up
	 * (PostgreSQL: the index made us wait for its commit); now we see it. */
	if (id == 0 && job_find_active(c, j, &id, err) < 0)
		goto rollback;
	if (tx_commit(c, err) < 0)
		goto fail;
	*id_r = id;
	return 0;
rollback:
	tx_rollback(c);
fail:
	return error_prefix(err, "catalog: enqueue %s job of unit %s", j->kind, j->unit);
}

/* Claims: the pick and the update are one statement, in a transaction.
 * SQLite: BEGIN IMMEDIATE already excludes every other writer. PostgreSQL
 * (READ COMMITTED): the claim lock makes claims of all nodes one at a
 * time, so "the unit has no running job" cannot be decided by two nodes
 * at once (SKIP LOCKED alone would let two nodes take two jobs of one
 * unit); FOR UPDATE SKIP LOCKED passes over a job whose row another
 * transaction is changing (a heartbeat, a finish). The SET expressions
 * read the row as it was: a running job there is a takeover. */
#define CLAIM_SQL(lock)                                                                   \
	"UPDATE jobs SET state = 'running', started = $1, finished = 0,"                  \
	" attempts = attempts + 1,"                                                       \
	" error = CASE WHEN state = 'running' THEN 'taken over from node '"              \
	"  || COALESCE(owner, '(none)') || ': its lease expired' ELSE error END,"         \
	" owner = $2, lease_until = $3, fence = fence + 1"                                \
	" WHERE id = (SELECT q.id FROM jobs q"                                            \
	"  WHERE (q.state = 'queued' AND q.not_before <= $1 AND NOT EXISTS"               \
	"   (SELECT 1 FROM jobs r WHERE r.unit = q.unit AND r.state = 'running'))"        \
	"  OR (q.state = 'running' AND q.lease_until < $4)"                               \
	"  ORDER BY q.id LIMIT 1" lock ")"                                                \
	" RETURNING " JOB_COLS

int catalog_job_claim(struct catalog *c, const char *node, int64_t now, int64_t lease_s,
		      struct catalog_job **j_r, struct error *err)
{
	return catalog_job_claim_at(c, node, now, now, lease_s, j_r, err);
}

int catalog_job_claim_at(struct catalog *c, const char *node, int64_t now, int64_t lease_now,
			 int64_t lease_s, struct catalog_job **j_r, struct error *err)
{
	struct rows r;

	*j_r = NULL;
	if (need(node, "node", err) < 0 || tx_begin(c, err) < 0)
		return error_prefix(err, "catalog: claim a job");
	if (tx_lock(c, PG_LOCK_CLAIM, err) < 0 ||
	    db_list(c, &job_rec, dialect(c, CLAIM_SQL(""), CLAIM_SQL(" FOR UPDATE SKIP LOCKED")),
		    PARAMS(PI(now), PS(node), PI(lease_now + lease_s), PI(lease_now)), &r, err) < 0) {
		tx_rollback(c);
		return error_prefix(err, "catalog: claim a job for node %s", node);
	}
	if (tx_commit(c, err) < 0) {
		rows_clear(&r);
		return error_prefix(err, "catalog: claim a job for node %s", node);
	}
	if (r.n > 0) {
		struct catalog_job *j = r.v[0];

		*j_r = j;
		if (j->attempts > 1 && j->error != NULL && strncmp(j->error, "taken over", 10) == 0)
			log_info("catalog: node %s took job %" PRId64 " over (%s)", node, j->id,
				 j->error);
	}
	free(r.v);
	return 0;
}

/* Why job `id` is not running under (node, fence): ERROR_CONFLICT naming
 * who holds it now, or ERROR_NOTFOUND. Returns -1. */
static int job_not_ours(struct catalog *c, int64_t id, const char *node, int64_t fence,
			struct error *err)
{
	struct catalog_job *j = db_get(c, &job_rec, "SELECT " JOB_COLS " FROM jobs WHERE id = $1",
				       PARAMS(PI(id)), "job", err);

	if (j == NULL)
		return -1;
	if (catalog_job_state_of(j->state) == CATALOG_JOB_RUNNING)
		error_setk(err, ERROR_CONFLICT,
			   "job %" PRId64 " is no longer ours: taken over by node %s "
			   "(fence %" PRId64 ", ours %s %" PRId64 ")",
			   id, j->owner ? j->owner : "(none)", j->fence, node, fence);
	else
		error_setk(err, ERROR_CONFLICT,
			   "job %" PRId64 " is no longer ours: it is %s (last claimed by node %s, "
			   "fence %" PRId64 "; ours %s %" PRId64 ")",
			   id, j->state, j->owner ? j->owner : "(none)", j->fence, node, fence);
	catalog_job_free(&j);
	return -1;
}

int catalog_job_heartbeat(struct catalog *c, int64_t id, const char *node, int64_t fence,
			  int64_t lease_until, struct error *err)
{
	int64_t n;

	if (need(node, "node", err) < 0)
		return error_prefix(err, "catalog: renew the lease of job %" PRId64, id);
	n = cat_run(c,
		    "UPDATE jobs SET lease_until = $4"
		    " WHERE id = $1 AND state = 'running' AND owner = $2 AND fence = $3",
		    PARAMS(PI(id), PS(node), PI(fence), PI(lease_until)), NULL, NULL, err);
	if (n == 0)
		job_not_ours(c, id, node, fence, err);
	if (n <= 0)
		return error_prefix(err, "catalog: renew the lease of job %" PRId64, id);
	return 0;
}

/* A change to job `id` made only if the job still runs under (node,
 * fence), or whatever its state if node is NULL: the SQL has the check as
 * " AND ($N IS NULL OR ...)"; 0 rows changed is then explained. */
#define JOB_OURS(n, f) \
	" AND (" n " IS NULL OR (state = 'running' AND owner = " n " AND fence = " f "))"

static int job_change(struct catalog *c, int64_t id, const char *node, int64_t fence,
		      const char *sql, const struct db_param *p, size_t np, struct error *err)
{
	int64_t n = cat_run(c, sql, p, np, NULL, NULL, err);

	if (n < 0)
		return -1;
	if (n > 0)
		return 0;
	if (node != NULL)
		return job_not_ours(c, id, node, fence, err);
	return error_setk(err, ERROR_NOTFOUND, "job %" PRId64 " not found", id);
}

int catalog_job_finish(struct catalog *c, int64_t id, const char *node, int64_t fence,
		       enum catalog_job_state state, const char *error, const char *detail,
		       int64_t finished, int64_t not_before, struct error *err)
{
	const char *name = catalog_job_state_name(state);

	if (state != CATALOG_JOB_SUCCEEDED && state != CATALOG_JOB_FAILED &&
	    state != CATALOG_JOB_QUEUED)
		return error_setk(err, ERROR_USAGE,
				  "catalog: finish job %" PRId64 ": state '%s' is not succeeded, "
				  "failed or queued",
				  id, name ? name : "(none)");
	/* The lease ends with the run; owner stays: who ran it last. */
	if (job_change(c, id, node, fence,
		       "UPDATE jobs SET state = $2, error = $3, detail = COALESCE($4, detail),"
		       " finished = $5, not_before = $6, lease_until = 0 WHERE id = $1"
		       JOB_OURS("$7", "$8"),
		       PARAMS(PI(id), PS(name), PS(error), PS(detail), PI(finished),
			      PI(not_before), PS(node), PI(fence)),
		       err) < 0)
		return error_prefix(err, "catalog: finish job %" PRId64, id);
	return 0;
}

int catalog_job_set_detail(struct catalog *c, int64_t id, const char *node, int64_t fence,
			   const char *detail, struct error *err)
{
	if (job_change(c, id, node, fence,
		       "UPDATE jobs SET detail = $2 WHERE id = $1" JOB_OURS("$3", "$4"),
		       PARAMS(PI(id), PS(detail), PS(node), PI(fence)), err) < 0)
		return error_prefix(err, "catalog: set detail of job %" PRId64, id);
	return 0;
}

int catalog_job_requeue_running(struct catalog *c, const char *node, const char *reason,
				struct error *err)
{
	int64_t n = cat_run(c,
			    "UPDATE jobs SET state = 'queued', error = $1, lease_until = 0"
			    " WHERE state = 'running' AND ($2 IS NULL OR owner = $2)",
			    PARAMS(PS(reason), PS(node)), NULL, NULL, err);

	if (n < 0)
		return error_prefix(err, "catalog: requeue running jobs of node %s",
				    node ? node : "(any)");
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

int catalog_job_get(struct catalog *c, int64_t id, struct catalog_job **j_r, struct error *err)
{
	*j_r = db_get(c, &job_rec, "SELECT " JOB_COLS " FROM jobs WHERE id = $1", PARAMS(PI(id)),
		      "job", err);
	return *j_r ? 0 : error_prefix(err, "catalog: get job %" PRId64, id);
}

int catalog_job_list(struct catalog *c, const struct catalog_job_filter *f,
		     const struct catalog_page *pg, struct catalog_job ***js_r, size_t *n_r,
		     struct error *err)
{
	static const struct catalog_job_filter any;
	struct rows r;
	int64_t after;

	if (f == NULL)
		f = &any;
	if (page_after_num(pg, &after, err) < 0 ||
	    db_list(c, &job_rec,
		    "SELECT " JOB_COLS " FROM jobs"
		    " WHERE ($1 IS NULL OR tenant = $1) AND ($2 IS NULL OR unit = $2)"
		    " AND ($3 IS NULL OR kind = $3) AND ($4 IS NULL OR state = $4)"
		    " AND ($5 IS NULL OR session = $5) AND id > $6 ORDER BY id LIMIT $7",
		    PARAMS(PS(f->tenant), PS(f->unit), PS(f->kind), PS(f->state), PS(f->session),
			   PI(after), PI(page_limit(pg))),
		    &r, err) < 0)
		return error_prefix(err, "catalog: list jobs");
	ROWS_TAKE(&r, js_r, n_r);
	return 0;
}

/* PostgreSQL: a session-level advisory lock, held by this connection
 * until it closes (the node dies, or the connection breaks: then another
 * node's next try wins). Taking it again while held only counts up.
 * SQLite: one machine, and BEGIN IMMEDIATE already serializes writers. */
int catalog_scheduler_lead(struct catalog *c, int *lead_r, struct error *err)
{
	int64_t got = 0;
	int64_t n;

	*lead_r = 0;
	if (db_dialect(c->db) == DB_POSTGRES)
		n = cat_run(c, "SELECT CASE WHEN pg_try_advisory_lock($1) THEN 1 ELSE 0 END",
			    PARAMS(PI(PG_LOCK_SCHEDULER)), int64_row, &got, err);
	else
		n = cat_run(c, "SELECT 1", NO_PARAMS, int64_row, &got, err);
	if (n < 0)
		return error_prefix(err, "catalog: take the scheduler's lock");
	*lead_r = got == 1;
	return 0;
}

int64_t catalog_job_queue_depth(struct catalog *c)
{
	struct error err;
	int64_t n = 0;

	if (cat_run(c, "SELECT count(*) FROM jobs WHERE state = 'queued'", NO_PARAMS, int64_row,
		    &n, &err) < 0) {
		log_warn("catalog: queue depth: %s", err.msg);
		return -1;
	}
	return n;
}

void catalog_job_free(struct catalog_job **jp)
{
	struct catalog_job *j = *jp;

	*jp = NULL;
	if (j == NULL)
		return;
	free(j->tenant);
	free(j->unit);
	free(j->kind);
	free(j->session);
	free(j->state);
	free(j->error);
	free(j->detail);
	free(j->owner);
	free(j);
}

/* ---- restore sessions and artifacts ---- */

#define SESSION_COLS "id, tenant, created_by, state, created, finished"
#define ARTIFACT_COLS                                                                \
	"session, tenant, unit, seq, mode, target, patterns, state, error, "   \
	"items_done, items_total, bytes_done, bytes_total, started, finished"
#define ARTIFACT_READ_COLS ARTIFACT_COLS ", withheld"

static void *session_make(const struct db_row *st)
{
	struct catalog_session *s = xcalloc(1, sizeof(*s));

	s->id = col_text(st, 0);
	s->tenant = col_text(st, 1);
	s->created_by = col_text(st, 2);
	s->state = col_text(st, 3);
	s->created = col_int(st, 4);
	s->finished = col_int(st, 5);
	return s;
}

static void *artifact_make(const struct db_row *st)
{
	struct catalog_artifact *a = xcalloc(1, sizeof(*a));

	a->session = col_text(st, 0);
	a->tenant = col_text(st, 1);
	a->unit = col_text(st, 2);
	a->seq = (uint32_t)col_int(st, 3);
	a->mode = col_text(st, 4);
	a->target = col_text(st, 5);
	a->patterns = col_text(st, 6);
	a->state = col_text(st, 7);
	a->error = col_text(st, 8);
	a->items_done = (uint64_t)col_int(st, 9);
	a->items_total = (uint64_t)col_int(st, 10);
	a->bytes_done = (uint64_t)col_int(st, 11);
	a->bytes_total = (uint64_t)col_int(st, 12);
	a->started = col_int(st, 13);
	a->finished = col_int(st, 14);
	a->withheld = col_text(st, 15);
	return a;
}

void catalog_artifact_free(struct catalog_artifact **ap)
{
	struct catalog_artifact *a = *ap;

	*ap = NULL;
	if (a == NULL)
		return;
	free(a->session);
	free(a->tenant);
	free(a->unit);
	free(a->mode);
	free(a->target);
	free(a->patterns);
	free(a->state);
	free(a->error);
	free(a->withheld);
	free(a);
}

static void session_free_v(void *p)
{
	struct catalog_session *x = p;

	catalog_session_free(&x);
}
static void artifact_free_v(void *p)
{
	struct catalog_artifact *x = p;

	catalog_artifact_free(&x);
}
static const struct record session_rec = { session_make, session_free_v };
static const struct record artifact_rec = { artifact_make, artifact_free_v };

static int artifact_insert(struct catalog *c, const struct catalog_artifact *a,
			   struct error *err)
{
	if (need(a->unit, "artifact unit", err) < 0 || need(a->mode, "artifact mode", err) < 0)
		return -1;
	if (cat_run(c,
		    "INSERT INTO artifacts (" ARTIFACT_COLS ") VALUES "
		    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
		    PARAMS(PS(a->session), PS(a->tenant), PS(a->unit), PI(a->seq), PS(a->mode),
			   PS(a->target), PS(a->patterns), PS(a->state ? a->state : "pending"),
			   PS(a->error), PI(a->items_done), PI(a->items_total), PI(a->bytes_done),
			   PI(a->bytes_total), PI(a->started), PI(a->finished)),
		    NULL, NULL, err) < 0)
		return error_prefix(err, "artifact of unit %s", a->unit);
	return 0;
}

int catalog_session_create(struct catalog *c, struct catalog_session *s, struct error *err)
{
	char *id;
	size_t i;

	if (need(s->tenant, "session tenant", err) < 0 ||
	    need(s->created_by, "session creator", err) < 0)
		return error_prefix(err, "catalog: create restore session");
	id = new_id('s');
	if (s->created == 0)
		s->created = now_s();
	if (tx_begin(c, err) < 0)
		goto fail;
	if (cat_run(c, "INSERT INTO sessions (" SESSION_COLS ") VALUES ($1, $2, $3, $4, $5, $6)",
		    PARAMS(PS(id), PS(s->tenant), PS(s->created_by),
			   PS(s->state ? s->state : "pending"), PI(s->created), PI(s->finished)),
		    NULL, NULL, err) < 0)
		goto rollback;
	for (i = 0; i < s->nartifacts; i++) {
		struct catalog_artifact *a = s->artifacts[i];

		free(a->session);
		a->session = xstrdup(id);
		if (a->tenant == NULL)
			a->tenant = xstrdup(s->tenant);
		if (artifact_insert(c, a, err) < 0)
			goto rollback;
	}
	if (tx_commit(c, err) < 0)
		goto fail;
	free(s->id);
	s->id = id;
	return 0;
rollback:
	tx_rollback(c);
fail:
	free(id);
	return error_prefix(err, "catalog: create restore session of tenant %s", s->tenant);
}

static int session_load_artifacts(struct catalog *c, struct catalog_session *s,
				  struct error *err)
{
	struct rows r;

	if (db_list(c, &artifact_rec,
		    "SELECT " ARTIFACT_READ_COLS " FROM artifacts WHERE session = $1 ORDER BY unit",
		    PARAMS(PS(s->id)), &r, err) < 0)
		return error_prefix(err, "artifacts of session %s", s->id);
	ROWS_TAKE(&r, &s->artifacts, &s->nartifacts);
	return 0;
}

int catalog_session_get(struct catalog *c, const char *tenant, const char *id,
			struct catalog_session **s_r, struct error *err)
{
	*s_r = db_get(c, &session_rec,
		      "SELECT " SESSION_COLS " FROM sessions WHERE tenant = $1 AND id = $2",
		      PARAMS(PS(tenant), PS(id)), "restore session", err);
	if (*s_r == NULL || session_load_artifacts(c, *s_r, err) < 0) {
		catalog_session_free(s_r);
		*s_r = NULL;
		return error_prefix(err, "catalog: get restore session %s", id);
	}
	return 0;
}

/* Each listed session's artifacts, then the rows handed over. */
static int session_rows_take(struct catalog *c, struct rows *r, struct catalog_session ***ss_r,
			     size_t *n_r, struct error *err)
{
	for (size_t i = 0; i < r->n; i++)
		if (session_load_artifacts(c, r->v[i], err) < 0) {
			rows_clear(r);
			return error_prefix(err, "catalog: list restore sessions");
		}
	ROWS_TAKE(r, ss_r, n_r);
	return 0;
}

const char *catalog_session_cursor(const struct catalog_session *s, char *buf, size_t size)
{
	snprintf(buf, size, "%" PRId64 ".%s", s->created, s->id);
	return buf;
}

int catalog_session_list_newest(struct catalog *c, const char *tenant,
				const struct catalog_page *pg, struct catalog_session ***ss_r,
				size_t *n_r, struct error *err)
{
	const char *after = page_after_id(pg), *dot = strchr(after, '.');
	int64_t created = -1;
	struct rows r;

	if (after[0] != '\0' &&
	    (dot == NULL || parse_digits(after, (size_t)(dot - after), &created) < 0))
		return error_setk(err, ERROR_USAGE, "page cursor '%.60s' is not CREATED.ID", after);
	if (db_list(c, &session_rec,
		    "SELECT " SESSION_COLS " FROM sessions"
		    " WHERE ($1 IS NULL OR tenant = $1)"
		    " AND ($2 < 0 OR created < $2 OR (created = $2 AND id < $3))"
		    " ORDER BY created DESC, id DESC LIMIT $4",
		    PARAMS(PS(tenant), PI(created), PS(dot ? dot + 1 : ""), PI(page_limit(pg))),
		    &r, err) < 0)
		return error_prefix(err, "catalog: list restore sessions");
	return session_rows_take(c, &r, ss_r, n_r, err);
}

int catalog_session_list(struct catalog *c, const char *tenant, const struct catalog_page *pg,
			 struct catalog_session ***ss_r, size_t *n_r, struct error *err)
{
	struct rows r;

	if (db_list(c, &session_rec,
		    "SELECT " SESSION_COLS " FROM sessions"
		    " WHERE ($1 IS NULL OR tenant = $1) AND id > $2 ORDER BY id LIMIT $3",
		    PARAMS(PS(tenant), PS(page_after_id(pg)), PI(page_limit(pg))), &r, err) < 0)
		return error_prefix(err, "catalog: list restore sessions");
	return session_rows_take(c, &r, ss_r, n_r, err);
}

int catalog_session_set_state(struct catalog *c, const char *id,
			      enum catalog_session_state state, int64_t finished,
			      struct error *err)
{
	const char *name = catalog_session_state_name(state);

	if (need(name, "session state", err) < 0 ||
	    db_change1(c, "UPDATE sessions SET state = $2, finished = $3 WHERE id = $1",
		       PARAMS(PS(id), PS(name), PI(finished)), "restore session", err) < 0)
		return error_prefix(err, "catalog: set state of restore session %s", id);
	return 0;
}

int catalog_artifact_update(struct catalog *c, const struct catalog_artifact *a,
			    struct error *err)
{
	if (need(a->state, "artifact state", err) < 0 ||
	    db_change1(c,
		       "UPDATE artifacts SET state = $3, error = $4, items_done = $5,"
		       " items_total = $6, bytes_done = $7, bytes_total = $8, target = $9,"
		       " started = $10, finished = $11, withheld = $12"
		       " WHERE session = $1 AND unit = $2",
		       PARAMS(PS(a->session), PS(a->unit), PS(a->state), PS(a->error),
			      PI(a->items_done), PI(a->items_total), PI(a->bytes_done),
			      PI(a->bytes_total), PS(a->target), PI(a->started), PI(a->finished),
			      PS(a->withheld)),
		       "artifact", err) < 0)
		return error_prefix(err, "catalog: update artifact %s of session %s", a->unit,
				    a->session);
	return 0;
}

void catalog_session_free(struct catalog_session **sp)
{
	struct catalog_session *s = *sp;

	*sp = NULL;
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nartifacts; i++)
		catalog_artifact_free(&s->artifacts[i]);
	free(s->artifacts);
	free(s->id);
	free(s->tenant);
	free(s->created_by);
	free(s->state);
	free(s);
}

/* ---- erasure requests (docs/privacy.md 2) ---- */

#define ERASURE_COLS                                                     \
	"id, tenant, kind, spec, reason, state, requested_by, requested, " \
	"decided_by, decided, effective, detail"

static void *erasure_make(const struct db_row *st)
{
	struct catalog_erasure *e = xcalloc(1, sizeof(*e));

	e->id = col_text(st, 0);
	e->tenant = col_text(st, 1);
	e->kind = col_text(st, 2);
	e->spec = col_text(st, 3);
	e->reason = col_text(st, 4);
	e->state = col_text(st, 5);
	e->requested_by = col_text(st, 6);
	e->requested = col_int(st, 7);
	e->decided_by = col_text(st, 8);
	e->decided = col_int(st, 9);
	e->effective = col_int(st, 10);
	e->detail = col_text(st, 11);
	return e;
}

static void erasure_free_v(void *p)
{
	struct catalog_erasure *x = p;

	catalog_erasure_free(&x);
}
static const struct record erasure_rec = { erasure_make, erasure_free_v };

int catalog_erasure_insert(struct catalog *c, const struct catalog_erasure *e, struct error *err)
{
	if (need(e->id, "erasure id", err) < 0 || need(e->tenant, "erasure tenant", err) < 0 ||
	    need(e->kind, "erasure kind", err) < 0 || need(e->spec, "erasure spec", err) < 0 ||
	    need(e->reason, "erasure reason", err) < 0 || need(e->state, "erasure state", err) < 0 ||
	    need(e->requested_by, "erasure requester", err) < 0)
		return error_prefix(err, "catalog: insert erasure request");
	if (cat_run(c,
		    "INSERT INTO erasures (" ERASURE_COLS ") VALUES "
		    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
		    PARAMS(PS(e->id), PS(e->tenant), PS(e->kind), PS(e->spec), PS(e->reason),
			   PS(e->state), PS(e->requested_by), PI(e->requested), PS(e->decided_by),
			   PI(e->decided), PI(e->effective), PS(e->detail)),
		    NULL, NULL, err) < 0)
		return error_prefix(err, "catalog: insert erasure request %s", e->id);
	return 0;
}

int catalog_erasure_get(struct catalog *c, const char *tenant, const char *id,
			struct catalog_erasure **e_r, struct error *err)
{
	*e_r = db_get(c, &erasure_rec,
		      "SELECT " ERASURE_COLS " FROM erasures WHERE tenant = $1 AND id = $2",
		      PARAMS(PS(tenant), PS(id)), "erasure request", err);
	return *e_r ? 0 : error_prefix(err, "catalog: get erasure request %s", id);
}

int catalog_erasure_list(struct catalog *c, const char *tenant, const char *state,
			 const struct catalog_page *pg, struct catalog_erasure ***es_r, size_t *n_r,
			 struct error *err)
{
	struct rows r;

	if (db_list(c, &erasure_rec,
		    "SELECT " ERASURE_COLS " FROM erasures WHERE ($1 IS NULL OR tenant = $1)"
		    " AND ($2 IS NULL OR state = $2) AND id > $3 ORDER BY id LIMIT $4",
		    PARAMS(PS(tenant), PS(state), PS(page_after_id(pg)), PI(page_limit(pg))), &r,
		    err) < 0)
		return error_prefix(err, "catalog: list erasure requests of tenant %s", tenant);
	ROWS_TAKE(&r, es_r, n_r);
	return 0;
}

int catalog_erasure_decide(struct catalog *c, const char *tenant, const char *id,
			   const char *from_state, const char *state, const char *by, int64_t when,
			   struct error *err)
{
	int64_t n = cat_run(c,
			    "UPDATE erasures SET state = $4, decided_by = $5, decided = $6"
			    " WHERE tenant = $1 AND id = $2 AND state = $3",
			    PARAMS(PS(tenant), PS(id), PS(from_state), PS(state), PS(by), PI(when)),
			    NULL, NULL, err);

	if (n < 0)
		return error_prefix(err, "catalog: decide erasure request %s", id);
	if (n == 0)
		return error_setk(err, ERROR_CONFLICT, "erasure request %s is no longer %s", id,
				  from_state);
	return 0;
}

int catalog_erasure_set_effective(struct catalog *c, const char *tenant, const char *id,
				  int64_t effective, const char *detail, struct error *err)
{
	if (db_change1(c,
		       "UPDATE erasures SET state = 'effective', effective = $3, detail = $4"
		       " WHERE tenant = $1 AND id = $2",
		       PARAMS(PS(tenant), PS(id), PI(effective), PS(detail)), "erasure request",
		       err) < 0)
		return error_prefix(err, "catalog: make erasure request %s effective", id);
	return 0;
}

void catalog_erasure_free(struct catalog_erasure **ep)
{
	struct catalog_erasure *e = *ep;

	*ep = NULL;
	if (e == NULL)
		return;
	free(e->id);
	free(e->tenant);
	free(e->kind);
	free(e->spec);
	free(e->reason);
	free(e->state);
	free(e->requested_by);
	free(e->decided_by);
	free(e->detail);
	free(e);
}

/* ---- store deletions ---- */

int catalog_deletion_seen(struct catalog *c, const char *tenant, const char *unit,
			  const char *name, int *seen_r, struct error *err)
{
	int64_t n = 0;

	if (cat_run(c, "SELECT count(*) FROM store_deletions"
		    " WHERE tenant = $1 AND unit = $2 AND name = $3",
		    PARAMS(PS(tenant), PS(unit), PS(name)), int64_row, &n, err) < 0)
		return error_prefix(err, "catalog: look up store deletion %s of %s", name, unit);
	*seen_r = n > 0;
	return 0;
}

int catalog_deletion_mark(struct catalog *c, const char *tenant, const char *unit,
			  const char *name, int64_t now, struct error *err)
{
	if (cat_run(c, "INSERT INTO store_deletions (tenant, unit, name, imported)"
		    " VALUES ($1, $2, $3, $4) ON CONFLICT (tenant, unit, name) DO NOTHING",
		    PARAMS(PS(tenant), PS(unit), PS(name), PI(now)), NULL, NULL, err) < 0)
		return error_prefix(err, "catalog: record store deletion %s of %s", name, unit);
	return 0;
}

/* ---- API tokens ---- */

#define TOKEN_COLS "id, tenant, role, name, created, last_used, revoked"

static void *token_make(const struct db_row *st)
{
	struct catalog_token *t = xcalloc(1, sizeof(*t));

	t->id = col_text(st, 0);
	t->tenant = col_text(st, 1);
	t->role = col_text(st, 2);
	t->name = col_text(st, 3);
	t->created = col_int(st, 4);
	t->last_used = col_int(st, 5);
	t->revoked = (int)col_int(st, 6);
	return t;
}

static void token_free_v(void *p)
{
	struct catalog_token *x = p;

	catalog_token_free(&x);
}
static const struct record token_rec = { token_make, token_free_v };

int catalog_token_create(struct catalog *c, const char *tenant, const char *role,
			 const char *name, const char *hash, struct catalog_token **t_r,
			 struct error *err)
{
	char *id;
	int ret = -1;

	*t_r = NULL;
	if (need(role, "token role", err) < 0 || need(hash, "token hash", err) < 0)
		return error_prefix(err, "catalog: create token");
	id = new_id('k');
	if (cat_run(c,
		    "INSERT INTO tokens (id, tenant, role, name, hash, created, last_used, revoked)"
		    " VALUES ($1, $2, $3, $4, $5, $6, 0, 0)",
		    PARAMS(PS(id), PS(tenant), PS(role), PS(name ? name : ""), PS(hash),
			   PI(now_s())),
		    NULL, NULL, err) < 0)
		error_prefix(err, "catalog: create token '%s'", name ? name : "");
	else if ((*t_r = db_get(c, &token_rec, "SELECT " TOKEN_COLS " FROM tokens WHERE id = $1",
				PARAMS(PS(id)), "token", err)) != NULL)
		ret = 0;
	free(id);
	return ret;
}

int catalog_token_by_hash(struct catalog *c, const char *hash, struct catalog_token **t_r,
			  struct error *err)
{
	/* The message does not repeat the hash: it is as good as a secret. */
	*t_r = db_get(c, &token_rec,
		      "SELECT " TOKEN_COLS " FROM tokens WHERE hash = $1 AND revoked = 0",
		      PARAMS(PS(hash)), "token", err);
	return *t_r ? 0 : error_prefix(err, "catalog: look up token");
}

int catalog_token_list(struct catalog *c, const char *tenant, const struct catalog_page *pg,
		       struct catalog_token ***ts_r, size_t *n_r, struct error *err)
{
	struct rows r;

	if (db_list(c, &token_rec,
		    "SELECT " TOKEN_COLS " FROM tokens"
		    " WHERE ($1 IS NULL OR tenant = $1) AND id > $2 ORDER BY id LIMIT $3",
		    PARAMS(PS(tenant), PS(page_after_id(pg)), PI(page_limit(pg))), &r, err) < 0)
		return error_prefix(err, "catalog: list tokens");
	ROWS_TAKE(&r, ts_r, n_r);
	return 0;
}

int catalog_token_revoke(struct catalog *c, const char *tenant, const char *id,
			 struct error *err)
{
	if (db_change1(c,
		       "UPDATE tokens SET revoked = 1 WHERE id = $2"
		       " AND (tenant = $1 OR (tenant IS NULL AND $1 IS NULL))",
		       PARAMS(PS(tenant), PS(id)), "token", err) < 0)
		return error_prefix(err, "catalog: revoke token %s", id);
	return 0;
}

int catalog_token_touch(struct catalog *c, const char *id, int64_t now, struct error *err)
{
	if (db_change1(c, "UPDATE tokens SET last_used = $2 WHERE id = $1",
		       PARAMS(PS(id), PI(now)), "token", err) < 0)
		return error_prefix(err, "catalog: record use of token %s", id);
	return 0;
}

int catalog_token_count(struct catalog *c, const char *tenant, const char *role, int64_t *n_r,
			struct error *err)
{
	*n_r = 0;
	if (cat_run(c, "SELECT count(*) FROM tokens WHERE ($1 IS NULL OR tenant = $1)"
		    " AND ($2 IS NULL OR role = $2)",
		    PARAMS(PS(tenant), PS(role)), int64_row, n_r, err) < 0)
		return error_prefix(err, "catalog: count tokens");
	return 0;
}

void catalog_token_free(struct catalog_token **tp)
{
	struct catalog_token *t = *tp;

	*tp = NULL;
	if (t == NULL)
		return;
	free(t->id);
	free(t->tenant);
	free(t->role);
	free(t->name);
	free(t);
}

/* ---- audit log ----
 * The catalog stores entries and keeps appends serial (on every node);
 * what seq, prev and hash are, and how a chain is checked, is the format's
 * (audit_chain.c, docs/service.md "Audit chain"). */

#define AUDIT_COLS "seq, time, tenant, actor, action, target, detail, prev, hash"

static void *audit_make(const struct db_row *st)
{
	struct catalog_audit *a = xcalloc(1, sizeof(*a));

	a->seq = col_int(st, 0);
	a->time = col_int(st, 1);
	a->tenant = col_text(st, 2);
	a->actor = col_text(st, 3);
	a->action = col_text(st, 4);
	a->target = col_text(st, 5);
	a->detail = col_text(st, 6);
	a->prev = col_text(st, 7);
	a->hash = col_text(st, 8);
	return a;
}

static void audit_free_v(void *p)
{
	struct catalog_audit *x = p;

	catalog_audit_free(&x);
}
static const struct record audit_rec = { audit_make, audit_free_v };

int catalog_audit_append(struct catalog *c, int64_t time, const char *tenant,
			 const char *actor, const char *action, const char *target,
			 const char *detail, struct catalog_audit **a_r, struct error *err)
{
	struct catalog_audit *a;
	struct rows last;

	if (a_r != NULL)
		*a_r = NULL;
	if (need(actor, "audit actor", err) < 0 || need(action, "audit action", err) < 0)
		return error_prefix(err, "catalog: append to the audit log");
	a = xcalloc(1, sizeof(*a));
	a->time = time;
	a->tenant = tenant ? xstrdup(tenant) : NULL;
	a->actor = xstrdup(actor);
	a->action = xstrdup(action);
	a->target = target ? xstrdup(target) : NULL;
	a->detail = detail ? xstrdup(detail) : NULL;
	/* Appends are serial: SQLite's BEGIN IMMEDIATE, PostgreSQL's audit
	 * lock (READ COMMITTED: the SELECT after it sees the append that
	 * held it last). seq is the primary key, so were two appends ever to
	 * read the same last entry, the second would fail, not fork the
	 * chain. */
	if (tx_begin(c, err) < 0)
		goto fail;
	if (tx_lock(c, PG_LOCK_AUDIT, err) < 0 ||
	    db_list(c, &audit_rec, "SELECT " AUDIT_COLS " FROM audit ORDER BY seq DESC LIMIT 1",
		    NO_PARAMS, &last, err) < 0)
		goto rollback;
	/* seq, prev and hash: the chain's format is audit_chain.c's. */
	audit_chain_link(a, last.n ? last.v[0] : NULL);
	rows_clear(&last);
	if (cat_run(c, "INSERT INTO audit (" AUDIT_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		    PARAMS(PI(a->seq), PI(a->time), PS(a->tenant), PS(a->actor), PS(a->action),
			   PS(a->target), PS(a->detail), PS(a->prev), PS(a->hash)),
		    NULL, NULL, err) < 0)
		goto rollback;
	if (tx_commit(c, err) < 0)
		goto fail;
	if (a_r != NULL)
		*a_r = a;
	else
		catalog_audit_free(&a);
	return 0;
rollback:
	tx_rollback(c);
fail:
	catalog_audit_free(&a);
	return error_prefix(err, "catalog: append %s to the audit log", action);
}

int catalog_audit_list(struct catalog *c, const struct catalog_audit_filter *f,
		       const struct catalog_page *pg, struct catalog_audit ***as_r, size_t *n_r,
		       struct error *err)
{
	static const struct catalog_audit_filter any;
	static const char *const sql[2] = {
		"SELECT " AUDIT_COLS " FROM audit"
		" WHERE ($1 IS NULL OR tenant = $1)"
		" AND ($2 IS NULL OR substr(action, 1, length($2)) = $2)"
		" AND ($3 = 0 OR time >= $3) AND ($4 = 0 OR time <= $4)"
		" AND seq > $5 ORDER BY seq LIMIT $6",
		/* Newest first: the cursor (-1: none) bounds from above. */
		"SELECT " AUDIT_COLS " FROM audit"
		" WHERE ($1 IS NULL OR tenant = $1)"
		" AND ($2 IS NULL OR substr(action, 1, length($2)) = $2)"
		" AND ($3 = 0 OR time >= $3) AND ($4 = 0 OR time <= $4)"
		" AND ($5 < 0 OR seq < $5) ORDER BY seq DESC LIMIT $6",
	};
	struct rows r;
	int64_t after;

	if (f == NULL)
		f = &any;
	if (page_after_num(pg, &after, err) < 0 ||
	    db_list(c, &audit_rec, sql[f->desc != 0],
		    PARAMS(PS(f->tenant), PS(f->action_prefix), PI(f->since), PI(f->until),
			   PI(after), PI(page_limit(pg))),
		    &r, err) < 0)
		return error_prefix(err, "catalog: list the audit log");
	ROWS_TAKE(&r, as_r, n_r);
	return 0;
}

static int audit_check_row(const struct db_row *st, void *ctx, struct error *err)
{
	struct catalog_audit *a = audit_make(st);
	int ret = audit_chain_check_next(ctx, a, err);

	catalog_audit_free(&a);
	return ret;
}

int catalog_audit_verify(struct catalog *c, int64_t *count_r, char **head_r, struct error *err)
{
	struct audit_chain_check ck;
	int64_t n;

	*count_r = 0;
	*head_r = NULL;
	audit_chain_check_init(&ck);
	/* One SELECT reads one snapshot, even while others append. */
	n = cat_run(c, "SELECT " AUDIT_COLS " FROM audit ORDER BY seq", NO_PARAMS, audit_check_row,
		    &ck, err);
	*count_r = ck.next - 1;
	if (n < 0)
		return error_prefix(err, "catalog: verify the audit log");
	*head_r = xstrdup(ck.prev);
	return 0;
}

void catalog_audit_free(struct catalog_audit **ap)
{
	struct catalog_audit *a = *ap;

	*ap = NULL;
	if (a == NULL)
		return;
	free(a->tenant);
	free(a->actor);
	free(a->action);
	free(a->target);
	free(a->detail);
	free(a->prev);
	free(a->hash);
	free(a);
}

/* ---- restore drills (docs/service.md "Restore drills") ---- */

#define DRILL_COLS                                                              \
	"tenant, unit, seq, state, started, finished, restore_point, slice, slices, " \
	"packs, bytes, samples, withheld, problems, detail"

static void *drill_make(const struct db_row *st)
{
	struct catalog_drill *d = xcalloc(1, sizeof(*d));

	d->tenant = col_text(st, 0);
	d->unit = col_text(st, 1);
	d->seq = col_int(st, 2);
	d->state = col_text(st, 3);
	d->started = col_int(st, 4);
	d->finished = col_int(st, 5);
	d->restore_point = col_int(st, 6);
	d->slice = col_int(st, 7);
	d->slices = col_int(st, 8);
	d->packs = col_int(st, 9);
	d->bytes = col_int(st, 10);
	d->samples = col_int(st, 11);
	d->withheld = col_int(st, 12);
	d->problems = col_int(st, 13);
	d->detail = col_text(st, 14);
	return d;
}

/* drill_make() and the unit's totals (catalog_drill_latest). */
static void *drill_total_make(const struct db_row *st)
{
	struct catalog_drill *d = drill_make(st);

	d->total = col_int(st, 15);
	d->failed_total = col_int(st, 16);
	d->packs_total = col_int(st, 17);
	d->bytes_total = col_int(st, 18);
	return d;
}

static void drill_free_v(void *p)
{
	struct catalog_drill *x = p;

	catalog_drill_free(&x);
}

static const struct record drill_rec = { drill_make, drill_free_v };
static const struct record drill_total_rec = { drill_total_make, drill_free_v };

int catalog_drill_next_seq(struct catalog *c, const char *tenant, const char *unit,
			   int64_t *seq_r, struct error *err)
{
	int64_t last = 0;

	if (cat_run(c, "SELECT COALESCE(MAX(seq), 0) FROM drills WHERE tenant = $1 AND unit = $2",
		    PARAMS(PS(tenant), PS(unit)), int64_row, &last, err) < 0)
		return error_prefix(err, "catalog: number the next drill of unit %s", unit);
	*seq_r = last + 1;
	return 0;
}

int catalog_drill_put(struct catalog *c, const struct catalog_drill *d, struct error *err)
{
	if (need(d->tenant, "drill tenant", err) < 0 || need(d->unit, "drill unit", err) < 0 ||
	    need(d->state, "drill state", err) < 0 ||
	    cat_run(c,
		    "INSERT INTO drills (" DRILL_COLS ") VALUES "
		    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
		    PARAMS(PS(d->tenant), PS(d->unit), PI(d->seq), PS(d->state), PI(d->started),
			   PI(d->finished), PI(d->restore_point), PI(d->slice), PI(d->slices),
			   PI(d->packs), PI(d->bytes), PI(d->samples), PI(d->withheld),
			   PI(d->problems), PS(d->detail)),
		    NULL, NULL, err) < 0)
		return error_prefix(err, "catalog: record drill %lld of unit %s",
				    (long long)d->seq, d->unit ? d->unit : "");
	return 0;
}

int catalog_drill_list(struct catalog *c, const char *tenant, const char *unit, int desc,
		       const struct catalog_page *pg, struct catalog_drill ***ds_r, size_t *n_r,
		       struct error *err)
{
	int64_t after;
	struct rows r;

	if (page_after_num(pg, &after, err) < 0)
		return -1;
	if (db_list(c, &drill_rec,
		    desc ? "SELECT " DRILL_COLS " FROM drills WHERE tenant = $1 AND unit = $2"
			   " AND ($3 < 0 OR seq < $3) ORDER BY seq DESC LIMIT $4"
			 : "SELECT " DRILL_COLS " FROM drills WHERE tenant = $1 AND unit = $2"
			   " AND seq > $3 ORDER BY seq LIMIT $4",
		    PARAMS(PS(tenant), PS(unit), PI(after), PI(page_limit(pg))), &r, err) < 0)
		return error_prefix(err, "catalog: list the drills of unit %s", unit);
	ROWS_TAKE(&r, ds_r, n_r);
	return 0;
}

int catalog_drill_latest(struct catalog *c, const char *tenant, const char *unit,
			 struct catalog_drill ***ds_r, size_t *n_r, struct error *err)
{
	struct rows r;

	/* One GROUP BY for the totals, joined to each unit's newest row. */
	if (db_list(c, &drill_total_rec,
		    "SELECT d.tenant, d.unit, d.seq, d.state, d.started, d.finished,"
		    " d.restore_point, d.slice, d.slices, d.packs, d.bytes, d.samples, d.withheld,"
		    " d.problems, d.detail, t.n, t.failed, t.packs, t.bytes FROM drills d JOIN"
		    " (SELECT unit, COUNT(*) AS n,"
		    " SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END) AS failed,"
		    " SUM(packs) AS packs, SUM(bytes) AS bytes, MAX(seq) AS last FROM drills"
		    " WHERE tenant = $1 AND ($2 IS NULL OR unit = $2) GROUP BY unit) t"
		    " ON d.unit = t.unit AND d.seq = t.last WHERE d.tenant = $1 ORDER BY d.unit",
		    PARAMS(PS(tenant), PS(unit)), &r, err) < 0)
		return error_prefix(err, "catalog: the last drills of tenant %s", tenant);
	ROWS_TAKE(&r, ds_r, n_r);
	return 0;
}

void catalog_drill_free(struct catalog_drill **dp)
{
	struct catalog_drill *d = *dp;

	*dp = NULL;
	if (d == NULL)
		return;
	free(d->tenant);
	free(d->unit);
	free(d->state);
	free(d->detail);
	free(d);
}

/* ---- privacy: deletion certificates and a tenant's purge (docs/privacy.md 7, 8) ---- */

#define CERT_COLS "id, tenant, subject, created, body"

static void *cert_make(const struct db_row *st)
{
	struct catalog_certificate *x = xcalloc(1, sizeof(*x));

	x->id = col_text(st, 0);
	x->tenant = col_text(st, 1);
	x->subject = col_text(st, 2);
	x->created = col_int(st, 3);
	x->body = col_text(st, 4);
	return x;
}

static void cert_free_v(void *p)
{
	struct catalog_certificate *x = p;

	catalog_certificate_free(&x);
}

static const struct record cert_rec = { cert_make, cert_free_v };

int catalog_certificate_put(struct catalog *c, const struct catalog_certificate *x,
			    struct error *err)
{
	if (need(x->id, "certificate id", err) < 0 || need(x->body, "certificate body", err) < 0 ||
	    cat_run(c, "INSERT INTO deletion_certificates (" CERT_COLS ")"
		    " VALUES ($1, $2, $3, $4, $5)",
		    PARAMS(PS(x->id), PS(x->tenant), PS(x->subject), PI(x->created), PS(x->body)),
		    NULL, NULL, err) < 0)
		return error_prefix(err, "catalog: store deletion certificate %s",
				    x->id ? x->id : "");
	return 0;
}

int catalog_certificate_get(struct catalog *c, const char *tenant, const char *id,
			    struct catalog_certificate **x_r, struct error *err)
{
	*x_r = db_get(c, &cert_rec,
		      "SELECT " CERT_COLS " FROM deletion_certificates WHERE tenant = $1 AND id = $2",
		      PARAMS(PS(tenant), PS(id)), "deletion certificate", err);
	return *x_r ? 0 : -1;
}

int catalog_certificate_list(struct catalog *c, const char *tenant, const struct catalog_page *pg,
			     struct catalog_certificate ***xs_r, size_t *n_r, struct error *err)
{
	struct rows r;

	if (db_list(c, &cert_rec,
		    "SELECT " CERT_COLS " FROM deletion_certificates WHERE tenant = $1 AND id > $2"
		    " ORDER BY id LIMIT $3",
		    PARAMS(PS(tenant), PS(page_after_id(pg)), PI(page_limit(pg))), &r, err) < 0)
		return error_prefix(err, "catalog: list deletion certificates");
	ROWS_TAKE(&r, xs_r, n_r);
	return 0;
}

void catalog_certificate_free(struct catalog_certificate **xp)
{
	struct catalog_certificate *x = *xp;

	*xp = NULL;
	if (x == NULL)
		return;
	free(x->id);
	free(x->tenant);
	free(x->subject);
	free(x->body);
	free(x);
}

int catalog_tenant_purge(struct catalog *c, const char *id, struct error *err)
{
	/* Children before parents (foreign keys). */
	static const char *const sql[] = {
		"DELETE FROM artifacts WHERE tenant = $1",
		"DELETE FROM jobs WHERE tenant = $1",
		"DELETE FROM sessions WHERE tenant = $1",
		"DELETE FROM restore_points WHERE tenant = $1",
		"DELETE FROM store_deletions WHERE tenant = $1",
		"DELETE FROM drills WHERE tenant = $1",
		"DELETE FROM erasures WHERE tenant = $1",
		"DELETE FROM units WHERE tenant = $1",
		"DELETE FROM policies WHERE tenant = $1",
		"DELETE FROM tokens WHERE tenant = $1",
		"DELETE FROM tenants WHERE id = $1",
	};

	if (tx_begin(c, err) < 0)
		return error_prefix(err, "catalog: purge tenant %s", id);
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if (db_run(c->db, sql[i], PARAMS(PS(id)), NULL, NULL, err) < 0) {
			tx_rollback(c);
			return error_prefix(err, "catalog: purge tenant %s", id);
		}
	}
	if (tx_commit(c, err) < 0)
		return error_prefix(err, "catalog: purge tenant %s", id);
	return 0;
}
