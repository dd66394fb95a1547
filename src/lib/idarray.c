#include "idarray.h"

#include <string.h>

/* The index of the record with this id, or where it would go. */
static size_t idarray_slot(const uint8_t *v, size_t n, size_t size, const uint8_t id[32],
			   int *found)
{
	size_t lo = 0, hi = n;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(v + mid * size, id, 32);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void *idarray_find(const void *v, size_t n, size_t size, const uint8_t id[32])
{
	int found;
	size_t i = n ? idarray_slot(v, n, size, id, &found) : 0;

	return n && found ? (uint8_t *)(uintptr_t)v + i * size : NULL;
}

void *idarray_add(void *v, size_t *n, size_t size, const uint8_t id[32])
{
	int found = 0;
	size_t i = *n ? idarray_slot(v, *n, size, id, &found) : 0;
	uint8_t *p = (uint8_t *)v + i * size;

	if (found)
		return p;
	memmove(p + size, p, (*n - i) * size);
	memset(p, 0, size);
	memcpy(p, id, 32);
	(*n)++;
	return p;
}
