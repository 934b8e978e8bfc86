#include "runner.h"
#include "fs.h"
#include "store.h"
#include "store-internal.h"
#include "store-migrate.h"
#include "timeutil.h"
#include "tap.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

/*
 * A three-step history for the engine: a table, a child table with a
 * foreign key and an index, then a column. log records every up that ran,
 * so a migration applied twice shows.
 */
static const struct migration fixture[] = {
	{ 1, "one",
	  "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT);\n"
	  "CREATE TABLE log (m TEXT);\n"
	  "INSERT INTO log VALUES ('1');\n",
	  "DROP TABLE log;\nDROP TABLE a;\n" },
	{ 2, "two",
	  "CREATE TABLE b (id INTEGER PRIMARY KEY,\n"
	  "\ta_id INTEGER NOT NULL REFERENCES a (id));\n"
	  "CREATE INDEX b_a ON b (a_id);\n"
	  "INSERT INTO log VALUES ('2');\n",
	  "DROP INDEX b_a;\nDROP TABLE b;\nDELETE FROM log WHERE m = '2';\n" },
	{ 3, "three",
	  "ALTER TABLE a ADD COLUMN w INTEGER NOT NULL DEFAULT 0;\n"
	  "INSERT INTO log VALUES ('3');\n",
	  "ALTER TABLE a DROP COLUMN w;\nDELETE FROM log WHERE m = '3';\n" },
};
#define NR_FIXTURE ((int)ARRAY_SIZE(fixture))

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/u-store.XXXXXX";
	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		exit(1);
	}
	return xstrdup(tmpl);
}

static void remove_tmpdir(char *dir)
{
	struct strbuf err = STRBUF_INIT;
	if (fs_rm_rf(dir, &err) < 0)
		printf("# %s\n", err.buf);
	strbuf_release(&err);
	free(dir);
}

static sqlite3 *open_memory(void)
{
	sqlite3 *db = NULL;
	if (sqlite3_open(":memory:", &db) != SQLITE_OK)
		exit(1);
	sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	return db;
}

static char *query_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt = NULL;
	char *ret = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0))
		ret = xstrdup((const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	return ret ? ret : xstrdup("(error)");
}

static long long query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt = NULL;
	long long ret = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		ret = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return ret;
}

/* Everything but the engine's bookkeeping and SQLite's own sequence. */
static char *schema_dump(sqlite3 *db)
{
	struct strbuf sb = STRBUF_INIT;
	sqlite3_stmt *stmt = NULL;

	if (sqlite3_prepare_v2(db,
			       "SELECT type, name, tbl_name, sql "
			       "FROM sqlite_master WHERE name NOT IN "
			       "('schema_migrations', 'sqlite_sequence') "
			       "ORDER BY name",
			       -1, &stmt, NULL) != SQLITE_OK)
		return xstrdup("(error)");
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		for (int i = 0; i < 4; i++) {
			const unsigned char *s = sqlite3_column_text(stmt, i);
			strbuf_addf(&sb, "%s%s", s ? (const char *)s : "NULL",
				    i == 3 ? "\n" : "|");
		}
	}
	sqlite3_finalize(stmt);
	return strbuf_detach(&sb, NULL);
}

static int db_version(sqlite3 *db)
{
	struct store_migrate_status s = STORE_MIGRATE_STATUS_INIT;
	struct strbuf err = STRBUF_INIT;
	int v = -1;
	if (!store_migrate_status_read(db, NULL, &s, &err))
		v = s.version;
	store_migrate_status_release(&s);
	strbuf_release(&err);
	return v;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * dir's files named runner.db.bak* (backups, and any temporary copy left
 * behind), sorted and space-separated: "" when there is none. A copy is
 * in WAL mode like its source, so reading one leaves -wal and -shm files
 * beside it: those are not copies.
 */
static char *list_backups(const char *dir)
{
	struct strvec names = STRVEC_INIT;
	struct strbuf sb = STRBUF_INIT;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return xstrdup("(error)");
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "runner.db.bak", 13) &&
		    !ends_with(de->d_name, "-wal") &&
		    !ends_with(de->d_name, "-shm"))
			strvec_push(&names, de->d_name);
	closedir(d);
	if (names.nr)
		qsort(names.v, names.nr, sizeof(*names.v), cmp_str);
	for (size_t i = 0; i < names.nr; i++)
		strbuf_addf(&sb, "%s%s", i ? " " : "", names.v[i]);
	strvec_clear(&names);
	return strbuf_detach(&sb, NULL);
}

static void test_resolve_dir(void)
{
	unsetenv("RUNNER_STATE");
	is_str(store_resolve_dir(NULL), "./.runner", "default state dir");
	is_str(store_resolve_dir(""), "./.runner", "empty --state is unset");
	setenv("RUNNER_STATE", "/env/state", 1);
	is_str(store_resolve_dir(NULL), "/env/state", "$RUNNER_STATE");
	is_str(store_resolve_dir("/opt"), "/opt", "--state beats the env");
	setenv("RUNNER_STATE", "", 1);
	is_str(store_resolve_dir(NULL), "./.runner", "empty env is unset");
	unsetenv("RUNNER_STATE");
}

static void test_checksum(void)
{
	char hex[65];
	store_migrate_checksum("", hex);
	is_str(hex,
	       "e3b0c44298fc1c149afbf4c8996fb924"
	       "27ae41e4649b934ca495991b7852b855",
	       "checksum is SHA-256 hex");
}

