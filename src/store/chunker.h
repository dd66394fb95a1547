#ifndef COFFER_CHUNKER_H
#define COFFER_CHUNKER_H

/* Content-defined chunking with a keyed gear hash, FastCDC-style
 * normalized cut points (docs/format.md section 4). Stateless: the caller
 * hands a window that starts at a chunk boundary and holds at least `max`
 * bytes (or everything up to end of input). */

#include <stddef.h>
#include <stdint.h>

struct chunker_params {
	uint32_t min, avg, max;
};

extern const struct chunker_params chunker_data_params;
extern const struct chunker_params chunker_meta_params;

struct chunker {
	uint64_t gear[256];
	uint64_t mask_s, mask_l;
	struct chunker_params p;
};

/* Builds the gear table from the unit's gear key. */
void chunker_init(struct chunker *c, const uint8_t gear_key[32], const struct chunker_params *p);

/* Length of the chunk at the start of data[0..len): a content-defined
 * cut, `max`, or `len` when len is shorter than either. */
size_t chunker_next(const struct chunker *c, const uint8_t *data, size_t len);

#endif
