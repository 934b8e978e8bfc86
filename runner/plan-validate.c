#include "runner.h"
#include "plan-yaml.h"
#include "cron.h"
#include "fs.h"
#include "cgroup.h"
#include "prices.h"
#include "netproxy.h"
#include "plan-backend.h"
#include "sandbox.h"

#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>

/*
 * From the node tree (plan-yaml.c) to a struct plan: every key and value
 * checked, every problem collected with the position of the node it is
 * about, then defaults applied and matrix tasks expanded. A problem never
 * stops the checking of what follows it, and a bad value is reported once:
 * whatever depends on it (a bad timeout and the warn_at compared to it, a
 * task with a bad id and the tasks depending on it) is not reported again.
 */

/* A plan expands to at most this many tasks (matrix included). */
#define PLAN_MAX_TASKS 100000
/*
 * And to at most this much data: defaults, matrix and dependencies on
 * matrix tasks multiply what a small file says ("billion laughs" without
 * aliases), so what is built is bounded, not only what is read.
 */
#define PLAN_MAX_BUILD ((uint64_t)128 << 20)
/* Per-task work with defaults (tasks x defaults' entries) is bounded too. */
#define PLAN_MAX_DEFAULTS_WORK 20000000

struct scope {
	const char *where;   /* before "unknown key": "task 'x': " */
	const char *vprefix; /* before a key path in value errors */
	const char *kprefix; /* the key path's prefix: "schedule." */
};

struct ctx {
	struct plan_diag *diag;
	struct plan *plan;
	struct plan_strmap agent_names; /* every name under agents: */
	size_t agents_alloc;
	uint64_t built; /* bytes of task data, estimated */
	bool too_big;	/* PLAN_MAX_BUILD was reported */
};

/* Messages */

static const char id_rule[] = "use 1 to 64 letters, digits, '.', '_' or '-'";

/* Optimal string alignment distance, for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t d[66][66];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/* The closest candidate within 2 edits (fewer than name has), or NULL. */
static const char *suggest(const char *name, const char *const *cand,
			   size_t nr)
{
	const char *best = NULL;
	size_t best_d = 3, len = strlen(name);

	/* Quadratic in the worst case: no hints for huge plans. */
	if (nr > 20000)
		return NULL;
	for (size_t i = 0; i < nr; i++) {
		size_t d;
		if (!cand[i] || !strcmp(cand[i], name))
			continue;
		d = edit_distance(name, cand[i]);
		if (d < best_d && d < len) {
			best = cand[i];
			best_d = d;
		}
	}
	return best;
}

static void add_hint(struct strbuf *sb, const char *hint)
{
	if (hint)
		strbuf_addf(sb, " (did you mean '%s'?)", hint);
}

static void unknown_key(struct ctx *c, const struct scope *sc,
			const struct plan_node *key, const char *const *known,
			size_t nr, const char *why)
{
	struct strbuf sb = STRBUF_INIT;
	const char *hint = suggest(key->str, known, nr);

	strbuf_addf(&sb, "%sunknown key '%s'", sc->where, key->str);
	if (hint)
		add_hint(&sb, hint);
	else if (why)
		strbuf_addf(&sb, " (%s)", why);
	plan_diag_add(c->diag, key->loc, "%s", sb.buf);
	strbuf_release(&sb);
}

static void add_key(struct strbuf *sb, const struct scope *sc, const char *key)
{
	strbuf_addf(sb, "%s%s%s%s", sc->vprefix, sc->kprefix, key,
		    *sc->kprefix || *key ? ": " : "");
}

/*
 * "<prefix><key>: expected <what>, found <node>" at the node. A number or
 * bool where a string must be gets a hint (text stands for the string the
 * user meant).
 */
static void expected_hint(struct ctx *c, const struct scope *sc,
			  const char *key, const struct plan_node *n,
			  const char *what, bool hint)
{
	struct strbuf sb = STRBUF_INIT;

	add_key(&sb, sc, key);
	strbuf_addf(&sb, "expected %s, found ", what);
	plan_node_describe(n, &sb);
	if (hint && n->type == PLAN_NODE_SCALAR &&
	    n->kind != PLAN_SCALAR_NULL && n->kind != PLAN_SCALAR_STR)
		strbuf_addstr(&sb, " (quote it to make it a string)");
	plan_diag_add(c->diag, n->loc, "%s", sb.buf);
	strbuf_release(&sb);
}

static void expected(struct ctx *c, const struct scope *sc, const char *key,
		     const struct plan_node *n, const char *what)
{
	expected_hint(c, sc, key, n, what, !strcmp(what, "a string"));
}

static void value_error(struct ctx *c, const struct scope *sc, const char *key,
			const struct plan_node *n, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void value_error(struct ctx *c, const struct scope *sc, const char *key,
			const struct plan_node *n, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	add_key(&sb, sc, key);
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	plan_diag_add(c->diag, n->loc, "%s", sb.buf);
	strbuf_release(&sb);
}

/* Typed values: each returns true, or false after reporting */

static bool is_scalar(const struct plan_node *n, enum plan_scalar_kind k)
{
	return n->type == PLAN_NODE_SCALAR && n->kind == k;
}

static bool want_str(struct ctx *c, const struct scope *sc, const char *key,
		     const struct plan_node *n, const char **out)
{
	if (!is_scalar(n, PLAN_SCALAR_STR)) {
		expected(c, sc, key, n, "a string");
		return false;
	}
	*out = n->str;
	return true;
}

/* Durations and sizes: "90s", "2G"; a bare number is allowed as text. */
static bool is_str_or_int(const struct plan_node *n)
{
	return is_scalar(n, PLAN_SCALAR_STR) || is_scalar(n, PLAN_SCALAR_INT);
}

/* A string, number or bool, kept as written. */
static bool is_text(const struct plan_node *n)
{
	return n->type == PLAN_NODE_SCALAR && n->kind != PLAN_SCALAR_NULL;
}

static bool want_bool(struct ctx *c, const struct scope *sc, const char *key,
		      const struct plan_node *n, bool *out)
{
	if (!is_scalar(n, PLAN_SCALAR_BOOL)) {
		expected(c, sc, key, n, "true or false");
		return false;
	}
	*out = n->str[0] == 't' || n->str[0] == 'T';
	return true;
}

static bool want_int(struct ctx *c, const struct scope *sc, const char *key,
		     const struct plan_node *n, long min, long max, int *out)
{
	char what[80];
	long long v = 0;
	bool okay = false;

	if (is_scalar(n, PLAN_SCALAR_INT)) {
		const char *s = n->str;
		int base = 10;
		char *end;
		if (!strncmp(s, "0x", 2) || !strncmp(s, "0o", 2)) {
			base = s[1] == 'x' ? 16 : 8;
			s += 2;
		}
		errno = 0;
		v = strtoll(s, &end, base);
		okay = !errno && !*end && v >= min && v <= max;
	}
	if (!okay) {
		snprintf(what, sizeof(what), "a whole number from %ld to %ld",
			 min, max);
		expected(c, sc, key, n, what);
		return false;
	}
	*out = (int)v;
	return true;
}

static bool want_number(struct ctx *c, const struct scope *sc, const char *key,
			const struct plan_node *n, double *out)
{
	double v = -1;

	if (is_scalar(n, PLAN_SCALAR_INT) || is_scalar(n, PLAN_SCALAR_FLOAT)) {
		char *end;
		v = strtod(n->str, &end);
		if (*end || !isfinite(v))
			v = -1;
	}
	if (!(v >= 0)) {
		expected(c, sc, key, n, "a number, 0 or more");
		return false;
	}
	*out = v;
	return true;
}

static bool want_duration(struct ctx *c, const struct scope *sc,
			  const char *key, const struct plan_node *n,
			  int64_t *out)
{
	if (!is_str_or_int(n) || parse_duration_ms(n->str, out) < 0) {
		expected(c, sc, key, n, "a duration like 90s, 30m or 1h30m");
		return false;
	}
	return true;
}

static bool want_size(struct ctx *c, const struct scope *sc, const char *key,
		      const struct plan_node *n, uint64_t *out)
{
	if (!is_str_or_int(n) || parse_size(n->str, out) < 0) {
		expected(c, sc, key, n, "a size like 512M or 2G");
		return false;
	}
	return true;
}

static bool want_enum(struct ctx *c, const struct scope *sc, const char *key,
		      const struct plan_node *n, const char *const *names,
		      size_t nr, int *out)
{
	struct strbuf what = STRBUF_INIT;

	if (is_scalar(n, PLAN_SCALAR_STR)) {
		for (size_t i = 0; i < nr; i++) {
			if (!strcmp(n->str, names[i])) {
				*out = (int)i;
				return true;
			}
		}
	}
	for (size_t i = 0; i < nr; i++)
		strbuf_addf(&what, "%s%s",
			    i == 0	  ? ""
			    : i + 1 == nr ? " or "
					  : ", ",
			    names[i]);
	expected(c, sc, key, n, what.buf);
	strbuf_release(&what);
	return false;
}

/* A list of strings; each bad item is reported. */
static bool want_str_list(struct ctx *c, const struct scope *sc,
			  const char *key, const struct plan_node *n)
{
	bool okay = true;

	if (n->type != PLAN_NODE_SEQ) {
		expected(c, sc, key, n, "a list of strings");
		return false;
	}
	for (size_t i = 0; i < n->nr; i++) {
		if (!is_scalar(n->items[i], PLAN_SCALAR_STR)) {
			expected_hint(c, sc, key, n->items[i],
				      "a list of strings", true);
			okay = false;
		}
	}
	return okay;
}

static bool env_name_valid(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
	      *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* Environment variable names: valid, and not ours. */
static bool check_env_name(struct ctx *c, const struct scope *sc,
			   const char *key, const struct plan_node *n)
{
	if (!env_name_valid(n->str)) {
		value_error(c, sc, key, n,
			    "invalid variable name '%s' (use "
			    "letters, digits and '_', not starting with a "
			    "digit)",
			    n->str);
		return false;
	}
	if (!strncmp(n->str, "RUNNER_", 7)) {
		value_error(c, sc, key, n,
			    "'%s' is reserved (runner sets "
			    "the RUNNER_* variables)",
			    n->str);
		return false;
	}
	return true;
}

/* Does path have a ".." component? */
static bool has_dotdot(const char *p)
{
	while (*p) {
		size_t len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p += len;
		while (*p == '/')
			p++;
	}
	return false;
}

/* Matrix placeholders: "{{name}}", spaces allowed inside the braces */

static size_t placeholder_at(const char *s, const char **name,
			     size_t *name_len)
{
	const char *p = s, *start;

	if (p[0] != '{' || p[1] != '{')
		return 0;
	p += 2;
	while (*p == ' ')
		p++;
	start = p;
	if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
	      *p == '_'))
		return 0;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
	       (*p >= '0' && *p <= '9') || *p == '_')
		p++;
	*name = start;
	*name_len = (size_t)(p - start);
	while (*p == ' ')
		p++;
	if (p[0] != '}' || p[1] != '}')
		return 0;
	return (size_t)(p + 2 - s);
}

/* Settings: what a task, or defaults, may say */

enum tkey {
	TK_ID,
	TK_RUN,
	TK_AGENT,
	TK_PROMPT,
	TK_DEPENDS_ON,
	TK_MATRIX,
	TK_WORKSPACE,
	TK_TIMEOUT,
	TK_WARN_AT,
	TK_RETRIES,
	TK_RETRY_BACKOFF,
	TK_ENV,
	TK_SECRETS,
	TK_EXCLUDE,
	TK_PULL,
	TK_INCLUDE_GIT,
	TK_SECRET_SCAN,
	TK_LOG_LIMIT,
	TK_PULL_LIMIT,
	TK_MAX_TURNS,
	TK_MAX_COST_USD,
	TK_IDLE_TIMEOUT,
	TK_RESULT_GRACE,
	TK_NR
};

static const char *const task_keys[TK_NR] = {
	"id",		"run",		"agent",	 "prompt",
	"depends_on",	"matrix",	"workspace",	 "timeout",
	"warn_at",	"retries",	"retry_backoff", "env",
	"secrets",	"exclude",	"pull",		 "include_git",
	"secret_scan",	"log_limit",	"pull_limit",	 "max_turns",
	"max_cost_usd", "idle_timeout", "result_grace",
};

/* Keys that only make sense on one task: never in defaults. */
#define TK_TASK_ONLY TK_WORKSPACE

static const char *const secret_scan_names[] = { "block", "warn", "off" };

struct env_item {
	const char *name, *value;
	const struct plan_node *node; /* the value */
	size_t len, ph;		      /* of value; its placeholders */
};

struct mvar {
	const char *name;
	const struct plan_node *values; /* list of scalars */
};

