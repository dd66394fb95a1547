#ifndef COFFER_CATALOG_DB_H
#define COFFER_CATALOG_DB_H

/* The catalog's statement layer (private to src/catalog): one small
 * interface over each database the catalog runs on, so that catalog.c
 * holds every query once (docs/service.md "Catalog").
 *
 * Drivers: db_sqlite.c (a path, or "sqlite:PATH") and db_pg.c (a libpq
 * connection URI, "postgresql://..." or "postgres://..."). SQL is written
 * once, with parameters $1, $2 ... (a number may repeat); where the two
 * dialects differ, the caller asks db_dialect() and says why in a comment.
 *
 * A struct db is one connection and is NOT thread-safe: the catalog
 * serializes its use with its own mutex. Errors carry the kinds of
 * lib/error.h: ERROR_EXISTS (a unique key is taken), ERROR_NOTFOUND (a
 * foreign key names no row), ERROR_USAGE (a CHECK or NOT NULL refused the
 * value), ERROR_FAIL (anything else, with the database's own message). */

#include <stddef.h>
#include <stdint.h>

struct error;
struct db;
struct db_row;

enum db_dialect { DB_SQLITE = 1, DB_POSTGRES };

enum db_param_type { DB_TEXT, DB_INT };

/* One bound value: text (NULL binds SQL NULL) or a 64-bit integer. Values
 * are always bound, never formatted into SQL. In PostgreSQL they are
 * typed text and bigint. */
struct db_param {
	enum db_param_type type;
	const char *s;
	int64_t i;
};

/* Called for each result row: 0 goes on, > 0 stops without error, < 0
 * stops with err filled. */
typedef int db_row_fn(const struct db_row *row, void *ctx, struct error *err);

/* Opens a connection: a libpq URI (postgresql:// or postgres://) is
 * PostgreSQL; "sqlite:PATH" or a plain PATH is SQLite (created if
 * absent); another scheme is ERROR_USAGE naming it. A failed connection
 * names the file, or the PostgreSQL host and database (never the
 * password), and the library's message. */
struct db *db_open(const char *url, struct error *err);
void db_close(struct db **db);
enum db_dialect db_dialect(const struct db *db);
/* What messages call the database: the file, or "postgresql HOST:PORT/DB". */
const char *db_name(const struct db *db);

/* Runs one statement with np parameters, calling each() (if not NULL) per
 * result row. Returns the rows read, or, for a statement without a result
 * set, the rows it changed; -1 on failure. */
int64_t db_run(struct db *db, const char *sql, const struct db_param *p, size_t np,
	       db_row_fn *each, void *ctx, struct error *err);
/* Runs a script of statements without parameters (a migration step). */
int db_exec_script(struct db *db, const char *sql, struct error *err);

/* A transaction. SQLite: BEGIN IMMEDIATE (the write lock at once, so a
 * read-then-write cannot be overtaken by another process). PostgreSQL:
 * BEGIN (READ COMMITTED); callers that read then write take a lock (an
 * advisory lock or FOR UPDATE) as catalog.c does. db_rollback() is safe to
 * call when no transaction is open or the connection is gone. */
int db_begin(struct db *db, struct error *err);
int db_commit(struct db *db, struct error *err);
void db_rollback(struct db *db);

/* Columns of the row being read, from 0. db_col_text: a copy (NULL for
 * SQL NULL) the caller frees; db_col_int: 0 for SQL NULL. */
char *db_col_text(const struct db_row *row, int i);
int64_t db_col_int(const struct db_row *row, int i);

/* ---- for the drivers only (db.c dispatches through these) ---- */
struct db_ops {
	void (*close)(struct db *db);
	int64_t (*run)(struct db *db, const char *sql, const struct db_param *p, size_t np,
		       db_row_fn *each, void *ctx, struct error *err);
	int (*exec_script)(struct db *db, const char *sql, struct error *err);
	int (*begin)(struct db *db, struct error *err);
	int (*commit)(struct db *db, struct error *err);
	void (*rollback)(struct db *db);
	/* A column of the row: the text (NULL for SQL NULL), valid until
	 * the next row. */
	const char *(*col)(const struct db_row *row, int i);
	int64_t (*col_int)(const struct db_row *row, int i);
};

/* Each driver's connection starts with this. */
struct db {
	const struct db_ops *ops;
	enum db_dialect dialect;
	char *name;
};

/* A row handed to a row callback: the driver's statement or result and
 * the row's number in it. */
struct db_row {
	const struct db *db;
	void *h;
	int n;
};

struct db *db_sqlite_open(const char *path, struct error *err);
struct db *db_pg_open(const char *url, struct error *err);

#endif
