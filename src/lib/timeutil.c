/* Times read from people and protocols, and deadlines for timed waits. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/error.h"
#include "lib/parse.h"
#include "lib/timeutil.h"

/* n digits at *p into *v; advances p. */
static int take_digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		*v = *v * 10 + (**p - '0');
	}
	return 0;
}

static int take_char(const char **p, const char *set)
{
	if (**p == '\0' || strchr(set, **p) == NULL)
		return -1;
	(*p)++;
	return 0;
}

/* Days in month mo (1..12) of year y: timegm() would carry a 31 February
 * into March rather than refuse it. */
static int month_days(int y, int mo)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);

	return mo == 2 && leap ? 29 : days[mo - 1];
}

/* Unix seconds of y-mo-d h:mi:sec UTC, fields already checked; the year
 * has four digits, so nothing here overflows. */
static int64_t utc_seconds(int y, int mo, int d, int h, int mi, int sec)
{
	struct tm tm = { 0 };

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return (int64_t)timegm(&tm);
}

/* "YYYY-MM-DD", then nothing (a day) or a time of day: [Tt ]HH:MM, then
 * optional :SS, optional .fraction (after seconds only) and an optional
 * zone (UTC without one). 0 with *t_r in seconds and *frac_r in ns; -1
 * when malformed. */
static int parse_date_time(const char *s, int flags, int64_t *t_r, int64_t *frac_r)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
	int64_t frac = 0, scale = 1000000000;

	if (take_digits(&p, 4, &y) < 0 || take_char(&p, "-") < 0 || take_digits(&p, 2, &mo) < 0 ||
	    take_char(&p, "-") < 0 || take_digits(&p, 2, &d) < 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo))
		return -1;
	if (*p == '\0') {
		/* timegm() carries the 32nd into the next month */
		*t_r = utc_seconds(y, mo, d + ((flags & TIME_END_OF_DAY) != 0), 0, 0, 0);
		*frac_r = 0;
		return 0;
	}
	if (take_char(&p, "Tt ") < 0 || take_digits(&p, 2, &h) < 0 || take_char(&p, ":") < 0 ||
	    take_digits(&p, 2, &mi) < 0)
		return -1;
	if (*p == ':') {
		p++;
		if (take_digits(&p, 2, &sec) < 0)
			return -1;
		if (*p == '.') {
			if (p[1] < '0' || p[1] > '9')
				return -1;
			/* digits past the nanosecond are read and dropped */
			for (p++; *p >= '0' && *p <= '9'; p++)
				if (scale > 1) {
					scale /= 10;
					frac += (*p - '0') * scale;
				}
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (take_digits(&p, 2, &oh) < 0 || take_char(&p, ":") < 0 ||
		    take_digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
			return -1;
	}
	if (*p != '\0' || h > 23 || mi > 59 || sec > 60)
		return -1;
	*t_r = utc_seconds(y, mo, d, h, mi, sec) - sign * (oh * 3600 + om * 60);
	*frac_r = frac;
	return 0;
}

int time_parse(const char *s, int flags, int64_t *ns_r)
{
	int64_t t, frac;
	int r;

	/* Unix seconds: digits alone, or after an '@'; a sign makes them
	 * well formed but before 1970. */
	r = parse_int(s[0] == '@' ? s + 1 : s, 0, TIME_SECONDS_MAX, &t);
	if (r == 0) {
		*ns_r = t * 1000000000;
		return 0;
	}
	if (r == -2 || s[0] == '@')
		return r;
	if (parse_date_time(s, flags, &t, &frac) < 0)
		return -1;
	if (t < 0 || t > TIME_SECONDS_MAX)
		return -2;
	*ns_r = t * 1000000000 + frac;
	return 0;
}

int time_parse_field(const char *field, const char *s, int flags, int64_t *ns_r,
		     struct error *err)
{
	int r = s ? time_parse(s, flags, ns_r) : -1;

	if (r == -2)
		return error_setk(err, ERROR_USAGE, "%s: \"%.40s\" is out of range (1970 to 2262)",
				  field, s);
	if (r < 0)
		return error_setk(err, ERROR_USAGE, "%s: \"%.40s\" is not a time (Unix seconds, "
				  "YYYY-MM-DD or RFC 3339 like 2026-01-02T03:04:05Z)", field,
				  s ? s : "");
	return 0;
}

void time_format(int64_t unix_s, char buf[32])
{
	struct tm tm;
	time_t t = (time_t)unix_s;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "@%lld", (long long)unix_s);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t time_iso_week(int64_t t_s)
{
	return floor_div(floor_div(t_s, 86400) + 3, 7);
}

void time_deadline_ms(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}
