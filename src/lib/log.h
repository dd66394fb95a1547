#ifndef COFFER_LOG_H
#define COFFER_LOG_H

/* Messages for people, on stderr, prefixed "coffer: ". Secrets never go
 * here. log_set_quiet() silences info lines (warnings still show).
 *
 * The format is printf's; every value a %s or %c brings in is escaped
 * (log.c says how): it cannot start a new line, and after "=" or inside
 * quotes of the format it cannot pass for more than one key=value pair.
 * So call sites pass values raw (log_info("event=x name=%s", name)) and
 * never build fragments of the format with %s. */

#include <stdarg.h>

void log_set_quiet(int quiet);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The text a log line would hold after "coffer: " (tests); caller frees. */
char *log_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *log_vformat(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