struct settings {
	const struct plan_node *key[TK_NR]; /* present */
	const struct plan_node *val[TK_NR]; /* its value */
	bool set[TK_NR];		    /* present and valid */
	const char *id, *run, *agent, *prompt;
	char *workspace; /* absolute */
	int64_t timeout, retry_backoff;
	int64_t idle_timeout, result_grace; /* hung agents */
	int retries;
	int max_turns;
	double max_cost_usd;
	int64_t *warn_at; /* sorted */
	const struct plan_node **warn_node;
	size_t nr_warn;
	struct env_item *env;
	size_t nr_env, alloc_env;
	const struct plan_node *secrets, *exclude, *pull, *depends_on;
	struct mvar *mvars;
	size_t nr_mvars, alloc_mvars;
	/* every name under matrix: -> index in mvars + 1, 0 if bad */
	struct plan_strmap mnames;
	size_t max_value; /* longest matrix value */
	bool include_git;
	int secret_scan;
	uint64_t log_limit, pull_limit;
};

static void settings_release(struct settings *s)
{
	free(s->workspace);
	free(s->warn_at);
	free(s->warn_node);
	free(s->env);
	free(s->mvars);
	plan_strmap_release(&s->mnames);
}

/* Placeholders in s. */
static size_t count_placeholders(const char *s)
{
	size_t n = 0;
	for (; *s; s++) {
		const char *name;
		size_t len, at = placeholder_at(s, &name, &len);
		if (at) {
			n++;
			s += at - 1;
		}
	}
	return n;
}

/*
 * A matrix name of s: 1 + its index in s->mvars, 0 for a name declared
 * with bad values, -1 when the matrix has no such name.
 */
static long matrix_lookup(const struct settings *s, const char *name,
			  size_t len)
{
	char buf[256];
	void *v;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, name, len);
	buf[len] = '\0';
	v = plan_strmap_get(&s->mnames, buf);
	if (!v)
		return -1;
	return (long)((uintptr_t)v - 1);
}

static bool parse_workspace(struct ctx *c, const struct scope *sc,
			    const struct plan_node *n, struct settings *s)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p;

	if (!want_str(c, sc, "workspace", n, &p))
		return false;
	if (!*p) {
		value_error(c, sc, "workspace", n,
			    "must not be empty (use "
			    "'.' for the plan's directory)");
		return false;
	}
	if (*p == '/') {
		value_error(c, sc, "workspace", n,
			    "must be relative to the "
			    "plan's directory, found '%s'",
			    p);
		return false;
	}
	/*
	 * ".." is allowed: DESIGN's layout keeps plans/ and examples/ side
	 * by side, so "../examples/x" is how a plan names its workspace.
	 * Resolved lexically: the directory need not exist yet.
	 */
	strbuf_addstr(&sb, c->plan->dir);
	while (*p) {
		size_t len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			char *slash = strrchr(sb.buf, '/');
			if (slash)
				strbuf_setlen(&sb, slash == sb.buf
							   ? 1
							   : (size_t)(slash -
								      sb.buf));
		} else if (len && !(len == 1 && *p == '.')) {
			if (sb.len && sb.buf[sb.len - 1] != '/')
				strbuf_addch(&sb, '/');
			strbuf_add(&sb, p, len);
		}
		p += len;
		while (*p == '/')
			p++;
	}
	s->workspace = strbuf_detach(&sb, NULL);
	return true;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = **(const int64_t *const *)a;
	int64_t y = **(const int64_t *const *)b;
	return x < y ? -1 : x > y;
}

static bool parse_warn_at(struct ctx *c, const struct scope *sc,
			  const struct plan_node *n, struct settings *s)
{
	const int64_t **order = NULL;
	int64_t *vals = NULL;
	bool okay = true;

	if (n->type != PLAN_NODE_SEQ) {
		expected(c, sc, "warn_at", n, "a list of durations");
		return false;
	}
	vals = xcalloc(n->nr + 1, sizeof(*vals));
	order = xcalloc(n->nr + 1, sizeof(*order));
	for (size_t i = 0; i < n->nr; i++) {
		if (!want_duration(c, sc, "warn_at", n->items[i], &vals[i]))
			okay = false;
		else if (vals[i] <= 0) {
			value_error(c, sc, "warn_at", n->items[i],
				    "must be more than 0s");
			okay = false;
		}
		order[i] = &vals[i];
	}
	if (!okay)
		goto out;
	qsort(order, n->nr, sizeof(*order), cmp_i64);
	s->warn_at = xcalloc(n->nr + 1, sizeof(*s->warn_at));
	s->warn_node = xcalloc(n->nr + 1, sizeof(*s->warn_node));
	for (size_t i = 0; i < n->nr; i++) {
		size_t at = (size_t)(order[i] - vals);
		if (i && *order[i] == *order[i - 1]) {
			char buf[32];
			format_duration(*order[i], buf, sizeof(buf));
			value_error(c, sc, "warn_at", n->items[at],
				    "%s is listed twice", buf);
			okay = false;
			continue;
		}
		s->warn_at[s->nr_warn] = *order[i];
		s->warn_node[s->nr_warn++] = n->items[at];
	}
out:
	free(vals);
	free(order);
	return okay;
}

static bool parse_env(struct ctx *c, const struct scope *sc,
		      const struct plan_node *n, struct settings *s)
{
	bool okay = true;

	if (n->type != PLAN_NODE_MAP) {
		expected(c, sc, "env", n, "a mapping of names to values");
		return false;
	}
	for (size_t i = 0; i < n->nr; i++) {
		const struct plan_node *k = n->pairs[i].key;
		const struct plan_node *v = n->pairs[i].value;
		if (!check_env_name(c, sc, "env", k)) {
			okay = false;
			continue;
		}
		if (!is_text(v)) {
			struct strbuf key = STRBUF_INIT;
			strbuf_addf(&key, "env.%s", k->str);
			expected(c, sc, key.buf, v,
				 "a string, a number or true/false");
			strbuf_release(&key);
			okay = false;
			continue;
		}
		ALLOC_GROW(s->env, s->nr_env + 1, s->alloc_env);
		s->env[s->nr_env].name = k->str;
		s->env[s->nr_env].value = v->str;
		s->env[s->nr_env].node = v;
		s->env[s->nr_env].len = strlen(v->str);
		s->env[s->nr_env].ph = count_placeholders(v->str);
		s->nr_env++;
	}
	return okay;
}

static bool parse_matrix(struct ctx *c, const struct scope *sc,
			 const struct plan_node *n, struct settings *s)
{
	bool okay = true;

	if (n->type != PLAN_NODE_MAP || !n->nr) {
		expected(c, sc, "matrix", n,
			 "a mapping of names to lists of values");
		return false;
	}
	for (size_t i = 0; i < n->nr; i++) {
		const struct plan_node *k = n->pairs[i].key;
		const struct plan_node *v = n->pairs[i].value;
		struct strbuf key = STRBUF_INIT;
		bool item_ok = true;

		strbuf_addf(&key, "matrix.%s", k->str);
		if (!env_name_valid(k->str)) {
			value_error(c, sc, "matrix", k,
				    "invalid name '%s' "
				    "(use letters, digits and '_', not "
				    "starting with a digit)",
				    k->str);
			item_ok = false;
		} else if (v->type != PLAN_NODE_SEQ || !v->nr) {
			expected(c, sc, key.buf, v,
				 "a non-empty list of values");
			item_ok = false;
		} else {
			for (size_t j = 0; j < v->nr; j++) {
				if (is_text(v->items[j]))
					continue;
				expected(c, sc, key.buf, v->items[j],
					 "a string, a number or true/false");
				item_ok = false;
			}
		}
		strbuf_release(&key);
		if (!item_ok) {
			/* Known: its placeholders are not "unknown". */
			plan_strmap_put(&s->mnames, k->str, (void *)1);
			okay = false;
			continue;
		}
		ALLOC_GROW(s->mvars, s->nr_mvars + 1, s->alloc_mvars);
		s->mvars[s->nr_mvars].name = k->str;
		s->mvars[s->nr_mvars].values = v;
		s->nr_mvars++;
		plan_strmap_put(&s->mnames, k->str,
				(void *)(uintptr_t)(s->nr_mvars + 1));
		for (size_t j = 0; j < v->nr; j++)
			if (strlen(v->items[j]->str) > s->max_value)
				s->max_value = strlen(v->items[j]->str);
	}
	return okay;
}

static bool parse_patterns(struct ctx *c, const struct scope *sc,
			   const char *key, const struct plan_node *n)
{
	bool okay;

	if (!want_str_list(c, sc, key, n))
		return false;
	okay = true;
	for (size_t i = 0; i < n->nr; i++) {
		const char *p = n->items[i]->str;
		if (!*p) {
			value_error(c, sc, key, n->items[i],
				    "a pattern must not be empty");
			okay = false;
		} else if (has_dotdot(p)) {
			value_error(c, sc, key, n->items[i],
				    "pattern '%s' "
				    "must not contain '..'",
				    p);
			okay = false;
		}
	}
	return okay;
}

static bool parse_setting(struct ctx *c, const struct scope *sc, enum tkey k,
			  const struct plan_node *v, struct settings *s)
{
	const char *key = task_keys[k];
	int e;

	switch (k) {
	case TK_ID:
		return want_str(c, sc, key, v, &s->id);
	case TK_RUN:
		if (!want_str(c, sc, key, v, &s->run))
			return false;
		if (!*s->run) {
			value_error(c, sc, key, v, "must not be empty");
			return false;
		}
		return true;
	case TK_AGENT:
		return want_str(c, sc, key, v, &s->agent);
	case TK_PROMPT:
		if (!want_str(c, sc, key, v, &s->prompt))
			return false;
		if (!*s->prompt) {
			value_error(c, sc, key, v, "must not be empty");
			return false;
		}
		return true;
	case TK_DEPENDS_ON:
		if (v->type != PLAN_NODE_SEQ) {
			expected(c, sc, key, v, "a list of task ids");
			return false;
		}
		if (!want_str_list(c, sc, key, v))
			return false;
		s->depends_on = v;
		return true;
	case TK_MATRIX:
		return parse_matrix(c, sc, v, s);
	case TK_WORKSPACE:
		return parse_workspace(c, sc, v, s);
	case TK_TIMEOUT:
		if (!want_duration(c, sc, key, v, &s->timeout))
			return false;
		if (s->timeout <= 0) {
			value_error(c, sc, key, v, "must be more than 0s");
			return false;
		}
		return true;
	case TK_WARN_AT:
		return parse_warn_at(c, sc, v, s);
	case TK_IDLE_TIMEOUT:
		/* 0s: none, also where the agent has a default */
		return want_duration(c, sc, key, v, &s->idle_timeout);
	case TK_RESULT_GRACE:
		return want_duration(c, sc, key, v, &s->result_grace);
	case TK_RETRIES:
		return want_int(c, sc, key, v, 0, 100, &s->retries);
	case TK_MAX_TURNS:
		return want_int(c, sc, key, v, 1, 100000, &s->max_turns);
	case TK_MAX_COST_USD:
		return want_number(c, sc, key, v, &s->max_cost_usd);
	case TK_RETRY_BACKOFF:
		return want_duration(c, sc, key, v, &s->retry_backoff);
	case TK_ENV:
		return parse_env(c, sc, v, s);
	case TK_SECRETS:
		if (!want_str_list(c, sc, key, v))
			return false;
		e = 1;
		for (size_t i = 0; i < v->nr; i++)
			if (!check_env_name(c, sc, key, v->items[i]))
				e = 0;
		s->secrets = v;
		return e;
	case TK_EXCLUDE:
		if (!parse_patterns(c, sc, key, v))
			return false;
		s->exclude = v;
		return true;
	case TK_PULL:
		if (!parse_patterns(c, sc, key, v))
			return false;
		s->pull = v;
		return true;
	case TK_INCLUDE_GIT:
		return want_bool(c, sc, key, v, &s->include_git);
	case TK_SECRET_SCAN:
		if (!want_enum(c, sc, key, v, secret_scan_names,
			       ARRAY_SIZE(secret_scan_names), &e))
			return false;
		s->secret_scan = e;
		return true;
	case TK_LOG_LIMIT:
	case TK_PULL_LIMIT: {
		uint64_t *out = k == TK_LOG_LIMIT ? &s->log_limit
						  : &s->pull_limit;
		if (!want_size(c, sc, key, v, out))
			return false;
		if (!*out) {
			value_error(c, sc, key, v, "must be more than 0");
			return false;
		}
		return true;
	}
	case TK_NR:
		break;
	}
	BUG("unknown task key %d", (int)k);
}

