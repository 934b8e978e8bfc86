#include "runner.h"
#include "store.h"
#include "store-migrate.h"
#include "fs.h"
#include "timeutil.h"

#include <sys/stat.h>

/*
 * Long enough to wait out another runner's migration or a burst of event
 * inserts, short enough that a stuck lock becomes an error, not a hang.
 */
#define BUSY_TIMEOUT_MS 10000

#define ABORTED_MSG "an earlier error rolled the enclosing transaction back"

struct store {
	sqlite3 *db;
	char *dir;
	char *path;
	char *backup;
	int depth; /* store_begin() nesting: 1 is the BEGIN, more savepoints */
	bool aborted; /* SQLite rolled the outermost transaction back */
	bool busy;    /* the last begin or commit failed on another's lock */
};

const char *store_resolve_dir(const char *opt)
{
	const char *env = getenv("RUNNER_STATE");

	if (opt && *opt)
		return opt;
	if (env && *env)
		return env;
	return "./.runner";
}

/* mkdir -p with 0700, naming the state directory in the message. */
static int make_state_dir(const char *dir, struct strbuf *err)
{
	char *p = xstrdup(dir);
	struct stat sb;
	int ret = -1;

	for (char *s = p + 1;; s++) {
		char c = *s;
		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			strbuf_addf(err,
				    "cannot create state directory '%s': %s",
				    dir, strerror(errno));
			goto out;
		}
		*s = c;
		if (!c)
			break;
	}
	if (stat(dir, &sb) < 0) {
		strbuf_addf(err, "cannot create state directory '%s': %s", dir,
			    strerror(errno));
		goto out;
	}
	if (!S_ISDIR(sb.st_mode)) {
		strbuf_addf(err,
			    "cannot use '%s' as state directory: not a "
			    "directory",
			    dir);
		goto out;
	}
	ret = 0;
out:
	free(p);
	return ret;
}

/*
 * Switching to WAL needs an exclusive lock, for which SQLite does not
 * always call the busy handler: another process opening the same fresh
 * state at the same moment would fail us, so wait for it here.
 */
static int set_wal(struct store *st, struct strbuf *msg)
{
	int64_t deadline = time_mono_ms() + BUSY_TIMEOUT_MS;
	sqlite3_stmt *stmt = NULL;
	int rc;

	for (;;) {
		rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL",
					-1, &stmt, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW)
			break;
		sqlite3_finalize(stmt);
		stmt = NULL;
		if ((rc & 0xff) != SQLITE_BUSY || time_mono_ms() > deadline) {
			strbuf_addstr(msg, sqlite3_errmsg(st->db));
			return -1;
		}
		time_sleep_ms(10);
	}
	if (strcmp((const char *)sqlite3_column_text(stmt, 0), "wal")) {
		strbuf_addf(msg,
			    "cannot use WAL mode (the file stays in '%s' "
			    "mode)",
			    sqlite3_column_text(stmt, 0));
		rc = -1;
	} else {
		rc = 0;
	}
	sqlite3_finalize(stmt);
	return rc;
}

/*
 * Why the database looks damaged ("file is not a database"), or NULL.
 * The error code may be gone by now (a ROLLBACK resets it): the message
 * is checked as well.
 */
static const char *corrupt_reason(sqlite3 *db, const char *msg)
{
	static const int codes[] = { SQLITE_NOTADB, SQLITE_CORRUPT };
	int rc = sqlite3_errcode(db) & 0xff;

	for (size_t i = 0; i < ARRAY_SIZE(codes); i++)
		if (rc == codes[i] || strstr(msg, sqlite3_errstr(codes[i])))
			return sqlite3_errstr(codes[i]);
	return NULL;
}

