/* Message parsing for the search index: GMime 3 does MIME, RFC 2047 and
 * RFC 2231; this file picks the fields, converts text to UTF-8 and reduces
 * HTML to text. */
#include "engine/mailparse.h"

#include <gmime/gmime.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/mailtext.h"
#include "lib/buf.h"
#include "lib/mem.h"

#define MAILPARSE_DEPTH_MAX 32

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void gmime_setup(void)
{
	g_mime_init();
}

/* Duplicates a g_malloc'd or static string into our allocator. */
static char *own(const char *s)
{
	return xstrdup(s ? s : "");
}

/* Cuts s (ours) to at most max bytes without splitting a UTF-8 character. */
static void utf8_cut(char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	s[n] = '\0';
}

/* g_convert() to UTF-8; input cut inside its last character (parts are
 * cut at a byte count) is converted up to that character. */
static gchar *convert(const char *data, size_t len, const char *from)
{
	GError *e = NULL;
	gsize done = 0;
	gchar *out = g_convert(data, (gssize)len, "UTF-8", from, &done, NULL, &e);

	if (out == NULL && e && g_error_matches(e, G_CONVERT_ERROR, G_CONVERT_ERROR_PARTIAL_INPUT) &&
	    done > 0 && done < len)
		out = g_convert(data, (gssize)done, "UTF-8", from, NULL, NULL, NULL);
	g_clear_error(&e);
	return out;
}

/* Converts len bytes of text in `charset` (NULL: unknown) to valid UTF-8,
 * at most max bytes; never fails. Caller frees. */
static char *to_utf8(const char *data, size_t len, const char *charset, size_t max)
{
	gchar *conv = NULL, *valid;
	const gchar *bad;
	char *out;

	if (data == NULL || len == 0) /* an empty GByteArray has no data at all */
		return xstrdup("");
	if (charset && g_ascii_strcasecmp(charset, "utf-8") != 0 &&
	    g_ascii_strcasecmp(charset, "us-ascii") != 0)
		conv = convert(data, len, g_mime_charset_iconv_name(charset));
	/* UTF-8 cut inside its last character is UTF-8 all the same. */
	if (conv == NULL && !g_utf8_validate(data, (gssize)len, &bad) &&
	    len - (size_t)(bad - data) < 4 &&
	    g_utf8_get_char_validated(bad, (gssize)(len - (size_t)(bad - data))) == (gunichar)-2)
		len = (size_t)(bad - data);
	if (conv == NULL && !g_utf8_validate(data, (gssize)len, NULL)) {
		/* Undeclared or mislabelled 8-bit text: most often Windows' Latin. */
		conv = g_convert(data, (gssize)len, "UTF-8", "WINDOWS-1252", NULL, NULL, NULL);
		if (conv == NULL)
			conv = g_convert(data, (gssize)len, "UTF-8", "ISO-8859-1", NULL, NULL, NULL);
	}
	valid = conv ? g_utf8_make_valid(conv, -1) : g_utf8_make_valid(data, (gssize)len);
	g_free(conv);
	out = xstrdup(valid ? valid : "");
	g_free(valid);
	utf8_cut(out, max);
	return out;
}

/* Appends text to a growing field, separated by sep, up to max bytes. */
static void field_add(struct buf *b, const char *text, const char *sep, size_t max)
{
	size_t n;

	if (text == NULL || *text == '\0' || b->len >= max)
		return;
	if (b->len > 0)
		buf_add(b, sep, strlen(sep));
	if (b->len >= max) /* the separator filled it: max - len would wrap */
		return;
	n = strlen(text);
	if (b->len + n > max)
		n = max - b->len;
	buf_add(b, text, n);
}

static char *field_take(struct buf *b, size_t max)
{
	char *s;

	buf_add(b, "", 1);
	s = (char *)buf_steal(b, NULL);
	/* Valid already (pieces were UTF-8); cutting may have split one. */
	utf8_cut(s, max);
	while (*s && !g_utf8_validate(s, -1, NULL))
		s[strlen(s) - 1] = '\0';
	return s;
}

struct walk {
	struct buf body, names;
	struct buf parts; /* text of the other textual parts (mailparse.h) */
	int has_attachment;
	char *warning;
};

static void note(struct walk *w, const char *what)
{
	if (w->warning == NULL)
		w->warning = xstrdup(what);
}

/* Decoded content of a leaf part converted to UTF-8. */
static char *part_text(GMimeObject *obj, size_t max)
{
	GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(obj));
	GMimeStream *mem;
	GByteArray *bytes;
	char *text;

	if (content == NULL)
		return NULL;
	mem = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(content, mem);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	/* Every character takes at least one input byte, so input past max
	 * can never reach the kept text (HTML callers ask for more, since
	 * markup takes room). */
	text = to_utf8((const char *)bytes->data, bytes->len < max ? bytes->len : max,
		       g_mime_object_get_content_type_parameter(obj, "charset"), max);
	g_object_unref(mem);
	return text;
}

/* Adds an attachment's file name (decoded by GMime: RFC 2231, RFC 2047)
 * once to the names. */
