#include "thinning.h"

#include <stdlib.h>

#include "lib/timeutil.h"

#define THIN_DAY 86400

/* Days as seconds, saturated: a huge setting means "for ever", not a wrap. */
static int64_t thin_days_s(int64_t days)
{
	if (days <= 0)
		return 0;
	if (days > INT64_MAX / THIN_DAY)
		return INT64_MAX;
	return days * THIN_DAY;
}

/* t + d, saturated: a date past the int64 range, or a saturated
 * duration, is "for ever". */
static int64_t thin_add(int64_t t, int64_t d)
{
	int64_t r;

	if (d == INT64_MAX)
		return INT64_MAX;
	if (__builtin_add_overflow(t, d, &r))
		return d > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

void thinning_select_fixed(const int64_t *times_s, const int64_t *keep_until_s,
			   const int64_t *retain_until_s, size_t n, int64_t now_s,
			   uint8_t *forget_r)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i + 1 == n)
			forget_r[i] = 0;
		else if (now_s > retain_until_s[i])
			forget_r[i] = 1;
		else if (now_s < keep_until_s[i] || now_s < times_s[i])
			forget_r[i] = 0;
		else
			/* Times ascend, so the week's last point is followed by
			 * a later week or by nothing. */
			forget_r[i] = time_iso_week(times_s[i + 1]) == time_iso_week(times_s[i]);
	}
}

void thinning_select(const int64_t *times_s, size_t n, int64_t now_s, int64_t recent_days,
		     int64_t retention_days, uint8_t *forget_r)
{
	int64_t recent = thin_days_s(recent_days), retention = thin_days_s(retention_days);
	int64_t *keep = calloc(n + 1, sizeof(*keep)), *retain = calloc(n + 1, sizeof(*retain));
	size_t i;

	if (keep == NULL || retain == NULL)
		abort();
	for (i = 0; i < n; i++) {
		keep[i] = thin_add(times_s[i], recent);
		retain[i] = thin_add(times_s[i], retention);
	}
	thinning_select_fixed(times_s, keep, retain, n, now_s, forget_r);
	free(keep);
	free(retain);
}
