/* The multistatus answer of PROPFIND (RFC 4918 14.16) read with libxml2,
 * and the encoding of paths into URLs (docs/webdav.md). Elements are
 * matched on namespace URI + local name, never on a prefix. Limits: the
 * body's size, the depth of the element tree, the number of responses; a
 * document with a DTD is refused (no entity of any kind is expanded). */

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/hex.h"
#include "lib/mem.h"
#include "sources/webdav.h"

#define NS_DAV "DAV:"
#define NS_OC "http://owncloud.org/ns"
#define DAV_MAX_SEGMENTS 256

static void res_clear(struct dav_res *r)
{
	free(r->path);
	free(r->etag);
	free(r->ctype);
	free(r->fileid);
	free(r->checksums);
	free(r->permissions);
	free(r->props);
	memset(r, 0, sizeof(*r));
}

void dav_list_clear(struct dav_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		res_clear(&l->res[i]);
	free(l->res);
	memset(l, 0, sizeof(*l));
}

char *dav_unescape_segment(const char *s, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			uint8_t byte;

			if (i + 2 >= len || hex_decode(s + i + 1, 2, &byte, 1) < 0)
				goto bad;
			c = byte;
			i += 2;
		}
		if (c == 0 || c == '/')
			goto bad;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

char *dav_url(const char *base_url, const char *path, int collection)
{
	struct buf b;
	const char *p;

	buf_init(&b, 0);
	buf_add(&b, base_url, strlen(base_url));
	for (p = path; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/')
			buf_add_u8(&b, c);
		else
			buf_addf(&b, "%%%02X", c);
	}
	if (collection && path[0] != '\0')
		buf_add_u8(&b, '/');
	return (char *)buf_steal(&b, NULL);
}

/* The path of a URL or an absolute href: after "scheme://authority" if
 * any. *origin_len_r: the length of "scheme://authority" (0 if none). */
static const char *url_path(const char *u, size_t *origin_len_r)
{
	const char *p = strstr(u, "://");

	*origin_len_r = 0;
	if (p == NULL || u[0] == '/')
		return u;
	p = strchr(p + 3, '/');
	if (p == NULL)
		p = u + strlen(u);
	*origin_len_r = (size_t)(p - u);
	return p;
}

/* Splits a raw path ("/a%20b/c/") into decoded segments, dropping empty
 * ones (a "//" or the trailing '/'); "." and ".." refused. -1 if bad. */
static int split_path(const char *p, char **seg, size_t *n_r)
{
	size_t n = 0;
	const char *q;

	while (*p) {
		size_t len;

		if (*p == '/') {
			p++;
			continue;
		}
		if (*p == '?' || *p == '#')
			break;
		q = p + strcspn(p, "/?#");
		len = (size_t)(q - p);
		if (n == DAV_MAX_SEGMENTS)
			goto bad;
		seg[n] = dav_unescape_segment(p, len);
		if (seg[n] == NULL)
			goto bad;
		n++;
		if (strcmp(seg[n - 1], ".") == 0 || strcmp(seg[n - 1], "..") == 0)
			goto bad;
		if (*q == '?' || *q == '#')
			break;
		p = q;
	}
	*n_r = n;
	return 0;
bad:
	while (n > 0)
		free(seg[--n]);
	return -1;
}

static void free_segs(char **seg, size_t n)
{
	while (n > 0)
		free(seg[--n]);
}

