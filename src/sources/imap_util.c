/* UID sets, IMAP dates and message flags (imap.h). */
#include "sources/imap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/mem.h"

/* ---- UID sets ---- */

void imap_uidset_init(struct imap_uidset *s)
{
	s->r = NULL;
	s->n = s->cap = 0;
}

void imap_uidset_clear(struct imap_uidset *s)
{
	free(s->r);
	imap_uidset_init(s);
}

/* First range whose hi + 1 >= lo (the first that could touch lo..). */
static size_t uidset_find(const struct imap_uidset *s, uint32_t lo)
{
	size_t a = 0, b = s->n;

	while (a < b) {
		size_t m = a + (b - a) / 2;

		if ((uint64_t)s->r[m].hi + 1 < lo)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

void imap_uidset_add(struct imap_uidset *s, uint32_t lo, uint32_t hi)
{
	size_t k, j;

	if (lo > hi) {
		uint32_t t = lo;
		lo = hi;
		hi = t;
	}
	/* Fast path: ascending additions extend or follow the last range. */
	if (s->n && lo >= s->r[s->n - 1].lo) {
		struct imap_uidrange *last = &s->r[s->n - 1];

		if ((uint64_t)last->hi + 1 >= lo) {
			if (hi > last->hi)
				last->hi = hi;
			return;
		}
	}
	k = uidset_find(s, lo);
	j = k;
	/* Ranges k..j-1 overlap or touch lo..hi: merge them. */
	while (j < s->n && s->r[j].lo <= (uint64_t)hi + 1) {
		if (s->r[j].lo < lo)
			lo = s->r[j].lo;
		if (s->r[j].hi > hi)
			hi = s->r[j].hi;
		j++;
	}
	if (j > k) {
		s->r[k].lo = lo;
		s->r[k].hi = hi;
		memmove(&s->r[k + 1], &s->r[j], (s->n - j) * sizeof(*s->r));
		s->n -= j - k - 1;
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->r = xrealloc(s->r, xmul(s->cap, sizeof(*s->r)));
	}
	memmove(&s->r[k + 1], &s->r[k], (s->n - k) * sizeof(*s->r));
	s->r[k].lo = lo;
	s->r[k].hi = hi;
	s->n++;
}

int imap_uidset_contains(const struct imap_uidset *s, uint32_t uid)
{
	size_t k = uidset_find(s, uid);

	return k < s->n && s->r[k].lo <= uid && uid <= s->r[k].hi;
}

uint64_t imap_uidset_count(const struct imap_uidset *s)
{
	uint64_t n = 0;

	for (size_t k = 0; k < s->n; k++)
		n += (uint64_t)s->r[k].hi - s->r[k].lo + 1;
	return n;
}

static int parse_uid(const char *t, size_t len, size_t *i, uint32_t *r)
{
	uint64_t n = 0;
	size_t start = *i;

	while (*i < len && t[*i] >= '0' && t[*i] <= '9') {
		n = n * 10 + (uint64_t)(t[*i] - '0');
		if (n > UINT32_MAX)
			return -1;
		(*i)++;
	}
	if (*i == start || n == 0)
		return -1;
	*r = (uint32_t)n;
	return 0;
}

int imap_uidset_parse(struct imap_uidset *s, const char *text, size_t len, struct error *err)
{
	size_t i = 0;

	while (i < len) {
		uint32_t lo, hi;

		if (parse_uid(text, len, &i, &lo) < 0)
			goto bad;
		hi = lo;
		if (i < len && text[i] == ':') {
			i++;
			if (parse_uid(text, len, &i, &hi) < 0)
				goto bad;
		}
		imap_uidset_add(s, lo, hi);
		if (i < len) {
			if (text[i] != ',' || i + 1 == len)
				goto bad;
			i++;
		}
	}
	if (len == 0)
		goto bad;
	return 0;
bad:
	return error_setk(err, ERROR_CORRUPT, "bad UID set \"%.*s\"", len > 100 ? 100 : (int)len,
			  text);
}

char *imap_uidset_format(const struct imap_uidset *s)
{
	struct buf b;

	buf_init(&b, 0);
	for (size_t k = 0; k < s->n; k++) {
		if (s->r[k].lo == s->r[k].hi)
			buf_addf(&b, "%s%u", k ? "," : "", s->r[k].lo);
		else
			buf_addf(&b, "%s%u:%u", k ? "," : "", s->r[k].lo, s->r[k].hi);
	}
	if (!b.data)
		return xstrdup("");
	return (char *)buf_steal(&b, NULL);
}

/* ---- dates ---- */

static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, size_t n, int *r)
{
	int v = 0;

	for (size_t k = 0; k < n; k++) {
		if (s[k] < '0' || s[k] > '9')
			return -1;
		v = v * 10 + (s[k] - '0');
	}
	*r = v;
	return 0;
}

int imap_date_parse(const char *s, size_t len, int64_t *unix_r, int *tz_r)
{
	int day, mon = -1, year, hh, mm, ss, tzh, tzm, tz;
	size_t i = 0;

	/* "d-Mon-yyyy" or " d-Mon-yyyy" or "dd-Mon-yyyy" */
	if (len > 0 && s[0] == ' ')
		i = 1;
	if (len < i + 2)
		return -1;
	if (s[i + 1] == '-') {
		if (digits(s + i, 1, &day) < 0)
			return -1;
		i += 2;
	} else {
		if (digits(s + i, 2, &day) < 0 || len < i + 3 || s[i + 2] != '-')
			return -1;
		i += 3;
	}
	/* "Mon-yyyy hh:mm:ss +zzzz" is 23 bytes */
	if (len - i != 23)
		return -1;
	for (int k = 0; k < 12; k++)
		if (strncasecmp(s + i, months[k], 3) == 0)
			mon = k + 1;
	if (mon < 0 || s[i + 3] != '-' || digits(s + i + 4, 4, &year) < 0 || s[i + 8] != ' ' ||
	    digits(s + i + 9, 2, &hh) < 0 || s[i + 11] != ':' || digits(s + i + 12, 2, &mm) < 0 ||
	    s[i + 14] != ':' || digits(s + i + 15, 2, &ss) < 0 || s[i + 17] != ' ' ||
	    (s[i + 18] != '+' && s[i + 18] != '-') || digits(s + i + 19, 2, &tzh) < 0 ||
	    digits(s + i + 21, 2, &tzm) < 0)
		return -1;
	if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || tzm > 59)
		return -1;
	tz = (tzh * 60 + tzm) * (s[i + 18] == '-' ? -1 : 1);
	*unix_r = days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 + hh * 3600 +
		  mm * 60 + ss - (int64_t)tz * 60;
	*tz_r = tz;
	return 0;
}

