/*
 * The network allowlist proxy: the allowlist parser and matcher, address
 * classification, and the proxy itself on real loopback sockets (raw
 * requests, a fake resolver, a listener handed over as the sandbox's
 * helper hands it).
 */
#define _GNU_SOURCE
#include "runner.h"
#include "netproxy.h"
#include "timeutil.h"
#include "tap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

static struct netproxy_addr addr(const char *s)
{
	struct netproxy_host h;

	if (netproxy_host_parse(s, strlen(s), true, &h) < 0 ||
	    h.kind != NETPROXY_HOST_ADDR) {
		printf("# bad address in the test: %s\n", s);
		exit(1);
	}
	return h.addr;
}

static void test_classify(void)
{
	static const struct {
		const char *a;
		enum netproxy_addr_class c;
	} rows[] = {
		{ "8.8.8.8", NETPROXY_ADDR_PUBLIC },
		{ "1.1.1.1", NETPROXY_ADDR_PUBLIC },
		{ "127.0.0.1", NETPROXY_ADDR_LOOPBACK },
		{ "127.255.255.254", NETPROXY_ADDR_LOOPBACK },
		{ "10.0.0.1", NETPROXY_ADDR_PRIVATE },
		{ "172.16.0.1", NETPROXY_ADDR_PRIVATE },
		{ "172.31.255.255", NETPROXY_ADDR_PRIVATE },
		{ "172.32.0.1", NETPROXY_ADDR_PUBLIC },
		{ "172.15.255.255", NETPROXY_ADDR_PUBLIC },
		{ "192.168.1.1", NETPROXY_ADDR_PRIVATE },
		{ "100.64.0.1", NETPROXY_ADDR_PRIVATE },
		{ "100.100.100.200", NETPROXY_ADDR_PRIVATE },
		{ "100.128.0.1", NETPROXY_ADDR_PUBLIC },
		{ "169.254.169.254", NETPROXY_ADDR_LINK_LOCAL },
		{ "168.63.129.16", NETPROXY_ADDR_LINK_LOCAL },
		{ "0.0.0.0", NETPROXY_ADDR_UNSPECIFIED },
		{ "0.1.2.3", NETPROXY_ADDR_UNSPECIFIED },
		{ "224.0.0.1", NETPROXY_ADDR_MULTICAST },
		{ "239.255.255.250", NETPROXY_ADDR_MULTICAST },
		{ "255.255.255.255", NETPROXY_ADDR_BROADCAST },
		{ "240.0.0.1", NETPROXY_ADDR_RESERVED },
		{ "192.0.2.2", NETPROXY_ADDR_RESERVED },
		{ "192.0.0.192", NETPROXY_ADDR_RESERVED },
		{ "198.18.0.1", NETPROXY_ADDR_RESERVED },
		{ "198.51.100.7", NETPROXY_ADDR_RESERVED },
		{ "203.0.113.9", NETPROXY_ADDR_RESERVED },
		{ "::1", NETPROXY_ADDR_LOOPBACK },
		{ "::", NETPROXY_ADDR_UNSPECIFIED },
		{ "::2", NETPROXY_ADDR_RESERVED },
		{ "::127.0.0.1", NETPROXY_ADDR_RESERVED },
		{ "::ffff:127.0.0.1", NETPROXY_ADDR_LOOPBACK },
		{ "::ffff:10.0.0.1", NETPROXY_ADDR_PRIVATE },
		{ "::ffff:8.8.8.8", NETPROXY_ADDR_PUBLIC },
		{ "fe80::1", NETPROXY_ADDR_LINK_LOCAL },
		{ "febf::1", NETPROXY_ADDR_LINK_LOCAL },
		{ "fec0::1", NETPROXY_ADDR_PRIVATE },
		{ "fc00::1", NETPROXY_ADDR_PRIVATE },
		{ "fd00:ec2::254", NETPROXY_ADDR_PRIVATE },
		{ "ff02::1", NETPROXY_ADDR_MULTICAST },
		{ "64:ff9b::7f00:1", NETPROXY_ADDR_LOOPBACK },
		{ "64:ff9b::a9fe:a9fe", NETPROXY_ADDR_LINK_LOCAL },
		{ "64:ff9b::808:808", NETPROXY_ADDR_PUBLIC },
		{ "64:ff9b:1::1", NETPROXY_ADDR_PRIVATE },
		{ "2002:7f00:1::1", NETPROXY_ADDR_LOOPBACK },
		{ "2002:c0a8:101::1", NETPROXY_ADDR_PRIVATE },
		{ "2002:808:808::1", NETPROXY_ADDR_PUBLIC },
		{ "2001:db8::1", NETPROXY_ADDR_RESERVED },
		{ "3fff::1", NETPROXY_ADDR_RESERVED },
		{ "100::1", NETPROXY_ADDR_RESERVED },
		{ "2606:4700::1111", NETPROXY_ADDR_PUBLIC },
		{ "2a00:1450::1", NETPROXY_ADDR_PUBLIC },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct netproxy_addr a = addr(rows[i].a);

		is_int(netproxy_addr_classify(&a), rows[i].c,
		       "classify %s: %s", rows[i].a,
		       netproxy_addr_class_name(rows[i].c));
	}
	{
		/* v4-mapped canonicalises to the IPv4 address itself */
		struct netproxy_addr a = addr("::ffff:127.0.0.1");
		char buf[64];

		netproxy_addr_str(&a, buf, sizeof(buf));
		ok(a.family == AF_INET && !strcmp(buf, "127.0.0.1"),
		   "::ffff:127.0.0.1 is 127.0.0.1 (%s)", buf);
	}
}

