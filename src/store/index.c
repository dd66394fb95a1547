#include "index.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "crypto/seal.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/mem.h"
#include "store/backend.h"
#include "store/pack.h"
#include "store/store.h"

#define INDEX_HEADER 16
#define INDEX_ENTRY 48
#define INDEX_MAX_BODY (1ULL << 36)

struct segment {
	char name[65];
	uint8_t *map;
	size_t maplen;
	uint32_t npacks, nentries, nsuperseded;
	const uint8_t *packs, *entries, *superseded;
	int dead;     /* superseded by a merged segment, or unusable */
	int damaged;  /* could not be fetched or parsed (no map) */
	char *error;  /* why, for a damaged segment */
};

struct index {
	struct segment *segs;
	size_t n;
	uint8_t (*sup)[32]; /* superseded segments, sorted (index_superseded_set) */
	size_t nsup;
};

static int id_cmp(const void *a, const void *b) { return memcmp(a, b, 32); }

/* Whether a segment still in the store lists segment `name` as superseded. */
static int index_is_superseded(const struct index *ix, const char *name)
{
	uint8_t id[32];

	return ix->nsup && hex_decode(name, 64, id, 32) == 0 &&
	       bsearch(id, ix->sup, ix->nsup, 32, id_cmp) != NULL;
}

int index_parse_body(const uint8_t *data, size_t len, const char *what, struct error *err)
{
	uint64_t need;
	uint32_t npacks, nentries, nsup, i;

	if (len < INDEX_HEADER)
		return error_setk(err, ERROR_CORRUPT, "index segment %s is truncated", what);
	npacks = get_u32(data);
	nentries = get_u32(data + 4);
	nsup = get_u32(data + 8);
	need = INDEX_HEADER + (uint64_t)npacks * 32 + (uint64_t)nentries * INDEX_ENTRY +
	       (uint64_t)nsup * 32;
	if (need != len)
		return error_setk(err, ERROR_CORRUPT, "index segment %s: length %zu, expected %llu",
				  what, len, (unsigned long long)need);
	data += INDEX_HEADER + (size_t)npacks * 32;
	for (i = 0; i < nentries; i++) {
		const uint8_t *e = data + (size_t)i * INDEX_ENTRY;

		if (get_u32(e + 32) >= npacks)
			return error_setk(err, ERROR_CORRUPT, "index segment %s: entry %u names pack %u of %u",
					  what, i, get_u32(e + 32), npacks);
		if (i > 0 && memcmp(e - INDEX_ENTRY, e, 32) >= 0)
			return error_setk(err, ERROR_CORRUPT, "index segment %s: entries out of order at %u",
					  what, i);
	}
	return 0;
}

static void segment_bind(struct segment *seg)
{
	seg->npacks = get_u32(seg->map);
	seg->nentries = get_u32(seg->map + 4);
	seg->nsuperseded = get_u32(seg->map + 8);
	seg->packs = seg->map + INDEX_HEADER;
	seg->entries = seg->packs + (size_t)seg->npacks * 32;
	seg->superseded = seg->entries + (size_t)seg->nentries * INDEX_ENTRY;
}

/* Fetches a segment from the store, decrypts and checks it, and writes it
 * to the cache file. */
static int segment_fetch(struct store_unit *u, const char *name, const char *cache_path,
			 struct error *err)
{
	char *rel = xasprintf("index/%s", name), *obj = store_unit_path(u, rel);
	struct buf body;
	int ret;

	buf_init(&body, 0);
	ret = store_unit_get_sealed(u, obj, SEAL_INDEX, INDEX_MAX_BODY, &body, NULL, err);
	if (ret == 0)
		ret = index_parse_body(body.data, body.len, obj, err);
	if (ret == 0)
		ret = fs_write_replace(cache_path, body.data, body.len, err);
	buf_clear(&body);
	free(rel);
	free(obj);
	return ret;
}

