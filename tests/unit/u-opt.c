#include "runner.h"
#include "cmd.h"
#include "cmd-opt.h"
#include "tap.h"

/*
 * opt_parse() over one table with every kind of option, row by row: the
 * arguments, what it returns, the values it stores, the first positional
 * argument and the first line it prints on stderr (or stdout for --help).
 */

static const struct cmd_entry cmd = {
	"x",
	NULL,
	"a test command",
	"runner x ARG [--jobs N]\n[--state DIR]",
	"What x does.",
};

struct vals {
	bool flag;
	int jobs, mode, count;
	const char *state;
	int64_t grace;
	struct strvec list;
};

static int parse_count(const struct opt *o, const char *arg, const char *usage)
{
	if (strcmp(arg, "7"))
		return usage_error(usage, "bad count '%s'", arg);
	*(int *)o->value = 7;
	return 0;
}

/* Run fn with fd (1 or 2) going to a file; its first line in line. */
static int capture(int fd, char *line, size_t size, int (*fn)(void *),
		   void *arg)
{
	FILE *f = tmpfile();
	int saved = dup(fd), ret;

	fflush(stdout);
	fflush(stderr);
	dup2(fileno(f), fd);
	ret = fn(arg);
	fflush(stdout);
	fflush(stderr);
	dup2(saved, fd);
	close(saved);
	rewind(f);
	if (!fgets(line, (int)size, f))
		line[0] = '\0';
	line[strcspn(line, "\n")] = '\0';
	fclose(f);
	return ret;
}

struct call {
	int argc;
	char **argv;
	struct vals *v;
	unsigned flags;
};

static int call_parse(void *p)
{
	struct call *c = p;
	struct vals *v = c->v;
	const struct opt options[] = {
		OPT_BOOL('f', "flag", &v->flag, "a flag"),
		OPT_INT('j', "jobs", "N", &v->jobs, 1, 1024, "a number"),
		OPT_SET_INT('q', "quiet", &v->mode, 1, "mode 1"),
		OPT_SET_INT(0, "json", &v->mode, 2, "mode 2"),
		OPT_STATE(&v->state),
		OPT_DURATION(0, "grace", "DUR", &v->grace, "10s",
			     "a duration"),
		OPT_LIST(0, "only", "ID[,ID...]", &v->list, "a list"),
		OPT_CALLBACK('n', "count", "N", &v->count, parse_count,
			     "a callback"),
		OPT_END(),
	};
	return opt_parse(c->argc, c->argv, &cmd, options, c->flags);
}

struct row {
	const char *args; /* split at spaces; "x" is argv[0] */
	unsigned flags;
	int ret;
	const char *first; /* argv[optind] when ret is -1; "": none */
	const char *line;  /* first line printed, "" for none */
	bool flag;
	int jobs, mode, count;
	const char *state; /* "": not given */
	int64_t grace;
	const char *list; /* joined with spaces */
};

