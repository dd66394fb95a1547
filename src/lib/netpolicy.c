/* Network destination policy: entries, the built-in blocks, the check
 * (netpolicy.h). */
#include "lib/netpolicy.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/mem.h"

#define NAME_MAX_LEN 253
#define ENTRY_MAX_LEN 300

/* An address, IPv4-mapped IPv6 already turned into IPv4. */
struct np_addr {
	int v6;
	uint8_t b[16]; /* IPv4: the first 4 bytes */
};

enum np_kind { NP_ANY, NP_ADDR, NP_NAME };

struct np_entry {
	enum np_kind kind;
	struct np_addr a;  /* NP_ADDR: the block's first address */
	unsigned prefix;   /* NP_ADDR: bits */
	char *name;        /* NP_NAME: lower case, no trailing dot, without "*." */
	int wildcard;      /* NP_NAME: "*.name": names below it, not the name itself */
	uint16_t port;     /* 0: any port */
};

struct np_list {
	struct np_entry *v;
	size_t n;
};

struct netpolicy {
	struct np_list lists[2]; /* NETPOLICY_ALLOW, NETPOLICY_DENY */
	char *names[2];
};

/* The blocks refused unless an allow entry at least as narrow names them. */
static const struct {
	int v6;
	uint8_t b[16];
	unsigned prefix;
	const char *what;
} builtin[] = {
	{ 0, { 0 }, 8, "an unspecified" },
	{ 0, { 127 }, 8, "a loopback" },
	{ 0, { 169, 254 }, 16, "a link-local" },
	{ 0, { 169, 254, 169, 254 }, 32, "a cloud metadata" },
	{ 0, { 100, 100, 100, 200 }, 32, "a cloud metadata" },
	{ 0, { 192, 0, 0, 192 }, 32, "a cloud metadata" },
	{ 1, { 0 }, 128, "an unspecified" },
	{ 1, { [15] = 1 }, 128, "a loopback" },
	{ 1, { 0xfe, 0x80 }, 10, "a link-local" },
	{ 1, { 0xfd, 0x00, 0x0e, 0xc2, [15] = 0x54, [14] = 0x02 }, 128, "a cloud metadata" },
	{ 1, { 0xfd, 0x00, 0x0e, 0xc2, [15] = 0x23 }, 128, "a cloud metadata" },
};

/* ---- addresses ---- */

/* ::ffff:a.b.c.d (with its prefix, when at least 96) becomes a.b.c.d. */
static void addr_unmap(struct np_addr *a, unsigned *prefix)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (!a->v6 || memcmp(a->b, mapped, 12) != 0 || (prefix && *prefix < 96))
		return;
	memmove(a->b, a->b + 12, 4);
	memset(a->b + 4, 0, 12);
	a->v6 = 0;
	if (prefix)
		*prefix -= 96;
}

static int addr_parse(const char *s, size_t n, struct np_addr *a)
{
	char text[64];

	if (n == 0 || n >= sizeof(text))
		return -1;
	memcpy(text, s, n);
	text[n] = '\0';
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, text, a->b) == 1)
		return 0;
	if (inet_pton(AF_INET6, text, a->b) == 1) {
		a->v6 = 1;
		return 0;
	}
	return -1;
}

static int addr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct np_addr *a,
			      uint16_t *port)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;

		memcpy(a->b, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;

		memcpy(a->b, &s6->sin6_addr, 16);
		a->v6 = 1;
		*port = ntohs(s6->sin6_port);
		addr_unmap(a, NULL);
		return 0;
	}
	return -1;
}

