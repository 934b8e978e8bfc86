#!/bin/sh
# runner db status | migrate | rollback, state resolution, refusals.
# Nothing here assumes how many migrations there are: the list is read
# from migrations/ (NNNN_name.up.sql), where version NNNN is the file's
# rank; checks that need exactly "version 1 against 0" say --to 1.
. "$(dirname "$0")/lib.sh"

MIGRATIONS_DIR=$RUNNER_TOP/migrations
NR=$(ls "$MIGRATIONS_DIR"/*.up.sql | wc -l | tr -d " ")
PREV=$((NR - 1))

# The up file of migration $1.
mig_file() {
	ls "$MIGRATIONS_DIR"/*.up.sql | sed -n "$1p"
}

# The name of migration $1: NAME in its NNNN_NAME.up.sql.
mig_name() {
	_f=$(mig_file "$1") &&
	test -n "$_f" &&
	_f=${_f##*/} &&
	_f=${_f%.up.sql} &&
	echo "${_f#*_}"
}

# The width of the name column of db status: the longest name, at least
# 4, and at least the length of $1 when given (a name only the database
# knows).
name_width() {
	_w=${1:-} &&
	_w=${#_w} &&
	{ [ "$_w" -ge 4 ] || _w=4; } &&
	_v=1 &&
	while [ "$_v" -le "$NR" ]; do
		_n=$(mig_name "$_v") &&
		{ [ "${#_n}" -le "$_w" ] || _w=${#_n}; } &&
		_v=$((_v + 1)) || return 1
	done &&
	echo "$_w"
}

# The start of db status's line for migration $1 (version and padded
# name), then $2 ("pending", "applied", ...); $3 is the name column width.
status_row() {
	printf "%4d  %-${3:-$(name_width)}s  %s" "$1" "$(mig_name "$1")" "$2"
}

# The lines "db migrate" prints for migrations $1+1 .. $2.
applied_lines() {
	_v=$(($1 + 1)) &&
	while [ "$_v" -le "$2" ]; do
		_n=$(mig_name "$_v") &&
		echo "applied $_v ($_n)" &&
		_v=$((_v + 1)) || return 1
	done
}

# The lines "db rollback" prints for migrations $1 down to $2+1.
rolled_back_lines() {
	_v=$1 &&
	while [ "$_v" -gt "$2" ]; do
		_n=$(mig_name "$_v") &&
		echo "rolled back $_v ($_n)" &&
		_v=$((_v - 1)) || return 1
	done
}

# The number of applied migrations recorded in STATE's database.
applied() {
	sqlite3 "$1/runner.db" 'SELECT count(*) FROM schema_migrations'
}

# The tables of a database, one a line, sorted.
tables() {
	sqlite3 "$1" "SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite_%' ORDER BY name"
}

# Every table, index, view and trigger of a database ("type name"),
# sorted: what a down file must take away again.
objects() {
	sqlite3 "$1" "SELECT type || ' ' || name FROM sqlite_master
		WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
}

# The objects of a fresh database migrated to version $1 (in state $2).
objects_at() {
	runner db migrate --to "$1" --state "$2" >/dev/null &&
	objects "$2/runner.db"
}

# The backup copies in state $1 (runner.db.bak*), one a line, sorted,
# without the -wal and -shm files that reading a copy leaves.
backups() {
	_l=$(ls "$1") || return 1
	printf "%s\n" "$_l" | grep "^runner\.db\.bak" |
		grep -v -e "-wal$" -e "-shm$" | sort
}

# The version recorded in database $1.
version_of() {
	sqlite3 "$1" "SELECT coalesce(max(version), 0) FROM schema_migrations"
}

test_expect_success 'there are at least two migrations, numbered 1..N' '
	test "$NR" -ge 2 &&
	v=1 &&
	for f in "$MIGRATIONS_DIR"/*.up.sql; do
		b=${f##*/} &&
		test "$(expr "${b%%_*}" + 0)" = "$v" &&
		test -f "${f%.up.sql}.down.sql" &&
		v=$((v + 1)) ||
		{ echo "bad: $f"; false; } || return 1
	done
'

test_expect_success 'db status on a fresh state' '
	runner db status --state "$TRASH/s" >out 2>err &&
	{
		echo "database: $TRASH/s/runner.db" &&
		echo "schema version: 0 (this runner knows up to $NR)" &&
		v=1 &&
		while [ $v -le $NR ]; do
			status_row $v pending && echo && v=$((v + 1)) ||
			return 1
		done
	} >expect &&
	test_cmp expect out &&
	test_grep "^   1  $(mig_name 1) *pending$" out &&
	test_must_fail test -s err &&
	test -d "$TRASH/s/runs" &&
	test "$(stat -c %a "$TRASH/s")" = 700
'

test_expect_success 'db migrate applies the migrations' '
	runner db migrate --state s >out &&
	{
		applied_lines 0 $NR &&
		echo "s/runner.db is at schema version $NR"
	} >expect &&
	test_cmp expect out &&
	test "$(applied s)" = $NR &&
	test "$(sqlite3 s/runner.db "PRAGMA journal_mode")" = wal &&
	tables s/runner.db >tables &&
	test_grep "^runs$" tables &&
	test_grep "^hash_cache$" tables &&
	backups s >bak &&
	test_must_fail test -s bak &&
	runner db status --state s >out &&
	test_grep "^schema version: $NR " out &&
	v=1 &&
	while [ $v -le $NR ]; do
		grep -E "^$(status_row $v applied)  [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$" out &&
		v=$((v + 1)) ||
		{ echo "no applied line for $v"; false; } || return 1
	done &&
	test "$(wc -l <out)" = $((NR + 2)) &&
	sqlite3 s/runner.db "SELECT version || char(32) || name ||
		char(32) || checksum FROM schema_migrations
		ORDER BY version" >sums &&
	v=1 &&
	for f in "$MIGRATIONS_DIR"/*.up.sql; do
		echo "$v $(mig_name $v) $(sha256sum <"$f" | cut -d" " -f1)" &&
		v=$((v + 1)) || exit 1
	done >want &&
	test_cmp want sums
'

test_expect_success 'db migrate twice is a no-op' '
	runner db migrate --state s &&
	runner db migrate --state s >out &&
	echo "s/runner.db is already at schema version $NR" >expect &&
	test_cmp expect out &&
	test "$(applied s)" = $NR &&
	backups s >bak &&
	test_must_fail test -s bak
'

test_expect_success 'db migrate --to 1 then migrate: one backup, of version 1' '
	runner db migrate --to 1 --state s >out &&
	{
		applied_lines 0 1 &&
		echo "s/runner.db is at schema version 1"
	} >expect &&
	test_cmp expect out &&
	backups s >bak &&
	test_must_fail test -s bak &&
	sqlite3 s/runner.db "INSERT INTO events (at, level, kind, message)
		VALUES (1, '"'info'"', '"'k'"', '"'kept in the backup'"')" &&
	runner db migrate --state s >out &&
	{
		echo "backed up s/runner.db to s/runner.db.bak-1" &&
		applied_lines 1 $NR &&
		echo "s/runner.db is at schema version $NR"
	} >expect &&
	test_cmp expect out &&
	echo runner.db.bak-1 >expect &&
	backups s >bak &&
	test_cmp expect bak &&
	test "$(sqlite3 s/runner.db.bak-1 "PRAGMA integrity_check")" = ok &&
	test "$(version_of s/runner.db.bak-1)" = 1 &&
	test "$(sqlite3 s/runner.db.bak-1 "SELECT message FROM events")" = \
		"kept in the backup" &&
	test "$(applied s)" = $NR
'

test_expect_success 'db rollback --steps 1 backs up and runs the down file' '
	runner db migrate --state s &&
	sqlite3 s/runner.db "INSERT INTO events (at, level, kind, message)
		VALUES (1, '"'info'"', '"'k'"', '"'kept in the backup'"')" &&
	runner db rollback --steps 1 --state s >out &&
	{
		echo "backed up s/runner.db to s/runner.db.bak-$NR" &&
		rolled_back_lines $NR $PREV &&
		echo "s/runner.db is at schema version $PREV"
	} >expect &&
	test_cmp expect out &&
	test "$(applied s)" = $PREV &&
	objects_at $PREV ref >expect &&
	objects s/runner.db >actual &&
	test_cmp expect actual &&
	test "$(sqlite3 s/runner.db "SELECT message FROM events")" = \
		"kept in the backup" &&
	echo runner.db.bak-$NR >expect &&
	backups s >bak &&
	test_cmp expect bak &&
	test "$(sqlite3 s/runner.db.bak-$NR "PRAGMA integrity_check")" = ok &&
	test "$(version_of s/runner.db.bak-$NR)" = $NR &&
	test "$(sqlite3 s/runner.db.bak-$NR "SELECT message FROM events")" = \
		"kept in the backup" &&
	runner db status --state s >out &&
	test_grep "^$(status_row $NR pending)$" out &&
	test_grep "^$(status_row $PREV applied)  " out
'

test_expect_success 'db rollback --steps 1 from version 1 leaves version 0' '
	runner db migrate --to 1 --state s &&
	sqlite3 s/runner.db "INSERT INTO events (at, level, kind, message)
		VALUES (1, '"'info'"', '"'k'"', '"'kept in the backup'"')" &&
	runner db rollback --steps 1 --state s >out &&
	cat >expect <<-EOF &&
	backed up s/runner.db to s/runner.db.bak-1
	rolled back 1 ($(mig_name 1))
	s/runner.db is at schema version 0
	EOF
	test_cmp expect out &&
	test "$(applied s)" = 0 &&
	tables s/runner.db >tables &&
	echo schema_migrations >expect &&
	test_cmp expect tables &&
	echo runner.db.bak-1 >expect &&
	backups s >bak &&
	test_cmp expect bak &&
	test "$(sqlite3 s/runner.db.bak-1 "PRAGMA integrity_check")" = ok &&
	test "$(version_of s/runner.db.bak-1)" = 1 &&
	test "$(sqlite3 s/runner.db.bak-1 "SELECT message FROM events")" = \
		"kept in the backup" &&
	runner db status --state s >out &&
	v=1 &&
	while [ $v -le $NR ]; do
		test_grep "^$(status_row $v pending)$" out &&
		v=$((v + 1)) || return 1
	done
'

test_expect_success 'db rollback defaults to one step; --to 0; migrate again' '
	runner db migrate --state s &&
	runner db rollback --state s >out &&
	rolled_back_lines $NR $PREV >expect &&
	grep "^rolled back " out >actual &&
	test_cmp expect actual &&
	test "$(applied s)" = $PREV &&
	runner db migrate --state s >out &&
	applied_lines $PREV $NR >expect &&
	grep "^applied " out >actual &&
	test_cmp expect actual &&
	runner db rollback --to 0 --state s >out &&
	{
		echo "backed up s/runner.db to s/runner.db.bak-$NR" &&
		rolled_back_lines $NR 0 &&
		echo "s/runner.db is at schema version 0"
	} >expect &&
	test_cmp expect out &&
	tables s/runner.db >tables &&
	echo schema_migrations >expect &&
	test_cmp expect tables &&
	runner db migrate --state s >out &&
	{
		applied_lines 0 $NR &&
		echo "s/runner.db is at schema version $NR"
	} >expect &&
	test_cmp expect out &&
	test "$(applied s)" = $NR &&
	objects_at $NR ref >expect &&
	objects s/runner.db >actual &&
	test_cmp expect actual &&
	runner db rollback --to $NR --state s >out &&
	test_grep "^s/runner.db is already at schema version $NR$" out &&
	runner db rollback --to 1 --state s >out &&
	{
		echo "backed up s/runner.db to s/runner.db.bak-$NR" &&
		rolled_back_lines $NR 1 &&
		echo "s/runner.db is at schema version 1"
	} >expect &&
	test_cmp expect out &&
	test "$(applied s)" = 1 &&
	runner db rollback --to 1 --state s >out &&
	test_grep "^s/runner.db is already at schema version 1$" out
'

test_expect_success 'rollback with nothing to roll back is a usage error' '
	test_expect_code 2 runner db rollback --state s 2>err &&
	test_grep "^runner: nothing to roll back: .s/runner.db. is at schema version 0$" err &&
	runner db migrate --state s &&
	test_expect_code 2 runner db rollback --steps $((NR + 1)) --state s 2>err &&
	test_grep "^runner: cannot roll back $((NR + 1)) steps: .s/runner.db. is at schema version $NR$" err &&
	test "$(applied s)" = $NR &&
	runner db rollback --to 1 --state s &&
	test_expect_code 2 runner db rollback --steps 2 --state s 2>err &&
	test_grep "cannot roll back 2 steps: .s/runner.db. is at schema version 1$" err &&
	test "$(applied s)" = 1
'

test_expect_success 'a database newer than the runner is refused' '
	runner db migrate --state s &&
	sqlite3 s/runner.db "INSERT INTO schema_migrations
		VALUES (999, '"'future'"', '"'x'"', 0)" &&
	msg="runner: state database '"'s/runner.db'"' is at schema version 999 but this runner knows only up to $NR; use a newer runner" &&
	test_expect_code 4 runner db status --state s >out 2>err &&
	echo "$msg" >expect &&
	test_cmp expect err &&
	w=$(name_width future) &&
	test_grep "^$(printf "%4d  %-${w}s" 999 future)  applied  1970-01-01T00:00:00.000Z  (unknown to this runner)$" out &&
	v=1 &&
	while [ $v -le $NR ]; do
		test_grep "^$(status_row $v applied $w)  [^ ]*$" out &&
		v=$((v + 1)) || return 1
	done &&
	test_expect_code 4 runner db migrate --state s 2>err &&
	test_cmp expect err &&
	test_expect_code 4 runner db rollback --state s 2>err &&
	test_cmp expect err &&
	test "$(applied s)" = $((NR + 1)) &&
	backups s >bak &&
	test_must_fail test -s bak
'

test_expect_success 'a migration changed after it was applied is refused' '
	runner db migrate --state s &&
	sqlite3 s/runner.db "UPDATE schema_migrations SET checksum = '"'0000'"'" &&
	n1=$(mig_name 1) &&
	f1=$(basename "$(mig_file 1)") &&
	msg="runner: migration 1 ($n1) was changed after it was applied to '"'s/runner.db'"' (checksum mismatch); restore the original migrations/$f1 or use a matching runner" &&
	echo "$msg" >expect &&
	test_expect_code 4 runner db status --state s >out 2>err &&
	test_cmp expect err &&
	v=1 &&
	while [ $v -le $NR ]; do
		test_grep "^$(status_row $v applied)  .*  CHANGED (checksum mismatch)$" out &&
		v=$((v + 1)) || return 1
	done &&
	test_expect_code 4 runner db migrate --state s 2>err &&
	test_cmp expect err &&
	test_expect_code 4 runner db rollback --to 0 --state s 2>err &&
	test_cmp expect err &&
	test "$(tables s/runner.db | wc -l)" -gt 1 &&
	test "$(applied s)" = $NR
'

test_expect_success 'only the last migration changed: it is the one named' '
	runner db migrate --state s &&
	sqlite3 s/runner.db "UPDATE schema_migrations SET checksum = '"'0000'"'
		WHERE version = $NR" &&
	f=$(basename "$(mig_file $NR)") &&
	msg="runner: migration $NR ($(mig_name $NR)) was changed after it was applied to '"'s/runner.db'"' (checksum mismatch); restore the original migrations/$f or use a matching runner" &&
	echo "$msg" >expect &&
	test_expect_code 4 runner db status --state s >out 2>err &&
	test_cmp expect err &&
	test_grep "^$(status_row $NR applied)  .*  CHANGED (checksum mismatch)$" out &&
	test "$(grep -c "CHANGED" out)" = 1 &&
	test_expect_code 4 runner db migrate --to 1 --state s 2>err &&
	test_cmp expect err &&
	test_expect_code 4 runner db rollback --steps 1 --state s 2>err &&
	test_cmp expect err &&
	test "$(applied s)" = $NR &&
	backups s >bak &&
	test_must_fail test -s bak
'

test_expect_success 'a corrupt database is refused and left alone' '
	mkdir s &&
	head -c 10000 /dev/urandom >s/runner.db &&
	cp s/runner.db before &&
	msg="runner: state database '"'s/runner.db'"' is not a SQLite database or is corrupt (file is not a database); no backup of it is in '"'s'"'; restore it from one of your own or move it aside to start a new state" &&
	echo "$msg" >expect &&
	for cmd in status migrate rollback; do
		test_expect_code 4 runner db $cmd --state s 2>err &&
		test_cmp expect err || exit 1
	done &&
	cmp before s/runner.db &&
	test_must_fail test -e s/runner.db-wal
'

test_expect_success 'a corrupt database: the advice names the newest backup there is' '
	mkdir s &&
	runner db migrate --state s &&
	cp s/runner.db s/runner.db.bak-1 &&
	cp s/runner.db s/runner.db.bak-2 &&
	touch -d "2026-01-01 00:00" s/runner.db.bak-2 &&
	head -c 10000 /dev/urandom >s/runner.db &&
	test_expect_code 4 runner runs --state s 2>err &&
	test_grep "corrupt (file is not a database); restore it from '"'s/runner.db.bak-1'"' or move it aside" err
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
		"$RUNNER" db migrate --state "$TRASH/ro/state" 2>err &&
	echo "runner: cannot open state database $q$TRASH/ro/state/runner.db$q for writing: Read-only file system" >expect &&
	test_cmp expect err &&
	bwrap --bind / / --ro-bind "$TRASH/ro" "$TRASH/ro" \
		"$RUNNER" db status --state "$TRASH/ro/state" >out 2>err &&
	test_grep "^schema version: $NR" out &&
	echo "runner: warning: state $q$TRASH/ro/state$q cannot be written (Read-only file system); showing it as it is (runs whose runner died are not marked lost)" >expect &&
	test_cmp expect err
'

# A runner that died leaves runner.db-wal (and -shm) behind: what it
# committed is only there. Copied while a connection holds them open.
test_expect_success BWRAP,PYTHON3 'a read-only state with a -wal: read through the -shm, refused without one' '
	runner db migrate --state st &&
	python3 -c "
import shutil, sqlite3
c = sqlite3.connect(\"st/runner.db\")
c.execute(\"PRAGMA wal_autocheckpoint = 0\")
c.execute(\"CREATE TABLE only_in_wal (x)\")
c.commit()
shutil.copytree(\"st\", \"ro/a\")
shutil.copytree(\"st\", \"ro/b\")
" &&
	test -s ro/a/runner.db-wal &&
	rm ro/b/runner.db-shm &&
	bwrap --bind / / --ro-bind "$TRASH/ro" "$TRASH/ro" \
		"$RUNNER" db status --state "$TRASH/ro/a" >out 2>err &&
	test_grep "^schema version: $NR" out &&
	test_expect_code 4 bwrap --bind / / --ro-bind "$TRASH/ro" "$TRASH/ro" \
		"$RUNNER" db status --state "$TRASH/ro/b" 2>err &&
	test_grep "runner.db-wal. holds changes that are not in the database yet" err
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
	test_grep "^eq/runner.db is at schema version $NR$" out &&
	runner db --state first status >out &&
	test_grep "^database: first/runner.db$" out
'

test_expect_success 'usage errors exit 2' '
	for args in "" "frob" "status --to 1" "status --steps 1" \
		"migrate --steps 1" "rollback --to 0 --steps 1" \
		"migrate --to abc" "migrate --to -1" "rollback --steps 0" \
		"migrate --to $((NR + 1))" "rollback --to $((NR + 1))" \
		"status --bogus" "status extra" \
		"status --state" "status --state="; do
		test_expect_code 2 runner db $args 2>err &&
		head -n 1 err | grep "^runner: " &&
		test_grep "^usage: runner db status" err ||
		{ echo "args: $args"; cat err; false; } || return 1
	done &&
	test_expect_code 2 runner db migrate --to $((NR + 1)) 2>err &&
	test_grep "^runner: no schema version $((NR + 1)): this runner knows versions 0 to $NR$" err &&
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
		{
			(rc=0 &&
			 { runner db migrate --state race >out.$i 2>err.$i ||
			   rc=$?; } &&
			 echo $rc >rc.$i) &
		} || return 1
	done &&
	test_wait_jobs &&
	for i in 1 2 3 4 5 6; do
		test "$(cat rc.$i)" = 0 ||
		{ cat err.$i; false; } || return 1
	done &&
	applied_lines 0 $NR >expect &&
	cat out.* | grep "^applied " | sort -n -k2 >actual &&
	test_cmp expect actual &&
	test "$(applied race)" = $NR &&
	test "$(sqlite3 race/runner.db "PRAGMA integrity_check")" = ok
'

test_done
