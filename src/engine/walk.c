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

struct frame {
	char *rel;
	char **names;
	size_t n, next;
};

struct walker {
	char *root;
	walk_warn_cb *warn;
	void *ctx;
	struct frame *stack;
	size_t depth, cap;
	char *rel, *abs;
	int pending_dir; /* the last item was a folder to enter */
	int started;
};

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct walker *walker_open(const char *root, walk_warn_cb *warn, void *ctx, struct error *err)
{
	struct walker *w;
	struct stat st;

	if (lstat(root, &st) < 0) {
		error_sys(err, "lstat(%s) failed", root);
		return NULL;
	}
	if (!S_ISDIR(st.st_mode)) {
		error_set(err, "%s is not a folder", root);
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->root = xstrdup(root);
	w->warn = warn;
	w->ctx = ctx;
	return w;
}

static void frame_free(struct frame *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->names[i]);
	free(f->names);
	free(f->rel);
}

void walker_destroy(struct walker **wp)
{
	struct walker *w = *wp;

	if (w == NULL)
		return;
	while (w->depth > 0)
		frame_free(&w->stack[--w->depth]);
	free(w->stack);
	free(w->root);
	free(w->rel);
	free(w->abs);
	free(w);
	*wp = NULL;
}

static void walker_push(struct walker *w)
{
	struct frame f = { .rel = xstrdup(w->rel) };
	size_t cap = 0;
	struct dirent *de;
	DIR *d = opendir(w->abs);

	if (d == NULL) {
		char *msg = xasprintf("cannot read folder %s: %s", w->abs, strerror(errno));

		if (w->warn)
			w->warn(w->ctx, msg);
		free(msg);
		free(f.rel);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (f.n == cap) {
			cap = cap ? cap * 2 : 32;
			f.names = xrealloc(f.names, xmul(cap, sizeof(char *)));
		}
		f.names[f.n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (f.n)
		qsort(f.names, f.n, sizeof(char *), name_cmp);
	if (w->depth == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->stack = xrealloc(w->stack, xmul(w->cap, sizeof(*w->stack)));
	}
	w->stack[w->depth++] = f;
}

void walker_skip(struct walker *w) { w->pending_dir = 0; }

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
		} else {
			if (w->depth == 0)
				return 0;
			f = &w->stack[w->depth - 1];
			if (f->next == f->n) {
				frame_free(f);
				w->depth--;
				continue;
			}
			name = f->names[f->next++];
			w->rel = *f->rel ? xasprintf("%s/%s", f->rel, name) : xstrdup(name);
			w->abs = fs_join(w->root, w->rel);
		}
		if (lstat(w->abs, st_r) < 0) {
			if (errno == ENOENT) /* vanished since the listing */
				continue;
			return error_sys(err, "lstat(%s) failed", w->abs);
		}
		w->pending_dir = S_ISDIR(st_r->st_mode);
		*rel_r = w->rel;
		*abs_r = w->abs;
		return 1;
	}
}
