/*
 * DESIGN
 *
 * A task with network: [host:port, ...] keeps the empty network
 * namespace bwrap gives it (only its own loopback), and reaches the
 * listed destinations through an HTTP proxy that runner runs on the host.
 * This is the shape of Anthropic's sandbox-runtime (bwrap, a filtering
 * proxy on the host, a bridge into the sandbox) and of the GitHub
 * Copilot coding agent's firewall (an allowlist; what it blocked is
 * reported on the result), with these choices:
 *
 * The bridge. sandbox-runtime runs socat in the sandbox, listening on a
 * loopback port and forwarding each connection to a unix socket bound in
 * from the host. We need no bridge process: the first thing to run in
 * the sandbox is a helper (runner itself, run as NETPROXY_HELPER from a
 * descriptor of its own binary through /proc/self/fd, so that it needs
 * no path in the sandbox and works whatever directory the binary is in
 * and whoever can reach it). The helper opens the listening sockets
 * 127.0.0.1:3128 and [::1]:3128 in the sandbox's network namespace,
 * sends them to the host over a socketpair inherited through bwrap
 * (SCM_RIGHTS), closes everything of its own and execs the task. The
 * proxy then accept()s the task's connections directly from the
 * sandbox's loopback: no copy through a forwarder, no socket file, no
 * socat dependency, nothing in the sandbox for the task to kill or
 * impersonate, and each listener belongs to exactly one task, so every
 * connection and every refusal is the task's. A listener cannot be
 * stolen by the task (no SO_REUSEPORT) and needs no authentication:
 * only that namespace can connect to it. Nothing in the sandbox is
 * trusted: the helper only hands over sockets, and the proxy checks
 * that what it received is a listening TCP socket.
 *
 * The task's environment: HTTP_PROXY, HTTPS_PROXY and ALL_PROXY (and
 * their lower-case twins) are http://127.0.0.1:3128; NO_PROXY is empty,
 * so that loopback destinations go through the proxy too: a listed
 * 127.0.0.1:8080 (a model server on the host) is reachable, and an
 * unlisted one is refused and reported instead of failing silently in
 * the empty namespace. Clients that never proxy loopback (Go's
 * net/http) cannot reach a listed loopback service; they can still
 * reach it by a name (localhost:8080 listed, which always means
 * loopback and never goes to DNS).
 *
 * The policy. An entry is host:port; the port is required (a name on
 * another port is another service: SMTP on a listed API host is an
 * exfiltration channel) and "*" is refused, as is a bare wildcard.
 * "*.example.org:443" matches names below example.org (not itself). An
 * IP literal entry (127.0.0.1:8080, [::1]:8080) allows that address and
 * port, whatever its class. A name entry allows what the name resolves
 * to, as resolved by the proxy (getaddrinfo on the host), only when the
 * address is public (not loopback, private, CGNAT, ULA, link-local and
 * metadata, multicast, unspecified, broadcast, documentation or other
 * reserved ranges, v4-mapped, NAT64 and 6to4 forms judged by the IPv4
 * address they carry), and not one of the host's own interface
 * addresses (a service bound to 0.0.0.0 answers there as on loopback),
 * or when the allowlist names that very address with that port: DNS,
 * which whoever owns a listed name controls, can never point a name at
 * the host or its network (DNS rebinding). localhost and names under
 * .localhost (RFC 6761) are loopback and never resolved. Request hosts
 * are canonicalised before matching (case, trailing dot, v4-mapped IPv6)
 * and the numeric spellings the C library would still read as IPv4
 * (127.1, 0x7f000001, 2130706433) are refused as malformed, so that what
 * is matched is what is dialled. The address connected to is the one
 * that was checked: there is no second resolution.
 *
 * The protocol. CONNECT host:port opens a tunnel. A plain request must
 * be in absolute form (GET http://host[:port]/path); its Host header, if
 * any, must name the same host and port (else 400), hop-by-hop headers
 * are dropped, the request goes out in origin form with "Connection:
 * close", and the connection then carries that one exchange: bytes
 * after it can only ever reach the same destination. https:// in a
 * plain request is refused (clients use CONNECT). A refused destination
 * gets 403 with a one-line reason (the class, never the address), a
 * failure 502, a timeout 504; each refusal is counted per task and per
 * destination (at most NETPROXY_MAX_REFUSALS distinct ones, the rest
 * counted together) and reported at detach, for events such as
 * "blocked: example.org:443, 3 times".
 *
 * Threads and bounds. One proxy thread per run serves every task with
 * poll(): tasks attach (a listener arrives) and detach (the task ended:
 * its listener and all its connections are closed before detach returns)
 * through a mutex, a condition variable and an eventfd. Names are
 * resolved by a small pool of resolver threads (getaddrinfo blocks and
 * cannot be cancelled); they are detached and share a reference-counted
 * queue, so that a lookup stuck in the C library can neither hold up
 * netproxy_free nor touch freed memory. Each connection has two buffers
 * of buf_size (64 KiB) bytes, one per direction; a full buffer stops
 * reading from its source (back-pressure), so memory is bounded by
 * max_conns per task whatever the traffic, and all tasks together keep
 * below 3/4 of RLIMIT_NOFILE; past either cap, connections wait in the
 * listener's backlog. The request head may use 16 KiB. Every phase has
 * a deadline: the head, resolve plus connect, and an idle timeout on
 * tunnels. Plain copies through user space, a few read/send rounds per
 * poll() while a stream is busy: about 1 GB/s on loopback here, not
 * worth splice(2)'s two extra pipes per direction.
 */
#define _GNU_SOURCE
#include "runner.h"
#include "netproxy.h"
#include "timeutil.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#define NP_HEAD_MAX (16 * 1024)
#define NP_MAX_ADDRS 8
#define NP_REPLY_TIMEOUT_MS 5000
#define NP_HELLO "runner-netproxy 1"

/* --- Addresses ------------------------------------------------------ */

static int in_v4(const unsigned char *b, uint32_t net, int bits)
{
	uint32_t a = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		     (uint32_t)b[2] << 8 | b[3];
	uint32_t mask = bits ? ~(uint32_t)0 << (32 - bits) : 0;

	return (a & mask) == (net & mask);
}

#define V4(a, b, c, d) \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static enum netproxy_addr_class classify_v4(const unsigned char *b)
{
	static const struct {
		uint32_t net;
		int bits;
		enum netproxy_addr_class cls;
	} ranges[] = {
		{ V4(255, 255, 255, 255), 32, NETPROXY_ADDR_BROADCAST },
		{ V4(0, 0, 0, 0), 8, NETPROXY_ADDR_UNSPECIFIED },
		{ V4(10, 0, 0, 0), 8, NETPROXY_ADDR_PRIVATE },
		{ V4(100, 64, 0, 0), 10, NETPROXY_ADDR_PRIVATE },
		{ V4(127, 0, 0, 0), 8, NETPROXY_ADDR_LOOPBACK },
		{ V4(169, 254, 0, 0), 16, NETPROXY_ADDR_LINK_LOCAL },
		{ V4(172, 16, 0, 0), 12, NETPROXY_ADDR_PRIVATE },
		{ V4(192, 0, 0, 0), 24, NETPROXY_ADDR_RESERVED },
		{ V4(192, 0, 2, 0), 24, NETPROXY_ADDR_RESERVED },
		{ V4(192, 88, 99, 0), 24, NETPROXY_ADDR_RESERVED },
		{ V4(192, 168, 0, 0), 16, NETPROXY_ADDR_PRIVATE },
		{ V4(198, 18, 0, 0), 15, NETPROXY_ADDR_RESERVED },
		{ V4(198, 51, 100, 0), 24, NETPROXY_ADDR_RESERVED },
		{ V4(203, 0, 113, 0), 24, NETPROXY_ADDR_RESERVED },
		{ V4(224, 0, 0, 0), 4, NETPROXY_ADDR_MULTICAST },
		{ V4(240, 0, 0, 0), 4, NETPROXY_ADDR_RESERVED },
		/* Azure's host agent (WireServer), outside link-local */
		{ V4(168, 63, 129, 16), 32, NETPROXY_ADDR_LINK_LOCAL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(ranges); i++)
		if (in_v4(b, ranges[i].net, ranges[i].bits))
			return ranges[i].cls;
	return NETPROXY_ADDR_PUBLIC;
}

static bool all_zero(const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static enum netproxy_addr_class classify_v6(const unsigned char *b)
{
	static const unsigned char nat64[12] = { 0, 0x64, 0xff, 0x9b };
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
	enum netproxy_addr_class c;

	if (!memcmp(b, mapped, 12))
		return classify_v4(b + 12);
	if (all_zero(b, 15))
		return b[15] == 1   ? NETPROXY_ADDR_LOOPBACK
		       : b[15] == 0 ? NETPROXY_ADDR_UNSPECIFIED
				    : NETPROXY_ADDR_RESERVED;
	if (all_zero(b, 12)) /* IPv4-compatible, deprecated */
		return NETPROXY_ADDR_RESERVED;
	if (b[0] == 0xff)
		return NETPROXY_ADDR_MULTICAST;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return NETPROXY_ADDR_LINK_LOCAL;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) /* site-local */
		return NETPROXY_ADDR_PRIVATE;
	if ((b[0] & 0xfe) == 0xfc) /* ULA */
		return NETPROXY_ADDR_PRIVATE;
	if (!memcmp(b, nat64, 12)) {
		c = classify_v4(b + 12);
		return c;
	}
	if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b &&
	    b[4] == 0 && b[5] == 1) /* 64:ff9b:1::/48, local-use NAT64 */
		return NETPROXY_ADDR_PRIVATE;
	if (b[0] == 0x20 && b[1] == 0x02) /* 6to4 */
		return classify_v4(b + 2);
	if (b[0] == 0x01 && b[1] == 0 && all_zero(b + 2, 6)) /* 100::/64 */
		return NETPROXY_ADDR_RESERVED;
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
		return NETPROXY_ADDR_RESERVED; /* documentation */
	if (b[0] == 0x3f && b[1] == 0xff && (b[2] & 0xf0) == 0)
		return NETPROXY_ADDR_RESERVED; /* 3fff::/20, documentation */
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 2 &&
	    b[4] == 0 && b[5] == 0) /* 2001:2::/48, benchmarking */
		return NETPROXY_ADDR_RESERVED;
	return NETPROXY_ADDR_PUBLIC;
}

