#ifndef COFFER_MAILTEXT_H
#define COFFER_MAILTEXT_H

/* The readable text of calendar (RFC 5545) and vCard (RFC 6350, 3.0 and
 * 2.1) parts, for the search index (docs/mail.md section 5): content lines
 * unfolded, the properties a person would search for picked, their text
 * escapes (\n \, \; \\) decoded. Input is UTF-8 (mailparse converts the
 * part's charset first); broken input yields what can be read. Output is
 * valid UTF-8, one property per line, at most max bytes (never half a
 * character). Caller frees. Safe from several threads. */

#include <stddef.h>

/* SUMMARY, LOCATION, DESCRIPTION, and the names (CN) and addresses of
 * ORGANIZER and ATTENDEE. */
char *mailtext_calendar(const char *text, size_t len, size_t max);

/* FN, N, ORG, EMAIL, TEL, NOTE (2.1's quoted-printable values decoded,
 * from their CHARSET). */
char *mailtext_vcard(const char *text, size_t len, size_t max);

#endif