static int segment_map(struct segment *seg, const char *path, struct error *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *map;

	if (fd < 0)
		return error_sys(err, "open(%s) failed", path);
	if (fstat(fd, &st) < 0 || st.st_size < INDEX_HEADER) {
		close(fd);
		return error_setk(err, ERROR_CORRUPT, "cached index %s is damaged", path);
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return error_sys(err, "mmap(%s) failed", path);
	seg->map = map;
	seg->maplen = (size_t)st.st_size;
	segment_bind(seg);
	if ((uint64_t)INDEX_HEADER + (uint64_t)seg->npacks * 32 +
	    (uint64_t)seg->nentries * INDEX_ENTRY + (uint64_t)seg->nsuperseded * 32 != seg->maplen)
		return error_setk(err, ERROR_CORRUPT, "cached index %s is damaged; remove it", path);
	/* The cache is outside the store's protection: check it as a fetch does. */
	return index_parse_body(seg->map, seg->maplen, path, err);
}

/* The cache's record of segments known to be superseded (docs/format.md
 * 6.1): pairs of 32-byte ids, the superseded segment and one that lists
 * it, after a header with the record's version. A segment is skipped
 * without being fetched or mapped while the one listing it is still in the
 * store, so opening costs what the live segments hold, not how many
 * segments backups have written since the last prune. */
#define DEAD_MAGIC "coffer superseded 1\n"
#define DEAD_MAGIC_LEN 20
#define DEAD_MAX ((size_t)64 << 20)

struct dead_pair {
	uint8_t dead[32], by[32];
};

struct open_ctx {
	struct index *ix;
	struct store_unit *u;
	const char *cache;
	struct error *err;
	uint8_t (*names)[32]; /* every segment in the store, sorted */
	size_t nnames;
};

static int open_ctx_present(const struct open_ctx *oc, const uint8_t id[32])
{
	return oc->nnames && bsearch(id, oc->names, oc->nnames, 32, id_cmp) != NULL;
}

static int index_list_segment(void *ctx, const char *name)
{
	struct open_ctx *oc = ctx;

	if (strlen(name) != 64 || !hex_is_lower(name, 64))
		return 0;
	oc->names = xrealloc(oc->names, xmul(oc->nnames + 1, 32));
	if (hex_decode(name, 64, oc->names[oc->nnames], 32) == 0)
		oc->nnames++;
	return 0;
}

/* The cached pairs whose superseding segment is still in the store, sorted
 * by the superseded id. A missing or malformed record is empty. */
static struct dead_pair *dead_load(struct open_ctx *oc, size_t *n_r)
{
	char *path = xasprintf("%s/superseded", oc->cache);
	struct dead_pair *pairs = NULL;
	struct error ignored;
	struct buf data;
	size_t i, n = 0;

	buf_init(&data, 0);
	if (fs_read_file(path, &data, DEAD_MAX, &ignored) == 0 && data.len >= DEAD_MAGIC_LEN &&
	    memcmp(data.data, DEAD_MAGIC, DEAD_MAGIC_LEN) == 0 &&
	    (data.len - DEAD_MAGIC_LEN) % sizeof(*pairs) == 0) {
		size_t total = (data.len - DEAD_MAGIC_LEN) / sizeof(*pairs);

		pairs = xmalloc(xmul(total ? total : 1, sizeof(*pairs)));
		for (i = 0; i < total; i++) {
			memcpy(&pairs[n], data.data + DEAD_MAGIC_LEN + i * sizeof(*pairs),
			       sizeof(*pairs));
			if (open_ctx_present(oc, pairs[n].by) && open_ctx_present(oc, pairs[n].dead))
				n++;
		}
		if (n > 1)
			qsort(pairs, n, sizeof(*pairs), id_cmp);
	}
	buf_clear(&data);
	free(path);
	*n_r = n;
	return pairs;
}

static int dead_known(const struct dead_pair *pairs, size_t n, const uint8_t id[32])
{
	return n && bsearch(id, pairs, n, sizeof(*pairs), id_cmp) != NULL;
}

/* Maps one segment (fetched into the cache first if it is not there) into
 * seg, whose name is set. A segment that cannot be read is kept as
 * damaged: decided after all are read, harmless if another segment
 * supersedes it (a rebuilt index, or one prune just replaced). */
static void segment_load(struct open_ctx *oc, struct segment *seg)
{
	char name[65], *path;
	int ret = 0;

	memcpy(name, seg->name, sizeof(name));
	memset(seg, 0, sizeof(*seg));
	memcpy(seg->name, name, sizeof(name));
	path = xasprintf("%s/idx-%s", oc->cache, seg->name);
	if (access(path, F_OK) < 0)
		ret = segment_fetch(oc->u, seg->name, path, oc->err);
	if (ret == 0)
		ret = segment_map(seg, path, oc->err);
	free(path);
	if (ret < 0) {
		if (seg->map)
			munmap(seg->map, seg->maplen);
		seg->map = NULL;
		seg->maplen = 0;
		seg->npacks = seg->nentries = seg->nsuperseded = 0;
		seg->dead = seg->damaged = 1;
		seg->error = xstrdup(oc->err->msg);
		error_init(oc->err);
	}
}

static void index_open_segment(struct open_ctx *oc, const uint8_t id[32])
{
	struct segment seg;

	memset(&seg, 0, sizeof(seg));
	hex_encode(id, 32, seg.name);
	segment_load(oc, &seg);
	oc->ix->segs = xrealloc(oc->ix->segs, xmul(oc->ix->n + 1, sizeof(seg)));
	oc->ix->segs[oc->ix->n++] = seg;
}

/* A damaged segment vouches for nothing: the cached pairs naming it as
 * the superseding one are dropped and the segments they name are read
 * after all, as without the record. */
static void index_unvouch(struct open_ctx *oc, struct dead_pair *pairs, size_t *npairs)
{
	struct index *ix = oc->ix;
	size_t i, k, n = 0, damaged = 0;
	char hex[65];

	for (i = 0; i < ix->n; i++)
		damaged += ix->segs[i].damaged;
	if (damaged == 0)
		return;
	for (k = 0; k < *npairs; k++) {
		int drop = 0;

		hex_encode(pairs[k].by, 32, hex);
		for (i = 0; i < ix->n && !drop; i++)
			drop = ix->segs[i].damaged && strcmp(ix->segs[i].name, hex) == 0;
		if (!drop) {
			pairs[n++] = pairs[k];
			continue;
		}
		hex_encode(pairs[k].dead, 32, hex);
		for (i = 0; i < ix->n; i++)
			if (ix->segs[i].map == NULL && !ix->segs[i].damaged &&
			    strcmp(ix->segs[i].name, hex) == 0)
				segment_load(oc, &ix->segs[i]);
	}
	*npairs = n;
}

/* A segment known superseded: listed, never mapped. */
static void index_skip_segment(struct open_ctx *oc, const uint8_t id[32])
{
	struct segment seg;

	memset(&seg, 0, sizeof(seg));
	hex_encode(id, 32, seg.name);
	seg.dead = 1;
	oc->ix->segs = xrealloc(oc->ix->segs, xmul(oc->ix->n + 1, sizeof(seg)));
	oc->ix->segs[oc->ix->n++] = seg;
}

/* ix->sup: every superseded id that a segment still in the store lists
 * (the mapped segments' lists and the cached pairs), sorted. Writes the
 * cache record again when it learnt a pair, and drops the cached copies
 * of segments it learnt are superseded. */
static void index_superseded_set(struct open_ctx *oc, struct dead_pair *pairs, size_t npairs)
{
	struct index *ix = oc->ix;
	size_t i, k, known = npairs, cap = npairs;

	for (i = 0; i < ix->n; i++) {
		const struct segment *seg = &ix->segs[i];

		for (k = 0; k < seg->nsuperseded; k++) {
			const uint8_t *x = seg->superseded + k * 32;

			if (!open_ctx_present(oc, x) || dead_known(pairs, known, x))
				continue;
			if (npairs == cap) {
				cap = cap ? cap * 2 : 64;
				pairs = xrealloc(pairs, xmul(cap, sizeof(*pairs)));
			}
			memcpy(pairs[npairs].dead, x, 32);
			hex_decode(seg->name, 64, pairs[npairs++].by, 32);
		}
	}
	if (npairs > 1)
		qsort(pairs, npairs, sizeof(*pairs), id_cmp);
	ix->sup = xmalloc(xmul(npairs ? npairs : 1, 32));
	for (i = 0; i < npairs; i++)
		if (ix->nsup == 0 || memcmp(ix->sup[ix->nsup - 1], pairs[i].dead, 32) != 0)
			memcpy(ix->sup[ix->nsup++], pairs[i].dead, 32);
	if (npairs != known) {
		/* A cache that cannot be written costs the next open some maps. */
		struct buf out;
		struct error ignored;
		char *path = xasprintf("%s/superseded", oc->cache);

		buf_init(&out, 0);
		buf_add(&out, DEAD_MAGIC, DEAD_MAGIC_LEN);
		buf_add(&out, pairs, npairs * sizeof(*pairs));
		fs_write_replace(path, out.data, out.len, &ignored);
		buf_clear(&out);
		free(path);
		for (i = 0; i < ix->n; i++)
			if (ix->segs[i].map && index_is_superseded(ix, ix->segs[i].name)) {
				path = xasprintf("%s/idx-%s", oc->cache, ix->segs[i].name);
				unlink(path); /* mapped: stays readable until closed */
				free(path);
			}
	}
	free(pairs);
}

/* Marks superseded segments dead; reports damaged segments nothing
 * supersedes (or fails, without a skip callback). */
static int index_settle(struct index *ix, index_skip_cb *skip, void *ctx, struct error *err)
{
	size_t i;

	for (i = 0; i < ix->n; i++) {
		struct segment *seg = &ix->segs[i];

		if (index_is_superseded(ix, seg->name)) {
			seg->dead = 1;
			continue;
		}
		if (!seg->damaged)
			continue;
		error_setk(err, ERROR_CORRUPT, "%s; `coffer rebuild-index` recreates the index "
			   "from the packs", seg->error);
		if (skip == NULL)
			return -1;
		skip(ctx, seg->name, err);
		error_init(err);
	}
	return 0;
}

struct index *index_open_tolerant(struct store_unit *u, index_skip_cb *skip, void *ctx,
				  struct error *err)
{
	struct index *ix = xcalloc(1, sizeof(*ix));
	struct open_ctx oc = { .ix = ix, .u = u, .err = err };
	char *dir = store_unit_path(u, "index");
	struct dead_pair *pairs = NULL;
	size_t npairs = 0, i;
	int ret;

	oc.cache = store_unit_cache(u, err);
	ret = oc.cache ? backend_list(store_backend(store_unit_store(u)), dir, index_list_segment,
				      &oc, err) : -1;
	free(dir);
	if (ret == 0) {
		if (oc.nnames > 1)
			qsort(oc.names, oc.nnames, 32, id_cmp);
		pairs = dead_load(&oc, &npairs);
		for (i = 0; i < oc.nnames; i++) {
			if (i > 0 && memcmp(oc.names[i - 1], oc.names[i], 32) == 0)
				continue;
			if (dead_known(pairs, npairs, oc.names[i]))
				index_skip_segment(&oc, oc.names[i]);
			else
				index_open_segment(&oc, oc.names[i]);
		}
		index_unvouch(&oc, pairs, &npairs);
		index_superseded_set(&oc, pairs, npairs);
	}
	free(oc.names);
	if (ret < 0 || index_settle(ix, skip, ctx, err) < 0) {
		index_close(&ix);
		return NULL;
	}
	return ix;
}

struct index *index_open(struct store_unit *u, struct error *err)
{
	return index_open_tolerant(u, NULL, NULL, err);
}

void index_close(struct index **ixp)
{
	struct index *ix = *ixp;
	size_t i;

	if (ix == NULL)
		return;
	for (i = 0; i < ix->n; i++) {
		if (ix->segs[i].map)
			munmap(ix->segs[i].map, ix->segs[i].maplen);
		free(ix->segs[i].error);
	}
	free(ix->segs);
	free(ix->sup);
	free(ix);
	*ixp = NULL;
}

static void entry_decode(const uint8_t *p, struct pack_entry *e)
{
	memcpy(e->id, p, 32);
	e->offset = get_u32(p + 36);
	e->len_flags = get_u32(p + 40);
	e->raw_len = get_u32(p + 44);
}

int index_lookup(const struct index *ix, const uint8_t id[32], struct pack_entry *e_r,
		 const uint8_t **pack_r)
{
	size_t i;

	/* Newest segments are most likely to hold recent blobs: search backwards. */
	for (i = ix->n; i-- > 0;) {
		const struct segment *seg = &ix->segs[i];
		size_t lo = 0, hi = seg->nentries;

		if (seg->dead)
			continue;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			const uint8_t *p = seg->entries + mid * INDEX_ENTRY;
			int c = memcmp(p, id, 32);

			if (c == 0) {
				if (e_r)
					entry_decode(p, e_r);
				if (pack_r)
					*pack_r = seg->packs + (size_t)get_u32(p + 32) * 32;
				return 1;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return 0;
}

size_t index_segment_count(const struct index *ix)
{
	size_t i, n = 0;

	for (i = 0; i < ix->n; i++)
		n += !ix->segs[i].dead;
	return n;
}

uint64_t index_entry_count(const struct index *ix)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < ix->n; i++)
		if (!ix->segs[i].dead)
			n += ix->segs[i].nentries;
	return n;
}

int index_foreach(const struct index *ix, index_foreach_cb *cb, void *ctx)
{
	struct pack_entry e;
	size_t i, k;

	for (i = 0; i < ix->n; i++) {
		const struct segment *seg = &ix->segs[i];

		if (seg->dead)
			continue;
		for (k = 0; k < seg->nentries; k++) {
			const uint8_t *p = seg->entries + k * INDEX_ENTRY;

			entry_decode(p, &e);
			if (cb(ctx, seg->packs + (size_t)get_u32(p + 32) * 32, &e) < 0)
				return -1;
		}
	}
	return 0;
}

int index_foreach_segment(const struct index *ix, index_segment_cb *cb, void *ctx)
{
	size_t i;

	for (i = 0; i < ix->n; i++)
		if (cb(ctx, ix->segs[i].name,
		       ix->segs[i].dead && index_is_superseded(ix, ix->segs[i].name)) < 0)
			return -1;
	return 0;
}

struct bentry {
	uint8_t id[32];
	uint32_t pack, offset, len_flags, raw_len;
};

struct index_builder {
	uint8_t (*packs)[32];
	size_t npacks, cappacks;
	struct bentry *entries;
	size_t n, cap;
	uint8_t (*superseded)[32];
	size_t nsup;
};

struct index_builder *index_builder_new(void)
{
	return xcalloc(1, sizeof(struct index_builder));
}

static void index_builder_reset(struct index_builder *b)
{
	free(b->packs);
	free(b->entries);
	free(b->superseded);
	memset(b, 0, sizeof(*b));
}

void index_builder_free(struct index_builder **bp)
{
	if (*bp == NULL)
		return;
	index_builder_reset(*bp);
	free(*bp);
	*bp = NULL;
}

static uint32_t builder_pack(struct index_builder *b, const uint8_t pack_id[32])
{
	if (b->npacks == b->cappacks) {
		b->cappacks = b->cappacks ? b->cappacks * 2 : 16;
		b->packs = xrealloc(b->packs, xmul(b->cappacks, 32));
	}
	memcpy(b->packs[b->npacks], pack_id, 32);
	return (uint32_t)b->npacks++;
}

static void builder_entry(struct index_builder *b, uint32_t pack, const struct pack_entry *e)
{
	struct bentry *be;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 1024;
		b->entries = xrealloc(b->entries, xmul(b->cap, sizeof(*b->entries)));
	}
	be = &b->entries[b->n++];
	memcpy(be->id, e->id, 32);
	be->pack = pack;
	be->offset = e->offset;
	be->len_flags = e->len_flags;
	be->raw_len = e->raw_len;
}

