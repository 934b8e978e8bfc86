#ifndef CMD_OPT_H
#define CMD_OPT_H

/*
 * Option parsing for every command: one table of options per command,
 * parsed by opt_parse() over getopt_long(3), and the usage printed from
 * the same table (git's parse-options, much smaller).
 *
 * A command lists its options in an array ended by OPT_END(), each with
 * its long name, its short letter (0: none), the name of its argument
 * in the help, one line of help, and where the value goes:
 *
 *	bool dry_run = false;
 *	const char *state = NULL;
 *	const struct opt options[] = {
 *		OPT_BOOL('n', "dry-run", &dry_run, "only say what would go"),
 *		OPT_STATE(&state),
 *		OPT_END(),
 *	};
 *	if ((ret = opt_parse(argc, argv, cmd, options, 0)) >= 0)
 *		return ret;
 *	... argv[optind] is the first positional argument ...
 *
 * Every command also takes -h/--help: its usage, its description and a
 * line per option on stdout. Options may come before, between and after
 * the positional arguments (GNU getopt's permutation), unless
 * OPT_STOP_AT_NON_OPTION; "--" ends the options; unique prefixes of long
 * names are accepted, as getopt_long does.
 *
 * This module is part of the command layer: like cmd-*.c, it prints
 * (usage and usage errors), but it never exits.
 */

#include <stdbool.h>
#include <stdio.h>

struct cmd_entry;

enum opt_type {
	OPT_TYPE_END,
	OPT_TYPE_BOOL,	   /* bool *: set to true */
	OPT_TYPE_SET_INT,  /* int *: set to .min */
	OPT_TYPE_STRING,   /* const char **: the argument (borrowed) */
	OPT_TYPE_INT,	   /* int *: a number from .min to .max */
	OPT_TYPE_DURATION, /* int64_t *: parse_duration_ms(), in ms */
	OPT_TYPE_LIST,	   /* struct strvec *: comma-split, repeatable */
	OPT_TYPE_CALLBACK, /* .cb checks and stores the argument */
};

struct opt {
	enum opt_type type;
	int short_name;	       /* 'j', or 0 */
	const char *long_name; /* "jobs", without the dashes */
	const char *argh;      /* "N" in "--jobs N"; NULL: takes none */
	const char *help;      /* one line, lowercase, no final period */
	void *value;
	int min, max;	     /* OPT_TYPE_INT bounds; SET_INT's value */
	const char *example; /* OPT_TYPE_DURATION: "10s" in its error */
	/*
	 * OPT_TYPE_CALLBACK's parser: 0 with the value stored through
	 * o->value, or the exit code of a usage error it printed with
	 * usage_error(usage, ...).
	 */
	int (*cb)(const struct opt *o, const char *arg, const char *usage);
};

#define OPT_END()                                                         \
	{                                                                 \
		OPT_TYPE_END, 0, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL \
	}
#define OPT_BOOL(s, l, v, h)                                              \
	{                                                                 \
		OPT_TYPE_BOOL, (s), (l), NULL, (h), (v), 0, 0, NULL, NULL \
	}
#define OPT_SET_INT(s, l, v, i, h)                                        \
	{                                                                 \
		OPT_TYPE_SET_INT, (s), (l), NULL, (h), (v), (i), 0, NULL, \
			NULL                                              \
	}
#define OPT_STRING(s, l, a, v, h)                                          \
	{                                                                  \
		OPT_TYPE_STRING, (s), (l), (a), (h), (v), 0, 0, NULL, NULL \
	}
#define OPT_INT(s, l, a, v, lo, hi, h)                                        \
	{                                                                     \
		OPT_TYPE_INT, (s), (l), (a), (h), (v), (lo), (hi), NULL, NULL \
	}
#define OPT_DURATION(s, l, a, v, ex, h)                                      \
	{                                                                    \
		OPT_TYPE_DURATION, (s), (l), (a), (h), (v), 0, 0, (ex), NULL \
	}
#define OPT_LIST(s, l, a, v, h)                                          \
	{                                                                \
		OPT_TYPE_LIST, (s), (l), (a), (h), (v), 0, 0, NULL, NULL \
	}
#define OPT_CALLBACK(s, l, a, v, cb, h)                                      \
	{                                                                    \
		OPT_TYPE_CALLBACK, (s), (l), (a), (h), (v), 0, 0, NULL, (cb) \
	}

/* --state DIR, which most commands take. */
#define OPT_STATE(v)                       \
	OPT_STRING(0, "state", "DIR", (v), \
		   "the state (default: $RUNNER_STATE, else ./.runner)")

/* opt_parse() flags. */
#define OPT_STOP_AT_NON_OPTION 1 /* the first non-option ends them */

/*
 * Parse argv[1..argc) (argv[0] is the command's name) against opts,
 * storing each option's value as its type says; the values of options
 * not given are left as the caller initialised them. getopt_long may
 * reorder argv so that the positional arguments come last.
 *
 * Returns -1 to go on, with argv[optind..argc) the positional
 * arguments (getopt's optind, as after getopt_long). Otherwise returns the
 * exit code the command ends with: RUNNER_EXIT_OK after -h/--help
 * (opt_print_help() on stdout), or RUNNER_EXIT_USAGE after a usage error,
 * printed on stderr with usage_error(): an unknown option ("unknown option
 * '--bogus'"), a missing value ("option '-o' needs a value"), a value given to
 * a flag
 * ("option '--dry-run' takes no value"), or a bad value ("--jobs wants a
 * number from 1 to 1024, not '0'"). A list option's values stay in its
 * strvec on error too: the caller clears it. Not thread-safe (getopt).
 */
int opt_parse(int argc, char **argv, const struct cmd_entry *cmd,
	      const struct opt *opts, unsigned flags);

/*
 * A command's full help on f: its usage (opt_print_usage()), its
 * description, a line per option ("  -j, --jobs N   help") and -h.
 * "runner help CMD" and "CMD --help" print this; tools/gen-man.sh reads
 * it back to write the man page, so the layout is fixed: a blank line
 * between parts, the options under "options:", two spaces before each.
 */
void opt_print_help(FILE *f, const struct cmd_entry *cmd,
		    const struct opt *opts);

/*
 * "usage: runner exec PLAN ..." on f. A usage string may hold newlines
 * where a long synopsis wraps: the lines after the first are indented
 * under the first one's arguments.
 */
void opt_print_usage(FILE *f, const char *usage);

#endif
