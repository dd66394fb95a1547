/* The S3 protocol's pure parts (s3proto.h): store specs, SigV4's canonical
 * encoding, and a strict reader for the little XML S3 answers with. */
#include "s3proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/error.h"
#include "lib/mem.h"

#define XML_DEPTH_MAX 8
#define XML_NAME_MAX 64
#define XML_TEXT_MAX 4096 /* keys are at most 1024 bytes; tokens are short */
#define BUCKET_MIN 3
#define BUCKET_MAX 63

/* --- store specs ----------------------------------------------------------- */

int s3proto_is_url(const char *spec)
{
	size_t n = strspn(spec, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");

	return n > 0 && strncmp(spec + n, "://", 3) == 0;
}

void s3proto_spec_clear(struct s3proto_spec *sp)
{
	free(sp->host);
	free(sp->bucket);
	free(sp->prefix);
	free(sp->credentials);
	free(sp->delete_credentials);
	free(sp->region);
	free(sp->ca_file);
	memset(sp, 0, sizeof(*sp));
}

char *s3proto_spec_identity(const char *spec)
{
	const char *q = s3proto_is_url(spec) ? strchr(spec, '?') : NULL;

	return q ? xstrndup(spec, (size_t)(q - spec)) : xstrdup(spec);
}

static int spec_bucket_ok(const char *b, size_t n)
{
	size_t i;

	if (n < BUCKET_MIN || n > BUCKET_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '-' ||
		      b[i] == '.'))
			return 0;
	return b[0] != '-' && b[0] != '.' && b[n - 1] != '-' && b[n - 1] != '.';
}

/* HOST or HOST:PORT (also [v6]:PORT); no user info: credentials never go
 * into a spec, which ends up in logs and process listings. */
static int spec_host_ok(const char *h, size_t n)
{
	const char *colon = NULL;
	size_t i;
	long port = 0;

	if (n == 0 || n > 255)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = h[i];

		if (ch == ':' && (h[0] != '[' || (i > 0 && h[i - 1] == ']')))
			colon = h + i;
		else if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			   (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '[' || ch == ']' ||
			   ch == ':'))
			return 0;
	}
	if (colon == NULL)
		return 1;
	if (colon == h || colon + 1 == h + n || (size_t)(h + n - colon - 1) > 5)
		return 0;
	for (i = (size_t)(colon - h) + 1; i < n; i++) {
		if (h[i] < '0' || h[i] > '9')
			return 0;
		port = port * 10 + (h[i] - '0');
	}
	return port >= 1 && port <= 65535;
}

static int spec_prefix_ok(const char *p, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i <= n; i++) {
		if (i < n && ((unsigned char)p[i] < 0x20 || p[i] == 0x7f || p[i] == '?' ||
			      p[i] == '#' || p[i] == '\\'))
			return 0;
		if (i == n || p[i] == '/') {
			size_t len = i - start;

			if (len == 0 || (len == 1 && p[start] == '.') ||
			    (len == 2 && p[start] == '.' && p[start + 1] == '.'))
				return 0;
			start = i + 1;
		}
	}
	return n <= 512;
}