enum netproxy_addr_class netproxy_addr_classify(const struct netproxy_addr *a)
{
	if (a->family == AF_INET)
		return classify_v4(a->b);
	if (a->family == AF_INET6)
		return classify_v6(a->b);
	return NETPROXY_ADDR_RESERVED;
}

const char *netproxy_addr_class_name(enum netproxy_addr_class c)
{
	switch (c) {
	case NETPROXY_ADDR_PUBLIC:
		return "a public address";
	case NETPROXY_ADDR_LOOPBACK:
		return "a loopback address";
	case NETPROXY_ADDR_PRIVATE:
		return "a private address";
	case NETPROXY_ADDR_LINK_LOCAL:
		return "a link-local address";
	case NETPROXY_ADDR_MULTICAST:
		return "a multicast address";
	case NETPROXY_ADDR_UNSPECIFIED:
		return "an unspecified address";
	case NETPROXY_ADDR_BROADCAST:
		return "the broadcast address";
	case NETPROXY_ADDR_RESERVED:
		return "a reserved address";
	case NETPROXY_ADDR_HOST:
		return "one of this host's addresses";
	}
	return "an unknown address";
}

/* A v4-mapped IPv6 address becomes the IPv4 one. */
static void addr_canon(struct netproxy_addr *a)
{
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (a->family == AF_INET6 && !memcmp(a->b, mapped, 12)) {
		memmove(a->b, a->b + 12, 4);
		memset(a->b + 4, 0, 12);
		a->family = AF_INET;
	}
}

int netproxy_addr_from_sockaddr(struct netproxy_addr *a,
				const struct sockaddr *sa)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		a->family = AF_INET;
		memcpy(a->b, &in->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		a->family = AF_INET6;
		memcpy(a->b, &in6->sin6_addr, 16);
		addr_canon(a);
	} else {
		return -1;
	}
	return 0;
}

void netproxy_addr_str(const struct netproxy_addr *a, char *buf, size_t size)
{
	if (!inet_ntop(a->family, a->b, buf, (socklen_t)size))
		snprintf(buf, size, "?");
}

static bool addr_eq(const struct netproxy_addr *a,
		    const struct netproxy_addr *b)
{
	return a->family == b->family &&
	       !memcmp(a->b, b->b, a->family == AF_INET ? 4 : 16);
}

static socklen_t addr_sockaddr(const struct netproxy_addr *a, unsigned port,
			       struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *in = (void *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		memcpy(&in->sin_addr, a->b, 4);
		return sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (void *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		memcpy(&in6->sin6_addr, a->b, 16);
		return sizeof(*in6);
	}
}

/* --- Hosts ---------------------------------------------------------- */

static int parse_v6(const char *s, size_t len, struct netproxy_host *h)
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(buf) || memchr(s, '%', len))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(&h->addr, 0, sizeof(h->addr));
	h->addr.family = AF_INET6;
	if (inet_pton(AF_INET6, buf, h->addr.b) != 1)
		return -1;
	addr_canon(&h->addr);
	h->kind = NETPROXY_HOST_ADDR;
	netproxy_addr_str(&h->addr, h->name, sizeof(h->name));
	return 0;
}

static bool is_digits(const char *s, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int netproxy_host_parse(const char *s, size_t len, bool bare_v6,
			struct netproxy_host *h)
{
	char *name = h->name;
	size_t label = 0, last_label = 0;
	bool numeric = true;
	struct in_addr ia;

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']')
		return parse_v6(s + 1, len - 2, h);
	if (memchr(s, ':', len))
		return bare_v6 ? parse_v6(s, len, h) : -1;
	if (len && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch - 'A' + 'a');
		if (ch == '.') {
			if (!label)
				return -1;
			last_label = i + 1;
			label = 0;
		} else if ((ch >= 'a' && ch <= 'z') ||
			   (ch >= '0' && ch <= '9') || ch == '-' ||
			   ch == '_') {
			if (++label > 63)
				return -1;
			if (ch < '0' || ch > '9')
				numeric = false;
		} else {
			return -1;
		}
		name[i] = (char)ch;
	}
	name[len] = '\0';
	if (!label)
		return -1;
	memset(&h->addr, 0, sizeof(h->addr));
	if (numeric) {
		/* only the dotted quad; inet_pton takes nothing else */
		if (inet_pton(AF_INET, name, h->addr.b) != 1)
			return -1;
		h->addr.family = AF_INET;
		h->kind = NETPROXY_HOST_ADDR;
		netproxy_addr_str(&h->addr, h->name, sizeof(h->name));
		return 0;
	}
	/* 0x7f.1 and friends: getaddrinfo would read them as IPv4 */
	if (inet_aton(name, &ia))
		return -1;
	if (is_digits(name + last_label, len - last_label))
		return -1;
	h->kind = NETPROXY_HOST_NAME;
	return 0;
}

static int parse_port(const char *s, size_t len, unsigned *port)
{
	unsigned v = 0;

	if (!is_digits(s, len) || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	if (v < 1 || v > 65535)
		return -1;
	*port = v;
	return 0;
}

int netproxy_authority_parse(const char *s, size_t len, unsigned default_port,
			     struct netproxy_host *h, unsigned *port)
{
	const char *colon = NULL;
	size_t hlen;

	if (len && s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (!close)
			return -1;
		hlen = (size_t)(close - s) + 1;
		if (hlen < len) {
			if (s[hlen] != ':')
				return -1;
			colon = s + hlen;
		}
	} else {
		colon = memchr(s, ':', len);
		if (colon &&
		    memchr(colon + 1, ':', len - (size_t)(colon - s) - 1))
			return -1; /* an IPv6 literal needs brackets */
		hlen = colon ? (size_t)(colon - s) : len;
	}
	if (netproxy_host_parse(s, hlen, false, h) < 0)
		return -1;
	if (colon)
		return parse_port(colon + 1, len - hlen - 1, port);
	if (!default_port)
		return -1;
	*port = default_port;
	return 0;
}

static bool is_localhost(const char *name)
{
	size_t n = strlen(name);

	return !strcmp(name, "localhost") ||
	       (n > 10 && !strcmp(name + n - 10, ".localhost"));
}

static void host_dest(const struct netproxy_host *h, unsigned port, char *buf,
		      size_t size)
{
	if (h->kind == NETPROXY_HOST_ADDR && h->addr.family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", h->name, port);
	else
		snprintf(buf, size, "%s:%u", h->name, port);
}

/* --- The allowlist -------------------------------------------------- */

/* What no destination may be: empty, spaced out, or the whole network. */
static int rule_check_text(const char *entry, size_t len, struct strbuf *err)
{
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)entry[i] <= ' ' ||
		    (unsigned char)entry[i] >= 0x7f) {
			strbuf_addf(err,
				    "'%s': a destination has no spaces "
				    "or control characters",
				    entry);
			return -1;
		}
	}
	if (!len) {
		strbuf_addstr(err, "an empty network destination");
		return -1;
	}
	if (entry[0] == '*' && (len == 1 || entry[1] == ':')) {
		strbuf_addf(err,
			    "'%s': a wildcard needs a domain "
			    "(*.example.org:443); network: true is the whole "
			    "network",
			    entry);
		return -1;
	}
	return 0;
}

/*
 * Split s (len bytes, entry without any "*.") at the port: after "]" for
 * [v6], else after the only ':'. Sets *host_end and *colon.
 */
static int rule_split(const char *entry, const char *s, size_t len,
		      const char **host_end, const char **colon,
		      struct strbuf *err)
{
	if (s[0] == '[') {
		*host_end = memchr(s, ']', len);
		if (!*host_end) {
			strbuf_addf(err, "'%s': unclosed '['", entry);
			return -1;
		}
		(*host_end)++;
		*colon = (size_t)(*host_end - s) < len && **host_end == ':'
				 ? *host_end
				 : NULL;
		if (!*colon && (size_t)(*host_end - s) < len) {
			strbuf_addf(err, "'%s': expected ':PORT' after ']'",
				    entry);
			return -1;
		}
	} else {
		*colon = memchr(s, ':', len);
		if (*colon &&
		    memchr(*colon + 1, ':', len - (size_t)(*colon - s) - 1)) {
			strbuf_addf(err,
				    "'%s': write an IPv6 address in "
				    "brackets, as in [::1]:8080",
				    entry);
			return -1;
		}
		*host_end = *colon ? *colon : s + len;
	}
	if (memchr(s, '*', (size_t)(*host_end - s))) {
		strbuf_addf(err,
			    "'%s': '*' may only start a name, as in "
			    "*.example.org:443",
			    entry);
		return -1;
	}
	if (!*colon) {
		strbuf_addf(err, "'%s': missing port (write %s:443)", entry,
			    entry);
		return -1;
	}
	return 0;
}

/* The rule's kind, from its parsed host and whether it had a "*.". */
static int rule_set_kind(struct netproxy_rule *r, const char *entry,
			 bool suffix, struct strbuf *err)
{
	if (r->host.kind == NETPROXY_HOST_ADDR) {
		if (suffix) {
			strbuf_addf(err,
				    "'%s': a wildcard takes a domain, "
				    "not an address",
				    entry);
			return -1;
		}
		r->kind = NETPROXY_RULE_ADDR;
	} else if (is_localhost(r->host.name)) {
		if (suffix) {
			strbuf_addf(err,
				    "'%s': list the names under "
				    "localhost one by one",
				    entry);
			return -1;
		}
		r->kind = NETPROXY_RULE_LOCALHOST;
	} else if (suffix) {
		if (!strchr(r->host.name, '.')) {
			strbuf_addf(err,
				    "'%s': the wildcard covers a whole "
				    "top-level domain",
				    entry);
			return -1;
		}
		r->kind = NETPROXY_RULE_SUFFIX;
	} else {
		r->kind = NETPROXY_RULE_NAME;
	}
	return 0;
}

