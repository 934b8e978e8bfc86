#!/bin/sh
# A state whose database is gone under its runs, and a state on a full
# disk. An empty, missing or table-less runner.db beside a runs/ that
# holds runs is not a new state: every command refuses it, names what to
# restore, and writes nothing.
. "$(dirname "$0")/lib.sh"

NR=$(ls "$RUNNER_TOP"/migrations/*.up.sql | wc -l | tr -d " ")

# A plan whose run leaves results of a realistic size: a 1 MiB file and
# 100 small ones pulled back, a log of 576 KiB, and an edited file.
write_plan() {
	mkdir -p ws &&
	echo hello >ws/a.txt &&
	cat >p.yaml <<-\EOF
	version: 1
	name: damage
	backend: {isolation: none}
	defaults: {workspace: ws}
	tasks:
	  - id: make
	    run: head -c 1048576 /dev/urandom >big.bin && mkdir many && for i in $(seq 100); do echo $i >many/f$i; done && seq 100000
	  - id: edit
	    run: echo changed >a.txt && echo edited
	EOF
}

# The same plan with a schedule, for exec --if-due.
write_sched_plan() {
	sed "s/^name: damage$/name: nightly\\
schedule: {cron: \"0 2 * * *\"}/" p.yaml >sched.yaml
}

# Every file under $1 with its SHA-256, sorted: what must not change.
sums() {
	(cd "$1" && find . -type f | LC_ALL=C sort | xargs sha256sum)
}

# Every command that opens the state, with the run id $1 filled in. The
# read-only ones first.
commands() {
	cat <<-EOF
	runs
	show $1
	show last
	logs $1 make
	report $1 -o $TRASH/r.html
	report $1 -o -
	archive $1 -o $TRASH/a.tar.gz
	apply $1 edit --dry-run
	gc --dry-run
	db status
	exec p.yaml
	exec sched.yaml --if-due
	resume $1
	gc
	gc --older-than 0s
	db migrate
	db rollback --steps 1
	EOF
}

# each_refuses STATE RUN EXPECT: every command exits 4 with exactly the
# line in file EXPECT on stderr, and nothing on stdout.
each_refuses() {
	commands "$2" >cmds &&
	while read -r cmd; do
		test_expect_code 4 "$RUNNER" $cmd --state "$1" >cmd.out 2>cmd.err &&
		test_cmp "$3" cmd.err &&
		test_must_fail test -s cmd.out || {
			echo "command: runner $cmd; its stdout and stderr:"
			cat cmd.out cmd.err
			return 1
		}
	done <cmds
}

test_expect_success 'an empty runner.db beside runs is refused by every command; nothing is lost' '
	write_plan && write_sched_plan &&
	runner exec p.yaml --state st --quiet >/dev/null &&
	runner exec p.yaml --state st --quiet >/dev/null &&
	run=$(ls st/runs | head -n 1) &&
	test "$(ls st/runs | wc -l)" = 2 &&
	sums st/runs >before &&
	: >st/runner.db &&
	q=$(printf "\047") &&
	echo "runner: state database ${q}st/runner.db${q} is empty (0 bytes) but ${q}st/runs${q} holds 2 runs; restore it from a backup or move ${q}st/runs${q} aside to start a new state" >expect &&
	each_refuses st "$run" expect &&
	test -f st/runner.db && test_must_fail test -s st/runner.db &&
	test_must_fail test -e st/runner.db-wal &&
	test_must_fail test -e st/runner.db-shm &&
	sums st/runs >after &&
	test_cmp before after &&
	test_must_fail test -e r.html &&
	test_must_fail test -e a.tar.gz &&
	mv st/runs runs.aside &&
	runner exec p.yaml --state st --quiet >/dev/null &&
	runner runs --state st >out &&
	test "$(grep -c " damage " out)" = 1
'

test_expect_success 'a missing runner.db beside runs is refused the same way, and none is made' '
	write_plan && write_sched_plan &&
	runner exec p.yaml --state st --quiet >/dev/null &&
	run=$(ls st/runs) &&
	sums st >before &&
	rm st/runner.db &&
	q=$(printf "\047") &&
	echo "runner: state database ${q}st/runner.db${q} is missing but ${q}st/runs${q} holds 1 run; restore it from a backup or move ${q}st/runs${q} aside to start a new state" >expect &&
	each_refuses st "$run" expect &&
	test_must_fail test -e st/runner.db &&
	sums st >after &&
	grep -v " ./runner.db$" before >expect &&
	test_cmp expect after
'

test_expect_success 'the message names the newest runner.db.bak-N, which brings the runs back' '
	write_plan && write_sched_plan &&
	runner exec p.yaml --state st --quiet >/dev/null &&
	first=$(ls st/runs) &&
	runner db rollback --steps 1 --state st >out &&
	test_grep "backed up st/runner.db to st/runner.db.bak-$NR" out &&
	runner exec p.yaml --state st --quiet >/dev/null &&
	test -s st/runner.db.bak-$((NR - 1)) &&
	echo half a copy >st/runner.db.bak-$((NR - 1)).tmp-1 &&
	: >st/runner.db &&
	q=$(printf "\047") &&
	echo "runner: state database ${q}st/runner.db${q} is empty (0 bytes) but ${q}st/runs${q} holds 2 runs; restore it from ${q}st/runner.db.bak-$((NR - 1))${q} (runs recorded after that copy stay missing) or move ${q}st/runs${q} aside to start a new state" >expect &&
	each_refuses st "$first" expect &&
	cp st/runner.db.bak-$((NR - 1)) st/runner.db &&
	runner runs --state st >out &&
	test_grep "^$first  *damage  *succeeded " out &&
	test "$(grep -c " damage " out)" = 1
'

test_expect_success 'a runner.db without tables beside runs is refused and left as it is' '
	write_plan && write_sched_plan &&
	runner exec p.yaml --state st --quiet >/dev/null &&
	run=$(ls st/runs) &&
	rm st/runner.db &&
	sqlite3 st/runner.db "PRAGMA journal_mode = WAL" >/dev/null &&
	cp st/runner.db empty.db &&
	q=$(printf "\047") &&
	echo "runner: state database ${q}st/runner.db${q} holds no tables but ${q}st/runs${q} holds 1 run; restore it from a backup or move ${q}st/runs${q} aside to start a new state" >expect &&
	each_refuses st "$run" expect &&
	cmp empty.db st/runner.db &&
	test "$(sqlite3 st/runner.db "SELECT count(*) FROM sqlite_master")" = 0
'

test_done
