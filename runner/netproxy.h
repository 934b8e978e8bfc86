#ifndef NETPROXY_H
#define NETPROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;
struct strbuf;
struct strvec;

/*
 * The network allowlist of a sandboxed task (network: [host:port, ...]):
 * the task keeps its own empty network namespace, and its only way out
 * is an HTTP proxy (CONNECT and plain http://) that runner runs on the
 * host, which connects only to the listed destinations and counts what
 * it refused. See the DESIGN comment at the top of netproxy.c.
 *
 * Three parts:
 *   - the policy: parse an allowlist, match a destination against it,
 *     classify addresses (pure functions, thread-safe);
 *   - the proxy: one thread for the whole run serving every task
 *     attached to it (netproxy_new, netproxy_attach, netproxy_detach);
 *   - the sandbox side: the helper that runs first in the sandbox, opens
 *     the proxy's listening socket on the sandbox's own loopback, hands
 *     it to the host and execs the task (netproxy_sandbox_*,
 *     netproxy_helper_main).
 */

/* Where the proxy listens inside the sandbox: 127.0.0.1 and [::1]. */
#define NETPROXY_PORT 3128
/* argv[1] of the binary when it runs as the helper in the sandbox. */
#define NETPROXY_HELPER "__netproxy-helper"

/* --- Addresses ------------------------------------------------------ */

/*
 * An IP address in one canonical form: an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) is the IPv4 address it is delivered to.
 */
struct netproxy_addr {
	int family;	     /* AF_INET or AF_INET6 */
	unsigned char b[16]; /* AF_INET: the first 4 bytes */
};

/*
 * What kind of destination an address is. Only PUBLIC may be reached
 * through a name; any other needs the address itself in the allowlist.
 */
enum netproxy_addr_class {
	NETPROXY_ADDR_PUBLIC = 0,
	NETPROXY_ADDR_LOOPBACK,	   /* 127/8, ::1 */
	NETPROXY_ADDR_PRIVATE,	   /* 10/8 172.16/12 192.168/16 100.64/10
				    * fc00::/7 fec0::/10 */
	NETPROXY_ADDR_LINK_LOCAL,  /* 169.254/16 fe80::/10 (metadata) */
	NETPROXY_ADDR_MULTICAST,   /* 224/4 ff00::/8 */
	NETPROXY_ADDR_UNSPECIFIED, /* 0/8 :: */
	NETPROXY_ADDR_BROADCAST,   /* 255.255.255.255 */
	NETPROXY_ADDR_RESERVED,	   /* documentation, benchmarking, 240/4,
				    * 192.0.0/24, ::/96, 100::/64 ... */
	NETPROXY_ADDR_HOST,	   /* one of this host's own addresses */
};

/*
 * Classify a; IPv6 forms that carry an IPv4 address to that address
 * (NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by it as well, the
 * stricter of the two winning. Never returns NETPROXY_ADDR_HOST.
 */
enum netproxy_addr_class netproxy_addr_classify(const struct netproxy_addr *a);
/* "a loopback address", "a private address"... */
const char *netproxy_addr_class_name(enum netproxy_addr_class c);

/* a from a sockaddr (AF_INET, AF_INET6); -1 for any other family. */
int netproxy_addr_from_sockaddr(struct netproxy_addr *a,
				const struct sockaddr *sa);
/* The text form ("127.0.0.1", "::1") into buf of size >= 46. */
void netproxy_addr_str(const struct netproxy_addr *a, char *buf, size_t size);

/* --- Hosts and the allowlist ---------------------------------------- */

enum netproxy_host_kind {
	NETPROXY_HOST_NAME,
	NETPROXY_HOST_ADDR,
};

/*
 * A destination host as the proxy compares it: a DNS name in lower case
 * without a trailing dot, or an IP literal (name holds its canonical
 * text; an IPv6 one without brackets).
 */
struct netproxy_host {
	enum netproxy_host_kind kind;
	char name[256];
	struct netproxy_addr addr; /* NETPROXY_HOST_ADDR */
};

/*
 * Parse s[0..len) as a host: a name (letters, digits, '-', '_', labels
 * of 1 to 63 bytes, 253 at most, a trailing dot dropped), an IPv4
 * literal in dotted-quad form, or an IPv6 literal in brackets (bare
 * when bare_v6). Refused, with -1: anything else, including the
 * numeric forms the C library would still read as IPv4 (127.1,
 * 0x7f000001, 2130706433), a name whose last label is numeric, and
 * IPv6 zone ids.
 */
int netproxy_host_parse(const char *s, size_t len, bool bare_v6,
			struct netproxy_host *h);

/*
 * Parse "host:port" or "[v6]:port" (s[0..len)). Without a port, *port
 * is default_port, or the parse fails when default_port is 0. Ports are
 * decimal, 1 to 65535. Returns 0 or -1.
 */
int netproxy_authority_parse(const char *s, size_t len, unsigned default_port,
			     struct netproxy_host *h, unsigned *port);