/* a is inside the block net/prefix (same family). */
static int addr_in(const struct np_addr *a, const struct np_addr *net, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (a->v6 != net->v6)
		return 0;
	if (memcmp(a->b, net->b, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a->b[full] ^ net->b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* Bits past the prefix are zero. */
static int addr_is_block_start(const struct np_addr *a, unsigned prefix)
{
	unsigned bits = a->v6 ? 128 : 32;

	for (unsigned i = prefix; i < bits; i++)
		if (a->b[i / 8] & (0x80 >> (i % 8)))
			return 0;
	return 1;
}

/* ---- entries ---- */

static int parse_num(const char *s, size_t n, unsigned max, unsigned *r)
{
	unsigned v = 0;

	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max || (n > 1 && s[0] == '0'))
		return -1;
	*r = v;
	return 0;
}

static int parse_port(const char *s, size_t n, uint16_t *r)
{
	unsigned v;

	if (n == 1 && s[0] == '*') {
		*r = 0;
		return 0;
	}
	if (parse_num(s, n, 65535, &v) < 0 || v == 0)
		return -1;
	*r = (uint16_t)v;
	return 0;
}

/* "ADDR" or "ADDR/LEN" into e; -1 with a reason in *why. */
static int parse_block(const char *s, size_t n, struct np_entry *e, const char **why)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n;

	if (addr_parse(s, alen, &e->a) < 0) {
		*why = "not an IP address";
		return -1;
	}
	e->prefix = e->a.v6 ? 128 : 32;
	if (slash && parse_num(slash + 1, n - alen - 1, e->prefix, &e->prefix) < 0) {
		*why = e->a.v6 ? "the prefix length is not 0 to 128" : "the prefix length is not 0 to 32";
		return -1;
	}
	if (!addr_is_block_start(&e->a, e->prefix)) {
		*why = "the address has bits set past the prefix length";
		return -1;
	}
	addr_unmap(&e->a, &e->prefix);
	e->kind = NP_ADDR;
	return 0;
}

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* A host name (letters, digits, '_', and '-' inside labels; dots between
 * labels; the last label not all digits, so "10.1" is not taken for a
 * name), optionally "*." in front. */
static int parse_name(const char *s, size_t n, struct np_entry *e, const char **why)
{
	size_t label = 0, i;
	int digits_only = 1;

	if (n >= 2 && s[0] == '*' && s[1] == '.') {
		e->wildcard = 1;
		s += 2;
		n -= 2;
	}
	if (n > 1 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > NAME_MAX_LEN) {
		*why = "not an address or a host name";
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				break;
			label = 0;
			digits_only = 1;
			continue;
		}
		if (!name_char(s[i]) || (label == 0 && s[i] == '-'))
			break;
		if (s[i] < '0' || s[i] > '9')
			digits_only = 0;
		label++;
	}
	if (i < n || label == 0 || digits_only || s[n - 1] == '-') {
		*why = "not an address or a host name";
		return -1;
	}
	e->kind = NP_NAME;
	e->name = xstrndup(s, n);
	for (char *p = e->name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return 0;
}

/* "[IPV6]", "[IPV6/LEN]" or "[IPV6]/LEN", then ":PORT" or nothing. */
static int parse_bracketed(const char *s, size_t n, struct np_entry *e, const char **why)
{
	const char *close = memchr(s, ']', n), *end = s + n, *after, *slash = NULL;
	char block[80];
	size_t ilen, slen = 0;

	if (close == NULL) {
		*why = "'[' without ']'";
		return -1;
	}
	after = close + 1;
	if (after < end && *after == '/') {
		slash = after++;
		while (after < end && *after >= '0' && *after <= '9')
			after++;
		slen = (size_t)(after - slash);
	}
	if (after < end &&
	    (*after != ':' || parse_port(after + 1, (size_t)(end - after - 1), &e->port) < 0)) {
		*why = "the port is not 1 to 65535 or '*'";
		return -1;
	}
	ilen = (size_t)(close - (s + 1));
	if (memchr(s + 1, ':', ilen) == NULL) {
		*why = "brackets are for IPv6 addresses";
		return -1;
	}
	if (ilen + slen >= sizeof(block)) {
		*why = "not an IP address";
		return -1;
	}
	memcpy(block, s + 1, ilen);
	if (slash)
		memcpy(block + ilen, slash, slen);
	return parse_block(block, ilen + slen, e, why);
}

/* One entry (already trimmed); -1 with a reason in *why. */
static int parse_entry(const char *s, size_t n, struct np_entry *e, const char **why)
{
	const char *colon;
	size_t hlen;

	memset(e, 0, sizeof(*e));
	if (n == 0) {
		*why = "empty";
		return -1;
	}
	if (s[0] == '[')
		return parse_bracketed(s, n, e, why);
	colon = memchr(s, ':', n);
	if (colon && memchr(colon + 1, ':', n - (size_t)(colon - s) - 1)) {
		/* Two colons or more: an IPv6 address or block, no port. */
		return parse_block(s, n, e, why);
	}
	hlen = colon ? (size_t)(colon - s) : n;
	if (colon && parse_port(colon + 1, n - hlen - 1, &e->port) < 0) {
		*why = "the port is not 1 to 65535 or '*'";
		return -1;
	}
	if (hlen == 1 && s[0] == '*') {
		e->kind = NP_ANY;
		return 0;
	}
	if (memchr(s, '/', hlen) || addr_parse(s, hlen, &e->a) == 0)
		return parse_block(s, hlen, e, why);
	return parse_name(s, hlen, e, why);
}

struct netpolicy *netpolicy_new(const char *allow_name, const char *deny_name)
{
	struct netpolicy *p = xcalloc(1, sizeof(*p));

	p->names[NETPOLICY_ALLOW] = xstrdup(allow_name ? allow_name : "allow");
	p->names[NETPOLICY_DENY] = xstrdup(deny_name ? deny_name : "deny");
	return p;
}

static void list_clear(struct np_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void netpolicy_free(struct netpolicy **pp)
{
	struct netpolicy *p = *pp;

	if (p == NULL)
		return;
	list_clear(&p->lists[0]);
	list_clear(&p->lists[1]);
	free(p->names[0]);
	free(p->names[1]);
	free(p);
	*pp = NULL;
}

int netpolicy_add(struct netpolicy *p, enum netpolicy_list list, const char *text,
		  struct error *err)
{
	struct np_list add = { 0 };
	const char *s = text, *end;
	int ret = 0;

	for (;;) {
		const char *b, *e, *why = NULL;
		struct np_entry ent;

		end = strchr(s, ',');
		if (end == NULL)
			end = s + strlen(s);
		b = s;
		e = end;
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - b) > ENTRY_MAX_LEN) {
			ret = error_setk(err, ERROR_USAGE, "%s: entry '%.40s...' is too long",
					 p->names[list], b);
			break;
		}
		if (parse_entry(b, (size_t)(e - b), &ent, &why) < 0) {
			free(ent.name);
			ret = error_setk(err, ERROR_USAGE,
					 "%s: entry %zu ('%.*s') is wrong: %s (entries: *, ADDRESS, "
					 "ADDRESS/LEN, [IPV6], HOST or *.DOMAIN, each with an optional "
					 ":PORT)", p->names[list], add.n + 1, (int)(e - b), b, why);
			break;
		}
		add.v = xrealloc(add.v, xmul(add.n + 1, sizeof(*add.v)));
		add.v[add.n++] = ent;
		if (*end == '\0')
			break;
		s = end + 1;
	}
	if (ret < 0) {
		list_clear(&add);
		return -1;
	}
	{
		struct np_list *l = &p->lists[list];

		l->v = xrealloc(l->v, xmul(l->n + add.n, sizeof(*l->v)));
		memcpy(l->v + l->n, add.v, add.n * sizeof(*add.v));
		l->n += add.n;
		free(add.v);
	}
	return 0;
}

