/* erase_record STORE KEYFILE DELETION-KEYFILE UNIT paths PATTERN...
 * erase_record STORE KEYFILE DELETION-KEYFILE UNIT keys PATH...
 * writes one record into UNIT's erasure ledger (docs/format.md 10.1), as an
 * approved erasure request of the service would: with "paths", withholding
 * entries whose path matches a PATTERN in points taken until now; with
 * "keys", the content keys of the files at PATH in UNIT's newest point,
 * withheld in every point. For tests/e2e/compact.sh, which needs a ledger
 * without running the service. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/seal.h"
#include "engine/erasure.h"
#include "engine/meta.h"
#include "engine/tree.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/mem.h"
#include "store/deletion.h"
#include "store/index.h"
#include "store/rp.h"
#include "store/store.h"

/* The content keys of the files named by paths in the unit's newest point. */
static int content_keys(struct store *s, const char *unit, char **paths, size_t n,
			struct store_erasure *x, struct error *err)
{
	char *spec = xasprintf("%s@latest", unit);
	struct store_unit *u = NULL;
	struct tree_reader *tr = NULL;
	struct index *ix = NULL;
	struct meta_entry *e;
	struct rp *rp = NULL;
	size_t i;
	int r = -1;

	x->keys = xcalloc(n, 32);
	if (tree_resolve(s, spec, &u, &rp, err) < 0 || (ix = index_open(u, err)) == NULL ||
	    (tr = tree_reader_open(u, ix, rp, err)) == NULL)
		goto out;
	while ((r = tree_reader_next(tr, &e, err)) == 1)
		for (i = 0; i < n; i++)
			if (strcmp(e->path, paths[i]) == 0)
				erasure_content_key(e, x->keys[x->nkeys++]);
	if (r == 0 && x->nkeys != n)
		r = error_set(err, "not every PATH is a file of %s", spec);
out:
	tree_reader_close(&tr);
	index_close(&ix);
	rp_free(&rp);
	store_unit_close(&u);
	free(spec);
	return r;
}

int main(int argc, char **argv)
{
	struct keysource ks = { .kdf = KEYSLOT_KEYFILE };
	struct store_erasure x = { 0 };
	struct store *s = NULL;
	struct store_unit *u = NULL;
	struct timespec ts;
	struct error err;
	struct buf key;
	int ret = 1, keys;

	if (argc < 7 || (strcmp(argv[5], "paths") != 0 && strcmp(argv[5], "keys") != 0)) {
		fprintf(stderr, "usage: erase_record STORE KEYFILE DELETION-KEYFILE UNIT "
			"(paths PATTERN... | keys PATH...)\n");
		return 2;
	}
	keys = strcmp(argv[5], "keys") == 0;
	x.request = keys ? (char[]){ "e-test-keys" } : (char[]){ "e-test-paths" };
	error_init(&err);
	buf_init(&key, 4096);
	clock_gettime(CLOCK_REALTIME, &ts);
	x.cutoff = ts.tv_sec;
	if (!keys) {
		x.patterns = argv + 6;
		x.npatterns = (size_t)argc - 6;
	}
	if (fs_read_file(argv[2], &key, 4096, &err) < 0)
		goto out;
	ks.secret = key.data;
	ks.len = key.len;
	s = store_open(argv[1], &ks, 0, NULL, &err);
	if (s == NULL || store_unlock_deletion(s, argv[3], &err) < 0 ||
	    (keys && content_keys(s, argv[4], argv + 6, (size_t)argc - 6, &x, &err) < 0) ||
	    (u = store_unit_open(s, argv[4], 0, &err)) == NULL ||
	    store_erasure_record(u, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, &x, &err) < 0)
		goto out;
	ret = 0;
out:
	if (ret)
		fprintf(stderr, "erase_record: %s\n", err.msg);
	free(x.keys);
	store_unit_close(&u);
	store_close(&s);
	buf_clear(&key);
	return ret;
}
