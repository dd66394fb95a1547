/* Times read from people and protocols (src/lib/timeutil.h): the one
 * parser behind the CLI's --since/--until, the API's since, until and
 * "before" and COFFER_POINT_TIME; whole days; timed-wait deadlines. */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "lib/error.h"
#include "lib/timeutil.h"

#include "harness.h"

#define NS 1000000000LL

static void test_rfc3339_forms(void)
{
	int64_t ns = 0;

	CHECK(time_parse("2026-03-01T12:00:00Z", 0, &ns) == 0);
	CHECK(ns == 1772366400LL * NS);
	/* lowercase t and z, a space for the T */
	CHECK(time_parse("2026-03-01t12:00:00z", 0, &ns) == 0 && ns == 1772366400LL * NS);
	CHECK(time_parse("2026-03-01 12:00:00Z", 0, &ns) == 0 && ns == 1772366400LL * NS);
	/* an offset: 13:00 at +01:00 is 12:00 UTC; -00:30 the other way */
	CHECK(time_parse("2026-03-01T13:00:00+01:00", 0, &ns) == 0);
	CHECK(ns == 1772366400LL * NS);
	CHECK(time_parse("2026-03-01T11:30:00-00:30", 0, &ns) == 0);
	CHECK(ns == 1772366400LL * NS);
	/* an offset that moves the time into the day before */
	CHECK(time_parse("2026-03-01T00:30:00+01:00", 0, &ns) == 0);
	CHECK(ns == (1772323200LL - 1800) * NS);
	/* fractions to the nanosecond; digits beyond it are read and dropped */
	CHECK(time_parse("2026-03-01T12:00:00.5Z", 0, &ns) == 0);
	CHECK(ns == 1772366400LL * NS + 500000000);
	CHECK(time_parse("2026-03-01T12:00:00.1234567891Z", 0, &ns) == 0);
	CHECK(ns == 1772366400LL * NS + 123456789);
	/* typed by hand: no seconds, no zone (UTC then); a day alone has no
	 * end-of-day meaning for a full time */
	CHECK(time_parse("2026-03-01T12:00", 0, &ns) == 0 && ns == 1772366400LL * NS);
	CHECK(time_parse("2026-03-01T12:00Z", 0, &ns) == 0 && ns == 1772366400LL * NS);
	CHECK(time_parse("2026-03-01T12:00:00", TIME_END_OF_DAY, &ns) == 0);
	CHECK(ns == 1772366400LL * NS);
	/* leap days */
	CHECK(time_parse("2024-02-29T12:00:00Z", 0, &ns) == 0 && ns == 1709208000LL * NS);
	CHECK(time_parse("2000-02-29T00:00:00Z", 0, &ns) == 0 && ns == 951782400LL * NS);
	/* the epoch and the last second are in range */
	CHECK(time_parse("1970-01-01T00:00:00Z", 0, &ns) == 0 && ns == 0);
	CHECK(time_parse("2262-04-11T23:47:15Z", 0, &ns) == 0);
	CHECK(ns == TIME_SECONDS_MAX * NS);
out:;
}

static void test_seconds(void)
{
	int64_t ns = 0;

	CHECK(time_parse("1772366400", 0, &ns) == 0 && ns == 1772366400LL * NS);
	CHECK(time_parse("@1772366400", 0, &ns) == 0 && ns == 1772366400LL * NS);
	CHECK(time_parse("0", 0, &ns) == 0 && ns == 0);
	/* digits alone are seconds, even where they look like a year */
	CHECK(time_parse("2026", 0, &ns) == 0 && ns == 2026 * NS);
	CHECK(time_parse("@0", TIME_END_OF_DAY, &ns) == 0 && ns == 0);
	CHECK(time_parse("9223372035", 0, &ns) == 0 && ns == TIME_SECONDS_MAX * NS);
	/* past 2262, overflowing, negative: well formed, out of range */
	CHECK(time_parse("9223372036", 0, &ns) == -2);
	CHECK(time_parse("99999999999999999999999", 0, &ns) == -2);
	CHECK(time_parse("-1", 0, &ns) == -2);
	CHECK(time_parse("@-1", 0, &ns) == -2);
	/* not numbers */
	CHECK(time_parse("@", 0, &ns) == -1);
	CHECK(time_parse("@@5", 0, &ns) == -1);
	CHECK(time_parse("+5", 0, &ns) == -1);
	CHECK(time_parse(" 5", 0, &ns) == -1);
	CHECK(time_parse("5 ", 0, &ns) == -1);
	CHECK(time_parse("5s", 0, &ns) == -1);
	CHECK(time_parse("@2026-03-01", 0, &ns) == -1);
	CHECK(ns == TIME_SECONDS_MAX * NS); /* untouched by the failures */
out:;
}