static const struct row rows[] = {
	{ "x a", 0, -1, "a", "", false, 0, 0, 0, "", -1, "" },
	{ "x -fj2 a", 0, -1, "a", "", true, 2, 0, 0, "", -1, "" },
	{ "x a --jobs=3 -q", 0, -1, "a", "", false, 3, 1, 0, "", -1, "" },
	{ "x --jo 4 a", 0, -1, "a", "", false, 4, 0, 0, "", -1, "" },
	{ "x --json -q a", 0, -1, "a", "", false, 0, 1, 0, "", -1, "" },
	{ "x -q --json a", 0, -1, "a", "", false, 0, 2, 0, "", -1, "" },
	{ "x --state s1 --state=s2 a", 0, -1, "a", "", false, 0, 0, 0, "s2",
	  -1, "" },
	{ "x --grace 1m30s a", 0, -1, "a", "", false, 0, 0, 0, "", 90000, "" },
	{ "x --only a,b --only c,,d, e", 0, -1, "e", "", false, 0, 0, 0, "",
	  -1, "a b c d" },
	{ "x -n7 a", 0, -1, "a", "", false, 0, 0, 7, "", -1, "" },
	{ "x -- --flag", 0, -1, "--flag", "", false, 0, 0, 0, "", -1, "" },
	{ "x", 0, -1, "", "", false, 0, 0, 0, "", -1, "" },
	/* Permuted by default; the first non-option ends them with the flag.
	 */
	{ "x a -f", 0, -1, "a", "", true, 0, 0, 0, "", -1, "" },
	{ "x a -f", OPT_STOP_AT_NON_OPTION, -1, "a", "", false, 0, 0, 0, "",
	  -1, "" },
	{ "x -f a --bogus", OPT_STOP_AT_NON_OPTION, -1, "a", "", true, 0, 0, 0,
	  "", -1, "" },
	{ "x --help", 0, 0, "", "usage: runner x ARG [--jobs N]", false, 0, 0,
	  0, "", -1, "" },
	{ "x a -h --bogus", 0, 0, "", "usage: runner x ARG [--jobs N]", false,
	  0, 0, 0, "", -1, "" },
	{ "x --jobs", 0, 2, "", "runner: option '--jobs' needs a value", false,
	  0, 0, 0, "", -1, "" },
	{ "x a -j", 0, 2, "", "runner: option '-j' needs a value", false, 0, 0,
	  0, "", -1, "" },
	{ "x --flag=1", 0, 2, "", "runner: option '--flag' takes no value",
	  false, 0, 0, 0, "", -1, "" },
	{ "x --json=1", 0, 2, "", "runner: option '--json' takes no value",
	  false, 0, 0, 0, "", -1, "" },
	{ "x --help=1", 0, 2, "", "runner: option '--help' takes no value",
	  false, 0, 0, 0, "", -1, "" },
	{ "x -fz", 0, 2, "", "runner: unknown option '-z'", true, 0, 0, 0, "",
	  -1, "" },
	{ "x --nope=3", 0, 2, "", "runner: unknown option '--nope=3'", false,
	  0, 0, 0, "", -1, "" },
	/* Ambiguous: --j(obs|son). */
	{ "x --j 3", 0, 2, "", "runner: unknown option '--j'", false, 0, 0, 0,
	  "", -1, "" },
	{ "x -j 1025", 0, 2, "",
	  "runner: --jobs wants a number from 1 to 1024, not '1025'", false, 0,
	  0, 0, "", -1, "" },
	{ "x --jobs 2x", 0, 2, "",
	  "runner: --jobs wants a number from 1 to 1024, not '2x'", false, 0,
	  0, 0, "", -1, "" },
	{ "x --grace soon", 0, 2, "",
	  "runner: --grace wants a duration like 10s, not 'soon'", false, 0, 0,
	  0, "", -1, "" },
	{ "x --count 8", 0, 2, "", "runner: bad count '8'", false, 0, 0, 0, "",
	  -1, "" },
};

static void run_row(const struct row *r)
{
	struct vals v = { .grace = -1 };
	struct strvec args = STRVEC_INIT;
	struct strbuf joined = STRBUF_INIT;
	struct call c;
	const char *p = r->args;
	char line[256];
	int ret;

	strvec_init(&v.list);
	while (*p) {
		size_t len = strcspn(p, " ");
		char *word = xstrndup(p, len);
		strvec_push(&args, word);
		free(word);
		p += len + (p[len] == ' ');
	}
	c.argc = (int)args.nr;
	c.argv = (char **)args.v;
	c.v = &v;
	c.flags = r->flags;
	ret = capture(r->ret == 0 ? 1 : 2, line, sizeof(line), call_parse, &c);
	is_int(ret, r->ret, "%s: returns %d", r->args, r->ret);
	is_str(line, r->line, "%s: what it prints", r->args);
	if (r->ret < 0)
		is_str(optind < c.argc ? c.argv[optind] : "", r->first,
		       "%s: first argument", r->args);
	is_int(v.flag, r->flag, "%s: flag", r->args);
	is_int(v.jobs, r->jobs, "%s: jobs", r->args);
	is_int(v.mode, r->mode, "%s: mode", r->args);
	is_int(v.count, r->count, "%s: count", r->args);
	is_str(v.state ? v.state : "", r->state, "%s: state", r->args);
	is_int(v.grace, r->grace, "%s: grace", r->args);
	for (size_t i = 0; i < v.list.nr; i++)
		strbuf_addf(&joined, "%s%s", i ? " " : "", v.list.v[i]);
	is_str(joined.buf, r->list, "%s: list", r->args);
	strbuf_release(&joined);
	strvec_clear(&v.list);
	strvec_clear(&args);
}

static void test_usage_wraps(void)
{
	char buf[256] = "";
	FILE *f = tmpfile();
	size_t n;

	opt_print_usage(f, "runner db status | migrate\n  [--state DIR]");
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	is_str(buf,
	       "usage: runner db status | migrate\n"
	       "                 [--state DIR]\n",
	       "a wrapped usage goes on under the first argument");
	fclose(f);
}

int main(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		run_row(&rows[i]);
	test_usage_wraps();
	return done_testing();
}