static int spec_hex(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* [p, p+n) with %XX decoded, or NULL for a bad escape, a control
 * character or an empty value. */
static char *spec_value(const char *p, size_t n)
{
	struct buf b;
	size_t i;

	if (n == 0)
		return NULL;
	buf_init(&b, 0);
	for (i = 0; i < n; i++) {
		int ch = (unsigned char)p[i];

		if (ch == '%') {
			int hi = i + 2 < n ? spec_hex(p[i + 1]) : -1;
			int lo = i + 2 < n ? spec_hex(p[i + 2]) : -1;

			if (hi < 0 || lo < 0) {
				buf_clear(&b);
				return NULL;
			}
			ch = hi * 16 + lo;
			i += 2;
		}
		if (ch < 0x20 || ch == 0x7f) {
			buf_clear(&b);
			return NULL;
		}
		buf_add_u8(&b, (uint8_t)ch);
	}
	buf_add(&b, "", 1);
	return (char *)buf_steal(&b, NULL);
}

/* The settings after '?': "name=value&name=value". */
static int spec_settings(const char *spec, const char *q, struct s3proto_spec *sp,
			 struct error *err)
{
	static const char *const names[] = { "credentials", "delete-credentials", "region",
					     "ca-file", "addressing" };
	char **slots[] = { &sp->credentials, &sp->delete_credentials, &sp->region, &sp->ca_file,
			   NULL };
	char *addressing = NULL;

	slots[4] = &addressing;
	while (*q) {
		size_t n = strcspn(q, "&"), kn;
		const char *eq = memchr(q, '=', n);
		size_t k;

		kn = eq ? (size_t)(eq - q) : n;
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (strlen(names[k]) == kn && memcmp(names[k], q, kn) == 0)
				break;
		if (k == sizeof(names) / sizeof(names[0])) {
			free(addressing);
			return error_setk(err, ERROR_USAGE, "store \"%s\": unknown setting \"%.*s\" "
					  "(known: credentials, delete-credentials, region, ca-file, "
					  "addressing; docs/s3.md)", spec, (int)(kn > 64 ? 64 : kn), q);
		}
		if (*slots[k] != NULL) {
			free(addressing);
			return error_setk(err, ERROR_USAGE, "store \"%s\": setting %s given twice", spec,
					  names[k]);
		}
		if (eq == NULL || (*slots[k] = spec_value(eq + 1, n - kn - 1)) == NULL) {
			free(addressing);
			return error_setk(err, ERROR_USAGE, "store \"%s\": setting %s wants a value "
					  "(%%XX escapes allowed, no control characters)", spec,
					  names[k]);
		}
		q += n;
		if (*q == '&')
			q++;
	}
	if (addressing != NULL) {
		if (strcmp(addressing, "path") == 0)
			sp->addressing = S3PROTO_ADDR_PATH;
		else if (strcmp(addressing, "virtual") == 0)
			sp->addressing = S3PROTO_ADDR_VIRTUAL;
		free(addressing);
		if (sp->addressing == S3PROTO_ADDR_DEFAULT)
			return error_setk(err, ERROR_USAGE, "store \"%s\": addressing is path or "
					  "virtual", spec);
	}
	if (sp->region && (strspn(sp->region, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
			   strlen(sp->region) || strlen(sp->region) > 64))
		return error_setk(err, ERROR_USAGE, "store \"%s\": region \"%.64s\" is not a "
				  "region name", spec, sp->region);
	return 0;
}

int s3proto_spec_parse(const char *spec, struct s3proto_spec *sp, struct error *err)
{
	const char *rest, *slash, *bucket, *end, *q;
	size_t n, len;

	memset(sp, 0, sizeof(*sp));
	if (strncmp(spec, "s3://", 5) == 0) {
		sp->tls = 1;
		rest = spec + 5;
	} else if (strncmp(spec, "s3+http://", 10) == 0) {
		rest = spec + 10;
	} else {
		n = strcspn(spec, ":");
		return error_setk(err, ERROR_USAGE, "store \"%s\": unknown scheme \"%.*s://\"; coffer "
				  "knows s3://HOST[:PORT]/BUCKET[/PREFIX], s3+http:// (no TLS) and "
				  "local folders", spec, (int)(n > 32 ? 32 : n), spec);
	}
	q = strchr(rest, '?');
	len = q ? (size_t)(q - rest) : strlen(rest);
	slash = memchr(rest, '/', len);
	if (slash == NULL || !spec_host_ok(rest, (size_t)(slash - rest)))
		return error_setk(err, ERROR_USAGE, "store \"%s\": want s3://HOST[:PORT]/BUCKET[/PREFIX] "
				  "(a host name or address, an optional port; no user or password: "
				  "credentials come from the environment, docs/s3.md)", spec);
	bucket = slash + 1;
	end = memchr(bucket, '/', (size_t)(rest + len - bucket));
	n = end ? (size_t)(end - bucket) : (size_t)(rest + len - bucket);
	if (!spec_bucket_ok(bucket, n))
		return error_setk(err, ERROR_USAGE, "store \"%s\": bad bucket name \"%.*s\" (3 to 63 "
				  "of a-z 0-9 . -, starting and ending with a letter or digit)", spec,
				  (int)(n > 64 ? 64 : n), bucket);
	sp->host = xstrndup(rest, (size_t)(slash - rest));
	sp->bucket = xstrndup(bucket, n);
	n = end ? (size_t)(rest + len - end - 1) : 0;
	rest = end ? end + 1 : bucket + n;
	while (n > 0 && rest[n - 1] == '/')
		n--;
	if (n > 0 && !spec_prefix_ok(rest, n)) {
		s3proto_spec_clear(sp);
		return error_setk(err, ERROR_USAGE, "store \"%s\": bad prefix (no empty, \".\" or "
				  "\"..\" parts, no control characters, ?, # or \\)", spec);
	}
	sp->prefix = n > 0 ? xasprintf("%.*s/", (int)n, rest) : xstrdup("");
	if (q != NULL && spec_settings(spec, q + 1, sp, err) < 0) {
		s3proto_spec_clear(sp);
		return -1;
	}
	return 0;
}

/* --- the recommended bucket policy ------------------------------------------- */

static int policy_arn_ok(const char *arn)
{
	size_t n = strlen(arn);

	return n > 13 && n <= 512 && strncmp(arn, "arn:aws:iam::", 13) == 0 &&
	       strspn(arn, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			   ":/_+=,.@-") == n;
}

char *s3proto_policy(const char *bucket, const char *backup_arn, const char *delete_arn,
		     struct error *err)
{
	struct buf b;

	if (!spec_bucket_ok(bucket, strlen(bucket))) {
		error_setk(err, ERROR_USAGE, "bad bucket name \"%.64s\"", bucket);
		return NULL;
	}
	if (!policy_arn_ok(backup_arn) || !policy_arn_ok(delete_arn) ||
	    strcmp(backup_arn, delete_arn) == 0) {
		error_setk(err, ERROR_USAGE, "want two different IAM user ARNs "
			   "(arn:aws:iam::ACCOUNT:user/NAME; radosgw: arn:aws:iam:::user/NAME)");
		return NULL;
	}
	buf_init(&b, 0);
	buf_addf(&b,
		 "{\n"
		 "  \"Version\": \"2012-10-17\",\n"
		 "  \"Statement\": [\n"
		 "    {\n"
		 "      \"Sid\": \"CofferBackupReadWrite\",\n"
		 "      \"Effect\": \"Allow\",\n"
		 "      \"Principal\": {\"AWS\": [\"%s\"]},\n"
		 "      \"Action\": [\"s3:GetObject\", \"s3:GetObjectVersion\", \"s3:PutObject\",\n"
		 "                 \"s3:ListBucket\", \"s3:ListBucketVersions\",\n"
		 "                 \"s3:GetObjectRetention\", \"s3:PutObjectRetention\",\n"
		 "                 \"s3:GetObjectLegalHold\", \"s3:GetBucketObjectLockConfiguration\",\n"
		 "                 \"s3:GetBucketLocation\"],\n"
		 "      \"Resource\": [\"arn:aws:s3:::%s\", \"arn:aws:s3:::%s/*\"]\n"
		 "    },\n"
		 "    {\n"
		 "      \"Sid\": \"CofferBackupNeverDeletes\",\n"
		 "      \"Effect\": \"Deny\",\n"
		 "      \"Principal\": {\"AWS\": [\"%s\"]},\n"
		 "      \"Action\": [\"s3:DeleteObject\", \"s3:DeleteObjectVersion\",\n"
		 "                 \"s3:PutObjectLegalHold\", \"s3:BypassGovernanceRetention\",\n"
		 "                 \"s3:PutBucketPolicy\", \"s3:DeleteBucketPolicy\",\n"
		 "                 \"s3:PutBucketVersioning\", \"s3:PutBucketObjectLockConfiguration\",\n"
		 "                 \"s3:PutLifecycleConfiguration\", \"s3:PutBucketAcl\",\n"
		 "                 \"s3:PutObjectAcl\", \"s3:DeleteBucket\"],\n"
		 "      \"Resource\": [\"arn:aws:s3:::%s\", \"arn:aws:s3:::%s/*\"]\n"
		 "    },\n"
		 "    {\n"
		 "      \"Sid\": \"CofferDeleter\",\n"
		 "      \"Effect\": \"Allow\",\n"
		 "      \"Principal\": {\"AWS\": [\"%s\"]},\n"
		 "      \"Action\": [\"s3:DeleteObject\", \"s3:DeleteObjectVersion\",\n"
		 "                 \"s3:PutObjectLegalHold\", \"s3:GetObjectLegalHold\"],\n"
		 "      \"Resource\": [\"arn:aws:s3:::%s/*\"]\n"
		 "    }\n"
		 "  ]\n"
		 "}\n",
		 backup_arn, bucket, bucket, backup_arn, bucket, bucket, delete_arn, bucket);
	buf_add(&b, "", 1);
	return (char *)buf_steal(&b, NULL);
}

/* --- canonical encoding ---------------------------------------------------- */

void s3proto_uri_encode(struct buf *out, const char *s, size_t len, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~' || (keep_slash && ch == '/')) {
			buf_add_u8(out, ch);
		} else {
			char esc[3] = { '%', hex[ch >> 4], hex[ch & 15] };

			buf_add(out, esc, 3);
		}
	}
}

