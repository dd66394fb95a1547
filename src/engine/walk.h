#ifndef COFFER_WALK_H
#define COFFER_WALK_H

/* Walks a live folder in the metadata stream's order (depth-first,
 * children sorted by name), so it can be merge-joined with a restore
 * point. It goes through folder fds and never follows a symbolic link: a
 * link is returned as a link, and a folder swapped for a link while the
 * walk runs is not entered (docs/engine.md "Confinement"). */

#include <sys/stat.h>

struct error;
struct walker;

/* Called for a folder that cannot be read; the walk goes on without it. */
typedef void walk_warn_cb(void *ctx, const char *msg);

/* Walks the folder open as root_fd (fsat_open_root(); it stays the
 * caller's and must stay open until walker_close()). `root` is its
 * path, for the absolute paths returned and for messages. */
struct walker *walker_open(int root_fd, const char *root, walk_warn_cb *warn, void *ctx,
			   struct error *err);
void walker_close(struct walker **w);
/* 1 with the next item (strings owned by the walker, valid until the next
 * call; rel is "" for the root), 0 at the end, -1 on error. */
int walker_next(struct walker *w, const char **rel_r, const char **abs_r, struct stat *st_r,
		struct error *err);
/* Where the item just returned is: the fd of its folder and its name
 * there (the root: root_fd and "."), valid until the next call; for
 * reading it with the *at calls without following a link. */
int walker_at(const struct walker *w, const char **name_r);
/* Do not descend into the folder just returned. */
void walker_skip(struct walker *w);

#endif
