/* Forgetting restore points (src/store/rp.h, docs/format.md 7.1):
 * tombstones, the chain across them, idempotence and interrupted forgets;
 * the deletion key (section 9), retention (section 7) and the deletion log
 * (section 10). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/seal.h"
#include "engine/backup.h"
#include "engine/check.h"
#include "engine/erasure.h"
#include "engine/meta.h"
#include "engine/prune.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/mem.h"
#include "store/backend.h"
#include "store/deletion.h"
#include "store/rp.h"
#include "store/store.h"

#include "forge.h"
#include "harness.h"

#define NS 1000000000LL
#define DAY 86400LL
/* Monday 2024-03-11 00:00:00 UTC. */
#define MONDAY 1710115200LL

struct ffx {
	struct th_store ts;
	char *dkey; /* the deletion key file */
	struct store *s;
	struct store_unit *u;
	uint8_t hash[4][32]; /* of points 1..3 as written */
};

static struct rp *sample(uint64_t seed)
{
	struct rp *rp = xcalloc(1, sizeof(*rp));

	rp->unit = xstrdup("docs");
	rp->host = xstrdup("h");
	rp->source = xstrdup("/src");
	rp->time_ns = 1700000000000000000LL + (int64_t)seed * 1000000000LL;
	rp->nmeta = 1;
	rp->meta = xcalloc(1, 32);
	th_fill(seed, rp->meta, 32);
	rp->levels = 1;
	return rp;
}

/* (Re)opens the store with `flags` and unit "docs"; with
 * BACKEND_ALLOW_DELETE also unlocks it with the deletion key, as forget
 * and prune do. */
static int ffx_open(struct ffx *f, int flags)
{
	struct error err;

	store_unit_close(&f->u);
	store_close(&f->s);
	f->s = store_open(f->ts.root, &f->ts.ks, flags, NULL, &err);
	CHECKF(f->s != NULL, "store_open failed: %s", err.msg);
	if (flags & BACKEND_ALLOW_DELETE)
		CHECK_OK(store_unlock_deletion(f->s, f->dkey, &err), &err);
	f->u = store_unit_open(f->s, "docs", 1, &err);
	CHECKF(f->u != NULL, "store_unit_open failed: %s", err.msg);
	return 0;
out:
	return -1;
}

/* A store with a deletion key and no point, opened with `flags`. */
static int ffx_empty(struct ffx *f, int flags)
{
	struct error err;

	memset(f, 0, sizeof(*f));
	f->s = th_store_new(&f->ts);
	CHECK(f->s != NULL);
	f->dkey = fs_join(th_tmpdir("dkey"), "deletion.key");
	CHECK(ffx_open(f, 0) == 0);
	CHECK_OK(store_deletion_key_create(f->s, f->dkey, &err), &err);
	CHECK(ffx_open(f, flags) == 0);
	return 0;
out:
	return -1;
}

/* A store with points 1..3 of unit "docs", opened with `flags`. */
static int ffx_setup(struct ffx *f, int flags)
{
	struct error err;
	struct rp *rp = NULL;
	uint64_t i;

	CHECK(ffx_empty(f, flags) == 0);
	for (i = 1; i <= 3; i++) {
		rp = sample(i);
		CHECK_OK(rp_write(f->u, rp, &err), &err);
		CHECK(rp->seq == i);
		memcpy(f->hash[i], rp->hash, 32);
		rp_free(&rp);
	}
	return 0;
out:
	rp_free(&rp);
	return -1;
}

/* Writes the next point of "docs" taken at time_s with keep/retain
 * seconds (0: none); its number in *seq_r. */
static int ffx_point(struct ffx *f, int64_t time_s, int64_t keep_s, int64_t retain_s,
		     uint32_t *seq_r)
{
	struct error err;
	struct rp *rp = sample((uint64_t)time_s);

	rp->time_ns = time_s * NS;
	rp_set_retention(rp, keep_s, retain_s);
	CHECK_OK(rp_write(f->u, rp, &err), &err);
	*seq_r = rp->seq;
	rp_free(&rp);
	return 0;
out:
	rp_free(&rp);
	return -1;
}

static void ffx_teardown(struct ffx *f)
{
	store_unit_close(&f->u);
	store_close(&f->s);
	free(f->dkey);
	f->dkey = NULL;
}

/* The file of object `rel` ("rp/0000000002") of the unit; caller frees. */
static char *ffx_file(struct ffx *f, const char *rel)
{
	char *name = store_unit_path(f->u, rel), *path = fs_join(f->ts.root, name);

	free(name);
	return path;
}

static int ffx_exists(struct ffx *f, const char *rel)
{
	char *path = ffx_file(f, rel);
	FILE *fp = fopen(path, "rb");

	free(path);
	if (fp)
		fclose(fp);
	return fp != NULL;
}

/* "1,3" from rp_list; "1,2f,3m" style from rp_list_all (f: forgotten only,
 * b: forgotten with its manifest left). */
static int ffx_lists(struct ffx *f, const char *live_want, const char *all_want)
{
	struct error err;
	struct rp_slot *slots = NULL;
	uint32_t *seqs = NULL;
	char live[128] = "", all[128] = "";
	size_t n, nlive, i;
	int ret = -1;

	error_init(&err);
	if (rp_list(f->u, &seqs, &nlive, &err) < 0 || rp_list_all(f->u, &slots, &n, &err) < 0) {
		th_fail(__FILE__, __LINE__, "listing failed: %s", err.msg);
		goto out;
	}
	for (i = 0; i < nlive; i++)
		snprintf(live + strlen(live), sizeof(live) - strlen(live), "%s%u", i ? "," : "",
			 seqs[i]);
	for (i = 0; i < n; i++)
		snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%u%s", i ? "," : "",
			 slots[i].seq,
			 slots[i].forgotten ? (slots[i].manifest ? "b" : "f") : "");
	if (strcmp(live, live_want) != 0 || strcmp(all, all_want) != 0) {
		th_fail(__FILE__, __LINE__, "live %s (expected %s), all %s (expected %s)", live,
			live_want, all, all_want);
		goto out;
	}
	ret = 0;