static void test_host_parse(void)
{
	static const struct {
		const char *in;
		int ret;
		const char *name;
		bool is_addr;
	} rows[] = {
		{ "api.anthropic.com", 0, "api.anthropic.com", false },
		{ "API.Anthropic.COM.", 0, "api.anthropic.com", false },
		{ "a_b-c.example", 0, "a_b-c.example", false },
		{ "127.0.0.1", 0, "127.0.0.1", true },
		{ "[::1]", 0, "::1", true },
		{ "[0:0:0:0:0:0:0:1]", 0, "::1", true },
		{ "[::ffff:127.0.0.1]", 0, "127.0.0.1", true },
		{ "[::FFFF:7f00:1]", 0, "127.0.0.1", true },
		{ "localhost", 0, "localhost", false },
		{ "", -1, NULL, false },
		{ ".", -1, NULL, false },
		{ "a..b", -1, NULL, false },
		{ ".a", -1, NULL, false },
		{ "a b", -1, NULL, false },
		{ "a/b", -1, NULL, false },
		{ "a%00b", -1, NULL, false },
		{ "127.1", -1, NULL, false },
		{ "2130706433", -1, NULL, false },
		{ "0x7f000001", -1, NULL, false },
		{ "0x7f.0.0.1", -1, NULL, false },
		{ "0177.0.0.1", -1, NULL, false },
		{ "127.000.000.001", -1, NULL, false },
		{ "1.2.3.4.5", -1, NULL, false },
		{ "example.123", -1, NULL, false },
		{ "::1", -1, NULL, false }, /* bare, not bare_v6 */
		{ "[fe80::1%eth0]", -1, NULL, false },
		{ "[::1", -1, NULL, false },
		{ "[example.org]", -1, NULL, false },
		{ "evil.com\x01.ok.org", -1, NULL, false },
	};
	struct netproxy_host h;
	char long_label[80], long_name[300];

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		int ret = netproxy_host_parse(rows[i].in, strlen(rows[i].in),
					      false, &h);

		if (rows[i].ret < 0) {
			is_int(ret, -1, "host '%s' is refused", rows[i].in);
			continue;
		}
		ok(ret == 0 && !strcmp(h.name, rows[i].name) &&
			   (h.kind == NETPROXY_HOST_ADDR) == rows[i].is_addr,
		   "host '%s' -> '%s'", rows[i].in, rows[i].name);
	}
	/* an embedded NUL ends nothing: the length is what counts */
	is_int(netproxy_host_parse("a\0.b", 4, false, &h), -1,
	       "a NUL inside a host is refused");
	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	is_int(netproxy_host_parse(long_label, 64, false, &h), -1,
	       "a 64-byte label is refused");
	memset(long_name, 'a', sizeof(long_name));
	for (size_t i = 50; i < 260; i += 50)
		long_name[i] = '.';
	is_int(netproxy_host_parse(long_name, 254, false, &h), -1,
	       "a 254-byte name is refused");
	is_int(netproxy_host_parse(long_name, 253, false, &h), 0,
	       "a 253-byte name is taken");
}

