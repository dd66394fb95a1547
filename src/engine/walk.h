#ifndef COFFER_WALK_H
#define COFFER_WALK_H

/* Walks a live folder in the metadata stream's order (depth-first,
 * children sorted by name), without following symlinks, so it can be
 * merge-joined with a restore point. */

#include <sys/stat.h>

struct error;
struct walker;

/* Called for a folder that cannot be read; the walk goes on without it. */
typedef void walk_warn_cb(void *ctx, const char *msg);

struct walker *walker_open(const char *root, walk_warn_cb *warn, void *ctx, struct error *err);
void walker_destroy(struct walker **w);
/* 1 with the next item (strings owned by the walker, valid until the next
 * call; rel is "" for the root), 0 at the end, -1 on error. */
int walker_next(struct walker *w, const char **rel_r, const char **abs_r, struct stat *st_r,
		struct error *err);
/* Do not descend into the folder just returned. */
void walker_skip(struct walker *w);

#endif
