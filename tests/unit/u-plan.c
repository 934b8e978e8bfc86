#include "runner.h"
#include "fs.h"
#include "plan.h"
#include "sandbox-e2b.h"
#include "sandbox-local.h"
#include "tap.h"

#include <sys/stat.h>

/*
 * The plan parser and validator: durations and sizes, valid plans read
 * back field by field, and invalid plans with every error they must give,
 * exactly, as "LINE:COL: message".
 */

static char tmpdir[] = "/tmp/u-plan.XXXXXX";

static char *write_plan(const char *name, const char *text, size_t len)
{
	struct strbuf err = STRBUF_INIT;
	char *path = fs_join(tmpdir, name);
	if (fs_write_atomic(path, text, len, 0644, &err) < 0) {
		printf("# cannot write %s: %s\n", path, err.buf);
		exit(1);
	}
	strbuf_release(&err);
	return path;
}

/* plan_load's errors without the "PATH:" in front of each line. */
static int load(const char *text, struct plan **plan, struct strbuf *out)
{
	char *path = write_plan("plan.yaml", text, strlen(text));
	struct strbuf errors = STRBUF_INIT;
	size_t plen = strlen(path);
	const char *p;
	int ret = plan_load(path, plan, &errors);

	for (p = errors.buf; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
		if (!strncmp(p, path, plen) && p[plen] == ':')
			strbuf_add(out, p + plen + 1, len - plen - 1);
		else
			strbuf_add(out, p, len);
		p += len;
	}
	strbuf_release(&errors);
	free(path);
	return ret;
}

/* Durations and sizes */

