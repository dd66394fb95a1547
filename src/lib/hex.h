#ifndef COFFER_HEX_H
#define COFFER_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*len lowercase hex digits and a NUL to out. */
void hex_encode(const uint8_t *data, size_t len, char *out);
/* Parses exactly 2*len hex digits; -1 on any other input. */
int hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t len);
/* Whether all len chars of s are lowercase hex digits, as hex_encode()
 * writes them (object names: packs, plans, writer markers). */
int hex_is_lower(const char *s, size_t len);

#endif