static void test_rfc3339_refused(void)
{
	static const char *const bad[] = {
		"", "2026-03", "2026-3-01T12:00:00Z", "2026-03-1", "2026-03-01T12",
		"2026-03-01T12:00:00Zjunk", "2026-03-01T", "2026-13-01T12:00:00Z", "2026-00-01",
		"2026-03-00", "2026-03-32T12:00:00Z", "2026-03-01T24:00:00Z", "2026-03-01T12:60:00Z",
		"2026-03-01T12:00:00+1:00", "2026-03-01T12:00:00+24:00", "2026-03-01T12:00:00+01",
		"2026-03-01X12:00:00Z", "2026-02-29T12:00:00Z", "2026-04-31T12:00:00Z",
		"2026-03-01T12:00.5Z", "2026-03-01T12:00:00.Z", "2026-03-01T12:00:0Z",
		"2026-03-01T12:00:00ZZ", " 2026-03-01", "2026-03-01 ", "yesterday",
		"1900-02-29", "2100-02-29",
	};
	int64_t ns = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECKF(time_parse(bad[i], 0, &ns) == -1, "\"%s\" was not refused", bad[i]);
	CHECK(ns == 42); /* untouched */
	/* well formed but outside what nanoseconds in an int64 hold */
	CHECK(time_parse("1969-12-31T23:59:59Z", 0, &ns) == -2);
	CHECK(time_parse("1970-01-01T00:59:59+01:00", 0, &ns) == -2);
	CHECK(time_parse("1969-12-31", 0, &ns) == -2);
	CHECK(time_parse("2263-01-01T00:00:00Z", 0, &ns) == -2);
	CHECK(time_parse("2262-04-11T23:47:16Z", 0, &ns) == -2);
	CHECK(time_parse("9999-12-31T23:59:59Z", 0, &ns) == -2);
	CHECK(ns == 42);
out:;
}

static void test_day(void)
{
	int64_t t = 0;

	CHECK(time_parse("2024-03-04", 0, &t) == 0 && t == 1709510400 * NS);
	CHECK(time_parse("2024-03-04", TIME_END_OF_DAY, &t) == 0);
	CHECK(t == (1709510400 + 86400) * NS);
	/* the end of a month's last day is the next month's start */
	CHECK(time_parse("2024-02-29", TIME_END_OF_DAY, &t) == 0 && t == 1709251200 * NS);
	CHECK(time_parse("2024-12-31", TIME_END_OF_DAY, &t) == 0 && t == 1735689600 * NS);
	/* a day the month lacks is refused, not carried into the next month */
	CHECK(time_parse("2023-02-29", 0, &t) == -1);
	CHECK(time_parse("2024-06-31", TIME_END_OF_DAY, &t) == -1);
	/* the last whole day in range ends past it */
	CHECK(time_parse("2262-04-10", TIME_END_OF_DAY, &t) == 0);
	CHECK(time_parse("2262-04-11", 0, &t) == 0);
	CHECK(time_parse("2262-04-11", TIME_END_OF_DAY, &t) == -2);
out:;
}

/* The messages name the field and the value. */
static void test_field(void)
{
	struct error err;
	int64_t ns = 0;

	error_init(&err);
	CHECK(time_parse_field("--since", "2026-03-01", 0, &ns, &err) == 0);
	CHECK(ns == 1772323200LL * NS);
	CHECK(time_parse_field("--since", "soon", 0, &ns, &err) == -1);
	CHECK(err.code == ERROR_USAGE && strstr(err.msg, "--since") && strstr(err.msg, "\"soon\""));
	CHECK(strstr(err.msg, "not a time") != NULL);
	error_init(&err);
	CHECK(time_parse_field("until", "9999999999", 0, &ns, &err) == -1);
	CHECK(strstr(err.msg, "until") && strstr(err.msg, "9999999999") &&
	      strstr(err.msg, "out of range"));
	error_init(&err);
	CHECK(time_parse_field("before", NULL, 0, &ns, &err) == -1 && err.code == ERROR_USAGE);
out:;
}

static void test_deadline(void)
{
	struct timespec now, ts;

	clock_gettime(CLOCK_REALTIME, &now);
	time_deadline_ms(&ts, 1999);
	CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L);
	/* 1.999 s on: one or two whole seconds later, never less, never more */
	CHECK(ts.tv_sec >= now.tv_sec + 1 && ts.tv_sec <= now.tv_sec + 3);
	CHECK(ts.tv_sec > now.tv_sec + 1 || ts.tv_nsec >= now.tv_nsec);
out:;
}

/* ISO weeks start on Monday 00:00 UTC; 1970-01-01 was a Thursday. */
static void test_iso_week(void)
{
	int64_t mon = 1710115200; /* Monday 2024-03-11 00:00:00 UTC */

	CHECK(time_iso_week(mon) == time_iso_week(mon + 7 * 86400 - 1));  /* to Sunday 23:59:59 */
	CHECK(time_iso_week(mon - 1) == time_iso_week(mon) - 1);          /* Sunday before */
	CHECK(time_iso_week(mon + 7 * 86400) == time_iso_week(mon) + 1);
	CHECK(time_iso_week(0) == 0);                                     /* Thursday */
	CHECK(time_iso_week(-3 * 86400) == 0 && time_iso_week(-3 * 86400 - 1) == -1);
	CHECK(time_iso_week(4 * 86400) == 1);                             /* Monday 1970-01-05 */
out:;
}

const struct unit_test timeutil_tests[] = {
	{ "timeutil_iso_week", test_iso_week },
	{ "timeutil_rfc3339_forms", test_rfc3339_forms },
	{ "timeutil_rfc3339_refused", test_rfc3339_refused },
	{ "timeutil_seconds", test_seconds },
	{ "timeutil_day", test_day },
	{ "timeutil_field", test_field },
	{ "timeutil_deadline", test_deadline },
	{ NULL, NULL },
};