static void parse_settings(struct ctx *c, const struct scope *sc,
			   const struct plan_node *map, bool defaults,
			   struct settings *s)
{
	for (size_t i = 0; i < map->nr; i++) {
		const struct plan_node *key = map->pairs[i].key;
		size_t k;

		for (k = 0; k < TK_NR; k++)
			if (!strcmp(key->str, task_keys[k]))
				break;
		if (k == TK_NR) {
			unknown_key(c, sc, key, task_keys, TK_NR, NULL);
			continue;
		}
		if (defaults && k < TK_TASK_ONLY) {
			plan_diag_add(c->diag, key->loc,
				      "%s'%s' cannot have a default (set it "
				      "on each task)",
				      sc->where, key->str);
			continue;
		}
		s->key[k] = key;
		s->val[k] = map->pairs[i].value;
		s->set[k] = parse_setting(c, sc, (enum tkey)k,
					  map->pairs[i].value, s);
	}
}

/* Sections */

static const struct plan_node *section(struct ctx *c, const char *name,
				       const struct plan_node *root,
				       const char *what,
				       struct plan_node **key)
{
	static const struct scope top = { "", "", "" };
	const struct plan_node *n = plan_node_get(root, name, key);

	if (!n)
		return NULL;
	if (n->type != PLAN_NODE_MAP) {
		expected(c, &top, name, n, what);
		return NULL;
	}
	return n;
}

static void check_keys(struct ctx *c, const struct scope *sc,
		       const struct plan_node *map, const char *const *known,
		       size_t nr)
{
	for (size_t i = 0; i < map->nr; i++) {
		size_t k;
		for (k = 0; k < nr; k++)
			if (!strcmp(map->pairs[i].key->str, known[k]))
				break;
		if (k == nr)
			unknown_key(c, sc, map->pairs[i].key, known, nr, NULL);
	}
}

static void parse_schedule(struct ctx *c, const struct plan_node *root)
{
	static const char *const keys[] = { "cron", "timezone", "missed",
					    "overlap" };
	static const char *const missed[] = { "run_once", "skip" };
	static const char *const overlap[] = { "forbid", "wait" };
	static const struct scope sc = { "schedule: ", "", "schedule." };
	struct plan_node *key;
	const struct plan_node *map =
		section(c, "schedule", root,
			"a mapping with 'cron' and 'timezone'", &key);
	const struct plan_node *n;
	struct plan *plan = c->plan;
	struct strbuf err = STRBUF_INIT;
	const char *s;
	int e;

	if (!map)
		return;
	check_keys(c, &sc, map, keys, ARRAY_SIZE(keys));
	n = plan_node_get(map, "cron", NULL);
	if (!n) {
		plan_diag_add(c->diag, key->loc,
			      "schedule: missing required key 'cron'");
	} else if (want_str(c, &sc, "cron", n, &s)) {
		struct cron cron;
		unsigned col;
		if (cron_parse(s, &cron, &col, &err) < 0) {
			value_error(c, &sc, "cron", n,
				    "invalid schedule "
				    "'%s': %s",
				    s, err.buf);
		} else {
			plan->has_schedule = true;
			plan->cron = xstrdup(s);
			plan->cron_loc = n->loc;
		}
		strbuf_reset(&err);
	}
	n = plan_node_get(map, "timezone", NULL);
	if (n && want_str(c, &sc, "timezone", n, &s)) {
		struct cron_tz *tz = NULL;
		if (cron_tz_load(s, &tz, &err) < 0) {
			value_error(c, &sc, "timezone", n, "%s", err.buf);
		} else {
			free(plan->timezone);
			plan->timezone = xstrdup(s);
		}
		cron_tz_free(tz);
		strbuf_reset(&err);
	}
	n = plan_node_get(map, "missed", NULL);
	if (n && want_enum(c, &sc, "missed", n, missed, 2, &e))
		plan->missed = (enum plan_missed)e;
	n = plan_node_get(map, "overlap", NULL);
	if (n && want_enum(c, &sc, "overlap", n, overlap, 2, &e))
		plan->overlap = (enum plan_overlap)e;
	strbuf_release(&err);
}

/* The backend's keys (plan-backend.h), for the backends' parse_config */

static const struct scope backend_scope = { "backend: ", "", "backend." };

const struct plan_node *plan_keys_get(const struct plan_keys *k,
				      const char *key)
{
	return k->map ? plan_node_get(k->map, key, NULL) : NULL;
}

bool plan_keys_str(const struct plan_keys *k, const char *key,
		   const char **out)
{
	struct ctx c = { .diag = k->diag };
	const struct plan_node *n = plan_keys_get(k, key);
	return n && want_str(&c, &backend_scope, key, n, out);
}

bool plan_keys_bool(const struct plan_keys *k, const char *key, bool *out)
{
	struct ctx c = { .diag = k->diag };
	const struct plan_node *n = plan_keys_get(k, key);
	return n && want_bool(&c, &backend_scope, key, n, out);
}

bool plan_keys_size(const struct plan_keys *k, const char *key, uint64_t *out)
{
	struct ctx c = { .diag = k->diag };
	const struct plan_node *n = plan_keys_get(k, key);
	return n && want_size(&c, &backend_scope, key, n, out);
}

bool plan_keys_duration(const struct plan_keys *k, const char *key,
			int64_t *out)
{
	struct ctx c = { .diag = k->diag };
	const struct plan_node *n = plan_keys_get(k, key);
	return n && want_duration(&c, &backend_scope, key, n, out);
}

bool plan_keys_int(const struct plan_keys *k, const char *key, long min,
		   long max, int *out)
{
	struct ctx c = { .diag = k->diag };
	const struct plan_node *n = plan_keys_get(k, key);
	return n && want_int(&c, &backend_scope, key, n, min, max, out);
}

bool plan_keys_enum(const struct plan_keys *k, const char *key,
		    const char *const *names, size_t nr, int *out)
{
	struct ctx c = { .diag = k->diag };
	const struct plan_node *n = plan_keys_get(k, key);
	return n && want_enum(&c, &backend_scope, key, n, names, nr, out);
}

void plan_keys_error(const struct plan_keys *k, const char *key,
		     const char *fmt, ...)
{
	struct ctx c = { .diag = k->diag };
	const struct plan_node *n = plan_keys_get(k, key);
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	if (!n)
		BUG("plan_keys_error: '%s' is not set", key);
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	value_error(&c, &backend_scope, key, n, "%s", sb.buf);
	strbuf_release(&sb);
}

bool plan_keys_network(const struct plan_keys *k, bool *network,
		       struct netproxy_allowlist *allow, struct plan_loc *loc,
		       void (*check)(const struct plan_keys *k,
				     const struct plan_node *entry,
				     const struct netproxy_rule *rule))
{
	const struct plan_node *n = plan_keys_get(k, "network");
	struct strbuf err = STRBUF_INIT;

	if (!n)
		return false;
	*loc = n->loc;
	if (n->type != PLAN_NODE_SEQ) {
		if (!is_scalar(n, PLAN_SCALAR_BOOL))
			plan_keys_expected(
				k, "network", n,
				"true, false or a list of host:port", false);
		else
			plan_keys_bool(k, "network", network);
		return false;
	}
	if (!n->nr) {
		plan_keys_error(k, "network",
				"an empty list allows nothing (write false)");
		return false;
	}
	for (size_t i = 0; i < n->nr; i++) {
		const struct plan_node *e = n->items[i];

		if (!is_scalar(e, PLAN_SCALAR_STR)) {
			plan_keys_expected(k, "network", e,
					   "a host:port string", true);
			continue;
		}
		strbuf_reset(&err);
		if (netproxy_allowlist_add(allow, e->str, &err) < 0)
			plan_keys_error_node(k, "network", e, "%s", err.buf);
		else if (check)
			check(k, e, &allow->rules[allow->nr - 1]);
	}
	strbuf_release(&err);
	return true;
}

void plan_keys_expected(const struct plan_keys *k, const char *key,
			const struct plan_node *n, const char *what, bool hint)
{
	struct ctx c = { .diag = k->diag };
	expected_hint(&c, &backend_scope, key, n, what, hint);
}

void plan_keys_error_node(const struct plan_keys *k, const char *key,
			  const struct plan_node *n, const char *fmt, ...)
{
	struct ctx c = { .diag = k->diag };
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	value_error(&c, &backend_scope, key, n, "%s", sb.buf);
	strbuf_release(&sb);
}

void plan_keys_error_at(const struct plan_keys *k, struct plan_loc loc,
			const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	plan_diag_add(k->diag, loc, "%s", sb.buf);
	strbuf_release(&sb);
}

/*
 * Keep be's config of k if be is the plan's type, else drop it. Only
 * the type the plan says (not one --backend picks later, chosen false)
 * hears what concerns the plan's own type.
 */
static void backend_config(struct plan *plan, const struct sandbox_backend *be,
			   const struct plan_keys *k, bool chosen)
{
	struct plan_keys mine = *k;
	void *config = NULL;

	mine.chosen = chosen && !strcmp(be->name, plan->backend.type);
	be->parse_config(&mine, &config);
	if (strcmp(be->name, plan->backend.type)) {
		be->free_config(config);
		return;
	}
	if (plan->backend.config)
		plan->backend.free_config(plan->backend.config);
	plan->backend.config = config;
	plan->backend.free_config = be->free_config;
}

static void parse_backend(struct ctx *c, const struct plan_node *root)
{
	const struct plan_node *map =
		section(c, "backend", root, "a mapping", NULL);
	const struct plan_node *bn = plan_node_get(root, "backend", NULL);
	struct plan *plan = c->plan;
	struct strvec keys = STRVEC_INIT, types = STRVEC_INIT;
	struct plan_keys k = { NULL, bn ? bn->loc : root->loc, c->diag,
			       false };
	int e;

	strvec_push(&keys, "type");
	for (size_t i = 0; i < sandbox_backend_count(); i++) {
		const struct sandbox_backend *be = sandbox_backend_at(i);
		strvec_push(&types, be->name);
		for (size_t j = 0; be->config_keys && be->config_keys[j];
		     j++) {
			size_t have = 0;
			while (have < keys.nr &&
			       strcmp(keys.v[have], be->config_keys[j]))
				have++;
			if (have == keys.nr)
				strvec_push(&keys, be->config_keys[j]);
		}
	}
	if (map) {
		const struct plan_node *n;
		check_keys(c, &backend_scope, map, keys.v, keys.nr);
		n = plan_node_get(map, "type", NULL);
		if (n && want_enum(c, &backend_scope, "type", n, types.v,
				   types.nr, &e)) {
			free(plan->backend.type);
			plan->backend.type = xstrdup(types.v[e]);
		}
		plan->backend.keys = xcalloc(1, sizeof(*plan->backend.keys));
		plan->backend.keys->root =
			plan_node_copy(map, plan->backend.keys);
		k.map = plan->backend.keys->root;
	}
	/* Every backend checks its keys: --backend may switch later. */
	for (size_t i = 0; i < sandbox_backend_count(); i++)
		backend_config(plan, sandbox_backend_at(i), &k, true);
	strvec_clear(&keys);
	strvec_clear(&types);
}

/* What the plan's backend checks against the whole plan, tasks and all. */
static void check_backend(struct ctx *c, const struct plan_node *root)
{
	struct plan *plan = c->plan;
	const struct sandbox_backend *be =
		sandbox_backend_find(plan->backend.type);
	const struct plan_node *bn = plan_node_get(root, "backend", NULL);
	struct plan_keys k = { plan->backend.keys ? plan->backend.keys->root
						  : NULL,
			       bn ? bn->loc : root->loc, c->diag, true };

	if (be && be->check_plan)
		be->check_plan(plan->backend.config, plan, &k);
}

void plan_backend_release(struct plan_backend *b)
{
	free(b->type);
	if (b->keys) {
		plan_doc_release(b->keys);
		free(b->keys);
	}
	if (b->config)
		b->free_config(b->config);
	memset(b, 0, sizeof(*b));
}

int plan_use_backend(struct plan *plan, const char *name,
		     struct strbuf *errors)
{
	const struct sandbox_backend *be = sandbox_backend_find(name);
	struct plan_diag diag = PLAN_DIAG_INIT;
	struct plan_loc top = { 1, 1 };
	struct plan_keys k = { plan->backend.keys ? plan->backend.keys->root
						  : NULL,
			       top, &diag, false };
	int ret = 0;

	if (!be) {
		strbuf_addf(errors, "unknown backend '%s' (", name);
		sandbox_backend_names(errors, ", ", " or ");
		strbuf_addch(errors, ')');
		return -1;
	}
	free(plan->backend.type);
	plan->backend.type = xstrdup(be->name);
	backend_config(plan, be, &k, false);
	if (diag.nr) {
		plan_diag_flush(&diag, plan->path, errors);
		ret = -1;
	}
	plan_diag_release(&diag);
	return ret;
}

