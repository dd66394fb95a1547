#ifndef COFFER_PACK_H
#define COFFER_PACK_H

/* Packs: many encrypted blobs in one write-once object, with an encrypted
 * trailer that lists them (docs/format.md section 5). One writer per thread;
 * a writer streams its pack to the backend as blobs arrive. */

#include <stddef.h>
#include <stdint.h>

struct buf;
struct error;
struct store_unit;

#define PACK_HEADER_LEN 40
#define PACK_TARGET_SIZE (16u << 20)
#define BLOB_MAX_STORED ((1u << 24) - 1)

enum blob_type { BLOB_DATA = 1, BLOB_META = 2 };

#define BLOB_FLAG_ZSTD (1u << 28)
#define BLOB_LEN(lf) ((lf) & 0xffffffu)
#define BLOB_TYPE(lf) (((lf) >> 24) & 0xfu)

/* Where a blob sits in its pack. */
struct pack_entry {
	uint8_t id[32];
	uint32_t offset;
	uint32_t len_flags; /* stored length | type << 24 | BLOB_FLAG_ZSTD */
	uint32_t raw_len;
};

/* Told about each pack once it is durably committed. */
typedef void pack_commit_cb(void *ctx, const uint8_t pack_id[32], const struct pack_entry *entries,
			    size_t n);

struct pack_writer;
struct pack_writer *pack_writer_open(struct store_unit *u, enum blob_type type,
				       pack_commit_cb *cb, void *ctx);
/* Finishes nothing: an unfinished pack is aborted (its temporary removed). */
void pack_writer_close(struct pack_writer **pw);
/* Compresses (when it pays), encrypts and appends a blob; finishes the pack
 * when it reaches the target size. Adds the stored size to *stored_r. */
int pack_writer_add(struct pack_writer *pw, const uint8_t id[32], const void *data, size_t len,
		    uint64_t *stored_r, struct error *err);
/* Writes the trailer and commits the open pack, if any. */
int pack_writer_flush(struct pack_writer *pw, struct error *err);

/* "units/<uid>/packs/ab/ab...": the object name of a pack; caller frees. */
char *pack_name(struct store_unit *u, const uint8_t pack_id[32]);

/* Calls fn with the id of every pack of u on disk (packs/ab/ab..., other
 * names skipped), in listing order. 0, or -1 if a folder cannot be listed
 * or fn failed (fn returns nonzero and fills err itself). */
int pack_list(struct store_unit *u, int (*fn)(void *ctx, const uint8_t pack_id[32]), void *ctx,
	      struct error *err);

struct pack_reader;
struct pack_reader *pack_reader_open(struct store_unit *u);
void pack_reader_close(struct pack_reader **pr);
/* Decrypts and decompresses one stored blob (the bytes at e->offset of
 * the pack) into out (replacing its contents). `what` names the blob in
 * errors. With verify, also checks that the keyed id matches. */
int pack_reader_blob(struct pack_reader *pr, const uint8_t pack_id[32], const struct pack_entry *e,
		     const uint8_t *stored, int verify, struct buf *out, const char *what,
		     struct error *err);
/* Decodes a decrypted trailer body (docs/format.md section 5: u32 count, then
 * count entries of 48 bytes) into a new array *entries_r of *n_r entries,
 * which the caller frees (allocated even when empty). `what` names the pack
 * in errors. Fails with ERROR_CORRUPT, setting nothing, when the length does
 * not match the count. The reserved field is ignored. */
int pack_parse_trailer(const uint8_t *body, size_t len, const char *what,
		       struct pack_entry **entries_r, size_t *n_r, struct error *err);
/* Whether a whole pack as read (data, len) is the pack `pack_id`: its
 * header names it and its trailer opens under its key. ERROR_CORRUPT
 * naming `what` if not. For reads that check what they got before they
 * use it (backend_get_verified). */
int pack_verify_whole(struct pack_reader *pr, const uint8_t pack_id[32], const uint8_t *data,
		      size_t len, const char *what, struct error *err);
/* Reads a pack's trailer: the list of its blobs (caller frees). */
int pack_reader_trailer(struct pack_reader *pr, const uint8_t pack_id[32],
			struct pack_entry **entries_r, size_t *n_r, struct error *err);

#endif
