/* The PostgreSQL driver of the catalog's statement layer (db.h), over
 * libpq. One connection; parameters are sent apart from the SQL, typed
 * bigint or text, so "$1 IS NULL OR x = $1" needs no cast.
 *
 * A lost connection (the server restarted) does not end the process: the
 * statement that met it fails naming the catalog, and the next call
 * reconnects (PQreset). A BEGIN that finds the connection gone is retried
 * once on the new one, as it has done nothing yet; any other statement is
 * not, since it may have taken effect before the connection broke. */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/db.h"
#include "lib/error.h"
#include "lib/log.h"
#include "lib/mem.h"

#define PG_INT8OID 20 /* bigint (pg_type.h's INT8OID) */
#define PG_TEXTOID 25 /* text */
#define CONNECT_TIMEOUT_S "10"

struct db_pg {
	struct db db; /* first: a struct db * is a struct db_pg * */
	PGconn *conn;
	int in_tx; /* between our BEGIN and its COMMIT or ROLLBACK */
};

static PGconn *conn_of(struct db *db) { return ((struct db_pg *)db)->conn; }

/* libpq's message on one line: its newlines and tabs as single spaces,
 * none at the end. */
static void trimmed(char *out, size_t size, const char *msg)
{
	size_t n = 0;

	if (msg == NULL || *msg == '\0')
		msg = "no message";
	for (; *msg != '\0' && n + 1 < size; msg++) {
		char ch = *msg == '\n' || *msg == '\t' ? ' ' : *msg;

		if (ch == ' ' && (n == 0 || out[n - 1] == ' '))
			continue;
		out[n++] = ch;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

/* The connection is gone: say so, naming the catalog. */
static int lost(struct db *db, struct error *err)
{
	char msg[512];

	trimmed(msg, sizeof(msg), PQerrorMessage(conn_of(db)));
	return error_set(err,
			 "the connection to catalog %s is lost (%s); the next call reconnects",
			 db->name, msg);
}

/* Reconnects if the connection is gone. Never inside a transaction: that
 * one is gone with the connection, and a statement of it must not run
 * outside it; its caller rolls back, and the next call reconnects. */
static int ensure(struct db *db, struct error *err)
{
	PGconn *conn = conn_of(db);
	char msg[512];

	if (PQstatus(conn) == CONNECTION_OK)
		return 0;
	if (((struct db_pg *)db)->in_tx)
		return lost(db, err);
	PQreset(conn);
	if (PQstatus(conn) == CONNECTION_OK) {
		log_info("catalog %s: reconnected", db->name);
		return 0;
	}
	trimmed(msg, sizeof(msg), PQerrorMessage(conn));
	return error_set(err, "cannot reconnect to catalog %s: %s", db->name, msg);
}

static int fail(struct db *db, const PGresult *res, struct error *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char msg[512];

	if (PQstatus(conn_of(db)) != CONNECTION_OK)
		return lost(db, err);
	trimmed(msg, sizeof(msg), primary ? primary : PQerrorMessage(conn_of(db)));
	if (state == NULL)
		return error_set(err, "%s (postgresql)", msg);
	if (strcmp(state, "23505") == 0) /* unique_violation */
		return error_setk(err, ERROR_EXISTS, "already exists (%s)", msg);
	if (strcmp(state, "23503") == 0) /* foreign_key_violation */
		return error_setk(err, ERROR_NOTFOUND, "refers to a record that does not exist (%s)",
				  msg);
	if (strcmp(state, "23514") == 0 || strcmp(state, "23502") == 0) /* check, not null */
		return error_setk(err, ERROR_USAGE, "invalid value (%s)", msg);
	return error_set(err, "%s (postgresql error %s)", msg, state);
}

static int64_t pg_run(struct db *db, const char *sql, const struct db_param *p, size_t np,
		      db_row_fn *each, void *ctx, struct error *err)
{
	const char **values = NULL;
	unsigned int *types = NULL;
	char (*nums)[24] = NULL;
	struct db_row row = { .db = db };
	PGresult *res = NULL;
	int64_t ret = -1;
	size_t i;

	if (np > 0xffff) {
		error_set(err, "internal: %zu parameters", np);
		return -1;
	}
	if (ensure(db, err) < 0)
		return -1;
	if (np > 0) {
		values = xcalloc(np, sizeof(*values));
		types = xcalloc(np, sizeof(*types));
		nums = xcalloc(np, sizeof(*nums));
	}
	for (i = 0; i < np; i++) {
		if (p[i].type == DB_INT) {
			snprintf(nums[i], sizeof(nums[i]), "%" PRId64, p[i].i);
			values[i] = nums[i];
			types[i] = PG_INT8OID;
		} else {
			values[i] = p[i].s; /* NULL: SQL NULL */
			types[i] = PG_TEXTOID;
		}
	}
	res = PQexecParams(conn_of(db), sql, (int)np, types, values, NULL, NULL, 0);
	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK: {
		int n = PQntuples(res);

		row.h = res;
		ret = n;
		for (row.n = 0; each != NULL && row.n < n; row.n++) {
			int more = each(&row, ctx, err);

			if (more < 0) {
				ret = -1;
				break;
			}
			if (more > 0)
				break;
		}
		break;
	}
	case PGRES_COMMAND_OK: {
		const char *t = PQcmdTuples(res);

		ret = t && *t ? strtoll(t, NULL, 10) : 0;
		break;
	}
	default:
		fail(db, res, err);
		break;
	}
	PQclear(res);
	free(values);
	free(types);
	free(nums);
	return ret;
}

/* A statement without parameters or rows (BEGIN, COMMIT, a script). */
static int simple(struct db *db, const char *sql, struct error *err)
{
	PGresult *res = PQexec(conn_of(db), sql);
	int ret = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		ret = fail(db, res, err);
	PQclear(res);
	return ret;
}

static int pg_exec_script(struct db *db, const char *sql, struct error *err)
{
	return simple(db, sql, err);
}

/* READ COMMITTED: callers lock what they read and then write (catalog.c's
 * advisory locks and FOR UPDATE). */
static int pg_begin(struct db *db, struct error *err)
{
	struct db_pg *d = (struct db_pg *)db;

	d->in_tx = 0;
	if (ensure(db, err) < 0)
		return -1;
	if (simple(db, "BEGIN", err) < 0) {
		if (PQstatus(d->conn) == CONNECTION_OK)
			return -1;
		/* Gone since the last call (the server restarted): BEGIN did
		 * nothing, so try it once on a new connection. */
		if (ensure(db, err) < 0 || simple(db, "BEGIN", err) < 0)
			return -1;
	}
	d->in_tx = 1;
	return 0;
}

static int pg_commit(struct db *db, struct error *err)
{
	PGresult *res = PQexec(conn_of(db), "COMMIT");
	int ret = 0;

	((struct db_pg *)db)->in_tx = 0;
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		ret = fail(db, res, err);
	else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
		/* A transaction that had failed ends in ROLLBACK. */
		ret = error_set(err, "the transaction was rolled back (%s)", PQcmdStatus(res));
	PQclear(res);
	return ret;
}

static void pg_rollback(struct db *db)
{
	PGTransactionStatusType ts = PQtransactionStatus(conn_of(db));
	struct error ignored;

	((struct db_pg *)db)->in_tx = 0;
	if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
		simple(db, "ROLLBACK", &ignored);
}

static const char *pg_col(const struct db_row *row, int i)
{
	if (PQgetisnull(row->h, row->n, i))
		return NULL;
	return PQgetvalue(row->h, row->n, i);
}

static int64_t pg_col_int(const struct db_row *row, int i)
{
	const char *s = pg_col(row, i);

	return s == NULL ? 0 : strtoll(s, NULL, 10);
}

static void pg_close(struct db *db)
{
	PQfinish(conn_of(db));
	free(db->name);
	free(db);
}

static const struct db_ops pg_ops = {
	.close = pg_close,
	.run = pg_run,
	.exec_script = pg_exec_script,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.col = pg_col,
	.col_int = pg_col_int,
};

/* Notices ("relation already exists, skipping") are not news. */
static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* "postgresql HOST:PORT/DB" from the URI, without user or password. */
static char *pg_name(const char *url)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL), *o;
	const char *host = NULL, *port = NULL, *dbname = NULL;
	char *name;

	for (o = opts; o != NULL && o->keyword != NULL; o++) {
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "host") == 0 || (host == NULL && strcmp(o->keyword,
									   "hostaddr") == 0))
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			dbname = o->val;
	}
	name = xasprintf("postgresql %s%s%s/%s", host ? host : "localhost", port ? ":" : "",
			 port ? port : "", dbname ? dbname : "(default database)");
	PQconninfoFree(opts);
	return name;
}