struct query_pair {
	char *name;
	char *value;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct query_pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

char *s3proto_query(const char *const *names, const char *const *values, size_t n)
{
	struct query_pair *pairs = xcalloc(n ? n : 1, sizeof(*pairs));
	struct buf b, q;
	size_t i, m = 0;

	for (i = 0; i < n; i++) {
		if (values[i] == NULL)
			continue;
		buf_init(&b, 0);
		s3proto_uri_encode(&b, names[i], strlen(names[i]), 0);
		buf_add(&b, "", 1);
		pairs[m].name = (char *)buf_steal(&b, NULL);
		buf_init(&b, 0);
		s3proto_uri_encode(&b, values[i], strlen(values[i]), 0);
		buf_add(&b, "", 1);
		pairs[m++].value = (char *)buf_steal(&b, NULL);
	}
	qsort(pairs, m, sizeof(*pairs), pair_cmp);
	buf_init(&q, 0);
	for (i = 0; i < m; i++) {
		buf_addf(&q, "%s%s=%s", i ? "&" : "", pairs[i].name, pairs[i].value);
		free(pairs[i].name);
		free(pairs[i].value);
	}
	free(pairs);
	buf_add(&q, "", 1);
	return (char *)buf_steal(&q, NULL);
}

/* --- the XML reader -------------------------------------------------------- */

/* Called with the text of an element: path is the element names from the
 * root joined with '/', text is decoded and NUL-terminated. -1 stops. */
typedef int xml_text_cb(void *ctx, const char *path, const char *text, size_t len);

static int xml_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '-' || ch == '.' || ch == ':';
}

