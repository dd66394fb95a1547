/* Whole numbers a person or a client typed (src/lib/parse.h): the one
 * bounded-integer parser behind CLI flags, query parameters, config values
 * and the N of UNIT@N; and the one UNIT@N parser (src/store/rp.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/parse.h"
#include "store/rp.h"

#include "harness.h"

static void test_accepted(void)
{
	int64_t v = 0;

	CHECK(parse_int("0", 0, 10, &v) == 0 && v == 0);
	CHECK(parse_int("10", 0, 10, &v) == 0 && v == 10);
	CHECK(parse_int("007", 0, 10, &v) == 0 && v == 7);
	CHECK(parse_int("-3", -5, 5, &v) == 0 && v == -3);
	CHECK(parse_int("-0", 0, 5, &v) == 0 && v == 0);
	CHECK(parse_int("4294967295", 1, UINT32_MAX, &v) == 0 && v == UINT32_MAX);
	/* the ends of an int64 */
	CHECK(parse_int("9223372036854775807", INT64_MIN, INT64_MAX, &v) == 0 && v == INT64_MAX);
	CHECK(parse_int("-9223372036854775808", INT64_MIN, INT64_MAX, &v) == 0 && v == INT64_MIN);
out:;
}

static void test_refused(void)
{
	static const char *const junk[] = {
		"", "-", "+1", " 1", "1 ", "1x", "0x10", "1e3", "1.0", "--1", "1-", "\xd9\xa1", /* an Arabic-Indic one */
	};
	int64_t v = 42;

	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		CHECKF(parse_int(junk[i], INT64_MIN, INT64_MAX, &v) == -1, "\"%s\" was taken",
		       junk[i]);
	/* numbers outside the range: -2, whatever the reason */
	CHECK(parse_int("11", 0, 10, &v) == -2);
	CHECK(parse_int("-1", 0, 10, &v) == -2);
	CHECK(parse_int("0", 1, 10, &v) == -2);
	CHECK(parse_int("4294967296", 1, UINT32_MAX, &v) == -2);
	CHECK(parse_int("9223372036854775808", INT64_MIN, INT64_MAX, &v) == -2);
	CHECK(parse_int("-9223372036854775809", INT64_MIN, INT64_MAX, &v) == -2);
	CHECK(parse_int("18446744073709551616", INT64_MIN, INT64_MAX, &v) == -2);
	CHECK(parse_int("99999999999999999999999999999", 0, 10, &v) == -2);
	/* digits and then junk is junk, not an overflow */
	CHECK(parse_int("99999999999999999999999999999x", 0, 10, &v) == -1);
	CHECK(v == 42); /* untouched */
out:;
}

/* The message names the field, the value and the range. */
static void test_field(void)
{
	struct error err;
	int64_t v = 0;

	error_init(&err);
	CHECK(parse_int_field("limit", "1000", 1, 1000, &v, &err) == 0 && v == 1000);
	CHECK(parse_int_field("limit", "0", 1, 1000, &v, &err) == -1);
	CHECK(err.code == ERROR_USAGE);
	CHECKF(strstr(err.msg, "limit") && strstr(err.msg, "\"0\"") &&
	       strstr(err.msg, "from 1 to 1000"), "%s", err.msg);
	error_init(&err);
	CHECK(parse_int_field("--grace", "soon", 0, 100, &v, &err) == -1);
	CHECK(strstr(err.msg, "--grace") && strstr(err.msg, "\"soon\""));
	error_init(&err);
	CHECK(parse_int_field("--grace", NULL, 0, 100, &v, &err) == -1 && err.code == ERROR_USAGE);
	CHECK(v == 1000);
out:;
}

static void test_rp_spec(void)
{
	static const char *const bad[] = {
		"u", "u@", "@3", "u@0", "u@-1", "u@+1", "u@ 1", "u@1 ", "u@1x", "u@0x1",
		"u@4294967296", "u@99999999999999999999999", "u@latest", "u@LATEST", "a@b@3", "",
	};
	struct error err;
	uint32_t seq = 7;
	char *unit = NULL, long_name[1100];

	CHECK_OK(rp_spec_parse("u@1", 0, &unit, &seq, &err), &err);
	CHECK(strcmp(unit, "u") == 0 && seq == 1);
	free(unit);
	unit = NULL;
	CHECK_OK(rp_spec_parse("docs.2026@4294967295", 0, &unit, &seq, &err), &err);
	CHECK(strcmp(unit, "docs.2026") == 0 && seq == UINT32_MAX);
	free(unit);
	unit = NULL;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error_init(&err);
		CHECKF(rp_spec_parse(bad[i], 0, &unit, &seq, &err) < 0, "\"%s\" was taken", bad[i]);
		CHECKF(err.code == ERROR_USAGE && strstr(err.msg, bad[i]) != NULL,
		       "\"%s\": %s", bad[i], err.msg);
	}
	/* a unit name with an '@' of its own is refused as the store refuses it */
	CHECK_FAILS(rp_spec_parse("a@b@3", 0, &unit, &seq, &err), &err, ERROR_USAGE);
	CHECKF(strstr(err.msg, "bad unit name \"a@b\"") != NULL, "%s", err.msg);
	/* the name's length, as the store checks it */
	memset(long_name, 'x', 1025);
	memcpy(long_name + 1025, "@1", 3);
	CHECK_FAILS(rp_spec_parse(long_name, 0, &unit, &seq, &err), &err, ERROR_USAGE);
	/* with RP_SPEC_LATEST: "UNIT" and "UNIT@latest" are the newest (0) */
	CHECK_OK(rp_spec_parse("u", RP_SPEC_LATEST, &unit, &seq, &err), &err);
	CHECK(strcmp(unit, "u") == 0 && seq == 0);
	free(unit);
	unit = NULL;
	CHECK_OK(rp_spec_parse("u@latest", RP_SPEC_LATEST, &unit, &seq, &err), &err);
	CHECK(strcmp(unit, "u") == 0 && seq == 0);
	free(unit);
	unit = NULL;
	CHECK_OK(rp_spec_parse("u@12", RP_SPEC_LATEST, &unit, &seq, &err), &err);
	CHECK(seq == 12);
	CHECK_FAILS(rp_spec_parse("u@0", RP_SPEC_LATEST, &unit, &seq, &err), &err, ERROR_USAGE);
	CHECK_FAILS(rp_spec_parse("@latest", RP_SPEC_LATEST, &unit, &seq, &err), &err,
		    ERROR_USAGE);
out:
	free(unit);
}

const struct unit_test parse_tests[] = {
	{ "parse_int_accepted", test_accepted },
	{ "parse_int_refused", test_refused },
	{ "parse_int_field", test_field },
	{ "parse_rp_spec", test_rp_spec },
	{ NULL, NULL },
};
