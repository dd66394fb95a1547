/* Metadata stream records (src/engine/meta.h, docs/format.md section 8). */
#include <stdlib.h>
#include <string.h>

#include "engine/meta.h"
#include "lib/buf.h"
#include "lib/error.h"

#include "harness.h"

/* A symlink with everything a record can carry. */
static void sample_entry(struct meta_entry *e)
{
	static const uint8_t selinux[] = { 's', 'y', 's', 't', 'e', 'm', '_', 'u', 0, 0xff, 1 };
	uint8_t id[32], hole[32] = { 0 };

	memset(e, 0, sizeof(*e));
	e->type = META_SYMLINK;
	e->flags = META_FLAG_SPARSE;
	e->path = strdup("home/ann/docs/link to \xc3\xa9t\xc3\xa9");
	e->target = strdup("../../shared/target file");
	e->mode = 0120777;
	e->uid = 1000;
	e->gid = 4294967294u;
	e->nlink = 3;
	e->size = 0x123456789abcULL;
	e->ino = UINT64_MAX - 1;
	e->dev = 0xfd01;
	e->rdev = 0x0801;
	e->mtime_s = -86400 * 365; /* before 1970 */
	e->mtime_ns = 999999999;
	e->atime_s = 1700000000;
	e->atime_ns = 1;
	e->ctime_s = INT64_MAX;
	e->ctime_ns = 500;
	e->uname = strdup("ann");
	e->gname = strdup("");
	meta_entry_add_xattr(e, "user.comment", "hello", 5);
	meta_entry_add_xattr(e, "security.selinux", selinux, sizeof(selinux));
	meta_entry_add_xattr(e, "user.empty", "", 0);
	th_fill(90, id, sizeof(id));
	meta_entry_add_extent(e, id, 1u << 20);
	meta_entry_add_extent(e, hole, 4096);
	id[0] ^= 1;
	meta_entry_add_extent(e, id, 12345);
}

static int same_entry(const struct meta_entry *a, const struct meta_entry *b)
{
	size_t i;

	if (a->type != b->type || a->flags != b->flags || strcmp(a->path, b->path) != 0 ||
	    a->mode != b->mode || a->uid != b->uid || a->gid != b->gid || a->nlink != b->nlink ||
	    a->size != b->size || a->ino != b->ino || a->dev != b->dev || a->rdev != b->rdev ||
	    a->mtime_s != b->mtime_s || a->mtime_ns != b->mtime_ns || a->atime_s != b->atime_s ||
	    a->atime_ns != b->atime_ns || a->ctime_s != b->ctime_s || a->ctime_ns != b->ctime_ns)
		return 0;
	if ((a->uname == NULL) != (b->uname == NULL) || (a->gname == NULL) != (b->gname == NULL) ||
	    (a->uname && strcmp(a->uname, b->uname) != 0) ||
	    (a->gname && strcmp(a->gname, b->gname) != 0))
		return 0;
	if ((a->target && *a->target) != (b->target && *b->target) ||
	    (a->target && *a->target && strcmp(a->target, b->target) != 0))
		return 0;
	if (a->nxattrs != b->nxattrs || a->nextents != b->nextents)
		return 0;
	for (i = 0; i < a->nxattrs; i++)
		if (strcmp(a->xattrs[i].name, b->xattrs[i].name) != 0 ||
		    a->xattrs[i].len != b->xattrs[i].len ||
		    memcmp(a->xattrs[i].value, b->xattrs[i].value, a->xattrs[i].len) != 0)
			return 0;
	for (i = 0; i < a->nextents; i++)
		if (memcmp(a->extents[i].id, b->extents[i].id, 32) != 0 ||
		    a->extents[i].len != b->extents[i].len)
			return 0;
	return 1;
}

static void test_roundtrip(void)
{
	struct meta_entry in, dir, out, out2;
	struct buf b;
	struct error err;
	size_t used = 0, used2 = 0, first;
	int r;

	memset(&out, 0, sizeof(out));
	memset(&out2, 0, sizeof(out2));
	memset(&dir, 0, sizeof(dir));
	buf_init(&b, 0);
	sample_entry(&in);
	/* The root folder: empty path, no target, no xattrs, no extents. */
	dir.type = META_DIR;
	dir.path = strdup("");
	dir.mode = 040755;
	dir.nlink = 2;
	meta_entry_encode(&in, &b);
	first = b.len;
	CHECK(get_u32(b.data) == first - 4);
	meta_entry_encode(&dir, &b);
	error_init(&err);
	r = meta_entry_decode(b.data, b.len, &out, &used, &err);
	CHECKF(r == 1, "decoding the first record returns %d: %s", r, err.msg);
	CHECKF(used == first, "used %zu bytes of a %zu-byte record", used, first);
	CHECK(same_entry(&in, &out));
	CHECK(meta_same_content(&in, &out) && meta_same_attrs(&in, &out));
	r = meta_entry_decode(b.data + used, b.len - used, &out2, &used2, &err);
	CHECKF(r == 1, "decoding the second record returns %d: %s", r, err.msg);
	CHECK(used + used2 == b.len);
	CHECK(same_entry(&dir, &out2));
out:
	meta_entry_clear(&in);
	meta_entry_clear(&dir);
	meta_entry_clear(&out);
	meta_entry_clear(&out2);
	buf_clear(&b);
}