/* The href relative to base_url, decoded, or NULL if it lies outside. */
static char *href_rel(const char *href, const char *base_url)
{
	char *hs[DAV_MAX_SEGMENTS], *bs[DAV_MAX_SEGMENTS];
	size_t hn = 0, bn = 0, ho, bo, i;
	const char *hp = url_path(href, &ho), *bp = url_path(base_url, &bo);
	struct buf out;
	char *r = NULL;

	if (ho != 0 && (ho != bo || strncasecmp(href, base_url, bo) != 0))
		return NULL;
	if (hp[0] != '/')
		return NULL;
	if (split_path(hp, hs, &hn) < 0)
		return NULL;
	if (split_path(bp, bs, &bn) < 0) {
		free_segs(hs, hn);
		return NULL;
	}
	if (hn < bn)
		goto out;
	for (i = 0; i < bn; i++)
		if (strcmp(hs[i], bs[i]) != 0)
			goto out;
	buf_init(&out, 0);
	buf_add(&out, "", 0);
	for (i = bn; i < hn; i++) {
		if (i > bn)
			buf_add_u8(&out, '/');
		buf_add(&out, hs[i], strlen(hs[i]));
	}
	r = (char *)buf_steal(&out, NULL);
out:
	free_segs(hs, hn);
	free_segs(bs, bn);
	return r;
}

static int is(const xmlNode *n, const char *ns, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
	       strcmp((const char *)n->ns->href, ns) == 0 &&
	       strcmp((const char *)n->name, name) == 0;
}

static char *text_of(const xmlNode *n)
{
	xmlChar *t = xmlNodeGetContent(n);
	char *s, *a, *b;

	if (t == NULL)
		return xstrdup("");
	a = (char *)t;
	while (*a && isspace((unsigned char)*a))
		a++;
	b = a + strlen(a);
	while (b > a && isspace((unsigned char)b[-1]))
		b--;
	s = xstrndup(a, (size_t)(b - a));
	xmlFree(t);
	return s;
}

static int depth_ok(const xmlNode *n, int depth)
{
	if (depth > DAV_XML_MAX_DEPTH)
		return 0;
	for (const xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !depth_ok(c, depth + 1))
			return 0;
	return 1;
}

