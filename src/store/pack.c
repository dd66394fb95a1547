#include "pack.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "crypto/crypto.h"
#include "crypto/seal.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/hex.h"
#include "lib/mem.h"
#include "store/backend.h"
#include "store/store.h"

#define PACK_TRAILER_ENTRY 48
#define PACK_FOOTER_LEN 8
#define PACK_WRITE_BUFFER (4u << 20)
#define PACK_WHOLE_MAX ((size_t)256 << 20) /* a pack read whole (it closes before 32 MiB) */
#define ZSTD_LEVEL 3

static const uint8_t footer_magic[4] = { 'C', 'F', 'P', 'T' };

struct pack_writer {
	struct store_unit *u;
	struct backend *be;
	enum blob_type type;
	pack_commit_cb *cb;
	void *ctx;
	struct crypto_aead *aead;
	ZSTD_CCtx *zc;
	struct buf zbuf;     /* compressed blob */
	struct buf out;      /* bytes not yet handed to the backend */
	struct backend_upload *up;
	uint8_t salt[32];
	uint64_t size;       /* bytes in the pack so far */
	struct pack_entry *entries;
	size_t n, cap;
};

char *pack_name(struct store_unit *u, const uint8_t pack_id[32])
{
	char hex[65], *rel, *name;

	hex_encode(pack_id, 32, hex);
	rel = xasprintf("packs/%.2s/%s", hex, hex);
	name = store_unit_path(u, rel);
	free(rel);
	return name;
}

struct pack_list_ctx {
	struct store_unit *u;
	const char *dir;        /* "ab" while listing packs/ab */
	int (*fn)(void *ctx, const uint8_t pack_id[32]);
	void *ctx;
	struct error *err;
};

static int pack_list_one(void *ctx, const char *name)
{
	struct pack_list_ctx *lc = ctx;
	uint8_t id[32];

	if (strlen(name) == 64 && strncmp(name, lc->dir, 2) == 0 && hex_is_lower(name, 64) &&
	    hex_decode(name, 64, id, 32) == 0)
		return lc->fn(lc->ctx, id);
	return 0;
}

static int pack_list_dir(void *ctx, const char *name)
{
	struct pack_list_ctx *lc = ctx, sub = *lc;
	char *rel, *dir;
	int ret;

	if (strlen(name) != 2 || !hex_is_lower(name, 2))
		return 0;
	sub.dir = name;
	rel = xasprintf("packs/%s", name);
	dir = store_unit_path(lc->u, rel);
	ret = backend_list(store_backend(store_unit_store(lc->u)), dir, pack_list_one, &sub,
			   lc->err);
	free(dir);
	free(rel);
	return ret;
}

int pack_list(struct store_unit *u, int (*fn)(void *ctx, const uint8_t pack_id[32]), void *ctx,
	      struct error *err)
{
	struct pack_list_ctx lc = { .u = u, .fn = fn, .ctx = ctx, .err = err };
	char *dir = store_unit_path(u, "packs");
	int ret = backend_list(store_backend(store_unit_store(u)), dir, pack_list_dir, &lc, err);

	free(dir);
	return ret;
}

static void pack_key(struct store_unit *u, const uint8_t salt[32], uint8_t key[32])
{
	crypto_hmac(store_unit_data_key(u), "pack", 4, salt, 32, key);
}

struct pack_writer *pack_writer_open(struct store_unit *u, enum blob_type type,
				       pack_commit_cb *cb, void *ctx)
{
	struct pack_writer *pw = xcalloc(1, sizeof(*pw));

	pw->u = u;
	pw->be = store_backend(store_unit_store(u));
	pw->type = type;
	pw->cb = cb;
	pw->ctx = ctx;
	pw->aead = crypto_aead_new();
	pw->zc = ZSTD_createCCtx();
	if (pw->zc == NULL)
		abort();
	ZSTD_CCtx_setParameter(pw->zc, ZSTD_c_compressionLevel, ZSTD_LEVEL);
	buf_init(&pw->zbuf, 0);
	buf_init(&pw->out, 0);
	return pw;
}

static void pack_writer_reset(struct pack_writer *pw)
{
	pw->up = NULL;
	pw->size = 0;
	pw->n = 0;
	buf_reset(&pw->out);
}

