#ifndef STORE_H
#define STORE_H

#include <sqlite3.h>

struct strbuf;

/*
 * The state store: a directory (--state DIR, $RUNNER_STATE, ./.runner)
 * holding runner.db (SQLite, WAL mode) and runs/.
 *
 * store_open() creates the directory if needed, opens the database with a
 * busy timeout, refuses a database that is newer than this binary or whose
 * applied migrations no longer match the embedded ones (checksums), and
 * applies pending migrations forward after copying the file aside as
 * runner.db.bak-VERSION. A struct store is used from one thread at a time.
 */
struct store;

enum store_open_mode {
	STORE_MIGRATE,    /* apply pending migrations (normal commands) */
	STORE_NO_MIGRATE, /* open as it is (db status / migrate / rollback) */
};

/* On success *out owns a new store; free with store_close(). */
int store_open(const char *state_dir, enum store_open_mode mode,
	       struct store **out, struct strbuf *err);
void store_close(struct store *st);

sqlite3 *store_db(struct store *st);
const char *store_dir(const struct store *st);

/* Run SQL without results. -1 with the SQLite message in err. */
int store_exec(struct store *st, const char *sql, struct strbuf *err);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int store_begin(struct store *st, struct strbuf *err);
int store_commit(struct store *st, struct strbuf *err);
void store_rollback(struct store *st);

/*
 * The state directory to use: opt if set, else $RUNNER_STATE, else
 * "./.runner". Returns a borrowed string.
 */
const char *store_resolve_dir(const char *opt);

#endif