/* Up, all down, up again: the same schema each time. */
static void test_real_roundtrip(void)
{
	struct store_migrate_result res = STORE_MIGRATE_RESULT_INIT;
	struct strbuf err = STRBUF_INIT;
	sqlite3 *db = open_memory();
	char *first, *again, *empty, *s;
	int nr = runner_nr_migrations;

	ok(nr >= 1, "there are embedded migrations");
	is_int(store_migrate_up(db, NULL, runner_migrations, nr, nr, &res,
				&err),
	       0, "apply every real migration: %s", err.buf);
	is_int(res.from, 0, "from version 0");
	is_int(res.to, nr, "to the latest");
	ok(!res.backup, "no backup of an in-memory database");
	first = schema_dump(db);
	ok(strstr(first, "table|runs|runs|CREATE TABLE runs") != NULL,
	   "the runs table exists");
	is_int(store_migrate_down(db, NULL, runner_migrations, nr, 0, &res,
				  &err),
	       0, "roll every real migration back: %s", err.buf);
	is_int(res.to, 0, "rolled back to 0");
	empty = schema_dump(db);
	is_str(empty, "", "the schema is empty after all down");
	is_int(query_int(db, "SELECT count(*) FROM schema_migrations"), 0,
	       "schema_migrations is empty");
	is_int(store_migrate_up(db, NULL, runner_migrations, nr, nr, &res,
				&err),
	       0, "apply them again: %s", err.buf);
	again = schema_dump(db);
	is_str(again, first, "the schema is identical after up-down-up");
	s = query_text(db, "PRAGMA integrity_check");
	is_str(s, "ok", "the database is sound");
	free(s);
	free(first);
	free(again);
	free(empty);
	store_migrate_result_release(&res);
	strbuf_release(&err);
	sqlite3_close(db);
}

/*
 * Each real migration on its own: its down restores the schema that was
 * there before its up, whichever migration is the latest.
 */
static void test_real_each_step(void)
{
	struct store_migrate_result res = STORE_MIGRATE_RESULT_INIT;
	struct strbuf err = STRBUF_INIT;
	sqlite3 *db = open_memory();
	int nr = runner_nr_migrations;
	char **before = xcalloc(nr + 1, sizeof(*before));
	char *s;

	for (int v = 1; v <= nr; v++) {
		const struct migration *m = &runner_migrations[v - 1];
		before[v - 1] = schema_dump(db);
		is_int(m->version, v, "runner_migrations[%d] is version %d",
		       v - 1, v);
		is_int(store_migrate_up(db, NULL, runner_migrations, nr, v,
					&res, &err),
		       0, "apply %d (%s) alone: %s", v, m->name, err.buf);
		is_int(res.from, v - 1, "from %d", v - 1);
		is_int(res.to, v, "to %d", v);
	}
	before[nr] = schema_dump(db);
	for (int v = nr; v >= 1; v--) {
		const struct migration *m = &runner_migrations[v - 1];
		is_int(store_migrate_down(db, NULL, runner_migrations, nr,
					  v - 1, &res, &err),
		       0, "roll back %d (%s) alone: %s", v, m->name, err.buf);
		is_int(db_version(db), v - 1, "at version %d", v - 1);
		s = schema_dump(db);
		is_str(s, before[v - 1],
		       "rolling back %d (%s) restores the version %d schema",
		       v, m->name, v - 1);
		free(s);
	}
	for (int v = 0; v <= nr; v++)
		free(before[v]);
	free(before);
	store_migrate_result_release(&res);
	strbuf_release(&err);
	sqlite3_close(db);
}

static void test_fixture_steps(void)
{
	struct store_migrate_result res = STORE_MIGRATE_RESULT_INIT;
	struct strbuf err = STRBUF_INIT;
	sqlite3 *db = open_memory();
	char *v1, *v2, *v3, *s;

	is_int(store_migrate_up(db, NULL, fixture, NR_FIXTURE, 1, &res, &err),
	       0, "up --to 1: %s", err.buf);
	is_int(db_version(db), 1, "at version 1");
	v1 = schema_dump(db);
	is_int(store_migrate_up(db, NULL, fixture, NR_FIXTURE, 2, &res, &err),
	       0, "up --to 2: %s", err.buf);
	is_int(res.from, 1, "from 1");
	is_int(res.to, 2, "to 2");
	v2 = schema_dump(db);
	sqlite3_exec(db,
		     "INSERT INTO a (id, v) VALUES (1, 'x');"
		     "INSERT INTO b (id, a_id) VALUES (1, 1);",
		     NULL, NULL, NULL);
	is_int(store_migrate_up(db, NULL, fixture, NR_FIXTURE, 3, &res, &err),
	       0, "up to 3: %s", err.buf);
	v3 = schema_dump(db);
	ok(strstr(v3, "w INTEGER") != NULL, "column w added");
	is_int(query_int(db, "SELECT count(*) FROM log"), 3,
	       "each up ran once");
	is_int(query_int(db, "PRAGMA foreign_keys"), 1,
	       "foreign keys are back on after migrating");

	is_int(store_migrate_up(db, NULL, fixture, NR_FIXTURE, 3, &res, &err),
	       0, "up at the latest is a no-op");
	is_int(res.from, 3, "no-op from 3");
	is_int(res.to, 3, "no-op to 3");

	is_int(store_migrate_down(db, NULL, fixture, NR_FIXTURE, 2, &res,
				  &err),
	       0, "down --to 2: %s", err.buf);
	s = schema_dump(db);
	is_str(s, v2, "back to the version 2 schema");
	free(s);
	is_int(query_int(db, "SELECT count(*) FROM b"), 1,
	       "data below the rolled-back step is kept");
	is_int(store_migrate_down(db, NULL, fixture, NR_FIXTURE, 1, &res,
				  &err),
	       0, "down --to 1: %s", err.buf);
	s = schema_dump(db);
	is_str(s, v1, "back to the version 1 schema");
	free(s);
	is_int(db_version(db), 1, "at version 1");
	is_int(query_int(db, "SELECT count(*) FROM schema_migrations"), 1,
	       "one row left in schema_migrations");
	is_int(query_int(db, "PRAGMA foreign_keys"), 1,
	       "foreign keys are back on after rolling back");

	strbuf_reset(&err);
	is_int(store_migrate_down(db, NULL, fixture, NR_FIXTURE, 2, &res,
				  &err),
	       -1, "down to a higher version fails");
	is_str(err.buf,
	       "':memory:' is at schema version 1, below 2; migrate instead",
	       "and says why");
	strbuf_reset(&err);
	is_int(store_migrate_up(db, NULL, fixture, NR_FIXTURE, 4, &res, &err),
	       -1, "up to an unknown version fails");
	is_str(err.buf,
	       "no schema version 4: this runner knows versions 0 to 3",
	       "and says why");
	strbuf_reset(&err);
	is_int(store_migrate_up(db, NULL, fixture, NR_FIXTURE, 0, &res, &err),
	       -1, "up to a lower version fails");
	is_str(err.buf,
	       "':memory:' is at schema version 1, past 0; roll back instead",
	       "and says why");

	strbuf_reset(&err);
	is_int(store_migrate_down(db, NULL, fixture, NR_FIXTURE, 0, &res,
				  &err),
	       0, "down --to 0: %s", err.buf);
	s = schema_dump(db);
	is_str(s, "", "nothing left");
	free(s);
	free(v1);
	free(v2);
	free(v3);
	store_migrate_result_release(&res);
	strbuf_release(&err);
	sqlite3_close(db);
}

