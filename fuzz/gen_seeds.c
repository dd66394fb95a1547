/* Writes the seed corpora of the fuzz targets: valid examples of each
 * on-disk format made with coffer's own encoders (or by hand after
 * docs/format.md where the encoder is not exported), and a few damaged
 * variants. Usage: gen_seeds DIR; writes DIR/<target>/<name>. Sealed seeds
 * use fresh random salts, so every run gives different bytes for them.
 * Run it with `ninja -C build-fuzz fuzz-seeds` (writes fuzz/corpus). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "fuzz.h"

#include "crypto/seal.h"
#include "engine/meta.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/mem.h"

#define SEED_MAX 4096

struct gen {
	const char *dir;
	struct error err;
	int failed;
};

static void gen_put(struct gen *g, const char *target, const char *name, const void *data,
		    size_t len)
{
	char *dir = NULL, *path = NULL;

	if (g->failed)
		return;
	if (len >= SEED_MAX) {
		error_set(&g->err, "seed %s/%s is %zu bytes, limit %d", target, name, len, SEED_MAX);
		g->failed = 1;
		goto out;
	}
	dir = fs_join(g->dir, target);
	path = fs_join(dir, name);
	if (fs_mkdir_p(dir, &g->err) < 0 || fs_write_replace(path, data, len, &g->err) < 0)
		g->failed = 1;
out:
	free(dir);
	free(path);
}

static void gen_put_buf(struct gen *g, const char *target, const char *name, const struct buf *b)
{
	gen_put(g, target, name, b->data, b->len);
}

/* A copy of b with byte `at` xored with `x`. */
static void gen_put_flipped(struct gen *g, const char *target, const char *name,
			    const struct buf *b, size_t at, uint8_t x)
{
	uint8_t *p = xmalloc(b->len);

	memcpy(p, b->data, b->len);
	p[at] ^= x;
	gen_put(g, target, name, p, b->len);
	free(p);
}

/* Deterministic filler for garbage seeds (xorshift64). */
static void garbage(uint8_t *p, size_t len, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		p[i] = (uint8_t)seed;
	}
}

static void gen_put_garbage(struct gen *g, const char *target, size_t len, uint64_t seed)
{
	uint8_t p[512];
	char name[32];

	garbage(p, len, seed);
	snprintf(name, sizeof(name), "garbage-%zu", len);
	gen_put(g, target, name, p, len);
}

static void zstd_frame(const void *data, size_t len, struct buf *out)
{
	size_t bound = ZSTD_compressBound(len), n;

	n = ZSTD_compress(buf_extend(out, bound), bound, data, len, 3);
	if (ZSTD_isError(n))
		abort();
	out->len -= bound - n;
}

/* ---- metadata records (section 8) ---- */

static void meta_base(struct meta_entry *e, uint8_t type, const char *path, uint32_t mode)
{
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->path = xstrdup(path);
	e->mode = mode;
	e->uid = 1000;
	e->gid = 1000;
	e->nlink = 1;
	e->mtime_s = 1700000000;
	e->mtime_ns = 123456789;
	e->atime_s = 1700000100;
	e->atime_ns = 5;
	e->ctime_s = 1700000000;
	e->ctime_ns = 999999999;
	e->ino = 131077;
	e->dev = 0x803;
}

static void meta_one(struct gen *g, const char *name, struct meta_entry *e, struct buf *stream)
{
	struct buf b;

	buf_init(&b, 0);
	meta_entry_encode(e, &b);
	gen_put_buf(g, "meta", name, &b);
	if (stream)
		buf_add(stream, b.data, b.len);
	buf_clear(&b);
	meta_entry_clear(e);
}

