#ifndef COFFER_UTF8_H
#define COFFER_UTF8_H

/* UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF. Used where text comes from the
 * network (request bodies and URLs) and where values are written to the
 * log. */

#include <stddef.h>
#include <stdint.h>

/* The length (1..4) of the valid character at s[0..len), its code point in
 * *cp_r; 0 if s does not start with one (an invalid or cut byte sequence,
 * or len 0). */
size_t utf8_char(const void *s, size_t len, uint32_t *cp_r);
/* The length of the longest valid prefix of s[0..len): len when all of it
 * is valid UTF-8 (NUL bytes are valid characters here; refuse them
 * apart if they matter). */
size_t utf8_valid_prefix(const void *s, size_t len);

#endif