static void parse_limits(struct ctx *c, const struct plan_node *root)
{
	static const char *const keys[] = {
		"concurrency",	      "per_hour",    "per_day",
		"on_limit",	      "budget_usd",  "cost_per_hour_usd",
		"budget_per_day_usd", "estimate_usd"
	};
	static const char *const on_limit[] = { "wait", "skip", "fail" };
	static const struct scope sc = { "limits: ", "", "limits." };
	const struct plan_node *map =
		section(c, "limits", root, "a mapping", NULL);
	const struct plan_node *n;
	struct plan *plan = c->plan;
	int e;

	if (!map)
		return;
	check_keys(c, &sc, map, keys, ARRAY_SIZE(keys));
	n = plan_node_get(map, "concurrency", NULL);
	if (n)
		want_int(c, &sc, "concurrency", n, 1, 10000,
			 &plan->concurrency);
	n = plan_node_get(map, "per_hour", NULL);
	if (n)
		want_int(c, &sc, "per_hour", n, 0, 1000000, &plan->per_hour);
	n = plan_node_get(map, "per_day", NULL);
	if (n)
		want_int(c, &sc, "per_day", n, 0, 1000000, &plan->per_day);
	n = plan_node_get(map, "on_limit", NULL);
	if (n && want_enum(c, &sc, "on_limit", n, on_limit, 3, &e))
		plan->on_limit = (enum plan_on_limit)e;
	n = plan_node_get(map, "budget_usd", NULL);
	if (n)
		want_number(c, &sc, "budget_usd", n, &plan->budget_usd);
	n = plan_node_get(map, "budget_per_day_usd", NULL);
	if (n)
		want_number(c, &sc, "budget_per_day_usd", n,
			    &plan->budget_per_day_usd);
	n = plan_node_get(map, "estimate_usd", NULL);
	if (n)
		want_number(c, &sc, "estimate_usd", n, &plan->estimate_usd);
	n = plan_node_get(map, "cost_per_hour_usd", NULL);
	if (n)
		want_number(c, &sc, "cost_per_hour_usd", n,
			    &plan->cost_per_hour_usd);
}

/*
 * on_done: "cmd", or {run: "cmd", timeout: 10m}: the user's own command
 * on the host, like run: a shell command, so any string goes.
 */
static void parse_on_done(struct ctx *c, const struct plan_node *root)
{
	static const char *const keys[] = { "run", "timeout" };
	static const struct scope top = { "", "", "" };
	static const struct scope sc = { "on_done: ", "", "on_done." };
	const struct plan_node *n = plan_node_get(root, "on_done", NULL);
	struct plan *plan = c->plan;
	const char *s = NULL;

	plan->on_done_timeout_ms = 10 * 60 * 1000;
	if (!n)
		return;
	plan->on_done_loc = n->loc;
	if (n->type != PLAN_NODE_MAP) {
		if (!is_scalar(n, PLAN_SCALAR_STR)) {
			expected(c, &top, "on_done", n,
				 "a command (a string) or a mapping with run "
				 "and timeout");
			return;
		}
		s = n->str;
	} else {
		const struct plan_node *r = plan_node_get(n, "run", NULL);
		const struct plan_node *t = plan_node_get(n, "timeout", NULL);
		check_keys(c, &sc, n, keys, ARRAY_SIZE(keys));
		if (!r)
			plan_diag_add(c->diag, n->loc,
				      "on_done: missing required key 'run'");
		else if (!want_str(c, &sc, "run", r, &s))
			s = NULL;
		if (t &&
		    want_duration(c, &sc, "timeout", t,
				  &plan->on_done_timeout_ms) &&
		    plan->on_done_timeout_ms <= 0)
			value_error(c, &sc, "timeout", t,
				    "the timeout must be more than 0");
		if (r)
			plan->on_done_loc = r->loc;
	}
	if (s && !*s)
		value_error(c, &top, "on_done", n, "the command is empty");
	else if (s)
		plan->on_done = xstrdup(s);
}

/*
 * The built-in agents, as measured (tests/model-server/README.md):
 * headless, permissions skipped (the sandbox is the boundary), their
 * events on stdout, everything but the model calls off. Both keep their
 * state under HOME, which is the sandbox's own (sandbox.h, home), both
 * need their API, and both crash under about 1G of address space.
 */
struct builtin_agent {
	const char *name;
	const char *const *command;
	enum plan_prompt_mode prompt;
	enum agent_format output;
	const char *const *env; /* NAME, VALUE, ... */
	const char *const *state;
	uint64_t min_memory;
	const char *model_arg, *max_turns_arg, *max_cost_arg;
	int64_t idle_timeout_ms;
};

static const char *const claude_command[] = { "claude",
					      "-p",
					      "--dangerously-skip-permissions",
					      "--output-format",
					      "stream-json",
					      "--verbose",
					      NULL };
static const char *const claude_env[] = {
	/* no telemetry, update checks or error reports: only the model */
	"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1", "DISABLE_AUTOUPDATER",
	"1", "DISABLE_TELEMETRY", "1", "DISABLE_ERROR_REPORTING", "1",
	/* skipping permissions is refused to root otherwise */
	"IS_SANDBOX", "1", NULL
};
static const char *const claude_state[] = { ".claude.json", ".claude/", NULL };
static const char *const codex_command[] = {
	"codex", "exec", "--json", "--skip-git-repo-check",
	"--dangerously-bypass-approvals-and-sandbox",
	/* analytics go to chatgpt.com, plugins to github.com */
	"-c", "analytics.enabled=false", "-c", "features.plugins=false", NULL
};
static const char *const codex_env[] = { NULL };
static const char *const codex_state[] = { ".codex/", NULL };

/*
 * A built-in agent silent this long (no output, no file change) is hung:
 * a model request that never answers. Claude Code and Codex print an
 * event per tool call and per model reply, and their own request
 * timeouts are 10 minutes; a task says idle_timeout to change it.
 */
#define AGENT_IDLE_TIMEOUT_MS (10 * 60 * 1000)

static const struct builtin_agent builtin_agents[] = {
	{ "claude", claude_command, PLAN_PROMPT_STDIN,
	  AGENT_FORMAT_CLAUDE_STREAM_JSON, claude_env, claude_state, 1u << 30,
	  "--model", "--max-turns", "--max-budget-usd",
	  AGENT_IDLE_TIMEOUT_MS },
	{ "codex", codex_command, PLAN_PROMPT_STDIN, AGENT_FORMAT_CODEX_JSONL,
	  codex_env, codex_state, 1u << 30, "--model", NULL, NULL,
	  AGENT_IDLE_TIMEOUT_MS },
};

static void agent_env_set(struct plan_agent *a, const char *name,
			  const char *value)
{
	for (size_t i = 0; i < a->nr_env; i++) {
		if (!strcmp(a->env[i].name, name)) {
			free(a->env[i].value);
			a->env[i].value = xstrdup(value);
			return;
		}
	}
	a->env = xrealloc(a->env, (a->nr_env + 1) * sizeof(*a->env));
	a->env[a->nr_env].name = xstrdup(name);
	a->env[a->nr_env].value = xstrdup(value);
	a->nr_env++;
}

static const struct builtin_agent *find_builtin(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(builtin_agents); i++)
		if (!strcmp(builtin_agents[i].name, name))
			return &builtin_agents[i];
	return NULL;
}

static void agent_from_builtin(struct plan_agent *a,
			       const struct builtin_agent *b)
{
	a->name = xstrdup(b->name);
	strvec_pushv(&a->command, b->command);
	a->prompt = b->prompt;
	a->output = b->output;
	for (size_t i = 0; b->env[i]; i += 2)
		agent_env_set(a, b->env[i], b->env[i + 1]);
	strvec_pushv(&a->state, b->state);
	a->needs_network = true;
	a->min_memory = b->min_memory;
	a->model_arg = b->model_arg ? xstrdup(b->model_arg) : NULL;
	a->max_turns_arg = b->max_turns_arg ? xstrdup(b->max_turns_arg) : NULL;
	a->max_cost_arg = b->max_cost_arg ? xstrdup(b->max_cost_arg) : NULL;
	a->idle_timeout_ms = b->idle_timeout_ms;
	a->builtin = true;
}

/* An optional string key; "" (or null) clears it. */
static bool agent_opt_str(struct ctx *c, const struct scope *sc,
			  const struct plan_node *map, const char *key,
			  char **out)
{
	const struct plan_node *n = plan_node_get(map, key, NULL);
	const char *v;

	if (!n)
		return true;
	if (is_scalar(n, PLAN_SCALAR_NULL)) {
		free(*out);
		*out = NULL;
		return true;
	}
	if (!want_str(c, sc, key, n, &v))
		return false;
	free(*out);
	*out = *v ? xstrdup(v) : NULL;
	return true;
}

/* A list of strings (program and arguments, or paths) into out. */
static bool agent_list(struct ctx *c, const struct scope *sc, const char *key,
		       const struct plan_node *n, bool nonempty,
		       struct strvec *out)
{
	bool okay = true;

	if (n->type != PLAN_NODE_SEQ || (nonempty && !n->nr)) {
		expected(c, sc, key, n,
			 nonempty ? "a non-empty list of strings "
				    "(program and arguments)"
				  : "a list of strings");
		return false;
	}
	strvec_clear(out);
	for (size_t i = 0; i < n->nr; i++) {
		if (!is_text(n->items[i])) {
			expected(c, sc, key, n->items[i], "a list of strings");
			okay = false;
		} else {
			strvec_push(out, n->items[i]->str);
		}
	}
	return okay;
}

static bool agent_needs(struct ctx *c, const struct scope *sc,
			const struct plan_node *n, struct plan_agent *a)
{
	static const char *const keys[] = { "network", "memory" };
	struct scope nsc = *sc;
	const struct plan_node *v;
	bool okay = true;

	if (n->type != PLAN_NODE_MAP) {
		expected(c, sc, "needs", n,
			 "a mapping with 'network' and 'memory'");
		return false;
	}
	nsc.kprefix = "needs.";
	check_keys(c, &nsc, n, keys, ARRAY_SIZE(keys));
	v = plan_node_get(n, "network", NULL);
	if (v && !want_bool(c, &nsc, "network", v, &a->needs_network))
		okay = false;
	v = plan_node_get(n, "memory", NULL);
	if (v && !want_size(c, &nsc, "memory", v, &a->min_memory))
		okay = false;
	return okay;
}

/*
 * notify: {webhook: URL, on: [failure, budget, always], timeout: DUR}:
 * where a run's summary is posted (notify.h). The URL is checked here,
 * where it is written: a typo found at 02:00 is a night's news lost.
 */
static bool webhook_valid(const char *url, const char **why)
{
	const char *host;

	if (!strncmp(url, "http://", 7))
		host = url + 7;
	else if (!strncmp(url, "https://", 8))
		host = url + 8;
	else {
		*why = "it must start with http:// or https://";
		return false;
	}
	if (!*host || *host == '/' || *host == ':' || *host == '?' ||
	    *host == '#') {
		*why = "it has no host";
		return false;
	}
	for (const char *p = url; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			*why = "it has a blank or a control character";
			return false;
		}
	}
	if (strlen(url) > 2048) {
		*why = "it is longer than 2048 characters";
		return false;
	}
	return true;
}

static void parse_notify(struct ctx *c, const struct plan_node *root)
{
	static const char *const keys[] = { "webhook", "on", "timeout" };
	static const char *const moments[] = { "failure", "budget", "always" };
	static const struct scope sc = { "notify: ", "", "notify." };
	struct plan_node *key;
	const struct plan_node *map = section(
		c, "notify", root, "a mapping with 'webhook' and 'on'", &key);
	const struct plan_node *n;
	struct plan_notify *nt = &c->plan->notify;
	const char *s, *why = NULL;
	int e;

	if (!map)
		return;
	nt->loc = key->loc;
	check_keys(c, &sc, map, keys, ARRAY_SIZE(keys));
	n = plan_node_get(map, "webhook", NULL);
	if (!n) {
		plan_diag_add(c->diag, key->loc,
			      "notify: missing required key 'webhook'");
	} else if (want_str(c, &sc, "webhook", n, &s)) {
		if (webhook_valid(s, &why))
			nt->webhook = xstrdup(s);
		else
			value_error(c, &sc, "webhook", n,
				    "invalid webhook URL: %s", why);
	}
	n = plan_node_get(map, "on", NULL);
	if (n && n->type != PLAN_NODE_SEQ) {
		expected(c, &sc, "on", n,
			 "a list of failure, budget and always");
	} else if (n) {
		nt->on = 0;
		if (!n->nr)
			value_error(c, &sc, "on", n,
				    "an empty list never posts (remove "
				    "notify instead)");
		for (size_t i = 0; i < n->nr; i++) {
			if (!want_enum(c, &sc, "on", n->items[i], moments,
				       ARRAY_SIZE(moments), &e))
				continue;
			nt->on |= 1u << e;
			if (1u << e == PLAN_NOTIFY_BUDGET &&
			    !(c->plan->budget_usd > 0))
				value_error(c, &sc, "on", n->items[i],
					    "budget needs limits.budget_usd "
					    "to pass 80%% of");
		}
	}
	n = plan_node_get(map, "timeout", NULL);
	if (n && want_duration(c, &sc, "timeout", n, &nt->timeout_ms) &&
	    (nt->timeout_ms < 100 || nt->timeout_ms > 60000))
		value_error(c, &sc, "timeout", n,
			    "a webhook's timeout is from 100ms to 60s");
}

