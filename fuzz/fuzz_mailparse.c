/* Fuzzes what the mail search index and export do with message bytes
 * (src/engine/mailparse.h, mailexport.h): MIME parsing (GMime and the
 * header fallback), the HTML reducer, modified UTF-7 names as the index
 * shows them (lib/mutf7.h), the sender of the mbox From_ line and the
 * addresses the index keeps (each its own normalization); a message as the
 * console reads it (mailparse_view: valid UTF-8 JSON, text within its
 * limit); and checks that mboxrd quoting round-trips the input exactly. */

#include <glib.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#include "engine/mailexport.h"
#include "engine/mailparse.h"
#include "lib/buf.h"
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
		char *line = nl ? g_strndup(p, (gsize)(nl - p)) : g_strdup(p);
		char *again = mailparse_address_norm(line);
		int same = again && strcmp(again, line) == 0;

		free(again);
		g_free(line);
		if (!same)
			return 0;
		p = nl ? nl + 1 : p + strlen(p);
	}
	return n <= MAILPARSE_ADDRESSES_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailparse p;
	struct buf box, back;
	char *s, *text, *name, *sender;

	mailparse_message(data, size, &p);
	if (!g_utf8_validate(p.subject, -1, NULL) || !g_utf8_validate(p.body, -1, NULL) ||
	    !g_utf8_validate(p.sender, -1, NULL) || !g_utf8_validate(p.recipients, -1, NULL) ||
	    strlen(p.body) > MAILPARSE_TEXT_MAX || strlen(p.subject) > MAILPARSE_FIELD_MAX ||
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
