/* The mail search index: an SQLite FTS5 database (docs/mail.md section 5).
 * Indexing reads a restore point's metadata stream, parses only messages
 * whose key is new, and records occurrences as ranges of restore points.
 * Every value from a user or a message is bound, never spliced into SQL. */
#include "engine/mailindex.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "engine/erasure.h"
#include "engine/maillayout.h"
#include "engine/mailparse.h"
#include "engine/mailtok.h"
#include "engine/meta.h"
#include "engine/tree.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "lib/mutf7.h"
#include "store/index.h"
#include "store/pack.h"
#include "store/rp.h"
#include "store/store.h"

#define BATCH 256
#define BUSY_MS 30000
#define LIMIT_DEFAULT 50
#define LIMIT_MAX 10000
#define SNIPPET_CHARS 160
/* Message ids: date (seconds, clamped to 0..MAILINDEX_DATE_MAX) << 20 | n. */
#define MAILINDEX_ID_SHIFT 20
#define MAILINDEX_DATE_MAX (((int64_t)1 << 42) - 1)
/* Characters of the body searched for the snippet's words. */
#define SNIPPET_SCAN 65536

enum {
	ST_MSG_FIND,
	ST_MSG_ADD,
	ST_MSG_FREE_ID,
	ST_FTS_ADD,
	ST_FOLDER_FIND,
	ST_FOLDER_ADD,
	ST_RP_HAS,
	ST_CUR_ADD,
	ST_PLACES,
	ST_SEQS,
	ST_BODY_START,
	ST_ADDR_ADD,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_MSG_FIND] = "SELECT id FROM msg WHERE mkey = ?1",
	[ST_MSG_ADD] = "INSERT INTO msg(mkey, date, has_att, sender, recipients, subject, size, "
		       "error, id) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
		       "ON CONFLICT(mkey) DO NOTHING",
	[ST_MSG_FREE_ID] = "SELECT coalesce(max(id) + 1, ?1) FROM msg WHERE id >= ?1 AND id < ?2",
	[ST_FTS_ADD] = "INSERT INTO msg_fts(rowid, sender, recipients, subject, attachments, body) "
		       "VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_FOLDER_FIND] = "SELECT id FROM folder WHERE unit = ?1 AND path = ?2 AND name = ?3",
	[ST_FOLDER_ADD] = "INSERT INTO folder(unit, path, name, uname) VALUES(?1, ?2, ?3, ?4) "
			  "ON CONFLICT DO NOTHING",
	[ST_RP_HAS] = "SELECT 1 FROM rp WHERE unit = ?1 AND seq = ?2",
	[ST_CUR_ADD] = "INSERT INTO temp.cur(msg, folder, uid, flags, idate, tz) "
		       "VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_PLACES] = "SELECT o.unit, f.name, f.uname, f.path, o.uid, o.flags, o.idate, o.tz, "
		      "o.first, o.last FROM occ o JOIN folder f ON f.id = o.folder "
		      "WHERE o.msg = ?1 ORDER BY o.unit, f.path, f.name, o.uid, o.flags, o.first",
	[ST_SEQS] = "SELECT seq FROM rp WHERE unit = ?1 AND seq BETWEEN ?2 AND ?3 ORDER BY seq",
	[ST_BODY_START] = "SELECT substr(body, 1, ?2) FROM msg_fts WHERE rowid = ?1",
	[ST_ADDR_ADD] = "INSERT OR IGNORE INTO addr(addr, msg) VALUES(?1, ?2)",
};

static const char schema[] =
	"CREATE TABLE msg(id INTEGER PRIMARY KEY, mkey BLOB NOT NULL UNIQUE, "
	"  date INTEGER NOT NULL, has_att INTEGER NOT NULL, sender TEXT NOT NULL, "
	"  recipients TEXT NOT NULL, subject TEXT NOT NULL, size INTEGER NOT NULL, error TEXT);"
	"CREATE VIRTUAL TABLE msg_fts USING fts5(sender, recipients, subject, attachments, body, "
	"  tokenize = '" MAILTOK_NAME " remove_diacritics 2');"
	"CREATE TABLE folder(id INTEGER PRIMARY KEY, unit TEXT NOT NULL, path TEXT NOT NULL, "
	"  name TEXT NOT NULL, uname TEXT NOT NULL, UNIQUE(unit, path, name));"
	"CREATE TABLE rp(unit TEXT NOT NULL, seq INTEGER NOT NULL, time INTEGER NOT NULL, "
	"  messages INTEGER NOT NULL, PRIMARY KEY(unit, seq)) WITHOUT ROWID;"
	"CREATE TABLE occ(msg INTEGER NOT NULL, unit TEXT NOT NULL, folder INTEGER NOT NULL, "
	"  uid INTEGER NOT NULL, flags TEXT NOT NULL, idate INTEGER NOT NULL, tz TEXT NOT NULL, "
	"  first INTEGER NOT NULL, last INTEGER NOT NULL);"
	"CREATE INDEX occ_msg ON occ(msg, unit, last);"
	"CREATE INDEX occ_unit ON occ(unit, last);"
	/* Version 2: the addresses of each message, for exact lookups (data-
	 * subject requests); they leave with their message, however it goes. */
	"CREATE TABLE addr(addr TEXT NOT NULL, msg INTEGER NOT NULL, PRIMARY KEY(addr, msg)) "
	"  WITHOUT ROWID;"
	"CREATE INDEX addr_msg ON addr(msg);"
	"CREATE TRIGGER msg_addr_gone AFTER DELETE ON msg BEGIN "
	"  DELETE FROM addr WHERE msg = old.id; END;"
	"PRAGMA user_version = 3;";

/* Every table of any version, dropped when an older index is emptied. */
static const char drop_all[] =
	"DROP TRIGGER IF EXISTS msg_addr_gone; DROP TABLE IF EXISTS addr;"
	"DROP TABLE IF EXISTS msg_fts; DROP TABLE IF EXISTS occ; DROP TABLE IF EXISTS rp;"
	"DROP TABLE IF EXISTS folder; DROP TABLE IF EXISTS msg; PRAGMA user_version = 0;";

struct mailindex {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *st[ST_COUNT];
	fts5_api *fts;
	fts5_tokenizer tok;
	Fts5Tokenizer *tokenizer;
};

static int db_error(struct mailindex *mi, struct error *err, const char *what)
{
	return error_set(err, "mail index %s: %s failed: %s", mi->path, what,
			 sqlite3_errmsg(mi->db));
}

