#!/bin/sh
# Hung tasks end (issue 12 point 7): idle_timeout (no output and, on the
# local backend, no file change in the workspace for that long) ends an
# attempt "stalled" (timed_out, retried), and an agent that lingers after
# its final result is ended after result_grace and judged by that result.
# Plain commands, a replayed Claude stream, the real claude CLI against a
# model server that never answers, and the e2b backend (loopback server).
. ./lib.sh
. ./lib-e2b.sh

since() { echo $(($(date +%s) - $1)); }

# json FILE EXPR: the Python expression EXPR over the JSON in FILE (j).
json() {
	python3 -c "import json, sys; j = json.load(open(sys.argv[1])); print($2)" "$1"
}

# plan FILE BACKEND TASK-KEYS: one task t over ./ws, bin/ first on PATH;
# TASK-KEYS one a line (leading tabs go: the lines come from test bodies).
plan() {
	_keys=$(printf '%s\n' "$3" | sed "s/^	*//; /^\$/d; s/^/    /") &&
	sed "s/^	*//" >"$1" <<-EOF
	version: 1
	name: idle
	backend: $2
	defaults:
	  workspace: ws
	  timeout: 2m
	  retry_backoff: 100ms
	  env: {PATH: "$PWD/bin:/usr/bin:/bin"}
	tasks:
	  - id: t
	EOF
	printf '%s\n' "$_keys" >>"$1"
}

result_of() {
	run=$(ls st/runs) && res=st/runs/$run/tasks/t
}

test_expect_success 'a command that prints, then hangs: stalled after idle_timeout, retried' '
	mkdir ws &&
	plan plan.yaml "{isolation: none}" "
		run: echo working; sleep 60
		idle_timeout: 2s
		retries: 1" &&
	t0=$(date +%s) &&
	test_expect_code 1 runner exec plan.yaml --state st >out 2>err &&
	test "$(since $t0)" -lt 20 &&
	result_of &&
	test "$(json $res/result.json "j[\"status\"]")" = timed_out &&
	test "$(json $res/result.json "j[\"reason\"]")" = "stalled: no output for 2s" &&
	test "$(sqlite3 st/runner.db "select count(*) from attempts where reason = \"stalled: no output for 2s\"")" = 2 &&
	test_grep "attempt 2 timed_out: stalled: no output for 2s" $res/output.log &&
	test "$(grep -c ^working $res/output.log)" = 2
'

test_expect_success 'output keeps a task alive past idle_timeout' '
	mkdir ws &&
	plan plan.yaml "{isolation: none}" "
		run: for i in 1 2 3 4 5 6 7 8; do echo \$i; sleep 0.5; done
		idle_timeout: 2s" &&
	runner exec plan.yaml --state st >out 2>err &&
	result_of &&
	test "$(json $res/result.json "j[\"status\"]")" = succeeded
'

test_expect_success BWRAP 'a task that writes files but prints nothing is not stalled (local)' '
	mkdir -p ws/a/b/c && echo 0 >ws/a/b/c/log.txt &&
	for i in $(seq 1 300); do echo $i >ws/f$i.txt || return 1; done &&
	plan plan.yaml "{isolation: sandbox}" "
		run: for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo \$i >>a/b/c/log.txt; sleep 0.5; done
		idle_timeout: 2s" &&
	runner exec plan.yaml --state st >out 2>err &&
	result_of &&
	test "$(json $res/result.json "j[\"status\"]")" = succeeded &&
	test "$(wc -l <$res/changes/a/b/c/log.txt)" = 13
'

test_expect_success 'without idle_timeout a quiet command runs on' '
	mkdir ws &&
	plan plan.yaml "{isolation: none}" "
		run: sleep 3" &&
	runner exec plan.yaml --state st >out 2>err &&
	result_of &&
	test "$(json $res/result.json "j[\"status\"]")" = succeeded
'

test_expect_success 'idle_timeout and result_grace are durations' '
	mkdir ws &&
	plan plan.yaml "{isolation: none}" "
		run: \"true\"
		idle_timeout: soon
		result_grace: [1]" &&
	test_must_fail runner validate plan.yaml >out 2>err &&
	test_grep "idle_timeout" err &&
	test_grep "result_grace" err
'

# linger NAME FIXTURE: bin/NAME prints a captured Claude stream (its
# final result included), then stays up, as headless agents do.
linger() {
	mkdir -p bin &&
	printf "#!/bin/sh\ncat >/dev/null\ncat '%s'\nsleep 600\n" \
		"$FIXTURES/agents/$2.out" >bin/$1 &&
	chmod +x bin/$1
}

