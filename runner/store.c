#include "runner.h"
#include "store.h"
#include "store-internal.h"
#include "store-migrate.h"
#include "fs.h"
#include "timeutil.h"

#include <dirent.h>
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
	bool aborted;	/* SQLite rolled the outermost transaction back */
	bool busy;	/* the last begin or commit failed on another's lock */
	bool read_only; /* opened without writing: the disk is full */
	char *no_write; /* or because the file cannot be written: why */
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

/*
 * Read the schema, which is what finds a damaged file: the number of
 * tables, indexes and so on in *nr_objects, or -1 with the message.
 */
static int check_readable(struct store *st, int *nr_objects,
			  struct strbuf *msg)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_master",
				-1, &stmt, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*nr_objects = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW) {
		strbuf_addstr(msg, sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

/*
 * Whether what failed last on db (msg is what it said) failed for want of
 * space: SQLITE_FULL, or an I/O error whose errno was ENOSPC or EDQUOT
 * (SQLite reports a -shm file that cannot grow as a plain "disk I/O
 * error"). The error code may be gone by now, as in corrupt_reason().
 */
static bool disk_full(sqlite3 *db, const char *msg)
{
	int rc = sqlite3_errcode(db) & 0xff;
	int sys = sqlite3_system_errno(db);

	if (rc == SQLITE_FULL || strstr(msg, sqlite3_errstr(SQLITE_FULL)))
		return true;
	return (sys == ENOSPC || sys == EDQUOT) &&
	       (rc == SQLITE_IOERR || rc == SQLITE_CANTOPEN ||
		strstr(msg, sqlite3_errstr(SQLITE_IOERR)));
}

static void add_disk_full(struct strbuf *err, const struct store *st)
{
	strbuf_addf(err,
		    "cannot open state database '%s': the disk is full; free "
		    "space on the file system that holds '%s' and try again",
		    st->path, st->dir);
}

/* The run folders in DIR/runs (directories not starting with a dot). */
static int count_runs(const char *dir)
{
	char *runs = fs_join(dir, "runs");
	DIR *d = opendir(runs);
	struct dirent *de;
	int nr = 0;

	while (d && (de = readdir(d))) {
		struct stat sb;
		char *p;

		if (de->d_name[0] == '.')
			continue;
		p = fs_join(runs, de->d_name);
		if (!stat(p, &sb) && S_ISDIR(sb.st_mode))
			nr++;
		free(p);
	}
	if (d)
		closedir(d);
	free(runs);
	return nr;
}

/* Whether a was modified after b. */
static bool newer(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec != b->tv_sec ? a->tv_sec > b->tv_sec
				      : a->tv_nsec > b->tv_nsec;
}

/*
 * The newest whole copy store-migrate.c made: of the DIR/runner.db.bak-N
 * (not the .tmp- files of a copy in progress), the one written last, which
 * is not always the highest N (a rollback copies to the version it leaves).
 * NULL when there is none.
 */
static char *newest_backup(const char *dir)
{
	static const char prefix[] = "runner.db.bak-";
	DIR *d = opendir(dir);
	struct dirent *de;
	struct timespec best_time = { 0, 0 };
	char *best = NULL;

	while (d && (de = readdir(d))) {
		const char *num = de->d_name + strlen(prefix);
		struct stat sb;
		char *p;

		if (strncmp(de->d_name, prefix, strlen(prefix)) || !*num ||
		    strspn(num, "0123456789") != strlen(num))
			continue;
		p = fs_join(dir, de->d_name);
		if (!stat(p, &sb) && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
		    (!best || newer(&sb.st_mtim, &best_time))) {
			free(best);
			best = p;
			best_time = sb.st_mtim;
		} else {
			free(p);
		}
	}
	if (d)
		closedir(d);
	return best;
}

/*
 * The database is gone (what says how) while runs/ holds nr runs: taking
 * it for a new state would hide every one of them.
 */
static void add_lost_database(struct strbuf *err, const char *dir,
			      const char *path, const char *what, int nr)
{
	char *bak = newest_backup(dir);
	char *runs = fs_join(dir, "runs");

	strbuf_addf(err, "state database '%s' %s but '%s' holds %d run%s; ",
		    path, what, runs, nr, nr == 1 ? "" : "s");
	if (bak)
		strbuf_addf(err,
			    "restore it from '%s' (runs recorded after that "
			    "copy stay missing)",
			    bak);
	else
		strbuf_addstr(err, "restore it from a backup");
	strbuf_addf(err, " or move '%s' aside to start a new state", runs);
	free(runs);
	free(bak);
}

/*
 * The database is damaged: name the copy to restore from only when one
 * exists (a first migration makes none), so the advice can be followed.
 */
static void add_corrupt(struct strbuf *err, const struct store *st,
			const char *why)
{
	char *bak = newest_backup(st->dir);

	strbuf_addf(err,
		    "state database '%s' is not a SQLite database or is "
		    "corrupt (%s); ",
		    st->path, why);
	if (bak)
		strbuf_addf(err, "restore it from '%s' or ", bak);
	else
		strbuf_addf(err,
			    "no backup of it is in '%s'; restore it from "
			    "one of your own or ",
			    st->dir);
	strbuf_addstr(err, "move it aside to start a new state");
	free(bak);
}

int store_check_db(const char *state_dir, struct strbuf *err)
{
	char *path = fs_join(state_dir, "runner.db");
	const char *what = NULL;
	struct stat sb;
	int nr, ret = 0;

	if (!stat(path, &sb)) {
		if (S_ISREG(sb.st_mode) && !sb.st_size)
			what = "is empty (0 bytes)";
	} else if (errno == ENOENT) {
		what = "is missing";
	}
	if (what && (nr = count_runs(state_dir)) > 0) {
		add_lost_database(err, state_dir, path, what, nr);
		ret = -1;
	}
	free(path);
	return ret;
}

/* "file:PATH?immutable=1", PATH percent-encoded as RFC 3986 asks. */
static char *immutable_uri(const char *path)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "file:");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/-._~", *p))
			strbuf_addch(&sb, (char)*p);
		else
			strbuf_addf(&sb, "%%%02X", *p);
	}
	strbuf_addstr(&sb, "?immutable=1");
	return strbuf_detach(&sb, NULL);
}

