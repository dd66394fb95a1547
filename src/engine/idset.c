#include "idset.h"

#include <stdlib.h>
#include <string.h>

#include "lib/mem.h"

/* Below this, growing is cheaper than sorting to make room. */
#define SORT_BEFORE_GROW 4096

static int id_cmp(const void *a, const void *b) { return memcmp(a, b, 32); }

void idset_push(struct idset *s, const uint8_t id[32])
{
	if (s->n == s->cap) {
		if (s->n >= SORT_BEFORE_GROW)
			idset_sort(s);
		if (s->cap == 0 || s->n * 2 > s->cap) {
			s->cap = s->cap ? s->cap * 2 : 256;
			s->v = xrealloc(s->v, xmul(s->cap, 32));
		}
	}
	memcpy(s->v[s->n++], id, 32);
}

void idset_sort(struct idset *s)
{
	size_t i, n = 0;

	if (s->n > 1)
		qsort(s->v, s->n, 32, id_cmp);
	for (i = 0; i < s->n; i++)
		if (n == 0 || memcmp(s->v[n - 1], s->v[i], 32) != 0)
			memmove(s->v[n++], s->v[i], 32);
	s->n = n;
}

size_t idset_find(const struct idset *s, const uint8_t id[32])
{
	const uint8_t (*hit)[32] = s->n ? bsearch(id, s->v, s->n, 32, id_cmp) : NULL;

	return hit ? (size_t)(hit - s->v) : SIZE_MAX;
}

int idset_has(const struct idset *s, const uint8_t id[32])
{
	return idset_find(s, id) != SIZE_MAX;
}

void idset_merge(struct idset *into, const struct idset *add)
{
	struct idset out = { 0 };
	size_t i = 0, j = 0;

	if (add->n == 0)
		return;
	out.cap = into->n + add->n;
	out.v = xmalloc(xmul(out.cap, 32));
	while (i < into->n || j < add->n) {
		int c = i == into->n ? 1 : j == add->n ? -1 : memcmp(into->v[i], add->v[j], 32);

		memcpy(out.v[out.n++], c <= 0 ? into->v[i] : add->v[j], 32);
		i += c <= 0;
		j += c >= 0;
	}
	free(into->v);
	*into = out;
}

void idset_clear(struct idset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}
