#include "runner.h"
#include "cmd.h"
#include "fs.h"
#include "cmd-opt.h"
#include "patch.h"
#include "quote.h"
#include "report.h"
#include "runref.h"
#include "store.h"
#include "store-agent.h"
#include "agent-outcome.h"
#include "run.h"
#include "store-runs.h"
#include "timeutil.h"

#include <cJSON.h>

/*
 * A column as it may be printed: reasons, warnings and sandbox ids carry
 * what sandboxes and remote APIs said, so their control characters are
 * escaped (quote.h); NULL prints as nothing. Each call returns the next
 * of a few rotating buffers, enough for one printf.
 */
static const char *safe(const char *t)
{
	static struct strbuf bufs[8];
	static size_t next;
	struct strbuf *sb = &bufs[next++ % ARRAY_SIZE(bufs)];

	if (!t)
		t = "";
	if (!sb->buf)
		strbuf_init(sb, 0);
	strbuf_reset(sb);
	quote_text(sb, t, strlen(t), 0);
	return sb->buf;
}

static void print_ms(bool has_start, int64_t start, bool has_end, int64_t end,
		     char *buf, size_t n)
{
	if (!has_start || !has_end)
		snprintf(buf, n, "-");
	else
		time_format_elapsed(end - start, buf, n);
}

static int print_task_row(const struct store_task *t, void *data)
{
	char changes[48], exitc[16], dur[32];

	(void)data;
	print_ms(t->has_start, t->started_at, t->has_end, t->ended_at, dur,
		 sizeof(dur));
	snprintf(changes, sizeof(changes), "+%d ~%d -%d", (int)t->files_added,
		 (int)t->files_modified, (int)t->files_deleted);
	if (!t->has_exit)
		snprintf(exitc, sizeof(exitc), "-");
	else
		snprintf(exitc, sizeof(exitc), "%d", t->exit_code);
	printf("%-24s %-10s %-8d %-8s %-4s %-14s %s\n", safe(t->id),
	       safe(t->status), t->attempts, dur, exitc, changes,
	       safe(t->reason));
	return 0;
}

/*
 * What the network proxy refused (network_blocked events): of the task,
 * or with task NULL of every task of the run, prefixed by its id.
 */
struct blocked {
	const char *task;
	int rows;
};

static int print_blocked_row(const char *task_id, const char *message,
			     void *data)
{
	struct blocked *b = data;
	const char *head = b->rows++ ? "        " : "network:";

	if (b->task)
		printf("%s  %s\n", head, safe(message));
	else
		printf("%s%s  %s: %s\n", b->rows == 1 ? "\n" : "", head,
		       safe(task_id), safe(message));
	return 0;
}

static int print_blocked(struct store *st, const char *id, const char *task,
			 struct strbuf *err)
{
	struct blocked b = { task, 0 };

	return store_runs_blocked(st, id, task, print_blocked_row, &b, err);
}

static int show_run(struct store *st, const char *id)
{
	struct store_run r;
	struct strbuf err = STRBUF_INIT;
	char when[40], dur[32];
	int ret = RUNNER_EXIT_RUNTIME, rc;

	rc = store_runs_get(st, id, &r, &err);
	if (rc == 0)
		strbuf_addstr(&err, "no such run");
	if (rc != 1)
		goto sqlfail;
	time_human_utc(r.started_at, when, sizeof(when));
	print_ms(true, r.started_at, r.has_end, r.ended_at, dur, sizeof(dur));
	printf("run:      %s\nplan:     %s (%s)\nstatus:   %s\n"
	       "backend:  %s\nstarted:  %s on %s (pid %d)\nduration: %s\n"
	       "results:  %s/runs/%s\n\n",
	       id, safe(r.plan_name), safe(r.plan_path), safe(r.status),
	       safe(r.backend), when, safe(r.host), (int)r.pid, dur,
	       store_dir(st), id);
	printf("%-24s %-10s %-8s %-8s %-4s %-14s %s\n", "TASK", "STATUS",
	       "ATTEMPTS", "DURATION", "EXIT", "CHANGES", "REASON");
	if (store_runs_tasks(st, id, print_task_row, NULL, &err) < 0 ||
	    print_blocked(st, id, NULL, &err) < 0)
		goto sqlfail;
	ret = RUNNER_EXIT_OK;
	goto out;
sqlfail:
	error("cannot read run '%s': %s", id, err.buf);
out:
	store_run_release(&r);
	strbuf_release(&err);
	return ret;
}