void index_builder_add_pack(struct index_builder *b, const uint8_t pack_id[32],
			    const struct pack_entry *entries, size_t n)
{
	uint32_t pack = builder_pack(b, pack_id);
	size_t i;

	for (i = 0; i < n; i++)
		builder_entry(b, pack, &entries[i]);
}

size_t index_builder_count(const struct index_builder *b) { return b->n; }

static int bentry_cmp(const void *a, const void *b)
{
	return memcmp(((const struct bentry *)a)->id, ((const struct bentry *)b)->id, 32);
}

static void builder_body(struct index_builder *b, struct buf *body)
{
	size_t i, n = 0;

	if (b->n > 1)
		qsort(b->entries, b->n, sizeof(*b->entries), bentry_cmp);
	/* The same blob may be in two packs (two writers raced); keep one. */
	for (i = 0; i < b->n; i++)
		if (n == 0 || memcmp(b->entries[n - 1].id, b->entries[i].id, 32) != 0)
			b->entries[n++] = b->entries[i];
	b->n = n;
	buf_add_u32(body, (uint32_t)b->npacks);
	buf_add_u32(body, (uint32_t)b->n);
	buf_add_u32(body, (uint32_t)b->nsup);
	buf_add_u32(body, 0);
	buf_add(body, b->packs, b->npacks * 32);
	for (i = 0; i < b->n; i++) {
		buf_add(body, b->entries[i].id, 32);
		buf_add_u32(body, b->entries[i].pack);
		buf_add_u32(body, b->entries[i].offset);
		buf_add_u32(body, b->entries[i].len_flags);
		buf_add_u32(body, b->entries[i].raw_len);
	}
	buf_add(body, b->superseded, b->nsup * 32);
}

