/*
 * DESIGN: the migration engine.
 *
 * What is stored. The schema is a numbered list of migrations, each an up
 * and a down SQL text (migrations/NNNN_name.{up,down}.sql, embedded into
 * the binary as runner_migrations[] by tools/embed-migrations.sh). The
 * database records what was applied in schema_migrations(version, name,
 * checksum, applied_at), a table this engine creates itself (it is not a
 * migration, so rolling back to 0 leaves it, empty). The schema version is
 * the highest applied version; versions are applied strictly in order, so
 * rows are always 1..version.
 *
 * Checksums. checksum is the SHA-256 (hex) of the up SQL text exactly as it
 * was applied. Before using a database, every recorded checksum is compared
 * with the embedded text: an applied migration that was edited afterwards
 * means the database may not have the schema this binary expects, so it is
 * refused rather than guessed at. Only the up text is hashed: fixing a down
 * file is allowed. Names are informative only.
 *
 * Refusal. A database whose version is past the list (written by a newer
 * runner) is refused, as is a checksum mismatch or a gap in the history.
 * Nothing is written to a refused database.
 *
 * Transactions and concurrency. Each migration runs in its own
 * BEGIN IMMEDIATE transaction: the up (or down) SQL, then the insert (or
 * delete) of its schema_migrations row, then COMMIT. IMMEDIATE takes the
 * write lock before anything is read, and the version is read again inside
 * the transaction, so when several processes open a fresh state at once,
 * one applies each migration and the others find it done. Transaction
 * statements in migration SQL are rejected (authorizer), since they would
 * commit half a migration. Foreign keys are off while migrating (SQLite's
 * recipe for schema changes: the pragma cannot change inside a transaction)
 * and PRAGMA foreign_key_check must be clean before each COMMIT.
 *
 * Backup. Before the first change to a database at version >= 1, in the
 * first transaction (so no other migrator can change it meanwhile), the
 * file is copied to DB.bak-VERSION with SQLite's online backup API from a
 * second, read-only connection: in WAL mode that reader sees the last
 * committed state as one snapshot, whatever sits in the -wal file. The copy
 * goes to a temporary file renamed into place, so a .bak file is always
 * whole; an older copy of the same name is replaced, as the newest copy of
 * that version is the one worth restoring. Rollbacks make a copy as well,
 * since down migrations drop data.
 */
#include "runner.h"
#include "store-migrate.h"
#include "fs.h"
#include "timeutil.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <openssl/evp.h>

#define BUSY_TIMEOUT_MS 10000

static const char create_table_sql[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations (\n"
	"\tversion    INTEGER PRIMARY KEY,\n"
	"\tname       TEXT NOT NULL,\n"
	"\tchecksum   TEXT NOT NULL,\n"
	"\tapplied_at INTEGER NOT NULL\n"
	")";

static const char *shown(const char *db_path)
{
	return db_path ? db_path : ":memory:";
}

void store_migrate_checksum(const char *sql, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!EVP_Digest(sql, strlen(sql), md, &len, EVP_sha256(), NULL) ||
	    len != 32)
		BUG("SHA-256 failed");
	for (unsigned int i = 0; i < len; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
}

void store_migrate_status_release(struct store_migrate_status *st)
{
	for (size_t i = 0; i < st->nr; i++) {
		free(st->rows[i].name);
		free(st->rows[i].checksum);
	}
	free(st->rows);
	st->rows = NULL;
	st->nr = st->alloc = 0;
	st->version = 0;
}

void store_migrate_result_release(struct store_migrate_result *res)
{
	free(res->backup);
	res->backup = NULL;
	res->from = res->to = 0;
}

static const char *col_text(sqlite3_stmt *stmt, int col)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);
	return s ? (const char *)s : "";
}

int store_migrate_status_read(sqlite3 *db, const char *db_path,
			      struct store_migrate_status *out,
			      struct strbuf *err)
{
	sqlite3_stmt *stmt = NULL;
	int rc, ret = -1;
	int exists = 0;

	store_migrate_status_release(out);
	rc = sqlite3_prepare_v2(db,
				"SELECT 1 FROM sqlite_master WHERE type = "
				"'table' AND name = 'schema_migrations'",
				-1, &stmt, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(stmt);
		exists = rc == SQLITE_ROW;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE && rc != SQLITE_OK)
		goto fail;
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (!exists)
		return 0;