int netproxy_allowlist_add(struct netproxy_allowlist *al, const char *entry,
			   struct strbuf *err)
{
	struct netproxy_rule r = { 0 };
	const char *s = entry, *colon, *host_end;
	size_t len = strlen(entry);
	bool suffix = false;

	if (rule_check_text(entry, len, err) < 0)
		return -1;
	if (s[0] == '*' && s[1] == '.') {
		suffix = true;
		s += 2;
		len -= 2;
	}
	if (rule_split(entry, s, len, &host_end, &colon, err) < 0)
		return -1;
	if (parse_port(colon + 1, len - (size_t)(colon + 1 - s), &r.port) <
	    0) {
		if (!strcmp(colon + 1, "*"))
			strbuf_addf(err,
				    "'%s': the port must be a number; "
				    "list each port",
				    entry);
		else
			strbuf_addf(err, "'%s': bad port '%s' (1-65535)",
				    entry, colon + 1);
		return -1;
	}
	if (netproxy_host_parse(s, (size_t)(host_end - s), false, &r.host) <
	    0) {
		strbuf_addf(err,
			    "'%s': '%.*s' is not a host name or an IP "
			    "address",
			    entry, (int)(host_end - s), s);
		return -1;
	}
	if (rule_set_kind(&r, entry, suffix, err) < 0)
		return -1;
	ALLOC_GROW(al->rules, al->nr + 1, al->alloc);
	al->rules[al->nr++] = r;
	return 0;
}

void netproxy_allowlist_copy(struct netproxy_allowlist *dst,
			     const struct netproxy_allowlist *src)
{
	dst->nr = dst->alloc = 0;
	dst->rules = NULL;
	if (!src->nr)
		return;
	dst->rules = xcalloc(src->nr, sizeof(*dst->rules));
	memcpy(dst->rules, src->rules, src->nr * sizeof(*dst->rules));
	dst->nr = dst->alloc = src->nr;
}

void netproxy_allowlist_release(struct netproxy_allowlist *al)
{
	free(al->rules);
	al->rules = NULL;
	al->nr = al->alloc = 0;
}

int netproxy_allowlist_match(const struct netproxy_allowlist *al,
			     const struct netproxy_host *host, unsigned port)
{
	size_t hlen = strlen(host->name);

	for (size_t i = 0; i < al->nr; i++) {
		const struct netproxy_rule *r = &al->rules[i];
		size_t slen;

		if (r->port != port)
			continue;
		switch (r->kind) {
		case NETPROXY_RULE_ADDR:
			if (host->kind == NETPROXY_HOST_ADDR &&
			    addr_eq(&host->addr, &r->host.addr))
				return (int)i;
			break;
		case NETPROXY_RULE_NAME:
		case NETPROXY_RULE_LOCALHOST:
			if (host->kind == NETPROXY_HOST_NAME &&
			    !strcmp(host->name, r->host.name))
				return (int)i;
			break;
		case NETPROXY_RULE_SUFFIX:
			slen = strlen(r->host.name);
			if (host->kind == NETPROXY_HOST_NAME &&
			    hlen > slen + 1 &&
			    host->name[hlen - slen - 1] == '.' &&
			    !strcmp(host->name + hlen - slen, r->host.name))
				return (int)i;
			break;
		}
	}
	return -1;
}

enum netproxy_addr_class
netproxy_allowlist_permits(const struct netproxy_allowlist *al, size_t rule,
			   const struct netproxy_addr *a, unsigned port,
			   const struct netproxy_addr *own, size_t nr_own)
{
	const struct netproxy_rule *r = &al->rules[rule];
	struct netproxy_addr ca = *a;
	enum netproxy_addr_class c;

	addr_canon(&ca);
	c = netproxy_addr_classify(&ca);
	switch (r->kind) {
	case NETPROXY_RULE_ADDR:
		if (addr_eq(&ca, &r->host.addr))
			return NETPROXY_ADDR_PUBLIC;
		return c == NETPROXY_ADDR_PUBLIC ? NETPROXY_ADDR_RESERVED : c;
	case NETPROXY_RULE_LOCALHOST:
		return c == NETPROXY_ADDR_LOOPBACK ? NETPROXY_ADDR_PUBLIC
						   : NETPROXY_ADDR_RESERVED;
	case NETPROXY_RULE_NAME:
	case NETPROXY_RULE_SUFFIX:
		break;
	}
	for (size_t i = 0; i < al->nr; i++)
		if (al->rules[i].kind == NETPROXY_RULE_ADDR &&
		    al->rules[i].port == port &&
		    addr_eq(&ca, &al->rules[i].host.addr))
			return NETPROXY_ADDR_PUBLIC;
	if (c != NETPROXY_ADDR_PUBLIC)
		return c;
	for (size_t i = 0; i < nr_own; i++)
		if (addr_eq(&ca, &own[i]))
			return NETPROXY_ADDR_HOST;
	return NETPROXY_ADDR_PUBLIC;
}

/* --- Reports -------------------------------------------------------- */

void netproxy_report_release(struct netproxy_report *r)
{
	for (size_t i = 0; i < r->nr; i++)
		free(r->refusals[i].dest);
	free(r->refusals);
	free(r->error);
	memset(r, 0, sizeof(*r));
}

static void report_copy(struct netproxy_report *dst,
			const struct netproxy_report *src)
{
	*dst = *src;
	dst->refusals = NULL;
	dst->nr = dst->alloc = 0;
	if (src->nr) {
		dst->refusals = xcalloc(src->nr, sizeof(*dst->refusals));
		dst->nr = dst->alloc = src->nr;
		for (size_t i = 0; i < src->nr; i++) {
			dst->refusals[i] = src->refusals[i];
			dst->refusals[i].dest = xstrdup(src->refusals[i].dest);
		}
	}
	dst->error = src->error ? xstrdup(src->error) : NULL;
}

static void report_refuse(struct netproxy_report *rep, const char *dest,
			  enum netproxy_reason reason,
			  enum netproxy_addr_class cls)
{
	for (size_t i = 0; i < rep->nr; i++) {
		struct netproxy_refusal *r = &rep->refusals[i];

		if (r->reason == reason && r->cls == cls &&
		    !strcmp(r->dest, dest)) {
			r->count++;
			return;
		}
	}
	if (rep->nr >= NETPROXY_MAX_REFUSALS) {
		rep->refusals_dropped++;
		return;
	}
	ALLOC_GROW(rep->refusals, rep->nr + 1, rep->alloc);
	rep->refusals[rep->nr++] = (struct netproxy_refusal){
		.dest = xstrdup(dest), .reason = reason, .cls = cls, .count = 1
	};
}

void netproxy_refusal_format(const struct netproxy_refusal *r,
			     struct strbuf *out)
{
	const char *times = r->count == 1 ? "time" : "times";

	switch (r->reason) {
	case NETPROXY_REFUSED_NOT_LISTED:
		strbuf_addf(out, "blocked: %s, %" PRIu64 " %s", r->dest,
			    r->count, times);
		break;
	case NETPROXY_REFUSED_ADDRESS:
		strbuf_addf(out,
			    "blocked: %s (resolves to %s), %" PRIu64 " %s",
			    r->dest, netproxy_addr_class_name(r->cls),
			    r->count, times);
		break;
	case NETPROXY_REFUSED_MALFORMED:
		strbuf_addf(out,
			    "blocked: malformed proxy request, %" PRIu64 " %s",
			    r->count, times);
		break;
	}
}

/* --- Small helpers -------------------------------------------------- */

static int fd_above_stdio(int fd)
{
	int nfd;

	if (fd < 0 || fd > 2)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return nfd;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void wake(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0) {
		/* a full eventfd is already awake */
	}
}

static void drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing to drain */
	}
}

/* --- Resolver threads ----------------------------------------------- */

struct np_job {
	struct np_job *next;
	uint64_t conn_id;
	char name[256];
	int nr; /* -1: does not resolve */
	struct netproxy_addr addrs[NP_MAX_ADDRS];
};

/* Shared by the proxy and its detached resolver threads. */
struct np_resolver {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct np_job *todo, **todo_tail;
	struct np_job *done, **done_tail;
	int refs;	/* the proxy + each live thread */
	unsigned alive; /* threads running */
	unsigned busy;	/* threads inside a lookup */
	bool stop;
	int wake_fd; /* eventfd the proxy polls for results */
	netproxy_resolve_fn *fn;
	void *ctx;
};

static void free_jobs(struct np_job *j)
{
	while (j) {
		struct np_job *next = j->next;
		free(j);
		j = next;
	}
}

static void resolver_unref(struct np_resolver *r)
{
	bool last;

	pthread_mutex_lock(&r->lock);
	last = --r->refs == 0;
	pthread_mutex_unlock(&r->lock);
	if (!last)
		return;
	free_jobs(r->todo);
	free_jobs(r->done);
	close_fd(&r->wake_fd);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static int resolve_gai(const char *name, struct netproxy_addr *out, size_t max)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *res = NULL;
	size_t n = 0;

	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return -1;
	for (struct addrinfo *ai = res; ai && n < max; ai = ai->ai_next) {
		struct netproxy_addr a;
		bool dup = false;

		if (netproxy_addr_from_sockaddr(&a, ai->ai_addr) < 0)
			continue;
		for (size_t i = 0; i < n; i++)
			dup = dup || addr_eq(&a, &out[i]);
		if (!dup)
			out[n++] = a;
	}
	freeaddrinfo(res);
	return n ? (int)n : -1;
}

