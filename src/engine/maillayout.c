/* The layout of a mailbox restore point (docs/mail.md section 1). */
#include "engine/maillayout.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/meta.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/mem.h"

/* ---- the root ---- */

int maillayout_check_root(const struct meta_entry *root, const char *unit, uint32_t seq,
			  struct error *err)
{
	const struct meta_xattr *x;

	if (root == NULL)
		return error_setk(err, ERROR_USAGE, "%s@%u is not a mailbox restore point (it is "
				  "empty)", unit, seq);
	x = root->type == META_DIR && *root->path == '\0' ?
	    meta_entry_xattr(root, MAILLAYOUT_XATTR_MAILBOX) : NULL;
	if (x == NULL)
		return error_setk(err, ERROR_USAGE, "%s@%u is not a mailbox restore point (its root "
				  "has no %s)", unit, seq, MAILLAYOUT_XATTR_MAILBOX);
	if (x->len != strlen(MAILLAYOUT_VERSION) ||
	    memcmp(x->value, MAILLAYOUT_VERSION, x->len) != 0)
		return error_setk(err, ERROR_VERSION, "%s@%u: mailbox mapping version %.*s is not "
				  "supported (only %s)", unit, seq, (int)(x->len < 16 ? x->len : 16),
				  (const char *)x->value, MAILLAYOUT_VERSION);
	return 0;
}

char maillayout_root_delimiter(const struct meta_entry *root)
{
	const struct meta_xattr *x = meta_entry_xattr(root, MAILLAYOUT_XATTR_DELIMITER);

	return x && x->len > 0 ? (char)x->value[0] : 0;
}

/* ---- names ---- */

static int all_digits(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int maillayout_message_uid(const char *path, uint32_t *uid_r)
{
	const char *base = strrchr(path, '/');
	uint64_t v = 0;
	size_t i;

	base = base ? base + 1 : path;
	if (strlen(base) != MAILLAYOUT_UID_NAME_LEN || !all_digits(base, MAILLAYOUT_UID_NAME_LEN))
		return 0;
	for (i = 0; i < MAILLAYOUT_UID_NAME_LEN; i++)
		v = v * 10 + (uint64_t)(base[i] - '0');
	if (v == 0 || v > UINT32_MAX)
		return 0;
	*uid_r = (uint32_t)v;
	return 1;
}

char *maillayout_message_path(const char *folder_path, uint32_t uid)
{
	return *folder_path ? xasprintf("%s/%010u", folder_path, uid) : xasprintf("%010u", uid);
}

static int needs_escape(unsigned char c)
{
	return c == '/' || c == '%' || c < 0x20 || c == 0x7f;
}

static void add_escaped(struct buf *b, unsigned char c)
{
	buf_addf(b, "%%%02X", c);
}

/* One component: never empty, ".", ".." or a UID-like name. */
static void add_component(struct buf *b, const char *s, size_t len)
{
	size_t i;

	if (len == 0) {
		buf_add(b, "%", 1);
		return;
	}
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.')) {
		for (i = 0; i < len; i++)
			add_escaped(b, '.');
		return;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (needs_escape(c) ||
		    (i == 0 && len == MAILLAYOUT_UID_NAME_LEN && all_digits(s, len)))
			add_escaped(b, c);
		else
			buf_add_u8(b, c);
	}
}

char *maillayout_folder_path(const char *name, char delim)
{
	struct buf b;
	const char *p = name, *q;

	buf_init(&b, 0);
	for (;;) {
		q = delim ? strchr(p, delim) : NULL;
		if (b.len > 0)
			buf_add(&b, "/", 1);
		add_component(&b, p, q ? (size_t)(q - p) : strlen(p));
		if (q == NULL)
			break;
		p = q + 1;
	}
	return (char *)buf_steal(&b, NULL);
}

/* ---- attributes ---- */

uint64_t maillayout_xattr_u64(const struct meta_entry *e, const char *name, uint64_t def)
{
	const struct meta_xattr *x = meta_entry_xattr(e, name);
	char tmp[24], *end;
	unsigned long long v;

	if (x == NULL || x->len == 0 || x->len >= sizeof(tmp))
		return def;
	memcpy(tmp, x->value, x->len);
	tmp[x->len] = 0;
	if (!isdigit((unsigned char)tmp[0]))
		return def;
	errno = 0;
	v = strtoull(tmp, &end, 10);
	return errno || *end ? def : (uint64_t)v;
}

void maillayout_entry_set(struct meta_entry *e, const char *name, const char *value)
{
	meta_entry_add_xattr(e, name, value, (uint32_t)strlen(value));
}

/* ---- entries ---- */

static void base_entry(struct meta_entry *e, const char *path, uint8_t type, uint32_t mode)
{
	e->type = type;
	e->path = xstrdup(path);
	e->mode = mode;
	e->uid = (uint32_t)getuid();
	e->gid = (uint32_t)getgid();
	e->nlink = 1;
}

void maillayout_dir_entry(struct meta_entry *e, const char *path)
{
	base_entry(e, path, META_DIR, S_IFDIR | 0700);
}

void maillayout_root_entry(struct meta_entry *e, char delim)
{
	char d[2] = { delim, 0 };

	maillayout_dir_entry(e, "");
	maillayout_entry_set(e, MAILLAYOUT_XATTR_MAILBOX, MAILLAYOUT_VERSION);
	maillayout_entry_set(e, MAILLAYOUT_XATTR_DELIMITER, d);
}

void maillayout_message_entry(struct meta_entry *e, const char *folder_path, uint32_t uid,
			      uint64_t size, int64_t date, const char *tz, const char *flags,
			      int has_modseq, uint64_t modseq)
{
	char *path = maillayout_message_path(folder_path, uid);

	base_entry(e, path, META_FILE, S_IFREG | 0600);
	free(path);
	e->size = size;
	e->mtime_s = e->atime_s = e->ctime_s = date;
	maillayout_entry_set(e, MAILLAYOUT_XATTR_FLAGS, flags);
	if (has_modseq) {
		char num[24];

		snprintf(num, sizeof(num), "%llu", (unsigned long long)modseq);
		maillayout_entry_set(e, MAILLAYOUT_XATTR_MODSEQ, num);
	}
	maillayout_entry_set(e, MAILLAYOUT_XATTR_TZ, tz);
}
