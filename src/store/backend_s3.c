/* The S3 backend (docs/s3.md): one object per store object under the
 * bucket's prefix, over libcurl with its SigV4 signing. Objects are added
 * with a conditional PUT (If-None-Match: *) that the server refuses with
 * 412 when the name is taken, so write-once is the server's promise, not
 * ours; with Object Lock every PUT also carries a retain-until date.
 *
 * Handles: an idle pool of curl easy handles, each keeping its own live
 * connections, so threads reuse connections without sharing a handle.
 * Every request has a timeout; 5xx, 429, resets and timeouts are retried
 * a bounded number of times with exponential backoff and full jitter. */
#include "backend.h"

#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "crypto/crypto.h"
#include "lib/buf.h"
#include "lib/error.h"
#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/mem.h"
#include "lib/parse.h"
#include "store/s3proto.h"
#include "store/s3xfer.h"

#define S3_POOL_MAX 16              /* idle handles kept (each with its connections) */
#define S3_RETRIES_DEFAULT 4        /* after the first attempt */
#define S3_RETRIES_MAX 20
#define S3_TIMEOUT_DEFAULT 60       /* seconds without progress before a request fails */
#define S3_TIMEOUT_MAX 3600
#define S3_CONNECTIONS_DEFAULT 8   /* requests in flight at once */
#define S3_CONNECTIONS_MAX 64
#define S3_BACKOFF_MS 250           /* first retry waits up to this, doubling */
#define S3_BACKOFF_MAX_MS 8000
#define S3_UPLOAD_MAX ((size_t)64 << 20) /* a pack is at most 16 MiB + one blob */
#define S3_LIST_PAGE_MAX ((size_t)16 << 20)
#define S3_ERROR_BODY_MAX 16384
#define S3_CREDENTIALS_MAX 4096
#define S3_DAY_S 86400

/* SHA-256 of nothing: the payload hash of every request without a body. */
static const char s3_empty_sha256[] =
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/* One credential set. The secret is wiped on close, never in a message. */
struct s3_cred {
	char *key_id;
	char *secret;
	char *token;    /* the x-amz-security-token header line, or NULL */
	char *file;     /* where it came from ("the environment"), for messages */
};

struct s3 {
	struct backend be;
	char *base;     /* "https://host:port/bucket" (or "https://bucket.host:port") */
	char *bucket;
	char *prefix;   /* "" or "a/b/" */
	char *display;  /* "s3://host/bucket/" + prefix, for messages */
	char *bucket_display; /* "s3://host/bucket" */
	char *sigv4;    /* "aws:amz:REGION:s3" */
	char *region;
	struct s3_cred cred;      /* every request but deletion's */
	struct s3_cred *del_cred; /* DELETE and legal hold; NULL: cred (docs/s3.md) */
	char *ca_file;
	int tls;
	int lock_mode;  /* BACKEND_LOCK_* */
	unsigned lock_days;
	unsigned retries;
	long timeout_s;
	pthread_mutex_t pool_lock;
	CURL *pool[S3_POOL_MAX];
	curl_socket_t pool_fd[S3_POOL_MAX]; /* the socket each one's last request used */
	size_t npool;
	/* Asynchronous uploads (s3xfer.c), made at the first lazy commit;
	 * the first of them that failed, kept for every later sync and
	 * commit. Under xfer_lock. */
	unsigned connections;   /* COFFER_S3_CONNECTIONS */
	pthread_mutex_t xfer_lock;
	struct s3xfer *xfer;
	int async_failed;
	struct error async_err;
};

/* A PUT body's digests: Content-MD5 (base64), its hex (the ETag of a
 * single PUT) and the SHA-256 that SigV4 signs as the payload hash. */
struct s3_digests {
	char md5_b64[32];
	char md5_hex[33];
	char sha_hex[65];
};

/* One request and what came back. */
struct s3_req {
	const char *method;     /* GET, PUT, HEAD, DELETE */
	const char *name;       /* object below the prefix; NULL: the bucket itself */
	const char *query;      /* canonical (s3proto_query()), or NULL */
	const void *body;       /* PUT */
	size_t body_len;
	int put_object;         /* If-None-Match, Content-MD5 and the lock headers */
	const char *range;      /* "bytes=A-B" */
	const char *extra;      /* one more header line */
	const char *what;       /* names the request in errors (default: the object) */
	const struct s3_digests *dg; /* the body's digests, when already computed */
	int deleting;           /* signed with the deletion credentials (docs/s3.md) */
	struct buf *out;        /* a 2xx answer's body is appended here (max applies) */
	/* answers */
	long status;
	unsigned attempts;
	int too_big;
	char code[64];
	char msg[256];
	char version[256];
	char etag[80];
	char lock_until[48];    /* x-amz-object-lock-retain-until-date */
	char legal_hold[8];     /* x-amz-object-lock-legal-hold: ON or OFF */
	char lock_mode[16];     /* x-amz-object-lock-mode */
	char date[40];          /* the server's Date: */
	char body_md5[33];      /* hex MD5 of a PUT body: its ETag */
	uint64_t length;
};

struct s3_xfer {
	struct s3_req *r;
	CURL *h;
	curl_socket_t fd;       /* the connection's socket if known, for s3_quickack() */
	size_t read_off;
	size_t out_start;
	struct buf err_body;
};

static pthread_once_t s3_once = PTHREAD_ONCE_INIT;
static void s3_global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static char *s3_describe(struct backend *be, const char *name)
{
	return xasprintf("%s%s", ((struct s3 *)be)->display, name);
}

/* --- handles ---------------------------------------------------------------- */

static CURL *s3_handle_get(struct s3 *s, curl_socket_t *fd_r)
{
	CURL *h = NULL;

	*fd_r = CURL_SOCKET_BAD;
	pthread_mutex_lock(&s->pool_lock);
	if (s->npool > 0) {
		h = s->pool[--s->npool];
		*fd_r = s->pool_fd[s->npool];
	}
	pthread_mutex_unlock(&s->pool_lock);
	if (h == NULL && (h = curl_easy_init()) == NULL)
		abort(); /* out of memory, as xmalloc */
	return h;
}

/* curl_easy_reset() keeps the handle's live connections: the next user of
 * the handle reuses them. The socket of the connection just used is kept
 * beside it (s3_quickack()); curl tells it only once a transfer is done. */
static void s3_handle_put(struct s3 *s, CURL *h)
{
	curl_socket_t fd = CURL_SOCKET_BAD;

	if (curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK)
		fd = CURL_SOCKET_BAD;
	curl_easy_reset(h);
	pthread_mutex_lock(&s->pool_lock);
	if (s->npool < S3_POOL_MAX) {
		s->pool_fd[s->npool] = fd;
		s->pool[s->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&s->pool_lock);
	if (h != NULL)
		curl_easy_cleanup(h);
}

/* --- one request -------------------------------------------------------------- */

static size_t s3_write_cb(char *data, size_t size, size_t n, void *ctx)
{
	struct s3_xfer *x = ctx;
	long status = 0;

	n *= size;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300) {
		if (x->r->out == NULL)
			return n;
		if (x->r->out->max && (x->r->out->len > x->r->out->max ||
				       n > x->r->out->max - x->r->out->len)) {
			x->r->too_big = 1;
			return 0; /* stops the transfer */
		}
		buf_add(x->r->out, data, n);
	} else if (x->err_body.len < S3_ERROR_BODY_MAX) {
		size_t room = S3_ERROR_BODY_MAX - x->err_body.len;

		buf_add(&x->err_body, data, n < room ? n : room);
	}
	return n;
}

