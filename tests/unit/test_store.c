/* A store on disk (src/store/store.h) and what lives in a unit: packs,
 * index segments and restore points (pack.h, index.h, rp.h). Each test
 * makes a store in a temporary folder, with COFFER_CACHE pointing to
 * another one. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/seal.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/mem.h"
#include "store/backend.h"
#include "store/index.h"
#include "store/pack.h"
#include "store/rp.h"
#include "store/store.h"

#include "harness.h"

struct fx {
	struct th_store ts;
	struct store *s;
	struct store_unit *u;
};

/* A store of the test's own (th_store_new) and, with a unit name, that
 * unit, created and opened. */
static int fx_setup(struct fx *f, const char *unit)
{
	struct error err;

	memset(f, 0, sizeof(*f));
	f->s = th_store_new(&f->ts);
	CHECK(f->s != NULL);
	if (unit != NULL) {
		f->u = store_unit_open(f->s, unit, 1, &err);
		CHECKF(f->u != NULL, "store_unit_open(%s) failed: %s", unit, err.msg);
	}
	return 0;
out:
	return -1;
}

static void fx_teardown(struct fx *f)
{
	store_unit_close(&f->u);
	store_close(&f->s);
}

static void test_init_open(void)
{
	struct fx f;
	struct store *s2 = NULL;
	struct buf cfg;
	struct error err;
	char *keys = NULL, *cfgpath = NULL;

	buf_init(&cfg, 0);
	CHECK(fx_setup(&f, NULL) == 0);
	cfgpath = fs_join(f.ts.root, "config");
	CHECK_OK(fs_read_file(cfgpath, &cfg, 4096, &err), &err);
	CHECKF(strncmp((char *)cfg.data, "coffer-store\nformat 1\nid ", 25) == 0 && cfg.len == 58,
	       "unexpected config: %s", cfg.data);
	keys = fs_join(f.ts.root, "keys");
	CHECK(th_dir_entries(keys) == 1);
	/* The cache lives below $COFFER_CACHE, in a folder per store id. */
	CHECKF(strncmp(store_cache_dir(f.s), f.ts.cache, strlen(f.ts.cache)) == 0 &&
		       store_cache_dir(f.s)[strlen(f.ts.cache)] == '/' &&
		       strncmp(store_cache_dir(f.s) + strlen(f.ts.cache) + 1, (char *)cfg.data + 25,
			       32) == 0,
	       "cache dir %s is not $COFFER_CACHE/<store id>", store_cache_dir(f.s));
	CHECK(strcmp(store_path(f.s), f.ts.root) == 0);
	/* A second store_init on the same folder is refused. */
	CHECK_FAILS(store_init(f.ts.root, &f.ts.ks, &err), &err, ERROR_EXISTS);
	/* Two handles on one store at once, as two processes would have. */
	s2 = store_open(f.ts.root, &f.ts.ks, 0, NULL, &err);
	CHECKF(s2 != NULL, "second store_open failed: %s", err.msg);
out:
	store_close(&s2);
	fx_teardown(&f);
	free(keys);
	free(cfgpath);
	buf_clear(&cfg);
}

static void test_wrong_key(void)
{
	struct fx f;
	struct store *s = NULL;
	struct error err;
	uint8_t wrong[64];
	struct keysource ks = { KEYSLOT_KEYFILE, wrong, sizeof(wrong) };

	CHECK(fx_setup(&f, NULL) == 0);
	memcpy(wrong, f.ts.keyfile, sizeof(wrong));
	wrong[0] ^= 1;
	error_init(&err);
	s = store_open(f.ts.root, &ks, 0, NULL, &err);
	CHECK(s == NULL);
	CHECKF(err.code == ERROR_KEY, "kind %d: %s", err.code, err.msg);
	CHECKF(strstr(err.msg, f.ts.root) != NULL, "message does not name the store: %s", err.msg);
	/* A second key slot lets another key file in; the first still works. */
	CHECK_OK(store_add_key(f.s, &ks, NULL, &err), &err);
	s = store_open(f.ts.root, &ks, 0, NULL, &err);
	CHECKF(s != NULL, "store_open with the added key failed: %s", err.msg);
	store_close(&s);
	s = store_open(f.ts.root, &f.ts.ks, 0, NULL, &err);
	CHECKF(s != NULL, "store_open with the first key failed: %s", err.msg);
out:
	store_close(&s);
	fx_teardown(&f);
}

static void test_newer_format(void)
{
	struct fx f;
	struct store *s = NULL;
	struct buf cfg;
	struct error err;
	char *path = NULL, *p;

	buf_init(&cfg, 0);
	CHECK(fx_setup(&f, NULL) == 0);
	store_close(&f.s);
	path = fs_join(f.ts.root, "config");
	CHECK_OK(fs_read_file(path, &cfg, 4096, &err), &err);
	p = strstr((char *)cfg.data, "\nformat 1\n");
	CHECK(p != NULL);
	p[8] = '2';
	CHECK(th_write_file(path, cfg.data, cfg.len) == 0);
	error_init(&err);
	s = store_open(f.ts.root, &f.ts.ks, 0, NULL, &err);
	CHECK(s == NULL);
	CHECKF(err.code == ERROR_VERSION, "kind %d: %s", err.code, err.msg);
	CHECKF(strstr(err.msg, "format 2") != NULL && strstr(err.msg, f.ts.root) != NULL,
	       "message should name the store and its format: %s", err.msg);
out:
	store_close(&s);
	fx_teardown(&f);
	free(path);
	buf_clear(&cfg);
}

