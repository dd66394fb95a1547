#include "writers.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/hex.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/parse.h"
#include "store/backend.h"
#include "store/store.h"

#define MARKER_MAX 256

struct marker {
	char id[33];
	int64_t start;
	int started, ended, unreadable;
};

struct marker_list {
	struct marker *v;
	size_t n;
};

struct writers {
	struct store_unit *u;
	struct backend *be;
	const char *name;
	int64_t timeout;
	char own[33];             /* our marker; "" if none */
	struct marker_list first; /* check 1 */
};

static int64_t now_s(void) { return (int64_t)time(NULL); }

/* "units/<uid>/sessions/<name>"; caller frees. */
static char *marker_object(const struct writers *w, const char *name)
{
	char *rel = xasprintf("sessions/%s", name), *obj = store_unit_path(w->u, rel);

	free(rel);
	return obj;
}

static int marker_remove(struct writers *w, const char *name, struct error *err)
{
	char *obj = marker_object(w, name);
	int ret = backend_remove(w->be, obj, err);

	free(obj);
	return ret;
}

/* Like marker_remove, but a marker the server still locks (S3 Object
 * Lock) is left for a later run: 1, logged, not an error. */
static int marker_remove_unless_locked(struct writers *w, const char *name, struct error *err)
{
	if (marker_remove(w, name, err) == 0)
		return 0;
	if (err->code != ERROR_LOCKED)
		return -1;
	log_info("%s: %s; left for a later prune", w->name, err->msg);
	error_init(err);
	return 1;
}

struct writers *writers_create(struct store_unit *u, const char *unit_name, int64_t timeout)
{
	struct writers *w = xcalloc(1, sizeof(*w));

	w->u = u;
	w->be = store_backend(store_unit_store(u));
	w->name = unit_name;
	w->timeout = timeout;
	return w;
}

static void marker_list_clear(struct marker_list *ml)
{
	free(ml->v);
	memset(ml, 0, sizeof(*ml));
}

void writers_destroy(struct writers **wp)
{
	if (*wp == NULL)
		return;
	marker_list_clear(&(*wp)->first);
	free(*wp);
	*wp = NULL;
}

/* --- our own marker ------------------------------------------------------ */

int writers_mark(struct writers *w, struct error *err)
{
	uint8_t rnd[16];
	char *obj, *body;
	int ret;

	crypto_random(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), w->own);
	obj = marker_object(w, w->own);
	body = xasprintf("%lld\n", (long long)now_s());
	ret = backend_put(w->be, obj, body, strlen(body), err);
	free(obj);
	free(body);
	if (ret < 0)
		w->own[0] = '\0';
	return ret;
}

void writers_unmark(struct writers *w, const char *who)
{
	struct error err;
	char *end, *obj;

	if (w->own[0] == '\0')
		return;
	error_init(&err);
	if (marker_remove(w, w->own, &err) == 0) {
		w->own[0] = '\0';
		return;
	}
	end = xasprintf("%s.end", w->own);
	obj = marker_object(w, end);
	if (err.code == ERROR_LOCKED && backend_put(w->be, obj, "", 0, &err) == 0)
		log_info("%s: %s's marker is locked; ended instead of removed", w->name, who);
	else
		log_warn("%s; it times out by itself", err.msg);
	free(obj);
	free(end);
	w->own[0] = '\0';
}

/* --- listing ------------------------------------------------------------------ */

static struct marker *marker_get(struct marker_list *ml, const char *id)
{
	size_t i;

	for (i = 0; i < ml->n; i++)
		if (memcmp(ml->v[i].id, id, 32) == 0)
			return &ml->v[i];
	ml->v = xrealloc(ml->v, xmul(ml->n + 1, sizeof(*ml->v)));
	memset(&ml->v[ml->n], 0, sizeof(*ml->v));
	memcpy(ml->v[ml->n].id, id, 32);
	return &ml->v[ml->n++];
}

static int collect_marker(void *ctx, const char *name)
{
	size_t len = strlen(name);

	if (len < 32 || !hex_is_lower(name, 32) || (len != 32 && strcmp(name + 32, ".end") != 0))
		return 0;
	if (len == 32)
		marker_get(ctx, name)->started = 1;
	else
		marker_get(ctx, name)->ended = 1;
	return 0;
}