/* The commit the workspace was at, which apply --branch builds on. */
static void print_git(const cJSON *git)
{
	const cJSON *commit = cJSON_GetObjectItem(git, "commit");
	struct strbuf sb = STRBUF_INIT;

	if (!cJSON_IsString(commit))
		return;
	quote_text(&sb, commit->valuestring, strlen(commit->valuestring), 0);
	printf("git:      %s%s\n", sb.buf,
	       cJSON_IsTrue(cJSON_GetObjectItem(git, "dirty"))
		       ? " (the workspace had uncommitted changes)"
		       : "");
	strbuf_release(&sb);
}

static void print_changes(const char *dir)
{
	char *path = fs_join(dir, "changes.json");
	struct strbuf text;
	cJSON *root;
	static const char *const kinds[] = { "added", "modified", "deleted" };
	static const char marks[] = { 'A', 'M', 'D' };

	strbuf_init_capped(&text, 256 << 20);
	if (strbuf_read_file(&text, path) < 0 ||
	    !(root = cJSON_Parse(text.buf))) {
		printf("changes:  (none recorded)\n");
		goto out;
	}
	print_git(cJSON_GetObjectItem(root, "git"));
	printf("changes:\n");
	for (int k = 0; k < 3; k++) {
		const cJSON *arr = cJSON_GetObjectItem(root, kinds[k]), *e;
		cJSON_ArrayForEach(e, arr)
		{
			const cJSON *note = cJSON_GetObjectItem(e, "note");
			bool unsafe = cJSON_IsTrue(
				cJSON_GetObjectItem(e, "patch_unsafe_name"));
			struct strbuf name = STRBUF_INIT, line = STRBUF_INIT;

			/* Names are printed quoted, as git prints paths. */
			if (quote_json_get_name(e, "path", &name) < 0)
				strbuf_addstr(&line, "?");
			else
				quote_path(&line, name.buf);
			if (cJSON_IsString(note)) {
				strbuf_addstr(&line, "  -- ");
				quote_text(&line, note->valuestring,
					   strlen(note->valuestring), 0);
			}
			if (unsafe)
				strbuf_addstr(&line, "  -- " PATCH_LEFT_OUT);
			printf("  %c %s\n", marks[k], line.buf);
			strbuf_release(&name);
			strbuf_release(&line);
		}
	}
	cJSON_Delete(root);
out:
	strbuf_release(&text);
	free(path);
}

struct usage_walk {
	const char *task;
	int rows;
};

/* Each measured attempt's peak memory and CPU time (from its cgroup). */
static int print_usage(const struct store_attempt *a, void *data)
{
	struct usage_walk *w = data;
	char use[64];

	if (!a->has_usage || !a->task_id || strcmp(a->task_id, w->task))
		return 0;
	report_format_usage(a->memory_peak, a->cpu_ms, use, sizeof(use));
	printf("%s  attempt %d: %s\n",
	       w->rows++ ? "        " : "usage:  ", a->n, use);
	return 0;
}

/* What the agent said about the task's last attempt, if it is one. */
static void show_agent(struct store *st, const char *id, const char *task)
{
	struct store_agent_row row;
	struct strbuf sb = STRBUF_INIT, err = STRBUF_INIT;
	char *q;

	if (store_agent_get(st, id, task, &row, &err) <= 0) {
		if (err.len)
			warning("%s", err.buf);
		strbuf_release(&err);
		return;
	}
	strbuf_addf(&sb, "%s: ", row.agent->format);
	attempt_agent_summary(row.agent, &sb);
	q = quote_text_dup(sb.buf);
	printf("agent:    %s\n", q);
	free(q);
	if (row.agent->error) {
		q = quote_text_dup(row.agent->error);
		printf("agent error: %s\n", q);
		free(q);
	}
	printf("cost by:  %s ($%.4f, attempt %d)\n",
	       row.cost_source ? row.cost_source : "none", row.cost_usd,
	       row.attempt);
	if (row.agent->final_text) {
		q = quote_text_dup(row.agent->final_text);
		printf("final:    %.500s%s\n", q,
		       strlen(q) > 500 ? "..." : "");
		free(q);
	}
	store_agent_row_release(&row);
	strbuf_release(&sb);
}

