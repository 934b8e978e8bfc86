#ifndef STORE_MIGRATE_H
#define STORE_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

#include "migrations.h"

struct strbuf;
/* SQLite's connection (<sqlite3.h>), which this file does not bring in. */
typedef struct sqlite3 sqlite3;

/*
 * The migration engine (see the DESIGN comment in store-migrate.c).
 *
 * Every function works on a caller's open connection and on a list of
 * migrations where list[i].version == i + 1 (runner_migrations in the
 * program, a fixture list in tests). db_path is the database file: it is
 * used in messages and to place backups (db_path + ".bak-VERSION"); NULL
 * means an in-memory database, which is never backed up.
 *
 * Errors: -1 with one complete message appended to err; nothing is printed.
 * Threading: like the connection itself, one thread at a time.
 */

/* SHA-256 of sql as 64 lowercase hex digits and a NUL. */
void store_migrate_checksum(const char *sql, char hex[65]);

/* One row of schema_migrations. */
struct store_migrate_row {
	int version;
	char *name;
	char *checksum;
	int64_t applied_at; /* ms since the epoch */
};

/* What schema_migrations says, in ascending version order. */
struct store_migrate_status {
	int version; /* highest applied version, 0 when none */
	struct store_migrate_row *rows;
	size_t nr, alloc;
};
#define STORE_MIGRATE_STATUS_INIT \
	{                         \
		0, NULL, 0, 0     \
	}

/*
 * Read schema_migrations into *out (which must be initialised; it is
 * reset first). A database without the table is at version 0. Free with
 * store_migrate_status_release().
 */
int store_migrate_status_read(sqlite3 *db, const char *db_path,
			      struct store_migrate_status *out,
			      struct strbuf *err);
void store_migrate_status_release(struct store_migrate_status *st);

/*
 * The refusals: a database at a version past nr (newer than this binary),
 * an applied migration whose recorded checksum differs from list's, or a
 * gap in the applied versions. 0 when the database may be used.
 */
int store_migrate_check(const struct store_migrate_status *st,
			const struct migration *list, int nr,
			const char *db_path, struct strbuf *err);

/*
 * What a migrate or rollback did. from is the version before, to the
 * version after (also after a failure: the migrations that committed stay
 * committed), backup the copy made before the first change, or NULL.
 */
struct store_migrate_result {
	int from, to;
	char *backup;
};
#define STORE_MIGRATE_RESULT_INIT \
	{                         \
		0, 0, NULL        \
	}
void store_migrate_result_release(struct store_migrate_result *res);

/*
 * Apply list's pending migrations up to version target (0 <= target <=
 * nr), each in its own BEGIN IMMEDIATE transaction that re-reads the
 * version first, so concurrent callers on one file apply each migration
 * once. Before the first one, a database at version >= 1 is copied to
 * db_path.bak-VERSION (replacing an older copy of that name). A database
 * already at target is left alone; one past target is an error.
 */
int store_migrate_up(sqlite3 *db, const char *db_path,
		     const struct migration *list, int nr, int target,
		     struct store_migrate_result *res, struct strbuf *err);

/*
 * Run the down SQL of the applied migrations above target (0 <= target),
 * newest first, each in its own transaction that also deletes its
 * schema_migrations row. The database is first copied to
 * db_path.bak-VERSION, as for store_migrate_up(). target 0 leaves an empty
 * schema_migrations and nothing else. A database already at target is left
 * alone; one below target is an error.
 */
int store_migrate_down(sqlite3 *db, const char *db_path,
		       const struct migration *list, int nr, int target,
		       struct store_migrate_result *res, struct strbuf *err);

/*
 * Copy the database consistently (SQLite online backup from a second,
 * read-only connection, so a WAL database is copied as one snapshot) to
 * dest, through a temporary file renamed into place.
 */
int store_migrate_backup(const char *db_path, const char *dest,
			 struct strbuf *err);

#endif