static void test_allowlist_parse(void)
{
	static const struct {
		const char *in;
		enum netproxy_rule_kind kind;
		const char *host;
		unsigned port;
	} good[] = {
		{ "api.anthropic.com:443", NETPROXY_RULE_NAME,
		  "api.anthropic.com", 443 },
		{ "API.example.ORG.:8443", NETPROXY_RULE_NAME, "api.example.org",
		  8443 },
		{ "*.pkg.example.org:443", NETPROXY_RULE_SUFFIX,
		  "pkg.example.org", 443 },
		{ "127.0.0.1:8080", NETPROXY_RULE_ADDR, "127.0.0.1", 8080 },
		{ "[::1]:8080", NETPROXY_RULE_ADDR, "::1", 8080 },
		{ "[::ffff:10.0.0.5]:80", NETPROXY_RULE_ADDR, "10.0.0.5", 80 },
		{ "localhost:8080", NETPROXY_RULE_LOCALHOST, "localhost", 8080 },
		{ "model.localhost:1", NETPROXY_RULE_LOCALHOST,
		  "model.localhost", 1 },
		{ "x:65535", NETPROXY_RULE_NAME, "x", 65535 },
	};
	static const struct {
		const char *in;
		const char *msg;
	} bad[] = {
		{ "api.anthropic.com",
		  "'api.anthropic.com': missing port (write "
		  "api.anthropic.com:443)" },
		{ "example.org:*",
		  "'example.org:*': the port must be a number; list each port" },
		{ "example.org:0", "'example.org:0': bad port '0' (1-65535)" },
		{ "example.org:65536",
		  "'example.org:65536': bad port '65536' (1-65535)" },
		{ "example.org:", "'example.org:': bad port '' (1-65535)" },
		{ "example.org:44x3", "'example.org:44x3': bad port '44x3' "
				      "(1-65535)" },
		{ "*:443", "'*:443': a wildcard needs a domain "
			   "(*.example.org:443); network: true is the whole "
			   "network" },
		{ "*", "'*': a wildcard needs a domain (*.example.org:443); "
		       "network: true is the whole network" },
		{ "*.com:443",
		  "'*.com:443': the wildcard covers a whole top-level domain" },
		{ "a.*.org:443", "'a.*.org:443': '*' may only start a name, as "
				 "in *.example.org:443" },
		{ "*.127.0.0.1:80",
		  "'*.127.0.0.1:80': a wildcard takes a domain, not an "
		  "address" },
		{ "*.localhost:80", "'*.localhost:80': list the names under "
				    "localhost one by one" },
		{ "::1:8080", "'::1:8080': write an IPv6 address in brackets, "
			      "as in [::1]:8080" },
		{ "[::1]", "'[::1]': missing port (write [::1]:443)" },
		{ "[::1]8080", "'[::1]8080': expected ':PORT' after ']'" },
		{ "[::1:8080", "'[::1:8080': unclosed '['" },
		{ "127.1:80",
		  "'127.1:80': '127.1' is not a host name or an IP address" },
		{ "exa mple.org:443", "'exa mple.org:443': a destination has "
				      "no spaces or control characters" },
		{ "", "an empty network destination" },
		{ "http://example.org:443",
		  "'http://example.org:443': write an IPv6 address in "
		  "brackets, as in [::1]:8080" },
		{ "example.org/x:443", "'example.org/x:443': 'example.org/x' "
				       "is not a host name or an IP address" },
	};
	struct netproxy_allowlist al = NETPROXY_ALLOWLIST_INIT;
	struct strbuf err = STRBUF_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		int ret = netproxy_allowlist_add(&al, good[i].in, &err);
		const struct netproxy_rule *r = &al.rules[al.nr - 1];

		ok(ret == 0 && r->kind == good[i].kind &&
			   !strcmp(r->host.name, good[i].host) &&
			   r->port == good[i].port,
		   "entry '%s' is taken (%s)", good[i].in, err.buf);
	}
	is_int(al.nr, ARRAY_SIZE(good), "one rule per entry");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		strbuf_reset(&err);
		is_int(netproxy_allowlist_add(&al, bad[i].in, &err), -1,
		       "entry '%s' is refused", bad[i].in);
		is_str(err.buf, bad[i].msg, "with the message for '%s'",
		       bad[i].in);
	}
	is_int(al.nr, ARRAY_SIZE(good), "a refused entry adds nothing");
	netproxy_allowlist_release(&al);
	strbuf_release(&err);
}

