/* The webdav source (docs/webdav.md): a unit is a WebDAV collection,
 *   {"type":"webdav","url":"https://host/remote.php/dav/files/ann/",
 *    "user":"ann","auth":"basic"|"bearer","secret":…,
 *    "caFile":…,"insecure":false,"timeoutSeconds":60,"connections":4}
 * This file reads that JSON and holds the source's ops; the backup is in
 * webdav_backup.c, the restore in webdav_restore.c. */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "lib/jsonutil.h"
#include "lib/mem.h"
#include "sources/source.h"
#include "sources/webdav.h"
#include "sources/webdav_internal.h"
#include "sources/webdav_source.h"

int webdav_source_opts(const struct json_object *source, struct dav_opts *o, char **url_r,
		       struct error *err)
{
	struct json_object *v;
	const char *s, *url;
	size_t n;

	memset(o, 0, sizeof(*o));
	*url_r = NULL;
	if (source == NULL || !json_object_is_type(source, json_type_object))
		return error_setk(err, ERROR_USAGE, "webdav source: not a JSON object");
	url = jsonu_str(source, "url");
	if (url == NULL || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return error_setk(err, ERROR_USAGE,
				  "webdav source: \"url\" (http:// or https://) is missing");
	if (strchr(url, '?') || strchr(url, '#') || strchr(url, '@'))
		return error_setk(err, ERROR_USAGE, "webdav source: url %s has a query, fragment or "
				  "user part", url);
	o->user = jsonu_str(source, "user");
	if ((s = jsonu_str(source, "auth")) == NULL || strcmp(s, "basic") == 0)
		o->auth = DAV_AUTH_BASIC;
	else if (strcmp(s, "bearer") == 0)
		o->auth = DAV_AUTH_BEARER;
	else
		return error_setk(err, ERROR_USAGE,
				  "webdav source: \"auth\" must be \"basic\" or \"bearer\"");
	if (o->auth == DAV_AUTH_BASIC && (o->user == NULL || o->user[0] == '\0'))
		return error_setk(err, ERROR_USAGE, "webdav source: \"user\" (a string) is missing");
	o->secret = jsonu_str(source, "secret");
	if (o->secret == NULL)
		return error_setk(err, ERROR_USAGE, "webdav source: \"secret\" is missing");
	o->ca_file = jsonu_str(source, "caFile");
	if (json_object_object_get_ex(source, "insecure", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return error_setk(err, ERROR_USAGE,
					  "webdav source: \"insecure\" must be true or false");
		o->insecure = json_object_get_boolean(v);
	}
	if (json_object_object_get_ex(source, "timeoutSeconds", &v)) {
		int64_t t = json_object_get_int64(v);

		if (!json_object_is_type(v, json_type_int) || t < 1 || t > 3600)
			return error_setk(err, ERROR_USAGE,
					  "webdav source: \"timeoutSeconds\" must be 1..3600");
		o->timeout_s = (long)t;
	}
	o->connections = DAV_CONNECTIONS;
	if (json_object_object_get_ex(source, "connections", &v)) {
		int64_t c = json_object_get_int64(v);

		if (!json_object_is_type(v, json_type_int) || c < 1 || c > DAV_MAX_CONNECTIONS)
			return error_setk(err, ERROR_USAGE, "webdav source: \"connections\" must be "
					  "1..%d", DAV_MAX_CONNECTIONS);
		o->connections = (int)c;
	}
	n = strlen(url);
	*url_r = n > 0 && url[n - 1] == '/' ? xstrdup(url) : xasprintf("%s/", url);
	o->url = *url_r;
	return 0;
}


int webdav_is_child(const char *dir, const char *child)
{
	size_t n = strlen(dir);

	if (n == 0)
		return child[0] != '\0' && strchr(child, '/') == NULL;
	return strncmp(child, dir, n) == 0 && child[n] == '/' && child[n + 1] != '\0' &&
	       strchr(child + n + 1, '/') == NULL;
}

static int webdav_backup(struct store *s, const struct source_backup_opts *o,
			 struct source_backup_result *res, struct error *err)
{
	struct webdav_backup_result r;

	memset(res, 0, sizeof(*res));
	if (webdav_backup_run(s, o, &r, err) < 0)
		return -1;
	res->seq = r.seq;
	res->items = r.files;
	res->bytes = r.bytes;
	res->new_bytes = r.new_bytes;
	res->stored_bytes = r.stored_bytes;
	res->incompressible_bytes = r.incompressible_bytes;
	res->changed_items = r.changed;
	res->nwarnings = r.nwarnings;
	return 0;
}

/* "<url>.restored-<time>/" beside the unit's collection (made by the
 * restore), credentials as the source's. */
static struct json_object *webdav_new_location(const struct json_object *source,
					       const char *beneath, int64_t now, int dry_run,
					       struct error *err)
{
	struct json_object *out = NULL;
	struct dav_opts o;
	char *url = NULL, *nu;
	size_t n;
	struct tm tm;
	time_t t = (time_t)now; /* Unix seconds */
	char stamp[32];

	(void)beneath;
	(void)dry_run; /* nothing is made here: the restore makes the collection */
	if (webdav_source_opts(source, &o, &url, err) < 0)
		return NULL;
	n = strlen(url);
	url[n - 1] = '\0';
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	nu = xasprintf("%s.restored-%s/", url, stamp);
	if (json_object_deep_copy((struct json_object *)(uintptr_t)source, &out, NULL) < 0) {
		free(nu);
		free(url);
		return error_set(err, "cannot copy the source"), NULL;
	}
	json_object_object_add(out, "url", json_object_new_string(nu));
	free(nu);
	free(url);
	return out;
}

const struct source_ops source_webdav_ops = {
	.type = "webdav",
	.backup = webdav_backup,
	.restore = webdav_restore,
	.new_location = webdav_new_location,
};

int webdav_source_place(const struct json_object *source, char **host_r, uint16_t *port_r,
			struct error *err)
{
	struct dav_opts o;
	char *url = NULL, *host = NULL, *port = NULL;
	CURLU *u;
	int ret = 0;

	*host_r = NULL;
	*port_r = 0;
	if (webdav_source_opts(source, &o, &url, err) < 0)
		return -1;
	u = curl_url();
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		ret = error_setk(err, ERROR_USAGE, "webdav source: url %s is not a URL", url);
	} else {
		char *h = host[0] == '[' ? xstrndup(host + 1, strcspn(host + 1, "]")) : xstrdup(host);

		*host_r = h;
		*port_r = (uint16_t)strtoul(port, NULL, 10);
	}
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	free(url);
	return ret;
}
