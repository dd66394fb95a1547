#ifndef COFFER_VIEWS_H
#define COFFER_VIEWS_H

/* The JSON form of catalog records, as the API shows them (docs/api.md):
 * one function per resource, so the server and the service never format
 * a record twice. camelCase names; times as RFC 3339 UTC strings and Unix
 * seconds ("created": "...", "createdUnix": N). Each returns a new object. */

#include <stdint.h>

#include "catalog/catalog.h"

struct json_object;
struct catalog_tenant;
struct catalog_unit;
struct catalog_policy;
struct catalog_rp;
struct catalog_job;
struct catalog_session;
struct catalog_token;
struct catalog_audit;
struct catalog_erasure;

struct json_object *view_tenant(const struct catalog_tenant *t);
struct json_object *view_unit(const struct catalog_unit *u);
struct json_object *view_policy(const struct catalog_policy *p);
struct json_object *view_rp(const struct catalog_rp *rp);
struct json_object *view_job(const struct catalog_job *j);
/* With its artifacts, each with progress and ETA. */
struct json_object *view_session(const struct catalog_session *s, int64_t now);
/* An erasure request (docs/privacy.md 2): its spec's fields inline,
 * `waitingFor` the legal hold an approved one waits for (NULL: none). */
struct json_object *view_erasure(const struct catalog_erasure *e, const char *waiting);
struct json_object *view_token(const struct catalog_token *t);
struct json_object *view_audit(const struct catalog_audit *a);
/* The API's name of an entry type (engine/meta.h META_*): "file", "dir",
 * "symlink", "hardlink", "fifo", "chr", "blk", "sock", else "unknown". */
const char *view_entry_type(uint8_t type);
/* The API's name of a restore mode ("inPlace"; NULL for none), and the
 * mode of an API name (0 for a name that is none). */
const char *view_restore_mode_name(enum catalog_restore_mode m);
enum catalog_restore_mode view_restore_mode_of(const char *name);

#endif