	rc = sqlite3_prepare_v2(db,
				"SELECT version, name, checksum, applied_at "
				"FROM schema_migrations ORDER BY version",
				-1, &stmt, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_migrate_row *row;
		ALLOC_GROW(out->rows, out->nr + 1, out->alloc);
		row = &out->rows[out->nr++];
		row->version = sqlite3_column_int(stmt, 0);
		row->name = xstrdup(col_text(stmt, 1));
		row->checksum = xstrdup(col_text(stmt, 2));
		row->applied_at = sqlite3_column_int64(stmt, 3);
		out->version = row->version;
	}
	if (rc != SQLITE_DONE)
		goto fail;
	ret = 0;
	goto out;
fail:
	strbuf_addf(err, "cannot read the migration history of '%s': %s",
		    shown(db_path), sqlite3_errmsg(db));
out:
	sqlite3_finalize(stmt);
	return ret;
}

int store_migrate_check(const struct store_migrate_status *st,
			const struct migration *list, int nr,
			const char *db_path, struct strbuf *err)
{
	if (st->version > nr) {
		strbuf_addf(err,
			    "state database '%s' is at schema version %d but "
			    "this runner knows only up to %d; use a newer "
			    "runner",
			    shown(db_path), st->version, nr);
		return -1;
	}
	for (size_t i = 0; i < st->nr; i++) {
		const struct store_migrate_row *row = &st->rows[i];
		const struct migration *m;
		char sum[65];

		if (row->version != (int)i + 1) {
			strbuf_addf(err,
				    "the migration history of '%s' is damaged "
				    "(version %d is recorded without version "
				    "%d); restore it from a runner.db.bak-* "
				    "copy",
				    shown(db_path), row->version, (int)i + 1);
			return -1;
		}
		m = &list[i];
		store_migrate_checksum(m->up, sum);
		if (strcmp(sum, row->checksum)) {
			strbuf_addf(err,
				    "migration %d (%s) was changed after it "
				    "was applied to '%s' (checksum mismatch); "
				    "restore the original "
				    "migrations/%04d_%s.up.sql or use a "
				    "matching runner",
				    m->version, m->name, shown(db_path),
				    m->version, m->name);
			return -1;
		}
	}
	return 0;
}

static void unlink_db_files(const char *path)
{
	static const char *const suffixes[] = { "", "-journal", "-wal",
						"-shm" };
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		char *p = xstrfmt("%s%s", path, suffixes[i]);
		unlink(p);
		free(p);
	}
}

int store_migrate_backup(const char *db_path, const char *dest,
			 struct strbuf *err)
{
	char *tmp = xstrfmt("%s.tmp-%ld", dest, (long)getpid());
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *bk = NULL;
	int64_t deadline = time_mono_ms() + BUSY_TIMEOUT_MS;
	char *dir = NULL;
	int dfd, rc, ret = -1;

