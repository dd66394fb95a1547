#ifndef COFFER_FSMETA_H
#define COFFER_FSMETA_H

/* Between live files and metadata records: reading a file's metadata into
 * a record, and putting a record's metadata back onto a file: owner (ids
 * and names), mode, the xattrs coffer keeps (user.*, trusted.*, security.*
 * and the POSIX ACLs; docs/format.md 8), times. */

#include <stdint.h>
#include <sys/stat.h>

struct error;
struct meta_entry;

uint8_t fsmeta_type(mode_t mode);
void fsmeta_from_stat(struct meta_entry *e, const struct stat *st);
/* Whether coffer keeps the xattr called `name`: user.*, trusted.*,
 * security.*, system.posix_acl_access and system.posix_acl_default. */
int fsmeta_xattr_kept(const char *name);
/* Adds the kept extended attributes of `name` in the folder dirfd (never
 * through a link; "." for dirfd's folder); failures are returned as a
 * message naming `shown` that the caller frees (NULL if none). */
char *fsmeta_read_xattrs(struct meta_entry *e, int dirfd, const char *name, const char *shown);

/* What a backup reads of each entry besides lstat(): its xattrs and its
 * owner's names (each id looked up once per reader). Not thread-safe: one
 * per walk. */
struct fsmeta_reader;
struct fsmeta_reader *fsmeta_reader_create(void);
void fsmeta_reader_destroy(struct fsmeta_reader **r);
/* Adds the owner names and the kept xattrs to e (as fsmeta_read_xattrs).
 * An attribute the process may not read (EPERM, EACCES) is only counted,
 * for fsmeta_reader_summary(); other failures come back as a message the
 * caller frees (NULL if none). */
char *fsmeta_reader_read(struct fsmeta_reader *r, struct meta_entry *e, int dirfd,
			 const char *name, const char *shown);
/* One line on the attributes that could not be read, or NULL; the caller
 * frees it. */
char *fsmeta_reader_summary(const struct fsmeta_reader *r);
/* Hard links as backup records them: the first path seen of a multiply
 * linked inode keeps the content, later paths name it. */
struct fsmeta_links;
struct fsmeta_links *fsmeta_links_new(void);
void fsmeta_links_free(struct fsmeta_links **l);
/* The first path recorded for st's inode, or NULL (and `path` is recorded
 * as the first). The result is owned by the table. */
const char *fsmeta_links_first(struct fsmeta_links *l, const struct stat *st, const char *path);

/* What a restore puts back, decided once: the owner by name where the
 * name exists here, else by id (by id only with `numeric_owner`); as root
 * everything, else mode, times, user.* xattrs and ACLs; SELinux labels
 * only on a host with SELinux enabled. Not thread-safe. */
struct fsmeta_writer;
struct fsmeta_writer *fsmeta_writer_create(int numeric_owner);
void fsmeta_writer_destroy(struct fsmeta_writer **w);
/* Tells the writer about a live entry of the target (read with
 * fsmeta_read_xattrs()): a folder with a default ACL means new entries
 * may inherit an ACL their records do not have. */
void fsmeta_writer_note_live(struct fsmeta_writer *w, const struct meta_entry *live);
/* Whether the live entry's owner already is e's owner as this writer maps
 * it (always, when it cannot change owners). */
int fsmeta_writer_same_owner(struct fsmeta_writer *w, const struct meta_entry *live,
			     const struct meta_entry *e);
/* Whether the live entry has e's type, mode, owner, mtime (but for
 * folders), link target and the xattrs this writer would apply. */
int fsmeta_writer_same(struct fsmeta_writer *w, const struct meta_entry *live,
		       const struct meta_entry *e);
/* Applies owner, mode, xattrs and times of e, in that order (chown clears
 * set-id bits and capabilities), to `name` in the folder dirfd ("." for
 * dirfd's folder), never through a link in name; `shown` is its path for
 * messages. `fresh`: it was just created, so it has no attributes to
 * remove but an inherited ACL. What the process may not apply is counted
 * for fsmeta_writer_summary(), not an error. */
int fsmeta_apply(struct fsmeta_writer *w, const struct meta_entry *e, int dirfd,
		 const char *name, const char *shown, int fresh, struct error *err);
/* One line on what could not be applied ("not applied: ..."), or NULL;
 * the caller frees it. */
char *fsmeta_writer_summary(const struct fsmeta_writer *w);

#endif
