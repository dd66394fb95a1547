#ifndef COFFER_MAILPARSE_H
#define COFFER_MAILPARSE_H

/* What the search index takes from one RFC 822 message (docs/mail.md
 * section 5), parsed with GMime 3: header fields, attachment names and
 * body text, all UTF-8 and cut at documented sizes. Parsing never fails:
 * broken MIME yields what could be recovered and a note in `error`.
 * Functions here are safe to call from several threads at once. */

#include <stddef.h>
#include <stdint.h>

/* Body text kept per message, and per header field. */
#define MAILPARSE_TEXT_MAX (256u << 10)
#define MAILPARSE_FIELD_MAX (4u << 10)
/* The text of the other textual parts (calendars, vCards, text
 * attachments, a forwarded message's header fields): at most
 * MAILPARSE_PART_MAX of each, MAILPARSE_PARTS_MAX in all, after the body. */
#define MAILPARSE_PART_MAX (64u << 10)
#define MAILPARSE_PARTS_MAX (256u << 10)

struct mailparse {
	char *sender;      /* From, decoded ("Name <addr>, ...") */
	char *recipients;  /* To, Cc and Bcc, decoded */
	char *subject;
	char *attachments; /* file names (filename= and name=), one per line */
	char *body;        /* text of the text/plain and text/html parts, then
			      of every other textual part (MAILPARSE_PARTS_MAX) */
	int64_t date;      /* Unix seconds of the Date header, if has_date */
	int has_date;
	int has_attachment;
	char *error;       /* what could not be parsed, or NULL */
	/* Every address (addr-spec only, never a display name) of From,
	 * Sender, Reply-To, To, Cc and Bcc, group members included, as
	 * mailparse_address_norm() gives it, each once, one per line; at
	 * most MAILPARSE_ADDRESSES_MAX of them. */
	char *addresses;
};

#define MAILPARSE_ADDRESSES_MAX 1000
/* Longest address kept (RFC 5321's path limit). */
#define MAILPARSE_ADDRESS_MAX 254

/* Parses data[0..len) (at most MAILINDEX_PARSE_MAX bytes of it are looked
 * at by the caller's choice); fills p, which the caller clears. */
void mailparse_message(const uint8_t *data, size_t len, struct mailparse *p);
void mailparse_clear(struct mailparse *p);

/* The address of the first mailbox of the From header, or NULL when there
 * is none; reads only the header block. Caller frees. */
char *mailparse_sender_address(const uint8_t *data, size_t len);

/* An address as the index keeps it: white space around it and one pair
 * of angle brackets dropped, ASCII letters in lower case (a whole-address
 * comparison then ignores case; other bytes are kept). NULL when `in` is
 * not one address: empty, longer than MAILPARSE_ADDRESS_MAX, without an
 * '@' with text on both sides, or holding white space, a control
 * character, ',', '<' or '>' inside. Caller frees. */
char *mailparse_address_norm(const char *in);

/* One message as data for a reader to show (GET U/restorePoints/{seq}/
 * message, docs/api.md "For the console"): a new JSON object
 * {"size","date","dateUnix","from","to","cc","subject","messageId",
 *  "headers":[{"name","value"}], "text","truncated","textSource",
 *  "attachments":[{"name","contentType","size"}], "parseError"?}: every
 * string UTF-8 (header values RFC 2047-decoded, at most
 * MAILPARSE_VIEW_HEADERS_MAX of them), text the text/plain parts, or the
 * text of the HTML parts (mailparse_html_to_text) when there is none, at
 * most text_max bytes. Never markup: a reader shows it as text. */
#define MAILPARSE_VIEW_HEADERS_MAX 500
struct json_object;
struct json_object *mailparse_view(const uint8_t *data, size_t len, size_t text_max);

/* Reduces HTML to text: tags, comments, scripts and styles dropped, block
 * elements as line breaks, runs of white space as one, character
 * references and common named entities decoded. At most max bytes of
 * output (never half a UTF-8 character). Caller frees. */
char *mailparse_html_to_text(const char *html, size_t len, size_t max);

#endif