static int print_warning(const char *task_id, const char *message, void *data)
{
	int *rows = data;

	(void)task_id;
	printf("%s  %s\n",
	       (*rows)++ ? "        " : "warnings:", safe(message));
	return 0;
}

static int show_task(struct store *st, const char *id, const char *task)
{
	struct store_task t;
	struct strbuf err = STRBUF_INIT;
	char when[40], dur[32];
	char *dir = NULL;
	struct usage_walk uw = { task, 0 };
	int ret = RUNNER_EXIT_RUNTIME, rows = 0, rc;

	rc = store_runs_task(st, id, task, &t, &err);
	if (rc < 0)
		goto sqlfail;
	if (!rc) {
		error("run %s has no task '%s'; 'runner show %s' lists them",
		      id, task, id);
		goto out;
	}
	dir = xstrfmt("%s/runs/%s/tasks/%s", store_dir(st), id, task);
	print_ms(t.has_start, t.started_at, t.has_end, t.ended_at, dur,
		 sizeof(dur));
	if (!t.has_start)
		snprintf(when, sizeof(when), "-");
	else
		time_human_utc(t.started_at, when, sizeof(when));
	printf("task:     %s\nrun:      %s\nstatus:   %s%s%s\n", task, id,
	       safe(t.status), t.reason && *t.reason ? " -- " : "",
	       safe(t.reason));
	if (t.has_exit)
		printf("exit:     %d\n", t.exit_code);
	printf("attempts: %d\nstarted:  %s\nduration: %s\nsandbox:  %s\n"
	       "pulled:   %lld bytes\ncost:     $%.4f\nresults:  %s\n",
	       t.attempts, when, dur,
	       t.sandbox_id && *t.sandbox_id ? safe(t.sandbox_id) : "-",
	       (long long)t.bytes_pulled, t.cost_usd, dir);
	if (store_runs_attempts(st, id, print_usage, &uw, &err) < 0)
		goto sqlfail;
	show_agent(st, id, task);
	if (store_runs_warnings(st, id, task, print_warning, &rows, &err) <
		    0 ||
	    print_blocked(st, id, task, &err) < 0)
		goto sqlfail;
	print_changes(dir);
	ret = RUNNER_EXIT_OK;
	goto out;
sqlfail:
	error("cannot read run '%s': %s", id, err.buf);
out:
	store_task_release(&t);
	strbuf_release(&err);
	free(dir);
	return ret;
}

int cmd_show(int argc, char **argv, const struct cmd_entry *cmd)
{
	const char *state = NULL;
	struct store *st = NULL;
	struct strbuf err = STRBUF_INIT;
	char *id = NULL;
	int ret;
	const char *usage = cmd->usage;
	const struct opt options[] = {
		OPT_STATE(&state),
		OPT_END(),
	};

	if ((ret = opt_parse(argc, argv, cmd, options, 0)) >= 0)
		return ret;
	if (argc - optind < 1 || argc - optind > 2)
		return usage_error(usage,
				   "show takes RUN and optionally TASK");
	if ((ret = cmd_open_state_read(state, &st)))
		return ret;
	if (runref_resolve(st, argv[optind], &id, &err) < 0) {
		error("%s", err.buf);
		ret = RUNNER_EXIT_RUNTIME;
	} else if (argc - optind == 2) {
		ret = show_task(st, id, argv[optind + 1]);
	} else {
		ret = show_run(st, id);
	}
	free(id);
	strbuf_release(&err);
	store_close(st);
	return ret;
}