static size_t s3_read_cb(char *dst, size_t size, size_t n, void *ctx)
{
	struct s3_xfer *x = ctx;
	size_t left = x->r->body_len - x->read_off;

	n *= size;
	if (n > left)
		n = left;
	memcpy(dst, (const char *)x->r->body + x->read_off, n);
	x->read_off += n;
	return n;
}

/* Acknowledges at once what the connection received so far, and leaves
 * the kernel's delayed-ACK ("pingpong") mode. radosgw writes an answer's
 * headers and its body apart; with Nagle on its side the body waits for
 * our ACK of the headers, which Linux delays up to 40 ms on a connection
 * it takes for interactive: every request on a reused connection took
 * ~45 ms on loopback instead of ~2. Asked when the status line arrives. */
static void s3_quickack(struct s3_xfer *x)
{
	curl_socket_t sock = x->fd;
	int one = 1;

	if (sock == CURL_SOCKET_BAD &&
	    curl_easy_getinfo(x->h, CURLINFO_ACTIVESOCKET, &sock) != CURLE_OK)
		sock = CURL_SOCKET_BAD;
	/* A stale descriptor (the connection was closed since) gets an
	 * option that changes nothing or an error that is ignored. */
	if (sock != CURL_SOCKET_BAD)
		(void)setsockopt(sock, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

/* Keeps the headers coffer reads: the version id (for deletes), ETag and
 * the object's lock. */
static size_t s3_header_cb(char *line, size_t size, size_t n, void *ctx)
{
	struct s3_xfer *x = ctx;
	struct s3_req *r = x->r;
	size_t len = size * n, vlen;
	const char *v;
	char *dst = NULL;
	size_t dst_size = 0;

	if (len > 5 && memcmp(line, "HTTP/", 5) == 0)
		s3_quickack(x);
	if (len > 17 && strncasecmp(line, "x-amz-version-id:", 17) == 0) {
		v = line + 17;
		dst = r->version;
		dst_size = sizeof(r->version);
	} else if (len > 5 && strncasecmp(line, "etag:", 5) == 0) {
		v = line + 5;
		dst = r->etag;
		dst_size = sizeof(r->etag);
	} else if (len > 36 && strncasecmp(line, "x-amz-object-lock-retain-until-date:", 36) == 0) {
		v = line + 36;
		dst = r->lock_until;
		dst_size = sizeof(r->lock_until);
	} else if (len > 29 && strncasecmp(line, "x-amz-object-lock-legal-hold:", 29) == 0) {
		v = line + 29;
		dst = r->legal_hold;
		dst_size = sizeof(r->legal_hold);
	} else if (len > 22 && strncasecmp(line, "x-amz-object-lock-mode:", 23) == 0) {
		v = line + 23;
		dst = r->lock_mode;
		dst_size = sizeof(r->lock_mode);
	} else if (len > 5 && strncasecmp(line, "date:", 5) == 0) {
		v = line + 5;
		dst = r->date;
		dst_size = sizeof(r->date);
	}
	if (dst != NULL) {
		vlen = len - (size_t)(v - line);
		while (vlen > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
			vlen--;
		if (vlen < dst_size) {
			memcpy(dst, v, vlen);
			dst[vlen] = '\0';
		}
	}
	return len;
}

static void s3_base64(const uint8_t *data, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
}

/* "Content-MD5: ..." and the payload hash of a PUT body; md5_hex gets the
 * hex MD5, which is what the ETag of a single PUT is. */
static void s3_body_digests(const void *body, size_t len, char *md5_b64, char *md5_hex,
			    char *sha_hex)
{
	uint8_t md5[16], sha[32];
	unsigned int mlen = sizeof(md5);

	EVP_Digest(body, len, md5, &mlen, EVP_md5(), NULL);
	crypto_sha256(body, len, sha);
	s3_base64(md5, sizeof(md5), md5_b64);
	hex_encode(md5, sizeof(md5), md5_hex);
	hex_encode(sha, sizeof(sha), sha_hex);
}

static char *s3_url(struct s3 *s, const struct s3_req *r)
{
	struct buf b;

	buf_init(&b, 0);
	buf_add(&b, s->base, strlen(s->base));
	buf_add_u8(&b, '/');
	if (r->name != NULL) {
		s3proto_uri_encode(&b, s->prefix, strlen(s->prefix), 1);
		s3proto_uri_encode(&b, r->name, strlen(r->name), 1);
	}
	if (r->query != NULL)
		buf_addf(&b, "?%s", r->query);
	buf_add(&b, "", 1);
	return (char *)buf_steal(&b, NULL);
}

static const struct s3_cred *s3_cred_of(const struct s3 *s, const struct s3_req *r)
{
	return r->deleting && s->del_cred != NULL ? s->del_cred : &s->cred;
}

static struct curl_slist *s3_headers(struct s3 *s, const struct s3_req *r, char *md5_hex)
{
	struct curl_slist *h = NULL;
	struct s3_digests dg;
	char line[256];

	if (r->body != NULL || r->put_object) {
		if (r->dg != NULL)
			dg = *r->dg;
		else
			s3_body_digests(r->body ? r->body : "", r->body_len, dg.md5_b64, dg.md5_hex,
					dg.sha_hex);
		memcpy(md5_hex, dg.md5_hex, sizeof(dg.md5_hex));
		snprintf(line, sizeof(line), "x-amz-content-sha256: %s", dg.sha_hex);
		h = curl_slist_append(h, line);
		snprintf(line, sizeof(line), "Content-MD5: %s", dg.md5_b64);
		h = curl_slist_append(h, line);
		/* No "Expect:" to turn off 100-continue: curl's SigV4 would sign
		 * the empty header it then does not send. */
	} else {
		snprintf(line, sizeof(line), "x-amz-content-sha256: %s", s3_empty_sha256);
		h = curl_slist_append(h, line);
	}
	if (r->put_object) {
		h = curl_slist_append(h, "If-None-Match: *");
		if (s->lock_mode != BACKEND_LOCK_NONE) {
			time_t until = time(NULL) + (time_t)s->lock_days * S3_DAY_S;
			struct tm tm;
			char date[32];

			gmtime_r(&until, &tm);
			strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
			h = curl_slist_append(h, s->lock_mode == BACKEND_LOCK_GOVERNANCE ?
					      "x-amz-object-lock-mode: GOVERNANCE" :
					      "x-amz-object-lock-mode: COMPLIANCE");
			snprintf(line, sizeof(line), "x-amz-object-lock-retain-until-date: %s", date);
			h = curl_slist_append(h, line);
		}
	}
	if (r->range != NULL) {
		snprintf(line, sizeof(line), "Range: %s", r->range);
		h = curl_slist_append(h, line);
	}
	if (r->extra != NULL)
		h = curl_slist_append(h, r->extra);
	if (s3_cred_of(s, r)->token != NULL)
		h = curl_slist_append(h, s3_cred_of(s, r)->token);
	return h;
}

static void s3_setup(struct s3 *s, CURL *h, struct s3_req *r, struct s3_xfer *x, const char *url,
		     struct curl_slist *headers, char *errbuf)
{
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, s->tls ? "https" : "http");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_AWS_SIGV4, s->sigv4);
	curl_easy_setopt(h, CURLOPT_USERNAME, s3_cred_of(s, r)->key_id);
	curl_easy_setopt(h, CURLOPT_PASSWORD, s3_cred_of(s, r)->secret);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s3_write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, s3_header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	/* Fewer, larger reads of big answers (ranges of packs). */
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L << 10);
	/* A stalled request fails after timeout_s; a moving one may take
	 * longer, up to ten times that. */
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, s->timeout_s < 10 ? s->timeout_s : 10L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, s->timeout_s);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, s->timeout_s * 10);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
	if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, s3_read_cb);
		curl_easy_setopt(h, CURLOPT_READDATA, x);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
	} else if (strcmp(r->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	}
}

