#!/bin/sh
# A state whose database is gone under its runs, and a state on a full
# disk. An empty, missing or table-less runner.db beside a runs/ that
# holds runs is not a new state: every command refuses it, names what to
# restore, and writes nothing. On a full disk (a real tmpfs of a few MiB
# in a private mount namespace) the commands that only read still work,
# the ones that write say the disk is full, and nothing is lost.
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

# The full disk. A tmpfs mounted in a mount namespace of our own goes
# away with it; each test writes a script (ns.sh) that runs there on top
# of ns-lib.sh, and leaves what it saw in files for the checks.
mkdir -p "$TRASH_ROOT/probe"
if [ "$(id -u)" -eq 0 ] &&
	unshare -m mount -t tmpfs -o size=1m tmpfs "$TRASH_ROOT/probe" 2>/dev/null
then
	can_mount=1
else
	can_mount=
fi

# full_disk_test DESCRIPTION BODY
full_disk_test() {
	if [ -n "$can_mount" ]; then
		test_expect_success "$1" "$2"
	else
		test_skip "$1" "cannot mount a tmpfs in a private mount namespace here: needs root and unshare -m"
	fi
}

write_ns_lib() {
	cat >ns-lib.sh <<-\EOF
	set -u
	# A tmpfs of 8 MiB on mnt, unmounted on the way out.
	mkdir -p mnt && mount -t tmpfs -o size=8m tmpfs mnt || exit 1
	trap 'cd "$TRASH" && umount mnt' EXIT
	# A state on it with one real run, its id in the file run.
	"$RUNNER" exec p.yaml --state mnt/st --quiet >/dev/null || exit 1
	ls mnt/st/runs >run
	run=$(cat run)
	sums() { (cd "$1" && find . -type f | LC_ALL=C sort | xargs sha256sum); }
	# Write until the file system has no block left.
	fill_disk() {
		dd if=/dev/zero of=mnt/fill bs=64k 2>/dev/null
		test "$(df -k mnt | awk 'NR == 2 { print $4 }')" = 0 || exit 1
	}
	free_disk() { rm -f mnt/fill; }
	# rec NAME ARGS...: runner ARGS; its stdout, stderr and exit
	# status go to NAME.out, NAME.err and NAME.rc.
	rec() {
		_n=$1
		shift
		"$RUNNER" "$@" >"$_n.out" 2>"$_n.err"
		echo $? >"$_n.rc"
	}
	EOF
}

# check NAME CODE: what rec NAME recorded exited CODE.
check() {
	test "$(cat "$1.rc")" = "$2" || {
		echo "$1 exited $(cat "$1.rc"), want $2; stderr:"
		cat "$1.err"
		return 1
	}
}