static int xml_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

static void xml_put_utf8(struct buf *out, uint32_t cp)
{
	if (cp < 0x80) {
		buf_add_u8(out, (uint8_t)cp);
	} else if (cp < 0x800) {
		buf_add_u8(out, (uint8_t)(0xc0 | cp >> 6));
		buf_add_u8(out, (uint8_t)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_add_u8(out, (uint8_t)(0xe0 | cp >> 12));
		buf_add_u8(out, (uint8_t)(0x80 | ((cp >> 6) & 0x3f)));
		buf_add_u8(out, (uint8_t)(0x80 | (cp & 0x3f)));
	} else {
		buf_add_u8(out, (uint8_t)(0xf0 | cp >> 18));
		buf_add_u8(out, (uint8_t)(0x80 | ((cp >> 12) & 0x3f)));
		buf_add_u8(out, (uint8_t)(0x80 | ((cp >> 6) & 0x3f)));
		buf_add_u8(out, (uint8_t)(0x80 | (cp & 0x3f)));
	}
}

/* Decodes the text [p, p+n) into out: the five named entities and
 * character references; -1 for anything else after '&'. */
static int xml_decode(const char *p, size_t n, struct buf *out)
{
	static const struct { const char *name; char ch; } named[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' }, { "apos;", '\'' },
	};
	size_t i = 0, k;

	buf_reset(out);
	while (i < n) {
		if (p[i] != '&') {
			buf_add_u8(out, (uint8_t)p[i++]);
			continue;
		}
		i++;
		for (k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
			size_t len = strlen(named[k].name);

			if (n - i >= len && memcmp(p + i, named[k].name, len) == 0) {
				buf_add_u8(out, (uint8_t)named[k].ch);
				i += len;
				break;
			}
		}
		if (k < sizeof(named) / sizeof(named[0]))
			continue;
		if (i < n && p[i] == '#') {
			int base = 10, digits = 0;
			uint32_t cp = 0;

			i++;
			if (i < n && p[i] == 'x') {
				base = 16;
				i++;
			}
			for (; i < n && p[i] != ';' && digits < 7; i++, digits++) {
				char ch = p[i];
				int d = ch >= '0' && ch <= '9' ? ch - '0' :
					base == 16 && ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 :
					base == 16 && ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;

				if (d < 0)
					return -1;
				cp = cp * (uint32_t)base + (uint32_t)d;
			}
			if (i >= n || p[i] != ';' || digits == 0 || cp == 0 || cp > 0x10ffff ||
			    (cp >= 0xd800 && cp <= 0xdfff))
				return -1;
			i++;
			xml_put_utf8(out, cp);
			continue;
		}
		return -1;
	}
	buf_add(out, "", 1);
	out->len--;
	return 0;
}