static void test_failures(void)
{
	static const struct migration bad[] = {
		{ 1, "one", "CREATE TABLE a (id INTEGER PRIMARY KEY);", "" },
		{ 2, "half",
		  "CREATE TABLE c (x);\nINSERT INTO nosuch VALUES (1);",
		  "DROP TABLE c;" },
	};
	static const struct migration commits[] = {
		{ 1, "sneaky", "CREATE TABLE a (x);\nCOMMIT;\nBEGIN;",
		  "DROP TABLE a;" },
	};
	static const struct migration orphans[] = {
		{ 1, "one",
		  "CREATE TABLE p (id INTEGER PRIMARY KEY);\n"
		  "CREATE TABLE k (p_id INTEGER REFERENCES p (id));\n"
		  "INSERT INTO k VALUES (7);",
		  "DROP TABLE k; DROP TABLE p;" },
	};
	struct store_migrate_result res = STORE_MIGRATE_RESULT_INIT;
	struct strbuf err = STRBUF_INIT;
	sqlite3 *db = open_memory();

	is_int(store_migrate_up(db, NULL, bad, 2, 2, &res, &err), -1,
	       "a failing migration fails");
	is_str(err.buf,
	       "applying migration 2 (half) on ':memory:' failed: no such "
	       "table: nosuch; the database stays at schema version 1",
	       "naming the migration and the version kept");
	is_int(res.to, 1, "the migration before it stays applied");
	is_int(db_version(db), 1, "the database is at version 1");
	is_int(query_int(db, "SELECT count(*) FROM sqlite_master "
			     "WHERE name = 'c'"),
	       0, "nothing of the failed migration is left");
	is_int(sqlite3_get_autocommit(db), 1, "no transaction left open");
	sqlite3_close(db);

	db = open_memory();
	strbuf_reset(&err);
	is_int(store_migrate_up(db, NULL, commits, 1, 1, &res, &err), -1,
	       "COMMIT inside a migration is refused");
	ok(strstr(err.buf, "contains a transaction statement") != NULL,
	   "saying why: %s", err.buf);
	is_int(query_int(db, "SELECT count(*) FROM sqlite_master "
			     "WHERE name = 'a'"),
	       0, "and nothing was committed");
	sqlite3_close(db);

	db = open_memory();
	strbuf_reset(&err);
	is_int(store_migrate_up(db, NULL, orphans, 1, 1, &res, &err), -1,
	       "a migration breaking a foreign key is refused");
	ok(strstr(err.buf, "leaves rows in 'k' whose foreign key to 'p'") !=
		   NULL,
	   "saying which: %s", err.buf);
	is_int(db_version(db), 0, "and is not applied");
	sqlite3_close(db);

	store_migrate_result_release(&res);
	strbuf_release(&err);
}

static void test_refusals(void)
{
	struct store_migrate_status s = STORE_MIGRATE_STATUS_INIT;
	struct store_migrate_result res = STORE_MIGRATE_RESULT_INIT;
	struct strbuf err = STRBUF_INIT;
	sqlite3 *db = open_memory();

	store_migrate_up(db, NULL, fixture, NR_FIXTURE, 2, &res, &err);
	sqlite3_exec(db,
		     "UPDATE schema_migrations SET checksum = 'beef' "
		     "WHERE version = 1",
		     NULL, NULL, NULL);
	store_migrate_status_read(db, "x/runner.db", &s, &err);
	is_int(store_migrate_check(&s, fixture, NR_FIXTURE, "x/runner.db",
				   &err),
	       -1, "a changed checksum is refused");
	is_str(err.buf,
	       "migration 1 (one) was changed after it was applied to "
	       "'x/runner.db' (checksum mismatch); restore the original "
	       "migrations/0001_one.up.sql or use a matching runner",
	       "with the checksum message");
	strbuf_reset(&err);
	is_int(store_migrate_up(db, NULL, fixture, NR_FIXTURE, 3, &res, &err),
	       -1, "migrate refuses it too");
	is_int(db_version(db), 2, "and changes nothing");
	strbuf_reset(&err);
	is_int(store_migrate_down(db, NULL, fixture, NR_FIXTURE, 0, &res,
				  &err),
	       -1, "so does rollback");
	is_int(db_version(db), 2, "which changes nothing either");

	sqlite3_exec(db, "DELETE FROM schema_migrations WHERE version = 1",
		     NULL, NULL, NULL);
	strbuf_reset(&err);
	store_migrate_status_read(db, NULL, &s, &err);
	is_int(store_migrate_check(&s, fixture, NR_FIXTURE, NULL, &err), -1,
	       "a gap in the history is refused");
	is_str(err.buf,
	       "the migration history of ':memory:' is damaged (version 2 "
	       "is recorded without version 1); restore it from a "
	       "runner.db.bak-* copy",
	       "with a message");

	sqlite3_exec(db,
		     "INSERT INTO schema_migrations VALUES "
		     "(999, 'future', 'x', 0)",
		     NULL, NULL, NULL);
	strbuf_reset(&err);
	store_migrate_status_read(db, "s/runner.db", &s, &err);
	is_int(s.version, 999, "version is the highest applied");
	is_int(store_migrate_check(&s, fixture, NR_FIXTURE, "s/runner.db",
				   &err),
	       -1, "a newer database is refused");
	is_str(err.buf,
	       "state database 's/runner.db' is at schema version 999 but "
	       "this runner knows only up to 3; use a newer runner",
	       "with the newer-version message");
	store_migrate_status_release(&s);
	store_migrate_result_release(&res);
	strbuf_release(&err);
	sqlite3_close(db);
}

