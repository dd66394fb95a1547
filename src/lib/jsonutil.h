#ifndef COFFER_JSONUTIL_H
#define COFFER_JSONUTIL_H

/* Reading members of a JSON object (json-c) of a given type: one way for
 * every parser of stored records (restore points, deletion records) and of
 * what clients send (sources, policies). A member of another type reads as
 * missing, never as its text. */

#include <stdint.h>

struct json_object;

/* The string member `key` of o, owned by o; NULL when o is NULL or has no
 * such member or it is not a string. */
const char *jsonu_str(const struct json_object *o, const char *key);
/* The whole-number member `key` of o. When o has none (or it is not a
 * whole number) returns 0 and clears *ok, so a parser can read all its
 * fields and check once; *ok is never set. */
int64_t jsonu_int(const struct json_object *o, const char *key, int *ok);

#endif
