#ifndef COFFER_IMAP_PARSE_H
#define COFFER_IMAP_PARSE_H

/* The IMAP client's response framer and parser (internal to
 * src/sources/imap*.c and the fuzz target; docs/imap.md "Parsing").
 *
 * A response is one line, or several when it carries literals: a line
 * ending in "{n}" (or "{n+}", "~{n}") is followed by exactly n bytes and
 * then the rest of the response. imap_frame() finds where a response ends
 * in a stream of bytes, by length; imap_resp_parse() turns one framed
 * response into a tag, a name and arguments. Both enforce the limits and
 * never read outside the bytes they are given. */

#include <stddef.h>
#include <stdint.h>

struct error;

struct imap_limits {
	size_t max_line;      /* one line, without its literals */
	uint64_t max_literal; /* one literal */
	unsigned max_depth;   /* nesting of parenthesized lists */
	size_t max_items;     /* arguments in one response, all levels */
};

/* The defaults of docs/imap.md. */
void imap_limits_default(struct imap_limits *l);

/* Framing state of the response being received: bytes [0, pos) are known
 * to belong to it; lit_end > 0 means a literal runs until lit_end. */
struct imap_framer {
	size_t pos;      /* start of the line being looked at */
	size_t scan;     /* where the search for its end resumes */
	size_t lit_end;
	uint64_t total_literals;
};

static inline void imap_framer_reset(struct imap_framer *f)
{
	f->pos = f->scan = f->lit_end = 0;
	f->total_literals = 0;
}

/* Looks at the first len bytes of the response being received. Returns 1
 * and its length in *resp_len_r when it is complete, 0 when more bytes
 * are needed (*want_r: how many at least, when known, else 1), -1 and an
 * error when a limit is passed. */
int imap_frame(struct imap_framer *f, const uint8_t *p, size_t len, const struct imap_limits *lim,
	       size_t *resp_len_r, size_t *want_r, struct error *err);

enum imap_arg_type {
	IMAP_ARG_ATOM = 0, /* also numbers, flags (\Seen) and BODY[...]<n> */
	IMAP_ARG_STRING,   /* quoted (unescaped) */
	IMAP_ARG_LITERAL,
	IMAP_ARG_NIL,
	IMAP_ARG_LIST,
};

struct imap_arg {
	enum imap_arg_type type;
	uint8_t *data; /* atom, string, literal: into the (mutable) response bytes */
	size_t len;
	struct imap_arg *list; /* IMAP_ARG_LIST */
	size_t n;
};

enum imap_resp_kind {
	IMAP_RESP_UNTAGGED = 0, /* "* ..." */
	IMAP_RESP_TAGGED,
	IMAP_RESP_CONT,         /* "+ ..." */
};

struct imap_resp {
	enum imap_resp_kind kind;
	char tag[32];          /* tagged: the tag */
	int has_num;           /* "* 12 EXISTS": num = 12 */
	uint32_t num;
	char name[32];         /* upper case: OK NO BAD BYE PREAUTH FETCH LIST EXISTS ... */
	int is_status;         /* OK, NO, BAD, BYE, PREAUTH */
	char code[32];         /* status: the response code's name, upper case, or "" */
	struct imap_arg *code_args; /* its arguments */
	size_t code_nargs;
	const char *text;      /* status and CONT: the human-readable text (NUL-terminated) */
	struct imap_arg *args; /* data responses: the arguments after the name */
	size_t nargs;
	size_t items;          /* arguments counted against max_items */
};

/* Parses one framed response (as imap_frame() delimited it, CRLF included)
 * in place: quoted strings are unescaped inside buf, and the text gets a
 * NUL. -1 and an error naming what is wrong and where. Free the result
 * with imap_resp_clear() either way. */
int imap_resp_parse(uint8_t *buf, size_t len, const struct imap_limits *lim,
		    struct imap_resp *r, struct error *err);
void imap_resp_clear(struct imap_resp *r);

/* Helpers over arguments. */
int imap_arg_is_atom(const struct imap_arg *a, const char *upper);
/* Atom, string or literal (not NIL, not a list). */
int imap_arg_is_string(const struct imap_arg *a);
/* An unsigned decimal number atom that fits in uint64; -1 otherwise. */
int imap_arg_number(const struct imap_arg *a, uint64_t *r);
/* A malloc'ed NUL-terminated copy of a string-like argument ("" for NIL). */
char *imap_arg_dup(const struct imap_arg *a);

#endif
