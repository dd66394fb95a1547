/* shred_probe STORE KEYFILE DELKEYFILE [--unit-key OBJECT] FILE...: tries
 * to decrypt each FILE (objects of a unit: packs, index segments, restore
 * points, tombstones, deletion records) with every key the service still
 * has after a unit's destruction (docs/privacy.md 5): the store's master
 * key (both halves), unwrapped from STORE/keys/ with KEYFILE (the tenant's
 * store key), the deletion key's seed (DELKEYFILE), and each of them taken
 * as a unit key (its derived data key). With --unit-key, the unit key
 * sealed in OBJECT (a copy of units/<uid>/key) is tried too: the control
 * that shows the probe opens what a key does open. Prints "opened N of M"
 * and exits 0; 2 on bad usage or unreadable input. For tests/e2e/destroy.sh. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/seal.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/mem.h"

#define MAX_KEYS 16

struct keys {
	uint8_t k[MAX_KEYS][32];
	size_t n;
};

static void keys_add(struct keys *ks, const uint8_t k[32])
{
	if (ks->n < MAX_KEYS)
		memcpy(ks->k[ks->n++], k, 32);
}

/* The master key from any slot the key file opens. */
static int master_of(const char *store, const char *keyfile, uint8_t m[MASTER_KEY_LEN])
{
	char *dir = fs_join(store, "keys");
	DIR *d = opendir(dir);
	struct dirent *de;
	struct buf kf, slot;
	struct error err;
	int found = 0;

	buf_init(&kf, 1 << 20);
	buf_init(&slot, 4096);
	error_init(&err);
	if (d == NULL || fs_read_file(keyfile, &kf, 1 << 20, &err) < 0)
		goto out;
	while (!found && (de = readdir(d)) != NULL) {
		struct keysource src = { .kdf = KEYSLOT_KEYFILE, .secret = kf.data, .len = kf.len };
		char *path;

		if (de->d_name[0] == '.')
			continue;
		path = fs_join(dir, de->d_name);
		buf_reset(&slot);
		if (fs_read_file(path, &slot, 4096, &err) == 0 &&
		    keyslot_open(slot.data, slot.len, &src, path, m, &err) == 1)
			found = 1;
		free(path);
	}
out:
	if (d)
		closedir(d);
	buf_clear(&kf);
	buf_clear(&slot);
	free(dir);
	return found ? 0 : -1;
}

/* The deletion key file: the seed in hex (docs/format.md 9). */
static int seed_of(const char *file, uint8_t seed[32])
{
	struct buf b;
	struct error err;
	int ret = -1;

	buf_init(&b, 4096);
	error_init(&err);
	if (fs_read_file(file, &b, 4096, &err) == 0 && b.len >= 64 &&
	    hex_decode((const char *)b.data, 64, seed, 32) == 0)
		ret = 0;
	buf_clear(&b);
	return ret;
}

/* 1 if data opens as a pack (its trailer) under data key dk. */
static int pack_opens(const uint8_t dk[32], const uint8_t *data, size_t len)
{
	struct crypto_aead *a;
	uint8_t pk[32], nonce[12], *out;
	uint32_t tlen;
	int ok;

	if (len < 40 + 8 + 16 || memcmp(data + len - 4, "CFPT", 4) != 0)
		return 0;
	tlen = get_u32(data + len - 8);
	if (tlen < 16 || tlen > len - 48)
		return 0;
	crypto_hmac(dk, "pack", 4, data + 8, 32, pk);
	crypto_nonce(0, nonce);
	a = crypto_aead_new();
	crypto_aead_set_key(a, pk);
	out = xmalloc(tlen);
	ok = crypto_aead_open(a, nonce, NULL, 0, data + len - 8 - tlen, tlen, out) == 0;
	free(out);
	crypto_aead_free(&a);
	return ok;
}

/* 1 if the object opens under any of the keys. */
static int opens(const struct keys *ks, const uint8_t *data, size_t len)
{
	struct buf body;
	struct error err;
	int ok = 0;

	if (len < SEAL_HEADER_LEN || memcmp(data, "COFFER", 6) != 0)
		return 0;
	buf_init(&body, 0);
	for (size_t i = 0; i < ks->n && !ok; i++) {
		error_init(&err);
		buf_reset(&body);
		if (data[6] == 'P')
			ok = pack_opens(ks->k[i], data, len);
		else
			ok = seal_open(ks->k[i], (enum seal_type)data[6], data, len, "object", &body,
				       &err) == 0;
	}
	buf_clear(&body);
	return ok;
}

int main(int argc, char **argv)
{
	uint8_t m[MASTER_KEY_LEN], seed[32], d[32];
	struct keys ks = { .n = 0 };
	struct error err;
	struct buf b, uk;
	size_t tried = 0, opened = 0, base;
	int i = 4;

	if (argc < 5) {
		fprintf(stderr, "usage: shred_probe STORE KEYFILE DELKEYFILE [--unit-key OBJECT] "
				"FILE...\n");
		return 2;
	}
	if (master_of(argv[1], argv[2], m) < 0 || seed_of(argv[3], seed) < 0) {
		fprintf(stderr, "shred_probe: cannot read the keys\n");
		return 2;
	}
	keys_add(&ks, m);
	keys_add(&ks, m + 32);
	keys_add(&ks, seed);
	error_init(&err);
	buf_init(&b, (size_t)1 << 30);
	buf_init(&uk, 1 << 16);
	if (strcmp(argv[i], "--unit-key") == 0 && i + 1 < argc) {
		if (fs_read_file(argv[i + 1], &b, 1 << 16, &err) < 0 ||
		    seal_open(m, SEAL_UNIT_KEY, b.data, b.len, argv[i + 1], &uk, &err) < 0 ||
		    uk.len < 32) {
			fprintf(stderr, "shred_probe: %s\n", err.msg);
			return 2;
		}
		keys_add(&ks, uk.data);
		crypto_wipe(uk.data, uk.len);
		i += 2;
	}
	buf_clear(&uk);
	/* Each key also as if it were a unit key: its data key. */
	base = ks.n;
	for (size_t k = 0; k < base; k++) {
		crypto_derive(ks.k[k], "data", d);
		keys_add(&ks, d);
	}
	for (; i < argc; i++) {
		buf_reset(&b);
		if (fs_read_file(argv[i], &b, (size_t)1 << 30, &err) < 0) {
			fprintf(stderr, "shred_probe: %s\n", err.msg);
			return 2;
		}
		tried++;
		if (opens(&ks, b.data, b.len)) {
			opened++;
			fprintf(stderr, "shred_probe: %s opens\n", argv[i]);
		}
	}
	buf_clear(&b);
	crypto_wipe(&ks, sizeof(ks));
	crypto_wipe(m, sizeof(m));
	printf("opened %zu of %zu\n", opened, tried);
	return 0;
}