static void test_open(void)
{
	char *tmp = make_tmpdir();
	char *dir = xstrfmt("%s/deep/state", tmp);
	char *path = NULL;
	struct strbuf err = STRBUF_INIT;
	struct store *st = NULL;
	struct stat sb;
	char *s;

	is_int(store_open(dir, STORE_MIGRATE, &st, &err), 0,
	       "open a fresh state: %s", err.buf);
	if (!st)
		goto out;
	ok(!stat(dir, &sb) && S_ISDIR(sb.st_mode) &&
		   (sb.st_mode & 07777) == 0700,
	   "the state directory is made with mode 0700");
	path = xstrfmt("%s/runs", dir);
	ok(!stat(path, &sb) && S_ISDIR(sb.st_mode), "runs/ is made");
	free(path);
	path = xstrfmt("%s/runner.db", dir);
	is_str(store_path(st), path, "store_path");
	is_str(store_dir(st), dir, "store_dir");
	ok(!store_backup_path(st), "no backup of a fresh state");
	s = list_backups(dir);
	is_str(s, "", "and no runner.db.bak-* file, whatever the number of "
		      "migrations (%d)", runner_nr_migrations);
	free(s);
	s = query_text(store_db(st), "PRAGMA journal_mode");
	is_str(s, "wal", "WAL mode is on");
	free(s);
	is_int(query_int(store_db(st), "PRAGMA busy_timeout"), 10000,
	       "busy timeout is 10 s");
	is_int(query_int(store_db(st), "PRAGMA foreign_keys"), 1,
	       "foreign keys are on");
	is_int(query_int(store_db(st), "PRAGMA synchronous"), 1,
	       "synchronous is NORMAL");
	is_int(db_version(store_db(st)), runner_nr_migrations,
	       "migrated to the latest");

	is_int(store_begin(st, &err), 0, "begin");
	is_int(store_exec(st,
			  "INSERT INTO events (at, level, kind, message) "
			  "VALUES (1, 'info', 'k', 'm')",
			  &err),
	       0, "exec in a transaction: %s", err.buf);
	store_rollback(st);
	is_int(query_int(store_db(st), "SELECT count(*) FROM events"), 0,
	       "rollback undoes it");
	store_rollback(st);
	ok(sqlite3_get_autocommit(store_db(st)),
	   "rollback outside a transaction opens none");
	strbuf_reset(&err);
	is_int(store_commit(st, &err), -1,
	       "nor leaves a depth to commit: the count did not go negative");
	ok(strstr(err.buf, "no transaction is open") != NULL,
	   "and says so: %s", err.buf);
	is_int(store_begin(st, &err), 0, "begin again");
	store_exec(st,
		   "INSERT INTO events (at, level, kind, message) "
		   "VALUES (1, 'info', 'k', 'm')",
		   &err);
	is_int(store_commit(st, &err), 0, "commit");
	is_int(query_int(store_db(st), "SELECT count(*) FROM events"), 1,
	       "commit keeps it");
	store_rollback(st);
	is_int(query_int(store_db(st), "SELECT count(*) FROM events"), 1,
	       "a rollback after the commit undoes nothing committed");
	/* Nested: savepoints inside the outer transaction. */
	is_int(store_begin(st, &err), 0, "outer begin");
	is_int(store_begin(st, &err), 0, "inner begin (a savepoint): %s",
	       err.buf);
	store_exec(st,
		   "INSERT INTO events (at, level, kind, message) "
		   "VALUES (2, 'info', 'k', 'kept')",
		   &err);
	is_int(store_commit(st, &err), 0, "inner commit releases it");
	is_int(store_begin(st, &err), 0, "second inner begin");
	store_exec(st,
		   "INSERT INTO events (at, level, kind, message) "
		   "VALUES (3, 'info', 'k', 'undone')",
		   &err);
	store_rollback(st);
	ok(!sqlite3_get_autocommit(store_db(st)),
	   "an inner rollback leaves the outer transaction open");
	{
		sqlite3 *other;
		sqlite3_open(store_path(st), &other);
		is_int(query_int(other, "SELECT count(*) FROM events"), 1,
		       "nothing is visible to others before the outer commit");
		is_int(store_commit(st, &err), 0, "outer commit: %s", err.buf);
		is_int(query_int(other, "SELECT count(*) FROM events"), 2,
		       "the outer commit writes the kept savepoint");
		is_int(query_int(other, "SELECT count(*) FROM events WHERE "
					"message = 'undone'"),
		       0, "and not the rolled-back one");
		sqlite3_close(other);
	}
	strbuf_reset(&err);
	is_int(store_exec(st, "INSERT INTO nosuch VALUES (1)", &err), -1,
	       "exec reports errors");
	is_str(err.buf, "no such table: nosuch", "with SQLite's message");
	strbuf_reset(&err);
	is_int(store_commit(st, &err), -1, "commit without begin fails");
	ok(strstr(err.buf, "cannot commit to state database") != NULL,
	   "with a message: %s", err.buf);
	{
		sqlite3_stmt *stmt = NULL;
		strbuf_reset(&err);
		is_int(store_prepare(st, "SELECT nosuch FROM runs", &stmt,
				     &err),
		       -1, "prepare reports errors");
		ok(!stmt, "and leaves no statement");
		is_int(store_prepare(st, "SELECT count(*) FROM runs", &stmt,
				     &err),
		       0, "prepare");
		/* Left unfinalized on purpose: store_close() cleans up. */
	}
	store_close(st);
	st = NULL;

	strbuf_reset(&err);
	is_int(store_open(dir, STORE_MIGRATE, &st, &err), 0,
	       "open an existing state: %s", err.buf);
	ok(st && !store_backup_path(st), "nothing pending, no backup");
	s = list_backups(dir);
	is_str(s, "", "still no runner.db.bak-* file");
	free(s);
	store_close(st);
	st = NULL;
	store_close(NULL);
out:
	free(path);
	free(dir);
	strbuf_release(&err);
	remove_tmpdir(tmp);
}

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int ret = fd < 0 ? -1 : fs_write_all(fd, data, len);
	if (fd >= 0)
		close(fd);
	return ret;
}