/*
 * How open_read_write() or open_read_only() failed, which says what their
 * msg holds. st->db is left open for store_open() to classify the error.
 */
enum open_failure {
	FAIL_SQLITE = -1,  /* SQLite's words for what went wrong */
	FAIL_SAID = -2,	   /* a whole message, to pass on as it is */
	FAIL_MIGRATE = -3, /* a whole message from store-migrate.c */
};

/*
 * Open read-write as every writer does: WAL, pragmas, the schema checked,
 * pending migrations applied unless no_migrate. 0 or an open_failure.
 */
static int open_read_write(struct store *st, bool no_migrate,
			   struct store_migrate_result *res, int *nr_objects,
			   struct strbuf *msg)
{
	int rc = sqlite3_open_v2(st->path, &st->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
					 SQLITE_OPEN_NOMUTEX,
				 NULL);

	if (rc != SQLITE_OK) {
		int sys = st->db ? sqlite3_system_errno(st->db) : 0;
		strbuf_addstr(msg, sys	    ? strerror(sys)
				   : st->db ? sqlite3_errmsg(st->db)
					    : sqlite3_errstr(rc));
		return FAIL_SQLITE;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	/* SQLite falls back to read-only quietly; we write on every run. */
	if (sqlite3_db_readonly(st->db, "main") == 1) {
		const char *why = "read-only";
		if (access(st->path, W_OK) < 0)
			why = strerror(errno);
		strbuf_addf(msg,
			    "cannot open state database '%s' for "
			    "writing: %s",
			    st->path, why);
		st->no_write = xstrdup(why);
		return FAIL_SAID;
	}
	/* The schema is read before WAL mode writes to the file. */
	if (check_readable(st, nr_objects, msg) < 0)
		return FAIL_SQLITE;
	if (!*nr_objects && count_runs(st->dir))
		return 0; /* a lost database: store_open() says so */
	if (set_wal(st, msg) < 0 ||
	    store_exec(st, "PRAGMA synchronous = NORMAL", msg) < 0 ||
	    store_exec(st, "PRAGMA foreign_keys = ON", msg) < 0)
		return FAIL_SQLITE;
	if (!no_migrate &&
	    store_migrate_up(st->db, st->path, runner_migrations,
			     runner_nr_migrations, runner_nr_migrations, res,
			     msg) < 0)
		return FAIL_MIGRATE;
	return 0;
}

/*
 * Open without writing a byte, for a command that only reads when the
 * disk is full. SQLITE_OPEN_READONLY is no help there: a WAL reader still
 * needs the shared -shm file, which SQLite must create and grow to 32 KiB
 * (that is the "disk I/O error" of a full disk). In exclusive locking
 * mode the wal-index lives in heap memory and no -shm is used; the lock
 * is a write lock, so the file is opened read-write, but query_only and
 * no checkpoint on close keep the database and its -wal as they are.
 * Other runners wait for the lock (busy timeout) while this one reads.
 *
 * When the file cannot be written at all (st->no_write: a read-only
 * mount, no permission) there is no write lock to take, and none is
 * needed: nobody else can write either. SQLITE_OPEN_READONLY then reads
 * a WAL database through the -shm and -wal when they are there and, when
 * they are not, ?immutable=1 ("Read-Only Databases" in wal.html): SQLite
 * cannot create the -shm there, and with no -wal every committed change
 * is in the database file. A -wal without a -shm (a runner died on that
 * file system before it became read-only) cannot be read safely:
 * immutable would ignore what it holds, so the open fails and says so.
 */
static int open_read_only(struct store *st, bool no_migrate, int *nr_objects,
			  struct strbuf *msg)
{
	struct store_migrate_status s = STORE_MIGRATE_STATUS_INIT;
	char *shm = xstrfmt("%s-shm", st->path),
	     *wal = xstrfmt("%s-wal", st->path);
	char *uri = NULL;
	struct stat sb;
	int rc, ret = FAIL_SQLITE;

