#!/bin/sh
# Where the real E2B is harsher than a kind stand-in, through the CLI
# (runner exec, runner validate) against tests/e2b-server/server.py,
# which behaves as envd and the API do there:
#  - envd forgets a process the moment it ends: a stream that broke near
#    the end still ends the task with its real exit status;
#  - envd's lookup by tag stops at another tagged process: reattach and
#    signals go by pid;
#  - a create answered with a 5xx may have made a sandbox: none is left;
#  - E2B ends a sandbox at its plan's maximum lifetime: a longer timeout
#    is refused up front, and a sandbox that dies of it says so.
. ./lib.sh
. ./lib-e2b.sh

# A plan with one e2b task t running the lines of $2 (timeout $1) in
# workspace ws; $3 more backend keys ("max_lifetime: 2h", ...).
write_plan() {
	mkdir -p ws &&
	echo base >ws/base.txt &&
	{
		printf 'version: 1\nname: real\n' &&
		printf 'backend: {type: e2b%s}\n' "${3:+, $3}" &&
		printf 'defaults: {workspace: ws, timeout: %s}\n' "$1" &&
		printf 'tasks:\n  - id: t\n    run: |\n' &&
		printf '%s\n' "$2" | sed 's/^/      /'
	} >p.yaml
}

# Field $1 of task t's result.json in state dir st.
result() {
	python3 -c '
import glob, json, sys
f, = glob.glob("st/runs/*/tasks/t/result.json")
v = json.load(open(f)).get(sys.argv[1])
print("null" if v is None else v)' "$1"
}

# Python over the server's /_state (as d; reqs: its non-test requests).
state_check() {
	server_state >server-state.json &&
	python3 -c "
import json, sys
d = json.load(open('server-state.json'))
reqs = [r for r in d['requests'] if not r['path'].startswith('/_')]
def count(m, p, status=None):
    return sum(1 for r in reqs if r['method'] == m and
               (r['path'] == p or p.endswith('*') and
                r['path'].startswith(p[:-1])) and
               (status is None or r['status'] == status))
$1
"
}

# e2b_test 'description' 'body': against a clean server; no sandbox may
# be left alive after it.
e2b_test() {
	test_expect_success BWRAP "$1" "
	curl -sf -X POST \"\$URL/_reset\" >/dev/null &&
	{
	$2
	} &&
	state_check 'assert not d[\"sandboxes\"], d[\"sandboxes\"]'"
}

e2b_test 'a stream that breaks as the task ends: its real exit status' '
	write_plan 1m "echo marker
sleep 0.6
echo done >out.txt
exit 7" &&
	set_faults "[{\"route\": \"POST /process.Process/Start\",
		\"kind\": \"drop\", \"after_ms\": 300, \"match\": \"marker\"},
		{\"route\": \"POST /process.Process/Connect\",
		\"kind\": \"delay\", \"seconds\": 1.5}]" &&
	test_expect_code 1 runner exec p.yaml --state st >out 2>&1 &&
	test "$(result status)" = failed &&
	test "$(result exit_code)" = 7 &&
	test "$(cat st/runs/*/tasks/t/changes/out.txt)" = done &&
	test_grep "^marker$" st/runs/*/tasks/t/output.log &&
	state_check "
assert count(\"POST\", \"/process.Process/Connect\") == 1
assert count(\"GET\", \"/files\") >= 2, \"the status file was not read\""
'

e2b_test 'a task killed while its stream was broken ends killed, not lost' '
	write_plan 1m "echo marker
trap \"\" TERM
sleep 0.4
kill -KILL \$PPID
sleep 5" &&
	set_faults "[{\"route\": \"POST /process.Process/Start\",
		\"kind\": \"drop\", \"after_ms\": 200, \"match\": \"marker\"},
		{\"route\": \"POST /process.Process/Connect\",
		\"kind\": \"delay\", \"seconds\": 2.5}]" &&
	test_expect_code 1 runner exec p.yaml --state st >out 2>&1 &&
	test "$(result status)" = failed &&
	result reason >reason &&
	test_grep "signal 9\|SIGKILL\|killed" reason
'

e2b_test 'reattach by pid: another tagged process does not hide the task' '
	write_plan 1m "echo marker
sleep 1.5
echo after >a.txt
echo end
exit 4" &&
	set_faults "[{\"route\": \"POST /process.Process/Start\",
		\"kind\": \"spawn\", \"match\": \"tar -xzpf\"},
		{\"route\": \"POST /process.Process/Start\",
		\"kind\": \"drop\", \"after_ms\": 500, \"match\": \"marker\"}]" &&
	test_expect_code 1 runner exec p.yaml --state st >out 2>&1 &&
	test "$(result exit_code)" = 4 &&
	test_grep "^end$" st/runs/*/tasks/t/output.log &&
	test_grep "stream from the e2b sandbox broke; reattached" \
		st/runs/*/tasks/t/output.log &&
	test "$(cat st/runs/*/tasks/t/changes/a.txt)" = after