full_disk_test 'on a full disk, the commands that only read work and say the disk is full' '
	write_plan && write_ns_lib &&
	cat >ns.sh <<-\EOF &&
	. ./ns-lib.sh
	"$RUNNER" archive $run -o mnt/a.tar.gz --state mnt/st >/dev/null || exit 1
	rec verify0 verify mnt/a.tar.gz
	cp mnt/st/runs/$run/tasks/make/output.log make.log
	sums mnt/st >before
	sums mnt/st/runs/$run >run-before
	fill_disk
	rec runs runs --state mnt/st
	rec show show $run --state mnt/st
	rec logs logs $run make --state mnt/st
	rec stdout report $run -o - --state mnt/st
	rec file report $run -o "$TRASH/r.html" --state mnt/st
	rec instate report $run --state mnt/st
	rec archive archive $run -o "$TRASH/a.tar.gz" --state mnt/st
	rec verify verify mnt/a.tar.gz
	rec apply apply $run edit --dry-run --state mnt/st
	rec gc gc --dry-run --state mnt/st
	rec status db status --state mnt/st
	sums mnt/st | grep -v " ./runner.db-" >after
	ls mnt/st >files
	test -s mnt/st/runner.db-wal && echo written >wal
	free_disk
	rec runs2 runs --state mnt/st
	rec exec2 exec p.yaml --state mnt/st --quiet
	sums mnt/st/runs/$run >run-after
	"$RUNNER" runs --state mnt/st >list
	sqlite3 mnt/st/runner.db "PRAGMA integrity_check" >integrity
	EOF
	unshare -m sh ns.sh &&
	run=$(cat run) &&
	q=$(printf "\047") &&
	echo "runner: warning: the disk that holds state ${q}mnt/st${q} is full; showing the state as it is (runs whose runner died are marked lost once there is space)" >warn &&
	for c in runs show logs stdout file archive apply gc status; do
		check $c 0 && test_cmp warn $c.err || return 1
	done &&
	test_grep "^$run  *damage  *succeeded .* 2/2$" runs.out &&
	test_grep "^run:  *$run$" show.out &&
	test_grep "^make  *succeeded" show.out &&
	test_cmp make.log logs.out &&
	test "$(wc -l <logs.out)" = 100000 &&
	test_cmp r.html stdout.out &&
	test_grep "$run" stdout.out &&
	check instate 4 &&
	test_grep "report.html.: No space left on device" instate.err &&
	for f in out err rc; do
		test_cmp verify0.$f verify.$f || return 1
	done &&
	test_grep "a.txt" apply.out &&
	test_grep "gc: 0 sandboxes removed, 0 runs pruned (dry run)" gc.out &&
	test_grep "^schema version: $NR " status.out &&
	test_cmp before after &&
	test_must_fail test -e wal &&
	check runs2 0 && test_must_fail test -s runs2.err &&
	check exec2 0 &&
	test "$(grep -c " damage  *succeeded" list)" = 2 &&
	test_cmp run-before run-after &&
	echo ok >expect && test_cmp expect integrity
'

full_disk_test 'on a full disk, the commands that write fail saying so; nothing is lost' '
	write_plan && write_sched_plan && write_ns_lib &&
	cat >ns.sh <<-\EOF &&
	. ./ns-lib.sh
	sums mnt/st >before
	sums mnt/st/runs/$run >run-before
	fill_disk
	rec exec exec p.yaml --state mnt/st
	rec due exec sched.yaml --if-due --state mnt/st
	rec resume resume $run --state mnt/st
	rec gc gc --state mnt/st
	rec prune gc --older-than 0s --state mnt/st
	rec migrate db migrate --state mnt/st
	rec rollback db rollback --steps 1 --state mnt/st
	sums mnt/st | grep -v " ./runner.db-" >after
	free_disk
	rec runs runs --state mnt/st
	rec exec2 exec p.yaml --state mnt/st --quiet
	"$RUNNER" runs --state mnt/st >list
	sums mnt/st/runs/$run >run-after
	sqlite3 mnt/st/runner.db "PRAGMA integrity_check" >integrity
	EOF
	unshare -m sh ns.sh &&
	run=$(cat run) &&
	q=$(printf "\047") &&
	echo "runner: cannot open state database ${q}mnt/st/runner.db${q}: the disk is full; free space on the file system that holds ${q}mnt/st${q} and try again" >expect &&
	for c in exec due resume gc prune migrate rollback; do
		check $c 4 && test_cmp expect $c.err || return 1
	done &&
	test_cmp before after &&
	check runs 0 && test_must_fail test -s runs.err &&
	test_grep "^$run  *damage  *succeeded .* 2/2$" runs.out &&
	test "$(grep -c " damage " runs.out)" = 1 &&
	check exec2 0 &&
	test "$(grep -c " damage  *succeeded" list)" = 2 &&
	test_cmp run-before run-after &&
	echo ok >expect && test_cmp expect integrity
'