static struct netproxy_allowlist make_list(const char *const *entries)
{
	struct netproxy_allowlist al = NETPROXY_ALLOWLIST_INIT;
	struct strbuf err = STRBUF_INIT;

	for (; *entries; entries++)
		if (netproxy_allowlist_add(&al, *entries, &err) < 0) {
			printf("# bad entry in the test: %s\n", err.buf);
			exit(1);
		}
	strbuf_release(&err);
	return al;
}

static void test_match(void)
{
	static const char *const entries[] = {
		"api.anthropic.com:443", "*.pkg.example.org:443",
		"127.0.0.1:8080", "[::1]:9090", "localhost:7070", NULL,
	};
	static const struct {
		const char *host;
		unsigned port;
		int rule;
	} rows[] = {
		{ "api.anthropic.com", 443, 0 },
		{ "API.ANTHROPIC.COM.", 443, 0 },
		{ "api.anthropic.com", 80, -1 },
		{ "x.api.anthropic.com", 443, -1 },
		{ "anthropic.com", 443, -1 },
		{ "api.anthropic.com.evil.org", 443, -1 },
		{ "a.pkg.example.org", 443, 1 },
		{ "a.b.pkg.example.org", 443, 1 },
		{ "pkg.example.org", 443, -1 },
		{ "xpkg.example.org", 443, -1 },
		{ "a.pkg.example.org", 80, -1 },
		{ "127.0.0.1", 8080, 2 },
		{ "[::ffff:127.0.0.1]", 8080, 2 },
		{ "127.0.0.1", 8081, -1 },
		{ "127.0.0.2", 8080, -1 },
		{ "[::1]", 9090, 3 },
		{ "[0::1]", 9090, 3 },
		{ "[::1]", 8080, -1 },
		{ "localhost", 7070, 4 },
		{ "localhost", 8080, -1 }, /* 127.0.0.1:8080 is not a name */
		{ "localhost.", 7070, 4 },
		{ "example.org", 443, -1 },
	};
	struct netproxy_allowlist al = make_list(entries);

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct netproxy_host h;
		int ret = netproxy_host_parse(rows[i].host,
					      strlen(rows[i].host), false, &h);

		ok(ret == 0 && netproxy_allowlist_match(&al, &h,
							rows[i].port) ==
				       rows[i].rule,
		   "%s:%u matches rule %d", rows[i].host, rows[i].port,
		   rows[i].rule);
	}
	netproxy_allowlist_release(&al);
}

