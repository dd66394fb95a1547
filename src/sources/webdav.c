/* The WebDAV client over libcurl (sources/webdav.h, docs/webdav.md): one
 * easy handle per client, so its connection is kept and reused; TLS
 * checks on unless the source says "insecure"; every address checked
 * against the network policy as curl opens the socket; answers 5xx and
 * cut transfers retried a bounded number of times with backoff, before a
 * byte reached the caller; errors name the URL and the server's answer,
 * never the secret. */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "lib/netpolicy.h"
#include "sources/webdav.h"

#define DAV_ERRBODY_MAX 512
#define DAV_MAX_REDIRS 5
#define DAV_EXPECT_MIN (1u << 20)
#define TRIES(n) ((n) == 1 ? "try" : "tries")

struct dav_client {
	CURL *h;
	char *base, *host, *user, *secret, *ca_file; /* owned; o points to them */
	struct dav_opts o;
	long timeout_s;
	int max_tries;
	uint64_t nreq;
	int named_props;  /* no allprop: not asked, or the server refused it */
	int oc_props;     /* the named ones include ownCloud's */
	char why[CURL_ERROR_SIZE]; /* curl's words on a failed transfer */
	/* the policy's refusal, when it refused every address */
	struct error refused;
	int was_refused;
};

/* allprop brings the dead properties along (RFC 4918 9.1), and every
 * live one; include asks for ownCloud's, which allprop leaves out. Servers
 * that refuse allprop are asked for the named properties only (no dead
 * ones). The named ones leave out getcontenttype, and ownCloud's unless
 * the server is one (dav_opts.oc_props): Apache answers the first with an
 * internal request per resource and looks each of the others up among
 * its dead properties (4-6 ms a 100-file collection instead of 1-1.5); a
 * GET's Content-Type says the type. */
#define PROPFIND_LIVE \
	"<d:resourcetype/><d:getetag/><d:getlastmodified/><d:getcontentlength/>"
#define PROPFIND_OC "<oc:fileid/><oc:checksums/><oc:permissions/>"
#define PROPFIND_HEAD \
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n" \
	"<d:propfind xmlns:d=\"DAV:\" xmlns:oc=\"http://owncloud.org/ns\">"
static const char PROPFIND_ALLPROP[] =
	PROPFIND_HEAD "<d:allprop/><d:include><d:getcontenttype/>" PROPFIND_LIVE PROPFIND_OC
		      "</d:include></d:propfind>\n";
static const char PROPFIND_PROPS_OC[] =
	PROPFIND_HEAD "<d:prop>" PROPFIND_LIVE PROPFIND_OC "</d:prop></d:propfind>\n";
static const char PROPFIND_PROPS[] = PROPFIND_HEAD "<d:prop>" PROPFIND_LIVE "</d:prop></d:propfind>\n";

static curl_socket_t open_socket(void *ctx, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct dav_client *c = ctx;
	curl_socket_t fd;

	(void)purpose;
	if (c->o.policy &&
	    netpolicy_check(c->o.policy, c->host, &a->addr, a->addrlen, &c->refused) < 0) {
		c->was_refused = 1;
		return CURL_SOCKET_BAD;
	}
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	return fd < 0 ? CURL_SOCKET_BAD : fd;
}

struct dav_client *dav_open(const struct dav_opts *o, struct error *err)
{
	struct dav_client *c;
	CURLU *u;
	char *host = NULL;
	size_t n;