/* Walks a document whose root element is `root`: a prolog of "<?...?>"
 * and white space, then one element tree of tags, attributes and text.
 * Comments, DOCTYPE and CDATA are refused (S3 sends none). 0, or -1 if
 * malformed or cb stopped. */
static int xml_walk(const char *xml, size_t len, const char *root, xml_text_cb *cb, void *ctx)
{
	const char *p = xml, *end;
	size_t stack[XML_DEPTH_MAX], depth = 0;
	char path[XML_DEPTH_MAX * (XML_NAME_MAX + 1) + 1];
	size_t plen = 0;
	int done = 0, ret = -1;
	struct buf text;

	/* No body at all (an empty buffer may have no memory): no document. */
	if (xml == NULL || len == 0)
		return -1;
	end = xml + len;
	buf_init(&text, XML_TEXT_MAX + 8);
	path[0] = '\0';
	while (p < end) {
		const char *lt = memchr(p, '<', (size_t)(end - p));
		const char *stop = lt ? lt : end;

		if (stop > p) {
			if (depth == 0) {
				for (; p < stop; p++)
					if (!xml_space(*p))
						goto out;
			} else {
				if ((size_t)(stop - p) > XML_TEXT_MAX || memchr(p, '>', (size_t)(stop - p)) ||
				    xml_decode(p, (size_t)(stop - p), &text) < 0 ||
				    cb(ctx, path, (const char *)text.data, text.len) < 0)
					goto out;
				p = stop;
			}
		}
		if (lt == NULL)
			break;
		p = lt + 1;
		if (p < end && *p == '?') {
			const char *q;

			if (depth > 0 || done)
				goto out;
			for (q = p + 1; q + 1 < end && !(q[0] == '?' && q[1] == '>'); q++)
				;
			if (q + 1 >= end)
				goto out;
			p = q + 2;
		} else if (p < end && *p == '/') {
			const char *name = ++p;
			size_t n, top;

			while (p < end && xml_name_char(*p))
				p++;
			n = (size_t)(p - name);
			while (p < end && xml_space(*p))
				p++;
			if (depth == 0 || p >= end || *p != '>')
				goto out;
			top = depth > 1 ? stack[depth - 2] + 1 : 0;
			if (plen - top != n || memcmp(path + top, name, n) != 0)
				goto out;
			p++;
			depth--;
			plen = depth > 0 ? stack[depth - 1] : 0;
			path[plen] = '\0';
			if (depth == 0)
				done = 1;
		} else {
			const char *name = p;
			size_t n;
			int self_close = 0;
			char quote = 0;

			while (p < end && xml_name_char(*p))
				p++;
			n = (size_t)(p - name);
			if (n == 0 || n > XML_NAME_MAX || depth == XML_DEPTH_MAX || done ||
			    (p < end && !xml_space(*p) && *p != '>' && *p != '/'))
				goto out;
			/* Attributes (xmlns) are skipped, quotes respected. */
			for (; p < end; p++) {
				if (quote) {
					if (*p == quote)
						quote = 0;
					else if (*p == '<')
						goto out;
				} else if (*p == '"' || *p == '\'') {
					quote = *p;
				} else if (*p == '>') {
					break;
				} else if (*p == '<') {
					goto out;
				}
			}
			if (p >= end)
				goto out;
			self_close = p[-1] == '/' && !quote;
			p++;
			if (depth == 0 && (n != strlen(root) || memcmp(name, root, n) != 0))
				goto out;
			if (depth > 0)
				path[plen++] = '/';
			memcpy(path + plen, name, n);
			plen += n;
			path[plen] = '\0';
			stack[depth++] = plen;
			if (self_close) {
				depth--;
				plen = depth > 0 ? stack[depth - 1] : 0;
				path[plen] = '\0';
				if (depth == 0)
					done = 1;
			}
		}
	}
	ret = done && depth == 0 ? 0 : -1;
out:
	buf_clear(&text);
	return ret;
}

