/* The thinning rule of expiry (src/service/thinning.h, docs/service.md). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/thinning.h"

#include "harness.h"

#define DAY 86400
#define HOUR 3600

/* Runs the rule and compares with want[] ("1" forget, "0" keep). */
static int thin_expect(const int64_t *t, size_t n, int64_t now, int64_t recent,
		       int64_t retention, const char *want)
{
	uint8_t got[64];
	char s[65];
	size_t i;

	memset(got, 0xee, sizeof(got));
	thinning_select(t, n, now, recent, retention, got);
	for (i = 0; i < n; i++)
		s[i] = got[i] == 1 ? '1' : got[i] == 0 ? '0' : '?';
	s[n] = '\0';
	if (strcmp(s, want) != 0) {
		th_fail(__FILE__, __LINE__, "forget flags %s, expected %s", s, want);
		return -1;
	}
	return 0;
}

static void test_empty_and_one(void)
{
	int64_t one = 1000;
	uint8_t flag = 0xee;

	thinning_select(NULL, 0, 1700000000, 14, 365, &flag);
	CHECK(flag == 0xee); /* nothing written */
	/* One point, far beyond retention: still the newest, so kept. */
	CHECK(thin_expect(&one, 1, 1700000000, 14, 365, "0") == 0);
	/* One recent point. */
	one = 1700000000 - HOUR;
	CHECK(thin_expect(&one, 1, 1700000000, 14, 365, "0") == 0);
out:;
}

static void test_all_recent_kept(void)
{
	int64_t now = 1710331200, t[8];
	size_t i;

	/* Many points the same day and 13 days back: all inside the window. */
	for (i = 0; i < 8; i++)
		t[i] = now - 13 * DAY + (int64_t)i * 600;
	CHECK(thin_expect(t, 8, now, 14, 365, "00000000") == 0);
out:;
}

static void test_all_old(void)
{
	int64_t now = 1740787200, t[5];
	size_t i;

	/* All older than retention: everything goes but the newest. */
	for (i = 0; i < 5; i++)
		t[i] = now - 400 * DAY + (int64_t)i * 7 * DAY;
	CHECK(thin_expect(t, 5, now, 14, 365, "11110") == 0);
out:;
}

/* A point exactly recent_days old is no longer "younger than" it: it is
 * thinned; one second younger is kept. now is a Wednesday noon, so all
 * three old points fall in one week. */
static void test_exactly_recent(void)
{
	int64_t now = 1710331200; /* 2024-03-13 12:00 Wednesday */
	int64_t t[4] = { now - 14 * DAY - HOUR, now - 14 * DAY, now - 14 * DAY + 1, now };

	CHECK(thin_expect(t, 4, now, 14, 365, "1100") == 0);
	/* With a 15-day window all of them are recent. */
	CHECK(thin_expect(t, 4, now, 15, 365, "0000") == 0);
out:;
}

/* Sunday 23:59:59 and Monday 00:00:00 are in different weeks. */
static void test_week_boundary(void)
{
	int64_t mon = 1704067200; /* 2024-01-01 00:00 Monday */
	int64_t now = mon + 60 * DAY;
	int64_t t[5] = { mon - 14 * HOUR, mon - 1, mon, mon + 12 * HOUR, now };

	CHECK(thin_expect(t, 5, now, 14, 365, "10100") == 0);
out:;
}

/* ISO weeks run across new year: Mon 2024-12-30 .. Sun 2025-01-05 is one
 * week (2025-W01), Sun 2024-12-29 belongs to 2024-W52. */
static void test_week_across_year(void)
{
	int64_t now = 1740787200; /* 2025-03-01 */
	int64_t t[6] = { 1735473600, 1735560000, 1735732800, 1736078400, 1736164800, now };

	CHECK(thin_expect(t, 6, now, 14, 365, "011000") == 0);
out:;
}

/* A point exactly retention_days old is inside retention; one second
 * older is outside. now - 365 days is Monday 00:00, so the two old points
 * are in different weeks and only retention tells them apart. */
static void test_retention_boundary(void)
{
	int64_t edge = 1709510400; /* 2024-03-04 00:00 Monday */
	int64_t now = edge + 365 * DAY;
	int64_t t[3] = { edge - 1, edge, now };

	CHECK(thin_expect(t, 3, now, 14, 365, "100") == 0);
	CHECK(thin_expect(t, 3, now, 14, 366, "000") == 0);
out:;
}

