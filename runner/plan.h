#ifndef PLAN_H
#define PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent-stream.h"
#include "strvec.h"

struct strbuf;
struct price_table;

/*
 * The plan model: what a YAML plan says, typed, with defaults applied and
 * matrix tasks expanded. plan_load() (plan-yaml.c + plan-validate.c) builds
 * it; everything else only reads it. A struct plan owns everything it
 * points to; plan_free() releases it all.
 */

/* Where a value came from in the plan file, for error messages. */
struct plan_loc {
	unsigned line; /* 1-based */
	unsigned col;  /* 1-based */
};

enum plan_on_limit {
	PLAN_ON_LIMIT_WAIT,
	PLAN_ON_LIMIT_SKIP,
	PLAN_ON_LIMIT_FAIL
};
enum plan_prompt_mode { PLAN_PROMPT_STDIN, PLAN_PROMPT_ARG, PLAN_PROMPT_FILE };
enum plan_secret_scan {
	PLAN_SECRET_SCAN_BLOCK,
	PLAN_SECRET_SCAN_WARN,
	PLAN_SECRET_SCAN_OFF
};
enum plan_missed { PLAN_MISSED_RUN_ONCE, PLAN_MISSED_SKIP };
enum plan_overlap { PLAN_OVERLAP_FORBID, PLAN_OVERLAP_WAIT };

struct plan_doc;

/*
 * Where the tasks run: a backend found by name (sandbox.h), and the
 * backend: mapping as written, which only the backends read (each its
 * own keys, sandbox.h parse_config).
 */
struct plan_backend {
	char *type;	       /* a backend's name; default "local" */
	struct plan_doc *keys; /* a copy of backend: (plan-yaml.h), or NULL */
	void *config;	       /* type's parse_config of keys, never NULL */
	void (*free_config)(void *config);
};

/*
 * notify: a webhook told how a run went (notify.h). on: which moments
 * post, a set of these bits.
 */
enum plan_notify_on {
	PLAN_NOTIFY_FAILURE = 1 << 0, /* the run ended not succeeded */
	PLAN_NOTIFY_BUDGET = 1 << 1,  /* its cost passed 80% of budget_usd */
	PLAN_NOTIFY_ALWAYS = 1 << 2,  /* the run ended, however */
};

struct plan_notify {
	char *webhook;	    /* http:// or https:// URL; NULL: no notify */
	unsigned on;	    /* plan_notify_on bits; default failure|budget */
	int64_t timeout_ms; /* of one try; default 10s, at most 60s */
	struct plan_loc loc;
};

struct plan_env {
	char *name;
	char *value;
};

/*
 * A coding agent a task can run. "claude" and "codex" are built in
 * (plan-validate.c, builtin_agents[]: what was measured of Claude Code
 * 2.1.332 and Codex CLI 0.171.0, tests/model-server/README.md); a plan's
 * agents: entry of the same name changes the keys it gives and keeps the
 * others, an entry of another name starts from nothing but a command.
 */
struct plan_agent {
	char *name;
	struct strvec command; /* argv; command.v[0] is the program */
	struct strvec args;    /* appended to command (a plan's extras) */
	enum plan_prompt_mode prompt;
	enum agent_format output; /* how its output is read */
	struct plan_env *env;	  /* under the task's own env */
	size_t nr_env;
	struct strvec state;	 /* what it keeps under HOME, for the record */
	bool needs_network;	 /* it must reach its model API */
	uint64_t min_memory;	 /* below this it crashes; 0 = none */
	char *model;		 /* NULL: the agent's default */
	char *model_arg;	 /* "--model"; NULL: no such option */
	char *max_turns_arg;	 /* "--max-turns"; NULL: enforced by runner */
	char *max_cost_arg;	 /* "--max-budget-usd"; NULL: by runner */
	int64_t idle_timeout_ms; /* its tasks' default; 0 = none */
	bool builtin;		 /* from builtin_agents[], maybe changed */
	struct plan_loc loc;	 /* of the plan's entry; 0:0 for a built-in */
};

