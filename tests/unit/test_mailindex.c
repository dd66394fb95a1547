/* Mail search and export (src/engine/mailparse.h, mailindex.h,
 * mailexport.h; docs/mail.md sections 5 and 6): the HTML reducer, modified
 * UTF-7, MIME parsing of odd and broken input, mboxrd quoting, and the
 * occurrence ranges of the index over real restore points (indexed in
 * order, out of order, and after points are dropped). */
#include <glib.h>
#include <json-c/json.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "crypto/seal.h"
#include "engine/backup.h"
#include "engine/mailexport.h"
#include "engine/mailindex.h"
#include "engine/mailparse.h"
#include "engine/mailtok.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "lib/mutf7.h"
#include "store/index.h"
#include "store/rp.h"
#include "store/store.h"

#include "harness.h"

static int html_is(const char *html, const char *want)
{
	char *got = mailparse_html_to_text(html, strlen(html), 1000);
	int same = strcmp(got, want) == 0;

	if (!same)
		th_fail(__FILE__, __LINE__, "html \"%s\" gave \"%s\", want \"%s\"", html, got, want);
	free(got);
	return same;
}

static void test_html(void)
{
	char *s = NULL;

	CHECK(html_is("<p>Hello <b>Wor</b>ld</p>", "Hello World"));
	CHECK(html_is("a<script>x = '</p>'; if (a < b) {}</script>b", "ab"));
	CHECK(html_is("a<STYLE type=\"text/css\">p { color: red }</style >b", "ab"));
	CHECK(html_is("a<!-- hidden <p> -->b", "ab"));
	CHECK(html_is("a<div>b</div>c<br/>d", "a\nb\nc\nd"));
	CHECK(html_is("&lt;x&gt; &amp;amp; caf&eacute; &#233;&#xE9; &#x1F600; &nbsp;!", "<x> &amp; café éé 😀 !"));
	CHECK(html_is("&unknown; &#; &#xZZ; & alone", "&unknown; &#; &#xZZ; & alone"));
	CHECK(html_is("&#0; &#x110000; &#xD800;", "\xef\xbf\xbd \xef\xbf\xbd \xef\xbf\xbd"));
	CHECK(html_is("1 < 2 and 3 <4", "1 < 2 and 3 <4"));
	CHECK(html_is("<a href=\"x>y\" title='>'>link</a>", "link"));
	CHECK(html_is("text <unclosed", "text"));
	CHECK(html_is("  lots \t of \n\n space  ", "lots of space"));
	CHECK(html_is("<!DOCTYPE html><?xml x?>ok", "ok"));
	CHECK(html_is("<script>never closed", ""));
	/* The cut never splits a character. */
	s = mailparse_html_to_text("\xc3\xa9\xc3\xa9\xc3\xa9", 6, 3);
	CHECKF(strcmp(s, "\xc3\xa9") == 0, "cut gave \"%s\"", s);
out:
	free(s);
}

static int mutf7_is(const char *in, const char *want)
{
	char *got = mutf7_decode_or_keep(in);
	int same = strcmp(got, want) == 0;

	if (!same)
		th_fail(__FILE__, __LINE__, "mutf7 \"%s\" gave \"%s\", want \"%s\"", in, got, want);
	free(got);
	return same;
}

static void test_mutf7(void)
{
	CHECK(mutf7_is("INBOX", "INBOX"));
	CHECK(mutf7_is("Entw&APw-rfe", "Entwürfe"));
	CHECK(mutf7_is("&ZeVnLIqe-", "日本語"));
	CHECK(mutf7_is("Tom &- Jerry", "Tom & Jerry"));
	CHECK(mutf7_is("&2D3eAA-", "😀"));
	/* Malformed: kept as they are. */
	CHECK(mutf7_is("&APw", "&APw"));
	CHECK(mutf7_is("&AP*-", "&AP*-"));
	CHECK(mutf7_is("&2D0-", "&2D0-"));
	CHECK(mutf7_is("caf\xc3\xa9", "caf\xc3\xa9"));
out:
	return;
}

/* The two decoders coffer had (the IMAP client's and the search index's)
 * differed on runs that encode printable US-ASCII, which RFC 3501 5.1.3
 * forbids ("MUST NOT be used to represent any printing US-ASCII character
 * which can represent itself"): the index's read "&AGE-" as "a". The one
 * codec (lib/mutf7.h) refuses them, so the index shows and matches such a
 * name as stored, and "&AGE-" is never a second spelling of folder "a". */
static void test_mutf7_printable_encoded(void)
{
	static const char *const names[] = {
		"&AGE-",          /* "a" */
		"&ACY-",          /* "&", which is "&-" */
		"&ACA-",          /* a space */
		"&AH4-",          /* "~" */
		"x&AGEA6Q-",      /* "a" then U+00E9 in one run */
		"&AOkAYQ-",       /* U+00E9 then "a" */
	};
	struct error err;
	char *u = NULL;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		u = mutf7_decode(names[i], &err);
		CHECKF(u == NULL, "\"%s\" decoded to \"%s\"", names[i], u);
		CHECKF(strstr(err.msg, "not valid modified UTF-7") != NULL, "%s", err.msg);
		CHECK(mutf7_is(names[i], names[i]));
	}
	/* What may be encoded still is: a control character, U+00E9 alone. */
	CHECK(mutf7_is("&AAk-", "\t"));
	CHECK(mutf7_is("&AOk-", "\xc3\xa9"));
out:
	free(u);
}

