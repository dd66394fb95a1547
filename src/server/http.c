/* The HTTP transport of the API: libmicrohttpd with a thread per
 * connection (handlers block on the catalog; a thread each keeps one slow
 * request from holding up the others). Bounds: bodies above max_body get
 * 413 (before they are read when Content-Length says so), an idle
 * connection is closed after request_timeout_s, and so is one whose body
 * is still arriving after request_timeout_s. One log line per request: method,
 * path, status, milliseconds, token id (never the secret). */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "server/request.h"
#include "server/server.h"

#define TLS_FILE_MAX (1u << 20)

struct server {
	struct service *svc;
	struct MHD_Daemon *d;
	size_t max_body;
	int64_t timeout_ms;
	int loopback;
	struct buf cert, key; /* PEM; MHD reads them while it runs */
};

/* One request, from its headers to the completion callback. */
struct conn_state {
	struct request req;
	char *method, *path;
	struct buf body;
	int64_t start_ms;
	int status;
	int responded;
	int too_big; /* the body passed max_body: read and dropped, then 413 */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

static int64_t content_length(const char *v)
{
	char *end;
	long long n;

	if (v == NULL)
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || *end || n < 0)
		return -1;
	return n;
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

static struct conn_state *conn_begin(struct server *srv, struct MHD_Connection *conn,
				     const char *url, const char *method)
{
	struct conn_state *cs = xcalloc(1, sizeof(*cs));
	struct request *r = &cs->req;

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

/* Control characters in a logged path would forge log lines. */
static void log_safe(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == ' ')
			*s = '?';
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

	(void)version;
	if (cs == NULL) {
		cs = *con_cls = conn_begin(srv, conn, url, method);
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
		/* libmicrohttpd cannot answer before the body is read (that was
		 * done for a known Content-Length): a body without one that passes
		 * the limit is dropped as it comes, and answered with 413. */
		error_init(&err);
		if (!cs->too_big &&
		    buf_append(&cs->body, upload_data, *upload_data_size, &err) < 0) {
			cs->too_big = 1;
			buf_clear(&cs->body);
		}
		*upload_data_size = 0;
		/* Bounds a client that trickles its body to keep the connection
		 * busy: past the request timeout the connection is closed. */
		if (now_ms() - cs->start_ms > srv->timeout_ms) {
			log_safe(cs->method);
			log_safe(cs->path); /* no routing after this */
			log_warn("http method=%s path=%s end=\"body still arriving after the request "
				 "timeout\"", cs->method, cs->path);
			return MHD_NO;
		}
		return MHD_YES;
	}
	if (cs->too_big) {
		char *msg = xasprintf("the request body is more than the limit of %zu bytes",
				      srv->max_body);

		out = routes_error(413, msg);
		free(msg);
		return respond(conn, cs, 413, out);
	}
	status = routes_finish(&cs->req, (const char *)cs->body.data, cs->body.len, &out);
	return respond(conn, cs, status, out);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn_state *cs = *con_cls;

	(void)cls;
	(void)conn;
	if (cs == NULL)
		return;
	log_safe(cs->method);
	log_safe(cs->path);
	log_info("http method=%s path=%s status=%d ms=%lld token=%s%s", cs->method, cs->path,
		 cs->responded ? cs->status : 0, (long long)(now_ms() - cs->start_ms),
		 cs->req.authenticated ? cs->req.principal.token_id : "-",
		 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? ""
		 : toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? " end=timeout"
		 : " end=aborted");
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
	const char *listen = cfg->listen ? cfg->listen : "127.0.0.1:8470";
	int tls = cfg->tls_cert || cfg->tls_key;

	srv->svc = s;
	srv->max_body = cfg->max_body ? cfg->max_body : 1u << 20;
	srv->timeout_ms = (int64_t)timeout * 1000;
	buf_init(&srv->cert, 0);
	buf_init(&srv->key, 0);
	if (parse_listen(listen, &ss, &srv->loopback, err) < 0 || (tls && load_tls(srv, cfg, err) < 0))
		goto fail;
	/* MHD binds an IPv4 socket unless told; dual stack so that "[::]:PORT"
	 * takes IPv4 clients too. */
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_DUAL_STACK;
	if (tls)
		srv->d = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, on_request, srv,
					  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
					  MHD_OPTION_CONNECTION_TIMEOUT, timeout,
					  MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
					  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
					  MHD_OPTION_LISTENING_ADDRESS_REUSE, 1,
					  MHD_OPTION_HTTPS_MEM_CERT, (const char *)srv->cert.data,
					  MHD_OPTION_HTTPS_MEM_KEY, (const char *)srv->key.data,
					  MHD_OPTION_END);
	else
		srv->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv,
					  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
					  MHD_OPTION_CONNECTION_TIMEOUT, timeout,
					  MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
					  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
					  MHD_OPTION_LISTENING_ADDRESS_REUSE, 1,
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
	server_free(srv);
	*srvp = NULL;
}
