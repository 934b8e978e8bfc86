#!/bin/sh
# runner db status | migrate | rollback, state resolution, refusals.
. "$(dirname "$0")/lib.sh"

# The number of applied migrations recorded in STATE's database.
applied() {
	sqlite3 "$1/runner.db" 'SELECT count(*) FROM schema_migrations'
}

# The tables of a database, one a line, sorted.
tables() {
	sqlite3 "$1" "SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite_%' ORDER BY name"
}

test_expect_success 'db status on a fresh state' '
	runner db status --state "$TRASH/s" >out 2>err &&
	test_grep "^database: $TRASH/s/runner.db$" out &&
	test_grep "^schema version: 0 (this runner knows up to 1)$" out &&
	test_grep "^   1  init  pending$" out &&
	test_must_fail test -s err &&
	test -d "$TRASH/s/runs" &&
	test "$(stat -c %a "$TRASH/s")" = 700
'

test_expect_success 'db migrate applies the migrations' '
	runner db migrate --state s >out &&
	cat >expect <<-EOF &&
	applied 1 (init)
	s/runner.db is at schema version 1
	EOF
	test_cmp expect out &&
	test "$(applied s)" = 1 &&
	test "$(sqlite3 s/runner.db "PRAGMA journal_mode")" = wal &&
	tables s/runner.db >tables &&
	test_grep "^runs$" tables &&
	test_grep "^hash_cache$" tables &&
	runner db status --state s >out &&
	test_grep "^schema version: 1 " out &&
	grep -E "^   1  init  applied  [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$" out &&
	sqlite3 s/runner.db "SELECT checksum FROM schema_migrations" >sum &&
	sha256sum <"$RUNNER_TOP/migrations/0001_init.up.sql" |
		cut -d" " -f1 >want &&
	test_cmp want sum
'

test_expect_success 'db migrate twice is a no-op' '
	runner db migrate --state s &&
	runner db migrate --state s >out &&
	test_grep "^s/runner.db is already at schema version 1$" out &&
	test "$(applied s)" = 1 &&
	test_must_fail test -e s/runner.db.bak-1
'

test_expect_success 'db rollback --steps 1 backs up and runs the down file' '
	runner db migrate --state s &&
	sqlite3 s/runner.db "INSERT INTO events (at, level, kind, message)
		VALUES (1, '"'info'"', '"'k'"', '"'kept in the backup'"')" &&
	runner db rollback --steps 1 --state s >out &&
	cat >expect <<-EOF &&
	backed up s/runner.db to s/runner.db.bak-1
	rolled back 1 (init)
	s/runner.db is at schema version 0
	EOF
	test_cmp expect out &&
	test "$(applied s)" = 0 &&
	tables s/runner.db >tables &&
	echo schema_migrations >expect &&
	test_cmp expect tables &&
	test "$(sqlite3 s/runner.db.bak-1 "PRAGMA integrity_check")" = ok &&
	test "$(sqlite3 s/runner.db.bak-1 "SELECT message FROM events")" = \
		"kept in the backup" &&
	runner db status --state s >out &&
	test_grep "^   1  init  pending$" out
'

test_expect_success 'db rollback defaults to one step; --to 0; migrate again' '
	runner db migrate --state s &&
	runner db rollback --state s >out &&
	test_grep "^rolled back 1 (init)$" out &&
	runner db migrate --state s &&
	runner db rollback --to 0 --state s >out &&
	test_grep "^s/runner.db is at schema version 0$" out &&
	tables s/runner.db >tables &&
	echo schema_migrations >expect &&
	test_cmp expect tables &&
	runner db migrate --state s >out &&
	test_grep "^applied 1 (init)$" out &&
	test "$(applied s)" = 1 &&
	runner db rollback --to 1 --state s >out &&
	test_grep "already at schema version 1" out
'

test_expect_success 'rollback with nothing to roll back is a usage error' '
	test_expect_code 2 runner db rollback --state s 2>err &&
	test_grep "^runner: nothing to roll back: .s/runner.db. is at schema version 0$" err &&
	runner db migrate --state s &&
	test_expect_code 2 runner db rollback --steps 2 --state s 2>err &&
	test_grep "cannot roll back 2 steps" err &&
	test "$(applied s)" = 1
'

test_expect_success 'a database newer than the runner is refused' '
	runner db migrate --state s &&
	sqlite3 s/runner.db "INSERT INTO schema_migrations
		VALUES (999, '"'future'"', '"'x'"', 0)" &&
	msg="runner: state database '"'s/runner.db'"' is at schema version 999 but this runner knows only up to 1; use a newer runner" &&
	test_expect_code 4 runner db status --state s >out 2>err &&
	echo "$msg" >expect &&
	test_cmp expect err &&
	test_grep "^ 999  future  applied  1970-01-01T00:00:00.000Z  (unknown to this runner)$" out &&
	test_expect_code 4 runner db migrate --state s 2>err &&
	test_cmp expect err &&
	test_expect_code 4 runner db rollback --state s 2>err &&
	test_cmp expect err &&
	test "$(applied s)" = 2
'

