/* Where connections may go (src/lib/netpolicy.h): entry syntax, the
 * built-in blocks, allow and deny lists, IPv4, IPv6, IPv4-mapped IPv6,
 * ports and host names. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/error.h"
#include "lib/netpolicy.h"

#include "harness.h"

/* netpolicy_check() on an address in text; 0 allowed, -1 refused (the
 * message in err). */
static int check(const struct netpolicy *p, const char *host, const char *addr, uint16_t port,
		 struct error *err)
{
	struct sockaddr_storage ss;
	socklen_t len;

	memset(&ss, 0, sizeof(ss));
	error_init(err);
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
			return -2;
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
			return -2;
		len = sizeof(*s4);
	}
	return netpolicy_check(p, host, (const struct sockaddr *)&ss, len, err);
}

static struct netpolicy *policy(const char *allow, const char *deny, struct error *err)
{
	struct netpolicy *p = netpolicy_new("source_allow", "source_deny");

	error_init(err);
	if ((allow && netpolicy_add(p, NETPOLICY_ALLOW, allow, err) < 0) ||
	    (deny && netpolicy_add(p, NETPOLICY_DENY, deny, err) < 0))
		netpolicy_free(&p);
	return p;
}

static void test_defaults(void)
{
	static const char *const refused[] = {
		"127.0.0.1", "127.255.255.254", "0.0.0.0", "0.1.2.3", "169.254.169.254",
		"169.254.1.1", "100.100.100.200", "192.0.0.192", "::1", "::", "fe80::1",
		"febf:ffff::1", "fd00:ec2::254", "fd00:ec2::23",
		"::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:0.0.0.0", "::ffff:100.100.100.200",
	};
	static const char *const allowed[] = {
		"192.0.2.7", "10.1.2.3", "172.16.0.1", "192.168.1.1", "8.8.8.8", "100.100.100.201",
		"128.0.0.1", "126.255.255.255", "169.253.0.1", "2001:db8::1", "fec0::1",
		"fd00:ec2::255", "::2", "::ffff:8.8.8.8", "::ffff:10.0.0.1",
	};
	struct error err;
	struct netpolicy *p = policy(NULL, NULL, &err);

	CHECK(p != NULL);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		CHECKF(check(p, NULL, refused[i], 993, &err) == -1, "%s was allowed", refused[i]);
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		CHECKF(check(p, NULL, allowed[i], 993, &err) == 0, "%s: %s", allowed[i], err.msg);
	/* the message names the host as given, the port, the class and the setting */
	CHECK(check(p, "127.0.0.1", "127.0.0.1", 2222, &err) == -1);
	CHECKF(strstr(err.msg, "127.0.0.1 port 2222 is a loopback address") &&
	       strstr(err.msg, "source_allow") && err.code == ERROR_USAGE, "%s", err.msg);
	CHECK(check(p, "LocalHost", "::1", 143, &err) == -1);
	CHECKF(strstr(err.msg, "LocalHost port 143 resolves to a loopback address"), "%s", err.msg);
	CHECK(check(p, "meta", "169.254.169.254", 80, &err) == -1);
	CHECKF(strstr(err.msg, "cloud metadata"), "%s", err.msg);
	/* a name's address is not shown */
	CHECKF(strstr(err.msg, "169.254") == NULL, "%s", err.msg);
out:
	netpolicy_free(&p);
}