/* Two digits at s, or -1. */
static int two_digits(const char *s)
{
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* "Mon, 07 Dec 2026 10:22:42 GMT" (RFC 9110 5.6.7, IMF-fixdate): read by
 * hand, not strptime(), whose locale-aware name matching was a tenth of
 * an unchanged backup's time. */
static int http_date(const char *s, int64_t *t_r)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm tm;
	const char *m;
	int yh, yl;

	if (strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
	    s[16] != ' ' || s[19] != ':' || s[22] != ':' || strcmp(s + 25, " GMT") != 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	m = strstr(months, (char[4]){ s[8], s[9], s[10], '\0' });
	yh = two_digits(s + 12);
	yl = two_digits(s + 14);
	tm.tm_mday = two_digits(s + 5);
	tm.tm_hour = two_digits(s + 17);
	tm.tm_min = two_digits(s + 20);
	tm.tm_sec = two_digits(s + 23);
	if (m == NULL || (m - months) % 3 != 0 || yh < 0 || yl < 0 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 ||
	    tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
		return -1;
	tm.tm_mon = (int)((m - months) / 3);
	tm.tm_year = yh * 100 + yl - 1900;
	*t_r = (int64_t)timegm(&tm);
	return 0;
}

/* "HTTP/1.1 200 OK" -> 200. */
static int status_code(const xmlNode *propstat)
{
	for (const xmlNode *c = propstat->children; c; c = c->next) {
		if (is(c, NS_DAV, "status")) {
			char *t = text_of(c);
			const char *sp = strchr(t, ' ');
			int code = 0;

			if (sp && isdigit((unsigned char)sp[1]) && isdigit((unsigned char)sp[2]) &&
			    isdigit((unsigned char)sp[3]))
				code = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
			free(t);
			return code;
		}
	}
	return 0;
}

/* ---- dead properties ----
 * Properties a client set (PROPPATCH) are kept as one XML text, a
 * <D:prop xmlns:D="DAV:"> holding copies of them with their namespaces
 * declared, so it reads on its own: stored with the entry, compared with
 * what the server has at restore, and sent back in a PROPPATCH. */

/* Namespaces whose properties the server computes or owns. */
static const char *const SERVER_NS[] = {
	"http://owncloud.org/ns", "http://nextcloud.org/ns", "http://apache.org/dav/props/",
	"http://sabredav.org/ns", "http://open-collaboration-services.org/ns", NULL,
};

/* Whether p is a live property (the server's own), not to be kept. In
 * DAV: only displayname and getcontentlanguage are set by clients. */
static int server_prop(const xmlNode *p)
{
	const char *ns = (const char *)p->ns->href, *name = (const char *)p->name;

	if (strcmp(ns, NS_DAV) == 0)
		return strcmp(name, "displayname") != 0 && strcmp(name, "getcontentlanguage") != 0;
	for (size_t i = 0; SERVER_NS[i]; i++)
		if (strcmp(ns, SERVER_NS[i]) == 0)
			return 1;
	return 0;
}

/* The dead properties of one response, gathered into a document. */
struct props {
	xmlDoc *doc;
	xmlNode *root;
};

static xmlNode *prop_root(xmlDoc **doc_r)
{
	xmlDoc *doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNode *root = xmlNewDocNode(doc, NULL, (const xmlChar *)"prop", NULL);
	xmlNs *ns = xmlNewNs(root, (const xmlChar *)NS_DAV, (const xmlChar *)"D");

	xmlSetNs(root, ns);
	xmlDocSetRootElement(doc, root);
	*doc_r = doc;
	return root;
}

/* The element of the same name as n among the children of list, or NULL. */
static const xmlNode *same_name(const xmlNode *list, const xmlNode *n)
{
	for (; list; list = list->next)
		if (list->type == XML_ELEMENT_NODE && list->ns && n->ns &&
		    strcmp((const char *)list->ns->href, (const char *)n->ns->href) == 0 &&
		    strcmp((const char *)list->name, (const char *)n->name) == 0)
			return list;
	return NULL;
}

/* Adds a copy of p; a property listed twice is kept once, the first. */
static void props_add(struct props *dp, const xmlNode *p)
{
	xmlNode *copy;

	if (dp->doc == NULL)
		dp->root = prop_root(&dp->doc);
	if (same_name(dp->root->children, p))
		return;
	/* A deep copy declares the namespaces it uses on itself. */
	copy = xmlDocCopyNode((xmlNode *)(uintptr_t)p, dp->doc, 1);
	if (copy)
		xmlAddChild(dp->root, copy);
}

static char *node_text(xmlDoc *doc, xmlNode *n, size_t *len_r)
{
	xmlBuffer *b = xmlBufferCreate();
	char *s = NULL;

	if (b && xmlNodeDump(b, doc, n, 0, 0) >= 0) {
		*len_r = (size_t)xmlBufferLength(b);
		s = xstrndup((const char *)xmlBufferContent(b), *len_r);
	}
	xmlBufferFree(b);
	return s;
}

/* Hands the gathered properties to r as text (or none, past the limit). */
static void props_end(struct props *dp, struct dav_res *r)
{
	size_t len = 0;

	if (dp->doc == NULL)
		return;
	if (dp->root->children) {
		r->props = node_text(dp->doc, dp->root, &len);
		if (r->props && len > DAV_PROPS_MAX_BYTES) {
			free(r->props);
			r->props = NULL;
			r->props_dropped = 1;
		}
	}
	xmlFreeDoc(dp->doc);
	memset(dp, 0, sizeof(*dp));
}

static void read_prop(struct dav_res *r, struct props *dp, const xmlNode *p)
{
	char *t, *end;

	if (p->type == XML_ELEMENT_NODE && p->ns && p->ns->href && !server_prop(p)) {
		props_add(dp, p);
		return;
	}
	if (is(p, NS_DAV, "resourcetype")) {
		for (const xmlNode *c = p->children; c; c = c->next)
			if (is(c, NS_DAV, "collection"))
				r->collection = 1;
		return;
	}
	if (p->type != XML_ELEMENT_NODE || p->ns == NULL)
		return;
	t = text_of(p);
	if (is(p, NS_DAV, "getetag") && t[0] && r->etag == NULL) {
		r->etag = t;
		return;
	}
	if (is(p, NS_DAV, "getcontenttype") && t[0] && r->ctype == NULL) {
		r->ctype = t;
		return;
	}
	if (is(p, NS_DAV, "getcontentlength") && isdigit((unsigned char)t[0])) {
		unsigned long long v = strtoull(t, &end, 10);

		if (*end == '\0') {
			r->size = v;
			r->has_size = 1;
		}
	} else if (is(p, NS_DAV, "getlastmodified")) {
		if (http_date(t, &r->mtime_s) == 0)
			r->has_mtime = 1;
	} else if (is(p, NS_OC, "fileid") && t[0] && r->fileid == NULL) {
		r->fileid = t;
		return;
	} else if (is(p, NS_OC, "permissions") && t[0] && r->permissions == NULL) {
		r->permissions = t;
		return;
	} else if (is(p, NS_OC, "checksums") && r->checksums == NULL) {
		/* <oc:checksums><oc:checksum>SHA1:… MD5:…</oc:checksum></oc:checksums> */
		if (t[0]) {
			r->checksums = t;
			return;
		}
	}
	free(t);
}

int dav_multistatus_parse(const char *data, size_t len, const char *base_url, const char *what,
			  struct dav_list *l, struct error *err)
{
	xmlDoc *doc;
	xmlNode *root;
	size_t count = 0;

	memset(l, 0, sizeof(*l));
	if (len > DAV_XML_MAX_BYTES)
		return error_setk(err, ERROR_CORRUPT, "%s: the PROPFIND answer passes %u bytes",
				  what, DAV_XML_MAX_BYTES);
	if (len > (size_t)INT32_MAX)
		return error_setk(err, ERROR_CORRUPT, "%s: the PROPFIND answer is too big", what);
	doc = xmlReadMemory(data, (int)len, NULL, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
				    XML_PARSE_NOCDATA);
	if (doc == NULL)
		return error_setk(err, ERROR_CORRUPT, "%s: the PROPFIND answer is not XML", what);
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		xmlFreeDoc(doc);
		return error_setk(err, ERROR_CORRUPT, "%s: the PROPFIND answer has a DTD", what);
	}
	root = xmlDocGetRootElement(doc);
	if (root == NULL || !is(root, NS_DAV, "multistatus")) {
		xmlFreeDoc(doc);
		return error_setk(err, ERROR_CORRUPT, "%s: the PROPFIND answer is not a DAV:multistatus",
				  what);
	}
	if (!depth_ok(root, 1)) {
		xmlFreeDoc(doc);
		return error_setk(err, ERROR_CORRUPT, "%s: the PROPFIND answer nests deeper than %d",
				  what, DAV_XML_MAX_DEPTH);
	}
	for (xmlNode *resp = root->children; resp; resp = resp->next) {
		struct dav_res r;
		struct props dp = { 0 };
		char *href = NULL;
		int ok = 0;

		if (!is(resp, NS_DAV, "response"))
			continue;
		if (++count > DAV_XML_MAX_RESPONSES) {
			error_setk(err, ERROR_CORRUPT, "%s: the PROPFIND answer has more than %d responses",
				   what, DAV_XML_MAX_RESPONSES);
			goto fail;
		}
		memset(&r, 0, sizeof(r));
		for (xmlNode *c = resp->children; c; c = c->next) {
			if (is(c, NS_DAV, "href") && href == NULL)
				href = text_of(c);
			else if (is(c, NS_DAV, "propstat")) {
				int code = status_code(c);

				if (code < 200 || code > 299)
					continue;
				ok = 1;
				for (xmlNode *pr = c->children; pr; pr = pr->next)
					if (is(pr, NS_DAV, "prop"))
						for (xmlNode *p = pr->children; p; p = p->next)
							read_prop(&r, &dp, p);
			}
		}
		props_end(&dp, &r);
		if (href == NULL) {
			error_setk(err, ERROR_CORRUPT, "%s: a response without an href", what);
			goto fail_r;
		}
		r.path = href_rel(href, base_url);
		if (r.path == NULL) {
			error_setk(err, ERROR_CORRUPT, "%s: href %.200s lies outside %s", what, href,
				   base_url);
			goto fail_r;
		}
		free(href);
		href = NULL;
		if (!ok) {
			/* No property found (a 404 response): not a resource we can read. */
			res_clear(&r);
			continue;
		}
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 16;
			l->res = xrealloc(l->res, xmul(l->cap, sizeof(*l->res)));
		}
		l->res[l->n++] = r;
		continue;
fail_r:
		free(href);
		res_clear(&r);
		goto fail;
	}
	xmlFreeDoc(doc);
	return 0;
fail:
	xmlFreeDoc(doc);
	dav_list_clear(l);
	return -1;
}