static void test_units(void)
{
	struct fx f;
	struct store_unit *u = NULL, *v = NULL;
	struct error err;
	uint8_t key[32];
	char **names = NULL;
	size_t n = 0, i;

	CHECK(fx_setup(&f, NULL) == 0);
	/* A new store has no units. */
	CHECK_OK(store_unit_names(f.s, &names, &n, &err), &err);
	CHECKF(n == 0, "a new store lists %zu units", n);
	free(names);
	names = NULL;
	u = store_unit_open(f.s, "photos", 1, &err);
	CHECKF(u != NULL, "creating unit photos failed: %s", err.msg);
	CHECK(strcmp(store_unit_name(u), "photos") == 0);
	memcpy(key, store_unit_data_key(u), 32);
	v = store_unit_open(f.s, "docs", 1, &err);
	CHECKF(v != NULL, "creating unit docs failed: %s", err.msg);
	CHECK(memcmp(store_unit_data_key(v), key, 32) != 0);
	store_unit_close(&u);
	store_unit_close(&v);
	store_unit_close(&v); /* NULL is accepted */
	/* Reopen the store: the unit has the same name and the same key. */
	store_close(&f.s);
	f.s = store_open(f.ts.root, &f.ts.ks, 0, NULL, &err);
	CHECKF(f.s != NULL, "store_open failed: %s", err.msg);
	u = store_unit_open(f.s, "photos", 0, &err);
	CHECKF(u != NULL, "reopening unit photos failed: %s", err.msg);
	CHECK(strcmp(store_unit_name(u), "photos") == 0);
	CHECKF(memcmp(store_unit_data_key(u), key, 32) == 0, "the reopened unit has another key");
	store_unit_close(&u);
	/* create=1 on an existing unit keeps its key. */
	u = store_unit_open(f.s, "photos", 1, &err);
	CHECK(u != NULL && memcmp(store_unit_data_key(u), key, 32) == 0);
	store_unit_close(&u);
	/* A unit that does not exist is not created without create. */
	error_init(&err);
	u = store_unit_open(f.s, "nope", 0, &err);
	CHECK(u == NULL);
	CHECKF(err.code == ERROR_NOTFOUND, "kind %d: %s", err.code, err.msg);
	u = store_unit_open(f.s, "", 1, &err);
	CHECK(u == NULL && err.code == ERROR_USAGE);
	CHECK_OK(store_unit_names(f.s, &names, &n, &err), &err);
	CHECKF(n == 2 && strcmp(names[0], "docs") == 0 && strcmp(names[1], "photos") == 0,
	       "store_unit_names gives %zu names, the first \"%s\"", n, n ? names[0] : "");
	/* Unit names do not show in the store's file names. */
	{
		char *units = fs_join(f.ts.root, "units");

		CHECK(th_dir_entries(units) == 2);
		free(units);
	}
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	store_unit_close(&u);
	store_unit_close(&v);
	fx_teardown(&f);
}

/* What the pack writer reports on commit. */
struct committed {
	size_t packs;
	uint8_t id[32];
	struct pack_entry *e;
	size_t n;
};

static void on_commit(void *ctx, const uint8_t pack_id[32], const struct pack_entry *entries,
		      size_t n)
{
	struct committed *c = ctx;

	c->packs++;
	memcpy(c->id, pack_id, 32);
	free(c->e);
	c->e = xmalloc(xmul(n ? n : 1, sizeof(*entries)));
	memcpy(c->e, entries, n * sizeof(*entries));
	c->n = n;
}

#define NBLOBS 3
#define TEXT_LEN (64u << 10)
#define RANDOM_LEN (100u << 10)

struct blobs {
	uint8_t *data[NBLOBS];
	size_t len[NBLOBS];
	uint8_t id[NBLOBS][32];
};

/* Compressible text, random data and a 10-byte blob, with their keyed ids. */
static void blobs_make(struct blobs *b, struct store_unit *u)
{
	struct crypto_mac *mac = store_unit_id_mac(u);
	size_t i, off = 0;
	char *text = xmalloc(TEXT_LEN);

	while (off < TEXT_LEN) {
		char line[96];
		int n = snprintf(line, sizeof(line), "line %zu: the quick brown fox jumps over %zu dogs\n",
				 off, off % 7);

		memcpy(text + off, line, off + (size_t)n > TEXT_LEN ? TEXT_LEN - off : (size_t)n);
		off += (size_t)n;
	}
	b->data[0] = (uint8_t *)text;
	b->len[0] = TEXT_LEN;
	b->data[1] = th_random(300, RANDOM_LEN);
	b->len[1] = RANDOM_LEN;
	b->data[2] = (uint8_t *)xstrdup("0123456789");
	b->len[2] = 10;
	for (i = 0; i < NBLOBS; i++)
		crypto_mac_compute(mac, b->data[i], b->len[i], b->id[i]);
	crypto_mac_free(&mac);
}