enum netproxy_rule_kind {
	NETPROXY_RULE_NAME,	 /* api.example.org:443, exactly that name */
	NETPROXY_RULE_SUFFIX,	 /* *.example.org:443, any name below it */
	NETPROXY_RULE_ADDR,	 /* 127.0.0.1:8080, [::1]:8080 */
	NETPROXY_RULE_LOCALHOST, /* localhost:8080: loopback, never DNS */
};

struct netproxy_rule {
	enum netproxy_rule_kind kind;
	struct netproxy_host host; /* SUFFIX: without the "*." */
	unsigned port;
};

struct netproxy_allowlist {
	struct netproxy_rule *rules;
	size_t nr, alloc;
};

#define NETPROXY_ALLOWLIST_INIT \
	{                       \
		NULL, 0, 0      \
	}

/*
 * Add one entry: "host:port", "*.suffix:port", "a.b.c.d:port",
 * "[v6]:port" or "localhost:port". The port is required (a service is a
 * name and a port; "*" is not accepted) and so is a concrete host ("*"
 * alone, or "*.com"-style single-label suffixes, are refused). Returns
 * 0, or -1 with a message for plan validation ("'x': missing port
 * (write x:443)") appended to err; the list is unchanged then.
 */
int netproxy_allowlist_add(struct netproxy_allowlist *al, const char *entry,
			   struct strbuf *err);
void netproxy_allowlist_copy(struct netproxy_allowlist *dst,
			     const struct netproxy_allowlist *src);
void netproxy_allowlist_release(struct netproxy_allowlist *al);

/*
 * The index of the first rule that lets a task ask for host:port, or -1.
 * A name rule matches names (case-insensitively; "*.x" matches "a.x"
 * and "a.b.x", not "x"); an address rule matches that address only,
 * whatever its spelling ([::ffff:127.0.0.1] is 127.0.0.1).
 */
int netproxy_allowlist_match(const struct netproxy_allowlist *al,
			     const struct netproxy_host *host, unsigned port);

/*
 * Whether the connection rule al->rules[rule] allowed may go to a on
 * port (what the name resolved to): NETPROXY_ADDR_PUBLIC if so, else
 * the class that forbids it. An address rule may go to its address; a
 * localhost rule to loopback only; a name or suffix rule to a public
 * address that is not one of own[0..nr_own) (this host's interfaces),
 * or to any address the allowlist names itself with that port.
 */
enum netproxy_addr_class
netproxy_allowlist_permits(const struct netproxy_allowlist *al, size_t rule,
			   const struct netproxy_addr *a, unsigned port,
			   const struct netproxy_addr *own, size_t nr_own);

/* --- What the proxy refused ----------------------------------------- */

enum netproxy_reason {
	NETPROXY_REFUSED_NOT_LISTED = 1, /* no rule for host:port */
	NETPROXY_REFUSED_ADDRESS,	 /* listed, resolves to cls only */
	NETPROXY_REFUSED_MALFORMED,	 /* not a request the proxy takes */
};

struct netproxy_refusal {
	char *dest; /* "host:port" (canonical); "" when MALFORMED */
	enum netproxy_reason reason;
	enum netproxy_addr_class cls; /* NETPROXY_REFUSED_ADDRESS */
	uint64_t count;
};

/* Distinct refused destinations kept per task; the rest are counted. */
#define NETPROXY_MAX_REFUSALS 256

struct netproxy_report {
	struct netproxy_refusal *refusals; /* in order of first refusal */
	size_t nr, alloc;
	uint64_t refusals_dropped; /* refusals past NETPROXY_MAX_REFUSALS */
	uint64_t connections;	   /* accepted from the task */
	uint64_t forwarded;	   /* tunnels and requests let through */
	uint64_t failed;	   /* allowed, but resolve/connect failed */
	uint64_t timed_out;	   /* closed by a timeout */
	uint64_t bytes_out;	   /* task -> destinations */
	uint64_t bytes_in;	   /* destinations -> task */
	unsigned peak_connections;
	/*
	 * Set when the sandbox never handed the proxy its listener (the
	 * helper failed or the sandbox did not start): the task had no
	 * network at all. NULL otherwise.
	 */
	char *error;
};

#define NETPROXY_REPORT_INIT \
	{                    \
		0            \
	}

void netproxy_report_release(struct netproxy_report *r);

/*
 * The event text for one refusal: "blocked: example.org:443, 3 times",
 * "blocked: a.example.org:443 (resolves to a loopback address), 1 time",
 * "blocked: malformed proxy request, 2 times". Appends to out.
 */
void netproxy_refusal_format(const struct netproxy_refusal *r,
			     struct strbuf *out);

/* --- The proxy ------------------------------------------------------ */

/*
 * A resolver for tests: fill out[0..max) with the addresses of name and
 * return how many, or -1 when the name does not resolve. Called on a
 * resolver thread, possibly after netproxy_free() returned, for a call
 * already under way: give it static data, and make it quick.
 */
