/* Forgetting restore points (src/store/rp.h, docs/format.md 7.1):
 * tombstones, the chain across them, idempotence and interrupted forgets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/seal.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/mem.h"
#include "store/backend.h"
#include "store/rp.h"
#include "store/store.h"

#include "harness.h"

struct ffx {
	const char *root;
	uint8_t keyfile[64];
	struct keysource ks;
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

/* (Re)opens the store with `flags` and unit "docs". */
static int ffx_open(struct ffx *f, int flags)
{
	struct error err;

	store_unit_destroy(&f->u);
	store_destroy(&f->s);
	f->s = store_open(f->root, &f->ks, flags, NULL, &err);
	CHECKF(f->s != NULL, "store_open failed: %s", err.msg);
	f->u = store_unit_open(f->s, "docs", 1, &err);
	CHECKF(f->u != NULL, "store_unit_open failed: %s", err.msg);
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

	memset(f, 0, sizeof(*f));
	f->root = th_tmpdir("store");
	CHECK(setenv("COFFER_CACHE", th_tmpdir("cache"), 1) == 0);
	th_fill(7, f->keyfile, sizeof(f->keyfile));
	f->ks.kdf = KEYSLOT_KEYFILE;
	f->ks.secret = f->keyfile;
	f->ks.len = sizeof(f->keyfile);
	CHECK_OK(store_init(f->root, &f->ks, &err), &err);
	CHECK(ffx_open(f, flags) == 0);
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

static void ffx_teardown(struct ffx *f)
{
	store_unit_destroy(&f->u);
	store_destroy(&f->s);
}

/* The file of object `rel` ("rp/0000000002") of the unit; caller frees. */
static char *ffx_file(struct ffx *f, const char *rel)
{
	char *name = store_unit_path(f->u, rel), *path = fs_join(f->root, name);

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

	CHECK(ffx_setup(&f, 0) == 0);
	CHECK_FAILS(rp_forget(f.u, 2, &err), &err, ERROR_USAGE);
	CHECKF(strstr(err.msg, "not opened for deletion") && strstr(err.msg, "docs@2"), "%s",
	       err.msg);
	CHECK(ffx_exists(&f, "rp/0000000002") && !ffx_exists(&f, "forgotten/0000000002"));
	CHECK(ffx_lists(&f, "1,2,3", "1,2,3") == 0);
out:
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

/* Forgetting the newest point: the next one still gets the next number and
 * chains to the forgotten one's hash. */
static void test_forget_newest(void)
{
	struct ffx f;
	struct error err;
	struct rp *rp = NULL;

	CHECK(ffx_setup(&f, BACKEND_ALLOW_DELETE) == 0);
	CHECK_OK(rp_forget(f.u, 3, &err), &err);
	CHECK_OK(rp_forget(f.u, 2, &err), &err);
	CHECK(ffx_lists(&f, "1", "1,2f,3f") == 0);
	rp = sample(4);
	CHECK_OK(rp_write(f.u, rp, &err), &err);
	CHECK(rp->seq == 4 && rp->has_parent && memcmp(rp->parent, f.hash[3], 32) == 0);
	CHECK(ffx_lists(&f, "1,4", "1,2f,3f,4") == 0);
	/* Every point forgotten but the newest, including the first. */
	CHECK_OK(rp_forget(f.u, 1, &err), &err);
	CHECK(ffx_lists(&f, "4", "1f,2f,3f,4") == 0);
out:
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

const struct unit_test forget_tests[] = {
	{ "forget_needs_delete", test_forget_needs_delete },
	{ "forget_middle", test_forget_middle },
	{ "forget_newest", test_forget_newest },
	{ "forget_refusals", test_forget_refusals },
	{ "forget_tombstone_damage", test_tombstone_damage },
	{ "forget_interrupted", test_forget_interrupted },
	{ NULL, NULL },
};