/* What a failed attempt says, for retry decisions: 1 worth another try. */
static int s3_retryable(CURLcode rc, long status)
{
	switch (rc) {
	case CURLE_OK:
		return status >= 500 || status == 429;
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_COULDNT_RESOLVE_HOST:
		return 1;
	default:
		return 0;
	}
}

/* Full jitter: a random wait in [cap/4, cap], cap = min(max, base * 2^(attempt-1)). */
static long s3_backoff_ms(unsigned attempt)
{
	unsigned long cap = S3_BACKOFF_MS;
	uint32_t rnd;

	while (--attempt > 0 && cap < S3_BACKOFF_MAX_MS)
		cap *= 2;
	if (cap > S3_BACKOFF_MAX_MS)
		cap = S3_BACKOFF_MAX_MS;
	crypto_random(&rnd, sizeof(rnd));
	return (long)(cap / 4 + rnd % (cap - cap / 4 + 1));
}

static void s3_backoff(unsigned attempt)
{
	long ms = s3_backoff_ms(attempt);
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Says what went wrong, naming the request and the object; never the
 * credentials. ERROR_NOTFOUND for 404, ERROR_EXISTS for 412. */
static int s3_fail(struct s3 *s, const struct s3_req *r, CURLcode rc, const char *errbuf,
		   struct error *err)
{
	char *what = r->what ? xstrdup(r->what) : r->name ? s3_describe(&s->be, r->name) :
		     xasprintf("bucket %s", s->bucket_display);
	const char *hint = "";
	int code = ERROR_FAIL;

	if (rc != CURLE_OK && r->too_big) {
		error_setk(err, ERROR_CORRUPT, "%s %s failed: the object is larger than %zu bytes",
			   r->method, what, r->out->max);
	} else if (rc != CURLE_OK) {
		/* curl says "Operation too slow" when the low-speed limit fires:
		 * name it for what it is, the request timeout. */
		error_set(err, "%s %s failed: %s%s (after %u attempt%s)", r->method, what,
			  rc == CURLE_OPERATION_TIMEDOUT ? "timed out: " : "",
			  errbuf[0] ? errbuf : curl_easy_strerror(rc), r->attempts,
			  r->attempts == 1 ? "" : "s");
	} else {
		if (r->status == 404 && strcmp(r->code, "NoSuchBucket") == 0)
			hint = " (the bucket does not exist; `coffer init` creates it)";
		else if (r->status == 404)
			code = ERROR_NOTFOUND;
		else if (r->status == 412)
			code = ERROR_EXISTS, hint = " (the name is taken: objects are written once)";
		else if (strcmp(r->code, "InvalidAccessKeyId") == 0 ||
			 strcmp(r->code, "SignatureDoesNotMatch") == 0)
			hint = " (check the S3 credentials: credentials=FILE in the store spec, "
			       "COFFER_S3_CREDENTIALS, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)";
		if (r->status == 403 && strcmp(r->code, "InvalidAccessKeyId") != 0 &&
		    strcmp(r->code, "SignatureDoesNotMatch") != 0) {
			/* The bucket policy (or Object Lock) says no: say which
			 * credentials asked, never what they are. */
			const struct s3_cred *c = s3_cred_of(s, r);

			error_setk(err, code, "%s %s refused by the server (403 %s)%s%s: the %s "
				   "credentials (%s) may not do this, or Object Lock retains it%s",
				   r->method, what, r->code[0] ? r->code : "Forbidden",
				   r->msg[0] ? ": " : "", r->msg,
				   r->deleting && s->del_cred ? "deletion" : "backup", c->file,
				   r->attempts > 1 ? " (after retries)" : "");
			free(what);
			return -1;
		}
		error_setk(err, code, "%s %s failed: %ld%s%s%s%s%s%s", r->method, what, r->status,
			   r->code[0] ? " " : "", r->code, r->msg[0] ? ": " : "", r->msg, hint,
			   r->attempts > 1 ? " (after retries)" : "");
	}
	free(what);
	return -1;
}

/* One request's state across its attempts, for the blocking path
 * (s3_request) and the asynchronous one (the upload jobs) alike. */
struct s3_call {
	struct s3 *s;
	struct s3_req *r;
	struct s3_xfer x;
	char *url;
	struct curl_slist *headers;
	CURLcode rc;
	char errbuf[CURL_ERROR_SIZE];
};

static void s3_call_init(struct s3_call *c, struct s3 *s, struct s3_req *r)
{
	memset(c, 0, sizeof(*c));
	c->s = s;
	c->r = r;
	c->x.r = r;
	c->url = s3_url(s, r);
	c->headers = s3_headers(s, r, r->body_md5);
	c->x.out_start = r->out ? r->out->len : 0;
	buf_init(&c->x.err_body, 0);
	r->attempts = 0;
}

/* Readies handle h for the next attempt. */
static void s3_call_setup(struct s3_call *c, CURL *h)
{
	struct s3_req *r = c->r;

	r->attempts++;
	c->x.h = h;
	c->x.fd = CURL_SOCKET_BAD;
	c->x.read_off = 0;
	buf_reset(&c->x.err_body);
	if (r->out)
		r->out->len = c->x.out_start;
	r->status = 0;
	r->too_big = 0;
	r->code[0] = r->msg[0] = r->version[0] = r->etag[0] = '\0';
	r->lock_until[0] = r->legal_hold[0] = '\0';
	c->errbuf[0] = '\0';
	s3_setup(c->s, h, r, &c->x, c->url, c->headers, c->errbuf);
}

/* Reads what the attempt on h got; 1 if it is worth another attempt. */
static int s3_call_done(struct s3_call *c, CURL *h, CURLcode rc)
{
	struct s3_req *r = c->r;

	c->rc = rc;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	if (rc == CURLE_OK && strcmp(r->method, "HEAD") == 0) {
		curl_off_t cl = -1;

		curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		r->length = cl >= 0 ? (uint64_t)cl : 0;
	}
	if (rc == CURLE_OK && r->status >= 300)
		s3proto_error_parse((const char *)c->x.err_body.data, c->x.err_body.len, r->code,
				    sizeof(r->code), r->msg, sizeof(r->msg));
	/* A body the server found damaged (Content-MD5, or the payload hash
	 * SigV4 signs) was damaged on the way: our copy is fine, send it
	 * again. */
	return !r->too_big && r->attempts <= c->s->retries &&
	       (s3_retryable(rc, r->status) ||
		(rc == CURLE_OK && r->status == 400 && (strcmp(r->code, "BadDigest") == 0 ||
							strcmp(r->code, "XAmzContentSHA256Mismatch") == 0)));
}

/* 0 for a 2xx answer, else -1 with the error; frees what the call holds. */
static int s3_call_end(struct s3_call *c, struct error *err)
{
	struct s3_req *r = c->r;
	int ret = 0;

	if (!(c->rc == CURLE_OK && r->status >= 200 && r->status < 300))
		ret = s3_fail(c->s, r, c->rc, c->errbuf, err);
	buf_clear(&c->x.err_body);
	curl_slist_free_all(c->headers);
	free(c->url);
	c->headers = NULL;
	c->url = NULL;
	return ret;
}

/* Sends r, retrying what may pass on a second try. 0 for a 2xx answer,
 * else -1 with the error (r->status and r->code say what the server said). */
static int s3_request(struct s3 *s, struct s3_req *r, struct error *err)
{
	struct s3_call c;
	int again;

	s3_call_init(&c, s, r);
	do {
		curl_socket_t fd;
		CURL *h = s3_handle_get(s, &fd);

		s3_call_setup(&c, h);
		c.x.fd = fd;
		again = s3_call_done(&c, h, curl_easy_perform(h));
		s3_handle_put(s, h);
		if (again)
			s3_backoff(r->attempts);
	} while (again);
	return s3_call_end(&c, err);
}

/* --- the table -------------------------------------------------------------- */

static int s3_head(struct s3 *s, const char *name, struct s3_req *r, struct error *err)
{
	memset(r, 0, sizeof(*r));
	r->method = "HEAD";
	r->name = name;
	return s3_request(s, r, err);
}

static int s3_put(struct backend *be, const char *name, const void *data, size_t len,
		  struct error *err)
{
	struct s3 *s = (struct s3 *)be;
	struct s3_req r = { .method = "PUT", .name = name, .body = data, .body_len = len,
			    .put_object = 1 };
	struct s3_req head;
	struct error ignored;
	char want[83];

	/* radosgw (16.2) ignores If-None-Match in a versioned bucket, and
	 * Object Lock makes every bucket versioned: there a PUT of a taken
	 * name would add a newer version. Looking first leaves only a race
	 * between two writers (docs/s3.md); the condition still goes with
	 * the PUT for the servers that honour it. */
	if (s3_head(s, name, &head, err) == 0) {
		char *what = s3_describe(be, name);

		error_setk(err, ERROR_EXISTS, "PUT %s refused: the object exists (objects are "
			   "written once)", what);
		free(what);
		return -1;
	}
	if (err->code != ERROR_NOTFOUND)
		return -1;
	error_init(err);
	if (s3_request(s, &r, err) == 0)
		return 0;
	/* 412 after a retry: the attempt whose answer was lost may have been
	 * ours. The ETag of a single PUT is the MD5 of its body. */
	if (err->code != ERROR_EXISTS || r.attempts == 1)
		return -1;
	snprintf(want, sizeof(want), "\"%s\"", r.body_md5);
	if (s3_head(s, name, &head, &ignored) == 0 && strcmp(head.etag, want) == 0 &&
	    head.length == len)
		return 0;
	return -1;
}

enum { UP_HEAD, UP_PUT, UP_VERIFY };

struct backend_upload {
	struct s3 *s;
	char *name;
	struct buf data;
	int flags;
	/* a lazy commit's job: HEAD (must be 404), PUT, and after a 412 on
	 * a retried PUT, HEAD again to compare the ETag */
	int phase;
	struct s3_digests dg;
	struct s3_req req;
	struct s3_req put;      /* kept for the 412 check's answer */
	struct s3_call *call;
	struct error err;
	int failed;
};

static struct backend_upload *s3_upload_begin(struct backend *be, const char *name, int flags,
					      struct error *err)
{
	struct backend_upload *up = xcalloc(1, sizeof(*up));

	(void)err;
	up->s = (struct s3 *)be;
	up->name = xstrdup(name);
	up->flags = flags;
	buf_init(&up->data, S3_UPLOAD_MAX);
	return up;
}

static int s3_upload_write(struct backend_upload *up, const void *data, size_t len,
			   struct error *err)
{
	if (buf_append(&up->data, data, len, err) < 0) {
		char *what = s3_describe(&up->s->be, up->name);

		error_set(err, "upload of %s: more than %zu bytes", what, S3_UPLOAD_MAX);
		free(what);
		return -1;
	}
	return 0;
}

static void s3_upload_free(struct backend_upload *up)
{
	free(up->call);
	buf_clear(&up->data);
	free(up->name);
	free(up);
}

/* --- asynchronous uploads (lazy commits: packs) ------------------------------ */

static const void *s3_upload_body(const struct backend_upload *up)
{
	return up->data.data ? up->data.data : (const void *)"";
}

/* Starts the request of the job's phase. */
static void s3_job_start(struct backend_upload *up)
{
	struct s3_req *r = &up->req;

	memset(r, 0, sizeof(*r));
	r->name = up->name;
	if (up->phase == UP_PUT) {
		r->method = "PUT";
		r->body = s3_upload_body(up);
		r->body_len = up->data.len;
		r->put_object = 1;
		r->dg = &up->dg;
	} else {
		r->method = "HEAD";
	}
	if (up->call == NULL)
		up->call = xmalloc(sizeof(*up->call));
	s3_call_init(up->call, up->s, r);
}

static void s3_job_setup(void *job, CURL *h)
{
	struct backend_upload *up = job;

	s3_call_setup(up->call, h);
}

/* The phases of a lazy commit, as s3_put() does them one after the other. */
static long s3_job_done(void *job, CURL *h, CURLcode rc)
{
	struct backend_upload *up = job;
	char want[83];
	int ret;

	if (s3_call_done(up->call, h, rc))
		return s3_backoff_ms(up->req.attempts);
	ret = s3_call_end(up->call, &up->err);
	switch (up->phase) {
	case UP_HEAD:
		if (ret == 0) {
			char *what = s3_describe(&up->s->be, up->name);

			error_setk(&up->err, ERROR_EXISTS, "PUT %s refused: the object exists "
				   "(objects are written once)", what);
			free(what);
			break;
		}
		if (up->err.code != ERROR_NOTFOUND)
			break;
		error_init(&up->err);
		up->phase = UP_PUT;
		s3_job_start(up);
		return 0;
	case UP_PUT:
		if (ret == 0)
			return -1;
		if (up->err.code != ERROR_EXISTS || up->req.attempts == 1)
			break;
		/* 412 after a retry: the attempt whose answer was lost may have
		 * been ours (s3_put). */
		up->put = up->req;
		up->phase = UP_VERIFY;
		s3_job_start(up);
		return 0;
	case UP_VERIFY:
		snprintf(want, sizeof(want), "\"%s\"", up->put.body_md5);
		if (ret == 0 && strcmp(up->req.etag, want) == 0 && up->req.length == up->data.len)
			return -1;
		/* up->err holds the PUT's 412 only if the HEAD failed: say the PUT's */
		up->req = up->put;
		s3_fail(up->s, &up->req, CURLE_OK, "", &up->err);
		break;
	}
	up->failed = 1;
	return -1;
}

/* The first failure is kept: every later sync reports it, so no index
 * segment can ever list a pack that did not arrive. */
static void s3_job_finish(void *job, int cancelled)
{
	struct backend_upload *up = job;
	struct s3 *s = up->s;

	if (cancelled && up->call != NULL && up->call->url != NULL) {
		struct error ignored;

		up->call->rc = CURLE_ABORTED_BY_CALLBACK;
		s3_call_end(up->call, &ignored);
	}
	pthread_mutex_lock(&s->xfer_lock);
	if (up->failed && !s->async_failed) {
		s->async_failed = 1;
		s->async_err = up->err;
	}
	pthread_mutex_unlock(&s->xfer_lock);
	s3_upload_free(up);
}

static const struct s3xfer_ops s3_job_ops = {
	.setup = s3_job_setup,
	.done = s3_job_done,
	.finish = s3_job_finish,
};

/* The first asynchronous failure, if any: -1 with it in err. */
static int s3_async_failure(struct s3 *s, struct error *err)
{
	int failed;

	pthread_mutex_lock(&s->xfer_lock);
	failed = s->async_failed;
	if (failed)
		*err = s->async_err;
	pthread_mutex_unlock(&s->xfer_lock);
	return failed ? -1 : 0;
}

/* A lazy commit (a pack) queues the PUT and returns: backend_sync()
 * waits for it. At most `connections` are queued or in flight; past
 * that the commit waits for one to end, so memory stays bounded. */
static int s3_upload_commit(struct backend_upload *up, struct error *err)
{
	struct s3 *s = up->s;
	struct s3xfer *x;
	int ret;

	if (!(up->flags & BACKEND_UPLOAD_LAZY)) {
		ret = s3_put(&s->be, up->name, s3_upload_body(up), up->data.len, err);
		s3_upload_free(up);
		return ret;
	}
	if (s3_async_failure(s, err) < 0) {
		s3_upload_free(up);
		return -1;
	}
	pthread_mutex_lock(&s->xfer_lock);
	if (s->xfer == NULL)
		s->xfer = s3xfer_new(s->connections);
	x = s->xfer;
	pthread_mutex_unlock(&s->xfer_lock);
	if (x == NULL) { /* no thread: upload now */
		ret = s3_put(&s->be, up->name, s3_upload_body(up), up->data.len, err);
		s3_upload_free(up);
		return ret;
	}
	/* The digests are computed here, in the committing thread, not in
	 * the one thread that drives every transfer. */
	s3_body_digests(s3_upload_body(up), up->data.len, up->dg.md5_b64, up->dg.md5_hex,
			up->dg.sha_hex);
	error_init(&up->err);
	up->phase = UP_HEAD;
	s3_job_start(up);
	s3xfer_submit(x, up, &s3_job_ops);
	return 0;
}

static void s3_upload_abort(struct backend_upload *up) { s3_upload_free(up); }

/* Whether a whole object's body is the one the server stored: the ETag of
 * a single PUT (every object coffer writes) is the MD5 of its body. An
 * ETag of another form (a multipart upload's "...-N") is not checked. */
static int s3_etag_matches(const struct s3_req *r, const struct buf *body, char *got_hex)
{
	uint8_t md5[16];
	unsigned int mlen = sizeof(md5);
	size_t n = strlen(r->etag);

	if (n != 34 || r->etag[0] != '"' || r->etag[33] != '"' ||
	    strspn(r->etag + 1, "0123456789abcdef") != 32)
		return 1;
	EVP_Digest(body->data ? body->data : (const uint8_t *)"", body->len, md5, &mlen, EVP_md5(),
		   NULL);
	hex_encode(md5, sizeof(md5), got_hex);
	return memcmp(got_hex, r->etag + 1, 32) == 0;
}

/* GET of the object (of one version of it, when version is not NULL):
 * len bytes at off (a Range), or with len 0 the whole object, at most max
 * bytes, appended to out. A whole object is checked against its ETag; a
 * range must come back exactly. Either failure is ERROR_CORRUPT naming the
 * object, after one more try (a fault on the way). */
static int s3_read(struct s3 *s, const char *name, const char *version, uint64_t off, size_t len,
		   struct buf *out, size_t max, struct error *err)
{
	static const char *const names[] = { "versionId" };
	const char *values[] = { version };
	char *query = version ? s3proto_query(names, values, 1) : NULL;
	char range[64], got[33], *what;
	struct buf tmp;
	unsigned tries;
	int ret = -1;

	if (len > 0)
		snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)off,
			 (unsigned long long)(off + len - 1));
	buf_init(&tmp, len > 0 ? len : max);
	for (tries = 0; tries < 2; tries++) {
		struct s3_req r = { .method = "GET", .name = name, .query = query, .out = &tmp,
				    .range = len > 0 ? range : NULL };

		buf_reset(&tmp);
		if (s3_request(s, &r, err) < 0) {
			/* A range past the end: the object is not the one whose
			 * size the index knows (replaced, or cut short). */
			if (r.status == 416)
				err->code = ERROR_CORRUPT;
			break;
		}
		what = s3_describe(&s->be, name);
		/* A 200 is the whole object: only right when it is exactly the range. */
		if (len > 0 && (tmp.len != len || (r.status != 206 && off != 0))) {
			error_setk(err, ERROR_CORRUPT, "GET %s%s%s (%s) returned %zu bytes, not %zu",
				   what, version ? " version " : "", version ? version : "", range,
				   tmp.len, len);
		} else if (len == 0 && !s3_etag_matches(&r, &tmp, got)) {
			error_setk(err, ERROR_CORRUPT, "GET %s%s%s: the body (%zu bytes, MD5 %s) does "
				   "not match the object's ETag %s: damaged on the way", what,
				   version ? " version " : "", version ? version : "", tmp.len, got,
				   r.etag);
		} else {
			ret = 0;
		}
		free(what);
		if (ret == 0)
			break;
	}
	if (ret == 0)
		buf_add(out, tmp.data ? tmp.data : (const uint8_t *)"", tmp.len);
	buf_clear(&tmp);
	free(query);
	return ret;
}

