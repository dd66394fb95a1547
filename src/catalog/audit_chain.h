#ifndef COFFER_AUDIT_CHAIN_H
#define COFFER_AUDIT_CHAIN_H

/* The audit log's hash chain, a format (docs/service.md "Audit chain"):
 * how an entry is encoded and hashed, how it links to the entry before it,
 * and how a chain read in seq order is checked. The catalog (catalog.c,
 * on every database) stores the fields and calls these; nothing else
 * encodes an entry. The encoding is versioned by its
 * first field, AUDIT_CHAIN_TAG; a change is a new tag, never an edit. */

#include <stdint.h>

struct error;
struct catalog_audit;

#define AUDIT_CHAIN_TAG "coffer-audit-v1"
#define AUDIT_CHAIN_HASH_HEX 65 /* 64 lowercase hex digits and a NUL */

/* The entry's hash into hex: lowercase hex SHA-256 of the netstrings of
 * AUDIT_CHAIN_TAG, seq, time, tenant, actor, action, target, detail and
 * prev, in that order (a NULL field encodes as the empty string). hash is
 * not read. */
void audit_chain_hash(const struct catalog_audit *a, char hex[AUDIT_CHAIN_HASH_HEX]);

/* Links a new entry after `last` (NULL: the log is empty): sets a->seq
 * (last's plus one, or 1), a->prev (last's hash, or "") and a->hash. The
 * other fields must be set; a->prev and a->hash must be NULL (they are
 * allocated here and freed with the entry). The driver holds the log's
 * write lock from reading `last` to storing `a`. */
void audit_chain_link(struct catalog_audit *a, const struct catalog_audit *last);

/* Checking a chain: entries are given in seq order from the first. */
struct audit_chain_check {
	int64_t next;                     /* the seq the next entry must have */
	char prev[AUDIT_CHAIN_HASH_HEX];  /* the hash of the entry before it */
};
void audit_chain_check_init(struct audit_chain_check *ck);
/* 0 if `a` follows the entries checked so far; -1 with ERROR_CORRUPT
 * naming the first entry that is missing ("audit entry 3 is missing (the
 * entry after 2 is 4)"), does not link ("audit entry 4 does not follow
 * entry 3: ...") or was changed ("audit entry 3 was changed: ..."). After
 * the last entry, ck->next - 1 is the number of entries and ck->prev the
 * head hash ("" for an empty log). */
int audit_chain_check_next(struct audit_chain_check *ck, const struct catalog_audit *a,
			   struct error *err);

#endif