/* --- ListObjectsV2 --------------------------------------------------------- */

struct list_parse {
	struct s3proto_list *l;
	const char *prefix;
	size_t prefix_len;
	int bad; /* a name outside the prefix */
};

static void list_add(struct s3proto_list *l, const char *name, size_t n)
{
	l->names = xrealloc(l->names, xmul(l->n + 1, sizeof(char *)));
	l->names[l->n++] = xstrndup(name, n);
}

static int list_text(void *ctx, const char *path, const char *text, size_t len)
{
	struct list_parse *lp = ctx;
	int is_prefix = strcmp(path, "ListBucketResult/CommonPrefixes/Prefix") == 0;

	if (strcmp(path, "ListBucketResult/IsTruncated") == 0) {
		if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0)
			return -1;
		lp->l->truncated = text[0] == 't';
	} else if (strcmp(path, "ListBucketResult/NextContinuationToken") == 0) {
		if (len == 0 || memchr(text, '\0', len))
			return -1;
		free(lp->l->next_token);
		lp->l->next_token = xstrndup(text, len);
	} else if (is_prefix || strcmp(path, "ListBucketResult/Contents/Key") == 0) {
		const char *rest = text + lp->prefix_len;
		size_t n;

		if (len < lp->prefix_len || memcmp(text, lp->prefix, lp->prefix_len) != 0 ||
		    memchr(text, '\0', len)) {
			lp->bad = 1;
			return -1;
		}
		n = len - lp->prefix_len;
		if (is_prefix) {
			if (n < 2 || rest[n - 1] != '/') {
				lp->bad = 1;
				return -1;
			}
			n--;
		}
		/* The folder itself (a zero-length marker some tools create). */
		if (n == 0)
			return 0;
		if (memchr(rest, '/', n)) {
			lp->bad = 1;
			return -1;
		}
		list_add(lp->l, rest, n);
	}
	return 0;
}

int s3proto_list_parse(const char *xml, size_t len, const char *prefix, const char *what,
		       struct s3proto_list *l, struct error *err)
{
	struct list_parse lp = { .l = l, .prefix = prefix, .prefix_len = strlen(prefix) };
	size_t before = l->n;

	l->truncated = 0;
	free(l->next_token);
	l->next_token = NULL;
	if (xml_walk(xml, len, "ListBucketResult", list_text, &lp) < 0 ||
	    (l->truncated && l->next_token == NULL)) {
		while (l->n > before)
			free(l->names[--l->n]);
		free(l->next_token);
		l->next_token = NULL;
		l->truncated = 0;
		return error_setk(err, ERROR_CORRUPT, "listing %s: %s", what,
				  lp.bad ? "the server answered with a name outside the folder" :
				  "malformed ListObjectsV2 answer");
	}
	return 0;
}

void s3proto_list_clear(struct s3proto_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l->next_token);
	memset(l, 0, sizeof(*l));
}

/* --- <Error> and lock configuration --------------------------------------- */

struct error_parse {
	char *code, *msg;
	size_t code_size, msg_size;
};

