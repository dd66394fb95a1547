#ifndef COFFER_WEBDAV_LISTER_H
#define COFFER_WEBDAV_LISTER_H

/* Lists the collections of a WebDAV tree ahead of a walk (docs/webdav.md
 * "The protocol subset used"): PROPFIND Depth: 1 over several connections
 * of its own, so a walk that goes depth first in tree order waits for one
 * round trip at a time only when the server is slower than it. Each
 * listing's subcollections are queued as it arrives and listed smallest
 * path first (the order the walk asks for them); at most a bounded number
 * of answers wait unread. */

#include <stdint.h>

struct dav_list;
struct dav_opts;
struct error;
struct dav_lister;

struct dav_res;
/* Whether a subcollection found in a listing is to be listed ahead: 0
 * keeps it out of the queue (the walk will not ask for it). Called from
 * the listing threads: it must only read what does not change meanwhile. */
typedef int dav_lister_want_fn(void *ctx, const struct dav_res *r);

/* nconn connections (1..16), opened with o. want (NULL: every one) picks
 * the subcollections listed ahead. */
struct dav_lister *dav_lister_open(const struct dav_opts *o, int nconn, dav_lister_want_fn *want,
				   void *want_ctx, struct error *err);
void dav_lister_close(struct dav_lister **ls);

/* The listing of collection path ("" the base): as dav_propfind Depth 1.
 * Each collection is to be asked for once, parents before children. 0,
 * or -1 and err (the listing's own error, naming the URL). */
int dav_lister_get(struct dav_lister *ls, const char *path, struct dav_list *l,
		   struct error *err);

/* Requests made so far by all its connections. */
uint64_t dav_lister_requests(struct dav_lister *ls);

#endif
