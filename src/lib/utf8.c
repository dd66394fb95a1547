#include "utf8.h"

size_t utf8_char(const void *s, size_t len, uint32_t *cp_r)
{
	const uint8_t *p = s;
	uint32_t cp, min;
	size_t n;

	if (len == 0)
		return 0;
	if (p[0] < 0x80) {
		*cp_r = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = p[0] & 0x1fu;
		min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = p[0] & 0x0fu;
		min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = p[0] & 0x07u;
		min = 0x10000;
	} else {
		return 0; /* a continuation byte, or 0xf8..0xff */
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return n;
}

size_t utf8_valid_prefix(const void *s, size_t len)
{
	const uint8_t *p = s;
	size_t off = 0, n;
	uint32_t cp;

	while (off < len) {
		if (p[off] < 0x80) {
			off++;
			continue;
		}
		n = utf8_char(p + off, len - off, &cp);
		if (n == 0)
			break;
		off += n;
	}
	return off;
}