static void test_allow_opens_builtin(void)
{
	struct error err;
	struct netpolicy *p = policy("127.0.0.1:18800, [::1]:143, 169.254.0.0/16", NULL, &err);

	CHECKF(p != NULL, "%s", err.msg);
	CHECK(check(p, NULL, "127.0.0.1", 18800, &err) == 0);
	CHECK(check(p, NULL, "::ffff:127.0.0.1", 18800, &err) == 0);
	CHECK(check(p, NULL, "127.0.0.1", 18801, &err) == -1); /* another port */
	CHECK(check(p, NULL, "127.0.0.2", 18800, &err) == -1); /* another address */
	CHECK(check(p, NULL, "::1", 143, &err) == 0);
	CHECK(check(p, NULL, "::1", 993, &err) == -1);
	CHECK(check(p, NULL, "169.254.1.1", 80, &err) == 0);
	/* the metadata address is a narrower block than 169.254.0.0/16 */
	CHECK(check(p, NULL, "169.254.169.254", 80, &err) == -1);
	/* with an allow list, what it does not name is refused */
	CHECK(check(p, NULL, "8.8.8.8", 993, &err) == -1);
	CHECKF(strstr(err.msg, "8.8.8.8 port 993 is not in setting source_allow"), "%s", err.msg);
	netpolicy_free(&p);

	/* "*" and 0.0.0.0/0 allow everything else, never a built-in block */
	p = policy("*, 0.0.0.0/0, ::/0", NULL, &err);
	CHECK(p != NULL);
	CHECK(check(p, NULL, "8.8.8.8", 1, &err) == 0);
	CHECK(check(p, NULL, "2001:db8::1", 1, &err) == 0);
	CHECK(check(p, NULL, "127.0.0.1", 143, &err) == -1);
	CHECK(check(p, NULL, "::1", 143, &err) == -1);
	CHECK(check(p, NULL, "::ffff:127.0.0.1", 143, &err) == -1);
	netpolicy_free(&p);

	/* a host name never opens a built-in block, whatever it resolves to */
	p = policy("localhost, mail.example.com", NULL, &err);
	CHECK(p != NULL);
	CHECK(check(p, "localhost", "127.0.0.1", 143, &err) == -1);
	CHECK(check(p, "mail.example.com", "127.0.0.1", 143, &err) == -1);
	CHECK(check(p, "mail.example.com", "192.0.2.1", 143, &err) == 0);
	/* exactly the /8 opens all of loopback; an IPv4-mapped entry counts as IPv4 */
	netpolicy_free(&p);
	p = policy("127.0.0.0/8, ::ffff:169.254.169.254", NULL, &err);
	CHECKF(p != NULL, "%s", err.msg);
	CHECK(check(p, NULL, "127.9.9.9", 143, &err) == 0);
	CHECK(check(p, NULL, "169.254.169.254", 80, &err) == 0);
	CHECK(check(p, NULL, "::ffff:169.254.169.254", 80, &err) == 0);
	CHECK(check(p, NULL, "169.254.169.253", 80, &err) == -1);
out:
	netpolicy_free(&p);
}

static void test_deny_wins(void)
{
	struct error err;
	struct netpolicy *p = policy("10.0.0.0/8, 127.0.0.0/8", "10.9.0.0/16, 127.0.0.1:22, "
				     "[2001:db8::/32]:25, *.evil.example, 192.0.2.1", &err);

	CHECKF(p != NULL, "%s", err.msg);
	CHECK(check(p, NULL, "10.1.2.3", 993, &err) == 0);
	CHECK(check(p, NULL, "10.9.2.3", 993, &err) == -1);
	CHECKF(strstr(err.msg, "10.9.2.3 port 993 is refused by setting source_deny"), "%s", err.msg);
	CHECK(check(p, NULL, "127.0.0.1", 22, &err) == -1);
	CHECK(check(p, NULL, "127.0.0.1", 143, &err) == 0);
	CHECK(check(p, NULL, "::ffff:10.9.0.1", 143, &err) == -1);
	netpolicy_free(&p);

	/* no allow list: everything outside the built-in blocks and the deny list */
	p = policy(NULL, "[2001:db8::/32]:25, *.evil.example, 192.0.2.1, ::ffff:198.51.100.0/120",
		   &err);
	CHECKF(p != NULL, "%s", err.msg);
	CHECK(check(p, NULL, "2001:db8::5", 25, &err) == -1);
	CHECK(check(p, NULL, "2001:db8::5", 26, &err) == 0);
	CHECK(check(p, NULL, "2001:db9::5", 25, &err) == 0);
	CHECK(check(p, "a.evil.example", "192.0.2.9", 993, &err) == -1);
	CHECK(check(p, "A.B.EVIL.EXAMPLE.", "192.0.2.9", 993, &err) == -1);
	CHECK(check(p, "evil.example", "192.0.2.9", 993, &err) == 0); /* *. is below it only */
	CHECK(check(p, "notevil.example", "192.0.2.9", 993, &err) == 0);
	CHECK(check(p, NULL, "192.0.2.1", 1, &err) == -1);
	CHECK(check(p, NULL, "::ffff:192.0.2.1", 1, &err) == -1);
	CHECK(check(p, NULL, "198.51.100.77", 1, &err) == -1); /* ::ffff:…/120 is a /24 */
	CHECK(check(p, NULL, "198.51.101.77", 1, &err) == 0);
out:
	netpolicy_free(&p);
}

static void test_ports_and_names(void)
{
	struct error err;
	struct netpolicy *p = policy("*:993, mail.example.com:143, 192.0.2.0/24:*", NULL, &err);

	CHECKF(p != NULL, "%s", err.msg);
	CHECK(check(p, "anything.example", "198.51.100.1", 993, &err) == 0);
	CHECK(check(p, "anything.example", "198.51.100.1", 143, &err) == -1);
	CHECK(check(p, "mail.example.com", "198.51.100.1", 143, &err) == 0);
	CHECK(check(p, "MAIL.example.com.", "198.51.100.1", 143, &err) == 0);
	CHECK(check(p, "mail.example.com", "198.51.100.1", 25, &err) == -1);
	CHECK(check(p, "x.mail.example.com", "198.51.100.1", 143, &err) == -1);
	CHECK(check(p, NULL, "192.0.2.200", 25, &err) == 0);
	CHECK(check(p, NULL, "192.0.3.1", 25, &err) == -1);
	/* the name is the one given, not one the address happens to have */
	CHECK(check(p, NULL, "198.51.100.1", 143, &err) == -1);
out:
	netpolicy_free(&p);
}

