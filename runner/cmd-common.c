#include "runner.h"
#include "cmd.h"
#include "fs.h"
#include "cmd-opt.h"
#include "recover.h"
#include "store.h"

static int open_state(const char *state, enum store_open_mode mode,
		      struct store **st)
{
	const char *dir = store_resolve_dir(state);
	char *db = fs_join(dir, "runner.db");
	struct strbuf err = STRBUF_INIT;
	int ret = 0;

	if (store_check_db(dir, &err) < 0) {
		error("%s", err.buf);
		ret = RUNNER_EXIT_RUNTIME;
	} else if (!fs_exists(db)) {
		error("no runner state in '%s' (nothing has run here yet; "
		      "use --state DIR or $RUNNER_STATE to point at one)",
		      dir);
		ret = RUNNER_EXIT_RUNTIME;
	} else if (store_open(dir, mode, st, &err) < 0) {
		error("%s", err.buf);
		ret = RUNNER_EXIT_RUNTIME;
	} else if (store_read_only(*st)) {
		cmd_warn_disk_full(*st);
	} else if (recover_lost_runs(*st, &err) < 0) {
		/* Reading runs back still works; say what went wrong. */
		if (store_disk_full(*st, err.buf))
			cmd_warn_disk_full(*st);
		else
			warning("%s", err.buf);
	}
	free(db);
	strbuf_release(&err);
	return ret;
}

int cmd_open_state(const char *state, struct store **st)
{
	return open_state(state, STORE_MIGRATE, st);
}

int cmd_open_state_read(const char *state, struct store **st)
{
	return open_state(state, STORE_READ, st);
}

void cmd_warn_disk_full(const struct store *st)
{
	if (store_no_write(st)) {
		warning("state '%s' cannot be written (%s); showing it as it "
			"is (runs whose runner died are not marked lost)",
			store_dir(st), store_no_write(st));
		return;
	}
	warning("the disk that holds state '%s' is full; showing the state as "
		"it is (runs whose runner died are marked lost once there is "
		"space)",
		store_dir(st));
}

int usage_error(const char *usage, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "runner: %s\n", msg);
	opt_print_usage(stderr, usage);
	return RUNNER_EXIT_USAGE;
}