static int s3_get(struct backend *be, const char *name, struct buf *out, size_t max,
		  struct error *err)
{
	return s3_read((struct s3 *)be, name, NULL, 0, 0, out, max, err);
}

static int s3_get_range(struct backend *be, const char *name, uint64_t off, size_t len,
			void *out, struct error *err)
{
	struct buf tmp;
	int ret;

	if (len == 0)
		return 0;
	buf_init(&tmp, len);
	ret = s3_read((struct s3 *)be, name, NULL, off, len, &tmp, len, err);
	if (ret == 0)
		memcpy(out, tmp.data, len);
	buf_clear(&tmp);
	return ret;
}

static int s3_get_version(struct backend *be, const char *name, const char *version,
			  uint64_t off, size_t len, struct buf *out, size_t max, struct error *err)
{
	return s3_read((struct s3 *)be, name, version, off, len, out, max, err);
}

/* ListObjectVersions of the key: its versions, oldest first (the server
 * lists them newest first). */
static int s3_versions(struct backend *be, const char *name, backend_list_cb *cb, void *ctx,
		       struct error *err)
{
	struct s3 *s = (struct s3 *)be;
	static const char *const names[] = { "prefix", "versions" };
	char *key = xasprintf("%s%s", s->prefix, name), *what = s3_describe(be, name);
	const char *values[] = { key, "" };
	char *query = s3proto_query(names, values, 2);
	struct s3_req r = { .method = "GET", .query = query, .what = what };
	struct s3proto_versions v = { NULL, 0, 0 };
	struct buf page;
	size_t i;
	int ret;