static void test_open_errors(void)
{
	char *tmp = make_tmpdir();
	char *file = xstrfmt("%s/file", tmp);
	char *dir = xstrfmt("%s/file/state", tmp);
	char *db = NULL;
	struct strbuf err = STRBUF_INIT, want = STRBUF_INIT;
	struct strbuf before = STRBUF_INIT, after = STRBUF_INIT;
	struct store *st = NULL;
	unsigned char junk[8192];

	write_file(file, "x", 1);
	is_int(store_open(dir, STORE_MIGRATE, &st, &err), -1,
	       "a state directory under a file fails");
	ok(!st, "and gives no store");
	strbuf_addf(&want, "cannot create state directory '%s': %s", dir,
		    strerror(ENOTDIR));
	is_str(err.buf, want.buf, "naming the directory and the reason");

	strbuf_reset(&err);
	strbuf_reset(&want);
	is_int(store_open(file, STORE_MIGRATE, &st, &err), -1,
	       "a state directory that is a file fails");
	strbuf_addf(&want, "cannot use '%s' as state directory: not a "
			   "directory",
		    file);
	is_str(err.buf, want.buf, "saying so");

	/* Random bytes where the database should be. */
	free(dir);
	dir = xstrfmt("%s/corrupt", tmp);
	db = xstrfmt("%s/runner.db", dir);
	mkdir(dir, 0700);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 7919 + 13);
	write_file(db, junk, sizeof(junk));
	strbuf_reset(&err);
	strbuf_reset(&want);
	is_int(store_open(dir, STORE_MIGRATE, &st, &err), -1,
	       "a file of random bytes is refused");
	strbuf_addf(&want,
		    "state database '%s' is not a SQLite database or is "
		    "corrupt (file is not a database); no backup of it is in "
		    "'%s'; restore it from one of your own or move it aside "
		    "to start a new state",
		    db, dir);
	is_str(err.buf, want.buf, "with the corrupt-database message");
	strbuf_read_file(&after, db);
	ok(after.len == sizeof(junk) && !memcmp(after.buf, junk, after.len),
	   "and the file is left as it was");
	strbuf_reset(&err);
	is_int(store_open(dir, STORE_NO_MIGRATE, &st, &err), -1,
	       "also when not migrating");

	/* A real database whose schema page is damaged. */
	free(dir);
	free(db);
	dir = xstrfmt("%s/damaged", tmp);
	db = xstrfmt("%s/runner.db", dir);
	strbuf_reset(&err);
	if (store_open(dir, STORE_MIGRATE, &st, &err) == 0) {
		int fd;
		store_close(st);
		st = NULL;
		fd = open(db, O_WRONLY);
		if (fd >= 0) {
			/* Page 1 past the header: sqlite_master's b-tree. */
			if (pwrite(fd, junk, 1000, 100) != 1000)
				printf("# pwrite failed\n");
			close(fd);
		}
	}
	strbuf_reset(&before);
	strbuf_read_file(&before, db);
	strbuf_reset(&err);
	is_int(store_open(dir, STORE_MIGRATE, &st, &err), -1,
	       "a damaged database is refused");
	ok(strstr(err.buf, "is not a SQLite database or is corrupt") &&
		   strstr(err.buf, db),
	   "with the corrupt-database message: %s", err.buf);
	strbuf_reset(&after);
	strbuf_read_file(&after, db);
	ok(before.len == after.len &&
		   !memcmp(before.buf, after.buf, after.len),
	   "and the file is left as it was");

	free(file);
	free(dir);
	free(db);
	strbuf_release(&err);
	strbuf_release(&want);
	strbuf_release(&before);
	strbuf_release(&after);
	remove_tmpdir(tmp);
}

/*
 * Data written since the last checkpoint lives in the -wal file: the
 * backup must still contain it. The real migrations are followed by one
 * more (version N + 1), so this holds whatever the latest real one is.
 */
