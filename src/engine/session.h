#ifndef COFFER_SESSION_H
#define COFFER_SESSION_H

/* A writing session on one unit: the blobs it has stored so far (so two
 * threads never store the same blob twice), the index entries of its
 * committed packs, and its counters. Shared by the backup workers and the
 * metadata stream writer; every function is thread-safe. */

#include <stddef.h>
#include <stdint.h>

struct crypto_mac;
struct error;
struct index;
struct pack_writer;
struct store_unit;

struct session_stats {
	uint64_t new_blobs, new_bytes, stored_bytes, incompressible_bytes;
};

struct session;
struct session *session_create(struct store_unit *u, struct index *ix);
void session_destroy(struct session **s);

/* A pack writer of this session's unit; committed packs feed the index. */
struct pack_writer *session_pack_writer(struct session *s, int meta);

/* Stores a blob unless the index or this session already has it; fills
 * id_r. `mac` belongs to the calling thread. */
int session_put_blob(struct session *s, struct pack_writer *pw, struct crypto_mac *mac,
		     const void *data, size_t len, uint8_t id_r[32], struct error *err);

/* Writes an index segment of the packs committed so far (called now and
 * then so a crash keeps most of the work, and at the end). */
int session_flush_index(struct session *s, struct error *err);
/* Entries waiting for the next segment. */
size_t session_pending_index(struct session *s);

void session_get_stats(struct session *s, struct session_stats *st);

#endif
