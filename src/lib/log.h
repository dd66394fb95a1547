#ifndef COFFER_LOG_H
#define COFFER_LOG_H

/* Messages for people, on stderr, prefixed "coffer: ". Secrets never go
 * here. log_set_quiet() silences info lines (warnings still show). */

void log_set_quiet(int quiet);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
