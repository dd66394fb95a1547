/* Modified UTF-7 mailbox names (RFC 3501 5.1.3), see mutf7.h. */
#include "lib/mutf7.h"

#include <stdint.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "lib/utf8.h"

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64val(char c)
{
	const char *p = c ? strchr(b64chars, c) : NULL;

	return p ? (int)(p - b64chars) : -1;
}

/* Printable US-ASCII, which stands for itself ("&" as "&-"). */
static int is_direct(uint32_t c)
{
	return c >= 0x20 && c < 0x7f;
}

static void put_utf8(struct buf *b, uint32_t cp)
{
	uint8_t o[4];
	size_t n;

	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		o[0] = (uint8_t)(0xc0 | cp >> 6);
		o[1] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		o[0] = (uint8_t)(0xe0 | cp >> 12);
		o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		o[0] = (uint8_t)(0xf0 | cp >> 18);
		o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		o[3] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_add(b, o, n);
}

/* The buffer's bytes as a string the caller owns ("" when it has none). */
static char *take_string(struct buf *b)
{
	return b->data ? (char *)buf_steal(b, NULL) : xstrdup("");
}

/* Decodes one run starting after its '&'; *i ends after its '-'. */
static int decode_run(const char *s, size_t *i, struct buf *out)
{
	uint32_t bits = 0, hi_surrogate = 0;
	int nbits = 0;
	size_t units = 0;

	for (;; (*i)++) {
		int v;

		if (s[*i] == '-')
			break;
		v = b64val(s[*i]);
		if (v < 0)
			return -1;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits >= 16) {
			uint32_t u = (bits >> (nbits - 16)) & 0xffff;

			nbits -= 16;
			units++;
			if (u >= 0xd800 && u < 0xdc00) {
				if (hi_surrogate)
					return -1;
				hi_surrogate = u;
			} else if (u >= 0xdc00 && u < 0xe000) {
				if (!hi_surrogate)
					return -1;
				put_utf8(out, 0x10000 + ((hi_surrogate - 0xd800) << 10) + (u - 0xdc00));
				hi_surrogate = 0;
			} else {
				if (hi_surrogate || is_direct(u))
					return -1; /* printable ASCII must not be encoded */
				put_utf8(out, u);
			}
		}
	}
	(*i)++;
	/* Leftover bits must be zero padding (fewer than 6), and a run not empty. */
	if (units == 0 || hi_surrogate || nbits >= 6 || (bits & ((1u << nbits) - 1)))
		return -1;
	return 0;
}

char *mutf7_decode(const char *name, struct error *err)
{
	struct buf out;
	size_t i = 0;

	buf_init(&out, 0);
	while (name[i]) {
		unsigned char c = (unsigned char)name[i];

		if (!is_direct(c))
			goto bad;
		if (c != '&') {
			buf_add(&out, &name[i++], 1);
			continue;
		}
		i++;
		if (name[i] == '-') {
			buf_add(&out, "&", 1);
			i++;
			continue;
		}
		if (decode_run(name, &i, &out) < 0)
			goto bad;
	}
	return take_string(&out);
bad:
	buf_clear(&out);
	error_setk(err, ERROR_CORRUPT, "mailbox name \"%.200s\" is not valid modified UTF-7", name);
	return NULL;
}

char *mutf7_decode_or_keep(const char *name)
{
	struct error err;
	char *s = mutf7_decode(name, &err);

	return s ? s : xstrdup(name);
}

static void flush_b64(struct buf *out, uint32_t *bits, int *nbits)
{
	while (*nbits >= 6) {
		*nbits -= 6;
		buf_add(out, &b64chars[(*bits >> *nbits) & 0x3f], 1);
	}
}

char *mutf7_encode(const char *s, struct error *err)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, len = strlen(s);
	struct buf out;

	buf_init(&out, 0);
	while (u[i]) {
		uint32_t bits = 0;
		int nbits = 0;

		if (is_direct(u[i])) {
			buf_add(&out, u[i] == '&' ? "&-" : (const char *)&u[i], u[i] == '&' ? 2 : 1);
			i++;
			continue;
		}
		buf_add(&out, "&", 1);
		while (u[i] && !is_direct(u[i])) {
			uint32_t cp;
			size_t n = utf8_char(u + i, len - i, &cp);

			if (n == 0)
				goto bad;
			i += n;
			if (cp >= 0x10000) {
				uint32_t v = cp - 0x10000;

				bits = (bits << 16) | (0xd800 + (v >> 10));
				nbits += 16;
				flush_b64(&out, &bits, &nbits);
				bits = (bits << 16) | (0xdc00 + (v & 0x3ff));
			} else {
				bits = (bits << 16) | cp;
			}
			nbits += 16;
			flush_b64(&out, &bits, &nbits);
		}
		if (nbits > 0)
			buf_add(&out, &b64chars[(bits << (6 - nbits)) & 0x3f], 1);
		buf_add(&out, "-", 1);
	}
	return take_string(&out);
bad:
	buf_clear(&out);
	error_setk(err, ERROR_USAGE, "mailbox name \"%.200s\" is not valid UTF-8", s);
	return NULL;
}