static int check_readable(struct store *st, struct strbuf *msg)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	/* Reading the schema is what finds a damaged file. */
	rc = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_master",
				-1, &stmt, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW) {
		strbuf_addstr(msg, sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

int store_open(const char *state_dir, enum store_open_mode mode,
	       struct store **out, struct strbuf *err)
{
	struct store *st = xcalloc(1, sizeof(*st));
	struct store_migrate_result res = STORE_MIGRATE_RESULT_INIT;
	struct strbuf msg = STRBUF_INIT;
	char *runs = NULL;
	int rc, ret = -1;

	*out = NULL;
	st->dir = xstrdup(state_dir);
	st->path = fs_join(state_dir, "runner.db");
	if (make_state_dir(state_dir, err) < 0)
		goto out;
	runs = fs_join(state_dir, "runs");
	if (mkdir(runs, 0700) < 0 && errno != EEXIST) {
		strbuf_addf(err, "cannot create '%s': %s", runs,
			    strerror(errno));
		goto out;
	}

	rc = sqlite3_open_v2(st->path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		int sys = st->db ? sqlite3_system_errno(st->db) : 0;
		const char *why = st->db ? sqlite3_errmsg(st->db)
					 : sqlite3_errstr(rc);
		strbuf_addf(err, "cannot open state database '%s': %s",
			    st->path, sys ? strerror(sys) : why);
		goto out;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	/* SQLite falls back to read-only quietly; we write on every run. */
	if (sqlite3_db_readonly(st->db, "main") == 1) {
		const char *why = "read-only";
		if (access(st->path, W_OK) < 0)
			why = strerror(errno);
		strbuf_addf(err,
			    "cannot open state database '%s' for "
			    "writing: %s",
			    st->path, why);
		goto out;
	}
	if (set_wal(st, &msg) < 0 ||
	    store_exec(st, "PRAGMA synchronous = NORMAL", &msg) < 0 ||
	    store_exec(st, "PRAGMA foreign_keys = ON", &msg) < 0 ||
	    check_readable(st, &msg) < 0) {
		if (!corrupt_reason(st->db, msg.buf))
			strbuf_addf(err, "cannot open state database '%s': %s",
				    st->path, msg.buf);
		goto fail;
	}
	if (mode == STORE_MIGRATE &&
	    store_migrate_up(st->db, st->path, runner_migrations,
			     runner_nr_migrations, runner_nr_migrations, &res,
			     &msg) < 0) {
		if (!corrupt_reason(st->db, msg.buf))
			strbuf_add(err, msg.buf, msg.len);
		goto fail;
	}
	st->backup = res.backup;
	res.backup = NULL;
	ret = 0;
	goto out;

fail:
	if (corrupt_reason(st->db, msg.buf))
		strbuf_addf(err,
			    "state database '%s' is not a SQLite database or "
			    "is corrupt (%s); restore it from a "
			    "runner.db.bak-* copy in '%s' or move it aside to "
			    "start a new state",
			    st->path, corrupt_reason(st->db, msg.buf),
			    st->dir);
out:
	if (ret)
		store_close(st);
	else
		*out = st;
	store_migrate_result_release(&res);
	strbuf_release(&msg);
	free(runs);
	return ret;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	/*
	 * A busy close would leak the connection: finalize what a caller
	 * forgot, then close for real.
	 */
	if (st->db) {
		sqlite3_stmt *stmt;
		while ((stmt = sqlite3_next_stmt(st->db, NULL)))
			sqlite3_finalize(stmt);
		sqlite3_close(st->db);
	}
	free(st->dir);
	free(st->path);
	free(st->backup);
	free(st);
}

sqlite3 *store_db(struct store *st)
{
	return st->db;
}

const char *store_dir(const struct store *st)
{
	return st->dir;
}

const char *store_path(const struct store *st)
{
	return st->path;
}

const char *store_backup_path(const struct store *st)
{
	return st->backup;
}

int store_exec(struct store *st, const char *sql, struct strbuf *err)
{
	char *e = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &e) != SQLITE_OK) {
		strbuf_addstr(err, e ? e : sqlite3_errmsg(st->db));
		sqlite3_free(e);
		return -1;
	}
	return 0;
}

int store_prepare(struct store *st, const char *sql, sqlite3_stmt **out,
		  struct strbuf *err)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, out, NULL) != SQLITE_OK) {
		strbuf_addf(err, "cannot prepare SQL on '%s': %s", st->path,
			    sqlite3_errmsg(st->db));
		*out = NULL;
		return -1;
	}
	return 0;
}

