/* forge_tombstone STORE KEYFILE UNIT SEQ [keep]: what an attacker holding
 * only the store key (and write access to the store folder) can do: forget
 * point SEQ of UNIT by writing an unsigned tombstone and deleting the
 * manifest, bypassing coffer's deletion path; with "keep", only put the
 * tombstone (all a store that cannot delete would let it do). For
 * tests/e2e/deletion.sh, which checks that `coffer check` names it and that
 * prune does not finish it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/seal.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "store/store.h"

#include "../unit/forge.h"

int main(int argc, char **argv)
{
	struct keysource ks = { .kdf = KEYSLOT_KEYFILE };
	struct store *s = NULL;
	struct store_unit *u = NULL;
	struct error err;
	struct buf key;
	unsigned long seq;
	char *end;
	int ret = 1;

	if (argc != 5 && (argc != 6 || strcmp(argv[5], "keep") != 0)) {
		fprintf(stderr, "usage: forge_tombstone STORE KEYFILE UNIT SEQ [keep]\n");
		return 2;
	}
	errno = 0;
	seq = strtoul(argv[4], &end, 10);
	if (errno || *end || seq == 0 || seq > UINT32_MAX)
		return 2;
	error_init(&err);
	buf_init(&key, 4096);
	if (fs_read_file(argv[2], &key, 4096, &err) < 0)
		goto out;
	ks.secret = key.data;
	ks.len = key.len;
	s = store_open(argv[1], &ks, 0, NULL, &err);
	if (s == NULL || (u = store_unit_open(s, argv[3], 0, &err)) == NULL ||
	    forge_tombstone(argv[1], u, (uint32_t)seq, argc == 5, &err) < 0)
		goto out;
	ret = 0;
out:
	if (ret)
		fprintf(stderr, "forge_tombstone: %s\n", err.msg);
	store_unit_close(&u);
	store_close(&s);
	buf_clear(&key);
	return ret;
}