static void add_name(struct walk *w, const char *name)
{
	char *valid;

	if (name == NULL || *name == '\0')
		return;
	valid = to_utf8(name, strlen(name), NULL, MAILPARSE_FIELD_MAX);
	/* filename= and name= mostly say the same. */
	if (w->names.len == 0 || g_strstr_len((const char *)w->names.data, (gssize)w->names.len,
					       valid) == NULL)
		field_add(&w->names, valid, "\n", MAILPARSE_FIELD_MAX);
	free(valid);
}

enum textkind { TK_NONE, TK_PLAIN, TK_HTML, TK_CALENDAR, TK_VCARD };

static int name_ends(const char *name, const char *ext)
{
	size_t n = name ? strlen(name) : 0, e = strlen(ext);

	return n > e && g_ascii_strcasecmp(name + n - e, ext) == 0;
}

/* What text a leaf part holds, by its type (or, for attachments sent as
 * application/octet-stream, by its file name's extension). */
static enum textkind text_kind(GMimeContentType *ct, const char *name)
{
	if (ct && (g_mime_content_type_is_type(ct, "text", "calendar") ||
		   g_mime_content_type_is_type(ct, "application", "ics")))
		return TK_CALENDAR;
	if (ct && (g_mime_content_type_is_type(ct, "text", "vcard") ||
		   g_mime_content_type_is_type(ct, "text", "x-vcard") ||
		   g_mime_content_type_is_type(ct, "text", "directory")))
		return TK_VCARD;
	if (ct && g_mime_content_type_is_type(ct, "text", "html"))
		return TK_HTML;
	if (ct && g_mime_content_type_is_type(ct, "text", "*"))
		return TK_PLAIN;
	if (name_ends(name, ".ics"))
		return TK_CALENDAR;
	if (name_ends(name, ".vcf"))
		return TK_VCARD;
	return TK_NONE;
}

/* The readable text of a part of kind k, at most max bytes. */
static char *kind_text(GMimeObject *obj, enum textkind k, size_t max)
{
	char *raw, *text;

	if (k == TK_PLAIN)
		return part_text(obj, max);
	/* Markup and property syntax take room: read more than is kept. */
	raw = part_text(obj, 8 * max);
	if (raw == NULL)
		return NULL;
	if (k == TK_HTML)
		text = mailparse_html_to_text(raw, strlen(raw), max);
	else if (k == TK_CALENDAR)
		text = mailtext_calendar(raw, strlen(raw), max);
	else
		text = mailtext_vcard(raw, strlen(raw), max);
	free(raw);
	return text;
}

static void leaf(GMimeObject *obj, struct walk *w)
{
	GMimePart *part = GMIME_PART(obj);
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *name = g_mime_part_get_filename(part);
	int attached = g_mime_part_is_attachment(part) || name;
	enum textkind k = text_kind(ct, name);
	char *text;

	if (attached) {
		w->has_attachment = 1;
		add_name(w, name);
		add_name(w, g_mime_object_get_content_type_parameter(obj, "name"));
	}
	if (k == TK_NONE)
		return;
	/* The message's own text first; every other textual part (calendars,
	 * vCards, text attachments) in its own budget, so a big attachment
	 * never crowds the body out. */
	if (!attached && (k == TK_PLAIN || k == TK_HTML)) {
		if (w->body.len >= MAILPARSE_TEXT_MAX)
			return;
		text = kind_text(obj, k, MAILPARSE_TEXT_MAX);
		if (text)
			field_add(&w->body, text, "\n", MAILPARSE_TEXT_MAX);
	} else {
		if (w->parts.len >= MAILPARSE_PARTS_MAX)
			return;
		text = kind_text(obj, k, MAILPARSE_PART_MAX);
		if (text)
			field_add(&w->parts, text, "\n", MAILPARSE_PARTS_MAX);
	}
	free(text);
}

static char *addresses(GMimeMessage *m, const GMimeAddressType *types, size_t n);

/* A forwarded message's own header fields are text of the message too. */
static void inner_headers(GMimeMessage *inner, struct walk *w)
{
	static const GMimeAddressType who[] = { GMIME_ADDRESS_TYPE_FROM, GMIME_ADDRESS_TYPE_TO };
	const char *subject = g_mime_message_get_subject(inner);
	char *s;

	if (w->parts.len >= MAILPARSE_PARTS_MAX)
		return;
	s = addresses(inner, who, 2);
	field_add(&w->parts, s, "\n", MAILPARSE_PARTS_MAX);
	free(s);
	if (subject) {
		s = to_utf8(subject, strlen(subject), NULL, MAILPARSE_FIELD_MAX);
		field_add(&w->parts, s, "\n", MAILPARSE_PARTS_MAX);
		free(s);
	}
}

