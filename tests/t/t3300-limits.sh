#!/bin/sh
# Resource limits that hold, through `runner exec` on the local backend:
# backend.memory is the attempt's cgroup limit (the real Claude Code
# runs under 1G, an allocation past it is killed and reported "out of
# memory (memory: ...)", /tmp is bounded and counted), pids: stops a
# fork bomb with the host unharmed, cpus: is a quota; every attempt's
# peak memory and CPU time reach result.json, show and the report. On
# a host without a writable cgroup (RUNNER_CGROUP=none) the rlimit
# fallback is said once per run and by validate.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-agents.sh"

# plan BACKEND-LINES TASK-LINES...: plan.yaml over ./ws (made here).
plan() {
	mkdir -p ws &&
	echo data >ws/file &&
	{
		printf 'version: 1\nname: limits\nbackend:\n'
		printf '%s\n' "$1" | sed 's/^/  /'
		printf 'defaults:\n  workspace: ws\n  timeout: 2m\ntasks:\n'
		shift
		for t in "$@"; do
			printf '%s\n' "$t" | sed 's/^/  /'
		done
	} >plan.yaml
}

# attempt TASK FIELD: FIELD of the last attempt in TASK's result.json.
attempt() {
	python3 -c "
import json, sys
a = json.load(open(sys.argv[1]))['attempt_list'][-1]
v = a[sys.argv[2]]
print('null' if v is None else v)
" st/runs/*/tasks/"$1"/result.json "$2"
}

# between N LO HI: N is a number and LO <= N <= HI, or say what N was.
between() {
	case "$1" in
	'' | *[!0-9]*)
		echo "'$1' is not a number" >&2
		return 1
		;;
	esac
	if [ "$1" -lt "$2" ] || [ "$1" -gt "$3" ]; then
		echo "$1 is not within [$2, $3]" >&2
		return 1
	fi
}

host_procs() {
	ls /proc | grep -c '^[0-9]'
}

# exec_bg: runner exec of plan.yaml, its status in ./rc at the end.
exec_bg() {
	runner exec --state st plan.yaml >out 2>err
	echo $? >rc
}

# sample_procs: the host's process count every 0.1 s into ./counts,
# until ./rc appears.
sample_procs() {
	while [ ! -s rc ]; do
		host_procs
		sleep 0.1
	done >counts
}

test_expect_success 'validate: pids and cpus are checked, with file:line:col' '
	cat >bad.yaml <<-\EOF &&
	version: 1
	name: bad
	backend:
	  memory: 1M
	  pids: 0
	  cpus: lots
	tasks:
	  - id: t
	    run: "true"
	EOF
	test_expect_code 2 runner validate bad.yaml 2>err &&
	test_grep "^bad.yaml:4:11: backend.memory: must be at least 4M" err &&
	test_grep "^bad.yaml:5:9: backend.pids: expected a whole number from 1 to 4194304, found '"'"'0'"'"'" err &&
	test_grep "^bad.yaml:6:9: backend.cpus: expected a number of CPUs above 0" err
'

test_expect_success 'a plan for e2b with memory: 1M, run with --backend local, is refused before any task' '
	mkdir ws &&
	cat >e.yaml <<-\EOF &&
	version: 1
	name: e
	backend: {type: e2b, template: base, memory: 1M}
	defaults: {workspace: ws}
	tasks:
	  - id: t
	    run: echo ran >ran
	EOF
	runner validate e.yaml >out 2>err &&
	test_expect_code 4 runner exec e.yaml --backend local --state st >out 2>err &&
	test_grep "backend.memory: must be at least 4M (or 0 for no limit)" err &&
	! ls st/runs/*/tasks/t/changes/ran >/dev/null 2>&1 &&
	test -z "$(sqlite3 st/runner.db "select id from attempts" 2>/dev/null)"
'

test_expect_success CGROUP 'validate: limits that hold are not warned about' '
	plan "memory: 2G
pids: 100
cpus: 1.5" "- id: t
  run: \"true\"" &&
	runner validate plan.yaml >out 2>err &&
	test_grep "ok (1 task)" out &&
	test ! -s err
'

test_expect_success 'without a cgroup: validate and exec say the fallback, exec once per run' '
	plan "memory: 2G
pids: 500
cpus: 0.5" "- id: a
  run: \"true\"" "- id: b
  run: \"true\"" "- id: c
  run: \"true\"" &&
	RUNNER_CGROUP=none runner validate plan.yaml 2>err &&
	test_grep "memory: 2G enforced as an address-space limit: no writable cgroup" err &&
	test_grep "pids: 500 enforced as a per-user process limit: no writable cgroup" err &&
	test_grep "cpus: 0.5 not enforced: no writable cgroup" err &&
	RUNNER_CGROUP=none runner exec --state st plan.yaml >out 2>err &&
	test "$(grep -c "memory: 2G enforced as an address-space limit" err)" = 1 &&
	test "$(attempt a memory_peak)" = null &&
	test "$(attempt a cpu_ms)" = null
'

test_expect_success CGROUP,BWRAP,PYTHON3 'allocating past memory: is killed: "out of memory (memory: 128M)", its peak recorded' '
	plan "memory: 128M" "- id: hog
  run: python3 -c \"x = bytearray(512 << 20)\" && echo survived" &&
	test_expect_code 1 runner exec --state st plan.yaml >out 2>err &&
	test_grep "hog .*failed .*out of memory (memory: 128M)" out &&
	test "$(attempt hog reason)" = "out of memory (memory: 128M)" &&
	between "$(attempt hog memory_peak)" $((100 << 20)) $((128 << 20)) &&
	test "$(attempt hog cpu_ms)" -ge 0 &&
	test_must_fail grep survived st/runs/*/tasks/hog/output.log &&
	runner show --state st last hog >show &&
	test_grep "^status:   failed -- out of memory (memory: 128M)$" show &&
	test_grep "^usage:    attempt 1: peak memory 12[0-9]\.[0-9] MiB, CPU " show &&
	runner report --state st last -o report.html &&
	test_grep "peak memory 12[0-9]\.[0-9] MiB" report.html
