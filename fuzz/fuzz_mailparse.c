/* Fuzzes what the mail search index and export do with message bytes
 * (src/engine/mailparse.h, mailexport.h): MIME parsing (GMime and the
 * header fallback), the HTML reducer, modified UTF-7 names as the index
 * shows them (lib/mutf7.h), the sender of the mbox From_ line and the
 * addresses the index keeps (each its own normalization); a message as the
 * console reads it (mailparse_view: valid UTF-8 JSON, text within its
 * limit); the calendar and vCard readers (mailtext.h: valid UTF-8 within
 * the limit); the index's tokenizer (mailtok.h) over the input as a
 * document and as a query; and checks that mboxrd quoting round-trips the
 * input exactly. */

#include <glib.h>
#include <json-c/json.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#include "engine/mailexport.h"
#include "engine/mailparse.h"
#include "engine/mailtext.h"
#include "engine/mailtok.h"
#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/mutf7.h"

/* Undoes mailexport_mboxrd(): drop the From_ line and the last newline,
 * remove one '>' from lines matching ^>+From . */
static void unquote(const uint8_t *in, size_t len, struct buf *out)
{
	const uint8_t *p = memchr(in, '\n', len), *end = in + len - 1;

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

/* The index's addresses: lines, each its own normalization, at most
 * MAILPARSE_ADDRESSES_MAX of them. */
static int addresses_ok(const char *list)
{
	size_t n = 0;

	if (list == NULL)
		return 0;
	for (const char *p = list; *p; n++) {
		const char *nl = strchr(p, '\n');
		char *line = nl ? xstrndup(p, (size_t)(nl - p)) : xstrdup(p);
		char *again = mailparse_address_norm(line);
		int same = again && strcmp(again, line) == 0;

		free(again);
		free(line);
		if (!same)
			return 0;
		p = nl ? nl + 1 : p + strlen(p);
	}
	return n <= MAILPARSE_ADDRESSES_MAX;
}

/* The input as a document of an FTS5 table with the index's tokenizer,
 * then as a query phrase against it: the tokenizer sees every kind of byte
 * sequence, and a phrase of a document's own text finds it. */
static void tokens(const char *s, size_t len)
{
	static sqlite3 *db;
	sqlite3_stmt *st = NULL;
	struct buf phrase;
	int found = 0, ntokens = 0;

	if (db == NULL && (sqlite3_open(":memory:", &db) != SQLITE_OK ||
			   mailtok_register(db) != SQLITE_OK ||
			   sqlite3_exec(db, "CREATE VIRTUAL TABLE t USING fts5(x, tokenize = '"
					MAILTOK_NAME " remove_diacritics 2');"
					"CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')", NULL,
					NULL, NULL) != SQLITE_OK))
		abort();
	if (sqlite3_exec(db, "DELETE FROM t", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO t(rowid, x) VALUES(1, ?1)", -1, &st, NULL) != SQLITE_OK)
		abort();
	sqlite3_bind_text(st, 1, s, (int)len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		abort();
	sqlite3_finalize(st);
	if (!g_utf8_validate(s, (gssize)len, NULL) || memchr(s, '"', len) || memchr(s, 0, len))
		return;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM v", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		abort();
	ntokens = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	buf_init(&phrase, 0);
	buf_add(&phrase, "\"", 1);
	buf_add(&phrase, s, len);
	buf_add(&phrase, "\"", 2); /* and the NUL */
	if (sqlite3_prepare_v2(db, "SELECT rowid FROM t WHERE t MATCH ?1", -1, &st, NULL) != SQLITE_OK)
		abort();
	sqlite3_bind_text(st, 1, (const char *)phrase.data, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		found = 1;
	sqlite3_finalize(st);
	/* The document's whole text as a phrase finds it (bigrams in a row). */
	if (ntokens > 0 && !found)
		abort();
	buf_clear(&phrase);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailparse p;
	struct buf box, back;
	char *s, *text, *name, *sender;

	mailparse_message(data, size, &p);
	if (!g_utf8_validate(p.subject, -1, NULL) || !g_utf8_validate(p.body, -1, NULL) ||
	    !g_utf8_validate(p.sender, -1, NULL) || !g_utf8_validate(p.recipients, -1, NULL) ||
	    strlen(p.body) > MAILPARSE_TEXT_MAX + 1 + MAILPARSE_PARTS_MAX ||
	    strlen(p.subject) > MAILPARSE_FIELD_MAX ||
	    !addresses_ok(p.addresses))
		abort();
	mailparse_clear(&p);

	{
		struct json_object *v = mailparse_view(data, size, 4096), *t;
		const char *js = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);

		if (!g_utf8_validate(js, -1, NULL) || !json_object_object_get_ex(v, "text", &t) ||
		    strlen(json_object_get_string(t)) > 4096)
			abort();
		json_object_put(v);
	}

	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	/* An address typed: normalizing again changes nothing. */
	if ((name = mailparse_address_norm(s)) != NULL && !addresses_ok(name))
		abort();
	free(name);
	text = mailparse_html_to_text(s, size, 4096);
	if (strlen(text) > 4096)
		abort();
	free(text);
	text = mailtext_calendar(s, size, 4096);
	if (strlen(text) > 4096 || !g_utf8_validate(text, -1, NULL))
		abort();
	free(text);
	text = mailtext_vcard(s, size, 4096);
	if (strlen(text) > 4096 || !g_utf8_validate(text, -1, NULL))
		abort();
	tokens(s, size);
	name = mutf7_decode_or_keep(s);
	sender = mailparse_sender_address(data, size);

	buf_init(&box, 0);
	buf_init(&back, 0);
	mailexport_mboxrd(data, size, sender, (int64_t)size * 7919, "+0130", &box);
	unquote(box.data, box.len, &back);
	if (back.len != size || (size && memcmp(back.data, data, size) != 0))
		abort();
	buf_clear(&box);
	buf_clear(&back);
	free(sender);
	free(name);
	free(text);
	free(s);
	return 0;
}