static void parse_agent(struct ctx *c, const struct plan_node *key,
			const struct plan_node *map)
{
	static const char *const keys[] = {
		"command",   "args",	      "prompt",	      "output",
		"env",	     "state",	      "needs",	      "model",
		"model_arg", "max_turns_arg", "max_cost_arg", "idle_timeout"
	};
	static const char *const modes[] = { "stdin", "arg", "file" };
	static const char *const outputs[] = { "text", "stream-json",
					       "jsonl" };
	static const enum agent_format output_format[] = {
		AGENT_FORMAT_NONE, AGENT_FORMAT_CLAUDE_STREAM_JSON,
		AGENT_FORMAT_CODEX_JSONL
	};
	const struct builtin_agent *b = find_builtin(key->str);
	struct plan *plan = c->plan;
	struct plan_agent a = { 0 };
	const struct plan_node *n;
	struct strbuf where = STRBUF_INIT;
	struct scope sc;
	bool okay = true;
	int e;

	strvec_init(&a.command);
	strvec_init(&a.args);
	strvec_init(&a.state);
	strbuf_addf(&where, "agent '%s': ", key->str);
	sc.where = sc.vprefix = where.buf;
	sc.kprefix = "";
	if (!plan_id_valid(key->str)) {
		plan_diag_add(c->diag, key->loc,
			      "agents: invalid agent name "
			      "'%s' (%s)",
			      key->str, id_rule);
		okay = false;
	}
	if (b) {
		agent_from_builtin(&a, b);
		/* an empty entry ("claude:") is the built-in as it is */
		if (is_scalar(map, PLAN_SCALAR_NULL))
			goto add;
	}
	if (map->type != PLAN_NODE_MAP) {
		expected(c, &sc, "", map,
			 b ? "a mapping of the settings to change"
			   : "a mapping with 'command' and 'prompt'");
		goto out;
	}
	check_keys(c, &sc, map, keys, ARRAY_SIZE(keys));
	n = plan_node_get(map, "command", NULL);
	if (!n && !b) {
		plan_diag_add(c->diag, key->loc,
			      "%smissing required key "
			      "'command' (only claude and codex are built "
			      "in)",
			      where.buf);
		okay = false;
	} else if (n) {
		if (!agent_list(c, &sc, "command", n, true, &a.command))
			okay = false;
		else if (!*a.command.v[0]) {
			value_error(c, &sc, "command", n->items[0],
				    "the program name must not be empty");
			okay = false;
		}
	}
	n = plan_node_get(map, "args", NULL);
	if (n && !agent_list(c, &sc, "args", n, false, &a.args))
		okay = false;
	n = plan_node_get(map, "state", NULL);
	if (n && !agent_list(c, &sc, "state", n, false, &a.state))
		okay = false;
	n = plan_node_get(map, "prompt", NULL);
	if (n) {
		if (want_enum(c, &sc, "prompt", n, modes, 3, &e))
			a.prompt = (enum plan_prompt_mode)e;
		else
			okay = false;
	}
	n = plan_node_get(map, "output", NULL);
	if (n) {
		if (want_enum(c, &sc, "output", n, outputs, 3, &e))
			a.output = output_format[e];
		else
			okay = false;
	}
	n = plan_node_get(map, "env", NULL);
	if (n && n->type != PLAN_NODE_MAP) {
		expected(c, &sc, "env", n, "a mapping of names to values");
		okay = false;
	} else if (n) {
		for (size_t i = 0; i < n->nr; i++) {
			const struct plan_node *k = n->pairs[i].key;
			const struct plan_node *v = n->pairs[i].value;
			if (!check_env_name(c, &sc, "env", k)) {
				okay = false;
			} else if (!is_text(v)) {
				expected(c, &sc, "env", v,
					 "a string, a number or true/false");
				okay = false;
			} else {
				agent_env_set(&a, k->str, v->str);
			}
		}
	}
	n = plan_node_get(map, "needs", NULL);
	if (n && !agent_needs(c, &sc, n, &a))
		okay = false;
	n = plan_node_get(map, "idle_timeout", NULL);
	if (n && !want_duration(c, &sc, "idle_timeout", n, &a.idle_timeout_ms))
		okay = false;
	if (!agent_opt_str(c, &sc, map, "model", &a.model) ||
	    !agent_opt_str(c, &sc, map, "model_arg", &a.model_arg) ||
	    !agent_opt_str(c, &sc, map, "max_turns_arg", &a.max_turns_arg) ||
	    !agent_opt_str(c, &sc, map, "max_cost_arg", &a.max_cost_arg))
		okay = false;
	if (a.model && !a.model_arg) {
		n = plan_node_get(map, "model", NULL);
		value_error(c, &sc, "model", n,
			    "needs 'model_arg', the option that passes it");
		okay = false;
	}
add:
	if (!okay)
		goto out;
	free(a.name);
	a.name = xstrdup(key->str);
	a.loc = key->loc;
	ALLOC_GROW(plan->agents, plan->nr_agents + 1, c->agents_alloc);
	plan->agents[plan->nr_agents++] = a;
	memset(&a, 0, sizeof(a));
	strvec_init(&a.command);
	strvec_init(&a.args);
	strvec_init(&a.state);
out:
	plan_agent_release(&a);
	strbuf_release(&where);
}

static void parse_agents(struct ctx *c, const struct plan_node *root)
{
	const struct plan_node *map =
		section(c, "agents", root,
			"a mapping of agent names to their settings", NULL);

	for (size_t i = 0; map && i < map->nr; i++) {
		plan_strmap_put(&c->agent_names, map->pairs[i].key->str,
				map->pairs[i].key);
		parse_agent(c, map->pairs[i].key, map->pairs[i].value);
	}
	/* The built-ins a plan does not mention, as they are. */
	for (size_t i = 0; i < ARRAY_SIZE(builtin_agents); i++) {
		struct plan_agent a = { 0 };
		const char *name = builtin_agents[i].name;
		if (plan_strmap_get(&c->agent_names, name))
			continue;
		plan_strmap_put(&c->agent_names, name, (void *)name);
		strvec_init(&a.command);
		strvec_init(&a.args);
		strvec_init(&a.state);
		agent_from_builtin(&a, &builtin_agents[i]);
		ALLOC_GROW(c->plan->agents, c->plan->nr_agents + 1,
			   c->agents_alloc);
		c->plan->agents[c->plan->nr_agents++] = a;
	}
}

/* Tasks */

struct edge {
	size_t to;		    /* index of a source task */
	const struct plan_node *at; /* the depends_on entry */
};

/* A task as written, before defaults and matrix */
struct src_task {
	const struct plan_node *node;
	struct settings s;
	char *label;	  /* "task 'x': " or "task #3: " */
	char *name;	  /* the id as written, or "#3" */
	bool raw_id;	  /* name is the id as written */
	bool ok;	  /* nothing wrong so far: may be expanded */
	size_t first, nr; /* its expansions in plan->tasks */
	struct edge *edges;
	size_t nr_edges, alloc_edges;
	struct strvec deps;
};

struct tasks {
	struct src_task *v;
	size_t nr;
	struct settings defaults;
	bool has_defaults;
	struct plan_strmap templates; /* id with placeholders -> src */
	struct plan_strmap raw_ids;   /* id as written -> src */
	struct plan_strmap ids;	      /* expanded id -> index + 1 */
	size_t *owner;		      /* expanded index -> src index */
	struct plan_strmap denv;      /* defaults' env names */
	/* placeholder names in defaults' env values, and where */
	char **dph;
	const struct plan_node **dph_at;
	bool *dph_said; /* reported for one task: enough */
	size_t nr_dph, alloc_dph;
};

/*
 * Where a setting comes from: the task, else defaults, else NULL (the
 * built-in default). NULL too when the one that applies is bad: it was
 * reported, and nothing may be built from it.
 */
static const struct settings *from(const struct tasks *ts,
				   const struct src_task *t, enum tkey k)
{
	if (t->s.key[k])
		return t->s.set[k] ? &t->s : NULL;
	if (ts->has_defaults && ts->defaults.key[k])
		return ts->defaults.set[k] ? &ts->defaults : NULL;
	return NULL;
}

/* Is the setting that applies to t bad? */
static bool bad_setting(const struct tasks *ts, const struct src_task *t,
			enum tkey k)
{
	if (t->s.key[k])
		return !t->s.set[k];
	return ts->has_defaults && ts->defaults.key[k] && !ts->defaults.set[k];
}

static void unknown_placeholder(struct ctx *c, const struct src_task *t,
				const char *what, const char *name, size_t len,
				const struct plan_node *at)
{
	plan_diag_add(c->diag, at->loc,
		      "%sunknown placeholder '{{%.*s}}' "
		      "in '%s'%s",
		      t->label, (int)len, name, what,
		      t->s.key[TK_MATRIX] ? "" : " (the task has no matrix)");
}

static void check_placeholders(struct ctx *c, const struct src_task *t,
			       const char *what, const char *text,
			       const struct plan_node *at)
{
	for (const char *p = text; *p; p++) {
		const char *name;
		size_t len, n = placeholder_at(p, &name, &len);
		if (!n)
			continue;
		if (matrix_lookup(&t->s, name, len) < 0)
			unknown_placeholder(c, t, what, name, len, at);
		p += n - 1;
	}
}

/* Is this id, placeholders aside, made of valid characters? */
static bool template_id_valid(const char *s, bool allow_placeholders)
{
	struct strbuf sb = STRBUF_INIT;
	bool okay;

	while (*s) {
		const char *name;
		size_t len, n = allow_placeholders
					? placeholder_at(s, &name, &len)
					: 0;
		if (n) {
			strbuf_addch(&sb, 'x');
			s += n;
		} else {
			strbuf_addch(&sb, *s++);
		}
	}
	okay = plan_id_valid(sb.buf);
	strbuf_release(&sb);
	return okay;
}

static void check_task(struct ctx *c, struct tasks *ts, struct src_task *t)
{
	const struct settings *s = &t->s;
	const struct settings *src;
	const char *const *agent_names;

	if (!s->key[TK_ID]) {
		plan_diag_add(c->diag, t->node->loc,
			      "%smissing required key "
			      "'id'",
			      t->label);
		t->ok = false;
	} else if (s->set[TK_ID] && !t->raw_id) {
		plan_diag_add(c->diag, s->val[TK_ID]->loc,
			      "%sinvalid id '%s' "
			      "(%s)",
			      t->label, s->id, id_rule);
		t->ok = false;
	}
	if (!!s->key[TK_RUN] == !!s->key[TK_AGENT]) {
		const struct plan_node *at = t->node;
		if (s->key[TK_RUN]) {
			at = s->key[TK_RUN];
			if (s->key[TK_AGENT]->loc.line > at->loc.line ||
			    (s->key[TK_AGENT]->loc.line == at->loc.line &&
			     s->key[TK_AGENT]->loc.col > at->loc.col))
				at = s->key[TK_AGENT];
		}
		plan_diag_add(c->diag, at->loc,
			      "%sexactly one of 'run' or "
			      "'agent' is required",
			      t->label);
		t->ok = false;
	} else if (s->key[TK_RUN] && s->key[TK_PROMPT]) {
		plan_diag_add(c->diag, s->key[TK_PROMPT]->loc,
			      "%s'prompt' "
			      "goes with 'agent', not with 'run'",
			      t->label);
		t->ok = false;
	} else if (s->key[TK_AGENT] && !s->key[TK_PROMPT]) {
		plan_diag_add(c->diag, s->key[TK_AGENT]->loc,
			      "%s'agent' "
			      "needs a 'prompt'",
			      t->label);
		t->ok = false;
	}
	if (s->set[TK_AGENT] && !plan_strmap_get(&c->agent_names, s->agent)) {
		struct strbuf sb = STRBUF_INIT;
		agent_names = c->agent_names.keys;
		const char *hint;
		strbuf_addf(&sb, "%sunknown agent '%s'", t->label, s->agent);
		hint = suggest(s->agent, agent_names, c->agent_names.size);
		if (hint)
			add_hint(&sb, hint);
		else
			strbuf_addstr(&sb, " (claude and codex are built in; "
					   "define others under 'agents')");
		plan_diag_add(c->diag, s->val[TK_AGENT]->loc, "%s", sb.buf);
		strbuf_release(&sb);
		t->ok = false;
	}
	for (size_t k = 0; k < TK_NR; k++)
		if (s->key[k] && !s->set[k])
			t->ok = false;

	/* Placeholders, in everything the matrix substitutes into */
	if (s->set[TK_ID])
		check_placeholders(c, t, "id", s->id, s->val[TK_ID]);
	if (s->set[TK_RUN])
		check_placeholders(c, t, "run", s->run, s->val[TK_RUN]);
	if (s->set[TK_PROMPT])
		check_placeholders(c, t, "prompt", s->prompt,
				   s->val[TK_PROMPT]);
	/* Defaults' names were gathered once: tasks x values is too many. */
	for (size_t i = 0; i < ts->nr_dph; i++) {
		if (ts->dph_said[i] ||
		    matrix_lookup(s, ts->dph[i], strlen(ts->dph[i])) >= 0)
			continue;
		unknown_placeholder(c, t, "env", ts->dph[i],
				    strlen(ts->dph[i]), ts->dph_at[i]);
		ts->dph_said[i] = true;
	}
	if (s->set[TK_ENV])
		for (size_t i = 0; i < s->nr_env; i++)
			check_placeholders(c, t, "env", s->env[i].value,
					   s->env[i].node);

	/*
	 * warn_at against the timeout, wherever each comes from; when both
	 * come from defaults, defaults_fit() said it once for all.
	 */
	src = from(ts, t, TK_WARN_AT);
	if (src && (s->key[TK_WARN_AT] || s->key[TK_TIMEOUT])) {
		const struct settings *ts_src = from(ts, t, TK_TIMEOUT);
		int64_t timeout = 3600000;
		char w[32], tb[32];
		if (bad_setting(ts, t, TK_TIMEOUT))
			goto warn_done;
		if (ts_src)
			timeout = ts_src->timeout;
		format_duration(timeout, tb, sizeof(tb));
		for (size_t i = 0; i < src->nr_warn; i++) {
			if (src->warn_at[i] < timeout)
				continue;
			format_duration(src->warn_at[i], w, sizeof(w));
			plan_diag_add(c->diag, src->warn_node[i]->loc,
				      "%swarn_at %s is not before the "
				      "timeout (%s)",
				      t->label, w, tb);
			t->ok = false;
		}
	}
warn_done:
	/* A name both set in env and passed as a secret is ambiguous. */
	src = from(ts, t, TK_SECRETS);
	if (src) {
		struct plan_strmap env = PLAN_STRMAP_INIT;
		for (size_t i = 0; s->set[TK_ENV] && i < s->nr_env; i++)
			plan_strmap_put(&env, s->env[i].name, (void *)1);
		for (size_t i = 0; i < src->secrets->nr; i++) {
			const struct plan_node *sn = src->secrets->items[i];
			if (!plan_strmap_get(&env, sn->str) &&
			    (src != &t->s ||
			     !plan_strmap_get(&ts->denv, sn->str)))
				continue;
			plan_diag_add(c->diag, sn->loc,
				      "%s'%s' is both in "
				      "env and in secrets",
				      t->label, sn->str);
			t->ok = false;
		}
		plan_strmap_release(&env);
	}
}