static void walk_object(GMimeObject *obj, struct walk *w, int depth)
{
	if (obj == NULL)
		return;
	if (depth > MAILPARSE_DEPTH_MAX) {
		note(w, "MIME parts nested too deep");
		return;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int i, n = g_mime_multipart_get_count(mp);

		for (i = 0; i < n; i++)
			walk_object(g_mime_multipart_get_part(mp, i), w, depth + 1);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		GMimeContentDisposition *d = g_mime_object_get_content_disposition(obj);

		if (d && g_mime_content_disposition_is_attachment(d))
			w->has_attachment = 1;
		add_name(w, g_mime_object_get_content_disposition_parameter(obj, "filename"));
		add_name(w, g_mime_object_get_content_type_parameter(obj, "name"));
		if (inner) {
			inner_headers(inner, w);
			walk_object(g_mime_message_get_mime_part(inner), w, depth + 1);
		}
	} else if (GMIME_IS_PART(obj)) {
		leaf(obj, w);
	}
}

static const char *warning_text(GMimeParserWarning code)
{
	switch (code) {
	case GMIME_WARN_MALFORMED_MULTIPART: return "malformed multipart (no parts found)";
	case GMIME_WARN_TRUNCATED_MESSAGE: return "truncated message";
	case GMIME_WARN_MALFORMED_MESSAGE: return "malformed message";
	case GMIME_CRIT_INVALID_HEADER_NAME: return "invalid header name";
	case GMIME_CRIT_CONFLICTING_HEADER: return "conflicting headers";
	case GMIME_CRIT_CONFLICTING_PARAMETER: return "conflicting header parameters";
	case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY: return "multipart without a boundary";
	case GMIME_CRIT_NESTING_OVERFLOW: return "MIME parts nested too deep";
	case GMIME_WARN_PART_WITHOUT_CONTENT: return "MIME part without content";
	case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
		return "MIME part without headers or content";
	default: return NULL; /* benign: duplicated headers, raw 8-bit, ... */
	}
}

static void on_warning(gint64 offset, GMimeParserWarning code, const gchar *item, gpointer ctx)
{
	struct walk *w = ctx;
	const char *what = warning_text(code);
	char *msg;

	(void)item;
	if (what == NULL || w->warning)
		return;
	msg = xasprintf("%s at byte %lld", what, (long long)offset);
	note(w, msg);
	free(msg);
}

static GMimeParserOptions *parser_options(struct walk *w)
{
	static const char *fallback[] = { "UTF-8", "windows-1252", NULL };
	GMimeParserOptions *o = g_mime_parser_options_new();

	g_mime_parser_options_set_fallback_charsets(o, fallback);
	g_mime_parser_options_set_rfc2047_compliance_mode(o, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_address_compliance_mode(o, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(o, GMIME_RFC_COMPLIANCE_LOOSE);
	if (w)
		g_mime_parser_options_set_warning_callback(o, on_warning, w);
	return o;
}

static GMimeMessage *parse(const uint8_t *data, size_t len, GMimeParserOptions *o)
{
	GMimeStream *st;
	GMimeParser *p;
	GMimeMessage *m;

	pthread_once(&gmime_once, gmime_setup);
	st = g_mime_stream_mem_new_with_buffer((const char *)data, len);
	p = g_mime_parser_new_with_stream(st);
	g_mime_parser_set_format(p, GMIME_FORMAT_MESSAGE);
	m = g_mime_parser_construct_message(p, o);
	g_object_unref(p);
	g_object_unref(st);
	return m;
}

static char *addresses(GMimeMessage *m, const GMimeAddressType *types, size_t n)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	for (i = 0; i < n; i++) {
		InternetAddressList *l = g_mime_message_get_addresses(m, types[i]);
		char *s = l ? internet_address_list_to_string(l, NULL, FALSE) : NULL;

		if (s) {
			char *valid = to_utf8(s, strlen(s), NULL, MAILPARSE_FIELD_MAX);

			field_add(&b, valid, ", ", MAILPARSE_FIELD_MAX);
			free(valid);
		}
		g_free(s);
	}
	return field_take(&b, MAILPARSE_FIELD_MAX);
}

/* ---- addresses (the index's exact lookup; docs/mail.md section 5) ---- */

char *mailparse_address_norm(const char *in)
{
	const char *at;
	size_t len, i;
	char *out;

	if (in == NULL)
		return NULL;
	while (*in == ' ' || *in == '\t' || *in == '\r' || *in == '\n')
		in++;
	len = strlen(in);
	while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\t' || in[len - 1] == '\r' ||
			   in[len - 1] == '\n'))
		len--;
	if (len >= 2 && in[0] == '<' && in[len - 1] == '>') {
		in++;
		len -= 2;
	}
	if (len == 0 || len > MAILPARSE_ADDRESS_MAX)
		return NULL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c <= 0x20 || c == 0x7f || c == ',' || c == '<' || c == '>')
			return NULL;
	}
	at = memrchr(in, '@', len);
	if (at == NULL || at == in || at == in + len - 1 || !g_utf8_validate(in, (gssize)len, NULL))
		return NULL;
	out = xstrndup(in, len);
	for (i = 0; i < len; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
	return out;
}

struct addrs {
	struct buf b; /* normalized addresses, one per line */
	size_t n;
};