/* A stream reader gets records in pieces: every proper prefix of a record
 * means "need more", without allocating. */
static void test_truncated(void)
{
	struct meta_entry in, out;
	struct buf b;
	struct error err;
	size_t len, used = 0;
	int r;

	memset(&out, 0, sizeof(out));
	buf_init(&b, 0);
	sample_entry(&in);
	meta_entry_encode(&in, &b);
	for (len = 0; len < b.len; len++) {
		error_init(&err);
		r = meta_entry_decode(b.data, len, &out, &used, &err);
		CHECKF(r == 0, "a %zu-byte prefix of a %zu-byte record returns %d: %s", len, b.len, r,
		       err.msg);
		CHECK(out.path == NULL && out.xattrs == NULL && out.extents == NULL);
	}
	CHECK(meta_entry_decode(b.data, b.len, &out, &used, &err) == 1 && used == b.len);
out:
	meta_entry_clear(&in);
	meta_entry_clear(&out);
	buf_clear(&b);
}

static void test_malformed(void)
{
	static const uint8_t bad_types[] = { 0, 9, 255 };
	struct meta_entry in, out;
	struct buf b;
	struct error err;
	size_t i, used = 0;
	uint8_t save;
	int r;

	memset(&out, 0, sizeof(out));
	buf_init(&b, 0);
	sample_entry(&in);
	meta_entry_encode(&in, &b);
	save = b.data[4];
	for (i = 0; i < sizeof(bad_types); i++) {
		b.data[4] = bad_types[i];
		error_init(&err);
		r = meta_entry_decode(b.data, b.len, &out, &used, &err);
		CHECKF(r == -1, "record type %u returns %d", bad_types[i], r);
		CHECK(err.code == ERROR_CORRUPT);
		CHECK(out.path == NULL && out.target == NULL && out.xattrs == NULL);
	}
	b.data[4] = save;
	/* A length field that disagrees with the contents. */
	put_u32(b.data, get_u32(b.data) - 1);
	CHECK(meta_entry_decode(b.data, b.len, &out, &used, &err) == -1);
	put_u32(b.data, get_u32(b.data) + 1);
	/* Past the 1 MiB record limit, even before the bytes arrive. */
	put_u32(b.data, META_RECORD_MAX + 1);
	CHECK(meta_entry_decode(b.data, b.len, &out, &used, &err) == -1);
	/* Shorter than the fixed part. */
	put_u32(b.data, 10);
	CHECK(meta_entry_decode(b.data, b.len, &out, &used, &err) == -1);
out:
	meta_entry_clear(&in);
	meta_entry_clear(&out);
	buf_clear(&b);
}

/* A large file has many extents: a 40 GiB disk image in ~1 MiB chunks is
 * 40,000 of them, 36 bytes each. Its record must read back, or the whole
 * restore point cannot be read. */
static void test_large_file(void)
{
	struct meta_entry in, out;
	struct buf b;
	struct error err;
	uint8_t id[32];
	size_t k, used = 0;
	int r;

	memset(&in, 0, sizeof(in));
	memset(&out, 0, sizeof(out));
	buf_init(&b, 0);
	in.type = META_FILE;
	in.path = strdup("vm/disk.img");
	in.mode = 0100600;
	in.nlink = 1;
	in.size = 40000ULL << 20;
	for (k = 0; k < 40000; k++) {
		th_fill(1000 + k, id, sizeof(id));
		meta_entry_add_extent(&in, id, 1u << 20);
	}
	meta_entry_encode(&in, &b);
	error_init(&err);
	r = meta_entry_decode(b.data, b.len, &out, &used, &err);
	CHECKF(r == 1, "the %zu-byte record of a 40 GiB file (40000 extents) does not decode (%d): %s",
	       b.len, r, err.msg);
	CHECK(used == b.len && same_entry(&in, &out));
out:
	meta_entry_clear(&in);
	meta_entry_clear(&out);
	buf_clear(&b);
}

/* A record as coffer wrote them before owner names (version 0): the folder
 * "docs" with a user.comment xattr (fuzz/corpus/meta/dir-xattr, made by
 * that coffer's fuzz/gen_seeds). */
static const uint8_t old_record[] = {
	0x7f, 0x00, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0xc0, 0x41, 0x00, 0x00, 0xe8, 0x03, 0x00,
	0x00, 0xe8, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf1,
	0x53, 0x65, 0x00, 0x00, 0x00, 0x00, 0x15, 0xcd, 0x5b, 0x07, 0x64, 0xf1, 0x53, 0x65, 0x00,
	0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0xf1, 0x53, 0x65, 0x00, 0x00, 0x00, 0x00,
	0xff, 0xc9, 0x9a, 0x3b, 0x05, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x08, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
	0x00, 0x00, 0x64, 0x6f, 0x63, 0x73, 0x00, 0x00, 0x01, 0x00, 0x0c, 0x00, 0x75, 0x73, 0x65,
	0x72, 0x2e, 0x63, 0x6f, 0x6d, 0x6d, 0x65, 0x6e, 0x74, 0x09, 0x00, 0x00, 0x00, 0x71, 0x75,
	0x61, 0x72, 0x74, 0x65, 0x72, 0x6c, 0x79, 0x00, 0x00, 0x00, 0x00,
};

