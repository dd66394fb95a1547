#ifndef COFFER_BUF_H
#define COFFER_BUF_H

/* The growable byte buffer: binary-safe, always NUL-terminated after len,
 * with a hard maximum so input from disk or network cannot grow it without
 * bound. Embedded by value: buf_init() / buf_clear(). */

#include <stddef.h>
#include <stdint.h>

struct error;

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max; /* 0 = no limit beyond SIZE_MAX */
};

void buf_init(struct buf *b, size_t max);
void buf_clear(struct buf *b);
/* Empties without freeing. */
void buf_reset(struct buf *b);
/* Makes room for `more` bytes; -1 if that would pass the maximum. */
int buf_reserve(struct buf *b, size_t more, struct error *err);
int buf_append(struct buf *b, const void *data, size_t len, struct error *err);
/* Appends without a maximum check, for buffers built by coffer itself. */
void buf_add(struct buf *b, const void *data, size_t len);
/* Grows len by n and returns the start of the n new (uninitialised) bytes. */
uint8_t *buf_extend(struct buf *b, size_t n);
void buf_add_u8(struct buf *b, uint8_t v);
void buf_add_u16(struct buf *b, uint16_t v);
void buf_add_u32(struct buf *b, uint32_t v);
void buf_add_u64(struct buf *b, uint64_t v);
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the memory to the caller (who frees it) and empties the buffer. */
uint8_t *buf_steal(struct buf *b, size_t *len_r);

/* Little-endian readers over a bounded byte range. */
static inline uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}
static inline void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t)v);
	put_u32(p + 4, (uint32_t)(v >> 32));
}

/* A cursor for parsing: every read checks the remaining length. */
struct reader {
	const uint8_t *p;
	size_t left;
	int failed;
};

static inline void reader_init(struct reader *r, const void *data, size_t len)
{
	r->p = data; r->left = len; r->failed = 0;
}
const uint8_t *reader_bytes(struct reader *r, size_t n);
uint8_t reader_u8(struct reader *r);
uint16_t reader_u16(struct reader *r);
uint32_t reader_u32(struct reader *r);
uint64_t reader_u64(struct reader *r);

#endif
