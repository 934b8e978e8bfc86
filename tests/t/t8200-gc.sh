#!/bin/sh
# runner gc: orphaned sandbox roots, old runs, never a run still going.
. ./lib.sh

setup() {
	mkdir -p ws &&
	printf "version: 1\nname: g\nbackend: {isolation: none}\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: echo hi\n" >p.yaml &&
	runner exec p.yaml --state st >/dev/null &&
	runner exec p.yaml --state st >/dev/null
}
q() { sqlite3 st/runner.db "$1"; }

test_expect_success 'gc removes sandbox roots whose run is over, keeps a going one' '
	setup &&
	old=$(q "select id from runs order by started_at limit 1") &&
	mkdir -p "st/sandboxes/$old-t-1-abcdef/workspace" &&
	{ sleep 60 & } && spid=$! &&
	now=$(date +%s%3N) &&
	q "insert into runs (id, plan_name, plan_path, plan_sha256, backend, status, started_at, host, pid) values (\"29990101-000000-beef\", \"g\", \"p.yaml\", \"x\", \"local\", \"running\", $now, \"$(hostname)\", $spid)" &&
	mkdir -p st/sandboxes/29990101-000000-beef-t-1-abcdef &&
	runner gc --state st >out &&
	kill $spid &&
	test_grep "removed sandbox $old-t-1-abcdef" out &&
	! test -e "st/sandboxes/$old-t-1-abcdef" &&
	test -d st/sandboxes/29990101-000000-beef-t-1-abcdef
'

test_expect_success 'gc --older-than prunes old runs (folders and rows), never a going one' '
	setup &&
	old=$(q "select id from runs order by started_at limit 1") &&
	new=$(q "select id from runs order by started_at desc limit 1") &&
	q "update runs set started_at = started_at - 40*86400000, ended_at = ended_at - 40*86400000 where id = \"$old\"" &&
	{ sleep 60 & } && spid=$! &&
	now=$(date +%s%3N) &&
	q "insert into runs (id, plan_name, plan_path, plan_sha256, backend, status, started_at, host, pid) values (\"20000101-000000-beef\", \"g\", \"p.yaml\", \"x\", \"local\", \"running\", $now, \"$(hostname)\", $spid)" &&
	runner gc --older-than 30d --dry-run --state st >out &&
	test_grep "would prune run $old" out &&
	test -d st/runs/$old &&
	runner gc --older-than 30d --state st >out &&
	kill $spid &&
	test_grep "pruned run $old" out &&
	! test -e st/runs/$old &&
	test -d st/runs/$new &&
	test "$(q "select count(*) from runs where id=\"$old\"")" = 0 &&
	test "$(q "select count(*) from tasks where run_id=\"$old\"")" = 0 &&
	test "$(q "select count(*) from attempts where run_id=\"$old\"")" = 0 &&
	test "$(q "select count(*) from events where run_id=\"$old\"")" = 0 &&
	test "$(q "select status from runs where id=\"20000101-000000-beef\"")" = running &&
	{ sleep 60 & } && spid=$! &&
	q "update runs set started_at = $(date +%s%3N), pid = $spid where id = \"20000101-000000-beef\"" &&
	runner gc --older-than 0s --state st >out &&
	kill $spid &&
	test_grep "pruned run $new" out &&
	test "$(q "select group_concat(id) from runs")" = 20000101-000000-beef
'

test_expect_success 'gc usage errors' '
	setup &&
	test_expect_code 2 runner gc --older-than soon --state st 2>err &&
	test_expect_code 2 runner gc extra --state st 2>err
'

test_done
