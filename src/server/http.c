/* The HTTP transport of the API: libmicrohttpd with a thread per
 * connection (handlers block on the catalog; a thread each keeps one slow
 * request from holding up the others). Bounds: bodies above max_body get
 * 413 (before they are read when Content-Length says so), an idle
 * connection is closed after request_timeout_s, and so is one whose body
 * is still arriving after request_timeout_s. A connection has header_timeout_s
 * from its start (or from the end of its previous request) to send whole
 * headers, however it trickles them: a reaper thread shuts down the socket of
 * one that has not. At most max_connections connections at once, and
 * max_connections_per_ip from one address; libmicrohttpd closes the others
 * as they come. Requests that the routes must not see are refused here: a
 * URL holding %00 or invalid UTF-8, a header holding a NUL byte, more than
 * one Content-Length or one with Transfer-Encoding (400). One log line per
 * request: method, path, status, milliseconds, token id (never the secret). */
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/parse.h"
#include "lib/utf8.h"
#include "server/request.h"
#include "server/server.h"
#include "server/web.h"

#define TLS_FILE_MAX (1u << 20)

/* One TCP connection, from accept to close (MHD's socket context). The
 * reaper reads it under conns_lock; the connection's own thread sets the
 * deadline under it. */
struct conn_track {
	struct conn_track *prev, *next;
	int fd;
	int64_t deadline_ms;  /* the socket is shut down past it; 0: none */
	const char *waiting;  /* what the deadline waits for ("headers", "body") */
	int cut;              /* the reaper shut it down */
	int bad_url;          /* this request's URL: BAD_URL_* */
	const char *uri_end;  /* where the raw request target's C string ends */
	char peer[64];        /* the client's address, for the log */
};

enum { BAD_URL_NUL = 1, BAD_URL_UTF8 };

struct server {
	struct service *svc;
	struct MHD_Daemon *d;
	size_t max_body;
	int64_t timeout_ms;
	int64_t header_timeout_ms;
	int loopback;
	int tls;
	const char *web_root; /* NULL: the console's compiled-in files */
	struct buf cert, key; /* PEM; MHD reads them while it runs */
	pthread_mutex_t conns_lock;
	pthread_cond_t reaper_cond;
	struct conn_track *conns;
	pthread_t reaper;
	int reaper_running, reaper_stop;
};

/* One request, from its headers to the completion callback. */
struct conn_state {
	const struct server *srv;
	struct request req;
	char *method, *path;
	struct buf body;
	int64_t start_ms;
	int status;
	int responded;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- libmicrohttpd's messages, rate-limited ---- */

/* libmicrohttpd says something for each connection it refuses or that
 * breaks off: a flood of clients must not flood the log. At most
 * MHD_LOG_PER_SECOND of its lines a second; how many were left out is said
 * when the second is over (by the next message or the reaper's sweep). */
enum { MHD_LOG_PER_SECOND = 10 };
static pthread_mutex_t mhd_log_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t mhd_log_window;
static unsigned mhd_log_count, mhd_log_dropped;

/* Starts a new window if the second is over, saying what the last one
 * dropped; returns whether one more message fits in it. */
static int mhd_log_take_or_flush(int take)
{
	int64_t sec = now_ms() / 1000;
	unsigned dropped = 0;
	int fits = 0;

	pthread_mutex_lock(&mhd_log_lock);
	if (sec != mhd_log_window) {
		dropped = mhd_log_dropped;
		mhd_log_window = sec;
		mhd_log_count = mhd_log_dropped = 0;
	}
	if (take) {
		fits = mhd_log_count < MHD_LOG_PER_SECOND;
		if (fits)
			mhd_log_count++;
		else
			mhd_log_dropped++;
	}
	pthread_mutex_unlock(&mhd_log_lock);
	if (dropped)
		log_warn("http: %u more libmicrohttpd messages left out (more than %d a second)",
			 dropped, MHD_LOG_PER_SECOND);
	return fits;
}

static int mhd_log_take(void) { return mhd_log_take_or_flush(1); }

/* ---- connections: deadlines and the reaper ---- */

static struct conn_track *track_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info ? info->socket_context : NULL;
}

/* Deadline at ms (0: none) for what the connection waits for next. */
static void track_wait(struct server *srv, struct MHD_Connection *conn, int64_t ms,
		       const char *waiting)
{
	struct conn_track *t = track_of(conn);

	if (t == NULL)
		return;
	pthread_mutex_lock(&srv->conns_lock);
	t->deadline_ms = ms;
	t->waiting = waiting;
	pthread_mutex_unlock(&srv->conns_lock);
}