/* ---- the check ---- */

static int entry_matches(const struct np_entry *e, const char *host, const struct np_addr *a,
			 uint16_t port)
{
	size_t hn, en;

	if (e->port && e->port != port)
		return 0;
	switch (e->kind) {
	case NP_ANY:
		return 1;
	case NP_ADDR:
		return addr_in(a, &e->a, e->prefix);
	case NP_NAME:
		if (host == NULL)
			return 0;
		hn = strlen(host);
		en = strlen(e->name);
		if (!e->wildcard)
			return hn == en && memcmp(host, e->name, hn) == 0;
		return hn > en + 1 && host[hn - en - 1] == '.' && memcmp(host + hn - en, e->name, en) == 0;
	}
	return 0;
}

static int list_matches(const struct np_list *l, const char *host, const struct np_addr *a,
			uint16_t port)
{
	for (size_t i = 0; i < l->n; i++)
		if (entry_matches(&l->v[i], host, a, port))
			return 1;
	return 0;
}

/* The narrowest built-in block holding a, or -1. */
static int builtin_block(const struct np_addr *a)
{
	int best = -1;

	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		struct np_addr net = { .v6 = builtin[i].v6 };

		memcpy(net.b, builtin[i].b, 16);
		if (addr_in(a, &net, builtin[i].prefix) &&
		    (best < 0 || builtin[i].prefix > builtin[best].prefix))
			best = (int)i;
	}
	return best;
}

