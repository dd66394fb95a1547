/* The catalog's tables (docs/service.md "Catalog"). The SQL is the same
 * for SQLite and PostgreSQL except in the places a step gives two texts
 * (pg_sql); the shared parts are the macros below, so the two texts of a
 * step cannot drift apart. */
#include "catalog/catalog_schema.h"

/* Version 1: the tables, jobs aside. */
#define TABLES_BEFORE_JOBS \
	"CREATE TABLE tenants ("                                              \
	" id TEXT PRIMARY KEY,"                                               \
	" name TEXT NOT NULL UNIQUE,"                                         \
	" state TEXT NOT NULL,"                                               \
	" store TEXT,"                                                        \
	" created BIGINT NOT NULL);"                                          \
                                                                              \
	"CREATE TABLE policies ("                                             \
	" id TEXT PRIMARY KEY,"                                               \
	" tenant TEXT NOT NULL REFERENCES tenants (id),"                      \
	" name TEXT NOT NULL,"                                                \
	" kind TEXT NOT NULL,"                                                \
	" state TEXT NOT NULL,"                                               \
	" units TEXT NOT NULL,"                                               \
	" rules TEXT NOT NULL,"                                               \
	" frequency_s BIGINT NOT NULL,"                                       \
	" recent_days BIGINT NOT NULL,"                                       \
	" retention_days BIGINT NOT NULL,"                                    \
	" created BIGINT NOT NULL,"                                           \
	" updated BIGINT NOT NULL,"                                           \
	" UNIQUE (tenant, name));"                                            \
                                                                              \
	"CREATE TABLE units ("                                                \
	" id TEXT PRIMARY KEY,"                                               \
	" tenant TEXT NOT NULL REFERENCES tenants (id),"                      \
	" kind TEXT NOT NULL CHECK (kind IN ('mailbox', 'account', 'site'))," \
	" name TEXT NOT NULL,"                                                \
	" source TEXT NOT NULL,"                                              \
	" policy TEXT,"                                                       \
	" state TEXT NOT NULL,"                                               \
	" last_error TEXT,"                                                   \
	" created BIGINT NOT NULL,"                                           \
	" last_success BIGINT NOT NULL,"                                      \
	" last_attempt BIGINT NOT NULL,"                                      \
	" next_due BIGINT NOT NULL,"                                          \
	" failures INTEGER NOT NULL,"                                         \
	" UNIQUE (tenant, name));"                                            \
                                                                              \
	"CREATE TABLE restore_points ("                                       \
	" tenant TEXT NOT NULL REFERENCES tenants (id),"                      \
	" unit TEXT NOT NULL REFERENCES units (id),"                          \
	" seq BIGINT NOT NULL,"                                               \
	" time_ns BIGINT NOT NULL,"                                           \
	" hash TEXT NOT NULL,"                                                \
	" files BIGINT NOT NULL,"                                             \
	" bytes BIGINT NOT NULL,"                                             \
	" new_bytes BIGINT NOT NULL,"                                         \
	" stored_bytes BIGINT NOT NULL,"                                      \
	" incompressible_bytes BIGINT NOT NULL,"                              \
	" changed_entries BIGINT NOT NULL,"                                   \
	" nwarnings INTEGER NOT NULL,"                                        \
	" forgotten INTEGER NOT NULL,"                                        \
	" PRIMARY KEY (tenant, unit, seq));"                                  \
                                                                              \
	"CREATE TABLE sessions ("                                             \
	" id TEXT PRIMARY KEY,"                                               \
	" tenant TEXT NOT NULL REFERENCES tenants (id),"                      \
	" created_by TEXT NOT NULL,"                                          \
	" state TEXT NOT NULL,"                                               \
	" created BIGINT NOT NULL,"                                           \
	" finished BIGINT NOT NULL);"                                         \
                                                                              \
	"CREATE TABLE artifacts ("                                            \
	" session TEXT NOT NULL REFERENCES sessions (id),"                    \
	" tenant TEXT NOT NULL REFERENCES tenants (id),"                      \
	" unit TEXT NOT NULL REFERENCES units (id),"                          \
	" seq BIGINT NOT NULL,"                                               \
	" mode TEXT NOT NULL,"                                                \
	" target TEXT,"                                                       \
	" patterns TEXT,"                                                     \
	" state TEXT NOT NULL,"                                               \
	" error TEXT,"                                                        \
	" items_done BIGINT NOT NULL,"                                        \
	" items_total BIGINT NOT NULL,"                                       \
	" bytes_done BIGINT NOT NULL,"                                        \
	" bytes_total BIGINT NOT NULL,"                                       \
	" started BIGINT NOT NULL,"                                           \
	" finished BIGINT NOT NULL,"                                          \
	" PRIMARY KEY (session, unit));"

