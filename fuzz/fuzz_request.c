/* Fuzzes the HTTP API's request body reader: routes_finish() in
 * src/server/routes.c, the one place bodies are parsed (docs/api.md
 * "Conventions"), on a route of its own whose handler checks what it is
 * given. The first byte picks the route's shape and the Content-Type; the
 * rest is the body.
 *
 * What must hold: a body is either refused with a 4xx and an error object
 * ({"error":{"code","message"}}), or handed to the handler as a JSON object
 * whose field names are all in the route's list and whose strings (names
 * and values) are valid UTF-8 without NUL. A route without a body never
 * reaches its handler with one. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"

#include "lib/error.h"
#include "lib/utf8.h"
#include "server/request.h"

/* The fields of POST /v1/tenants/{t}/protectionPolicies, the route with the
 * most (fuzz_request.dict lists them). */
static const char *const fields[] = { "name", "kind", "units", "rules", "frequencySeconds",
	"recentDays", "retentionDays", "state", NULL };
static const char *const no_fields[] = { NULL };

static int handler_called;

static void fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_request: %s\n", what);
	abort();
}

static int string_ok(const char *s, size_t len)
{
	return memchr(s, 0, len) == NULL && utf8_valid_prefix(s, len) == len;
}

/* Every string in o, names included, as routes.c promises. */
static void check_strings(struct json_object *o)
{
	size_t n;

	switch (json_object_get_type(o)) {
	case json_type_string:
		if (!string_ok(json_object_get_string(o), (size_t)json_object_get_string_len(o)))
			fuzz_fail("a string value reached the handler with a NUL or invalid UTF-8");
		break;
	case json_type_array:
		n = json_object_array_length(o);
		for (size_t i = 0; i < n; i++)
			check_strings(json_object_array_get_idx(o, i));
		break;
	case json_type_object: {
		json_object_object_foreach(o, key, val) {
			if (!string_ok(key, strlen(key)))
				fuzz_fail("a field name reached the handler as invalid UTF-8");
			check_strings(val);
		}
		break;
	}
	default:
		break;
	}
}

static int fuzz_handler(struct request *r, struct json_object *in, struct json_object **out,
			struct error *err)
{
	const char *v;

	handler_called = 1;
	if (r->route->fields == NULL) {
		if (in != NULL)
			fuzz_fail("a route without a body got one");
	} else {
		if (in == NULL || !json_object_is_type(in, json_type_object))
			fuzz_fail("the handler got a body that is not an object");
		json_object_object_foreach(in, key, val) {
			const char *const *f;

			(void)val;
			for (f = r->route->fields; *f && strcmp(*f, key) != 0; f++)
				;
			if (*f == NULL)
				fuzz_fail("a field the route does not take reached the handler");
		}
		check_strings(in);
		/* What handlers do with it: a field of the wrong type is a 400. */
		if (req_str(in, "name", &v, err) < 0)
			return -1;
	}
	*out = json_object_new_object();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct route route = { "POST", "/fuzz", ROUTE_PUBLIC, fuzz_handler, fields, NULL };
	struct json_object *out = NULL, *e, *v;
	struct request r;
	int status;

	if (size == 0)
		return 0;
	memset(&r, 0, sizeof(r));
	request_init(&r);
	/* Bit 0: a route without a body; bit 1: no Content-Type; bit 2: a
	 * body-taking route that takes no fields (POST .../backup). */
	route.fields = data[0] & 1 ? NULL : data[0] & 4 ? no_fields : fields;
	r.method = "POST";
	r.path = "/fuzz";
	r.content_type = data[0] & 2 ? NULL : "application/json; charset=utf-8";
	r.content_length = (int64_t)(size - 1);
	r.route = &route;
	handler_called = 0;

	status = routes_finish(&r, (const char *)data + 1, size - 1, &out);
	if (out == NULL)
		fuzz_fail("no answer");
	if (status == 200) {
		if (!handler_called)
			fuzz_fail("200 without the handler");
	} else {
		if (status != 400 && status != 413 && status != 415)
			fuzz_fail("a status other than 200, 400, 413 or 415");
		if (!json_object_object_get_ex(out, "error", &e) ||
		    !json_object_object_get_ex(e, "code", &v) || !json_object_is_type(v, json_type_string) ||
		    !json_object_object_get_ex(e, "message", &v) ||
		    !json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
			fuzz_fail("a refusal without {\"error\":{\"code\",\"message\"}}");
	}
	json_object_put(out);
	request_clear(&r);
	return 0;
}