static int addrs_has(const struct addrs *a, const char *norm)
{
	const char *p, *end;
	size_t len = strlen(norm);

	if (a->b.len == 0) /* no buffer yet: data may be NULL */
		return 0;
	p = (const char *)a->b.data;
	end = p + a->b.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (n == len && memcmp(p, norm, len) == 0)
			return 1;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

static void addrs_add(struct addrs *a, const char *addr)
{
	char *norm = mailparse_address_norm(addr);

	if (norm && a->n < MAILPARSE_ADDRESSES_MAX && !addrs_has(a, norm)) {
		if (a->b.len)
			buf_add(&a->b, "\n", 1);
		buf_add(&a->b, norm, strlen(norm));
		a->n++;
	}
	free(norm);
}

/* The mailboxes of l, and the members of its groups (groups do not nest). */
static void addrs_list(struct addrs *a, InternetAddressList *l, int depth)
{
	int i, n = l ? internet_address_list_length(l) : 0;

	for (i = 0; i < n; i++) {
		InternetAddress *x = internet_address_list_get_address(l, i);

		if (INTERNET_ADDRESS_IS_GROUP(x) && depth == 0)
			addrs_list(a, internet_address_group_get_members(INTERNET_ADDRESS_GROUP(x)), 1);
		else if (INTERNET_ADDRESS_IS_MAILBOX(x))
			addrs_add(a, internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(x)));
	}
}

static char *addrs_take(struct addrs *a)
{
	buf_add(&a->b, "", 1);
	return (char *)buf_steal(&a->b, NULL);
}

static char *message_addresses(GMimeMessage *m)
{
	static const GMimeAddressType types[] = {
		GMIME_ADDRESS_TYPE_FROM, GMIME_ADDRESS_TYPE_SENDER, GMIME_ADDRESS_TYPE_REPLY_TO,
		GMIME_ADDRESS_TYPE_TO, GMIME_ADDRESS_TYPE_CC, GMIME_ADDRESS_TYPE_BCC,
	};
	struct addrs a = { .n = 0 };

	buf_init(&a.b, 0);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		addrs_list(&a, g_mime_message_get_addresses(m, types[i]), 0);
	return addrs_take(&a);
}

/* An address header line of the fallback scan: its value, or NULL. */
static const char *address_field(const char *line)
{
	static const char *const names[] = { "From:", "Sender:", "Reply-To:", "To:", "Cc:",
					     "Bcc:" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (g_ascii_strncasecmp(line, names[i], strlen(names[i])) == 0)
			return line + strlen(names[i]);
	return NULL;
}

static void from_message(GMimeMessage *m, struct mailparse *p, struct walk *w)
{
	static const GMimeAddressType from[] = { GMIME_ADDRESS_TYPE_FROM };
	static const GMimeAddressType rcpt[] = { GMIME_ADDRESS_TYPE_TO, GMIME_ADDRESS_TYPE_CC,
						 GMIME_ADDRESS_TYPE_BCC };
	const char *subject = g_mime_message_get_subject(m);
	GDateTime *date = g_mime_message_get_date(m);

	p->sender = addresses(m, from, 1);
	p->recipients = addresses(m, rcpt, 3);
	p->addresses = message_addresses(m);
	p->subject = to_utf8(subject ? subject : "", subject ? strlen(subject) : 0, NULL,
			     MAILPARSE_FIELD_MAX);
	if (date) {
		p->date = g_date_time_to_unix(date);
		p->has_date = 1;
	}
	walk_object(g_mime_message_get_mime_part(m), w, 0);
}

/* The header block's end: the offset of the empty line, or len. */
static size_t header_end(const uint8_t *data, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (data[i] != '\n')
			continue;
		if (data[i + 1] == '\n')
			return i + 1;
		if (data[i + 1] == '\r' && i + 2 < len && data[i + 2] == '\n')
			return i + 1;
	}
	return len;
}

/* When GMime recovers no message at all: header lines by hand, the rest as
 * text. */
static void fallback(const uint8_t *data, size_t len, struct mailparse *p)
{
	size_t end = header_end(data, len);
	char *hdr = to_utf8((const char *)data, end, NULL, MAILPARSE_FIELD_MAX * 8);
	GMimeParserOptions *o = parser_options(NULL);
	struct addrs addrs = { .n = 0 };
	char *line, *next;
	const char *value;
	struct buf from, rcpt;

	buf_init(&from, 0);
	buf_init(&rcpt, 0);
	buf_init(&addrs.b, 0);
	for (line = hdr; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if ((value = address_field(line)) != NULL) {
			InternetAddressList *l = internet_address_list_parse(o, value);

			addrs_list(&addrs, l, 0);
			if (l)
				g_object_unref(l);
		}
		if (g_ascii_strncasecmp(line, "Subject:", 8) == 0 && p->subject == NULL)
			p->subject = g_mime_utils_header_decode_text(NULL, line + 8);
		else if (g_ascii_strncasecmp(line, "From:", 5) == 0)
			field_add(&from, line + 5, ", ", MAILPARSE_FIELD_MAX);
		else if (g_ascii_strncasecmp(line, "To:", 3) == 0 ||
			 g_ascii_strncasecmp(line, "Cc:", 3) == 0)
			field_add(&rcpt, line + 3, ", ", MAILPARSE_FIELD_MAX);
	}
	if (p->subject) { /* g_malloc'd: move it to our allocator */
		char *s = to_utf8(p->subject, strlen(p->subject), NULL, MAILPARSE_FIELD_MAX);

		g_free(p->subject);
		p->subject = s;
	} else {
		p->subject = xstrdup("");
	}
	p->sender = field_take(&from, MAILPARSE_FIELD_MAX);
	p->recipients = field_take(&rcpt, MAILPARSE_FIELD_MAX);
	p->addresses = addrs_take(&addrs);
	p->body = to_utf8((const char *)data + end, len - end, NULL, MAILPARSE_TEXT_MAX);
	p->attachments = xstrdup("");
	g_mime_parser_options_free(o);
	free(hdr);
}