	if (o->url == NULL || (strncmp(o->url, "http://", 7) != 0 &&
			       strncmp(o->url, "https://", 8) != 0))
		return error_setk(err, ERROR_USAGE, "webdav: url %s is not http:// or https://",
				  o->url ? o->url : "(none)"), NULL;
	n = strlen(o->url);
	if (n == 0 || o->url[n - 1] != '/')
		return error_setk(err, ERROR_USAGE, "webdav: url %s does not end with '/'", o->url),
		       NULL;
	u = curl_url();
	if (curl_url_set(u, CURLUPART_URL, o->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		curl_url_cleanup(u);
		return error_setk(err, ERROR_USAGE, "webdav: url %s is not a URL", o->url), NULL;
	}
	curl_url_cleanup(u);
	c = xcalloc(1, sizeof(*c));
	c->o = *o;
	c->base = xstrdup(o->url);
	c->host = xstrdup(host);
	curl_free(host);
	/* Brackets of an IPv6 literal are not part of the name the policy sees. */
	if (c->host[0] == '[') {
		memmove(c->host, c->host + 1, strlen(c->host));
		c->host[strcspn(c->host, "]")] = '\0';
	}
	c->o.url = c->base;
	c->o.user = c->user = o->user ? xstrdup(o->user) : NULL;
	c->o.secret = c->secret = o->secret ? xstrdup(o->secret) : NULL;
	c->o.ca_file = c->ca_file = o->ca_file ? xstrdup(o->ca_file) : NULL;
	c->timeout_s = o->timeout_s > 0 ? o->timeout_s : 60;
	c->named_props = !o->dead_props;
	c->oc_props = o->oc_props;
	c->max_tries = o->max_tries > 0 ? o->max_tries : 3;
	error_init(&c->refused);
	c->h = curl_easy_init();
	if (c->h == NULL) {
		dav_close(&c);
		return error_set(err, "webdav: cannot make a curl handle"), NULL;
	}
	return c;
}

void dav_close(struct dav_client **cp)
{
	struct dav_client *c = *cp;

	if (c == NULL)
		return;
	if (c->h)
		curl_easy_cleanup(c->h);
	free(c->base);
	free(c->host);
	free(c->user);
	if (c->secret) {
		explicit_bzero(c->secret, strlen(c->secret));
		free(c->secret);
	}
	free(c->ca_file);
	free(c);
	*cp = NULL;
}

uint64_t dav_requests(const struct dav_client *c)
{
	return c->nreq;
}

/* One request's state. */
struct req {
	struct dav_client *c;
	const char *expect_etag;
	dav_body_cb *cb;
	void *ctx;
	struct buf body;    /* a body kept (PROPFIND), or the error page */
	int keep_body;
	int started;        /* the status is known and the body goes to cb */
	int moved;          /* the ETag differs: stopped */
	int cb_failed;
	long status;
	char *etag, *ctype;
	struct error *cb_err;
	FILE *upload;              /* PUT: the body, from its start */
	uint64_t upload_size;
	const char *const *headers; /* extra request headers, NULL-terminated */
	long soft[3];              /* answers that are no error: the caller looks */
};

/* The value of header line data if it is `name:` (trimmed), or NULL. */
static char *header_value(const char *data, size_t len, const char *name)
{
	size_t nl = strlen(name);
	const char *v = data + nl + 1;
	size_t vl;

	if (len <= nl || data[nl] != ':' || strncasecmp(data, name, nl) != 0)
		return NULL;
	vl = len - nl - 1;
	while (vl > 0 && (*v == ' ' || *v == '\t'))
		v++, vl--;
	while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
		vl--;
	return xstrndup(v, vl);
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct req *r = ctx;
	size_t len = size * n;
	char *v;

	if (len >= 5 && strncasecmp(data, "HTTP/", 5) == 0) {
		/* A new answer (after a redirect or a 100): forget the last. */
		free(r->etag);
		free(r->ctype);
		r->etag = r->ctype = NULL;
	} else if ((v = header_value(data, len, "ETag")) != NULL) {
		free(r->etag);
		r->etag = v;
	} else if ((v = header_value(data, len, "Content-Type")) != NULL) {
		free(r->ctype);
		r->ctype = v;
	}
	return len;
}

int dav_etag_same(const char *a, const char *b)
{
	if (a[0] == 'W' && a[1] == '/')
		a += 2;
	if (b[0] == 'W' && b[1] == '/')
		b += 2;
	return strcmp(a, b) == 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct req *r = ctx;
	size_t len = size * n;

	if (!r->started) {
		curl_easy_getinfo(r->c->h, CURLINFO_RESPONSE_CODE, &r->status);
		r->started = 1;
	}
	if (r->status < 200 || r->status > 299 || r->keep_body) {
		if (r->keep_body && r->status >= 200 && r->status <= 299) {
			if (buf_append(&r->body, data, len, r->cb_err) < 0) {
				r->cb_failed = 1;
				return 0;
			}
		} else if (r->body.len < DAV_ERRBODY_MAX) {
			size_t k = DAV_ERRBODY_MAX - r->body.len;

			buf_add(&r->body, data, len < k ? len : k);
		}
		return len;
	}
	if (r->expect_etag && r->etag && !dav_etag_same(r->etag, r->expect_etag)) {
		r->moved = 1;
		return 0;
	}
	if (r->cb && r->cb(r->ctx, data, len, r->cb_err) < 0) {
		r->cb_failed = 1;
		return 0;
	}
	return len;
}

static void backoff(int attempt)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 250000000L };

	for (int i = 1; i < attempt && ts.tv_sec < 4; i++) {
		ts.tv_nsec *= 2;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec += ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
		}
	}
	nanosleep(&ts, NULL);
}

