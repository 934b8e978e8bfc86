#include "runner.h"
#include "cmd.h"
#include "fs.h"
#include "cmd-opt.h"
#include "patch.h"
#include "quote.h"
#include "runref.h"
#include "store.h"
#include "timeutil.h"

#include <cJSON.h>

static const char *col(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? (const char *)t : "";
}

/*
 * A column as it may be printed: reasons, warnings and sandbox ids carry
 * what sandboxes and remote APIs said, so their control characters are
 * escaped (quote.h). Each call returns the next of a few rotating
 * buffers, enough for one printf.
 */
static const char *safe(sqlite3_stmt *s, int i)
{
	static struct strbuf bufs[8];
	static size_t next;
	struct strbuf *sb = &bufs[next++ % ARRAY_SIZE(bufs)];
	const char *t = col(s, i);

	if (!sb->buf)
		strbuf_init(sb, 0);
	strbuf_reset(sb);
	quote_text(sb, t, strlen(t), 0);
	return sb->buf;
}

static void print_ms_col(sqlite3_stmt *s, int start, int end, char *buf,
			 size_t n)
{
	if (sqlite3_column_type(s, start) == SQLITE_NULL ||
	    sqlite3_column_type(s, end) == SQLITE_NULL)
		snprintf(buf, n, "-");
	else
		time_format_elapsed(sqlite3_column_int64(s, end) -
					    sqlite3_column_int64(s, start),
				    buf, n);
}

/*
 * What the network proxy refused (network_blocked events): of the task,
 * or with task NULL of every task of the run, prefixed by its id.
 */
static int print_blocked(sqlite3 *db, const char *id, const char *task)
{
	sqlite3_stmt *s = NULL;
	int rows = 0;

	if (sqlite3_prepare_v2(db,
			       "SELECT task_id, message FROM events"
			       " WHERE run_id = ?1 AND kind = 'network_blocked'"
			       " AND (?2 IS NULL OR task_id = ?2) ORDER BY id",
			       -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	if (task)
		sqlite3_bind_text(s, 2, task, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *head = rows++ ? "        " : "network:";

		if (task)
			printf("%s  %s\n", head, safe(s, 1));
		else
			printf("%s%s  %s: %s\n", rows == 1 ? "\n" : "", head,
			       safe(s, 0), safe(s, 1));
	}
	sqlite3_finalize(s);
	return 0;
}

static int show_run(struct store *st, const char *id)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	char when[40], dur[32];
	int ret = RUNNER_EXIT_RUNTIME;

	if (sqlite3_prepare_v2(db,
			       "SELECT plan_name, plan_path, status, backend,"
			       " started_at, ended_at, host, pid, exit_code"
			       " FROM runs WHERE id = ?1",
			       -1, &s, NULL) != SQLITE_OK)
		goto sqlfail;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) != SQLITE_ROW)
		goto sqlfail;
	time_human_utc(sqlite3_column_int64(s, 4), when, sizeof(when));
	print_ms_col(s, 4, 5, dur, sizeof(dur));
	printf("run:      %s\nplan:     %s (%s)\nstatus:   %s\n"
	       "backend:  %s\nstarted:  %s on %s (pid %d)\nduration: %s\n"
	       "results:  %s/runs/%s\n\n",
	       id, safe(s, 0), safe(s, 1), safe(s, 2), safe(s, 3), when,
	       safe(s, 6), sqlite3_column_int(s, 7), dur, store_dir(st), id);
	sqlite3_finalize(s);
	s = NULL;
	if (sqlite3_prepare_v2(db,
			       "SELECT id, status, attempts, started_at,"
			       " ended_at, exit_code, files_added,"
			       " files_modified, files_deleted, reason"
			       " FROM tasks WHERE run_id = ?1 ORDER BY seq",
			       -1, &s, NULL) != SQLITE_OK)
		goto sqlfail;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	printf("%-24s %-10s %-8s %-8s %-4s %-14s %s\n", "TASK", "STATUS",
	       "ATTEMPTS", "DURATION", "EXIT", "CHANGES", "REASON");
	while (sqlite3_step(s) == SQLITE_ROW) {
		char changes[48], exitc[16];
		print_ms_col(s, 3, 4, dur, sizeof(dur));
		snprintf(changes, sizeof(changes), "+%d ~%d -%d",
			 sqlite3_column_int(s, 6), sqlite3_column_int(s, 7),
			 sqlite3_column_int(s, 8));
		if (sqlite3_column_type(s, 5) == SQLITE_NULL)
			snprintf(exitc, sizeof(exitc), "-");
		else
			snprintf(exitc, sizeof(exitc), "%d",
				 sqlite3_column_int(s, 5));
		printf("%-24s %-10s %-8d %-8s %-4s %-14s %s\n", safe(s, 0),
		       safe(s, 1), sqlite3_column_int(s, 2), dur, exitc,
		       changes, safe(s, 9));
	}
	sqlite3_finalize(s);
	s = NULL;
	if (print_blocked(db, id, NULL) < 0)
		goto sqlfail;
	ret = RUNNER_EXIT_OK;
	goto out;