static void blobs_clear(struct blobs *b)
{
	size_t i;

	for (i = 0; i < NBLOBS; i++)
		free(b->data[i]);
}

/* Writes the blobs into one data pack. */
static int write_pack(struct fx *f, struct blobs *b, struct committed *c)
{
	struct pack_writer *pw = pack_writer_open(f->u, BLOB_DATA, on_commit, c);
	struct error err;
	uint64_t stored = 0;
	size_t i;
	int ret = -1;

	for (i = 0; i < NBLOBS; i++)
		CHECK_OK(pack_writer_add(pw, b->id[i], b->data[i], b->len[i], &stored, &err), &err);
	CHECK(c->packs == 0); /* nothing is committed before the flush */
	CHECK_OK(pack_writer_flush(pw, &err), &err);
	CHECKF(c->packs == 1 && c->n == NBLOBS, "%zu packs, %zu entries committed", c->packs, c->n);
	CHECK(stored < b->len[0] + b->len[1] + b->len[2] + NBLOBS * CRYPTO_TAG_LEN);
	/* A second flush with nothing added writes nothing. */
	CHECK_OK(pack_writer_flush(pw, &err), &err);
	CHECK(c->packs == 1);
	ret = 0;
out:
	pack_writer_close(&pw);
	return ret;
}

/* Reads blob i through the pack reader, the way restore does. */
static int read_blob(struct fx *f, struct pack_reader *pr, const struct committed *c,
		     const struct pack_entry *e, int verify, struct buf *out, struct error *err)
{
	char *name = pack_name(f->u, c->id);
	uint32_t len = BLOB_LEN(e->len_flags);
	uint8_t *stored = xmalloc(len ? len : 1);
	int ret = backend_get_range(store_backend(f->s), name, e->offset, len, stored, err);

	if (ret == 0)
		ret = pack_reader_blob(pr, c->id, e, stored, verify, out, "test blob", err);
	free(stored);
	free(name);
	return ret;
}

/* The entry of blob id in the list. */
static const struct pack_entry *find_entry(const struct pack_entry *e, size_t n,
					   const uint8_t id[32])
{
	size_t i;

	for (i = 0; i < n; i++)
		if (memcmp(e[i].id, id, 32) == 0)
			return &e[i];
	return NULL;
}

static void test_pack_roundtrip(void)
{
	struct fx f;
	struct blobs b = { 0 };
	struct committed c = { 0 };
	struct pack_reader *pr = NULL;
	struct pack_entry *trailer = NULL, bad;
	const struct pack_entry *e;
	struct buf out;
	struct error err;
	size_t n = 0, i;

	buf_init(&out, 0);
	CHECK(fx_setup(&f, "photos") == 0);
	blobs_make(&b, f.u);
	CHECK(write_pack(&f, &b, &c) == 0);
	pr = pack_reader_open(f.u);
	CHECK_OK(pack_reader_trailer(pr, c.id, &trailer, &n, &err), &err);
	CHECKF(n == NBLOBS, "the trailer lists %zu blobs", n);
	for (i = 0; i < NBLOBS; i++) {
		e = find_entry(trailer, n, b.id[i]);
		CHECKF(e != NULL, "blob %zu is missing from the trailer", i);
		CHECK(find_entry(c.e, c.n, b.id[i]) != NULL &&
		      memcmp(e, find_entry(c.e, c.n, b.id[i]), sizeof(*e)) == 0);
		CHECK(BLOB_TYPE(e->len_flags) == BLOB_DATA && e->raw_len == b.len[i]);
		CHECK(e->offset >= PACK_HEADER_LEN);
		/* Text is compressed; random data and tiny blobs are stored raw. */
		CHECKF(!!(e->len_flags & BLOB_FLAG_ZSTD) == (i == 0), "blob %zu: zstd flag %d", i,
		       !!(e->len_flags & BLOB_FLAG_ZSTD));
		CHECK_OK(read_blob(&f, pr, &c, e, 1, &out, &err), &err);
		CHECKF(out.len == b.len[i] && memcmp(out.data, b.data[i], out.len) == 0,
		       "blob %zu reads back different bytes", i);
	}
	/* verify=1 catches an entry whose id does not match the content. */
	bad = *find_entry(trailer, n, b.id[2]);
	bad.id[5] ^= 1;
	CHECK_FAILS(read_blob(&f, pr, &c, &bad, 1, &out, &err), &err, ERROR_CORRUPT);
	CHECK_OK(read_blob(&f, pr, &c, &bad, 0, &out, &err), &err);
out:
	free(trailer);
	free(c.e);
	pack_reader_close(&pr);
	blobs_clear(&b);
	buf_clear(&out);
	fx_teardown(&f);
}