static void *resolver_thread(void *arg)
{
	struct np_resolver *r = arg;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		struct np_job *j;

		while (!r->stop && !r->todo)
			pthread_cond_wait(&r->cond, &r->lock);
		if (r->stop)
			break;
		j = r->todo;
		r->todo = j->next;
		if (!r->todo)
			r->todo_tail = &r->todo;
		r->busy++;
		pthread_mutex_unlock(&r->lock);

		if (r->fn)
			j->nr = r->fn(r->ctx, j->name, j->addrs, NP_MAX_ADDRS);
		else
			j->nr = resolve_gai(j->name, j->addrs, NP_MAX_ADDRS);
		if (j->nr > NP_MAX_ADDRS)
			j->nr = NP_MAX_ADDRS;
		for (int i = 0; i < j->nr; i++)
			addr_canon(&j->addrs[i]);

		pthread_mutex_lock(&r->lock);
		r->busy--;
		if (r->stop) {
			free(j);
			break;
		}
		j->next = NULL;
		*r->done_tail = j;
		r->done_tail = &j->next;
		wake(r->wake_fd);
	}
	r->alive--;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	resolver_unref(r);
	return NULL;
}

static struct np_resolver *resolver_new(unsigned threads,
					netproxy_resolve_fn *fn, void *ctx,
					struct strbuf *err)
{
	struct np_resolver *r = xcalloc(1, sizeof(*r));
	pthread_condattr_t ca;
	pthread_attr_t attr;
	int e = 0;

	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	r->todo_tail = &r->todo;
	r->done_tail = &r->done;
	r->refs = 1;
	r->fn = fn;
	r->ctx = ctx;
	r->wake_fd = fd_above_stdio(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (r->wake_fd < 0) {
		strbuf_addf(err, "cannot create an eventfd: %s",
			    strerror(errno));
		resolver_unref(r);
		return NULL;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (unsigned i = 0; i < threads; i++) {
		pthread_t t;

		pthread_mutex_lock(&r->lock);
		r->refs++;
		r->alive++;
		pthread_mutex_unlock(&r->lock);
		e = pthread_create(&t, &attr, resolver_thread, r);
		if (e) {
			pthread_mutex_lock(&r->lock);
			r->refs--;
			r->alive--;
			pthread_mutex_unlock(&r->lock);
			break;
		}
	}
	pthread_attr_destroy(&attr);
	if (!r->alive) {
		strbuf_addf(err, "cannot start a resolver thread: %s",
			    strerror(e));
		resolver_unref(r);
		return NULL;
	}
	return r;
}

/*
 * Stop: idle threads exit now (waited for, up to 2 s), a thread inside
 * getaddrinfo when it returns; the last reference frees the queue.
 */
static void resolver_stop(struct np_resolver *r)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 2;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	while (r->alive > r->busy)
		if (pthread_cond_timedwait(&r->cond, &r->lock, &until))
			break;
	pthread_mutex_unlock(&r->lock);
	resolver_unref(r);
}

static void resolver_submit(struct np_resolver *r, uint64_t conn_id,
			    const char *name)
{
	struct np_job *j = xcalloc(1, sizeof(*j));

	j->conn_id = conn_id;
	snprintf(j->name, sizeof(j->name), "%s", name);
	pthread_mutex_lock(&r->lock);
	*r->todo_tail = j;
	r->todo_tail = &j->next;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static struct np_job *resolver_take_done(struct np_resolver *r)
{
	struct np_job *j;

	pthread_mutex_lock(&r->lock);
	j = r->done;
	r->done = NULL;
	r->done_tail = &r->done;
	pthread_mutex_unlock(&r->lock);
	return j;
}

/* --- The proxy ------------------------------------------------------ */

struct np_buf {
	char *p;
	size_t start, end;
};

enum np_state {
	NP_HEAD,    /* reading the request head */
	NP_RESOLVE, /* waiting for a resolver thread */
	NP_CONNECT, /* non-blocking connect under way */
	NP_TUNNEL,  /* relaying both ways */
	NP_REPLY,   /* writing our own response, then closing */
};

struct netproxy_task;

struct np_conn {
	struct netproxy_task *task;
	uint64_t id;
	enum np_state state;
	int cfd, ufd;
	struct np_buf up;   /* client -> upstream */
	struct np_buf down; /* upstream -> client */
	bool up_eof, down_eof, up_shut, down_shut;
	bool http;     /* one plain request: done when the upstream is */
	bool draining; /* NP_REPLY sent: read until EOF, then close */
	bool dead;
	int64_t deadline;
	int rule;
	struct netproxy_host host;
	unsigned port;
	char dest[300];
	struct netproxy_addr addrs[NP_MAX_ADDRS];
	size_t nr_addrs, next_addr;
};

enum np_req {
	NP_REQ_NONE,
	NP_REQ_SNAPSHOT,
	NP_REQ_DETACH,
};

struct netproxy_task {
	struct netproxy_task *next;
	struct netproxy *np;
	struct netproxy_allowlist al;
	struct netproxy_addr *own;
	size_t nr_own;
	int ctl_fd;
	int lfd[2];
	size_t nr_lfd;
	int64_t paused_until;
	unsigned nr_conns;
	struct netproxy_report rep; /* the proxy thread's */
	/* under np->lock: */
	enum np_req req;
	struct netproxy_report *req_out;
	bool req_done;
};

struct netproxy {
	struct netproxy_opts o;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int wake_fd;
	bool stop;			/* under lock */
	struct netproxy_task *incoming; /* under lock: attached, not yet seen
					 */
	bool requests;			/* under lock: some task has a req */
	struct np_resolver *res;
	/* the proxy thread's own: */
	struct netproxy_task *tasks;
	struct np_conn **conns;
	size_t nr_conns, alloc_conns;
	uint64_t next_id;
	size_t max_total; /* all tasks together, from RLIMIT_NOFILE */
};

static size_t buf_data(const struct np_buf *b)
{
	return b->end - b->start;
}

static size_t buf_space(const struct netproxy *np, struct np_buf *b)
{
	if (b->start == b->end)
		b->start = b->end = 0;
	if (b->end == np->o.buf_size && b->start) {
		memmove(b->p, b->p + b->start, b->end - b->start);
		b->end -= b->start;
		b->start = 0;
	}
	return np->o.buf_size - b->end;
}

static void buf_alloc(const struct netproxy *np, struct np_buf *b)
{
	if (!b->p)
		b->p = xmalloc(np->o.buf_size);
	b->start = b->end = 0;
}

static void conn_close(struct np_conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	close_fd(&c->cfd);
	close_fd(&c->ufd);
	free(c->up.p);
	free(c->down.p);
	c->up.p = c->down.p = NULL;
	c->task->nr_conns--;
}

static void conn_reply(struct np_conn *c, int code, const char *reason,
		       const char *msg)
{
	struct netproxy *np = c->task->np;
	int n;

	close_fd(&c->ufd);
	buf_alloc(np, &c->down);
	n = snprintf(c->down.p, np->o.buf_size,
		     "HTTP/1.1 %d %s\r\n"
		     "Content-Type: text/plain; charset=utf-8\r\n"
		     "Content-Length: %zu\r\n"
		     "Connection: close\r\n\r\n%s\n",
		     code, reason, strlen(msg) + 1, msg);
	c->down.end = n < 0 ? 0 : (size_t)n;
	c->state = NP_REPLY;
	c->deadline = time_mono_ms() + NP_REPLY_TIMEOUT_MS;
}

static void conn_refuse(struct np_conn *c, enum netproxy_reason reason,
			enum netproxy_addr_class cls, const char *msg)
{
	report_refuse(&c->task->rep,
		      reason == NETPROXY_REFUSED_MALFORMED ? "" : c->dest,
		      reason, cls);
	if (reason == NETPROXY_REFUSED_MALFORMED)
		conn_reply(c, 400, "Bad Request", msg);
	else
		conn_reply(c, 403, "Forbidden", msg);
}

static void conn_fail(struct np_conn *c, int code, const char *reason,
		      const char *msg)
{
	c->task->rep.failed++;
	conn_reply(c, code, reason, msg);
}

static bool tchar(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static bool hop_by_hop(const char *name, size_t len, const char *conn_hdr)
{
	static const char *const names[] = {
		"connection",
		"proxy-connection",
		"keep-alive",
		"proxy-authorization",
		"proxy-authenticate",
		"te",
		"trailer",
		"upgrade",
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == len &&
		    !strncasecmp(name, names[i], len))
			return true;
	/* and whatever the Connection header names */
	for (const char *p = conn_hdr; p && *p;) {
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		n = strcspn(p, " \t,");
		if (n == len && !strncasecmp(p, name, len))
			return true;
		p += n;
	}
	return false;
}

struct np_line {
	const char *s;
	size_t len;
};

/* A request head, split: every pointer is into c->up. */
struct np_head {
	struct np_line lines[128]; /* [0] the request line, then fields */
	size_t nr;
	const char *method, *target, *version;
	size_t mlen, tlen, vlen;
	bool connect;
	const char *host_hdr; /* the Host field's value, trimmed */
	size_t host_len;
	const char *path; /* of an absolute-form target */
	size_t path_len;
};

/* Lines end in CRLF or LF; the last one is empty. -1: malformed. */
static int head_split(struct np_head *h, const char *head, size_t head_len)
{
	size_t pos = 0;

	while (pos < head_len) {
		const char *nl = memchr(head + pos, '\n', head_len - pos);
		size_t len = (size_t)(nl - (head + pos));

		if (len && head[pos + len - 1] == '\r')
			len--;
		if (!len)
			break;
		if (h->nr == ARRAY_SIZE(h->lines))
			return -1;
		for (size_t i = 0; i < len; i++) {
			unsigned char ch = (unsigned char)head[pos + i];

			if ((ch < ' ' && ch != '\t') || ch == 0x7f)
				return -1;
		}
		h->lines[h->nr].s = head + pos;
		h->lines[h->nr++].len = len;
		pos = (size_t)(nl - head) + 1;
	}
	return h->nr ? 0 : -1;
}

/* METHOD SP TARGET SP VERSION. -1: malformed. */
static int head_request_line(struct np_head *h)
{
	const struct np_line *l = &h->lines[0];
	const char *sp1, *sp2;

	h->method = l->s;
	sp1 = memchr(h->method, ' ', l->len);
	if (!sp1)
		return -1;
	h->mlen = (size_t)(sp1 - h->method);
	h->target = sp1 + 1;
	sp2 = memchr(h->target, ' ', l->len - h->mlen - 1);
	if (!sp2 || !h->mlen || h->mlen > 32)
		return -1;
	h->tlen = (size_t)(sp2 - h->target);
	h->version = sp2 + 1;
	h->vlen = l->len - h->mlen - h->tlen - 2;
	if (!h->tlen || memchr(h->target, '\t', h->tlen) ||
	    !((h->vlen == 8 && !memcmp(h->version, "HTTP/1.1", 8)) ||
	      (h->vlen == 8 && !memcmp(h->version, "HTTP/1.0", 8))))
		return -1;
	for (size_t i = 0; i < h->mlen; i++)
		if (!tchar(h->method[i]))
			return -1;
	h->connect = h->mlen == 7 && !memcmp(h->method, "CONNECT", 7);
	return 0;
}

/* Every field a name and a colon; at most one Host. -1: malformed. */
static int head_fields(struct np_head *h)
{
	int nr_host = 0;

	for (size_t i = 1; i < h->nr; i++) {
		const struct np_line *l = &h->lines[i];
		const char *colon = memchr(l->s, ':', l->len);
		size_t nlen;

		if (l->s[0] == ' ' || l->s[0] == '\t' || !colon)
			return -1; /* obs-fold, or no name */
		nlen = (size_t)(colon - l->s);
		for (size_t k = 0; k < nlen; k++)
			if (!tchar(l->s[k]))
				return -1;
		if (nlen == 4 && !strncasecmp(l->s, "host", 4)) {
			h->host_hdr = colon + 1;
			h->host_len = l->len - nlen - 1;
			while (h->host_len &&
			       (*h->host_hdr == ' ' || *h->host_hdr == '\t')) {
				h->host_hdr++;
				h->host_len--;
			}
			while (h->host_len &&
			       (h->host_hdr[h->host_len - 1] == ' ' ||
				h->host_hdr[h->host_len - 1] == '\t'))
				h->host_len--;
			nr_host++;
		}
	}
	return nr_host > 1 ? -1 : 0;
}

/*
 * The destination, into c->host and c->port: the authority of CONNECT,
 * or of an http:// target (which also sets h->path). -1: malformed; -2:
 * refused with a reply of its own.
 */
static int head_target(struct np_conn *c, struct np_head *h)
{
	const char *target = h->target, *auth, *end;
	size_t tlen = h->tlen, alen;

	if (h->connect)
		return netproxy_authority_parse(target, tlen, 0, &c->host,
						&c->port) < 0
			       ? -1
			       : 0;
	if (tlen >= 8 && !strncasecmp(target, "https://", 8)) {
		conn_refuse(c, NETPROXY_REFUSED_MALFORMED, 0,
			    "runner: use CONNECT for https:// "
			    "through this proxy");
		return -2;
	}
	if (tlen < 7 || strncasecmp(target, "http://", 7))
		return -1;
	auth = target + 7;
	end = auth;
	while (end < target + tlen && !strchr("/?#", *end))
		end++;
	alen = (size_t)(end - auth);
	if (memchr(auth, '@', alen) ||
	    netproxy_authority_parse(auth, alen, 80, &c->host, &c->port) < 0)
		return -1;
	if (end < target + tlen) {
		h->path = end;
		h->path_len = (size_t)(target + tlen - end);
	}
	c->http = true;
	return 0;
}

/* A Host field must name the target's host and port. -1: it does not. */
static int head_host_matches(const struct np_conn *c, const struct np_head *h)
{
	struct netproxy_host hh;
	unsigned hport;

	if (!h->host_hdr)
		return 0;
	if (netproxy_authority_parse(h->host_hdr, h->host_len, c->port, &hh,
				     &hport) < 0 ||
	    hh.kind != c->host.kind || strcmp(hh.name, c->host.name) ||
	    hport != c->port)
		return -1;
	return 0;
}

/*
 * Replace the head in c->up by the request in origin form, without
 * hop-by-hop fields, for the upstream. -1 if it does not fit.
 */
static int head_rewrite(struct np_conn *c, const struct np_head *h,
			size_t head_len)
{
	struct strbuf out = STRBUF_INIT;
	char *conn_hdr = NULL;
	size_t rest = c->up.end - head_len;
	int ret = -1;

	for (size_t i = 1; i < h->nr; i++)
		if (!conn_hdr &&
		    !strncasecmp(h->lines[i].s, "connection:", 11))
			conn_hdr = xstrndup(h->lines[i].s + 11,
					    h->lines[i].len - 11);
	strbuf_init(&out, head_len + 64);
	strbuf_add(&out, h->method, h->mlen);
	strbuf_addch(&out, ' ');
	if (h->path[0] == '?')
		strbuf_addch(&out, '/');
	strbuf_add(&out, h->path, h->path_len);
	strbuf_addch(&out, ' ');
	strbuf_add(&out, h->version, h->vlen);
	strbuf_addstr(&out, "\r\n");
	for (size_t i = 1; i < h->nr; i++) {
		const char *colon =
			memchr(h->lines[i].s, ':', h->lines[i].len);

		if (hop_by_hop(h->lines[i].s, (size_t)(colon - h->lines[i].s),
			       conn_hdr))
			continue;
		strbuf_add(&out, h->lines[i].s, h->lines[i].len);
		strbuf_addstr(&out, "\r\n");
	}
	if (!h->host_hdr) {
		if (c->port == 80 && c->host.kind == NETPROXY_HOST_ADDR &&
		    c->host.addr.family == AF_INET6)
			strbuf_addf(&out, "Host: [%s]\r\n", c->host.name);
		else if (c->port == 80)
			strbuf_addf(&out, "Host: %s\r\n", c->host.name);
		else
			strbuf_addf(&out, "Host: %s\r\n", c->dest);
	}
	strbuf_addstr(&out, "Connection: close\r\n\r\n");
	if (out.len + rest > c->task->np->o.buf_size)
		goto out; /* cannot happen: head <= 16 KiB */
	memmove(c->up.p + out.len, c->up.p + head_len, rest);
	memcpy(c->up.p, out.buf, out.len);
	c->up.start = 0;
	c->up.end = out.len + rest;
	ret = 0;
out:
	free(conn_hdr);
	strbuf_release(&out);
	return ret;
}

/*
 * Parse the head in c->up (head_len bytes, ending in an empty line).
 * Returns 0 with c->host, c->port, c->dest set and, for a plain request,
 * the rewritten head followed by what came after it in c->up; or -1 with
 * a reply under way.
 */
static int conn_parse_head(struct np_conn *c, size_t head_len)
{
	struct np_head h = { .path = "/", .path_len = 1 };
	int rc;

	if (head_split(&h, c->up.p, head_len) < 0 ||
	    head_request_line(&h) < 0 || head_fields(&h) < 0)
		goto malformed;
	if ((rc = head_target(c, &h)) == -2)
		return -1;
	if (rc < 0)
		goto malformed;
	host_dest(&c->host, c->port, c->dest, sizeof(c->dest));
	if (head_host_matches(c, &h) < 0)
		goto malformed;
	if (h.connect) {
		/* what came after the head is the tunnel's first bytes */
		memmove(c->up.p, c->up.p + head_len, c->up.end - head_len);
		c->up.end -= head_len;
	} else if (head_rewrite(c, &h, head_len) < 0) {
		goto malformed;
	}
	return 0;
malformed:
	conn_refuse(c, NETPROXY_REFUSED_MALFORMED, 0,
		    "runner: not a proxy request this proxy takes");
	return -1;
}

static void conn_connect_next(struct np_conn *c);

static void conn_start_tunnel(struct np_conn *c)
{
	struct netproxy *np = c->task->np;
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	int one = 1;

	setsockopt(c->ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	buf_alloc(np, &c->down);
	if (!c->http) {
		memcpy(c->down.p, ok, sizeof(ok) - 1);
		c->down.end = sizeof(ok) - 1;
	}
	c->state = NP_TUNNEL;
	c->deadline = time_mono_ms() + np->o.idle_timeout_ms;
	c->task->rep.forwarded++;
}

static void conn_connect_next(struct np_conn *c)
{
	while (c->next_addr < c->nr_addrs) {
		struct sockaddr_storage ss;
		socklen_t len =
			addr_sockaddr(&c->addrs[c->next_addr++], c->port, &ss);
		int fd = socket(ss.ss_family,
				SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0)
			continue;
		c->ufd = fd;
		if (!connect(fd, (struct sockaddr *)&ss, len)) {
			conn_start_tunnel(c);
			return;
		}
		if (errno == EINPROGRESS) {
			c->state = NP_CONNECT;
			return;
		}
		close_fd(&c->ufd);
	}
	conn_fail(c, 502, "Bad Gateway", "runner: cannot connect");
}

/* Keep the addresses the rule may reach; refuse when none is left. */
static void conn_dial(struct np_conn *c, const struct netproxy_addr *addrs,
		      size_t nr)
{
	struct netproxy_task *t = c->task;
	enum netproxy_addr_class denied = NETPROXY_ADDR_PUBLIC;
	char msg[400];

	c->nr_addrs = c->next_addr = 0;
	for (size_t i = 0; i < nr; i++) {
		enum netproxy_addr_class cls = netproxy_allowlist_permits(
			&t->al, (size_t)c->rule, &addrs[i], c->port, t->own,
			t->nr_own);

		if (cls == NETPROXY_ADDR_PUBLIC)
			c->addrs[c->nr_addrs++] = addrs[i];
		else if (denied == NETPROXY_ADDR_PUBLIC)
			denied = cls;
	}
	if (!c->nr_addrs) {
		snprintf(msg, sizeof(msg),
			 "runner: %s resolves to %s, which the task's network "
			 "allowlist does not name",
			 c->dest, netproxy_addr_class_name(denied));
		conn_refuse(c, NETPROXY_REFUSED_ADDRESS, denied, msg);
		return;
	}
	conn_connect_next(c);
}

static void conn_head_done(struct np_conn *c, size_t head_len)
{
	struct netproxy_task *t = c->task;
	struct netproxy *np = t->np;
	char msg[400];

	if (conn_parse_head(c, head_len) < 0)
		return;
	c->rule = netproxy_allowlist_match(&t->al, &c->host, c->port);
	if (c->rule < 0) {
		snprintf(msg, sizeof(msg),
			 "runner: %s is not in the task's network allowlist",
			 c->dest);
		conn_refuse(c, NETPROXY_REFUSED_NOT_LISTED, 0, msg);
		return;
	}
	c->deadline = time_mono_ms() + np->o.connect_timeout_ms;
	if (c->host.kind == NETPROXY_HOST_ADDR) {
		conn_dial(c, &c->host.addr, 1);
	} else if (t->al.rules[c->rule].kind == NETPROXY_RULE_LOCALHOST) {
		struct netproxy_addr lo[2] = {
			{ .family = AF_INET, .b = { 127, 0, 0, 1 } },
			{ .family = AF_INET6, .b = { [15] = 1 } }
		};

		conn_dial(c, lo, 2);
	} else {
		c->state = NP_RESOLVE;
		resolver_submit(np->res, c->id, c->host.name);
	}
}

static struct np_conn *find_conn(struct netproxy *np, uint64_t id)
{
	for (size_t i = 0; i < np->nr_conns; i++)
		if (np->conns[i]->id == id && !np->conns[i]->dead)
			return np->conns[i];
	return NULL;
}

static void take_resolved(struct netproxy *np)
{
	struct np_job *j = resolver_take_done(np->res);

	while (j) {
		struct np_job *next = j->next;
		struct np_conn *c = find_conn(np, j->conn_id);

		if (c && c->state == NP_RESOLVE) {
			if (j->nr <= 0) {
				char msg[400];

				snprintf(msg, sizeof(msg),
					 "runner: cannot resolve %s",
					 c->host.name);
				conn_fail(c, 502, "Bad Gateway", msg);
			} else {
				conn_dial(c, j->addrs, (size_t)j->nr);
			}
		}
		free(j);
		j = next;
	}
}

/* Read the request head; act on it once complete. */
static void conn_read_head(struct np_conn *c)
{
	struct netproxy *np = c->task->np;
	size_t limit = NP_HEAD_MAX < np->o.buf_size ? NP_HEAD_MAX
						    : np->o.buf_size;
	ssize_t n;
	char *p, *end;

	if (c->up.end >= limit) {
		conn_reply(c, 431, "Request Header Fields Too Large",
			   "runner: the request head is too large");
		return;
	}
	n = read(c->cfd, c->up.p + c->up.end, limit - c->up.end);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	/* look for the empty line, from a little before the new bytes */
	p = c->up.p + (c->up.end > 3 ? c->up.end - 3 : 0);
	c->up.end += (size_t)n;
	end = c->up.p + c->up.end;
	for (; p < end; p++) {
		if (*p != '\n')
			continue;
		if (p + 1 < end && p[1] == '\n') {
			conn_head_done(c, (size_t)(p + 2 - c->up.p));
			return;
		}
		if (p + 2 < end && p[1] == '\r' && p[2] == '\n') {
			conn_head_done(c, (size_t)(p + 3 - c->up.p));
			return;
		}
	}
	if (c->up.end >= limit)
		conn_reply(c, 431, "Request Header Fields Too Large",
			   "runner: the request head is too large");
}

/*
 * Move bytes from "from" into b, and from b to "to". Returns 1 when some
 * moved, 0 when none could, -1 when the connection is gone.
 */
static int pump(struct np_conn *c, int from, int to, struct np_buf *b,
		bool *eof, bool *shut, bool can_read, uint64_t *counter)
{
	struct netproxy *np = c->task->np;
	bool moved = false;
	ssize_t n;

	if (can_read && !*eof && buf_space(np, b)) {
		n = read(from, b->p + b->end, np->o.buf_size - b->end);
		if (n > 0) {
			b->end += (size_t)n;
			moved = true;
		} else if (n == 0) {
			*eof = true;
		} else if (errno != EAGAIN && errno != EINTR) {
			return -1;
		}
	}
	if (buf_data(b)) {
		n = send(to, b->p + b->start, buf_data(b), MSG_NOSIGNAL);
		if (n > 0) {
			b->start += (size_t)n;
			*counter += (uint64_t)n;
			moved = true;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			return -1;
		}
	}
	if (*eof && !buf_data(b) && !*shut) {
		shutdown(to, SHUT_WR);
		*shut = true;
	}
	return moved;
}

/*
 * Relay both ways. A few rounds while bytes move, before going back to
 * poll(): a busy stream then costs fewer poll() calls per byte, and the
 * rounds are few enough that no connection starves the others.
 */
static void conn_tunnel(struct np_conn *c, short crev, short urev)
{
	struct netproxy_report *rep = &c->task->rep;
	bool cread = crev & (POLLIN | POLLHUP | POLLERR);
	bool uread = urev & (POLLIN | POLLHUP | POLLERR);
	bool moved = false;

	for (int round = 0; round < 4; round++) {
		int up = pump(c, c->cfd, c->ufd, &c->up, &c->up_eof,
			      &c->up_shut, cread, &rep->bytes_out);
		int down = up < 0 ? -1
				  : pump(c, c->ufd, c->cfd, &c->down,
					 &c->down_eof, &c->down_shut, uread,
					 &rep->bytes_in);

		if (up < 0 || down < 0) {
			conn_close(c);
			return;
		}
		if (!up && !down)
			break;
		moved = true;
		cread = uread = true;
	}
	if (moved)
		c->deadline = time_mono_ms() + c->task->np->o.idle_timeout_ms;
	if ((c->up_shut && c->down_shut) || (c->http && c->down_shut))
		conn_close(c);
}

/*
 * Send our reply, then read what the client still sends until it closes:
 * closing with unread data would reset the connection, and the client
 * could lose the reply.
 */
static void conn_reply_event(struct np_conn *c, short crev)
{
	ssize_t n;

	if (!c->draining) {
		n = send(c->cfd, c->down.p + c->down.start, buf_data(&c->down),
			 MSG_NOSIGNAL);
		if (n > 0)
			c->down.start += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			conn_close(c);
		if (!c->dead && !buf_data(&c->down)) {
			shutdown(c->cfd, SHUT_WR);
			c->draining = true;
		}
		return;
	}
	if (!(crev & (POLLIN | POLLHUP | POLLERR)))
		return;
	n = read(c->cfd, c->up.p, c->task->np->o.buf_size);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		conn_close(c);
}

static void conn_event(struct np_conn *c, short crev, short urev)
{
	int e = 0;
	socklen_t len = sizeof(e);

	switch (c->state) {
	case NP_HEAD:
		if (crev)
			conn_read_head(c);
		break;
	case NP_RESOLVE:
		if (crev & (POLLHUP | POLLERR))
			conn_close(c);
		break;
	case NP_CONNECT:
		if (crev & (POLLHUP | POLLERR)) {
			conn_close(c);
			break;
		}
		if (!urev)
			break;
		if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
			e = errno;
		if (e) {
			close_fd(&c->ufd);
			conn_connect_next(c);
		} else {
			conn_start_tunnel(c);
		}
		break;
	case NP_TUNNEL:
		conn_tunnel(c, crev, urev);
		break;
	case NP_REPLY:
		conn_reply_event(c, crev);
		break;
	}
}

static void conn_timeout(struct np_conn *c)
{
	struct netproxy_report *rep = &c->task->rep;

	rep->timed_out++;
	switch (c->state) {
	case NP_HEAD:
		conn_reply(c, 408, "Request Timeout",
			   "runner: the request head took too long");
		break;
	case NP_RESOLVE:
	case NP_CONNECT:
		conn_fail(c, 504, "Gateway Timeout",
			  "runner: the destination did not answer in time");
		break;
	case NP_TUNNEL:
	case NP_REPLY:
		conn_close(c);
		break;
	}
}

static void task_accept(struct netproxy_task *t, int lfd)
{
	struct netproxy *np = t->np;

	for (int i = 0; i < 16 && t->nr_conns < np->o.max_conns &&
			np->nr_conns < np->max_total;
	     i++) {
		int fd =
			accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct np_conn *c;
		int one = 1;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				t->paused_until = time_mono_ms() + 100;
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = xcalloc(1, sizeof(*c));
		c->task = t;
		c->id = ++np->next_id;
		c->cfd = fd;
		c->ufd = -1;
		c->rule = -1;
		buf_alloc(np, &c->up);
		c->deadline = time_mono_ms() + np->o.head_timeout_ms;
		ALLOC_GROW(np->conns, np->nr_conns + 1, np->alloc_conns);
		np->conns[np->nr_conns++] = c;
		t->nr_conns++;
		t->rep.connections++;
		if (t->nr_conns > t->rep.peak_connections)
			t->rep.peak_connections = t->nr_conns;
	}
}

static bool valid_listener(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) < 0 || !v)
		return false;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0 ||
	    v != SOCK_STREAM)
		return false;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0 ||
	    (v != AF_INET && v != AF_INET6))
		return false;
	return true;
}