static int exec(struct mailindex *mi, const char *sql, struct error *err)
{
	char *msg = NULL;

	if (sqlite3_exec(mi->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		error_set(err, "mail index %s: %s", mi->path, msg ? msg : sqlite3_errmsg(mi->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* A cached statement, reset and unbound. */
static sqlite3_stmt *stmt(struct mailindex *mi, int which)
{
	sqlite3_stmt *s = mi->st[which];

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_TRANSIENT);
}

static char *col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return xstrdup(t ? (const char *)t : "");
}

/* The FTS5 tokenizer the index uses (registered on this connection by
 * db_open), to tell whether a word has tokens and to find snippets. */
static int tokenizer_open(struct mailindex *mi, struct error *err)
{
	static const char *args[] = { "remove_diacritics", "2" };
	sqlite3_stmt *s;
	void *ud = NULL;

	if (sqlite3_prepare_v2(mi->db, "SELECT fts5(?1)", -1, &s, NULL) != SQLITE_OK)
		return db_error(mi, err, "finding FTS5");
	sqlite3_bind_pointer(s, 1, &mi->fts, "fts5_api_ptr", NULL);
	sqlite3_step(s);
	sqlite3_finalize(s);
	if (mi->fts == NULL || mi->fts->iVersion < 2 ||
	    mi->fts->xFindTokenizer(mi->fts, MAILTOK_NAME, &ud, &mi->tok) != SQLITE_OK ||
	    mi->tok.xCreate(ud, args, 2, &mi->tokenizer) != SQLITE_OK)
		return error_set(err, "mail index %s: SQLite lacks FTS5's unicode61 tokenizer",
				 mi->path);
	return 0;
}

static int schema_read(struct mailindex *mi, int *version_r, int *tables_r, struct error *err)
{
	sqlite3_stmt *s;

	*version_r = -1;
	*tables_r = 0;
	if (sqlite3_prepare_v2(mi->db, "SELECT (SELECT user_version FROM pragma_user_version), "
			       "(SELECT count(*) FROM sqlite_schema)", -1, &s, NULL) != SQLITE_OK)
		return db_error(mi, err, "reading the format version");
	if (sqlite3_step(s) == SQLITE_ROW) {
		*version_r = sqlite3_column_int(s, 0);
		*tables_r = sqlite3_column_int(s, 1);
	}
	sqlite3_finalize(s);
	return 0;
}

/* Creates the tables of a new, empty index, or of one of an older version
 * after dropping its tables (the index is a cache: indexing fills it again
 * from the store). Two processes may open it at once: the version is
 * checked again under the write lock, so only the first does it. */
static int schema_create(struct mailindex *mi, struct error *err)
{
	int version, tables, renew;

	if (exec(mi, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	if (schema_read(mi, &version, &tables, err) < 0)
		goto fail;
	renew = version > 0 && version < MAILINDEX_FORMAT;
	if ((renew && exec(mi, drop_all, err) < 0) ||
	    (((version == 0 && tables == 0) || renew) && exec(mi, schema, err) < 0) ||
	    exec(mi, "COMMIT", err) < 0)
		goto fail;
	/* The old file's text must not linger in free pages. */
	return renew ? exec(mi, "VACUUM", err) : 0;
fail:
	exec(mi, "ROLLBACK", err);
	return -1;
}

static int schema_check(struct mailindex *mi, struct error *err)
{
	int version, tables;

	if (schema_read(mi, &version, &tables, err) < 0)
		return -1;
	if (((version == 0 && tables == 0) || (version > 0 && version < MAILINDEX_FORMAT)) &&
	    (schema_create(mi, err) < 0 || schema_read(mi, &version, &tables, err) < 0))
		return -1;
	if (version != MAILINDEX_FORMAT)
		return error_setk(err, ERROR_VERSION, "mail index %s has format version %d, not %d: "
				  "delete it to rebuild it from the store", mi->path, version,
				  MAILINDEX_FORMAT);
	return 0;
}

/* Switches to WAL and creates or checks the tables. Two openers of a new
 * index at once would race on the journal mode (SQLite answers "database
 * is locked" there without waiting), so setting up is serialized across
 * threads and processes by an flock on the file (independent of SQLite's
 * own fcntl locks). */
static int db_setup(struct mailindex *mi, int fd, struct error *err)
{
	int ret;

	if (flock(fd, LOCK_EX) < 0)
		return error_sys(err, "cannot lock mail index %s", mi->path);
	ret = exec(mi, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;", err) < 0 ||
	      schema_check(mi, err) < 0 ? -1 : 0;
	flock(fd, LOCK_UN);
	return ret;
}

static int db_open(struct mailindex *mi, struct error *err)
{
	int fd, i, ret;

	/* The index holds plain text of mail: only the owner may read it. */
	fd = open(mi->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return error_sys(err, "cannot open mail index %s", mi->path);
	if (sqlite3_open_v2(mi->path, &mi->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		close(fd);
		return db_error(mi, err, "open");
	}
	/* Before any table is touched: msg_fts names this tokenizer. */
	if (mailtok_register(mi->db) != SQLITE_OK) {
		close(fd);
		return error_set(err, "mail index %s: SQLite lacks FTS5's unicode61 tokenizer",
				 mi->path);
	}
	sqlite3_busy_timeout(mi->db, BUSY_MS);
	ret = db_setup(mi, fd, err);
	close(fd);
	if (ret < 0 || tokenizer_open(mi, err) < 0 ||
	    exec(mi, "CREATE TEMP TABLE cur(msg INTEGER, folder INTEGER, uid INTEGER, "
		 "flags TEXT, idate INTEGER, tz TEXT);"
		 "CREATE INDEX temp.cur_msg ON cur(msg);", err) < 0)
		return -1;
	for (i = 0; i < ST_COUNT; i++)
		if (sqlite3_prepare_v3(mi->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &mi->st[i],
				       NULL) != SQLITE_OK)
			return db_error(mi, err, "preparing a statement");
	return 0;
}

struct mailindex *mailindex_open(const char *path, struct error *err)
{
	struct mailindex *mi = xcalloc(1, sizeof(*mi));

	mi->path = xstrdup(path);
	if (db_open(mi, err) < 0)
		mailindex_close(&mi);
	return mi;
}

void mailindex_close(struct mailindex **mip)
{
	struct mailindex *mi = *mip;
	int i;

	if (mi == NULL)
		return;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(mi->st[i]);
	if (mi->tokenizer)
		mi->tok.xDelete(mi->tokenizer);
	sqlite3_close(mi->db);
	free(mi->path);
	free(mi);
	*mip = NULL;
}

int mailindex_has_rp(struct mailindex *mi, const char *unit, uint32_t seq, struct error *err)
{
	sqlite3_stmt *s = stmt(mi, ST_RP_HAS);
	int rc;

	bind_text(s, 1, unit);
	sqlite3_bind_int64(s, 2, seq);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_error(mi, err, "looking up a restore point");
}

/* ---- indexing one restore point ---- */

struct folder_ref {
	char *path;
	int64_t id;
};

struct occ_rec {
	int64_t msg, folder, idate;
	uint32_t uid;
	char *flags, *tz;
};

struct scan {
	struct mailindex *mi;
	struct store_unit *u;
	const struct index *ix;
	struct pack_reader *pr;
	const char *unit;
	uint32_t seq;
	struct folder_ref *folders;
	size_t nfolders, last_folder;
	struct occ_rec *occ;
	size_t nocc, capocc;
	size_t pending; /* new messages in the open transaction */
	struct buf content;
	struct mailindex_stats *st;
	struct erasure_set *es; /* what the unit's erasure ledger withholds */
};

/* The string value of xattr `name` of e, or dflt; caller frees. */
static char *xattr_or(const struct meta_entry *e, const char *name, const char *dflt)
{
	char *v = meta_entry_xattr_str(e, name);

	return v ? v : xstrdup(dflt);
}

/* The folder row of a directory entry, created when new. */
static int folder_intern(struct scan *sc, const struct meta_entry *e, int64_t *id_r,
			 struct error *err)
{
	struct mailindex *mi = sc->mi;
	char *name = xattr_or(e, MAILLAYOUT_XATTR_NAME, e->path);
	char *uname = mutf7_decode_or_keep(name);
	sqlite3_stmt *s;
	int rc, ret = -1;

	s = stmt(mi, ST_FOLDER_ADD);
	bind_text(s, 1, sc->unit);
	bind_text(s, 2, e->path);
	bind_text(s, 3, name);
	bind_text(s, 4, uname);
	if (sqlite3_step(s) != SQLITE_DONE) {
		db_error(mi, err, "adding a folder");
		goto out;
	}
	s = stmt(mi, ST_FOLDER_FIND);
	bind_text(s, 1, sc->unit);
	bind_text(s, 2, e->path);
	bind_text(s, 3, name);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		db_error(mi, err, "finding a folder");
		goto out;
	}
	*id_r = sqlite3_column_int64(s, 0);
	ret = 0;
out:
	if (s)
		sqlite3_reset(s);
	free(name);
	free(uname);
	return ret;
}

static int add_folder(struct scan *sc, const struct meta_entry *e, struct error *err)
{
	struct folder_ref *f;
	int64_t id;

	if (folder_intern(sc, e, &id, err) < 0)
		return -1;
	sc->folders = xrealloc(sc->folders, xmul(sc->nfolders + 1, sizeof(*sc->folders)));
	f = &sc->folders[sc->nfolders++];
	f->path = xstrdup(e->path);
	f->id = id;
	return 0;
}

/* The folder of a message path (its parent directory), or -1. */
static int64_t folder_of(struct scan *sc, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : 0, i;

	/* Messages of one folder mostly come in a row: try the last first. */
	for (i = 0; i < sc->nfolders; i++) {
		size_t k = (sc->last_folder + i) % sc->nfolders;
		const char *fp = sc->folders[k].path;

		if (strlen(fp) == len && memcmp(fp, path, len) == 0) {
			sc->last_folder = k;
			return sc->folders[k].id;
		}
	}
	return -1;
}


/* Reads the message's bytes (up to MAILINDEX_PARSE_MAX) into sc->content. */
static int read_content(struct scan *sc, const struct meta_entry *e, struct error *err)
{
	static const uint8_t zero[32];
	struct buf blob;
	size_t i;
	int ret = 0;

	buf_reset(&sc->content);
	buf_init(&blob, 0);
	for (i = 0; i < e->nextents && sc->content.len < MAILINDEX_PARSE_MAX && ret == 0; i++) {
		const struct meta_extent *x = &e->extents[i];

		if (memcmp(x->id, zero, 32) == 0) {
			memset(buf_extend(&sc->content, x->len), 0, x->len);
			continue;
		}
		ret = blob_fetch(sc->u, sc->ix, sc->pr, x->id, 0, &blob, err);
		if (ret == 0)
			buf_add(&sc->content, blob.data, blob.len);
	}
	buf_clear(&blob);
	if (ret < 0)
		return error_prefix(err, "reading message %s of %s@%u", e->path, sc->unit, sc->seq);
	if (sc->content.len > MAILINDEX_PARSE_MAX)
		sc->content.len = MAILINDEX_PARSE_MAX;
	return 0;
}

static int txn_begin(struct scan *sc, struct error *err)
{
	if (sc->pending == 0 && exec(sc->mi, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	sc->pending++;
	return 0;
}

static int txn_flush(struct scan *sc, int force, struct error *err)
{
	if (sc->pending == 0 || (!force && sc->pending < BATCH))
		return 0;
	sc->pending = 0;
	return exec(sc->mi, "COMMIT", err);
}

/* The id of a message for `date`: ids order messages by date (then by
 * arrival), so FTS5 can stream matches newest first and a date range is an
 * id range (docs/mail.md 5). */
static int64_t id_base(int64_t date)
{
	if (date < 0)
		date = 0;
	if (date > MAILINDEX_DATE_MAX)
		date = MAILINDEX_DATE_MAX;
	return date << MAILINDEX_ID_SHIFT;
}

static int free_id(struct mailindex *mi, int64_t date, int64_t *id_r, struct error *err)
{
	int64_t base = id_base(date);
	sqlite3_stmt *s;
	int rc;

	/* More than 2^20 messages dated the same second spill into the next. */
	for (;;) {
		s = stmt(mi, ST_MSG_FREE_ID);
		sqlite3_bind_int64(s, 1, base);
		sqlite3_bind_int64(s, 2, base + ((int64_t)1 << MAILINDEX_ID_SHIFT));
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			*id_r = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		if (rc != SQLITE_ROW)
			return db_error(mi, err, "choosing a message id");
		if (*id_r < base + ((int64_t)1 << MAILINDEX_ID_SHIFT))
			return 0;
		base += (int64_t)1 << MAILINDEX_ID_SHIFT;
	}
}

/* The message's addresses (one per line, normalized by mailparse). */
static int insert_addresses(struct mailindex *mi, int64_t id, const char *list,
			    struct error *err)
{
	const char *p = list ? list : "";

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		sqlite3_stmt *s = stmt(mi, ST_ADDR_ADD);

		sqlite3_bind_text(s, 1, p, (int)n, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 2, id);
		if (n > 0 && sqlite3_step(s) != SQLITE_DONE)
			return db_error(mi, err, "adding a message's addresses");
		p += n + (nl != NULL);
	}
	return 0;
}

static int insert_message(struct scan *sc, const struct meta_entry *e, const uint8_t key[32],
			  const struct mailparse *p, int64_t *id_r, struct error *err)
{
	struct mailindex *mi = sc->mi;
	int64_t date = p->has_date ? p->date : e->mtime_s, id = 0;
	sqlite3_stmt *s;

	if (free_id(mi, date, &id, err) < 0)
		return -1;
	s = stmt(mi, ST_MSG_ADD);
	sqlite3_bind_int64(s, 9, id);

	sqlite3_bind_blob(s, 1, key, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, date);
	sqlite3_bind_int(s, 3, p->has_attachment);
	bind_text(s, 4, p->sender);
	bind_text(s, 5, p->recipients);
	bind_text(s, 6, p->subject);
	sqlite3_bind_int64(s, 7, (int64_t)e->size);
	if (p->error)
		bind_text(s, 8, p->error);
	if (sqlite3_step(s) != SQLITE_DONE)
		return db_error(mi, err, "adding a message");
	if (sqlite3_changes(mi->db) == 0)
		return 0; /* added meanwhile by another handle: the caller looks it up */
	*id_r = id;
	s = stmt(mi, ST_FTS_ADD);
	sqlite3_bind_int64(s, 1, *id_r);
	bind_text(s, 2, p->sender);
	bind_text(s, 3, p->recipients);
	bind_text(s, 4, p->subject);
	bind_text(s, 5, p->attachments);
	bind_text(s, 6, p->body);
	if (sqlite3_step(s) != SQLITE_DONE)
		return db_error(mi, err, "adding a message's text");
	if (insert_addresses(mi, id, p->addresses, err) < 0)
		return -1;
	return 1;
}

static int find_message(struct mailindex *mi, const uint8_t key[32], int64_t *id_r,
			struct error *err)
{
	sqlite3_stmt *s = stmt(mi, ST_MSG_FIND);
	int rc;

	sqlite3_bind_blob(s, 1, key, 32, SQLITE_TRANSIENT);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*id_r = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(mi, err, "looking up a message");
	return rc == SQLITE_ROW;
}

/* The message row of a file entry: found by key, or read, parsed, added. */
static int message_id(struct scan *sc, const struct meta_entry *e, int64_t *id_r,
		      struct error *err)
{
	struct mailparse p;
	uint8_t key[32];
	int ret;

	erasure_content_key(e, key);
	ret = find_message(sc->mi, key, id_r, err);
	if (ret != 0)
		return ret < 0 ? -1 : 0;
	if (read_content(sc, e, err) < 0)
		return -1;
	mailparse_message(sc->content.data, sc->content.len, &p);
	ret = txn_begin(sc, err);
	if (ret == 0)
		ret = insert_message(sc, e, key, &p, id_r, err);
	if (ret == 0) /* someone else added it first */
		ret = find_message(sc->mi, key, id_r, err) == 1 ? 0 :
		      error_set(err, "mail index %s: a message vanished while indexing",
				sc->mi->path);
	else if (ret == 1) {
		ret = 0;
		sc->st->parsed++;
		if (p.error)
			sc->st->parse_errors++;
	}
	mailparse_clear(&p);
	return ret < 0 ? -1 : txn_flush(sc, 0, err);
}

static int add_message(struct scan *sc, const struct meta_entry *e, uint32_t uid,
		       struct error *err)
{
	struct occ_rec *o;
	int64_t folder = folder_of(sc, e->path), id = 0;

	if (folder < 0)
		return 0; /* not below a folder entry: not a message of the layout */
	if (message_id(sc, e, &id, err) < 0)
		return -1;
	if (sc->nocc == sc->capocc) {
		sc->capocc = sc->capocc ? 2 * sc->capocc : 256;
		sc->occ = xrealloc(sc->occ, xmul(sc->capocc, sizeof(*sc->occ)));
	}
	o = &sc->occ[sc->nocc++];
	o->msg = id;
	o->folder = folder;
	o->uid = uid;
	o->idate = e->mtime_s;
	o->flags = xattr_or(e, MAILLAYOUT_XATTR_FLAGS, "");
	o->tz = xattr_or(e, MAILLAYOUT_XATTR_TZ, "");
	sc->st->messages++;
	return 0;
}

static int scan_tree(struct scan *sc, const struct rp *rp, struct error *err)
{
	struct tree_reader *tr = tree_reader_open(sc->u, sc->ix, rp, err);
	struct meta_entry *e;
	int ret, first = 1;
	uint32_t uid;

	if (tr == NULL)
		return -1;
	/* What an erasure withholds never enters the index. */
	tree_reader_withhold(tr, sc->es, 0);
	while ((ret = tree_reader_next(tr, &e, err)) == 1) {
		if (first && maillayout_check_root(e, sc->unit, sc->seq, err) < 0) {
			ret = -1;
			break;
		}
		first = 0;
		if (e->type == META_DIR)
			ret = add_folder(sc, e, err);
		else if (e->type == META_FILE && maillayout_message_uid(e->path, &uid))
			ret = add_message(sc, e, uid, err);
		if (ret < 0)
			break;
	}
	if (ret == 0 && first)
		ret = maillayout_check_root(NULL, sc->unit, sc->seq, err);
	tree_reader_close(&tr);
	if (txn_flush(sc, 1, err) < 0)
		ret = -1;
	return ret < 0 ? -1 : 0;
}

/* The indexed neighbours of seq in the unit: the newest before (*p_r) and
 * the oldest after (*q_r); 0 when there is none. */
static int neighbours(struct mailindex *mi, const char *unit, uint32_t seq, int64_t *p_r,
		      int64_t *q_r, struct error *err)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(mi->db, "SELECT (SELECT max(seq) FROM rp WHERE unit = ?1 AND "
			       "seq < ?2), (SELECT min(seq) FROM rp WHERE unit = ?1 AND seq > ?2)",
			       -1, &s, NULL) != SQLITE_OK)
		return db_error(mi, err, "preparing a query");
	bind_text(s, 1, unit);
	sqlite3_bind_int64(s, 2, seq);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*p_r = sqlite3_column_int64(s, 0);
		*q_r = sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : db_error(mi, err, "finding indexed restore points");
}

/* `last` of an occurrence still held by the newest indexed point. */
#define OPEN_END ((int64_t)1 << 32)

/* Runs one statement with ?1 = unit, ?2 = S, ?3 = P, ?4 = Q, ?5 = OPEN_END
 * bound (those it uses). */
static int run_bound(struct mailindex *mi, const char *sql, const char *unit, int64_t s_,
		     int64_t p, int64_t q, struct error *err)
{
	const int64_t v[] = { s_, p, q, OPEN_END };
	sqlite3_stmt *s;
	int rc, i, n;

	if (sqlite3_prepare_v2(mi->db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_error(mi, err, "preparing an update");
	bind_text(s, 1, unit);
	n = sqlite3_bind_parameter_count(s);
	for (i = 2; i <= n && i <= 5; i++)
		sqlite3_bind_int64(s, i, v[i - 2]);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_error(mi, err, "updating occurrences");
}

#define SAME_OCC "c.msg = o.msg AND c.folder = o.folder AND c.uid = o.uid AND c.flags = o.flags"

/* Occurrence ranges (docs/mail.md 5). S the newest: close the open ranges
 * S lacks at P; add S..open for what no open range holds. So an unchanged
 * point only reads. S older than an indexed Q: split the ranges spanning S
 * that S lacks; add S..S for what no range covers. A range may end at a
 * dropped point between S and Q: it spans S, and loses its part after P,
 * but has no tail to keep. */
static const char sql_close[] =
	"UPDATE occ AS o SET last = ?3 WHERE o.unit = ?1 AND o.last = ?5 "
	"AND NOT EXISTS (SELECT 1 FROM temp.cur c WHERE " SAME_OCC ")";
static const char sql_split_tail[] =
	"INSERT INTO occ(msg, unit, folder, uid, flags, idate, tz, first, last) "
	"SELECT msg, unit, folder, uid, flags, idate, tz, ?4, last FROM occ o "
	"WHERE o.unit = ?1 AND o.first <= ?3 AND o.last >= ?4 "
	"AND NOT EXISTS (SELECT 1 FROM temp.cur c WHERE " SAME_OCC ")";
static const char sql_split_head[] =
	"UPDATE occ AS o SET last = ?3 WHERE o.unit = ?1 AND o.first <= ?3 AND o.last >= ?2 "
	"AND NOT EXISTS (SELECT 1 FROM temp.cur c WHERE " SAME_OCC ")";
static const char sql_insert_rest[] =
	"INSERT INTO occ(msg, unit, folder, uid, flags, idate, tz, first, last) "
	"SELECT c.msg, ?1, c.folder, c.uid, c.flags, c.idate, c.tz, ?2, "
	"CASE WHEN ?4 = 0 THEN ?5 ELSE ?2 END FROM temp.cur c "
	"WHERE NOT EXISTS (SELECT 1 FROM occ o WHERE o.msg = c.msg AND o.unit = ?1 AND "
	"o.last >= ?2 AND o.first <= ?2 AND " SAME_OCC ")";

static int fill_cur(struct scan *sc, struct error *err)
{
	size_t i;

	if (exec(sc->mi, "DELETE FROM temp.cur", err) < 0)
		return -1;
	for (i = 0; i < sc->nocc; i++) {
		const struct occ_rec *o = &sc->occ[i];
		sqlite3_stmt *s = stmt(sc->mi, ST_CUR_ADD);

		sqlite3_bind_int64(s, 1, o->msg);
		sqlite3_bind_int64(s, 2, o->folder);
		sqlite3_bind_int64(s, 3, o->uid);
		bind_text(s, 4, o->flags);
		sqlite3_bind_int64(s, 5, o->idate);
		bind_text(s, 6, o->tz);
		if (sqlite3_step(s) != SQLITE_DONE)
			return db_error(sc->mi, err, "collecting occurrences");
	}
	return 0;
}

static int record_rp(struct scan *sc, const struct rp *rp, struct error *err)
{
	struct mailindex *mi = sc->mi;
	int64_t p = 0, q = 0;
	sqlite3_stmt *s;
	int rc;

	if (neighbours(mi, sc->unit, sc->seq, &p, &q, err) < 0 ||
	    (!q && run_bound(mi, sql_close, sc->unit, sc->seq, p, q, err) < 0) ||
	    (p && q && run_bound(mi, sql_split_tail, sc->unit, sc->seq, p, q, err) < 0) ||
	    (p && q && run_bound(mi, sql_split_head, sc->unit, sc->seq, p, q, err) < 0) ||
	    run_bound(mi, sql_insert_rest, sc->unit, sc->seq, p, q, err) < 0)
		return -1;
	if (sqlite3_prepare_v2(mi->db, "INSERT INTO rp(unit, seq, time, messages) "
			       "VALUES(?1, ?2, ?3, ?4)", -1, &s, NULL) != SQLITE_OK)
		return db_error(mi, err, "preparing an insert");
	bind_text(s, 1, sc->unit);
	sqlite3_bind_int64(s, 2, sc->seq);
	sqlite3_bind_int64(s, 3, rp->time_ns / 1000000000);
	sqlite3_bind_int64(s, 4, (int64_t)sc->nocc);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_error(mi, err, "recording a restore point");
}

/* Whether every message the occurrences name still exists (a concurrent
 * clean-up may have removed one that had no occurrence yet). */
static int cur_complete(struct mailindex *mi, const struct scan *sc, struct error *err)
{
	sqlite3_stmt *s;
	int rc, missing = 0;

	if (sqlite3_prepare_v2(mi->db, "SELECT count(*) FROM temp.cur c WHERE NOT EXISTS "
			       "(SELECT 1 FROM msg m WHERE m.id = c.msg)", -1, &s, NULL) != SQLITE_OK)
		return db_error(mi, err, "preparing a check");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		missing = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return db_error(mi, err, "checking occurrences");
	if (missing)
		return error_set(err, "mail index %s was cleaned up while %s@%u was indexed: "
				 "index it again", mi->path, sc->unit, sc->seq);
	return 0;
}

/* Writes the occurrences and the rp row in one transaction. */
static int finish_rp(struct scan *sc, const struct rp *rp, struct error *err)
{
	int ret;

	if (exec(sc->mi, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	ret = mailindex_has_rp(sc->mi, sc->unit, sc->seq, err);
	if (ret == 0)
		ret = fill_cur(sc, err);
	if (ret == 0)
		ret = cur_complete(sc->mi, sc, err);
	if (ret == 0)
		ret = record_rp(sc, rp, err);
	if (ret < 0) {
		struct error ignored;

		error_init(&ignored);
		exec(sc->mi, "ROLLBACK", &ignored);
		return -1;
	}
	if (exec(sc->mi, "DELETE FROM temp.cur; COMMIT", err) < 0)
		return -1;
	if (ret == 0)
		sc->st->points++;
	return 0;
}

static void scan_clear(struct scan *sc)
{
	size_t i;

	for (i = 0; i < sc->nfolders; i++)
		free(sc->folders[i].path);
	free(sc->folders);
	for (i = 0; i < sc->nocc; i++) {
		free(sc->occ[i].flags);
		free(sc->occ[i].tz);
	}
	free(sc->occ);
	buf_clear(&sc->content);
	pack_reader_close(&sc->pr);
}

int mailindex_add_rp(struct mailindex *mi, struct store_unit *u, const struct index *ix,
		     const struct rp *rp, struct mailindex_stats *st, struct error *err)
{
	struct mailindex_stats dummy;
	struct scan sc = { .mi = mi, .u = u, .ix = ix, .unit = store_unit_name(u),
			   .seq = rp->seq };
	int ret;

	memset(&dummy, 0, sizeof(dummy));
	sc.st = st ? st : &dummy;
	ret = mailindex_has_rp(mi, sc.unit, sc.seq, err);
	if (ret != 0)
		return ret < 0 ? -1 : 0;
	if (erasure_set_load(u, &sc.es, err) < 0)
		return -1;
	sc.pr = pack_reader_open(u);
	buf_init(&sc.content, 0);
	ret = scan_tree(&sc, rp, err);
	erasure_set_free(&sc.es);
	if (ret == 0)
		ret = finish_rp(&sc, rp, err);
	scan_clear(&sc);
	return ret;
}

/* ---- points gone from the store ---- */

static int drop_one(struct mailindex *mi, const char *unit, int64_t seq, struct error *err)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(mi->db, "DELETE FROM rp WHERE unit = ?1 AND seq = ?2", -1, &s,
			       NULL) != SQLITE_OK)
		return db_error(mi, err, "preparing a delete");
	bind_text(s, 1, unit);
	sqlite3_bind_int64(s, 2, seq);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_error(mi, err, "dropping a restore point");
}

/* Occurrences no indexed point holds, then messages with no occurrence. */
static const char sql_collect[] =
	"DELETE FROM occ WHERE NOT EXISTS (SELECT 1 FROM rp WHERE rp.unit = occ.unit AND "
	"  rp.seq BETWEEN occ.first AND occ.last);"
	"DELETE FROM msg_fts WHERE rowid IN (SELECT id FROM msg WHERE NOT EXISTS "
	"  (SELECT 1 FROM occ WHERE occ.msg = msg.id));"
	"DELETE FROM msg WHERE NOT EXISTS (SELECT 1 FROM occ WHERE occ.msg = msg.id);"
	"DELETE FROM folder WHERE NOT EXISTS (SELECT 1 FROM occ WHERE occ.folder = folder.id) "
	"  AND NOT EXISTS (SELECT 1 FROM rp WHERE rp.unit = folder.unit);";

int mailindex_forget(struct mailindex *mi, const char *unit, const uint8_t (*keys)[32], size_t n,
		     uint64_t *removed_r, struct error *err)
{
	sqlite3_stmt *s = NULL;
	uint64_t removed = 0;
	size_t i;
	int ret = -1;

	if (exec(mi, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	if (sqlite3_prepare_v2(mi->db, "DELETE FROM occ WHERE unit = ?1 AND msg IN "
			       "(SELECT id FROM msg WHERE mkey = ?2)", -1, &s, NULL) != SQLITE_OK) {
		db_error(mi, err, "preparing a delete");
		goto out;
	}
	for (i = 0; i < n; i++) {
		sqlite3_reset(s);
		bind_text(s, 1, unit);
		sqlite3_bind_blob(s, 2, keys[i], 32, SQLITE_STATIC);
		if (sqlite3_step(s) != SQLITE_DONE) {
			db_error(mi, err, "forgetting a message");
			goto out;
		}
		removed += sqlite3_changes(mi->db) > 0;
	}
	ret = exec(mi, sql_collect, err);
out:
	sqlite3_finalize(s);
	if (ret < 0) {
		struct error ignored;

		error_init(&ignored);
		exec(mi, "ROLLBACK", &ignored);
		return -1;
	}
	if (removed_r)
		*removed_r = removed;
	return exec(mi, "COMMIT", err);
}

static int is_listed(const uint32_t *seqs, size_t n, int64_t seq)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (seqs[i] == seq)
			return 1;
	return 0;
}

/* The unit's indexed points; caller frees. */
static int indexed_points(struct mailindex *mi, const char *unit, int64_t **seqs_r, size_t *n_r,
			  struct error *err)
{
	sqlite3_stmt *s;
	size_t n = 0;
	int rc;

	*seqs_r = NULL;
	if (sqlite3_prepare_v2(mi->db, "SELECT seq FROM rp WHERE unit = ?1 ORDER BY seq", -1, &s,
			       NULL) != SQLITE_OK)
		return db_error(mi, err, "preparing a query");
	bind_text(s, 1, unit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*seqs_r = xrealloc(*seqs_r, xmul(n + 1, sizeof(**seqs_r)));
		(*seqs_r)[n++] = sqlite3_column_int64(s, 0);
	}
	sqlite3_finalize(s);
	*n_r = n;
	return rc == SQLITE_DONE ? 0 : db_error(mi, err, "listing indexed restore points");
}

int mailindex_drop_missing(struct mailindex *mi, const char *unit, const uint32_t *seqs,
			   size_t n, struct mailindex_stats *st, struct error *err)
{
	int64_t *have = NULL;
	size_t nhave = 0, i, dropped = 0;
	int ret;

	if (exec(mi, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	ret = indexed_points(mi, unit, &have, &nhave, err);
	for (i = 0; i < nhave && ret == 0; i++) {
		if (is_listed(seqs, n, have[i]))
			continue;
		ret = drop_one(mi, unit, have[i], err);
		dropped++;
	}
	if (ret == 0 && dropped)
		ret = exec(mi, sql_collect, err);
	free(have);
	if (ret < 0) {
		struct error ignored;

		error_init(&ignored);
		exec(mi, "ROLLBACK", &ignored);
		return -1;
	}
	if (st)
		st->dropped += dropped;
	return exec(mi, "COMMIT", err);
}

/* Messages an erasure approved since they were indexed leave the index
 * too: an index file kept by the CLI, or one copied, is brought in line
 * with the unit's ledger (the service's is when the erasure takes effect). */
static int forget_erased(struct mailindex *mi, struct store_unit *u, struct error *err)
{
	struct erasure_set *es = NULL;
	uint8_t (*keys)[32] = NULL;
	size_t n = 0;
	int ret;

	if (erasure_set_load(u, &es, err) < 0)
		return -1;
	erasure_set_keys(es, &keys, &n);
	ret = n ? mailindex_forget(mi, store_unit_name(u), (const uint8_t(*)[32])keys, n, NULL, err)
		: 0;
	free(keys);
	erasure_set_free(&es);
	return ret;
}

int mailindex_update_unit(struct mailindex *mi, struct store_unit *u, mailindex_skip_cb *skip,
			  void *ctx, struct mailindex_stats *st, struct error *err)
{
	const char *unit = store_unit_name(u);
	struct index *ix = NULL;
	uint32_t *seqs = NULL;
	size_t n = 0, i;
	int ret = -1;

	if (rp_list(u, &seqs, &n, err) < 0 || mailindex_drop_missing(mi, unit, seqs, n, st, err) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		struct rp *rp = NULL;
		struct error why;
		int has = mailindex_has_rp(mi, unit, seqs[i], err);

		if (has < 0)
			goto out;
		if (has)
			continue;
		if (ix == NULL && (ix = index_open(u, err)) == NULL)
			goto out;
		error_init(&why);
		if (rp_read(u, seqs[i], &rp, &why) == 0 &&
		    mailindex_add_rp(mi, u, ix, rp, st, &why) == 0) {
			rp_free(&rp);
			continue;
		}
		rp_free(&rp);
		/* A damaged or non-mailbox point is left out; a failing index is not. */
		if (why.code != ERROR_CORRUPT && why.code != ERROR_NOTFOUND &&
		    why.code != ERROR_USAGE && why.code != ERROR_VERSION) {
			*err = why;
			goto out;
		}
		if (skip)
			skip(ctx, unit, seqs[i], &why);
	}
	ret = forget_erased(mi, u, err);
out:
	index_close(&ix);
	free(seqs);
	return ret;
}

/* ---- search ---- */

/* The tokens of a query's words, as the index's tokenizer folds them
 * (for snippets): NUL-separated in b. */
struct toks {
	struct buf b;
	size_t n;
};

static int add_token(void *ctx, int flags, const char *tok, int n, int start, int end)
{
	struct toks *t = ctx;

	(void)flags;
	(void)start;
	(void)end;
	if (n > 0) {
		buf_add(&t->b, tok, (size_t)n);
		buf_add(&t->b, "", 1);
		t->n++;
	}
	return SQLITE_OK;
}

/* Adds the word's tokens to t; returns how many it has (a lone '*' or ')'
 * has none, and an FTS5 phrase without tokens would match nothing). */
static size_t word_tokens(struct mailindex *mi, const char *word, size_t len, struct toks *t)
{
	size_t before = t->n;

	mi->tok.xTokenize(mi->tokenizer, t, FTS5_TOKENIZE_QUERY, word, (int)len, add_token);
	return t->n - before;
}

/* Whether the last token added is one CJK character. */
static int last_is_cjk_char(const struct toks *t)
{
	const char *b = (const char *)t->b.data;
	size_t end = t->b.len ? t->b.len - 1 : 0, start = end;

	while (start > 0 && b[start - 1] != '\0')
		start--;
	return t->n > 0 && mailtok_is_cjk_char(b + start, (int)(end - start));
}

/* Appends `column : "word"` for every word of text, ANDed: each word is
 * one quoted FTS5 string, so nothing a user types is query syntax. */
static int fts_words(struct mailindex *mi, struct buf *expr, struct toks *t, const char *column,
		     const char *text, const char *what, struct error *err)
{
	const char *p = text;
	int words = 0;

	while (*p) {
		const char *w, *c;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		w = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			p++;
		if (p == w || word_tokens(mi, w, (size_t)(p - w), t) == 0)
			continue;
		buf_addf(expr, "%s%s : \"", expr->len ? " AND " : "", column);
		for (c = w; c < p; c++) {
			if (*c == '"')
				buf_add(expr, "\"", 1); /* doubled: a quote inside the string */
			buf_add(expr, c, 1);
		}
		buf_add(expr, "\"", 1);
		/* A word ending in one CJK character may end inside a run: every
		 * character of a run starts a token (mailtok.h). */
		if (last_is_cjk_char(t))
			buf_add(expr, " *", 2);
		words++;
	}
	if (words == 0)
		return error_setk(err, ERROR_USAGE, "the %s filter \"%s\" has no words to search for",
				  what, text);
	return 0;
}

static int build_match(struct mailindex *mi, const struct mailindex_query *q, struct buf *expr,
		       struct toks *t, struct error *err)
{
	if ((q->from && fts_words(mi, expr, t, "sender", q->from, "from", err) < 0) ||
	    (q->to && fts_words(mi, expr, t, "recipients", q->to, "to", err) < 0) ||
	    (q->subject && fts_words(mi, expr, t, "subject", q->subject, "subject", err) < 0) ||
	    (q->body && fts_words(mi, expr, t, "{body attachments}", q->body, "body", err) < 0) ||
	    (q->attachment &&
	     fts_words(mi, expr, t, "attachments", q->attachment, "attachment", err) < 0))
		return -1;
	buf_add(expr, "", 1);
	expr->len--;
	return 0;
}

/* The SQL of a query: fixed fragments chosen by which filters are set;
 * every value is a named parameter. Ids order by date, so the newest come
 * first by walking ids downwards: FTS5 streams its matches that way (and
 * applies the id range of the dates itself) and stops after the page. */
static void build_sql(const struct mailindex_query *q, int match, struct buf *sql)
{
	const char *id = match ? "msg_fts.rowid" : "m.id";

	buf_addf(sql, "SELECT m.id, m.mkey, m.date, m.has_att, m.sender, m.recipients, "
		 "m.subject, m.size, m.error FROM ");
	if (match)
		buf_addf(sql, "msg_fts CROSS JOIN msg m ON m.id = msg_fts.rowid "
			 "WHERE msg_fts MATCH :match");
	else
		buf_addf(sql, "msg m WHERE 1");
	if (q->has_since)
		buf_addf(sql, " AND %s >= :lo", id);
	if (q->has_until)
		buf_addf(sql, " AND %s < :hi", id);
	if (q->has_attachment)
		buf_addf(sql, " AND m.has_att = 1");
	if (q->address)
		buf_addf(sql, " AND m.id IN (SELECT msg FROM addr WHERE addr = :addr)");
	buf_addf(sql, " AND EXISTS (SELECT 1 FROM occ o WHERE o.msg = m.id");
	if (q->unit)
		buf_addf(sql, " AND o.unit = :unit");
	if (q->seq)
		buf_addf(sql, " AND o.first <= :seq AND o.last >= :seq");
	if (q->folder)
		buf_addf(sql, " AND o.folder IN (SELECT id FROM folder WHERE (name = :folder OR "
			 "uname = :folder OR path = :folder)%s)", q->unit ? " AND unit = :unit" : "");
	buf_addf(sql, ") ORDER BY %s DESC LIMIT :limit OFFSET :offset", id);
}

static void bind_named_text(sqlite3_stmt *s, const char *name, const char *v)
{
	int i = sqlite3_bind_parameter_index(s, name);

	if (i > 0)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

static void bind_named_int(sqlite3_stmt *s, const char *name, int64_t v)
{
	int i = sqlite3_bind_parameter_index(s, name);

	if (i > 0)
		sqlite3_bind_int64(s, i, v);
}

/* Collapses white space to single blanks and cuts at max characters. */
static char *tidy(const char *s, size_t max)
{
	struct buf b;
	size_t chars = 0;
	int space = 0;

	buf_init(&b, 0);
	for (; *s && chars < max; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
			space = b.len > 0;
			continue;
		}
		if (space) {
			buf_add(&b, " ", 1);
			chars++;
			space = 0;
		}
		if (((unsigned char)*s & 0xc0) != 0x80)
			chars++;
		buf_add(&b, s, 1);
	}
	/* Finish a character cut by the count. */
	while (*s && ((unsigned char)*s & 0xc0) == 0x80)
		buf_add(&b, s++, 1);
	buf_add(&b, "", 1);
	return (char *)buf_steal(&b, NULL);
}

struct find {
	const struct toks *t;
	int start, end;
};

static int find_token(void *ctx, int flags, const char *tok, int n, int start, int end)
{
	struct find *f = ctx;
	const char *k = (const char *)f->t->b.data;
	size_t i;

	(void)flags;
	for (i = 0; i < f->t->n; i++, k += strlen(k) + 1) {
		size_t kn = strlen(k);

		/* One CJK character is searched as a prefix (fts_words). */
		if ((kn == (size_t)n || (kn < (size_t)n && mailtok_is_cjk_char(k, (int)kn))) &&
		    memcmp(k, tok, kn) == 0) {
			f->start = start;
			f->end = end;
			return SQLITE_DONE; /* the first one will do */
		}
	}
	return SQLITE_OK;
}

/* Text around body[start..end), that part in brackets. */
static char *snippet_around(const char *body, size_t len, size_t start, size_t end)
{
	size_t from = start > 60 ? start - 60 : 0, to = end + 120 < len ? end + 120 : len;
	size_t word = from;
	struct buf b;
	char *s;

	/* Start and stop at word boundaries, never inside a UTF-8 character;
	 * text without spaces (Chinese, Japanese) starts at a character. */
	while (word > 0 && word < start && body[word - 1] != ' ' && body[word - 1] != '\n')
		word++;
	if (word < start)
		from = word;
	while (from < start && ((unsigned char)body[from] & 0xc0) == 0x80)
		from++;
	while (to < len && ((unsigned char)body[to] & 0xc0) == 0x80)
		to--;
	buf_init(&b, 0);
	if (from > 0)
		buf_add(&b, "...", 3);
	buf_add(&b, body + from, start - from);
	buf_add(&b, "[", 1);
	buf_add(&b, body + start, end - start);
	buf_add(&b, "]", 1);
	buf_add(&b, body + end, to - end);
	if (to < len)
		buf_add(&b, "...", 3);
	buf_add(&b, "", 1);
	s = tidy((const char *)b.data, SNIPPET_CHARS + 40);
	buf_clear(&b);
	return s;
}

/* The snippet: the body around the first of the query's words found in
 * it (bracketed), else the start of the body. The words are found with the
 * index's own tokenizer, so case and accents fold as in the search. */
static int hit_snippet(struct mailindex *mi, int64_t id, const struct toks *t,
		       struct mailindex_hit *h, struct error *err)
{
	sqlite3_stmt *s = stmt(mi, ST_BODY_START);
	struct find f = { .t = t, .start = -1 };
	const char *body;
	int rc, len;

	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int(s, 2, SNIPPET_SCAN);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		h->snippet = xstrdup("");
		return rc == SQLITE_DONE ? 0 : db_error(mi, err, "reading a message's text");
	}
	body = (const char *)sqlite3_column_text(s, 0);
	len = sqlite3_column_bytes(s, 0);
	if (body && t->n > 0)
		mi->tok.xTokenize(mi->tokenizer, &f, FTS5_TOKENIZE_DOCUMENT, body, len, find_token);
	if (f.start >= 0 && f.end >= f.start && f.end <= len)
		h->snippet = snippet_around(body, (size_t)len, (size_t)f.start, (size_t)f.end);
	else
		h->snippet = tidy(body ? body : "", SNIPPET_CHARS);
	sqlite3_reset(s);
	return 0;
}

static int place_seqs(struct mailindex *mi, struct mailindex_place *pl, int64_t first,
		      int64_t last, struct error *err)
{
	sqlite3_stmt *s = stmt(mi, ST_SEQS);
	int rc;

	bind_text(s, 1, pl->unit);
	sqlite3_bind_int64(s, 2, first);
	sqlite3_bind_int64(s, 3, last);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		pl->seqs = xrealloc(pl->seqs, xmul(pl->nseqs + 1, sizeof(*pl->seqs)));
		pl->seqs[pl->nseqs++] = (uint32_t)sqlite3_column_int64(s, 0);
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : db_error(mi, err, "listing restore points");
}

static void place_fill(struct mailindex_place *pl, sqlite3_stmt *s)
{
	char *folder_path = col_text(s, 3);

	pl->unit = col_text(s, 0);
	pl->folder = col_text(s, 1);
	pl->folder_utf8 = col_text(s, 2);
	pl->uid = (uint32_t)sqlite3_column_int64(s, 4);
	pl->path = maillayout_message_path(folder_path, pl->uid);
	pl->flags = col_text(s, 5);
	pl->internal_date = sqlite3_column_int64(s, 6);
	pl->tz = col_text(s, 7);
	free(folder_path);
}

static void place_clear(struct mailindex_place *pl)
{
	free(pl->unit);
	free(pl->folder);
	free(pl->folder_utf8);
	free(pl->path);
	free(pl->flags);
	free(pl->tz);
	free(pl->seqs);
}

static int same_place(const struct mailindex_place *a, const struct mailindex_place *b)
{
	return strcmp(a->unit, b->unit) == 0 && strcmp(a->path, b->path) == 0 &&
	       strcmp(a->folder, b->folder) == 0 && strcmp(a->flags, b->flags) == 0;
}

/* Joins places that differ only in their ranges of points (the same
 * message back at the same UID with the same flags after a gap, or a
 * range split by a point indexed out of order); they are adjacent in the
 * query's order, and their points ascend. Places left without a point
 * (none should be) are dropped. */
static void places_merge(struct mailindex_hit *h)
{
	size_t i, n = 0;

	for (i = 0; i < h->nplaces; i++) {
		struct mailindex_place *pl = &h->places[i];

		if (pl->nseqs == 0) {
			place_clear(pl);
			continue;
		}
		if (n > 0 && same_place(&h->places[n - 1], pl)) {
			struct mailindex_place *to = &h->places[n - 1];

			to->seqs = xrealloc(to->seqs, xmul(to->nseqs + pl->nseqs, sizeof(uint32_t)));
			memcpy(to->seqs + to->nseqs, pl->seqs, pl->nseqs * sizeof(uint32_t));
			to->nseqs += pl->nseqs;
			place_clear(pl);
			continue;
		}
		if (n != i)
			h->places[n] = *pl;
		n++;
	}
	h->nplaces = n;
}

/* The places of message id, each with its restore points. The rows are
 * read first and their points after, since both statements are cached. */
static int hit_places(struct mailindex *mi, int64_t id, struct mailindex_hit *h,
		      struct error *err)
{
	sqlite3_stmt *s = stmt(mi, ST_PLACES);
	int64_t (*range)[2] = NULL;
	size_t i;
	int rc, ret = 0;

	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		h->places = xrealloc(h->places, xmul(h->nplaces + 1, sizeof(*h->places)));
		range = xrealloc(range, xmul(h->nplaces + 1, sizeof(*range)));
		memset(&h->places[h->nplaces], 0, sizeof(*h->places));
		place_fill(&h->places[h->nplaces], s);
		range[h->nplaces][0] = sqlite3_column_int64(s, 8);
		range[h->nplaces][1] = sqlite3_column_int64(s, 9);
		h->nplaces++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		ret = db_error(mi, err, "listing a message's places");
	for (i = 0; i < h->nplaces && ret == 0; i++)
		ret = place_seqs(mi, &h->places[i], range[i][0], range[i][1], err);
	free(range);
	if (ret == 0)
		places_merge(h);
	return ret;
}

static int place_matches(const struct mailindex_place *pl, const struct mailindex_query *q)
{
	if (q->unit && strcmp(pl->unit, q->unit) != 0)
		return 0;
	if (q->folder && strcmp(pl->folder, q->folder) != 0 &&
	    strcmp(pl->folder_utf8, q->folder) != 0) {
		const char *slash = strrchr(pl->path, '/');
		size_t len = slash ? (size_t)(slash - pl->path) : 0;

		if (strlen(q->folder) != len || memcmp(q->folder, pl->path, len) != 0)
			return 0;
	}
	return 1;
}

/* Order among places in the same restore point: by unit, then path. */
static int place_before(const struct mailindex_place *a, const struct mailindex_place *b)
{
	int c = strcmp(a->unit, b->unit);

	return c < 0 || (c == 0 && strcmp(a->path, b->path) < 0);
}

/* The newest place and point that satisfy the query's place filters (among
 * places in that point, the first by unit and path). */
static void hit_where(struct mailindex_hit *h, const struct mailindex_query *q)
{
	size_t i, k;

	for (i = 0; i < h->nplaces; i++) {
		const struct mailindex_place *pl = &h->places[i];

		if (!place_matches(pl, q))
			continue;
		for (k = pl->nseqs; k-- > 0;) {
			if (q->seq && pl->seqs[k] != q->seq)
				continue;
			if (h->where == NULL || pl->seqs[k] > h->where_seq ||
			    (pl->seqs[k] == h->where_seq && place_before(pl, h->where))) {
				h->where = pl;
				h->where_seq = pl->seqs[k];
			}
			break;
		}
	}
}

static int hit_fill(struct mailindex *mi, sqlite3_stmt *s, const struct mailindex_query *q,
		    const struct toks *t, struct mailindex_hit *h, struct error *err)
{
	int64_t id = sqlite3_column_int64(s, 0);
	const void *key = sqlite3_column_blob(s, 1);
	const unsigned char *e;

	memset(h, 0, sizeof(*h));
	if (key && sqlite3_column_bytes(s, 1) == 32)
		memcpy(h->key, key, 32);
	h->date = sqlite3_column_int64(s, 2);
	h->has_attachment = sqlite3_column_int(s, 3);
	h->from = col_text(s, 4);
	h->to = col_text(s, 5);
	h->subject = col_text(s, 6);
	h->size = (uint64_t)sqlite3_column_int64(s, 7);
	e = sqlite3_column_text(s, 8);
	h->error = e ? xstrdup((const char *)e) : NULL;
	if (hit_snippet(mi, id, t, h, err) < 0 || hit_places(mi, id, h, err) < 0)
		return -1;
	hit_where(h, q);
	return 0;
}

static int query_check(struct mailindex *mi, const struct mailindex_query *q, char **addr_r,
		       struct error *err)
{
	int has;

	if (q->address && (*addr_r = mailparse_address_norm(q->address)) == NULL)
		return error_setk(err, ERROR_USAGE, "\"%.300s\" is not one e-mail address "
				  "(local-part@domain)", q->address);
	if (q->seq == 0)
		return 0;
	if (q->unit == NULL)
		return error_setk(err, ERROR_USAGE, "a restore point filter needs a unit");
	has = mailindex_has_rp(mi, q->unit, q->seq, err);
	if (has < 0)
		return -1;
	if (has == 0)
		return error_setk(err, ERROR_USAGE, "restore point %s@%u is not in the mail index",
				  q->unit, q->seq);
	return 0;
}

int mailindex_search(struct mailindex *mi, const struct mailindex_query *q,
		     struct mailindex_results *res, struct error *err)
{
	size_t limit = q->limit ? q->limit : LIMIT_DEFAULT;
	struct buf expr, sql;
	struct toks t = { .n = 0 };
	sqlite3_stmt *s = NULL;
	char *addr = NULL;
	int rc = SQLITE_DONE, ret = -1;

	memset(res, 0, sizeof(*res));
	if (limit > LIMIT_MAX)
		limit = LIMIT_MAX;
	buf_init(&expr, 0);
	buf_init(&sql, 0);
	buf_init(&t.b, 0);
	if (query_check(mi, q, &addr, err) < 0 || build_match(mi, q, &expr, &t, err) < 0)
		goto out;
	build_sql(q, expr.len > 0, &sql);
	if (sqlite3_prepare_v2(mi->db, (const char *)sql.data, -1, &s, NULL) != SQLITE_OK) {
		db_error(mi, err, "preparing a search");
		goto out;
	}
	bind_named_text(s, ":unit", q->unit);
	bind_named_int(s, ":seq", q->seq);
	bind_named_text(s, ":folder", q->folder);
	bind_named_text(s, ":match", (const char *)expr.data);
	bind_named_text(s, ":addr", addr);
	bind_named_int(s, ":lo", id_base(q->since));
	bind_named_int(s, ":hi", id_base(q->until));
	bind_named_int(s, ":limit", (int64_t)limit + 1);
	bind_named_int(s, ":offset", q->offset > INT64_MAX ? INT64_MAX : (int64_t)q->offset);
	res->hits = xcalloc(limit + 1, sizeof(*res->hits));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (res->n == limit) {
			res->more = 1;
			break;
		}
		if (hit_fill(mi, s, q, &t, &res->hits[res->n++], err) < 0)
			goto out;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_error(mi, err, "searching");
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(s);
	free(addr);
	buf_clear(&expr);
	buf_clear(&sql);
	buf_clear(&t.b);
	if (ret < 0)
		mailindex_results_clear(res);
	return ret;
}

static int point_cmp(const void *a, const void *b)
{
	const struct mailindex_point *x = a, *y = b;
	int c = strcmp(x->unit, y->unit);

	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

struct mailindex_point *mailindex_hit_points(const struct mailindex_hit *h, size_t *n_r)
{
	struct mailindex_point *pts;
	size_t n = 0, i, k;

	for (i = 0; i < h->nplaces; i++)
		n += h->places[i].nseqs;
	pts = xcalloc(n ? n : 1, sizeof(*pts));
	n = 0;
	for (i = 0; i < h->nplaces; i++)
		for (k = 0; k < h->places[i].nseqs; k++)
			pts[n++] = (struct mailindex_point){ h->places[i].unit, h->places[i].seqs[k] };
	qsort(pts, n, sizeof(*pts), point_cmp);
	for (i = k = 0; i < n; i++)
		if (k == 0 || point_cmp(&pts[k - 1], &pts[i]) != 0)
			pts[k++] = pts[i];
	*n_r = k;
	return pts;
}

void mailindex_results_clear(struct mailindex_results *res)
{
	size_t i, k;

	for (i = 0; i < res->n; i++) {
		struct mailindex_hit *h = &res->hits[i];

		free(h->from);
		free(h->to);
		free(h->subject);
		free(h->snippet);
		free(h->error);
		for (k = 0; k < h->nplaces; k++)
			place_clear(&h->places[k]);
		free(h->places);
	}
	free(res->hits);
	memset(res, 0, sizeof(*res));
}