out:
	free(seqs);
	free(slots);
	return ret;
}

static void test_forget_needs_delete(void)
{
	struct ffx f;
	struct error err;
	char **names = NULL;
	size_t n = 1;

	CHECK(ffx_setup(&f, 0) == 0);
	/* The store key alone: refused for want of the deletion key. */
	CHECK_FAILS(rp_forget(f.u, 2, &err), &err, ERROR_KEY);
	CHECKF(strstr(err.msg, "needs the store's deletion key") && strstr(err.msg, "docs@2") &&
	       strstr(err.msg, "the store key alone cannot delete"), "%s", err.msg);
	/* Unlocked, but the backend not opened for deletion: the low gate. */
	CHECK_OK(store_unlock_deletion(f.s, f.dkey, &err), &err);
	CHECK_FAILS(rp_forget(f.u, 2, &err), &err, ERROR_USAGE);
	CHECKF(strstr(err.msg, "not opened for deletion") && strstr(err.msg, "docs@2"), "%s",
	       err.msg);
	CHECK(ffx_exists(&f, "rp/0000000002") && !ffx_exists(&f, "forgotten/0000000002"));
	CHECK(ffx_lists(&f, "1,2,3", "1,2,3") == 0);
	/* Nothing was written to the deletion log either. */
	CHECK_OK(store_deletions_list(f.u, &names, &n, &err), &err);
	CHECK(n == 0);
	/* The backend alone, without the key, is not enough either. */
	CHECK(ffx_open(&f, 0) == 0);
	store_close(&f.s);
	store_unit_close(&f.u);
	f.s = store_open(f.ts.root, &f.ts.ks, BACKEND_ALLOW_DELETE, NULL, &err);
	CHECKF(f.s != NULL, "%s", err.msg);
	f.u = store_unit_open(f.s, "docs", 0, &err);
	CHECKF(f.u != NULL, "%s", err.msg);
	CHECK_FAILS(rp_forget(f.u, 2, &err), &err, ERROR_KEY);
	CHECK(ffx_lists(&f, "1,2,3", "1,2,3") == 0);
out:
	free(names);
	ffx_teardown(&f);
}

/* The deletion key: created once, its secret a 0600 file of its own; a
 * store without one, and a wrong key file, do not unlock. */
