/* The audit hash chain (audit_chain.h; the encoding is specified in
 * docs/service.md "Audit chain", which names this file). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "catalog/audit_chain.h"
#include "catalog/catalog.h"
#include "crypto/crypto.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/hex.h"
#include "lib/mem.h"

/* One field as a netstring: decimal byte length, ':', the bytes, ','. */
static void chain_field(struct buf *b, const char *s)
{
	size_t len = s ? strlen(s) : 0;

	buf_addf(b, "%zu:", len);
	buf_add(b, s ? s : "", len);
	buf_add(b, ",", 1);
}

void audit_chain_hash(const struct catalog_audit *a, char hex[AUDIT_CHAIN_HASH_HEX])
{
	char num[24];
	uint8_t md[32];
	struct buf b;

	buf_init(&b, 0);
	chain_field(&b, AUDIT_CHAIN_TAG);
	snprintf(num, sizeof(num), "%" PRId64, a->seq);
	chain_field(&b, num);
	snprintf(num, sizeof(num), "%" PRId64, a->time);
	chain_field(&b, num);
	chain_field(&b, a->tenant);
	chain_field(&b, a->actor);
	chain_field(&b, a->action);
	chain_field(&b, a->target);
	chain_field(&b, a->detail);
	chain_field(&b, a->prev);
	crypto_sha256(b.data, b.len, md);
	hex_encode(md, sizeof(md), hex);
	buf_clear(&b);
}

void audit_chain_link(struct catalog_audit *a, const struct catalog_audit *last)
{
	char hex[AUDIT_CHAIN_HASH_HEX];

	a->seq = last ? last->seq + 1 : 1;
	a->prev = xstrdup(last && last->hash ? last->hash : "");
	audit_chain_hash(a, hex);
	a->hash = xstrdup(hex);
}

void audit_chain_check_init(struct audit_chain_check *ck)
{
	ck->next = 1;
	ck->prev[0] = '\0';
}

int audit_chain_check_next(struct audit_chain_check *ck, const struct catalog_audit *a,
			   struct error *err)
{
	char hash[AUDIT_CHAIN_HASH_HEX];

	if (a->seq != ck->next)
		return error_setk(err, ERROR_CORRUPT,
				  "audit entry %" PRId64 " is missing (the entry after %" PRId64
				  " is %" PRId64 ")",
				  ck->next, ck->next - 1, a->seq);
	if (a->prev == NULL || strcmp(a->prev, ck->prev) != 0)
		return error_setk(err, ERROR_CORRUPT,
				  "audit entry %" PRId64 " does not follow entry %" PRId64
				  ": its prev is not that entry's hash (one of them was changed)",
				  a->seq, a->seq - 1);
	audit_chain_hash(a, hash);
	if (a->hash == NULL || strcmp(a->hash, hash) != 0)
		return error_setk(err, ERROR_CORRUPT,
				  "audit entry %" PRId64 " was changed: its hash does not match its "
				  "fields",
				  a->seq);
	memcpy(ck->prev, hash, sizeof(ck->prev));
	ck->next++;
	return 0;
}