'

e2b_test 'signals by pid: the timeout TERM reaches the task past another tag' '
	write_plan 1s "echo marker
trap \"echo bye; echo t >trapped.txt; exit 5\" TERM
sleep 10 &
wait" &&
	set_faults "[{\"route\": \"POST /process.Process/Start\",
		\"kind\": \"spawn\", \"match\": \"marker\"}]" &&
	test_expect_code 1 runner exec p.yaml --state st >out 2>&1 &&
	test "$(result status)" = timed_out &&
	test_grep "^bye$" st/runs/*/tasks/t/output.log &&
	test "$(cat st/runs/*/tasks/t/changes/trapped.txt)" = t &&
	state_check "
assert count(\"POST\", \"/process.Process/SendSignal\", 200) >= 1
assert d[\"counts\"][\"killed\"] == 1, d[\"counts\"]"
'

# Not visible through exec (a timed-out task's exit code is not kept),
# so through the backend as the scheduler drives it (tests/helper).
e2b_test 'a task that traps the timeout TERM ends with its own status, every time' '
	mkdir ws &&
	echo x >ws/x &&
	for i in 1 2 3 4 5 6; do
		{ "$E2B_TOOL" run --workspace ws --changes ch$i --timeout 1s \
			"trap \"exit 5\" TERM; sleep 5 & wait" >out$i 2>&1 & } ||
			return 1
	done &&
	test_wait_jobs &&
	for i in 1 2 3 4 5 6; do
		test_grep "^status: exit=5 signal=0 timed_out=1 " out$i ||
			return 1
	done
'

e2b_test 'after a KILL nothing of the task runs on (the wrapper is not all)' '
	write_plan 1s "trap \"\" TERM
echo marker
sleep 2
echo late >late.txt" &&
	set_faults "[{\"route\": \"POST /process.Process/Start\",
		\"kind\": \"delay\", \"seconds\": 2.5, \"match\": \"sha256sum\",
		\"count\": 2}]" &&
	test_expect_code 1 runner exec p.yaml --grace 200ms --state st \
		>out 2>&1 &&
	test "$(result status)" = timed_out &&
	! test -e st/runs/*/tasks/t/changes/late.txt
'

e2b_test 'a create answered 502 after it made the sandbox: none is left, the task runs once' '
	write_plan 1m "echo ran; echo ran >ran.txt" &&
	set_faults "[{\"route\": \"POST /sandboxes\", \"kind\": \"created\",
		\"status\": 502, \"count\": 2}]" &&
	runner exec p.yaml --state st >out 2>&1 &&
	test "$(result status)" = succeeded &&
	test "$(cat st/runs/*/tasks/t/changes/ran.txt)" = ran &&
	test "$(grep -c "^ran$" st/runs/*/tasks/t/output.log)" = 1 &&
	state_check "
assert d[\"counts\"][\"created\"] == 3, d[\"counts\"]
assert d[\"counts\"][\"killed\"] == 3, d[\"counts\"]
assert count(\"POST\", \"/sandboxes\", 502) == 2
# extract, the task, list, pack: in one sandbox, once each
starts = [r for r in reqs if r[\"path\"] == \"/process.Process/Start\"]
assert len(starts) == 4, starts
assert len(set(r[\"sandbox\"] for r in starts)) == 1, starts"
'

e2b_test 'a create that keeps failing after making sandboxes leaves none' '
	write_plan 1m "echo hi" &&
	set_faults "[{\"route\": \"POST /sandboxes\", \"kind\": \"created\",
		\"status\": 500, \"count\": -1, \"message\": \"placement failed\"}]" &&
	test_expect_code 1 runner exec p.yaml --state st >out 2>&1 &&
	test "$(result status)" = failed &&
	result reason >reason &&
	test_grep "HTTP 500: placement failed" reason &&
	state_check "
assert d[\"counts\"][\"created\"] == 4, d[\"counts\"]
assert d[\"counts\"][\"killed\"] == 4, d[\"counts\"]"
'

test_expect_success 'validate: a timeout longer than the E2B lifetime is refused, saying why' '
	write_plan 2h "echo hi" &&
	test_expect_code 2 runner validate p.yaml 2>err &&
	test_grep "p.yaml:.*task .t.: timeout 2h is longer than an E2B sandbox may live (1h, from RUNNER_E2B_MAX_LIFETIME" err &&
	RUNNER_E2B_MAX_LIFETIME=24h runner validate p.yaml &&
	test_expect_code 2 env RUNNER_E2B_MAX_LIFETIME=90m \
		"$RUNNER" validate p.yaml 2>err &&
	test_grep "timeout 2h is longer than an E2B sandbox may live (1h30m" err &&
	test_expect_code 2 env RUNNER_E2B_MAX_LIFETIME=soon \
		"$RUNNER" validate p.yaml 2>err &&
	test_grep "RUNNER_E2B_MAX_LIFETIME: invalid duration" err &&
	write_plan 2h "echo hi" "max_lifetime: 24h" &&
	runner validate p.yaml &&
	write_plan 2h "echo hi" "max_lifetime: 1h" &&
	RUNNER_E2B_MAX_LIFETIME=24h test_expect_code 2 runner validate p.yaml 2>err &&
	test_grep "(1h, from backend.max_lifetime" err &&
	write_plan 2h "echo hi" "max_lifetime: 0s" &&
	test_expect_code 2 runner validate p.yaml 2>err &&
	test_grep "max_lifetime.*at least 1s" err &&
	sed "s/type: e2b/type: local/" p.yaml >local.yaml &&
	sed -i "s/, max_lifetime: 0s//" local.yaml &&
	runner validate local.yaml
'

e2b_test 'exec --backend e2b: a task longer than the lifetime makes no sandbox' '
	write_plan 2h "echo hi" &&
	sed -i "s/type: e2b/type: local/" p.yaml &&
	test_expect_code 1 runner exec p.yaml --backend e2b --state st \
		>out 2>&1 &&
	result reason >reason &&
	test_grep "timeout (2h) is longer than E2B lets a sandbox live (1h" reason &&
	state_check "assert d[\"counts\"][\"created\"] == 0, d[\"counts\"]"
'

e2b_test 'a sandbox that E2B ends at its maximum lifetime: the reason says so' '
	server_config "{\"max_lifetime\": 4}" &&
	write_plan 4s "echo marker
sleep 30" &&
	RUNNER_E2B_MAX_LIFETIME=4s test_expect_code 1 runner exec p.yaml \
		--state st >out 2>&1 &&
	test "$(result status)" = failed &&
	result reason >reason &&
	test_grep "e2b ended the sandbox at its maximum lifetime (4s) during the task" reason &&
	state_check "assert d[\"counts\"][\"expired\"] == 1, d[\"counts\"]"
'

e2b_test 'long tasks: extensions stop at the lifetime, which E2B enforces' '
	server_config "{\"max_lifetime\": 30}" &&
	write_plan 10s "sleep 3; echo survived" &&
	RUNNER_E2B_MAX_TTL=2s RUNNER_E2B_TTL_MARGIN=1s \
		RUNNER_E2B_MAX_LIFETIME=30s runner exec p.yaml --state st \
		>out 2>&1 &&
	test_grep "^survived$" st/runs/*/tasks/t/output.log &&
	state_check "
assert count(\"POST\", \"/sandboxes/*\", 204) >= 1, reqs
assert count(\"POST\", \"/sandboxes/*\", 400) == 0"
'

test_done