/* MHD_OPTION_NOTIFY_CONNECTION: a connection was accepted or is being
 * closed. MHD closes the socket after the CLOSED call returns, so the
 * reaper never shuts down a descriptor that was reused. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct server *srv = cls;
	struct conn_track *t = *socket_context;
	const union MHD_ConnectionInfo *info;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		t = xcalloc(1, sizeof(*t));
		info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		t->fd = info ? info->connect_fd : -1;
		info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (info == NULL || info->client_addr == NULL ||
		    getnameinfo(info->client_addr,
				info->client_addr->sa_family == AF_INET6
				? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in),
				t->peer, sizeof(t->peer), NULL, 0, NI_NUMERICHOST) != 0)
			snprintf(t->peer, sizeof(t->peer), "?");
		t->deadline_ms = now_ms() + srv->header_timeout_ms;
		t->waiting = "headers";
		pthread_mutex_lock(&srv->conns_lock);
		t->next = srv->conns;
		if (srv->conns)
			srv->conns->prev = t;
		srv->conns = t;
		pthread_mutex_unlock(&srv->conns_lock);
		*socket_context = t;
		return;
	}
	if (t == NULL)
		return;
	pthread_mutex_lock(&srv->conns_lock);
	if (t->prev)
		t->prev->next = t->next;
	else
		srv->conns = t->next;
	if (t->next)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&srv->conns_lock);
	free(t);
	*socket_context = NULL;
}

/* Shuts down the sockets of connections past their deadline (headers not
 * whole header_timeout_s after the connection or its previous request, a
 * body still arriving request_timeout_s after its headers): the idle
 * timeout alone would let a client that sends a byte now and then hold a
 * thread for ever. One log line per sweep, not per connection. */
static void *reaper_main(void *arg)
{
	struct server *srv = arg;
	struct timespec ts;

	pthread_mutex_lock(&srv->conns_lock);
	while (!srv->reaper_stop) {
		int64_t now = now_ms();
		const char *peer = NULL, *waiting = NULL;
		unsigned cut = 0;

		for (struct conn_track *t = srv->conns; t; t = t->next) {
			if (t->cut || t->deadline_ms == 0 || now < t->deadline_ms || t->fd < 0)
				continue;
			shutdown(t->fd, SHUT_RDWR);
			t->cut = 1;
			if (cut++ == 0) {
				peer = t->peer;
				waiting = t->waiting;
			}
		}
		mhd_log_take_or_flush(0);
		if (cut)
			log_warn("http end=deadline connections=%u first_peer=%s waiting=%s "
				 "msg=\"closed: the request's %s did not arrive in time\"", cut, peer,
				 waiting, waiting);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 200 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&srv->reaper_cond, &srv->conns_lock, &ts);
	}
	pthread_mutex_unlock(&srv->conns_lock);
	return NULL;
}

/* ---- what the routes must never see ---- */

/* MHD_OPTION_UNESCAPE_CALLBACK, for the path and each query name and
 * value: %XX decoded as MHD would, then a NUL byte (the C string would
 * end early: the path checked would not be the path given) or invalid
 * UTF-8 marks the request for a 400. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	size_t n = MHD_http_unescape(s);
	struct conn_track *t;
	int bad = memchr(s, 0, n) ? BAD_URL_NUL : utf8_valid_prefix(s, n) != n ? BAD_URL_UTF8 : 0;

	(void)cls;
	if (bad && (t = track_of(conn)) != NULL && t->bad_url != BAD_URL_NUL)
		t->bad_url = bad;
	return n;
}

/* MHD_OPTION_URI_LOG_CALLBACK: the raw request target, before MHD splits
 * and decodes it. A NUL byte in it ends the C string early; where it ends
 * is compared with where the HTTP version starts in on_request(). Returns
 * NULL: the request's state is made by on_request(). */
static void *uri_seen(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct conn_track *t = track_of(conn);

	(void)cls;
	if (t)
		t->uri_end = uri ? uri + strlen(uri) : NULL;
	return NULL;
}

/* libmicrohttpd 0.9 parses the request in place: each header line stays
 * where it arrived, its line end (CR LF or LF) turned into NUL bytes, and
 * it hands out values as C strings, so a NUL byte inside a value silently
 * cuts it. What follows a value is therefore checked: the next header's
 * name 1 or 2 bytes on (its line end), or for the last one, the NUL of the
 * empty line that ends the headers. Anything else is a NUL byte inside
 * the line (or an obs-fold continuation line, which RFC 7230 lets a
 * server refuse with 400 as well). */
