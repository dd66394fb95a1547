#ifndef COFFER_WEBDAV_SOURCE_H
#define COFFER_WEBDAV_SOURCE_H

/* The webdav source (sources/webdav_source.c, docs/webdav.md): its source
 * JSON read into client options, and a backup with its own counts. */

#include <stdint.h>

struct dav_opts;
struct error;
struct json_object;
struct source_backup_opts;
struct store;

/* Reads the source JSON; *url_r is the unit URL ending in '/', which
 * o->url points to (the caller frees it). The other strings point into
 * source. -1 (ERROR_USAGE) naming what is wrong. */
int webdav_source_opts(const struct json_object *source, struct dav_opts *o, char **url_r,
		       struct error *err);

/* The host (no brackets) and port (the scheme's default if none) the
 * source's URL names, for the service's network policy; *host_r freed by
 * the caller. -1 (ERROR_USAGE) if the source is malformed. */
int webdav_source_place(const struct json_object *source, char **host_r, uint16_t *port_r,
			struct error *err);

struct webdav_backup_result {
	uint32_t seq;
	uint64_t files, dirs, bytes, new_bytes, stored_bytes, incompressible_bytes, nwarnings;
	uint64_t changed;      /* entries added, changed or removed since the parent */
	uint64_t reused;       /* files whose content was the parent's (not downloaded) */
	uint64_t skipped;      /* collections not listed: ownCloud/Nextcloud said unchanged */
	uint64_t fetched, bytes_fetched; /* files downloaded, their bytes */
	uint64_t requests;     /* HTTP requests made */
};

int webdav_backup_run(struct store *s, const struct source_backup_opts *o,
		      struct webdav_backup_result *res, struct error *err);

#endif
