#ifndef COFFER_MAILTOK_H
#define COFFER_MAILTOK_H

/* The mail index's FTS5 tokenizer (docs/mail.md section 5, "Tokens"):
 * Chinese, Japanese and Korean text is cut into overlapping bigrams, so a
 * word inside a sentence written without spaces is found; everything else
 * goes to FTS5's unicode61 (its arguments, e.g. remove_diacritics 2, are
 * passed on), which folds case and diacritics.
 *
 * In a document, a CJK run c1..cn gives the tokens c1c2, c2c3, ...,
 * c(n-1)cn and then cn alone (a run of one character is that character):
 * every character of the run starts a token, so a one-character query can
 * be a prefix query. In a query, a run gives its bigrams only (a phrase of
 * them), or its one character. Half-width katakana are folded to
 * full-width, and a kana or Hangul jamo followed by a combining (or
 * half-width) voicing mark, or decomposed Hangul (NFD, as macOS writes file
 * names), to the composed character. */

#include <stdint.h>

struct sqlite3;

#define MAILTOK_NAME "coffer_cjk"

/* Registers the tokenizer MAILTOK_NAME on db (per connection; before any
 * table using it is touched). Returns an SQLite result code. */
int mailtok_register(struct sqlite3 *db);

/* Whether code point cp belongs to a CJK run (Han, Hiragana, Katakana
 * including half-width, Hangul, Bopomofo). */
int mailtok_is_cjk(uint32_t cp);

/* Whether the UTF-8 token tok[0..n) is one CJK character: a query word
 * ending in one is matched as a prefix (docs/mail.md section 5). */
int mailtok_is_cjk_char(const char *tok, int n);

#endif
