#ifndef COFFER_TIMEUTIL_H
#define COFFER_TIMEUTIL_H

/* Times read from people and protocols, and deadlines for timed waits. */

#include <stdint.h>

struct timespec;

/* "2026-03-01T12:00:00Z", with optional fractions of a second and a
 * "+01:00" offset instead of the "Z" (a "t" or a space may stand for the
 * "T"), into Unix nanoseconds. 0; -1 when s is not such a time; -2 when it
 * is before 1970 or after 2262 (nanoseconds in an int64 end there). */
int time_parse_rfc3339(const char *s, int64_t *ns_r);

/* "YYYY-MM-DD" alone (UTC) into the Unix seconds of the day's start, or
 * with end_of_day of the next day's start; -1 for anything else. */
int time_parse_day(const char *s, int end_of_day, int64_t *t_r);

/* The ISO week (UTC, weeks start on Monday 00:00) of t, Unix seconds, as
 * a count of weeks since the Monday before the epoch (1970-01-01 was a
 * Thursday): two times are in the same ISO week exactly when their
 * numbers are equal. Negative times are floored, not truncated. */
int64_t time_iso_week(int64_t t_s);

/* *ts = CLOCK_REALTIME now + ms: the deadline pthread_cond_timedwait()
 * wants (it measures against that clock). */
void time_deadline_ms(struct timespec *ts, int64_t ms);

#endif
