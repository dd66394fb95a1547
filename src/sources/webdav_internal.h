#ifndef COFFER_WEBDAV_INTERNAL_H
#define COFFER_WEBDAV_INTERNAL_H

/* What the webdav source's files share (webdav_source.c: the source JSON
 * and its ops; webdav_backup.c; webdav_restore.c; webdav_lister.c). */

struct error;
struct source_restore_opts;
struct source_restore_result;
struct store;

#define XA_ETAG "user.webdav.etag"
#define XA_CTYPE "user.webdav.contenttype"
#define XA_FILEID "user.webdav.fileid"
#define XA_CHECKSUMS "user.webdav.checksums"
#define XA_PERMS "user.webdav.permissions"
#define XA_PROPS "user.webdav.props"
/* On the unit's collection: when the tree was last listed with allprop,
 * and whether this point was ("1": an entry without XA_PROPS has none;
 * else it is not known, and a restore leaves the server's alone). */
#define XA_ALLPROP "user.webdav.allprop-time"
#define XA_PROPS_LISTED "user.webdav.props-listed"
/* A unit without dead properties is listed with allprop once a day. */
#define DAV_ALLPROP_EVERY_S 86400
#define DAV_MAX_TREE_DEPTH 200
/* Requests in flight at once, each over a connection of its own: so many
 * collections listed ahead of the walk, files downloaded, files written
 * by a restore (source JSON "connections"). */
#define DAV_CONNECTIONS 4
#define DAV_MAX_CONNECTIONS 16

/* Whether child lies directly inside the collection at dir ("" the
 * unit's collection). */
int webdav_is_child(const char *dir, const char *child);

/* The source's restore (webdav_restore.c), for its ops table. */
int webdav_restore(struct store *s, const struct source_restore_opts *o,
		   struct source_restore_result *res, struct error *err);

#endif
