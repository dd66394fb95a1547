/* The SQLite driver of the catalog's statement layer (db.h). One
 * connection in WAL mode with foreign keys on; $N parameters are bound by
 * name, so a number may repeat and come in any order. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/db.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/mem.h"

#define BUSY_MS 30000 /* how long to wait for another writer */

struct db_sqlite {
	struct db db; /* first: a struct db * is a struct db_sqlite * */
	sqlite3 *h;
};

static sqlite3 *handle(struct db *db) { return ((struct db_sqlite *)db)->h; }

static int fail(struct db *db, int rc, struct error *err)
{
	const char *msg = sqlite3_errmsg(handle(db));

	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return error_setk(err, ERROR_EXISTS, "already exists (%s)", msg);
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return error_setk(err, ERROR_NOTFOUND, "refers to a record that does not exist (%s)",
				  msg);
	case SQLITE_CONSTRAINT_CHECK:
	case SQLITE_CONSTRAINT_NOTNULL:
		return error_setk(err, ERROR_USAGE, "invalid value (%s)", msg);
	default:
		return error_set(err, "%s (sqlite error %d)", msg, rc);
	}
}

static int bind(struct db *db, sqlite3_stmt *st, const struct db_param *p, size_t np,
		struct error *err)
{
	char name[24];
	size_t i;
	int idx, rc;

	if ((size_t)sqlite3_bind_parameter_count(st) != np)
		return error_set(err, "internal: statement takes %d parameters, given %zu",
				 sqlite3_bind_parameter_count(st), np);
	for (i = 0; i < np; i++) {
		snprintf(name, sizeof(name), "$%zu", i + 1);
		idx = sqlite3_bind_parameter_index(st, name);
		if (idx == 0)
			return error_set(err, "internal: statement has no parameter %s", name);
		if (p[i].type == DB_INT)
			rc = sqlite3_bind_int64(st, idx, p[i].i);
		else if (p[i].s == NULL)
			rc = sqlite3_bind_null(st, idx);
		else
			rc = sqlite3_bind_text(st, idx, p[i].s, -1, SQLITE_STATIC);
		if (rc != SQLITE_OK)
			return fail(db, rc, err);
	}
	return 0;
}

static int64_t sq_run(struct db *db, const char *sql, const struct db_param *p, size_t np,
		      db_row_fn *each, void *ctx, struct error *err)
{
	sqlite3 *h = handle(db);
	sqlite3_stmt *st = NULL;
	struct db_row row = { .db = db };
	int64_t nrows = 0, ret = -1;
	int rc;

	rc = sqlite3_prepare_v2(h, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		fail(db, rc, err);
		goto out;
	}
	if (bind(db, st, p, np, err) < 0)
		goto out;
	row.h = st;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int more;

		nrows++;
		if (each == NULL)
			continue;
		more = each(&row, ctx, err);
		if (more < 0)
			goto out;
		if (more > 0)
			break;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fail(db, rc, err);
		goto out;
	}
	ret = nrows > 0 || sqlite3_column_count(st) > 0 ? nrows : sqlite3_changes(h);
out:
	sqlite3_finalize(st);
	return ret;
}

static int sq_exec_script(struct db *db, const char *sql, struct error *err)
{
	if (sqlite3_exec(handle(db), sql, NULL, NULL, NULL) != SQLITE_OK)
		return error_set(err, "%s", sqlite3_errmsg(handle(db)));
	return 0;
}

static int sq_exec(struct db *db, const char *sql, struct error *err)
{
	return sq_run(db, sql, NULL, 0, NULL, NULL, err) < 0 ? -1 : 0;
}

/* IMMEDIATE takes the write lock at once, so a read-then-write cannot be
 * overtaken by another connection (SQLite's dialect; PostgreSQL's BEGIN
 * is plain and its callers lock what they read). */
static int sq_begin(struct db *db, struct error *err) { return sq_exec(db, "BEGIN IMMEDIATE", err); }

static int sq_commit(struct db *db, struct error *err) { return sq_exec(db, "COMMIT", err); }

static void sq_rollback(struct db *db)
{
	struct error ignored;

	if (!sqlite3_get_autocommit(handle(db)))
		sq_exec(db, "ROLLBACK", &ignored);
}

static const char *sq_col(const struct db_row *row, int i)
{
	return (const char *)sqlite3_column_text(row->h, i);
}

static int64_t sq_col_int(const struct db_row *row, int i)
{
	return sqlite3_column_int64(row->h, i);
}

static void sq_close(struct db *db)
{
	sqlite3_close(handle(db));
	free(db->name);
	free(db);
}

static const struct db_ops sqlite_ops = {
	.close = sq_close,
	.run = sq_run,
	.exec_script = sq_exec_script,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.col = sq_col,
	.col_int = sq_col_int,
};

static int text_row(const struct db_row *row, void *ctx, struct error *err)
{
	const char *s = sq_col(row, 0);

	(void)err;
	snprintf(ctx, 16, "%s", s ? s : "");
	return 1;
}

struct db *db_sqlite_open(const char *path, struct error *err)
{
	struct db_sqlite *d = xcalloc(1, sizeof(*d));
	struct db *db = &d->db;
	char mode[16] = "";
	int rc;

	db->ops = &sqlite_ops;
	db->dialect = DB_SQLITE;
	db->name = xstrdup(path);
	/* NOMUTEX: the catalog's own mutex serializes use of the connection. */
	rc = sqlite3_open_v2(path, &d->h,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		error_set(err, "open catalog %s failed: %s", path,
			  d->h ? sqlite3_errmsg(d->h) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(d->h, 1);
	sqlite3_busy_timeout(d->h, BUSY_MS);
	if (sq_exec(db, "PRAGMA foreign_keys = ON", err) < 0)
		goto fail_named;
	/* WAL lets readers (API requests) go on while a job writes. */
	if (sq_run(db, "PRAGMA journal_mode = WAL", NULL, 0, text_row, mode, err) < 0)
		goto fail_named;
	if (strcmp(mode, "wal") != 0)
		log_warn("catalog %s: journal mode is '%s', not WAL (does the file system "
			 "support shared memory?)",
			 path, mode);
	return db;
fail_named:
	error_prefix(err, "open catalog %s", path);
fail:
	sq_close(db);
	return NULL;
}
