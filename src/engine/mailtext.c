/* Calendar and vCard text for the search index (mailtext.h). Both formats
 * are content lines `[group.]NAME[;PARAM=VALUE...]:VALUE`, folded by a line
 * break followed by a space or tab; vCard 2.1 also continues a
 * quoted-printable value after a trailing '='. One parser serves both; each
 * format only says which properties it keeps and how their values read. */
#include "engine/mailtext.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/mem.h"

enum kind {
	K_TEXT,       /* escaped text (\n \, \; \\) */
	K_STRUCTURED, /* escaped text whose ';' separate components */
	K_RAW,        /* kept as it is (an address, a number) */
	K_PERSON,     /* ORGANIZER/ATTENDEE: CN parameter and a mailto: address */
};

struct prop {
	const char *name;
	enum kind kind;
};

static const struct prop calendar_props[] = {
	{ "SUMMARY", K_TEXT }, { "LOCATION", K_TEXT }, { "DESCRIPTION", K_TEXT },
	{ "ORGANIZER", K_PERSON }, { "ATTENDEE", K_PERSON }, { NULL, K_RAW },
};

static const struct prop vcard_props[] = {
	{ "FN", K_TEXT }, { "N", K_STRUCTURED }, { "ORG", K_STRUCTURED }, { "EMAIL", K_RAW },
	{ "TEL", K_RAW }, { "NOTE", K_TEXT }, { NULL, K_RAW },
};

struct out {
	struct buf b;
	size_t max;
};

/* Appends text[0..len) and a line break, within max (cut later to whole
 * characters). */
static void out_add(struct out *o, const char *text, size_t len)
{
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
		len--;
	if (len == 0 || o->b.len >= o->max)
		return;
	if (len > o->max - o->b.len)
		len = o->max - o->b.len;
	buf_add(&o->b, text, len);
	if (o->b.len < o->max)
		buf_add(&o->b, "\n", 1);
}

static char *out_take(struct out *o)
{
	char *s, *valid;
	size_t n;

	buf_add(&o->b, "", 1);
	s = (char *)buf_steal(&o->b, NULL);
	n = strlen(s);
	if (n > 0 && s[n - 1] == '\n')
		s[--n] = '\0';
	valid = g_utf8_make_valid(s, (gssize)n);
	free(s);
	s = xstrdup(valid);
	g_free(valid);
	/* make_valid may grow it (U+FFFD for a byte): cut to whole characters. */
	n = strlen(s);
	if (n > o->max) {
		n = o->max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		s[n] = '\0';
	}
	return s;
}

/* One logical line split into its parts. */
struct cline {
	const char *name, *params, *value;
	size_t nlen, plen, vlen;
};

/* Splits line[0..len); 0 when it is not a content line. Parameter values
 * may be quoted, and a quoted one may hold ':' and ';'. */
static int cline_split(const char *line, size_t len, struct cline *c)
{
	size_t i = 0, dot = 0;
	int quoted = 0;

	while (i < len && line[i] != ';' && line[i] != ':') {
		if (line[i] == '.')
			dot = i + 1; /* a group prefix (item1.EMAIL) */
		i++;
	}
	if (i == len || i == dot)
		return 0;
	c->name = line + dot;
	c->nlen = i - dot;
	c->params = line + i;
	while (i < len && (quoted || line[i] != ':')) {
		if (line[i] == '"')
			quoted = !quoted;
		i++;
	}
	if (i == len)
		return 0;
	c->plen = (size_t)(line + i - c->params);
	c->value = line + i + 1;
	c->vlen = len - i - 1;
	return 1;
}

/* The value of parameter `key` (unquoted, RFC 6868 ^n ^^ ^' decoded) added
 * to b; 0 when absent. */
static int param_get(const struct cline *c, const char *key, struct buf *b)
{
	const char *p = c->params, *end = c->params + c->plen;
	size_t klen = strlen(key);

	while (p < end) {
		const char *q;
		int quoted = 0;

		if (*p != ';') {
			p++;
			continue;
		}
		p++;
		for (q = p; q < end && (quoted || (*q != ';')); q++)
			if (*q == '"')
				quoted = !quoted;
		if ((size_t)(q - p) > klen && p[klen] == '=' && g_ascii_strncasecmp(p, key, klen) == 0) {
			const char *v = p + klen + 1;

			for (; v < q; v++) {
				if (*v == '"')
					continue;
				if (*v == '^' && v + 1 < q && (v[1] == 'n' || v[1] == '^' || v[1] == '\'')) {
					v++;
					buf_add(b, *v == 'n' ? " " : *v == '\'' ? "\"" : "^", 1);
					continue;
				}
				buf_add(b, v, 1);
			}
			return 1;
		}
		p = q;
	}
	return 0;
}

