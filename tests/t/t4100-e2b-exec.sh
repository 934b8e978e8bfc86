#!/bin/sh
# runner exec on the e2b backend, through the CLI, against the loopback
# E2B server: the demo plan unchanged, the API key never leaks, sandbox
# ids are recorded before use, a crashed run's sandboxes are killed by gc.
. ./lib.sh
. ./lib-e2b.sh

alive() { server_state | python3 -c "import json,sys; print(len(json.load(sys.stdin)['sandboxes']))"; }
q() { sqlite3 st/runner.db "$1"; }

test_expect_success BWRAP 'the demo plan runs unchanged on e2b, nothing is left alive, the key never leaks' '
	cp -r "$RUNNER_TOP/plans" "$RUNNER_TOP/examples" . &&
	runner exec plans/demo.yaml --backend e2b --state st >out 2>err &&
	test "$(q "select count(*) from tasks where status=\"succeeded\"")" = 5 &&
	test "$(q "select backend from runs")" = e2b &&
	test "$(alive)" = 0 &&
	test "$(q "select count(*) from attempts where sandbox_id is null or sandbox_id like \"local-%\"")" = 0 &&
	grep -q "## Usage" st/runs/*/tasks/readme-usage/changes/README.md &&
	test "$(cat st/runs/*/tasks/bump-version/changes/VERSION)" = 0.1.1 &&
	! grep -rq "$CANARY" st out err &&
	sqlite3 st/runner.db .dump >dump &&
	test -s dump &&
	! grep -q "$CANARY" dump
'

test_expect_success 'without E2B_API_KEY the run does not start' '
	mkdir ws &&
	printf "version: 1\nname: k\nbackend: {type: e2b}\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: \"true\"\n" >p.yaml &&
	test_expect_code 4 env -u E2B_API_KEY "$RUNNER" exec p.yaml --state st 2>err &&
	test_grep "E2B_API_KEY" err &&
	{ ! test -d st/runs || test -z "$(ls st/runs)"; }
'

test_expect_success 'a wrong key stops the run at once with a message about E2B_API_KEY' '
	mkdir ws &&
	printf "version: 1\nname: k\nbackend: {type: e2b}\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: \"true\"\n" >p.yaml &&
	test_expect_code 4 env E2B_API_KEY=e2b_0000deadbeef "$RUNNER" exec p.yaml --state st 2>err &&
	test_grep "E2B_API_KEY" err &&
	! grep -q e2b_0000deadbeef err
'

test_expect_success BWRAP 'RUNNER_E2B_* durations: plain seconds and the plan forms; a bad one stops the run' '
	mkdir ws &&
	printf "version: 1\nname: d\nbackend: {type: e2b}\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: echo hi >out.txt\n" >p.yaml &&
	RUNNER_E2B_KEEPALIVE=90 RUNNER_E2B_TTL_MARGIN=1m30s \
		RUNNER_E2B_KILL_WAIT=2500ms runner exec p.yaml --state st >out 2>&1 &&
	test "$(cat st/runs/*/tasks/t/changes/out.txt)" = hi &&
	for bad in 30x 1.5s 5s1h -1 1h+ ms; do
		test_expect_code 4 env RUNNER_E2B_KEEPALIVE=$bad \
			"$RUNNER" exec p.yaml --state st2 2>err &&
		test_grep "RUNNER_E2B_KEEPALIVE: invalid duration .$bad." err || return 1
	done &&
	curl -sf -X POST "$URL/_reset" >/dev/null &&
	set_faults "[{\"route\": \"POST /sandboxes\", \"kind\": \"hang\"}]" &&
	start=$(date +%s%N) &&
	RUNNER_E2B_REQUEST_TIMEOUT=2 test_expect_code 1 \
		"$RUNNER" exec p.yaml --state st3 >out 2>&1 &&
	ms=$((($(date +%s%N) - start) / 1000000)) &&
	test_grep "RUNNER_E2B_REQUEST_TIMEOUT" st3/runs/*/tasks/t/result.json &&
	test "$ms" -ge 2000 && test "$ms" -lt 6000 &&
	test "$(alive)" = 0
'

test_expect_success BWRAP 'a runner killed mid-run: gc marks the run lost and kills its sandbox' '
	mkdir ws &&
	printf "version: 1\nname: crash\nbackend: {type: e2b}\ndefaults: {workspace: ws}\ntasks:\n  - id: slow\n    run: echo up; sleep 300\n" >p.yaml &&
	{ "$RUNNER" exec p.yaml --state st >out 2>&1 & } &&
	pid=$! &&
	test_wait_for 10 "test \"\$(alive)\" = 1 &&
		grep -q up st/runs/*/tasks/slow/output.log 2>/dev/null" &&
	test "$(alive)" = 1 &&
	sid=$(q "select sandbox_id from attempts") && test -n "$sid" &&
	kill -KILL $pid && { wait $pid || true; } &&
	runner gc --state st >gc.out &&
	test_grep "killed e2b sandbox $sid" gc.out &&
	test "$(alive)" = 0 &&
	test "$(q "select status from runs")" = lost
'

test_done
