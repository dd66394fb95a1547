/* Fuzzes what people and clients type (docs/cli.md "What you type"): the
 * time parser (lib/timeutil), the bounded whole-number parser (lib/parse)
 * and the UNIT@N parser (store/rp), on one string. Besides the sanitizers,
 * each result must keep its promise: in range, and read back the same. */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

#include "lib/error.h"
#include "lib/parse.h"
#include "lib/timeutil.h"
#include "store/rp.h"

#define INPUT_MAX 256

static void fail(const char *what, const char *s)
{
	fprintf(stderr, "fuzz_typed: %s: \"%s\"\n", what, s);
	abort();
}

static void times(const char *s)
{
	int64_t ns, again;
	char buf[32];

	for (int flags = 0; flags <= TIME_END_OF_DAY; flags++) {
		if (time_parse(s, flags, &ns) < 0)
			continue;
		if (ns < 0 || ns / 1000000000 > TIME_SECONDS_MAX)
			fail("a time out of range was taken", s);
		time_format(ns / 1000000000, buf);
		if (time_parse(buf, 0, &again) < 0 || again != ns / 1000000000 * 1000000000)
			fail("a time does not read back as itself", s);
	}
}

static void numbers(const char *s)
{
	int64_t v, w;

	if (parse_int(s, INT64_MIN, INT64_MAX, &v) < 0)
		return;
	if (parse_int(s, v, v, &w) < 0 || w != v)
		fail("a number is not in its own range", s);
	if (v > INT64_MIN && parse_int(s, INT64_MIN, v - 1, &w) != -2)
		fail("a number above the range was taken", s);
}

static void points(const char *s)
{
	struct error err;
	char *unit = NULL, *again = NULL, spec[INPUT_MAX + 16];
	uint32_t seq, seq2;

	error_init(&err);
	if (rp_spec_parse(s, RP_SPEC_LATEST, &unit, &seq, &err) < 0) {
		if (err.msg[0] == '\0')
			fail("a refusal without a message", s);
		return;
	}
	if (seq != 0) {
		snprintf(spec, sizeof(spec), "%s@%" PRIu32, unit, seq);
		if (rp_spec_parse(spec, 0, &again, &seq2, &err) < 0 || seq2 != seq)
			fail("a restore point does not read back as itself", s);
	}
	free(again);
	free(unit);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[INPUT_MAX + 1];

	if (size > INPUT_MAX)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	times(s);
	numbers(s);
	points(s);
	return 0;
}
