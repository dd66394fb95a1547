/* TCP + OpenSSL with timeouts for the IMAP client (imap_conn.h). */
#include "sources/imap_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lib/error.h"
#include "lib/mem.h"
#include "lib/netpolicy.h"

struct imap_conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	char *host;
	char *ca_file;
	int insecure;
	int timeout_ms;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for `events` or the deadline passes. */
static int wait_fd(int fd, short events, int64_t deadline, const char *what, struct error *err)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events, .revents = 0 };
		int64_t left = deadline - now_ms();
		int rc;

		if (left <= 0)
			return error_setk(err, ERROR_FAIL, "%s timed out", what);
		rc = poll(&p, 1, left > 3600000 ? 3600000 : (int)left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return error_sys(err, "poll failed while waiting to %s", what);
	}
}

/* ---- a socket BIO that never raises SIGPIPE ---- */

static BIO_METHOD *nosig_method;

static int nosig_write(BIO *b, const char *data, int len)
{
	ssize_t n = send((int)BIO_get_fd(b, NULL), data, (size_t)len, MSG_NOSIGNAL);

	BIO_clear_retry_flags(b);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_write(b);
	return (int)n;
}

static int nosig_read(BIO *b, char *data, int len)
{
	ssize_t n = recv((int)BIO_get_fd(b, NULL), data, (size_t)len, 0);

	BIO_clear_retry_flags(b);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_read(b);
	return (int)n;
}

static void nosig_init(void)
{
	const BIO_METHOD *sock = BIO_s_socket();
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK |
				     BIO_TYPE_DESCRIPTOR, "coffer socket");

	if (!m)
		return;
	BIO_meth_set_write(m, nosig_write);
	BIO_meth_set_read(m, nosig_read);
	BIO_meth_set_puts(m, BIO_meth_get_puts(sock));
	BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(sock));
	BIO_meth_set_create(m, BIO_meth_get_create(sock));
	BIO_meth_set_destroy(m, BIO_meth_get_destroy(sock));
	nosig_method = m;
}

/* The method is built once per process and shared by every connection;
 * OpenSSL does not change it after setup. */
static BIO_METHOD *nosig_bio_method(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, nosig_init);
	return nosig_method;
}

/* ---- TLS ---- */

static void ssl_errors(char *out, size_t outlen)
{
	unsigned long e;

	out[0] = '\0';
	while ((e = ERR_get_error()) != 0)
		if (!out[0])
			ERR_error_string_n(e, out, outlen);
	if (!out[0])
		snprintf(out, outlen, "%s", "unknown TLS error");
}

static int is_ip_address(const char *h)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, h, &a4) == 1 || inet_pton(AF_INET6, h, &a6) == 1;
}

static int tls_setup(struct imap_conn *c, struct error *err)
{
	BIO_METHOD *m = nosig_bio_method();
	BIO *bio;
	char e[256];

	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx || !m)
		goto ssl_fail;
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (!c->insecure) {
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
		if (c->ca_file) {
			if (SSL_CTX_load_verify_locations(c->ctx, c->ca_file, NULL) != 1) {
				ssl_errors(e, sizeof(e));
				return error_setk(err, ERROR_USAGE,
						  "cannot load the CA file %s: %s", c->ca_file, e);
			}
		} else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
			goto ssl_fail;
		}
	}
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl)
		goto ssl_fail;
	if (!is_ip_address(c->host))
		SSL_set_tlsext_host_name(c->ssl, c->host);
	if (!c->insecure) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);

		if (is_ip_address(c->host)) {
			if (X509_VERIFY_PARAM_set1_ip_asc(vp, c->host) != 1)
				goto ssl_fail;
		} else {
			X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			if (SSL_set1_host(c->ssl, c->host) != 1)
				goto ssl_fail;
		}
	}
	bio = BIO_new(m);
	if (!bio)
		goto ssl_fail;
	BIO_set_fd(bio, c->fd, BIO_NOCLOSE);
	SSL_set_bio(c->ssl, bio, bio);
	return 0;
ssl_fail:
	ssl_errors(e, sizeof(e));
	return error_setk(err, ERROR_FAIL, "TLS setup failed: %s", e);
}

static int tls_handshake(struct imap_conn *c, struct error *err)
{
	int64_t deadline = now_ms() + c->timeout_ms;

	if (tls_setup(c, err) < 0)
		return -1;
	ERR_clear_error();
	for (;;) {
		int rc = SSL_connect(c->ssl), e = SSL_get_error(c->ssl, rc);
		char msg[256];
		long vr;

		if (rc == 1)
			return 0;
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline,
				    "finish the TLS handshake", err) < 0)
				return -1;
			continue;
		}
		vr = SSL_get_verify_result(c->ssl);
		if (vr != X509_V_OK)
			return error_setk(err, ERROR_FAIL,
					  "TLS certificate check failed: %s%s",
					  X509_verify_cert_error_string(vr),
					  c->ca_file ? "" : " (no CA file given: the system's "
							    "trust store was used)");
		if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
			return error_setk(err, ERROR_FAIL,
					  "TLS handshake failed: the server closed the connection");
		ssl_errors(msg, sizeof(msg));
		return error_setk(err, ERROR_FAIL, "TLS handshake failed: %s", msg);
	}
}

