#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/mem.h"

/* A folder being walked: open, its names read and sorted. */
struct frame {
	char *rel;
	int fd;    /* the root's fd is the caller's and not closed */
	char **names;
	size_t n, next;
};

struct walker {
	int root_fd;
	char *root;
	walk_warn_cb *warn;
	void *ctx;
	struct frame *stack;
	size_t depth, cap;
	char *rel, *abs;
	int at_fd;           /* the folder of the item just returned */
	const char *at_name; /* and its name there */
	int pending_dir;     /* the last item was a folder to enter */
	int started;
	char *dents;         /* getdents64 buffer */
};

#define DENTS_SIZE 32768

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct walker *walker_open(int root_fd, const char *root, walk_warn_cb *warn, void *ctx,
			   struct error *err)
{
	struct walker *w;

	if (root_fd < 0) {
		error_set(err, "%s is not open", root);
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->root_fd = root_fd;
	w->root = xstrdup(root);
	w->warn = warn;
	w->ctx = ctx;
	return w;
}

static void frame_free(struct walker *w, struct frame *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->names[i]);
	free(f->names);
	free(f->rel);
	if (f->fd != w->root_fd)
		close(f->fd);
}

void walker_close(struct walker **wp)
{
	struct walker *w = *wp;

	if (w == NULL)
		return;
	while (w->depth > 0)
		frame_free(w, &w->stack[--w->depth]);
	free(w->stack);
	free(w->root);
	free(w->rel);
	free(w->abs);
	free(w->dents);
	free(w);
	*wp = NULL;
}

static void walker_warn(struct walker *w, const char *what, int error)
{
	char *msg;

	if (error == ELOOP || error == ENOTDIR)
		msg = xasprintf("cannot read folder %s: it was replaced while the walk ran (a "
				"symbolic link is not followed)", w->abs);
	else
		msg = xasprintf("cannot %s folder %s: %s", what, w->abs, strerror(error));
	if (w->warn)
		w->warn(w->ctx, msg);
	free(msg);
}

/* Reads the names of the open folder fd into f; -1 (errno) if it cannot. */
static int frame_read(struct walker *w, struct frame *f)
{
	size_t cap = 0;
	ssize_t len;

	if (w->dents == NULL)
		w->dents = xmalloc(DENTS_SIZE);
	while ((len = getdents64(f->fd, w->dents, DENTS_SIZE)) > 0) {
		for (ssize_t off = 0; off < len;) {
			struct dirent64 *de = (struct dirent64 *)(void *)(w->dents + off);

			off += de->d_reclen;
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (f->n == cap) {
				cap = cap ? cap * 2 : 32;
				f->names = xrealloc(f->names, xmul(cap, sizeof(char *)));
			}
			f->names[f->n++] = xstrdup(de->d_name);
		}
	}
	return len < 0 ? -1 : 0;
}

/* Enters the folder just returned: opened in its parent's fd, never
 * through a link (it may have been swapped for one since it was seen). */
static void walker_push(struct walker *w)
{
	struct frame f = { .fd = w->root_fd };

	if (*w->rel != '\0')
		f.fd = openat(w->at_fd, w->at_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (f.fd < 0) {
		walker_warn(w, "read", errno);
		return;
	}
	if (frame_read(w, &f) < 0) {
		walker_warn(w, "read", errno);
		frame_free(w, &f);
		return;
	}
	f.rel = xstrdup(w->rel);
	if (f.n)
		qsort(f.names, f.n, sizeof(char *), name_cmp);
	if (w->depth == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->stack = xrealloc(w->stack, xmul(w->cap, sizeof(*w->stack)));
	}
	w->stack[w->depth++] = f;
}

void walker_skip(struct walker *w) { w->pending_dir = 0; }

int walker_at(const struct walker *w, const char **name_r)
{
	*name_r = w->at_name;
	return w->at_fd;
}

int walker_next(struct walker *w, const char **rel_r, const char **abs_r, struct stat *st_r,
		struct error *err)
{
	if (w->pending_dir) {
		w->pending_dir = 0;
		walker_push(w);
	}
	for (;;) {
		struct frame *f;
		const char *name;

		free(w->rel);
		free(w->abs);
		w->rel = w->abs = NULL;
		if (!w->started) {
			w->started = 1;
			w->rel = xstrdup("");
			w->abs = xstrdup(w->root);
			w->at_fd = w->root_fd;
			w->at_name = ".";
			if (fstat(w->root_fd, st_r) < 0)
				return error_sys(err, "fstat(%s) failed", w->root);
		} else {
			if (w->depth == 0)
				return 0;
			f = &w->stack[w->depth - 1];
			if (f->next == f->n) {
				frame_free(w, f);
				w->depth--;
				continue;
			}
			name = f->names[f->next++];
			w->rel = *f->rel ? xasprintf("%s/%s", f->rel, name) : xstrdup(name);
			w->abs = fs_join(w->root, w->rel);
			w->at_fd = f->fd;
			w->at_name = name;
			if (fstatat(f->fd, name, st_r, AT_SYMLINK_NOFOLLOW) < 0) {
				if (errno == ENOENT) /* vanished since the listing */
					continue;
				return error_sys(err, "lstat(%s) failed", w->abs);
			}
		}
		w->pending_dir = S_ISDIR(st_r->st_mode);
		*rel_r = w->rel;
		*abs_r = w->abs;
		return 1;
	}
}
