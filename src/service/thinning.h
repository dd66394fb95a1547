#ifndef COFFER_THINNING_H
#define COFFER_THINNING_H

/* The thinning rule of expiry (docs/service.md, "Thinning"): which restore
 * points of one unit to forget, given their times. Pure: no clock, no I/O. */

#include <stddef.h>
#include <stdint.h>

/* times_s: the unit's live restore points' times in seconds since the
 * epoch, ascending (equal times allowed); now_s: the service clock.
 * Sets forget_r[i] to 1 for each point to forget and 0 for each to keep:
 *   - a point younger than recent_days (age < recent_days * 86400 s, and
 *     points from the future) is kept;
 *   - a point older than retention_days (age > retention_days * 86400 s)
 *     is forgotten;
 *   - in between, a point is kept only if it is the last of the given
 *     points in its ISO week (UTC, weeks start on Monday 00:00);
 *   - the newest point (times_s[n - 1]) is never forgotten.
 * Negative day counts are taken as 0. n may be 0. */
void thinning_select(const int64_t *times_s, size_t n, int64_t now_s, int64_t recent_days,
		     int64_t retention_days, uint8_t *forget_r);

/* The same rule with each point's own dates, fixed when it was taken (so
 * a policy changed later cannot shorten them): point i is kept while now_s
 * < keep_until_s[i], forgotten once now_s > retain_until_s[i], and in
 * between kept only as the last of its ISO week; the newest is never
 * forgotten. thinning_select() is this with t + recent and t + retention. */
void thinning_select_fixed(const int64_t *times_s, const int64_t *keep_until_s,
			   const int64_t *retain_until_s, size_t n, int64_t now_s,
			   uint8_t *forget_r);

#endif