static void gen_meta(struct gen *g)
{
	struct meta_entry e;
	struct buf stream, b;
	uint8_t id[32], zero[32] = { 0 };
	static const uint8_t bin[5] = { 0, 1, 2, 0xff, 0 };
	/* u32 version 2; owner rwx, user 1000 rwx, group r-x, mask rwx, other r-x */
	static const uint8_t acl[] = {
		2, 0, 0, 0, 1, 0, 7, 0, 0xff, 0xff, 0xff, 0xff, 2, 0, 7, 0, 0xe8, 3, 0, 0,
		4, 0, 5, 0, 0xff, 0xff, 0xff, 0xff, 0x10, 0, 7, 0, 0xff, 0xff, 0xff, 0xff,
		0x20, 0, 5, 0, 0xff, 0xff, 0xff, 0xff,
	};
	/* vfs_cap_data revision 2: cap_net_bind_service (10) permitted, effective */
	static const uint8_t cap[20] = { 1, 0, 0, 2, 0, 4, 0, 0 };

	buf_init(&stream, 0);
	buf_init(&b, 0);
	memset(id, 0xab, sizeof(id));

	meta_base(&e, META_DIR, "", 040755);
	e.nlink = 3;
	meta_one(g, "root-dir", &e, &stream);

	meta_base(&e, META_DIR, "docs", 040700);
	meta_entry_add_xattr(&e, "user.comment", "quarterly", 9);
	meta_one(g, "dir-xattr", &e, &stream);

	meta_base(&e, META_FILE, "docs/report.pdf", 0100644);
	e.size = 3u << 20;
	meta_entry_add_extent(&e, id, 1u << 20);
	id[0] = 0x01;
	meta_entry_add_extent(&e, id, 2u << 20);
	meta_one(g, "file-extents", &e, &stream);

	meta_base(&e, META_HARDLINK, "docs/report-link.pdf", 0100644);
	e.nlink = 2;
	e.target = xstrdup("docs/report.pdf");
	meta_one(g, "hardlink", &e, &stream);

	meta_base(&e, META_FILE, "docs/sparse.img", 0100600);
	e.flags = META_FLAG_SPARSE;
	e.size = 3u << 20;
	meta_entry_add_extent(&e, id, 4096);
	meta_entry_add_extent(&e, zero, (3u << 20) - 8192);
	meta_entry_add_extent(&e, id, 4096);
	meta_one(g, "sparse-file", &e, &stream);

	meta_base(&e, META_FILE, "empty", 0100644);
	meta_one(g, "empty-file", &e, &stream);

	meta_base(&e, META_SYMLINK, "hosts", 0120777);
	e.target = xstrdup("../etc/hosts");
	meta_one(g, "symlink", &e, &stream);

	meta_base(&e, META_FILE, "x\xc3\xa9 \xff/\x01name", 0100644);
	meta_entry_add_xattr(&e, "user.a", bin, sizeof(bin));
	meta_entry_add_xattr(&e, "user.empty", "", 0);
	meta_entry_add_xattr(&e, "security.selinux", "system_u:object_r:user_home_t:s0", 33);
	meta_one(g, "xattrs-odd-path", &e, NULL);

	meta_base(&e, META_FIFO, "run/fifo", 010644);
	meta_one(g, "fifo", &e, NULL);
	meta_base(&e, META_CHR, "dev/null", 020666);
	e.rdev = 0x103;
	meta_one(g, "chardev", &e, NULL);
	meta_base(&e, META_BLK, "dev/sda", 060660);
	e.rdev = 0x800;
	meta_one(g, "blockdev", &e, NULL);
	meta_base(&e, META_SOCK, "run/sock", 0140755);
	e.mtime_s = -1;
	meta_one(g, "socket-negative-time", &e, NULL);

	/* Version 1 records: owner names, and the attributes a root backup
	 * keeps (POSIX ACLs in the kernel's xattr layout, a capability). */
	meta_base(&e, META_FILE, "docs/owned", 0104755);
	e.uname = xstrdup("ann");
	e.gname = xstrdup("staff");
	e.size = 10;
	meta_entry_add_extent(&e, id, 10);
	meta_entry_add_xattr(&e, "security.capability", cap, sizeof(cap));
	meta_entry_add_xattr(&e, "trusted.origin", "lab", 3);
	meta_one(g, "owner-names", &e, &stream);

	meta_base(&e, META_DIR, "shared", 040775);
	e.uname = xstrdup("");
	e.gname = xstrdup("");
	meta_entry_add_xattr(&e, "system.posix_acl_access", acl, sizeof(acl));
	meta_entry_add_xattr(&e, "system.posix_acl_default", acl, sizeof(acl));
	meta_one(g, "acl-nameless-owner", &e, &stream);

	gen_put_buf(g, "meta", "stream", &stream);
	gen_put(g, "meta", "stream-truncated", stream.data, stream.len - 7);
	gen_put(g, "meta", "length-only", stream.data, 4);

	/* Damaged single records, from a fresh root record. */
	meta_base(&e, META_FILE, "f", 0100644);
	meta_entry_add_extent(&e, id, 10);
	meta_entry_encode(&e, &b);
	meta_entry_clear(&e);
	gen_put_flipped(g, "meta", "bad-type", &b, 4, 0x0f);               /* type 14 */
	gen_put_flipped(g, "meta", "bad-mtime-nsec", &b, 4 + 32 + 3, 0xf0); /* mtime_ns */
	gen_put_flipped(g, "meta", "nul-in-path", &b, 92, 'f');            /* "f" -> NUL */
	gen_put_flipped(g, "meta", "extent-count", &b, b.len - 36 - 4, 3); /* count 1 -> 2 */
	gen_put_flipped(g, "meta", "path-too-long", &b, 6, 0x80);
	gen_put_flipped(g, "meta", "record-too-short", &b, 0, (uint8_t)(b.data[0] ^ 80));
	gen_put_flipped(g, "meta", "record-too-long", &b, 3, 0x01);
	/* The same with owner names: a version from the future, a name
	 * length past the record's end. */
	meta_base(&e, META_FILE, "f", 0100644);
	e.uname = xstrdup("ann");
	e.gname = xstrdup("staff");
	buf_reset(&b);
	meta_entry_encode(&e, &b);
	meta_entry_clear(&e);
	gen_put_flipped(g, "meta", "version-2", &b, 5, 0x30);        /* version 1 -> 2 */
	gen_put_flipped(g, "meta", "name-past-end", &b, b.len - 6, 8); /* gname length 5 -> 13 */
	gen_put_flipped(g, "meta", "version-0-names", &b, 5, 0x10);  /* names after v0 */
	gen_put_garbage(g, "meta", 200, 1);
	buf_clear(&stream);
	buf_clear(&b);
}