struct header_check {
	const char *nul;      /* a header holding a NUL byte */
	const char *prev_key, *prev_end;
	unsigned content_length, transfer_encoding;
};

static enum MHD_Result check_header(void *cls, enum MHD_ValueKind kind, const char *key,
				    size_t key_size, const char *value, size_t value_size)
{
	struct header_check *hc = cls;

	(void)kind;
	if (key == NULL || value == NULL)
		return MHD_YES;
	if (hc->prev_end) {
		uintptr_t gap = (uintptr_t)key - (uintptr_t)hc->prev_end;

		if (gap != 1 && gap != 2 && hc->nul == NULL)
			hc->nul = hc->prev_key;
	}
	if ((strlen(key) != key_size || strlen(value) != value_size) && hc->nul == NULL)
		hc->nul = key;
	hc->prev_key = key;
	hc->prev_end = value + value_size;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		hc->content_length++;
	if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
		hc->transfer_encoding++;
	return MHD_YES;
}

/* 0, or 400 with *out saying why: the request is refused before routing. */
static int check_request(struct MHD_Connection *conn, const char *version,
			 struct json_object **out)
{
	struct conn_track *t = track_of(conn);
	struct header_check hc = { 0 };
	char msg[256];

	if (t && t->uri_end && version && *version && t->uri_end + 1 != version) {
		*out = routes_error(400, "the request target holds a NUL byte; it is refused, "
				    "not cut");
		return 400;
	}
	if (t && t->bad_url == BAD_URL_NUL) {
		*out = routes_error(400, "the URL holds a NUL byte (%00); it is refused, not cut");
		return 400;
	}
	if (t && t->bad_url == BAD_URL_UTF8) {
		*out = routes_error(400, "the URL is not valid UTF-8 (after %XX decoding)");
		return 400;
	}
	MHD_get_connection_values_n(conn, MHD_HEADER_KIND, check_header, &hc);
	if (hc.prev_end && hc.prev_end[1] != '\0' && hc.nul == NULL)
		hc.nul = hc.prev_key;
	if (hc.nul) {
		snprintf(msg, sizeof(msg), "the %.64s header holds a NUL byte (or is folded over "
			 "lines); it is refused, not cut", hc.nul);
		*out = routes_error(400, msg);
		return 400;
	}
	if (hc.content_length > 1) {
		*out = routes_error(400, "more than one Content-Length header");
		return 400;
	}
	if (hc.content_length && hc.transfer_encoding) {
		*out = routes_error(400, "both Content-Length and Transfer-Encoding: the body's "
				    "length would be ambiguous");
		return 400;
	}
	return 0;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	struct request *r = cls;

	(void)kind;
	if (r->nquery == REQ_MAX_QUERY) {
		r->query_overflow = 1;
		return MHD_NO;
	}
	r->query[r->nquery].name = key;
	r->query[r->nquery++].value = value;
	return MHD_YES;
}

/* The Content-Length header's value; -1 when absent or not a length. */
static int64_t content_length(const char *v)
{
	int64_t n;

	if (v == NULL || parse_int(v, 0, INT64_MAX, &n) < 0)
		return -1;
	return n;
}

/* What every answer carries (docs/api.md "Security headers"): a
 * Content-Security-Policy (the console's for its files, none-at-all for
 * the API), no sniffing, no framing, no referrer, no cross-origin use, and
 * HSTS over TLS. */
static void add_security_headers(const struct server *srv, struct MHD_Response *resp,
				 const char *csp)
{
	MHD_add_response_header(resp, "Content-Security-Policy", csp);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
	MHD_add_response_header(resp, "Permissions-Policy",
				"camera=(), microphone=(), geolocation=(), payment=(), usb=()");
	if (srv && srv->tls)
		MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
}

/* A file answer (mail export): libmicrohttpd sends it from the fd and
 * closes it when done. */
static enum MHD_Result respond_file(struct MHD_Connection *conn, struct conn_state *cs,
				    int status)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_fd64(cs->req.file_size, cs->req.file_fd);
	if (resp == NULL)
		return MHD_NO; /* the fd is closed with the request */
	cs->req.file_fd = -1;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				cs->req.text_type ? cs->req.text_type : "application/octet-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	add_security_headers(cs->srv, resp, WEB_CSP_API);
	if (cs->req.file_withheld)
		MHD_add_response_header(resp, "X-Coffer-Withheld", cs->req.file_withheld);
	ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	cs->status = status;
	cs->responded = 1;
	return ret;
}

