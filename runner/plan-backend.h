#ifndef PLAN_BACKEND_H
#define PLAN_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "plan-yaml.h"

/*
 * What a backend's parse_config and check_plan (sandbox.h) read: the
 * plan's backend: mapping, and helpers that check a key's value and
 * report a bad one at its file:line:col in the words plan_load() uses
 * for every other key ("backend.memory: expected a size like 512M or 2G,
 * found 'x'"). Implemented in plan-validate.c.
 */
struct plan_keys {
	const struct plan_node *map; /* backend:, or NULL when absent */
	struct plan_loc at;	     /* of backend:, or of the plan */
	struct plan_diag *diag;
	bool chosen; /* the plan's type is the parsing backend */
};

/* The value of key, or NULL when the plan does not set it. */
const struct plan_node *plan_keys_get(const struct plan_keys *k,
				      const char *key);

/*
 * Each: false when key is absent or its value is bad (reported), true
 * with *out set otherwise.
 */
bool plan_keys_str(const struct plan_keys *k, const char *key,
		   const char **out);
bool plan_keys_bool(const struct plan_keys *k, const char *key, bool *out);
bool plan_keys_size(const struct plan_keys *k, const char *key, uint64_t *out);
bool plan_keys_duration(const struct plan_keys *k, const char *key,
			int64_t *out);
/* A whole number from min to max. */
bool plan_keys_int(const struct plan_keys *k, const char *key, long min,
		   long max, int *out);
/* *out is the index of the value in names. */
bool plan_keys_enum(const struct plan_keys *k, const char *key,
		    const char *const *names, size_t nr, int *out);

/* "backend.KEY: expected <what>, found <n>" at n (a node of key's value). */
struct netproxy_allowlist;
struct netproxy_rule;

/*
 * backend.network, read by every backend in the same words: false, true
 * (*network), or a list of host:port destinations, each added to allow
 * (netproxy.h) or reported at its position. check, when not NULL, sees
 * every entry added, with its rule, and may report it. *loc is where
 * network: was written. Returns whether network: is a list of one or
 * more entries (an empty one is reported here).
 */
bool plan_keys_network(const struct plan_keys *k, bool *network,
		       struct netproxy_allowlist *allow, struct plan_loc *loc,
		       void (*check)(const struct plan_keys *k,
				     const struct plan_node *entry,
				     const struct netproxy_rule *rule));

void plan_keys_expected(const struct plan_keys *k, const char *key,
			const struct plan_node *n, const char *what,
			bool hint);
/* "backend.KEY: <message>" at n (a node of key's value). */
void plan_keys_error_node(const struct plan_keys *k, const char *key,
			  const struct plan_node *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* "backend.KEY: <message>" at key's value (which must be set). */
void plan_keys_error(const struct plan_keys *k, const char *key,
		     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A problem of the plan at loc, in these words. */
void plan_keys_error_at(const struct plan_keys *k, struct plan_loc loc,
			const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