/* ---- comparing and patching dead properties ---- */

/* A property in a form that does not depend on prefixes:
 * <{ns}name {ns}attr="v">children</>. */
static void canon(struct buf *b, const xmlNode *n);

static void canon_children(struct buf *b, const xmlNode *n)
{
	for (; n; n = n->next) {
		if (n->type == XML_TEXT_NODE && n->content)
			buf_add(b, n->content, strlen((const char *)n->content));
		else if (n->type == XML_ELEMENT_NODE)
			canon(b, n);
	}
}

static void canon(struct buf *b, const xmlNode *n)
{
	buf_addf(b, "<{%s}%s", n->ns && n->ns->href ? (const char *)n->ns->href : "",
		 (const char *)n->name);
	for (const xmlAttr *a = n->properties; a; a = a->next) {
		xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);

		buf_addf(b, " {%s}%s=\"%s\"", a->ns && a->ns->href ? (const char *)a->ns->href : "",
			 (const char *)a->name, v ? (const char *)v : "");
		xmlFree(v);
	}
	buf_add_u8(b, '>');
	canon_children(b, n->children);
	buf_add(b, "</>", 3);
}

static char *canon_of(const xmlNode *n)
{
	struct buf b;

	buf_init(&b, 0);
	canon(&b, n);
	buf_add_u8(&b, '\0');
	return (char *)buf_steal(&b, NULL);
}