/* ---- connect ---- */

static int connect_one(const struct addrinfo *ai, int64_t deadline, struct error *err)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			ai->ai_protocol);
	int one = 1, soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (fd < 0)
		return error_sys(err, "socket failed");
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			error_sys(err, "connect failed");
			goto fail;
		}
		if (wait_fd(fd, POLLOUT, deadline, "connect", err) < 0)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
			errno = soerr ? soerr : errno;
			error_sys(err, "connect failed");
			goto fail;
		}
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
fail:
	close(fd);
	return -1;
}

struct imap_conn *imap_conn_open(const struct imap_conn_opts *o, int tls, struct error *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC };
	struct addrinfo *res = NULL;
	struct imap_conn *c;
	char port[8];
	int64_t deadline = now_ms() + o->connect_timeout_ms;
	int rc, fd = -1, tried = 0;
	struct error refused;

	error_init(&refused);
	snprintf(port, sizeof(port), "%u", o->port);
	rc = getaddrinfo(o->host, port, &hints, &res);
	if (rc != 0) {
		error_setk(err, ERROR_FAIL, "cannot resolve %s: %s", o->host, gai_strerror(rc));
		return NULL;
	}
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		/* Checked on the address about to be connected to, not on the
		 * name: what a name resolves to can change at any time. */
		if (o->policy && netpolicy_check(o->policy, o->host, ai->ai_addr, ai->ai_addrlen,
						 tried ? &refused : err) < 0)
			continue;
		tried = 1;
		fd = connect_one(ai, deadline, err);
		if (fd >= 0)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return NULL; /* nothing tried: err holds the policy's refusal */
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->host = xstrdup(o->host);
	c->ca_file = o->ca_file ? xstrdup(o->ca_file) : NULL;
	c->insecure = o->insecure;
	c->timeout_ms = o->timeout_ms;
	if (tls && tls_handshake(c, err) < 0) {
		imap_conn_close(&c);
		return NULL;
	}
	return c;
}

int imap_conn_starttls(struct imap_conn *c, struct error *err)
{
	if (c->ssl)
		return error_setk(err, ERROR_FAIL, "TLS is already on");
	return tls_handshake(c, err);
}

int imap_conn_is_tls(const struct imap_conn *c)
{
	return c->ssl != NULL;
}

ssize_t imap_conn_read(struct imap_conn *c, void *buf, size_t len, struct error *err)
{
	int64_t deadline = now_ms() + c->timeout_ms;

	if (len > INT32_MAX)
		len = INT32_MAX;
	for (;;) {
		if (c->ssl) {
			int n, e;

			ERR_clear_error();
			n = SSL_read(c->ssl, buf, (int)len);
			if (n > 0)
				return n;
			e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_ZERO_RETURN)
				return 0;
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
				if (wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
					    deadline, "read", err) < 0)
					return -1;
				continue;
			}
			if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
				if (n == 0 || errno == ECONNRESET || errno == EPIPE)
					return 0; /* closed without close_notify: still a close */
				return error_sys(err, "read failed");
			}
			{
				char msg[256];

				ssl_errors(msg, sizeof(msg));
				return error_setk(err, ERROR_FAIL, "TLS read failed: %s", msg);
			}
		} else {
			ssize_t n = recv(c->fd, buf, len, 0);

			if (n >= 0)
				return n;
			if (errno == ECONNRESET)
				return 0;
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return error_sys(err, "read failed");
			if (wait_fd(c->fd, POLLIN, deadline, "read", err) < 0)
				return -1;
		}
	}
}

int imap_conn_write(struct imap_conn *c, const void *buf, size_t len, struct error *err)
{
	const uint8_t *p = buf;
	int64_t deadline = now_ms() + c->timeout_ms;

	while (len > 0) {
		size_t chunk = len > (1u << 30) ? (1u << 30) : len;

		if (c->ssl) {
			int n, e;

			ERR_clear_error();
			n = SSL_write(c->ssl, p, (int)chunk);
			if (n > 0) {
				p += n;
				len -= (size_t)n;
				deadline = now_ms() + c->timeout_ms;
				continue;
			}
			e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
				if (wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
					    deadline, "write", err) < 0)
					return -1;
				continue;
			}
			if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
				return error_sys(err, "write failed");
			{
				char msg[256];

				ssl_errors(msg, sizeof(msg));
				return error_setk(err, ERROR_FAIL, "TLS write failed: %s", msg);
			}
		} else {
			ssize_t n = send(c->fd, p, chunk, MSG_NOSIGNAL);

			if (n > 0) {
				p += n;
				len -= (size_t)n;
				deadline = now_ms() + c->timeout_ms;
				continue;
			}
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return error_sys(err, "write failed");
			if (wait_fd(c->fd, POLLOUT, deadline, "write", err) < 0)
				return -1;
		}
	}
	return 0;
}

void imap_conn_close(struct imap_conn **cp)
{
	struct imap_conn *c = *cp;

	if (!c)
		return;
	if (c->ssl)
		SSL_free(c->ssl); /* no close_notify: LOGOUT already ended the connection */
	if (c->ctx)
		SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	free(c->host);
	free(c->ca_file);
	free(c);
	*cp = NULL;
}