static void test_permits(void)
{
	static const char *const entries[] = {
		"api.example.org:443",	  /* 0 */
		"*.cdn.example.org:443",  /* 1 */
		"intranet.corp:443",	  /* 2 */
		"10.1.2.3:443",		  /* 3: makes intranet.corp ok */
		"localhost:8080",	  /* 4 */
		"127.0.0.1:9000",	  /* 5 */
		NULL,
	};
	static const struct {
		size_t rule;
		const char *a;
		unsigned port;
		enum netproxy_addr_class want;
	} rows[] = {
		{ 0, "93.184.216.34", 443, NETPROXY_ADDR_PUBLIC },
		{ 0, "2606:2800:220:1::1", 443, NETPROXY_ADDR_PUBLIC },
		{ 0, "127.0.0.1", 443, NETPROXY_ADDR_LOOPBACK },
		{ 0, "::1", 443, NETPROXY_ADDR_LOOPBACK },
		{ 0, "::ffff:127.0.0.1", 443, NETPROXY_ADDR_LOOPBACK },
		{ 0, "192.168.0.10", 443, NETPROXY_ADDR_PRIVATE },
		{ 0, "169.254.169.254", 443, NETPROXY_ADDR_LINK_LOCAL },
		{ 0, "0.0.0.0", 443, NETPROXY_ADDR_UNSPECIFIED },
		{ 0, "::", 443, NETPROXY_ADDR_UNSPECIFIED },
		{ 0, "64:ff9b::7f00:1", 443, NETPROXY_ADDR_LOOPBACK },
		{ 0, "93.184.216.35", 443, NETPROXY_ADDR_HOST }, /* own */
		{ 0, "10.1.2.3", 443, NETPROXY_ADDR_PUBLIC }, /* listed */
		{ 0, "10.1.2.3", 8443, NETPROXY_ADDR_PRIVATE },
		{ 0, "::ffff:10.1.2.3", 443, NETPROXY_ADDR_PUBLIC },
		{ 1, "10.9.9.9", 443, NETPROXY_ADDR_PRIVATE },
		{ 1, "151.101.1.1", 443, NETPROXY_ADDR_PUBLIC },
		{ 2, "10.1.2.3", 443, NETPROXY_ADDR_PUBLIC },
		{ 2, "10.1.2.4", 443, NETPROXY_ADDR_PRIVATE },
		{ 4, "127.0.0.1", 8080, NETPROXY_ADDR_PUBLIC },
		{ 4, "::1", 8080, NETPROXY_ADDR_PUBLIC },
		{ 4, "8.8.8.8", 8080, NETPROXY_ADDR_RESERVED },
		{ 5, "127.0.0.1", 9000, NETPROXY_ADDR_PUBLIC },
		{ 5, "127.0.0.2", 9000, NETPROXY_ADDR_LOOPBACK },
	};
	struct netproxy_allowlist al = make_list(entries);
	/* a public address stands for the host's own interface here */
	struct netproxy_addr own[2] = { addr("127.0.0.1"),
					addr("93.184.216.35") };

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct netproxy_addr a = addr(rows[i].a);

		is_int(netproxy_allowlist_permits(&al, rows[i].rule, &a,
						  rows[i].port, own, 2),
		       rows[i].want, "rule %zu may%s reach %s:%u",
		       rows[i].rule,
		       rows[i].want == NETPROXY_ADDR_PUBLIC ? "" : " not",
		       rows[i].a,
		       rows[i].port);
	}
	netproxy_allowlist_release(&al);
}

static void test_format(void)
{
	struct netproxy_refusal r = { .dest = (char *)"example.org:443",
				      .reason = NETPROXY_REFUSED_NOT_LISTED,
				      .count = 3 };
	struct strbuf sb = STRBUF_INIT;

	netproxy_refusal_format(&r, &sb);
	is_str(sb.buf, "blocked: example.org:443, 3 times", "event, 3 times");
	strbuf_reset(&sb);
	r.count = 1;
	r.reason = NETPROXY_REFUSED_ADDRESS;
	r.cls = NETPROXY_ADDR_LOOPBACK;
	netproxy_refusal_format(&r, &sb);
	is_str(sb.buf,
	       "blocked: example.org:443 (resolves to a loopback address), "
	       "1 time",
	       "event, address refused");
	strbuf_reset(&sb);
	r.reason = NETPROXY_REFUSED_MALFORMED;
	r.count = 2;
	netproxy_refusal_format(&r, &sb);
	is_str(sb.buf, "blocked: malformed proxy request, 2 times",
	       "event, malformed");
	strbuf_release(&sb);
}

/* --- The proxy on real sockets -------------------------------------- */

static int fake_resolve(void *ctx, const char *name, struct netproxy_addr *out,
			size_t max)
{
	(void)ctx;
	(void)max;
	if (!strcmp(name, "up.test") || !strcmp(name, "rebind.test")) {
		out[0] = addr("127.0.0.1");
		return 1;
	}
	return -1;
}

static int listen_on(int *port)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	socklen_t len = sizeof(in);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&in, sizeof(in)) < 0 ||
	    listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&in, &len) < 0) {
		printf("# cannot listen: %s\n", strerror(errno));
		exit(1);
	}
	*port = ntohs(in.sin_port);
	return fd;
}

static int dial(int port)
{
	struct sockaddr_in in = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&in, sizeof(in)) < 0) {
		printf("# cannot connect: %s\n", strerror(errno));
		exit(1);
	}
	return fd;
}

/* Hand lfd over ctl as the helper does. */
static void send_listener(int ctl, int lfd)
{
	char hello[] = "runner-netproxy 1";
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = hello, .iov_len = strlen(hello) };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &lfd, sizeof(int));
	if (sendmsg(ctl, &msg, 0) < 0)
		exit(1);
}