static xmlDoc *props_read(const char *text, const char *what, struct error *err)
{
	xmlDoc *doc;
	xmlNode *root;

	if (text == NULL)
		return NULL;
	doc = xmlReadMemory(text, (int)strnlen(text, DAV_PROPS_MAX_BYTES + 1), NULL, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (root == NULL || doc->intSubset || !is(root, NS_DAV, "prop") || !depth_ok(root, 1)) {
		xmlFreeDoc(doc);
		error_setk(err, ERROR_CORRUPT, "%s: the stored properties are not a DAV:prop", what);
		return NULL;
	}
	return doc;
}

static int same_prop(const xmlNode *a, const xmlNode *b)
{
	char *ca = canon_of(a), *cb = canon_of(b);
	int same = strcmp(ca, cb) == 0;

	free(ca);
	free(cb);
	return same;
}

/* Adds to parent an empty element named as n (for a <D:remove>). */
static void add_empty(xmlDoc *doc, xmlNode *parent, const xmlNode *n)
{
	xmlNode *e = xmlNewDocNode(doc, NULL, n->name, NULL);
	xmlNs *ns = xmlNewNs(e, n->ns->href, (const xmlChar *)"Z");

	xmlSetNs(e, ns);
	xmlAddChild(parent, e);
}

static xmlNode *update_part(xmlNode *root, const char *verb)
{
	xmlNode *part = xmlNewChild(root, root->ns, (const xmlChar *)verb, NULL);

	return xmlNewChild(part, root->ns, (const xmlChar *)"prop", NULL);
}

int dav_props_patch(const char *want, const char *have, const char *what, char **body_r,
		    struct error *err)
{
	xmlDoc *wd = NULL, *hd = NULL, *out = NULL;
	xmlNode *w = NULL, *h = NULL, *root = NULL, *set = NULL, *rm = NULL;
	xmlChar *mem = NULL;
	int len = 0;

	*body_r = NULL;
	if (want && (wd = props_read(want, what, err)) == NULL)
		return -1;
	if (have && (hd = props_read(have, what, err)) == NULL) {
		xmlFreeDoc(wd);
		return -1;
	}
	w = wd ? xmlDocGetRootElement(wd)->children : NULL;
	h = hd ? xmlDocGetRootElement(hd)->children : NULL;
	root = prop_root(&out);
	xmlNodeSetName(root, (const xmlChar *)"propertyupdate");
	for (const xmlNode *n = w; n; n = n->next) {
		const xmlNode *o;

		if (n->type != XML_ELEMENT_NODE || n->ns == NULL || same_name(w, n) != n)
			continue; /* a name twice in a stored text: the first counts */
		o = same_name(h, n);
		if (o && same_prop(n, o))
			continue;
		if (set == NULL)
			set = update_part(root, "set");
		xmlAddChild(set, xmlDocCopyNode((xmlNode *)(uintptr_t)n, out, 1));
	}
	for (const xmlNode *n = h; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE || n->ns == NULL || same_name(w, n))
			continue;
		if (rm == NULL)
			rm = update_part(root, "remove");
		add_empty(out, rm, n);
	}
	if (set || rm) {
		xmlDocDumpMemoryEnc(out, &mem, &len, "UTF-8");
		*body_r = mem ? xstrndup((const char *)mem, (size_t)len) : NULL;
		xmlFree(mem);
	}
	xmlFreeDoc(out);
	xmlFreeDoc(wd);
	xmlFreeDoc(hd);
	return 0;
}