struct db *db_pg_open(const char *url, struct error *err)
{
	/* Ours first: the URI's own settings, expanded from dbname, win. */
	static const char *const keys[] = { "connect_timeout", "application_name", "dbname",
					    NULL };
	const char *vals[] = { CONNECT_TIMEOUT_S, "coffer", url, NULL };
	struct db_pg *d = xcalloc(1, sizeof(*d));
	struct db *db = &d->db;
	char *errmsg = NULL;
	PQconninfoOption *check;
	char msg[512];

	db->ops = &pg_ops;
	db->dialect = DB_POSTGRES;
	check = PQconninfoParse(url, &errmsg);
	if (check == NULL) {
		trimmed(msg, sizeof(msg), errmsg);
		PQfreemem(errmsg);
		/* The URI itself may hold a password: not repeated. */
		error_setk(err, ERROR_USAGE, "catalog url is not a valid PostgreSQL URI: %s", msg);
		free(d);
		return NULL;
	}
	PQconninfoFree(check);
	db->name = pg_name(url);
	d->conn = PQconnectdbParams(keys, vals, 1);
	if (d->conn == NULL) {
		error_set(err, "connect to catalog %s failed: out of memory", db->name);
		goto fail;
	}
	PQsetNoticeProcessor(d->conn, quiet, NULL);
	if (PQstatus(d->conn) != CONNECTION_OK) {
		trimmed(msg, sizeof(msg), PQerrorMessage(d->conn));
		error_set(err, "connect to catalog %s failed: %s", db->name, msg);
		goto fail;
	}
	return db;
fail:
	pg_close(db);
	return NULL;
}