static enum MHD_Result respond(struct MHD_Connection *conn, struct conn_state *cs, int status,
			       struct json_object *out)
{
	struct MHD_Response *resp;
	const char *type = "application/json";
	char *data;
	size_t len;
	enum MHD_Result ret;

	if (out == NULL && cs->req.file_fd >= 0)
		return respond_file(conn, cs, status);
	if (out != NULL) {
		data = xasprintf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN |
									JSON_C_TO_STRING_NOSLASHESCAPE));
	} else if (cs->req.text != NULL) {
		data = cs->req.text;
		cs->req.text = NULL;
		type = cs->req.text_type ? cs->req.text_type : "text/plain; charset=utf-8";
	} else {
		data = xstrdup("{}\n");
	}
	len = strlen(data);
	json_object_put(out);
	resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(data);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	add_security_headers(cs->srv, resp, WEB_CSP_API);
	if (status == 405 && cs->req.allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, cs->req.allow);
	if (status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"coffer\"");
	ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	cs->status = status;
	cs->responded = 1;
	return ret;
}

/* A file of the web console (web.h): no token needed, GET or HEAD only,
 * 304 when the client's copy is current. */
static enum MHD_Result respond_console(struct MHD_Connection *conn, struct conn_state *cs)
{
	struct web_file f;
	struct MHD_Response *resp;
	const char *inm;
	enum MHD_Result ret;
	int status;
	char msg[160];

	if (strcmp(cs->method, "GET") != 0 && strcmp(cs->method, "HEAD") != 0) {
		snprintf(msg, sizeof(msg), "%s is not allowed on the console's files (GET, HEAD)",
			 cs->method);
		cs->req.allow = "GET, HEAD";
		return respond(conn, cs, 405, routes_error(405, msg));
	}
	status = web_lookup(cs->srv->web_root, cs->path, &f);
	if (status != 0) {
		snprintf(msg, sizeof(msg), "%s: no such file of the console", status == 404
			 ? "not found" : "cannot read web_root");
		return respond(conn, cs, status, routes_error(status, msg));
	}
	inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	status = inm && strcmp(inm, f.etag) == 0 ? 304 : 200;
	resp = f.owned ? MHD_create_response_from_buffer(status == 304 ? 0 : f.len, f.owned,
							  MHD_RESPMEM_MUST_COPY)
		       : MHD_create_response_from_buffer(status == 304 ? 0 : f.len,
							 (void *)(uintptr_t)f.data,
							 MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		web_file_clear(&f);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, f.content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, f.etag);
	/* Revalidated at each load, so an upgrade shows at once. */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	add_security_headers(cs->srv, resp, WEB_CSP_CONSOLE);
	web_file_clear(&f);
	ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	cs->status = status;
	cs->responded = 1;
	return ret;
}

