#ifndef COFFER_MEM_H
#define COFFER_MEM_H

/* Allocation that cannot fail: on exhaustion coffer prints a message and
 * aborts, since no caller could do better (as git's xmalloc). */

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* n * size, aborting on overflow. */
size_t xmul(size_t n, size_t size);
/* A formatted string the caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