void mailparse_message(const uint8_t *data, size_t len, struct mailparse *p)
{
	struct walk w;
	GMimeParserOptions *o;
	GMimeMessage *m;

	memset(p, 0, sizeof(*p));
	memset(&w, 0, sizeof(w));
	buf_init(&w.body, 0);
	buf_init(&w.names, 0);
	buf_init(&w.parts, 0);
	o = parser_options(&w);
	m = parse(data, len, o);
	if (m == NULL) {
		fallback(data, len, p);
		p->error = xstrdup("not a MIME message: indexed as plain text");
	} else {
		from_message(m, p, &w);
		if (w.parts.len > 0) {
			buf_add(&w.parts, "", 1);
			field_add(&w.body, (const char *)w.parts.data, "\n",
				  MAILPARSE_TEXT_MAX + 1 + MAILPARSE_PARTS_MAX);
		}
		p->body = field_take(&w.body, MAILPARSE_TEXT_MAX + 1 + MAILPARSE_PARTS_MAX);
		p->attachments = field_take(&w.names, MAILPARSE_FIELD_MAX);
		p->has_attachment = w.has_attachment;
		p->error = w.warning;
		w.warning = NULL;
		g_object_unref(m);
	}
	g_mime_parser_options_free(o);
	buf_clear(&w.body);
	buf_clear(&w.names);
	buf_clear(&w.parts);
	free(w.warning);
}

void mailparse_clear(struct mailparse *p)
{
	free(p->sender);
	free(p->recipients);
	free(p->subject);
	free(p->attachments);
	free(p->body);
	free(p->error);
	free(p->addresses);
	memset(p, 0, sizeof(*p));
}

char *mailparse_sender_address(const uint8_t *data, size_t len)
{
	GMimeParserOptions *o = parser_options(NULL);
	GMimeMessage *m = parse(data, header_end(data, len), o);
	InternetAddressList *l = m ? g_mime_message_get_from(m) : NULL;
	InternetAddress *a = l && internet_address_list_length(l) > 0 ?
			     internet_address_list_get_address(l, 0) : NULL;
	char *addr = NULL;

	if (a && INTERNET_ADDRESS_IS_GROUP(a)) {
		InternetAddressList *members =
			internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a));

		a = members && internet_address_list_length(members) > 0 ?
		    internet_address_list_get_address(members, 0) : NULL;
	}
	if (a && INTERNET_ADDRESS_IS_MAILBOX(a)) {
		const char *s = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));

		if (s && *s)
			addr = own(s);
	}
	if (m)
		g_object_unref(m);
	g_mime_parser_options_free(o);
	return addr;
}

/* ---- HTML to text ---- */

struct entity {
	const char *name;
	uint32_t cp;
};

/* The named references mail actually uses; others are kept as written. */
static const struct entity entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
	{ "nbsp", ' ' }, { "shy", 0xad }, { "copy", 0xa9 }, { "reg", 0xae }, { "trade", 0x2122 },
	{ "euro", 0x20ac }, { "pound", 0xa3 }, { "yen", 0xa5 }, { "cent", 0xa2 }, { "sect", 0xa7 },
	{ "deg", 0xb0 }, { "plusmn", 0xb1 }, { "times", 0xd7 }, { "divide", 0xf7 },
	{ "middot", 0xb7 }, { "bull", 0x2022 }, { "hellip", 0x2026 }, { "ndash", 0x2013 },
	{ "mdash", 0x2014 }, { "lsquo", 0x2018 }, { "rsquo", 0x2019 }, { "sbquo", 0x201a },
	{ "ldquo", 0x201c }, { "rdquo", 0x201d }, { "bdquo", 0x201e }, { "laquo", 0xab },
	{ "raquo", 0xbb }, { "iexcl", 0xa1 }, { "iquest", 0xbf }, { "szlig", 0xdf },
	{ "Auml", 0xc4 }, { "Ouml", 0xd6 }, { "Uuml", 0xdc }, { "auml", 0xe4 }, { "ouml", 0xf6 },
	{ "uuml", 0xfc }, { "Agrave", 0xc0 }, { "Aacute", 0xc1 }, { "Acirc", 0xc2 },
	{ "agrave", 0xe0 }, { "aacute", 0xe1 }, { "acirc", 0xe2 }, { "atilde", 0xe3 },
	{ "aring", 0xe5 }, { "aelig", 0xe6 }, { "ccedil", 0xe7 }, { "Ccedil", 0xc7 },
	{ "Egrave", 0xc8 }, { "Eacute", 0xc9 }, { "egrave", 0xe8 }, { "eacute", 0xe9 },
	{ "ecirc", 0xea }, { "euml", 0xeb }, { "igrave", 0xec }, { "iacute", 0xed },
	{ "icirc", 0xee }, { "iuml", 0xef }, { "ntilde", 0xf1 }, { "Ntilde", 0xd1 },
	{ "ograve", 0xf2 }, { "oacute", 0xf3 }, { "ocirc", 0xf4 }, { "otilde", 0xf5 },
	{ "oslash", 0xf8 }, { "Oslash", 0xd8 }, { "ugrave", 0xf9 }, { "uacute", 0xfa },
	{ "ucirc", 0xfb }, { "yacute", 0xfd }, { "yuml", 0xff }, { "Aring", 0xc5 },
	{ "AElig", 0xc6 }, { "zwnj", 0x200c }, { "zwj", 0x200d }, { "ensp", ' ' },
	{ "emsp", ' ' }, { "thinsp", ' ' },
};

