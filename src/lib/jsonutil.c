/* Typed members of a JSON object (jsonutil.h). */
#include <json-c/json.h>

#include "lib/jsonutil.h"

const char *jsonu_str(const struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int64_t jsonu_int(const struct json_object *o, const char *key, int *ok)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int)) {
		*ok = 0;
		return 0;
	}
	return json_object_get_int64(v);
}
