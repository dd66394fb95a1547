#ifndef COFFER_FSUTIL_H
#define COFFER_FSUTIL_H

/* File helpers with coffer's durability rules: objects are committed by
 * writing a temporary file in the same folder, fsync, link() to the final
 * name (never replacing), unlink the temporary, fsync the folder. */

#include <stddef.h>
#include <sys/types.h>

struct buf;
struct error;

/* Reads all of `path` into `out` (appending); fails past `max` bytes. */
int fs_read_file(const char *path, struct buf *out, size_t max, struct error *err);

/* Creates `path` and its parents (mode 0700 for new folders). */
int fs_mkdir_p(const char *path, struct error *err);

int fs_fsync_dir(const char *dir, struct error *err);

/* Writes the whole range, retrying short writes. */
int fs_write_all(int fd, const void *data, size_t len, const char *what, struct error *err);
int fs_pwrite_all(int fd, const void *data, size_t len, off_t off, const char *what,
		  struct error *err);
/* Reads exactly len bytes at off; a short file is an error naming `what`. */
int fs_pread_all(int fd, void *data, size_t len, off_t off, const char *what, struct error *err);

/* Opens a new temporary file beside `final_path`, or in `tmp_dir` (then
 * named "<unix time>-XXXXXX", so a cleaner can tell its age); returns the fd
 * and the temporary name (caller frees). */
int fs_tmp_open(const char *final_path, const char *tmp_dir, char **tmp_path_r,
		struct error *err);

/* fsyncs `fd` (when durable), closes it, links `tmp_path` to `final_path`
 * without replacing (ERROR_EXISTS if taken), removes the temporary and
 * fsyncs the folder (when durable). On failure the temporary is removed. */
int fs_tmp_commit(int fd, const char *tmp_path, const char *final_path, int durable,
		  struct error *err);

/* Commits `data` to `path` atomically and without replacing. */
int fs_write_once(const char *path, const void *data, size_t len, struct error *err);

/* Like fs_write_once() but replaces (for local caches, never for the store). */
int fs_write_replace(const char *path, const void *data, size_t len, struct error *err);

/* A secret's new file (a key file): created with O_EXCL and mode 0600,
 * written and synced; an existing file is refused (ERROR_EXISTS) and left
 * alone, and on failure no file is left. */
int fs_write_secret(const char *path, const void *data, size_t len, struct error *err);

/* Removes a file or a whole tree; a missing path is not an error. */
int fs_remove_tree(const char *path, struct error *err);

/* "a/b" + "c" -> "a/b/c"; caller frees. */
char *fs_join(const char *a, const char *b);

#endif
