#ifndef COFFER_ERROR_H
#define COFFER_ERROR_H

/* The one way coffer reports failures: a function that can fail returns -1
 * and fills a struct error with a message that names the operation and the
 * object ("open(/a/b) failed: No such file or directory"). Callers add
 * context with error_prefix() as the error travels up. */

#include <stddef.h>

#define ERROR_MSG_MAX 1024

struct error {
	char msg[ERROR_MSG_MAX];
	int code; /* an ERROR_* kind, so callers can pick an exit code */
};

enum {
	ERROR_FAIL = 1,     /* generic failure */
	ERROR_USAGE = 2,    /* the user asked for something malformed */
	ERROR_KEY = 5,      /* wrong passphrase or key file */
	ERROR_VERSION = 6,  /* object written by a newer format */
	ERROR_CORRUPT = 7,  /* authentication or structure check failed */
	ERROR_NOTFOUND = 8, /* object does not exist */
	ERROR_EXISTS = 9,   /* put-if-absent found the name taken */
	ERROR_LOCKED = 10,  /* refused: a restore point is retained (docs/format.md 7),
			     * or the server locks the object (S3 Object Lock) */
	ERROR_CONFLICT = 11, /* someone else holds it now (a job's lease was taken
			      * over): the caller must stop writing */
};

void error_init(struct error *err);

/* Sets the message (printf-style); returns -1 so callers can
 * `return error_set(err, ...)`. */
int error_set(struct error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like error_set(), with a kind. */
int error_setk(struct error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like error_set() and appends ": strerror(errno)"; keeps errno. */
int error_sys(struct error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prepends "context: " to the message; returns -1. */
int error_prefix(struct error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