/* ---- index segment bodies (section 6) ---- */

struct ix_entry {
	uint8_t id0;
	uint32_t pack, offset, len_flags, raw_len;
};

static void index_body(struct buf *b, uint32_t npacks, const struct ix_entry *ents,
		       uint32_t n, uint32_t nsup)
{
	uint8_t id[32];
	uint32_t i;

	buf_add_u32(b, npacks);
	buf_add_u32(b, n);
	buf_add_u32(b, nsup);
	buf_add_u32(b, 0);
	for (i = 0; i < npacks; i++) {
		memset(id, 0x10 + (int)i, sizeof(id));
		buf_add(b, id, 32);
	}
	for (i = 0; i < n; i++) {
		memset(id, 0x77, sizeof(id));
		id[0] = ents[i].id0;
		buf_add(b, id, 32);
		buf_add_u32(b, ents[i].pack);
		buf_add_u32(b, ents[i].offset);
		buf_add_u32(b, ents[i].len_flags);
		buf_add_u32(b, ents[i].raw_len);
	}
	for (i = 0; i < nsup; i++) {
		memset(id, 0xe0 + (int)i, sizeof(id));
		buf_add(b, id, 32);
	}
}

static const struct ix_entry ix_sorted[] = {
	{ 0x05, 0, 40, 1100 | 1u << 24 | 1u << 28, 2048 },
	{ 0x42, 1, 40, 316 | 2u << 24, 300 },
	{ 0x43, 0, 1140, 5016 | 1u << 24, 5000 },
	{ 0xf0, 1, 356, 116 | 2u << 24 | 1u << 28, 4000 },
};

static void gen_index(struct gen *g, struct buf *valid)
{
	struct ix_entry e[4];
	struct buf b;
	uint8_t hdr[16] = { 0 };

	buf_init(&b, 0);
	index_body(valid, 2, ix_sorted, 4, 1);
	gen_put_buf(g, "index", "two-packs-superseded", valid);
	index_body(&b, 0, NULL, 0, 0);
	gen_put_buf(g, "index", "empty", &b);
	buf_reset(&b);
	index_body(&b, 1, ix_sorted, 1, 0);
	gen_put_buf(g, "index", "one-entry", &b);
	buf_reset(&b);
	index_body(&b, 0, NULL, 0, 3);
	gen_put_buf(g, "index", "merge-only", &b);
	gen_put(g, "index", "truncated", valid->data, valid->len - 5);
	gen_put(g, "index", "header-only", valid->data, 16);
	gen_put(g, "index", "short", valid->data, 10);

	memcpy(e, ix_sorted, sizeof(e));
	e[2].pack = 2;
	buf_reset(&b);
	index_body(&b, 2, e, 4, 1);
	gen_put_buf(g, "index", "bad-pack-number", &b);

	memcpy(e, ix_sorted, sizeof(e));
	e[1] = ix_sorted[2];
	e[2] = ix_sorted[1];
	buf_reset(&b);
	index_body(&b, 2, e, 4, 1);
	gen_put_buf(g, "index", "unsorted", &b);

	memcpy(e, ix_sorted, sizeof(e));
	e[2].id0 = e[1].id0;
	buf_reset(&b);
	index_body(&b, 2, e, 4, 1);
	gen_put_buf(g, "index", "duplicate-id", &b);

	put_u32(hdr, UINT32_MAX);
	put_u32(hdr + 4, UINT32_MAX);
	put_u32(hdr + 8, UINT32_MAX);
	gen_put(g, "index", "huge-counts", hdr, sizeof(hdr));
	gen_put_garbage(g, "index", 64, 2);
	buf_clear(&b);
}