static void test_pack_damage(void)
{
	struct fx f;
	struct blobs b = { 0 };
	struct committed c = { 0 };
	struct pack_reader *pr = NULL;
	struct pack_entry *trailer = NULL;
	const struct pack_entry *e;
	char *name = NULL, *path = NULL;
	struct buf out;
	struct error err;
	size_t n = 0, i;

	buf_init(&out, 0);
	CHECK(fx_setup(&f, "photos") == 0);
	blobs_make(&b, f.u);
	CHECK(write_pack(&f, &b, &c) == 0);
	/* One byte in the middle of the random blob, on disk. */
	e = find_entry(c.e, c.n, b.id[1]);
	CHECK(e != NULL);
	name = pack_name(f.u, c.id);
	path = fs_join(f.ts.root, name);
	CHECK(th_flip_byte(path, e->offset + BLOB_LEN(e->len_flags) / 2, 0x04) == 0);
	pr = pack_reader_open(f.u);
	CHECK_OK(pack_reader_trailer(pr, c.id, &trailer, &n, &err), &err);
	CHECK(n == NBLOBS);
	for (i = 0; i < NBLOBS; i++) {
		e = find_entry(trailer, n, b.id[i]);
		CHECK(e != NULL);
		if (i == 1) {
			CHECK_FAILS(read_blob(&f, pr, &c, e, 1, &out, &err), &err, ERROR_CORRUPT);
			CHECKF(strstr(err.msg, "test blob") != NULL, "message does not name the blob: %s",
			       err.msg);
		} else {
			CHECK_OK(read_blob(&f, pr, &c, e, 1, &out, &err), &err);
			CHECKF(out.len == b.len[i] && memcmp(out.data, b.data[i], out.len) == 0,
			       "blob %zu reads back different bytes", i);
		}
	}
	/* Damage in the compressed blob is caught before decompression. */
	e = find_entry(trailer, n, b.id[0]);
	CHECK(th_flip_byte(path, e->offset + 3, 0x80) == 0);
	CHECK_FAILS(read_blob(&f, pr, &c, e, 1, &out, &err), &err, ERROR_CORRUPT);
	e = find_entry(trailer, n, b.id[2]);
	CHECK_OK(read_blob(&f, pr, &c, e, 1, &out, &err), &err);
	CHECK(out.len == 10 && memcmp(out.data, "0123456789", 10) == 0);
out:
	free(trailer);
	free(c.e);
	free(name);
	free(path);
	pack_reader_close(&pr);
	blobs_clear(&b);
	buf_clear(&out);
	fx_teardown(&f);
}

#define NPACKS 2
#define NENTRIES 25

/* Entries of made-up packs, as a backup session would index them. */
struct segments {
	size_t nseg;
	uint8_t (*packs)[32];      /* nseg * NPACKS */
	struct pack_entry *e;      /* nseg * NPACKS * NENTRIES */
};

static int write_segments(struct store_unit *u, struct segments *sg, size_t nseg, uint64_t seed)
{
	struct index_builder *b = NULL;
	struct error err;
	size_t s, p, k;
	int ret = -1;

	sg->nseg = nseg;
	sg->packs = xcalloc(nseg * NPACKS, 32);
	sg->e = xcalloc(nseg * NPACKS * NENTRIES, sizeof(*sg->e));
	for (s = 0; s < nseg; s++) {
		b = index_builder_new();
		for (p = 0; p < NPACKS; p++) {
			size_t pi = s * NPACKS + p;
			struct pack_entry *e = &sg->e[pi * NENTRIES];

			th_fill(seed + pi, sg->packs[pi], 32);
			for (k = 0; k < NENTRIES; k++) {
				th_fill(seed * 1000 + pi * NENTRIES + k, e[k].id, 32);
				e[k].offset = (uint32_t)(PACK_HEADER_LEN + k * 5000);
				e[k].len_flags = (uint32_t)(1000 + k) | (uint32_t)BLOB_DATA << 24;
				e[k].raw_len = (uint32_t)(2000 + pi);
			}
			index_builder_add_pack(b, sg->packs[pi], e, NENTRIES);
		}
		CHECK(index_builder_count(b) == NPACKS * NENTRIES);
		CHECK_OK(index_builder_write(b, u, &err), &err);
		CHECK(index_builder_count(b) == 0);
		index_builder_free(&b);
	}
	ret = 0;
out:
	index_builder_free(&b);
	return ret;
}

static void segments_clear(struct segments *sg)
{
	free(sg->packs);
	free(sg->e);
}