int index_builder_write(struct index_builder *b, struct store_unit *u, struct error *err)
{
	struct buf body;
	uint8_t rnd[32];
	char hex[65], *rel, *obj, *cache_path;
	const char *cache;
	int ret = -1;

	if (b->n == 0 && b->nsup == 0)
		return 0;
	buf_init(&body, 0);
	builder_body(b, &body);
	crypto_random(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), hex);
	rel = xasprintf("index/%s", hex);
	obj = store_unit_path(u, rel);
	cache = store_unit_cache(u, err);
	/* The packs a segment lists were committed lazily: they reach the
	 * disk before the segment that makes them reachable. */
	if (cache != NULL && backend_sync(store_backend(store_unit_store(u)), err) == 0 &&
	    store_unit_put_sealed(u, obj, SEAL_INDEX, body.data, body.len, 1, NULL, err) == 0) {
		/* A failed cache write only costs a later download. */
		struct error ignored;

		cache_path = xasprintf("%s/idx-%s", cache, hex);
		fs_write_replace(cache_path, body.data, body.len, &ignored);
		free(cache_path);
		index_builder_reset(b);
		ret = 0;
	}
	free(rel);
	free(obj);
	buf_clear(&body);
	return ret;
}

/* Adds every entry of `seg` whose pack `keep` accepts (all when keep is
 * NULL) and lists the segment as superseded. */