full_disk_test 'on a full disk, a run whose runner died shows as running; it is marked lost once there is space' '
	write_plan && write_ns_lib &&
	sed "s/^name: damage$/name: slow/; s/^    run: head .*/    run: sleep 1033/" p.yaml >slow.yaml &&
	cat >ns.sh <<-\EOF &&
	. ./ns-lib.sh
	"$RUNNER" exec slow.yaml --state mnt/st --quiet >/dev/null 2>&1 &
	pid=$!
	i=0
	while ! pgrep -f "sleep 1033" >/dev/null; do
		i=$((i + 1)); test $i -lt 100 || exit 1; sleep 0.1
	done
	kill -KILL $pid
	wait $pid
	pgrep -f "sleep 1033" >sleeper
	fill_disk
	rec runs runs --state mnt/st
	rec exec exec p.yaml --state mnt/st --quiet
	pgrep -f "sleep 1033" >alive
	kill $(cat alive) 2>/dev/null
	free_disk
	rec runs2 runs --state mnt/st
	EOF
	unshare -m sh ns.sh &&
	test -s sleeper &&
	test_must_fail test -s alive &&
	q=$(printf "\047") &&
	echo "runner: warning: the disk that holds state ${q}mnt/st${q} is full; showing the state as it is (runs whose runner died are marked lost once there is space)" >warn &&
	check runs 0 && test_cmp warn runs.err &&
	test_grep " slow  *running " runs.out &&
	check exec 4 &&
	grep -E "disk is full|No space left on device" exec.err &&
	check runs2 0 && test_must_fail test -s runs2.err &&
	test_grep " slow  *lost " runs2.out &&
	test_grep " damage  *succeeded " runs2.out
'

full_disk_test 'on a full disk, a state that needs a migration says so; db status still works' '
	write_plan && write_ns_lib &&
	cat >ns.sh <<-\EOF &&
	. ./ns-lib.sh
	"$RUNNER" db rollback --steps 1 --state mnt/st >/dev/null || exit 1
	fill_disk
	rec runs runs --state mnt/st
	rec status db status --state mnt/st
	rec exec exec p.yaml --state mnt/st
	free_disk
	rec runs2 runs --state mnt/st
	EOF
	unshare -m sh ns.sh &&
	run=$(cat run) &&
	q=$(printf "\047") &&
	echo "runner: state database ${q}mnt/st/runner.db${q} is at schema version $((NR - 1)) and needs migrating to $NR, but the disk is full; free space on the file system that holds ${q}mnt/st${q} and try again" >expect &&
	check runs 4 && test_cmp expect runs.err &&
	check status 0 &&
	test_grep "^schema version: $((NR - 1)) " status.out &&
	test_grep "^ *$NR  .* pending$" status.out &&
	test_grep "the disk that holds state .mnt/st. is full" status.err &&
	check exec 4 &&
	test_grep "disk is full; free space on the file system that holds .mnt/st." exec.err &&
	check runs2 0 &&
	test_grep "^$run  *damage  *succeeded " runs2.out
'

test_expect_success 'runners that create the same new state at once all run (no lost-database alarm)' '
	mkdir ws &&
	echo a >ws/a &&
	cat >p.yaml <<-\EOF &&
	version: 1
	name: race
	backend: {isolation: none}
	defaults: {workspace: ws}
	tasks:
	  - {id: t, run: "true"}
	EOF
	for i in 1 2 3 4 5 6 7 8 9 10; do
		for j in 1 2 3 4; do
			{ rc=0 && { runner exec p.yaml --state st$i --quiet \
				>out$i.$j 2>&1 || rc=$?; } && echo $rc >rc$i.$j & } ||
				return 1
		done || return 1
	done &&
	test_wait_jobs &&
	for i in 1 2 3 4 5 6 7 8 9 10; do
		for j in 1 2 3 4; do
			test "$(cat rc$i.$j)" = 0 || { cat out$i.$j; return 1; }
		done || return 1
	done
'

test_done