static void read_task(struct ctx *c, struct tasks *ts, size_t idx,
		      const struct plan_node *node)
{
	struct src_task *t = &ts->v[idx];
	const struct plan_node *id;
	struct scope sc;

	t->node = node;
	t->ok = true;
	strvec_init(&t->deps);
	id = plan_node_get(node, "id", NULL);
	if (id && is_scalar(id, PLAN_SCALAR_STR) &&
	    template_id_valid(id->str, true)) {
		struct src_task *first;
		t->raw_id = true;
		t->name = xstrdup(id->str);
		t->label = xstrfmt("task '%s': ", id->str);
		first = plan_strmap_put(&ts->raw_ids, t->name, t);
		if (first) {
			plan_diag_add(c->diag, id->loc,
				      "%sduplicate id '%s' "
				      "(first at line %u)",
				      t->label, id->str,
				      first->s.val[TK_ID]->loc.line);
			t->ok = false;
		}
	} else {
		t->name = xstrfmt("#%zu", idx + 1);
		t->label = xstrfmt("task #%zu: ", idx + 1);
		if (id && is_scalar(id, PLAN_SCALAR_STR))
			plan_strmap_put(&ts->raw_ids, id->str, t);
	}
	sc.where = sc.vprefix = t->label;
	sc.kprefix = "";
	parse_settings(c, &sc, node, false, &t->s);
	check_task(c, ts, t);
}

static char *subst(const char *s, const struct settings *st, const size_t *idx)
{
	struct strbuf sb = STRBUF_INIT;

	while (*s) {
		const char *name;
		size_t len, n = placeholder_at(s, &name, &len);
		long i = n ? matrix_lookup(st, name, len) : -1;
		if (i > 0) {
			strbuf_addstr(&sb, st->mvars[i - 1]
						   .values->items[idx[i - 1]]
						   ->str);
			s += n;
			continue;
		}
		strbuf_addch(&sb, *s++);
	}
	return strbuf_detach(&sb, NULL);
}

static void copy_list(struct strvec *to, const struct plan_node *list)
{
	for (size_t i = 0; i < list->nr; i++)
		strvec_push(to, list->items[i]->str);
}

static void env_set(struct plan_task *t, size_t *alloc,
		    struct plan_strmap *names, const char *name, char *value)
{
	size_t at = (size_t)plan_strmap_get(names, name);

	if (at) {
		free(t->env[at - 1].value);
		t->env[at - 1].value = value;
		return;
	}
	ALLOC_GROW(t->env, t->nr_env + 1, *alloc);
	t->env[t->nr_env].name = xstrdup(name);
	t->env[t->nr_env].value = value;
	t->nr_env++;
	plan_strmap_put(names, t->env[t->nr_env - 1].name,
			(void *)(uintptr_t)t->nr_env);
}

/*
 * idle_timeout: the task's (or defaults'), else its agent's; 0 is none.
 * result_grace: likewise, 30s unless said.
 */
static void resolve_idle(struct ctx *c, const struct tasks *ts,
			 const struct src_task *src, struct plan_task *t)
{
	const struct settings *f = from(ts, src, TK_IDLE_TIMEOUT);
	const struct plan_agent *a =
		t->agent ? plan_find_agent(c->plan, t->agent) : NULL;

	if (f)
		t->idle_timeout_ms = f->idle_timeout;
	else
		t->idle_timeout_ms = a ? a->idle_timeout_ms : 0;
	f = from(ts, src, TK_RESULT_GRACE);
	t->result_grace_ms = f ? f->result_grace : 30000;
}

/* One task of the plan from a source task and one matrix combination. */
static void build_task(struct ctx *c, struct tasks *ts,
		       const struct src_task *src, const size_t *idx,
		       struct plan_task *t)
{
	const struct settings *s = &src->s, *f;
	struct plan_strmap names = PLAN_STRMAP_INIT;
	size_t env_alloc = 0;

	t->loc = src->node->loc;
	t->id = subst(s->id, s, idx);
	if (s->run)
		t->run = subst(s->run, s, idx);
	if (s->agent)
		t->agent = xstrdup(s->agent);
	if (s->prompt)
		t->prompt = subst(s->prompt, s, idx);
	f = from(ts, src, TK_WORKSPACE);
	t->workspace = xstrdup(f ? f->workspace : c->plan->dir);
	f = from(ts, src, TK_TIMEOUT);
	t->timeout_ms = f ? f->timeout : 3600000;
	f = from(ts, src, TK_WARN_AT);
	if (f && f->nr_warn) {
		t->warn_at_ms = xcalloc(f->nr_warn, sizeof(*t->warn_at_ms));
		memcpy(t->warn_at_ms, f->warn_at,
		       f->nr_warn * sizeof(*t->warn_at_ms));
		t->nr_warn_at = f->nr_warn;
	}
	f = from(ts, src, TK_RETRIES);
	t->retries = f ? f->retries : 0;
	f = from(ts, src, TK_MAX_TURNS);
	t->max_turns = f ? f->max_turns : 0;
	f = from(ts, src, TK_MAX_COST_USD);
	t->max_cost_usd = f ? f->max_cost_usd : 0;
	f = from(ts, src, TK_RETRY_BACKOFF);
	t->retry_backoff_ms = f ? f->retry_backoff : 10000;
	resolve_idle(c, ts, src, t);
	/*
	 * env merges by name: the task's values win over defaults, and
	 * those over the agent's.
	 */
	if (t->agent) {
		const struct plan_agent *a =
			plan_find_agent(c->plan, t->agent);
		for (size_t i = 0; a && i < a->nr_env; i++)
			env_set(t, &env_alloc, &names, a->env[i].name,
				xstrdup(a->env[i].value));
	}
	if (ts->has_defaults)
		for (size_t i = 0; i < ts->defaults.nr_env; i++)
			env_set(t, &env_alloc, &names,
				ts->defaults.env[i].name,
				subst(ts->defaults.env[i].value, s, idx));
	for (size_t i = 0; i < s->nr_env; i++)
		env_set(t, &env_alloc, &names, s->env[i].name,
			subst(s->env[i].value, s, idx));
	plan_strmap_release(&names);
	f = from(ts, src, TK_SECRETS);
	if (f)
		copy_list(&t->secrets, f->secrets);
	f = from(ts, src, TK_EXCLUDE);
	if (f)
		copy_list(&t->exclude, f->exclude);
	f = from(ts, src, TK_PULL);
	if (f)
		copy_list(&t->pull, f->pull);
	else
		strvec_push(&t->pull, "**");
	f = from(ts, src, TK_INCLUDE_GIT);
	t->include_git = f ? f->include_git : false;
	f = from(ts, src, TK_SECRET_SCAN);
	t->secret_scan = f ? (enum plan_secret_scan)f->secret_scan
			   : PLAN_SECRET_SCAN_BLOCK;
	f = from(ts, src, TK_LOG_LIMIT);
	t->log_limit = f ? f->log_limit : (uint64_t)100 << 20;
	f = from(ts, src, TK_PULL_LIMIT);
	t->pull_limit = f ? f->pull_limit : (uint64_t)1 << 30;
	for (size_t i = 0; i < s->nr_mvars; i++)
		strvec_pushf(&t->matrix, "%s=%s", s->mvars[i].name,
			     s->mvars[i].values->items[idx[i]]->str);
}

/*
 * Account for bytes about to be built; false (reported once, at the task)
 * when the plan grows past PLAN_MAX_BUILD.
 */
static bool charge(struct ctx *c, const struct src_task *t, uint64_t bytes)
{
	if (!c->too_big && bytes <= PLAN_MAX_BUILD - c->built) {
		c->built += bytes;
		return true;
	}
	if (!c->too_big)
		plan_diag_add(c->diag, t->node->loc,
			      "%sthe plan expands to "
			      "more than %u MiB of task settings (too many "
			      "tasks, matrix combinations or dependencies)",
			      t->label, (unsigned)(PLAN_MAX_BUILD >> 20));
	c->too_big = true;
	return false;
}

/* Longest a string can get with the matrix values put in. */
static uint64_t grown(const struct settings *s, const char *str, size_t len,
		      size_t ph)
{
	if (!str)
		return 0;
	return (uint64_t)len + (uint64_t)ph * s->max_value + 1;
}

static uint64_t list_bytes(const struct plan_node *list)
{
	uint64_t n = 0;
	for (size_t i = 0; list && i < list->nr; i++)
		n += strlen(list->items[i]->str) + 1 + sizeof(char *);
	return n;
}

/* An upper bound of the bytes one expansion of t takes. */
static uint64_t task_bytes(const struct tasks *ts, const struct src_task *t)
{
	const struct settings *s = &t->s, *f;
	uint64_t n = sizeof(struct plan_task) + 256;

	n += grown(s, s->id, s->id ? strlen(s->id) : 0,
		   s->id ? count_placeholders(s->id) : 0);
	n += grown(s, s->run, s->run ? strlen(s->run) : 0,
		   s->run ? count_placeholders(s->run) : 0);
	n += grown(s, s->prompt, s->prompt ? strlen(s->prompt) : 0,
		   s->prompt ? count_placeholders(s->prompt) : 0);
	f = from(ts, t, TK_WORKSPACE);
	n += f ? strlen(f->workspace) : 0;
	if (ts->has_defaults)
		for (size_t i = 0; i < ts->defaults.nr_env; i++)
			n += strlen(ts->defaults.env[i].name) + 32 +
			     grown(s, "", ts->defaults.env[i].len,
				   ts->defaults.env[i].ph);
	for (size_t i = 0; i < s->nr_env; i++)
		n += strlen(s->env[i].name) + 32 +
		     grown(s, "", s->env[i].len, s->env[i].ph);
	f = from(ts, t, TK_WARN_AT);
	n += f ? f->nr_warn * sizeof(int64_t) : 0;
	f = from(ts, t, TK_SECRETS);
	n += f ? list_bytes(f->secrets) : 0;
	f = from(ts, t, TK_EXCLUDE);
	n += f ? list_bytes(f->exclude) : 0;
	f = from(ts, t, TK_PULL);
	n += f ? list_bytes(f->pull) : 0;
	for (size_t i = 0; i < s->nr_mvars; i++)
		n += strlen(s->mvars[i].name) + s->max_value + 16;
	return n;
}

