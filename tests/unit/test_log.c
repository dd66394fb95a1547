/* The log's escaping of values (lib/log.c) and the UTF-8 checks (lib/utf8.c)
 * that the server applies to URLs and request bodies: a value written to a
 * log line can neither start a line of its own nor pass for key=value
 * pairs. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "lib/log.h"
#include "lib/utf8.h"

#define FORGED "x\nevent=job.end job=9 kind=backup tenant=t-0000000000000000 state=succeeded"

static int same(char *got, const char *want)
{
	int ok = got && strcmp(got, want) == 0;

	if (!ok)
		th_fail(__FILE__, __LINE__, "got [%s], want [%s]", got ? got : "(null)", want);
	free(got);
	return ok;
}

static void test_log_newline_values(void)
{
	char *s = NULL;

	/* after "=": quoted, the newline escaped: still one pair, one line */
	CHECK(same(log_fmt("event=unit.attach name=%s policy=%s", FORGED, "p-1"),
		   "event=unit.attach name=\"x\\nevent=job.end job=9 kind=backup "
		   "tenant=t-0000000000000000 state=succeeded\" policy=p-1"));
	/* inside quotes of the format: the quote cannot be closed */
	CHECK(same(log_fmt("event=job.end error=\"%s\"", "a\" state=succeeded \\ \r\n"),
		   "event=job.end error=\"a\\\" state=succeeded \\\\ \\r\\n\""));
	/* free text: control characters escaped; '=' makes it quoted */
	CHECK(same(log_fmt("%s: cannot read", "/srv/a\tb"), "/srv/a\\tb: cannot read"));
	CHECK(same(log_fmt("%s", "event=job.end state=succeeded"),
		   "\"event=job.end state=succeeded\""));
	s = log_fmt("w %s", FORGED);
	CHECK(s && strchr(s, '\n') == NULL);
out:
	free(s);
}

static void test_log_value_forms(void)
{
	/* plain ASCII stays as it is; empty, spaces, '=', quotes are quoted */
	CHECK(same(log_fmt("a=%s b=%s", "u-0123", "/srv/home/ann"), "a=u-0123 b=/srv/home/ann"));
	CHECK(same(log_fmt("a=%s b=%s", "", "two words"), "a=\"\" b=\"two words\""));
	CHECK(same(log_fmt("a=%s", "x=y"), "a=\"x=y\""));
	CHECK(same(log_fmt("a=%s", "q\"\\"), "a=\"q\\\"\\\\\""));
	/* UTF-8 is kept (quoted after '='), invalid bytes and hidden
	 * characters (C1 NEL, LINE SEPARATOR, bidi override) are escaped */
	CHECK(same(log_fmt("a=%s", "M\xc3\xbcller"), "a=\"M\xc3\xbcller\""));
	CHECK(same(log_fmt("a=%s", "\xff\xc3"), "a=\"\\xff\\xc3\""));
	CHECK(same(log_fmt("a=%s", "1\xc2\x85" "2\xe2\x80\xa8" "3\xe2\x80\xae"),
		   "a=\"1\\u00852\\u20283\\u202e\""));
	CHECK(same(log_fmt("a=%s", "\x7f\x1b[2J"), "a=\"\\x7f\\x1b[2J\""));
	/* %c is a value too */
	CHECK(same(log_fmt("c=%c d=%c", '\n', 'x'), "c=\"\\n\" d=x"));
out:;
}

static void test_log_numbers(void)
{
	char *s = NULL;

	/* everything but %s and %c as printf writes it */
	CHECK(same(log_fmt("%d %u %lld %llu %zu %05.2f %x %ld %%", -3, 4u, -5LL, 6ULL,
			   (size_t)7, 3.14159, 255u, 8L),
		   "-3 4 -5 6 7 03.14 ff 8 %"));
	CHECK(same(log_fmt("[%.3s][%5s][%-4s][%*d]", "abcdef", "ab", "c", 3, 7),
		   "[abc][   ab][c   ][  7]"));
	s = log_fmt("seconds=%.3f big=%f", 1.5, 1e300);
	/* a number longer than any fixed buffer */
	CHECK(s && strncmp(s, "seconds=1.500 big=1000000000", 28) == 0 && strlen(s) > 300);
out:
	free(s);
}

static void test_utf8(void)
{
	uint32_t cp = 0;

	CHECK(utf8_valid_prefix("abc", 3) == 3);
	CHECK(utf8_valid_prefix("a\0b", 3) == 3);
	CHECK(utf8_valid_prefix("M\xc3\xbcller", 7) == 7);
	CHECK(utf8_valid_prefix("\xf0\x9f\x98\x80", 4) == 4);
	CHECK(utf8_valid_prefix("ab\xff", 3) == 2);
	CHECK(utf8_valid_prefix("ab\xc3", 3) == 2);            /* cut */
	CHECK(utf8_valid_prefix("\xc0\xaf", 2) == 0);          /* overlong '/' */
	CHECK(utf8_valid_prefix("\xe0\x80\xaf", 3) == 0);      /* overlong */
	CHECK(utf8_valid_prefix("\xed\xa0\x80", 3) == 0);      /* a surrogate */
	CHECK(utf8_valid_prefix("\xf4\x90\x80\x80", 4) == 0);  /* past U+10FFFF */
	CHECK(utf8_valid_prefix("\x80", 1) == 0);
	CHECK(utf8_char("\xe2\x80\xa8", 3, &cp) == 3 && cp == 0x2028);
	CHECK(utf8_char("", 0, &cp) == 0);
out:;
}

const struct unit_test log_tests[] = {
	{ "log_newline_values", test_log_newline_values },
	{ "log_value_forms", test_log_value_forms },
	{ "log_numbers", test_log_numbers },
	{ "log_utf8", test_utf8 },
	{ NULL, NULL },
};