/* The helper's message: the listening sockets, or EOF when it failed. */
static void task_read_ctl(struct netproxy_task *t)
{
	char data[64];
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	ssize_t n = recvmsg(t->ctl_fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); n > 0 && cm;
	     cm = CMSG_NXTHDR(&msg, cm)) {
		size_t nfd;
		int fds[4];

		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (nfd > ARRAY_SIZE(fds))
			nfd = ARRAY_SIZE(fds);
		memcpy(fds, CMSG_DATA(cm), nfd * sizeof(int));
		for (size_t i = 0; i < nfd; i++) {
			int fd = fds[i];

			if (t->nr_lfd < ARRAY_SIZE(t->lfd) &&
			    valid_listener(fd) &&
			    (size_t)n == strlen(NP_HELLO) &&
			    !memcmp(data, NP_HELLO, (size_t)n)) {
				fcntl(fd, F_SETFL,
				      fcntl(fd, F_GETFL) | O_NONBLOCK);
				t->lfd[t->nr_lfd++] = fd;
			} else {
				close(fd);
			}
		}
	}
	if (!t->nr_lfd && !t->rep.error)
		t->rep.error = xstrdup("the sandbox did not hand the network "
				       "proxy its socket: the task had no "
				       "network");
	close_fd(&t->ctl_fd);
}