	unlink_db_files(tmp);
	rc = sqlite3_open_v2(db_path, &src, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		strbuf_addf(err, "cannot open '%s' to back it up: %s", db_path,
			    src ? sqlite3_errmsg(src) : sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_busy_timeout(src, BUSY_TIMEOUT_MS);
	rc = sqlite3_open_v2(tmp, &dst,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		strbuf_addf(err, "cannot create backup '%s': %s", tmp,
			    dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_busy_timeout(dst, BUSY_TIMEOUT_MS);
	bk = sqlite3_backup_init(dst, "main", src, "main");
	if (!bk) {
		strbuf_addf(err, "cannot back up '%s' to '%s': %s", db_path,
			    dest, sqlite3_errmsg(dst));
		goto out;
	}
	/* The source's busy handler is not used by backup_step: retry. */
	while ((rc = sqlite3_backup_step(bk, -1)) == SQLITE_BUSY ||
	       rc == SQLITE_LOCKED || rc == SQLITE_OK) {
		if (rc != SQLITE_OK && time_mono_ms() > deadline)
			break;
		if (rc != SQLITE_OK)
			time_sleep_ms(20);
	}
	sqlite3_backup_finish(bk);
	bk = NULL;
	if (rc != SQLITE_DONE) {
		strbuf_addf(err, "cannot back up '%s' to '%s': %s", db_path,
			    dest, sqlite3_errstr(rc));
		goto out;
	}
	rc = sqlite3_close(dst);
	dst = NULL;
	if (rc != SQLITE_OK) {
		strbuf_addf(err, "cannot back up '%s' to '%s': %s", db_path,
			    dest, sqlite3_errstr(rc));
		goto out;
	}
	if (rename(tmp, dest) < 0) {
		strbuf_addf(err, "cannot rename '%s' to '%s': %s", tmp, dest,
			    strerror(errno));
		goto out;
	}
	/* The copy must outlive a crash right after the migration. */
	dir = fs_dirname(dest);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	ret = 0;
out:
	if (bk)
		sqlite3_backup_finish(bk);
	sqlite3_close(dst);
	sqlite3_close(src);
	if (ret)
		unlink_db_files(tmp);
	free(tmp);
	free(dir);
	return ret;
}

static int exec_sql(sqlite3 *db, const char *sql, struct strbuf *msg)
{
	char *e = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &e) != SQLITE_OK) {
		strbuf_addstr(msg, e ? e : sqlite3_errmsg(db));
		sqlite3_free(e);
		return -1;
	}
	return 0;
}

static void rollback_if_open(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

struct deny_ctx {
	int denied;
};

/* A COMMIT inside migration SQL would commit half a migration. */
static int deny_transactions(void *data, int action, const char *a,
			     const char *b, const char *c, const char *d)
{
	struct deny_ctx *ctx = data;
	(void)a;
	(void)b;
	(void)c;
	(void)d;
	if (action == SQLITE_TRANSACTION) {
		ctx->denied = 1;
		return SQLITE_DENY;
	}
	return SQLITE_OK;
}

static int run_migration_sql(sqlite3 *db, const char *sql, struct strbuf *msg)
{
	struct deny_ctx ctx = { 0 };
	struct strbuf e = STRBUF_INIT;
	int ret;

	sqlite3_set_authorizer(db, deny_transactions, &ctx);
	ret = exec_sql(db, sql, &e);
	sqlite3_set_authorizer(db, NULL, NULL);
	if (ret && ctx.denied)
		strbuf_addstr(msg, "it contains a transaction statement "
				   "(BEGIN, COMMIT, ROLLBACK or END); the "
				   "runner wraps each migration in its own "
				   "transaction");
	else if (ret)
		strbuf_addstr(msg, e.buf);
	strbuf_release(&e);
	return ret;
}

static int fk_enabled(sqlite3 *db)
{
	sqlite3_stmt *stmt = NULL;
	int on = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA foreign_keys", -1, &stmt, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		on = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return on;
}

static int fk_check(sqlite3 *db, struct strbuf *msg)
{
	sqlite3_stmt *stmt = NULL;
	int rc, ret = -1;

	rc = sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &stmt,
				NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		strbuf_addf(msg,
			    "it leaves rows in '%s' whose foreign key to '%s' "
			    "has no match",
			    col_text(stmt, 0), col_text(stmt, 2));
	else if (rc != SQLITE_DONE)
		strbuf_addstr(msg, sqlite3_errmsg(db));
	else
		ret = 0;
	sqlite3_finalize(stmt);
	return ret;
}

static int record(sqlite3 *db, const struct migration *m, int up,
		  struct strbuf *msg)
{
	sqlite3_stmt *stmt = NULL;
	char sum[65];
	int rc;

	if (up) {
		store_migrate_checksum(m->up, sum);
		rc = sqlite3_prepare_v2(
			db,
			"INSERT INTO schema_migrations (version,"
			" name, checksum, applied_at) "
			"VALUES (?1, ?2, ?3, ?4)",
			-1, &stmt, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_int(stmt, 1, m->version);
			sqlite3_bind_text(stmt, 2, m->name, -1, SQLITE_STATIC);
			sqlite3_bind_text(stmt, 3, sum, -1, SQLITE_STATIC);
			sqlite3_bind_int64(stmt, 4, time_now_ms());
		}
	} else {
		rc = sqlite3_prepare_v2(db,
					"DELETE FROM schema_migrations "
					"WHERE version = ?1",
					-1, &stmt, NULL);
		if (rc == SQLITE_OK)
			sqlite3_bind_int(stmt, 1, m->version);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		strbuf_addstr(msg, sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/* The body of one migration's transaction, after BEGIN. */
static int step_one(sqlite3 *db, const struct migration *m, int up,
		    struct strbuf *msg)
{
	if (run_migration_sql(db, up ? m->up : m->down, msg) < 0 ||
	    fk_check(db, msg) < 0 || record(db, m, up, msg) < 0 ||
	    exec_sql(db, "COMMIT", msg) < 0)
		return -1;
	return 0;
}

/*
 * BEGIN IMMEDIATE, then read the history again: another process may have
 * migrated since we last looked. On error the transaction is closed.
 */
static int begin_and_read(sqlite3 *db, const char *db_path,
			  const struct migration *list, int nr,
			  struct store_migrate_status *st, struct strbuf *err)
{
	struct strbuf msg = STRBUF_INIT;
	int ret = -1;

	if (exec_sql(db, "BEGIN IMMEDIATE", &msg) < 0) {
		strbuf_addf(err, "cannot lock '%s' to migrate it: %s",
			    shown(db_path), msg.buf);
		goto out;
	}
	if (exec_sql(db, create_table_sql, &msg) < 0) {
		strbuf_addf(err, "cannot create schema_migrations in '%s': %s",
			    shown(db_path), msg.buf);
		goto out;
	}
	if (store_migrate_status_read(db, db_path, st, err) < 0 ||
	    store_migrate_check(st, list, nr, db_path, err) < 0)
		goto out;
	ret = 0;
out:
	if (ret)
		rollback_if_open(db);
	strbuf_release(&msg);
	return ret;
}

static int migrate(sqlite3 *db, const char *db_path,
		   const struct migration *list, int nr, int target, int up,
		   struct store_migrate_result *res, struct strbuf *err)
{
	struct store_migrate_status st = STORE_MIGRATE_STATUS_INIT;
	struct strbuf msg = STRBUF_INIT;
	int fk = 0, ret = -1;

	store_migrate_result_release(res);
	if (target < 0 || target > nr) {
		strbuf_addf(err,
			    "no schema version %d: this runner knows versions "
			    "0 to %d",
			    target, nr);
		goto out;
	}
	if (store_migrate_status_read(db, db_path, &st, err) < 0 ||
	    store_migrate_check(&st, list, nr, db_path, err) < 0)
		goto out;
	res->from = res->to = st.version;
	if (st.version == target) {
		ret = 0;
		goto out;
	}
	if (up && st.version > target) {
		strbuf_addf(err,
			    "'%s' is at schema version %d, past %d; roll back "
			    "instead",
			    shown(db_path), st.version, target);
		goto out;
	}
	if (!up && st.version < target) {
		strbuf_addf(err,
			    "'%s' is at schema version %d, below %d; migrate "
			    "instead",
			    shown(db_path), st.version, target);
		goto out;
	}

	fk = fk_enabled(db);
	if (fk && exec_sql(db, "PRAGMA foreign_keys = OFF", &msg) < 0) {
		strbuf_addf(err, "cannot turn foreign keys off in '%s': %s",
			    shown(db_path), msg.buf);
		goto out;
	}
	for (int first = 1;; first = 0) {
		const struct migration *m;

		if (begin_and_read(db, db_path, list, nr, &st, err) < 0)
			goto out;
		if (first)
			res->from = res->to = st.version;
		if (up ? st.version >= target : st.version <= target) {
			if (exec_sql(db, "COMMIT", &msg) < 0) {
				strbuf_addf(err, "cannot commit to '%s': %s",
					    shown(db_path), msg.buf);
				goto out;
			}
			break;
		}
		/* Back up data that existed before we came, once. */
		if (!res->backup && db_path && res->from >= 1) {
			char *bak = xstrfmt("%s.bak-%d", db_path, st.version);
			if (store_migrate_backup(db_path, bak, err) < 0) {
				free(bak);
				goto out;
			}
			res->backup = bak;
		}
		m = &list[up ? st.version : st.version - 1];
		if (step_one(db, m, up, &msg) < 0) {
			strbuf_addf(err,
				    "%s migration %d (%s) on '%s' failed: %s; "
				    "the database stays at schema version %d",
				    up ? "applying" : "rolling back",
				    m->version, m->name, shown(db_path),
				    msg.buf, st.version);
			goto out;
		}
		res->to = up ? m->version : m->version - 1;
	}
	ret = 0;
out:
	rollback_if_open(db);
	if (fk)
		sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	store_migrate_status_release(&st);
	strbuf_release(&msg);
	return ret;
}

int store_migrate_up(sqlite3 *db, const char *db_path,
		     const struct migration *list, int nr, int target,
		     struct store_migrate_result *res, struct strbuf *err)
{
	return migrate(db, db_path, list, nr, target, 1, res, err);
}

int store_migrate_down(sqlite3 *db, const char *db_path,
		       const struct migration *list, int nr, int target,
		       struct store_migrate_result *res, struct strbuf *err)
{
	return migrate(db, db_path, list, nr, target, 0, res, err);
}