/* Reads a start marker's time; an unreadable one counts as open. */
static void marker_read(const struct writers *w, struct marker *m)
{
	char *obj = marker_object(w, m->id);
	struct buf b;
	struct error err;
	size_t len;

	buf_init(&b, MARKER_MAX);
	error_init(&err);
	if (backend_get(w->be, obj, &b, MARKER_MAX, &err) < 0) {
		/* Removed since the listing: ended and tidied by another run. */
		if (err.code == ERROR_NOTFOUND)
			m->started = 0;
		else
			m->unreadable = 1;
	} else {
		for (len = b.len; len > 0 && (b.data[len - 1] == '\n' || b.data[len - 1] == ' ');)
			len--;
		m->unreadable = parse_digits((const char *)b.data, len, &m->start) < 0;
	}
	if (m->unreadable)
		log_warn("writer marker %s is unreadable; taken for an open backup (remove it if "
			 "no backup of %s is running)", obj, w->name);
	buf_clear(&b);
	free(obj);
}

static int markers_load(const struct writers *w, struct marker_list *ml, struct error *err)
{
	char *dir = store_unit_path(w->u, "sessions");
	size_t i;
	int ret;

	memset(ml, 0, sizeof(*ml));
	ret = backend_list(w->be, dir, collect_marker, ml, err);
	free(dir);
	for (i = 0; ret == 0 && i < ml->n; i++)
		if (ml->v[i].started && !ml->v[i].ended && strcmp(ml->v[i].id, w->own) != 0)
			marker_read(w, &ml->v[i]);
	return ret;
}

int writers_load(struct writers *w, struct error *err)
{
	marker_list_clear(&w->first);
	return markers_load(w, &w->first, err);
}

/* --- checks -------------------------------------------------------------------- */

static int marker_open(const struct writers *w, const struct marker *m)
{
	if (!m->started || m->ended || strcmp(m->id, w->own) == 0)
		return 0;
	return m->unreadable || now_s() - m->start < w->timeout;
}

static int markers_any_open(const struct writers *w, const struct marker_list *ml)
{
	size_t i;

	for (i = 0; i < ml->n; i++)
		if (marker_open(w, &ml->v[i]))
			return 1;
	return 0;
}

int writers_open(const struct writers *w)
{
	return markers_any_open(w, &w->first);
}

/* Whether `cur` has a marker (other than ours) that check 1 did not see. */
static int markers_new(const struct writers *w, const struct marker_list *cur)
{
	size_t i, j;

	for (i = 0; i < cur->n; i++) {
		if (strcmp(cur->v[i].id, w->own) == 0)
			continue;
		for (j = 0; j < w->first.n; j++)
			if (strcmp(w->first.v[j].id, cur->v[i].id) == 0)
				break;
		if (j == w->first.n)
			return 1;
	}
	return 0;
}

int writers_recheck(struct writers *w, struct error *err)
{
	struct marker_list cur;
	int ok = -1;

	if (markers_load(w, &cur, err) == 0)
		ok = !markers_any_open(w, &cur) && !markers_new(w, &cur);
	marker_list_clear(&cur);
	return ok;
}

/* --- tidying ----------------------------------------------------------------------- */

int writers_tidy(struct writers *w, uint64_t *deleted_r, struct error *err)
{
	char *end;
	size_t i;
	int ret = 0;

	for (i = 0; ret == 0 && i < w->first.n; i++) {
		const struct marker *m = &w->first.v[i];
		int timed_out = m->started && !m->ended && !m->unreadable &&
				now_s() - m->start >= w->timeout;

		if (strcmp(m->id, w->own) == 0 || !(m->ended || timed_out))
			continue;
		if (m->started)
			ret = marker_remove_unless_locked(w, m->id, err);
		end = xasprintf("%s.end", m->id);
		if (ret == 0 && m->ended)
			ret = marker_remove_unless_locked(w, end, err);
		free(end);
		*deleted_r += ret == 0;
		if (ret == 1) /* locked: left for a later run */
			ret = 0;
	}
	return ret;
}