test_expect_success 'a migration changed after it was applied is refused' '
	runner db migrate --state s &&
	sqlite3 s/runner.db "UPDATE schema_migrations SET checksum = '"'0000'"'" &&
	msg="runner: migration 1 (init) was changed after it was applied to '"'s/runner.db'"' (checksum mismatch); restore the original migrations/0001_init.up.sql or use a matching runner" &&
	echo "$msg" >expect &&
	test_expect_code 4 runner db status --state s >out 2>err &&
	test_cmp expect err &&
	test_grep "^   1  init  applied  .*  CHANGED (checksum mismatch)$" out &&
	test_expect_code 4 runner db migrate --state s 2>err &&
	test_cmp expect err &&
	test_expect_code 4 runner db rollback --to 0 --state s 2>err &&
	test_cmp expect err &&
	test "$(tables s/runner.db | wc -l)" -gt 1
'

test_expect_success 'a corrupt database is refused and left alone' '
	mkdir s &&
	head -c 10000 /dev/urandom >s/runner.db &&
	cp s/runner.db before &&
	msg="runner: state database '"'s/runner.db'"' is not a SQLite database or is corrupt (file is not a database); restore it from a runner.db.bak-* copy in '"'s'"' or move it aside to start a new state" &&
	echo "$msg" >expect &&
	for cmd in status migrate rollback; do
		test_expect_code 4 runner db $cmd --state s 2>err &&
		test_cmp expect err || exit 1
	done &&
	cmp before s/runner.db &&
	test_must_fail test -e s/runner.db-wal
'

test_expect_success 'a state directory that cannot be created' '
	echo x >file &&
	test_expect_code 4 runner db status --state file/state 2>err &&
	echo "runner: cannot create state directory '"'file/state'"': Not a directory" >expect &&
	test_cmp expect err &&
	test_expect_code 4 runner db status --state file 2>err &&
	test_grep "cannot use .file. as state directory: not a directory" err
'

test_expect_success BWRAP 'a state on a read-only file system' '
	mkdir ro &&
	q=$(printf "\047") &&
	test_expect_code 4 bwrap --bind / / --ro-bind "$TRASH/ro" "$TRASH/ro" \
		"$RUNNER" db migrate --state "$TRASH/ro/state" 2>err &&
	echo "runner: cannot create state directory $q$TRASH/ro/state$q: Read-only file system" >expect &&
	test_cmp expect err &&
	runner db migrate --state ro/state &&
	test_expect_code 4 bwrap --bind / / --ro-bind "$TRASH/ro" "$TRASH/ro" \
		"$RUNNER" db status --state "$TRASH/ro/state" 2>err &&
	echo "runner: cannot open state database $q$TRASH/ro/state/runner.db$q for writing: Read-only file system" >expect &&
	test_cmp expect err
'

test_expect_success 'the state is --state, else $RUNNER_STATE, else ./.runner' '
	runner db status >out &&
	test_grep "^database: ./.runner/runner.db$" out &&
	test -f .runner/runner.db &&
	RUNNER_STATE="$TRASH/env" runner db status >out &&
	test_grep "^database: $TRASH/env/runner.db$" out &&
	RUNNER_STATE="$TRASH/env" runner db status --state opt >out &&
	test_grep "^database: opt/runner.db$" out &&
	RUNNER_STATE= runner db status >out &&
	test_grep "^database: ./.runner/runner.db$" out &&
	runner db --state=eq migrate >out &&
	test_grep "^eq/runner.db is at schema version 1$" out &&
	runner db --state first status >out &&
	test_grep "^database: first/runner.db$" out
'

test_expect_success 'usage errors exit 2' '
	for args in "" "frob" "status --to 1" "status --steps 1" \
		"migrate --steps 1" "rollback --to 0 --steps 1" \
		"migrate --to abc" "migrate --to -1" "rollback --steps 0" \
		"migrate --to 2" "status --bogus" "status extra" \
		"status --state" "status --state="; do
		test_expect_code 2 runner db $args 2>err &&
		head -n 1 err | grep "^runner: " &&
		test_grep "^usage: runner db status" err || {
			echo "args: $args"; cat err; exit 1; }
	done &&
	test_expect_code 2 runner db migrate --to 2 2>err &&
	test_grep "no schema version 2: this runner knows versions 0 to 1" err &&
	test_must_fail test -e .runner &&
	runner db --help >out &&
	test_grep "^usage: runner db status" out
'

test_expect_success 'runtime errors are one line' '
	echo x >file &&
	test_expect_code 4 runner db migrate --state file/s 2>err &&
	test "$(wc -l <err)" = 1
'

test_expect_success 'processes migrating one fresh state at once' '
	for i in 1 2 3 4 5 6; do
		(runner db migrate --state race >out.$i 2>err.$i;
		 echo $? >rc.$i) &
	done &&
	wait &&
	for i in 1 2 3 4 5 6; do
		test "$(cat rc.$i)" = 0 || { cat err.$i; exit 1; }
	done &&
	test "$(cat out.* | grep -c "^applied 1 (init)$")" = 1 &&
	test "$(applied race)" = 1
'

test_done