/* Block elements start a new line; everything else is inline. */
static const char *const block_tags[] = {
	"address", "article", "blockquote", "br", "dd", "div", "dl", "dt", "footer", "form",
	"h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
	"pre", "section", "table", "td", "th", "title", "tr", "ul",
};

struct html_out {
	struct buf b;
	size_t max;
	int space; /* white space pending: 1 a blank, 2 a line break */
};

static int html_full(const struct html_out *o)
{
	return o->b.len >= o->max;
}

static void out_bytes(struct html_out *o, const char *s, size_t n)
{
	if (o->space && o->b.len > 0)
		buf_add(&o->b, o->space == 2 ? "\n" : " ", 1);
	o->space = 0;
	buf_add(&o->b, s, n);
}

static void out_space(struct html_out *o, int kind)
{
	if (kind > o->space)
		o->space = kind;
}

static void out_cp(struct html_out *o, uint32_t cp)
{
	char u[8];
	int n;

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp == ' ' || cp == 0xa0) {
		out_space(o, 1);
		return;
	}
	n = g_unichar_to_utf8(cp, u);
	out_bytes(o, u, (size_t)n);
}

static int ci_prefix(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(end - p) >= n && g_ascii_strncasecmp(p, word, n) == 0;
}

/* At '&': decodes a reference; returns the bytes used (0: not one). */
static size_t entity(struct html_out *o, const char *p, const char *end)
{
	const char *q = p + 1;
	uint64_t cp = 0;
	size_t i, n;

	if (q < end && *q == '#') {
		int hex = q + 1 < end && (q[1] == 'x' || q[1] == 'X');
		const char *d = q + 1 + hex, *e = d;

		while (e < end && e - d < 8 && (hex ? g_ascii_isxdigit(*e) : g_ascii_isdigit(*e))) {
			cp = cp * (hex ? 16 : 10) +
			     (uint64_t)(hex ? g_ascii_xdigit_value(*e) : g_ascii_digit_value(*e));
			e++;
		}
		if (e == d)
			return 0;
		out_cp(o, cp > 0x10ffff ? 0xfffd : (uint32_t)cp);
		return (size_t)(e - p) + (e < end && *e == ';');
	}
	for (n = 0; q + n < end && n < 10 && g_ascii_isalnum(q[n]); n++)
		;
	for (i = 0; n > 0 && i < sizeof(entities) / sizeof(entities[0]); i++) {
		if (strlen(entities[i].name) == n && memcmp(entities[i].name, q, n) == 0) {
			out_cp(o, entities[i].cp);
			return 1 + n + (q + n < end && q[n] == ';');
		}
	}
	return 0;
}

/* Skips past the end of a tag starting at p ('<'), honouring quoted
 * attribute values; returns the position after '>' (or end). */
static const char *tag_end(const char *p, const char *end)
{
	char quote = 0;

	for (p++; p < end; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (*p == '>') {
			return p + 1;
		}
	}
	return end;
}

/* Finds "</name" (any case) from p; returns its start or end. */
static const char *find_close(const char *p, const char *end, const char *name)
{
	size_t n = strlen(name);

	for (; p < end; p++)
		if (*p == '<' && p + 1 < end && p[1] == '/' && ci_prefix(p + 2, end, name) &&
		    (p + 2 + n == end || !g_ascii_isalnum(p[2 + n])))
			return p;
	return end;
}

static int is_block(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(block_tags) / sizeof(block_tags[0]); i++)
		if (strlen(block_tags[i]) == n && g_ascii_strncasecmp(block_tags[i], name, n) == 0)
			return 1;
	return 0;
}

/* At '<': handles a comment, a tag, or a script/style element; returns
 * where to continue. A '<' that starts no tag is text. */