/* Every entry is found, in its pack, with its fields; a random id is not. */
static int check_found(const struct index *ix, const struct segments *sg, const char *when)
{
	size_t i, n = sg->nseg * NPACKS * NENTRIES;
	struct pack_entry got;
	const uint8_t *pack;
	uint8_t other[32];

	for (i = 0; i < n; i++) {
		const struct pack_entry *e = &sg->e[i];

		CHECKF(index_lookup(ix, e->id, &got, &pack) == 1, "%s: entry %zu not found", when, i);
		CHECKF(memcmp(pack, sg->packs[i / NENTRIES], 32) == 0, "%s: entry %zu in the wrong pack",
		       when, i);
		CHECKF(got.offset == e->offset && got.len_flags == e->len_flags &&
			       got.raw_len == e->raw_len && memcmp(got.id, e->id, 32) == 0,
		       "%s: entry %zu has other fields", when, i);
	}
	for (i = 0; i < 100; i++) {
		th_fill(0xdead0000 + i, other, 32);
		CHECKF(index_lookup(ix, other, NULL, NULL) == 0, "%s: a random id is found", when);
	}
	return 0;
out:
	return -1;
}

/* check_found, and the index holds nothing else. */
static int check_lookups(const struct index *ix, const struct segments *sg, const char *when)
{
	size_t n = sg->nseg * NPACKS * NENTRIES;

	CHECKF(index_entry_count(ix) == n, "%s: %llu entries, expected %zu", when,
	       (unsigned long long)index_entry_count(ix), n);
	return check_found(ix, sg, when);
out:
	return -1;
}

/* Removes the store's cache folder and reopens the unit, so the next
 * index_open must fetch and decrypt every segment from the store. */
static int drop_cache(struct fx *f)
{
	char *name = xstrdup(store_unit_name(f->u));
	struct error err;

	store_unit_close(&f->u);
	CHECK_OK(fs_remove_tree(store_cache_dir(f->s), &err), &err);
	f->u = store_unit_open(f->s, name, 0, &err);
	CHECKF(f->u != NULL, "reopening unit %s failed: %s", name, err.msg);
	free(name);
	return 0;
out:
	free(name);
	return -1;
}

static void test_index_lookup(void)
{
	struct fx f;
	struct segments sg = { 0 };
	struct index *ix = NULL;
	struct error err;
	const char *cache;

	CHECK(fx_setup(&f, "photos") == 0);
	/* An empty unit has an empty index. */
	ix = index_open(f.u, &err);
	CHECKF(ix != NULL, "index_open failed: %s", err.msg);
	CHECK(index_segment_count(ix) == 0 && index_entry_count(ix) == 0);
	index_close(&ix);
	CHECK(write_segments(f.u, &sg, 3, 7) == 0);
	ix = index_open(f.u, &err);
	CHECKF(ix != NULL, "index_open failed: %s", err.msg);
	CHECK(index_segment_count(ix) == 3);
	CHECK(check_lookups(ix, &sg, "with cache") == 0);
	index_close(&ix);
	/* The decrypted copies sit below $COFFER_CACHE. */
	cache = store_unit_cache(f.u, &err);
	CHECK(cache != NULL && strncmp(cache, f.ts.cache, strlen(f.ts.cache)) == 0);
	CHECKF(th_dir_entries(cache) == 3, "%d files in the unit's cache", th_dir_entries(cache));
	CHECK(drop_cache(&f) == 0);
	ix = index_open(f.u, &err);
	CHECKF(ix != NULL, "index_open without cache failed: %s", err.msg);
	CHECK(check_lookups(ix, &sg, "without cache") == 0);
out:
	index_close(&ix);
	index_close(&ix); /* NULL is accepted */
	segments_clear(&sg);
	fx_teardown(&f);
}

/* The decrypted copy in the cache is a file anyone with the user's rights
 * can damage (a disk error, a stray tool). A damaged copy must be refused
 * or fetched again, never trusted: a pack number past the segment's pack
 * table would make lookups read outside the mapping. */
static void test_index_damaged_cache(void)
{
	struct fx f;
	struct segments sg = { 0 };
	struct index *ix = NULL;
	struct error err;
	const char *cache;
	char *path = NULL;
	DIR *d = NULL;
	struct dirent *de;

	CHECK(fx_setup(&f, "photos") == 0);
	CHECK(write_segments(f.u, &sg, 1, 5) == 0);
	cache = store_unit_cache(f.u, &err);
	CHECK(cache != NULL);
	d = opendir(cache);
	CHECK(d != NULL);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "idx-", 4) == 0)
			path = fs_join(cache, de->d_name);
	CHECKF(path != NULL, "no idx- file in %s", cache);
	/* Entry 0's pack number (header 16, pack table 2 * 32, id 32): +1024. */
	CHECK(th_flip_byte(path, 16 + NPACKS * 32 + 32 + 1, 0x04) == 0);
	error_init(&err);
	ix = index_open(f.u, &err);
	if (ix == NULL)
		CHECKF(err.code == ERROR_CORRUPT && strstr(err.msg, path) != NULL,
		       "index_open refused the damaged cache, but with kind %d: %s", err.code,
		       err.msg);
	else
		CHECK(check_lookups(ix, &sg, "with a damaged cache") == 0);
out:
	if (d)
		closedir(d);
	free(path);
	index_close(&ix);
	segments_clear(&sg);
	fx_teardown(&f);
}

static int count_superseded(void *ctx, const char *name, int superseded)
{
	(void)name;
	*(size_t *)ctx += superseded != 0;
	return 0;
}

