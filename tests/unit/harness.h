#ifndef COFFER_UNIT_HARNESS_H
#define COFFER_UNIT_HARNESS_H

/* A tiny harness for coffer's in-process unit tests. Each test is a
 * function; by default it runs in a child process of its own, so a crash, a
 * sanitizer report or a leak fails that test alone. The runner prints one
 * TAP line per test ("ok - name" / "not ok - name (reason)") and exits 1 if
 * any failed.
 *
 *   unit [-l] [SUBSTRING...]   -l lists the tests; arguments select tests
 *                              whose name contains one of them
 *   UNIT_NOFORK=1 unit ...     runs everything in one process (debuggers)
 *
 * Tests report failures with the CHECK macros below, which jump to the
 * test's `out:` label so it can free what it holds. Temporary folders come
 * from th_tmpdir() and are removed by the harness after each test, even
 * one that crashed. */

#include <stddef.h>
#include <stdint.h>

#include "crypto/seal.h"

struct store;

struct unit_test {
	const char *name;
	void (*fn)(void);
};

/* The suites; each array ends with { NULL, NULL }. */
extern const struct unit_test chunker_tests[];
extern const struct unit_test log_tests[];
extern const struct unit_test crypto_tests[];
extern const struct unit_test seal_tests[];
extern const struct unit_test backend_tests[];
extern const struct unit_test store_tests[];
extern const struct unit_test meta_tests[];
extern const struct unit_test thinning_tests[];
extern const struct unit_test forget_tests[];
extern const struct unit_test idset_tests[];
extern const struct unit_test sessions_tests[];
extern const struct unit_test catalog_tests[];
/* The catalog's tests again on PostgreSQL, and its multi-process cases:
 * only when COFFER_TEST_PG_URL names a server (tests/e2e/catalog_pg.sh). */
extern const struct unit_test catalog_pg_tests[];
extern const struct unit_test mail_layout_tests[];
extern const struct unit_test mailindex_tests[];
extern const struct unit_test imap_tests[];
extern const struct unit_test timeutil_tests[];
extern const struct unit_test parse_tests[];
extern const struct unit_test netpolicy_tests[];
extern const struct unit_test confine_tests[];
extern const struct unit_test point_writer_tests[];
extern const struct unit_test s3proto_tests[];
extern const struct unit_test engine_tests[];
extern const struct unit_test server_tests[];
extern const struct unit_test webdav_tests[];
extern const struct unit_test webdav_rule_tests[];
extern const struct unit_test certificate_tests[];

/* Records a failure of the running test; the first one is its reason. */
void th_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Whether the running test has failed so far. */
int th_failed(void);

#define CHECK(cond)                                                      \
	do {                                                             \
		if (!(cond)) {                                           \
			th_fail(__FILE__, __LINE__, "%s", #cond);        \
			goto out;                                        \
		}                                                        \
	} while (0)

#define CHECKF(cond, ...)                                                \
	do {                                                             \
		if (!(cond)) {                                           \
			th_fail(__FILE__, __LINE__, __VA_ARGS__);        \
			goto out;                                        \
		}                                                        \
	} while (0)

/* `call` returns < 0 and fills the struct error `err` on failure. */
#define CHECK_OK(call, err)                                              \
	do {                                                             \
		error_init(err);                                         \
		if ((call) < 0) {                                        \
			th_fail(__FILE__, __LINE__, "%s failed: %s", #call, \
				(err)->msg);                             \
			goto out;                                        \
		}                                                        \
	} while (0)

/* `call` must fail (< 0) with error kind `kind`. */
#define CHECK_FAILS(call, err, kind)                                     \
	do {                                                             \
		error_init(err);                                         \
		if ((call) >= 0) {                                       \
			th_fail(__FILE__, __LINE__, "%s succeeded; expected %s", \
				#call, #kind);                           \
			goto out;                                        \
		}                                                        \
		if ((err)->code != (kind)) {                             \
			th_fail(__FILE__, __LINE__,                      \
				"%s failed with kind %d, expected %s (%d): %s", \
				#call, (err)->code, #kind, (kind), (err)->msg); \
			goto out;                                        \
		}                                                        \
	} while (0)

/* A new empty folder below the run's temporary root, removed after the
 * test. The harness owns the string. */
const char *th_tmpdir(const char *tag);

/* A store of the test's own: its folder and the key that unlocks it, so a
 * test can open it again (store_open(ts.root, &ts.ks, flags, NULL, err)). */
struct th_store {
	const char *root;    /* a th_tmpdir(), removed after the test */
	const char *cache;   /* $COFFER_CACHE, a th_tmpdir() too */
	uint8_t keyfile[64]; /* a key file's bytes, the same in every test */
	struct keysource ks; /* KEYSLOT_KEYFILE over keyfile */
};
/* Creates a new store in a temporary folder, unlocked by ts->ks, and opens
 * it; points $COFFER_CACHE at a new temporary folder too, so that no test
 * reads or fills the user's cache. The caller closes the store with
 * store_close(). NULL, with the failure recorded, if it cannot. */
struct store *th_store_new(struct th_store *ts);

/* Deterministic pseudo-random bytes (splitmix64) from seed. */
void th_fill(uint64_t seed, void *buf, size_t len);
/* A malloc'ed buffer of len pseudo-random bytes; the caller frees. */
uint8_t *th_random(uint64_t seed, size_t len);

/* Entries in a folder, dot files included ("." and ".." not); -1 if it
 * cannot be opened. */
int th_dir_entries(const char *path);
/* XORs one byte of a file with `mask` in place; -1 on failure. */
int th_flip_byte(const char *path, uint64_t off, uint8_t mask);
/* Replaces the contents of an existing file; -1 on failure. */
int th_write_file(const char *path, const void *data, size_t len);
/* Whether dir/rel exists (as anything; a link is not followed); rel ""
 * is dir itself. */
int th_exists(const char *dir, const char *rel);
/* Whether dir/rel holds exactly the string `text`. */
int th_holds(const char *dir, const char *rel, const char *text);
/* Whether two files hold the same bytes (up to 64 MiB). */
int th_same_file(const char *a, const char *b);

#endif
