/* The IMAP client's parser, framer and helpers (src/sources/imap_parse.h,
 * imap.h); no network. The client itself is tested against a real Dovecot
 * in tests/e2e/imap.sh. */
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/mutf7.h"
#include "sources/imap.h"
#include "sources/imap_parse.h"

#include "harness.h"

/* Parses text (a mutable copy) as one whole response. */
static int parse(const char *text, struct imap_resp *r, uint8_t **copy, struct error *err)
{
	struct imap_limits lim;
	size_t len = strlen(text);

	imap_limits_default(&lim);
	*copy = malloc(len + 1);
	memcpy(*copy, text, len + 1);
	return imap_resp_parse(*copy, len, &lim, r, err);
}

static int arg_is(const struct imap_arg *a, enum imap_arg_type t, const char *s)
{
	return a->type == t && a->len == strlen(s) && memcmp(a->data, s, a->len) == 0;
}

static void test_parse_fetch(void)
{
	struct imap_resp r = { 0 };
	struct error err;
	uint8_t *copy = NULL;
	const struct imap_arg *l;

	CHECK_OK(parse("* 12 FETCH (UID 7 FLAGS (\\Seen $Label1) INTERNALDATE "
		       "\"17-Jul-1996 02:44:25 -0700\" BODY[HEADER.FIELDS (MESSAGE-ID)] {5}\r\n"
		       "ab\r\nc BODY[] \"q\\\"x\\\\\" MODSEQ (42))\r\n", &r, &copy, &err), &err);
	CHECK(r.kind == IMAP_RESP_UNTAGGED && r.has_num && r.num == 12);
	CHECK(!strcmp(r.name, "FETCH") && r.nargs == 1 && r.args[0].type == IMAP_ARG_LIST);
	l = &r.args[0];
	CHECK(l->n == 12);
	CHECK(arg_is(&l->list[0], IMAP_ARG_ATOM, "UID") && arg_is(&l->list[1], IMAP_ARG_ATOM, "7"));
	CHECK(l->list[3].type == IMAP_ARG_LIST && l->list[3].n == 2);
	CHECK(arg_is(&l->list[3].list[0], IMAP_ARG_ATOM, "\\Seen"));
	CHECK(arg_is(&l->list[5], IMAP_ARG_STRING, "17-Jul-1996 02:44:25 -0700"));
	CHECK(arg_is(&l->list[6], IMAP_ARG_ATOM, "BODY[HEADER.FIELDS (MESSAGE-ID)]"));
	CHECK(arg_is(&l->list[7], IMAP_ARG_LITERAL, "ab\r\nc"));
	CHECK(arg_is(&l->list[9], IMAP_ARG_STRING, "q\"x\\"));
	CHECK(l->list[11].type == IMAP_ARG_LIST && arg_is(&l->list[11].list[0], IMAP_ARG_ATOM, "42"));
out:
	imap_resp_clear(&r);
	free(copy);
}

static void test_parse_status(void)
{
	struct imap_resp r = { 0 };
	struct error err;
	uint8_t *copy = NULL;

	CHECK_OK(parse("C7 NO [TRYCREATE] Mailbox doesn't exist: \"x(\r\n", &r, &copy, &err), &err);
	CHECK(r.kind == IMAP_RESP_TAGGED && !strcmp(r.tag, "C7") && r.is_status);
	CHECK(!strcmp(r.name, "NO") && !strcmp(r.code, "TRYCREATE"));
	CHECK(!strcmp(r.text, "Mailbox doesn't exist: \"x("));
	imap_resp_clear(&r);
	free(copy);
	copy = NULL;
	CHECK_OK(parse("* OK [PERMANENTFLAGS (\\Seen \\*)] Flags\r\n", &r, &copy, &err), &err);
	CHECK(!strcmp(r.code, "PERMANENTFLAGS") && r.code_nargs == 1);
	CHECK(r.code_args[0].n == 2 && arg_is(&r.code_args[0].list[1], IMAP_ARG_ATOM, "\\*"));
	imap_resp_clear(&r);
	free(copy);
	copy = NULL;
	CHECK_OK(parse("C9 OK [APPENDUID 38505 3955:3957] done\r\n", &r, &copy, &err), &err);
	CHECK(r.code_nargs == 2 && arg_is(&r.code_args[1], IMAP_ARG_ATOM, "3955:3957"));
	imap_resp_clear(&r);
	free(copy);
	copy = NULL;
	CHECK_OK(parse("+ dGVzdA==\r\n", &r, &copy, &err), &err);
	CHECK(r.kind == IMAP_RESP_CONT && !strcmp(r.text, "dGVzdA=="));
	imap_resp_clear(&r);
	free(copy);
	copy = NULL;
	CHECK_OK(parse("* LIST (\\Noselect) NIL \"a b\"\r\n", &r, &copy, &err), &err);
	CHECK(r.nargs == 3 && r.args[1].type == IMAP_ARG_NIL);
out:
	imap_resp_clear(&r);
	free(copy);
}

