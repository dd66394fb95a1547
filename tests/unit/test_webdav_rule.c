/* What a policy's "webdav" rule makes of a child collection
 * (src/sources/webdav_rule.h): its URL, encoded below the rule's root
 * (with or without the trailing '/'), and its webdav source, the rule's
 * connection keys and nothing else. The listing itself is tested against
 * Apache mod_dav (tests/e2e/webdav_svc.sh). */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsonutil.h"
#include "sources/webdav_rule.h"

#include "harness.h"

static struct json_object *rule(const char *url)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "type", json_object_new_string("webdav"));
	json_object_object_add(r, "url", json_object_new_string(url));
	json_object_object_add(r, "user", json_object_new_string("svc"));
	json_object_object_add(r, "secret", json_object_new_string("pw"));
	json_object_object_add(r, "insecure", json_object_new_boolean(1));
	json_object_object_add(r, "kind", json_object_new_string("site"));
	return r;
}

static void test_child_url(void)
{
	struct json_object *a = rule("https://h/dav/files/"), *b = rule("https://h/dav/files");
	struct json_object *c = rule("ftp://h/dav/");
	char *u1 = webdav_rule_child_url(a, "\xc3\x89quipe 2 #1");
	char *u2 = webdav_rule_child_url(b, "\xc3\x89quipe 2 #1");
	char *u3 = webdav_rule_child_url(c, "x");

	CHECKF(u1 && strcmp(u1, "https://h/dav/files/%C3%89quipe%202%20%231/") == 0, "got %s",
	       u1 ? u1 : "NULL");
	CHECKF(u2 && strcmp(u2, u1) == 0, "without '/': %s", u2 ? u2 : "NULL");
	CHECK(u3 == NULL);
out:
	free(u1);
	free(u2);
	free(u3);
	json_object_put(a);
	json_object_put(b);
	json_object_put(c);
}

static void test_child_source(void)
{
	struct json_object *r = rule("https://h/dav/files/");
	struct json_object *src = webdav_rule_child_source(r, "ann");

	CHECK(strcmp(jsonu_str(src, "type"), "webdav") == 0);
	CHECK(strcmp(jsonu_str(src, "url"), "https://h/dav/files/ann/") == 0);
	CHECK(strcmp(jsonu_str(src, "user"), "svc") == 0);
	CHECK(strcmp(jsonu_str(src, "secret"), "pw") == 0);
	CHECK(json_object_object_get_ex(src, "insecure", NULL));
	/* the rule's own keys are not a source's */
	CHECK(!json_object_object_get_ex(src, "kind", NULL));
	CHECK(json_object_object_length(src) == 5);
out:
	json_object_put(src);
	json_object_put(r);
}

const struct unit_test webdav_rule_tests[] = {
	{ "webdav_rule_child_url", test_child_url },
	{ "webdav_rule_child_source", test_child_source },
	{ NULL, NULL },
};
