#ifndef COFFER_RP_H
#define COFFER_RP_H

/* Restore points: immutable, sealed JSON manifests numbered per unit and
 * chained by the hash of their predecessor (docs/format.md section 7). */

#include <stddef.h>
#include <stdint.h>

struct error;
struct store_unit;

struct rp_stats {
	uint64_t files, dirs, bytes;
	uint64_t new_blobs, new_bytes, stored_bytes, incompressible_bytes;
};

struct rp {
	char *unit;
	uint32_t seq;
	uint8_t parent[32];
	int has_parent;
	int64_t time_ns;
	char *host;
	char *source;
	uint8_t (*meta)[32]; /* metadata blob ids of the top level */
	size_t nmeta;
	uint32_t levels;
	struct rp_stats stats;
	char **warnings;
	size_t nwarnings;
	uint8_t hash[32]; /* SHA-256 of the stored object (set when read or written) */
};

void rp_free(struct rp **rp);
void rp_add_warning(struct rp *rp, const char *msg);

/* Numbers of the unit's restore points, ascending; caller frees. */
int rp_list(struct store_unit *u, uint32_t **seqs_r, size_t *n_r, struct error *err);

/* Reads point `seq`; checks its number and unit name against its place. */
int rp_read(struct store_unit *u, uint32_t seq, struct rp **rp_r, struct error *err);

/* Writes rp as the unit's next point: sets seq and parent from the current
 * latest; if another writer took that number first, retries after it. */
int rp_write(struct store_unit *u, struct rp *rp, struct error *err);

/* Parses a decrypted manifest body (also the fuzzer's entry). */
int rp_parse(const uint8_t *data, size_t len, const char *what, struct rp **rp_r,
	     struct error *err);

#endif