static void test_parse_malformed(void)
{
	static const char *const bad[] = {
		"* LIST (\\HasNoChildren \".\" INBOX\r\n",   /* unterminated list */
		"* OK [UIDVALIDITY 3 x\r\n",                 /* unterminated code */
		"* 1 FETCH (BODY[] {10}\r\nshort)\r\n",      /* literal past the end */
		"* SEARCH \"unterminated\r\n",
		"* X \"bad \\q escape\"\r\n",
		"C1 FETCH (x)\r\n",                          /* tagged data */
		"* 99999999999 EXISTS\r\n",
		"*\r\n",
		"* LIST ((((((((((((((((((((((((((((((((((x))))))))))))))))))))))))))))))))))\r\n",
		"* X a  b\r\n",                              /* two spaces */
		"* X ]\r\n",
	};
	struct error err;

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct imap_resp r = { 0 };
		uint8_t *copy = NULL;
		int rc = parse(bad[k], &r, &copy, &err);

		imap_resp_clear(&r);
		free(copy);
		CHECKF(rc < 0, "accepted: %s", bad[k]);
		CHECKF(strstr(err.msg, "malformed response (") != NULL, "%s", err.msg);
	}
out:;
}

static void test_frame_pieces(void)
{
	/* A response with two literals (one holding what looks like a literal
	 * header), fed a byte at a time. */
	static const char resp[] = "* 1 FETCH (BODY[] {5}\r\n{9}\r\n BODY[HEADER] {0}\r\n)\r\nC1 OK\r\n";
	struct imap_limits lim;
	struct imap_framer f;
	struct error err;
	size_t rlen = 0, want = 0, n, first = strlen(resp) - strlen("C1 OK\r\n");
	int rc = 0;

	imap_limits_default(&lim);
	imap_framer_reset(&f);
	for (n = 0; n <= strlen(resp); n++) {
		rc = imap_frame(&f, (const uint8_t *)resp, n, &lim, &rlen, &want, &err);
		CHECK(rc >= 0);
		if (rc == 1)
			break;
	}
	CHECK(rc == 1 && rlen == first && n == first);
	/* Limits: a long line and a big literal. */
	lim.max_line = 16;
	imap_framer_reset(&f);
	rc = imap_frame(&f, (const uint8_t *)"* OK 0123456789abcdefghij", 25, &lim, &rlen, &want, &err);
	CHECK(rc < 0 && strstr(err.msg, "longer than the limit"));
	imap_limits_default(&lim);
	lim.max_literal = 100;
	imap_framer_reset(&f);
	rc = imap_frame(&f, (const uint8_t *)"* X {101}\r\n", 11, &lim, &rlen, &want, &err);
	CHECK(rc < 0 && strstr(err.msg, "literal of 101 bytes is larger than the limit of 100"));
	imap_framer_reset(&f);
	rc = imap_frame(&f, (const uint8_t *)"* X {100}\r\nab", 13, &lim, &rlen, &want, &err);
	CHECK(rc == 0 && want == 98);
out:;
}

static void test_uidset(void)
{
	struct imap_uidset s;
	struct error err;
	char *t = NULL;

	imap_uidset_init(&s);
	imap_uidset_add(&s, 5, 5);
	imap_uidset_add(&s, 1, 3);
	imap_uidset_add(&s, 4, 4);   /* joins 1:3 and 5 */
	imap_uidset_add(&s, 10, 8);  /* reversed */
	imap_uidset_add(&s, 20, 20);
	imap_uidset_add(&s, 7, 21);  /* swallows 8:10 and 20 */
	t = imap_uidset_format(&s);
	CHECKF(!strcmp(t, "1:5,7:21"), "%s", t);
	CHECK(imap_uidset_count(&s) == 20);
	CHECK(imap_uidset_contains(&s, 7) && !imap_uidset_contains(&s, 6) &&
	      !imap_uidset_contains(&s, 22));
	CHECK_OK(imap_uidset_parse(&s, "6,100:98,4294967295", 19, &err), &err);
	free(t);
	t = imap_uidset_format(&s);
	CHECKF(!strcmp(t, "1:21,98:100,4294967295"), "%s", t);
	CHECK(imap_uidset_parse(&s, "1:*", 3, &err) < 0);
	CHECK(imap_uidset_parse(&s, "0", 1, &err) < 0);
	CHECK(imap_uidset_parse(&s, "1,", 2, &err) < 0);
	CHECK(imap_uidset_parse(&s, "4294967296", 10, &err) < 0);
out:
	free(t);
	imap_uidset_clear(&s);
}