/* Whether the parameters say quoted-printable (2.1 allows the bare word). */
static int is_qp(const char *params, size_t len)
{
	static const char qp[] = "QUOTED-PRINTABLE";
	size_t i;

	for (i = 0; i + sizeof(qp) - 1 <= len; i++)
		if (g_ascii_strncasecmp(params + i, qp, sizeof(qp) - 1) == 0)
			return 1;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* A vCard 2.1 quoted-printable value, decoded and converted from CHARSET
 * (UTF-8 when absent) into b. */
static void qp_value(const struct cline *c, struct buf *b)
{
	struct buf raw, cs;
	size_t i;
	gchar *conv = NULL;

	buf_init(&raw, 0);
	buf_init(&cs, 0);
	for (i = 0; i < c->vlen; i++) {
		if (c->value[i] == '=' && i + 2 < c->vlen && hexval(c->value[i + 1]) >= 0 &&
		    hexval(c->value[i + 2]) >= 0) {
			uint8_t v = (uint8_t)(hexval(c->value[i + 1]) * 16 + hexval(c->value[i + 2]));

			buf_add(&raw, &v, 1);
			i += 2;
		} else {
			buf_add(&raw, c->value + i, 1);
		}
	}
	if (param_get(c, "CHARSET", &cs) && raw.len > 0) {
		buf_add(&cs, "", 1);
		if (g_ascii_strcasecmp((const char *)cs.data, "utf-8") != 0)
			conv = g_convert((const char *)raw.data, (gssize)raw.len, "UTF-8",
					 (const char *)cs.data, NULL, NULL, NULL);
	}
	if (conv) {
		buf_add(b, conv, strlen(conv));
		g_free(conv);
	} else if (raw.len > 0) {
		buf_add(b, raw.data, raw.len);
	}
	buf_clear(&raw);
	buf_clear(&cs);
}

/* A TEXT value's escapes decoded; in a structured one, ';' separates. */
static void unescape(const char *v, size_t len, int structured, struct buf *b)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char ch = v[i];

		if (ch == '\\' && i + 1 < len) {
			ch = v[++i];
			if (ch == 'n' || ch == 'N')
				ch = '\n';
		} else if (ch == ';' && structured) {
			ch = ' ';
		}
		buf_add(b, &ch, 1);
	}
}

static void person(const struct cline *c, struct buf *b)
{
	static const char mailto[] = "mailto:";
	const char *v = c->value;
	size_t len = c->vlen;

	if (param_get(c, "CN", b))
		buf_add(b, " ", 1);
	if (len >= sizeof(mailto) - 1 && g_ascii_strncasecmp(v, mailto, sizeof(mailto) - 1) == 0) {
		v += sizeof(mailto) - 1;
		len -= sizeof(mailto) - 1;
	}
	buf_add(b, v, len);
}

static void take_line(const char *line, size_t len, const struct prop *props, struct out *o)
{
	struct cline c;
	struct buf b;
	size_t i;

	if (!cline_split(line, len, &c))
		return;
	for (i = 0; props[i].name; i++)
		if (strlen(props[i].name) == c.nlen &&
		    g_ascii_strncasecmp(props[i].name, c.name, c.nlen) == 0)
			break;
	if (props[i].name == NULL)
		return;
	buf_init(&b, 0);
	if (props[i].kind == K_PERSON) {
		person(&c, &b);
	} else if (is_qp(c.params, c.plen)) {
		struct buf d;

		buf_init(&d, 0);
		qp_value(&c, &d);
		if (props[i].kind == K_RAW)
			buf_add(&b, d.data, d.len);
		else
			unescape((const char *)d.data, d.len, props[i].kind == K_STRUCTURED, &b);
		buf_clear(&d);
	} else if (props[i].kind == K_RAW) {
		buf_add(&b, c.value, c.vlen);
	} else {
		unescape(c.value, c.vlen, props[i].kind == K_STRUCTURED, &b);
	}
	if (b.len > 0)
		out_add(o, (const char *)b.data, b.len);
	buf_clear(&b);
}

/* Whether a logical line's value is quoted-printable. */
static int qp_line(const struct buf *line)
{
	struct cline c;

	return cline_split((const char *)line->data, line->len, &c) && is_qp(c.params, c.plen);
}

/* Unfolds text into logical lines and gives each to take_line. */
static char *extract(const char *text, size_t len, size_t max, const struct prop *props)
{
	struct out o = { .max = max };
	struct buf line;
	const char *p = text, *end = text + len;

	buf_init(&o.b, 0);
	buf_init(&line, 0);
	while (p < end && o.b.len < max) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (line.len > 0 && n > 0 && (p[0] == ' ' || p[0] == '\t')) {
			buf_add(&line, p + 1, n - 1); /* a folded line goes on */
		} else if (line.len > 0 && line.data[line.len - 1] == '=' && qp_line(&line)) {
			line.len--; /* a quoted-printable soft line break */
			buf_add(&line, p, n);
		} else {
			if (line.len > 0)
				take_line((const char *)line.data, line.len, props, &o);
			buf_reset(&line);
			buf_add(&line, p, n);
		}
		p = nl ? nl + 1 : end;
	}
	if (line.len > 0 && o.b.len < max)
		take_line((const char *)line.data, line.len, props, &o);
	buf_clear(&line);
	return out_take(&o);
}

char *mailtext_calendar(const char *text, size_t len, size_t max)
{
	return extract(text, len, max, calendar_props);
}

char *mailtext_vcard(const char *text, size_t len, size_t max)
{
	return extract(text, len, max, vcard_props);
}
