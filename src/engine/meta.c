#include "meta.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/mem.h"

#define META_FIXED 92
#define META_PATH_MAX 65535

void meta_entry_clear(struct meta_entry *e)
{
	size_t i;

	free(e->path);
	free(e->target);
	free(e->uname);
	free(e->gname);
	for (i = 0; i < e->nxattrs; i++) {
		free(e->xattrs[i].name);
		free(e->xattrs[i].value);
	}
	free(e->xattrs);
	free(e->extents);
	memset(e, 0, sizeof(*e));
}

void meta_entry_copy(struct meta_entry *dst, const struct meta_entry *src)
{
	size_t i;

	*dst = *src;
	dst->path = src->path ? xstrdup(src->path) : NULL;
	dst->target = src->target ? xstrdup(src->target) : NULL;
	dst->uname = src->uname ? xstrdup(src->uname) : NULL;
	dst->gname = src->gname ? xstrdup(src->gname) : NULL;
	dst->xattrs = NULL;
	dst->nxattrs = 0;
	for (i = 0; i < src->nxattrs; i++)
		meta_entry_add_xattr(dst, src->xattrs[i].name, src->xattrs[i].value,
				     src->xattrs[i].len);
	dst->extents = NULL;
	dst->capextents = dst->nextents = 0;
	if (src->nextents) {
		dst->extents = xmalloc(xmul(src->nextents, sizeof(*dst->extents)));
		memcpy(dst->extents, src->extents, src->nextents * sizeof(*dst->extents));
		dst->nextents = dst->capextents = src->nextents;
	}
}

void meta_entry_add_extent(struct meta_entry *e, const uint8_t id[32], uint32_t len)
{
	if (e->nextents == e->capextents) {
		e->capextents = e->capextents ? e->capextents * 2 : 4;
		e->extents = xrealloc(e->extents, xmul(e->capextents, sizeof(*e->extents)));
	}
	memcpy(e->extents[e->nextents].id, id, 32);
	e->extents[e->nextents++].len = len;
}

void meta_entry_add_xattr(struct meta_entry *e, const char *name, const void *value, uint32_t len)
{
	struct meta_xattr *x;

	e->xattrs = xrealloc(e->xattrs, xmul(e->nxattrs + 1, sizeof(*e->xattrs)));
	x = &e->xattrs[e->nxattrs++];
	x->name = xstrdup(name);
	x->value = xmalloc(len ? len : 1);
	if (len)
		memcpy(x->value, value, len);
	x->len = len;
}

const struct meta_xattr *meta_entry_xattr(const struct meta_entry *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->nxattrs; i++)
		if (strcmp(e->xattrs[i].name, name) == 0)
			return &e->xattrs[i];
	return NULL;
}

char *meta_entry_xattr_str(const struct meta_entry *e, const char *name)
{
	const struct meta_xattr *x = meta_entry_xattr(e, name);

	return x ? xstrndup((const char *)x->value, x->len) : NULL;
}

int meta_entry_check(const struct meta_entry *e, struct error *err)
{
	uint64_t size = META_FIXED + 2 + 2 + 4 + (uint64_t)e->nextents * 36;
	size_t i;

	if ((e->uname && strlen(e->uname) > META_NAME_MAX) ||
	    (e->gname && strlen(e->gname) > META_NAME_MAX))
		return error_set(err, "%s: owner name too long to store", e->path);
	if (e->uname || e->gname)
		size += 2 + (e->uname ? strlen(e->uname) : 0) + (e->gname ? strlen(e->gname) : 0);
	if (strlen(e->path) > META_PATH_MAX || (e->target && strlen(e->target) > META_PATH_MAX) ||
	    e->nxattrs > 65535)
		return error_set(err, "%s: path, link target or attribute list too long to store",
				 e->path);
	size += strlen(e->path) + (e->target ? strlen(e->target) : 0);
	for (i = 0; i < e->nxattrs; i++) {
		if (strlen(e->xattrs[i].name) > META_PATH_MAX)
			return error_set(err, "%s: attribute name too long to store", e->path);
		size += 6 + strlen(e->xattrs[i].name) + e->xattrs[i].len;
	}
	if (size > META_RECORD_MAX)
		return error_set(err, "%s: metadata record of %llu bytes exceeds the limit of %u "
				 "(a file of more than about 1.8 TiB)", e->path,
				 (unsigned long long)size, META_RECORD_MAX);
	return 0;
}

