#ifndef SANDBOX_LOCAL_H
#define SANDBOX_LOCAL_H

#include <stdbool.h>
#include <stdint.h>

#include "netproxy.h"
#include "plan.h"
#include "sandbox.h"

/*
 * The local backend (sandbox-local.c): a folder of the state's per
 * sandbox, the task under bubblewrap or as a plain child process.
 */
extern const struct sandbox_backend sandbox_local;

enum local_isolation { LOCAL_ISOLATION_SANDBOX, LOCAL_ISOLATION_NONE };

/*
 * Its backend: keys (isolation, network, memory, pids, cpus),
 * sandbox_config's.
 */
struct sandbox_local_config {
	enum local_isolation isolation; /* default sandbox */
	bool network;			/* network: true; default false */
	/*
	 * network: [host:port, ...]: the task keeps no network of its own
	 * and reaches these through the run's proxy (netproxy.h); empty
	 * otherwise. network_loc: where network: was written (validate
	 * warns about true).
	 */
	struct netproxy_allowlist network_allow;
	struct plan_loc network_loc;
	/* The attempt's cgroup limits (sandbox-local-limits.h). */
	uint64_t memory; /* bytes; 0 = no limit */
	uint64_t pids;	 /* processes at once; 0 = the default */
	uint32_t cpus;	 /* milli-CPUs; 0 = no quota */
};

#endif
