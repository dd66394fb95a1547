/* The folder source (src/sources/folder.c) through the source interface,
 * and the recommendation rule (src/service/recommend.c) on real backup
 * statistics and on made-up histories. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "catalog/catalog.h"
#include "engine/tree.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/mem.h"
#include "service/recommend.h"
#include "sources/source.h"
#include "store/backend.h"
#include "store/rp.h"
#include "store/store.h"

#include "forge.h"
#include "harness.h"

struct sfx {
	const char *data;
	struct th_store ts;
	struct store *s;
	struct json_object *src;
	const struct source_ops *ops;
};

static int put(const char *dir, const char *rel, const void *data, size_t len)
{
	char *p = fs_join(dir, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644), ret = -1;

	if (fd >= 0 && write(fd, data, len) == (ssize_t)len)
		ret = 0;
	if (fd >= 0)
		close(fd);
	free(p);
	return ret;
}

/* Text that compresses well: numbered lines. */
static int put_text(const char *dir, const char *rel, int lines, int salt)
{
	struct buf b;
	int ret;

	buf_init(&b, 0);
	for (int i = 0; i < lines; i++)
		buf_addf(&b, "line %d of %s, salt %d: the quick brown fox jumps over the lazy dog\n",
			 i, rel, salt);
	ret = put(dir, rel, b.data, b.len);
	buf_clear(&b);
	return ret;
}

static int sfx_setup(struct sfx *f)
{
	struct error err;
	char *sub;

	memset(f, 0, sizeof(*f));
	f->s = th_store_new(&f->ts);
	CHECK(f->s != NULL);
	f->data = th_tmpdir("unit");
	f->src = json_object_new_object();
	json_object_object_add(f->src, "type", json_object_new_string("folder"));
	json_object_object_add(f->src, "path", json_object_new_string(f->data));
	f->ops = source_find(f->src, &err);
	CHECKF(f->ops != NULL, "source_find: %s", err.msg);
	sub = fs_join(f->data, "docs");
	CHECK(mkdir(sub, 0755) == 0);
	free(sub);
	for (int i = 0; i < 6; i++) {
		char name[32];

		snprintf(name, sizeof(name), "docs/f%d.txt", i);
		CHECK(put_text(f->data, name, 2000, 0) == 0);
	}
	CHECK(put_text(f->data, "readme.md", 10, 0) == 0);
	return 0;
out:
	return -1;
}

static void sfx_clear(struct sfx *f)
{
	store_close(&f->s);
	json_object_put(f->src);
}

static int backup(struct sfx *f, int64_t time_ns, struct source_backup_result *res)
{
	struct source_backup_opts o = { .unit = "u-1", .source = f->src, .time_ns = time_ns,
					.quiet = 1 };
	struct error err;

	error_init(&err);
	if (f->ops->backup(f->s, &o, res, &err) < 0) {
		th_fail(__FILE__, __LINE__, "backup: %s", err.msg);
		return -1;
	}
	return 0;
}

static void test_source_find(void)
{
	struct json_object *j = json_tokener_parse("{\"type\":\"carrier-pigeon\"}");
	struct json_object *k = json_tokener_parse("{\"path\":\"/x\"}");
	struct error err;

	error_init(&err);
	CHECK(source_find(j, &err) == NULL && err.code == ERROR_USAGE);
	CHECK(strstr(err.msg, "carrier-pigeon") != NULL);
	CHECK(source_find(k, &err) == NULL && err.code == ERROR_USAGE);
	CHECK(strstr(err.msg, "type") != NULL);
out:
	json_object_put(j);
	json_object_put(k);
}

/* changed_items: everything the first time, then what was added, changed
 * or removed, nothing for an unchanged rerun; the point carries the time
 * it was given. */