static void test_odd_settings(void)
{
	int64_t now = 1710331200;
	int64_t t[4] = { INT64_MIN, now - 10 * DAY, now + DAY, now + 2 * DAY };

	/* Points from the future (clock set back) are kept; INT64_MIN does not
	 * overflow the age; retention "for ever" does not overflow either. */
	CHECK(thin_expect(t, 4, now, 14, INT64_MAX, "0000") == 0);
	/* Retention 0 and negative: all but the recent-and-future ones go. */
	CHECK(thin_expect(t, 4, now, 14, 0, "1100") == 0);
	CHECK(thin_expect(t, 4, now, -5, -5, "1100") == 0);
	/* No recent window: the old point is alone in its week, so kept. */
	CHECK(thin_expect(t, 4, now, 0, 365, "1000") == 0);
out:;
}

/* Each point's own dates decide, whatever today's policy says: points
 * taken under a long retention keep it after the policy is shortened, and
 * a point taken under the short one goes when its own date passes. */
static void test_fixed_dates(void)
{
	int64_t now = 1710331200; /* a Wednesday */
	int64_t t[4] = { now - 10 * DAY, now - 9 * DAY, now - 3 * DAY, now - HOUR };
	int64_t keep[4], retain[4];
	uint8_t f[4];

	for (int i = 0; i < 4; i++) {
		keep[i] = t[i] + 14 * DAY;
		retain[i] = t[i] + 365 * DAY;
	}
	keep[2] = retain[2] = t[2] + DAY; /* taken after the policy was cut to a day */
	thinning_select_fixed(t, keep, retain, 4, now, f);
	CHECKF(f[0] == 0 && f[1] == 0 && f[2] == 1 && f[3] == 0, "flags %d%d%d%d", f[0], f[1],
	       f[2], f[3]);
	/* What the policy of the day (1 day) would have done to all of them. */
	CHECK(thin_expect(t, 4, now, 1, 1, "1110") == 0);
out:;
}

/* The week (Monday-based, UTC) of t, computed the independent way. */
static int64_t ref_week_start(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	int64_t day = t / DAY; /* t > 0 here */

	gmtime_r(&tt, &tm);
	return day - (tm.tm_wday + 6) % 7;
}

/* Hourly points over 400 days: the recent 14 days keep every point, then
 * exactly one point per week (its last) back to retention, then nothing. */
static void test_hourly_400_days(void)
{
	int64_t now = 1740787200 + 5 * HOUR, *t = NULL;
	uint8_t *f = NULL;
	size_t i, n = 400 * 24, kept_old = 0;

	t = calloc(n, sizeof(*t));
	f = calloc(n, 1);
	CHECK(t != NULL && f != NULL);
	for (i = 0; i < n; i++)
		t[i] = now - (int64_t)(n - 1 - i) * HOUR;
	thinning_select(t, n, now, 14, 365, f);
	for (i = 0; i < n; i++) {
		int64_t age = now - t[i];
		int last_of_week = i + 1 == n || ref_week_start(t[i + 1]) != ref_week_start(t[i]);

		if (age < 14 * DAY)
			CHECKF(f[i] == 0, "recent point %zu forgotten", i);
		else if (age > 365 * DAY)
			CHECKF(f[i] == 1, "point %zu beyond retention kept", i);
		else
			CHECKF(f[i] == !last_of_week, "point %zu: flag %d, last of week %d", i,
			       f[i], last_of_week);
		if (age >= 14 * DAY && f[i] == 0)
			kept_old++;
	}
	/* 351 days between the window and retention: 50 or 51 weeks touched. */
	CHECKF(kept_old >= 50 && kept_old <= 52, "%zu weekly points kept", kept_old);
out:
	free(t);
	free(f);
}

const struct unit_test thinning_tests[] = {
	{ "thinning_empty_and_one", test_empty_and_one },
	{ "thinning_all_recent_kept", test_all_recent_kept },
	{ "thinning_all_old", test_all_old },
	{ "thinning_exactly_recent", test_exactly_recent },
	{ "thinning_week_boundary", test_week_boundary },
	{ "thinning_week_across_year", test_week_across_year },
	{ "thinning_retention_boundary", test_retention_boundary },
	{ "thinning_fixed_dates", test_fixed_dates },
	{ "thinning_odd_settings", test_odd_settings },
	{ "thinning_hourly_400_days", test_hourly_400_days },
	{ NULL, NULL },
};