'

test_expect_success CGROUP,BWRAP,PYTHON3 'an agent the memory limit kills reads "out of memory (memory: 128M)", whatever it said' '
	# gone: the agent itself is killed before its result line; said: a
	# tool of it is killed, and the agent reports an error of its own.
	mkdir -p ws &&
	cat >ws/gone.sh <<-\EOF &&
	echo "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s\"}"
	exec python3 -c "x = bytearray(512 << 20)"
	EOF
	cat >ws/said.sh <<-\EOF &&
	echo "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s\"}"
	python3 -c "x = bytearray(512 << 20)"
	echo "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":true,\"num_turns\":1,\"result\":\"the tool crashed\",\"session_id\":\"s\"}"
	exit 1
	EOF
	cat >plan.yaml <<-\EOF &&
	version: 1
	name: limits-agent
	backend: {memory: 128M}
	defaults: {workspace: ws, timeout: 2m}
	agents:
	  gone: {command: [/bin/sh, /workspace/gone.sh], output: stream-json}
	  said: {command: [/bin/sh, /workspace/said.sh], output: stream-json}
	tasks:
	  - {id: gone, agent: gone, prompt: go}
	  - {id: said, agent: said, prompt: go}
	EOF
	test_expect_code 1 runner exec --state st plan.yaml >out 2>err &&
	test "$(attempt gone reason)" = "out of memory (memory: 128M)" &&
	test "$(attempt said reason)" = "out of memory (memory: 128M)" &&
	runner show --state st last said >show &&
	test_grep "^status:   failed -- out of memory (memory: 128M)$" show &&
	test_grep "^agent error: the tool crashed$" show
'

test_expect_success CGROUP,BWRAP 'writing 1 GiB to /tmp under memory: 256M is stopped; HOME is as small' '
	plan "memory: 256M" "- id: fill
  run: dd if=/dev/zero of=/tmp/fill bs=1M count=1024 2>/dev/null; echo dd=\$?; stat -c size=%s /tmp/fill; echo home=\$(df -B1 --output=size \"\$HOME\" | tail -n 1)" &&
	runner exec --state st plan.yaml >out 2>err &&
	log=$(echo st/runs/*/tasks/fill/output.log) &&
	cat "$log" &&
	test_must_fail grep "^dd=0$" "$log" &&
	size=$(sed -n "s/^size=//p" "$log") &&
	between "$size" 0 $((256 << 20)) &&
	test "$(sed -n "s/^home= *//p" "$log")" = $((256 << 20)) &&
	between "$(attempt fill memory_peak)" 0 $((256 << 20))
'

test_expect_success CGROUP,BWRAP 'a fork bomb stops at pids: and the host is unharmed' '
	# A bomb that ends by itself (depth 10: 2046 processes unlimited),
	# so that a runner without the limit does not take the host down.
	plan "pids: 64" "- id: bomb
  timeout: 60s
  run: b() { [ \$1 -ge 10 ] && { sleep 4; return; }; b \$((\$1 + 1)) & b \$((\$1 + 1)) & wait; }; b 0; echo bomb-done" &&
	base=$(host_procs) &&
	{ exec_bg & } &&
	{ sample_procs & } &&
	test_wait_jobs &&
	test "$(cat rc)" = 0 &&
	max=$(sort -n counts | tail -n 1) &&
	echo "host processes: $base before, at most $max during" &&
	between "$max" 0 $((base + 64 + 150)) &&
	log=$(echo st/runs/*/tasks/bomb/output.log) &&
	test_grep "fork\|Resource temporarily unavailable" "$log" &&
	test "$(host_procs)" -lt $((base + 150))
'

test_expect_success CGROUP,BWRAP 'cpus: 0.5 holds two busy loops to about half a core' '
	plan "cpus: 0.5" "- id: busy
  run: for i in 1 2; do timeout 2 sh -c \"while :; do :; done\" & done; wait" &&
	runner exec --state st plan.yaml >out 2>err &&
	cpu=$(attempt busy cpu_ms) &&
	echo "cpu_ms=$cpu" &&
	between "$cpu" 100 1400
'

test_expect_success CGROUP,BWRAP,CLAUDE 'the real Claude Code turn succeeds under memory: 1G' '
	workspace &&
	start_server anthropic claude-edit.json &&
	cat >plan.yaml <<-EOF &&
	version: 1
	name: limits-claude
	backend:
	  network: true
	  memory: 1G
	defaults:
	  workspace: ws
	  timeout: 2m
	  secrets: [ANTHROPIC_API_KEY]
	  env:
	    ANTHROPIC_BASE_URL: http://127.0.0.1:$PORT
	    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1"
	tasks:
	  - id: claude
	    run: claude -p --dangerously-skip-permissions --output-format stream-json --verbose "Fix the greeting"
	EOF
	ANTHROPIC_API_KEY=sk-ant-test-key-0123456789 \
		runner exec plan.yaml --state st >out 2>err &&
	res=$(echo st/runs/*/tasks/claude) &&
	check claude-result $res/output.log >result &&
	test_grep "^subtype=\"success\"$" result &&
	printf "hello there\nline two\n" >expect &&
	test_cmp expect $res/changes/hello.txt &&
	peak=$(attempt claude memory_peak) &&
	echo "claude peak memory: $peak bytes, cpu $(attempt claude cpu_ms) ms" &&
	between "$peak" $((20 << 20)) $((1 << 30))
'

test_done
