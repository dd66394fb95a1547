#ifndef COFFER_WEBDAV_RULE_H
#define COFFER_WEBDAV_RULE_H

/* What a "webdav" inclusion rule of a policy needs from the sources
 * (docs/service.md "Policies"): the child collections of a WebDAV root,
 * and the webdav source of one of them. The rule's JSON has the keys of a
 * webdav source (url, user, auth, secret, caFile, insecure,
 * timeoutSeconds), its url being the root. */

#include <stddef.h>

struct error;
struct json_object;
struct netpolicy;

/* The decoded names of the collections right inside the rule's url
 * (PROPFIND Depth: 1), sorted; the client checks every address it
 * connects to against np (NULL: anywhere). *names_r is an array of *n_r
 * strings, freed with webdav_rule_names_free. -1 and err naming the URL
 * and the server's answer, never the secret. */
int webdav_rule_children(const struct json_object *rule, const struct netpolicy *np,
			 char ***names_r, size_t *n_r, struct error *err);
void webdav_rule_names_free(char **names, size_t n);

/* The URL of child collection `name` of the rule's root (encoded, ending
 * in '/'), or NULL if the rule has no usable url. Caller frees. */
char *webdav_rule_child_url(const struct json_object *rule, const char *name);

/* The webdav source of child collection `name`: the rule's connection
 * keys (the secret included) with the child's url. Caller puts it. */
struct json_object *webdav_rule_child_source(const struct json_object *rule, const char *name);

#endif