/* Stores written before owner names still read: the old record decodes
 * with no names (restore then goes by id) and writes back as it was. */
static void test_old_record(void)
{
	struct meta_entry out, named;
	struct buf b;
	struct error err;
	size_t used = 0;
	int r;

	memset(&out, 0, sizeof(out));
	memset(&named, 0, sizeof(named));
	buf_init(&b, 0);
	error_init(&err);
	r = meta_entry_decode(old_record, sizeof(old_record), &out, &used, &err);
	CHECKF(r == 1, "a version 0 record returns %d: %s", r, err.msg);
	CHECK(used == sizeof(old_record) && out.type == META_DIR && strcmp(out.path, "docs") == 0);
	CHECK(out.uid == 1000 && out.gid == 1000 && out.uname == NULL && out.gname == NULL);
	CHECK(out.nxattrs == 1 && strcmp(out.xattrs[0].name, "user.comment") == 0);
	meta_entry_encode(&out, &b);
	CHECK(b.len == sizeof(old_record) && memcmp(b.data, old_record, b.len) == 0);
	/* An old record and a new one of the same file are the same attrs:
	 * the first backup after an upgrade is not a change of every file. */
	meta_entry_copy(&named, &out);
	named.uname = strdup("ann");
	named.gname = strdup("staff");
	CHECK(meta_same_attrs(&out, &named));
	free(out.uname);
	out.uname = strdup("bob");
	CHECK(!meta_same_attrs(&out, &named));
out:
	meta_entry_clear(&out);
	meta_entry_clear(&named);
	buf_clear(&b);
}

/* Version 1 adds the names; a version this coffer does not know is
 * refused as newer, not as damage. */
static void test_record_version(void)
{
	struct meta_entry in, out;
	struct buf b;
	struct error err;
	size_t used = 0;
	int r;

	memset(&out, 0, sizeof(out));
	buf_init(&b, 0);
	sample_entry(&in);
	meta_entry_encode(&in, &b);
	CHECK(b.data[5] >> 4 == 1 && (b.data[5] & 0x0f) == META_FLAG_SPARSE);
	/* The names end the record: u8 length, "ann", u8 length 0. */
	CHECK(memcmp(b.data + b.len - 5, "\x03" "ann\x00", 5) == 0);
	b.data[5] = (uint8_t)(2 << 4 | META_FLAG_SPARSE);
	error_init(&err);
	r = meta_entry_decode(b.data, b.len, &out, &used, &err);
	CHECKF(r == -1 && err.code == ERROR_VERSION, "a version 2 record returns %d (%d): %s", r,
	       err.code, err.msg);
	CHECK(out.path == NULL);
	/* Version 0 with the names' bytes after the extents is malformed. */
	b.data[5] = META_FLAG_SPARSE;
	r = meta_entry_decode(b.data, b.len, &out, &used, &err);
	CHECK(r == -1 && err.code == ERROR_CORRUPT && out.path == NULL);
	/* A name too long for its u8 length is refused before encoding. */
	free(in.uname);
	in.uname = malloc(META_NAME_MAX + 2);
	memset(in.uname, 'a', META_NAME_MAX + 1);
	in.uname[META_NAME_MAX + 1] = '\0';
	CHECK(meta_entry_check(&in, &err) == -1);
out:
	meta_entry_clear(&in);
	meta_entry_clear(&out);
	buf_clear(&b);
}

static void test_path_order(void)
{
	/* The stream's order: a folder, then its children, then its siblings. */
	static const char *const order[] = {
		"", "a", "a/b", "a/b/c", "a/z", "a.b", "a0", "b", "b/a", "\xc3\xa9",
	};
	size_t n = sizeof(order) / sizeof(order[0]), i, j;
	int c;

	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++) {
			c = meta_path_cmp(order[i], order[j]);
			CHECKF(i < j ? c < 0 : i > j ? c > 0 : c == 0,
			       "meta_path_cmp(\"%s\", \"%s\") = %d", order[i], order[j], c);
		}
	}
out:
	return;
}

const struct unit_test meta_tests[] = {
	{ "meta: encode/decode roundtrip with xattrs, extents and a symlink target", test_roundtrip },
	{ "meta: a truncated record returns 0 (need more)", test_truncated },
	{ "meta: a bad type or length returns -1", test_malformed },
	{ "meta: the record of a 40 GiB file (40000 extents) reads back", test_large_file },
	{ "meta: a record written before owner names reads and re-encodes as it was",
	  test_old_record },
	{ "meta: records carry their version; a newer one is refused as such", test_record_version },
	{ "meta: meta_path_cmp orders \"\" < a < a/b < a.b < b", test_path_order },
	{ NULL, NULL },
};
