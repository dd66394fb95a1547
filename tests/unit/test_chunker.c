/* The content-defined chunker (src/store/chunker.h, docs/format.md section
 * 4): chunk sizes, stability under insertion, keyed boundaries. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "store/chunker.h"

#include "harness.h"

#define DATA_LEN ((size_t)64 << 20)
#define INSERT_LEN 100

/* End offsets of the chunks of one input. */
struct cuts {
	size_t *end;
	size_t n, cap;
};

static void cuts_add(struct cuts *c, size_t v)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->end = realloc(c->end, c->cap * sizeof(*c->end));
		if (c->end == NULL)
			abort();
	}
	c->end[c->n++] = v;
}

/* Chunks all of data the way a backup does: each call gets everything that
 * is left. -1 (and a failure) if the chunker returns a length that makes no
 * progress or runs past the input. */
static int chunk_all(const struct chunker *ch, const uint8_t *data, size_t len, struct cuts *out)
{
	size_t pos = 0, n;

	while (pos < len) {
		n = chunker_next(ch, data + pos, len - pos);
		CHECKF(n > 0 && n <= len - pos, "chunker_next returned %zu at offset %zu of %zu", n,
		       pos, len);
		pos += n;
		cuts_add(out, pos);
	}
	return 0;
out:
	return -1;
}

static void gear_key(uint64_t seed, uint8_t key[32]) { th_fill(seed, key, 32); }

static int check_sizes(const struct chunker_params *p, size_t len, const char *which)
{
	struct chunker ch;
	struct cuts cuts = { 0 };
	uint8_t key[32], *data = th_random(1, len);
	size_t i, prev = 0, size, mean;
	int ret = -1;

	gear_key(100, key);
	chunker_init(&ch, key, p);
	CHECK(chunk_all(&ch, data, len, &cuts) == 0);
	CHECKF(cuts.n >= 8, "%s: only %zu chunks in %zu bytes", which, cuts.n, len);
	for (i = 0; i < cuts.n; i++) {
		size = cuts.end[i] - prev;
		if (i + 1 < cuts.n)
			CHECKF(size >= p->min && size <= p->max,
			       "%s: chunk %zu of %zu is %zu bytes, outside [%u, %u]", which, i, cuts.n,
			       size, p->min, p->max);
		else
			CHECKF(size <= p->max, "%s: last chunk is %zu bytes, max %u", which, size,
			       p->max);
		prev = cuts.end[i];
	}
	CHECK(prev == len);
	mean = len / cuts.n;
	CHECKF(mean >= p->avg / 2 && mean <= (size_t)p->avg * 2,
	       "%s: mean chunk is %zu bytes, average should be %u", which, mean, p->avg);
	ret = 0;
out:
	free(cuts.end);
	free(data);
	return ret;
}

static void test_sizes_data(void)
{
	CHECK(check_sizes(&chunker_data_params, DATA_LEN, "data params") == 0);
out:
	return;
}

static void test_sizes_meta(void)
{
	CHECK(check_sizes(&chunker_meta_params, (size_t)8 << 20, "meta params") == 0);
out:
	return;
}

static int hash_cmp(const void *a, const void *b) { return memcmp(a, b, 32); }

static int size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* SHA-256 of every chunk, sorted; *n_r hashes. */
static uint8_t (*chunk_hashes(const struct chunker *ch, const uint8_t *data, size_t len,
			       size_t *n_r))[32]
{
	struct cuts cuts = { 0 };
	uint8_t (*h)[32] = NULL;
	size_t i, prev = 0;

	if (chunk_all(ch, data, len, &cuts) < 0)
		goto out;
	h = malloc((cuts.n ? cuts.n : 1) * 32);
	if (h == NULL)
		abort();
	for (i = 0; i < cuts.n; i++) {
		crypto_sha256(data + prev, cuts.end[i] - prev, h[i]);
		prev = cuts.end[i];
	}
	qsort(h, cuts.n, 32, hash_cmp);
	*n_r = cuts.n;
out:
	free(cuts.end);
	return h;
}

static size_t count_missing(uint8_t (*a)[32], size_t na, uint8_t (*b)[32], size_t nb)
{
	size_t i, missing = 0;

	for (i = 0; i < na; i++)
		if (bsearch(a[i], b, nb, 32, hash_cmp) == NULL)
			missing++;
	return missing;
}

/* An edit in the middle of a large file must cost only the chunks near it:
 * that is what makes incremental backups of edited files cheap. */
