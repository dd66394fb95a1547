#ifndef COFFER_CATALOG_SCHEMA_H
#define COFFER_CATALOG_SCHEMA_H

/* The catalog's schema as an ordered list of migration steps (private to
 * src/catalog). Step i (from 0) takes a catalog from schema version i to
 * i + 1; the driver applies each pending step in a transaction of its own
 * and records the new version in the schema_version table. Steps are never
 * edited once released: a change is a new step at the end. */

#include <stddef.h>

struct catalog_migration {
	const char *what; /* for logs and errors */
	const char *sql;  /* statements, no values: run as one script */
	const char *pg_sql; /* PostgreSQL's text where it differs; NULL: sql */
};

/* The steps in order; *n_r is the latest schema version. */
const struct catalog_migration *catalog_schema_steps(size_t *n_r);

#endif
