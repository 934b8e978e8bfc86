#include "runner.h"
#include "cmd-opt.h"
#include "cmd.h"
#include "plan.h"

#include <getopt.h>

/* getopt_long's value of a long-only option: past every char. */
#define OPT_LONG_ONLY 256

/* The column the help of each option starts at, at most. */
#define HELP_COLUMN 28

static size_t opt_count(const struct opt *opts)
{
	size_t n = 0;
	while (opts[n].type != OPT_TYPE_END)
		n++;
	return n;
}

static const struct opt *opt_find(const struct opt *opts, size_t n, int val)
{
	if (val >= OPT_LONG_ONLY && (size_t)(val - OPT_LONG_ONLY) < n)
		return &opts[val - OPT_LONG_ONLY];
	for (size_t i = 0; i < n; i++)
		if (opts[i].short_name && opts[i].short_name == val)
			return &opts[i];
	return NULL;
}

/* "-o" or "--output", as the user wrote it in arg. */
static void opt_name(struct strbuf *sb, const struct opt *o, const char *arg)
{
	if (o->short_name && !(arg && !strncmp(arg, "--", 2)))
		strbuf_addf(sb, "-%c", o->short_name);
	else
		strbuf_addf(sb, "--%s", o->long_name);
}

static int parse_int(const struct opt *o, const char *arg, const char *usage)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (*arg && !errno && !*end && v >= o->min && v <= o->max) {
		*(int *)o->value = (int)v;
		return 0;
	}
	if (o->max < INT_MAX)
		return usage_error(usage,
				   "--%s wants a number from %d to %d, not "
				   "'%s'",
				   o->long_name, o->min, o->max, arg);
	if (o->min == 1)
		return usage_error(usage,
				   "--%s wants a positive number, not '%s'",
				   o->long_name, arg);
	return usage_error(usage, "--%s wants a number from %d up, not '%s'",
			   o->long_name, o->min, arg);
}

/* "--only a,b" and "--only a --only b" both add a and b. */
static void add_list(struct strvec *list, const char *arg)
{
	const char *p = arg, *comma;

	do {
		comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len) {
			char *item = xstrndup(p, len);
			strvec_push(list, item);
			free(item);
		}
		p = comma + 1;
	} while (comma);
}

/* 0, or the exit code of the usage error it printed. */
static int opt_store(const struct opt *o, const char *arg, const char *usage)
{
	switch (o->type) {
	case OPT_TYPE_BOOL:
		*(bool *)o->value = true;
		return 0;
	case OPT_TYPE_SET_INT:
		*(int *)o->value = o->min;
		return 0;
	case OPT_TYPE_STRING:
		*(const char **)o->value = arg;
		return 0;
	case OPT_TYPE_INT:
		return parse_int(o, arg, usage);
	case OPT_TYPE_DURATION:
		if (parse_duration_ms(arg, o->value) < 0)
			return usage_error(usage,
					   "--%s wants a duration like %s, "
					   "not '%s'",
					   o->long_name,
					   o->example ? o->example : "10s",
					   arg);
		return 0;
	case OPT_TYPE_LIST:
		add_list(o->value, arg);
		return 0;
	case OPT_TYPE_CALLBACK:
		return o->cb(o, arg, usage);
	case OPT_TYPE_END:
		break;
	}
	BUG("option --%s has no type", o->long_name);
}

