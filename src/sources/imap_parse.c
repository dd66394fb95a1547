/* IMAP response framing and parsing by length (imap_parse.h). */
#include "sources/imap_parse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/error.h"
#include "lib/mem.h"

void imap_limits_default(struct imap_limits *l)
{
	l->max_line = 8u << 20;
	l->max_literal = 64u << 20;
	l->max_depth = 32;
	l->max_items = 4u << 20;
}

/* Parses "{123}", "{123+}" ending at p[e-1] == '}' within [start, e);
 * returns the literal's length or -1 if the line does not end in one. */
static int64_t literal_at_end(const uint8_t *p, size_t start, size_t e, uint64_t max, int *toobig)
{
	size_t j = e - 1, digits_end;
	uint64_t n = 0, mul = 1;

	*toobig = 0;
	if (j > start && p[j - 1] == '+')
		j--;
	digits_end = j;
	while (j > start && p[j - 1] >= '0' && p[j - 1] <= '9')
		j--;
	if (j == digits_end || j == start || p[j - 1] != '{')
		return -1;
	if (digits_end - j > 19) {
		*toobig = 1;
		return -1;
	}
	for (size_t k = digits_end; k > j; k--, mul *= 10)
		n += (uint64_t)(p[k - 1] - '0') * mul;
	if (n > max) {
		*toobig = 1;
		return (int64_t)(n > INT64_MAX ? INT64_MAX : n);
	}
	return (int64_t)n;
}

int imap_frame(struct imap_framer *f, const uint8_t *p, size_t len, const struct imap_limits *lim,
	       size_t *resp_len_r, size_t *want_r, struct error *err)
{
	for (;;) {
		const uint8_t *lf;
		size_t end, e;
		int64_t n;
		int toobig;

		if (f->lit_end) {
			if (len < f->lit_end) {
				*want_r = f->lit_end - len;
				return 0;
			}
			f->pos = f->scan = f->lit_end;
			f->lit_end = 0;
		}
		if (f->scan < f->pos)
			f->scan = f->pos;
		lf = f->scan < len ? memchr(p + f->scan, '\n', len - f->scan) : NULL;
		if (!lf) {
			f->scan = len;
			if (len - f->pos > lim->max_line)
				return error_setk(err, ERROR_CORRUPT,
						  "response line longer than the limit of %zu bytes",
						  lim->max_line);
			*want_r = 1;
			return 0;
		}
		end = (size_t)(lf - p);
		if (end - f->pos > lim->max_line)
			return error_setk(err, ERROR_CORRUPT,
					  "response line of %zu bytes is longer than the limit of %zu",
					  end - f->pos, lim->max_line);
		e = end;
		if (e > f->pos && p[e - 1] == '\r')
			e--;
		if (e > f->pos && p[e - 1] == '}') {
			n = literal_at_end(p, f->pos, e, lim->max_literal, &toobig);
			if (toobig)
				return error_setk(err, ERROR_CORRUPT,
						  "literal of %lld bytes is larger than the limit of %llu",
						  (long long)n, (unsigned long long)lim->max_literal);
			if (n >= 0) {
				f->total_literals += (uint64_t)n;
				if (f->total_literals > lim->max_literal + lim->max_line)
					return error_setk(err, ERROR_CORRUPT,
							  "literals of one response exceed %llu bytes",
							  (unsigned long long)(lim->max_literal +
									       lim->max_line));
				if ((uint64_t)n > SIZE_MAX - end - 1)
					return error_setk(err, ERROR_CORRUPT, "literal too large");
				f->lit_end = end + 1 + (size_t)n;
				/* An empty literal ends where the next line starts. */
				if (n == 0) {
					f->pos = f->scan = f->lit_end;
					f->lit_end = 0;
				}
				continue;
			}
		}
		*resp_len_r = end + 1;
		return 1;
	}
}

/* ---- parser ---- */

struct pstate {
	uint8_t *p;
	size_t len, i;
	const struct imap_limits *lim;
	size_t items;
	struct error *err;
};

static int at_eol(const struct pstate *s)
{
	return s->i >= s->len || s->p[s->i] == '\r' || s->p[s->i] == '\n';
}