static void task_close_all(struct netproxy *np, struct netproxy_task *t)
{
	for (size_t i = 0; i < np->nr_conns; i++)
		if (np->conns[i]->task == t)
			conn_close(np->conns[i]);
	for (size_t i = 0; i < t->nr_lfd; i++)
		close_fd(&t->lfd[i]);
	t->nr_lfd = 0;
	close_fd(&t->ctl_fd);
}

static void task_free(struct netproxy_task *t)
{
	netproxy_allowlist_release(&t->al);
	netproxy_report_release(&t->rep);
	free(t->own);
	free(t);
}

static void sweep(struct netproxy *np)
{
	size_t j = 0;

	for (size_t i = 0; i < np->nr_conns; i++) {
		if (np->conns[i]->dead)
			free(np->conns[i]);
		else
			np->conns[j++] = np->conns[i];
	}
	np->nr_conns = j;
}

/* Under np->lock: adopt new tasks, answer snapshot and detach requests. */
static void handle_requests(struct netproxy *np)
{
	struct netproxy_task **pp;

	while (np->incoming) {
		struct netproxy_task *t = np->incoming;

		np->incoming = t->next;
		t->next = np->tasks;
		np->tasks = t;
	}
	if (!np->requests)
		return;
	np->requests = false;
	for (pp = &np->tasks; *pp;) {
		struct netproxy_task *t = *pp;

		if (t->req == NP_REQ_SNAPSHOT) {
			report_copy(t->req_out, &t->rep);
		} else if (t->req == NP_REQ_DETACH) {
			task_close_all(np, t);
			*t->req_out = t->rep;
			memset(&t->rep, 0, sizeof(t->rep));
			*pp = t->next;
		}
		if (t->req != NP_REQ_NONE) {
			t->req = NP_REQ_NONE;
			t->req_done = true;
		}
		if (*pp == t)
			pp = &t->next;
	}
	pthread_cond_broadcast(&np->cond);
	sweep(np);
}

