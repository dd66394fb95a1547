#include "chunker.h"

#include "crypto/crypto.h"
#include "lib/buf.h"

const struct chunker_params chunker_data_params = { 512 << 10, 1 << 20, 8 << 20 };
const struct chunker_params chunker_meta_params = { 16 << 10, 64 << 10, 256 << 10 };

static unsigned log2u(uint32_t v)
{
	unsigned b = 0;

	while ((1u << (b + 1)) <= v)
		b++;
	return b;
}

void chunker_init(struct chunker *c, const uint8_t gear_key[32], const struct chunker_params *p)
{
	unsigned bits = log2u(p->avg), i;
	uint8_t msg[4], out[32];

	for (i = 0; i < 256; i++) {
		put_u32(msg, i);
		crypto_hmac(gear_key, msg, sizeof(msg), NULL, 0, out);
		c->gear[i] = get_u64(out);
	}
	/* The high bits of a gear hash depend on the most bytes (up to 64 back),
	 * so the masks take their bits from the top. */
	c->mask_s = ~0ULL << (64 - (bits + 2));
	c->mask_l = ~0ULL << (64 - (bits - 2));
	c->p = *p;
}

size_t chunker_next(const struct chunker *c, const uint8_t *data, size_t len)
{
	size_t i, normal, end;
	uint64_t h = 0;

	if (len <= c->p.min)
		return len;
	end = len < c->p.max ? len : c->p.max;
	normal = c->p.avg < end ? c->p.avg : end;
	/* Warm the hash over the 64 bytes before min so a cut depends only on
	 * content, never on where the chunk started. */
	for (i = c->p.min - 64; i < c->p.min; i++)
		h = (h << 1) + c->gear[data[i]];
	for (; i < normal; i++) {
		h = (h << 1) + c->gear[data[i]];
		if ((h & c->mask_s) == 0)
			return i + 1;
	}
	for (; i < end; i++) {
		h = (h << 1) + c->gear[data[i]];
		if ((h & c->mask_l) == 0)
			return i + 1;
	}
	return end;
}
