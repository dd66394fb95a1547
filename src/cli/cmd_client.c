/* The service commands: clients of the HTTP API (docs/api.md) over
 * libcurl, as any other client would be. Server: --server URL, else
 * COFFER_SERVER, else http://127.0.0.1:8470. Token: --token-file F, else
 * COFFER_TOKEN. Tenant (for unit, policy, restore-session, audit and
 * token commands): --tenant ID, else COFFER_TENANT, else the token's own.
 * Output: readable tables; --json prints the API's JSON. A 4xx/5xx answer
 * prints the API's message and exits 1. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "cli/cli.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/mem.h"
#include "lib/parse.h"
#include "store/rp.h"

#define DEFAULT_SERVER "http://127.0.0.1:8470"
#define RESPONSE_MAX (64u << 20)
#define TOKEN_FILE_MAX 4096
#define MAX_PAGES 1000

struct api {
	struct cli *c;
	CURL *curl;
	char *base;
	char *auth;   /* "Authorization: Bearer ..." */
	char *tenant; /* resolved lazily */
};

/* ---- options of the service commands ---- */

enum { O_TENANT, O_ROLE, O_KIND, O_STATE, O_ACTION, O_SINCE, O_UNTIL, O_LIMIT, O_SOURCE,
       O_FOLDER, O_FREQ, O_RECENT, O_RETENTION, O_ITEMS, O_POLICY, O_NAME_PREFIX,
       O_UNIT_F, O_SESSION, O_INTERVAL, O_MODE, O_BEFORE, O_BREAK_GLASS, O_MIN_RETENTION,
       O_REASON, O_LOCATION, O_WEBDAV, O_USER, O_PWFILE, O_AUTH, O_CAFILE, O_ADDRESS,
       O_OUTPUT, O_COUNT };

struct opts {
	const char *v[O_COUNT];
	int wait, include_forgotten, release, insecure;
	const char *units[64], *rules[64];
	size_t nunits, nrules;
	char *pos[8];
	int npos;
	int cancel; const char *confirm; /* unit destroy */
	int dry_run; const char *paths[64]; size_t npaths; /* restore-session create */
};

static const struct {
	const char *name;
	int slot;
} opt_names[] = {
	{ "--tenant", O_TENANT }, { "--role", O_ROLE }, { "--kind", O_KIND },
	{ "--state", O_STATE }, { "--action", O_ACTION }, { "--since", O_SINCE },
	{ "--until", O_UNTIL }, { "--limit", O_LIMIT }, { "--source", O_SOURCE },
	{ "--folder", O_FOLDER }, { "--frequency", O_FREQ }, { "--recent-days", O_RECENT },
	{ "--retention-days", O_RETENTION }, { "--items", O_ITEMS }, { "--policy", O_POLICY },
	{ "--name-prefix", O_NAME_PREFIX }, { "--job-unit", O_UNIT_F },
	{ "--break-glass", O_BREAK_GLASS }, { "--min-retention-days", O_MIN_RETENTION },
	{ "--session", O_SESSION }, { "--interval-ms", O_INTERVAL },
	{ "--mode", O_MODE }, { "--before", O_BEFORE }, { "--reason", O_REASON },
	{ "--location", O_LOCATION }, { "--webdav", O_WEBDAV }, { "--user", O_USER },
	{ "--password-file", O_PWFILE }, { "--auth", O_AUTH }, { "--ca-file", O_CAFILE },
	{ "--address", O_ADDRESS }, { "-o", O_OUTPUT }, { "--output", O_OUTPUT },
};

/* Parses argv[1..]: known options anywhere, the rest positional. */
static int parse_opts(struct cli *c, int argc, char **argv, struct opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->v[O_TENANT] = getenv("COFFER_TENANT");
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t k, n = sizeof(opt_names) / sizeof(opt_names[0]);

		if (strcmp(a, "--wait") == 0) { o->wait = 1; continue; }
		if (strcmp(a, "--json") == 0) { c->json = 1; continue; }
		if (strcmp(a, "--include-forgotten") == 0) { o->include_forgotten = 1; continue; }
		if (strcmp(a, "--release") == 0) { o->release = 1; continue; }
		if (strcmp(a, "--insecure") == 0) { o->insecure = 1; continue; }
		if (strcmp(a, "--cancel") == 0) { o->cancel = 1; continue; }
		if (strcmp(a, "--dry-run") == 0) { o->dry_run = 1; continue; }
		if (a[0] != '-' || strcmp(a, "-") == 0 || (a[1] >= '0' && a[1] <= '9')) {
			if (o->npos == (int)(sizeof(o->pos) / sizeof(o->pos[0])))
				goto usage;
			o->pos[o->npos++] = argv[i];
			continue;
		}
		if (i + 1 >= argc)
			goto usage;
		if (strcmp(a, "--server") == 0) { c->server = argv[++i]; continue; }
		if (strcmp(a, "--token-file") == 0) { c->token_file = argv[++i]; continue; }
		if (strcmp(a, "--unit") == 0 && o->nunits < 64) { o->units[o->nunits++] = argv[++i]; continue; }
		if (strcmp(a, "--rule") == 0 && o->nrules < 64) { o->rules[o->nrules++] = argv[++i]; continue; }
		if (strcmp(a, "--confirm") == 0) { o->confirm = argv[++i]; continue; }
		if (strcmp(a, "--path") == 0 && o->npaths < 64) { o->paths[o->npaths++] = argv[++i]; continue; }
		for (k = 0; k < n; k++)
			if (strcmp(a, opt_names[k].name) == 0)
				break;
		if (k == n)
			goto usage;
		o->v[opt_names[k].slot] = argv[++i];
	}
	return 0;
usage:
	fprintf(stderr, "coffer %s: unknown or incomplete option \"%s\"\n", argv[0],
		i < argc ? argv[i] : "");
	return -1;
}

/* ---- HTTP ---- */

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
	struct error err;

	error_init(&err);
	return buf_append(ctx, p, size * n, &err) < 0 ? 0 : size * n;
}

static int api_open(struct api *a, struct cli *c, struct error *err)
{
	const char *server = c->server ? c->server : DEFAULT_SERVER;
	const char *env = getenv("COFFER_TOKEN");
	char *token = NULL;
	size_t len;

	memset(a, 0, sizeof(*a));
	a->c = c;
	if (c->token_file) {
		struct buf b;

		buf_init(&b, 0);
		if (fs_read_file(c->token_file, &b, TOKEN_FILE_MAX, err) < 0) {
			buf_clear(&b);
			return error_prefix(err, "token file");
		}
		token = xstrndup((const char *)(b.data ? (char *)b.data : ""), b.len);
		buf_clear(&b);
	} else if (env) {
		token = xstrdup(env);
	}
	if (token) {
		len = strlen(token);
		while (len && isspace((unsigned char)token[len - 1]))
			token[--len] = '\0';
		a->auth = xasprintf("Authorization: Bearer %s", token);
		explicit_bzero(token, len);
		free(token);
	}
	len = strlen(server);
	while (len && server[len - 1] == '/')
		len--;
	a->base = xstrndup(server, len);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	a->curl = curl_easy_init();
	if (a->curl == NULL)
		return error_set(err, "curl_easy_init failed");
	return 0;
}

static void api_close(struct api *a)
{
	if (a->curl)
		curl_easy_cleanup(a->curl);
	curl_global_cleanup();
	if (a->auth)
		explicit_bzero(a->auth, strlen(a->auth));
	free(a->auth);
	free(a->base);
	free(a->tenant);
}