void imap_date_format(int64_t unix_time, int tz_minutes, char *out, size_t outlen)
{
	int64_t local, days, secs, y;
	unsigned m, d;
	int atz;

	if (tz_minutes < -23 * 60 - 59 || tz_minutes > 23 * 60 + 59)
		tz_minutes = 0;
	local = unix_time + (int64_t)tz_minutes * 60;
	days = local / 86400;
	secs = local % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	atz = tz_minutes < 0 ? -tz_minutes : tz_minutes;
	snprintf(out, outlen, "%02u-%s-%04lld %02d:%02d:%02d %c%02d%02d", d, months[m - 1],
		 (long long)y, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60),
		 tz_minutes < 0 ? '-' : '+', atz / 60, atz % 60);
}

/* No control character from a server reaches a log, a terminal or the
 * API (imap.h). */
char *imap_shown(const char *s, size_t max)
{
	struct buf b;
	size_t n = strlen(s);

	buf_init(&b, 0);
	for (size_t k = 0; k < n && k < max; k++) {
		unsigned char ch = (unsigned char)s[k];

		if (ch >= 0x20 && ch < 0x7f)
			buf_add(&b, &s[k], 1);
		else
			buf_addf(&b, "\\x%02x", ch);
	}
	if (n > max)
		buf_add(&b, "...", 3);
	return b.data ? (char *)buf_steal(&b, NULL) : xstrdup("");
}

/* ---- message flags ---- */

char *imap_msg_flags(const struct imap_msg *m)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	buf_add(&b, "", 0);
	for (i = 0; i < m->nflags; i++) {
		if (i)
			buf_add(&b, " ", 1);
		buf_add(&b, m->flags[i], strlen(m->flags[i]));
	}
	return (char *)buf_steal(&b, NULL);
}