static void test_deletion_key(void)
{
	struct ffx f;
	struct error err;
	struct stat st;
	char *other = NULL, *again = NULL;
	struct buf b;

	buf_init(&b, 0);
	memset(&f, 0, sizeof(f));
	f.s = th_store_new(&f.ts);
	CHECK(f.s != NULL);
	f.dkey = fs_join(th_tmpdir("dkey"), "deletion.key");
	other = fs_join(th_tmpdir("other"), "other.key");
	CHECK(ffx_open(&f, 0) == 0);
	/* No deletion key yet. */
	CHECK_FAILS(store_unlock_deletion(f.s, f.dkey, &err), &err, ERROR_NOTFOUND);
	CHECKF(strstr(err.msg, "coffer deletion-key create") != NULL, "%s", err.msg);
	CHECK_OK(store_deletion_key_create(f.s, f.dkey, &err), &err);
	CHECK(stat(f.dkey, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK_OK(fs_read_file(f.dkey, &b, 4096, &err), &err);
	CHECK(b.len == 65 && b.data[64] == '\n');
	/* Written once: a second key is refused, and its file not written. */
	CHECK_FAILS(store_deletion_key_create(f.s, other, &err), &err, ERROR_EXISTS);
	CHECK(access(other, F_OK) != 0);
	/* Another store's key does not unlock this one. */
	{
		const char *root2 = th_tmpdir("store2");
		struct store *s2 = NULL;

		CHECK_OK(store_init(root2, &f.ts.ks, &err), &err);
		s2 = store_open(root2, &f.ts.ks, 0, NULL, &err);
		CHECKF(s2 != NULL, "%s", err.msg);
		error_init(&err);
		if (store_deletion_key_create(s2, other, &err) < 0) {
			store_close(&s2);
			CHECKF(0, "%s", err.msg);
		}
		store_close(&s2);
	}
	CHECK_FAILS(store_unlock_deletion(f.s, other, &err), &err, ERROR_KEY);
	CHECKF(strstr(err.msg, "is not the deletion key of store") != NULL, "%s", err.msg);
	CHECK(!store_deletion_unlocked(f.s));
	/* Not a key file at all, a missing file: ERROR_KEY too. */
	again = fs_join(f.ts.root, "config");
	CHECK_FAILS(store_unlock_deletion(f.s, again, &err), &err, ERROR_KEY);
	free(again);
	again = fs_join(f.ts.root, "no-such-file");
	CHECK_FAILS(store_unlock_deletion(f.s, again, &err), &err, ERROR_KEY);
	/* An existing file is never overwritten (O_EXCL). */
	CHECK(ffx_open(&f, 0) == 0);
	CHECK_OK(store_unlock_deletion(f.s, f.dkey, &err), &err);
	CHECK(store_deletion_unlocked(f.s));
out:
	buf_clear(&b);
	free(other);
	free(again);
	ffx_teardown(&f);
}

static void test_forget_middle(void)
{
	struct ffx f;
	struct error err;
	struct rp_tombstone *t = NULL;
	struct rp *rp = NULL, *got = NULL;

	CHECK(ffx_setup(&f, BACKEND_ALLOW_DELETE) == 0);
	CHECK_OK(rp_forget_at(f.u, 2, 1710331200000000000LL, &err), &err);
	CHECK(!ffx_exists(&f, "rp/0000000002") && ffx_exists(&f, "forgotten/0000000002"));
	CHECK(ffx_lists(&f, "1,3", "1,2f,3") == 0);
	CHECK_OK(rp_tombstone_read(f.u, 2, &t, &err), &err);
	CHECK(t->seq == 2 && strcmp(t->unit, "docs") == 0);
	CHECK(memcmp(t->hash, f.hash[2], 32) == 0);
	CHECK(t->has_parent && memcmp(t->parent, f.hash[1], 32) == 0);
	CHECK(t->time_ns == 1700000002000000000LL && t->forgotten_ns == 1710331200000000000LL);
	CHECK_FAILS(rp_tombstone_read(f.u, 1, &t, &err), &err, ERROR_NOTFOUND);
	/* Reading the point names it and says when. */
	CHECK_FAILS(rp_read(f.u, 2, &got, &err), &err, ERROR_NOTFOUND);
	CHECKF(strcmp(err.msg, "restore point docs@2 was forgotten on 2024-03-13 12:00:00 UTC "
		       "(expired)") == 0, "%s", err.msg);
	/* Again: nothing to do, no error. */
	CHECK_OK(rp_forget(f.u, 2, &err), &err);
	CHECK(ffx_lists(&f, "1,3", "1,2f,3") == 0);
	/* The chain goes on from 3. */
	rp = sample(4);
	CHECK_OK(rp_write(f.u, rp, &err), &err);
	CHECK(rp->seq == 4 && memcmp(rp->parent, f.hash[3], 32) == 0);
out:
	rp_tombstone_free(&t);
	rp_free(&rp);
	rp_free(&got);
	ffx_teardown(&f);
}

/* The unit's newest live point is never forgotten; every other one may
 * be (no retention set), the first included. */
static void test_forget_newest(void)
{
	struct ffx f;
	struct error err;
	struct rp *rp = NULL;

	CHECK(ffx_setup(&f, BACKEND_ALLOW_DELETE) == 0);
	CHECK_FAILS(rp_forget(f.u, 3, &err), &err, ERROR_LOCKED);
	CHECKF(strstr(err.msg, "restore point docs@3 is retained until") &&
	       strstr(err.msg, "newest"), "%s", err.msg);
	CHECK(ffx_lists(&f, "1,2,3", "1,2,3") == 0);
	CHECK_OK(rp_forget(f.u, 2, &err), &err);
	CHECK_OK(rp_forget(f.u, 1, &err), &err);
	CHECK(ffx_lists(&f, "3", "1f,2f,3") == 0);
	CHECK_FAILS(rp_forget(f.u, 3, &err), &err, ERROR_LOCKED);
	/* The chain goes on from 3. */
	rp = sample(4);
	CHECK_OK(rp_write(f.u, rp, &err), &err);
	CHECK(rp->seq == 4 && rp->has_parent && memcmp(rp->parent, f.hash[3], 32) == 0);
	/* Now 3 is no longer the newest. */
	CHECK_OK(rp_forget(f.u, 3, &err), &err);
	CHECK(ffx_lists(&f, "4", "1f,2f,3f,4") == 0);
out:
	rp_free(&rp);
	ffx_teardown(&f);
}

/* keepUntil: nothing forgets the point before it, whatever else exists. */
static void test_forget_keep_until(void)
{
	struct ffx f;
	struct error err;
	uint32_t a = 0, b = 0, c = 0;
	int64_t t = MONDAY + 3600;

	CHECK(ffx_empty(&f, BACKEND_ALLOW_DELETE) == 0);
	CHECK(ffx_point(&f, t, 30 * DAY, 0, &a) == 0);
	CHECK(ffx_point(&f, t + 60, 0, 0, &b) == 0);
	CHECK(ffx_point(&f, t + 8 * DAY, 0, 0, &c) == 0);
	CHECK_FAILS(rp_forget_at(f.u, a, (t + 29 * DAY) * NS, &err), &err, ERROR_LOCKED);
	CHECKF(strcmp(err.msg, "restore point docs@1 is retained until 2024-04-10 01:00:00 UTC "
		      "(its keepUntil: nothing may forget it before then)") == 0, "%s", err.msg);
	CHECK(ffx_lists(&f, "1,2,3", "1,2,3") == 0);
	/* One second before: still; at keepUntil: free (no retainUntil). */
	CHECK_FAILS(rp_forget_at(f.u, a, (t + 30 * DAY - 1) * NS, &err), &err, ERROR_LOCKED);
	CHECK_OK(rp_forget_at(f.u, a, (t + 30 * DAY) * NS, &err), &err);
	/* A point without retention may go at once, unless it is the newest. */
	CHECK_OK(rp_forget_at(f.u, b, (t + 61) * NS, &err), &err);
	CHECK_FAILS(rp_forget_at(f.u, c, (t + 400 * DAY) * NS, &err), &err, ERROR_LOCKED);
	CHECK(ffx_lists(&f, "3", "1f,2f,3") == 0);
out:
	ffx_teardown(&f);
}

/* retainUntil: before it only the thinning rule forgets a point: only if a
 * later live point has a time in the same ISO week (Monday-based, UTC). */
static void test_forget_retain_week(void)
{
	struct ffx f;
	struct error err;
	uint32_t mon = 0, wed = 0, sun = 0, nextmon = 0, last = 0;
	int64_t now = MONDAY + 20 * DAY;

	CHECK(ffx_empty(&f, BACKEND_ALLOW_DELETE) == 0);
	CHECK(ffx_point(&f, MONDAY + 3600, DAY, 30 * DAY, &mon) == 0);
	CHECK(ffx_point(&f, MONDAY + 2 * DAY, DAY, 30 * DAY, &wed) == 0);
	CHECK(ffx_point(&f, MONDAY + 7 * DAY - 1, DAY, 30 * DAY, &sun) == 0); /* Sun 23:59:59 */
	CHECK(ffx_point(&f, MONDAY + 7 * DAY, DAY, 30 * DAY, &nextmon) == 0); /* next week */
	CHECK(ffx_point(&f, MONDAY + 14 * DAY, 0, 0, &last) == 0);
	/* Sunday is the last of its week: Monday 00:00 is another week. */
	CHECK_FAILS(rp_forget_at(f.u, sun, now * NS, &err), &err, ERROR_LOCKED);
	CHECKF(strstr(err.msg, "restore point docs@3 is retained until 2024-04-16 23:59:59 UTC") &&
	       strstr(err.msg, "ISO week"), "%s", err.msg);
	/* Still inside keepUntil (a day), nothing goes, week or not. */
	CHECK_FAILS(rp_forget_at(f.u, mon, (MONDAY + 3600 + 60) * NS, &err), &err, ERROR_LOCKED);
	CHECKF(strstr(err.msg, "keepUntil") != NULL, "%s", err.msg);
	/* Monday and Wednesday have a later point in their week. */
	CHECK_OK(rp_forget_at(f.u, wed, now * NS, &err), &err);
	CHECK_OK(rp_forget_at(f.u, mon, now * NS, &err), &err);
	CHECK(ffx_lists(&f, "3,4,5", "1f,2f,3,4,5") == 0);
	/* The next week's only point stays... */
	CHECK_FAILS(rp_forget_at(f.u, nextmon, now * NS, &err), &err, ERROR_LOCKED);
	/* ... until its retainUntil has passed (at it, still retained). */
	CHECK_FAILS(rp_forget_at(f.u, nextmon, (MONDAY + 37 * DAY) * NS, &err), &err,
		    ERROR_LOCKED);
	CHECK_OK(rp_forget_at(f.u, nextmon, (MONDAY + 37 * DAY + 1) * NS, &err), &err);
	CHECK(ffx_lists(&f, "3,5", "1f,2f,3,4f,5") == 0);
out:
	ffx_teardown(&f);
}

/* A forget writes a signed record into the unit's deletion log before its
 * tombstone; the tool is "cli" unless the caller says otherwise. */
static void test_forget_records(void)
{
	struct ffx f;
	struct error err;
	struct store_deletion *d = NULL;
	char **names = NULL;
	size_t n = 0, i;

	CHECK(ffx_setup(&f, BACKEND_ALLOW_DELETE) == 0);
	CHECK_OK(rp_forget_at(f.u, 1, 1710331200000000000LL, &err), &err);
	store_set_actor(f.s, "service");
	CHECK_OK(rp_forget_at(f.u, 2, 1710331300000000000LL, &err), &err);
	CHECK_FAILS(rp_forget_at(f.u, 3, 1710331400000000000LL, &err), &err, ERROR_LOCKED);
	/* Finishing a forget writes no second record. */
	CHECK_OK(rp_forget(f.u, 2, &err), &err);
	CHECK_OK(store_deletions_list(f.u, &names, &n, &err), &err);
	CHECKF(n == 2, "%zu records", n);
	CHECK(strncmp(names[0], "01710331200000000000-", 21) == 0);
	CHECK_OK(store_deletion_read(f.u, names[0], &d, &err), &err);
	CHECK(strcmp(d->action, "forget") == 0 && d->nseqs == 1 && d->seqs[0] == 1);
	CHECK(strcmp(d->tool, "cli") == 0 && d->time_ns == 1710331200000000000LL);
	CHECK(d->packs == 0 && d->bytes == 0 && *d->host != '\0' && strcmp(d->name, names[0]) == 0);
	store_deletion_free(&d);
	CHECK_OK(store_deletion_read(f.u, names[1], &d, &err), &err);
	CHECK(strcmp(d->tool, "service") == 0 && d->seqs[0] == 2);
	store_deletion_free(&d);
	/* A record sealed with the unit key alone is not one of coffer's. */
	{
		const char *body = "{\"format\":1,\"time\":1710331500000000000,\"action\":\"forget\","
				   "\"unit\":\"docs\",\"seqs\":[3],\"packs\":0,\"bytes\":0,"
				   "\"host\":\"h\",\"tool\":\"cli\"}";
		char *obj = store_unit_path(f.u, "deletions/01710331500000000000-0123456789abcdef");

		CHECK_OK(store_unit_put_sealed(f.u, obj, SEAL_DELETION, body, strlen(body), 3, NULL,
					       &err), &err);
		free(obj);
		CHECK_FAILS(store_deletion_read(f.u, "01710331500000000000-0123456789abcdef", &d,
						&err), &err, ERROR_CORRUPT);
		CHECKF(strstr(err.msg, "not signed") != NULL, "%s", err.msg);
	}
	/* A record moved to another name (time) fails too. */
	{
		char *from = NULL, *to = NULL, *rel = xasprintf("deletions/%s", names[0]);

		from = ffx_file(&f, rel);
		free(rel);
		to = ffx_file(&f, "deletions/01710331200000000001-0000000000000000");
		CHECK(link(from, to) == 0);
		free(from);
		free(to);
		CHECK_FAILS(store_deletion_read(f.u, "01710331200000000001-0000000000000000", &d,
						&err), &err, ERROR_CORRUPT);
	}
out:
	store_deletion_free(&d);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	ffx_teardown(&f);
}

struct problems {
	int n;
	char first[1024];
};

static void note_problem(void *ctx, const char *unit, uint32_t seq, const char *path,
			 const char *problem)
{
	struct problems *p = ctx;

	(void)unit;
	(void)seq;
	(void)path;
	/* The sample points' metadata blobs are made up: only what concerns
	 * deletion counts here. */
	if (!strstr(problem, "tombstone") && !strstr(problem, "deletion") &&
	    !strstr(problem, "signed"))
		return;
	if (p->n++ == 0)
		snprintf(p->first, sizeof(p->first), "%s", problem);
}

/* A tombstone written with the store key alone (unsigned, or signed by
 * another key) is damage that check names; one signed by the deletion key,
 * or older than the key, is not. */
static void test_tombstone_signature(void)
{
	struct ffx f;
	struct error err;
	struct rp_tombstone *t = NULL;
	struct problems pr = { 0 };
	struct check_opts co = { .quiet = 1, .report = note_problem, .ctx = &pr };
	struct check_result res;
	uint32_t seq = 0;

	CHECK(ffx_setup(&f, BACKEND_ALLOW_DELETE) == 0);
	CHECK_OK(rp_forget(f.u, 1, &err), &err);
	CHECK_OK(rp_tombstone_read(f.u, 1, &t, &err), &err);
	CHECK(t->has_signature);
	CHECK_OK(rp_tombstone_verify(f.u, t, &err), &err);
	/* An altered field (sealed anew by whoever holds the unit key) does
	 * not verify: here, the time it was forgotten. */
	t->forgotten_ns++;
	CHECK_FAILS(rp_tombstone_verify(f.u, t, &err), &err, ERROR_CORRUPT);
	rp_tombstone_free(&t);
	CHECK_OK(check_run(f.s, &co, &res, &err), &err);
	CHECKF(pr.n == 0 && res.deletion_records == 1, "%d problems: %s", pr.n, pr.first);
	/* The store key alone: an unsigned tombstone, manifest removed. */
	CHECK(ffx_point(&f, 1700000100, 0, 0, &seq) == 0);
	CHECK_OK(forge_tombstone(f.ts.root, f.u, 2, 1, &err), &err);
	CHECK_OK(rp_tombstone_read(f.u, 2, &t, &err), &err);
	CHECK_FAILS(rp_tombstone_verify(f.u, t, &err), &err, ERROR_CORRUPT);
	CHECKF(strstr(err.msg, "forgotten/0000000002") && strstr(err.msg, "not signed"), "%s",
	       err.msg);
	rp_tombstone_free(&t);
	memset(&pr, 0, sizeof(pr));
	CHECK_OK(check_run(f.s, &co, &res, &err), &err);
	CHECKF(pr.n == 1 && strstr(pr.first, "forgotten/0000000002") &&
	       strstr(pr.first, "not signed"), "%d problems: %s", pr.n, pr.first);
	/* Put beside its manifest, the deletion path does not finish it. */
	CHECK(ffx_point(&f, 1700000200, 0, 0, &seq) == 0);
	CHECK_OK(forge_tombstone(f.ts.root, f.u, 3, 0, &err), &err);
	CHECK_FAILS(rp_forget(f.u, 3, &err), &err, ERROR_CORRUPT);
	CHECKF(strstr(err.msg, "the manifest is kept") != NULL, "%s", err.msg);
	CHECK(ffx_exists(&f, "rp/0000000003"));
out:
	rp_tombstone_free(&t);
	ffx_teardown(&f);
}

/* Tombstones an older coffer wrote before the store had a deletion key are
 * listed in the key's object and accepted unsigned, by their exact bytes;
 * one added or replaced later is not. */
static void test_tombstone_predates_key(void)
{
	struct ffx f;
	struct error err;
	struct rp_tombstone *t = NULL;
	struct rp *rp = NULL;
	uint64_t i;
	char *obj = NULL;

	memset(&f, 0, sizeof(f));
	f.s = th_store_new(&f.ts);
	CHECK(f.s != NULL);
	f.dkey = fs_join(th_tmpdir("dkey"), "deletion.key");
	CHECK(ffx_open(&f, 0) == 0);
	for (i = 1; i <= 4; i++) {
		rp = sample(i);
		CHECK_OK(rp_write(f.u, rp, &err), &err);
		rp_free(&rp);
	}
	CHECK_OK(forge_tombstone(f.ts.root, f.u, 1, 0, &err), &err);
	CHECK_OK(store_deletion_key_create(f.s, f.dkey, &err), &err);
	CHECK(ffx_open(&f, 0) == 0);
	CHECK_OK(rp_tombstone_read(f.u, 1, &t, &err), &err);
	CHECK_OK(rp_tombstone_verify(f.u, t, &err), &err);
	rp_tombstone_free(&t);
	/* Added after the key: not listed. */
	CHECK_OK(forge_tombstone(f.ts.root, f.u, 2, 1, &err), &err);
	CHECK_OK(rp_tombstone_read(f.u, 2, &t, &err), &err);
	CHECK_FAILS(rp_tombstone_verify(f.u, t, &err), &err, ERROR_CORRUPT);
	rp_tombstone_free(&t);
	/* The listed one replaced by another (new salt, new bytes): no. */
	obj = ffx_file(&f, "forgotten/0000000001");
	CHECK(unlink(obj) == 0);
	CHECK_OK(forge_tombstone(f.ts.root, f.u, 1, 0, &err), &err);
	CHECK(ffx_open(&f, 0) == 0);
	CHECK_OK(rp_tombstone_read(f.u, 1, &t, &err), &err);
	CHECK_FAILS(rp_tombstone_verify(f.u, t, &err), &err, ERROR_CORRUPT);
out:
	free(obj);
	rp_tombstone_free(&t);
	rp_free(&rp);
	ffx_teardown(&f);
}

static void test_forget_refusals(void)
{
	struct ffx f;
	struct error err;
	char *path = NULL;

	CHECK(ffx_setup(&f, BACKEND_ALLOW_DELETE) == 0);
	CHECK_FAILS(rp_forget(f.u, 9, &err), &err, ERROR_NOTFOUND);
	CHECKF(strstr(err.msg, "docs@9") != NULL, "%s", err.msg);
	CHECK(!ffx_exists(&f, "forgotten/0000000009"));
	/* A damaged point is not forgotten: that would hide the damage. */
	path = ffx_file(&f, "rp/0000000002");
	CHECK(th_flip_byte(path, 60, 0x01) == 0);
	CHECK_FAILS(rp_forget(f.u, 2, &err), &err, ERROR_CORRUPT);
	CHECK(ffx_exists(&f, "rp/0000000002") && !ffx_exists(&f, "forgotten/0000000002"));
	CHECK(ffx_lists(&f, "1,2,3", "1,2,3") == 0);
out:
	free(path);
	ffx_teardown(&f);
}

/* An altered tombstone, or one moved to another number, is damage. */
static void test_tombstone_damage(void)
{
	struct ffx f;
	struct error err;
	struct rp_tombstone *t = NULL;
	struct rp *rp = NULL;
	char *from = NULL, *to = NULL;

	CHECK(ffx_setup(&f, BACKEND_ALLOW_DELETE) == 0);
	CHECK_OK(rp_forget(f.u, 2, &err), &err);
	from = ffx_file(&f, "forgotten/0000000002");
	to = ffx_file(&f, "forgotten/0000000003");
	CHECK(link(from, to) == 0);
	CHECK_FAILS(rp_tombstone_read(f.u, 3, &t, &err), &err, ERROR_CORRUPT);
	CHECKF(strstr(err.msg, "claims to be docs@2") != NULL, "%s", err.msg);
	/* ... so point 3 can be neither read nor forgotten, and its manifest stays. */
	CHECK_FAILS(rp_read(f.u, 3, &rp, &err), &err, ERROR_CORRUPT);
	CHECK_FAILS(rp_forget(f.u, 3, &err), &err, ERROR_CORRUPT);
	CHECK(ffx_exists(&f, "rp/0000000003"));
	CHECK(th_flip_byte(from, 50, 0x80) == 0); /* flips both: one file, two names */
	CHECK_FAILS(rp_tombstone_read(f.u, 2, &t, &err), &err, ERROR_CORRUPT);
	CHECKF(strstr(err.msg, "forgotten/0000000002") != NULL, "%s", err.msg);
out:
	rp_tombstone_free(&t);
	rp_free(&rp);
	free(from);
	free(to);
	ffx_teardown(&f);
}

/* Failures at each step leave a state readers accept and a re-run
 * finishes: before the tombstone (nothing changed), after it (forgotten,
 * manifest left). */
static void test_forget_interrupted(void)
{
	struct ffx f;
	struct error err;
	struct rp *rp = NULL;

	CHECK(ffx_setup(&f, BACKEND_ALLOW_DELETE) == 0);
	CHECK(setenv("COFFER_FAULTS", "commit:1:eio", 1) == 0);
	CHECK(ffx_open(&f, BACKEND_ALLOW_DELETE) == 0);
	CHECK_FAILS(rp_forget(f.u, 2, &err), &err, ERROR_FAIL);
	CHECK(ffx_lists(&f, "1,2,3", "1,2,3") == 0);
	CHECK(setenv("COFFER_FAULTS", "remove:1:eio", 1) == 0);
	CHECK(ffx_open(&f, BACKEND_ALLOW_DELETE) == 0);
	CHECK(rp_forget(f.u, 2, &err) < 0);
	CHECK(ffx_lists(&f, "1,3", "1,2b,3") == 0);
	/* Half-forgotten is forgotten for readers. */
	CHECK_FAILS(rp_read(f.u, 2, &rp, &err), &err, ERROR_NOTFOUND);
	CHECK(unsetenv("COFFER_FAULTS") == 0);
	CHECK(ffx_open(&f, BACKEND_ALLOW_DELETE) == 0);
	CHECK_OK(rp_forget(f.u, 2, &err), &err);
	CHECK(ffx_lists(&f, "1,3", "1,2f,3") == 0);
	CHECK(!ffx_exists(&f, "rp/0000000002"));
out:
	unsetenv("COFFER_FAULTS");
	rp_free(&rp);
	ffx_teardown(&f);
}

/* A manifest the server locks (S3 Object Lock, injected): forget refuses
 * with ERROR_LOCKED naming the point and writes nothing; a DELETE refused
 * after the tombstone says the point is forgotten and its manifest stays,
 * and a later forget finishes it. */
static void test_forget_object_lock(void)
{
	struct ffx f;
	struct error err;
	char *dels = NULL;

	CHECK(ffx_setup(&f, BACKEND_ALLOW_DELETE) == 0);
	dels = ffx_file(&f, "deletions");
	CHECK(setenv("COFFER_FAULTS", "lock@/rp/:1+:locked", 1) == 0);
	CHECK(ffx_open(&f, BACKEND_ALLOW_DELETE) == 0);
	CHECK_FAILS(rp_forget(f.u, 2, &err), &err, ERROR_LOCKED);
	CHECKF(strstr(err.msg, "restore point docs@2 is locked by Object Lock until ") != NULL,
	       "message: %s", err.msg);
	CHECK(ffx_lists(&f, "1,2,3", "1,2,3") == 0);
	CHECKF(th_dir_entries(dels) <= 0, "%d deletion records written", th_dir_entries(dels));
	/* Refused only at the DELETE: forgotten, said so. */
	CHECK(setenv("COFFER_FAULTS", "remove@/rp/:1:locked", 1) == 0);
	CHECK(ffx_open(&f, BACKEND_ALLOW_DELETE) == 0);
	CHECK_FAILS(rp_forget(f.u, 2, &err), &err, ERROR_LOCKED);
	CHECKF(strstr(err.msg, "docs@2 is forgotten") != NULL &&
	       strstr(err.msg, "manifest stays") != NULL, "message: %s", err.msg);
	CHECK(ffx_lists(&f, "1,3", "1,2b,3") == 0);
	CHECK(unsetenv("COFFER_FAULTS") == 0);
	CHECK(ffx_open(&f, BACKEND_ALLOW_DELETE) == 0);
	CHECK_OK(rp_forget(f.u, 2, &err), &err);
	CHECK(ffx_lists(&f, "1,3", "1,2f,3") == 0);
out:
	unsetenv("COFFER_FAULTS");
	free(dels);
	ffx_teardown(&f);
}

/* One prune with faults `faults` ("" for none): it succeeds, and
 * check --read-data finds nothing wrong after it. */
static int lock_prune(struct ffx *f, const char *faults, struct prune_result *res)
{
	struct prune_opts o = { .grace_seconds = 0 };
	struct check_opts co = { .read_data = 1 };
	struct check_result cr;
	struct error err;

	CHECK(setenv("COFFER_FAULTS", faults, 1) == 0);
	CHECK(ffx_open(f, BACKEND_ALLOW_DELETE) == 0);
	CHECK_OK(prune_run(f->s, &o, res, &err), &err);
	CHECK(unsetenv("COFFER_FAULTS") == 0);
	CHECK(ffx_open(f, 0) == 0);
	memset(&cr, 0, sizeof(cr));
	CHECK_OK(check_run(f->s, &co, &cr, &err), &err);
	CHECKF(cr.problems == 0 && cr.restore_points == 1, "check: %llu problems, %llu points",
	       (unsigned long long)cr.problems, (unsigned long long)cr.restore_points);
	return 0;
out:
	unsetenv("COFFER_FAULTS");
	return -1;
}

/* Prune on packs the server locks (docs/prune.md "Locked objects"): a
 * pack whose lock has not lapsed (asked before the sweep) and one whose
 * DELETE is refused (after the index no longer lists it) are both left,
 * counted in locked_packs, and the run succeeds with the index whole; a
 * later prune deletes them. */
static void test_prune_object_lock(void)
{
	struct backup_opts bo = { .unit = "docs", .quiet = 1, .threads = 1 };
	struct backup_result br;
	struct prune_result res;
	struct ffx f;
	struct error err;
	const char *dir = th_tmpdir("locksrc");
	char *src = fs_join(dir, "a.bin");
	uint8_t *data = NULL;

	bo.path = dir;
	CHECK(ffx_empty(&f, BACKEND_ALLOW_DELETE) == 0);
	data = th_random(1, 300000);
	CHECK_OK(fs_write_replace(src, data, 300000, &err), &err);
	CHECK_OK(backup_run(f.s, &bo, &br, &err), &err);
	free(data);
	data = th_random(2, 300000);
	CHECK_OK(fs_write_replace(src, data, 300000, &err), &err);
	CHECK_OK(backup_run(f.s, &bo, &br, &err), &err);
	CHECK_OK(rp_forget(f.u, 1, &err), &err);
	/* Phase 1 plans point 1's packs. */
	CHECK(lock_prune(&f, "", &res) == 0);
	CHECK(res.planned_packs >= 1 && res.deleted_packs == 0);
	/* The lock is seen before the sweep: left indexed, planned again. */
	CHECK(lock_prune(&f, "lock@/packs/:1+:locked", &res) == 0);
	CHECKF(res.locked_packs >= 1 && res.deleted_packs == 0 && res.planned_packs >= 1,
	       "locked %llu, deleted %llu, planned %llu", (unsigned long long)res.locked_packs,
	       (unsigned long long)res.deleted_packs, (unsigned long long)res.planned_packs);
	/* The DELETE is refused: left unindexed, planned again. */
	CHECK(lock_prune(&f, "remove@/packs/:1+:locked", &res) == 0);
	CHECKF(res.locked_packs >= 1 && res.deleted_packs == 0 && res.planned_packs >= 1,
	       "locked %llu, deleted %llu, planned %llu", (unsigned long long)res.locked_packs,
	       (unsigned long long)res.deleted_packs, (unsigned long long)res.planned_packs);
	/* Segments and plans locked too: the run still succeeds. */
	CHECK(lock_prune(&f, "lock@/packs/:1+:locked,remove@/index/:1+:locked,"
			 "remove@/prune/:1+:locked,remove@/sessions/:1+:locked", &res) == 0);
	CHECK(res.locked_packs >= 1 && res.deleted_packs == 0);
	/* Lapsed: deleted. */
	CHECK(lock_prune(&f, "", &res) == 0);
	CHECKF(res.deleted_packs >= 1 && res.locked_packs == 0, "deleted %llu, locked %llu",
	       (unsigned long long)res.deleted_packs, (unsigned long long)res.locked_packs);
out:
	unsetenv("COFFER_FAULTS");
	free(data);
	free(src);
	ffx_teardown(&f);
}

/* The erasure ledger (docs/format.md 10.1): written only with the
 * deletion key, read back verified, and what it withholds: a file by its
 * content anywhere (never an empty one); a path and all below it in points
 * up to the cutoff, and after it only the files whose content was there; a
 * pattern within one level (FNM_PATHNAME). */
static void test_erasure_ledger(void)
{
	struct ffx f;
	struct error err;
	struct erasure_set *es = NULL;
	char p1[] = "docs/x.txt", p2[] = "docs/empty", p3[] = "HR/ann/cv.txt";
	char p4[] = "HR/sub/a.pdf", p5[] = "HR/a.pdf", pat1[] = "HR/ann", pat2[] = "HR/*.pdf";
	char req[] = "e-1", req2[] = "e-2", p6[] = "HR/ann/again.txt", p7[] = "other/cv.txt";
	struct meta_entry file = { .type = META_FILE, .path = p1 };
	struct meta_entry empty = { .type = META_FILE, .path = p2 };
	struct meta_entry below = { .type = META_FILE, .path = p3 };
	struct meta_entry deeper = { .type = META_FILE, .path = p4 };
	struct meta_entry flat = { .type = META_FILE, .path = p5 };
	struct meta_entry again = { .type = META_FILE, .path = p6 };
	struct meta_entry moved = { .type = META_FILE, .path = p7 };
	uint8_t keys[2][32], id[32];
	char *pats[] = { pat1, pat2 };
	struct store_erasure x = { .request = req, .cutoff = 1000, .keys = keys, .nkeys = 2 };
	struct store_erasure y = { .request = req2, .cutoff = 1000, .keys = keys + 1, .nkeys = 1,
				   .patterns = pats, .npatterns = 2 };
	char **names = NULL, *from = NULL, *to = NULL;
	size_t n = 0, i;

	CHECK(ffx_empty(&f, 0) == 0);
	th_fill(7, id, 32);
	meta_entry_add_extent(&file, id, 10);
	erasure_content_key(&file, keys[0]);
	erasure_content_key(&empty, keys[1]);
	/* The store key alone cannot write one. */
	CHECK_FAILS(store_erasure_record(f.u, 5 * NS, &x, &err), &err, ERROR_KEY);
	CHECK(ffx_open(&f, BACKEND_ALLOW_DELETE) == 0);
	CHECK_OK(store_erasure_record(f.u, 5 * NS, &x, &err), &err);
	CHECK_OK(store_erasure_record(f.u, 6 * NS, &y, &err), &err);
	CHECK_OK(erasure_set_load(f.u, &es, &err), &err);
	CHECK(erasure_set_records(es) == 2);
	CHECK(erasure_set_match(es, &file, 99999) && !strcmp(erasure_set_match(es, &file, 99999), "e-1"));
	CHECK(erasure_set_match(es, &empty, 10) == NULL);
	CHECK(erasure_set_match(es, &below, 1000) && !strcmp(erasure_set_match(es, &below, 1000), "e-2"));
	CHECK(erasure_set_match(es, &below, 1001) == NULL);
	CHECK(erasure_set_match(es, &flat, 10) != NULL);
	CHECK(erasure_set_match(es, &deeper, 10) == NULL);
	/* After the cutoff: the erased content again at the path, yes;
	 * elsewhere, no (a path record's keys hold at its paths). */
	th_fill(9, id, 32);
	meta_entry_add_extent(&again, id, 10);
	meta_entry_add_extent(&moved, id, 10);
	erasure_content_key(&again, keys[1]);
	erasure_set_free(&es);
	y.request = req2;
	CHECK(ffx_open(&f, BACKEND_ALLOW_DELETE) == 0);
	CHECK_OK(store_erasure_record(f.u, 7 * NS, &y, &err), &err);
	CHECK_OK(erasure_set_load(f.u, &es, &err), &err);
	CHECK(erasure_set_match(es, &again, 5000) != NULL);
	CHECK(erasure_set_match(es, &moved, 5000) == NULL);
	erasure_set_note(es, "e-1");
	CHECK(erasure_set_withheld(es) == 1);
	/* Moved among the deletion log's records, it is refused, not obeyed
	 * nor taken for a deletion. */
	CHECK_OK(store_erasures_list(f.u, &names, &n, &err), &err);
	CHECK(n == 3);
	from = ffx_file(&f, "erasures");
	to = ffx_file(&f, "deletions");
	CHECK(mkdir(to, 0700) == 0 || errno == EEXIST);
	{
		char *a = fs_join(from, names[0]), *b = fs_join(to, names[0]);

		CHECK(link(a, b) == 0);
		free(a);
		free(b);
	}
	erasure_set_free(&es);
	{
		struct store_deletion *d = NULL;

		CHECK_FAILS(store_deletion_read(f.u, names[0], &d, &err), &err, ERROR_CORRUPT);
		CHECKF(strstr(err.msg, "wrong folder") != NULL, "%s", err.msg);
	}
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(from);
	free(to);
	file.path = again.path = moved.path = NULL;
	meta_entry_clear(&file);
	meta_entry_clear(&again);
	meta_entry_clear(&moved);
	erasure_set_free(&es);
	ffx_teardown(&f);
}

const struct unit_test forget_tests[] = {
	{ "forget_erasure_ledger", test_erasure_ledger },
	{ "forget_object_lock", test_forget_object_lock },
	{ "prune_object_lock", test_prune_object_lock },
	{ "forget_needs_delete", test_forget_needs_delete },
	{ "forget_deletion_key", test_deletion_key },
	{ "forget_middle", test_forget_middle },
	{ "forget_newest", test_forget_newest },
	{ "forget_keep_until", test_forget_keep_until },
	{ "forget_retain_week", test_forget_retain_week },
	{ "forget_records", test_forget_records },
	{ "forget_tombstone_signature", test_tombstone_signature },
	{ "forget_tombstone_predates_key", test_tombstone_predates_key },
	{ "forget_refusals", test_forget_refusals },
	{ "forget_tombstone_damage", test_tombstone_damage },
	{ "forget_interrupted", test_forget_interrupted },
	{ NULL, NULL },
};