void pack_writer_close(struct pack_writer **pwp)
{
	struct pack_writer *pw = *pwp;

	if (pw == NULL)
		return;
	if (pw->up)
		backend_upload_abort(pw->be, pw->up);
	crypto_aead_free(&pw->aead);
	ZSTD_freeCCtx(pw->zc);
	buf_clear(&pw->zbuf);
	buf_clear(&pw->out);
	free(pw->entries);
	free(pw);
	*pwp = NULL;
}

static int pack_writer_begin(struct pack_writer *pw, struct error *err)
{
	uint8_t header[PACK_HEADER_LEN] = { 'C', 'O', 'F', 'F', 'E', 'R', SEAL_PACK, SEAL_VERSION };
	uint8_t key[32];
	char *name;

	crypto_random(pw->salt, sizeof(pw->salt));
	memcpy(header + 8, pw->salt, 32);
	name = pack_name(pw->u, pw->salt);
	pw->up = backend_upload_begin(pw->be, name, BACKEND_UPLOAD_LAZY, err);
	free(name);
	if (pw->up == NULL)
		return -1;
	pack_key(pw->u, pw->salt, key);
	crypto_aead_set_key(pw->aead, key);
	crypto_wipe(key, sizeof(key));
	buf_add(&pw->out, header, sizeof(header));
	pw->size = sizeof(header);
	return 0;
}

static int pack_writer_drain(struct pack_writer *pw, struct error *err)
{
	int ret = backend_upload_write(pw->be, pw->up, pw->out.data, pw->out.len, err);

	buf_reset(&pw->out);
	return ret;
}

/* Compresses into zbuf; returns the payload to store and sets *zstd. */
static const void *pack_compress(struct pack_writer *pw, const void *data, size_t *len,
				 int *zstd)
{
	size_t bound = ZSTD_compressBound(*len), clen;

	*zstd = 0;
	if (*len < 64)
		return data;
	buf_reset(&pw->zbuf);
	buf_reserve(&pw->zbuf, bound, &(struct error){ 0 });
	clen = ZSTD_compress2(pw->zc, pw->zbuf.data, bound, data, *len);
	/* Store raw unless compression saves at least 3 %. */
	if (ZSTD_isError(clen) || clen > *len - *len / 32)
		return data;
	*zstd = 1;
	*len = clen;
	return pw->zbuf.data;
}

int pack_writer_add(struct pack_writer *pw, const uint8_t id[32], const void *data, size_t len,
		    uint64_t *stored_r, struct error *err)
{
	struct pack_entry *e;
	uint8_t nonce[12];
	const void *payload;
	size_t plen = len;
	int zstd;

	if (len > UINT32_MAX)
		return error_set(err, "blob of %zu bytes is too large", len);
	payload = pack_compress(pw, data, &plen, &zstd);
	if (plen + CRYPTO_TAG_LEN > BLOB_MAX_STORED)
		return error_set(err, "blob of %zu bytes is too large for a pack", plen);
	if (pw->up == NULL && pack_writer_begin(pw, err) < 0)
		return -1;
	if (pw->n == pw->cap) {
		pw->cap = pw->cap ? pw->cap * 2 : 256;
		pw->entries = xrealloc(pw->entries, xmul(pw->cap, sizeof(*pw->entries)));
	}
	e = &pw->entries[pw->n++];
	memcpy(e->id, id, 32);
	e->offset = (uint32_t)pw->size;
	e->len_flags = (uint32_t)(plen + CRYPTO_TAG_LEN) | (uint32_t)pw->type << 24 |
		       (zstd ? BLOB_FLAG_ZSTD : 0);
	e->raw_len = (uint32_t)len;
	crypto_nonce(e->offset, nonce);
	crypto_aead_seal(pw->aead, nonce, NULL, 0, payload, plen,
			 buf_extend(&pw->out, plen + CRYPTO_TAG_LEN));
	pw->size += plen + CRYPTO_TAG_LEN;
	if (stored_r)
		*stored_r += plen + CRYPTO_TAG_LEN;
	if (pw->out.len >= PACK_WRITE_BUFFER && pack_writer_drain(pw, err) < 0)
		return -1;
	if (pw->size >= PACK_TARGET_SIZE)
		return pack_writer_flush(pw, err);
	return 0;
}

