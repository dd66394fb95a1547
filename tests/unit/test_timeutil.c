/* Times read from people and protocols (src/lib/timeutil.h): the RFC 3339
 * parser behind the API's "before", since and until; whole days; timed-wait
 * deadlines. */
#include <stdint.h>
#include <time.h>

#include "lib/timeutil.h"

#include "harness.h"

#define NS 1000000000LL

static void test_rfc3339_forms(void)
{
	int64_t ns = 0;

	CHECK(time_parse_rfc3339("2026-03-01T12:00:00Z", &ns) == 0);
	CHECK(ns == 1772366400LL * NS);
	/* lowercase t and z, a space for the T */
	CHECK(time_parse_rfc3339("2026-03-01t12:00:00z", &ns) == 0 && ns == 1772366400LL * NS);
	CHECK(time_parse_rfc3339("2026-03-01 12:00:00Z", &ns) == 0 && ns == 1772366400LL * NS);
	/* an offset: 13:00 at +01:00 is 12:00 UTC; -00:30 the other way */
	CHECK(time_parse_rfc3339("2026-03-01T13:00:00+01:00", &ns) == 0);
	CHECK(ns == 1772366400LL * NS);
	CHECK(time_parse_rfc3339("2026-03-01T11:30:00-00:30", &ns) == 0);
	CHECK(ns == 1772366400LL * NS);
	/* fractions to the nanosecond; digits beyond it are read and dropped */
	CHECK(time_parse_rfc3339("2026-03-01T12:00:00.5Z", &ns) == 0);
	CHECK(ns == 1772366400LL * NS + 500000000);
	CHECK(time_parse_rfc3339("2026-03-01T12:00:00.1234567891Z", &ns) == 0);
	CHECK(ns == 1772366400LL * NS + 123456789);
	/* the epoch is in range */
	CHECK(time_parse_rfc3339("1970-01-01T00:00:00Z", &ns) == 0 && ns == 0);
out:;
}

static void test_rfc3339_refused(void)
{
	static const char *const bad[] = {
		"", "2026", "2026-03-01", "2026-03-01T12:00", "2026-03-01T12:00:00",
		"2026-3-01T12:00:00Z", "2026-03-01T12:00:00Zjunk", "2026-13-01T12:00:00Z",
		"2026-03-32T12:00:00Z", "2026-03-01T24:00:00Z", "2026-03-01T12:60:00Z",
		"2026-03-01T12:00:00+1:00", "2026-03-01T12:00:00+24:00", "2026-03-01X12:00:00Z",
		"1772366400", "2026-02-29T12:00:00Z", "2026-04-31T12:00:00Z",
	};
	int64_t ns = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECKF(time_parse_rfc3339(bad[i], &ns) == -1, "\"%s\" was not refused", bad[i]);
	CHECK(ns == 42); /* untouched */
	/* well formed but outside what nanoseconds in an int64 hold */
	CHECK(time_parse_rfc3339("1969-12-31T23:59:59Z", &ns) == -2);
	CHECK(time_parse_rfc3339("2263-01-01T00:00:00Z", &ns) == -2);
	CHECK(ns == 42);
out:;
}

static void test_day(void)
{
	int64_t t = 0;

	CHECK(time_parse_day("2024-03-04", 0, &t) == 0 && t == 1709510400);
	CHECK(time_parse_day("2024-03-04", 1, &t) == 0 && t == 1709510400 + 86400);
	/* the end of a month's last day is the next month's start */
	CHECK(time_parse_day("2024-02-29", 1, &t) == 0 && t == 1709251200);
	CHECK(time_parse_day("2024-12-31", 1, &t) == 0 && t == 1735689600);
	CHECK(time_parse_day("2024-03-04T00:00:00Z", 0, &t) == -1);
	CHECK(time_parse_day("2024-03", 0, &t) == -1);
	CHECK(time_parse_day("yesterday", 0, &t) == -1);
	/* a day the month lacks is refused, not carried into the next month */
	CHECK(time_parse_day("2023-02-29", 0, &t) == -1);
	CHECK(time_parse_day("2024-06-31", 1, &t) == -1);
	CHECK(time_parse_rfc3339("2024-02-29T12:00:00Z", &(int64_t){ 0 }) == 0);
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
	{ "timeutil_day", test_day },
	{ "timeutil_deadline", test_deadline },
	{ NULL, NULL },
};