static void test_insert_changes_few(void)
{
	struct chunker ch;
	uint8_t key[32], *data = th_random(2, DATA_LEN), *edited = malloc(DATA_LEN + INSERT_LEN);
	uint8_t (*before)[32] = NULL, (*after)[32] = NULL;
	size_t nb = 0, na = 0, mid = DATA_LEN / 2 + 12345, gone, added;

	CHECK(edited != NULL);
	memcpy(edited, data, mid);
	th_fill(3, edited + mid, INSERT_LEN);
	memcpy(edited + mid + INSERT_LEN, data + mid, DATA_LEN - mid);
	gear_key(100, key);
	chunker_init(&ch, key, &chunker_data_params);
	before = chunk_hashes(&ch, data, DATA_LEN, &nb);
	after = chunk_hashes(&ch, edited, DATA_LEN + INSERT_LEN, &na);
	CHECK(before != NULL && after != NULL);
	added = count_missing(after, na, before, nb);
	gone = count_missing(before, nb, after, na);
	CHECKF(added >= 1, "inserting %d bytes changed no chunk", INSERT_LEN);
	CHECKF(added <= 3 && gone <= 3,
	       "inserting %d bytes in the middle: %zu new chunks, %zu chunks gone (of %zu); at most 3 expected",
	       INSERT_LEN, added, gone, nb);
out:
	free(before);
	free(after);
	free(edited);
	free(data);
}

static void test_small_is_one_chunk(void)
{
	const struct chunker_params *all[] = { &chunker_data_params, &chunker_meta_params };
	struct chunker ch;
	uint8_t key[32], *data = th_random(4, chunker_data_params.min);
	size_t i, lens[4], k;

	gear_key(100, key);
	for (i = 0; i < 2; i++) {
		const struct chunker_params *p = all[i];

		chunker_init(&ch, key, p);
		lens[0] = 1;
		lens[1] = 100;
		lens[2] = p->min - 1;
		lens[3] = p->min;
		for (k = 0; k < 4; k++)
			CHECKF(chunker_next(&ch, data, lens[k]) == lens[k],
			       "params %zu: input of %zu bytes (min %u) was cut at %zu", i, lens[k],
			       p->min, chunker_next(&ch, data, lens[k]));
	}
out:
	free(data);
}

/* Boundaries derive from the unit's gear key, so chunk sizes do not reveal
 * content across stores. */
static void test_keys_change_boundaries(void)
{
	struct chunker ca, cb;
	struct cuts a = { 0 }, b = { 0 };
	uint8_t ka[32], kb[32], *data = th_random(5, DATA_LEN);
	size_t i, shared = 0;

	gear_key(100, ka);
	gear_key(200, kb);
	chunker_init(&ca, ka, &chunker_data_params);
	chunker_init(&cb, kb, &chunker_data_params);
	CHECK(chunk_all(&ca, data, DATA_LEN, &a) == 0);
	CHECK(chunk_all(&cb, data, DATA_LEN, &b) == 0);
	CHECK(a.n > 1 && b.n > 1);
	/* Cut offsets (the end of input aside) that both keys chose. */
	for (i = 0; i + 1 < a.n; i++)
		if (bsearch(&a.end[i], b.end, b.n - 1, sizeof(size_t), size_cmp) != NULL)
			shared++;
	CHECKF(a.end[0] != b.end[0] && shared <= (a.n - 1) / 10,
	       "two gear keys share %zu of %zu cut points (first cut %zu vs %zu)", shared, a.n - 1,
	       a.end[0], b.end[0]);
out:
	free(a.end);
	free(b.end);
	free(data);
}

/* A backup hands the chunker a window of at most `max` bytes; the cut must
 * not depend on how much input lies beyond it. */
static void test_window_independent(void)
{
	const struct chunker_params *p = &chunker_data_params;
	size_t len = (size_t)24 << 20, pos = 0, whole, window, i;
	uint8_t key[32], *data = th_random(6, len);
	struct chunker ch;

	gear_key(100, key);
	chunker_init(&ch, key, p);
	for (i = 0; i < 8 && pos + p->max < len; i++) {
		whole = chunker_next(&ch, data + pos, len - pos);
		window = chunker_next(&ch, data + pos, p->max);
		CHECKF(whole == window, "chunk %zu: %zu bytes with all input, %zu with a window of max",
		       i, whole, window);
		pos += whole;
	}
	CHECK(i == 8);
out:
	free(data);
}

const struct unit_test chunker_tests[] = {
	{ "chunker: data chunks within [min,max] and mean near avg (64 MiB)", test_sizes_data },
	{ "chunker: metadata chunks within [min,max] and mean near avg", test_sizes_meta },
	{ "chunker: inserting 100 bytes in the middle changes at most 3 chunks",
	  test_insert_changes_few },
	{ "chunker: input smaller than min is one chunk", test_small_is_one_chunk },
	{ "chunker: different gear keys give different boundaries", test_keys_change_boundaries },
	{ "chunker: a window of max bytes cuts where the whole input does", test_window_independent },
	{ NULL, NULL },
};