/* The first line of an error page, cleaned for a message. */
static void page_hint(const struct buf *b, char out[160])
{
	size_t j = 0;

	for (size_t i = 0; i < b->len && j + 1 < 160; i++) {
		unsigned char ch = b->data[i];

		if (ch == '<') {
			while (i < b->len && b->data[i] != '>')
				i++;
			if (j > 0 && out[j - 1] != ' ')
				out[j++] = ' ';
			continue;
		}
		if (ch < 0x20 || ch >= 0x7f)
			ch = ' ';
		if (ch == ' ' && (j == 0 || out[j - 1] == ' '))
			continue;
		out[j++] = (char)ch;
	}
	while (j > 0 && out[j - 1] == ' ')
		j--;
	out[j] = '\0';
}

/* Whether curl refused the server's certificate: no retry helps. */
static int tls_refused(CURLcode rc)
{
	return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
	       rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_ISSUER_ERROR;
}

/* Whether the answer is one the caller takes as no error. */
static int soft(const struct req *r)
{
	for (size_t i = 0; i < sizeof(r->soft) / sizeof(r->soft[0]); i++)
		if (r->status != 0 && r->status == r->soft[i])
			return 1;
	return 0;
}

/* Makes one request, retried on 5xx and on a cut or failed connection as
 * long as no byte went to the caller. 0 and r->status (2xx), 1 if the
 * ETag moved, -1 and err. */