/* A u8-counted name of a version 1 record; NULL is written as "". */
static void encode_name(struct buf *out, const char *name)
{
	size_t len = name ? strlen(name) : 0;

	buf_add_u8(out, (uint8_t)len);
	buf_add(out, name, len);
}

void meta_entry_encode(const struct meta_entry *e, struct buf *out)
{
	size_t start = out->len, i, plen = strlen(e->path), tlen = e->target ? strlen(e->target) : 0;
	/* The first layout when there are no names to keep: a source without
	 * owners (the mailbox) writes the records it always wrote. */
	unsigned version = e->uname || e->gname ? 1 : 0;

	buf_add_u32(out, 0); /* length, patched below */
	buf_add_u8(out, e->type);
	buf_add_u8(out, (uint8_t)((e->flags & 0x0f) | version << 4));
	buf_add_u16(out, (uint16_t)plen);
	buf_add_u32(out, e->mode);
	buf_add_u32(out, e->uid);
	buf_add_u32(out, e->gid);
	buf_add_u64(out, e->size);
	buf_add_u64(out, (uint64_t)e->mtime_s);
	buf_add_u32(out, e->mtime_ns);
	buf_add_u64(out, (uint64_t)e->atime_s);
	buf_add_u32(out, e->atime_ns);
	buf_add_u64(out, (uint64_t)e->ctime_s);
	buf_add_u32(out, e->ctime_ns);
	buf_add_u64(out, e->ino);
	buf_add_u64(out, e->dev);
	buf_add_u64(out, e->rdev);
	buf_add_u32(out, e->nlink);
	buf_add(out, e->path, plen);
	buf_add_u16(out, (uint16_t)tlen);
	buf_add(out, e->target, tlen);
	buf_add_u16(out, (uint16_t)e->nxattrs);
	for (i = 0; i < e->nxattrs; i++) {
		size_t nlen = strlen(e->xattrs[i].name);

		buf_add_u16(out, (uint16_t)nlen);
		buf_add(out, e->xattrs[i].name, nlen);
		buf_add_u32(out, e->xattrs[i].len);
		buf_add(out, e->xattrs[i].value, e->xattrs[i].len);
	}
	buf_add_u32(out, (uint32_t)e->nextents);
	for (i = 0; i < e->nextents; i++) {
		buf_add(out, e->extents[i].id, 32);
		buf_add_u32(out, e->extents[i].len);
	}
	if (version >= 1) {
		encode_name(out, e->uname);
		encode_name(out, e->gname);
	}
	put_u32(out->data + start, (uint32_t)(out->len - start - 4));
}

static char *reader_str(struct reader *r, size_t len)
{
	const uint8_t *p = reader_bytes(r, len);

	if (p == NULL || memchr(p, '\0', len) != NULL) {
		r->failed = 1;
		return NULL;
	}
	return xstrndup((const char *)p, len);
}

static int meta_decode_names(struct reader *r, struct meta_entry *e)
{
	uint8_t len = reader_u8(r);

	e->uname = len ? reader_str(r, len) : xstrdup("");
	len = reader_u8(r);
	e->gname = len ? reader_str(r, len) : xstrdup("");
	return r->failed || r->left != 0 ? -1 : 0;
}

static int meta_decode_tail(struct reader *r, struct meta_entry *e, unsigned version)
{
	uint16_t nx, i, tlen = reader_u16(r);
	uint32_t next, k;

	e->target = tlen ? reader_str(r, tlen) : NULL;
	nx = reader_u16(r);
	for (i = 0; i < nx && !r->failed; i++) {
		char *name = reader_str(r, reader_u16(r));
		uint32_t vlen = reader_u32(r);
		const uint8_t *v = reader_bytes(r, vlen);

		/* One value per name: a record naming one twice is no file's. */
		if (name && meta_entry_xattr(e, name) != NULL)
			r->failed = 1;
		else if (name && v)
			meta_entry_add_xattr(e, name, v, vlen);
		free(name);
	}
	next = reader_u32(r);
	/* Version 0 ends with the extents; version 1 has at least two name
	 * lengths after them. */
	if (r->failed || (version == 0 ? (uint64_t)next * 36 != r->left
				       : (uint64_t)next * 36 + 2 > r->left))
		return -1;
	for (k = 0; k < next; k++) {
		const uint8_t *id = reader_bytes(r, 32);

		meta_entry_add_extent(e, id, reader_u32(r));
	}
	if (version >= 1)
		return meta_decode_names(r, e);
	return r->failed ? -1 : 0;
}

int meta_entry_decode(const uint8_t *data, size_t len, struct meta_entry *e, size_t *used_r,
		      struct error *err)
{
	struct reader r;
	uint32_t rlen;
	uint16_t plen;
	uint8_t flags;