static const char *markup(struct html_out *o, const char *p, const char *end)
{
	const char *name = p + 1 + (p + 1 < end && p[1] == '/');
	size_t n = 0;

	if (ci_prefix(p, end, "<!--")) {
		const char *q = g_strstr_len(p + 4, end - p - 4, "-->");

		return q ? q + 3 : end;
	}
	if (p + 1 < end && (p[1] == '!' || p[1] == '?'))
		return tag_end(p, end);
	while (name + n < end && g_ascii_isalnum(name[n]))
		n++;
	if (n == 0 || !g_ascii_isalpha(name[0])) {
		out_bytes(o, "<", 1);
		return p + 1;
	}
	if (name == p + 1 && ((n == 6 && g_ascii_strncasecmp(name, "script", 6) == 0) ||
			      (n == 5 && g_ascii_strncasecmp(name, "style", 5) == 0))) {
		char tag[7];

		memcpy(tag, name, n);
		tag[n] = '\0';
		return tag_end(find_close(tag_end(p, end), end, tag), end);
	}
	if (is_block(name, n))
		out_space(o, 2);
	return tag_end(p, end);
}

char *mailparse_html_to_text(const char *html, size_t len, size_t max)
{
	struct html_out o = { .max = max };
	const char *p = html, *end = html + len;
	char *s;

	buf_init(&o.b, 0);
	while (p < end && !html_full(&o)) {
		size_t used;

		if (*p == '<') {
			p = markup(&o, p, end);
		} else if (*p == '&' && (used = entity(&o, p, end)) > 0) {
			p += used;
		} else if (g_ascii_isspace(*p)) {
			out_space(&o, 1);
			p++;
		} else {
			const char *q = p;

			while (q < end && *q != '<' && *q != '&' && !g_ascii_isspace(*q))
				q++;
			if (q == p)
				q++;
			out_bytes(&o, p, (size_t)(q - p));
			p = q;
		}
	}
	buf_add(&o.b, "", 1);
	s = (char *)buf_steal(&o.b, NULL);
	utf8_cut(s, max);
	return s;
}

/* ---- one message for a reader (mailparse_view) ---- */

struct view {
	struct buf plain, html;
	int plain_cut, html_cut;
	size_t max;
	struct json_object *attachments;
	char *warning;
};

/* The decoded bytes of a leaf part; the caller unrefs the stream. */
static GByteArray *part_bytes(GMimeObject *obj, GMimeStream **mem_r)
{
	GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(obj));

	*mem_r = NULL;
	if (content == NULL)
		return NULL;
	*mem_r = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(content, *mem_r);
	return g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(*mem_r));
}

static void view_attachment(struct view *v, GMimeObject *obj, const char *name)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	struct json_object *a = json_object_new_object();
	gchar *type = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
	char *valid = to_utf8(name ? name : "", name ? strlen(name) : 0, NULL, MAILPARSE_FIELD_MAX);
	GMimeStream *mem = NULL;
	GByteArray *bytes = GMIME_IS_PART(obj) ? part_bytes(obj, &mem) : NULL;

	json_object_object_add(a, "name", json_object_new_string(valid));
	free(valid);
	valid = to_utf8(type ? type : "", type ? strlen(type) : 0, NULL, MAILPARSE_FIELD_MAX);
	json_object_object_add(a, "contentType", json_object_new_string(valid));
	free(valid);
	g_free(type);
	json_object_object_add(a, "size", json_object_new_int64(bytes ? (int64_t)bytes->len : 0));
	if (mem)
		g_object_unref(mem);
	json_object_array_add(v->attachments, a);
}

/* Appends a text part's UTF-8 to b, noting in *cut when max was reached. */
static void view_text(struct buf *b, int *cut, GMimeObject *obj, size_t max)
{
	GMimeStream *mem = NULL;
	GByteArray *bytes = part_bytes(obj, &mem);
	char *text;

	if (bytes != NULL && bytes->len > 0) {
		if (bytes->len > max)
			*cut = 1;
		text = to_utf8((const char *)bytes->data, bytes->len < max ? bytes->len : max,
			       g_mime_object_get_content_type_parameter(obj, "charset"), max);
		if (b->len + strlen(text) + 1 > max)
			*cut = 1;
		field_add(b, text, "\n", max);
		free(text);
	}
	if (mem)
		g_object_unref(mem);
}

static void view_walk(GMimeObject *obj, struct view *v, int depth)
{
	if (obj == NULL)
		return;
	if (depth > MAILPARSE_DEPTH_MAX) {
		if (v->warning == NULL)
			v->warning = xstrdup("MIME parts nested too deep");
		return;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);

		for (int i = 0; i < g_mime_multipart_get_count(mp); i++)
			view_walk(g_mime_multipart_get_part(mp, i), v, depth + 1);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		const char *subject = inner ? g_mime_message_get_subject(inner) : NULL;

		/* A forwarded message is shown as an attachment, not inlined. */
		view_attachment(v, obj, subject ? subject : "message.eml");
	} else if (GMIME_IS_PART(obj)) {
		GMimeContentType *ct = g_mime_object_get_content_type(obj);
		const char *name = g_mime_part_get_filename(GMIME_PART(obj));

		if (g_mime_part_is_attachment(GMIME_PART(obj)) || name)
			view_attachment(v, obj, name);
		else if (ct && g_mime_content_type_is_type(ct, "text", "plain"))
			view_text(&v->plain, &v->plain_cut, obj, v->max);
		else if (ct && g_mime_content_type_is_type(ct, "text", "html"))
			view_text(&v->html, &v->html_cut, obj, 8 * v->max);
		else if (ct && !g_mime_content_type_is_type(ct, "text", "*"))
			view_attachment(v, obj, NULL);
	}
}

