#ifndef COFFER_META_H
#define COFFER_META_H

/* Records of the metadata stream (docs/format.md section 8): one per file,
 * folder, link or device, in depth-first order with children sorted by
 * name. Encoding, decoding and the path order used for merge-joins. */

#include <stddef.h>
#include <stdint.h>

struct buf;
struct error;

/* 64 MiB: a file of up to about 1.8 TiB in 1 MiB chunks (36 bytes each). */
#define META_RECORD_MAX (64u << 20)

enum meta_type {
	META_FILE = 1,
	META_DIR = 2,
	META_SYMLINK = 3,
	META_HARDLINK = 4,
	META_FIFO = 5,
	META_CHR = 6,
	META_BLK = 7,
	META_SOCK = 8,
};

#define META_FLAG_SPARSE 1
/* The record version lives in the high half of the flags byte
 * (docs/format.md 8): 0, the first layout; 1 adds the owner names. */
#define META_VERSION_MAX 1
#define META_NAME_MAX 255

struct meta_xattr {
	char *name;
	uint8_t *value;
	uint32_t len;
};

struct meta_extent {
	uint8_t id[32]; /* all zero: a hole */
	uint32_t len;
};

struct meta_entry {
	uint8_t type, flags;
	char *path;       /* relative to the unit root; "" is the root */
	uint32_t mode, uid, gid, nlink;
	uint64_t size, ino, dev, rdev;
	int64_t mtime_s, atime_s, ctime_s;
	uint32_t mtime_ns, atime_ns, ctime_ns;
	char *target;     /* symlink target or first path of a hard-link group */
	/* Owner and group names as the backup host knew them ("" : the id had
	 * no name there); NULL in a record written before names were kept. */
	char *uname, *gname;
	struct meta_xattr *xattrs;
	size_t nxattrs;
	struct meta_extent *extents;
	size_t nextents, capextents;
};

/* Frees what the entry owns and zeroes it. */
void meta_entry_clear(struct meta_entry *e);
/* Deep copy. */
void meta_entry_copy(struct meta_entry *dst, const struct meta_entry *src);
void meta_entry_add_extent(struct meta_entry *e, const uint8_t id[32], uint32_t len);
void meta_entry_add_xattr(struct meta_entry *e, const char *name, const void *value,
			  uint32_t len);
/* The xattr of e called `name` (the first, should there be two), or NULL
 * when it has none; points into e. */
const struct meta_xattr *meta_entry_xattr(const struct meta_entry *e, const char *name);
/* Its value as a new NUL-terminated string the caller frees (cut at a NUL
 * byte inside the value), or NULL when e has no such xattr. */
char *meta_entry_xattr_str(const struct meta_entry *e, const char *name);

/* Whether the entry fits a record (lengths, count and size limits). */
int meta_entry_check(const struct meta_entry *e, struct error *err);
/* Encodes a record; the entry must have passed meta_entry_check(). */
void meta_entry_encode(const struct meta_entry *e, struct buf *out);
/* Decodes one record from data[0..len): 1 and *used_r, 0 if the record is
 * not complete yet, -1 if malformed. e must be cleared by the caller. */
int meta_entry_decode(const uint8_t *data, size_t len, struct meta_entry *e, size_t *used_r,
		      struct error *err);

/* Path order of the stream: component-wise byte order. */
int meta_path_cmp(const char *a, const char *b);

/* Whether the extents of two entries are the same content. */
int meta_same_content(const struct meta_entry *a, const struct meta_entry *b);
/* Whether owner, mode, times and xattrs agree (content aside). Owner names
 * count when both entries have them: an old record has none. */
int meta_same_attrs(const struct meta_entry *a, const struct meta_entry *b);
/* Whether the xattrs agree, leaving out those `skip` says (NULL: none). */
typedef int meta_xattr_skip_fn(const char *name, void *ctx);
int meta_same_xattrs(const struct meta_entry *a, const struct meta_entry *b,
		     meta_xattr_skip_fn *skip, void *ctx);
/* Whether the owner names agree, where both entries have them. */
int meta_same_names(const struct meta_entry *a, const struct meta_entry *b);

#endif