static void copy_printable(char *dst, size_t size, const char *src, size_t len)
{
	size_t i;

	if (size == 0)
		return;
	if (len > size - 1)
		len = size - 1;
	for (i = 0; i < len; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
	dst[len] = '\0';
}

static int error_text(void *ctx, const char *path, const char *text, size_t len)
{
	struct error_parse *ep = ctx;

	if (strcmp(path, "Error/Code") == 0)
		copy_printable(ep->code, ep->code_size, text, len);
	else if (strcmp(path, "Error/Message") == 0)
		copy_printable(ep->msg, ep->msg_size, text, len);
	return 0;
}

int s3proto_error_parse(const char *xml, size_t len, char *code, size_t code_size, char *msg,
			size_t msg_size)
{
	struct error_parse ep = { code, msg, code_size, msg_size };

	if (code_size > 0)
		code[0] = '\0';
	if (msg_size > 0)
		msg[0] = '\0';
	if (xml_walk(xml, len, "Error", error_text, &ep) < 0 || code_size == 0 || code[0] == '\0') {
		if (code_size > 0)
			code[0] = '\0';
		if (msg_size > 0)
			msg[0] = '\0';
		return -1;
	}
	return 0;
}

static int lock_text(void *ctx, const char *path, const char *text, size_t len)
{
	int *enabled = ctx;

	(void)len;
	if (strcmp(path, "ObjectLockConfiguration/ObjectLockEnabled") == 0)
		*enabled = strcmp(text, "Enabled") == 0;
	return 0;
}

int s3proto_lock_enabled(const char *xml, size_t len)
{
	int enabled = 0;

	return xml_walk(xml, len, "ObjectLockConfiguration", lock_text, &enabled) == 0 && enabled;
}

/* Two or four digits at p; -1 if any is not a digit. */
static int date_digits(const char *p, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil): no timegm(), no TZ involved. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int s3proto_date_parse(const char *s, int64_t *secs_r)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	int y, mo, d, h, mi, sec, frac = 0;
	size_t i, n = strlen(s);

	if (n < sizeof(shape) - 1)
		return -1;
	for (i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return -1;
	y = date_digits(s, 4);
	mo = date_digits(s + 5, 2);
	d = date_digits(s + 8, 2);
	h = date_digits(s + 11, 2);
	mi = date_digits(s + 14, 2);
	sec = date_digits(s + 17, 2);
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	s += sizeof(shape) - 1;
	/* A fraction rounds up: the lock holds until the whole second after. */
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			frac |= *s != '0';
	if (strcmp(s, "Z") != 0 && strcmp(s, "+00:00") != 0)
		return -1;
	*secs_r = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec + frac;
	return 0;
}

int s3proto_http_date_parse(const char *s, int64_t *secs_r)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char iso[21];
	size_t m;

	/* "Www, DD Mon YYYY HH:MM:SS GMT" */
	if (strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
	    s[16] != ' ' || s[25] != ' ' || strcmp(s + 26, "GMT") != 0)
		return -1;
	for (m = 0; m < 12; m++)
		if (memcmp(months + 3 * m, s + 8, 3) == 0)
			break;
	if (m == 12)
		return -1;
	/* into the ISO form s3proto_date_parse() checks digit by digit */
	memcpy(iso, s + 12, 4);
	iso[4] = '-';
	iso[5] = (char)('0' + (m + 1) / 10);
	iso[6] = (char)('0' + (m + 1) % 10);
	iso[7] = '-';
	memcpy(iso + 8, s + 5, 2);
	iso[10] = 'T';
	memcpy(iso + 11, s + 17, 8);
	iso[19] = 'Z';
	iso[20] = '\0';
	return s3proto_date_parse(iso, secs_r);
}

/* --- ListObjectVersions ----------------------------------------------------- */

struct versions_parse {
	struct s3proto_versions *v;
	const char *key;
	int key_seen;   /* a Version's Key came, its VersionId not yet */
	int key_match;
};

static int versions_text(void *ctx, const char *path, const char *text, size_t len)
{
	struct versions_parse *vp = ctx;
	struct s3proto_versions *v = vp->v;

	if (strcmp(path, "ListVersionsResult/IsTruncated") == 0) {
		if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0)
			return -1;
		v->truncated = text[0] == 't';
	} else if (strcmp(path, "ListVersionsResult/Version/Key") == 0) {
		if (vp->key_seen || memchr(text, '\0', len))
			return -1;
		vp->key_seen = 1;
		vp->key_match = strcmp(text, vp->key) == 0;
	} else if (strcmp(path, "ListVersionsResult/Version/VersionId") == 0) {
		if (!vp->key_seen || len == 0 || memchr(text, '\0', len))
			return -1;
		vp->key_seen = 0;
		if (vp->key_match) {
			v->ids = xrealloc(v->ids, xmul(v->n + 1, sizeof(char *)));
			v->ids[v->n++] = xstrndup(text, len);
		}
	}
	return 0;
}

int s3proto_versions_parse(const char *xml, size_t len, const char *key, const char *what,
			   struct s3proto_versions *v, struct error *err)
{
	struct versions_parse vp = { .v = v, .key = key };

	memset(v, 0, sizeof(*v));
	if (xml_walk(xml, len, "ListVersionsResult", versions_text, &vp) < 0 || vp.key_seen) {
		s3proto_versions_clear(v);
		return error_setk(err, ERROR_CORRUPT, "versions of %s: malformed "
				  "ListObjectVersions answer", what);
	}
	return 0;
}

void s3proto_versions_clear(struct s3proto_versions *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		free(v->ids[i]);
	free(v->ids);
	memset(v, 0, sizeof(*v));
}
