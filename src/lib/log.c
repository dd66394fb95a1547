/* Log lines on stderr. The format string is coffer's own and trusted; the
 * values a %s or %c brings in are not (names, paths and messages that
 * came from clients, from backed-up folders or from mail servers), so every
 * one is escaped here, for every caller at once (docs/service.md
 * "Configuration", the log):
 *
 * - characters that could end a line or hide text (C0 and C1 controls,
 *   DEL, U+2028/U+2029, bidirectional controls) become \n, \r, \t, \xNN or
 *   \uXXXX, and bytes that are not UTF-8 \xNN: a value never starts a line;
 * - a value right after "=" (a key=value pair) is written as it is only if
 *   it is non-empty printable ASCII without space, '"', '\' and '=';
 *   otherwise it is quoted, with '"' and '\' escaped: a value never passes
 *   for several pairs;
 * - a value inside a quoted part of the format (error="%s") has '"' and '\'
 *   escaped, so it cannot close the quotes;
 * - a value anywhere else (free text) is quoted like that when it holds
 *   '=', so it cannot pass for key=value pairs either.
 *
 * The line is built whole and written with one call under a lock. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "buf.h"
#include "utf8.h"

static int log_quiet;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_quiet(int quiet) { log_quiet = quiet; }

enum ctx { CTX_FREE, CTX_VALUE, CTX_QUOTED };

/* Code points that end a line somewhere or change how text reads. */
static int hidden(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/* Written as is after "=". */
static int plain(const char *v, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '=')
			return 0;
	}
	return 1;
}

static void add_escaped(struct buf *b, const char *v, size_t n, int quoted)
{
	static const char hexd[] = "0123456789abcdef";
	size_t i = 0, len;
	uint32_t cp;

	while (i < n) {
		unsigned char c = (unsigned char)v[i];

		if (quoted && (c == '"' || c == '\\')) {
			buf_add_u8(b, '\\');
			buf_add_u8(b, c);
			i++;
			continue;
		}
		len = utf8_char(v + i, n - i, &cp);
		if (len == 0) {
			buf_addf(b, "\\x%c%c", hexd[c >> 4], hexd[c & 15]);
			i++;
		} else if (!hidden(cp)) {
			buf_add(b, v + i, len);
			i += len;
		} else {
			if (cp == '\n')
				buf_addf(b, "\\n");
			else if (cp == '\r')
				buf_addf(b, "\\r");
			else if (cp == '\t')
				buf_addf(b, "\\t");
			else if (cp < 0x80)
				buf_addf(b, "\\x%c%c", hexd[cp >> 4], hexd[cp & 15]);
			else
				buf_addf(b, "\\u%04x", (unsigned)cp);
			i += len;
		}
	}
}

