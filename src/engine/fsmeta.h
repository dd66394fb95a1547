#ifndef COFFER_FSMETA_H
#define COFFER_FSMETA_H

/* Between live files and metadata records: reading a file's metadata into
 * a record, and putting a record's metadata (owner, mode, user.* xattrs,
 * times) back onto a file. */

#include <stdint.h>
#include <sys/stat.h>

struct error;
struct meta_entry;

uint8_t fsmeta_type(mode_t mode);
void fsmeta_from_stat(struct meta_entry *e, const struct stat *st);
/* Adds the user.* extended attributes of `name` in the folder dirfd (never
 * through a link; "." for dirfd's folder); failures are returned as a
 * message naming `shown` that the caller frees (NULL if none). */
char *fsmeta_read_xattrs(struct meta_entry *e, int dirfd, const char *name, const char *shown);
/* Hard links as backup records them: the first path seen of a multiply
 * linked inode keeps the content, later paths name it. */
struct fsmeta_links;
struct fsmeta_links *fsmeta_links_new(void);
void fsmeta_links_free(struct fsmeta_links **l);
/* The first path recorded for st's inode, or NULL (and `path` is recorded
 * as the first). The result is owned by the table. */
const char *fsmeta_links_first(struct fsmeta_links *l, const struct stat *st, const char *path);

/* Applies owner (when root), mode, xattrs and times of e to `name` in the
 * folder dirfd ("." for dirfd's folder), never through a link in name;
 * `shown` is its path for messages. `fresh`: it was just created, so it
 * has no attributes to remove. */
int fsmeta_apply(const struct meta_entry *e, int dirfd, const char *name, const char *shown,
		 int fresh, struct error *err);

#endif