static void test_durations(void)
{
	static const struct {
		const char *in;
		int64_t ms;
	} good[] = {
		{ "90s", 90000 }, { "30m", 1800000 }, { "1h30m", 5400000 },
		{ "2d", 172800000 }, { "500ms", 500 }, { "0s", 0 },
		{ "1d2h3m4s5ms", 93784005 }, { "1m30s", 90000 },
		{ "90m", 5400000 }, { "1h1ms", 3600001 },
		{ "106751991167d", 106751991167LL * 86400000 },
	};
	static const char *const bad[] = {
		"", "90", "s", "1.5h", "30m1h", "1h1h", "1x", "-1s", "+1s",
		" 1s", "1s ", "1 s", "1ms1s", "1m1m", "1H",
		"99999999999999999999s",
		"106751991168d", "1hm",
	};
	static const struct {
		int64_t ms;
		const char *out;
	} fmt[] = {
		{ 0, "0s" }, { 250, "250ms" }, { 45000, "45s" },
		{ 5400000, "1h30m" }, { 90000, "1m30s" }, { 172800000, "2d" },
		{ 93784005, "1d2h3m4s5ms" }, { -1500, "-1s500ms" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		int64_t v = -1;
		is_int(parse_duration_ms(good[i].in, &v), 0, "duration '%s'",
		       good[i].in);
		is_int(v, good[i].ms, "duration '%s' value", good[i].in);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int64_t v = 7;
		is_int(parse_duration_ms(bad[i], &v), -1,
		       "bad duration '%s'", bad[i]);
		is_int(v, 7, "bad duration '%s' writes nothing", bad[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(fmt); i++) {
		char buf[32];
		int64_t back;
		format_duration(fmt[i].ms, buf, sizeof(buf));
		is_str(buf, fmt[i].out, "format_duration(%" PRId64 ")",
		       fmt[i].ms);
		if (fmt[i].ms >= 0)
			ok(!parse_duration_ms(buf, &back) && back == fmt[i].ms,
			   "'%s' parses back", buf);
	}
	{
		char buf[32];
		format_duration(INT64_MIN, buf, sizeof(buf));
		ok(buf[0] == '-' && strlen(buf) < sizeof(buf),
		   "format_duration(INT64_MIN) fits: %s", buf);
	}
}

static void test_sizes(void)
{
	static const struct {
		const char *in;
		uint64_t v;
	} good[] = {
		{ "0", 0 }, { "512", 512 }, { "512B", 512 },
		{ "512K", 512 << 10 }, { "512M", 512ULL << 20 },
		{ "2G", 2ULL << 30 }, { "1T", 1ULL << 40 },
		{ "100MB", 100ULL << 20 }, { "1GiB", 1ULL << 30 },
		{ "4k", 4096 }, { "2g", 2ULL << 30 },
		{ "16777215T", 16777215ULL << 40 },
		{ "18446744073709551615", UINT64_MAX },
	};
	static const char *const bad[] = {
		"", "M", "1.5G", "-1M", "1 M", "1MM", "1X", "1Gi", "1iB",
		"1Bi", "16777216T", "18446744073709551616", "1Mb", "G1",
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		uint64_t v = 1;
		is_int(parse_size(good[i].in, &v), 0, "size '%s'", good[i].in);
		ok(v == good[i].v, "size '%s' value", good[i].in);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t v = 7;
		is_int(parse_size(bad[i], &v), -1, "bad size '%s'", bad[i]);
		ok(v == 7, "bad size '%s' writes nothing", bad[i]);
	}
}

static void test_ids(void)
{
	static const struct {
		const char *id;
		bool valid;
	} ids[] = {
		{ "build", true }, { "a", true }, { "A.b_c-9", true },
		{ "test-3.11", true }, { ".hidden", true }, { "...", true },
		{ "", false }, { ".", false }, { "..", false },
		{ "a b", false }, { "a/b", false }, { "a{{x}}", false },
		{ "é", false },
		{ "0123456789012345678901234567890123456789"
		  "012345678901234567890123", true },
		{ "0123456789012345678901234567890123456789"
		  "0123456789012345678901234", false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++)
		is_int(plan_id_valid(ids[i].id), ids[i].valid,
		       "plan_id_valid('%s')", ids[i].id);
}

/* Valid plans */

static void test_minimal(void)
{
	struct strbuf err = STRBUF_INIT;
	struct plan *p = NULL;
	const struct plan_task *t;
	char *dir = fs_realpath(tmpdir, &err);

	is_int(load("version: 1\nname: mini\ntasks:\n  - id: one\n"
		    "    run: echo hi\n", &p, &err), 0, "minimal plan loads");
	is_str(err.buf, "", "minimal plan: no errors");
	if (!p) {
		free(dir);
		strbuf_release(&err);
		return;
	}
	is_str(p->name, "mini", "name");
	is_int(p->version, 1, "version");
	is_str(p->dir, dir, "dir is the plan's absolute directory");
	ok(!p->has_schedule && !p->cron, "no schedule");
	is_str(p->timezone, "UTC", "timezone defaults to UTC");
	is_int(p->missed, PLAN_MISSED_RUN_ONCE, "missed defaults to run_once");
	is_int(p->overlap, PLAN_OVERLAP_FORBID, "overlap defaults to forbid");
	is_str(p->backend.type, "local", "backend defaults to local");
	{
		const struct sandbox_local_config *lc = p->backend.config;
		struct sandbox_e2b_config *ec;
		is_int(lc->isolation, LOCAL_ISOLATION_SANDBOX,
		       "isolation: sandbox");
		ok(!lc->network, "network off");
		ok(lc->memory == 0, "no memory limit");
		ok(plan_use_backend(p, "e2b", &err) == 0, "--backend e2b");
		ec = p->backend.config;
		is_str(ec->template_id, "base", "template defaults to base");
	}
	is_int(p->concurrency, 4, "concurrency defaults to 4");
	is_int(p->per_hour, 0, "no per_hour cap");
	is_int(p->per_day, 0, "no per_day cap");
	is_int(p->on_limit, PLAN_ON_LIMIT_WAIT, "on_limit defaults to wait");
	ok(p->budget_usd == 0 && p->cost_per_hour_usd == 0, "no budget");
	/* claude and codex, the built-ins */
	is_int(p->nr_agents, 2, "only the built-in agents");
	ok(plan_find_agent(p, "claude") && plan_find_agent(p, "codex") &&
		   plan_find_agent(p, "claude")->builtin,
	   "claude and codex are built in");
	is_int(p->nr_tasks, 1, "one task");
	t = plan_find_task(p, "one");
	ok(t == &p->tasks[0], "plan_find_task");
	ok(!plan_find_task(p, "two"), "plan_find_task: missing");
	is_str(t->run, "echo hi", "run");
	ok(!t->agent && !t->prompt, "no agent");
	is_str(t->workspace, dir, "workspace defaults to the plan's dir");
	is_int(t->timeout_ms, 3600000, "timeout defaults to 60m");
	is_int(t->nr_warn_at, 0, "no warn_at");
	is_int(t->retries, 0, "retries default to 0");
	is_int(t->retry_backoff_ms, 10000, "retry_backoff defaults to 10s");
	is_int(t->nr_env, 0, "no env");
	is_int(t->secrets.nr, 0, "no secrets");
	is_int(t->exclude.nr, 0, "no exclude");
	is_int(t->pull.nr, 1, "pull defaults to one pattern");
	is_str(t->pull.v[0], "**", "pull defaults to **");
	is_int(t->depends_on.nr, 0, "no depends_on");
	ok(!t->include_git, "include_git defaults to false");
	is_int(t->secret_scan, PLAN_SECRET_SCAN_BLOCK, "secret_scan: block");
	ok(t->log_limit == 100ULL << 20, "log_limit defaults to 100M");
	ok(t->pull_limit == 1ULL << 30, "pull_limit defaults to 1G");
	is_int(t->matrix.nr, 0, "no matrix");
	is_int(t->loc.line, 4, "task loc line");
	is_int(t->loc.col, 5, "task loc col");
	plan_free(p);
	free(dir);
	strbuf_release(&err);
}

static const char full_plan[] =
	"version: 1\n"
	"name: nightly-maintenance\n"
	"schedule:\n"
	"  cron: \"0 2 * * 1-5\"\n"
	"  timezone: Europe/Berlin\n"
	"  missed: skip\n"
	"  overlap: wait\n"
	"backend:\n"
	"  type: e2b\n"
	"  isolation: none\n"
	"  network: true\n"
	"  memory: 2G\n"
	"  template: my-tpl\n"
	"limits:\n"
	"  concurrency: 8\n"
	"  per_hour: 20\n"
	"  per_day: 50\n"
	"  on_limit: skip\n"
	"  budget_usd: 5.00\n"
	"  cost_per_hour_usd: 0.10\n"
	"defaults:\n"
	"  workspace: ./repo/\n"
	"  timeout: 1h\n"
	"  warn_at: [50m, 30m]\n"
	"  retries: 1\n"
	"  retry_backoff: 1m30s\n"
	"  env: {CI: \"1\", MODE: fast}\n"
	"  secrets: [ANTHROPIC_API_KEY]\n"
	"  exclude: [\"node_modules/\", \"*.log\"]\n"
	"  pull: [\"src/**\"]\n"
	"  include_git: true\n"
	"  secret_scan: warn\n"
	"  log_limit: 10M\n"
	"  pull_limit: 512M\n"
	"agents:\n"
	"  claude:\n"
	"    command: [claude, -p, --max-turns, 10]\n"
	"    prompt: arg\n"
	"  plain:\n"
	"    command: [./agent]\n"
	"tasks:\n"
	"  - id: lint-fix\n"
	"    run: ./scripts/fix-lint.sh\n"
	"    workspace: sub/../other\n"
	"    timeout: 10m\n"
	"    warn_at: [5m]\n"
	"    env: {MODE: slow, EXTRA: yes}\n"
	"    secret_scan: \"off\"\n"
	"  - id: readme\n"
	"    agent: claude\n"
	"    prompt: \"Bring README.md up to date.\"\n"
	"    depends_on: [lint-fix]\n"
	"    retries: 0\n"
	"    pull: []\n"
	"  - id: test-{{py}}-{{os}}\n"
	"    matrix: {py: [\"3.11\", 3.12], os: [linux, mac, bsd]}\n"
	"    run: make test PY={{py}} OS={{ os }} '{{.Go}}'\n"
	"    env: {PYV: \"py{{py}}\"}\n"
	"    depends_on: [readme]\n"
	"  - id: report\n"
	"    run: ./report\n"
	"    depends_on: [\"test-{{py}}-{{os}}\", test-3.11-mac, readme]\n";

static void test_full(void)
{
	struct strbuf err = STRBUF_INIT;
	struct plan *p = NULL;
	const struct plan_task *t;
	const struct plan_agent *a;
	char *dir = fs_realpath(tmpdir, &err);
	char *ws;
	static const char *const order[] = {
		"lint-fix", "readme", "test-3.11-linux", "test-3.11-mac",
		"test-3.11-bsd", "test-3.12-linux", "test-3.12-mac",
		"test-3.12-bsd", "report",
	};

	is_int(load(full_plan, &p, &err), 0, "full plan loads");
	is_str(err.buf, "", "full plan: no errors");
	if (!p) {
		free(dir);
		strbuf_release(&err);
		return;
	}
	ok(p->has_schedule, "has a schedule");
	is_str(p->cron, "0 2 * * 1-5", "cron");
	is_int(p->cron_loc.line, 4, "cron loc line");
	is_int(p->cron_loc.col, 9, "cron loc col");
	is_str(p->timezone, "Europe/Berlin", "timezone");
	is_int(p->missed, PLAN_MISSED_SKIP, "missed");
	is_int(p->overlap, PLAN_OVERLAP_WAIT, "overlap");
	is_str(p->backend.type, "e2b", "backend type");
	{
		const struct sandbox_e2b_config *ec = p->backend.config;
		const struct sandbox_local_config *lc;
		is_str(ec->template_id, "my-tpl", "template");
		ok(ec->network, "network");
		ok(plan_use_backend(p, "local", &err) == 0, "--backend local");
		lc = p->backend.config;
		is_int(lc->isolation, LOCAL_ISOLATION_NONE, "isolation");
		ok(lc->network, "network (local)");
		ok(lc->memory == 2ULL << 30, "memory 2G");
	}
	is_int(p->concurrency, 8, "concurrency");
	is_int(p->per_hour, 20, "per_hour");
	is_int(p->per_day, 50, "per_day");
	is_int(p->on_limit, PLAN_ON_LIMIT_SKIP, "on_limit");
	ok(p->budget_usd == 5.0, "budget_usd");
	ok(p->cost_per_hour_usd == 0.10, "cost_per_hour_usd");

	is_int(p->nr_agents, 3, "two agents and the built-in codex");
	a = plan_find_agent(p, "claude");
	ok(a != NULL, "agent claude");
	if (a) {
		is_int(a->command.nr, 4, "claude argv");
		is_str(a->command.v[0], "claude", "argv[0]");
		is_str(a->command.v[3], "10", "a number in argv, as written");
		ok(a->command.v[4] == NULL, "argv is NULL-terminated");
		is_int(a->prompt, PLAN_PROMPT_ARG, "prompt mode arg");
		is_int(a->loc.line, 36, "agent loc");
	}
	a = plan_find_agent(p, "plain");
	ok(a && a->prompt == PLAN_PROMPT_STDIN, "prompt defaults to stdin");
	ok(!plan_find_agent(p, "nope"), "plan_find_agent: missing");

	is_int(p->nr_tasks, ARRAY_SIZE(order), "matrix expands to 6 tasks");
	for (size_t i = 0; i < ARRAY_SIZE(order) && i < p->nr_tasks; i++)
		is_str(p->tasks[i].id, order[i], "task %zu in order", i);

	t = plan_find_task(p, "lint-fix");
	ws = fs_join(dir, "other");
	is_str(t->workspace, ws, "workspace resolved, '..' folded");
	free(ws);
	is_int(t->timeout_ms, 600000, "the task's timeout wins");
	is_int(t->nr_warn_at, 1, "the task's warn_at wins");
	is_int(t->warn_at_ms[0], 300000, "warn_at 5m");
	is_int(t->retries, 1, "retries from defaults");
	is_int(t->retry_backoff_ms, 90000, "retry_backoff from defaults");
	is_int(t->nr_env, 3, "env merged by name");
	is_str(t->env[0].name, "CI", "env[0] name");
	is_str(t->env[0].value, "1", "env[0] from defaults");
	is_str(t->env[1].name, "MODE", "env[1] name");
	is_str(t->env[1].value, "slow", "env[1]: the task's value wins");
	is_str(t->env[2].name, "EXTRA", "env[2] name");
	is_str(t->env[2].value, "yes", "env[2] kept as written");
	is_int(t->secrets.nr, 1, "secrets from defaults");
	is_str(t->secrets.v[0], "ANTHROPIC_API_KEY", "secret name");
	is_int(t->exclude.nr, 2, "exclude from defaults");
	is_str(t->exclude.v[1], "*.log", "exclude[1]");
	is_int(t->pull.nr, 1, "pull from defaults");
	is_str(t->pull.v[0], "src/**", "pull[0]");
	ok(t->include_git, "include_git from defaults");
	is_int(t->secret_scan, PLAN_SECRET_SCAN_OFF, "secret_scan: task's");
	ok(t->log_limit == 10ULL << 20, "log_limit from defaults");
	ok(t->pull_limit == 512ULL << 20, "pull_limit from defaults");

	t = plan_find_task(p, "readme");
	ws = fs_join(dir, "repo");
	is_str(t->workspace, ws, "workspace from defaults");
	free(ws);
	ok(!t->run, "agent task has no run");
	is_str(t->agent, "claude", "agent");
	is_str(t->prompt, "Bring README.md up to date.", "prompt");
	is_int(t->timeout_ms, 3600000, "timeout from defaults");
	is_int(t->nr_warn_at, 2, "warn_at from defaults");
	is_int(t->warn_at_ms[0], 1800000, "warn_at sorted: 30m");
	is_int(t->warn_at_ms[1], 3000000, "warn_at sorted: 50m");
	is_int(t->retries, 0, "retries 0 from the task");
	is_int(t->pull.nr, 0, "an empty pull list is kept");
	is_int(t->depends_on.nr, 1, "depends_on");
	is_str(t->depends_on.v[0], "lint-fix", "depends_on[0]");
	is_int(t->secret_scan, PLAN_SECRET_SCAN_WARN, "secret_scan default");

	t = plan_find_task(p, "test-3.12-mac");
	ok(t != NULL, "expanded task found");
	if (t) {
		is_str(t->run, "make test PY=3.12 OS=mac '{{.Go}}'",
		       "placeholders substituted, other braces left alone");
		is_int(t->matrix.nr, 2, "matrix values");
		is_str(t->matrix.v[0], "py=3.12", "matrix[0]");
		is_str(t->matrix.v[1], "os=mac", "matrix[1]");
		is_int(t->nr_env, 3, "env with defaults");
		is_str(t->env[2].value, "py3.12", "env values substituted");
		is_int(t->depends_on.nr, 1, "matrix task depends_on");
		is_int(t->loc.line, 55, "expanded tasks share their loc");
	}
	t = plan_find_task(p, "report");
	is_int(t->depends_on.nr, 7, "template id means every expansion");
	if (t->depends_on.nr == 7) {
		is_str(t->depends_on.v[0], "test-3.11-linux", "deps[0]");
		is_str(t->depends_on.v[5], "test-3.12-bsd", "deps[5]");
		is_str(t->depends_on.v[6], "readme", "deps deduplicated");
	}
	plan_free(p);
	free(dir);
	strbuf_release(&err);
}

static void test_yaml_features(void)
{
	struct strbuf err = STRBUF_INIT;
	struct plan *p = NULL;
	const struct plan_task *t;

	is_int(load("# a comment\n"
		    "---\n"
		    "version: !!int 1\n"
		    "name: !!str 2024\n"
		    "x-common: &common\n"
		    "  timeout: 5m\n"
		    "  retries: 2\n"
		    "defaults: {env: &env {A: \"1\"}}\n"
		    "tasks:\n"
		    "  - &t1\n"
		    "    id: one\n"
		    "    run: |\n"
		    "      echo one\n"
		    "      echo two\n"
		    "    env: *env\n"
		    "  - <<: *t1\n"
		    "    id: two\n"
		    "    retries: 3\n"
		    "...\n", &p, &err), -1, "x- keys are not allowed");
	is_str(err.buf, "5:1: unknown key 'x-common'\n",
	       "only the unknown key is reported");
	plan_free(p);
	p = NULL;
	strbuf_reset(&err);

	is_int(load("version: !!int 1\n"
		    "name: !!str 2024\n"
		    "defaults: &d {env: &env {A: \"1\"}, timeout: 5m}\n"
		    "tasks:\n"
		    "  - &t1\n"
		    "    id: one\n"
		    "    run: |\n"
		    "      echo one\n"
		    "      echo two\n"
		    "    env: *env\n"
		    "  - <<: *t1\n"
		    "    id: two\n"
		    "    retries: 3\n"
		    "  - <<: [{id: x, run: a}, *d]\n"
		    "    id: three\n", &p, &err), 0,
	       "aliases, merge keys, tags, block scalars");
	is_str(err.buf, "", "no errors");
	if (p) {
		is_str(p->name, "2024", "!!str makes a number a string");
		is_int(p->nr_tasks, 3, "three tasks");
		t = plan_find_task(p, "two");
		ok(t && !strcmp(t->run, "echo one\necho two\n"),
		   "merged run from the anchor");
		ok(t && t->retries == 3, "own key wins over merged");
		ok(t && t->nr_env == 1, "env merged from the anchor");
		t = plan_find_task(p, "three");
		ok(t && !strcmp(t->run, "a"), "merge from a list");
		ok(t && t->timeout_ms == 300000,
		   "later merged mappings fill what earlier ones lack");
	}
	plan_free(p);
	strbuf_release(&err);
}

/* Invalid plans: every error, exactly */

static const struct bad_plan {
	const char *name;
	const char *yaml;
	const char *errors;
} bad_plans[] = {
	{ "empty file", "", "1:1: empty plan\n" },
	{ "comments only", "# nothing\n\n", "1:1: empty plan\n" },
	{ "null document", "---\n~\n", "1:1: empty plan\n" },
	{ "a list", "- a\n- b\n",
	  "1:1: a plan must be a mapping, found a list\n" },
	{ "a scalar", "hello\n",
	  "1:1: a plan must be a mapping, found 'hello'\n" },
	{ "yaml syntax error",
	  "version: 1\nname: x\ntasks: [\n  - id: a\n",
	  "4:3: yaml syntax error: did not find expected node content "
	  "(while parsing a flow node)\n" },
	{ "yaml syntax error in a mapping",
	  "version: 1\nname: x\n  bad: indent\n",
	  "3:6: yaml syntax error: mapping values are not allowed in this "
	  "context\n" },
	{ "tab indentation",
	  "version: 1\ntasks:\n\t- id: a\n",
	  "3:1: yaml syntax error: found character that cannot start any "
	  "token (while scanning for the next token)\n" },
	{ "invalid utf-8", "version: 1\nname: \"\xff\"\n",
	  "2:8: yaml syntax error: invalid leading UTF-8 octet "
	  "(byte 0xff)\n" },
	{ "two documents",
	  "version: 1\n---\nversion: 1\n",
	  "2:1: a plan is one yaml document, found a second one\n" },
	{ "missing keys", "foo: 1\n",
	  "1:1: unknown key 'foo'\n"
	  "1:1: missing required key 'version'\n"
	  "1:1: missing required key 'name'\n"
	  "1:1: missing required key 'tasks'\n" },
	{ "bad version and name",
	  "version: 2\nname: \"a b\"\ntasks: []\n",
	  "1:10: version: unsupported version '2' (this runner reads "
	  "version 1)\n"
	  "2:7: name: invalid name 'a b' (use 1 to 64 letters, digits, '.', "
	  "'_' or '-')\n"
	  "3:8: tasks: expected a non-empty list of tasks, found an empty "
	  "list\n" },
	{ "version as a string",
	  "version: \"1\"\nname: x\ntasks: [{id: a, run: x}]\n",
	  "1:10: version: expected the number 1, found the string '1' "
	  "(remove the quotes)\n" },
	{ "version as a list",
	  "version: [1]\nname: x\ntasks: [{id: a, run: x}]\n",
	  "1:10: version: expected 1, found a list\n" },
	{ "unknown keys with suggestions",
	  "version: 1\nnme: x\nname: x\ntimeout: 5m\n"
	  "tasks:\n  - id: a\n    run: x\n    timeot: 5m\n    zzz: 1\n",
	  "2:1: unknown key 'nme' (did you mean 'name'?)\n"
	  "4:1: unknown key 'timeout' (task settings go in a task or under "
	  "'defaults')\n"
	  "8:5: task 'a': unknown key 'timeot' (did you mean 'timeout'?)\n"
	  "9:5: task 'a': unknown key 'zzz'\n" },
	{ "sections",
	  "version: 1\nname: x\n"
	  "schedule:\n  cron: \"61 * * * *\"\n  timezone: Mars/Base\n"
	  "  missed: never\n  overlap: yes\n  cronn: 1\n"
	  "backend:\n  type: k8s\n  isolation: full\n  network: \"true\"\n"
	  "  memory: 2X\n  template: \"\"\n"
	  "limits:\n  concurrency: 0\n  per_hour: -1\n  per_day: 1.5\n"
	  "  on_limit: later\n  budget_usd: -5\n  cost_per_hour_usd: x\n"
	  "tasks:\n  - id: a\n    run: x\n",
	  "4:9: schedule.cron: invalid schedule '61 * * * *': minute: 61 is "
	  "out of range 0-59\n"
	  "5:13: schedule.timezone: unknown time zone 'Mars/Base' (no such "
	  "file in /usr/share/zoneinfo; is tzdata installed?)\n"
	  "6:11: schedule.missed: expected run_once or skip, found 'never'\n"
	  "7:12: schedule.overlap: expected forbid or wait, found 'yes'\n"
	  "8:3: schedule: unknown key 'cronn' (did you mean 'cron'?)\n"
	  "10:9: backend.type: expected local or e2b, found 'k8s'\n"
	  "11:14: backend.isolation: expected sandbox or none, found 'full'\n"
	  "12:12: backend.network: expected true, false or a list of host:port, found 'true'\n"
	  "13:11: backend.memory: expected a size like 512M or 2G, found "
	  "'2X'\n"
	  "14:13: backend.template: must not be empty\n"
	  "16:16: limits.concurrency: expected a whole number from 1 to "
	  "10000, found '0'\n"
	  "17:13: limits.per_hour: expected a whole number from 0 to "
	  "1000000, found '-1'\n"
	  "18:12: limits.per_day: expected a whole number from 0 to 1000000, "
	  "found '1.5'\n"
	  "19:13: limits.on_limit: expected wait, skip or fail, found "
	  "'later'\n"
	  "20:15: limits.budget_usd: expected a number, 0 or more, found "
	  "'-5'\n"
	  "21:22: limits.cost_per_hour_usd: expected a number, 0 or more, "
	  "found 'x'\n" },
	{ "schedule without cron",
	  "version: 1\nname: x\nschedule:\n  timezone: UTC\n"
	  "tasks:\n  - id: a\n    run: x\n",
	  "3:1: schedule: missing required key 'cron'\n" },
	{ "section types",
	  "version: 1\nname: x\nschedule: daily\nbackend: [local]\n"
	  "limits: 4\ndefaults: []\nagents: [claude]\ntasks: {a: 1}\n",
	  "3:11: schedule: expected a mapping with 'cron' and 'timezone', "
	  "found 'daily'\n"
	  "4:10: backend: expected a mapping, found a list\n"
	  "5:9: limits: expected a mapping, found '4'\n"
	  "6:11: defaults: expected a mapping of task settings, found an "
	  "empty list\n"
	  "7:9: agents: expected a mapping of agent names to their settings, "
	  "found a list\n"
	  "8:8: tasks: expected a non-empty list of tasks, found a "
	  "mapping\n" },
	{ "wrong types in a task",
	  "version: 1\nname: x\ntasks:\n"
	  "  - id: a\n    run: [echo]\n"
	  "    timeout: 90\n    warn_at: 5m\n    retries: 101\n"
	  "    retry_backoff: soon\n    env: [A]\n    secrets: A\n"
	  "    exclude: [1]\n    pull: [\"\"]\n    include_git: 1\n"
	  "    secret_scan: false\n    log_limit: 0\n    pull_limit: big\n"
	  "    depends_on: b\n    workspace: /abs\n",
	  "5:10: task 'a': run: expected a string, found a list\n"
	  "6:14: task 'a': timeout: expected a duration like 90s, 30m or "
	  "1h30m, found '90'\n"
	  "7:14: task 'a': warn_at: expected a list of durations, found "
	  "'5m'\n"
	  "8:14: task 'a': retries: expected a whole number from 0 to 100, "
	  "found '101'\n"
	  "9:20: task 'a': retry_backoff: expected a duration like 90s, 30m "
	  "or 1h30m, found 'soon'\n"
	  "10:10: task 'a': env: expected a mapping of names to values, "
	  "found a list\n"
	  "11:14: task 'a': secrets: expected a list of strings, found 'A'\n"
	  "12:15: task 'a': exclude: expected a list of strings, found '1' "
	  "(quote it to make it a string)\n"
	  "13:12: task 'a': pull: a pattern must not be empty\n"
	  "14:18: task 'a': include_git: expected true or false, found '1'\n"
	  "15:18: task 'a': secret_scan: expected block, warn or off, found "
	  "'false'\n"
	  "16:16: task 'a': log_limit: must be more than 0\n"
	  "17:17: task 'a': pull_limit: expected a size like 512M or 2G, "
	  "found 'big'\n"
	  "18:17: task 'a': depends_on: expected a list of task ids, found "
	  "'b'\n"
	  "19:16: task 'a': workspace: must be relative to the plan's "
	  "directory, found '/abs'\n" },
	{ "bad values in a task",
	  "version: 1\nname: x\ntasks:\n"
	  "  - id: a\n    run: x\n    timeout: 0s\n"
	  "    warn_at: [10s, 0s, 10s]\n"
	  "    env: {A-B: 1, RUNNER_ID: x, OK: ~, 1X: y}\n"
	  "    secrets: [RUNNER_TOKEN, \"a b\"]\n"
	  "    exclude: [\"../up\"]\n    workspace: \"\"\n",
	  "6:14: task 'a': timeout: must be more than 0s\n"
	  "7:20: task 'a': warn_at: must be more than 0s\n"
	  "8:11: task 'a': env: invalid variable name 'A-B' (use letters, "
	  "digits and '_', not starting with a digit)\n"
	  "8:19: task 'a': env: 'RUNNER_ID' is reserved (runner sets the "
	  "RUNNER_* variables)\n"
	  "8:37: task 'a': env.OK: expected a string, a number or "
	  "true/false, found nothing\n"
	  "8:40: task 'a': env: invalid variable name '1X' (use letters, "
	  "digits and '_', not starting with a digit)\n"
	  "9:15: task 'a': secrets: 'RUNNER_TOKEN' is reserved (runner sets "
	  "the RUNNER_* variables)\n"
	  "9:29: task 'a': secrets: invalid variable name 'a b' (use "
	  "letters, digits and '_', not starting with a digit)\n"
	  "10:15: task 'a': exclude: pattern '../up' must not contain '..'\n"
	  "11:16: task 'a': workspace: must not be empty (use '.' for the "
	  "plan's directory)\n" },
	{ "warn_at twice and past the timeout",
	  "version: 1\nname: x\ndefaults:\n  warn_at: [30m, 2h]\ntasks:\n"
	  "  - id: a\n    run: x\n    warn_at: [10s, 10s]\n"
	  "  - id: b\n    run: x\n    timeout: 20m\n"
	  "  - id: c\n    run: x\n    timeout: bad\n",
	  "4:13: task 'b': warn_at 30m is not before the timeout (20m)\n"
	  "4:18: defaults: warn_at 2h is not before the timeout (1h)\n"
	  "4:18: task 'b': warn_at 2h is not before the timeout (20m)\n"
	  "8:20: task 'a': warn_at: 10s is listed twice\n"
	  "14:14: task 'c': timeout: expected a duration like 90s, 30m or "
	  "1h30m, found 'bad'\n" },
	{ "run and agent",
	  "version: 1\nname: x\n"
	  "agents:\n  claude: {command: [claude]}\n"
	  "tasks:\n"
	  "  - id: both\n    run: x\n    agent: claude\n    prompt: p\n"
	  "  - id: neither\n    timeout: 1m\n"
	  "  - id: runprompt\n    run: x\n    prompt: p\n"
	  "  - id: noprompt\n    agent: claude\n"
	  "  - id: unknown\n    agent: claud\n    prompt: p\n"
	  "  - id: noagent\n    prompt: p\n",
	  "8:5: task 'both': exactly one of 'run' or 'agent' is required\n"
	  "10:5: task 'neither': exactly one of 'run' or 'agent' is required\n"
	  "14:5: task 'runprompt': 'prompt' goes with 'agent', not with "
	  "'run'\n"
	  "16:5: task 'noprompt': 'agent' needs a 'prompt'\n"
	  "18:12: task 'unknown': unknown agent 'claud' (did you mean "
	  "'claude'?)\n"
	  "20:5: task 'noagent': exactly one of 'run' or 'agent' is "
	  "required\n" },
	{ "agents",
	  "version: 1\nname: x\nagents:\n"
	  "  a b: {command: [x]}\n"
	  "  empty: {command: []}\n"
	  "  nocmd: {prompt: stdin}\n"
	  "  badprompt: {command: [x, [y]], prompt: pipe, cmd: 1}\n"
	  "  scalar: claude\n"
	  "tasks:\n  - id: t\n    agent: a b\n    prompt: p\n",
	  "4:3: agents: invalid agent name 'a b' (use 1 to 64 letters, "
	  "digits, '.', '_' or '-')\n"
	  "5:20: agent 'empty': command: expected a non-empty list of "
	  "strings (program and arguments), found an empty list\n"
	  "6:3: agent 'nocmd': missing required key 'command' (only claude "
	  "and codex are built in)\n"
	  "7:28: agent 'badprompt': command: expected a list of strings, "
	  "found a list\n"
	  "7:42: agent 'badprompt': prompt: expected stdin, arg or file, "
	  "found 'pipe'\n"
	  "7:48: agent 'badprompt': unknown key 'cmd'\n"
	  "8:11: agent 'scalar': expected a mapping with 'command' and "
	  "'prompt', found 'claude'\n" },
	{ "ids",
	  "version: 1\nname: x\ntasks:\n"
	  "  - id: ok\n    run: x\n"
	  "  - run: x\n"
	  "  - id: \"a b\"\n    run: x\n"
	  "  - id: ok\n    run: y\n"
	  "  - id: 5\n    run: x\n"
	  "  - hello\n"
	  "  - id: ..\n    run: x\n",
	  "6:5: task #2: missing required key 'id'\n"
	  "7:9: task #3: invalid id 'a b' (use 1 to 64 letters, digits, "
	  "'.', '_' or '-')\n"
	  "9:9: task 'ok': duplicate id 'ok' (first at line 4)\n"
	  "11:9: task #5: id: expected a string, found '5' (quote it to make "
	  "it a string)\n"
	  "13:5: task #6: expected a mapping, found 'hello'\n"
	  "14:9: task #7: invalid id '..' (use 1 to 64 letters, digits, '.', "
	  "'_' or '-')\n" },
	{ "dependencies",
	  "version: 1\nname: x\ntasks:\n"
	  "  - id: build\n    run: x\n"
	  "    depends_on: [buidl, biuld, nothing]\n"
	  "  - id: self\n    run: x\n    depends_on: [self]\n"
	  "  - id: bad-one\n    run: x\n    timeout: x\n"
	  "  - id: uses-bad\n    run: x\n    depends_on: [bad-one]\n",
	  "6:18: task 'build': depends on unknown task 'buidl' (did you "
	  "mean 'build'?)\n"
	  "6:25: task 'build': depends on unknown task 'biuld' (did you "
	  "mean 'build'?)\n"
	  "6:32: task 'build': depends on unknown task 'nothing'\n"
	  "9:18: task 'self': depends on itself\n"
	  "12:14: task 'bad-one': timeout: expected a duration like 90s, 30m "
	  "or 1h30m, found 'x'\n" },
	{ "cycles",
	  "version: 1\nname: x\ntasks:\n"
	  "  - id: c\n    run: x\n    depends_on: [a]\n"
	  "  - id: a\n    run: x\n    depends_on: [b]\n"
	  "  - id: b\n    run: x\n    depends_on: [c, d]\n"
	  "  - id: d\n    run: x\n    depends_on: [e]\n"
	  "  - id: e\n    run: x\n    depends_on: [d]\n",
	  "6:18: dependency cycle: c -> a -> b -> c\n"
	  "15:18: dependency cycle: d -> e -> d\n" },
	{ "matrix cycle through a template",
	  "version: 1\nname: x\ntasks:\n"
	  "  - id: t-{{v}}\n    matrix: {v: [1, 2]}\n    run: x\n"
	  "    depends_on: [last]\n"
	  "  - id: last\n    run: x\n    depends_on: [t-2]\n",
	  "7:18: dependency cycle: t-{{v}} -> last -> t-{{v}}\n" },
	{ "matrix errors",
	  "version: 1\nname: x\ntasks:\n"
	  "  - id: same\n    matrix: {v: [1, 2]}\n    run: x\n"
	  "  - id: m-{{v}}\n    matrix: {v: [\"a b\"]}\n    run: x\n"
	  "  - id: p-{{v}}\n    matrix: {v: [1], 2w: [1], e: [], l: [[1]]}\n"
	  "    run: echo {{w}} {{ v }}\n    prompt: \"{{z}}\"\n"
	  "  - id: n\n    run: x {{v}}\n    env: {A: \"{{q}}\"}\n"
	  "  - id: k-{{v}}\n    matrix: {v: [1, 2]}\n    run: x\n"
	  "  - id: k-1\n    run: x\n"
	  "  - id: big-{{a}}{{b}}{{c}}{{d}}{{e}}\n"
	  "    matrix: {a: [0,1,2,3,4,5,6,7,8,9], b: [0,1,2,3,4,5,6,7,8,9],\n"
	  "             c: [0,1,2,3,4,5,6,7,8,9], d: [0,1,2,3,4,5,6,7,8,9],\n"
	  "             e: [0,1,2,3,4,5,6,7,8,9, 10]}\n"
	  "    run: x\n"
	  "  - id: emptymatrix\n    matrix: {}\n    run: x\n",
	  "4:9: task 'same': the matrix makes the id 'same' more than once "
	  "(use every matrix name in the id)\n"
	  "7:9: task 'm-{{v}}': the matrix makes an invalid id 'm-a b' (use 1 "
	  "to 64 letters, digits, '.', '_' or '-')\n"
	  "11:22: task 'p-{{v}}': matrix: invalid name '2w' (use letters, "
	  "digits and '_', not starting with a digit)\n"
	  "11:34: task 'p-{{v}}': matrix.e: expected a non-empty list of "
	  "values, found an empty list\n"
	  "11:42: task 'p-{{v}}': matrix.l: expected a string, a number or "
	  "true/false, found a list\n"
	  "12:10: task 'p-{{v}}': unknown placeholder '{{w}}' in 'run'\n"
	  "13:5: task 'p-{{v}}': 'prompt' goes with 'agent', not with 'run'\n"
	  "13:13: task 'p-{{v}}': unknown placeholder '{{z}}' in 'prompt'\n"
	  "15:10: task 'n': unknown placeholder '{{v}}' in 'run' (the task "
	  "has no matrix)\n"
	  "16:14: task 'n': unknown placeholder '{{q}}' in 'env' (the task "
	  "has no matrix)\n"
	  "20:9: task 'k-1': duplicate id 'k-1' (first at line 17)\n"
	  "23:5: task 'big-{{a}}{{b}}{{c}}{{d}}{{e}}': the plan expands to "
	  "more than 100000 tasks\n"
	  "28:13: task 'emptymatrix': matrix: expected a mapping of names to "
	  "lists of values, found an empty mapping\n" },
	{ "defaults",
	  "version: 1\nname: x\ndefaults:\n  id: x\n  run: x\n  agent: a\n"
	  "  prompt: p\n  depends_on: []\n  matrix: {}\n  timout: 1m\n"
	  "  timeout: never\n"
	  "tasks:\n  - id: a\n    run: x\n",
	  "4:3: defaults: 'id' cannot have a default (set it on each task)\n"
	  "5:3: defaults: 'run' cannot have a default (set it on each task)\n"
	  "6:3: defaults: 'agent' cannot have a default (set it on each "
	  "task)\n"
	  "7:3: defaults: 'prompt' cannot have a default (set it on each "
	  "task)\n"
	  "8:3: defaults: 'depends_on' cannot have a default (set it on each "
	  "task)\n"
	  "9:3: defaults: 'matrix' cannot have a default (set it on each "
	  "task)\n"
	  "10:3: defaults: unknown key 'timout' (did you mean 'timeout'?)\n"
	  "11:12: defaults.timeout: expected a duration like 90s, 30m or "
	  "1h30m, found 'never'\n" },
	{ "defaults alone: said once, not per task",
	  "version: 1\nname: x\ndefaults:\n  timeout: 10m\n"
	  "  warn_at: [20m]\n  env: {TOKEN: x, V: \"{{v}}\"}\n"
	  "  secrets: [TOKEN]\n"
	  "tasks:\n  - {id: a, run: x}\n  - {id: b, run: x}\n"
	  "  - {id: c, run: x, timeout: 1m}\n",
	  "5:13: defaults: warn_at 20m is not before the timeout (10m)\n"
	  "5:13: task 'c': warn_at 20m is not before the timeout (1m)\n"
	  "6:22: task 'a': unknown placeholder '{{v}}' in 'env' (the task "
	  "has no matrix)\n"
	  "7:13: defaults: 'TOKEN' is both in env and in secrets\n" },
	{ "bad defaults are not built from",
	  "version: 1\nname: x\ndefaults:\n  workspace: /abs\n"
	  "  secrets: 5\n  pull: 1\n  exclude: [../a]\n  warn_at: [x]\n"
	  "  env: [1]\n  timeout: x\n  log_limit: 0\n"
	  "tasks:\n  - {id: a, run: x, warn_at: [1m]}\n",
	  "4:14: defaults.workspace: must be relative to the plan's "
	  "directory, found '/abs'\n"
	  "5:12: defaults.secrets: expected a list of strings, found '5'\n"
	  "6:9: defaults.pull: expected a list of strings, found '1'\n"
	  "7:13: defaults.exclude: pattern '../a' must not contain '..'\n"
	  "8:13: defaults.warn_at: expected a duration like 90s, 30m or "
	  "1h30m, found 'x'\n"
	  "9:8: defaults.env: expected a mapping of names to values, found "
	  "a list\n"
	  "10:12: defaults.timeout: expected a duration like 90s, 30m or "
	  "1h30m, found 'x'\n"
	  "11:14: defaults.log_limit: must be more than 0\n" },
	{ "env and secrets clash",
	  "version: 1\nname: x\ndefaults:\n  env: {TOKEN: x}\ntasks:\n"
	  "  - id: a\n    run: x\n    secrets: [TOKEN]\n",
	  "8:15: task 'a': 'TOKEN' is both in env and in secrets\n" },
	{ "duplicate keys",
	  "version: 1\nname: x\nname: y\ntasks:\n"
	  "  - id: a\n    run: x\n    env: {A: 1, B: 2, A: 3}\n",
	  "3:1: duplicate key 'name' (first at line 2)\n"
	  "7:23: duplicate key 'A' (first at line 7)\n" },
	{ "tags",
	  "version: 1\nname: !custom x\ntasks: !!map\n  - {id: a, run: x}\n",
	  "2:7: unsupported tag '!custom'\n"
	  "3:8: tag '!!map' does not fit a list\n" },
	{ "bad !!int",
	  "version: !!int one\nname: x\ntasks:\n  - {id: a, run: x}\n",
	  "1:10: 'one' is not a valid !!int\n"
	  "1:10: version: unsupported version 'one' (this runner reads "
	  "version 1)\n" },
	{ "unknown alias",
	  "version: 1\nname: *nope\n",
	  "2:7: unknown alias '*nope'\n" },
	{ "recursive alias",
	  "version: 1\nname: x\ntasks: &t\n  - *t\n",
	  "4:5: alias '*t' refers to a node that contains it\n" },
	{ "bad merge",
	  "version: 1\nname: x\ntasks:\n  - <<: 5\n    id: a\n    run: x\n",
	  "4:9: merge key '<<' needs a mapping or a list of mappings\n" },
	{ "non-scalar key",
	  "version: 1\nname: x\n[a]: 1\ntasks:\n  - {id: a, run: x}\n",
	  "3:1: a mapping key must be a string, found a list\n" },
	{ "five different errors at once",
	  "version: 1\nname: five\n"
	  "tasks:\n"
	  "  - id: a\n    run: x\n    timeot: 5m\n"
	  "  - id: a\n    run: y\n"
	  "  - id: b\n    run: z\n    depends_on: [nope]\n"
	  "  - id: c\n    run: z\n    retries: many\n"
	  "  - id: d\n    agent: ghost\n    prompt: p\n",
	  "6:5: task 'a': unknown key 'timeot' (did you mean 'timeout'?)\n"
	  "7:9: task 'a': duplicate id 'a' (first at line 4)\n"
	  "11:18: task 'b': depends on unknown task 'nope'\n"
	  "14:14: task 'c': retries: expected a whole number from 0 to 100, "
	  "found 'many'\n"
	  "16:12: task 'd': unknown agent 'ghost' (claude and codex are "
	  "built in; define others under 'agents')\n" },
};

static void test_bad_plans(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_plans); i++) {
		struct strbuf err = STRBUF_INIT;
		struct plan *p = (struct plan *)&err;
		int ret = load(bad_plans[i].yaml, &p, &err);
		is_int(ret, -1, "%s: rejected", bad_plans[i].name);
		ok(p == NULL, "%s: no plan", bad_plans[i].name);
		is_str(err.buf, bad_plans[i].errors, "%s: errors",
		       bad_plans[i].name);
		strbuf_release(&err);
	}
}

/* Limits: big files, alias bombs, deep nesting */

static void test_limits(void)
{
	struct strbuf big = STRBUF_INIT, err = STRBUF_INIT;
	struct plan *p = NULL;
	size_t n = 0;
	char *path;

	/* 10 MB of valid YAML: refused before it is parsed. */
	strbuf_addstr(&big, "version: 1\nname: big\ntasks:\n");
	while (big.len < 10 * 1000 * 1000)
		strbuf_addf(&big, "  - {id: t%zu, run: echo}\n", n++);
	path = write_plan("big.yaml", big.buf, big.len);
	is_int(plan_load(path, &p, &err), -1, "a 10 MB plan is refused");
	ok(strstr(err.buf, ":1:1: plan is larger than 8 MiB\n") != NULL,
	   "with a clear message");
	ok(p == NULL, "and no plan");
	free(path);
	strbuf_reset(&err);

	/* Up to the limit it is parsed, all of it, in reasonable time. */
	strbuf_reset(&big);
	strbuf_addstr(&big, "version: 1\nname: big\ntasks:\n");
	strbuf_addstr(&big, "  - {id: t0, run: echo}\n");
	for (n = 1; n < 60000; n++)
		strbuf_addf(&big, "  - {id: t%zu, run: echo, depends_on: "
			    "[t%zu]}\n", n, n - 1);
	path = write_plan("chain.yaml", big.buf, big.len);
	is_int(plan_load(path, &p, &err), 0, "60000 chained tasks load");
	is_str(err.buf, "", "without errors");
	ok(p && p->nr_tasks == 60000, "all of them");
	plan_free(p);
	p = NULL;
	free(path);
	strbuf_reset(&err);

	/* A cycle through all of them, found without deep recursion. */
	strbuf_reset(&big);
	strbuf_addstr(&big, "version: 1\nname: big\ntasks:\n");
	strbuf_addstr(&big, "  - {id: t0, run: echo, depends_on: [t59999]}\n");
	for (n = 1; n < 60000; n++)
		strbuf_addf(&big, "  - {id: t%zu, run: echo, depends_on: "
			    "[t%zu]}\n", n, n - 1);
	path = write_plan("cycle.yaml", big.buf, big.len);
	is_int(plan_load(path, &p, &err), -1, "a 60000-task cycle");
	ok(!strncmp(strchr(err.buf, ' ') + 1, "dependency cycle: t0 -> "
		    "t59999 -> t59998", 40), "is found: %.60s", err.buf);
	free(path);
	strbuf_reset(&err);

	/* Billion laughs: nine levels of ten aliases. */
	strbuf_reset(&big);
	strbuf_addstr(&big, "a: &a [x, x, x, x, x, x, x, x, x, x]\n");
	for (char c = 'b'; c <= 'i'; c++) {
		strbuf_addf(&big, "%c: &%c [", c, c);
		for (int i = 0; i < 10; i++)
			strbuf_addf(&big, "%s*%c", i ? ", " : "", c - 1);
		strbuf_addstr(&big, "]\n");
	}
	path = write_plan("bomb.yaml", big.buf, big.len);
	is_int(plan_load(path, &p, &err), -1, "an alias bomb is refused");
	ok(strstr(err.buf, "b.yaml:6:44: alias '*e' makes the plan expand "
		  "to more than 1000000 nodes\n") != NULL,
	   "with the alias that crossed the limit");
	free(path);
	strbuf_reset(&err);

	/* Deep nesting: refused at the limit, no recursion. */
	strbuf_reset(&big);
	for (n = 0; n < 100000; n++)
		strbuf_addch(&big, '[');
	path = write_plan("deep.yaml", big.buf, big.len);
	is_int(plan_load(path, &p, &err), -1, "deep nesting is refused");
	ok(strstr(err.buf, ":1:65: plan nests deeper than 64 levels\n") !=
	   NULL, "at the first level too deep");
	free(path);
	strbuf_reset(&err);

	/* Defaults copied into too many tasks */
	strbuf_reset(&big);
	strbuf_addstr(&big, "version: 1\nname: x\ndefaults:\n  env:\n");
	for (n = 0; n < 2000; n++)
		strbuf_addf(&big, "    V%zu: x\n", n);
	strbuf_addstr(&big, "tasks:\n");
	for (n = 0; n < 10001; n++)
		strbuf_addf(&big, "  - {id: t%zu, run: x}\n", n);
	path = write_plan("defaults.yaml", big.buf, big.len);
	is_int(plan_load(path, &p, &err), -1, "defaults x tasks is bounded");
	ok(strstr(err.buf, "defaults.yaml:4:3: defaults: too large for 10001 "
		  "tasks (entries times tasks must stay under 20000000)\n") !=
	   NULL, "at defaults");
	free(path);
	strbuf_reset(&err);

	/* Every one of 10000 tasks on every one of 10000 others */
	strbuf_reset(&big);
	strbuf_addstr(&big, "version: 1\nname: x\ntasks:\n"
		      "  - id: a-{{v}}\n    run: x\n    matrix: {v: [");
	for (n = 0; n < 10000; n++)
		strbuf_addf(&big, "%s%zu", n ? "," : "", n);
	strbuf_addstr(&big, "]}\n  - id: b-{{v}}\n    run: x\n"
		      "    depends_on: [\"a-{{v}}\"]\n    matrix: {v: [");
	for (n = 0; n < 10000; n++)
		strbuf_addf(&big, "%s%zu", n ? "," : "", n);
	strbuf_addstr(&big, "]}\n");
	path = write_plan("deps.yaml", big.buf, big.len);
	is_int(plan_load(path, &p, &err), -1, "dependencies x tasks bounded");
	ok(strstr(err.buf, "deps.yaml:7:5: task 'b-{{v}}': the plan expands "
		  "to more than 128 MiB of task settings (too many tasks, "
		  "matrix combinations or dependencies)\n") != NULL,
	   "at the task");
	free(path);
	strbuf_reset(&err);

	/* A long command times many combinations */
	strbuf_reset(&big);
	strbuf_addstr(&big, "version: 1\nname: x\ntasks:\n"
		      "  - id: a-{{v}}\n    matrix: {v: [");
	for (n = 0; n < 2000; n++)
		strbuf_addf(&big, "%s%zu", n ? "," : "", n);
	strbuf_addstr(&big, "]}\n    run: \"");
	for (n = 0; n < 20000; n++)
		strbuf_addstr(&big, "{{v}}");
	strbuf_addstr(&big, "\"\n");
	path = write_plan("long.yaml", big.buf, big.len);
	is_int(plan_load(path, &p, &err), -1, "matrix x long strings bounded");
	ok(strstr(err.buf, "long.yaml:4:5: task 'a-{{v}}': the plan "
		  "expands") != NULL, "at the task");
	free(path);
	strbuf_reset(&err);

	/* A file that cannot be read */
	path = fs_join(tmpdir, "missing.yaml");
	is_int(plan_load(path, &p, &err), -1, "a missing file");
	ok(strstr(err.buf, "missing.yaml: cannot read plan: No such file") !=
	   NULL, "says so");
	free(path);

	strbuf_release(&big);
	strbuf_release(&err);
}

static void test_workspace_and_timezone(void)
{
	struct strbuf err = STRBUF_INIT;
	struct plan *p = NULL;
	char *sub = fs_join(tmpdir, "plans");
	char *path, *want, *parent;

	fs_mkdir_p(sub, 0755, &err);
	free(sub);
	path = fs_join(tmpdir, "plans/p.yaml");
	{
		static const char text[] = "version: 1\nname: x\ntasks:\n"
			"  - {id: a, run: x, workspace: ../examples/repo}\n"
			"  - {id: b, run: x, workspace: ../../../../../..}\n";
		fs_write_atomic(path, text, strlen(text), 0644, &err);
	}
	is_int(plan_load(path, &p, &err), 0, "a plan in a subdirectory");
	is_str(err.buf, "", "without errors");
	parent = fs_realpath(tmpdir, &err);
	want = fs_join(parent, "examples/repo");
	ok(p && !strcmp(p->tasks[0].workspace, want),
	   "'..' in workspace resolves against the plan's directory: %s",
	   p ? p->tasks[0].workspace : "");
	ok(p && !strcmp(p->tasks[1].workspace, "/"), "and stops at /");
	plan_free(p);
	free(want);
	free(parent);
	free(path);
	strbuf_release(&err);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("# mkdtemp failed\n");
		return 1;
	}
	/* The zone messages name the directory they looked in. */
	unsetenv("TZDIR");
	test_durations();
	test_sizes();
	test_ids();
	test_minimal();
	test_full();
	test_yaml_features();
	test_bad_plans();
	test_limits();
	test_workspace_and_timezone();
	{
		struct strbuf err = STRBUF_INIT;
		fs_rm_rf(tmpdir, &err);
		strbuf_release(&err);
	}
	return done_testing();
}