struct plan_task {
	char *id;	     /* after matrix substitution */
	struct plan_loc loc; /* of the task's mapping in the file */
	char *run;	     /* NULL when agent is set */
	char *agent;	     /* NULL when run is set */
	char *prompt;	     /* with agent */
	char *workspace;     /* absolute, resolved against the plan's dir */
	int64_t timeout_ms;  /* default 60m */
	int64_t *warn_at_ms; /* ascending; nr_warn_at entries */
	size_t nr_warn_at;
	int retries;		  /* default 0 */
	int max_turns;		  /* agent: its turn limit; 0 = none */
	double max_cost_usd;	  /* agent: its cost limit; 0 = none */
	int64_t retry_backoff_ms; /* default 10s */
	/*
	 * No output (and, locally, no file change) this long ends the
	 * attempt, "stalled"; 0 = none (plain commands), 10m for the
	 * built-in agents.
	 */
	int64_t idle_timeout_ms;
	/* After an agent's final result, how long it may take to exit. */
	int64_t result_grace_ms; /* default 30s */
	struct plan_env *env;	 /* in file order, names unique */
	size_t nr_env;
	struct strvec secrets;	  /* names of host environment variables */
	struct strvec exclude;	  /* gitignore patterns */
	struct strvec pull;	  /* gitignore patterns; default ["**"] */
	struct strvec depends_on; /* task ids (expanded) */
	bool include_git;	  /* default false */
	enum plan_secret_scan secret_scan; /* default block */
	uint64_t log_limit;		   /* bytes, default 100M */
	uint64_t pull_limit;		   /* bytes, default 1G */
	/* matrix values that produced this task, "name=value", for display */
	struct strvec matrix;
};

struct plan {
	char *path;  /* as given */
	char *dir;   /* absolute directory of the plan file */
	int version; /* 1 */
	char *name;

	bool has_schedule;
	char *cron;		   /* NULL unless has_schedule */
	char *timezone;		   /* default "UTC" */
	enum plan_missed missed;   /* default run_once */
	enum plan_overlap overlap; /* default forbid */
	struct plan_loc cron_loc;

	struct plan_backend backend;

	int concurrency;	     /* default 4 */
	int per_hour;		     /* 0 = no cap */
	int per_day;		     /* 0 = no cap */
	enum plan_on_limit on_limit; /* default wait */
	double budget_usd;	     /* 0 = no budget */
	/* Across every run of the state, in any rolling 24 h (caps.h). */
	double budget_per_day_usd; /* 0 = none */
	double estimate_usd; /* a task's estimate with nothing better; 0 */
	double cost_per_hour_usd; /* default 0 */
	/* prices: model prices over prices/models.json; NULL: none */
	struct price_table *prices;

	struct plan_notify notify;

	/*
	 * on_done: the user's command, run on the host through /bin/sh -c
	 * when a run ends (hook.h); NULL: none. Timeout default 10m.
	 */
	char *on_done;
	int64_t on_done_timeout_ms;
	struct plan_loc on_done_loc;

	struct plan_agent *agents;
	size_t nr_agents;
	struct plan_task *tasks; /* expanded, in file order */
	size_t nr_tasks;
};

/*
 * Parse and validate the plan at path. On success returns 0 and *out owns
 * a new plan (free with plan_free). On failure returns -1 and appends to
 * errors one line per problem, each "FILE:LINE:COL: message\n", all of
 * them, in file order; *out is NULL.
 */
int plan_load(const char *path, struct plan **out, struct strbuf *errors);
void plan_free(struct plan *plan);
/*
 * The agent of task t when it needs its API and the plan's backend gives
 * the task no network at all (sandbox_backend.traits: network false and
 * no allowlist): it would retry for minutes, then fail. NULL otherwise.
 */
const struct plan_agent *plan_agent_offline(const struct plan *plan,
					    const struct plan_task *t);
/* Free what a points to (not a), leaving it empty (zeroed, strvecs init). */
void plan_agent_release(struct plan_agent *a);

/*
 * Run the plan on the backend called name instead (`--backend`): its
 * parse_config reads the plan's backend: keys again. 0, or -1 with the
 * problems in errors, as plan_load() words them ("unknown backend" when
 * no backend has that name, with the known ones).
 */
int plan_use_backend(struct plan *plan, const char *name,
		     struct strbuf *errors);
/* Free what b holds (plan_free() does). */
void plan_backend_release(struct plan_backend *b);

const struct plan_task *plan_find_task(const struct plan *plan,
				       const char *id);
const struct plan_agent *plan_find_agent(const struct plan *plan,
					 const char *name);

/*
 * Durations: "90s", "30m", "1h30m", "2d", "500ms", combinations in
 * descending order. Sizes: "512", "512K", "512M", "2G", "1T" (powers of
 * 1024; an optional trailing "B" or "iB"). Return 0 or -1 on bad input
 * (nothing written).
 */
int parse_duration_ms(const char *s, int64_t *out);
int parse_size(const char *s, uint64_t *out);
/* "1h30m", "45s", "250ms": the shortest exact form. buf >= 32 bytes. */
void format_duration(int64_t ms, char *buf, size_t size);

/* A valid task id or plan name: [A-Za-z0-9._-]{1,64}, not "." or "..". */
bool plan_id_valid(const char *s);

#endif
