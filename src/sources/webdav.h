#ifndef COFFER_WEBDAV_H
#define COFFER_WEBDAV_H

/* A WebDAV client (docs/webdav.md): libcurl for HTTP, one handle per
 * client so its connection is reused; libxml2 for the multistatus answers
 * of PROPFIND, matched on namespace URI + local name, with limits on size,
 * depth and count. Paths given to and returned by the client are decoded
 * ("a b/c#d"), relative to the base URL ("" is the base itself); the
 * client encodes them for the wire and refuses hrefs that decode outside
 * the base. The secret is never logged nor put in a message. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct error;
struct netpolicy;

enum dav_auth {
	DAV_AUTH_BASIC = 0,
	DAV_AUTH_BEARER,
};

struct dav_opts {
	const char *url;         /* base collection, http:// or https://, ends in '/' */
	const char *user;        /* Basic: the user; Bearer: for messages only */
	enum dav_auth auth;
	const char *secret;      /* password or token */
	const char *ca_file;     /* NULL: the system's CAs */
	int insecure;            /* 1: no certificate check (tests only) */
	long timeout_s;          /* no byte for this long: the request fails; 0: 60 */
	int max_tries;           /* tries of a request answered 5xx or cut; 0: 3 */
	const struct netpolicy *policy; /* checked on every address; NULL: anywhere */
	int dead_props;          /* PROPFIND asks allprop: dead properties and
				  * getcontenttype too (dearer on Apache);
				  * 0: the live properties a backup needs */
	int oc_props;            /* without allprop, ask ownCloud's oc:fileid,
				  * oc:checksums, oc:permissions too */
	int connections;         /* the source's requests in flight at once
				  * (listing, downloads, writes); the client
				  * itself uses one. 0: 4 */
};

/* One resource of a multistatus answer. */
struct dav_res {
	char *path;        /* decoded, relative to the base, no trailing '/' */
	int collection;
	int has_size, has_mtime;
	uint64_t size;     /* getcontentlength */
	int64_t mtime_s;   /* getlastmodified */
	char *etag;        /* getetag as sent (quotes included), or NULL */
	char *ctype;       /* getcontenttype, or NULL */
	char *fileid, *checksums, *permissions; /* oc:*, or NULL */
	/* Dead properties (set by clients): a <D:prop xmlns:D="DAV:"> text
	 * holding them with their namespaces declared, or NULL if none.
	 * props_dropped: there were more than DAV_PROPS_MAX_BYTES, none kept. */
	char *props;
	int props_dropped;
};

struct dav_list {
	struct dav_res *res;
	size_t n, cap;
};

void dav_list_clear(struct dav_list *l);

/* Limits of one multistatus answer. */
#define DAV_XML_MAX_BYTES (64u << 20)
#define DAV_XML_MAX_DEPTH 32
#define DAV_XML_MAX_RESPONSES 200000
#define DAV_PROPS_MAX_BYTES (64u << 10)

/* Parses a multistatus body: each <DAV:response> with a 2xx propstat
 * becomes a dav_res whose href, decoded, lies at or below base_url's path
 * (an absolute href must also name base_url's scheme and host). 0, or -1
 * and err (naming `what`, e.g. the URL asked) on malformed XML, a DTD, a
 * limit passed or an href outside the base; then l is left empty. */
int dav_multistatus_parse(const char *data, size_t len, const char *base_url, const char *what,
			  struct dav_list *l, struct error *err);

/* What turns the dead properties `have` (a dav_res's props, NULL: none)
 * into `want`: *body_r is a PROPPATCH body setting those of want that
 * differ and removing those want lacks, or NULL when they are the same
 * (compared on namespace, name, attributes and content, not prefixes).
 * -1 (ERROR_CORRUPT, naming `what`) if a text is not a DAV:prop. */
int dav_props_patch(const char *want, const char *have, const char *what, char **body_r,
		    struct error *err);
/* Reads a PROPPATCH's multistatus: 0 if every property was set, -1 and
 * err naming `what` and the properties refused with their status. */
int dav_patch_result(const char *data, size_t len, const char *what, struct error *err);

/* The URL of a decoded relative path: base + each segment percent-encoded
 * (all but A-Z a-z 0-9 - . _ ~), '/' appended for a collection. Caller frees. */
char *dav_url(const char *base_url, const char *path, int collection);
/* Decodes one href segment ("%20" -> " "): a new string, or NULL when it
 * has a bad escape or decodes to NUL or '/'. */
char *dav_unescape_segment(const char *s, size_t len);

struct dav_client;

struct dav_client *dav_open(const struct dav_opts *o, struct error *err);
void dav_close(struct dav_client **c);

/* PROPFIND Depth: 1 (depth 1) or 0 on path; the resources answered, the
 * path itself included. */
int dav_propfind(struct dav_client *c, const char *path, int collection, int depth,
		 struct dav_list *l, struct error *err);

/* Told the body of a GET as it arrives; -1 and err stop the transfer. */
typedef int dav_body_cb(void *ctx, const void *data, size_t len, struct error *err);

/* Headers of a GET's answer the caller keeps (dav_head_clear frees). */
struct dav_head {
	char *etag;   /* ETag, or NULL */
	char *ctype;  /* Content-Type, or NULL */
};
void dav_head_clear(struct dav_head *h);

/* GET path. If expect_etag is not NULL and the answer's ETag differs, no
 * byte reaches cb and 1 is returned (the file moved). 0 when the whole
 * body was told to cb; head (if not NULL) gets the answer's headers. */
int dav_get(struct dav_client *c, const char *path, const char *expect_etag, dav_body_cb *cb,
	    void *ctx, struct dav_head *head, struct error *err);

/* PUT the size bytes of body (rewound for each try) at path. if_match:
 * only over that ETag; if_none_match: only where nothing is. mtime_s >= 0
 * asks the server to keep it as the modification time (X-OC-Mtime,
 * honoured by ownCloud, Nextcloud and rclone; ignored elsewhere). 0
 * written, 1 the condition failed (412: someone changed it), -1 and err. */
int dav_put(struct dav_client *c, const char *path, FILE *body, uint64_t size,
	    const char *if_match, int if_none_match, int64_t mtime_s, struct error *err);
/* PROPPATCH path with body (dav_props_patch): 0 done, 1 the server does
 * not take PROPPATCH (405, 501), -1 and err (naming refused properties). */
int dav_proppatch(struct dav_client *c, const char *path, int collection, const char *body,
		  struct error *err);
/* MKCOL path: 0 made, 1 something is there already (405), -1 and err. */
int dav_mkcol(struct dav_client *c, const char *path, struct error *err);
/* DELETE path (a collection with all it holds), only over ETag if_match
 * when given: 0 deleted or gone already, 1 the condition failed (412),
 * -1 and err. */
int dav_delete(struct dav_client *c, const char *path, int collection, const char *if_match,
	       struct error *err);

/* Whether the server checks If-Match and If-None-Match on writes: a
 * PROPPATCH of the base under an If-Match no ETag meets, removing a
 * property nobody sets (a no-op, RFC 4918 9.2), is answered 412 by one
 * that does (RFC 9110 13.1.1; Apache), and applied or refused by one that
 * ignores them (rclone: 207, nginx: 405). Changes nothing either way. */
int dav_checks_conditions(struct dav_client *c);

/* Whether two ETags name the same content, W/ aside: Apache gives a
 * weak and a strong ETag the same value. */
int dav_etag_same(const char *a, const char *b);

/* Requests made so far (for tests and logs). */
uint64_t dav_requests(const struct dav_client *c);

#endif