static void test_index_merge(void)
{
	struct fx f;
	struct segments sg = { 0 };
	struct index *ix = NULL;
	struct error err;
	size_t dead = 0;

	CHECK(fx_setup(&f, "photos") == 0);
	CHECK(write_segments(f.u, &sg, 10, 11) == 0);
	ix = index_open(f.u, &err);
	CHECKF(ix != NULL, "index_open failed: %s", err.msg);
	CHECK(index_segment_count(ix) == 10);
	CHECK_OK(index_merge(ix, f.u, &err), &err);
	index_close(&ix);
	ix = index_open(f.u, &err);
	CHECKF(ix != NULL, "index_open after merge failed: %s", err.msg);
	CHECKF(index_segment_count(ix) == 1, "%zu live segments after the merge",
	       index_segment_count(ix));
	CHECK_OK(index_foreach_segment(ix, count_superseded, &dead), &err);
	CHECKF(dead == 10, "%zu superseded segments, expected 10", dead);
	CHECK(check_lookups(ix, &sg, "after merge") == 0);
	index_close(&ix);
	/* A reader that only has the store sees the same. */
	CHECK(drop_cache(&f) == 0);
	ix = index_open(f.u, &err);
	CHECKF(ix != NULL, "index_open without cache failed: %s", err.msg);
	CHECK(index_segment_count(ix) == 1);
	CHECK(check_lookups(ix, &sg, "after merge, without cache") == 0);
	/* Nothing to merge in one segment. */
	CHECK_OK(index_merge(ix, f.u, &err), &err);
	index_close(&ix);
	ix = index_open(f.u, &err);
	CHECK(ix != NULL && index_segment_count(ix) == 1);
out:
	index_close(&ix);
	segments_clear(&sg);
	fx_teardown(&f);
}

static int keep_all(void *ctx, const uint8_t pack_id[32])
{
	(void)ctx;
	(void)pack_id;
	return 1;
}

/* The live segment (first callback argument): the one not superseded. */
static int note_live(void *ctx, const char *name, int superseded)
{
	if (!superseded)
		snprintf(ctx, 65, "%s", name);
	return 0;
}

/* A prune deletes superseded segments one at a time. If it deletes the
 * segment that superseded others and dies before deleting those, they
 * must stay superseded (the newest segment lists them too); otherwise
 * they would come back to life with entries for packs deleted since. */
static void test_index_superseded_stay_dead(void)
{
	struct fx f;
	struct segments sg = { 0 };
	struct index *ix = NULL;
	struct error err;
	char middle[65] = "", *rel = NULL, *path = NULL, *obj = NULL;

	CHECK(fx_setup(&f, "photos") == 0);
	CHECK(write_segments(f.u, &sg, 3, 31) == 0);
	ix = index_open(f.u, &err);
	CHECKF(ix != NULL, "index_open failed: %s", err.msg);
	CHECK_OK(index_rewrite(ix, f.u, keep_all, NULL, &err), &err);
	index_close(&ix);
	ix = index_open(f.u, &err);
	CHECKF(ix != NULL, "index_open failed: %s", err.msg);
	CHECK_OK(index_foreach_segment(ix, note_live, middle), &err);
	CHECK(middle[0] != '\0');
	CHECK_OK(index_rewrite(ix, f.u, keep_all, NULL, &err), &err);
	index_close(&ix);
	/* The prune dies after deleting the middle segment only. */
	rel = xasprintf("index/%s", middle);
	path = store_unit_path(f.u, rel);
	obj = xasprintf("%s/%s", f.ts.root, path);
	CHECKF(unlink(obj) == 0, "unlink(%s) failed", obj);
	CHECK(drop_cache(&f) == 0);
	ix = index_open(f.u, &err);
	CHECKF(ix != NULL, "index_open failed: %s", err.msg);
	CHECKF(index_segment_count(ix) == 1, "%zu live segments: the first three came back",
	       index_segment_count(ix));
	CHECKF(index_entry_count(ix) == 3 * NPACKS * NENTRIES, "%llu entries",
	       (unsigned long long)index_entry_count(ix));
	CHECK(check_found(ix, &sg, "after the middle segment was deleted") == 0);
out:
	free(rel);
	free(path);
	free(obj);
	index_close(&ix);
	segments_clear(&sg);
	fx_teardown(&f);
}

static void count_skipped(void *ctx, const char *name, const struct error *err)
{
	(void)name;
	(void)err;
	(*(size_t *)ctx)++;
}

/* Names the segment no other supersedes. */
static int note_live_segment(void *ctx, const char *name, int superseded)
{
	if (!superseded)
		memcpy(ctx, name, 65);
	return 0;
}

/* Merging is size-tiered: a big segment is not rewritten for a few small
 * ones, and once a reader has seen a merge it skips the superseded
 * segments without fetching them again (docs/format.md 6.1). */
