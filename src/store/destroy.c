/* Destroying a unit (docs/format.md 11): its key goes first, so nothing of
 * it decrypts again, then its other objects as locks allow. The record
 * "destroyed/<uid>" says so in plain text, signed by the deletion key: the
 * unit's own deletion log is sealed under the key that is about to vanish,
 * so the record of its end cannot live there. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/mem.h"
#include "lib/parse.h"
#include "store/backend.h"

#define DESTROYED_MAGIC "coffer-unit-destroyed"
#define DESTROYED_FORMAT 1
#define DESTROYED_MAX 4096
#define DESTROYED_STR_MAX 255
/* An S3 key with versions left is removed this many times at most. */
#define KEY_VERSIONS_MAX 1000

void store_destroyed_clear(struct store_destroyed *d)
{
	free(d->host);
	free(d->tool);
	memset(d, 0, sizeof(*d));
}

/* The message the deletion key signs (docs/format.md 11). */
static void destroyed_message(struct store *s, const char *uid, const struct store_destroyed *d,
			      struct buf *m)
{
	const char *id = store_id(s);

	buf_add(m, "coffer-v1 unit-destroyed", 25); /* with its NUL */
	buf_add(m, id, strlen(id));
	buf_add(m, uid, 32);
	buf_add_u64(m, (uint64_t)d->time);
	buf_add_u64(m, d->restore_points);
	buf_add_u64(m, d->objects);
	buf_add_u64(m, d->bytes);
	buf_add_u16(m, (uint16_t)strlen(d->host));
	buf_add(m, d->host, strlen(d->host));
	buf_add_u16(m, (uint16_t)strlen(d->tool));
	buf_add(m, d->tool, strlen(d->tool));
}

static int str_ok(const char *v)
{
	size_t i, len = strlen(v);

	if (len == 0 || len > DESTROYED_STR_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] <= ' ' || v[i] == 0x7f)
			return 0;
	return 1;
}

/* The record's fields, each once: bit i of `have` is fields[i]. */
static const char *const fields[] = { "format", "unit", "time", "host", "tool",
				      "restore-points", "objects", "bytes", "signature" };
#define FIELDS_ALL ((1 << (sizeof(fields) / sizeof(fields[0]))) - 1)

/* One "key value" line of the record into *d; 0, -1 if malformed, -2 if
 * of a newer format. */
static int destroyed_field(struct store_destroyed *d, const char *uid, const char *key,
			   const char *v, uint8_t sig[64], int *have)
{
	uint64_t *counts[] = { &d->restore_points, &d->objects, &d->bytes };
	size_t f, nf = sizeof(fields) / sizeof(fields[0]);
	int64_t n;

	for (f = 0; f < nf && strcmp(key, fields[f]) != 0; f++)
		;
	if (f == nf)
		return 0; /* a later format 1 addition */
	if (*have & (1 << f))
		return -1;
	*have |= 1 << f;
	switch (f) {
	case 0:
		if (parse_int(v, 1, INT64_MAX, &n) < 0)
			return -1;
		return n > DESTROYED_FORMAT ? -2 : 0;
	case 1:
		return strcmp(v, uid) == 0 ? 0 : -1;
	case 2:
		return parse_int(v, 1, INT64_MAX, &d->time) < 0 ? -1 : 0;
	case 3:
	case 4:
		if (!str_ok(v))
			return -1;
		*(f == 3 ? &d->host : &d->tool) = xstrdup(v);
		return 0;
	case 5:
	case 6:
	case 7:
		if (parse_int(v, 0, INT64_MAX, &n) < 0)
			return -1;
		*counts[f - 5] = (uint64_t)n;
		return 0;
	default:
		return strlen(v) == 128 && hex_decode(v, 128, sig, 64) == 0 ? 0 : -1;
	}
}

int store_destroyed_parse(const char *text, size_t len, const char *uid, const char *what,
			  struct store_destroyed *d, uint8_t sig[64], struct error *err)
{
	const char *p = text, *end = text + len;
	int have = 0, first = 1, r = 0;