static struct conn_state *conn_begin(struct server *srv, struct MHD_Connection *conn,
				     const char *url, const char *method)
{
	struct conn_state *cs = xcalloc(1, sizeof(*cs));
	struct request *r = &cs->req;

	cs->srv = srv;
	cs->start_ms = now_ms();
	cs->method = xstrdup(method);
	cs->path = xstrdup(url);
	buf_init(&cs->body, srv->max_body);
	request_init(r);
	r->svc = srv->svc;
	r->method = cs->method;
	r->path = cs->path;
	r->loopback = srv->loopback;
	r->authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_AUTHORIZATION);
	r->content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						      MHD_HTTP_HEADER_CONTENT_TYPE);
	r->content_length = content_length(MHD_lookup_connection_value(
		conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH));
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_query, r);
	return cs;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct server *srv = cls;
	struct conn_state *cs = *con_cls;
	struct json_object *out = NULL;
	struct error err;
	int status;

	if (cs == NULL) {
		cs = *con_cls = conn_begin(srv, conn, url, method);
		/* The body (if any) has until request_timeout after the headers,
		 * also one that is read only to be dropped after an early answer. */
		track_wait(srv, conn, cs->start_ms + srv->timeout_ms, "body");
		status = check_request(conn, version, &out);
		if (status == 0 && web_is_console(url))
			return respond_console(conn, cs);
		if (status == 0)
			status = routes_begin(&cs->req, srv->max_body, &out);
		if (status != 0)
			return respond(conn, cs, status, out);
		return MHD_YES;
	}
	if (cs->responded) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* A body without Content-Length (chunked) is cut off as soon as
		 * it passes the limit: the connection is closed then, not after
		 * reading the rest. No 413 can be sent: libmicrohttpd refuses a
		 * response while a body is still coming. (With Content-Length the
		 * 413 comes before the body is read: routes_begin.) */
		error_init(&err);
		if (buf_append(&cs->body, upload_data, *upload_data_size, &err) < 0) {
			log_warn("http method=%s path=%s end=\"chunked body past the limit of %zu "
				 "bytes: connection closed\"", cs->method, cs->path, srv->max_body);
			buf_clear(&cs->body);
			cs->status = 413;
			return MHD_NO;
		}
		*upload_data_size = 0;
		/* Bounds a client that trickles its body to keep the connection
		 * busy: past the request timeout the connection is closed. */
		if (now_ms() - cs->start_ms > srv->timeout_ms) {
			log_warn("http method=%s path=%s end=\"body still arriving after the request "
				 "timeout\"", cs->method, cs->path);
			return MHD_NO;
		}
		return MHD_YES;
	}
	track_wait(srv, conn, 0, NULL); /* the body is in: the handler takes its time */
	status = routes_finish(&cs->req, (const char *)cs->body.data, cs->body.len, &out);
	return respond(conn, cs, status, out);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct server *srv = cls;
	struct conn_state *cs = *con_cls;
	struct conn_track *t = track_of(conn);
	const char *token = cs && cs->req.authenticated ? cs->req.principal.token_id : "-";

	/* A next request on this connection: its headers have the header
	 * timeout from now, and its URL is checked anew. */
	if (t) {
		pthread_mutex_lock(&srv->conns_lock);
		t->deadline_ms = now_ms() + srv->header_timeout_ms;
		t->waiting = "headers";
		t->bad_url = 0;
		pthread_mutex_unlock(&srv->conns_lock);
	}
	if (cs == NULL)
		return;
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		log_info("http method=%s path=%s status=%d ms=%lld token=%s", cs->method, cs->path,
			 cs->responded ? cs->status : 0, (long long)(now_ms() - cs->start_ms),
			 token);
	else
		log_info("http method=%s path=%s status=%d ms=%lld token=%s end=%s", cs->method,
			 cs->path, cs->responded ? cs->status : 0,
			 (long long)(now_ms() - cs->start_ms), token,
			 toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timeout" : "aborted");
	request_clear(&cs->req);
	buf_clear(&cs->body);
	free(cs->method);
	free(cs->path);
	free(cs);
	*con_cls = NULL;
}

__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	if (!mhd_log_take())
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_warn("http: %s", msg);
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT" (every address). */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, int *loopback,
			struct error *err)
{
	const char *colon = strrchr(listen, ':'), *h = listen;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char host[256], *port;
	size_t hl;
	int rc;