static void test_index_merge_tiered(void)
{
	struct fx f;
	struct segments big = { 0 }, small = { 0 };
	struct index *ix = NULL;
	struct error err;
	const char *cache;
	size_t dead = 0;

	CHECK(fx_setup(&f, "photos") == 0);
	CHECK(write_segments(f.u, &big, 30, 21) == 0);
	ix = index_open(f.u, &err);
	CHECKF(ix != NULL, "index_open failed: %s", err.msg);
	CHECK_OK(index_merge(ix, f.u, &err), &err);
	index_close(&ix);
	CHECK(write_segments(f.u, &small, 9, 5000) == 0); /* ids apart from big's */
	ix = index_open(f.u, &err);
	CHECKF(ix != NULL, "index_open failed: %s", err.msg);
	CHECKF(index_segment_count(ix) == 10, "%zu live segments", index_segment_count(ix));
	CHECK_OK(index_merge(ix, f.u, &err), &err);
	index_close(&ix);
	ix = index_open(f.u, &err);
	CHECKF(ix != NULL, "index_open after merge failed: %s", err.msg);
	CHECKF(index_segment_count(ix) == 2, "%zu live segments: the big one must stay as it is",
	       index_segment_count(ix));
	CHECKF(index_entry_count(ix) == (30 + 9) * NPACKS * NENTRIES, "%llu entries",
	       (unsigned long long)index_entry_count(ix));
	CHECK(check_found(ix, &big, "big, after a tiered merge") == 0);
	CHECK(check_found(ix, &small, "small, after a tiered merge") == 0);
	CHECK_OK(index_foreach_segment(ix, count_superseded, &dead), &err);
	CHECKF(dead == 39, "%zu superseded segments, expected 39", dead);
	index_close(&ix);
	/* The reader keeps only the live segments and its record of the others. */
	ix = index_open(f.u, &err);
	CHECKF(ix != NULL, "index_open failed: %s", err.msg);
	cache = store_unit_cache(f.u, &err);
	CHECK(cache != NULL);
	CHECKF(th_dir_entries(cache) == 3, "%d files in the unit's cache, expected 2 segments "
	       "and the record of superseded ones", th_dir_entries(cache));
	CHECK_OK(index_foreach_segment(ix, count_superseded, &(size_t){ 0 }), &err);
	CHECKF(index_segment_count(ix) == 2, "%zu live segments", index_segment_count(ix));
out:
	index_close(&ix);
	segments_clear(&big);
	segments_clear(&small);
	fx_teardown(&f);
}

/* The record of superseded segments is a cache: when the segment that
 * superseded others turns out damaged, they are read again in its place
 * and every blob is still found. */
static void test_index_record_damaged_superseder(void)
{
	struct fx f;
	struct segments sg = { 0 };
	struct index *ix = NULL;
	struct error err;
	char live[65] = "", *path = NULL;
	const char *cache;
	size_t skipped = 0;

	CHECK(fx_setup(&f, "photos") == 0);
	CHECK(write_segments(f.u, &sg, 10, 31) == 0);
	ix = index_open(f.u, &err);
	CHECKF(ix != NULL, "index_open failed: %s", err.msg);
	CHECK_OK(index_merge(ix, f.u, &err), &err);
	index_close(&ix);
	ix = index_open(f.u, &err); /* learns the 10 superseded ones */
	CHECKF(ix != NULL, "index_open failed: %s", err.msg);
	CHECK_OK(index_foreach_segment(ix, note_live_segment, live), &err);
	index_close(&ix);
	cache = store_unit_cache(f.u, &err);
	CHECK(cache != NULL && live[0] != '\0');
	path = xasprintf("%s/idx-%s", cache, live);
	/* Entry 0's pack number, as in test_index_damaged_cache. */
	CHECK(th_flip_byte(path, 16 + 20 * 32 + 32 + 1, 0x04) == 0);
	ix = index_open_tolerant(f.u, count_skipped, &skipped, &err);
	CHECKF(ix != NULL, "index_open_tolerant failed: %s", err.msg);
	CHECKF(skipped == 1, "%zu segments left out, expected the damaged one", skipped);
	CHECK(check_found(ix, &sg, "with the merged segment damaged") == 0);
out:
	free(path);
	index_close(&ix);
	segments_clear(&sg);
	fx_teardown(&f);
}

static struct rp *rp_sample(const char *unit, uint64_t seed)
{
	struct rp *rp = xcalloc(1, sizeof(*rp));

	rp->unit = xstrdup(unit);
	rp->host = xstrdup("host.example");
	rp->source = xstrdup("/home/ann");
	rp->time_ns = 1700000000123456789LL + (int64_t)seed;
	rp->nmeta = 3;
	rp->meta = xcalloc(rp->nmeta, 32);
	th_fill(seed, rp->meta, rp->nmeta * 32);
	rp->levels = 1;
	rp->stats.files = 10 + seed;
	rp->stats.bytes = 1ULL << 40;
	rp_add_warning(rp, "skipped /home/ann/secret: Permission denied");
	return rp;
}