/* An error naming the place and showing the start of the response. */
static int perr(struct pstate *s, const char *what)
{
	char shown[81];
	size_t k = 0;

	for (size_t j = 0; j < s->len && k < sizeof(shown) - 1; j++) {
		uint8_t c = s->p[j];
		if (c == '\r' || c == '\n')
			break;
		shown[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	shown[k] = '\0';
	return error_setk(s->err, ERROR_CORRUPT, "malformed response (%s at byte %zu): \"%s%s\"",
			  what, s->i, shown, k == sizeof(shown) - 1 ? "..." : "");
}

static int is_atom_end(uint8_t c)
{
	return c == ' ' || c == '(' || c == ')' || c == '\r' || c == '\n' || c == '"' ||
	       c == ']' || c == '{' || c < 0x20 || c == 0x7f;
}

static int parse_arg(struct pstate *s, unsigned depth, struct imap_arg *a);

/* Arguments until `close` (')' or ']') or, with close 0, the end of the line. */
static int parse_args(struct pstate *s, unsigned depth, uint8_t close, struct imap_arg **v_r,
		      size_t *n_r)
{
	struct imap_arg *v = NULL;
	size_t n = 0, cap = 0;

	*v_r = NULL;
	*n_r = 0;
	for (;;) {
		if (at_eol(s)) {
			if (close)
				goto bad_unterminated;
			break;
		}
		if (close && s->p[s->i] == close) {
			s->i++;
			break;
		}
		if (s->p[s->i] == ' ') {
			/* One space between arguments; none after "(". */
			if (n == 0 && close == ')')
				goto bad_space;
			s->i++;
			if (at_eol(s) && !close)
				break; /* tolerate a trailing space */
		} else if (n > 0) {
			goto bad_space;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			v = xrealloc(v, xmul(cap, sizeof(*v)));
		}
		memset(&v[n], 0, sizeof(v[n]));
		n++;
		*v_r = v;
		*n_r = n;
		if (parse_arg(s, depth, &v[n - 1]) < 0)
			return -1;
	}
	*v_r = v;
	*n_r = n;
	return 0;
bad_unterminated:
	*v_r = v;
	*n_r = n;
	return perr(s, close == ')' ? "unterminated list" : "unterminated response code");
bad_space:
	*v_r = v;
	*n_r = n;
	return perr(s, "expected one space between arguments");
}

static int parse_quoted(struct pstate *s, struct imap_arg *a)
{
	size_t w;

	s->i++; /* the opening quote */
	a->type = IMAP_ARG_STRING;
	a->data = s->p + s->i;
	w = s->i;
	for (;;) {
		uint8_t c;

		if (s->i >= s->len)
			return perr(s, "unterminated quoted string");
		c = s->p[s->i];
		if (c == '\r' || c == '\n' || c == '\0')
			return perr(s, "unterminated quoted string");
		if (c == '"') {
			s->i++;
			break;
		}
		if (c == '\\') {
			if (s->i + 1 >= s->len || (s->p[s->i + 1] != '\\' && s->p[s->i + 1] != '"'))
				return perr(s, "bad escape in quoted string");
			c = s->p[++s->i];
		}
		s->p[w++] = c; /* unescape in place: w never passes i */
		s->i++;
	}
	a->len = w - (size_t)(a->data - s->p);
	return 0;
}

static int parse_literal(struct pstate *s, struct imap_arg *a)
{
	uint64_t n = 0;
	size_t digits = 0;

	if (s->p[s->i] == '~')
		s->i++;
	if (s->i >= s->len || s->p[s->i] != '{')
		return perr(s, "bad literal");
	s->i++;
	while (s->i < s->len && s->p[s->i] >= '0' && s->p[s->i] <= '9') {
		if (++digits > 19)
			return perr(s, "literal length too long");
		n = n * 10 + (uint64_t)(s->p[s->i++] - '0');
	}
	if (digits == 0)
		return perr(s, "literal without a length");
	if (s->i < s->len && s->p[s->i] == '+')
		s->i++;
	if (s->i >= s->len || s->p[s->i] != '}')
		return perr(s, "bad literal");
	s->i++;
	if (s->i < s->len && s->p[s->i] == '\r')
		s->i++;
	if (s->i >= s->len || s->p[s->i] != '\n')
		return perr(s, "literal not at the end of a line");
	s->i++;
	if (n > s->lim->max_literal)
		return perr(s, "literal larger than the limit");
	if (n > s->len - s->i)
		return perr(s, "literal runs past the response");
	a->type = IMAP_ARG_LITERAL;
	a->data = s->p + s->i;
	a->len = (size_t)n;
	s->i += (size_t)n;
	return 0;
}

static int parse_atom(struct pstate *s, struct imap_arg *a)
{
	size_t start = s->i;

	while (s->i < s->len) {
		uint8_t c = s->p[s->i];

		if (c == '[') {
			/* A section (BODY[HEADER.FIELDS (A B)]) belongs to the atom. */
			const uint8_t *close = memchr(s->p + s->i, ']', s->len - s->i);
			const uint8_t *eol = memchr(s->p + s->i, '\n', s->len - s->i);

			if (!close || (eol && eol < close))
				return perr(s, "unterminated [ in atom");
			s->i = (size_t)(close - s->p) + 1;
			continue;
		}
		if (is_atom_end(c))
			break;
		s->i++;
	}
	if (s->i == start)
		return perr(s, "unexpected character");
	a->type = IMAP_ARG_ATOM;
	a->data = s->p + start;
	a->len = s->i - start;
	if (a->len == 3 && strncasecmp((const char *)a->data, "NIL", 3) == 0)
		a->type = IMAP_ARG_NIL;
	return 0;
}

static int parse_arg(struct pstate *s, unsigned depth, struct imap_arg *a)
{
	uint8_t c;

	if (++s->items > s->lim->max_items)
		return perr(s, "more items than the limit");
	if (at_eol(s))
		return perr(s, "missing argument");
	c = s->p[s->i];
	if (c == '(') {
		if (depth + 1 > s->lim->max_depth)
			return perr(s, "lists nested deeper than the limit");
		s->i++;
		a->type = IMAP_ARG_LIST;
		return parse_args(s, depth + 1, ')', &a->list, &a->n);
	}
	if (c == '"')
		return parse_quoted(s, a);
	if (c == '{' || (c == '~' && s->i + 1 < s->len && s->p[s->i + 1] == '{'))
		return parse_literal(s, a);
	return parse_atom(s, a);
}

/* A word into out (upper case), up to a space or the end of the line. */
static int parse_word(struct pstate *s, char *out, size_t outlen, const char *what, int stop_bracket)
{
	size_t k = 0;

	while (!at_eol(s) && s->p[s->i] != ' ' && !(stop_bracket && s->p[s->i] == ']')) {
		uint8_t c = s->p[s->i];

		if (c < 0x21 || c > 0x7e || k + 1 >= outlen)
			return perr(s, what);
		out[k++] = (char)((c >= 'a' && c <= 'z') ? c - 32 : c);
		s->i++;
	}
	out[k] = '\0';
	if (k == 0)
		return perr(s, what);
	return 0;
}

static int is_status_name(const char *n)
{
	return !strcmp(n, "OK") || !strcmp(n, "NO") || !strcmp(n, "BAD") || !strcmp(n, "BYE") ||
	       !strcmp(n, "PREAUTH");
}

/* The rest of the first line as text, NUL-terminated in place. */
static void take_text(struct pstate *s, struct imap_resp *r)
{
	size_t start = s->i;

	while (!at_eol(s))
		s->i++;
	if (s->i < s->len) {
		s->p[s->i] = '\0';
		r->text = (const char *)s->p + start;
	} else {
		/* Framed responses end in LF, so only unframed input gets here. */
		r->text = "";
	}
}

static int parse_status(struct pstate *s, struct imap_resp *r)
{
	r->is_status = 1;
	if (s->i < s->len && s->p[s->i] == ' ')
		s->i++;
	if (s->i < s->len && s->p[s->i] == '[') {
		s->i++;
		if (parse_word(s, r->code, sizeof(r->code), "bad response code", 1) < 0)
			return -1;
		if (s->i < s->len && s->p[s->i] == ' ') {
			s->i++;
			if (parse_args(s, 0, ']', &r->code_args, &r->code_nargs) < 0)
				return -1;
		} else if (s->i < s->len && s->p[s->i] == ']') {
			s->i++;
		} else {
			return perr(s, "unterminated response code");
		}
		if (s->i < s->len && s->p[s->i] == ' ')
			s->i++;
	}
	take_text(s, r);
	return 0;
}

int imap_resp_parse(uint8_t *buf, size_t len, const struct imap_limits *lim,
		    struct imap_resp *r, struct error *err)
{
	struct pstate s = { .p = buf, .len = len, .i = 0, .lim = lim, .items = 0, .err = err };
	char tag[sizeof(r->tag)];

	memset(r, 0, sizeof(*r));
	r->text = "";
	if (parse_word(&s, tag, sizeof(tag), "bad tag", 0) < 0)
		return -1;
	if (!strcmp(tag, "+")) {
		r->kind = IMAP_RESP_CONT;
		if (s.i < s.len && s.p[s.i] == ' ')
			s.i++;
		take_text(&s, r);
		return 0;
	}
	if (s.i >= s.len || s.p[s.i] != ' ')
		return perr(&s, "expected a space after the tag");
	s.i++;
	if (!strcmp(tag, "*")) {
		r->kind = IMAP_RESP_UNTAGGED;
	} else {
		r->kind = IMAP_RESP_TAGGED;
		/* Keep the tag as sent (parse_word upper-cased it; ours are upper). */
		memcpy(r->tag, tag, sizeof(tag));
	}
	if (parse_word(&s, r->name, sizeof(r->name), "bad response name", 0) < 0)
		return -1;
	if (r->kind == IMAP_RESP_UNTAGGED && r->name[0] >= '0' && r->name[0] <= '9') {
		uint64_t n = 0;

		for (const char *c = r->name; *c; c++) {
			if (*c < '0' || *c > '9')
				return perr(&s, "bad message number");
			n = n * 10 + (uint64_t)(*c - '0');
			if (n > UINT32_MAX)
				return perr(&s, "message number out of range");
		}
		r->has_num = 1;
		r->num = (uint32_t)n;
		if (s.i >= s.len || s.p[s.i] != ' ')
			return perr(&s, "expected a space after the number");
		s.i++;
		if (parse_word(&s, r->name, sizeof(r->name), "bad response name", 0) < 0)
			return -1;
	}
	if (is_status_name(r->name) && !r->has_num) {
		if (parse_status(&s, r) < 0)
			goto fail;
		r->items = s.items;
		return 0;
	}
	if (r->kind == IMAP_RESP_TAGGED)
		return perr(&s, "tagged response is not OK, NO or BAD");
	if (parse_args(&s, 0, 0, &r->args, &r->nargs) < 0)
		goto fail;
	r->items = s.items;
	return 0;
fail:
	return -1;
}

static void args_free(struct imap_arg *v, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (v[k].type == IMAP_ARG_LIST)
			args_free(v[k].list, v[k].n);
	free(v);
}

void imap_resp_clear(struct imap_resp *r)
{
	args_free(r->args, r->nargs);
	args_free(r->code_args, r->code_nargs);
	r->args = r->code_args = NULL;
	r->nargs = r->code_nargs = 0;
}

int imap_arg_is_atom(const struct imap_arg *a, const char *upper)
{
	size_t n = strlen(upper);

	return a->type == IMAP_ARG_ATOM && a->len == n &&
	       strncasecmp((const char *)a->data, upper, n) == 0;
}

int imap_arg_is_string(const struct imap_arg *a)
{
	return a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_STRING ||
	       a->type == IMAP_ARG_LITERAL;
}

int imap_arg_number(const struct imap_arg *a, uint64_t *r)
{
	uint64_t n = 0;

	if (a->type != IMAP_ARG_ATOM || a->len == 0 || a->len > 20)
		return -1;
	for (size_t k = 0; k < a->len; k++) {
		unsigned d;

		if (a->data[k] < '0' || a->data[k] > '9')
			return -1;
		d = (unsigned)(a->data[k] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*r = n;
	return 0;
}

char *imap_arg_dup(const struct imap_arg *a)
{
	if (!imap_arg_is_string(a))
		return xstrdup("");
	return xstrndup((const char *)a->data, a->len);
}