static void test_parse(void)
{
	static const char m1[] =
		"From: =?utf-8?q?J=C3=BCrgen?= <j@x.example>\r\nTo: a@x.example\r\n"
		"Cc: b@x.example\r\nSubject: =?koi8-r?b?8NLJ18XU?=\r\n"
		"Date: Mon, 04 Mar 2024 09:05:00 +0100\r\nMIME-Version: 1.0\r\n"
		"Content-Type: multipart/alternative; boundary=b\r\n\r\n"
		"--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9\r\n"
		"--b\r\nContent-Type: text/html\r\n\r\n<p>x&amp;y</p>\r\n--b--\r\n";
	static const char raw8[] = "Subject: caf\xe9 \xfc\r\nFrom: x@y\r\n\r\nbody \x80\xff\r\n";
	struct mailparse p;
	struct buf big;
	size_t i;

	memset(&p, 0, sizeof(p));
	buf_init(&big, 0);
	mailparse_message((const uint8_t *)m1, sizeof(m1) - 1, &p);
	CHECKF(strcmp(p.subject, "Привет") == 0, "subject \"%s\"", p.subject);
	CHECKF(strstr(p.sender, "Jürgen") && strstr(p.sender, "j@x.example"), "from \"%s\"", p.sender);
	CHECKF(strstr(p.recipients, "a@x.example") && strstr(p.recipients, "b@x.example"),
	       "recipients \"%s\"", p.recipients);
	CHECKF(strcmp(p.body, "café\n\nx&y") == 0 || strcmp(p.body, "café\nx&y") == 0,
	       "body \"%s\"", p.body);
	CHECK(p.has_date && p.date == 1709539500);
	CHECK(!p.has_attachment && p.error == NULL);
	mailparse_clear(&p);

	/* Raw 8-bit headers and bodies: windows-1252, made valid UTF-8. */
	mailparse_message((const uint8_t *)raw8, sizeof(raw8) - 1, &p);
	CHECKF(strcmp(p.subject, "café ü") == 0, "subject \"%s\"", p.subject);
	CHECKF(g_utf8_validate(p.body, -1, NULL), "body not UTF-8");
	mailparse_clear(&p);

	/* Nothing, garbage and binary: never a crash, always strings. */
	mailparse_message((const uint8_t *)"", 0, &p);
	CHECK(p.subject && p.sender && p.body && p.attachments && p.recipients);
	mailparse_clear(&p);
	for (i = 0; i < 20; i++) {
		uint8_t *junk = th_random(i, 1000 + i * 97);

		mailparse_message(junk, 1000 + i * 97, &p);
		free(junk);
		CHECK(p.subject && p.body && g_utf8_validate(p.body, -1, NULL));
		mailparse_clear(&p);
	}

	/* A huge body is cut at the documented size. */
	buf_addf(&big, "Subject: big\r\nContent-Type: text/plain\r\n\r\n");
	for (i = 0; i < MAILPARSE_TEXT_MAX / 8; i++)
		buf_addf(&big, "word%03zu ", i % 1000);
	mailparse_message(big.data, big.len, &p);
	CHECKF(strlen(p.body) <= MAILPARSE_TEXT_MAX && strlen(p.body) > MAILPARSE_TEXT_MAX - 16,
	       "body of %zu bytes", strlen(p.body));
	mailparse_clear(&p);

	/* A UTF-8 body cut inside a character at the size limit is still
	 * read as UTF-8 (it once fell back to windows-1252 as a whole); the
	 * same for a multibyte charset (EUC-JP: "あ" is A4 A2). */
	buf_reset(&big);
	buf_addf(&big, "Subject: cut\r\nContent-Type: text/plain; charset=utf-8\r\n"
		 "Content-Transfer-Encoding: 8bit\r\n\r\nx");
	for (i = 0; i < MAILPARSE_TEXT_MAX / 2 + 10; i++)
		buf_add(&big, "\xc3\xa9", 2);
	mailparse_message(big.data, big.len, &p);
	CHECKF(strncmp(p.body, "x\xc3\xa9\xc3\xa9", 5) == 0, "body starts \"%.12s\"", p.body);
	mailparse_clear(&p);
	buf_reset(&big);
	buf_addf(&big, "Subject: cut\r\nContent-Type: text/plain; charset=euc-jp\r\n"
		 "Content-Transfer-Encoding: 8bit\r\n\r\nx");
	for (i = 0; i < MAILPARSE_TEXT_MAX / 2 + 10; i++)
		buf_add(&big, "\xa4\xa2", 2);
	mailparse_message(big.data, big.len, &p);
	CHECKF(strncmp(p.body, "x\xe3\x81\x82\xe3\x81\x82", 7) == 0, "body starts \"%.12s\"",
	       p.body);
	mailparse_clear(&p);

	/* Recipients one byte short of the field size, then a Cc: the ", "
	 * between them fills the field (once read far past the Cc). */
	buf_reset(&big);
	buf_addf(&big, "Subject: many\r\nTo: ");
	for (i = 0; i < MAILPARSE_FIELD_MAX - 1 - 10; i++)
		buf_add(&big, "a", 1);
	buf_addf(&big, "@x.example\r\n");
	buf_addf(&big, "Cc: b@x.example\r\n\r\nhi\r\n");
	mailparse_message(big.data, big.len, &p);
	CHECKF(strlen(p.recipients) <= MAILPARSE_FIELD_MAX, "recipients of %zu bytes",
	       strlen(p.recipients));
out:
	mailparse_clear(&p);
	buf_clear(&big);
}

/* Splits an mboxrd stream written by mailexport_mboxrd() back into its one
 * message: drop the From_ line and the final newline, unquote. */
static void unmbox(const uint8_t *in, size_t len, struct buf *out)
{
	const uint8_t *p = memchr(in, '\n', len), *end = in + len - 1;

	buf_reset(out);
	for (p = p + 1; p < end;) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p), q = 0;

		while (q < n && p[q] == '>')
			q++;
		if (q > 0 && n - q >= 5 && memcmp(p + q, "From ", 5) == 0)
			buf_add(out, p + 1, n - 1);
		else
			buf_add(out, p, n);
		p += n;
	}
}

/* mailparse_view(): decoded headers, the HTML part's text when there is no
 * plain one (no markup, no script), attachments by decoded size, cuts. */