static int request(struct dav_client *c, const char *method, const char *url, int depth,
		   const char *body, struct req *r, struct error *err)
{
	struct curl_slist *hdr = NULL;
	char hbuf[32], *why = c->why;
	CURLcode rc = CURLE_OK;
	int attempt;

	if (depth >= 0) {
		snprintf(hbuf, sizeof(hbuf), "Depth: %d", depth);
		hdr = curl_slist_append(hdr, hbuf);
		hdr = curl_slist_append(hdr, "Content-Type: application/xml; charset=utf-8");
	}
	for (size_t i = 0; r->headers && r->headers[i]; i++)
		hdr = curl_slist_append(hdr, r->headers[i]);
	for (attempt = 1;; attempt++) {
		CURL *h = c->h;

		curl_easy_reset(h);
		buf_reset(&r->body);
		free(r->etag);
		free(r->ctype);
		r->etag = r->ctype = NULL;
		r->started = r->moved = r->cb_failed = 0;
		r->status = 0;
		c->was_refused = 0;
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)DAV_MAX_REDIRS);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->timeout_s);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->timeout_s);
		curl_easy_setopt(h, CURLOPT_USERAGENT, "coffer-webdav");
		why[0] = '\0';
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, why);
		curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
		curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, c);
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
		if (c->o.ca_file)
			curl_easy_setopt(h, CURLOPT_CAINFO, c->o.ca_file);
		if (c->o.insecure) {
			curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
			curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
		}
		if (c->o.auth == DAV_AUTH_BEARER) {
			curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
			curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, c->o.secret ? c->o.secret : "");
		} else {
			curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
			curl_easy_setopt(h, CURLOPT_USERNAME, c->o.user ? c->o.user : "");
			curl_easy_setopt(h, CURLOPT_PASSWORD, c->o.secret ? c->o.secret : "");
		}
		if (r->upload) {
			if (fseeko(r->upload, 0, SEEK_SET) != 0) {
				curl_slist_free_all(hdr);
				return error_sys(err, "%s %s: cannot rewind the body", method, url);
			}
			curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(h, CURLOPT_READDATA, r->upload);
			curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->upload_size);
		} else if (strcmp(method, "GET") != 0) {
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		}
		if (body) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		}
		if (hdr)
			curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
		c->nreq++;
		rc = curl_easy_perform(h);
		if (rc == CURLE_OK || r->status == 0)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
		if (r->moved) {
			curl_slist_free_all(hdr);
			return 1;
		}
		if (r->cb_failed) {
			curl_slist_free_all(hdr);
			return error_prefix(err, "%s %s", method, url);
		}
		if (c->was_refused) {
			curl_slist_free_all(hdr);
			return error_setk(err, ERROR_USAGE, "%s %s: %s", method, url, c->refused.msg);
		}
		if (rc == CURLE_OK && ((r->status >= 200 && r->status <= 299) || soft(r)))
			break;
		/* Bytes reached the caller: a retry would repeat them. */
		if (r->started && r->status >= 200 && r->status <= 299 && !r->keep_body)
			break;
		if (attempt >= c->max_tries)
			break;
		if (rc == CURLE_OK && r->status < 500)
			break;
		if (rc == CURLE_TOO_MANY_REDIRECTS || rc == CURLE_OPERATION_TIMEDOUT || tls_refused(rc))
			break;
		backoff(attempt);
	}
	curl_slist_free_all(hdr);
	if (rc != CURLE_OK) {
		if (rc == CURLE_TOO_MANY_REDIRECTS)
			return error_set(err, "%s %s: more than %d redirects (a redirect loop?)", method,
					 url, DAV_MAX_REDIRS);
		if (rc == CURLE_OPERATION_TIMEDOUT)
			return error_set(err, "%s %s: the server sent nothing for %ld s (timeout)",
					 method, url, c->timeout_s);
		if (tls_refused(rc))
			return error_setk(err, ERROR_KEY, "%s %s: the server's TLS certificate is not "
					  "trusted (%s); name the CA that signed it with caFile",
					  method, url, why[0] ? why : curl_easy_strerror(rc));
		if (rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING)
			return error_set(err, "%s %s: the answer was cut short after %d %s (%s)",
					 method, url, attempt, TRIES(attempt), curl_easy_strerror(rc));
		return error_set(err, "%s %s: %s (after %d %s)", method, url,
				 curl_easy_strerror(rc), attempt, TRIES(attempt));
	}
	if (soft(r))
		return 0;
	if (r->status < 200 || r->status > 299) {
		char hint[160];

		page_hint(&r->body, hint);
		if (r->status == 401)
			return error_setk(err, ERROR_KEY, "%s %s: 401 Unauthorized: the server refused "
					  "the %s%s%s (wrong or expired)%s%s", method, url,
					  c->o.auth == DAV_AUTH_BEARER ? "bearer token" : "password",
					  c->o.user ? " of " : "", c->o.user ? c->o.user : "",
					  hint[0] ? ": " : "", hint);
		if (r->status == 404)
			return error_setk(err, ERROR_NOTFOUND, "%s %s: 404 Not Found", method, url);
		if (r->status >= 500)
			return error_set(err, "%s %s: the server answered %ld after %d %s%s%s", method,
					 url, r->status, attempt, TRIES(attempt), hint[0] ? ": " : "",
					 hint);
		return error_set(err, "%s %s: the server answered %ld%s%s", method, url, r->status,
				 hint[0] ? ": " : "", hint);
	}
	return 0;
}