	memset(d, 0, sizeof(*d));
	while (p < end && r == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *sp;
		char *line;

		if (nl == NULL)
			break;
		line = xstrndup(p, (size_t)(nl - p));
		p = nl + 1;
		if (first) {
			r = strcmp(line, DESTROYED_MAGIC) == 0 ? 0 : -1;
			first = 0;
		} else if ((sp = strchr(line, ' ')) == NULL) {
			r = -1;
		} else {
			line[sp - line] = '\0';
			r = destroyed_field(d, uid, line, sp + 1, sig, &have);
		}
		free(line);
	}
	if (r == -2) {
		store_destroyed_clear(d);
		return error_setk(err, ERROR_VERSION, "%s has a newer format than this coffer reads",
				  what);
	}
	if (r < 0 || p != end || have != FIELDS_ALL) {
		store_destroyed_clear(d);
		return error_setk(err, ERROR_CORRUPT, "%s is malformed", what);
	}
	return 0;
}

int store_destroyed_uid(struct store *s, const char *uid, struct store_destroyed *d,
			struct error *err)
{
	char *name = xasprintf("destroyed/%s", uid), *what = backend_describe(store_backend(s),
									     name);
	struct buf b, m;
	uint8_t sig[64];
	int ret = -1;

	buf_init(&b, DESTROYED_MAX);
	buf_init(&m, 0);
	if (backend_get(store_backend(s), name, &b, DESTROYED_MAX, err) < 0) {
		ret = err->code == ERROR_NOTFOUND ? 0 : -1;
		goto out;
	}
	if (store_destroyed_parse((const char *)b.data, b.len, uid, what, d, sig, err) < 0)
		goto out;
	destroyed_message(s, uid, d, &m);
	if (store_deletion_verify(s, m.data, m.len, sig, err) < 0) {
		store_destroyed_clear(d);
		error_setk(err, ERROR_CORRUPT, "%s: the deletion key's signature does not verify "
			   "(not written by coffer's deletion path)", what);
		goto out;
	}
	ret = 1;
out:
	buf_clear(&b);
	buf_clear(&m);
	free(what);
	free(name);
	return ret;
}

int store_unit_destroyed(struct store *s, const char *name, struct store_destroyed *d,
			 struct error *err)
{
	char uid[33];

	store_unit_uid(s, name, uid);
	return store_destroyed_uid(s, uid, d, err);
}

/* ---- the unit's objects ---- */

struct objects {
	struct store *s;
	const char *dir; /* the folder being listed */
	char **names;
	uint64_t *sizes;
	size_t n;
	uint64_t bytes, rps;
	int depth;
	struct error *err;
};

static int collect_object(void *ctx, const char *entry);

/* Lists folder `dir` into o (depth: how many levels below may be folders). */
static int collect_dir(struct objects *o, const char *dir, int depth)
{
	const char *was = o->dir;
	int was_depth = o->depth, ret;

	o->dir = dir;
	o->depth = depth;
	ret = backend_list(store_backend(o->s), dir, collect_object, o, o->err);
	o->dir = was;
	o->depth = was_depth;
	return ret;
}

/* The unit's folder holds "key" and folders of objects; "packs" holds
 * folders of packs (docs/format.md 1). */
static int collect_object(void *ctx, const char *entry)
{
	struct objects *o = ctx;
	char *name = xasprintf("%s/%s", o->dir, entry);
	uint64_t size = 0;
	int is_dir = o->depth > 0 && !(o->depth == 2 && strcmp(entry, "key") == 0);

	if (is_dir) {
		int ret = collect_dir(o, name, o->depth == 2 && strcmp(entry, "packs") == 0 ? 1 : 0);

		free(name);
		return ret;
	}
	if (backend_size(store_backend(o->s), name, &size, o->err) < 0) {
		free(name);
		return o->err->code == ERROR_NOTFOUND ? 0 : -1;
	}
	o->names = xrealloc(o->names, xmul(o->n + 1, sizeof(*o->names)));
	o->sizes = xrealloc(o->sizes, xmul(o->n + 1, sizeof(*o->sizes)));
	o->names[o->n] = name;
	o->sizes[o->n++] = size;
	o->bytes += size;
	return 0;
}