static void builder_supersede(struct index_builder *b, const struct segment *seg,
			      index_keep_cb *keep, void *ctx)
{
	struct pack_entry e;
	uint32_t *map;
	size_t k;

	/* Segment pack numbers to builder pack numbers; UINT32_MAX: dropped. */
	map = xcalloc(seg->npacks ? seg->npacks : 1, sizeof(*map));
	for (k = 0; k < seg->npacks; k++)
		map[k] = keep == NULL || keep(ctx, seg->packs + k * 32)
				 ? builder_pack(b, seg->packs + k * 32) : UINT32_MAX;
	for (k = 0; k < seg->nentries; k++) {
		const uint8_t *p = seg->entries + k * INDEX_ENTRY;
		uint32_t pack = get_u32(p + 32);

		if (pack >= seg->npacks || map[pack] == UINT32_MAX)
			continue;
		entry_decode(p, &e);
		builder_entry(b, map[pack], &e);
	}
	free(map);
	b->superseded = xrealloc(b->superseded, xmul(b->nsup + 1, 32));
	hex_decode(seg->name, 64, b->superseded[b->nsup++], 32);
}

/* Lists again every segment that is superseded already. A prune deletes
 * superseded segments one by one: if the only segment listing S were
 * itself superseded, deleting it first and dying before S would bring S
 * back to life, with entries for packs deleted since (the soak's kills
 * found this). Listed by the newest segment as well, S stays dead
 * whatever order the deletions take. */
