#!/bin/sh
# exec --if-due: arming, due and not due, missed fire times, overlap, and
# two runners at once. RUNNER_NOW replaces the clock for the decision.
. ./lib.sh

mkplan() {
	mkdir -p ws &&
	cat >p.yaml <<-EOF
	version: 1
	name: nightly
	schedule:
	  cron: "30 2 * * *"
	  timezone: Europe/Berlin
	  missed: ${1:-run_once}
	  overlap: ${2:-forbid}
	backend: {isolation: none}
	defaults: {workspace: ws}
	tasks:
	  - id: hello
	    run: echo hello
	EOF
}

due() { RUNNER_NOW="$1" "$RUNNER" exec --if-due p.yaml --state st; }
nruns() { if [ -f st/runner.db ]; then sqlite3 st/runner.db "select count(*) from runs"; else echo 0; fi; }

test_expect_success 'the first call only arms the plan; it runs at its next fire time' '
	mkplan &&
	due 2026-03-27T12:00:00+01:00 >out &&
	test_grep "armed plan .nightly.: it first runs at 2026-03-28T02:30:00+01:00" out &&
	test "$(nruns)" = 0 &&
	due 2026-03-27T23:00:00+01:00 >out &&
	test_grep "not due; next run at 2026-03-28T02:30:00+01:00" out &&
	test "$(nruns)" = 0 &&
	due 2026-03-28T02:31:00+01:00 >out &&
	test_grep "is due" out &&
	test "$(nruns)" = 1 &&
	due 2026-03-28T02:36:00+01:00 >out &&
	test_grep "not due; next run at 2026-03-29T03:00:00+02:00" out &&
	test "$(nruns)" = 1
'

test_expect_success 'missed: run_once runs once after downtime, however many fire times passed' '
	mkplan run_once &&
	due 2026-05-01T12:00:00+02:00 >out &&
	due 2026-05-05T10:00:00+02:00 >out &&
	test_grep "after missed fire times" out &&
	test "$(nruns)" = 1 &&
	due 2026-05-05T10:05:00+02:00 >out &&
	test_grep "not due" out &&
	test "$(nruns)" = 1
'

test_expect_success 'missed: skip waits for the next fire time' '
	mkplan skip &&
	due 2026-05-01T12:00:00+02:00 >out &&
	due 2026-05-05T10:00:00+02:00 >out &&
	test_grep "missed 4 fire times" out &&
	test_grep "next run at 2026-05-06T02:30:00+02:00" out &&
	test "$(nruns)" = 0 &&
	due 2026-05-06T02:35:00+02:00 >out &&
	test_grep "is due" out &&
	test "$(nruns)" = 1
'

test_expect_success 'overlap: forbid exits 0 with a message while a run of the plan is going' '
	mkplan run_once forbid &&
	due 2026-05-01T12:00:00+02:00 >out &&
	{ sleep 300 & } &&
	spid=$! &&
	now=$(date +%s%3N) &&
	rc=0 &&
	{
		sqlite3 st/runner.db "insert into runs (id, plan_name, plan_path, plan_sha256, backend, status, started_at, host, pid) values (\"busy-run\", \"nightly\", \"p.yaml\", \"x\", \"local\", \"running\", $now, \"$(hostname)\", $spid)" &&
		due 2026-05-02T02:31:00+02:00 >out || rc=$?
	} &&
	kill $spid &&
	test $rc = 0 &&
	test_grep "run busy-run is still going (overlap: forbid)" out &&
	test "$(nruns)" = 1
'

test_expect_success 'overlap: wait waits for the running run, then runs' '
	mkplan run_once wait &&
	due 2026-05-01T12:00:00+02:00 >out &&
	{ sleep 2 & } &&
	spid=$! &&
	now=$(date +%s%3N) &&
	sqlite3 st/runner.db "insert into runs (id, plan_name, plan_path, plan_sha256, backend, status, started_at, host, pid) values (\"busy-run\", \"nightly\", \"p.yaml\", \"x\", \"local\", \"running\", $now, \"$(hostname)\", $spid)" &&
	start=$(date +%s) &&
	due 2026-05-02T02:31:00+02:00 >out &&
	test $(( $(date +%s) - start )) -ge 1 &&
	test_grep "waiting for run busy-run" out &&
	test "$(nruns)" = 2 &&
	test "$(sqlite3 st/runner.db "select status from runs where id=\"busy-run\"")" = lost
'

test_expect_success 'two --if-due runners started in the same minute run the plan once' '
	mkplan &&
	due 2026-05-01T12:00:00+02:00 >out &&
	for k in 1 2 3 4; do
		{ (
			rc=0 &&
			{ due 2026-05-02T02:30:30+02:00 >out$k 2>&1 || rc=$?; } &&
			echo $rc >rc$k
		) & } || return 1
	done &&
	test_wait_jobs &&
	test "$(cat rc1 rc2 rc3 rc4)" = "$(printf "0\n0\n0\n0")" &&
	test "$(nruns)" = 1 &&
	test "$(grep -l "is due" out? | wc -l)" = 1 &&
	test "$(grep -l "not due" out? | wc -l)" = 3
'

test_expect_success '--if-due on a plan without a schedule, or a bad RUNNER_NOW: exit 2' '
	mkdir ws &&
	printf "version: 1\nname: x\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: \"true\"\n" >plain.yaml &&
	test_expect_code 2 runner exec --if-due plain.yaml --state st 2>err &&
	test_grep "has no schedule" err &&
	mkplan &&
	test_expect_code 2 env RUNNER_NOW=yesterday "$RUNNER" exec --if-due p.yaml --state st 2>err &&
	test_grep "RUNNER_NOW" err
'

test_done