static void view_string(struct json_object *o, const char *key, const char *s)
{
	char *valid = to_utf8(s ? s : "", s ? strlen(s) : 0, NULL, MAILPARSE_FIELD_MAX);

	json_object_object_add(o, key, json_object_new_string(valid));
	free(valid);
}

static struct json_object *view_headers(GMimeMessage *m)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(m));
	struct json_object *a = json_object_new_array();
	int n = hl ? g_mime_header_list_get_count(hl) : 0;

	for (int i = 0; i < n && i < MAILPARSE_VIEW_HEADERS_MAX; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *raw = g_mime_header_get_raw_value(h);
		char *unfolded = g_mime_utils_header_unfold(raw ? raw : "");
		char *decoded = g_mime_utils_header_decode_text(NULL, g_strstrip(unfolded));
		struct json_object *x = json_object_new_object();

		view_string(x, "name", g_mime_header_get_name(h));
		view_string(x, "value", decoded);
		json_object_array_add(a, x);
		g_free(decoded);
		g_free(unfolded);
	}
	return a;
}

static void view_addresses(struct json_object *o, const char *key, GMimeMessage *m,
			   GMimeAddressType type)
{
	char *s = addresses(m, &type, 1);

	json_object_object_add(o, key, json_object_new_string(s));
	free(s);
}

/* The text shown: the plain parts, else the HTML parts' text. */
static void view_body(struct json_object *o, struct view *v)
{
	char *text;
	int cut;

	if (v->plain.len > 0 || v->html.len == 0) {
		text = field_take(&v->plain, v->max);
		cut = v->plain_cut;
		json_object_object_add(o, "textSource", json_object_new_string("plain"));
	} else {
		char *html = field_take(&v->html, 8 * v->max);

		text = mailparse_html_to_text(html, strlen(html), v->max);
		cut = v->html_cut || strlen(text) + 4 >= v->max;
		free(html);
		json_object_object_add(o, "textSource", json_object_new_string("html"));
	}
	json_object_object_add(o, "text", json_object_new_string(text));
	json_object_object_add(o, "truncated", json_object_new_boolean(cut));
	free(text);
}

struct json_object *mailparse_view(const uint8_t *data, size_t len, size_t text_max)
{
	struct json_object *o = json_object_new_object();
	struct view v = { .max = text_max, .attachments = json_object_new_array() };
	GMimeParserOptions *opt = parser_options(NULL);
	GMimeMessage *m = parse(data, len, opt);
	GDateTime *date = m ? g_mime_message_get_date(m) : NULL;

	buf_init(&v.plain, 0);
	buf_init(&v.html, 0);
	json_object_object_add(o, "size", json_object_new_int64((int64_t)len));
	if (date) {
		GDateTime *utc = g_date_time_to_utc(date);
		gchar *s = g_date_time_format(utc, "%Y-%m-%dT%H:%M:%SZ");

		view_string(o, "date", s);
		g_free(s);
		g_date_time_unref(utc);
		json_object_object_add(o, "dateUnix", json_object_new_int64(g_date_time_to_unix(date)));
	} else {
		json_object_object_add(o, "date", NULL);
		json_object_object_add(o, "dateUnix", NULL);
	}
	if (m == NULL) { /* GMime recovered nothing: the bytes after the header as text */
		size_t end = header_end(data, len);
		char *t = to_utf8((const char *)data + end, len - end, NULL, text_max);

		json_object_object_add(o, "headers", json_object_new_array());
		v.plain_cut = len - end > text_max;
		field_add(&v.plain, t, "", text_max);
		free(t);
		v.warning = xstrdup("not a MIME message: shown as plain text");
	} else {
		view_addresses(o, "from", m, GMIME_ADDRESS_TYPE_FROM);
		view_addresses(o, "to", m, GMIME_ADDRESS_TYPE_TO);
		view_addresses(o, "cc", m, GMIME_ADDRESS_TYPE_CC);
		view_string(o, "subject", g_mime_message_get_subject(m));
		view_string(o, "messageId", g_mime_message_get_message_id(m));
		json_object_object_add(o, "headers", view_headers(m));
		view_walk(g_mime_message_get_mime_part(m), &v, 0);
		g_object_unref(m);
	}
	view_body(o, &v);
	json_object_object_add(o, "attachments", v.attachments);
	if (v.warning)
		json_object_object_add(o, "parseError", json_object_new_string(v.warning));
	free(v.warning);
	buf_clear(&v.plain);
	buf_clear(&v.html);
	g_mime_parser_options_free(opt);
	return o;
}
