/* Whole numbers a person or a client typed (lib/parse.h). */
#include <stddef.h>

#include "lib/error.h"
#include "lib/parse.h"

int parse_int(const char *s, int64_t min, int64_t max, int64_t *v_r)
{
	const char *p = s;
	int neg = 0, over = 0;
	uint64_t v = 0;
	int64_t n;

	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (*p < '0' || *p > '9')
		return -1;
	/* Accumulate the magnitude in a uint64 (INT64_MIN's fits); past
	 * 2^63 it is out of range whatever the sign, but the rest must still
	 * be digits for the string to be a number at all. */
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > ((uint64_t)INT64_MAX + 1 - (uint64_t)(*p - '0')) / 10)
			over = 1;
		else
			v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p != '\0')
		return -1;
	if (over || (!neg && v > (uint64_t)INT64_MAX))
		return -2;
	n = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
	if (n < min || n > max)
		return -2;
	*v_r = n;
	return 0;
}

int parse_int_field(const char *field, const char *s, int64_t min, int64_t max, int64_t *v_r,
		    struct error *err)
{
	if (s != NULL && parse_int(s, min, max, v_r) == 0)
		return 0;
	return error_setk(err, ERROR_USAGE, "%s: \"%.40s\" is not a whole number from %lld to %lld",
			  field, s ? s : "", (long long)min, (long long)max);
}

int parse_digits(const char *p, size_t len, int64_t *v_r)
{
	uint64_t x = 0;
	size_t i;

	if (len == 0 || len > 18)
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(p[i] - '0');
	}
	*v_r = (int64_t)x;
	return 0;
}