	if (st->no_write && !fs_exists(shm) &&
	    (stat(wal, &sb) < 0 || !sb.st_size) && access(st->dir, W_OK) < 0)
		uri = immutable_uri(st->path);
	rc = sqlite3_open_v2(
		uri ? uri : st->path, &st->db,
		(st->no_write ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
			SQLITE_OPEN_NOMUTEX | (uri ? SQLITE_OPEN_URI : 0),
		NULL);
	if (rc != SQLITE_OK) {
		strbuf_addstr(msg, st->db ? sqlite3_errmsg(st->db)
					  : sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	if ((!st->no_write &&
	     store_exec(st, "PRAGMA locking_mode = EXCLUSIVE", msg) < 0) ||
	    store_exec(st, "PRAGMA query_only = ON", msg) < 0 ||
	    store_exec(st, "PRAGMA foreign_keys = ON", msg) < 0 ||
	    check_readable(st, nr_objects, msg) < 0) {
		if (st->no_write && !uri && !fs_exists(shm) && fs_exists(wal))
			strbuf_addf(
				msg,
				" ('%s' holds changes that are not in the "
				"database yet and there is no '%s' to read "
				"it through: open the state once where it "
				"can be written)",
				wal, shm);
		goto out;
	}
	if (!*nr_objects && count_runs(st->dir)) {
		ret = 0; /* a lost database: store_open() says so */
		goto out;
	}
	/* What STORE_MIGRATE would refuse or change, without the change. */
	if (!no_migrate &&
	    (store_migrate_status_read(st->db, st->path, &s, msg) < 0 ||
	     store_migrate_check(&s, runner_migrations, runner_nr_migrations,
				 st->path, msg) < 0)) {
		ret = FAIL_MIGRATE;
		goto out;
	}
	if (!no_migrate && s.version < runner_nr_migrations && st->no_write) {
		strbuf_addf(msg,
			    "state database '%s' is at schema version %d and "
			    "needs migrating to %d, but it cannot be written "
			    "(%s)",
			    st->path, s.version, runner_nr_migrations,
			    st->no_write);
		ret = FAIL_SAID;
		goto out;
	}
	if (!no_migrate && s.version < runner_nr_migrations) {
		strbuf_addf(
			msg,
			"state database '%s' is at schema version %d and "
			"needs migrating to %d, but the disk is full; free "
			"space on the file system that holds '%s' and try "
			"again",
			st->path, s.version, runner_nr_migrations, st->dir);
		ret = FAIL_SAID;
		goto out;
	}
	st->read_only = true;
	ret = 0;
out:
	store_migrate_status_release(&s);
	free(shm);
	free(wal);
	free(uri);
	return ret;
}

int store_open(const char *state_dir, enum store_open_mode mode,
	       struct store **out, struct strbuf *err)
{
	struct store *st = xcalloc(1, sizeof(*st));
	struct store_migrate_result res = STORE_MIGRATE_RESULT_INIT;
	struct strbuf msg = STRBUF_INIT;
	bool no_migrate = mode == STORE_NO_MIGRATE ||
			  mode == STORE_READ_NO_MIGRATE;
	bool may_read_only = mode == STORE_READ ||
			     mode == STORE_READ_NO_MIGRATE;
	char *runs = NULL;
	int nr_objects = -1, nr_runs, rc, ret = -1;

	*out = NULL;
	st->dir = xstrdup(state_dir);
	st->path = fs_join(state_dir, "runner.db");
	if (store_check_db(state_dir, err) < 0)
		goto out;
	if (make_state_dir(state_dir, err) < 0)
		goto out;
	runs = fs_join(state_dir, "runs");
	if (mkdir(runs, 0700) < 0 && errno != EEXIST) {
		strbuf_addf(err, "cannot create '%s': %s", runs,
			    strerror(errno));
		goto out;
	}

	/*
	 * Counted before the database is opened: another runner creating
	 * the same new state makes its first run's folder only after its
	 * schema is committed, so runs seen now mean tables seen below.
	 * Counted after, a runner that found the file still empty would
	 * take the other's fresh run for the sign of a lost database.
	 */
	nr_runs = count_runs(st->dir);
	rc = open_read_write(st, no_migrate, &res, &nr_objects, &msg);
	if (rc == FAIL_SAID && st->no_write && may_read_only) {
		/* A command that only reads has no need to write. */
		sqlite3_close(st->db);
		st->db = NULL;
		strbuf_reset(&msg);
		nr_objects = -1;
		rc = open_read_only(st, no_migrate, &nr_objects, &msg);
		if (rc == FAIL_SQLITE && st->db &&
		    !corrupt_reason(st->db, msg.buf)) {
			strbuf_addf(err,
				    "cannot read state database '%s' (it "
				    "cannot be written: %s): %s",
				    st->path, st->no_write, msg.buf);
			goto out;
		}
	} else if (rc < 0 && rc != FAIL_SAID && st->db && may_read_only &&
		   disk_full(st->db, msg.buf)) {
		sqlite3_close(st->db);
		st->db = NULL;
		strbuf_reset(&msg);
		nr_objects = -1;
		rc = open_read_only(st, no_migrate, &nr_objects, &msg);
		if (rc == FAIL_SQLITE && st->db &&
		    !corrupt_reason(st->db, msg.buf)) {
			/* Busy, say: what to do about it is still the same. */
			add_disk_full(err, st);
			goto out;
		}
	}
	if (!rc && !nr_objects && nr_runs > 0) {
		add_lost_database(err, st->dir, st->path, "holds no tables",
				  nr_runs);
		goto out;
	}
	if (!rc) {
		st->backup = res.backup;
		res.backup = NULL;
		ret = 0;
	} else if (rc == FAIL_SAID ||
		   (rc == FAIL_MIGRATE && !corrupt_reason(st->db, msg.buf) &&
		    !disk_full(st->db, msg.buf))) {
		/* msg is a whole sentence already. */
		strbuf_add(err, msg.buf, msg.len);
	} else if (!st->db) {
		strbuf_addf(err, "cannot open state database '%s': %s",
			    st->path, msg.buf);
	} else if (corrupt_reason(st->db, msg.buf)) {
		add_corrupt(err, st, corrupt_reason(st->db, msg.buf));
	} else if (rc == FAIL_MIGRATE) {
		/* A migration that ran out of space says which one. */
		strbuf_addf(err,
			    "%s; the disk is full: free space on the file "
			    "system that holds '%s' and try again",
			    msg.buf, st->dir);
	} else if (disk_full(st->db, msg.buf)) {
		add_disk_full(err, st);
	} else {
		strbuf_addf(err, "cannot open state database '%s': %s",
			    st->path, msg.buf);
	}
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
	free(st->no_write);
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

bool store_read_only(const struct store *st)
{
	return st->read_only;
}

const char *store_no_write(const struct store *st)
{
	return st->read_only ? st->no_write : NULL;
}

bool store_disk_full(struct store *st, const char *msg)
{
	return disk_full(st->db, msg);
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

int store_schema_status(struct store *st, struct store_migrate_status *out,
			struct strbuf *err)
{
	return store_migrate_status_read(st->db, st->path, out, err);
}

int store_schema_up(struct store *st, int target,
		    struct store_migrate_result *res, struct strbuf *err)
{
	return store_migrate_up(st->db, st->path, runner_migrations,
				runner_nr_migrations, target, res, err);
}

int store_schema_down(struct store *st, int target,
		      struct store_migrate_result *res, struct strbuf *err)
{
	return store_migrate_down(st->db, st->path, runner_migrations,
				  runner_nr_migrations, target, res, err);
}

char *store_col_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? xstrdup((const char *)t) : NULL;
}

int64_t store_col_ms(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL
		       ? 0
		       : sqlite3_column_int64(s, i);
}

void store_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

int store_snapshot_begin(struct store *st, struct strbuf *err)
{
	return store_exec(st, "BEGIN", err);
}

int store_snapshot_end(struct store *st, struct strbuf *err)
{
	return store_exec(st, "COMMIT", err);
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