static void test_folder_backup_changed(void)
{
	struct sfx f;
	struct source_backup_result r;
	struct store_unit *u = NULL;
	struct rp *rp = NULL;
	struct error err;
	char *p = NULL;

	if (sfx_setup(&f) < 0)
		goto out;
	CHECK(backup(&f, 1700000000123000000LL, &r) == 0);
	CHECK(r.seq == 1);
	CHECK(r.items == 7);
	CHECKF(r.changed_items == 9, "first: %llu changed", (unsigned long long)r.changed_items);
	CHECK(r.new_bytes > 0 && r.incompressible_bytes < r.new_bytes / 10);
	CHECK_OK(tree_resolve(f.s, "u-1@1", &u, &rp, &err), &err);
	CHECK(rp->time_ns == 1700000000123000000LL);
	CHECK(put_text(f.data, "docs/f1.txt", 2000, 1) == 0);
	CHECK(put_text(f.data, "docs/new.txt", 20, 1) == 0);
	p = fs_join(f.data, "docs/f2.txt");
	CHECK(unlink(p) == 0);
	CHECK(backup(&f, 0, &r) == 0);
	CHECK(r.seq == 2);
	CHECKF(r.changed_items == 3, "second: %llu changed", (unsigned long long)r.changed_items);
	CHECK(backup(&f, 0, &r) == 0);
	CHECKF(r.changed_items == 0, "rerun: %llu changed", (unsigned long long)r.changed_items);
out:
	free(p);
	rp_free(&rp);
	store_unit_close(&u);
	sfx_clear(&f);
}

/* The parent forgotten: changes count against the live point before it. */
static void test_folder_changed_forgotten_parent(void)
{
	struct sfx f;
	struct source_backup_result r;
	struct store *del = NULL;
	struct store_unit *u = NULL;
	struct error err;

	if (sfx_setup(&f) < 0)
		goto out;
	CHECK(backup(&f, 0, &r) == 0);
	CHECK(put_text(f.data, "docs/f1.txt", 2000, 1) == 0);
	CHECK(backup(&f, 0, &r) == 0 && r.seq == 2);
	/* The newest point is no longer forgotten (docs/format.md 7), but a
	 * store an older coffer wrote may have its newest forgotten: make
	 * one the way it did. */
	del = store_open(f.ts.root, &f.ts.ks, 0, NULL, &err);
	CHECKF(del != NULL, "store_open: %s", err.msg);
	u = store_unit_open(del, "u-1", 0, &err);
	CHECKF(u != NULL, "store_unit_open: %s", err.msg);
	CHECK_OK(forge_tombstone(f.ts.root, u, 2, 1, &err), &err);
	CHECK(put_text(f.data, "docs/f2.txt", 2000, 1) == 0);
	CHECK(backup(&f, 0, &r) == 0 && r.seq == 3);
	/* Against point 1: f1 and f2 changed. */
	CHECKF(r.changed_items == 2, "%llu changed", (unsigned long long)r.changed_items);
out:
	store_unit_close(&u);
	store_close(&del);
	sfx_clear(&f);
}

static void test_folder_bad_source(void)
{
	struct sfx f;
	struct source_backup_result r;
	struct json_object *rel = json_tokener_parse("{\"type\":\"folder\",\"path\":\"rel/x\"}");
	struct source_backup_opts o = { .unit = "u-1", .source = rel, .quiet = 1 };
	struct error err;

	if (sfx_setup(&f) < 0)
		goto out;
	CHECK_FAILS(f.ops->backup(f.s, &o, &r, &err), &err, ERROR_USAGE);
	CHECK(strstr(err.msg, "rel/x") != NULL);
out:
	json_object_put(rel);
	sfx_clear(&f);
}

struct prog {
	int calls, totals;
	uint64_t items, bytes, items_total, bytes_total;
};

static void on_progress(void *ctx, uint64_t items, uint64_t bytes)
{
	struct prog *p = ctx;

	p->calls++;
	p->items = items;
	p->bytes = bytes;
}

static void on_total(void *ctx, uint64_t items, uint64_t bytes)
{
	struct prog *p = ctx;

	p->totals++;
	p->items_total = items;
	p->bytes_total = bytes;
}

/* Ransomware-like damage rolled back in place: bytes, modes, mtimes back,
 * the ransom note gone, progress told. */