typedef int netproxy_resolve_fn(void *ctx, const char *name,
				struct netproxy_addr *out, size_t max);

struct netproxy_opts {
	/*
	 * Per task; 0: 128. All tasks together are also capped, so that
	 * the proxy uses at most 3/4 of RLIMIT_NOFILE (two descriptors per
	 * connection). Past a cap, new connections wait in the listener's
	 * backlog.
	 */
	unsigned max_conns;
	size_t buf_size;	      /* per direction; 0: 64 KiB */
	int64_t head_timeout_ms;      /* request head; 0: 30 s */
	int64_t connect_timeout_ms;   /* resolve + connect; 0: 30 s */
	int64_t idle_timeout_ms;      /* no byte either way; 0: 10 min */
	unsigned resolver_threads;    /* 0: 2 */
	netproxy_resolve_fn *resolve; /* NULL: getaddrinfo */
	void *resolve_ctx;
};

struct netproxy;
struct netproxy_task;

/*
 * Start the proxy's thread and its resolver threads. Returns NULL with
 * err set when that fails. netproxy_free() closes every connection of
 * every task still attached and stops the threads.
 */
struct netproxy *netproxy_new(const struct netproxy_opts *opts,
			      struct strbuf *err);
void netproxy_free(struct netproxy *np);

/*
 * Serve a task: takes ownership of ctl_fd, the host end of the control
 * socket made by netproxy_sandbox_prepare() (outer_fd), over which the
 * helper sends the listening sockets it opened in the sandbox. al is
 * copied. Returns the task's handle, or NULL with err set (ctl_fd is
 * closed either way). Thread-safe; returns at once (the listener may
 * arrive later, connections wait in its backlog until then).
 */
struct netproxy_task *netproxy_attach(struct netproxy *np,
				      const struct netproxy_allowlist *al,
				      int ctl_fd, struct strbuf *err);

/*
 * Stop serving a task: its listeners and every connection of it are
 * closed before this returns; *report (initialised by the caller, see
 * NETPROXY_REPORT_INIT) receives what happened, to be released with
 * netproxy_report_release(). t is freed. Thread-safe.
 */
void netproxy_detach(struct netproxy_task *t, struct netproxy_report *report);

/* A copy of the task's report so far (for progress). Thread-safe. */
void netproxy_task_report(struct netproxy_task *t,
			  struct netproxy_report *report);

/* --- The sandbox side ----------------------------------------------- */

/*
 * What a sandbox needs to reach the proxy. The sandbox's command becomes
 *   /proc/self/fd/EXE NETPROXY_HELPER --fd INNER --exe-fd EXE -- CMD...
 * (netproxy_sandbox_argv): bwrap inherits exe_fd and inner_fd (list
 * them in proc's keep_fds) and runs the helper from exe_fd, which needs
 * no path in the sandbox. The helper opens 127.0.0.1:NETPROXY_PORT (and
 * [::1] where the sandbox has IPv6) in the sandbox's network namespace,
 * sends those sockets over inner_fd, closes both fds and execs CMD in
 * its place: nothing of the helper runs beside the task.
 */
struct netproxy_sandbox {
	int exe_fd;   /* a binary whose main() runs netproxy_helper_main */
	int inner_fd; /* the sandbox's end of the control socket */
	int outer_fd; /* ours: hand it to netproxy_attach() */
};

#define NETPROXY_SANDBOX_INIT \
	{                     \
		-1, -1, -1    \
	}

/*
 * Open exe (NULL: this process's own binary) and the control socket,
 * every descriptor O_CLOEXEC and above 2. Returns 0, or -1 with err set.
 */
int netproxy_sandbox_prepare(struct netproxy_sandbox *s, const char *exe,
			     struct strbuf *err);
/* Push the helper's argv (up to and with the "--" before CMD). */
void netproxy_sandbox_argv(const struct netproxy_sandbox *s,
			   struct strvec *args);
/*
 * Push the task's proxy environment: HTTP_PROXY, HTTPS_PROXY, ALL_PROXY
 * (and lower-case twins) set to http://127.0.0.1:NETPROXY_PORT, and
 * NO_PROXY/no_proxy set empty, so that every destination, loopback
 * included, goes through the proxy and a refused one is reported.
 */
void netproxy_sandbox_env(struct strvec *env);
/* Close the sandbox's ends once bwrap has started (or failed to). */
void netproxy_sandbox_started(struct netproxy_sandbox *s);
/* Close whatever is still open (outer_fd too unless handed over). */
void netproxy_sandbox_release(struct netproxy_sandbox *s);

/*
 * The helper, in the sandbox: argv is NETPROXY_HELPER --fd N
 * [--exe-fd M] [--port P] -- CMD ARGS... Returns only on failure (-1
 * with err set; the caller prints it and exits 127); on success CMD
 * replaces the process.
 */
int netproxy_helper_main(int argc, const char **argv, struct strbuf *err);

#endif