enum np_kind { NP_K_WAKE, NP_K_RES, NP_K_CTL, NP_K_LISTEN, NP_K_CONN };

struct np_slot {
	enum np_kind kind;
	struct netproxy_task *task;
	struct np_conn *conn;
	int fd;
};

/* One turn's poll set: pfds[i] is what slots[i] says it is. */
struct np_poll {
	struct pollfd *pfds;
	struct np_slot *slots;
	size_t n, alloc_p, alloc_s;
};

static void poll_add(struct np_poll *p, int fd, short events,
		     struct np_slot slot)
{
	ALLOC_GROW(p->pfds, p->n + 1, p->alloc_p);
	ALLOC_GROW(p->slots, p->n + 1, p->alloc_s);
	p->pfds[p->n] = (struct pollfd){ .fd = fd, .events = events };
	p->slots[p->n++] = slot;
}

/*
 * Each task's control socket, and its listeners while it may take
 * another connection. Lowers *next to the end of a pause.
 */
static void poll_add_tasks(struct netproxy *np, struct np_poll *p, int64_t now,
			   int64_t *next)
{
	for (struct netproxy_task *t = np->tasks; t; t = t->next) {
		if (t->ctl_fd >= 0)
			poll_add(p, t->ctl_fd, POLLIN,
				 (struct np_slot){ .kind = NP_K_CTL,
						   .task = t });
		if (t->paused_until > now && t->paused_until < *next)
			*next = t->paused_until;
		for (size_t i = 0; i < t->nr_lfd; i++) {
			if (t->nr_conns >= np->o.max_conns ||
			    np->nr_conns >= np->max_total ||
			    t->paused_until > now)
				continue;
			poll_add(p, t->lfd[i], POLLIN,
				 (struct np_slot){ .kind = NP_K_LISTEN,
						   .task = t,
						   .fd = t->lfd[i] });
		}
	}
}

/* What c waits for on the client (*ce) and upstream (*ue) sides. */
static void conn_poll_events(const struct netproxy *np,
			     const struct np_conn *c, short *ce, short *ue)
{
	*ce = *ue = 0;
	switch (c->state) {
	case NP_HEAD:
		*ce = POLLIN;
		break;
	case NP_RESOLVE:
		break;
	case NP_CONNECT:
		*ue = POLLOUT;
		break;
	case NP_TUNNEL:
		if (!c->up_eof && c->up.end - c->up.start < np->o.buf_size)
			*ce |= POLLIN;
		if (buf_data(&c->down))
			*ce |= POLLOUT;
		if (!c->down_eof &&
		    c->down.end - c->down.start < np->o.buf_size)
			*ue |= POLLIN;
		if (buf_data(&c->up))
			*ue |= POLLOUT;
		break;
	case NP_REPLY:
		*ce = c->draining ? POLLIN : POLLOUT;
		break;
	}
}

/* Each connection's client and upstream sockets; lowers *next. */
static void poll_add_conns(struct netproxy *np, struct np_poll *p,
			   int64_t *next)
{
	for (size_t i = 0; i < np->nr_conns; i++) {
		struct np_conn *c = np->conns[i];
		short ce, ue;

		conn_poll_events(np, c, &ce, &ue);
		if (c->deadline < *next)
			*next = c->deadline;
		poll_add(p, c->cfd, ce,
			 (struct np_slot){
				 .kind = NP_K_CONN, .conn = c, .fd = 0 });
		if (c->ufd >= 0)
			poll_add(p, c->ufd, ue,
				 (struct np_slot){ .kind = NP_K_CONN,
						   .conn = c,
						   .fd = 1 });
	}
}

static void poll_dispatch(struct netproxy *np, const struct np_poll *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct np_slot *s = &p->slots[i];
		short rev = p->pfds[i].revents;

		if (s->kind == NP_K_CONN) {
			struct np_conn *c = s->conn;
			short crev = 0, urev = 0;

			/* a conn's slots are adjacent: client, up */
			if (s->fd == 1 || c->dead)
				continue;
			crev = rev;
			if (i + 1 < p->n &&
			    p->slots[i + 1].kind == NP_K_CONN &&
			    p->slots[i + 1].conn == c)
				urev = p->pfds[i + 1].revents;
			if (crev || urev)
				conn_event(c, crev, urev);
			continue;
		}
		if (!rev)
			continue;
		switch (s->kind) {
		case NP_K_WAKE:
			drain(np->wake_fd);
			break;
		case NP_K_RES:
			drain(np->res->wake_fd);
			take_resolved(np);
			break;
		case NP_K_CTL:
			task_read_ctl(s->task);
			break;
		case NP_K_LISTEN:
			task_accept(s->task, s->fd);
			break;
		case NP_K_CONN:
			break;
		}
	}
}

/* Stopping: close everything, free tasks never detached. */
static void proxy_shutdown(struct netproxy *np)
{
	pthread_mutex_lock(&np->lock);
	handle_requests(np);
	while (np->tasks) {
		struct netproxy_task *t = np->tasks;

		np->tasks = t->next;
		task_close_all(np, t);
		task_free(t);
	}
	sweep(np);
	pthread_mutex_unlock(&np->lock);
}

static void *proxy_thread(void *arg)
{
	struct netproxy *np = arg;
	struct np_poll p = { NULL, NULL, 0, 0, 0 };

	for (;;) {
		int64_t now, next;
		int timeout;

		pthread_mutex_lock(&np->lock);
		if (np->stop) {
			pthread_mutex_unlock(&np->lock);
			break;
		}
		handle_requests(np);
		pthread_mutex_unlock(&np->lock);

		now = time_mono_ms();
		next = now + 1000;
		p.n = 0;
		poll_add(&p, np->wake_fd, POLLIN,
			 (struct np_slot){ .kind = NP_K_WAKE });
		poll_add(&p, np->res->wake_fd, POLLIN,
			 (struct np_slot){ .kind = NP_K_RES });
		poll_add_tasks(np, &p, now, &next);
		poll_add_conns(np, &p, &next);
		timeout = next > now ? (int)(next - now) : 0;
		if (poll(p.pfds, p.n, timeout) < 0) {
			/* ENOMEM: try again; a detach must still be served */
			time_sleep_ms(10);
			continue;
		}
		poll_dispatch(np, &p);
		now = time_mono_ms();
		for (size_t i = 0; i < np->nr_conns; i++)
			if (!np->conns[i]->dead &&
			    np->conns[i]->deadline <= now)
				conn_timeout(np->conns[i]);
		sweep(np);
	}
	proxy_shutdown(np);
	free(p.pfds);
	free(p.slots);
	return NULL;
}

struct netproxy *netproxy_new(const struct netproxy_opts *opts,
			      struct strbuf *err)
{
	struct netproxy *np = xcalloc(1, sizeof(*np));
	struct rlimit rl;
	int e;