static void test_syntax(void)
{
	static const char *const good[] = {
		"*", "*:993", "10.0.0.0/8", "10.0.0.0/8:993", "192.0.2.7", "192.0.2.7:143",
		"2001:db8::/32", "[2001:db8::/32]:993", "[2001:db8::]/32:993", "[::1]", "[::1]:143",
		"::1", "::ffff:127.0.0.1", "mail.example.com", "mail.example.com:993",
		"*.example.com:993", "localhost", " 10.0.0.0/8 ,\t::1 ", "0.0.0.0/0", "::/0",
		"host_1.example", "a-b.c:*",
	};
	static const char *const bad[] = {
		"", ",", "10.0.0.0/8,", "10.0.0.0/33", "10.0.0.1/8", "10.0.0.0/", "10.0.0.0/08",
		"::1/129", "[::1", "[::1]x", "[::1]:0", "[::1]:65536", "[10.0.0.1]:993",
		"10.0.0.1:0", "10.0.0.1:65536", "10.0.0.1:x", "10.1", "300.1.2.3", "a..b",
		".example.com", "exa mple.com", "**.example.com", "-a.example", "a-.example", "host:1:2:3/200",
		"mail.example.com:", "-", "a/b", "10.0.0.0/8:99999",
	};
	struct error err;
	struct netpolicy *p = netpolicy_new("source_allow", "source_deny");

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		error_init(&err);
		CHECKF(netpolicy_add(p, NETPOLICY_ALLOW, good[i], &err) == 0, "'%s': %s", good[i],
		       err.msg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error_init(&err);
		CHECKF(netpolicy_add(p, NETPOLICY_DENY, bad[i], &err) == -1, "'%s' was taken",
		       bad[i]);
		CHECKF(err.code == ERROR_USAGE && strstr(err.msg, "source_deny"), "%s", err.msg);
	}
	/* a bad entry adds nothing of its list */
	netpolicy_free(&p);
	p = netpolicy_new("source_allow", "source_deny");
	error_init(&err);
	CHECK(netpolicy_add(p, NETPOLICY_DENY, "8.8.8.8, bogus..name", &err) == -1);
	CHECKF(strstr(err.msg, "entry 2 ('bogus..name')"), "%s", err.msg);
	CHECK(check(p, NULL, "8.8.8.8", 53, &err) == 0);
out:
	netpolicy_free(&p);
}

static void test_check_host(void)
{
	struct error err;
	struct netpolicy *p = netpolicy_new("source_allow", "source_deny");

	error_init(&err);
	CHECK(netpolicy_check_host(p, "127.0.0.1", 143, &err) == -1);
	CHECKF(strstr(err.msg, "127.0.0.1 port 143 is a loopback address"), "%s", err.msg);
	error_init(&err);
	CHECK(netpolicy_check_host(p, "localhost", 143, &err) == -1);
	CHECKF(strstr(err.msg, "localhost port 143 resolves to a loopback address"), "%s", err.msg);
	error_init(&err);
	CHECK(netpolicy_check_host(p, "127.1", 143, &err) == -1);     /* inet_aton's forms */
	error_init(&err);
	CHECK(netpolicy_check_host(p, "2130706433", 143, &err) == -1);
	error_init(&err);
	CHECK(netpolicy_check_host(p, "::ffff:7f00:1", 143, &err) == -1);
	error_init(&err);
	CHECK(netpolicy_check_host(p, "192.0.2.1", 143, &err) == 0);
	error_init(&err);
	CHECK(netpolicy_check_host(p, "no-such-host.invalid", 143, &err) == 0);
	CHECK(netpolicy_add(p, NETPOLICY_ALLOW, "127.0.0.1:143", &err) == 0);
	error_init(&err);
	CHECKF(netpolicy_check_host(p, "127.0.0.1", 143, &err) == 0, "%s", err.msg);
	CHECK(netpolicy_check_host(p, "127.0.0.1", 144, &err) == -1);
out:
	netpolicy_free(&p);
}

const struct unit_test netpolicy_tests[] = {
	{ "netpolicy_defaults", test_defaults },
	{ "netpolicy_allow_opens_builtin", test_allow_opens_builtin },
	{ "netpolicy_deny_wins", test_deny_wins },
	{ "netpolicy_ports_and_names", test_ports_and_names },
	{ "netpolicy_syntax", test_syntax },
	{ "netpolicy_check_host", test_check_host },
	{ NULL, NULL },
};