static void builder_keep_superseded(struct index_builder *b, const struct index *ix)
{
	size_t i;

	for (i = 0; i < ix->n; i++) {
		if (!ix->segs[i].dead || !index_is_superseded(ix, ix->segs[i].name))
			continue;
		b->superseded = xrealloc(b->superseded, xmul(b->nsup + 1, 32));
		hex_decode(ix->segs[i].name, 64, b->superseded[b->nsup++], 32);
	}
}

int index_rewrite(struct index *ix, struct store_unit *u, index_keep_cb *keep, void *ctx,
		  struct error *err)
{
	struct index_builder *b = index_builder_new();
	size_t i;
	int ret;

	for (i = 0; i < ix->n; i++)
		if (!ix->segs[i].dead)
			builder_supersede(b, &ix->segs[i], keep, ctx);
	builder_keep_superseded(b, ix);
	ret = index_builder_write(b, u, err);
	index_builder_free(&b);
	return ret;
}

static int seg_size_cmp(const void *a, const void *b)
{
	const struct segment *p = *(const struct segment *const *)a;
	const struct segment *q = *(const struct segment *const *)b;

	return (p->nentries > q->nentries) - (p->nentries < q->nentries);
}

/* Size-tiered: the smallest live segments are merged, joined by the next
 * larger one while it holds at most INDEX_MERGE_GROWTH times what is
 * merged so far. A large segment is rewritten only once the small ones
 * add up to a fair part of it, so a blob is copied a logarithmic number
 * of times over the unit's life, not at every merge, and the live
 * segments stay few (each kept one outweighs all smaller ones). */
