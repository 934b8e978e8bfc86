#ifndef STORE_H
#define STORE_H

#include <stdbool.h>

struct strbuf;
struct store_migrate_result;
struct store_migrate_status;

/*
 * The state store: a directory (--state DIR, $RUNNER_STATE, ./.runner)
 * holding runner.db (SQLite, WAL mode) and runs/.
 *
 * store_open() creates the directory if needed, opens the database with a
 * busy timeout, refuses a database that is newer than this binary or whose
 * applied migrations no longer match the embedded ones (checksums), and
 * applies pending migrations forward after copying the file aside as
 * runner.db.bak-VERSION (see store-migrate.c).
 *
 * Several runner processes may share one state: the connection waits up to
 * 10 s for another's lock (busy timeout) and writers should use
 * store_begin() (BEGIN IMMEDIATE) so that they queue for the lock up front.
 *
 * Threading: a struct store is used from one thread at a time (the
 * connection is opened SQLITE_OPEN_NOMUTEX). Threads that need the
 * database at the same time open a store each, or serialise on a mutex of
 * their own.
 *
 * Errors: functions returning int give 0, or -1 with one complete message
 * appended to err; nothing is printed.
 */
struct store;

enum store_open_mode {
	STORE_MIGRATE,	  /* apply pending migrations (normal commands) */
	STORE_NO_MIGRATE, /* open as it is (db migrate / rollback) */
	/*
	 * For commands that only read: as STORE_MIGRATE, but when the disk
	 * is full the state is opened without writing anything (see
	 * store_read_only()), as long as no migration is pending.
	 */
	STORE_READ,
	STORE_READ_NO_MIGRATE, /* the same, as STORE_NO_MIGRATE (db status) */
};

/*
 * On success *out owns a new store; free with store_close(). Creates
 * state_dir (mode 0700) and state_dir/runs/ if missing, opens
 * state_dir/runner.db in WAL mode with foreign keys on and
 * synchronous=NORMAL. A file that is not a database (or is corrupt) is
 * refused, never overwritten, and so is a database that is missing, empty
 * or without tables while runs/ holds runs (store_check_db()): it is not
 * a new state. A full disk is said as such, naming the state. On failure
 * *out is NULL.
 */
int store_open(const char *state_dir, enum store_open_mode mode,
	       struct store **out, struct strbuf *err);
/*
 * Whether state_dir has lost its database: runner.db missing or empty
 * (0 bytes) while runs/ holds run folders. -1 with a message that names
 * the newest runner.db.bak-N to restore, if there is one; 0 otherwise,
 * also when there is no state at all. Nothing is created or written.
 */
int store_check_db(const char *state_dir, struct strbuf *err);
/*
 * Whether store_open(STORE_READ...) found the disk full, or the database
 * not writable, and opened it without writing to it: writes fail
 * ("attempt to write a readonly database"), nothing was migrated or
 * recovered, and on a full disk other runners wait for this one to close.
 */
bool store_read_only(const struct store *st);
/*
 * When store_read_only() is for want of write access rather than space:
 * why ("Read-only file system", "Permission denied"); else NULL.
 */
const char *store_no_write(const struct store *st);
/*
 * Whether the last failure on st, which said msg, was for want of space:
 * SQLITE_FULL, or an I/O error with errno ENOSPC or EDQUOT.
 */
bool store_disk_full(struct store *st, const char *msg);
/* Finalizes any statement left open, closes, frees. NULL is a no-op. */
void store_close(struct store *st);

/* The state directory as given to store_open(). */
const char *store_dir(const struct store *st);
/* The database file: store_dir() + "/runner.db". */
const char *store_path(const struct store *st);
/*
 * The copy store_open(STORE_MIGRATE) made before migrating
 * ("DIR/runner.db.bak-1"), or NULL when it migrated nothing from a
 * non-empty database. Worth an event or a line on stderr.
 */
const char *store_backup_path(const struct store *st);

/*
 * BEGIN IMMEDIATE / COMMIT / ROLLBACK. store_commit() rolls back when the
 * COMMIT fails; store_rollback() does nothing outside a transaction.
 * They nest: inside a transaction, store_begin() makes a savepoint, and
 * store_commit() and store_rollback() release it or roll back to it, so
 * only the outermost commit writes anything.
 */
int store_begin(struct store *st, struct strbuf *err);
/*
 * BEGIN (deferred) / COMMIT, for a reader that wants its reads to see
 * one snapshot of the database (archive's db.json); store_rollback()
 * ends it early. -1 with the SQLite message in err.
 */
int store_snapshot_begin(struct store *st, struct strbuf *err);
int store_snapshot_end(struct store *st, struct strbuf *err);
int store_commit(struct store *st, struct strbuf *err);
void store_rollback(struct store *st);
/*
 * Whether a write now would land where the caller expects: -1 (with a
 * message) inside a transaction SQLite has already rolled back by itself
 * (disk full, I/O error), where a lone statement would autocommit outside
 * it. Writers of a single statement call it instead of store_begin().
 */
int store_writable(struct store *st, struct strbuf *err);
/*
 * Whether the last store_begin() or store_commit() that failed did so
 * only because another connection held the lock past the busy timeout
 * (worth trying again later), not for a full disk or a broken file.
 */
bool store_last_busy(const struct store *st);

/*
 * The engine of store-migrate.h on this store's database with the
 * migrations built in (runner_migrations): what schema_migrations says,
 * and migrate up or roll back to version target (runner db).
 */
int store_schema_status(struct store *st, struct store_migrate_status *out,
			struct strbuf *err);
int store_schema_up(struct store *st, int target,
		    struct store_migrate_result *res, struct strbuf *err);
int store_schema_down(struct store *st, int target,
		      struct store_migrate_result *res, struct strbuf *err);

/*
 * The state directory to use: opt if set, else $RUNNER_STATE, else
 * "./.runner". Returns a borrowed string.
 */
const char *store_resolve_dir(const char *opt);

#endif