/* Names the properties of a failed propstat into b ("{ns}name ..."). */
static void failed_names(struct buf *b, const xmlNode *propstat, int code)
{
	for (const xmlNode *c = propstat->children; c; c = c->next) {
		if (!is(c, NS_DAV, "prop"))
			continue;
		for (const xmlNode *p = c->children; p && b->len < 400; p = p->next)
			if (p->type == XML_ELEMENT_NODE)
				buf_addf(b, "%s{%s}%s", b->len ? ", " : "",
					 p->ns && p->ns->href ? (const char *)p->ns->href : "",
					 (const char *)p->name);
	}
	buf_addf(b, " (%d)", code);
}

int dav_patch_result(const char *data, size_t len, const char *what, struct error *err)
{
	xmlDoc *doc;
	xmlNode *root;
	struct buf b;
	int ret = 0;

	if (len > DAV_XML_MAX_BYTES)
		return error_setk(err, ERROR_CORRUPT, "%s: the PROPPATCH answer is too big", what);
	doc = xmlReadMemory(data, (int)len, NULL, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (root == NULL || doc->intSubset || !is(root, NS_DAV, "multistatus") ||
	    !depth_ok(root, 1)) {
		xmlFreeDoc(doc);
		return error_setk(err, ERROR_CORRUPT, "%s: the PROPPATCH answer is not a "
				  "DAV:multistatus", what);
	}
	buf_init(&b, 0);
	/* 424 Failed Dependency: not set because another one failed. */
	for (int pass = 0; pass < 2 && b.len == 0; pass++)
		for (xmlNode *r = root->children; r; r = r->next)
			for (xmlNode *ps = is(r, NS_DAV, "response") ? r->children : NULL; ps;
			     ps = ps->next) {
				int code = is(ps, NS_DAV, "propstat") ? status_code(ps) : 200;

				if ((code < 200 || code > 299) && (pass == 1 || code != 424))
					failed_names(&b, ps, code);
			}
	if (b.len > 0) {
		buf_add_u8(&b, '\0');
		ret = error_set(err, "%s: the server refused the properties %s", what,
				(const char *)b.data);
	}
	buf_clear(&b);
	xmlFreeDoc(doc);
	return ret;
}
