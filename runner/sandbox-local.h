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

/* Its backend: keys (isolation, network, memory), sandbox_config's. */
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
	uint64_t memory; /* bytes; 0 = no limit */
};

#endif
