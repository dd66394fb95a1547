#ifndef COFFER_NETPOLICY_H
#define COFFER_NETPOLICY_H

/* Which network destinations a connection made on someone else's behalf
 * may go to (docs/service.md "Configuration": source_allow, source_deny;
 * docs/imap.md "Where the service connects"). The service builds one from
 * its settings and hands it to the sources, which check every resolved
 * address before connecting to it; the standalone CLI passes none.
 *
 * An entry is `*`, an address, an address block (CIDR) or a host name, each
 * with an optional port:
 *
 *   *  *:993  10.0.0.0/8  10.0.0.0/8:993  192.0.2.7:143
 *   2001:db8::/32  [2001:db8::/32]:993  [::1]:143
 *   mail.example.com  mail.example.com:993  *.example.com:993
 *
 * A connection to address A, port P, for the host name H as given, is
 * refused when a deny entry matches it; else, when A is in a built-in block
 * (loopback, link-local, cloud metadata, unspecified), allowed only if an
 * allow entry naming an address or block at least as narrow as that block
 * matches (so `127.0.0.1` opens loopback, `*` and `0.0.0.0/0` do not, and
 * a host name never does: DNS cannot turn an allowed name into loopback);
 * else allowed when no allow entry was given, or when one matches.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) count as the IPv4 address,
 * in entries and in connections. A policy is read-only once built, so
 * threads may share it. */

#include <stdint.h>
#include <sys/socket.h>

struct error;
struct netpolicy;

enum netpolicy_list {
	NETPOLICY_ALLOW = 0,
	NETPOLICY_DENY,
};

/* A policy without entries (every address outside the built-in blocks).
 * allow_name and deny_name are what messages call the two lists (the
 * settings, e.g. "source_allow"); copied. */
struct netpolicy *netpolicy_new(const char *allow_name, const char *deny_name);
/* Accepts NULL; sets *p to NULL. */
void netpolicy_free(struct netpolicy **p);

/* Adds the comma-separated entries of `text` to a list. -1 (ERROR_USAGE)
 * naming the first bad entry, and then nothing was added. */
int netpolicy_add(struct netpolicy *p, enum netpolicy_list list, const char *text,
		  struct error *err);

/* 0 if a connection to `sa` (AF_INET or AF_INET6, with its port) for the
 * host name `host` (as the user gave it; may be NULL) is allowed; else -1
 * (ERROR_USAGE) with a message naming the host, the port and why. The
 * message depends only on the host, the address's class and the port,
 * never on whether anything listens there. */
int netpolicy_check(const struct netpolicy *p, const char *host, const struct sockaddr *sa,
		    socklen_t salen, struct error *err);

/* Resolves host and checks every address it resolves to (at unit
 * creation; the connection is checked again when it is made). A name that
 * does not resolve passes. 0 or -1 as netpolicy_check(). */
int netpolicy_check_host(const struct netpolicy *p, const char *host, uint16_t port,
			 struct error *err);

#endif
