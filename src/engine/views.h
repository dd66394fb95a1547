#ifndef COFFER_ENGINE_VIEWS_H
#define COFFER_ENGINE_VIEWS_H

/* The JSON form of store and engine records: restore points, their
 * tombstones, deletion-log records, mail search hits. The CLI's --json
 * (which works on the store without the service) and the service (API,
 * audit details) both show them through these, so a record has one shape
 * and one spelling wherever it appears; service/views.h does the same for
 * catalog records. camelCase names; a time as "key": RFC 3339 UTC and
 * "keyUnix": seconds (docs/api.md, docs/cli.md "JSON output"). Each
 * returns a new object. */

#include <stdint.h>

struct find_version;
struct json_object;
struct mailindex_hit;
struct rp;
struct rp_stats;
struct rp_tombstone;
struct store_deletion;

/* "key": "2026-11-21T07:53:04Z" and "keyUnix": unix_s. */
void view_add_time(struct json_object *o, const char *key, int64_t unix_s);

/* files, dirs, bytes, newBlobs, newBytes, storedBytes, incompressibleBytes. */
struct json_object *view_point_stats(const struct rp_stats *st);

/* A live restore point: unit, seq, time, timeNs, source, keepUntil and
 * retainUntil when set, stats, warnings (a count). */
struct json_object *view_point(const struct rp *rp);

/* A forgotten point (a tombstone): unit, seq, time, timeNs, forgotten (the
 * time it was forgotten). */
struct json_object *view_tombstone(const struct rp_tombstone *t);

/* A deletion-log record: unit, record (its name), time, timeNs, action,
 * restorePoints (forget), packs and bytes (prune), tool, host. */
struct json_object *view_deletion(const struct store_deletion *d);

/* A mail search hit: the message (key, date, from, to, subject,
 * hasAttachment, size, snippet, parseError), where it matched (unit,
 * restorePoint, folder, path, uid, flags), every point holding it
 * (restorePoints: "UNIT@N", sorted, once each) and its places. */
struct json_object *view_hit(const struct mailindex_hit *h);

/* A version of a found path (engine/find.h): path, version, type ("file",
 * "folder", "link", "other"), size, modified, firstPoint, lastPoint (seq),
 * firstTime, lastTime (of those points), points (how many hold it). */
struct json_object *view_find_version(const struct find_version *v);

#endif
