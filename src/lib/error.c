#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void error_init(struct error *err)
{
	err->msg[0] = '\0';
	err->code = 0;
}

static void error_vset(struct error *err, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void error_vset(struct error *err, int code, const char *fmt, va_list ap)
{
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	err->code = code;
}

int error_set(struct error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(err, ERROR_FAIL, fmt, ap);
	va_end(ap);
	return -1;
}

int error_setk(struct error *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

int error_sys(struct error *err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	error_vset(err, saved == ENOENT ? ERROR_NOTFOUND :
		   saved == EEXIST ? ERROR_EXISTS : ERROR_FAIL, fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

int error_prefix(struct error *err, const char *fmt, ...)
{
	char head[ERROR_MSG_MAX], old[ERROR_MSG_MAX];
	size_t len, old_len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	len = strlen(head);
	if (len > sizeof(err->msg) - 3)
		len = sizeof(err->msg) - 3;
	memcpy(err->msg, head, len);
	memcpy(err->msg + len, ": ", 2);
	len += 2;
	old_len = strnlen(old, sizeof(old) - 1);
	if (old_len > sizeof(err->msg) - 1 - len)
		old_len = sizeof(err->msg) - 1 - len;
	memcpy(err->msg + len, old, old_len);
	err->msg[len + old_len] = '\0';
	return -1;
}