static void test_backup(void)
{
	char *tmp = make_tmpdir();
	int nr = runner_nr_migrations;
	struct strbuf err = STRBUF_INIT, want = STRBUF_INIT;
	struct store_migrate_result res = STORE_MIGRATE_RESULT_INIT;
	struct migration *more = xcalloc(nr + 1, sizeof(*more));
	struct store *st = NULL;
	sqlite3 *bak = NULL;
	char *bakpath = xstrfmt("%s/runner.db.bak-%d", tmp, nr);
	char *bakpath2 = xstrfmt("%s/runner.db.bak-%d", tmp, nr + 1);
	char *wal = xstrfmt("%s/runner.db-wal", tmp);
	char *name1 = xstrfmt("runner.db.bak-%d", nr);
	char *name2 = xstrfmt("runner.db.bak-%d", nr + 1);
	char *s;
	struct stat sb;

	memcpy(more, runner_migrations, nr * sizeof(*more));
	more[nr] = (struct migration){ nr + 1, "extra",
				       "CREATE TABLE extra (x);",
				       "DROP TABLE extra;" };

	is_int(store_open(tmp, STORE_MIGRATE, &st, &err), 0, "open: %s",
	       err.buf);
	if (!st)
		goto out;
	store_exec(st,
		   "INSERT INTO runs (id, plan_name, plan_path, plan_sha256, "
		   "backend, status, started_at, host, pid) VALUES ('r1', "
		   "'p', 'p.yaml', 'x', 'local', 'running', 1, 'h', 1)",
		   &err);
	ok(!stat(wal, &sb) && sb.st_size > 0, "the new row is in the WAL");
	is_int(store_migrate_up(store_db(st), store_path(st), more, nr + 1,
				nr + 1, &res, &err),
	       0, "migrate %d -> %d: %s", nr, nr + 1, err.buf);
	is_int(res.from, nr, "from %d", nr);
	is_int(res.to, nr + 1, "to %d", nr + 1);
	is_str(res.backup, bakpath, "the backup is runner.db.bak-%d", nr);
	ok(!stat(bakpath, &sb) && S_ISREG(sb.st_mode), "and it exists");
	s = list_backups(tmp);
	is_str(s, name1, "and is the only one (no temporary copy left)");
	free(s);
	if (sqlite3_open_v2(bakpath, &bak, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK) {
		s = query_text(bak, "PRAGMA integrity_check");
		is_str(s, "ok", "the backup is a valid SQLite database");
		free(s);
		is_int(db_version(bak), nr,
		       "at the version before migrating");
		is_int(query_int(bak, "SELECT count(*) FROM runs"), 1,
		       "with the row that was only in the WAL");
		is_int(query_int(bak, "SELECT count(*) FROM sqlite_master "
				      "WHERE name = 'extra'"),
		       0, "and without the new migration");
	} else {
		ok(0, "cannot open the backup: %s", sqlite3_errmsg(bak));
	}
	sqlite3_close(bak);
	bak = NULL;

	store_migrate_result_release(&res);
	is_int(store_migrate_up(store_db(st), store_path(st), more, nr + 1,
				nr + 1, &res, &err),
	       0, "migrating again: %s", err.buf);
	ok(!res.backup, "makes no backup when nothing is pending");

	is_int(store_migrate_down(store_db(st), store_path(st), more, nr + 1,
				  nr, &res, &err),
	       0, "rollback %d -> %d: %s", nr + 1, nr, err.buf);
	is_str(res.backup, bakpath2, "rollback backs up to runner.db.bak-%d",
	       nr + 1);
	ok(!stat(bakpath2, &sb), "which exists");
	if (strcmp(name1, name2) < 0)
		strbuf_addf(&want, "%s %s", name1, name2);
	else
		strbuf_addf(&want, "%s %s", name2, name1);
	s = list_backups(tmp);
	is_str(s, want.buf, "beside the first one");
	free(s);
	store_close(st);
	st = NULL;

	/* Back at version N, the real list accepts it again. */
	is_int(store_open(tmp, STORE_MIGRATE, &st, &err), 0,
	       "the real list opens version %d: %s", nr, err.buf);
	ok(st && !store_backup_path(st), "with nothing to migrate or copy");
	store_close(st);
	st = NULL;

	strbuf_reset(&err);
	is_int(store_migrate_backup("/nonexistent/runner.db", bakpath, &err),
	       -1, "backing up a missing file fails");
	ok(strstr(err.buf, "cannot open '/nonexistent/runner.db' to back it "
			   "up") != NULL,
	   "with a message: %s", err.buf);
out:
	store_close(st);
	store_migrate_result_release(&res);
	strbuf_release(&err);
	strbuf_release(&want);
	free(more);
	free(bakpath);
	free(bakpath2);
	free(wal);
	free(name1);
	free(name2);
	remove_tmpdir(tmp);
}

/*
 * The copy is of data that was there before: a fresh database migrated
 * through several versions gets none; one that had version >= 1 gets one
 * copy, named after the version it started from, however many migrations
 * follow.
 */
static void test_backup_once(void)
{
	char *tmp = make_tmpdir();
	struct strbuf err = STRBUF_INIT;
	struct store_migrate_result res = STORE_MIGRATE_RESULT_INIT;
	struct store *st = NULL;
	sqlite3 *bak = NULL;
	char *want = NULL;
	char *s;

	if (store_open(tmp, STORE_NO_MIGRATE, &st, &err) < 0) {
		ok(0, "open: %s", err.buf);
		goto out;
	}
	is_int(store_migrate_up(store_db(st), store_path(st), fixture,
				NR_FIXTURE, NR_FIXTURE, &res, &err),
	       0, "migrate a fresh file 0 -> 3: %s", err.buf);
	is_int(res.from, 0, "from 0");
	is_int(res.to, 3, "to 3");
	ok(!res.backup, "no backup of a fresh database");
	s = list_backups(tmp);
	is_str(s, "", "and no runner.db.bak-* file");
	free(s);

	store_exec(st, "INSERT INTO a (id, v) VALUES (1, 'x')", &err);
	is_int(store_migrate_down(store_db(st), store_path(st), fixture,
				  NR_FIXTURE, 1, &res, &err),
	       0, "roll back 3 -> 1: %s", err.buf);
	want = xstrfmt("%s/runner.db.bak-3", tmp);
	is_str(res.backup, want, "one backup, runner.db.bak-3");
	s = list_backups(tmp);
	is_str(s, "runner.db.bak-3", "and no bak-2");
	free(s);

	store_migrate_result_release(&res);
	free(want);
	is_int(store_migrate_up(store_db(st), store_path(st), fixture,
				NR_FIXTURE, NR_FIXTURE, &res, &err),
	       0, "migrate 1 -> 3: %s", err.buf);
	is_int(res.from, 1, "from 1");
	want = xstrfmt("%s/runner.db.bak-1", tmp);
	is_str(res.backup, want, "one backup, runner.db.bak-1");
	s = list_backups(tmp);
	is_str(s, "runner.db.bak-1 runner.db.bak-3",
	       "made once: there is no bak-2");
	free(s);
	if (sqlite3_open_v2(want, &bak, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK) {
		is_int(db_version(bak), 1, "the copy is at version 1");
		is_int(query_int(bak, "SELECT count(*) FROM a"), 1,
		       "with the data");
	} else {
		ok(0, "cannot open the backup: %s", sqlite3_errmsg(bak));
	}
	sqlite3_close(bak);
out:
	store_close(st);
	store_migrate_result_release(&res);
	strbuf_release(&err);
	free(want);
	remove_tmpdir(tmp);
}

/* The store refuses newer and changed databases on open. */
static void test_open_refusals(void)
{
	char *tmp = make_tmpdir();
	struct strbuf err = STRBUF_INIT, want = STRBUF_INIT;
	struct store *st = NULL;
	char *db = xstrfmt("%s/runner.db", tmp);

	if (store_open(tmp, STORE_MIGRATE, &st, &err) < 0) {
		ok(0, "open: %s", err.buf);
		goto out;
	}
	store_exec(st,
		   "INSERT INTO schema_migrations VALUES "
		   "(999, 'future', 'x', 0)",
		   &err);
	store_close(st);
	st = NULL;
	is_int(store_open(tmp, STORE_MIGRATE, &st, &err), -1,
	       "a newer database is refused on open");
	strbuf_addf(&want,
		    "state database '%s' is at schema version 999 but this "
		    "runner knows only up to %d; use a newer runner",
		    db, runner_nr_migrations);
	is_str(err.buf, want.buf, "with the newer-version message");
	strbuf_reset(&err);
	is_int(store_open(tmp, STORE_NO_MIGRATE, &st, &err), 0,
	       "but can be opened as it is (for db status)");
	store_exec(st, "DELETE FROM schema_migrations WHERE version = 999;"
		       "UPDATE schema_migrations SET checksum = 'x' "
		       "WHERE version = 1",
		   &err);
	store_close(st);
	st = NULL;
	strbuf_reset(&err);
	strbuf_reset(&want);
	is_int(store_open(tmp, STORE_MIGRATE, &st, &err), -1,
	       "a changed migration is refused on open");
	strbuf_addf(&want,
		    "migration 1 (%s) was changed after it was applied to "
		    "'%s' (checksum mismatch); restore the original "
		    "migrations/0001_%s.up.sql or use a matching runner",
		    runner_migrations[0].name, db, runner_migrations[0].name);
	is_str(err.buf, want.buf, "with the checksum message");
out:
	store_close(st);
	free(db);
	strbuf_release(&err);
	strbuf_release(&want);
	remove_tmpdir(tmp);
}

#define RACERS 8

/*
 * RACERS processes open one fresh state at the same moment; with the
 * fixture they also race through three migrations. Each must succeed and
 * each migration must run once.
 */
static void race(const char *dir, int fixture_list)
{
	pid_t pids[RACERS];
	int go[2];
	int failed = 0;

	if (pipe(go) < 0)
		exit(1);
	fflush(stdout);
	for (int i = 0; i < RACERS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct strbuf err = STRBUF_INIT;
			struct store_migrate_result res =
				STORE_MIGRATE_RESULT_INIT;
			struct store *st = NULL;
			char c;
			int rc;

			close(go[1]);
			if (read(go[0], &c, 1) < 0)
				_exit(2);
			rc = store_open(dir,
					fixture_list ? STORE_NO_MIGRATE :
						       STORE_MIGRATE,
					&st, &err);
			if (!rc && fixture_list)
				rc = store_migrate_up(store_db(st),
						      store_path(st), fixture,
						      NR_FIXTURE, NR_FIXTURE,
						      &res, &err);
			if (rc)
				printf("# racer %d: %s\n", i, err.buf);
			fflush(stdout);
			store_close(st);
			store_migrate_result_release(&res);
			strbuf_release(&err);
			_exit(rc ? 1 : 0);
		}
	}
	close(go[0]);
	close(go[1]);
	for (int i = 0; i < RACERS; i++) {
		int status;
		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			failed++;
	}
	is_int(failed, 0, "%d processes opening a fresh state at once "
			  "all succeed%s",
	       RACERS, fixture_list ? " (three migrations)" : "");
}

static void test_race(void)
{
	char *tmp = make_tmpdir();
	char *dir = xstrfmt("%s/a", tmp);
	struct strbuf err = STRBUF_INIT;
	struct store *st = NULL;

	race(dir, 0);
	if (store_open(dir, STORE_NO_MIGRATE, &st, &err) == 0) {
		is_int(query_int(store_db(st),
				 "SELECT count(*) FROM schema_migrations"),
		       runner_nr_migrations, "each migration recorded once");
		store_close(st);
		st = NULL;
	}
	free(dir);
	dir = xstrfmt("%s/b", tmp);
	race(dir, 1);
	if (store_open(dir, STORE_NO_MIGRATE, &st, &err) == 0) {
		is_int(query_int(store_db(st), "SELECT count(*) FROM log"), 3,
		       "each fixture migration ran once");
		is_int(query_int(store_db(st),
				 "SELECT count(*) FROM schema_migrations"),
		       3, "and is recorded once");
		store_close(st);
	}
	free(dir);
	strbuf_release(&err);
	remove_tmpdir(tmp);
}

/*
 * Another process holding the write lock makes store_begin() wait (busy
 * timeout) instead of failing with "database is locked". The child is
 * forked before the parent opens the database: SQLite connections must not
 * cross a fork.
 */
static void test_busy_wait(void)
{
	char *tmp = make_tmpdir();
	struct strbuf err = STRBUF_INIT;
	struct store *st = NULL;
	int go[2];
	pid_t pid;
	int status = -1;
	char *s;

	if (store_open(tmp, STORE_MIGRATE, &st, &err) < 0) {
		ok(0, "open: %s", err.buf);
		goto out;
	}
	store_close(st);
	st = NULL;
	if (pipe(go) < 0)
		exit(1);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct store *st2 = NULL;
		int64_t t0;
		char c;
		int rc;

		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		t0 = time_mono_ms();
		rc = store_open(tmp, STORE_MIGRATE, &st2, &err);
		if (!rc)
			rc = store_begin(st2, &err);
		if (!rc)
			rc = store_exec(st2,
					"INSERT INTO events (at, level, kind, "
					"message) VALUES (2, 'info', 'k', "
					"'child')",
					&err);
		if (!rc)
			rc = store_commit(st2, &err);
		if (rc)
			printf("# child: %s\n", err.buf);
		else if (time_mono_ms() - t0 < 200)
			printf("# child did not wait\n"), rc = -1;
		fflush(stdout);
		store_close(st2);
		strbuf_release(&err);
		_exit(rc ? 1 : 0);
	}
	close(go[0]);
	if (store_open(tmp, STORE_MIGRATE, &st, &err) < 0 ||
	    store_begin(st, &err) < 0) {
		ok(0, "open and begin: %s", err.buf);
		close(go[1]);
		waitpid(pid, &status, 0);
		goto out;
	}
	if (write(go[1], "x", 1) != 1)
		exit(1);
	close(go[1]);
	time_sleep_ms(400);
	store_exec(st,
		   "INSERT INTO events (at, level, kind, message) "
		   "VALUES (1, 'info', 'k', 'parent')",
		   &err);
	is_int(store_commit(st, &err), 0, "parent commits: %s", err.buf);
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "a second process waits for the lock, then writes");
	s = query_text(store_db(st),
		       "SELECT group_concat(message, ',') FROM "
		       "(SELECT message FROM events ORDER BY id)");
	is_str(s, "parent,child", "in that order");
	free(s);
