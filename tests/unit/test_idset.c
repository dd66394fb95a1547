/* Sets of 32-byte ids (engine/idset.h) as prune and compaction rely on
 * them: after idset_sort() a set holds each pushed id once, in order,
 * however many times it was pushed and however often pushing sorted it to
 * make room; lookups find exactly the ids pushed; a merge is the union. */
#include <string.h>

#include "engine/idset.h"

#include "harness.h"

static void id_of(uint32_t k, uint8_t id[32])
{
	memset(id, 0, 32);
	id[0] = (uint8_t)(k >> 24);
	id[1] = (uint8_t)(k >> 16);
	id[2] = (uint8_t)(k >> 8);
	id[3] = (uint8_t)k;
	id[31] = 0x5a;
}

/* 3000 distinct ids pushed 7 times each, in a scrambled order: enough to
 * pass the size at which a full set is sorted before it grows. */
static void test_push_sort_find(void)
{
	struct idset s = { 0 };
	uint8_t id[32];
	uint32_t i;

	for (i = 0; i < 3000 * 7; i++) {
		id_of((i * 7919u) % 3000u * 2u, id); /* even keys only */
		idset_push(&s, id);
	}
	idset_sort(&s);
	CHECKF(s.n == 3000, "n %zu", s.n);
	for (i = 1; i < s.n; i++)
		CHECK(memcmp(s.v[i - 1], s.v[i], 32) < 0);
	for (i = 0; i < 6000; i++) {
		id_of(i, id);
		CHECKF(idset_has(&s, id) == (i % 2 == 0), "key %u", i);
		if (i % 2 == 0)
			CHECK(idset_find(&s, id) == i / 2);
	}
	idset_clear(&s);
	CHECK(s.n == 0 && s.v == NULL && !idset_has(&s, id));
out:
	idset_clear(&s);
}

static void test_merge(void)
{
	struct idset a = { 0 }, b = { 0 }, empty = { 0 };
	uint8_t id[32];
	uint32_t i;

	for (i = 0; i < 100; i++) {
		id_of(i, id);
		idset_push(i % 3 ? &a : &b, id);
		if (i % 10 == 0)
			idset_push(i % 3 ? &b : &a, id); /* in both */
	}
	idset_sort(&a);
	idset_sort(&b);
	idset_merge(&a, &empty);
	idset_merge(&a, &b);
	CHECKF(a.n == 100, "n %zu", a.n);
	for (i = 0; i < 100; i++) {
		id_of(i, id);
		CHECK(idset_find(&a, id) == i);
	}
out:
	idset_clear(&a);
	idset_clear(&b);
}

const struct unit_test idset_tests[] = {
	{ "idset: pushed ids, sorted, are each there once and found", test_push_sort_find },
	{ "idset: a merge of sorted sets is their sorted union", test_merge },
	{ NULL, NULL },
};