static void test_folder_restore_in_place(void)
{
	struct sfx f;
	struct source_backup_result r;
	struct source_restore_result rr;
	struct source_restore_opts o = { .rp = "u-1@1", .quiet = 1, .progress = on_progress,
					 .total = on_total };
	struct prog pg = { 0 };
	struct error err;
	struct stat before, after;
	char *f0 = NULL, *copy = NULL;
	const char *copydir = th_tmpdir("copy");
	uint8_t *junk = th_random(5, 100000);

	if (sfx_setup(&f) < 0)
		goto out;
	o.source = f.src;
	o.ctx = &pg;
	f0 = fs_join(f.data, "docs/f0.txt");
	copy = fs_join(copydir, "f0.txt");
	CHECK(chmod(f0, 0640) == 0);
	CHECK(backup(&f, 0, &r) == 0);
	CHECK(stat(f0, &before) == 0);
	{
		struct buf b;

		buf_init(&b, 0);
		CHECK_OK(fs_read_file(f0, &b, 1u << 26, &err), &err);
		CHECK(put(copydir, "f0.txt", b.data, b.len) == 0);
		buf_clear(&b);
	}
	CHECK(put(f.data, "docs/f0.txt", junk, 100000) == 0);
	CHECK(chmod(f0, 0600) == 0);
	CHECK(put(f.data, "README-DECRYPT.txt", "pay", 3) == 0);
	CHECK(put(f.data, "docs/f3.txt", junk, 5000) == 0);
	CHECK_OK(f.ops->restore(f.s, &o, &rr, &err), &err);
	CHECK(th_same_file(f0, copy));
	CHECK(stat(f0, &after) == 0);
	CHECK((after.st_mode & 07777) == 0640);
	CHECK(after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
	      after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
	CHECK(!th_exists(f.data, "README-DECRYPT.txt"));
	CHECK(rr.items_total == 9 && rr.items_done == 9 && rr.failed == 0);
	CHECKF(rr.bytes_done > 0, "bytes_done %llu", (unsigned long long)rr.bytes_done);
	CHECK(pg.calls > 0 && pg.bytes == rr.bytes_done);
	CHECK(pg.totals == 1 && pg.bytes_total == rr.bytes_done && pg.items_total >= 2);
out:
	free(junk);
	free(f0);
	free(copy);
	sfx_clear(&f);
}

/* "<path>.restored-1", then -2; granular brings back only the glob. */
static void test_folder_new_location(void)
{
	struct sfx f;
	struct source_backup_result r;
	struct source_restore_result rr;
	struct json_object *t1 = NULL, *t2 = NULL, *slash = NULL, *path;
	char *want = NULL, *pat = xstrdup("docs/f[01].txt"), *withslash = NULL;
	struct source_restore_opts o = { .rp = "u-1@1", .quiet = 1, .patterns = &pat,
					 .npatterns = 1 };
	struct error err;
	const char *p1;

	if (sfx_setup(&f) < 0)
		goto out;
	CHECK(backup(&f, 0, &r) == 0);
	t1 = f.ops->new_location(f.src, NULL, 0, 0, &err);
	CHECKF(t1 != NULL, "new_location: %s", err.msg);
	CHECK(json_object_object_get_ex(t1, "path", &path));
	p1 = json_object_get_string(path);
	want = xasprintf("%s.restored-1", f.data);
	CHECK(strcmp(p1, want) == 0);
	free(want);
	want = xasprintf("%s.restored-2", f.data);
	slash = json_object_new_object();
	json_object_object_add(slash, "type", json_object_new_string("folder"));
	withslash = xasprintf("%s/", f.data);
	json_object_object_add(slash, "path", json_object_new_string(withslash));
	t2 = f.ops->new_location(slash, NULL, 0, 0, &err);
	CHECKF(t2 != NULL, "new_location: %s", err.msg);
	CHECK(json_object_object_get_ex(t2, "path", &path));
	CHECK(strcmp(json_object_get_string(path), want) == 0);
	{ /* a plan's target: named, not made */
		struct json_object *t3 = f.ops->new_location(f.src, NULL, 0, 1, &err);
		char *want3 = xasprintf("%s.restored-3", f.data);

		CHECKF(t3 != NULL, "new_location dry run: %s", err.msg);
		CHECK(t3 && json_object_object_get_ex(t3, "path", &path) &&
		      strcmp(json_object_get_string(path), want3) == 0 && access(want3, F_OK) < 0);
		json_object_put(t3);
		free(want3);
	}
	o.source = f.src;
	o.target = t1;
	CHECK_OK(f.ops->restore(f.s, &o, &rr, &err), &err);
	CHECK(th_exists(p1, "docs/f0.txt") && th_exists(p1, "docs/f1.txt"));
	CHECK(!th_exists(p1, "docs/f2.txt") && !th_exists(p1, "readme.md"));
	CHECK(th_exists(f.data, "docs/f2.txt") && th_exists(f.data, "readme.md"));
out:
	free(want);
	free(withslash);
	free(pat);
	json_object_put(t1);
	json_object_put(t2);
	json_object_put(slash);
	sfx_clear(&f);
}

/* The unit's folder replaced by a file: the restore fails, naming it. */
static void test_folder_restore_fails(void)
{
	struct sfx f;
	struct source_backup_result r;
	struct source_restore_result rr;
	struct source_restore_opts o = { .rp = "u-1@1", .quiet = 1 };
	struct error err;

	if (sfx_setup(&f) < 0)
		goto out;
	CHECK(backup(&f, 0, &r) == 0);
	CHECK_OK(fs_remove_tree(f.data, &err), &err);
	CHECK(put("/", f.data, "x", 1) == 0);
	o.source = f.src;
	error_init(&err);
	CHECK(f.ops->restore(f.s, &o, &rr, &err) < 0);
	CHECKF(strstr(err.msg, f.data) != NULL, "message: %s", err.msg);
out:
	sfx_clear(&f);
}

/* ---- recommendations ---- */

static struct catalog_rp *mk(uint32_t seq, uint64_t changed, uint64_t new_bytes,
			     uint64_t incompressible)
{
	struct catalog_rp *rp = xcalloc(1, sizeof(*rp));

	rp->seq = seq;
	rp->time_ns = (1700000000LL + seq * 600) * 1000000000LL;
	rp->changed_entries = changed;
	rp->new_bytes = new_bytes;
	rp->incompressible_bytes = incompressible;
	return rp;
}

static struct json_object *rec_kind(struct json_object *out, const char *kind, int nth)
{
	struct json_object *recs, *k;

	if (!json_object_object_get_ex(out, "recommendations", &recs))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(recs); i++) {
		struct json_object *r = json_object_array_get_idx(recs, i);

		if (json_object_object_get_ex(r, "kind", &k) &&
		    strcmp(json_object_get_string(k), kind) == 0 && nth-- == 0)
			return r;
	}
	return NULL;
}

