#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "mem.h"

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

void buf_clear(struct buf *b)
{
	free(b->data);
	buf_init(b, b->max);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static void buf_grow(struct buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 64;

	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
	/* Allocated data is always terminated, even before anything is added
	 * (e.g. an empty file read into a reserved buffer). */
	b->data[b->len] = '\0';
}

int buf_reserve(struct buf *b, size_t more, struct error *err)
{
	if (more > SIZE_MAX - b->len - 1 ||
	    (b->max != 0 && b->len + more > b->max))
		return error_setk(err, ERROR_CORRUPT, "buffer limit of %zu bytes exceeded", b->max);
	if (b->len + more + 1 > b->cap)
		buf_grow(b, b->len + more + 1);
	return 0;
}

int buf_append(struct buf *b, const void *data, size_t len, struct error *err)
{
	if (buf_reserve(b, len, err) < 0)
		return -1;
	buf_add(b, data, len);
	return 0;
}

void buf_add(struct buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap)
		buf_grow(b, xmul(1, b->len + len + 1));
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

uint8_t *buf_extend(struct buf *b, size_t n)
{
	if (b->len + n + 1 > b->cap)
		buf_grow(b, xmul(1, b->len + n + 1));
	b->len += n;
	b->data[b->len] = '\0';
	return b->data + b->len - n;
}

void buf_add_u8(struct buf *b, uint8_t v) { buf_add(b, &v, 1); }

void buf_add_u16(struct buf *b, uint16_t v)
{
	uint8_t p[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	buf_add(b, p, 2);
}

void buf_add_u32(struct buf *b, uint32_t v)
{
	uint8_t p[4];

	put_u32(p, v);
	buf_add(b, p, 4);
}

void buf_add_u64(struct buf *b, uint64_t v)
{
	uint8_t p[8];

	put_u64(p, v);
	buf_add(b, p, 8);
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	buf_add(b, s, strlen(s));
	free(s);
}

uint8_t *buf_steal(struct buf *b, size_t *len_r)
{
	uint8_t *p = b->data;

	if (len_r)
		*len_r = b->len;
	if (p == NULL)
		p = xcalloc(1, 1);
	buf_init(b, b->max);
	return p;
}

const uint8_t *reader_bytes(struct reader *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->failed || n > r->left) {
		r->failed = 1;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

uint8_t reader_u8(struct reader *r)
{
	const uint8_t *p = reader_bytes(r, 1);

	return p ? p[0] : 0;
}

uint16_t reader_u16(struct reader *r)
{
	const uint8_t *p = reader_bytes(r, 2);

	return p ? get_u16(p) : 0;
}

uint32_t reader_u32(struct reader *r)
{
	const uint8_t *p = reader_bytes(r, 4);

	return p ? get_u32(p) : 0;
}

uint64_t reader_u64(struct reader *r)
{
	const uint8_t *p = reader_bytes(r, 8);

	return p ? get_u64(p) : 0;
}
