#ifndef COFFER_MUTF7_H
#define COFFER_MUTF7_H

/* Modified UTF-7 (RFC 3501 section 5.1.3), the form IMAP gives mailbox
 * names in: printable US-ASCII but "&" stands for itself, "&" is "&-", and
 * everything else is UTF-16 in a modified BASE64 run "&...-" (',' for '/').
 *
 * The decoder is strict, as the RFC is: "Modified BASE64 MUST NOT be used
 * to represent any printing US-ASCII character which can represent
 * itself", so "&AGE-" is not another spelling of "a" (nor "&ACY-" of "&-")
 * and a decoded name never stands for two folders that differ only in
 * that. Also refused: an unterminated or empty run, a character outside
 * BASE64 in a run, padding bits that are not zero or a whole character of
 * padding, an unpaired UTF-16 surrogate, and bytes outside printable
 * US-ASCII outside a run. Whatever decodes, encodes back to a name that
 * decodes the same (fuzz/fuzz_imap.c checks it). */

struct error;

/* The UTF-8 form of modified UTF-7 `name` (xmalloc'd); NULL and err
 * (ERROR_CORRUPT, naming the name) when name is not valid modified
 * UTF-7. */
char *mutf7_decode(const char *name, struct error *err);

/* The UTF-8 form of `name` to show or to match what a person types: as
 * mutf7_decode(), but a name that is not valid modified UTF-7 comes back
 * as it is. Never NULL; caller frees. */
char *mutf7_decode_or_keep(const char *name);

/* The modified UTF-7 form of UTF-8 `s` (xmalloc'd), for creating folders
 * with names people give; NULL and err (ERROR_USAGE) when s is not valid
 * UTF-8 (lib/utf8.h: no overlong forms, no surrogates). */
char *mutf7_encode(const char *s, struct error *err);

#endif
