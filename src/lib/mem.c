#include "mem.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *check(void *p, size_t size)
{
	if (p == NULL && size != 0) {
		fprintf(stderr, "coffer: out of memory allocating %zu bytes\n", size);
		abort();
	}
	return p;
}

void *xmalloc(size_t size) { return check(malloc(size ? size : 1), size); }

void *xcalloc(size_t n, size_t size)
{
	return check(calloc(n ? n : 1, size ? size : 1), xmul(n, size));
}

void *xrealloc(void *p, size_t size) { return check(realloc(p, size ? size : 1), size); }

char *xstrdup(const char *s) { return xstrndup(s, strlen(s)); }

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

size_t xmul(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size) {
		fprintf(stderr, "coffer: size overflow (%zu * %zu)\n", n, size);
		abort();
	}
	return n * size;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0) {
		fprintf(stderr, "coffer: out of memory formatting a string\n");
		abort();
	}
	return s;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}
