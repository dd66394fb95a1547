/* The unit test runner: see harness.h. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/mem.h"
#include "store/store.h"

#define TH_REASON_MAX 1024
#define TH_MAX_TMP 32
#define TH_TIMEOUT 600 /* seconds per test, sanitizers included */

static const struct unit_test *const th_suites[] = {
	log_tests,
	chunker_tests, crypto_tests, seal_tests, backend_tests, store_tests, meta_tests,
	thinning_tests, forget_tests, idset_tests, sessions_tests, catalog_tests, mail_layout_tests,
	imap_tests, mailindex_tests, timeutil_tests, parse_tests, netpolicy_tests, confine_tests,
	point_writer_tests, s3proto_tests, engine_tests, server_tests, catalog_pg_tests,
	webdav_tests, webdav_rule_tests, certificate_tests,
};

/* Whether a suite runs here: the PostgreSQL one needs a server. */
static int th_suite_on(const struct unit_test *suite)
{
	const char *pg = getenv("COFFER_TEST_PG_URL");

	return suite != catalog_pg_tests || (pg != NULL && *pg != '\0');
}

static char th_root[] = "/tmp/coffer-unit-XXXXXX";
static char th_reason[TH_REASON_MAX];
static int th_nfail;
static char *th_tmp[TH_MAX_TMP];
static size_t th_ntmp;

/* Make UBSan reports fatal (they only print by default), so they fail the
 * test that caused them; used only when built with -fsanitize=undefined. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) { return "halt_on_error=1:print_stacktrace=1"; }

static void th_die(const char *what)
{
	fprintf(stderr, "unit: %s failed: %s\n", what, strerror(errno));
	exit(2);
}

void th_fail(const char *file, int line, const char *fmt, ...)
{
	const char *base = strrchr(file, '/');
	va_list ap;
	size_t len;

	if (th_nfail++ > 0)
		return;
	snprintf(th_reason, sizeof(th_reason), "%s:%d: ", base ? base + 1 : file, line);
	len = strlen(th_reason);
	va_start(ap, fmt);
	vsnprintf(th_reason + len, sizeof(th_reason) - len, fmt, ap);
	va_end(ap);
}

int th_failed(void) { return th_nfail > 0; }

static int th_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	if (remove(path) < 0 && errno != ENOENT)
		fprintf(stderr, "unit: remove(%s) failed: %s\n", path, strerror(errno));
	return 0;
}

static void th_remove_tree(const char *path)
{
	if (nftw(path, th_remove_one, 32, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		fprintf(stderr, "unit: cannot remove %s: %s\n", path, strerror(errno));
}

const char *th_tmpdir(const char *tag)
{
	size_t len = strlen(th_root) + strlen(tag) + 9;
	char *p;

	if (th_ntmp == TH_MAX_TMP) {
		errno = EMFILE;
		th_die("th_tmpdir");
	}
	p = malloc(len);
	if (p == NULL)
		th_die("malloc");
	snprintf(p, len, "%s/%s-XXXXXX", th_root, tag);
	if (mkdtemp(p) == NULL)
		th_die("mkdtemp");
	th_tmp[th_ntmp++] = p;
	return p;
}

static void th_cleanup_tmp(void)
{
	while (th_ntmp > 0) {
		char *p = th_tmp[--th_ntmp];

		th_remove_tree(p);
		free(p);
	}
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void th_fill(uint64_t seed, void *buf, size_t len)
{
	uint8_t *p = buf;
	uint64_t v;

	while (len >= 8) {
		v = splitmix64(&seed);
		memcpy(p, &v, 8);
		p += 8;
		len -= 8;
	}
	if (len > 0) {
		v = splitmix64(&seed);
		memcpy(p, &v, len);
	}
}

uint8_t *th_random(uint64_t seed, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	if (p == NULL)
		th_die("malloc");
	th_fill(seed, p, len);
	return p;
}

int th_dir_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

int th_flip_byte(const char *path, uint64_t off, uint8_t mask)
{
	int fd = open(path, O_RDWR | O_CLOEXEC), ret = -1;
	uint8_t b;

	if (fd < 0)
		return -1;
	if (pread(fd, &b, 1, (off_t)off) == 1) {
		b ^= mask;
		if (pwrite(fd, &b, 1, (off_t)off) == 1)
			ret = 0;
	}
	close(fd);
	return ret;
}

int th_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len)
		ret = -1;
	if (close(fd) < 0)
		ret = -1;
	return ret;
}

int th_exists(const char *dir, const char *rel)
{
	char *p = *rel ? fs_join(dir, rel) : xstrdup(dir);
	struct stat st;
	int ret = lstat(p, &st) == 0;

	free(p);
	return ret;
}

int th_holds(const char *dir, const char *rel, const char *text)
{
	char *p = fs_join(dir, rel);
	struct error err;
	struct buf b;
	int same;

	buf_init(&b, 0);
	same = fs_read_file(p, &b, 1 << 20, &err) == 0 && b.len == strlen(text) &&
	       memcmp(b.data, text, b.len) == 0;
	buf_clear(&b);
	free(p);
	return same;
}

int th_same_file(const char *a, const char *b)
{
	struct buf x, y;
	struct error err;
	int same;

	buf_init(&x, 0);
	buf_init(&y, 0);
	same = fs_read_file(a, &x, 1u << 26, &err) == 0 && fs_read_file(b, &y, 1u << 26, &err) == 0 &&
	       x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
	buf_clear(&x);
	buf_clear(&y);
	return same;
}

struct store *th_store_new(struct th_store *ts)
{
	struct store *s = NULL;
	struct error err;

	memset(ts, 0, sizeof(*ts));
	ts->root = th_tmpdir("store");
	ts->cache = th_tmpdir("cache");
	CHECK(setenv("COFFER_CACHE", ts->cache, 1) == 0);
	th_fill(7, ts->keyfile, sizeof(ts->keyfile));
	ts->ks.kdf = KEYSLOT_KEYFILE;
	ts->ks.secret = ts->keyfile;
	ts->ks.len = sizeof(ts->keyfile);
	CHECK_OK(store_init(ts->root, &ts->ks, &err), &err);
	s = store_open(ts->root, &ts->ks, 0, NULL, &err);
	CHECKF(s != NULL, "store_open(%s) failed: %s", ts->root, err.msg);
out:
	return s;
}

/* Runs one test here; returns whether it failed. */
static int th_run_inline(const struct unit_test *t)
{
	th_nfail = 0;
	th_reason[0] = '\0';
	t->fn();
	th_cleanup_tmp();
	return th_nfail > 0;
}