/* One value, escaped for where it stands; padded to width. */
static void add_value(struct buf *b, const char *v, size_t n, enum ctx ctx, int width, int left)
{
	size_t start = b->len, out;
	int quote;

	if (ctx == CTX_VALUE)
		quote = !plain(v, n);
	else if (ctx == CTX_FREE)
		quote = memchr(v, '=', n) != NULL;
	else
		quote = 0;
	if (quote)
		buf_add_u8(b, '"');
	add_escaped(b, v, n, quote || ctx == CTX_QUOTED);
	if (quote)
		buf_add_u8(b, '"');
	out = b->len - start;
	if (width > 0 && out < (size_t)width) {
		size_t pad = (size_t)width - out;

		buf_extend(b, pad);
		if (!left) {
			memmove(b->data + start + pad, b->data + start, out);
			memset(b->data + start, ' ', pad);
		} else {
			memset(b->data + start + out, ' ', pad);
		}
		b->data[b->len] = '\0';
	}
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
/* A number as printf writes it, with its own one-conversion spec. */
#define ADD_NUM(b, spec, val) buf_addf(b, spec, val)

/* printf for the log: numbers as printf writes them, %s and %c escaped. */
static void log_format(struct buf *b, const char *fmt, va_list ap)
{
	const char *p = fmt;
	char last = 0;
	int in_quotes = 0;

	while (*p) {
		char spec[48], len[3] = "";
		size_t sl = 0;
		int width = 0, prec = -1, left = 0;
		enum ctx ctx;

		if (*p != '%') {
			if (*p == '"')
				in_quotes = !in_quotes;
			last = *p;
			buf_add_u8(b, (uint8_t)*p++);
			continue;
		}
		p++;
		if (*p == '%') {
			buf_add_u8(b, '%');
			last = '%';
			p++;
			continue;
		}
		ctx = in_quotes ? CTX_QUOTED : last == '=' ? CTX_VALUE : CTX_FREE;
		last = 0;
		spec[sl++] = '%';
		while (*p && strchr("-+ #0", *p)) {
			if (*p == '-')
				left = 1;
			if (sl < 8)
				spec[sl++] = *p;
			p++;
		}
		if (*p == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				left = 1;
				width = -width;
			}
			p++;
		} else {
			while (*p >= '0' && *p <= '9')
				width = width * 10 + (*p++ - '0');
		}
		if (*p == '.') {
			p++;
			prec = 0;
			if (*p == '*') {
				prec = va_arg(ap, int);
				p++;
			} else {
				while (*p >= '0' && *p <= '9')
					prec = prec * 10 + (*p++ - '0');
			}
		}
		if (width > 4096)
			width = 4096;
		if (prec > 4096)
			prec = 4096;
		if ((p[0] == 'h' && p[1] == 'h') || (p[0] == 'l' && p[1] == 'l')) {
			len[0] = p[0];
			len[1] = p[1];
			p += 2;
		} else if (*p && strchr("hljztL", *p)) {
			len[0] = *p++;
		}
		if (*p == 's' || *p == 'c') {
			const char *v;
			char c;
			size_t n;

			if (*p == 'c') {
				c = (char)va_arg(ap, int);
				v = &c;
				n = 1;
			} else {
				v = va_arg(ap, const char *);
				if (v == NULL)
					v = "(null)";
				n = prec >= 0 ? strnlen(v, (size_t)prec) : strlen(v);
			}
			add_value(b, v, n, ctx, width, left);
			p++;
			continue;
		}
		if (*p == '\0' || !strchr("diouxXeEfFgGaApn", *p)) {
			buf_addf(b, "%%?");
			if (*p)
				p++;
			continue;
		}
		sl += (size_t)snprintf(spec + sl, sizeof(spec) - sl, "%d", width);
		if (prec >= 0)
			sl += (size_t)snprintf(spec + sl, sizeof(spec) - sl, ".%d", prec);
		sl += (size_t)snprintf(spec + sl, sizeof(spec) - sl, "%s%c", len, *p);
		switch (*p++) {
		case 'd':
		case 'i':
			if (strcmp(len, "ll") == 0)
				ADD_NUM(b, spec, va_arg(ap, long long));
			else if (strcmp(len, "l") == 0)
				ADD_NUM(b, spec, va_arg(ap, long));
			else if (strcmp(len, "j") == 0)
				ADD_NUM(b, spec, va_arg(ap, intmax_t));
			else if (strcmp(len, "z") == 0)
				ADD_NUM(b, spec, va_arg(ap, ssize_t));
			else if (strcmp(len, "t") == 0)
				ADD_NUM(b, spec, va_arg(ap, ptrdiff_t));
			else
				ADD_NUM(b, spec, va_arg(ap, int));
			break;
		case 'o':
		case 'u':
		case 'x':
		case 'X':
			if (strcmp(len, "ll") == 0)
				ADD_NUM(b, spec, va_arg(ap, unsigned long long));
			else if (strcmp(len, "l") == 0)
				ADD_NUM(b, spec, va_arg(ap, unsigned long));
			else if (strcmp(len, "j") == 0)
				ADD_NUM(b, spec, va_arg(ap, uintmax_t));
			else if (strcmp(len, "z") == 0)
				ADD_NUM(b, spec, va_arg(ap, size_t));
			else if (strcmp(len, "t") == 0)
				ADD_NUM(b, spec, va_arg(ap, ptrdiff_t));
			else
				ADD_NUM(b, spec, va_arg(ap, unsigned));
			break;
		case 'p':
			ADD_NUM(b, spec, va_arg(ap, void *));
			break;
		case 'n':
			(void)va_arg(ap, void *); /* never written */
			break;
		default: /* e E f F g G a A */
			if (strcmp(len, "L") == 0)
				ADD_NUM(b, spec, va_arg(ap, long double));
			else
				ADD_NUM(b, spec, va_arg(ap, double));
			break;
		}
	}
}
#pragma GCC diagnostic pop

char *log_vformat(const char *fmt, va_list ap)
{
	struct buf b;
	size_t n;

	buf_init(&b, 0);
	log_format(&b, fmt, ap);
	buf_add_u8(&b, 0);
	return (char *)buf_steal(&b, &n);
}

char *log_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = log_vformat(fmt, ap);
	va_end(ap);
	return s;
}

static void log_v(const char *level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void log_v(const char *level, const char *fmt, va_list ap)
{
	struct buf b;

	buf_init(&b, 0);
	buf_addf(&b, "coffer: %s", level);
	log_format(&b, fmt, ap);
	buf_add_u8(&b, '\n');
	pthread_mutex_lock(&log_lock);
	fwrite(b.data, 1, b.len, stderr);
	pthread_mutex_unlock(&log_lock);
	buf_clear(&b);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_quiet)
		return;
	va_start(ap, fmt);
	log_v("", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v("warning: ", fmt, ap);
	va_end(ap);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v("error: ", fmt, ap);
	va_end(ap);
}
