#ifndef COFFER_BLOB_WRITER_H
#define COFFER_BLOB_WRITER_H

/* The blob writer of one point writer: the blobs it has stored so far (so two
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

struct blob_writer_stats {
	uint64_t new_blobs, new_bytes, stored_bytes, incompressible_bytes;
};

struct blob_writer;
struct blob_writer *blob_writer_open(struct store_unit *u, struct index *ix);
void blob_writer_close(struct blob_writer **s);

/* A pack writer of this blob writer's unit; committed packs feed the index. */
struct pack_writer *blob_writer_pack(struct blob_writer *s, int meta);

/* Stores a blob unless the index or this blob writer already has it; fills
 * id_r. `mac` belongs to the calling thread. */
int blob_writer_put(struct blob_writer *s, struct pack_writer *pw, struct crypto_mac *mac,
		     const void *data, size_t len, uint8_t id_r[32], struct error *err);

/* Writes an index segment of the packs committed so far (called now and
 * then so a crash keeps most of the work, and at the end). */
int blob_writer_flush_index(struct blob_writer *s, struct error *err);
/* Entries waiting for the next segment. */
size_t blob_writer_pending_index(struct blob_writer *s);

void blob_writer_get_stats(struct blob_writer *s, struct blob_writer_stats *st);

#endif