static void objects_clear(struct objects *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->names[i]);
	free(o->names);
	free(o->sizes);
}

static int is_rp(const char *name)
{
	const char *p = strstr(name, "/rp/");

	return p != NULL && strchr(p + 4, '/') == NULL;
}

/* Every object below units/<uid>/, with the count of restore points. */
static int unit_objects(struct store *s, const char *uid, struct objects *o, struct error *err)
{
	char *dir = xasprintf("units/%s", uid);
	int ret;

	memset(o, 0, sizeof(*o));
	o->s = s;
	o->err = err;
	ret = collect_dir(o, dir, 2);
	free(dir);
	o->rps = 0;
	for (size_t i = 0; i < o->n; i++)
		o->rps += is_rp(o->names[i]);
	if (ret < 0)
		error_prefix(err, "listing the objects of unit %s", uid);
	return ret;
}

/* ---- writing the record ---- */

static int destroyed_write(struct store *s, const char *uid, struct store_destroyed *d,
			   struct error *err)
{
	char host[256], *name = xasprintf("destroyed/%s", uid), hex[129];
	uint8_t sig[64];
	struct buf m, text;
	int ret = -1;

	buf_init(&m, 0);
	buf_init(&text, 0);
	if (gethostname(host, sizeof(host)) < 0 || !str_ok(host))
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	d->host = xstrdup(host);
	d->tool = xstrdup(store_actor(s));
	if (!str_ok(d->tool)) {
		error_setk(err, ERROR_USAGE, "bad tool name \"%.64s\" for a destruction record",
			   d->tool);
		goto out;
	}
	destroyed_message(s, uid, d, &m);
	if (store_deletion_sign(s, m.data, m.len, sig, err) < 0)
		goto out;
	hex_encode(sig, 64, hex);
	buf_addf(&text, "%s\nformat %d\nunit %s\ntime %lld\nhost %s\ntool %s\n"
		 "restore-points %llu\nobjects %llu\nbytes %llu\nsignature %s\n",
		 DESTROYED_MAGIC, DESTROYED_FORMAT, uid, (long long)d->time, d->host, d->tool,
		 (unsigned long long)d->restore_points, (unsigned long long)d->objects,
		 (unsigned long long)d->bytes, hex);
	ret = backend_put(store_backend(s), name, text.data, text.len, err);
out:
	buf_clear(&m);
	buf_clear(&text);
	free(name);
	return ret;
}

/* ---- deleting ---- */

/* Notes a lock that refused a deletion. */
static void note_locked(struct store *s, const char *name, struct store_destroy_result *res)
{
	int64_t until = 0;
	int hold = 0;
	struct error ignored;

	error_init(&ignored);
	res->locked++;
	if (backend_lock(store_backend(s), name, &until, &hold, &ignored) == 0 && !hold &&
	    until > res->locked_until)
		res->locked_until = until;
}

/* Removes every version of the key: a versioned bucket keeps older ones
 * after a delete of the newest, each a copy of the key. */
static int key_remove(struct store *s, const char *key, const char *name, uint64_t size,
		      struct store_destroy_result *res, struct error *err)
{
	struct backend *be = store_backend(s);
	uint64_t sz;
	int i;

	for (i = 0; i < KEY_VERSIONS_MAX; i++) {
		if (backend_size(be, key, &sz, err) < 0) {
			if (err->code != ERROR_NOTFOUND)
				return -1;
			error_init(err);
			return 0;
		}
		if (backend_remove(be, key, err) < 0)
			return error_prefix(err, "destroying unit %s: its key", name);
		if (i == 0) {
			res->deleted++;
			res->deleted_bytes += size;
		}
	}
	return error_setk(err, ERROR_FAIL, "destroying unit %s: %s still exists after %d deletions",
			  name, key, KEY_VERSIONS_MAX);
}