out:
	store_close(st);
	strbuf_release(&err);
	remove_tmpdir(tmp);
}

/*
 * SQLite rolls a whole transaction back by itself on a full disk. Inside a
 * batch, nothing after that may be written outside it (a lone statement
 * would autocommit), and the batch's commit must fail, not pretend.
 */
static void test_batch_aborted(void)
{
	char *tmp = make_tmpdir();
	struct strbuf err = STRBUF_INIT;
	struct store *st = NULL;
	char *big = xmalloc(200000), *sql;

	memset(big, 'x', 199999);
	big[199999] = '\0';
	if (store_open(tmp, STORE_MIGRATE, &st, &err) < 0) {
		ok(0, "open: %s", err.buf);
		goto out;
	}
	sql = xstrfmt("PRAGMA max_page_count = %lld",
		      query_int(store_db(st), "PRAGMA page_count") + 20);
	store_exec(st, sql, &err);
	free(sql);
	is_int(store_begin(st, &err), 0, "batch begins");
	store_exec(st,
		   "INSERT INTO events (at, level, kind, message) "
		   "VALUES (1, 'info', 'early', 'm')",
		   &err);
	is_int(store_begin(st, &err), 0, "a unit begins inside it");
	sql = xstrfmt("INSERT INTO events (at, level, kind, message) "
		      "VALUES (2, 'info', 'big', '%s')",
		      big);
	is_int(store_exec(st, sql, &err), -1, "the disk fills");
	free(sql);
	ok(sqlite3_get_autocommit(store_db(st)),
	   "SQLite rolled everything back by itself");
	store_rollback(st);
	strbuf_reset(&err);
	is_int(store_writable(st, &err), -1,
	       "a lone statement may not write now");
	ok(strstr(err.buf, "rolled the enclosing transaction back") != NULL,
	   "and says why: %s", err.buf);
	strbuf_reset(&err);
	is_int(store_begin(st, &err), -1, "nor may a new unit begin");
	strbuf_reset(&err);
	is_int(store_commit(st, &err), -1, "the batch does not commit");
	ok(strstr(err.buf, "rolled the enclosing transaction back") != NULL,
	   "and says why: %s", err.buf);
	is_int(query_int(store_db(st), "SELECT count(*) FROM events"), 0,
	       "nothing of the batch was written, nothing outside it either");
	store_exec(st, "PRAGMA max_page_count = 1000000", &err);
	strbuf_reset(&err);
	is_int(store_begin(st, &err), 0, "the next batch begins: %s", err.buf);
	is_int(store_writable(st, &err), 0, "and may write");
	store_exec(st,
		   "INSERT INTO events (at, level, kind, message) "
		   "VALUES (3, 'info', 'later', 'm')",
		   &err);
	is_int(store_commit(st, &err), 0, "and commits: %s", err.buf);
	is_int(query_int(store_db(st), "SELECT count(*) FROM events"), 1,
	       "its row is there");
	strbuf_reset(&err);
	is_int(store_commit(st, &err), -1, "a commit with nothing open fails");
	ok(strstr(err.buf, "no transaction is open") != NULL, "saying so: %s",
	   err.buf);
out:
	store_close(st);
	free(big);
	strbuf_release(&err);
	remove_tmpdir(tmp);
}

int main(void)
{
	test_resolve_dir();
	test_checksum();
	test_real_roundtrip();
	test_real_each_step();
	test_fixture_steps();
	test_failures();
	test_refusals();
	test_open();
	test_open_errors();
	test_backup();
	test_backup_once();
	test_open_refusals();
	test_race();
	test_busy_wait();
	test_batch_aborted();
	return done_testing();
}