int pack_writer_flush(struct pack_writer *pw, struct error *err)
{
	struct buf trailer;
	uint8_t nonce[12], footer[PACK_FOOTER_LEN];
	size_t i, tlen;
	int ret;

	if (pw->up == NULL)
		return 0;
	buf_init(&trailer, 0);
	buf_add_u32(&trailer, (uint32_t)pw->n);
	for (i = 0; i < pw->n; i++) {
		buf_add(&trailer, pw->entries[i].id, 32);
		buf_add_u32(&trailer, pw->entries[i].offset);
		buf_add_u32(&trailer, pw->entries[i].len_flags);
		buf_add_u32(&trailer, pw->entries[i].raw_len);
		buf_add_u32(&trailer, 0);
	}
	tlen = trailer.len + CRYPTO_TAG_LEN;
	crypto_nonce(0, nonce);
	crypto_aead_seal(pw->aead, nonce, NULL, 0, trailer.data, trailer.len,
			 buf_extend(&pw->out, tlen));
	put_u32(footer, (uint32_t)tlen);
	memcpy(footer + 4, footer_magic, 4);
	buf_add(&pw->out, footer, sizeof(footer));
	buf_clear(&trailer);
	ret = pack_writer_drain(pw, err);
	if (ret == 0) {
		ret = backend_upload_commit(pw->be, pw->up, err);
		pw->up = NULL;
	}
	if (ret < 0) {
		if (pw->up)
			backend_upload_abort(pw->be, pw->up);
		pack_writer_reset(pw);
		return error_prefix(err, "writing pack");
	}
	if (pw->cb)
		pw->cb(pw->ctx, pw->salt, pw->entries, pw->n);
	pack_writer_reset(pw);
	return 0;
}

struct pack_reader {
	struct store_unit *u;
	struct crypto_aead *aead;
	struct crypto_mac *mac;
	ZSTD_DCtx *zd;
	struct buf tmp;
	uint8_t keyed_for[32];
	int keyed;
};

struct pack_reader *pack_reader_open(struct store_unit *u)
{
	struct pack_reader *pr = xcalloc(1, sizeof(*pr));

	pr->u = u;
	pr->aead = crypto_aead_new();
	pr->zd = ZSTD_createDCtx();
	if (pr->zd == NULL)
		abort();
	buf_init(&pr->tmp, 0);
	return pr;
}

void pack_reader_close(struct pack_reader **prp)
{
	struct pack_reader *pr = *prp;

	if (pr == NULL)
		return;
	crypto_aead_free(&pr->aead);
	crypto_mac_free(&pr->mac);
	ZSTD_freeDCtx(pr->zd);
	buf_clear(&pr->tmp);
	free(pr);
	*prp = NULL;
}

static void pack_reader_key(struct pack_reader *pr, const uint8_t pack_id[32])
{
	uint8_t key[32];

	if (pr->keyed && memcmp(pr->keyed_for, pack_id, 32) == 0)
		return;
	pack_key(pr->u, pack_id, key);
	crypto_aead_set_key(pr->aead, key);
	crypto_wipe(key, sizeof(key));
	memcpy(pr->keyed_for, pack_id, 32);
	pr->keyed = 1;
}

int pack_reader_blob(struct pack_reader *pr, const uint8_t pack_id[32], const struct pack_entry *e,
		     const uint8_t *stored, int verify, struct buf *out, const char *what,
		     struct error *err)
{
	uint32_t slen = BLOB_LEN(e->len_flags);
	struct buf *plain = (e->len_flags & BLOB_FLAG_ZSTD) ? &pr->tmp : out;
	uint8_t nonce[12], id[32];
	size_t n;

