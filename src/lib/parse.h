#ifndef COFFER_PARSE_H
#define COFFER_PARSE_H

/* Whole numbers a person or a client typed: CLI flags, query parameters,
 * config values, the N of UNIT@N. One grammar for all of them, so a value
 * one door takes the other does not refuse. */

#include <stddef.h>
#include <stdint.h>

struct error;

/* A decimal integer in [min, max] that is the whole of s: an optional '-'
 * and one or more digits; no '+', no blanks, nothing after the digits.
 * Returns 0 and sets *v_r; -1 when s is not such a number (empty, junk);
 * -2 when it is one but outside [min, max], overflow of an int64
 * included. *v_r is untouched on failure. */
int parse_int(const char *s, int64_t min, int64_t max, int64_t *v_r);

/* parse_int() of the value of `field` (as the user knows it: "--grace",
 * "limit", "\"port\""): on failure an ERROR_USAGE that names the field and
 * the value, `limit: "0" is not a whole number from 1 to 1000`. */
int parse_int_field(const char *field, const char *s, int64_t min, int64_t max, int64_t *v_r,
		    struct error *err);

/* A count or a unix time as coffer writes them into its own objects (plans,
 * writer markers): 1 to 18 decimal digits that are the whole of p[0..len),
 * no sign, no blanks. Returns 0 and sets *v_r; -1 otherwise (*v_r
 * untouched). */
int parse_digits(const char *p, size_t len, int64_t *v_r);

#endif
