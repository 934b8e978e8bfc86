#include "runner.h"
#include "cmd.h"
#include "cmd-opt.h"
#include "store.h"
#include "store-migrate.h"
#include "timeutil.h"

struct db_opts {
	const char *usage;
	const char *state;
	const char *sub;
	int to;	   /* -1: not given */
	int steps; /* -1: not given */
};

/* A schema version or a count: digits only. */
static int parse_count(const char *s, int *out)
{
	char *end;
	long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

static int opt_to(const struct opt *o, const char *arg, const char *usage)
{
	if (parse_count(arg, o->value) < 0)
		return usage_error(usage,
				   "--to needs a schema version (0, 1, ...), "
				   "not '%s'",
				   arg);
	return 0;
}

static int opt_steps(const struct opt *o, const char *arg, const char *usage)
{
	if (parse_count(arg, o->value) < 0 || *(int *)o->value < 1)
		return usage_error(usage,
				   "--steps needs a positive number, not '%s'",
				   arg);
	return 0;
}

static int parse_args(int argc, char **argv, const struct cmd_entry *cmd,
		      struct db_opts *o)
{
	const char *db_usage = cmd->usage;
	const struct opt options[] = {
		OPT_CALLBACK(0, "to", "V", &o->to, opt_to,
			     "migrate or roll back to schema version V"),
		OPT_CALLBACK(0, "steps", "N", &o->steps, opt_steps,
			     "roll back N migrations (default 1)"),
		OPT_STATE(&o->state),
		OPT_END(),
	};
	int ret;

	o->usage = cmd->usage;
	o->to = o->steps = -1;
	if ((ret = opt_parse(argc, argv, cmd, options, 0)) >= 0)
		return ret;
	if (o->state && !*o->state)
		return usage_error(db_usage, "--state needs a directory");
	if (optind < argc)
		o->sub = argv[optind];
	if (argc - optind > 1)
		return usage_error(db_usage, "unexpected argument '%s'",
				   argv[optind + 1]);
	if (!o->sub)
		return usage_error(db_usage, "missing subcommand");
	if (strcmp(o->sub, "status") && strcmp(o->sub, "migrate") &&
	    strcmp(o->sub, "rollback"))
		return usage_error(db_usage, "unknown db subcommand '%s'",
				   o->sub);
	if (!strcmp(o->sub, "status") && (o->to >= 0 || o->steps >= 0))
		return usage_error(db_usage, "'db status' takes no %s",
				   o->to >= 0 ? "--to" : "--steps");
	if (!strcmp(o->sub, "migrate") && o->steps >= 0)
		return usage_error(db_usage, "'db migrate' takes no --steps");
	if (o->to >= 0 && o->steps >= 0)
		return usage_error(db_usage,
				   "--to and --steps cannot be used together");
	if (o->to > runner_nr_migrations)
		return usage_error(db_usage,
				   "no schema version %d: this runner knows "
				   "versions 0 to %d",
				   o->to, runner_nr_migrations);
	return -1;
}

static int fail(const struct strbuf *err)
{
	fprintf(stderr, "runner: %s\n", err->buf);
	return RUNNER_EXIT_RUNTIME;
}

static const struct store_migrate_row *
find_row(const struct store_migrate_status *s, int version)
{
	for (size_t i = 0; i < s->nr; i++)
		if (s->rows[i].version == version)
			return &s->rows[i];
	return NULL;
}

static int db_status(struct store *st, const struct store_migrate_status *s,
		     const struct strbuf *refusal)
{
	const struct migration *list = runner_migrations;
	int nr = runner_nr_migrations;
	int last = s->version > nr ? s->version : nr;
	int width = 4;

	for (int v = 1; v <= last; v++) {
		const struct store_migrate_row *row = find_row(s, v);
		const char *name = v <= nr ? list[v - 1].name
				   : row   ? row->name
					   : "";
		if ((int)strlen(name) > width)
			width = (int)strlen(name);
	}
	printf("database: %s\n", store_path(st));
	printf("schema version: %d (this runner knows up to %d)\n", s->version,
	       nr);
	for (int v = 1; v <= last; v++) {
		const struct store_migrate_row *row = find_row(s, v);
		const char *name = v <= nr ? list[v - 1].name
				   : row   ? row->name
					   : "?";
		char when[40] = "";
		const char *flag = "";

		if (!row) {
			if (v > nr)
				continue;
			printf("%4d  %-*s  pending\n", v, width, name);
			continue;
		}
		time_iso8601_utc(row->applied_at, when, sizeof(when));
		if (v > nr) {
			flag = "  (unknown to this runner)";
		} else {
			char sum[65];
			store_migrate_checksum(list[v - 1].up, sum);
			if (strcmp(sum, row->checksum))
				flag = "  CHANGED (checksum mismatch)";
		}
		printf("%4d  %-*s  applied  %s%s\n", v, width, name, when,
		       flag);
	}
	if (refusal->len)
		return fail(refusal);
	return RUNNER_EXIT_OK;
}

static void print_steps(const struct store_migrate_result *res, int up)
{
	const struct migration *list = runner_migrations;

	if (up)
		for (int v = res->from + 1; v <= res->to; v++)
			printf("applied %d (%s)\n", v, list[v - 1].name);
	else
		for (int v = res->from; v > res->to; v--)
			printf("rolled back %d (%s)\n", v, list[v - 1].name);
}

static int db_change(struct store *st, const struct db_opts *o,
		     const struct store_migrate_status *s)
{
	struct store_migrate_result res = STORE_MIGRATE_RESULT_INIT;
	struct strbuf err = STRBUF_INIT;
	int up = !strcmp(o->sub, "migrate");
	int target, rc, ret;

	if (up) {
		target = o->to >= 0 ? o->to : runner_nr_migrations;
		if (s->version > target) {
			ret = usage_error(o->usage,
					  "'%s' is at schema version %d, past "
					  "%d; use 'runner db rollback --to "
					  "%d'",
					  store_path(st), s->version, target,
					  target);
			goto out;
		}
	} else {
		int steps = o->steps > 0 ? o->steps : 1;
		target = o->to >= 0 ? o->to : s->version - steps;
		if (s->version == 0) {
			ret = usage_error(o->usage,
					  "nothing to roll back: '%s' is at "
					  "schema version 0",
					  store_path(st));
			goto out;
		}
		if (target < 0) {
			ret = usage_error(o->usage,
					  "cannot roll back %d steps: '%s' is "
					  "at schema version %d",
					  steps, store_path(st), s->version);
			goto out;
		}
		if (s->version < target) {
			ret = usage_error(
				o->usage,
				"'%s' is at schema version %d, below "
				"%d; use 'runner db migrate --to "
				"%d'",
				store_path(st), s->version, target, target);
			goto out;
		}
	}
	if (s->version == target) {
		printf("%s is already at schema version %d\n", store_path(st),
		       target);
		ret = RUNNER_EXIT_OK;
		goto out;
	}
	if (up)
		rc = store_schema_up(st, target, &res, &err);
	else
		rc = store_schema_down(st, target, &res, &err);
	if (res.backup)
		printf("backed up %s to %s\n", store_path(st), res.backup);
	print_steps(&res, up);
	if (rc < 0) {
		fflush(stdout);
		ret = fail(&err);
		goto out;
	}
	printf("%s is at schema version %d\n", store_path(st), res.to);
	ret = RUNNER_EXIT_OK;
out:
	store_migrate_result_release(&res);
	strbuf_release(&err);
	return ret;
}

int cmd_db(int argc, char **argv, const struct cmd_entry *cmd)
{
	struct db_opts o = { 0 };
	struct store *st = NULL;
	struct store_migrate_status s = STORE_MIGRATE_STATUS_INIT;
	struct strbuf err = STRBUF_INIT;
	struct strbuf refusal = STRBUF_INIT;
	int ret = parse_args(argc, argv, cmd, &o);

	if (ret >= 0)
		return ret;
	/* status only reads: it works on a full disk too. */
	if (store_open(store_resolve_dir(o.state),
		       strcmp(o.sub, "status") ? STORE_NO_MIGRATE
					       : STORE_READ_NO_MIGRATE,
		       &st, &err) < 0 ||
	    store_schema_status(st, &s, &err) < 0) {
		ret = fail(&err);
		goto out;
	}
	if (store_read_only(st))
		cmd_warn_disk_full(st);
	store_migrate_check(&s, runner_migrations, runner_nr_migrations,
			    store_path(st), &refusal);
	if (!strcmp(o.sub, "status"))
		ret = db_status(st, &s, &refusal);
	else if (refusal.len)
		ret = fail(&refusal);
	else
		ret = db_change(st, &o, &s);
out:
	store_migrate_status_release(&s);
	store_close(st);
	strbuf_release(&err);
	strbuf_release(&refusal);
	return ret;
}