	buf_init(&page, S3_LIST_PAGE_MAX);
	r.out = &page;
	ret = s3_request(s, &r, err);
	if (ret == 0)
		ret = s3proto_versions_parse((const char *)page.data, page.len, key, what, &v, err);
	for (i = v.n; ret == 0 && i > 0; i--)
		if (cb(ctx, v.ids[i - 1]) < 0)
			break;
	if (ret == 0)
		s3proto_versions_clear(&v);
	buf_clear(&page);
	free(query);
	free(key);
	free(what);
	return ret;
}

static int s3_size(struct backend *be, const char *name, uint64_t *size_r, struct error *err)
{
	struct s3_req r;

	if (s3_head((struct s3 *)be, name, &r, err) < 0)
		return -1;
	*size_r = r.length;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ListObjectsV2 with delimiter '/', page after page; names sorted and
 * unique, as the local backend gives them. */
static int s3_list(struct backend *be, const char *dir, backend_list_cb *cb, void *ctx,
		   struct error *err)
{
	struct s3 *s = (struct s3 *)be;
	char *prefix = dir[0] ? xasprintf("%s%s/", s->prefix, dir) : xstrdup(s->prefix);
	char *what = xasprintf("%s%s%s", ((struct s3 *)be)->display, dir, dir[0] ? "/" : "");
	struct s3proto_list l;
	struct buf page;
	size_t i;
	int ret = 0;

	memset(&l, 0, sizeof(l));
	buf_init(&page, S3_LIST_PAGE_MAX);
	do {
		static const char *const names[] = { "continuation-token", "delimiter", "list-type",
						     "prefix" };
		const char *values[] = { l.next_token, "/", "2", prefix };
		char *query = s3proto_query(names, values, 4);
		struct s3_req r = { .method = "GET", .query = query, .out = &page, .what = what };

		buf_reset(&page);
		ret = s3_request(s, &r, err);
		free(query);
		if (ret == 0)
			ret = s3proto_list_parse((const char *)page.data, page.len, prefix, what, &l,
						 err);
	} while (ret == 0 && l.truncated);
	if (ret < 0 && err->code == ERROR_NOTFOUND)
		err->code = ERROR_FAIL; /* a missing bucket is not an empty folder */
	if (ret == 0 && l.n > 1)
		qsort(l.names, l.n, sizeof(char *), name_cmp);
	for (i = 0; ret == 0 && i < l.n; i++)
		if ((i == 0 || strcmp(l.names[i], l.names[i - 1]) != 0) && cb(ctx, l.names[i]) < 0)
			ret = -1;
	s3proto_list_clear(&l);
	buf_clear(&page);
	free(prefix);
	free(what);
	return ret;
}

/* The lock a HEAD answer carries. A retain-until date that cannot be read
 * counts as locked for ever: better to keep an object than to guess. */
static void s3_head_lock(const struct s3_req *head, int64_t *until_r, int *hold_r)
{
	*hold_r = strcasecmp(head->legal_hold, "ON") == 0;
	*until_r = 0;
	if (head->lock_until[0] && s3proto_date_parse(head->lock_until, until_r) < 0)
		*until_r = INT64_MAX;
}

static int s3_lock(struct backend *be, const char *name, int64_t *until_r, int *hold_r,
		   struct error *err)
{
	struct s3_req head;

	if (s3_head((struct s3 *)be, name, &head, err) < 0)
		return -1;
	s3_head_lock(&head, until_r, hold_r);
	return 0;
}

/* Deletes the object's current version by its id: in a versioned bucket
 * (Object Lock needs one) a DELETE without it would only add a delete
 * marker, hiding a locked object instead of being refused. An object whose
 * lock has not lapsed by our clock is not sent a DELETE (ERROR_LOCKED);
 * a 403 for an object that carries a lock date (our clock behind the
 * server's, or the lock extended meanwhile) is ERROR_LOCKED too, while a
 * 403 for an unlocked one stays a failure (these credentials may not
 * delete: docs/s3.md). */
static int s3_remove(struct backend *be, const char *name, struct error *err)
{
	struct s3 *s = (struct s3 *)be;
	struct s3_req head, r = { .method = "DELETE", .name = name, .deleting = 1 };
	int64_t server_now;
	char *query = NULL, *what, date[40];
	int64_t until;
	int hold, ret;

	if (s3_head(s, name, &head, err) < 0)
		return err->code == ERROR_NOTFOUND ? 0 : -1;
	s3_head_lock(&head, &until, &hold);
	if (hold || until > (int64_t)time(NULL)) {
		what = s3_describe(be, name);
		backend_lock_date(until, date, sizeof(date));
		if (hold)
			error_setk(err, ERROR_LOCKED, "DELETE %s refused: it is locked by an Object "
				   "Lock legal hold", what);
		else
			error_setk(err, ERROR_LOCKED, "DELETE %s refused: it is locked by Object "
				   "Lock until %s", what, date);
		free(what);
		return -1;
	}
	if (head.version[0] && strcmp(head.version, "null") != 0) {
		static const char *const names[] = { "versionId" };
		const char *values[] = { head.version };

		query = s3proto_query(names, values, 1);
		r.query = query;
	}
	ret = s3_request(s, &r, err);
	free(query);
	if (ret < 0 && err->code == ERROR_NOTFOUND)
		ret = 0;
	/* A 403 for an object with a lock date is the lock, unless the
	 * server's own clock (its Date) says the date has passed: then it is
	 * the bucket policy refusing these credentials, and stays so. */
	if (ret < 0 && r.status == 403 && until > 0 &&
	    (s3proto_http_date_parse(r.date, &server_now) < 0 || server_now < until)) {
		backend_lock_date(until, date, sizeof(date));
		err->code = ERROR_LOCKED;
		error_prefix(err, "its Object Lock ended at %s by this machine's clock, yet the "
			     "server still retains it (clocks apart, or the lock was extended)",
			     date);
	}
	return ret;
}

/* "SUB=&versionId=V": the subresource of one version (a version id
 * "null" or "": the unversioned object). */
static char *s3_version_query(const char *version, const char *sub)
{
	const char *names[2] = { sub, "versionId" }, *values[2] = { "", version };

	return s3proto_query(names, values, version[0] && strcmp(version, "null") != 0 ? 2 : 1);
}

struct s3_version_ids {
	char **v;
	size_t n;
};

static int s3_version_add(void *ctx, const char *id)
{
	struct s3_version_ids *l = ctx;

	l->v = xrealloc(l->v, xmul(l->n + 1, sizeof(char *)));
	l->v[l->n++] = xstrdup(id);
	return 0;
}

static void s3_version_ids_clear(struct s3_version_ids *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Every version of the object, oldest first: an overwrite with the backup
 * credentials adds a newer version over the locked one (docs/s3.md "Threat
 * model"), and it is the older one that must stay locked and held. A name
 * with no version is ERROR_NOTFOUND. */
static int s3_all_versions(struct s3 *s, const char *name, struct s3_version_ids *l,
			   struct error *err)
{
	memset(l, 0, sizeof(*l));
	if (s3_versions(&s->be, name, s3_version_add, l, err) < 0) {
		s3_version_ids_clear(l);
		return -1;
	}
	if (l->n == 0) {
		char *what = s3_describe(&s->be, name);

		error_setk(err, ERROR_NOTFOUND, "%s: no version of it exists", what);
		free(what);
		return -1;
	}
	return 0;
}

static int s3_head_version(struct s3 *s, const char *name, const char *version,
			   struct s3_req *r, struct error *err)
{
	static const char *const names[] = { "versionId" };
	const char *values[] = { version };
	char *query = version[0] && strcmp(version, "null") != 0 ? s3proto_query(names, values, 1) :
		      NULL;
	int ret;

	memset(r, 0, sizeof(*r));
	r->method = "HEAD";
	r->name = name;
	r->query = query;
	ret = s3_request(s, r, err);
	r->query = NULL;
	free(query);
	return ret;
}

/* Every version that carries a lock date and ends before `below` is locked
 * until `until`. A version without any lock is not coffer's (coffer writes
 * every object of a locked store with one): it is left to lapse, or to be
 * deleted. *before_r: the earliest date of the versions coffer wrote. */
static int s3_retain(struct backend *be, const char *name, int64_t below, int64_t until,
		     int64_t *before_r, int *extended_r, struct error *err)
{
	struct s3 *s = (struct s3 *)be;
	struct s3_version_ids ids;
	char date[40];
	int ret = 0;

	*extended_r = 0;
	*before_r = 0;
	if (s3_all_versions(s, name, &ids, err) < 0)
		return -1;
	backend_lock_date(until, date, sizeof(date));
	for (size_t i = 0; ret == 0 && i < ids.n; i++) {
		struct s3_req head, r = { .method = "PUT", .name = name };
		char *body, *query;
		int64_t v_until;
		int hold;

		if ((ret = s3_head_version(s, name, ids.v[i], &head, err)) < 0)
			break;
		s3_head_lock(&head, &v_until, &hold);
		if (v_until == 0)
			continue;
		if (*before_r == 0 || v_until < *before_r)
			*before_r = v_until;
		if (v_until >= below || (until > 0 && v_until >= until))
			continue; /* far enough ahead; never shortened */
		if (until <= 0) { /* only asked */
			*extended_r = 1;
			continue;
		}
		/* The mode the version has (a store's mode never changes). */
		body = xasprintf("<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>"
				 "%s</Mode><RetainUntilDate>%s</RetainUntilDate></Retention>",
				 strcasecmp(head.lock_mode, "GOVERNANCE") == 0 ? "GOVERNANCE" :
				 strcasecmp(head.lock_mode, "COMPLIANCE") == 0 ? "COMPLIANCE" :
				 s->lock_mode == BACKEND_LOCK_GOVERNANCE ? "GOVERNANCE" : "COMPLIANCE",
				 date);
		query = s3_version_query(ids.v[i], "retention");
		r.query = query;
		r.body = body;
		r.body_len = strlen(body);
		ret = s3_request(s, &r, err);
		if (ret == 0)
			*extended_r = 1;
		free(query);
		free(body);
	}
	s3_version_ids_clear(&ids);
	return ret;
}

/* The legal hold of every version of the object. */
static int s3_hold(struct backend *be, const char *name, int on, struct error *err)
{
	struct s3 *s = (struct s3 *)be;
	struct s3_version_ids ids;
	const char *body = on ? "<LegalHold xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
				"<Status>ON</Status></LegalHold>" :
				"<LegalHold xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
				"<Status>OFF</Status></LegalHold>";
	int ret = 0;

	if (s3_all_versions(s, name, &ids, err) < 0)
		return -1;
	for (size_t i = 0; ret == 0 && i < ids.n; i++) {
		struct s3_req r = { .method = "PUT", .name = name, .deleting = 1 };
		char *query = s3_version_query(ids.v[i], "legal-hold");

		r.query = query;
		r.body = body;
		r.body_len = strlen(body);
		ret = s3_request(s, &r, err);
		free(query);
	}
	s3_version_ids_clear(&ids);
	return ret;
}

/* Waits for every queued upload; a PUT that answered 200 is durable. The
 * first upload that failed (after its retries) is the error, naming the
 * object and the server's answer. */
static int s3_sync(struct backend *be, struct error *err)
{
	struct s3 *s = (struct s3 *)be;
	struct s3xfer *x;

	pthread_mutex_lock(&s->xfer_lock);
	x = s->xfer;
	pthread_mutex_unlock(&s->xfer_lock);
	if (x != NULL)
		s3xfer_wait(x);
	return s3_async_failure(s, err);
}

static void s3_cred_clear(struct s3_cred *c)
{
	if (c->secret)
		crypto_wipe(c->secret, strlen(c->secret));
	if (c->token)
		crypto_wipe(c->token, strlen(c->token));
	free(c->secret);
	free(c->token);
	free(c->key_id);
	free(c->file);
	memset(c, 0, sizeof(*c));
}

static void s3_close(struct backend *be)
{
	struct s3 *s = (struct s3 *)be;
	size_t i;

	/* Uploads not synced are dropped: unreferenced packs, as after a
	 * crash (prune's business). */
	s3xfer_free(&s->xfer);
	pthread_mutex_destroy(&s->xfer_lock);
	for (i = 0; i < s->npool; i++)
		curl_easy_cleanup(s->pool[i]);
	pthread_mutex_destroy(&s->pool_lock);
	s3_cred_clear(&s->cred);
	if (s->del_cred)
		s3_cred_clear(s->del_cred);
	free(s->del_cred);
	free(s->base);
	free(s->bucket);
	free(s->prefix);
	free(s->display);
	free(s->bucket_display);
	free(s->sigv4);
	free(s->region);
	free(s->ca_file);
	free(s);
}

static const struct backend_ops s3_ops = {
	.put = s3_put,
	.upload_begin = s3_upload_begin,
	.upload_write = s3_upload_write,
	.upload_commit = s3_upload_commit,
	.upload_abort = s3_upload_abort,
	.get = s3_get,
	.get_range = s3_get_range,
	.size = s3_size,
	.list = s3_list,
	.remove = s3_remove,
	.lock = s3_lock,
	.retain = s3_retain,
	.hold = s3_hold,
	.sync = s3_sync,
	.versions = s3_versions,
	.get_version = s3_get_version,
	.close = s3_close,
	.describe = s3_describe,
};

/* --- opening ---------------------------------------------------------------- */

static void trim(const char **p, size_t *n)
{
	while (*n > 0 && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t' || (*p)[*n - 1] == '\r'))
		(*n)--;
}

/* The credentials file: "aws_access_key_id = ..." and
 * "aws_secret_access_key = ..." lines (AWS's shared credentials format;
 * only its [default] section, or lines before any section, count). */
static int s3_read_credentials(struct s3_cred *s, const char *file, struct error *err)
{
	struct buf b;
	const char *p, *end;
	int in_default = 1, ret = -1;

	buf_init(&b, S3_CREDENTIALS_MAX);
	if (fs_read_file(file, &b, S3_CREDENTIALS_MAX, err) < 0) {
		error_prefix(err, "cannot read the S3 credentials file");
		goto out;
	}
	p = (const char *)b.data;
	end = p + b.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *eq;
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p), kn, vn;
		const char *line = p, *key, *v;

		p = nl ? nl + 1 : end;
		trim(&line, &n);
		if (n == 0 || line[0] == '#' || line[0] == ';')
			continue;
		if (line[0] == '[') {
			in_default = n == 9 && memcmp(line, "[default]", 9) == 0;
			continue;
		}
		eq = memchr(line, '=', n);
		if (eq == NULL) {
			error_setk(err, ERROR_USAGE, "S3 credentials file %s: a line without '='", file);
			goto out;
		}
		key = line;
		kn = (size_t)(eq - line);
		trim(&key, &kn);
		v = eq + 1;
		vn = (size_t)(line + n - v);
		trim(&v, &vn);
		if (!in_default)
			continue;
		if (kn == 17 && memcmp(key, "aws_access_key_id", 17) == 0) {
			free(s->key_id);
			s->key_id = xstrndup(v, vn);
		} else if (kn == 21 && memcmp(key, "aws_secret_access_key", 21) == 0) {
			if (s->secret)
				crypto_wipe(s->secret, strlen(s->secret));
			free(s->secret);
			s->secret = xstrndup(v, vn);
		}
	}
	if (s->key_id == NULL || s->secret == NULL || !s->key_id[0] || !s->secret[0]) {
		error_setk(err, ERROR_USAGE, "S3 credentials file %s: want aws_access_key_id and "
			   "aws_secret_access_key lines", file);
		goto out;
	}
	ret = 0;
out:
	if (b.data)
		crypto_wipe(b.data, b.len);
	buf_clear(&b);
	return ret;
}

static int s3_env_number(const char *name, int64_t def, int64_t max, int64_t *v,
			 struct error *err)
{
	const char *env = getenv(name);

	*v = def;
	if (env == NULL || *env == '\0')
		return 0;
	return parse_int_field(name, env, 0, max, v, err);
}

/* A credential set from `file`, or with file NULL from the environment's
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN). */
static int s3_cred_load(struct s3_cred *c, const char *file, struct error *err)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = getenv("AWS_SESSION_TOKEN");

	if (file != NULL) {
		c->file = xstrdup(file);
		if (s3_read_credentials(c, file, err) < 0)
			return -1;
	} else if (id != NULL && *id && secret != NULL && *secret) {
		c->file = xstrdup("AWS_ACCESS_KEY_ID");
		c->key_id = xstrdup(id);
		c->secret = xstrdup(secret);
		if (token != NULL && *token)
			c->token = xasprintf("x-amz-security-token: %s", token);
	} else {
		return error_setk(err, ERROR_USAGE, "no S3 credentials");
	}
	if (strpbrk(c->key_id, "\r\n") || strpbrk(c->secret, "\r\n") ||
	    (c->token && strpbrk(c->token, "\r\n")))
		return error_setk(err, ERROR_USAGE, "the S3 credentials of %s hold a line break",
				  c->file);
	return 0;
}

/* A setting from the spec, else from the environment variable, else NULL. */
static const char *s3_setting(const char *from_spec, const char *env_name)
{
	const char *env = env_name ? getenv(env_name) : NULL;

	if (from_spec != NULL)
		return from_spec;
	return env != NULL && *env ? env : NULL;
}

struct backend *backend_s3_open(const char *spec, int flags, struct error *err)
{
	struct s3proto_spec sp;
	struct s3 *s;
	const char *region, *vhost = getenv("COFFER_S3_VIRTUAL_HOST"), *file, *ca;
	int64_t retries, timeout, connections;
	int virtual_host;

	if (s3proto_spec_parse(spec, &sp, err) < 0)
		return NULL;
	pthread_once(&s3_once, s3_global_init);
	s = xcalloc(1, sizeof(*s));
	s->be.ops = &s3_ops;
	s->be.flags = flags;
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_mutex_init(&s->xfer_lock, NULL);
	s->tls = sp.tls;
	s->bucket = sp.bucket;
	s->prefix = sp.prefix;
	sp.bucket = sp.prefix = NULL;
	/* The spec's settings first, the environment's as the fallback. */
	virtual_host = sp.addressing == S3PROTO_ADDR_DEFAULT ? vhost && strcmp(vhost, "1") == 0 :
		       sp.addressing == S3PROTO_ADDR_VIRTUAL;
	if (virtual_host)
		s->base = xasprintf("%s://%s.%s", sp.tls ? "https" : "http", s->bucket, sp.host);
	else
		s->base = xasprintf("%s://%s/%s", sp.tls ? "https" : "http", sp.host, s->bucket);
	s->bucket_display = xasprintf("%s://%s/%s", sp.tls ? "s3" : "s3+http", sp.host, s->bucket);
	s->display = xasprintf("%s/%s", s->bucket_display, s->prefix);
	region = s3_setting(sp.region, "AWS_REGION");
	if (region == NULL)
		region = s3_setting(NULL, "AWS_DEFAULT_REGION");
	if (region == NULL)
		region = "us-east-1";
	if (strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(region) ||
	    strlen(region) > 64) {
		error_setk(err, ERROR_USAGE, "AWS_REGION \"%.64s\" is not a region name", region);
		goto fail;
	}
	s->region = xstrdup(region);
	s->sigv4 = xasprintf("aws:amz:%s:s3", region);
	if ((ca = s3_setting(sp.ca_file, "COFFER_S3_CA_FILE")) != NULL)
		s->ca_file = xstrdup(ca);
	if (s3_env_number("COFFER_S3_RETRIES", S3_RETRIES_DEFAULT, S3_RETRIES_MAX, &retries,
			  err) < 0 ||
	    s3_env_number("COFFER_S3_TIMEOUT", S3_TIMEOUT_DEFAULT, S3_TIMEOUT_MAX, &timeout,
			  err) < 0)
		goto fail;
	s->retries = (unsigned)retries;
	s->timeout_s = timeout > 0 ? (long)timeout : 1;
	if (s3_env_number("COFFER_S3_CONNECTIONS", S3_CONNECTIONS_DEFAULT, S3_CONNECTIONS_MAX,
			  &connections, err) < 0)
		goto fail;
	s->connections = connections > 0 ? (unsigned)connections : 1;
	s->be.parallel = (int)s->connections;
	file = s3_setting(sp.credentials, "COFFER_S3_CREDENTIALS");
	if (s3_cred_load(&s->cred, file, err) < 0) {
		if (file == NULL)
			error_setk(err, ERROR_USAGE, "no S3 credentials for %s: name a credentials "
				   "file with credentials=FILE in the store spec, --s3-credentials FILE "
				   "or COFFER_S3_CREDENTIALS, or set AWS_ACCESS_KEY_ID and "
				   "AWS_SECRET_ACCESS_KEY (docs/s3.md)", s->display);
		goto fail;
	}
	/* The deletion set only where deleting is allowed: a backend that
	 * only backs up never holds it. */
	file = s3_setting(sp.delete_credentials, "COFFER_S3_DELETE_CREDENTIALS");
	if ((flags & BACKEND_ALLOW_DELETE) && file != NULL) {
		s->del_cred = xcalloc(1, sizeof(*s->del_cred));
		if (s3_cred_load(s->del_cred, file, err) < 0) {
			error_prefix(err, "the S3 deletion credentials");
			goto fail;
		}
	}
	s3proto_spec_clear(&sp);
	return &s->be;
fail:
	s3proto_spec_clear(&sp);
	s3_close(&s->be);
	return NULL;
}

int backend_s3_set_lock(struct backend *be, int mode, unsigned days)
{
	struct s3 *s = (struct s3 *)be;

	if (be->ops != &s3_ops)
		return -1;
	s->lock_mode = mode;
	s->lock_days = days;
	return 0;
}

int backend_s3_lock_mode(struct backend *be, unsigned *days_r)
{
	struct s3 *s = (struct s3 *)be;

	*days_r = 0;
	if (be->ops != &s3_ops)
		return BACKEND_LOCK_NONE;
	*days_r = s->lock_days;
	return s->lock_mode;
}

static int s3_bucket_lock(struct s3 *s, int *enabled_r, struct error *err)
{
	struct buf body;
	static const char *const names[] = { "object-lock" };
	const char *values[] = { "" };
	char *query = s3proto_query(names, values, 1);
	struct s3_req r = { .method = "GET", .query = query, .out = &body };
	int ret;

	buf_init(&body, S3_ERROR_BODY_MAX);
	ret = s3_request(s, &r, err);
	*enabled_r = ret == 0 && s3proto_lock_enabled((const char *)body.data, body.len);
	if (ret < 0 && r.status == 404 && strcmp(r.code, "NoSuchBucket") != 0)
		ret = 0; /* ObjectLockConfigurationNotFoundError: a bucket without it */
	else if (ret < 0 && r.status == 404)
		err->code = ERROR_NOTFOUND;
	buf_clear(&body);
	free(query);
	return ret;
}

static int s3_first_name(void *ctx, const char *name)
{
	*(char **)ctx = xstrdup(name);
	return -1;
}

int backend_s3_prepare(struct backend *be, struct error *err)
{
	struct s3 *s = (struct s3 *)be;
	struct s3_req r = { .method = "PUT" };
	char *first = NULL, *body = NULL;
	int enabled;

	if (be->ops != &s3_ops)
		return error_set(err, "not an S3 store");
	if (s3_bucket_lock(s, &enabled, err) < 0) {
		if (err->code != ERROR_NOTFOUND)
			return -1;
		/* A new bucket, created with Object Lock (and so versioning). */
		if (strcmp(s->region, "us-east-1") != 0) {
			body = xasprintf("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/"
					 "doc/2006-03-01/\"><LocationConstraint>%s</LocationConstraint>"
					 "</CreateBucketConfiguration>", s->region);
			r.body = body;
			r.body_len = strlen(body);
		} else {
			r.body = "";
		}
		r.extra = "x-amz-bucket-object-lock-enabled: true";
		if (s3_request(s, &r, err) < 0 || s3_bucket_lock(s, &enabled, err) < 0) {
			free(body);
			return error_prefix(err, "cannot create bucket %s with Object Lock", s->bucket);
		}
		free(body);
	}
	if (!enabled)
		return error_setk(err, ERROR_USAGE, "bucket %s has no Object Lock: coffer needs a bucket "
				  "created with Object Lock enabled (name a new bucket and `coffer "
				  "init` creates it so, or create it with "
				  "x-amz-bucket-object-lock-enabled: true)", s->bucket);
	if (s3_list(be, "", s3_first_name, &first, err) < 0 && first == NULL)
		return -1;
	if (first != NULL) {
		error_setk(err, ERROR_EXISTS, "cannot create a store in %s: not empty (it holds "
			   "\"%s\")", s->display, first);
		free(first);
		return -1;
	}
	return 0;
}