#define JOBS_COLUMNS \
	" tenant TEXT REFERENCES tenants (id),"                            \
	" unit TEXT REFERENCES units (id),"                                \
	" kind TEXT NOT NULL,"                                             \
	" session TEXT REFERENCES sessions (id),"                          \
	" state TEXT NOT NULL"                                             \
	"  CHECK (state IN ('queued', 'running', 'succeeded', 'failed'))," \
	" error TEXT,"                                                     \
	" detail TEXT,"                                                    \
	" attempts INTEGER NOT NULL,"                                      \
	" created BIGINT NOT NULL,"                                        \
	" not_before BIGINT NOT NULL,"                                     \
	" started BIGINT NOT NULL,"                                        \
	" finished BIGINT NOT NULL);"

#define TABLES_AFTER_JOBS \
	"CREATE TABLE tokens ("                                \
	" id TEXT PRIMARY KEY,"                                \
	" tenant TEXT REFERENCES tenants (id),"                \
	" role TEXT NOT NULL,"                                 \
	" name TEXT NOT NULL,"                                 \
	" hash TEXT NOT NULL UNIQUE,"                          \
	" created BIGINT NOT NULL,"                            \
	" last_used BIGINT NOT NULL,"                          \
	" revoked INTEGER NOT NULL);"                          \
                                                               \
	/* No foreign key: an entry outlives what it names. */ \
	"CREATE TABLE audit ("                                 \
	" seq BIGINT PRIMARY KEY,"                             \
	" time BIGINT NOT NULL,"                               \
	" tenant TEXT,"                                        \
	" actor TEXT NOT NULL,"                                \
	" action TEXT NOT NULL,"                               \
	" target TEXT,"                                        \
	" detail TEXT,"                                        \
	" prev TEXT NOT NULL,"                                 \
	" hash TEXT NOT NULL);"

/* Version 2: indexes, then the audit triggers. */
#define INDEXES \
	"CREATE INDEX units_policy ON units (policy);"                        \
	"CREATE INDEX jobs_queue ON jobs (state, not_before);"                \
	"CREATE INDEX jobs_unit ON jobs (unit, state);"                       \
	/* The enqueue dedup, enforced by the database as well. */            \
	"CREATE UNIQUE INDEX jobs_one_active ON jobs (unit, kind)"            \
	" WHERE state IN ('queued', 'running') AND kind <> 'restore';"        \
	"CREATE UNIQUE INDEX jobs_one_active_restore ON jobs (session, unit)" \
	" WHERE state IN ('queued', 'running') AND kind = 'restore';"         \
	"CREATE INDEX audit_tenant ON audit (tenant, seq);"