/* Read until EOF or 3 s; returns what came. */
static char *read_all(int fd, size_t max)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	int64_t until = time_mono_ms() + 3000;

	while (sb.len < max) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = until - time_mono_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		strbuf_add(&sb, buf, (size_t)n);
	}
	return strbuf_detach(&sb, NULL);
}

static int accept_within(int lfd, int ms)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };

	if (poll(&p, 1, ms) <= 0)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

static void send_str(int fd, const char *s)
{
	if (send(fd, s, strlen(s), MSG_NOSIGNAL) < 0)
		printf("# send: %s\n", strerror(errno));
}

/* A request the proxy must answer itself with status code. */
static void expect_status(int pport, const char *req, const char *code,
			  const char *what)
{
	int c = dial(pport);
	char *resp;

	send_str(c, req);
	resp = read_all(c, 1 << 20);
	ok(!strncmp(resp, "HTTP/1.1 ", 9) && !strncmp(resp + 9, code, 3),
	   "%s: %s", what, code);
	if (strncmp(resp + 9 < resp + strlen(resp) ? resp + 9 : "", code, 3))
		printf("#   got '%.60s'\n", resp);
	free(resp);
	close(c);
}

static void test_proxy(void)
{
	struct netproxy_opts o = { .resolve = fake_resolve,
				   .idle_timeout_ms = 300,
				   .head_timeout_ms = 300 };
	struct netproxy_allowlist al = NETPROXY_ALLOWLIST_INIT;
	struct netproxy_report rep = NETPROXY_REPORT_INIT;
	struct strbuf err = STRBUF_INIT, sb = STRBUF_INIT;
	struct netproxy *np = netproxy_new(&o, &err);
	struct netproxy_task *t;
	int uport, pport, ulfd, plfd, sv[2], c, u;
	char *got;

	ok(np != NULL, "the proxy starts (%s)", err.buf);
	ulfd = listen_on(&uport);
	plfd = listen_on(&pport);
	strbuf_addf(&sb, "up.test:%d", uport);
	netproxy_allowlist_add(&al, sb.buf, &err);
	strbuf_reset(&sb);
	strbuf_addf(&sb, "rebind.test:%d", uport);
	netproxy_allowlist_add(&al, sb.buf, &err);
	strbuf_reset(&sb);
	strbuf_addf(&sb, "127.0.0.1:%d", uport);
	/* listed last: up.test resolves to it */
	netproxy_allowlist_add(&al, sb.buf, &err);
	socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
	t = netproxy_attach(np, &al, sv[1], &err);
	send_listener(sv[0], plfd);
	close(plfd);
	close(sv[0]);

	/* a plain request, rewritten */
	c = dial(pport);
	strbuf_reset(&sb);
	strbuf_addf(&sb,
		    "GET http://up.test:%d/x?y=1 HTTP/1.1\r\n"
		    "Host: up.test:%d\r\n"
		    "Proxy-Authorization: Basic c2VjcmV0\r\n"
		    "Proxy-Connection: keep-alive\r\n"
		    "Connection: keep-alive, X-Hop\r\n"
		    "X-Hop: 1\r\n"
		    "Keep-Alive: 5\r\n"
		    "User-Agent: u\r\n\r\n",
		    uport, uport);
	send_str(c, sb.buf);
	u = accept_within(ulfd, 3000);
	ok(u >= 0, "the upstream gets a connection");
	strbuf_reset(&sb);
	strbuf_addf(&sb,
		    "GET /x?y=1 HTTP/1.1\r\nHost: up.test:%d\r\n"
		    "User-Agent: u\r\nConnection: close\r\n\r\n",
		    uport);
	got = read_all(u, sb.len);
	is_str(got, sb.buf, "it gets the request in origin form, "
			    "hop-by-hop headers dropped");
	free(got);
	send_str(u, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
	close(u);
	got = read_all(c, 4096);
	is_str(got, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
	       "the client gets the response, then EOF");
	free(got);
	close(c);

	/* CONNECT: the 200, then bytes both ways, pipelined data too */
	c = dial(pport);
	strbuf_reset(&sb);
	strbuf_addf(&sb, "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d"
		    "\r\n\r\nearly", uport, uport);
	send_str(c, sb.buf);
	u = accept_within(ulfd, 3000);
	ok(u >= 0, "CONNECT reaches the upstream");
	{
		char buf[64] = { 0 };
		struct pollfd p = { .fd = u, .events = POLLIN };
		ssize_t n = poll(&p, 1, 3000) > 0 ? read(u, buf, 5) : -1;

		ok(n == 5 && !memcmp(buf, "early", 5),
		   "bytes sent with the CONNECT arrive");
		send_str(u, "pong");
		shutdown(u, SHUT_WR);
		got = read_all(c, 4096);
		is_str(got, "HTTP/1.1 200 Connection established\r\n\r\npong",
		       "the client gets the 200 and the tunnel's bytes");
		free(got);
	}
	/* the idle timeout closes a tunnel nobody uses */
	{
		int64_t t0 = time_mono_ms();
		char *rest = read_all(u, 4096);

		ok(time_mono_ms() - t0 < 2500,
		   "an idle tunnel is closed (%" PRId64 " ms)",
		   time_mono_ms() - t0);
		free(rest);
	}
	close(u);
	close(c);

	/* refused and malformed */
	strbuf_reset(&sb);
	strbuf_addf(&sb, "CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n", uport + 1);
	expect_status(pport, sb.buf, "403", "an unlisted port");
	expect_status(pport, "CONNECT example.org:443 HTTP/1.1\r\n\r\n", "403",
		      "an unlisted name");
	expect_status(pport, "CONNECT example.org:443 HTTP/1.1\r\n\r\n", "403",
		      "an unlisted name again");
	strbuf_reset(&sb);
	strbuf_addf(&sb, "GET http://up.test:%d/ HTTP/1.1\r\nHost: other.test"
		    ":%d\r\n\r\n", uport, uport);
	expect_status(pport, sb.buf, "400", "a Host header naming another host");
	strbuf_reset(&sb);
	strbuf_addf(&sb, "GET http://up.test:%d/ HTTP/1.1\r\nHost: up.test:%d"
		    "\r\nHost: up.test:%d\r\n\r\n", uport, uport, uport);
	expect_status(pport, sb.buf, "400", "two Host headers");
	strbuf_reset(&sb);
	strbuf_addf(&sb, "GET http://up.test:%d/ HTTP/1.1\r\nX: a\r\n b\r\n"
		    "\r\n", uport);
	expect_status(pport, sb.buf, "400", "an obs-folded header");
	strbuf_reset(&sb);
	strbuf_addf(&sb, "GET http://up.test:%d/ HTTP/1.1\r\nX: a\rb\r\n\r\n",
		    uport);
	expect_status(pport, sb.buf, "400", "a bare CR in a header");
	strbuf_reset(&sb);
	strbuf_addf(&sb, "GET http://u@up.test:%d/ HTTP/1.1\r\n\r\n", uport);
	expect_status(pport, sb.buf, "400", "user info in the URI");
	expect_status(pport, "GET https://up.test/ HTTP/1.1\r\n\r\n", "400",
		      "https:// in a plain request");
	expect_status(pport, "GET / HTTP/1.1\r\nHost: up.test\r\n\r\n", "400",
		      "a request in origin form");
	expect_status(pport, "CONNECT up.test HTTP/1.1\r\n\r\n", "400",
		      "CONNECT without a port");
	expect_status(pport, "CONNECT 0x7f000001:80 HTTP/1.1\r\n\r\n", "400",
		      "CONNECT to a numeric spelling of loopback");
	expect_status(pport, "GET http://x/ HTTP/2.0\r\n\r\n", "400",
		      "an unknown HTTP version");
	{
		struct strbuf big = STRBUF_INIT;

		strbuf_addstr(&big, "GET http://up.test/ HTTP/1.1\r\n");
		while (big.len < 20000)
			strbuf_addstr(&big, "X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
		strbuf_addstr(&big, "\r\n");
		expect_status(pport, big.buf, "431", "a head over 16 KiB");
		strbuf_release(&big);
	}
	{
		/* the head timeout */
		int64_t t0 = time_mono_ms();

		expect_status(pport, "CONNECT up.test", "408",
			      "a head that never ends");
		ok(time_mono_ms() - t0 < 2500, "answered within the timeout");
	}

	/* detach closes every connection, even a busy tunnel */
	c = dial(pport);
	strbuf_reset(&sb);
	strbuf_addf(&sb, "CONNECT up.test:%d HTTP/1.1\r\n\r\n", uport);
	send_str(c, sb.buf);
	u = accept_within(ulfd, 3000);
	ok(u >= 0, "a tunnel by name");
	got = read_all(c, 39);
	free(got);
	netproxy_detach(t, &rep);
	{
		char buf[16];
		struct pollfd p = { .fd = u, .events = POLLIN };
		/* at once: well before the 300 ms idle timeout */
		ssize_t n = poll(&p, 1, 100) > 0 ? read(u, buf, sizeof(buf))
						  : 99;

		is_int(n, 0, "after detach the upstream sees EOF at once");
	}
	close(u);
	close(c);

	{
		/* what was refused, counted per destination */
		struct strbuf ev = STRBUF_INIT;

		for (size_t i = 0; i < rep.nr; i++) {
			netproxy_refusal_format(&rep.refusals[i], &ev);
			strbuf_addch(&ev, '\n');
		}
		strbuf_reset(&sb);
		strbuf_addf(&sb,
			    "blocked: 127.0.0.1:%d, 1 time\n"
			    "blocked: example.org:443, 2 times\n"
			    "blocked: malformed proxy request, 10 times\n",
			    uport + 1);
		is_str(ev.buf, sb.buf, "the refusals, counted");
		strbuf_release(&ev);
	}
	is_int(rep.forwarded, 3, "three connections were forwarded");
	ok(rep.timed_out >= 2, "the timeouts are counted (%" PRIu64 ")",
	   rep.timed_out);
	ok(rep.connections >= 16, "every connection is counted (%" PRIu64 ")",
	   rep.connections);
	netproxy_report_release(&rep);

	/* a name that resolves to loopback, not listed as such */
	netproxy_allowlist_release(&al);
	strbuf_reset(&sb);
	strbuf_addf(&sb, "rebind.test:%d", uport);
	netproxy_allowlist_add(&al, sb.buf, &err);
	plfd = listen_on(&pport);
	socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
	t = netproxy_attach(np, &al, sv[1], &err);
	send_listener(sv[0], plfd);
	close(plfd);
	close(sv[0]);
	strbuf_reset(&sb);
	strbuf_addf(&sb, "CONNECT rebind.test:%d HTTP/1.1\r\n\r\n", uport);
	expect_status(pport, sb.buf, "403", "a name resolving to loopback");
	expect_status(pport, "CONNECT nx.test:443 HTTP/1.1\r\n\r\n", "403",
		      "an unlisted name");
	ok(accept_within(ulfd, 200) < 0, "nothing reached the upstream");
	netproxy_detach(t, &rep);
	is_int(rep.nr, 2, "two refusals");
	ok(rep.nr == 2 && rep.refusals[0].reason == NETPROXY_REFUSED_ADDRESS &&
		   rep.refusals[0].cls == NETPROXY_ADDR_LOOPBACK,
	   "the first as an address refusal (loopback)");
	netproxy_report_release(&rep);

	/* a task whose helper never sent a listener */
	socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
	t = netproxy_attach(np, &al, sv[1], &err);
	close(sv[0]);
	time_sleep_ms(100);
	netproxy_detach(t, &rep);
	ok(rep.error != NULL, "no listener is reported (%s)",
	   rep.error ? rep.error : "none");
	netproxy_report_release(&rep);

	/* a task still attached at netproxy_free is closed too */
	plfd = listen_on(&pport);
	socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
	netproxy_attach(np, &al, sv[1], &err);
	send_listener(sv[0], plfd);
	close(plfd);
	close(sv[0]);
	netproxy_free(np);
	{
		struct sockaddr_in in = { .sin_family = AF_INET,
					  .sin_port = htons((uint16_t)pport) };
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ok(connect(fd, (struct sockaddr *)&in, sizeof(in)) < 0,
		   "after netproxy_free the listener is closed");
		close(fd);
	}
	close(ulfd);
	netproxy_allowlist_release(&al);
	strbuf_release(&sb);
	strbuf_release(&err);
}

int main(void)
{
	test_classify();
	test_host_parse();
	test_allowlist_parse();
	test_match();
	test_permits();
	test_format();
	test_proxy();
	return done_testing();
}