static const char *view_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static void test_view(void)
{
	static const char m1[] =
		"From: =?utf-8?q?J=C3=BCrgen?= <j@x.example>\r\nTo: a@x.example\r\n"
		"Subject: =?koi8-r?b?8NLJ18XU?=\r\nX-Long: one\r\n two\r\n"
		"Date: Mon, 04 Mar 2024 09:05:00 +0100\r\nMessage-ID: <m1@x.example>\r\n"
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\nContent-Type: text/html\r\n\r\n<p>x&amp;y</p><script>alert(1)</script>"
		"<img src=\"http://track.example/p.gif\">\r\n"
		"--b\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\n"
		"Content-Disposition: attachment; filename=\"r.pdf\"\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ=\r\n--b--\r\n";
	struct json_object *o = mailparse_view((const uint8_t *)m1, sizeof(m1) - 1, 1000), *a, *h;
	struct buf big;
	const char *text;
	int subject = 0, folded = 0;

	CHECKF(strcmp(view_str(o, "subject"), "Привет") == 0, "subject %s", view_str(o, "subject"));
	CHECK(strstr(view_str(o, "from"), "Jürgen") != NULL);
	CHECK(strcmp(view_str(o, "date"), "2024-03-04T08:05:00Z") == 0);
	CHECK(strcmp(view_str(o, "messageId"), "m1@x.example") == 0);
	CHECK(strcmp(view_str(o, "textSource"), "html") == 0);
	text = view_str(o, "text");
	CHECKF(strstr(text, "x&y") && !strchr(text, '<') && !strstr(text, "alert"), "text %s", text);
	CHECK(json_object_object_get_ex(o, "attachments", &a) && json_object_array_length(a) == 1);
	CHECK(strcmp(view_str(json_object_array_get_idx(a, 0), "name"), "r.pdf") == 0);
	CHECK(strcmp(view_str(json_object_array_get_idx(a, 0), "contentType"), "application/pdf") == 0);
	CHECK(json_object_get_int64(json_object_object_get(json_object_array_get_idx(a, 0), "size")) == 11);
	CHECK(json_object_object_get_ex(o, "headers", &h));
	for (size_t i = 0; h && i < json_object_array_length(h); i++) {
		struct json_object *x = json_object_array_get_idx(h, i);

		subject |= strcmp(view_str(x, "name"), "Subject") == 0 &&
			   strcmp(view_str(x, "value"), "Привет") == 0;
		folded |= strcmp(view_str(x, "name"), "X-Long") == 0 &&
			  strcmp(view_str(x, "value"), "one two") == 0;
	}
	CHECK(subject && folded);
	json_object_put(o);

	/* A long plain body is cut at the limit, whole characters, and says so. */
	buf_init(&big, 0);
	buf_addf(&big, "Subject: big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
	for (int i = 0; i < 1000; i++)
		buf_add(&big, "\xc3\xa9", 2);
	o = mailparse_view(big.data, big.len, 999);
	CHECK(json_object_get_boolean(json_object_object_get(o, "truncated")));
	CHECK(strlen(view_str(o, "text")) <= 999 && g_utf8_validate(view_str(o, "text"), -1, NULL));
	CHECK(strcmp(view_str(o, "textSource"), "plain") == 0);
	json_object_put(o);
	buf_clear(&big);
out:;
}

static void test_mboxrd(void)
{
	static const char *const lines[] = { "From a", ">From b", ">>From c", "From", "Fromx",
					     " From d", "x", "", ">", ">>From" };
	struct buf msg, out, back;
	uint64_t seed;

	buf_init(&msg, 0);
	buf_init(&out, 0);
	buf_init(&back, 0);
	mailexport_mboxrd((const uint8_t *)"From x\n", 7, "a@b", 1710928800, "+0200", &out);
	CHECKF(out.len == 43 && memcmp(out.data, "From a@b Wed Mar 20 12:00:00 2024\n>From x\n\n", 43) == 0,
	       "got \"%.*s\"", (int)out.len, (const char *)out.data);
	buf_reset(&out);
	mailexport_mboxrd((const uint8_t *)"x", 1, NULL, 0, NULL, &out);
	CHECKF(out.len == 46 && memcmp(out.data, "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\nx\n", 46) == 0,
	       "got \"%.*s\"", (int)out.len, (const char *)out.data);
	/* Random messages of tricky lines, CRLF or LF, with or without a final
	 * newline, come back byte for byte. */
	for (seed = 0; seed < 200; seed++) {
		uint8_t r[64];
		size_t i;

		th_fill(seed, r, sizeof(r));
		buf_reset(&msg);
		buf_reset(&out);
		for (i = 0; i < r[0] % 12; i++)
			buf_addf(&msg, "%s%s", lines[r[i + 1] % 10], r[i + 20] & 1 ? "\r\n" : "\n");
		if (r[40] & 1)
			buf_addf(&msg, "%s", lines[r[41] % 10]);
		mailexport_mboxrd(msg.data, msg.len, "s@x", 0, "+0000", &out);
		unmbox(out.data, out.len, &back);
		CHECKF(back.len == msg.len && memcmp(back.data, msg.data, msg.len) == 0,
		       "seed %llu: \"%.*s\" came back as \"%.*s\"", (unsigned long long)seed,
		       (int)msg.len, (const char *)msg.data, (int)back.len, (const char *)back.data);
	}
out:
	buf_clear(&msg);
	buf_clear(&out);
	buf_clear(&back);
}

/* ---- the index over real restore points ---- */

struct fx {
	uint8_t keyfile[64];
	struct keysource ks;
	struct store *s;
	const char *src;
};

static int fx_setup(struct fx *f)
{
	const char *root = th_tmpdir("store");
	struct error err;

	memset(f, 0, sizeof(*f));
	CHECK(setenv("COFFER_CACHE", th_tmpdir("cache"), 1) == 0);
	th_fill(7, f->keyfile, sizeof(f->keyfile));
	f->ks.kdf = KEYSLOT_KEYFILE;
	f->ks.secret = f->keyfile;
	f->ks.len = sizeof(f->keyfile);
	CHECK_OK(store_init(root, &f->ks, &err), &err);
	f->s = store_open(root, &f->ks, 0, NULL, &err);
	CHECKF(f->s != NULL, "store_open: %s", err.msg);
	f->src = th_tmpdir("mailbox");
	return 0;
out:
	return -1;
}

static int xset(const char *path, const char *name, const char *value)
{
	return setxattr(path, name, value, strlen(value), 0);
}

/* Writes INBOX/<uid> with subject `word` and flags; "" removes it. */
static int put_msg(const struct fx *f, unsigned uid, const char *word, const char *flags)
{
	char path[512], body[256];
	FILE *fp;
	int n;

	snprintf(path, sizeof(path), "%s/INBOX/%010u", f->src, uid);
	if (*word == '\0')
		return unlink(path);
	n = snprintf(body, sizeof(body), "From: f@x.example\r\nSubject: %s\r\n"
		     "Date: Mon, 04 Mar 2024 09:0%u:00 +0000\r\n\r\nbody of %s\r\n", word, uid, word);
	fp = fopen(path, "wb");
	if (fp == NULL)
		return -1;
	if (fwrite(body, 1, (size_t)n, fp) != (size_t)n) {
		fclose(fp);
		return -1;
	}
	if (fclose(fp) != 0)
		return -1;
	return xset(path, "user.imap.flags", flags);
}

static int backup(struct fx *f, struct error *err)
{
	struct backup_opts o = { .unit = "mb", .path = f->src, .threads = 1, .quiet = 1 };
	struct backup_result res;

	return backup_run(f->s, &o, &res, err);
}

/* The places of the message with subject `word`, as
 * "uid flags seq,seq;..." sorted; "" if not found. Caller frees. */
static char *places(struct mailindex *mi, const char *word, uint32_t seq)
{
	struct mailindex_query q = { .subject = word, .unit = seq ? "mb" : NULL, .seq = seq };
	struct mailindex_results res;
	struct error err;
	struct buf b;
	size_t i, k;

	buf_init(&b, 0);
	error_init(&err);
	if (mailindex_search(mi, &q, &res, &err) < 0) {
		buf_addf(&b, "error: %s", err.msg);
	} else if (res.n > 1) {
		buf_addf(&b, "%zu results", res.n);
	} else if (res.n == 1) {
		for (i = 0; i < res.hits[0].nplaces; i++) {
			const struct mailindex_place *pl = &res.hits[0].places[i];

			buf_addf(&b, "%s%u %s ", i ? ";" : "", pl->uid, pl->flags);
			for (k = 0; k < pl->nseqs; k++)
				buf_addf(&b, "%s%u", k ? "," : "", pl->seqs[k]);
		}
	}
	mailindex_results_clear(&res);
	buf_add(&b, "", 1);
	return (char *)buf_steal(&b, NULL);
}

static int places_are(struct mailindex *mi, const char *word, uint32_t seq, const char *want,
		      const char *what)
{
	char *got = places(mi, word, seq);
	int same = strcmp(got, want) == 0;

	if (!same)
		th_fail(__FILE__, __LINE__, "%s: %s (rp %u): got \"%s\", want \"%s\"", what, word,
			seq, got, want);
	free(got);
	return same;
}

/* Indexes the points of unit mb in the given order. */
static int index_in(struct fx *f, struct mailindex *mi, const uint32_t *order, size_t n,
		    struct error *err)
{
	struct store_unit *u = store_unit_open(f->s, "mb", 0, err);
	struct index *ix = u ? index_open(u, err) : NULL;
	size_t i;
	int ret = ix ? 0 : -1;

	for (i = 0; i < n && ret == 0; i++) {
		struct rp *rp = NULL;

		ret = rp_read(u, order[i], &rp, err);
		if (ret == 0)
			ret = mailindex_add_rp(mi, u, ix, rp, NULL, err);
		rp_free(&rp);
	}
	index_close(&ix);
	store_unit_close(&u);
	return ret;
}

static int expect_all(struct mailindex *mi, const char *what, const char *a, const char *b,
		      const char *c)
{
	return places_are(mi, "alpha", 0, a, what) & places_are(mi, "bravo", 0, b, what) &
	       places_are(mi, "charlie", 0, c, what);
}

static void test_ranges(void)
{
	static const uint32_t in_order[] = { 1, 2, 3, 4 }, shuffled[] = { 4, 1, 3, 2 };
	static const uint32_t keep_124[] = { 1, 2, 4 }, keep_2[] = { 2 }, readd[] = { 4, 3 };
	struct mailindex *a = NULL, *b = NULL;
	struct mailindex_stats st;
	struct fx f;
	struct error err;
	char dir[512];
	const char *ixdir;

	memset(&st, 0, sizeof(st));
	if (fx_setup(&f) < 0)
		return;
	snprintf(dir, sizeof(dir), "%s/INBOX", f.src);
	CHECK(mkdir(dir, 0700) == 0);
	CHECK(xset(f.src, "user.imap.mailbox", "1") == 0 && xset(dir, "user.imap.name", "INBOX") == 0);
	/* 1: alpha, bravo. 2: alpha flagged, bravo gone, charlie. 3: alpha
	 * unflagged, bravo back, charlie. 4: the same as 3. */
	CHECK(put_msg(&f, 1, "alpha", "\\Seen") == 0 && put_msg(&f, 2, "bravo", "\\Seen") == 0);
	CHECK_OK(backup(&f, &err), &err);
	CHECK(put_msg(&f, 1, "alpha", "\\Seen \\Flagged") == 0 && put_msg(&f, 2, "", "") == 0 &&
	      put_msg(&f, 3, "charlie", "\\Seen") == 0);
	CHECK_OK(backup(&f, &err), &err);
	CHECK(put_msg(&f, 1, "alpha", "\\Seen") == 0 && put_msg(&f, 2, "bravo", "\\Seen") == 0);
	CHECK_OK(backup(&f, &err), &err);
	CHECK_OK(backup(&f, &err), &err);

	ixdir = th_tmpdir("ix");
	snprintf(dir, sizeof(dir), "%s/a.sqlite", ixdir);
	a = mailindex_open(dir, &err);
	CHECKF(a != NULL, "open: %s", err.msg);
	snprintf(dir, sizeof(dir), "%s/b.sqlite", ixdir);
	b = mailindex_open(dir, &err);
	CHECKF(b != NULL, "open: %s", err.msg);
	CHECK_OK(index_in(&f, a, in_order, 4, &err), &err);
	CHECK_OK(index_in(&f, b, shuffled, 4, &err), &err);
	/* Indexing a point again changes nothing. */
	CHECK_OK(index_in(&f, a, in_order, 2, &err), &err);
	CHECK(expect_all(a, "in order", "1 \\Seen 1,3,4;1 \\Seen \\Flagged 2", "2 \\Seen 1,3,4",
			 "3 \\Seen 2,3,4"));
	CHECK(expect_all(b, "out of order", "1 \\Seen 1,3,4;1 \\Seen \\Flagged 2", "2 \\Seen 1,3,4",
			 "3 \\Seen 2,3,4"));
	CHECK(places_are(a, "bravo", 2, "", "restore point filter") &
	      places_are(a, "charlie", 1, "", "restore point filter") &
	      places_are(b, "charlie", 4, "3 \\Seen 2,3,4", "restore point filter"));

	/* Point 3 forgotten; then all but 2. */
	CHECK_OK(mailindex_drop_missing(a, "mb", keep_124, 3, &st, &err), &err);
	CHECK_OK(mailindex_drop_missing(b, "mb", keep_124, 3, NULL, &err), &err);
	CHECK(st.dropped == 1);
	CHECK(expect_all(a, "3 dropped", "1 \\Seen 1,4;1 \\Seen \\Flagged 2", "2 \\Seen 1,4",
			 "3 \\Seen 2,4"));
	CHECK(expect_all(b, "3 dropped", "1 \\Seen 1,4;1 \\Seen \\Flagged 2", "2 \\Seen 1,4",
			 "3 \\Seen 2,4"));
	/* The newest dropped too, then 4 and 3 indexed again: as at first. */
	CHECK_OK(mailindex_drop_missing(b, "mb", keep_124, 2, NULL, &err), &err);
	CHECK(expect_all(b, "3 and 4 dropped", "1 \\Seen 1;1 \\Seen \\Flagged 2", "2 \\Seen 1",
			 "3 \\Seen 2"));
	CHECK_OK(index_in(&f, b, readd, 2, &err), &err);
	CHECK(expect_all(b, "4 and 3 again", "1 \\Seen 1,3,4;1 \\Seen \\Flagged 2", "2 \\Seen 1,3,4",
			 "3 \\Seen 2,3,4"));
	CHECK_OK(mailindex_drop_missing(a, "mb", keep_2, 1, NULL, &err), &err);
	CHECK(expect_all(a, "only 2 left", "1 \\Seen \\Flagged 2", "", "3 \\Seen 2"));
	CHECK_FAILS(mailindex_search(a, &(struct mailindex_query){ .unit = "mb", .seq = 1 },
				     &(struct mailindex_results){ 0 }, &err), &err, ERROR_USAGE);
out:
	mailindex_close(&a);
	mailindex_close(&b);
	store_close(&f.s);
}

/* The addresses a data-subject export looks up: addr-specs of the six
 * fields (groups too), never display names, lower case, each once. */
static void test_addresses(void)
{
	static const char m[] =
		"From: \"ann@x.org\" <Mallory@Z.org>\r\n"
		"Sender: =?UTF-8?B?w4VubiBFeGFtcGxl?= <Ann@X.ORG>\r\n"
		"Reply-To: ann@x.org\r\nTo: team: c@y.org, D@y.org;, joann@x.org\r\n"
		"Cc: <e@y.org>\r\nBcc: f@y.org\r\nSubject: s\r\n\r\nWrite to g@y.org.\r\n";
	static const char broken[] = "From: a@b.c\r\nReply-To: R@B.C\r\n\x80\xff";
	static const struct {
		const char *in, *want;
	} norm[] = {
		{ " <Ann@X.Org> ", "ann@x.org" }, { "ann@x.org", "ann@x.org" },
		{ "Jürgen@Bücher.example", "jürgen@bücher.example" }, { "ann", NULL },
		{ "@x.org", NULL }, { "ann@", NULL }, { "a b@x.org", NULL }, { "a@x.org, b@x.org", NULL },
		{ "Ann <a@x.org>", NULL }, { "", NULL },
	};
	struct mailparse p;
	char *got;

	memset(&p, 0, sizeof(p));
	mailparse_message((const uint8_t *)m, sizeof(m) - 1, &p);
	CHECKF(p.addresses && strcmp(p.addresses, "mallory@z.org\nann@x.org\nc@y.org\nd@y.org\n"
				      "joann@x.org\ne@y.org\nf@y.org") == 0,
	       "addresses \"%s\"", p.addresses);
	mailparse_clear(&p);
	mailparse_message((const uint8_t *)broken, sizeof(broken) - 1, &p);
	CHECKF(p.addresses && strstr(p.addresses, "a@b.c") && strstr(p.addresses, "r@b.c"),
	       "addresses of a broken message \"%s\"", p.addresses);
	mailparse_clear(&p);
	for (size_t i = 0; i < sizeof(norm) / sizeof(norm[0]); i++) {
		got = mailparse_address_norm(norm[i].in);
		CHECKF(norm[i].want ? got && strcmp(got, norm[i].want) == 0 : got == NULL,
		       "norm(\"%s\") = \"%s\"", norm[i].in, got ? got : "(null)");
		free(got);
	}
out:
	mailparse_clear(&p);
}

/* Writes INBOX/<uid> with these bytes. */
static int put_raw(const struct fx *f, unsigned uid, const char *data)
{
	char path[512];
	FILE *fp;
	int ok;

	snprintf(path, sizeof(path), "%s/INBOX/%010u", f->src, uid);
	if ((fp = fopen(path, "wb")) == NULL)
		return -1;
	ok = fwrite(data, 1, strlen(data), fp) == strlen(data);
	return fclose(fp) == 0 && ok ? 0 : -1;
}

/* How many messages a query finds; -1 with err on failure. */
static long hits(struct mailindex *mi, const struct mailindex_query *q, struct error *err)
{
	struct mailindex_results res;
	long n;

	if (mailindex_search(mi, q, &res, err) < 0)
		return -1;
	n = (long)res.n;
	mailindex_results_clear(&res);
	return n;
}

/* The address filter over real points: whole addresses, any case, combined
 * with other filters; the addresses leave with their messages. */
static void test_address_lookup(void)
{
	struct mailindex *mi = NULL;
	struct error err;
	struct fx f;
	char dir[512];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	if (fx_setup(&f) < 0)
		return;
	snprintf(dir, sizeof(dir), "%s/INBOX", f.src);
	CHECK(mkdir(dir, 0700) == 0);
	CHECK(xset(f.src, "user.imap.mailbox", "1") == 0 && xset(dir, "user.imap.name", "INBOX") == 0);
	CHECK(put_raw(&f, 1, "From: Ann <Ann@X.org>\r\nSubject: one\r\n\r\nx\r\n") == 0 &&
	      put_raw(&f, 2, "From: b@y.org\r\nTo: joann@x.org\r\nSubject: two\r\n\r\n"
			 "ann@x.org in the body\r\n") == 0 &&
	      put_raw(&f, 3, "From: c@y.org\r\nReply-To: ann@x.org\r\nSubject: three\r\n\r\n"
			 "x\r\n") == 0);
	CHECK_OK(backup(&f, &err), &err);
	snprintf(dir, sizeof(dir), "%s/addr.sqlite", th_tmpdir("ixaddr"));
	mi = mailindex_open(dir, &err);
	CHECKF(mi != NULL, "open: %s", err.msg);
	CHECK_OK(index_in(&f, mi, (const uint32_t[]){ 1 }, 1, &err), &err);
	CHECK(hits(mi, &(struct mailindex_query){ .address = "ann@x.org" }, &err) == 2);
	CHECK(hits(mi, &(struct mailindex_query){ .address = " <ANN@x.ORG>" }, &err) == 2);
	CHECK(hits(mi, &(struct mailindex_query){ .address = "joann@x.org" }, &err) == 1);
	CHECK(hits(mi, &(struct mailindex_query){ .address = "nn@x.org" }, &err) == 0);
	CHECK(hits(mi, &(struct mailindex_query){ .address = "ann@x.org", .subject = "three",
						  .unit = "mb", .seq = 1 }, &err) == 1);
	CHECK_FAILS(mailindex_search(mi, &(struct mailindex_query){ .address = "ann" },
				     &(struct mailindex_results){ 0 }, &err), &err, ERROR_USAGE);
	CHECKF(strstr(err.msg, "\"ann\" is not one e-mail address"), "error: %s", err.msg);
	/* Every point gone: no address is left behind in the file. */
	CHECK_OK(mailindex_drop_missing(mi, "mb", NULL, 0, NULL, &err), &err);
	CHECK(sqlite3_open(dir, &db) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM addr", -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0);
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	mailindex_close(&mi);
	store_close(&f.s);
}

static void test_version(void)
{
	char path[512];
	struct mailindex *mi = NULL;
	struct error err;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	snprintf(path, sizeof(path), "%s/ix.sqlite", th_tmpdir("ver"));
	mi = mailindex_open(path, &err);
	CHECKF(mi != NULL, "open: %s", err.msg);
	mailindex_close(&mi);
	CHECK(stat(path, &(struct stat){ 0 }) == 0);
	/* An older format is emptied and made anew (it is a cache). */
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "DROP TABLE addr; INSERT INTO rp VALUES('u', 1, 0, 0); "
			   "PRAGMA user_version = 2", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	db = NULL;
	error_init(&err);
	mi = mailindex_open(path, &err);
	CHECKF(mi != NULL, "open of a version 2 index: %s", err.msg);
	mailindex_close(&mi);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM rp), (SELECT count(*) FROM addr)",
				 -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0);
	sqlite3_finalize(st);
	st = NULL;
	/* A future format is refused, naming the file and the version. */
	CHECK(sqlite3_exec(db, "PRAGMA user_version = 4", NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	db = NULL;
	error_init(&err);
	mi = mailindex_open(path, &err);
	CHECKF(mi == NULL && err.code == ERROR_VERSION && strstr(err.msg, "version 4") &&
	       strstr(err.msg, path), "got %s", err.msg);
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	mailindex_close(&mi);
}

struct opener {
	const char *path;
	pthread_barrier_t *start;
	int ok;
	struct error err;
};

static void *open_at_once(void *arg)
{
	struct opener *o = arg;
	struct mailindex *mi;

	pthread_barrier_wait(o->start);
	mi = mailindex_open(o->path, &o->err);
	o->ok = mi != NULL;
	mailindex_close(&mi);
	return NULL;
}

/* Several jobs opening a tenant's new index at the same moment: every one
 * gets it (only the first creates the tables). */
static void test_open_race(void)
{
	enum { N = 4, ROUNDS = 8 };
	char path[512];
	pthread_barrier_t start;
	pthread_t t[N];
	struct opener o[N];

	for (int r = 0; r < ROUNDS; r++) {
		snprintf(path, sizeof(path), "%s/ix-%d.sqlite", th_tmpdir("race"), r);
		pthread_barrier_init(&start, NULL, N);
		for (int i = 0; i < N; i++) {
			o[i] = (struct opener){ .path = path, .start = &start };
			error_init(&o[i].err);
			pthread_create(&t[i], NULL, open_at_once, &o[i]);
		}
		for (int i = 0; i < N; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&start);
		for (int i = 0; i < N; i++)
			CHECKF(o[i].ok, "round %d, opener %d: %s", r, i, o[i].err.msg);
	}
out:
	return;
}

/* A point indexed late between two indexed ones, lacking a message whose
 * range ends at a point dropped since: the range must stop before it.
 * alpha is in 1 and 3, not in 2 and 4; 2 is indexed last, after 3 was
 * dropped (alpha's range was then 1..3). */
static void test_range_dropped_end(void)
{
	static const uint32_t first[] = { 1, 3, 4 }, keep_124[] = { 1, 2, 4 }, late[] = { 2 };
	struct mailindex *mi = NULL;
	struct fx f;
	struct error err;
	char dir[512];

	if (fx_setup(&f) < 0)
		return;
	snprintf(dir, sizeof(dir), "%s/INBOX", f.src);
	CHECK(mkdir(dir, 0700) == 0);
	CHECK(xset(f.src, "user.imap.mailbox", "1") == 0 && xset(dir, "user.imap.name", "INBOX") == 0);
	CHECK(put_msg(&f, 1, "alpha", "") == 0 && put_msg(&f, 2, "bravo", "") == 0);
	CHECK_OK(backup(&f, &err), &err);
	CHECK(put_msg(&f, 1, "", "") == 0);
	CHECK_OK(backup(&f, &err), &err);
	CHECK(put_msg(&f, 1, "alpha", "") == 0);
	CHECK_OK(backup(&f, &err), &err);
	CHECK(put_msg(&f, 1, "", "") == 0);
	CHECK_OK(backup(&f, &err), &err);
	snprintf(dir, sizeof(dir), "%s/late.sqlite", th_tmpdir("ix"));
	mi = mailindex_open(dir, &err);
	CHECKF(mi != NULL, "open: %s", err.msg);
	CHECK_OK(index_in(&f, mi, first, 3, &err), &err);
	CHECK(places_are(mi, "alpha", 0, "1  1,3", "1, 3 and 4 indexed"));
	CHECK_OK(mailindex_drop_missing(mi, "mb", keep_124, 3, NULL, &err), &err);
	CHECK_OK(index_in(&f, mi, late, 1, &err), &err);
	CHECK(places_are(mi, "alpha", 0, "1  1", "3 dropped, 2 indexed"));
	CHECK(places_are(mi, "alpha", 2, "", "restore point 2 filter"));
	CHECK(places_are(mi, "bravo", 0, "2  1,2,4", "3 dropped, 2 indexed"));
out:
	mailindex_close(&mi);
	store_close(&f.s);
}

/* Export by path: a path given twice is written once, not reported
 * missing; a path the point lacks is named. */
static void test_export_paths(void)
{
	static const char *const twice[] = { "INBOX/0000000001", "INBOX/0000000002",
					     "INBOX/0000000001" };
	static const char *const absent[] = { "INBOX/0000000009" };
	struct store_unit *u = NULL;
	struct index *ix = NULL;
	struct rp *rp = NULL;
	struct mailexport *x = NULL;
	struct fx f;
	struct error err;
	char path[512];

	if (fx_setup(&f) < 0)
		return;
	snprintf(path, sizeof(path), "%s/INBOX", f.src);
	CHECK(mkdir(path, 0700) == 0);
	CHECK(xset(f.src, "user.imap.mailbox", "1") == 0 &&
	      xset(path, "user.imap.name", "INBOX") == 0);
	CHECK(put_msg(&f, 1, "alpha", "") == 0 && put_msg(&f, 2, "bravo", "") == 0);
	CHECK_OK(backup(&f, &err), &err);
	u = store_unit_open(f.s, "mb", 0, &err);
	CHECKF(u != NULL, "unit: %s", err.msg);
	ix = index_open(u, &err);
	CHECKF(ix != NULL, "index: %s", err.msg);
	CHECK_OK(rp_read(u, 1, &rp, &err), &err);
	snprintf(path, sizeof(path), "%s/out.mbox", th_tmpdir("export"));
	x = mailexport_open(MAILEXPORT_MBOX, path, 0, &err);
	CHECKF(x != NULL, "create: %s", err.msg);
	CHECK_OK(mailexport_add_paths(x, u, ix, rp, twice, 3, &err), &err);
	CHECKF(mailexport_count(x) == 2, "%llu messages written",
	       (unsigned long long)mailexport_count(x));
	CHECK_FAILS(mailexport_add_paths(x, u, ix, rp, absent, 1, &err), &err, ERROR_NOTFOUND);
	CHECKF(strstr(err.msg, "INBOX/0000000009") != NULL, "message: %s", err.msg);
out:
	mailexport_close(&x);
	rp_free(&rp);
	index_close(&ix);
	store_unit_close(&u);
	store_close(&f.s);
}

/* The points holding a hit: over all places, sorted, each once (what
 * search --json and the API list as restorePoints). */
static void test_hit_points(void)
{
	uint32_t a1[] = { 3, 1 }, a2[] = { 1, 2 }, b1[] = { 7 };
	char mbox[] = "mbox", b[] = "b";
	struct mailindex_place places[] = {
		{ .unit = mbox, .seqs = a1, .nseqs = 2 },
		{ .unit = b, .seqs = b1, .nseqs = 1 },
		{ .unit = mbox, .seqs = a2, .nseqs = 2 },
	};
	struct mailindex_hit h = { .places = places, .nplaces = 3 };
	struct mailindex_point *pts;
	size_t n;

	pts = mailindex_hit_points(&h, &n);
	CHECK(n == 4);
	CHECK(strcmp(pts[0].unit, "b") == 0 && pts[0].seq == 7);
	CHECK(strcmp(pts[1].unit, "mbox") == 0 && pts[1].seq == 1);
	CHECK(pts[2].seq == 2 && pts[3].seq == 3);
	free(pts);
	h.nplaces = 0;
	pts = mailindex_hit_points(&h, &n);
	CHECK(n == 0);
out:
	free(pts);
}

/* The rowids MATCH expr finds in t, ascending, as "1,3". */
static char *fts_rows(sqlite3 *db, const char *expr)
{
	sqlite3_stmt *st = NULL;
	struct buf b;

	buf_init(&b, 0);
	if (sqlite3_prepare_v2(db, "SELECT rowid FROM t WHERE t MATCH ?1 ORDER BY rowid", -1, &st,
			       NULL) != SQLITE_OK) {
		buf_addf(&b, "prepare: %s", sqlite3_errmsg(db));
	} else {
		sqlite3_bind_text(st, 1, expr, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW)
			buf_addf(&b, "%s%lld", b.len ? "," : "", (long long)sqlite3_column_int64(st, 0));
	}
	sqlite3_finalize(st);
	buf_add(&b, "", 1);
	return (char *)buf_steal(&b, NULL);
}

static int finds(sqlite3 *db, const char *expr, const char *want, int line)
{
	char *got = fts_rows(db, expr);
	int same = strcmp(got, want) == 0;

	if (!same)
		th_fail(__FILE__, line, "MATCH '%s' found \"%s\", want \"%s\"", expr, got, want);
	free(got);
	return same;
}

/* Words inside CJK text written without spaces are found; order and
 * adjacency are kept (a phrase of bigrams); Latin text folds as before. */
static void test_cjk_tokens(void)
{
	static const char *const docs[] = {
		/* 1 */ "明天的会议改到下午三点",
		/* 2 */ "来週東京へ行きます",
		/* 3 */ "내일회의는 취소되었습니다",
		/* 4 */ "会 今天 议",              /* 会 and 议, apart */
		/* 5 */ "ｶﾞｲﾄﾞﾌﾞｯｸを送ります",    /* half-width katakana */
		/* 6 */ "Café crème, Q3会議 2024年3月",
		/* 7 */ "点三午下",                /* 下午三 backwards */
		/* 8 */ "カ\xe3\x82\x99イド",     /* ガイド with a combining mark */
		/* 9 */ "\xe1\x84\x92\xe1\x85\xac\xe1\x84\x8b\xe1\x85\xb4", /* 회의, decomposed */
	};
	sqlite3 *db = NULL;
	char sql[256];
	size_t i;

	CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
	CHECK(mailtok_register(db) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "CREATE VIRTUAL TABLE t USING fts5(x, tokenize = '" MAILTOK_NAME
			   " remove_diacritics 2')", NULL, NULL, NULL) == SQLITE_OK);
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		char *q = sqlite3_mprintf("INSERT INTO t(rowid, x) VALUES(%d, %Q)", (int)i + 1, docs[i]);

		snprintf(sql, sizeof(sql), "%s", q);
		sqlite3_free(q);
		CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	}
	CHECK(finds(db, "\"会议\"", "1", __LINE__));
	CHECK(finds(db, "\"下午三点\"", "1", __LINE__));
	CHECK(finds(db, "\"下午三\"", "1", __LINE__));       /* not 7: order kept */
	CHECK(finds(db, "\"東京\"", "2", __LINE__));
	CHECK(finds(db, "\"회의\"", "3,9", __LINE__));      /* and the decomposed one */
	CHECK(finds(db, "\"取消\"", "", __LINE__));
	CHECK(finds(db, "\"ガイドブック\"", "5", __LINE__)); /* full-width finds half-width */
	CHECK(finds(db, "\"ｶﾞｲﾄﾞ\"", "5,8", __LINE__));     /* and the other way */
	CHECK(finds(db, "\"会議\"", "6", __LINE__));
	CHECK(finds(db, "\"q3会議\"", "6", __LINE__));      /* Latin and CJK in one word */
	CHECK(finds(db, "\"cafe creme\"", "6", __LINE__));  /* unicode61 as before */
	CHECK(finds(db, "\"3月\" *", "6", __LINE__));
	CHECK(finds(db, "\"会\" *", "1,4,6", __LINE__));      /* one character: a prefix */
	CHECK(finds(db, "\"议\" *", "1,4", __LINE__));      /* also a run's last one */
	CHECK(finds(db, "\"点\" *", "1,7", __LINE__));
	CHECK(finds(db, "\"天会\"", "", __LINE__));         /* never across a space */
	CHECK(mailtok_is_cjk_char("会", 3) && !mailtok_is_cjk_char("会议", 6) &&
	      !mailtok_is_cjk_char("a", 1) && mailtok_is_cjk_char("ｶ", 3));
out:
	sqlite3_close(db);
}