static void req_init(struct req *r, struct dav_client *c, struct error *err)
{
	memset(r, 0, sizeof(*r));
	r->c = c;
	r->cb_err = err;
	buf_init(&r->body, DAV_XML_MAX_BYTES);
}

static void req_clear(struct req *r)
{
	buf_clear(&r->body);
	free(r->etag);
	free(r->ctype);
}

void dav_head_clear(struct dav_head *h)
{
	free(h->etag);
	free(h->ctype);
	h->etag = h->ctype = NULL;
}

/* PROPFIND url: 0 and the answer in r, or -1. A server that refuses
 * allprop (400, 403, 501) is asked once more for the named properties,
 * and so from then on. */
static int propfind(struct dav_client *c, const char *url, int depth, struct req *r,
		    struct error *err)
{
	int ret;

	r->keep_body = 1;
	if (!c->named_props) {
		r->soft[0] = 400, r->soft[1] = 403, r->soft[2] = 501;
		ret = request(c, "PROPFIND", url, depth, PROPFIND_ALLPROP, r, err);
		memset(r->soft, 0, sizeof(r->soft));
		if (ret != 0 || (r->status != 400 && r->status != 403 && r->status != 501))
			return ret;
		ret = request(c, "PROPFIND", url, depth, PROPFIND_PROPS_OC, r, err);
		if (ret == 0 && r->status == 207)
			c->named_props = c->oc_props = 1;
		return ret;
	}
	return request(c, "PROPFIND", url, depth, c->oc_props ? PROPFIND_PROPS_OC : PROPFIND_PROPS,
		       r, err);
}

int dav_propfind(struct dav_client *c, const char *path, int collection, int depth,
		 struct dav_list *l, struct error *err)
{
	char *url = dav_url(c->base, path, collection);
	struct req r;
	int ret;

	memset(l, 0, sizeof(*l));
	req_init(&r, c, err);
	ret = propfind(c, url, depth, &r, err);
	if (ret == 0 && r.status != 207)
		ret = error_set(err, "PROPFIND %s: the server answered %ld, not 207 Multi-Status", url,
				r.status);
	if (ret == 0)
		ret = dav_multistatus_parse((const char *)r.body.data, r.body.len, c->base, url, l,
					    err);
	req_clear(&r);
	free(url);
	return ret < 0 ? -1 : 0;
}

int dav_get(struct dav_client *c, const char *path, const char *expect_etag, dav_body_cb *cb,
	    void *ctx, struct dav_head *head, struct error *err)
{
	char *url = dav_url(c->base, path, 0);
	struct req r;
	int ret;

	req_init(&r, c, err);
	r.cb = cb;
	r.ctx = ctx;
	r.expect_etag = expect_etag;
	ret = request(c, "GET", url, -1, NULL, &r, err);
	/* An empty body never calls on_body: check the ETag here too. */
	if (ret == 0 && expect_etag && r.etag && !dav_etag_same(r.etag, expect_etag))
		ret = 1;
	if (head) {
		head->etag = r.etag;
		head->ctype = r.ctype;
		r.etag = r.ctype = NULL;
	}
	req_clear(&r);
	free(url);
	return ret;
}