	if (len < 4)
		return 0;
	rlen = get_u32(data);
	if (rlen < META_FIXED - 4 || rlen > META_RECORD_MAX)
		return error_setk(err, ERROR_CORRUPT, "metadata record of %u bytes is malformed", rlen);
	if (len - 4 < rlen)
		return 0;
	reader_init(&r, data + 4, rlen);
	e->type = reader_u8(&r);
	flags = reader_u8(&r);
	if (flags >> 4 > META_VERSION_MAX)
		return error_setk(err, ERROR_VERSION, "metadata record version %u is newer than this "
				  "coffer reads (%u)", flags >> 4, META_VERSION_MAX);
	e->flags = flags & 0x0f;
	plen = reader_u16(&r);
	e->mode = reader_u32(&r);
	e->uid = reader_u32(&r);
	e->gid = reader_u32(&r);
	e->size = reader_u64(&r);
	e->mtime_s = (int64_t)reader_u64(&r);
	e->mtime_ns = reader_u32(&r);
	e->atime_s = (int64_t)reader_u64(&r);
	e->atime_ns = reader_u32(&r);
	e->ctime_s = (int64_t)reader_u64(&r);
	e->ctime_ns = reader_u32(&r);
	e->ino = reader_u64(&r);
	e->dev = reader_u64(&r);
	e->rdev = reader_u64(&r);
	e->nlink = reader_u32(&r);
	e->path = reader_str(&r, plen);
	if (r.failed || e->type < META_FILE || e->type > META_SOCK || e->mtime_ns >= 1000000000u ||
	    e->atime_ns >= 1000000000u || e->ctime_ns >= 1000000000u ||
	    meta_decode_tail(&r, e, flags >> 4) < 0) {
		meta_entry_clear(e);
		return error_setk(err, ERROR_CORRUPT, "metadata record is malformed");
	}
	*used_r = 4 + (size_t)rlen;
	return 1;
}

int meta_path_cmp(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;

	for (; *p && *p == *q; p++, q++)
		;
	/* '/' sorts before every other byte, so "a/b" < "a.b" and a folder's
	 * children come right after it. */
	return (*p == '/' ? 1 : *p ? *p + 1 : 0) - (*q == '/' ? 1 : *q ? *q + 1 : 0);
}

int meta_same_content(const struct meta_entry *a, const struct meta_entry *b)
{
	return a->size == b->size && a->nextents == b->nextents &&
	       (a->nextents == 0 ||
		memcmp(a->extents, b->extents, a->nextents * sizeof(*a->extents)) == 0);
}

/* How many xattrs of e count. */
static size_t count_xattrs(const struct meta_entry *e, meta_xattr_skip_fn *skip, void *ctx)
{
	size_t i, n = 0;

	for (i = 0; i < e->nxattrs; i++)
		n += skip == NULL || !skip(e->xattrs[i].name, ctx);
	return n;
}

int meta_same_xattrs(const struct meta_entry *a, const struct meta_entry *b,
		     meta_xattr_skip_fn *skip, void *ctx)
{
	size_t i;

	/* Names are distinct within a record: equal counts and every counted
	 * one of a found in b make the same set. */
	if (count_xattrs(a, skip, ctx) != count_xattrs(b, skip, ctx))
		return 0;
	for (i = 0; i < a->nxattrs; i++) {
		const struct meta_xattr *x = &a->xattrs[i], *y;

		if (skip && skip(x->name, ctx))
			continue;
		y = meta_entry_xattr(b, x->name);
		if (y == NULL || x->len != y->len || memcmp(x->value, y->value, x->len) != 0)
			return 0;
	}
	return 1;
}

static int same_name(const char *a, const char *b)
{
	return a == NULL || b == NULL || strcmp(a, b) == 0;
}

int meta_same_names(const struct meta_entry *a, const struct meta_entry *b)
{
	return same_name(a->uname, b->uname) && same_name(a->gname, b->gname);
}

int meta_same_attrs(const struct meta_entry *a, const struct meta_entry *b)
{
	return a->type == b->type && a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
	       (a->type == META_DIR ||
		(a->mtime_s == b->mtime_s && a->mtime_ns == b->mtime_ns)) &&
	       (a->type != META_SYMLINK || a->target == b->target ||
		(a->target && b->target && strcmp(a->target, b->target) == 0)) &&
	       meta_same_names(a, b) && meta_same_xattrs(a, b, NULL, NULL);
}
