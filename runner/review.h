#ifndef REVIEW_H
#define REVIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"
#include "strvec.h"

struct cJSON;
struct store;

/*
 * The morning review of a run (`runner review`, the report's review
 * section, `runner apply --all`): for every task, in plan order, what a
 * reviewer decides on, loaded from the database (status, reason, cost)
 * and the results folder (result.json's agent outcome, changes.json,
 * changes.patch, output.log), plus the flags below and the files that
 * two tasks both changed.
 *
 * Everything read from the results folder came from a sandbox and is
 * hostile: names are kept exactly as stored (quote_json_get_name), text
 * as it is; whoever shows them quotes (quote.h) or escapes (report.h).
 *
 * The flags (README "Reviewing a run" says the same):
 *
 * REVIEW_FLAG_LARGE_DELETION: the task deleted REVIEW_LARGE_FILES files
 *   or more, or its patch removes REVIEW_LARGE_LINES lines or more than
 *   it adds (net, deleted files' lines included).
 * REVIEW_FLAG_OUTSIDE: the task changed a file outside its usual area.
 *   A file's area is its top-level directory ("src" for src/a/b.c; files
 *   at the top are in the area "."). The task's usual area is every area
 *   in which the same task id of the same plan changed files in its last
 *   REVIEW_HISTORY earlier runs that did (whose changes.json still
 *   exists). Without such a run there is no usual area and no flag.
 * REVIEW_FLAG_REFUSED: a file the task changed was refused, not pulled
 *   back: a special file, a link leaving the workspace, over pull_limit,
 *   unreadable, or holding a secret (not: left out by pull: patterns).
 * REVIEW_FLAG_SECRET: one of them was refused because it, its name or
 *   its link target holds the value of a secret.
 * REVIEW_FLAG_NO_TESTS: the task changed files and ran no tests. It ran
 *   tests when its run: line, or for a Claude agent one of the Bash
 *   commands in its stream (output.log), runs a test command
 *   (review_runs_tests()).
 * REVIEW_FLAG_CONFLICT: another task of the run changed one of the same
 *   files (and not in the same way).
 */
enum review_flag {
	REVIEW_FLAG_LARGE_DELETION = 1 << 0,
	REVIEW_FLAG_OUTSIDE = 1 << 1,
	REVIEW_FLAG_REFUSED = 1 << 2,
	REVIEW_FLAG_SECRET = 1 << 3,
	REVIEW_FLAG_NO_TESTS = 1 << 4,
	REVIEW_FLAG_CONFLICT = 1 << 5,
};
#define REVIEW_NR_FLAGS 6
#define REVIEW_LARGE_FILES 5
#define REVIEW_LARGE_LINES 200
#define REVIEW_HISTORY 5
/* Lines of one file's diff kept for showing; the rest only counted. */
#define REVIEW_DIFF_LINES 400

/* A flag's name ("large-deletion", ...) for bit flag. */
const char *review_flag_name(unsigned flag);

/*
 * Whether the shell command line cmd runs tests; *what gets the word
 * that says so (points into a new string the caller frees, or NULL).
 * A test command is a word among pytest ctest prove tox nox jest vitest
 * mocha rspec phpunit unittest, "test", "tests" or "check" right after
 * make, ninja, go, cargo, npm, yarn, pnpm, mvn, gradle, dotnet, mix or
 * "npm run", or a word naming a script whose base name starts with
 * "test" or "run-tests" (./test.sh, tests/run-tests.sh; not the shell's
 * own "test" builtin, which is a bare word).
 */
bool review_runs_tests(const char *cmd, char **what);

/* An old-file line range of one hunk: [start, start + len). */
struct review_hunk {
	long start, len;
};

struct review_file {
	char kind;  /* 'A', 'M', 'D' */
	char *path; /* exact */
	char *type; /* "file", "symlink", "directory" */
	bool pulled, refused, secret, outside, binary;
	char *note;		/* why not pulled back, or NULL */
	char *patch_note;	/* the patch's comment on it, or NULL */
	char base[65], sha[65]; /* hex, "" when unknown */
	long long size;
	long ins, del;		   /* lines, from the patch */
	bool in_patch;		   /* the patch has a section for it */
	struct strbuf diff;	   /* its section, REVIEW_DIFF_LINES at most */
	long diff_cut;		   /* lines of it not kept */
	struct review_hunk *hunks; /* in patch order */
	size_t nr_hunks, alloc_hunks;
};

struct review_task {
	char *id, *status, *reason;
	double cost_usd;
	char *cost_source; /* result.json's, or NULL */
	bool has_tokens;
	long long tok_in, tok_out, tok_cache_read, tok_cache_write;
	char *summary;		   /* the agent's final text, or NULL */
	char *model;		   /* the agent's model, or NULL */
	bool has_changes;	   /* changes.json was read */
	struct review_file *files; /* sorted by path */
	size_t nr_files, alloc_files;
	size_t nr_added, nr_modified, nr_deleted, nr_refused;
	long ins, del;
	unsigned flags;
	char *tests;	     /* the command word that ran tests, or NULL */
	struct strvec area;  /* the usual area; empty: no history */
	size_t area_runs;    /* earlier runs it comes from */
	struct strvec notes; /* what could not be read, as text */
};

/*
 * Two tasks that changed the same file: a < b (task indexes). overlap:
 * their changes to it collide (hunks that share an old line, counting
 * diff's context; an add, a delete, a file without a diff on either
 * side, or different starting versions: overlap, as nothing says they
 * do not). same: both left the same content (or both deleted it), which
 * is no conflict at all.
 */
struct review_conflict {
	size_t a, b;
	char *path;
	bool overlap, same;
	char *why; /* one line, e.g. "hunks overlap at lines 3-9" */
};

struct review {
	char *run_id, *plan_name, *status;
	struct review_task *tasks; /* plan order */
	size_t nr_tasks, alloc_tasks;
	struct review_conflict *conflicts; /* by (a, b, path) */
	size_t nr_conflicts, alloc_conflicts;
};

/*
 * Load run run_id (a full id) from st and its results folder under
 * store_dir(st). Reads only. 0, or -1 with err (unknown run, SQLite);
 * a results file that is missing or damaged is no error: the task's
 * notes say so. Release with review_release() either way.
 */
int review_load(struct store *st, const char *run_id, struct review *r,
		struct strbuf *err);
void review_release(struct review *r);

/*
 * Whether tasks a and b changed a file in common other than in the same
 * way; with overlap_only, only files whose changes overlap.
 */
bool review_conflicting(const struct review *r, size_t a, size_t b,
			bool overlap_only);

/*
 * The review as one new JSON object (`runner review --json`, README
 * "Reviewing a run"): names as quote_json_add_name() stores them, text
 * quote_utf8_fix()ed; with diffs, each file's kept diff.
 */
struct cJSON *review_json(const struct review *r, bool diffs);

#endif