static int64_t jint(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

#define MiB (1ull << 20)

static void test_recommend_encryption(void)
{
	struct catalog_rp *rps[6];
	struct json_object *out = NULL, *b, *fast;

	rps[0] = mk(1, 5000, 500 * MiB, 20 * MiB);
	rps[1] = mk(2, 10, 2 * MiB, 0);
	rps[2] = mk(3, 12, 3 * MiB, MiB / 10);
	rps[3] = mk(4, 8, 2 * MiB, 0);
	rps[4] = mk(5, 900, 4 * MiB, (uint64_t)(3.8 * MiB)); /* same size, encrypted */
	rps[5] = mk(6, 20, 2 * MiB, 0);
	out = recommend_points(rps, 6);
	b = rec_kind(out, "beforeAnomaly", 0);
	CHECKF(b != NULL, "no beforeAnomaly: %s", json_object_to_json_string(out));
	CHECK(jint(b, "restorePoint") == 4);
	CHECK(jint(b, "anomalyRestorePoint") == 5);
	CHECKF(strstr(jstr(b, "reason"), "did not compress") != NULL, "%s", jstr(b, "reason"));
	fast = rec_kind(out, "fastest", 0);
	CHECK(jint(fast, "restorePoint") == 6);
	fast = rec_kind(out, "fastest", 1);
	CHECK(jint(fast, "restorePoint") == 5);
	CHECK(strstr(jstr(fast, "warning"), "restore point 5") != NULL);
	fast = rec_kind(out, "fastest", 2);
	CHECK(jint(fast, "restorePoint") == 4 && strcmp(jstr(fast, "warning"), "") == 0);
out:
	json_object_put(out);
	for (int i = 0; i < 6; i++)
		free(rps[i]);
}

/* A jump in changed bytes; a run of two anomalies points before the first. */
static void test_recommend_jump(void)
{
	struct catalog_rp *rps[7];
	struct json_object *out = NULL, *b;

	rps[0] = mk(1, 5000, 500 * MiB, 0);
	rps[1] = mk(2, 10, 2 * MiB, 0);
	rps[2] = mk(3, 12, 3 * MiB, 0);
	rps[3] = mk(4, 8, 2 * MiB, 0);
	rps[4] = mk(5, 4000, 300 * MiB, 0);
	rps[5] = mk(6, 4000, 200 * MiB, 0);
	rps[6] = mk(7, 5, 1 * MiB, 0);
	out = recommend_points(rps, 7);
	b = rec_kind(out, "beforeAnomaly", 0);
	CHECKF(b != NULL, "no beforeAnomaly: %s", json_object_to_json_string(out));
	CHECK(jint(b, "restorePoint") == 4);
	CHECKF(strstr(jstr(b, "reason"), "jumped") != NULL, "%s", jstr(b, "reason"));
out:
	json_object_put(out);
	for (int i = 0; i < 7; i++)
		free(rps[i]);
}

/* A unit of photos never compresses: steady, not an anomaly; nor is a
 * unit with too little history. */
static void test_recommend_quiet(void)
{
	struct catalog_rp *rps[5];
	struct json_object *out = NULL, *anoms;

	rps[0] = mk(1, 500, 900 * MiB, 880 * MiB);
	for (uint32_t i = 1; i < 5; i++)
		rps[i] = mk(i + 1, 10, 20 * MiB, 19 * MiB);
	out = recommend_points(rps, 5);
	CHECK(rec_kind(out, "beforeAnomaly", 0) == NULL);
	CHECK(json_object_object_get_ex(out, "anomalies", &anoms) &&
	      json_object_array_length(anoms) == 0);
	CHECK(rec_kind(out, "fastest", 2) != NULL && rec_kind(out, "fastest", 3) == NULL);
	json_object_put(out);
	rps[2]->new_bytes = 400 * MiB;
	out = recommend_points(rps, 3);
	CHECK(rec_kind(out, "beforeAnomaly", 0) == NULL);
	json_object_put(out);
	out = recommend_points(rps, 0);
	CHECK(rec_kind(out, "fastest", 0) == NULL);
out:
	json_object_put(out);
	for (int i = 0; i < 5; i++)
		free(rps[i]);
}

/* Real backups: a few small edits, then files overwritten with random
 * bytes (encryption) — the rule names the point before. */
static void test_recommend_real_backups(void)
{
	struct sfx f;
	struct source_backup_result r;
	struct catalog_rp *rps[5] = { 0 };
	struct json_object *out = NULL, *b;
	uint8_t *junk = th_random(9, 600000);
	int i;

	if (sfx_setup(&f) < 0)
		goto out;
	for (i = 0; i < 5; i++) {
		if (i == 1 || i == 2 || i == 4)
			CHECK(put_text(f.data, "readme.md", 3000, i) == 0);
		if (i == 3)
			for (int k = 0; k < 6; k++) {
				char name[32];

				snprintf(name, sizeof(name), "docs/f%d.txt", k);
				CHECK(put(f.data, name, junk + k * 100000, 100000) == 0);
			}
		CHECK(backup(&f, 0, &r) == 0);
		rps[i] = mk(r.seq, r.changed_items, r.new_bytes, r.incompressible_bytes);
	}
	out = recommend_points(rps, 5);
	b = rec_kind(out, "beforeAnomaly", 0);
	CHECKF(b != NULL, "no beforeAnomaly: %s", json_object_to_json_string(out));
	CHECK(jint(b, "restorePoint") == 3);
	CHECK(strstr(jstr(b, "reason"), "did not compress") != NULL);
out:
	json_object_put(out);
	for (i = 0; i < 5; i++)
		free(rps[i]);
	free(junk);
	sfx_clear(&f);
}

const struct unit_test sessions_tests[] = {
	{ "sessions/source_find", test_source_find },
	{ "sessions/folder_backup_changed", test_folder_backup_changed },
	{ "sessions/folder_changed_forgotten_parent", test_folder_changed_forgotten_parent },
	{ "sessions/folder_bad_source", test_folder_bad_source },
	{ "sessions/folder_restore_in_place", test_folder_restore_in_place },
	{ "sessions/folder_new_location", test_folder_new_location },
	{ "sessions/folder_restore_fails", test_folder_restore_fails },
	{ "sessions/recommend_encryption", test_recommend_encryption },
	{ "sessions/recommend_jump", test_recommend_jump },
	{ "sessions/recommend_quiet", test_recommend_quiet },
	{ "sessions/recommend_real_backups", test_recommend_real_backups },
	{ NULL, NULL },
};