	if (slen < CRYPTO_TAG_LEN || e->offset < PACK_HEADER_LEN)
		return error_setk(err, ERROR_CORRUPT, "%s: bad index entry", what);
	pack_reader_key(pr, pack_id);
	crypto_nonce(e->offset, nonce);
	buf_reset(plain);
	if (crypto_aead_open(pr->aead, nonce, NULL, 0, stored, slen,
			     buf_extend(plain, slen - CRYPTO_TAG_LEN)) < 0)
		return error_setk(err, ERROR_CORRUPT, "%s failed authentication (damaged pack)", what);
	if (plain != out) {
		buf_reset(out);
		n = ZSTD_decompressDCtx(pr->zd, buf_extend(out, e->raw_len), e->raw_len, plain->data,
					plain->len);
		if (ZSTD_isError(n) || n != e->raw_len)
			return error_setk(err, ERROR_CORRUPT, "%s: decompression failed", what);
	} else if (out->len != e->raw_len) {
		return error_setk(err, ERROR_CORRUPT, "%s: length %zu, index says %u", what, out->len,
				  e->raw_len);
	}
	if (verify) {
		if (pr->mac == NULL)
			pr->mac = store_unit_id_mac(pr->u);
		crypto_mac_compute(pr->mac, out->data, out->len, id);
		if (memcmp(id, e->id, 32) != 0)
			return error_setk(err, ERROR_CORRUPT, "%s: content does not match its id", what);
	}
	return 0;
}

int pack_parse_trailer(const uint8_t *body, size_t len, const char *what,
		       struct pack_entry **entries_r, size_t *n_r, struct error *err)
{
	struct pack_entry *entries;
	struct reader r;
	uint32_t count, i;

	reader_init(&r, body, len);
	count = reader_u32(&r);
	if (r.failed || (uint64_t)count * PACK_TRAILER_ENTRY != r.left)
		return error_setk(err, ERROR_CORRUPT, "pack %s: trailer length mismatch", what);
	entries = xcalloc(count, sizeof(*entries));
	for (i = 0; i < count; i++) {
		memcpy(entries[i].id, reader_bytes(&r, 32), 32);
		entries[i].offset = reader_u32(&r);
		entries[i].len_flags = reader_u32(&r);
		entries[i].raw_len = reader_u32(&r);
		(void)reader_u32(&r);
	}
	*entries_r = entries;
	*n_r = count;
	return 0;
}

int pack_verify_whole(struct pack_reader *pr, const uint8_t pack_id[32], const uint8_t *data,
		      size_t len, const char *what, struct error *err)
{
	uint8_t nonce[12];
	uint32_t tlen;
	struct buf pt;
	int ret;

	if (len < PACK_HEADER_LEN + PACK_FOOTER_LEN + CRYPTO_TAG_LEN + 4 ||
	    seal_check_header(data, len, SEAL_PACK, what, err) < 0 ||
	    memcmp(data + 8, pack_id, 32) != 0 ||
	    memcmp(data + len - 4, footer_magic, 4) != 0 ||
	    (tlen = get_u32(data + len - PACK_FOOTER_LEN)) < CRYPTO_TAG_LEN + 4 ||
	    tlen > len - PACK_HEADER_LEN - PACK_FOOTER_LEN)
		return error_setk(err, ERROR_CORRUPT, "pack %s is not the pack its name says (a "
				  "damaged or foreign header or footer)", what);
	pack_reader_key(pr, pack_id);
	crypto_nonce(0, nonce);
	buf_init(&pt, 0);
	ret = crypto_aead_open(pr->aead, nonce, NULL, 0, data + len - PACK_FOOTER_LEN - tlen, tlen,
			       buf_extend(&pt, tlen - CRYPTO_TAG_LEN));
	buf_clear(&pt);
	if (ret < 0)
		return error_setk(err, ERROR_CORRUPT, "pack %s: trailer failed authentication", what);
	return 0;
}

struct whole_check {
	struct pack_reader *pr;
	const uint8_t *pack_id;
	const char *name;
};

static int whole_check_cb(void *ctx, const uint8_t *data, size_t len, struct error *err)
{
	struct whole_check *wc = ctx;

	return pack_verify_whole(wc->pr, wc->pack_id, data, len, wc->name, err);
}

/* The trailer out of the whole pack, read with backend_get_verified: for a
 * pack whose ranged reads did not verify (overwritten in a versioned
 * bucket: the older version that verifies is read). */
static int pack_trailer_whole(struct pack_reader *pr, const uint8_t pack_id[32], const char *name,
			      struct pack_entry **entries_r, size_t *n_r, struct error *err)
{
	struct whole_check wc = { pr, pack_id, name };
	struct buf data, pt;
	uint8_t nonce[12];
	uint32_t tlen;
	int ret = -1;

