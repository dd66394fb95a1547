#ifndef COFFER_SERVER_H
#define COFFER_SERVER_H

/* The HTTP JSON API of `coffer serve` (docs/api.md): libmicrohttpd serving
 * the routes of routes.c, each of which authenticates the bearer token,
 * authorizes it with svc_authorize() and calls service.h.
 *
 * How cmd_serve.c uses it:
 *
 *	struct service *s = svc_open(&cfg, &err);
 *	svc_start(s, &err);
 *	struct server *srv = server_start(s, &err);   // listens on cfg.listen
 *	if (srv == NULL) ...                          // err names the address
 *	... wait for SIGINT/SIGTERM ...
 *	server_stop(&srv);    // no new requests; waits for running ones
 *	svc_stop(s);
 *	svc_close(&s);
 *
 * The server reads everything it needs from svc_cfg(s): listen
 * ("HOST:PORT", IPv4 or "[v6]:PORT"; port 0 picks a free one, see
 * server_port()), tls_cert/tls_key (both set: HTTPS), max_body (larger
 * bodies get 413), request_timeout_s (idle connections, including slow
 * clients that send half a request, are closed after it), header_timeout_s
 * (a deadline for whole headers, however slowly they trickle) and
 * max_connections / max_connections_per_ip. It serves on its own threads
 * (one per connection, and a reaper that enforces the deadlines);
 * server_start() returns once the socket listens. The service must outlive
 * the server. */

struct error;
struct service;
struct server;

/* Binds and starts serving; NULL with err naming the address on failure. */
struct server *server_start(struct service *s, struct error *err);
/* The TCP port actually bound (useful when the config asked for port 0). */
unsigned server_port(const struct server *srv);
/* Stops accepting, finishes running requests, frees; accepts NULL and sets
 * *srv to NULL. */
void server_stop(struct server **srv);

#endif