	if (colon == NULL || colon[1] == '\0')
		return error_setk(err, ERROR_USAGE, "listen address \"%s\" is not HOST:PORT", listen);
	hl = (size_t)(colon - listen);
	if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
		h++; /* messages name the address as given */
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return error_setk(err, ERROR_USAGE, "listen address \"%s\" is too long", listen);
	memcpy(host, h, hl);
	host[hl] = '\0';
	port = xstrdup(colon + 1);
	rc = getaddrinfo(hl ? host : NULL, port, &hints, &ai);
	free(port);
	if (rc != 0)
		return error_setk(err, ERROR_USAGE, "listen address %s: %s", listen,
				  gai_strerror(rc));
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	if (ai->ai_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ai->ai_addr;

		*loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ai->ai_addr;

		*loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	freeaddrinfo(ai);
	return 0;
}

static int load_tls(struct server *srv, const struct svc_config *cfg, struct error *err)
{
	if (!cfg->tls_cert != !cfg->tls_key)
		return error_setk(err, ERROR_USAGE, "TLS needs both tls_cert and tls_key");
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return error_set(err, "TLS was asked for but libmicrohttpd was built without it");
	if (fs_read_file(cfg->tls_cert, &srv->cert, TLS_FILE_MAX, err) < 0)
		return error_prefix(err, "TLS certificate");
	if (fs_read_file(cfg->tls_key, &srv->key, TLS_FILE_MAX, err) < 0)
		return error_prefix(err, "TLS key");
	buf_add_u8(&srv->cert, 0);
	buf_add_u8(&srv->key, 0);
	return 0;
}

static void server_free(struct server *srv)
{
	if (srv->reaper_running) {
		pthread_mutex_lock(&srv->conns_lock);
		srv->reaper_stop = 1;
		pthread_cond_signal(&srv->reaper_cond);
		pthread_mutex_unlock(&srv->conns_lock);
		pthread_join(srv->reaper, NULL);
	}
	pthread_cond_destroy(&srv->reaper_cond);
	pthread_mutex_destroy(&srv->conns_lock);
	if (srv->key.data)
		explicit_bzero(srv->key.data, srv->key.len);
	buf_clear(&srv->cert);
	buf_clear(&srv->key);
	free(srv);
}

struct server *server_start(struct service *s, struct error *err)
{
	const struct svc_config *cfg = svc_cfg(s);
	struct server *srv = xcalloc(1, sizeof(*srv));
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	unsigned timeout = cfg->request_timeout_s > 0 ? (unsigned)cfg->request_timeout_s : 30;
	unsigned max_conns = cfg->max_connections > 0 ? (unsigned)cfg->max_connections : 512;
	unsigned max_per_ip = cfg->max_connections_per_ip > 0
			      ? (unsigned)cfg->max_connections_per_ip : 128;
	const char *listen = cfg->listen ? cfg->listen : "127.0.0.1:8470";
	int tls = cfg->tls_cert || cfg->tls_key;
	/* The certificate and key when TLS is on; else just the end. */
	struct MHD_OptionItem tls_opts[3] = { { MHD_OPTION_END, 0, NULL },
					      { MHD_OPTION_END, 0, NULL },
					      { MHD_OPTION_END, 0, NULL } };
	pthread_condattr_t ca;

	srv->svc = s;
	srv->tls = tls;
	srv->web_root = cfg->web_root;
	srv->max_body = cfg->max_body ? cfg->max_body : 1u << 20;
	srv->timeout_ms = (int64_t)timeout * 1000;
	srv->header_timeout_ms = (int64_t)(cfg->header_timeout_s > 0 ? cfg->header_timeout_s : 10)
				 * 1000;
	buf_init(&srv->cert, 0);
	buf_init(&srv->key, 0);
	pthread_mutex_init(&srv->conns_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->reaper_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&srv->reaper, NULL, reaper_main, srv) != 0) {
		error_set(err, "cannot start the connection reaper thread");
		goto fail;
	}
	srv->reaper_running = 1;
	if (parse_listen(listen, &ss, &srv->loopback, err) < 0 || (tls && load_tls(srv, cfg, err) < 0))
		goto fail;
	/* MHD binds an IPv4 socket unless told; dual stack so that "[::]:PORT"
	 * takes IPv4 clients too. */
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_DUAL_STACK;
	if (tls) {
		flags |= MHD_USE_TLS;
		tls_opts[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, srv->cert.data };
		tls_opts[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, srv->key.data };
	}
	srv->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_TIMEOUT, timeout,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
				  MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
				  MHD_OPTION_UNESCAPE_CALLBACK, unescape, srv,
				  MHD_OPTION_URI_LOG_CALLBACK, uri_seen, srv,
				  MHD_OPTION_CONNECTION_LIMIT, max_conns,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, max_per_ip,
				  MHD_OPTION_LISTENING_ADDRESS_REUSE, 1,
				  MHD_OPTION_ARRAY, tls_opts,
				  MHD_OPTION_END);
	if (srv->d == NULL) {
		error_set(err, "listen on %s%s failed (address in use, or not allowed)", listen,
			  tls ? " with TLS" : "");
		goto fail;
	}
	log_info("http listening on %s%s (port %u)", listen, tls ? " with TLS" : "",
		 server_port(srv));
	return srv;
fail:
	server_free(srv);
	return NULL;
}

unsigned server_port(const struct server *srv)
{
	const union MHD_DaemonInfo *info;

	if (srv == NULL || srv->d == NULL)
		return 0;
	info = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
	return info ? info->port : 0;
}

void server_stop(struct server **srvp)
{
	struct server *srv = srvp ? *srvp : NULL;

	if (srv == NULL)
		return;
	/* Stop accepting first, then wait for the running connections. */
	MHD_quiesce_daemon(srv->d);
	MHD_stop_daemon(srv->d);
	server_free(srv); /* the reaper after MHD: no connection is left */
	*srvp = NULL;
}