	buf_init(&data, 0);
	buf_init(&pt, 0);
	if (backend_get_verified(store_backend(store_unit_store(pr->u)), name, &data,
				 PACK_WHOLE_MAX, whole_check_cb, &wc, err) == 0) {
		tlen = get_u32(data.data + data.len - PACK_FOOTER_LEN);
		crypto_nonce(0, nonce);
		if (crypto_aead_open(pr->aead, nonce, NULL, 0,
				     data.data + data.len - PACK_FOOTER_LEN - tlen, tlen,
				     buf_extend(&pt, tlen - CRYPTO_TAG_LEN)) < 0)
			error_setk(err, ERROR_CORRUPT, "pack %s: trailer failed authentication", name);
		else
			ret = pack_parse_trailer(pt.data, pt.len, name, entries_r, n_r, err);
	}
	buf_clear(&data);
	buf_clear(&pt);
	return ret;
}

static int pack_reader_trailer_ranges(struct pack_reader *pr, const uint8_t pack_id[32],
				      struct pack_entry **entries_r, size_t *n_r,
				      struct error *err);

int pack_reader_trailer(struct pack_reader *pr, const uint8_t pack_id[32],
			struct pack_entry **entries_r, size_t *n_r, struct error *err)
{
	char *name;
	int ret;

	if (pack_reader_trailer_ranges(pr, pack_id, entries_r, n_r, err) == 0)
		return 0;
	if (err->code != ERROR_CORRUPT)
		return -1;
	name = pack_name(pr->u, pack_id);
	ret = pack_trailer_whole(pr, pack_id, name, entries_r, n_r, err);
	free(name);
	return ret;
}

static int pack_reader_trailer_ranges(struct pack_reader *pr, const uint8_t pack_id[32],
				      struct pack_entry **entries_r, size_t *n_r,
				      struct error *err)
{
	struct backend *be = store_backend(store_unit_store(pr->u));
	char *name = pack_name(pr->u, pack_id);
	uint8_t footer[PACK_FOOTER_LEN], header[PACK_HEADER_LEN], nonce[12];
	struct buf ct, pt;
	uint64_t size;
	uint32_t tlen;
	int ret = -1;

	buf_init(&ct, 0);
	buf_init(&pt, 0);
	if (backend_size(be, name, &size, err) < 0)
		goto out;
	if (size < PACK_HEADER_LEN + PACK_FOOTER_LEN + CRYPTO_TAG_LEN + 4) {
		error_setk(err, ERROR_CORRUPT, "pack %s is truncated (%llu bytes)", name,
			   (unsigned long long)size);
		goto out;
	}
	if (backend_get_range(be, name, 0, sizeof(header), header, err) < 0 ||
	    seal_check_header(header, sizeof(header), SEAL_PACK, name, err) < 0 ||
	    backend_get_range(be, name, size - PACK_FOOTER_LEN, sizeof(footer), footer, err) < 0)
		goto out;
	tlen = get_u32(footer);
	if (memcmp(footer + 4, footer_magic, 4) != 0 || memcmp(header + 8, pack_id, 32) != 0 ||
	    tlen < CRYPTO_TAG_LEN + 4 || tlen > size - PACK_HEADER_LEN - PACK_FOOTER_LEN) {
		error_setk(err, ERROR_CORRUPT, "pack %s has a damaged header or footer", name);
		goto out;
	}
	if (backend_get_range(be, name, size - PACK_FOOTER_LEN - tlen, tlen,
			      buf_extend(&ct, tlen), err) < 0)
		goto out;
	pack_reader_key(pr, pack_id);
	crypto_nonce(0, nonce);
	if (crypto_aead_open(pr->aead, nonce, NULL, 0, ct.data, tlen,
			     buf_extend(&pt, tlen - CRYPTO_TAG_LEN)) < 0) {
		error_setk(err, ERROR_CORRUPT, "pack %s: trailer failed authentication", name);
		goto out;
	}
	if (pack_parse_trailer(pt.data, pt.len, name, entries_r, n_r, err) < 0)
		goto out;
	ret = 0;
out:
	buf_clear(&ct);
	buf_clear(&pt);
	free(name);
	return ret;
}