int index_merge(struct index *ix, struct store_unit *u, struct error *err)
{
	struct index_builder *b;
	const struct segment **live;
	uint64_t merged;
	size_t i, n = 0, take;
	int ret;

	if (index_segment_count(ix) <= INDEX_MERGE_AT)
		return 0;
	live = xmalloc(xmul(ix->n, sizeof(*live)));
	for (i = 0; i < ix->n; i++)
		if (!ix->segs[i].dead)
			live[n++] = &ix->segs[i];
	qsort(live, n, sizeof(*live), seg_size_cmp);
	merged = (uint64_t)live[0]->nentries + live[1]->nentries;
	for (take = 2; take < n && live[take]->nentries <= INDEX_MERGE_GROWTH * (merged ? merged : 1);
	     take++)
		merged += live[take]->nentries;
	b = index_builder_new();
	for (i = 0; i < take; i++)
		builder_supersede(b, live[i], NULL, NULL);
	builder_keep_superseded(b, ix);
	ret = index_builder_write(b, u, err);
	index_builder_free(&b);
	free(live);
	return ret;
}

struct rebuild_ctx {
	struct store_unit *u;
	struct backend *be;
	struct pack_reader *pr;
	struct index_builder *b;
	index_skip_cb *bad_pack;
	void *ctx;
	char *dir;
	uint64_t packs, blobs;
	struct error *err;
};

static int rebuild_pack(void *ctx, const char *name)
{
	struct rebuild_ctx *rc = ctx;
	struct pack_entry *entries;
	uint8_t id[32];
	size_t n;

	if (hex_decode(name, strlen(name), id, 32) < 0)
		return 0;
	if (pack_reader_trailer(rc->pr, id, &entries, &n, rc->err) < 0) {
		if (rc->bad_pack)
			rc->bad_pack(rc->ctx, name, rc->err);
		error_init(rc->err);
		return 0;
	}
	index_builder_add_pack(rc->b, id, entries, n);
	rc->packs++;
	rc->blobs += n;
	free(entries);
	return 0;
}

static int rebuild_dir(void *ctx, const char *name)
{
	struct rebuild_ctx *rc = ctx;
	char *sub = xasprintf("%s/%s", rc->dir, name);
	int ret = backend_list(rc->be, sub, rebuild_pack, rc, rc->err);

	free(sub);
	return ret;
}

static int rebuild_supersede(void *ctx, const char *name)
{
	struct rebuild_ctx *rc = ctx;

	if (strlen(name) != 64)
		return 0;
	rc->b->superseded = xrealloc(rc->b->superseded, xmul(rc->b->nsup + 1, 32));
	if (hex_decode(name, 64, rc->b->superseded[rc->b->nsup], 32) == 0)
		rc->b->nsup++;
	return 0;
}

int index_rebuild(struct store_unit *u, index_skip_cb *bad_pack, void *ctx, uint64_t *packs_r,
		  uint64_t *blobs_r, struct error *err)
{
	struct rebuild_ctx rc = { .u = u, .bad_pack = bad_pack, .ctx = ctx, .err = err };
	char *index_dir = store_unit_path(u, "index");
	int ret;

	rc.be = store_backend(store_unit_store(u));
	rc.pr = pack_reader_open(u);
	rc.b = index_builder_new();
	rc.dir = store_unit_path(u, "packs");
	/* Segments first: one written while the packs are read stays live. */
	ret = backend_list(rc.be, index_dir, rebuild_supersede, &rc, err);
	if (ret == 0)
		ret = backend_list(rc.be, rc.dir, rebuild_dir, &rc, err);
	if (ret == 0)
		ret = index_builder_write(rc.b, u, err);
	*packs_r = rc.packs;
	*blobs_r = rc.blobs;
	index_builder_free(&rc.b);
	pack_reader_close(&rc.pr);
	free(rc.dir);
	free(index_dir);
	return ret;
}