/* ---- restore points (section 7) ---- */

static const char rp_full[] =
	"{ \"format\": 1, \"unit\": \"alice@example.org\", \"seq\": 7, "
	"\"parent\": \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", "
	"\"time\": 1700000000123456789, \"host\": \"h\", \"source\": \"/abs/path\", "
	"\"meta\": { \"blobs\": [\"0000000000000000000000000000000000000000000000000000000000000001\", "
	"\"ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789\"], \"levels\": 1 }, "
	"\"stats\": { \"files\": 12, \"dirs\": 3, \"bytes\": 123456, \"new_blobs\": 4, "
	"\"new_bytes\": 65536, \"stored_bytes\": 40000, \"incompressible_bytes\": 0 }, "
	"\"warnings\": [\"cannot read docs/locked.xlsx: Permission denied\", \"caf\\u00e9 \\\"q\\\"\"] }";

static const char *const rp_seeds[][2] = {
	{ "full", rp_full },
	{ "first-point",
	  "{\"format\":1,\"unit\":\"site-hr\",\"seq\":1,\"parent\":\"\",\"time\":0,\"host\":\"backup1\","
	  "\"source\":\"/srv/hr\",\"meta\":{\"blobs\":[],\"levels\":0},\"stats\":{\"files\":0,"
	  "\"dirs\":1,\"bytes\":0,\"new_blobs\":0,\"new_bytes\":0,\"stored_bytes\":0,"
	  "\"incompressible_bytes\":0},\"warnings\":[]}" },
	{ "minimal", "{\"format\":1,\"unit\":\"u\",\"seq\":1,\"time\":1,\"meta\":{\"blobs\":[],\"levels\":0}}" },
	{ "newer-format", "{\"format\":2,\"unit\":\"u\",\"seq\":1,\"time\":1,\"meta\":{\"blobs\":[],\"levels\":0}}" },
	{ "bad-parent", "{\"format\":1,\"unit\":\"u\",\"seq\":2,\"parent\":\"xyz\",\"time\":1,"
			"\"meta\":{\"blobs\":[],\"levels\":0}}" },
	{ "bad-blob-id", "{\"format\":1,\"unit\":\"u\",\"seq\":1,\"time\":1,\"meta\":{\"blobs\":[\"00\",7],"
			 "\"levels\":0}}" },
	{ "levels-9", "{\"format\":1,\"unit\":\"u\",\"seq\":1,\"time\":1,\"meta\":{\"blobs\":[],\"levels\":9}}" },
	{ "seq-0", "{\"format\":1,\"unit\":\"u\",\"seq\":0,\"time\":1,\"meta\":{\"blobs\":[],\"levels\":0}}" },
	{ "seq-too-big", "{\"format\":1,\"unit\":\"u\",\"seq\":4294967296,\"time\":1,"
			 "\"meta\":{\"blobs\":[],\"levels\":0}}" },
	{ "wrong-types", "{\"format\":\"1\",\"unit\":5,\"seq\":1.5,\"time\":true,\"meta\":[],"
			 "\"stats\":7,\"warnings\":{}}" },
	{ "odd-warnings", "{\"format\":1,\"unit\":\"u\",\"seq\":1,\"time\":1,\"meta\":{\"blobs\":[],"
			  "\"levels\":0},\"warnings\":[1,{\"a\":[]},true,\"\"]}" },
	/* rp_parse() used to crash on a null warning (xstrdup(NULL)). */
	{ "warnings-null", "{\"format\":1,\"unit\":\"u\",\"seq\":1,\"time\":1,\"meta\":{\"blobs\":[],"
			   "\"levels\":0},\"warnings\":[\"w\",null]}" },
	{ "nulls", "{\"format\":1,\"unit\":\"u\",\"seq\":1,\"time\":1,\"host\":null,\"source\":null,"
		   "\"parent\":null,\"meta\":{\"blobs\":[],\"levels\":0},\"stats\":null,\"warnings\":null}" },
	{ "blobs-null", "{\"format\":1,\"unit\":\"u\",\"seq\":1,\"time\":1,\"meta\":{\"blobs\":[null],"
			"\"levels\":0}}" },
	{ "meta-null", "{\"format\":1,\"unit\":\"u\",\"seq\":1,\"time\":1,\"meta\":null}" },
	{ "duplicate-keys", "{\"format\":1,\"unit\":\"a\",\"unit\":\"b\",\"seq\":1,\"seq\":2,\"time\":1,"
			    "\"meta\":{\"blobs\":[],\"levels\":0}}" },
	{ "truncated", "{\"format\":1,\"unit\":\"u\",\"seq\":1,\"time\":1,\"meta\":{\"blo" },
	{ "not-object", "[1, 2, \"three\", null]" },
	{ "deep", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]" },
	{ "empty-object", "{}" },
};