/* Calls METHOD path (with the query already in path); *resp is the answer
 * JSON. A 4xx/5xx fails with the API's message. */
static int api_call(struct api *a, const char *method, const char *path, struct json_object *body,
		    struct json_object **resp, struct error *err)
{
	struct curl_slist *h = NULL;
	char *url = xasprintf("%s%s", a->base, path);
	const char *cafile = getenv("COFFER_CACERT");
	struct buf b;
	long status = 0;
	CURLcode rc;
	int ret = -1;

	*resp = NULL;
	buf_init(&b, RESPONSE_MAX);
	curl_easy_reset(a->curl);
	curl_easy_setopt(a->curl, CURLOPT_URL, url);
	curl_easy_setopt(a->curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(a->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(a->curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(a->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(a->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(a->curl, CURLOPT_TIMEOUT, 300L);
	if (cafile)
		curl_easy_setopt(a->curl, CURLOPT_CAINFO, cafile);
	if (a->auth)
		h = curl_slist_append(h, a->auth);
	if (body) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(a->curl, CURLOPT_COPYPOSTFIELDS,
				 json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
	}
	curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(a->curl);
	if (rc != CURLE_OK) {
		error_set(err, "%s %s failed: %s", method, url, curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
	*resp = b.len ? json_tokener_parse((const char *)b.data) : json_object_new_object();
	if (status >= 400) {
		struct json_object *e, *m;

		if (*resp && json_object_object_get_ex(*resp, "error", &e) &&
		    json_object_object_get_ex(e, "message", &m))
			error_set(err, "%s (HTTP %ld)", json_object_get_string(m), status);
		else
			error_set(err, "%s %s: HTTP %ld", method, path, status);
		json_object_put(*resp);
		*resp = NULL;
		goto out;
	}
	if (*resp == NULL) {
		error_set(err, "%s %s: the answer is not JSON", method, path);
		goto out;
	}
	ret = 0;
out:
	curl_slist_free_all(h);
	buf_clear(&b);
	free(url);
	return ret;
}

/* A file answer being written (api_download). */
struct download {
	int fd;
	const char *path;
	CURL *curl;
	int status;       /* 0 until the first bytes came */
	struct buf error; /* a 4xx/5xx answer's JSON */
	uint64_t bytes, messages;
	int from;         /* characters of "From " matched at a line start; -1 none */
	struct error *err;
	int failed;
};

static size_t on_file(char *p, size_t size, size_t n, void *ctx)
{
	struct download *d = ctx;
	size_t len = size * n;
	long status = 0;

	if (d->status == 0) {
		curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &status);
		d->status = (int)status;
	}
	if (d->status >= 400)
		return buf_append(&d->error, p, len, d->err) < 0 ? 0 : len;
	/* mboxrd quotes "From " inside messages: the line starts count them. */
	for (size_t i = 0; i < len; i++) {
		if (d->from >= 0 && p[i] == "From "[d->from]) {
			if (++d->from == 5) {
				d->messages++;
				d->from = -1;
			}
			continue;
		}
		d->from = p[i] == '\n' ? 0 : -1;
	}
	if (fs_write_all(d->fd, p, len, d->path, d->err) < 0) {
		d->failed = 1;
		return 0;
	}
	d->bytes += len;
	return len;
}

/* POSTs body to path and writes the answer into a new file out ("-":
 * standard output; an existing file is never overwritten). A 4xx/5xx
 * fails with the API's message and leaves no file. */
static int api_download(struct api *a, const char *path, struct json_object *body,
			const char *out, struct download *d, struct error *err)
{
	struct curl_slist *h = NULL;
	char *url = xasprintf("%s%s", a->base, path);
	const char *cafile = getenv("COFFER_CACERT");
	int to_stdout = strcmp(out, "-") == 0, ret = -1, created = 0;
	CURLcode rc;

	memset(d, 0, sizeof(*d));
	d->path = out;
	d->curl = a->curl;
	d->err = err;
	buf_init(&d->error, RESPONSE_MAX);
	d->fd = to_stdout ? STDOUT_FILENO : open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (d->fd < 0) {
		if (errno == EEXIST)
			error_setk(err, ERROR_EXISTS, "%s exists already: not overwritten", out);
		else
			error_sys(err, "cannot create %s", out);
		goto out;
	}
	created = !to_stdout;
	curl_easy_reset(a->curl);
	curl_easy_setopt(a->curl, CURLOPT_URL, url);
	curl_easy_setopt(a->curl, CURLOPT_CUSTOMREQUEST, "POST");
	curl_easy_setopt(a->curl, CURLOPT_WRITEFUNCTION, on_file);
	curl_easy_setopt(a->curl, CURLOPT_WRITEDATA, d);
	curl_easy_setopt(a->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(a->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	if (cafile)
		curl_easy_setopt(a->curl, CURLOPT_CAINFO, cafile);
	if (a->auth)
		h = curl_slist_append(h, a->auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(a->curl, CURLOPT_COPYPOSTFIELDS,
			 json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
	curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(a->curl);
	if (d->status >= 400 || (rc == CURLE_OK && d->status == 0)) {
		struct json_object *o, *e, *m;
		long status = 0;

		curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
		buf_add(&d->error, "", 1);
		o = json_tokener_parse((const char *)d->error.data);
		if (o && json_object_object_get_ex(o, "error", &e) &&
		    json_object_object_get_ex(e, "message", &m))
			error_set(err, "%s (HTTP %ld)", json_object_get_string(m), status);
		else if (status >= 400)
			error_set(err, "POST %s: HTTP %ld", path, status);
		else
			ret = 0; /* an empty answer: an empty file */
		json_object_put(o);
	} else if (rc != CURLE_OK) {
		if (!d->failed)
			error_set(err, "POST %s failed: %s", url, curl_easy_strerror(rc));
	} else if (!to_stdout && (fsync(d->fd) < 0 || close(d->fd) < 0)) {
		error_sys(err, "cannot write %s", out);
		d->fd = -1;
	} else {
		if (!to_stdout)
			d->fd = -1;
		ret = 0;
	}
out:
	if (d->fd > STDOUT_FILENO)
		close(d->fd);
	if (ret < 0 && created)
		unlink(out); /* no half file */
	curl_slist_free_all(h);
	buf_clear(&d->error);
	free(url);
	return ret;
}

/* The tenant the command works in: --tenant, COFFER_TENANT, or the token's. */
static const char *api_tenant(struct api *a, const struct opts *o, struct error *err)
{
	struct json_object *me = NULL, *t;

	if (o->v[O_TENANT])
		return o->v[O_TENANT];
	if (a->tenant)
		return a->tenant;
	if (api_call(a, "GET", "/v1/whoami", NULL, &me, err) < 0)
		return NULL;
	if (json_object_object_get_ex(me, "tenant", &t) && t)
		a->tenant = xstrdup(json_object_get_string(t));
	json_object_put(me);
	if (a->tenant == NULL)
		error_setk(err, ERROR_USAGE, "this token belongs to no tenant: give --tenant ID");
	return a->tenant;
}

/* ---- output ---- */

struct col {
	const char *title, *key;
};

static char *cell(struct json_object *row, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(row, key, &v) || v == NULL)
		return xstrdup("-");
	switch (json_object_get_type(v)) {
	case json_type_string: return xstrdup(json_object_get_string(v));
	case json_type_boolean: return xstrdup(json_object_get_boolean(v) ? "yes" : "no");
	default: return xstrdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	}
}

/* Prints rows as aligned columns. */
static void table(struct json_object *rows, const struct col *cols)
{
	size_t n = json_object_array_length(rows), nc = 0, w[16] = { 0 };

	while (cols[nc].title && nc < 16) {
		w[nc] = strlen(cols[nc].title);
		nc++;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < nc; k++) {
			char *s = cell(json_object_array_get_idx(rows, i), cols[k].key);

			if (strlen(s) > w[k])
				w[k] = strlen(s);
			free(s);
		}
	for (size_t k = 0; k < nc; k++)
		printf("%-*s%s", k + 1 < nc ? (int)w[k] : 0, cols[k].title, k + 1 < nc ? "  " : "\n");
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < nc; k++) {
			char *s = cell(json_object_array_get_idx(rows, i), cols[k].key);

			printf("%-*s%s", k + 1 < nc ? (int)w[k] : 0, s, k + 1 < nc ? "  " : "\n");
			free(s);
		}
}

/* One record as "key: value" lines. */
static void record(struct json_object *o)
{
	json_object_object_foreach(o, key, val) {
		(void)val;
		char *s = cell(o, key);

		printf("%-20s %s\n", key, s);
		free(s);
	}
}

static void print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
					       JSON_C_TO_STRING_NOSLASHESCAPE));
}

static int show(struct api *a, struct json_object *o, const struct col *cols)
{
	struct json_object *items;

	if (a->c->json)
		print_json(o);
	else if (cols && json_object_object_get_ex(o, "items", &items))
		table(items, cols);
	else
		record(o);
	return EXIT_OK;
}

static int fail(struct error *err)
{
	fprintf(stderr, "coffer: %s\n", err->msg);
	return err->code == ERROR_USAGE ? EXIT_USAGE : EXIT_FAIL;
}

/* ---- lists: every page unless --limit asks for one ---- */

static void query_add(struct buf *q, const char *name, const char *value)
{
	char *e;

	if (value == NULL)
		return;
	e = curl_easy_escape(NULL, value, 0);
	buf_addf(q, "%c%s=%s", q->len ? '&' : '?', name, e ? e : "");
	curl_free(e);
}

static int list(struct api *a, const char *path, struct buf *q, const char *limit,
		const struct col *cols)
{
	struct json_object *all = json_object_new_array(), *page = NULL, *items, *next;
	char *cursor = NULL;
	struct error err;
	int ret = EXIT_OK;

	error_init(&err);
	query_add(q, "limit", limit);
	for (int n = 0; n < MAX_PAGES; n++) {
		size_t mark = q->len;
		char *url;

		if (cursor)
			query_add(q, "after", cursor);
		url = xasprintf("%s%s", path, q->len ? (const char *)q->data : "");
		q->len = mark;
		if (q->data)
			q->data[mark] = '\0';
		ret = api_call(a, "GET", url, NULL, &page, &err);
		free(url);
		if (ret < 0) {
			ret = fail(&err);
			break;
		}
		if (json_object_object_get_ex(page, "items", &items))
			for (size_t i = 0; i < json_object_array_length(items); i++)
				json_object_array_add(all, json_object_get(
					json_object_array_get_idx(items, i)));
		free(cursor);
		cursor = NULL;
		if (json_object_object_get_ex(page, "next", &next) && next && !limit)
			cursor = xstrdup(json_object_get_string(next));
		json_object_put(page);
		if (cursor == NULL)
			break;
	}
	if (ret == EXIT_OK) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "items", json_object_get(all));
		json_object_object_add(o, "next", NULL);
		show(a, o, cols);
		json_object_put(o);
	}
	free(cursor);
	json_object_put(all);
	buf_clear(q);
	return ret;
}

/* Runs one call and shows its answer. */
static int call_show(struct api *a, const char *method, const char *path,
		     struct json_object *body, const struct col *cols)
{
	struct json_object *o = NULL;
	struct error err;
	int ret;

	error_init(&err);
	ret = api_call(a, method, path, body, &o, &err) < 0 ? fail(&err) : show(a, o, cols);
	json_object_put(o);
	json_object_put(body);
	return ret;
}

/* ---- the commands ---- */

typedef int client_fn(struct api *a, struct opts *o);

struct sub {
	const char *name;
	int npos; /* positional arguments needed */
	client_fn *fn;
};

static int client_run(struct cli *c, int argc, char **argv, const struct sub *subs,
		      const char *usage)
{
	struct opts o;
	struct api a;
	struct error err;
	const struct sub *s;
	int ret;

	if (argc < 2 || parse_opts(c, argc - 1, argv + 1, &o) < 0)
		goto usage;
	for (s = subs; s->name; s++)
		if (strcmp(s->name, argv[1]) == 0)
			break;
	if (s->name == NULL || o.npos < s->npos)
		goto usage;
	error_init(&err);
	if (api_open(&a, c, &err) < 0) {
		api_close(&a);
		return fail(&err);
	}
	ret = s->fn(&a, &o);
	api_close(&a);
	return ret;
usage:
	fprintf(stderr, "usage: coffer %s %s\n", argv[0], usage);
	return EXIT_USAGE;
}

/* Paths below the tenant: "/v1/tenants/T" + fmt. */
static char *tpath(struct api *a, struct opts *o, struct error *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static char *tpath(struct api *a, struct opts *o, struct error *err, const char *fmt, ...)
{
	const char *t = api_tenant(a, o, err);
	va_list ap;
	char *rest, *p;

	if (t == NULL)
		return NULL;
	va_start(ap, fmt);
	rest = xvasprintf(fmt, ap);
	va_end(ap);
	p = xasprintf("/v1/tenants/%s%s", t, rest);
	free(rest);
	return p;
}

#define TPATH_OR_FAIL(var, ...)                                 \
	struct error err_;                                      \
	char *var;                                              \
	error_init(&err_);                                      \
	if ((var = tpath(a, o, &err_, __VA_ARGS__)) == NULL)    \
		return fail(&err_)

static int simple(struct api *a, const char *method, char *path, struct json_object *body,
		  const struct col *cols)
{
	int ret = call_show(a, method, path, body, cols);

	free(path);
	return ret;
}

/* POSTs body (taken) to a path below the tenant; body is freed when the
 * tenant cannot be found too. */
static int tenant_post(struct api *a, struct opts *o, const char *rest,
		       struct json_object *body)
{
	struct error err;
	char *p;

	error_init(&err);
	if ((p = tpath(a, o, &err, "%s", rest)) == NULL) {
		json_object_put(body);
		return fail(&err);
	}
	return simple(a, "POST", p, body, NULL);
}

/* tenant */

static const struct col tenant_cols[] = {
	{ "ID", "id" }, { "NAME", "name" }, { "STATE", "state" }, { "CREATED", "created" },
	{ NULL, NULL } };

static int tenant_list(struct api *a, struct opts *o)
{
	struct buf q;

	buf_init(&q, 0);
	return list(a, "/v1/tenants", &q, o->v[O_LIMIT], tenant_cols);
}

static int tenant_create(struct api *a, struct opts *o)
{
	struct json_object *b = json_object_new_object();

	json_object_object_add(b, "name", json_object_new_string(o->pos[0]));
	if (o->v[O_LOCATION])
		json_object_object_add(b, "location", json_object_new_string(o->v[O_LOCATION]));
	return call_show(a, "POST", "/v1/tenants", b, NULL);
}

static int tenant_show(struct api *a, struct opts *o)
{
	return simple(a, "GET", xasprintf("/v1/tenants/%s", o->pos[0]), NULL, NULL);
}

static int add_num(struct json_object *b, const char *key, const char *opt, const char *v);

/* The tenant's limits (a global admin's): --min-retention-days N. */
static int tenant_set(struct api *a, struct opts *o)
{
	struct json_object *b = json_object_new_object();

	if (o->v[O_MIN_RETENTION] == NULL ||
	    add_num(b, "minRetentionDays", "--min-retention-days", o->v[O_MIN_RETENTION]) < 0) {
		fprintf(stderr, "coffer tenant set: --min-retention-days N is needed\n");
		json_object_put(b);
		return EXIT_USAGE;
	}
	return simple(a, "PATCH", xasprintf("/v1/tenants/%s", o->pos[0]), b, NULL);
}

int cmd_tenant(struct cli *c, int argc, char **argv)
{
	static const struct sub subs[] = {
		{ "list", 0, tenant_list }, { "create", 1, tenant_create },
		{ "show", 1, tenant_show }, { "set", 1, tenant_set }, { NULL, 0, NULL } };

	return client_run(c, argc, argv, subs, USAGE_TENANT);
}

/* token: of --tenant (or the token's tenant); a global admin without
 * --tenant works on /v1/tokens. */

static const struct col token_cols[] = {
	{ "ID", "id" }, { "TENANT", "tenant" }, { "ROLE", "role" }, { "NAME", "name" },
	{ "REVOKED", "revoked" }, { "LAST USED", "lastUsed" }, { NULL, NULL } };

static char *token_base(struct api *a, struct opts *o)
{
	struct error err;

	error_init(&err);
	if (o->v[O_TENANT] == NULL && api_tenant(a, o, &err) == NULL)
		return xstrdup("/v1/tokens");
	return xasprintf("/v1/tenants/%s/tokens", o->v[O_TENANT] ? o->v[O_TENANT] : a->tenant);
}

static int token_list(struct api *a, struct opts *o)
{
	char *p = token_base(a, o);
	struct buf q;
	int ret;

	buf_init(&q, 0);
	ret = list(a, p, &q, o->v[O_LIMIT], token_cols);
	free(p);
	return ret;
}

static int token_create(struct api *a, struct opts *o)
{
	struct json_object *b = json_object_new_object(), *out = NULL, *v;
	char *p = token_base(a, o);
	struct error err;
	int ret;

	if (o->v[O_ROLE] == NULL) {
		fprintf(stderr, "coffer token create: --role is needed\n");
		json_object_put(b);
		free(p);
		return EXIT_USAGE;
	}
	json_object_object_add(b, "name", json_object_new_string(o->pos[0]));
	json_object_object_add(b, "role", json_object_new_string(o->v[O_ROLE]));
	if (o->v[O_BREAK_GLASS])
		json_object_object_add(b, "breakGlass", json_object_new_string(o->v[O_BREAK_GLASS]));
	error_init(&err);
	ret = api_call(a, "POST", p, b, &out, &err);
	free(p);
	json_object_put(b);
	if (ret < 0)
		return fail(&err);
	if (a->c->json) {
		print_json(out);
	} else {
		record(out);
		if (json_object_object_get_ex(out, "secret", &v))
			fprintf(stderr, "coffer: the secret is shown once; keep it now\n");
	}
	json_object_put(out);
	return EXIT_OK;
}

static int token_revoke(struct api *a, struct opts *o)
{
	char *base = token_base(a, o);
	char *p = xasprintf("%s/%s", base, o->pos[0]);

	free(base);
	return simple(a, "DELETE", p, NULL, NULL);
}

int cmd_token(struct cli *c, int argc, char **argv)
{
	static const struct sub subs[] = {
		{ "list", 0, token_list }, { "create", 1, token_create },
		{ "revoke", 1, token_revoke }, { NULL, 0, NULL } };

	return client_run(c, argc, argv, subs, USAGE_TOKEN);
}

/* unit */

static const struct col unit_cols[] = {
	{ "ID", "id" }, { "KIND", "kind" }, { "NAME", "name" }, { "STATE", "state" },
	{ "POLICY", "policy" }, { "LAST SUCCESS", "lastSuccess" }, { "LAST ERROR", "lastError" },
	{ NULL, NULL } };
static const struct col rp_cols[] = {
	{ "SEQ", "seq" }, { "TIME", "time" }, { "FILES", "files" }, { "BYTES", "bytes" },
	{ "NEW", "newBytes" }, { "CHANGED", "changedEntries" }, { "FORGOTTEN", "forgotten" },
	{ NULL, NULL } };

static int unit_list(struct api *a, struct opts *o)
{
	TPATH_OR_FAIL(p, "/protectionUnits");
	struct buf q;
	int ret;

	buf_init(&q, 0);
	query_add(&q, "kind", o->v[O_KIND]);
	query_add(&q, "state", o->v[O_STATE]);
	query_add(&q, "policy", o->v[O_POLICY]);
	query_add(&q, "namePrefix", o->v[O_NAME_PREFIX]);
	ret = list(a, p, &q, o->v[O_LIMIT], unit_cols);
	free(p);
	return ret;
}

/* The webdav source of url with the connection flags (the secret read
 * from --password-file); NULL after saying why. */
static struct json_object *webdav_source(const struct opts *o, const char *url)
{
	const struct cli_dav_conn d = { .url = url, .user = o->v[O_USER],
					.pwfile = o->v[O_PWFILE], .auth = o->v[O_AUTH],
					.ca = o->v[O_CAFILE], .insecure = o->insecure };
	struct json_object *src;
	struct error err;

	if (d.pwfile == NULL) {
		fprintf(stderr, "coffer: a WebDAV source needs --password-file F (the password or "
			"token, sent to the service, which seals it)\n");
		return NULL;
	}
	error_init(&err);
	src = cli_dav_source(&d, &err);
	if (src == NULL)
		fprintf(stderr, "coffer: %s\n", err.msg);
	return src;
}

/* Adds unit id to the explicit units of policy pid (GET, then PATCH
 * "units"); the server checks its kind and that no other policy has it. */
static int policy_add_unit(struct api *a, struct opts *o, const char *pid, const char *id,
			   struct error *err)
{
	char *p = tpath(a, o, err, "/protectionPolicies/%s", pid);
	struct json_object *pol = NULL, *units, *b = NULL, *out = NULL;
	int ret = -1;

	if (p == NULL || api_call(a, "GET", p, NULL, &pol, err) < 0)
		goto out;
	if (!json_object_object_get_ex(pol, "units", &units) ||
	    !json_object_is_type(units, json_type_array)) {
		error_set(err, "policy %s: the answer has no units", pid);
		goto out;
	}
	b = json_object_new_object();
	json_object_object_add(b, "units", json_object_get(units));
	json_object_array_add(units, json_object_new_string(id));
	ret = api_call(a, "PATCH", p, b, &out, err);
out:
	json_object_put(out);
	json_object_put(b);
	json_object_put(pol);
	free(p);
	return ret;
}

/* unit create --kind K (--folder PATH | --source JSON | --webdav URL
 * [--user U] --password-file F [--auth A] [--ca-file F] [--insecure])
 * [--policy ID] NAME: with --policy, the new unit joins that policy's
 * units too (one command to protect a site). */
static int unit_create(struct api *a, struct opts *o)
{
	TPATH_OR_FAIL(p, "/protectionUnits");
	struct json_object *b, *src, *out = NULL, *id;
	int ret;

	if (!!o->v[O_SOURCE] + !!o->v[O_FOLDER] + !!o->v[O_WEBDAV] != 1) {
		fprintf(stderr, "coffer unit create: one of --folder PATH, --webdav URL or --source "
			"JSON is needed\n");
		free(p);
		return EXIT_USAGE;
	}
	if (o->v[O_SOURCE]) {
		src = json_tokener_parse(o->v[O_SOURCE]);
		if (src == NULL)
			fprintf(stderr, "coffer unit create: --source is not valid JSON\n");
	} else if (o->v[O_FOLDER]) {
		src = json_object_new_object();
		json_object_object_add(src, "type", json_object_new_string("folder"));
		json_object_object_add(src, "path", json_object_new_string(o->v[O_FOLDER]));
	} else {
		src = webdav_source(o, o->v[O_WEBDAV]);
	}
	if (src == NULL) {
		free(p);
		return EXIT_USAGE;
	}
	b = json_object_new_object();
	json_object_object_add(b, "name", json_object_new_string(o->pos[0]));
	json_object_object_add(b, "kind", json_object_new_string(o->v[O_KIND] ? o->v[O_KIND]
											 : "account"));
	json_object_object_add(b, "source", src);
	if (o->v[O_POLICY] == NULL)
		return simple(a, "POST", p, b, NULL);
	ret = api_call(a, "POST", p, b, &out, &err_);
	json_object_put(b);
	free(p);
	if (ret == 0 && !json_object_object_get_ex(out, "id", &id))
		ret = error_set(&err_, "the answer names no unit id");
	if (ret == 0 && policy_add_unit(a, o, o->v[O_POLICY], json_object_get_string(id),
					&err_) < 0)
		error_prefix(&err_, "unit %s was created but not added to policy %s",
			     json_object_get_string(id), o->v[O_POLICY]), ret = -1;
	ret = ret < 0 ? fail(&err_) : show(a, out, NULL);
	json_object_put(out);
	return ret;
}

static int unit_show(struct api *a, struct opts *o)
{
	TPATH_OR_FAIL(p, "/protectionUnits/%s", o->pos[0]);
	return simple(a, "GET", p, NULL, NULL);
}

static int unit_backup(struct api *a, struct opts *o)
{
	TPATH_OR_FAIL(p, "/protectionUnits/%s/backup", o->pos[0]);
	return simple(a, "POST", p, NULL, NULL);
}

static int unit_rps(struct api *a, struct opts *o)
{
	TPATH_OR_FAIL(p, "/protectionUnits/%s/restorePoints", o->pos[0]);
	struct buf q;
	int ret;

	buf_init(&q, 0);
	query_add(&q, "since", o->v[O_SINCE]);
	query_add(&q, "until", o->v[O_UNTIL]);
	if (o->include_forgotten)
		query_add(&q, "includeForgotten", "true");
	ret = list(a, p, &q, o->v[O_LIMIT], rp_cols);
	free(p);
	return ret;
}

static int unit_recommend(struct api *a, struct opts *o)
{
	static const struct col cols[] = {
		{ "KIND", "kind" }, { "POINT", "restorePoint" }, { "TIME", "time" },
		{ "REASON", "reason" }, { NULL, NULL } };
	TPATH_OR_FAIL(p, "/protectionUnits/%s/recommendedRestorePoints", o->pos[0]);
	struct json_object *out = NULL, *recs;
	int ret = api_call(a, "GET", p, NULL, &out, &err_);

	free(p);
	if (ret < 0)
		return fail(&err_);
	if (a->c->json)
		print_json(out);
	else if (json_object_object_get_ex(out, "recommendations", &recs))
		table(recs, cols);
	json_object_put(out);
	return EXIT_OK;
}

static int unit_ls(struct api *a, struct opts *o)
{
	TPATH_OR_FAIL(base, "/protectionUnits/%s/restorePoints/%s/items", o->pos[0], o->pos[1]);
	char *e = curl_easy_escape(NULL, o->npos > 2 ? o->pos[2] : "/", 0);
	char *p = xasprintf("%s?path=%s", base, e ? e : "");

	curl_free(e);
	free(base);
	return simple(a, "GET", p, NULL, (const struct col[]){
		{ "TYPE", "type" }, { "MODE", "mode" }, { "SIZE", "size" }, { "MTIME", "mtime" },
		{ "PATH", "path" }, { NULL, NULL } });
}

/* unit find ID PATTERN: every version of the matching paths (GET .../find). */
static int unit_find(struct api *a, struct opts *o)
{
	TPATH_OR_FAIL(base, "/protectionUnits/%s/find", o->pos[0]);
	char *e = curl_easy_escape(NULL, o->pos[1], 0);
	char *p = xasprintf("%s?name=%s", base, e ? e : "");

	curl_free(e);
	free(base);
	return simple(a, "GET", p, NULL, (const struct col[]){
		{ "PATH", "path" }, { "VERSION", "version" }, { "SIZE", "size" },
		{ "MODIFIED", "modified" }, { "FIRST", "firstPoint" }, { "LAST", "lastPoint" },
		{ NULL, NULL } });
}

static int unit_forget(struct api *a, struct opts *o)
{
	TPATH_OR_FAIL(p, "/protectionUnits/%s/restorePoints/%s", o->pos[0], o->pos[1]);
	return simple(a, "DELETE", p, NULL, NULL);
}

/* unit legal-hold ID --reason R | --release */
static int unit_legal_hold(struct api *a, struct opts *o)
{
	struct json_object *b;

	if (o->release == (o->v[O_REASON] != NULL)) {
		fprintf(stderr, "usage: coffer unit legal-hold ID --reason R | --release\n");
		return EXIT_USAGE;
	}
	TPATH_OR_FAIL(p, "/protectionUnits/%s/legalHold", o->pos[0]);
	if (o->release)
		return simple(a, "DELETE", p, NULL, NULL);
	b = json_object_new_object();
	json_object_object_add(b, "reason", json_object_new_string(o->v[O_REASON]));
	return simple(a, "PUT", p, b, NULL);
}

/* unit destroy ID --confirm NAME | --cancel (docs/privacy.md 5) */
static int unit_destroy(struct api *a, struct opts *o)
{
	struct json_object *b;

	if (o->cancel == (o->confirm != NULL)) {
		fprintf(stderr, "usage: coffer unit destroy ID (--confirm NAME | --cancel)\n");
		return EXIT_USAGE;
	}
	TPATH_OR_FAIL(p, "/protectionUnits/%s/destroy", o->pos[0]);
	if (o->cancel)
		return simple(a, "DELETE", p, NULL, NULL);
	b = json_object_new_object();
	json_object_object_add(b, "confirm", json_object_new_string(o->confirm));
	return simple(a, "POST", p, b, NULL);
}

static const struct col drill_cols[] = {
	{ "SEQ", "seq" }, { "STATE", "state" }, { "FINISHED", "finished" },
	{ "POINT", "restorePoint" }, { "SLICE", "slice" }, { "OF", "slices" }, { "PACKS", "packs" },
	{ "BYTES", "bytes" }, { "SAMPLES", "samples" }, { "WITHHELD", "withheld" },
	{ "PROBLEMS", "problems" }, { NULL, NULL } };

static int unit_drills(struct api *a, struct opts *o)
{
	TPATH_OR_FAIL(p, "/protectionUnits/%s/drills", o->pos[0]);
	struct buf q;
	int ret;

	buf_init(&q, 0);
	ret = list(a, p, &q, o->v[O_LIMIT], drill_cols);
	free(p);
	return ret;
}

/* Whether the unit has a drill job queued or running. */
static int drill_pending(struct api *a, struct opts *o, int *pending_r, struct error *err)
{
	static const char *const states[] = { "queued", "running" };
	struct json_object *r = NULL, *items;

	*pending_r = 0;
	for (size_t i = 0; i < 2 && !*pending_r; i++) {
		char *p = tpath(a, o, err, "/jobs?unit=%s&kind=drill&state=%s", o->pos[0], states[i]);

		if (p == NULL || api_call(a, "GET", p, NULL, &r, err) < 0) {
			free(p);
			return -1;
		}
		free(p);
		*pending_r = json_object_object_get_ex(r, "items", &items) &&
			     json_object_array_length(items) > 0;
		json_object_put(r);
	}
	return 0;
}

/* A restore drill now (docs/service.md "Restore drills"); with --wait, the
 * drill's result once it ended, exit 1 if it failed. */
static int unit_drill(struct api *a, struct opts *o)
{
	TPATH_OR_FAIL(p, "/protectionUnits/%s/drills", o->pos[0]);
	struct json_object *r = NULL, *items, *d = NULL, *st;
	char *last = NULL;
	int pending = 1, ret = EXIT_OK;

	if (!o->wait)
		return simple(a, "POST", p, NULL, NULL);
	if (api_call(a, "POST", p, NULL, &r, &err_) < 0)
		goto failed;
	json_object_put(r);
	while (pending) {
		if (drill_pending(a, o, &pending, &err_) < 0)
			goto failed;
		if (pending)
			usleep(200 * 1000);
	}
	last = xasprintf("%s?limit=1", p);
	if (api_call(a, "GET", last, NULL, &r, &err_) < 0)
		goto failed;
	if (json_object_object_get_ex(r, "items", &items) && json_object_array_length(items) > 0)
		d = json_object_array_get_idx(items, 0);
	if (d == NULL) {
		error_set(&err_, "unit %s has no drill: the drill job failed before it ran "
			  "(see its jobs)", o->pos[0]);
		json_object_put(r);
		goto failed;
	}
	if (a->c->json)
		print_json(d);
	else
		record(d);
	if (json_object_object_get_ex(d, "state", &st) &&
	    strcmp(json_object_get_string(st), "passed") != 0)
		ret = EXIT_FAIL;
	json_object_put(r);
	free(last);
	free(p);
	return ret;
failed:
	free(last);
	free(p);
	return fail(&err_);
}

int cmd_unit(struct cli *c, int argc, char **argv)
{
	static const struct sub subs[] = {
		{ "list", 0, unit_list }, { "create", 1, unit_create }, { "show", 1, unit_show },
		{ "backup", 1, unit_backup }, { "restore-points", 1, unit_rps },
		{ "recommend", 1, unit_recommend }, { "ls", 2, unit_ls },
		{ "find", 2, unit_find },
		{ "forget", 2, unit_forget }, { "legal-hold", 1, unit_legal_hold },
		{ "destroy", 1, unit_destroy },
		{ "drill", 1, unit_drill }, { "drills", 1, unit_drills },
		{ NULL, 0, NULL } };

	return client_run(c, argc, argv, subs, USAGE_UNIT);
}

/* policy */

static const struct col policy_cols[] = {
	{ "ID", "id" }, { "NAME", "name" }, { "KIND", "kind" }, { "STATE", "state" },
	{ "FREQUENCY", "frequencySeconds" }, { "RECENT DAYS", "recentDays" },
	{ "RETENTION DAYS", "retentionDays" }, { NULL, NULL } };

static int policy_list(struct api *a, struct opts *o)
{
	TPATH_OR_FAIL(p, "/protectionPolicies");
	struct buf q;
	int ret;

	buf_init(&q, 0);
	ret = list(a, p, &q, o->v[O_LIMIT], policy_cols);
	free(p);
	return ret;
}

/* A number option into the body (the server checks its range); -1 if it
 * is not a number. */
static int add_num(struct json_object *b, const char *key, const char *opt, const char *v)
{
	struct error err;
	int64_t n;

	if (v == NULL)
		return 0;
	error_init(&err);
	if (parse_int_field(opt, v, INT64_MIN, INT64_MAX, &n, &err) < 0) {
		fprintf(stderr, "coffer: %s\n", err.msg);
		return -1;
	}
	json_object_object_add(b, key, json_object_new_int64(n));
	return 0;
}

/* policy create --kind K [--unit ID]... [--rule subfolders:PATH]...
 * [--rule webdav:URL]... [--user U --password-file F ...]
 * [--frequency S] [--recent-days N] [--retention-days N] NAME
 * (the connection flags apply to every webdav rule) */
static int policy_create(struct api *a, struct opts *o)
{
	struct json_object *b = json_object_new_object(), *units = json_object_new_array(),
			   *rules = json_object_new_array();

	json_object_object_add(b, "name", json_object_new_string(o->pos[0]));
	json_object_object_add(b, "kind", json_object_new_string(o->v[O_KIND] ? o->v[O_KIND]
											 : "account"));
	for (size_t i = 0; i < o->nunits; i++)
		json_object_array_add(units, json_object_new_string(o->units[i]));
	for (size_t i = 0; i < o->nrules; i++) {
		struct json_object *r;

		if (strncmp(o->rules[i], "webdav:", 7) == 0) {
			if ((r = webdav_source(o, o->rules[i] + 7)) == NULL)
				goto usage;
			json_object_array_add(rules, r);
			continue;
		}
		if (strncmp(o->rules[i], "subfolders:", 11) != 0) {
			fprintf(stderr, "coffer policy create: --rule must be subfolders:PATH or "
				"webdav:URL\n");
			goto usage;
		}
		r = json_object_new_object();
		json_object_object_add(r, "type", json_object_new_string("subfolders"));
		json_object_object_add(r, "path", json_object_new_string(o->rules[i] + 11));
		json_object_array_add(rules, r);
	}
	json_object_object_add(b, "units", units);
	json_object_object_add(b, "rules", rules);
	units = rules = NULL;
	if (add_num(b, "frequencySeconds", "--frequency", o->v[O_FREQ]) < 0 ||
	    add_num(b, "recentDays", "--recent-days", o->v[O_RECENT]) < 0 ||
	    add_num(b, "retentionDays", "--retention-days", o->v[O_RETENTION]) < 0)
		goto usage;
	return tenant_post(a, o, "/protectionPolicies", b);
usage:
	json_object_put(units);
	json_object_put(rules);
	json_object_put(b);
	return EXIT_USAGE;
}

static int policy_show(struct api *a, struct opts *o)
{
	TPATH_OR_FAIL(p, "/protectionPolicies/%s", o->pos[0]);
	return simple(a, "GET", p, NULL, NULL);
}

static int policy_state(struct api *a, struct opts *o, const char *state)
{
	TPATH_OR_FAIL(p, "/protectionPolicies/%s", o->pos[0]);
	struct json_object *b = json_object_new_object();

	json_object_object_add(b, "state", json_object_new_string(state));
	return simple(a, "PATCH", p, b, NULL);
}

static int policy_activate(struct api *a, struct opts *o)
{
	return policy_state(a, o, "active");
}

static int policy_deactivate(struct api *a, struct opts *o)
{
	return policy_state(a, o, "inactive");
}

int cmd_policy(struct cli *c, int argc, char **argv)
{
	static const struct sub subs[] = {
		{ "list", 0, policy_list }, { "create", 1, policy_create },
		{ "show", 1, policy_show }, { "activate", 1, policy_activate },
		{ "deactivate", 1, policy_deactivate }, { NULL, 0, NULL } };

	return client_run(c, argc, argv, subs, USAGE_POLICY);
}

/* restore-session */

static const struct col session_cols[] = {
	{ "ID", "id" }, { "STATE", "state" }, { "CREATED BY", "createdBy" },
	{ "CREATED", "created" }, { "FINISHED", "finished" }, { NULL, NULL } };
static const struct col artifact_cols[] = {
	{ "UNIT", "unit" }, { "POINT", "restorePoint" }, { "MODE", "mode" }, { "STATE", "state" },
	{ "ITEMS", "itemsDone" }, { "OF", "itemsTotal" }, { "BYTES", "bytesDone" },
	{ "OF", "bytesTotal" }, { "ETA S", "etaSeconds" }, { "ERROR", "error" }, { NULL, NULL } };

static int session_list(struct api *a, struct opts *o)
{
	TPATH_OR_FAIL(p, "/restoreSessions");
	struct buf q;
	int ret;

	buf_init(&q, 0);
	ret = list(a, p, &q, o->v[O_LIMIT], session_cols);
	free(p);
	return ret;
}

/* The plan of a dry run (docs/api.md "For the console"). */
static const struct col plan_cols[] = {
	{ "UNIT", "unit" }, { "POINT", "restorePoint" }, { "MODE", "mode" }, { "PLAN", "plan" },
	{ "WRITE", "write" }, { "REMOVE", "remove" }, { "ATTRS", "attrs" },
	{ "SAME", "unchanged" }, { "BYTES", "bytes" }, { "TARGET", "target" },
	{ "ERROR", "error" }, { NULL, NULL } };

/* The items' "paths" from --path (granular, or picked for newLocation). */
static void session_paths(struct json_object *it, const struct opts *o)
{
	struct json_object *paths;

	if (o->npaths == 0)
		return;
	paths = json_object_new_array();
	for (size_t k = 0; k < o->npaths; k++)
		json_object_array_add(paths, json_object_new_string(o->paths[k]));
	json_object_object_add(it, "paths", paths);
}

/* restore-session create --items JSON, or one unit per positional
 * "UNIT[@SEQ]" with --mode M (and --path P...) applying to all; "UNIT"
 * alone is the latest restore point before --before T, or the latest of
 * all. --dry-run shows the plan instead (nothing is created). */
static int session_create(struct api *a, struct opts *o)
{
	struct json_object *b = json_object_new_object(), *items;

	if (o->v[O_ITEMS]) {
		items = json_tokener_parse(o->v[O_ITEMS]);
		if (items == NULL || !json_object_is_type(items, json_type_array)) {
			fprintf(stderr, "coffer restore-session create: --items must be a JSON "
					"array\n");
			json_object_put(items);
			json_object_put(b);
			return EXIT_USAGE;
		}
	} else {
		if (o->npos == 0) {
			fprintf(stderr, "coffer restore-session create: give UNIT[@SEQ]... or "
					"--items JSON\n");
			json_object_put(b);
			return EXIT_USAGE;
		}
		items = json_object_new_array();
		for (int i = 0; i < o->npos; i++) {
			struct json_object *it;
			struct error err;
			uint32_t seq;
			char *unit;

			error_init(&err);
			if (rp_spec_parse(o->pos[i], RP_SPEC_LATEST, &unit, &seq, &err) < 0) {
				json_object_put(items);
				json_object_put(b);
				return fail(&err);
			}
			it = json_object_new_object();
			json_object_object_add(it, "unit", json_object_new_string(unit));
			free(unit);
			if (seq)
				json_object_object_add(it, "restorePoint", json_object_new_int64(seq));
			else if (o->v[O_BEFORE])
				json_object_object_add(it, "before",
						       json_object_new_string(o->v[O_BEFORE]));
			json_object_object_add(it, "mode", json_object_new_string(
				o->v[O_MODE] ? o->v[O_MODE] : "inPlace"));
			session_paths(it, o);
			json_object_array_add(items, it);
		}
	}
	json_object_object_add(b, "items", items);
	if (o->dry_run) {
		struct error err;
		char *p;

		error_init(&err);
		json_object_object_add(b, "dryRun", json_object_new_boolean(1));
		if ((p = tpath(a, o, &err, "/restoreSessions")) == NULL) {
			json_object_put(b);
			return fail(&err);
		}
		return simple(a, "POST", p, b, plan_cols);
	}
	return tenant_post(a, o, "/restoreSessions", b);
}

static int session_done(struct json_object *s, int *failed)
{
	struct json_object *st;
	const char *state;

	if (!json_object_object_get_ex(s, "state", &st))
		return 1;
	state = json_object_get_string(st);
	*failed = strcmp(state, "failed") == 0;
	return strcmp(state, "succeeded") == 0 || *failed;
}

static int session_show(struct api *a, struct opts *o)
{
	TPATH_OR_FAIL(p, "/restoreSessions/%s", o->pos[0]);
	struct json_object *s = NULL, *arts;
	int64_t interval = 500;
	int failed = 0, ret;

	if (o->v[O_INTERVAL] && parse_int_field("--interval-ms", o->v[O_INTERVAL], 1, 3600000,
						&interval, &err_) < 0) {
		free(p);
		return fail(&err_);
	}
	for (;;) {
		if (api_call(a, "GET", p, NULL, &s, &err_) < 0) {
			free(p);
			return fail(&err_);
		}
		if (!o->wait || session_done(s, &failed))
			break;
		json_object_put(s);
		usleep((useconds_t)interval * 1000);
	}
	free(p);
	if (a->c->json) {
		print_json(s);
	} else {
		struct json_object *copy = json_object_new_object();

		json_object_object_foreach(s, key, val)
			if (strcmp(key, "artifacts") != 0)
				json_object_object_add(copy, key, json_object_get(val));
		record(copy);
		json_object_put(copy);
		if (json_object_object_get_ex(s, "artifacts", &arts)) {
			putchar('\n');
			table(arts, artifact_cols);
		}
	}
	session_done(s, &failed);
	ret = o->wait && failed ? EXIT_FAIL : EXIT_OK;
	json_object_put(s);
	return ret;
}

int cmd_restore_session(struct cli *c, int argc, char **argv)
{
	static const struct sub subs[] = {
		{ "list", 0, session_list }, { "create", 0, session_create },
		{ "show", 1, session_show }, { NULL, 0, NULL } };

	return client_run(c, argc, argv, subs, USAGE_RESTORE_SESSION);
}

/* audit */

static const struct col audit_cols[] = {
	{ "SEQ", "seq" }, { "TIME", "time" }, { "TENANT", "tenant" }, { "ACTOR", "actor" },
	{ "ACTION", "action" }, { "TARGET", "target" }, { NULL, NULL } };

/* A tenant's log, or with a token of no tenant (global admin) every entry. */
static int audit_list(struct api *a, struct opts *o)
{
	struct error err;
	struct buf q;
	char *p;
	int ret;

	error_init(&err);
	buf_init(&q, 0);
	if (o->v[O_TENANT] || api_tenant(a, o, &err) != NULL)
		p = xasprintf("/v1/tenants/%s/auditLog", o->v[O_TENANT] ? o->v[O_TENANT]
									: a->tenant);
	else
		p = xstrdup("/v1/auditLog");
	query_add(&q, "action", o->v[O_ACTION]);
	query_add(&q, "since", o->v[O_SINCE]);
	query_add(&q, "until", o->v[O_UNTIL]);
	ret = list(a, p, &q, o->v[O_LIMIT], audit_cols);
	free(p);
	return ret;
}

/* Exit 4 (damage) when the chain or the head file disagrees. */
static int audit_verify(struct api *a, struct opts *o)
{
	struct json_object *out = NULL, *ok, *e, *n;
	struct error err;
	int good;

	(void)o;
	error_init(&err);
	if (api_call(a, "GET", "/v1/auditLog/verify", NULL, &out, &err) < 0)
		return fail(&err);
	good = json_object_object_get_ex(out, "ok", &ok) && json_object_get_boolean(ok);
	if (a->c->json)
		print_json(out);
	else if (good && json_object_object_get_ex(out, "entries", &n))
		printf("audit log intact: %s entries\n", json_object_get_string(n));
	if (!good)
		fprintf(stderr, "coffer: %s\n", json_object_object_get_ex(out, "error", &e)
			? json_object_get_string(e) : "audit log verification failed");
	json_object_put(out);
	return good ? EXIT_OK : EXIT_DAMAGE;
}

int cmd_audit(struct cli *c, int argc, char **argv)
{
	static const struct sub subs[] = {
		{ "list", 0, audit_list }, { "verify", 0, audit_verify }, { NULL, 0, NULL } };

	return client_run(c, argc, argv, subs, USAGE_AUDIT);
}

/* subject: data-subject requests (docs/privacy.md 9, 10) */

static int subject_export(struct api *a, struct opts *o)
{
	struct json_object *body;
	struct download d;
	const char *out = o->v[O_OUTPUT];
	int ret;

	if (out == NULL) {
		fprintf(stderr, "usage: coffer subject %s\n", USAGE_SUBJECT);
		return EXIT_USAGE;
	}
	TPATH_OR_FAIL(p, "/subjectExport");
	body = json_object_new_object();
	json_object_object_add(body, "address", json_object_new_string(o->pos[0]));
	json_object_object_add(body, "format", json_object_new_string("mbox"));
	ret = api_download(a, p, body, out, &d, &err_);
	json_object_put(body);
	free(p);
	if (ret < 0)
		return fail(&err_);
	if (a->c->json)
		fprintf(strcmp(out, "-") ? stdout : stderr, "{\"file\":\"%s\",\"bytes\":%llu,"
			"\"messages\":%llu}\n", out, (unsigned long long)d.bytes,
			(unsigned long long)d.messages);
	else if (!a->c->quiet)
		fprintf(strcmp(out, "-") ? stdout : stderr, "%llu messages (%llu bytes) about %s "
			"written to %s\n", (unsigned long long)d.messages,
			(unsigned long long)d.bytes, o->pos[0], out);
	return EXIT_OK;
}

static const struct col report_cols[] = {
	{ "TIME", "time" }, { "ACTOR", "actorName" }, { "ROLE", "actorRole" },
	{ "ACTION", "action" }, { "UNIT", "unitName" }, { "RP", "restorePoint" },
	{ "WHAT", "what" }, { NULL, NULL } };

static int subject_report(struct api *a, struct opts *o)
{
	struct buf q;
	int ret;

	if ((o->nunits == 1) == (o->v[O_ADDRESS] != NULL) || o->nunits > 1) {
		fprintf(stderr, "usage: coffer subject %s\n", USAGE_SUBJECT);
		return EXIT_USAGE;
	}
	TPATH_OR_FAIL(p, "/accessReport");
	buf_init(&q, 0);
	query_add(&q, "unit", o->nunits ? o->units[0] : NULL);
	query_add(&q, "address", o->v[O_ADDRESS]);
	query_add(&q, "since", o->v[O_SINCE]);
	query_add(&q, "until", o->v[O_UNTIL]);
	ret = list(a, p, &q, o->v[O_LIMIT], report_cols);
	free(p);
	return ret;
}

int cmd_subject(struct cli *c, int argc, char **argv)
{
	static const struct sub subs[] = {
		{ "export", 1, subject_export }, { "report", 0, subject_report },
		{ NULL, 0, NULL } };

	return client_run(c, argc, argv, subs, USAGE_SUBJECT);
}

/* erasure: erasure requests (docs/privacy.md 2) */

static const struct col erasure_cols[] = {
	{ "ID", "id" }, { "KIND", "kind" }, { "STATE", "state" }, { "REQUESTED", "requested" },
	{ "BY", "requestedBy" }, { "EFFECTIVE", "effective" }, { "REASON", "reason" },
	{ NULL, NULL } };

static int erasure_usage(void)
{
	fprintf(stderr, "usage: coffer erasure %s\n", USAGE_ERASURE);
	return EXIT_USAGE;
}

/* The request's body from "KIND ARGS...": addresses A..., paths UNIT P...,
 * search KEY=VALUE...; NULL if malformed. */
static struct json_object *erasure_body(struct opts *o)
{
	struct json_object *b = json_object_new_object(), *arr = json_object_new_array();
	const char *kind = o->pos[0];
	int i, first = 1;

	if (strcmp(kind, "paths") == 0 && o->npos >= 3) {
		json_object_object_add(b, "unit", json_object_new_string(o->pos[1]));
		first = 2;
	} else if (strcmp(kind, "search") == 0 && o->npos >= 2) {
		json_object_put(arr);
		arr = json_object_new_object();
		for (i = 1; i < o->npos; i++) {
			char *eq = strchr(o->pos[i], '=');

			if (eq == NULL || eq == o->pos[i])
				goto bad;
			*eq = '\0';
			json_object_object_add(arr, o->pos[i], json_object_new_string(eq + 1));
		}
		json_object_object_add(b, "filters", arr);
		arr = NULL;
	} else if (strcmp(kind, "addresses") != 0 || o->npos < 2) {
		goto bad;
	}
	json_object_object_add(b, "kind", json_object_new_string(kind));
	json_object_object_add(b, "reason", json_object_new_string(o->v[O_REASON]));
	for (i = first; arr && i < o->npos; i++)
		json_object_array_add(arr, json_object_new_string(o->pos[i]));
	if (arr)
		json_object_object_add(b, kind, arr);
	return b;
bad:
	json_object_put(arr);
	json_object_put(b);
	return NULL;
}

static int erasure_request(struct api *a, struct opts *o)
{
	struct json_object *body = o->v[O_REASON] ? erasure_body(o) : NULL;

	if (body == NULL)
		return erasure_usage();
	TPATH_OR_FAIL(p, "/erasureRequests");
	return simple(a, "POST", p, body, NULL);
}

static int erasure_list(struct api *a, struct opts *o)
{
	struct buf q;
	int ret;

	TPATH_OR_FAIL(p, "/erasureRequests");
	buf_init(&q, 0);
	query_add(&q, "state", o->v[O_STATE]);
	ret = list(a, p, &q, o->v[O_LIMIT], erasure_cols);
	free(p);
	return ret;
}

static int erasure_show(struct api *a, struct opts *o)
{
	TPATH_OR_FAIL(p, "/erasureRequests/%s", o->pos[0]);
	return simple(a, "GET", p, NULL, NULL);
}

static int erasure_decide(struct api *a, struct opts *o, const char *what)
{
	TPATH_OR_FAIL(p, "/erasureRequests/%s/%s", o->pos[0], what);
	return simple(a, "POST", p, NULL, NULL);
}

static int erasure_approve(struct api *a, struct opts *o) { return erasure_decide(a, o, "approve"); }
static int erasure_reject(struct api *a, struct opts *o) { return erasure_decide(a, o, "reject"); }

int cmd_erasure(struct cli *c, int argc, char **argv)
{
	static const struct sub subs[] = {
		{ "request", 1, erasure_request }, { "list", 0, erasure_list },
		{ "show", 1, erasure_show }, { "approve", 1, erasure_approve },
		{ "reject", 1, erasure_reject }, { NULL, 0, NULL } };

	return client_run(c, argc, argv, subs, USAGE_ERASURE);
}
