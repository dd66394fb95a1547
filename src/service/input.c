/* Checks of the JSON objects callers send to create or change tenants,
 * units and policies: fields present and of their type, numbers in range,
 * names people give, no unknown field. */
#include <json-c/json.h>
#include <stdint.h>
#include <string.h>

#include "catalog/catalog.h"
#include "crypto/crypto.h"
#include "lib/error.h"
#include "lib/hex.h"
#include "lib/mem.h"
#include "service/core.h"

#define NAME_MAX_LEN 200

/* A required or optional string field, checked. */
int svc_want_str(struct json_object *in, const char *key, int required, const char **v_r,
		 struct error *err)
{
	struct json_object *v;

	*v_r = NULL;
	if (!json_object_object_get_ex(in, key, &v)) {
		if (required)
			return error_setk(err, ERROR_USAGE, "'%s' is required", key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return error_setk(err, ERROR_USAGE, "'%s' must be a string", key);
	*v_r = json_object_get_string(v);
	return 0;
}

int svc_want_int(struct json_object *in, const char *key, int64_t min, int64_t max,
		 int64_t *v_r, struct error *err)
{
	struct json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(in, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return error_setk(err, ERROR_USAGE, "'%s' must be a whole number", key);
	n = json_object_get_int64(v);
	if (n < min || n > max)
		return error_setk(err, ERROR_USAGE, "'%s' must be from %lld to %lld (got %lld)", key,
				  (long long)min, (long long)max, (long long)n);
	*v_r = n;
	return 0;
}

/* Names people give: printable, no '/', not "." or "..". */
int svc_check_name(const char *what, const char *name, struct error *err)
{
	size_t len = strlen(name);

	if (len == 0 || len > NAME_MAX_LEN)
		return error_setk(err, ERROR_USAGE, "%s name must have 1 to %d characters", what,
				  NAME_MAX_LEN);
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '/'))
		return error_setk(err, ERROR_USAGE, "%s name '%s' may not be '.', '..' or hold '/'",
				  what, name);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return error_setk(err, ERROR_USAGE, "%s name holds a control character", what);
	return 0;
}

int svc_check_kind(const char *kind, struct error *err)
{
	if (catalog_kind_of(kind) == 0)
		return error_setk(err, ERROR_USAGE,
				  "kind '%s' is not one of mailbox, account, site", kind);
	return 0;
}

int svc_check_object(struct json_object *in, const char *const *allowed, const char *what,
		     struct error *err)
{
	if (in == NULL || !json_object_is_type(in, json_type_object))
		return error_setk(err, ERROR_USAGE, "%s is a JSON object", what);
	json_object_object_foreach(in, key, val) {
		size_t i;

		(void)val;
		for (i = 0; allowed[i]; i++)
			if (strcmp(allowed[i], key) == 0)
				break;
		if (allowed[i] == NULL)
			return error_setk(err, ERROR_USAGE, "unknown field '%s' in %s", key, what);
	}
	return 0;
}

char *svc_new_id(const char *prefix)
{
	uint8_t rnd[8];
	char hex[17];

	crypto_random(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), hex);
	return xasprintf("%s%s", prefix, hex);
}