/* The key's lock refuses the destruction before anything is written. */
static int key_lock_check(struct store *s, const char *key, const char *name, struct error *err)
{
	int64_t until = 0;
	int hold = 0;
	char date[40], *what;

	if (!backend_has_locks(store_backend(s)))
		return 0;
	if (backend_lock(store_backend(s), key, &until, &hold, err) < 0)
		return err->code == ERROR_NOTFOUND ? 0 : -1;
	if (!hold && until <= (int64_t)time(NULL))
		return 0;
	what = backend_describe(store_backend(s), key);
	backend_lock_date(until, date, sizeof(date));
	if (hold)
		error_setk(err, ERROR_LOCKED, "unit %s cannot be destroyed yet: its key %s is under "
			   "an Object Lock legal hold", name, what);
	else
		error_setk(err, ERROR_LOCKED, "unit %s cannot be destroyed before %s: its key %s is "
			   "locked by Object Lock until then", name, date, what);
	free(what);
	return -1;
}

int store_unit_destroy(struct store *s, const char *name, int64_t now,
		       struct store_destroy_result *res, struct error *err)
{
	struct objects o = { 0 };
	char uid[33], *key = NULL, *cache = NULL;
	uint64_t key_size = 0;
	int found, ret = -1;

	memset(res, 0, sizeof(*res));
	if (!store_deletion_unlocked(s))
		return error_setk(err, ERROR_KEY, "destroying unit %s needs the store's deletion "
				  "key", name);
	if (store_unit_name_check(name, err) < 0)
		return -1;
	store_unit_uid(s, name, uid);
	key = xasprintf("units/%s/key", uid);
	found = store_destroyed_uid(s, uid, &res->rec, err);
	if (found < 0)
		goto out;
	if (unit_objects(s, uid, &o, err) < 0)
		goto out;
	for (size_t i = 0; i < o.n; i++)
		if (strcmp(o.names[i], key) == 0)
			key_size = o.sizes[i];
	if (!found) {
		if (backend_size(store_backend(s), key, &key_size, err) < 0) {
			if (err->code == ERROR_NOTFOUND)
				error_setk(err, ERROR_NOTFOUND, "no protection unit named \"%s\" in "
					   "store %s", name, store_path(s));
			goto out;
		}
		if (key_lock_check(s, key, name, err) < 0)
			goto out;
		res->rec.time = now;
		res->rec.restore_points = o.rps;
		res->rec.objects = o.n;
		res->rec.bytes = o.bytes;
		/* The record first: a destruction cut short is finished by the
		 * next run, and is never a unit that looks merely damaged. */
		if (destroyed_write(s, uid, &res->rec, err) < 0) {
			/* Another run wrote it first: its record stands. */
			if (err->code != ERROR_EXISTS) {
				error_prefix(err, "destroying unit %s: writing its record", name);
				goto out;
			}
			store_destroyed_clear(&res->rec);
			if (store_destroyed_uid(s, uid, &res->rec, err) != 1)
				goto out;
		}
	}
	if (key_remove(s, key, name, key_size, res, err) < 0)
		goto out;
	for (size_t i = 0; i < o.n; i++) {
		if (strcmp(o.names[i], key) == 0)
			continue;
		if (backend_remove(store_backend(s), o.names[i], err) < 0) {
			if (err->code != ERROR_LOCKED)
				goto out;
			note_locked(s, o.names[i], res);
			error_init(err);
			continue;
		}
		res->deleted++;
		res->deleted_bytes += o.sizes[i];
	}
	/* Decrypted index segments of the unit (store_unit_cache). */
	cache = fs_join(store_cache_dir(s), uid);
	if (fs_remove_tree(cache, err) < 0) {
		error_prefix(err, "destroying unit %s: its cache", name);
		goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		store_destroyed_clear(&res->rec);
	objects_clear(&o);
	free(cache);
	free(key);
	return ret;
}
