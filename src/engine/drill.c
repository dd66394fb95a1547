/* The test restore of a restore drill (drill.h): sample, restore with the
 * ordinary restore into scratch, compare each file with the point. */
#include "drill.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "engine/erasure.h"
#include "engine/meta.h"
#include "engine/restore.h"
#include "engine/tree.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "store/index.h"
#include "store/rp.h"
#include "store/store.h"

#define READ_CHUNK ((size_t)1 << 20)

struct drill {
	const struct drill_sample_opts *o;
	struct drill_sample_result *res;
	struct meta_entry *v; /* the sample, a reservoir */
	size_t n;
	uint64_t rng;
};

static void drill_problem(struct drill *d, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void drill_problem(struct drill *d, const char *path, const char *fmt, ...)
{
	char msg[ERROR_MSG_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->res->problems++;
	if (d->o->report)
		d->o->report(d->o->ctx, path, msg);
}

/* splitmix64: small, and the same sample for the same seed everywhere. */
static uint64_t next_rand(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Reservoir sampling: each file of the point is in the sample with the
 * same chance, in one pass over the metadata. */
static void sample_offer(struct drill *d, const struct meta_entry *e)
{
	uint64_t k;

	d->res->files++;
	if (d->n < d->o->nsample) {
		meta_entry_copy(&d->v[d->n++], e);
		return;
	}
	k = next_rand(&d->rng) % d->res->files;
	if (k < d->o->nsample) {
		meta_entry_clear(&d->v[k]);
		meta_entry_copy(&d->v[k], e);
	}
}

static int sample_pick(struct drill *d, struct store_unit *u, const struct index *ix,
		       const struct rp *rp, struct error *err)
{
	struct erasure_set *es = NULL;
	struct tree_reader *tr = NULL;
	struct meta_entry *e;
	int r = -1;

	if (erasure_set_load(u, &es, err) < 0)
		return -1;
	tr = tree_reader_open(u, ix, rp, err);
	if (tr == NULL)
		goto out;
	/* Marked, not skipped: a withheld file is counted, never sampled,
	 * so a drill never brings erased content back, even into scratch. */
	tree_reader_withhold(tr, es, 1);
	while ((r = tree_reader_next(tr, &e, err)) == 1) {
		if (e->type != META_FILE)
			continue;
		if (tree_reader_withheld(tr) != NULL)
			d->res->withheld++;
		else
			sample_offer(d, e);
	}
out:
	tree_reader_close(&tr);
	erasure_set_free(&es);
	return r < 0 ? -1 : 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return meta_path_cmp(((const struct meta_entry *)a)->path,
			     ((const struct meta_entry *)b)->path);
}

/* A pattern that matches exactly `path` (fnmatch's special characters
 * escaped). */
static char *pattern_of(const char *path)
{
	char *p = xmalloc(2 * strlen(path) + 1), *q = p;

	for (; *path; path++) {
		if (strchr("*?[]\\", *path))
			*q++ = '\\';
		*q++ = *path;
	}
	*q = '\0';
	return p;
}

/* Reads exactly len bytes (less only at the end of the file). */
static ssize_t read_full(int fd, uint8_t *p, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Compares the restored copy of e with e: size, then each extent's bytes
 * against its keyed id (zeros for a hole). 0 if it matches. */
static int verify_file(struct drill *d, int root, struct crypto_mac *mac,
		       const struct meta_entry *e)
{
	static const uint8_t zero[32];
	uint8_t *data = NULL, id[32];
	uint64_t off = 0;
	struct stat st = { 0 };
	ssize_t n;
	int fd, ret = -1;

	fd = openat(root, e->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		drill_problem(d, e->path, "not restored: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->size) {
		drill_problem(d, e->path, "restored with %lld bytes, the restore point says %llu",
			      (long long)st.st_size, (unsigned long long)e->size);
		goto out;
	}
	for (size_t i = 0; i < e->nextents; i++) {
		const struct meta_extent *x = &e->extents[i];

		data = xrealloc(data, x->len ? x->len : 1);
		n = read_full(fd, data, x->len);
		if (n < 0 || (size_t)n != x->len) {
			drill_problem(d, e->path, "restored copy ends at byte %llu, before the "
				      "content the restore point names", (unsigned long long)off);
			goto out;
		}
		if (memcmp(x->id, zero, 32) == 0) {
			if (!all_zero(data, x->len)) {
				drill_problem(d, e->path, "restored content differs from the restore "
					      "point at byte %llu (a hole has data)",
					      (unsigned long long)off);
				goto out;
			}
		} else {
			crypto_mac_compute(mac, data, x->len, id);
			if (memcmp(id, x->id, 32) != 0) {
				drill_problem(d, e->path, "restored content differs from the restore "
					      "point in the %llu bytes at byte %llu",
					      (unsigned long long)x->len, (unsigned long long)off);
				goto out;
			}
		}
		off += x->len;
	}
	if (off != e->size) {
		drill_problem(d, e->path, "the restore point's content covers %llu of its %llu "
			      "bytes", (unsigned long long)off, (unsigned long long)e->size);
		goto out;
	}
	d->res->verified++;
	d->res->bytes += e->size;
	ret = 0;
out:
	free(data);
	close(fd);
	return ret;
}

/* Restores the sample into scratch with the ordinary restore. A failure is
 * a problem of the drill (reported), not an error of this function. */
static void sample_restore(struct drill *d, struct store *s, const char *spec)
{
	struct restore_opts ro = { .rp = spec, .target = d->o->scratch, .quiet = 1, .threads = 2 };
	struct restore_result rr;
	struct error err;

	ro.patterns = xcalloc(d->n, sizeof(*ro.patterns));
	for (size_t i = 0; i < d->n; i++)
		ro.patterns[i] = pattern_of(d->v[i].path);
	ro.npatterns = d->n;
	error_init(&err);
	if (restore_run(s, &ro, &rr, &err) < 0)
		drill_problem(d, NULL, "%s", err.msg);
	free(rr.withheld_by);
	free(rr.not_applied); /* owners a service not run as root cannot set: not the drill's question */
	for (size_t i = 0; i < d->n; i++)
		free(ro.patterns[i]);
	free(ro.patterns);
}

static void sample_verify(struct drill *d, struct store_unit *u)
{
	struct crypto_mac *mac = store_unit_id_mac(u);
	int root = open(d->o->scratch, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (root < 0) {
		drill_problem(d, NULL, "cannot open the scratch folder %s: %s", d->o->scratch,
			      strerror(errno));
	} else {
		for (size_t i = 0; i < d->n; i++)
			verify_file(d, root, mac, &d->v[i]);
		close(root);
	}
	crypto_mac_free(&mac);
}

int drill_sample_run(struct store *s, const struct drill_sample_opts *o,
		     struct drill_sample_result *res, struct error *err)
{
	struct drill d = { .o = o, .res = res, .rng = o->seed };
	struct store_unit *u = NULL;
	struct index *ix = NULL;
	struct rp *rp = NULL;
	char *spec = o->seq ? xasprintf("%s@%u", o->unit, o->seq) : xstrdup(o->unit);
	int ret = -1;

	memset(res, 0, sizeof(*res));
	d.v = xcalloc(o->nsample ? o->nsample : 1, sizeof(*d.v));
	if (tree_resolve(s, spec, &u, &rp, err) < 0)
		goto out;
	res->seq = rp->seq;
	free(spec);
	spec = xasprintf("%s@%u", o->unit, rp->seq); /* the newest stays the one sampled */
	ix = index_open(u, err);
	if (ix == NULL || sample_pick(&d, u, ix, rp, err) < 0)
		goto out;
	if (d.n > 1)
		qsort(d.v, d.n, sizeof(*d.v), entry_cmp);
	res->sampled = d.n;
	res->paths = xcalloc(d.n ? d.n : 1, sizeof(*res->paths));
	for (size_t i = 0; i < d.n; i++)
		res->paths[i] = xstrdup(d.v[i].path);
	if (d.n > 0) {
		sample_restore(&d, s, spec);
		sample_verify(&d, u);
	}
	ret = 0;
out:
	for (size_t i = 0; i < d.n; i++)
		meta_entry_clear(&d.v[i]);
	free(d.v);
	index_close(&ix);
	rp_free(&rp);
	store_unit_close(&u);
	free(spec);
	if (ret < 0)
		error_prefix(err, "drill of %s", o->unit);
	return ret;
}

void drill_sample_result_clear(struct drill_sample_result *res)
{
	for (size_t i = 0; res->paths && i < res->sampled; i++)
		free(res->paths[i]);
	free(res->paths);
	res->paths = NULL;
}
