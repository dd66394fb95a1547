#include "blob_writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "store/index.h"
#include "store/pack.h"
#include "store/store.h"

/* An open-addressing set of 32-byte ids; ids are keyed hashes, so their
 * first bytes are already uniformly spread. */
struct idset {
	uint8_t (*slots)[32];
	uint8_t *used;
	size_t cap, n;
};

struct blob_writer {
	struct store_unit *u;
	struct index *ix;
	pthread_mutex_t lock;
	struct idset ids;
	struct index_builder *builder;
	struct blob_writer_stats stats;
};

static size_t idset_slot(const struct idset *set, const uint8_t id[32])
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));
	return (size_t)(h & (set->cap - 1));
}

static void idset_grow(struct idset *set);

/* 1 if inserted, 0 if it was there. */
static int idset_insert(struct idset *set, const uint8_t id[32])
{
	size_t i;

	if ((set->n + 1) * 4 > set->cap * 3)
		idset_grow(set);
	for (i = idset_slot(set, id); set->used[i]; i = (i + 1) & (set->cap - 1))
		if (memcmp(set->slots[i], id, 32) == 0)
			return 0;
	set->used[i] = 1;
	memcpy(set->slots[i], id, 32);
	set->n++;
	return 1;
}

static void idset_grow(struct idset *set)
{
	struct idset old = *set;
	size_t i;

	set->cap = old.cap ? old.cap * 2 : 4096;
	set->slots = xcalloc(set->cap, 32);
	set->used = xcalloc(set->cap, 1);
	set->n = 0;
	for (i = 0; i < old.cap; i++)
		if (old.used[i])
			idset_insert(set, old.slots[i]);
	free(old.slots);
	free(old.used);
}

struct blob_writer *blob_writer_open(struct store_unit *u, struct index *ix)
{
	struct blob_writer *s = xcalloc(1, sizeof(*s));

	s->u = u;
	s->ix = ix;
	pthread_mutex_init(&s->lock, NULL);
	s->builder = index_builder_new();
	return s;
}

void blob_writer_close(struct blob_writer **sp)
{
	struct blob_writer *s = *sp;

	if (s == NULL)
		return;
	index_builder_free(&s->builder);
	free(s->ids.slots);
	free(s->ids.used);
	pthread_mutex_destroy(&s->lock);
	free(s);
	*sp = NULL;
}

static void blob_writer_pack_committed(void *ctx, const uint8_t pack_id[32],
				   const struct pack_entry *entries, size_t n)
{
	struct blob_writer *s = ctx;

	pthread_mutex_lock(&s->lock);
	index_builder_add_pack(s->builder, pack_id, entries, n);
	pthread_mutex_unlock(&s->lock);
}

struct pack_writer *blob_writer_pack(struct blob_writer *s, int meta)
{
	return pack_writer_open(s->u, meta ? BLOB_META : BLOB_DATA, blob_writer_pack_committed, s);
}

int blob_writer_put(struct blob_writer *s, struct pack_writer *pw, struct crypto_mac *mac,
		     const void *data, size_t len, uint8_t id_r[32], struct error *err)
{
	uint64_t stored = 0;
	int fresh;

	crypto_mac_compute(mac, data, len, id_r);
	if (index_lookup(s->ix, id_r, NULL, NULL))
		return 0;
	pthread_mutex_lock(&s->lock);
	fresh = idset_insert(&s->ids, id_r);
	pthread_mutex_unlock(&s->lock);
	if (!fresh)
		return 0;
	if (pack_writer_add(pw, id_r, data, len, &stored, err) < 0)
		return -1;
	pthread_mutex_lock(&s->lock);
	s->stats.new_blobs++;
	s->stats.new_bytes += len;
	s->stats.stored_bytes += stored;
	/* Blobs that compression could not shrink: what encryption by
	 * ransomware looks like, for anomaly detection. */
	if (stored >= len)
		s->stats.incompressible_bytes += len;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int blob_writer_flush_index(struct blob_writer *s, struct error *err)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = index_builder_write(s->builder, s->u, err);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

size_t blob_writer_pending_index(struct blob_writer *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = index_builder_count(s->builder);
	pthread_mutex_unlock(&s->lock);
	return n;
}

void blob_writer_get_stats(struct blob_writer *s, struct blob_writer_stats *st)
{
	pthread_mutex_lock(&s->lock);
	*st = s->stats;
	pthread_mutex_unlock(&s->lock);
}