int dav_put(struct dav_client *c, const char *path, FILE *body, uint64_t size,
	    const char *if_match, int if_none_match, int64_t mtime_s, struct error *err)
{
	char *url = dav_url(c->base, path, 0), *im = NULL, *mt = NULL;
	const char *hdrs[5] = { NULL, NULL, NULL, NULL, NULL };
	size_t nh = 0;
	struct req r;
	int ret;

	req_init(&r, c, err);
	if (if_match) {
		im = xasprintf("If-Match: %s", if_match);
		hdrs[nh++] = im;
	}
	if (if_none_match)
		hdrs[nh++] = "If-None-Match: *";
	if (mtime_s >= 0) {
		mt = xasprintf("X-OC-Mtime: %" PRId64, mtime_s);
		hdrs[nh++] = mt;
	}
	/* No "Expect: 100-continue" below 1 MiB: a server that does not
	 * answer it costs libcurl's full second a PUT; a bigger body is worth
	 * the wait, as a refused condition then spares sending it. */
	if (size < DAV_EXPECT_MIN)
		hdrs[nh++] = "Expect:";
	r.headers = hdrs;
	r.upload = body;
	r.upload_size = size;
	r.soft[0] = 412;
	ret = request(c, "PUT", url, -1, NULL, &r, err);
	if (ret == 0 && r.status == 412)
		ret = 1;
	req_clear(&r);
	free(im);
	free(mt);
	free(url);
	return ret;
}

int dav_proppatch(struct dav_client *c, const char *path, int collection, const char *body,
		  struct error *err)
{
	static const char *const hdrs[] = { "Content-Type: application/xml; charset=utf-8", NULL };
	char *url = dav_url(c->base, path, collection);
	struct req r;
	int ret;

	req_init(&r, c, err);
	r.keep_body = 1;
	r.headers = hdrs;
	r.soft[0] = 405, r.soft[1] = 501;
	ret = request(c, "PROPPATCH", url, -1, body, &r, err);
	if (ret == 0 && (r.status == 405 || r.status == 501))
		ret = 1;
	else if (ret == 0 && r.status == 207) {
		char *what = xasprintf("PROPPATCH %s", url);

		ret = dav_patch_result((const char *)r.body.data, r.body.len, what, err);
		free(what);
	}
	req_clear(&r);
	free(url);
	return ret;
}

int dav_mkcol(struct dav_client *c, const char *path, struct error *err)
{
	char *url = dav_url(c->base, path, 1);
	struct req r;
	int ret;

	req_init(&r, c, err);
	r.soft[0] = 405;
	ret = request(c, "MKCOL", url, -1, NULL, &r, err);
	if (ret == 0 && r.status == 405)
		ret = 1;
	req_clear(&r);
	free(url);
	return ret;
}

int dav_delete(struct dav_client *c, const char *path, int collection, const char *if_match,
	       struct error *err)
{
	char *url = dav_url(c->base, path, collection), *im = NULL;
	const char *hdrs[2] = { NULL, NULL };
	struct req r;
	int ret;

	req_init(&r, c, err);
	if (if_match) {
		im = xasprintf("If-Match: %s", if_match);
		hdrs[0] = im;
	}
	r.headers = hdrs;
	r.soft[0] = 412;
	r.soft[1] = 404;
	ret = request(c, "DELETE", url, -1, NULL, &r, err);
	if (ret == 0 && r.status == 412)
		ret = 1;
	req_clear(&r);
	free(im);
	free(url);
	return ret;
}

int dav_checks_conditions(struct dav_client *c)
{
	static const char body[] =
		"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:propertyupdate xmlns:D=\"DAV:\">"
		"<D:remove><D:prop><Z:condition-probe xmlns:Z=\"urn:x-coffer\"/></D:prop></D:remove>"
		"</D:propertyupdate>\n";
	static const char *const hdrs[] = { "Content-Type: application/xml; charset=utf-8",
					    "If-Match: \"coffer-condition-probe\"", NULL };
	struct error err;
	struct req r;
	int ret;

	error_init(&err);
	req_init(&r, c, &err);
	r.headers = hdrs;
	r.soft[0] = 412, r.soft[1] = 405, r.soft[2] = 501;
	ret = request(c, "PROPPATCH", c->base, -1, body, &r, &err);
	ret = ret == 0 && r.status == 412;
	req_clear(&r);
	return ret;
}