static const char rp_nul[] = "{\"format\":1,\"unit\":\"u\0v\",\"seq\":1,\"time\":1}";

static void gen_rp(struct gen *g)
{
	size_t i;

	for (i = 0; i < sizeof(rp_seeds) / sizeof(rp_seeds[0]); i++)
		gen_put(g, "rp", rp_seeds[i][0], rp_seeds[i][1], strlen(rp_seeds[i][1]));
	gen_put(g, "rp", "nul-inside", rp_nul, sizeof(rp_nul) - 1);
	gen_put_garbage(g, "rp", 100, 3);
}

/* ---- sealed objects (section 3.2) ---- */

static void gen_seal(struct gen *g, const struct buf *index_valid)
{
	uint8_t key[32], ukey[32];
	struct buf body, sealed;
	static const char name[] = "alice@example.org";

	fuzz_seal_key(key);
	buf_init(&body, 0);
	buf_init(&sealed, 0);

	memset(ukey, 0x33, sizeof(ukey));
	buf_add(&body, ukey, sizeof(ukey));
	buf_add_u16(&body, (uint16_t)strlen(name));
	buf_add(&body, name, strlen(name));
	seal_object(key, SEAL_UNIT_KEY, body.data, body.len, &sealed);
	gen_put_buf(g, "seal", "unit-key", &sealed);
	gen_put(g, "seal", "truncated", sealed.data, sealed.len - 1);
	gen_put(g, "seal", "header-only", sealed.data, SEAL_HEADER_LEN);
	gen_put(g, "seal", "header-and-tag", sealed.data, SEAL_HEADER_LEN + 16);
	gen_put(g, "seal", "magic-and-type", sealed.data, 7);
	gen_put_flipped(g, "seal", "bad-magic", &sealed, 0, 0x20);
	gen_put_flipped(g, "seal", "type-K", &sealed, 6, 'U' ^ 'K');
	gen_put_flipped(g, "seal", "type-P", &sealed, 6, 'U' ^ 'P');
	gen_put_flipped(g, "seal", "version-2", &sealed, 7, 0x03);
	gen_put_flipped(g, "seal", "version-0", &sealed, 7, 1);
	gen_put_flipped(g, "seal", "salt-flipped", &sealed, 8, 0x01);
	gen_put_flipped(g, "seal", "tag-flipped", &sealed, sealed.len - 1, 0x80);
	gen_put_flipped(g, "seal", "body-flipped", &sealed, SEAL_HEADER_LEN, 0x04);

	buf_reset(&body);
	buf_reset(&sealed);
	zstd_frame(index_valid->data, index_valid->len, &body);
	seal_object(key, SEAL_INDEX, body.data, body.len, &sealed);
	gen_put_buf(g, "seal", "index", &sealed);

	buf_reset(&body);
	buf_reset(&sealed);
	zstd_frame(rp_full, strlen(rp_full), &body);
	seal_object(key, SEAL_RESTORE_POINT, body.data, body.len, &sealed);
	gen_put_buf(g, "seal", "restore-point", &sealed);

	buf_reset(&sealed);
	seal_object(key, SEAL_RESTORE_POINT, NULL, 0, &sealed);
	gen_put_buf(g, "seal", "empty-body", &sealed);

	buf_clear(&body);
	buf_clear(&sealed);
}

/* ---- key slots (section 3.1) ---- */