static void test_rp_chain(void)
{
	struct fx f;
	struct rp *rp1 = NULL, *rp2 = NULL, *r1 = NULL, *r2 = NULL;
	struct buf raw;
	struct error err;
	uint32_t *seqs = NULL;
	size_t n = 0;
	uint8_t sha[32];
	char *name = NULL, *path = NULL;

	buf_init(&raw, 0);
	CHECK(fx_setup(&f, "photos") == 0);
	rp1 = rp_sample("photos", 1);
	rp2 = rp_sample("photos", 2);
	CHECK_OK(rp_write(f.u, rp1, &err), &err);
	CHECKF(rp1->seq == 1 && !rp1->has_parent, "first point: seq %u, has_parent %d", rp1->seq,
	       rp1->has_parent);
	CHECK_OK(rp_write(f.u, rp2, &err), &err);
	CHECKF(rp2->seq == 2 && rp2->has_parent, "second point: seq %u, has_parent %d", rp2->seq,
	       rp2->has_parent);
	CHECKF(memcmp(rp2->parent, rp1->hash, 32) == 0, "point 2's parent is not point 1's hash");
	CHECK_OK(rp_list(f.u, &seqs, &n, &err), &err);
	CHECK(n == 2 && seqs[0] == 1 && seqs[1] == 2);
	/* Read back: everything survives, and the chain holds on disk. */
	CHECK_OK(rp_read(f.u, 1, &r1, &err), &err);
	CHECK_OK(rp_read(f.u, 2, &r2, &err), &err);
	CHECK(r1->seq == 1 && !r1->has_parent && r2->seq == 2 && r2->has_parent);
	CHECK(memcmp(r1->hash, rp1->hash, 32) == 0 && memcmp(r2->hash, rp2->hash, 32) == 0);
	CHECK(memcmp(r2->parent, r1->hash, 32) == 0);
	CHECK(strcmp(r2->unit, "photos") == 0 && strcmp(r2->host, "host.example") == 0 &&
	      strcmp(r2->source, "/home/ann") == 0);
	CHECK(r2->time_ns == rp2->time_ns && r2->levels == 1);
	CHECK(r2->nmeta == 3 && memcmp(r2->meta, rp2->meta, 3 * 32) == 0);
	CHECK(r2->stats.files == 12 && r2->stats.bytes == 1ULL << 40);
	CHECK(r2->nwarnings == 1 && strcmp(r2->warnings[0], rp2->warnings[0]) == 0);
	/* parent = SHA-256 of the stored bytes of the previous point. */
	name = store_unit_path(f.u, "rp/0000000001");
	path = fs_join(f.ts.root, name);
	CHECK_OK(fs_read_file(path, &raw, 1 << 20, &err), &err);
	crypto_sha256(raw.data, raw.len, sha);
	CHECK(memcmp(sha, r2->parent, 32) == 0);
out:
	rp_free(&rp1);
	rp_free(&rp2);
	rp_free(&r1);
	rp_free(&r2);
	rp_free(&r2); /* NULL is accepted */
	free(seqs);
	free(name);
	free(path);
	buf_clear(&raw);
	fx_teardown(&f);
}

static void test_rp_missing(void)
{
	struct fx f;
	struct rp *rp = NULL, *got = NULL;
	struct error err;
	uint32_t *seqs = NULL;
	size_t n = 99;

	CHECK(fx_setup(&f, "photos") == 0);
	CHECK_OK(rp_list(f.u, &seqs, &n, &err), &err);
	CHECK(n == 0);
	CHECK_FAILS(rp_read(f.u, 1, &got, &err), &err, ERROR_NOTFOUND);
	rp = rp_sample("photos", 3);
	CHECK_OK(rp_write(f.u, rp, &err), &err);
	CHECK_FAILS(rp_read(f.u, 2, &got, &err), &err, ERROR_NOTFOUND);
	CHECK(got == NULL);
out:
	rp_free(&rp);
	rp_free(&got);
	free(seqs);
	fx_teardown(&f);
}

const struct unit_test store_tests[] = {
	{ "store: init and open with a key file", test_init_open },
	{ "store: a wrong key file fails with ERROR_KEY", test_wrong_key },
	{ "store: config with format 2 fails with ERROR_VERSION", test_newer_format },
	{ "store: units keep name and key across reopen; store_unit_names lists them", test_units },
	{ "pack: blobs read back, the trailer lists them", test_pack_roundtrip },
	{ "pack: a flipped byte on disk fails that blob only with ERROR_CORRUPT", test_pack_damage },
	{ "index: segments find every id and not a random one", test_index_lookup },
	{ "index: a damaged cache copy is refused or fetched again", test_index_damaged_cache },
	{ "index: merge of 10 segments leaves one live segment with every entry", test_index_merge },
	{ "index: a merge leaves a big segment alone; superseded ones are not fetched again",
	  test_index_merge_tiered },
	{ "index: a damaged merged segment lets the ones it superseded stand in",
	  test_index_record_damaged_superseder },
	{ "index: segments superseded twice stay superseded when the middle one is deleted first",
	  test_index_superseded_stay_dead },
	{ "rp: rp_write twice gives seq 1 and 2, chained by hash", test_rp_chain },
	{ "rp: rp_read of a missing point fails with ERROR_NOTFOUND", test_rp_missing },
	{ NULL, NULL },
};