/* How many tasks src expands to, or 0 when more than limit. */
static size_t combinations(const struct settings *s, size_t limit)
{
	size_t n = 1;
	for (size_t i = 0; i < s->nr_mvars; i++) {
		size_t k = s->mvars[i].values->nr;
		if (n > limit / k)
			return 0;
		n *= k;
	}
	return n;
}

static void expand(struct ctx *c, struct tasks *ts)
{
	struct plan *plan = c->plan;
	size_t total = 0;

	for (size_t i = 0; i < ts->nr; i++) {
		struct src_task *t = &ts->v[i];
		size_t n;
		if (!t->ok)
			continue;
		n = combinations(&t->s, PLAN_MAX_TASKS - total);
		if (!n) {
			plan_diag_add(c->diag,
				      t->s.key[TK_MATRIX]
					      ? t->s.key[TK_MATRIX]->loc
					      : t->node->loc,
				      "%sthe plan expands to more than %d "
				      "tasks",
				      t->label, PLAN_MAX_TASKS);
			t->ok = false;
			continue;
		}
		if (!charge(c, t, (uint64_t)n * task_bytes(ts, t))) {
			t->ok = false;
			continue;
		}
		t->nr = n;
		total += n;
	}
	plan->tasks = xcalloc(total + 1, sizeof(*plan->tasks));
	ts->owner = xcalloc(total + 1, sizeof(*ts->owner));
	for (size_t i = 0; i < ts->nr; i++) {
		struct src_task *t = &ts->v[i];
		size_t *idx;
		bool reported = false;

		if (!t->ok)
			continue;
		if (t->s.nr_mvars)
			plan_strmap_put(&ts->templates, t->name, t);
		idx = xcalloc(t->s.nr_mvars + 1, sizeof(*idx));
		t->first = plan->nr_tasks;
		for (size_t n = 0; n < t->nr; n++) {
			struct plan_task *pt = &plan->tasks[plan->nr_tasks];
			const struct plan_node *at = t->s.val[TK_ID];
			size_t other;

			strvec_init(&pt->secrets);
			strvec_init(&pt->exclude);
			strvec_init(&pt->pull);
			strvec_init(&pt->depends_on);
			strvec_init(&pt->matrix);
			build_task(c, ts, t, idx, pt);
			ts->owner[plan->nr_tasks] = i;
			plan->nr_tasks++;
			/* Advance the odometer: the last name fastest. */
			for (size_t k = t->s.nr_mvars; k-- > 0;) {
				if (++idx[k] < t->s.mvars[k].values->nr)
					break;
				idx[k] = 0;
			}
			if (reported)
				continue;
			if (!plan_id_valid(pt->id)) {
				plan_diag_add(c->diag, at->loc,
					      "%sthe matrix "
					      "makes an invalid id '%s' (%s)",
					      t->label, pt->id, id_rule);
				reported = true;
				continue;
			}
			other = (size_t)plan_strmap_put(
				&ts->ids, pt->id, (void *)(plan->nr_tasks));
			if (!other)
				continue;
			other = ts->owner[other - 1];
			if (other == i)
				plan_diag_add(c->diag, at->loc,
					      "%sthe matrix "
					      "makes the id '%s' more than "
					      "once (use every matrix name in "
					      "the id)",
					      t->label, pt->id);
			else
				plan_diag_add(
					c->diag, at->loc,
					"%sduplicate "
					"id '%s' (first at line %u)",
					t->label, pt->id,
					ts->v[other].s.val[TK_ID]->loc.line);
			reported = true;
		}
		free(idx);
	}
}

static void add_edge(struct src_task *t, size_t to, const struct plan_node *at)
{
	ALLOC_GROW(t->edges, t->nr_edges + 1, t->alloc_edges);
	t->edges[t->nr_edges].to = to;
	t->edges[t->nr_edges].at = at;
	t->nr_edges++;
}

static uint64_t list_bytes_v(const struct strvec *sv)
{
	uint64_t n = 0;
	for (size_t i = 0; i < sv->nr; i++)
		n += strlen(sv->v[i]) + 1 + sizeof(char *);
	return n;
}

static void add_dep_id(struct src_task *t, struct plan_strmap *seen,
		       const char *id)
{
	if (!plan_strmap_put(seen, id, (void *)id))
		strvec_push(&t->deps, id);
}

static void resolve_deps(struct ctx *c, struct tasks *ts)
{
	struct plan *plan = c->plan;
	const char **cand = NULL;
	size_t nr_cand = 0, alloc_cand = 0;
	bool have_cand = false;
	/* mark[x] == i + 1: every expansion of x is already a dep of i */
	size_t *mark = xcalloc(ts->nr + 1, sizeof(*mark));

	for (size_t i = 0; i < ts->nr; i++) {
		struct src_task *t = &ts->v[i];
		const struct plan_node *list = t->s.depends_on;
		struct plan_strmap seen = PLAN_STRMAP_INIT;

		if (!t->s.set[TK_DEPENDS_ON])
			continue;
		for (size_t j = 0; j < list->nr; j++) {
			const struct plan_node *at = list->items[j];
			const char *name = at->str;
			struct src_task *to =
				plan_strmap_get(&ts->templates, name);
			size_t x = (size_t)plan_strmap_get(&ts->ids, name);
			size_t to_idx;

			if (!to && x)
				to = &ts->v[ts->owner[x - 1]];
			if (!to)
				to = plan_strmap_get(&ts->raw_ids, name);
			if (!to) {
				struct strbuf sb = STRBUF_INIT;
				if (!have_cand) {
					for (size_t k = 0; k < ts->nr; k++) {
						ALLOC_GROW(cand, nr_cand + 1,
							   alloc_cand);
						cand[nr_cand++] =
							ts->v[k].raw_id
								? ts->v[k].name
								: NULL;
					}
					for (size_t k = 0; k < plan->nr_tasks;
					     k++) {
						ALLOC_GROW(cand, nr_cand + 1,
							   alloc_cand);
						cand[nr_cand++] =
							plan->tasks[k].id;
					}
					have_cand = true;
				}
				strbuf_addf(&sb,
					    "%sdepends on unknown task "
					    "'%s'",
					    t->label, name);
				add_hint(&sb, suggest(name, cand, nr_cand));
				plan_diag_add(c->diag, at->loc, "%s", sb.buf);
				strbuf_release(&sb);
				continue;
			}
			to_idx = (size_t)(to - ts->v);
			if (to_idx == i) {
				plan_diag_add(c->diag, at->loc,
					      "%sdepends on "
					      "itself",
					      t->label);
				continue;
			}
			if (mark[to_idx] == i + 1)
				continue;
			add_edge(t, to_idx, at);
			if (x && !plan_strmap_get(&ts->templates, name)) {
				add_dep_id(t, &seen, plan->tasks[x - 1].id);
				continue;
			}
			for (size_t k = 0; k < to->nr; k++)
				add_dep_id(t, &seen,
					   plan->tasks[to->first + k].id);
			mark[to_idx] = i + 1;
		}
		plan_strmap_release(&seen);
		if (!t->nr || !t->deps.nr ||
		    !charge(c, t, (uint64_t)t->nr * list_bytes_v(&t->deps)))
			continue;
		for (size_t k = 0; k < t->nr; k++)
			strvec_pushv(&plan->tasks[t->first + k].depends_on,
				     t->deps.v);
	}
	free(cand);
	free(mark);
}

struct dfs_frame {
	size_t node;
	size_t next; /* next edge to follow */
};

/*
 * Iterative depth-first search over source tasks (a cycle among matrix
 * expansions is one among their templates). Each back edge closes a cycle,
 * reported once, starting from its task that comes first in the file.
 */
static void find_cycles(struct ctx *c, struct tasks *ts)
{
	unsigned char *color = xcalloc(ts->nr + 1, 1);
	size_t *pos = xcalloc(ts->nr + 1, sizeof(*pos));
	struct dfs_frame *stack = xcalloc(ts->nr + 1, sizeof(*stack));
	size_t sp = 0;

	for (size_t root = 0; root < ts->nr; root++) {
		if (color[root])
			continue;
		color[root] = 1;
		pos[root] = sp;
		stack[sp].node = root;
		stack[sp++].next = 0;
		while (sp) {
			struct dfs_frame *f = &stack[sp - 1];
			struct src_task *u = &ts->v[f->node];
			struct strbuf sb = STRBUF_INIT;
			size_t v, from, first, k;

			if (f->next == u->nr_edges) {
				color[f->node] = 2;
				sp--;
				continue;
			}
			v = u->edges[f->next++].to;
			if (!color[v]) {
				color[v] = 1;
				pos[v] = sp;
				stack[sp].node = v;
				stack[sp++].next = 0;
				continue;
			}
			if (color[v] != 1)
				continue;
			/* stack[from..sp) is the cycle, each frame's last edge
			 * leading to the next. */
			from = pos[v];
			first = from;
			for (k = from; k < sp; k++)
				if (stack[k].node < stack[first].node)
					first = k;
			strbuf_addstr(&sb, "dependency cycle: ");
			k = first;
			do {
				strbuf_addf(&sb, "%s -> ",
					    ts->v[stack[k].node].name);
				k = k + 1 < sp ? k + 1 : from;
			} while (k != first);
			strbuf_addstr(&sb, ts->v[stack[first].node].name);
			plan_diag_add(c->diag,
				      ts->v[stack[first].node]
					      .edges[stack[first].next - 1]
					      .at->loc,
				      "%s", sb.buf);
			strbuf_release(&sb);
		}
	}
	free(color);
	free(pos);
	free(stack);
}

/*
 * Every task gets its own copy of defaults, and is checked against them:
 * refuse defaults that would make that tasks x entries too much work.
 * Gather what tasks check against: env names and placeholder names.
 */
static bool defaults_fit(struct ctx *c, struct tasks *ts, size_t nr_tasks,
			 const struct plan_node *at)
{
	const struct settings *d = &ts->defaults;
	struct plan_strmap seen = PLAN_STRMAP_INIT;
	uint64_t work = 1 + d->nr_env + d->nr_warn;

	work += d->secrets ? d->secrets->nr : 0;
	work += d->exclude ? d->exclude->nr : 0;
	work += d->pull ? d->pull->nr : 0;
	for (size_t i = 0; i < d->nr_env; i++)
		work += d->env[i].ph;
	if (work * nr_tasks > PLAN_MAX_DEFAULTS_WORK) {
		plan_diag_add(c->diag, at->loc,
			      "defaults: too large for "
			      "%zu tasks (entries times tasks must stay under "
			      "%u)",
			      nr_tasks, PLAN_MAX_DEFAULTS_WORK);
		return false;
	}
	for (size_t i = 0; i < d->nr_env; i++) {
		plan_strmap_put(&ts->denv, d->env[i].name, (void *)1);
		for (const char *p = d->env[i].value; *p; p++) {
			const char *name;
			size_t len, n = placeholder_at(p, &name, &len);
			char *copy;
			if (!n)
				continue;
			p += n - 1;
			copy = xstrndup(name, len);
			if (plan_strmap_get(&seen, copy)) {
				free(copy);
				continue;
			}
			ALLOC_GROW(ts->dph, ts->nr_dph + 1, ts->alloc_dph);
			ts->dph_at =
				xrealloc(ts->dph_at,
					 ts->alloc_dph * sizeof(*ts->dph_at));
			ts->dph_said = xrealloc(ts->dph_said,
						ts->alloc_dph *
							sizeof(*ts->dph_said));
			ts->dph_said[ts->nr_dph] = false;
			ts->dph[ts->nr_dph] = copy;
			ts->dph_at[ts->nr_dph++] = d->env[i].node;
			plan_strmap_put(&seen, copy, (void *)1);
		}
	}
	plan_strmap_release(&seen);
	/* What is wrong with defaults alone is said once, not per task. */
	if (d->set[TK_SECRETS])
		for (size_t i = 0; i < d->secrets->nr; i++)
			if (plan_strmap_get(&ts->denv,
					    d->secrets->items[i]->str))
				plan_diag_add(c->diag,
					      d->secrets->items[i]->loc,
					      "defaults: '%s' is both in env "
					      "and in secrets",
					      d->secrets->items[i]->str);
	if (d->set[TK_WARN_AT] &&
	    !(d->key[TK_TIMEOUT] && !d->set[TK_TIMEOUT])) {
		int64_t timeout = d->set[TK_TIMEOUT] ? d->timeout : 3600000;
		char w[32], tb[32];
		format_duration(timeout, tb, sizeof(tb));
		for (size_t i = 0; i < d->nr_warn; i++) {
			if (d->warn_at[i] < timeout)
				continue;
			format_duration(d->warn_at[i], w, sizeof(w));
			plan_diag_add(c->diag, d->warn_node[i]->loc,
				      "defaults: warn_at %s is not before the "
				      "timeout (%s)",
				      w, tb);
		}
	}
	return true;
}