test_expect_success 'an agent that lingers after its final result: ended after result_grace, succeeded' '
	mkdir ws && linger claude claude-edit &&
	plan plan.yaml "{isolation: none}" "
		agent: claude
		prompt: Fix the greeting.
		result_grace: 2s" &&
	t0=$(date +%s) &&
	runner exec plan.yaml --state st >out 2>err &&
	test "$(since $t0)" -lt 20 &&
	result_of &&
	test "$(json $res/result.json "j[\"status\"]")" = succeeded &&
	test "$(json $res/result.json "j[\"agent\"][\"result\"]")" = success &&
	test "$(sqlite3 st/runner.db "select count(*) from attempts")" = 1 &&
	test_grep "result_grace" $res/result.json
'

test_expect_success 'an agent that lingers after an error result: ended, failed with its reason' '
	mkdir ws && linger claude claude-500 &&
	plan plan.yaml "{isolation: none}" "
		agent: claude
		prompt: Fix the greeting.
		result_grace: 1s" &&
	t0=$(date +%s) &&
	test_expect_code 1 runner exec plan.yaml --state st >out 2>err &&
	test "$(since $t0)" -lt 20 &&
	result_of &&
	test "$(json $res/result.json "j[\"status\"]")" = failed &&
	test_grep "API Error: 500" $res/result.json
'

if test_have_prereq CLAUDE && test_have_prereq BWRAP; then
	# bwrap runs as nobody when we are root: nobody must reach the trash.
	[ "$(id -u)" -ne 0 ] || chmod 711 "$TRASH_ROOT"
fi

test_expect_success CLAUDE,BWRAP 'the real claude against a model server that never answers: stalled' '
	mkdir ws && printf "hello world\n" >ws/hello.txt &&
	{ python3 "$RUNNER_TOP/tests/model-server/anthropic.py" \
		"$RUNNER_TOP/tests/model-server/scenarios/hang.json" \
		--port-file port --log requests.jsonl --var ws=/workspace \
		--max-seconds 120 2>server.err & } &&
	echo $! >server.pid &&
	test_wait_for 10 "test -s port" &&
	PORT=$(cat port) &&
	sed "s/^	*//" >plan.yaml <<-EOF &&
	version: 1
	name: idle-real
	backend: {network: true, memory: 2G}
	defaults:
	  workspace: ws
	  timeout: 2m
	  secrets: [ANTHROPIC_API_KEY]
	  env:
	    ANTHROPIC_BASE_URL: http://127.0.0.1:$PORT
	    CLAUDE_CODE_MAX_RETRIES: "0"
	tasks:
	  - id: t
	    agent: claude
	    prompt: Fix the greeting in hello.txt.
	    idle_timeout: 5s
	EOF
	t0=$(date +%s) &&
	ANTHROPIC_API_KEY=sk-ant-test-key-0123456789 \
		test_expect_code 1 runner exec plan.yaml --state st >out 2>err &&
	secs=$(since $t0) &&
	kill "$(cat server.pid)" &&
	test "$secs" -lt 60 &&
	result_of &&
	test "$(json $res/result.json "j[\"status\"]")" = timed_out &&
	test "$(json $res/result.json "j[\"reason\"]")" = "stalled: no output for 5s" &&
	grep -q "\"answer\": \"turn 0 hang\"" requests.jsonl
'

test_expect_success BWRAP 'e2b: a command that prints, then hangs: stalled, retried, nothing left alive' '
	mkdir ws &&
	printf "version: 1\nname: idle\nbackend: {type: e2b}\ndefaults: {workspace: ws, retry_backoff: 100ms}\ntasks:\n  - id: t\n    run: echo working; sleep 60\n    idle_timeout: 2s\n    retries: 1\n" >plan.yaml &&
	t0=$(date +%s) &&
	test_expect_code 1 runner exec plan.yaml --state st >out 2>err &&
	test "$(since $t0)" -lt 30 &&
	result_of &&
	test "$(json $res/result.json "j[\"status\"]")" = timed_out &&
	test "$(json $res/result.json "j[\"reason\"]")" = "stalled: no output for 2s" &&
	test "$(sqlite3 st/runner.db "select count(*) from attempts where reason = \"stalled: no output for 2s\"")" = 2 &&
	test "$(server_state | python3 -c "import json,sys; print(len(json.load(sys.stdin)[\"sandboxes\"]))")" = 0
'

test_done