int opt_parse(int argc, char **argv, const struct cmd_entry *cmd,
	      const struct opt *opts, unsigned flags)
{
	struct strbuf shorts = STRBUF_INIT, name = STRBUF_INIT;
	size_t n = opt_count(opts);
	struct option *longopts = xcalloc(n + 2, sizeof(*longopts));
	int c, ret = -1;

	/*
	 * ":" first: a missing value is told apart from an unknown option
	 * (':' and '?'); opterr = 0: the messages are ours.
	 */
	strbuf_addstr(&shorts, flags & OPT_STOP_AT_NON_OPTION ? "+:" : ":");
	for (size_t i = 0; i < n; i++) {
		const struct opt *o = &opts[i];
		if (!o->long_name || !strcmp(o->long_name, "help") ||
		    o->short_name == 'h' || o->short_name >= OPT_LONG_ONLY)
			BUG("%s: bad option %zu", cmd->name, i);
		longopts[i].name = o->long_name;
		longopts[i].has_arg = o->argh ? required_argument
					      : no_argument;
		longopts[i].val = o->short_name ? o->short_name
						: OPT_LONG_ONLY + (int)i;
		if (o->short_name) {
			strbuf_addch(&shorts, (char)o->short_name);
			if (o->argh)
				strbuf_addch(&shorts, ':');
		}
	}
	longopts[n].name = "help";
	longopts[n].val = 'h';
	strbuf_addch(&shorts, 'h');

	optind = 0; /* glibc and musl: start afresh */
	opterr = 0;
	while (ret < 0 && (c = getopt_long(argc, argv, shorts.buf, longopts,
					   NULL)) != -1) {
		/* The element just read; getopt has moved past it. */
		const char *arg = optind > 0 ? argv[optind - 1] : "";
		const struct opt *o;

		strbuf_reset(&name);
		if (c == 'h') {
			opt_print_help(stdout, cmd, opts);
			ret = RUNNER_EXIT_OK;
		} else if (c == ':') {
			o = opt_find(opts, n, optopt);
			if (!o)
				BUG("%s: no option %d", cmd->name, optopt);
			opt_name(&name, o, arg);
			ret = usage_error(cmd->usage,
					  "option '%s' needs a value",
					  name.buf);
		} else if (c == '?') {
			/* A flag given a value, or an unknown option. */
			o = optopt ? opt_find(opts, n, optopt) : NULL;
			if (o || optopt == 'h') {
				ret = usage_error(cmd->usage,
						  "option '--%s' takes no "
						  "value",
						  o ? o->long_name : "help");
			} else if (optopt) {
				ret = usage_error(cmd->usage,
						  "unknown option '-%c'",
						  optopt);
			} else {
				ret = usage_error(cmd->usage,
						  "unknown option '%s'", arg);
			}
		} else {
			o = opt_find(opts, n, c);
			if (!o)
				BUG("%s: getopt gave %d", cmd->name, c);
			ret = opt_store(o, optarg, cmd->usage);
			if (!ret)
				ret = -1;
		}
	}
	free(longopts);
	strbuf_release(&shorts);
	strbuf_release(&name);
	return ret;
}

void opt_print_usage(FILE *f, const char *usage)
{
	const char *nl = strchr(usage, '\n');
	const char *p = usage;
	int indent;

	/* Under the first argument: past "runner NAME ". */
	for (int spaces = 0; *p && (spaces < 2 || *p == ' '); p++)
		spaces += *p == ' ';
	indent = (int)strlen("usage: ") + (int)(p - usage);
	fprintf(f, "usage: %.*s\n",
		nl ? (int)(nl - usage) : (int)strlen(usage), usage);
	while (nl) {
		const char *line = nl + 1;
		while (*line == ' ' || *line == '\t')
			line++;
		nl = strchr(line, '\n');
		fprintf(f, "%*s%.*s\n", indent, "",
			nl ? (int)(nl - line) : (int)strlen(line), line);
	}
}

/* "  -j, --jobs N" or "      --backend local|e2b". */
static void opt_left(struct strbuf *sb, int short_name, const char *long_name,
		     const char *argh)
{
	if (short_name)
		strbuf_addf(sb, "  -%c, ", short_name);
	else
		strbuf_addstr(sb, "      ");
	strbuf_addf(sb, "--%s", long_name);
	if (argh)
		strbuf_addf(sb, " %s", argh);
}

void opt_print_help(FILE *f, const struct cmd_entry *cmd,
		    const struct opt *opts)
{
	struct strbuf left = STRBUF_INIT;
	size_t n = opt_count(opts), width = 0;

	/* One column for the help lines: the widest left part, capped. */
	for (size_t i = 0; i <= n; i++) {
		strbuf_reset(&left);
		if (i < n)
			opt_left(&left, opts[i].short_name, opts[i].long_name,
				 opts[i].argh);
		else
			opt_left(&left, 'h', "help", NULL);
		if (left.len + 2 > width && left.len + 2 <= HELP_COLUMN)
			width = left.len + 2;
	}
	opt_print_usage(f, cmd->usage);
	if (cmd->help)
		fprintf(f, "\n%s\n", cmd->help);
	fprintf(f, "\noptions:\n");
	for (size_t i = 0; i <= n; i++) {
		const char *help = i < n ? opts[i].help : "print this help";
		strbuf_reset(&left);
		if (i < n)
			opt_left(&left, opts[i].short_name, opts[i].long_name,
				 opts[i].argh);
		else
			opt_left(&left, 'h', "help", NULL);
		fprintf(f, "%-*s%s%s\n", (int)width, left.buf,
			left.len + 2 > width ? "  " : "", help);
	}
	strbuf_release(&left);
}