static void parse_tasks(struct ctx *c, const struct plan_node *root)
{
	static const struct scope dsc = { "defaults: ", "", "defaults." };
	struct tasks ts = { 0 };
	const struct plan_node *list = plan_node_get(root, "tasks", NULL);
	const struct plan_node *defaults =
		plan_node_get(root, "defaults", NULL);

	if (defaults && defaults->type != PLAN_NODE_MAP) {
		static const struct scope top = { "", "", "" };
		expected(c, &top, "defaults", defaults,
			 "a mapping of task settings");
	} else if (defaults) {
		ts.has_defaults = true;
		parse_settings(c, &dsc, defaults, true, &ts.defaults);
	}
	if (!list) {
		plan_diag_add(c->diag, root->loc,
			      "missing required key 'tasks'");
		goto out;
	}
	if (list->type != PLAN_NODE_SEQ || !list->nr) {
		static const struct scope top = { "", "", "" };
		expected(c, &top, "tasks", list, "a non-empty list of tasks");
		goto out;
	}
	if (ts.has_defaults &&
	    !defaults_fit(c, &ts, list->nr,
			  plan_node_get(root, "defaults", NULL)))
		ts.has_defaults = false;
	ts.nr = list->nr;
	ts.v = xcalloc(ts.nr, sizeof(*ts.v));
	for (size_t i = 0; i < list->nr; i++) {
		const struct plan_node *n = list->items[i];
		if (n->type != PLAN_NODE_MAP) {
			struct strbuf sb = STRBUF_INIT;
			plan_node_describe(n, &sb);
			plan_diag_add(c->diag, n->loc,
				      "task #%zu: expected a "
				      "mapping, found %s",
				      i + 1, sb.buf);
			strbuf_release(&sb);
			ts.v[i].node = n;
			ts.v[i].name = xstrfmt("#%zu", i + 1);
			ts.v[i].label = xstrfmt("task #%zu: ", i + 1);
			strvec_init(&ts.v[i].deps);
			continue;
		}
		read_task(c, &ts, i, n);
	}
	expand(c, &ts);
	resolve_deps(c, &ts);
	find_cycles(c, &ts);
out:
	for (size_t i = 0; i < ts.nr; i++) {
		settings_release(&ts.v[i].s);
		free(ts.v[i].label);
		free(ts.v[i].name);
		free(ts.v[i].edges);
		strvec_clear(&ts.v[i].deps);
	}
	free(ts.v);
	settings_release(&ts.defaults);
	plan_strmap_release(&ts.denv);
	for (size_t i = 0; i < ts.nr_dph; i++)
		free(ts.dph[i]);
	free(ts.dph);
	free(ts.dph_at);
	free(ts.dph_said);
	plan_strmap_release(&ts.templates);
	plan_strmap_release(&ts.raw_ids);
	plan_strmap_release(&ts.ids);
	free(ts.owner);
}

/*
 * prices: {MODEL: {input_per_mtok: 3, output_per_mtok: 15, ...}}: USD
 * per million tokens over the built-in table (prices.h); a model the
 * table does not have needs input and output.
 */
static void parse_prices(struct ctx *c, const struct plan_node *root)
{
	static const char *const keys[] = {
		"input_per_mtok", "output_per_mtok", "cache_read_per_mtok",
		"cache_write_per_mtok", "cache_write_1h_per_mtok"
	};
	const struct plan_node *map =
		section(c, "prices", root,
			"a mapping of model names to their prices", NULL);
	struct price_table *t, base = PRICE_TABLE_INIT;
	struct strbuf e0 = STRBUF_INIT;

	if (!map)
		return;
	t = xcalloc(1, sizeof(*t));
	t->version = xstrdup("plan");
	if (price_table_load_builtin(&base, &e0) < 0)
		BUG("the built-in price table does not load: %s", e0.buf);
	for (size_t i = 0; i < map->nr; i++) {
		const struct plan_node *key = map->pairs[i].key;
		const struct plan_node *m = map->pairs[i].value;
		struct model_price p = { .model = key->str };
		double *slot[] = { &p.input_per_mtok, &p.output_per_mtok,
				   &p.cache_read_per_mtok,
				   &p.cache_write_per_mtok,
				   &p.cache_write_1h_per_mtok };
		struct strbuf where = STRBUF_INIT, e = STRBUF_INIT;
		struct scope sc;
		bool okay = true;

		strbuf_addf(&where, "prices: model '%s': ", key->str);
		sc.where = sc.vprefix = where.buf;
		sc.kprefix = "";
		if (m->type != PLAN_NODE_MAP) {
			expected(c, &sc, "", m, "a mapping of prices");
			strbuf_release(&where);
			continue;
		}
		check_keys(c, &sc, m, keys, ARRAY_SIZE(keys));
		for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
			const struct plan_node *v =
				plan_node_get(m, keys[k], NULL);
			*slot[k] = PRICE_UNSET;
			if (v && !want_number(c, &sc, keys[k], v, slot[k]))
				okay = false;
		}
		/* As exec will merge it: onto the built-in table. */
		if (okay && price_table_set(&base, &p, &e) < 0) {
			plan_diag_add(c->diag, key->loc, "%s%s", where.buf,
				      e.buf);
		} else if (okay) {
			ALLOC_GROW(t->items, t->nr + 1, t->alloc);
			t->items[t->nr] = p;
			t->items[t->nr++].model = xstrdup(key->str);
		}
		strbuf_release(&e);
		strbuf_release(&where);
	}
	price_table_release(&base);
	strbuf_release(&e0);
	c->plan->prices = t;
}

/*
 * An agent crashes below its memory floor (Bun and V8 reserve a lot of
 * address space up front): say so now, not as a SIGILL at 2 am.
 */
static void check_agent_memory(struct ctx *c, const struct plan_node *root)
{
	const struct plan *plan = c->plan;
	const struct plan_node *backend = plan_node_get(root, "backend", NULL);
	const struct plan_node *at =
		backend && backend->type == PLAN_NODE_MAP
			? plan_node_get(backend, "memory", NULL)
			: NULL;
	const struct sandbox_backend *be =
		sandbox_backend_find(plan->backend.type);
	struct sandbox_traits tr = { 0 };

	if (be && be->traits && plan->backend.config)
		be->traits(plan->backend.config, &tr);
	if (!tr.memory || !at)
		return;
	for (size_t i = 0; i < plan->nr_agents; i++) {
		const struct plan_agent *a = &plan->agents[i];
		char have[32], need[32];
		bool used = false;

		for (size_t k = 0; k < plan->nr_tasks && !used; k++)
			used = plan->tasks[k].agent &&
			       !strcmp(plan->tasks[k].agent, a->name);
		if (!used || tr.memory >= a->min_memory)
			continue;
		cgroup_format_size(tr.memory, have, sizeof(have));
		cgroup_format_size(a->min_memory, need, sizeof(need));
		plan_diag_add(c->diag, at->loc,
			      "backend.memory: %s is too little for agent "
			      "'%s', which needs %s (it crashes below that); "
			      "raise it, or set agents.%s.needs.memory",
			      have, a->name, need, a->name);
	}
}

/* The whole plan */

static void parse_root(struct ctx *c, const struct plan_node *root)
{
	static const char *const keys[] = { "version", "name",	   "schedule",
					    "backend", "limits",   "notify",
					    "on_done", "defaults", "agents",
					    "tasks",   "prices" };
	static const struct scope top = { "", "", "" };
	struct plan *plan = c->plan;
	const struct plan_node *n;
	const char *s;

	for (size_t i = 0; i < root->nr; i++) {
		const struct plan_node *key = root->pairs[i].key;
		size_t k;
		for (k = 0; k < ARRAY_SIZE(keys); k++)
			if (!strcmp(key->str, keys[k]))
				break;
		if (k < ARRAY_SIZE(keys))
			continue;
		for (k = 0; k < TK_NR; k++)
			if (!strcmp(key->str, task_keys[k]))
				break;
		unknown_key(c, &top, key, keys, ARRAY_SIZE(keys),
			    k < TK_NR ? "task settings go in a task or "
					"under 'defaults'"
				      : NULL);
	}
	n = plan_node_get(root, "version", NULL);
	if (!n)
		plan_diag_add(c->diag, root->loc,
			      "missing required key 'version'");
	else if (is_scalar(n, PLAN_SCALAR_STR) && !strcmp(n->str, "1"))
		value_error(c, &top, "version", n,
			    "expected the number 1, "
			    "found the string '1' (remove the quotes)");
	else if (n->type != PLAN_NODE_SCALAR)
		expected(c, &top, "version", n, "1");
	else if (!is_scalar(n, PLAN_SCALAR_INT) || strcmp(n->str, "1"))
		value_error(c, &top, "version", n,
			    "unsupported version '%s' "
			    "(this runner reads version 1)",
			    n->str);
	n = plan_node_get(root, "name", NULL);
	if (!n) {
		plan_diag_add(c->diag, root->loc,
			      "missing required key 'name'");
	} else if (want_str(c, &top, "name", n, &s)) {
		if (plan_id_valid(s))
			plan->name = xstrdup(s);
		else
			value_error(c, &top, "name", n,
				    "invalid name '%s' "
				    "(%s)",
				    s, id_rule);
	}
	parse_schedule(c, root);
	parse_backend(c, root);
	parse_limits(c, root);
	parse_notify(c, root);
	parse_on_done(c, root);
	parse_agents(c, root);
	parse_prices(c, root);
	parse_tasks(c, root);
	check_backend(c, root);
	check_agent_memory(c, root);
}

static int read_plan(const char *path, struct strbuf *buf,
		     struct plan_diag *diag, struct strbuf *errors)
{
	struct plan_loc top = { 1, 1 };
	struct stat st;
	int fd, ret = -1, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		strbuf_addf(errors, "%s: cannot read plan: %s\n", path,
			    strerror(errno));
		return -1;
	}
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) &&
	    st.st_size > (off_t)PLAN_MAX_FILE_SIZE) {
		plan_diag_add(diag, top, "plan is larger than %u MiB",
			      PLAN_MAX_FILE_SIZE >> 20);
		goto out;
	}
	strbuf_init_capped(buf, PLAN_MAX_FILE_SIZE);
	if (strbuf_read_fd(buf, fd) < 0) {
		saved = errno;
		if (saved == EFBIG)
			plan_diag_add(diag, top, "plan is larger than %u MiB",
				      PLAN_MAX_FILE_SIZE >> 20);
		else
			strbuf_addf(errors, "%s: cannot read plan: %s\n", path,
				    strerror(saved));
		goto out;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

int plan_load(const char *path, struct plan **out, struct strbuf *errors)
{
	struct plan_diag diag = PLAN_DIAG_INIT;
	struct plan_doc doc = PLAN_DOC_INIT;
	struct strbuf buf = STRBUF_INIT, err = STRBUF_INIT;
	struct ctx c = { 0 };
	struct plan *plan = NULL;
	char *dir = NULL;
	int ret = -1;

	*out = NULL;
	if (read_plan(path, &buf, &diag, errors) < 0)
		goto out;
	if (plan_yaml_parse(buf.buf, buf.len, &doc, &diag) < 0)
		goto out;
	if (!doc.root || (doc.root->type == PLAN_NODE_SCALAR &&
			  doc.root->kind == PLAN_SCALAR_NULL)) {
		struct plan_loc top = { 1, 1 };
		plan_diag_add(&diag, top, "empty plan");
		goto out;
	}
	if (doc.root->type != PLAN_NODE_MAP) {
		struct strbuf sb = STRBUF_INIT;
		plan_node_describe(doc.root, &sb);
		plan_diag_add(&diag, doc.root->loc,
			      "a plan must be a "
			      "mapping, found %s",
			      sb.buf);
		strbuf_release(&sb);
		goto out;
	}

	plan = xcalloc(1, sizeof(*plan));
	plan->path = xstrdup(path);
	dir = fs_dirname(path);
	plan->dir = fs_realpath(dir, &err);
	if (!plan->dir) {
		struct plan_loc top = { 1, 1 };
		plan_diag_add(&diag, top, "%s", err.buf);
		goto out;
	}
	plan->version = 1;
	plan->timezone = xstrdup("UTC");
	/* The first backend is the default (sandbox.h). */
	plan->backend.type = xstrdup(sandbox_backend_at(0)->name);
	plan->concurrency = 4;
	plan->notify.on = PLAN_NOTIFY_FAILURE | PLAN_NOTIFY_BUDGET;
	plan->notify.timeout_ms = 10000;
	c.diag = &diag;
	c.plan = plan;
	parse_root(&c, doc.root);
	if (!diag.nr) {
		*out = plan;
		plan = NULL;
		ret = 0;
	}
out:
	plan_diag_flush(&diag, path, errors);
	plan_diag_release(&diag);
	plan_doc_release(&doc);
	plan_strmap_release(&c.agent_names);
	plan_free(plan);
	strbuf_release(&buf);
	strbuf_release(&err);
	free(dir);
	return ret;
}