	if (opts)
		np->o = *opts;
	if (!np->o.max_conns)
		np->o.max_conns = 128;
	if (!np->o.buf_size)
		np->o.buf_size = 64 * 1024;
	if (np->o.buf_size < 4096)
		np->o.buf_size = 4096;
	if (np->o.head_timeout_ms <= 0)
		np->o.head_timeout_ms = 30 * 1000;
	if (np->o.connect_timeout_ms <= 0)
		np->o.connect_timeout_ms = 30 * 1000;
	if (np->o.idle_timeout_ms <= 0)
		np->o.idle_timeout_ms = 10 * 60 * 1000;
	if (!np->o.resolver_threads)
		np->o.resolver_threads = 2;
	/*
	 * Two descriptors per connection; leave the runner a quarter of
	 * its limit (and at least 64) for everything else.
	 */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		rl.rlim_cur = 1024;
	np->max_total =
		rl.rlim_cur > 256
			? (rl.rlim_cur - rl.rlim_cur / 4) / 2
			: (rl.rlim_cur > 96 ? (rl.rlim_cur - 64) / 2 : 16);
	pthread_mutex_init(&np->lock, NULL);
	pthread_cond_init(&np->cond, NULL);
	np->wake_fd = fd_above_stdio(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (np->wake_fd < 0) {
		strbuf_addf(err, "cannot create an eventfd: %s",
			    strerror(errno));
		goto fail;
	}
	np->res = resolver_new(np->o.resolver_threads, np->o.resolve,
			       np->o.resolve_ctx, err);
	if (!np->res)
		goto fail;
	e = pthread_create(&np->thread, NULL, proxy_thread, np);
	if (e) {
		strbuf_addf(err, "cannot start the network proxy's thread: %s",
			    strerror(e));
		goto fail;
	}
	return np;
fail:
	if (np->res)
		resolver_stop(np->res);
	close_fd(&np->wake_fd);
	pthread_cond_destroy(&np->cond);
	pthread_mutex_destroy(&np->lock);
	free(np);
	return NULL;
}

void netproxy_free(struct netproxy *np)
{
	if (!np)
		return;
	pthread_mutex_lock(&np->lock);
	np->stop = true;
	pthread_mutex_unlock(&np->lock);
	wake(np->wake_fd);
	pthread_join(np->thread, NULL);
	while (np->incoming) {
		struct netproxy_task *t = np->incoming;

		np->incoming = t->next;
		task_close_all(np, t);
		task_free(t);
	}
	resolver_stop(np->res);
	free(np->conns);
	close_fd(&np->wake_fd);
	pthread_cond_destroy(&np->cond);
	pthread_mutex_destroy(&np->lock);
	free(np);
}

/* This host's interface addresses, for netproxy_allowlist_permits. */
static void own_addresses(struct netproxy_task *t)
{
	struct ifaddrs *ifa = NULL;
	size_t alloc = 0;

	if (getifaddrs(&ifa) < 0)
		return;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		struct netproxy_addr a;

		if (!i->ifa_addr ||
		    netproxy_addr_from_sockaddr(&a, i->ifa_addr))
			continue;
		ALLOC_GROW(t->own, t->nr_own + 1, alloc);
		t->own[t->nr_own++] = a;
	}
	freeifaddrs(ifa);
}

struct netproxy_task *netproxy_attach(struct netproxy *np,
				      const struct netproxy_allowlist *al,
				      int ctl_fd, struct strbuf *err)
{
	struct netproxy_task *t;

	if (ctl_fd < 0) {
		strbuf_addstr(err, "no control socket for the network proxy");
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->np = np;
	t->ctl_fd = ctl_fd;
	t->lfd[0] = t->lfd[1] = -1;
	netproxy_allowlist_copy(&t->al, al);
	own_addresses(t);
	pthread_mutex_lock(&np->lock);
	t->next = np->incoming;
	np->incoming = t;
	pthread_mutex_unlock(&np->lock);
	wake(np->wake_fd);
	return t;
}

static void task_request(struct netproxy_task *t, enum np_req req,
			 struct netproxy_report *out)
{
	struct netproxy *np = t->np;

	pthread_mutex_lock(&np->lock);
	t->req = req;
	t->req_out = out;
	t->req_done = false;
	np->requests = true;
	wake(np->wake_fd);
	while (!t->req_done)
		pthread_cond_wait(&np->cond, &np->lock);
	pthread_mutex_unlock(&np->lock);
}

void netproxy_detach(struct netproxy_task *t, struct netproxy_report *report)
{
	struct netproxy_report tmp = NETPROXY_REPORT_INIT;

	if (!t)
		return;
	task_request(t, NP_REQ_DETACH, report ? report : &tmp);
	netproxy_report_release(&tmp);
	task_free(t);
}

void netproxy_task_report(struct netproxy_task *t,
			  struct netproxy_report *report)
{
	task_request(t, NP_REQ_SNAPSHOT, report);
}

/* --- The sandbox side ----------------------------------------------- */

int netproxy_sandbox_prepare(struct netproxy_sandbox *s, const char *exe,
			     struct strbuf *err)
{
	int sv[2];

	s->exe_fd = s->inner_fd = s->outer_fd = -1;
	if (!exe)
		exe = "/proc/self/exe";
	s->exe_fd = fd_above_stdio(open(exe, O_RDONLY | O_CLOEXEC));
	if (s->exe_fd < 0) {
		strbuf_addf(err, "cannot open '%s' for the sandbox: %s", exe,
			    strerror(errno));
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		strbuf_addf(err, "cannot create a socket pair: %s",
			    strerror(errno));
		close_fd(&s->exe_fd);
		return -1;
	}
	s->inner_fd = fd_above_stdio(sv[0]);
	s->outer_fd = fd_above_stdio(sv[1]);
	if (s->inner_fd < 0 || s->outer_fd < 0) {
		strbuf_addf(err, "cannot create a socket pair: %s",
			    strerror(errno));
		netproxy_sandbox_release(s);
		return -1;
	}
	return 0;
}

void netproxy_sandbox_argv(const struct netproxy_sandbox *s,
			   struct strvec *args)
{
	strvec_pushf(args, "/proc/self/fd/%d", s->exe_fd);
	strvec_push(args, NETPROXY_HELPER);
	strvec_push(args, "--fd");
	strvec_pushf(args, "%d", s->inner_fd);
	strvec_push(args, "--exe-fd");
	strvec_pushf(args, "%d", s->exe_fd);
	strvec_push(args, "--");
}

void netproxy_sandbox_env(struct strvec *env)
{
	static const char *const names[] = {
		"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
		"http_proxy", "https_proxy", "all_proxy",
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		strvec_pushf(env, "%s=http://127.0.0.1:%d", names[i],
			     NETPROXY_PORT);
	strvec_push(env, "NO_PROXY=");
	strvec_push(env, "no_proxy=");
}

void netproxy_sandbox_started(struct netproxy_sandbox *s)
{
	close_fd(&s->exe_fd);
	close_fd(&s->inner_fd);
}

void netproxy_sandbox_release(struct netproxy_sandbox *s)
{
	close_fd(&s->exe_fd);
	close_fd(&s->inner_fd);
	close_fd(&s->outer_fd);
}

static int parse_fd_arg(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 0 || v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

static int listen_loopback(int family, int port, struct strbuf *err)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		goto fail;
	if (family == AF_INET) {
		struct sockaddr_in *in = (void *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (void *)&ss;

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		in6->sin6_addr = in6addr_loopback;
		len = sizeof(*in6);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0)
		goto fail;
	return fd;
fail:
	if (err)
		strbuf_addf(err, "cannot listen on %s port %d: %s",
			    family == AF_INET ? "127.0.0.1" : "[::1]", port,
			    strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

int netproxy_helper_main(int argc, const char **argv, struct strbuf *err)
{
	int ctl = -1, exe = -1, port = NETPROXY_PORT, fds[2], nfd = 0;
	const char *const *cmd = NULL;
	union {
		char buf[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)NP_HELLO,
			     .iov_len = strlen(NP_HELLO) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			cmd = argv + i + 1;
			break;
		}
		if (i + 1 >= argc)
			goto usage;
		if (!strcmp(argv[i], "--fd")) {
			if (parse_fd_arg(argv[++i], &ctl) < 0)
				goto usage;
		} else if (!strcmp(argv[i], "--exe-fd")) {
			if (parse_fd_arg(argv[++i], &exe) < 0)
				goto usage;
		} else if (!strcmp(argv[i], "--port")) {
			if (parse_fd_arg(argv[++i], &port) < 0 || port < 1 ||
			    port > 65535)
				goto usage;
		} else {
			goto usage;
		}
	}
	if (ctl < 0 || !cmd || !cmd[0])
		goto usage;

	fds[nfd] = listen_loopback(AF_INET, port, err);
	if (fds[nfd] < 0)
		goto fail;
	nfd++;
	/* IPv6 only where the sandbox has it */
	fds[nfd] = listen_loopback(AF_INET6, port, NULL);
	if (fds[nfd] >= 0)
		nfd++;
	msg.msg_control = u.buf;
	msg.msg_controllen = CMSG_SPACE((size_t)nfd * sizeof(int));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN((size_t)nfd * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, (size_t)nfd * sizeof(int));
	if (sendmsg(ctl, &msg, MSG_NOSIGNAL) < 0) {
		strbuf_addf(err, "cannot hand the proxy socket to runner: %s",
			    strerror(errno));
		goto fail;
	}
	for (int i = 0; i < nfd; i++)
		close(fds[i]);
	nfd = 0;
	close(ctl);
	if (exe >= 0)
		close(exe);
	execvp(cmd[0], (char *const *)cmd);
	strbuf_addf(err, "cannot run '%s': %s", cmd[0], strerror(errno));
	return -1;
usage:
	strbuf_addstr(err, "usage: " NETPROXY_HELPER
			   " --fd N [--exe-fd N] [--port N] -- CMD...");
	return -1;
fail:
	for (int i = 0; i < nfd; i++)
		close(fds[i]);
	strbuf_addstr(err, " (the network proxy's helper in the sandbox)");
	return -1;
}
