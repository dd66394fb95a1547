#ifndef COFFER_IMAP_CONN_H
#define COFFER_IMAP_CONN_H

/* A byte stream to an IMAP server (internal to src/sources/imap*.c): TCP
 * with connect, read and write timeouts (poll on a non-blocking socket),
 * optionally wrapped in OpenSSL TLS with certificate and host name checks.
 * Never raises SIGPIPE. */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct error;
struct imap_conn;
struct netpolicy;

struct imap_conn_opts {
	const char *host;
	uint16_t port;
	const char *ca_file; /* NULL: the system's trust store */
	int insecure;        /* 1: no certificate check */
	int connect_timeout_ms;
	int timeout_ms;
	/* Where connections may go (lib/netpolicy.h): every address the host
	 * resolves to is checked before it is connected to, and refused ones
	 * are never tried. NULL: anywhere. Must outlive the call. */
	const struct netpolicy *policy;
};

/* Connects; with tls, does the TLS handshake at once (implicit TLS). When
 * the policy refuses every address of the host, fails before any
 * connection with the policy's message (ERROR_USAGE), the same whether
 * anything listens there or not. */
struct imap_conn *imap_conn_open(const struct imap_conn_opts *o, int tls, struct error *err);
/* TLS handshake on an open clear-text connection (after STARTTLS). */
int imap_conn_starttls(struct imap_conn *c, struct error *err);
/* Up to len bytes: > 0 read, 0 the server closed the connection, -1 error
 * (timeout included). */
ssize_t imap_conn_read(struct imap_conn *c, void *buf, size_t len, struct error *err);
/* All of buf, or -1. */
int imap_conn_write(struct imap_conn *c, const void *buf, size_t len, struct error *err);
int imap_conn_is_tls(const struct imap_conn *c);
void imap_conn_close(struct imap_conn **c);

#endif
