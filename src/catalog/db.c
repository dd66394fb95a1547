/* The statement layer's entry points (db.h): which driver a URL names,
 * and calls through the driver's table. */
#include "catalog/db.h"

#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/mem.h"

struct db *db_open(const char *url, struct error *err)
{
	const char *colon = strchr(url, ':');
	const char *slash = strchr(url, '/');

	if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
		return db_pg_open(url, err);
	if (strncmp(url, "sqlite:", 7) == 0)
		url += 7;
	else if (colon != NULL && (slash == NULL || colon < slash) && strstr(url, "://") != NULL) {
		/* scheme://...: not a file name, and not one we know. */
		/* Only the scheme: the rest may hold a password. */
		error_setk(err, ERROR_USAGE,
			   "catalog url of unknown scheme '%.*s://' (known: a file path, "
			   "sqlite:PATH, postgresql://, postgres://)",
			   (int)(colon - url), url);
		return NULL;
	}
	if (url[0] == '\0') {
		error_setk(err, ERROR_USAGE, "catalog url names no file");
		return NULL;
	}
	return db_sqlite_open(url, err);
}

void db_close(struct db **dbp)
{
	struct db *db = *dbp;

	*dbp = NULL;
	if (db != NULL)
		db->ops->close(db);
}

enum db_dialect db_dialect(const struct db *db) { return db->dialect; }

const char *db_name(const struct db *db) { return db->name; }

int64_t db_run(struct db *db, const char *sql, const struct db_param *p, size_t np,
	       db_row_fn *each, void *ctx, struct error *err)
{
	return db->ops->run(db, sql, p, np, each, ctx, err);
}

int db_exec_script(struct db *db, const char *sql, struct error *err)
{
	return db->ops->exec_script(db, sql, err);
}

int db_begin(struct db *db, struct error *err) { return db->ops->begin(db, err); }

int db_commit(struct db *db, struct error *err) { return db->ops->commit(db, err); }

void db_rollback(struct db *db) { db->ops->rollback(db); }

char *db_col_text(const struct db_row *row, int i)
{
	const char *s = row->db->ops->col(row, i);

	return s == NULL ? NULL : xstrdup(s);
}

int64_t db_col_int(const struct db_row *row, int i) { return row->db->ops->col_int(row, i); }