const struct unit_test mailindex_tests[] = {
	{ "mailindex: CJK words inside sentences (bigram tokens)", test_cjk_tokens },
	{ "mailindex: the points holding a hit, sorted, each once", test_hit_points },
	{ "mailindex: HTML reduced to text", test_html },
	{ "mailindex: modified UTF-7 names", test_mutf7 },
	{ "mailindex: modified UTF-7 runs that encode printable ASCII are not decoded",
	  test_mutf7_printable_encoded },
	{ "mailindex: MIME parsing of odd, broken and huge messages", test_parse },
	{ "mailindex: one message as data for a reader (headers, text, attachments)", test_view },
	{ "mailindex: mboxrd quoting round trip", test_mboxrd },
	{ "mailindex: occurrence ranges in order, out of order and after drops", test_ranges },
	{ "mailindex: the addresses of a message, and an address typed", test_addresses },
	{ "mailindex: the address filter over real points, and addresses leaving",
	  test_address_lookup },
	{ "mailindex: an older format is emptied, a newer one refused", test_version },
	{ "mailindex: a new index opened by several at once", test_open_race },
	{ "mailindex: a range ending at a dropped point, split by a late point",
	  test_range_dropped_end },
	{ "mailindex: export of paths given twice or missing", test_export_paths },
	{ NULL, NULL },
};
