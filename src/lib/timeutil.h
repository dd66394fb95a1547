#ifndef COFFER_TIMEUTIL_H
#define COFFER_TIMEUTIL_H

/* Times read from people and protocols, and deadlines for timed waits. */

#include <stdint.h>

struct error;
struct timespec;

/* The latest Unix seconds time_parse() takes: nanoseconds in an int64 end
 * early in 2262. */
#define TIME_SECONDS_MAX (INT64_MAX / 1000000000 - 1)

/* time_parse() flags. A day alone means its start; with TIME_END_OF_DAY
 * the next day's start, as an inclusive "until" wants. */
#define TIME_END_OF_DAY 1

/* A time a person or a client typed, the one grammar of every CLI flag,
 * query parameter and request field that takes a time (docs/cli.md,
 * docs/api.md), into Unix nanoseconds:
 *   1767323045, @1767323045   Unix seconds (the "@" as date(1) writes it)
 *   2026-01-02                a day, UTC (see TIME_END_OF_DAY)
 *   2026-01-02T03:04:05Z      RFC 3339; the seconds (":05"), fractions
 *                             (".25") and zone may be left out, and then
 *                             the time is UTC; a zone is "Z" or an offset
 *                             "+01:00"; a "t" or a space may stand for "T"
 * Returns 0; -1 when s is none of these; -2 when it is one but before 1970
 * or after TIME_SECONDS_MAX. *ns_r is untouched on failure. */
int time_parse(const char *s, int flags, int64_t *ns_r);

/* time_parse() of the value of `field` (as the user knows it: "--since",
 * "until", "\"before\""): on failure an ERROR_USAGE that names the field
 * and the value. */
int time_parse_field(const char *field, const char *s, int flags, int64_t *ns_r,
		     struct error *err);

/* Unix seconds as RFC 3339 UTC, "2026-11-21T07:53:04Z", into buf: the
 * form every time is shown in (CLI --json, API). */
void time_format(int64_t unix_s, char buf[32]);

/* The ISO week (UTC, weeks start on Monday 00:00) of t, Unix seconds, as
 * a count of weeks since the Monday before the epoch (1970-01-01 was a
 * Thursday): two times are in the same ISO week exactly when their
 * numbers are equal. Negative times are floored, not truncated. */
int64_t time_iso_week(int64_t t_s);

/* *ts = CLOCK_REALTIME now + ms: the deadline pthread_cond_timedwait()
 * wants (it measures against that clock). */
void time_deadline_ms(struct timespec *ts, int64_t ms);

#endif
