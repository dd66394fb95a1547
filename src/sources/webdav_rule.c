/* A "webdav" inclusion rule's view of its root (sources/webdav_rule.h):
 * one PROPFIND Depth: 1 through the WebDAV client; each child collection
 * is a unit to be. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/jsonutil.h"
#include "lib/mem.h"
#include "sources/webdav.h"
#include "sources/webdav_rule.h"
#include "sources/webdav_source.h"

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int webdav_rule_children(const struct json_object *rule, const struct netpolicy *np,
			 char ***names_r, size_t *n_r, struct error *err)
{
	struct dav_client *c = NULL;
	struct dav_list l = { 0 };
	struct dav_opts o;
	char *url = NULL, **names = NULL;
	size_t n = 0;
	int ret = -1;

	*names_r = NULL;
	*n_r = 0;
	if (webdav_source_opts(rule, &o, &url, err) < 0)
		return -1;
	o.policy = np;
	c = dav_open(&o, err);
	if (c == NULL || dav_propfind(c, "", 1, 1, &l, err) < 0)
		goto out;
	for (size_t i = 0; i < l.n; i++) {
		const struct dav_res *r = &l.res[i];

		/* the root itself is "", anything deeper is not a child */
		if (!r->collection || r->path[0] == '\0' || strchr(r->path, '/'))
			continue;
		names = xrealloc(names, xmul(n + 1, sizeof(*names)));
		names[n++] = xstrdup(r->path);
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_name);
	*names_r = names;
	*n_r = n;
	names = NULL;
	ret = 0;
out:
	dav_list_clear(&l);
	dav_close(&c);
	free(url);
	return ret;
}

void webdav_rule_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

char *webdav_rule_child_url(const struct json_object *rule, const char *name)
{
	const char *url = jsonu_str(rule, "url");
	char *base, *child;
	size_t n;

	/* Not webdav_source_opts(): a rule as the catalog keeps it has its
	 * secret sealed, and only the url matters here. */
	if (url == NULL || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return NULL;
	n = strlen(url);
	base = n > 0 && url[n - 1] == '/' ? xstrdup(url) : xasprintf("%s/", url);
	child = dav_url(base, name, 1);
	free(base);
	return child;
}

struct json_object *webdav_rule_child_source(const struct json_object *rule, const char *name)
{
	static const char *const keep[] = { "user", "auth", "secret", "caFile", "insecure",
					    "timeoutSeconds", "connections", NULL };
	struct json_object *src = json_object_new_object(), *v;
	char *url = webdav_rule_child_url(rule, name);

	json_object_object_add(src, "type", json_object_new_string("webdav"));
	json_object_object_add(src, "url", json_object_new_string(url ? url : ""));
	free(url);
	for (size_t i = 0; keep[i]; i++)
		if (json_object_object_get_ex(rule, keep[i], &v))
			json_object_object_add(src, keep[i], json_object_get(v));
	return src;
}