/* An allow entry naming an address or block at least `prefix` bits long
 * that matches. */
static int allow_opens(const struct np_list *l, const struct np_addr *a, uint16_t port,
		       unsigned prefix)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].kind == NP_ADDR && l->v[i].prefix >= prefix &&
		    entry_matches(&l->v[i], NULL, a, port))
			return 1;
	return 0;
}

/* The host as entries compare it: lower case, no trailing dot. */
static char *host_key(const char *host)
{
	char *k;
	size_t n;

	if (host == NULL)
		return NULL;
	k = xstrdup(host);
	for (char *p = k; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	n = strlen(k);
	if (n > 1 && k[n - 1] == '.')
		k[n - 1] = '\0';
	return k;
}

static int host_is_address(const char *host)
{
	struct np_addr a;

	return host && addr_parse(host, strlen(host), &a) == 0;
}

int netpolicy_check(const struct netpolicy *p, const char *host, const struct sockaddr *sa,
		    socklen_t salen, struct error *err)
{
	struct np_addr a;
	uint16_t port = 0;
	char shown[INET6_ADDRSTRLEN + 8];
	const char *who;
	char *key;
	int b, ret = 0;

	if (addr_from_sockaddr(sa, salen, &a, &port) < 0)
		return error_setk(err, ERROR_USAGE, "%.255s: not an IPv4 or IPv6 address",
				  host ? host : "?");
	if (!inet_ntop(a.v6 ? AF_INET6 : AF_INET, a.b, shown, sizeof(shown)))
		snprintf(shown, sizeof(shown), "?");
	/* Messages name the host as given; a name's addresses are not shown
	 * (what an internal name resolves to is not the tenant's business). */
	who = host ? host : shown;
	key = host_key(host);
	if (list_matches(&p->lists[NETPOLICY_DENY], key, &a, port)) {
		ret = error_setk(err, ERROR_USAGE, "%.255s port %u is refused by setting %s", who,
				 port, p->names[NETPOLICY_DENY]);
	} else if ((b = builtin_block(&a)) >= 0) {
		if (!allow_opens(&p->lists[NETPOLICY_ALLOW], &a, port, builtin[b].prefix))
			ret = error_setk(err, ERROR_USAGE,
					 "%.255s port %u %s %s address: sources may reach it only "
					 "where setting %s names it", who, port,
					 host && !host_is_address(host) ? "resolves to" : "is",
					 builtin[b].what, p->names[NETPOLICY_ALLOW]);
	} else if (p->lists[NETPOLICY_ALLOW].n > 0 &&
		   !list_matches(&p->lists[NETPOLICY_ALLOW], key, &a, port)) {
		ret = error_setk(err, ERROR_USAGE, "%.255s port %u is not in setting %s", who, port,
				 p->names[NETPOLICY_ALLOW]);
	}
	free(key);
	return ret;
}

int netpolicy_check_host(const struct netpolicy *p, const char *host, uint16_t port,
			 struct error *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char ps[8];
	int ret = 0;

	snprintf(ps, sizeof(ps), "%u", port);
	if (getaddrinfo(host, ps, &hints, &res) != 0)
		return 0;
	for (const struct addrinfo *ai = res; ai && ret == 0; ai = ai->ai_next)
		ret = netpolicy_check(p, host, ai->ai_addr, ai->ai_addrlen, err);
	freeaddrinfo(res);
	return ret;
}