static void test_dates(void)
{
	int64_t t = 0;
	int tz = 0;
	char out[40];

	CHECK(imap_date_parse("17-Jul-1996 02:44:25 -0700", 26, &t, &tz) == 0);
	CHECK(t == 837596665 && tz == -420);
	imap_date_format(t, tz, out, sizeof(out));
	CHECKF(!strcmp(out, "17-Jul-1996 02:44:25 -0700"), "%s", out);
	CHECK(imap_date_parse(" 1-Feb-2020 10:00:00 +0100", 26, &t, &tz) == 0 && t == 1580547600);
	imap_date_format(0, 0, out, sizeof(out));
	CHECKF(!strcmp(out, "01-Jan-1970 00:00:00 +0000"), "%s", out);
	CHECK(imap_date_parse("1-Feb-2020 10:00:00 +0100", 25, &t, &tz) == 0 && t == 1580547600);
	CHECK(imap_date_parse("17-Jux-1996 02:44:25 -0700", 26, &t, &tz) < 0);
	CHECK(imap_date_parse("17-Jul-1996 02:44:25 -07", 24, &t, &tz) < 0);
	CHECK(imap_date_parse("", 0, &t, &tz) < 0);
out:;
}

static void test_mutf7(void)
{
	struct error err;
	char *u = NULL, *m = NULL;

	u = mutf7_decode("R&AOk-sum&AOk- &- ~peter/mail/&U,BTFw-/&ZeVnLIqe-", &err);
	CHECKF(u && !strcmp(u, "R\xc3\xa9sum\xc3\xa9 & ~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
			       "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"), "%s", u ? u : err.msg);
	m = mutf7_encode(u, &err);
	CHECKF(m && !strcmp(m, "R&AOk-sum&AOk- &- ~peter/mail/&U,BTFw-/&ZeVnLIqe-"), "%s", m);
	free(m);
	m = mutf7_encode("\xf0\x9f\x98\x80 smile", &err); /* outside the BMP */
	free(u);
	u = m ? mutf7_decode(m, &err) : NULL;
	CHECK(u && !strcmp(u, "\xf0\x9f\x98\x80 smile"));
	CHECK(mutf7_decode("&AGE-", &err) == NULL);   /* encoded ASCII */
	CHECK(mutf7_decode("&AOk", &err) == NULL);    /* unterminated */
	CHECK(mutf7_decode("a\xc3\xa9", &err) == NULL); /* 8-bit */
	CHECK(mutf7_encode("\xff", &err) == NULL);
out:
	free(u);
	free(m);
}

static void test_parse_opts(void)
{
	struct error err;
	enum imap_tls t;
	enum imap_auth a;

	CHECK_OK(imap_tls_parse("starttls", &t, &err), &err);
	CHECK(t == IMAP_TLS_STARTTLS);
	CHECK_FAILS(imap_tls_parse("ssl", &t, &err), &err, ERROR_USAGE);
	CHECK(strstr(err.msg, "\"ssl\""));
	CHECK_OK(imap_auth_parse("oauthbearer", &a, &err), &err);
	CHECK(a == IMAP_AUTH_OAUTHBEARER);
	CHECK_FAILS(imap_auth_parse("cram-md5", &a, &err), &err, ERROR_USAGE);
out:;
}

/* Server text in messages: bounded, control and 8-bit bytes as \xNN. */
static void test_shown(void)
{
	char *s = imap_shown("Mailbox \"x\" is full", 300);
	char big[400];

	CHECK(strcmp(s, "Mailbox \"x\" is full") == 0);
	free(s);
	s = imap_shown("a\x1b[31mred\tb\x7f\xc3\xa9", 300);
	CHECKF(strcmp(s, "a\\x1b[31mred\\x09b\\x7f\\xc3\\xa9") == 0, "%s", s);
	free(s);
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s = imap_shown(big, 300);
	CHECK(strlen(s) == 303 && strcmp(s + 300, "...") == 0);
	free(s);
	s = imap_shown("", 10);
	CHECK(s[0] == '\0');
out:
	free(s);
}

const struct unit_test imap_tests[] = {
	{ "imap_parse_fetch", test_parse_fetch },
	{ "imap_parse_status", test_parse_status },
	{ "imap_parse_malformed", test_parse_malformed },
	{ "imap_frame_pieces_and_limits", test_frame_pieces },
	{ "imap_uidset", test_uidset },
	{ "imap_dates", test_dates },
	{ "mutf7: modified UTF-7 names both ways (lib/mutf7.h)", test_mutf7 },
	{ "imap_option_words", test_parse_opts },
	{ "imap_shown", test_shown },
	{ NULL, NULL },
};