static const struct catalog_migration steps[] = {
	{ "tables", /* version 1 */
	  /* SQLite: INTEGER PRIMARY KEY is the rowid, numbered by the database. */
	  TABLES_BEFORE_JOBS
	  "CREATE TABLE jobs ("
	  " id INTEGER PRIMARY KEY,"
	  JOBS_COLUMNS TABLES_AFTER_JOBS,
	  /* PostgreSQL: an identity column. */
	  TABLES_BEFORE_JOBS
	  "CREATE TABLE jobs ("
	  " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	  JOBS_COLUMNS TABLES_AFTER_JOBS },

	{ "indexes, one active job per unit and kind, append-only audit", /* version 2 */
	  /* The code has no UPDATE or DELETE of audit rows; the triggers stop
	   * any other program using the ordinary SQL path. The hash chain
	   * detects whoever goes around them. SQLite: RAISE in a trigger. */
	  INDEXES
	  "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	  " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
	  "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
	  " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
	  /* PostgreSQL: a trigger function raising an exception, for UPDATE,
	   * DELETE and TRUNCATE. */
	  INDEXES
	  "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS"
	  " $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;"
	  "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	  " FOR EACH ROW EXECUTE FUNCTION audit_append_only();"
	  "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
	  " FOR EACH ROW EXECUTE FUNCTION audit_append_only();"
	  "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit"
	  " FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();" },

	{ "retention fixed per restore point, a tenant's minimum, imported store deletions",
	  /* version 3. keep_until/retain_until: Unix seconds fixed when the
	   * point is taken (0: a point from before version 3, which the policy
	   * of the day governs). */
	  "ALTER TABLE restore_points ADD COLUMN keep_until BIGINT NOT NULL DEFAULT 0;"
	  "ALTER TABLE restore_points ADD COLUMN retain_until BIGINT NOT NULL DEFAULT 0;"
	  "ALTER TABLE tenants ADD COLUMN min_retention_days BIGINT NOT NULL DEFAULT 365;"
	  /* Records of the stores' deletion logs already written into the
	   * audit log (service/deletions.c). */
	  "CREATE TABLE store_deletions ("
	  " tenant TEXT NOT NULL REFERENCES tenants (id),"
	  " unit TEXT NOT NULL,"
	  " name TEXT NOT NULL,"
	  " imported BIGINT NOT NULL,"
	  " PRIMARY KEY (tenant, unit, name));",
	  NULL },

	{ "job leases for several nodes, legal hold on units", /* version 4 */
	  /* A running job's lease (docs/service.md "Jobs"): the node that
	   * holds it, until when (Unix seconds; 0: no lease), and the fence,
	   * one more at each claim, that the holder shows when it writes. */
	  "ALTER TABLE jobs ADD COLUMN owner TEXT;"
	  "ALTER TABLE jobs ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;"
	  "ALTER TABLE jobs ADD COLUMN fence BIGINT NOT NULL DEFAULT 0;"
	  /* A unit's legal hold: its reason (NULL: none) and since when
	   * (0: none). */
	  "ALTER TABLE units ADD COLUMN legal_hold TEXT;"
	  "ALTER TABLE units ADD COLUMN legal_hold_since BIGINT NOT NULL DEFAULT 0;",
	  NULL },

	{ "privacy: erasure requests, unit destruction, offboarding, tenant legal hold, "
	  "deletion certificates", /* version 5 (docs/privacy.md) */
	  /* An erasure request (docs/privacy.md "Erasure ledger"): kind
	   * "addresses", "search" or "paths"; spec its JSON; state
	   * "requested", "rejected", "approved" (waiting for a legal hold to
	   * end) or "effective"; detail the JSON of what it withholds per
	   * unit. Times are Unix seconds, 0: not yet. */
	  "CREATE TABLE erasures ("
	  " id TEXT PRIMARY KEY,"
	  " tenant TEXT NOT NULL REFERENCES tenants (id),"
	  " kind TEXT NOT NULL,"
	  " spec TEXT NOT NULL,"
	  " reason TEXT NOT NULL,"
	  " state TEXT NOT NULL,"
	  " requested_by TEXT NOT NULL,"
	  " requested BIGINT NOT NULL,"
	  " decided_by TEXT,"
	  " decided BIGINT NOT NULL DEFAULT 0,"
	  " effective BIGINT NOT NULL DEFAULT 0,"
	  " detail TEXT);"
	  "CREATE INDEX erasures_tenant ON erasures (tenant, state);"
	  /* A tenant's own settings and states: a legal hold over all its
	   * units, whether an erasure needs a second person, the delay before
	   * a unit's destruction, the offboarding grace period, and when an
	   * offboarding was asked and falls due (0: none). */
	  "ALTER TABLE tenants ADD COLUMN legal_hold TEXT;"
	  "ALTER TABLE tenants ADD COLUMN legal_hold_since BIGINT NOT NULL DEFAULT 0;"
	  "ALTER TABLE tenants ADD COLUMN erasure_four_eyes INTEGER NOT NULL DEFAULT 1;"
	  "ALTER TABLE tenants ADD COLUMN destroy_delay_days BIGINT NOT NULL DEFAULT 7;"
	  "ALTER TABLE tenants ADD COLUMN offboard_grace_days BIGINT NOT NULL DEFAULT 90;"
	  "ALTER TABLE tenants ADD COLUMN offboard_requested BIGINT NOT NULL DEFAULT 0;"
	  "ALTER TABLE tenants ADD COLUMN offboard_due BIGINT NOT NULL DEFAULT 0;"
	  /* A unit's destruction (asked, due; 0: none) and since when its
	   * source is gone (0: it is there). */
	  "ALTER TABLE units ADD COLUMN destroy_requested BIGINT NOT NULL DEFAULT 0;"
	  "ALTER TABLE units ADD COLUMN destroy_due BIGINT NOT NULL DEFAULT 0;"
	  "ALTER TABLE units ADD COLUMN source_gone_since BIGINT NOT NULL DEFAULT 0;"
	  /* What the erasure ledger withheld from a restore: JSON
	   * {"items": N, "byRequest": [{"request", "items"}]}; NULL: nothing. */
	  "ALTER TABLE artifacts ADD COLUMN withheld TEXT;"
	  /* Signed deletion certificates (docs/privacy.md "Deletion
	   * certificate"). No foreign key: a certificate outlives the tenant
	   * and the units it names. */
	  "CREATE TABLE deletion_certificates ("
	  " id TEXT PRIMARY KEY,"
	  " tenant TEXT NOT NULL,"
	  " subject TEXT NOT NULL,"
	  " created BIGINT NOT NULL,"
	  " body TEXT NOT NULL);",
	  NULL },

	{ "restore drills", /* version 6 (docs/service.md "Restore drills") */
	  /* A policy's drill settings as JSON {"everySeconds", "coverDays",
	   * "sample"}; NULL: no drills. */
	  "ALTER TABLE policies ADD COLUMN drill TEXT;"
	  /* One row per finished drill of a unit, numbered from 1 per unit:
	   * the number picks the slice of the unit's packs it reads (seq - 1
	   * mod slices), so coverage goes on across restarts. state "passed"
	   * or "failed"; detail the JSON of what it read and found. */
	  "CREATE TABLE drills ("
	  " tenant TEXT NOT NULL REFERENCES tenants (id),"
	  " unit TEXT NOT NULL REFERENCES units (id),"
	  " seq BIGINT NOT NULL,"
	  " state TEXT NOT NULL CHECK (state IN ('passed', 'failed')),"
	  " started BIGINT NOT NULL,"
	  " finished BIGINT NOT NULL,"
	  " restore_point BIGINT NOT NULL,"
	  " slice BIGINT NOT NULL,"
	  " slices BIGINT NOT NULL,"
	  " packs BIGINT NOT NULL,"
	  " bytes BIGINT NOT NULL,"
	  " samples BIGINT NOT NULL,"
	  " withheld BIGINT NOT NULL,"
	  " problems BIGINT NOT NULL,"
	  " detail TEXT,"
	  " PRIMARY KEY (tenant, unit, seq));",
	  NULL },
};

const struct catalog_migration *catalog_schema_steps(size_t *n_r)
{
	*n_r = sizeof(steps) / sizeof(steps[0]);
	return steps;
}
