/*
 * store_open() on a state whose database is gone under its runs
 * (store_check_db()), and the modes for commands that only read. The full
 * disk itself is tested through the CLI on a real tmpfs (t6100).
 */
#include "runner.h"
#include "fs.h"
#include "store.h"
#include "store-internal.h"
#include "tap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/u-store-open.XXXXXX";
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

/* Write len bytes of junk to dir/name, with mtime now + age seconds. */
static void write_file(const char *dir, const char *name, size_t len, int age)
{
	char *path = fs_join(dir, name);
	struct timespec t[2];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char buf[512];

	memset(buf, 'x', sizeof(buf));
	if (fd < 0)
		exit(1);
	for (size_t done = 0; done < len; done += sizeof(buf))
		if (write(fd, buf,
			  len - done < sizeof(buf) ? len - done
						   : sizeof(buf)) < 0)
			exit(1);
	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec += age;
	t[1] = t[0];
	if (futimens(fd, t) < 0)
		exit(1);
	close(fd);
	free(path);
}

static off_t file_size(const char *dir, const char *name)
{
	char *path = fs_join(dir, name);
	struct stat sb;
	off_t size = stat(path, &sb) < 0 ? -1 : sb.st_size;
	free(path);
	return size;
}

static void test_lost_database(void)
{
	char *dir = make_tmpdir();
	char *runs = fs_join(dir, "runs");
	char *run = fs_join(runs, "20260101-000000-abcd");
	char *want = NULL;
	struct strbuf err = STRBUF_INIT;
	struct store *st = NULL;

	is_int(store_check_db(dir, &err), 0,
	       "no database and no runs/: no state, not a damaged one");
	if (mkdir(runs, 0700) < 0 || mkdir(run, 0700) < 0)
		exit(1);
	write_file(runs, ".hidden", 10, 0);
	is_int(store_check_db(dir, &err), -1,
	       "no database while runs/ holds a run: refused");
	want = xstrfmt("state database '%s/runner.db' is missing but '%s' "
		       "holds 1 run; restore it from a backup or move '%s' "
		       "aside to start a new state",
		       dir, runs, runs);
	is_str(err.buf, want, "saying what happened and what to do");
	free(want);

	write_file(dir, "runner.db", 0, 0);
	strbuf_reset(&err);
	is_int(store_open(dir, STORE_MIGRATE, &st, &err), -1,
	       "store_open refuses an empty runner.db beside a run");
	ok(!st, "and gives no store");
	ok(strstr(err.buf, "is empty (0 bytes) but") != NULL, "saying so: %s",
	   err.buf);
	is_int(file_size(dir, "runner.db"), 0, "the file stays empty");
	is_int(file_size(dir, "runner.db-wal"), -1, "no -wal is made");

	/* The copy written last wins, whatever its number. */
	write_file(dir, "runner.db.bak-7", 4096, -100);
	write_file(dir, "runner.db.bak-3", 4096, -10);
	write_file(dir, "runner.db.bak-5", 0, 0);
	write_file(dir, "runner.db.bak-4.tmp-99", 4096, 0);
	write_file(dir, "runner.db.bak-x", 4096, 0);
	strbuf_reset(&err);
	is_int(store_open(dir, STORE_READ, &st, &err), -1,
	       "STORE_READ refuses it too");
	want = xstrfmt("restore it from '%s/runner.db.bak-3' (runs recorded "
		       "after that copy stay missing)",
		       dir);
	ok(strstr(err.buf, want) != NULL,
	   "naming the newest whole runner.db.bak-N: %s", err.buf);
	free(want);

	if (rmdir(run) < 0)
		exit(1);
	strbuf_reset(&err);
	is_int(store_open(dir, STORE_MIGRATE, &st, &err), 0,
	       "with runs/ empty, an empty runner.db is a new state: %s",
	       err.buf);
	ok(st && !store_read_only(st), "opened for writing");
	store_close(st);

	strbuf_release(&err);
	free(run);
	free(runs);
	remove_tmpdir(dir);
}

static void test_read_modes(void)
{
	char *dir = make_tmpdir();
	struct strbuf err = STRBUF_INIT;
	struct store *st = NULL;
	sqlite3_stmt *stmt = NULL;

	is_int(store_open(dir, STORE_READ, &st, &err), 0,
	       "STORE_READ on a disk with space: %s", err.buf);
	ok(st && !store_read_only(st),
	   "opens read-write as usual (recovery may write)");
	if (st)
		is_int(store_exec(st,
				  "INSERT INTO events (at, level, kind,"
				  " message) VALUES (1, 'info', 'x', 'y')",
				  &err),
		       0, "and can write: %s", err.buf);
	store_close(st);
	st = NULL;
	is_int(store_open(dir, STORE_READ_NO_MIGRATE, &st, &err), 0,
	       "STORE_READ_NO_MIGRATE too: %s", err.buf);
	if (st &&
	    store_prepare(st, "SELECT count(*) FROM events", &stmt, &err) ==
		    0 &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		is_int(sqlite3_column_int(stmt, 0), 1,
		       "what was written is read");
	else
		ok(0, "read events: %s", err.buf);
	sqlite3_finalize(stmt);
	store_close(st);
	strbuf_release(&err);
	remove_tmpdir(dir);
}

int main(void)
{
	test_lost_database();
	test_read_modes();
	return done_testing();
}
