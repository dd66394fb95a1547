#ifndef COFFER_SEAL_H
#define COFFER_SEAL_H

/* Sealed objects and key slots (docs/format.md sections 3.1 and 3.2):
 * whole small objects encrypted under a key derived from a per-object
 * random salt, with the 40-byte header authenticated. */

#include <stddef.h>
#include <stdint.h>

struct buf;
struct error;

#define SEAL_HEADER_LEN 40
#define SEAL_VERSION 1
#define MASTER_KEY_LEN 64

enum seal_type {
	SEAL_UNIT_KEY = 'U',
	SEAL_INDEX = 'I',
	SEAL_RESTORE_POINT = 'R',
	SEAL_TOMBSTONE = 'T', /* a forgotten restore point (docs/format.md 7.1) */
	SEAL_DELETION = 'D',  /* a deletion record (docs/format.md 10) */
	SEAL_KEY_SLOT = 'K',
	SEAL_PACK = 'P',
};

/* Appends the sealed form of body to out. */
void seal_object(const uint8_t key[32], enum seal_type type, const void *body, size_t len,
		 struct buf *out);

/* Opens a sealed object; `what` names it in errors (its path). Fails with
 * ERROR_VERSION for a newer version, ERROR_CORRUPT for anything damaged. */
int seal_open(const uint8_t key[32], enum seal_type type, const uint8_t *data, size_t len,
	      const char *what, struct buf *body, struct error *err);

/* Checks magic, type and version of any coffer object header. */
int seal_check_header(const uint8_t *data, size_t len, enum seal_type type, const char *what,
		      struct error *err);

enum keyslot_kdf { KEYSLOT_ARGON2ID = 1, KEYSLOT_KEYFILE = 2 };

#define KEYSLOT_LEN 128

/* A key source: a passphrase or the contents of a key file. */
struct keysource {
	enum keyslot_kdf kdf;
	const uint8_t *secret;
	size_t len;
};

/* Builds a key slot holding `master` (MASTER_KEY_LEN bytes). */
int keyslot_create(const uint8_t *master, const struct keysource *src, uint8_t slot[KEYSLOT_LEN],
		   struct error *err);

/* Opens a slot; 1 = opened, 0 = this source does not open it, -1 = error. */
int keyslot_open(const uint8_t *slot, size_t len, const struct keysource *src, const char *what,
		 uint8_t *master, struct error *err);

#endif