static bool is_busy(sqlite3 *db)
{
	int rc = sqlite3_errcode(db) & 0xff;
	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

bool store_last_busy(const struct store *st)
{
	return st->busy;
}

/*
 * The outermost store_begin() is BEGIN IMMEDIATE; inner ones are
 * savepoints, so that a caller may batch several units of work that each
 * begin and commit their own (the scheduler commits once per turn of its
 * loop) and a failed unit rolls back only itself.
 */
int store_begin(struct store *st, struct strbuf *err)
{
	struct strbuf msg = STRBUF_INIT;
	char sql[40];
	int ret;

	if (st->depth > 0 && (st->aborted || sqlite3_get_autocommit(st->db))) {
		/*
		 * SQLite gave up the enclosing transaction (disk full, I/O
		 * error): nothing more may be written until its owner ends
		 * it, or the writes would land outside it.
		 */
		st->aborted = true;
		strbuf_addf(err, "cannot write to state database '%s': %s",
			    st->path, ABORTED_MSG);
		return -1;
	}
	if (st->depth == 0)
		snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE");
	else
		snprintf(sql, sizeof(sql), "SAVEPOINT s%d", st->depth);
	ret = store_exec(st, sql, &msg);
	st->busy = ret && is_busy(st->db);
	if (ret)
		strbuf_addf(err, "cannot lock state database '%s': %s",
			    st->path, msg.buf);
	else
		st->depth++;
	strbuf_release(&msg);
	return ret;
}

int store_writable(struct store *st, struct strbuf *err)
{
	if (st->depth == 0 || !(st->aborted || sqlite3_get_autocommit(st->db)))
		return 0;
	st->aborted = true;
	strbuf_addf(err, "cannot write to state database '%s': %s", st->path,
		    ABORTED_MSG);
	return -1;
}

int store_commit(struct store *st, struct strbuf *err)
{
	struct strbuf msg = STRBUF_INIT;
	char sql[40];
	int ret;

	if (st->depth <= 0) {
		strbuf_addf(err,
			    "cannot commit to state database '%s': no "
			    "transaction is open",
			    st->path);
		return -1;
	}
	if (st->aborted || sqlite3_get_autocommit(st->db)) {
		st->aborted = --st->depth > 0;
		strbuf_addf(err, "cannot commit to state database '%s': %s",
			    st->path, ABORTED_MSG);
		return -1;
	}
	if (st->depth == 1)
		snprintf(sql, sizeof(sql), "COMMIT");
	else
		snprintf(sql, sizeof(sql), "RELEASE s%d", st->depth - 1);
	ret = store_exec(st, sql, &msg);
	st->busy = ret && is_busy(st->db);
	if (ret) {
		strbuf_addf(err, "cannot commit to state database '%s': %s",
			    st->path, msg.buf);
		store_rollback(st);
	} else {
		st->depth--;
	}
	strbuf_release(&msg);
	return ret;
}

void store_rollback(struct store *st)
{
	char sql[64];

	if (st->depth > 1) {
		st->depth--;
		if (st->aborted || sqlite3_get_autocommit(st->db)) {
			st->aborted = true;
			return;
		}
		snprintf(sql, sizeof(sql), "ROLLBACK TO s%d; RELEASE s%d",
			 st->depth, st->depth);
		sqlite3_exec(st->db, sql, NULL, NULL, NULL);
		return;
	}
	st->depth = 0;
	st->aborted = false;
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}