sqlfail:
	error("cannot read run '%s': %s", id, sqlite3_errmsg(db));
out:
	sqlite3_finalize(s);
	return ret;
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

static int show_task(struct store *st, const char *id, const char *task)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	char when[40], dur[32];
	char *dir = NULL;
	int ret = RUNNER_EXIT_RUNTIME, rows = 0;

	if (sqlite3_prepare_v2(db,
			       "SELECT status, attempts, started_at, ended_at,"
			       " exit_code, sandbox_id, reason, bytes_pulled,"
			       " cost_usd FROM tasks WHERE run_id = ?1 AND"
			       " id = ?2",
			       -1, &s, NULL) != SQLITE_OK)
		goto sqlfail;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, task, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) != SQLITE_ROW) {
		error("run %s has no task '%s'; 'runner show %s' lists them",
		      id, task, id);
		goto out;
	}
	dir = xstrfmt("%s/runs/%s/tasks/%s", store_dir(st), id, task);
	print_ms_col(s, 2, 3, dur, sizeof(dur));
	if (sqlite3_column_type(s, 2) == SQLITE_NULL)
		snprintf(when, sizeof(when), "-");
	else
		time_human_utc(sqlite3_column_int64(s, 2), when, sizeof(when));
	printf("task:     %s\nrun:      %s\nstatus:   %s%s%s\n", task, id,
	       safe(s, 0), *col(s, 6) ? " -- " : "", safe(s, 6));
	if (sqlite3_column_type(s, 4) != SQLITE_NULL)
		printf("exit:     %d\n", sqlite3_column_int(s, 4));
	printf("attempts: %d\nstarted:  %s\nduration: %s\nsandbox:  %s\n"
	       "pulled:   %lld bytes\ncost:     $%.4f\nresults:  %s\n",
	       sqlite3_column_int(s, 1), when, dur,
	       *col(s, 5) ? safe(s, 5) : "-",
	       (long long)sqlite3_column_int64(s, 7),
	       sqlite3_column_double(s, 8), dir);
	sqlite3_finalize(s);
	s = NULL;
	if (sqlite3_prepare_v2(db,
			       "SELECT message FROM events WHERE run_id = ?1"
			       " AND task_id = ?2 AND kind = 'warning'"
			       " ORDER BY id",
			       -1, &s, NULL) != SQLITE_OK)
		goto sqlfail;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 2, task, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(s) == SQLITE_ROW)
		printf("%s  %s\n",
		       rows++ ? "        " : "warnings:", safe(s, 0));
	sqlite3_finalize(s);
	s = NULL;
	if (print_blocked(db, id, task) < 0)
		goto sqlfail;
	print_changes(dir);
	ret = RUNNER_EXIT_OK;
	goto out;
sqlfail:
	error("cannot read run '%s': %s", id, sqlite3_errmsg(db));
out:
	sqlite3_finalize(s);
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
