#ifndef COFFER_FSAT_H
#define COFFER_FSAT_H

/* File operations relative to open folders that never follow a symbolic
 * link (docs/engine.md "Confinement"). Backup and restore open a unit's
 * folder once and do everything below it through folder fds, so a part of
 * a path swapped for a link at any moment — above the unit, below the
 * confinement root, or inside the unit during the walk — makes the
 * operation fail instead of redirecting it.
 *
 * Linux: openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) (5.6; else one
 * O_NOFOLLOW open per component), fchmodat2 (6.6; else glibc's
 * fchmodat(AT_SYMLINK_NOFOLLOW)), the *xattrat calls (6.13; else the l*xattr
 * calls on /proc/self/fd/N/NAME; without /proc, an fd of a file or folder).
 * Which of them the kernel has is learnt on first use. Thread-safe. */

#include <stddef.h>
#include <sys/types.h>

struct error;

/* Opens the folder `path` (absolute) as the root of a walk or a restore
 * (O_RDONLY | O_DIRECTORY, close-on-exec) and returns its fd; a symbolic
 * link as its last component is refused, never followed.
 * With `beneath` (a folder that `path` is or lies inside, compared as
 * strings; no empty, "." or ".." part below it), no link is followed from
 * beneath's own last component down to path: the links above beneath are
 * the operator's. Without it, links above path's last component are
 * followed (a path the user gave).
 * With `create`, missing folders are made (mode 0700): below beneath one
 * at a time, without it as `mkdir -p`.
 * -1 with an error naming the link ("/r/t/a is a symbolic link; coffer
 * follows no link below /r/t"), the part that is not a folder, or the
 * failed call; a missing folder has the code ERROR_NOTFOUND. */
int fsat_open_root(const char *beneath, const char *path, int create, struct error *err);

/* openat(dirfd, rel, flags | O_NOFOLLOW | O_CLOEXEC, mode) where no part
 * of rel may be a symbolic link (errno ELOOP) and rel may not leave dirfd
 * (EXDEV: absolute, or ".." above it). The fd, or -1 with errno. */
int fsat_open(int dirfd, const char *rel, int flags, mode_t mode);

/* The folder holding rel below dirfd, opened as fsat_open() does (O_PATH);
 * *name_r points at rel's last part. -1 with errno. */
int fsat_open_parent(int dirfd, const char *rel, const char **name_r);

/* Removes `name` in the folder dirfd: a file, a link (never what it
 * names), or a folder with everything in it, following no link. A missing
 * name is not an error. `shown` is name's path for messages. */
int fsat_remove_tree(int dirfd, const char *name, const char *shown, struct error *err);

/* chmod of `name` in dirfd that never goes through a link (a link itself:
 * -1, EOPNOTSUPP). 0 or -1 with errno. */
int fsat_chmod(int dirfd, const char *name, mode_t mode);

/* Extended attributes of `name` in dirfd ("." for dirfd's folder itself),
 * never through a link in name: the l*xattr calls' arguments and returns. */
ssize_t fsat_listxattr(int dirfd, const char *name, char *list, size_t size);
ssize_t fsat_getxattr(int dirfd, const char *name, const char *attr, void *value, size_t size);
int fsat_setxattr(int dirfd, const char *name, const char *attr, const void *value,
		  size_t size);
int fsat_removexattr(int dirfd, const char *name, const char *attr);

/* The folders of paths below a root, kept open for a caller that goes
 * through paths in tree order (a restore's passes): a path's folder is
 * opened once, part by part without following links, and reused by the
 * paths after it, so most calls cost no system call. Not thread-safe. */
struct fsat_dirs;

/* root_fd stays the caller's (open while the cursor is used); `root`
 * names it in messages. */
struct fsat_dirs *fsat_dirs_open(int root_fd, const char *root);
void fsat_dirs_close(struct fsat_dirs **d);
/* The fd of the folder holding `rel` (relative to the root, "" for the
 * root itself) and rel's name in it (the root: its own fd and "."). -1
 * with an error naming the part that is a link or not a folder. The fd is
 * the cursor's, valid until the next call. */
int fsat_dirs_parent(struct fsat_dirs *d, const char *rel, const char **name_r,
		     struct error *err);
/* Closes the folders at or below rel the cursor holds open (rel was
 * removed or replaced). */
void fsat_dirs_forget(struct fsat_dirs *d, const char *rel);

#endif