/* Runs one test in a child; fills reason and returns whether it failed. */
static int th_run_forked(const struct unit_test *t, char *reason, size_t max)
{
	int fds[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(fds) < 0)
		th_die("pipe");
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		th_die("fork");
	if (pid == 0) {
		int failed;

		close(fds[0]);
		alarm(TH_TIMEOUT);
		failed = th_run_inline(t);
		if (failed && write(fds[1], th_reason, strlen(th_reason)) < 0)
			failed = 2;
		close(fds[1]);
		/* exit(), not _exit(): LeakSanitizer checks at exit. */
		exit(failed);
	}
	close(fds[1]);
	while (len + 1 < max && (n = read(fds[0], reason + len, max - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			th_die("read");
		len += (size_t)n;
	}
	reason[len] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			th_die("waitpid");
	if (WIFSIGNALED(status)) {
		if (WTERMSIG(status) == SIGALRM)
			snprintf(reason + len, max - len, "%stimed out after %d s", len ? "; " : "",
				 TH_TIMEOUT);
		else
			snprintf(reason + len, max - len, "%skilled by signal %d (%s)",
				 len ? "; " : "", WTERMSIG(status), strsignal(WTERMSIG(status)));
		return 1;
	}
	if (WEXITSTATUS(status) != 0 && len == 0)
		snprintf(reason, max, "exited with status %d; see stderr (sanitizer or leak report?)",
			 WEXITSTATUS(status));
	return WEXITSTATUS(status) != 0;
}

static int th_selected(const struct unit_test *t, int argc, char **argv)
{
	int i;

	if (argc <= 1)
		return 1;
	for (i = 1; i < argc; i++)
		if (strstr(t->name, argv[i]) != NULL)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *nofork = getenv("UNIT_NOFORK");
	int inline_mode = nofork != NULL && *nofork != '\0' && strcmp(nofork, "0") != 0;
	int list = argc > 1 && strcmp(argv[1], "-l") == 0;
	char reason[TH_REASON_MAX];
	size_t s, ntests = 0, nfailed = 0;
	const struct unit_test *t;
	char *p;

	if (list) {
		argv++;
		argc--;
	}
	for (s = 0; s < sizeof(th_suites) / sizeof(th_suites[0]); s++)
		for (t = th_suites[s]; th_suite_on(th_suites[s]) && t->name != NULL; t++)
			if (th_selected(t, argc, argv)) {
				if (list)
					printf("%s\n", t->name);
				ntests++;
			}
	if (list)
		return 0;
	if (mkdtemp(th_root) == NULL)
		th_die("mkdtemp(/tmp/coffer-unit-XXXXXX)");
	printf("1..%zu\n", ntests);
	for (s = 0; s < sizeof(th_suites) / sizeof(th_suites[0]); s++) {
		for (t = th_suites[s]; th_suite_on(th_suites[s]) && t->name != NULL; t++) {
			int failed;

			if (!th_selected(t, argc, argv))
				continue;
			if (inline_mode) {
				failed = th_run_inline(t);
				snprintf(reason, sizeof(reason), "%s", th_reason);
			} else {
				failed = th_run_forked(t, reason, sizeof(reason));
			}
			/* One line per test, and '#' would start a TAP directive. */
			for (p = reason; *p; p++)
				if (*p == '\n' || *p == '\r' || *p == '#')
					*p = ' ';
			if (failed) {
				printf("not ok - %s (%s)\n", t->name, reason);
				nfailed++;
			} else {
				printf("ok - %s\n", t->name);
			}
			fflush(stdout);
		}
	}
	th_remove_tree(th_root);
	printf("# %zu tests, %zu failed\n", ntests, nfailed);
	return nfailed ? 1 : 0;
}