static int gen_keyslot(struct gen *g)
{
	uint8_t secret[FUZZ_KEYFILE_LEN], other[40], master[MASTER_KEY_LEN], slot[KEYSLOT_LEN + 1];
	struct keysource src = { KEYSLOT_KEYFILE, secret, sizeof(secret) };
	struct keysource osrc = { KEYSLOT_KEYFILE, other, sizeof(other) };
	struct buf b;
	int ret = -1;

	buf_init(&b, 0);
	fuzz_keyfile(secret);
	memset(other, 0x11, sizeof(other));
	garbage(master, sizeof(master), 4);
	if (keyslot_create(master, &osrc, slot, &g->err) < 0)
		goto out;
	gen_put(g, "keyslot", "other-keyfile", slot, KEYSLOT_LEN);
	if (keyslot_create(master, &src, slot, &g->err) < 0)
		goto out;
	gen_put(g, "keyslot", "keyfile", slot, KEYSLOT_LEN);
	buf_add(&b, slot, KEYSLOT_LEN);
	gen_put(g, "keyslot", "truncated", slot, KEYSLOT_LEN - 1);
	slot[KEYSLOT_LEN] = 0;
	gen_put(g, "keyslot", "one-byte-more", slot, KEYSLOT_LEN + 1);
	gen_put(g, "keyslot", "header-only", slot, 16);
	gen_put_flipped(g, "keyslot", "kdf-3", &b, 8, 0x01);
	gen_put_flipped(g, "keyslot", "kdf-0", &b, 8, 2);
	gen_put_flipped(g, "keyslot", "version-2", &b, 7, 0x03);
	gen_put_flipped(g, "keyslot", "type-U", &b, 6, 'K' ^ 'U');
	gen_put_flipped(g, "keyslot", "salt-flipped", &b, 32, 0x01);
	gen_put_flipped(g, "keyslot", "reserved-set", &b, 12, 0x01);
	gen_put_flipped(g, "keyslot", "tag-flipped", &b, KEYSLOT_LEN - 1, 0x80);
	gen_put_flipped(g, "keyslot", "master-flipped", &b, 48, 0x01);
	ret = 0;
out:
	buf_clear(&b);
	return ret;
}

/* ---- pack trailer bodies (section 5) ---- */

static void trailer_body(struct buf *b, uint32_t count, const struct ix_entry *ents, uint32_t n)
{
	uint8_t id[32];
	uint32_t i;

	buf_add_u32(b, count);
	for (i = 0; i < n; i++) {
		memset(id, 0x99, sizeof(id));
		id[31] = ents[i].id0;
		buf_add(b, id, 32);
		buf_add_u32(b, ents[i].offset);
		buf_add_u32(b, ents[i].len_flags);
		buf_add_u32(b, ents[i].raw_len);
		buf_add_u32(b, 0);
	}
}

static void gen_trailer(struct gen *g)
{
	struct buf b;

	buf_init(&b, 0);
	trailer_body(&b, 4, ix_sorted, 4);
	gen_put_buf(g, "pack_trailer", "four-entries", &b);
	gen_put(g, "pack_trailer", "truncated", b.data, b.len - 3);
	gen_put_flipped(g, "pack_trailer", "count-mismatch", &b, 0, 0x01);
	gen_put_flipped(g, "pack_trailer", "reserved-set", &b, 4 + 44, 0xff);
	buf_reset(&b);
	trailer_body(&b, 1, ix_sorted + 1, 1);
	gen_put_buf(g, "pack_trailer", "one-entry", &b);
	buf_reset(&b);
	trailer_body(&b, 0, NULL, 0);
	gen_put_buf(g, "pack_trailer", "empty", &b);
	gen_put(g, "pack_trailer", "short", b.data, 2);
	buf_reset(&b);
	trailer_body(&b, UINT32_MAX, NULL, 0);
	gen_put_buf(g, "pack_trailer", "huge-count", &b);
	gen_put_garbage(g, "pack_trailer", 52, 5);
	buf_clear(&b);
}

int main(int argc, char **argv)
{
	struct gen g = { 0 };
	struct buf index_valid;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	g.dir = argv[1];
	error_init(&g.err);
	buf_init(&index_valid, 0);
	gen_meta(&g);
	gen_index(&g, &index_valid);
	gen_rp(&g);
	gen_seal(&g, &index_valid);
	if (!g.failed && gen_keyslot(&g) < 0)
		g.failed = 1;
	gen_trailer(&g);
	buf_clear(&index_valid);
	if (g.failed) {
		fprintf(stderr, "gen_seeds: %s\n", g.err.msg);
		return 1;
	}
	return 0;
}
