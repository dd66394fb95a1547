#ifndef COFFER_IDSET_H
#define COFFER_IDSET_H

/* Sets of 32-byte ids (blob ids, pack ids) as prune and compaction build
 * them: fed in bulk with idset_push(), then sorted once with idset_sort(),
 * then looked up by binary search. Unlike lib/idarray (records kept sorted
 * at every insertion), pushing is O(1), so a set can take every extent of
 * every restore point. Embedded: zero it (or `= { 0 }`) to init, and
 * idset_clear() it; the set owns `v`. */

#include <stddef.h>
#include <stdint.h>

struct idset {
	uint8_t (*v)[32];
	size_t n, cap;
};

/* Appends id, unsorted. A full set is sorted and deduplicated before it
 * grows, so it grows with its distinct ids, not with the pushes. */
void idset_push(struct idset *s, const uint8_t id[32]);

/* Sorts and removes duplicates; lookups need this. */
void idset_sort(struct idset *s);

/* The id's place in the sorted set, or SIZE_MAX. */
size_t idset_find(const struct idset *s, const uint8_t id[32]);

/* Whether the sorted set holds id. */
int idset_has(const struct idset *s, const uint8_t id[32]);

/* Merges sorted, unique `add` into sorted, unique `into`. */
void idset_merge(struct idset *into, const struct idset *add);

/* Frees the ids and leaves an empty set. */
void idset_clear(struct idset *s);

#endif
