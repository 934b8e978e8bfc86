#!/bin/sh
# The real coding-agent CLIs, Claude Code and Codex CLI (tools/deps.sh
# installs them from npm under /usr), run under bubblewrap the way
# runner's local sandbox runs a task (runner/sandbox-local.c,
# prepare_bwrap), against the scripted model API servers of
# tests/model-server/ on 127.0.0.1 (findings: tests/model-server/README.md).
#
# The sandbox gets --share-net, as a plan's `network: true` does: the
# servers listen on the host's loopback, which a sandbox of its own
# network namespace cannot reach (one test shows that). HOME is a private
# folder outside the workspace, bound at /home/agent.
. ./lib.sh

MS="$RUNNER_TOP/tests/model-server"
SCEN="$MS/scenarios"
SANDBOX_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PROMPT="Fix the greeting in hello.txt and add new.txt."

for p in CLAUDE CODEX; do
	test_have_prereq "$p" ||
		echo "# the $p tests skip: /usr/bin/$(echo "$p" | tr A-Z a-z)" \
			"is not installed or does not run (sh tools/deps.sh" \
			"installs it from npm)"
done
if ! test_have_prereq BWRAP; then
	test_skip 'the real agents under bubblewrap' 'bubblewrap does not work here'
	test_done
	exit
fi
# bwrap runs as nobody when we are root (as runner's does): nobody must
# be able to reach the workspace and HOME under the trash directory.
[ "$(id -u)" -ne 0 ] || chmod 711 "$TRASH_ROOT"

# start_server anthropic|openai SCENARIO: the scripted server in the
# background, stopped when the test ends; its port in ./port, every
# request in ./requests.jsonl.
start_server() {
	{ python3 "$MS/$1.py" "$SCEN/$2" --port-file port --log requests.jsonl \
		--var ws=/workspace --max-seconds 300 2>server.err & } &&
	echo $! >server.pid &&
	trap 'kill "$(cat "$TRASH/server.pid")" 2>/dev/null' EXIT &&
	test_wait_for 10 'test -s port' &&
	PORT=$(cat port)
}

# workspace: ./ws with hello.txt, an empty ./home.
workspace() {
	mkdir ws home &&
	printf 'hello world\nline two\n' >ws/hello.txt
}

# The host's /bin, /lib... as they are, symlinks or directories
# (push_system_dirs).
system_dirs() {
	for d in /bin /sbin /lib /lib32 /lib64 /libx32; do
		if [ -L "$d" ]; then
			echo "--symlink $(readlink "$d") $d"
		elif [ -d "$d" ]; then
			echo "--ro-bind $d $d"
		fi
	done
}

# sandbox CMD...: CMD in bubblewrap with runner's arguments, ./ws at
# /workspace, ./home at /home/agent, and an environment of PATH, HOME and
# the NAME=VALUE words of $SANDBOX_ENV only. SANDBOX_NET=off leaves out
# --share-net.
sandbox() {
	_net=--share-net
	[ "${SANDBOX_NET:-on}" = on ] || _net=""
	_env=""
	for _kv in ${SANDBOX_ENV:-}; do
		_env="$_env --setenv ${_kv%%=*} ${_kv#*=}"
	done
	# shellcheck disable=SC2046,SC2086
	set -- --die-with-parent --unshare-all $_net --new-session \
		--cap-drop ALL --hostname runner --ro-bind /usr /usr \
		$(system_dirs) --ro-bind /etc /etc --proc /proc --dev /dev \
		--tmpfs /tmp --bind "$PWD/ws" /workspace \
		--bind "$PWD/home" /home/agent --chdir /workspace --clearenv \
		--setenv PATH "$SANDBOX_PATH" --setenv HOME /home/agent \
		$_env -- "$@"
	if [ "$(id -u)" -eq 0 ]; then
		chown -R 65534:65534 ws home &&
		setpriv --reuid=65534 --regid=65534 --clear-groups bwrap "$@"
	else
		bwrap "$@"
	fi
}

# claude_run ARGS...: the real CLI in the sandbox against the server on
# $PORT, the prompt on stdin as runner's built-in profile passes it;
# stream-json on ./out.jsonl, stderr on ./err.txt; $CLAUDE_ENV adds
# variables.
claude_run() {
	echo "$PROMPT" >prompt.txt &&
	SANDBOX_ENV="ANTHROPIC_BASE_URL=http://127.0.0.1:$PORT
		ANTHROPIC_API_KEY=sk-ant-test-key
		CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 ${CLAUDE_ENV:-}" \
		sandbox claude -p --dangerously-skip-permissions \
		--output-format stream-json --verbose "$@" \
		<prompt.txt >out.jsonl 2>err.txt
}

# codex_config [PROVIDER SETTINGS]: $HOME/.codex/config.toml pointing at
# the server on $PORT, with analytics and plugins off (their traffic goes
# to chatgpt.com and github.com otherwise), and connection failures
# retried request_max_retries times, not forever.
codex_config() {
	mkdir -p home/.codex &&
	cat >home/.codex/config.toml <<-EOF
	model = "gpt-5.5"
	model_provider = "scripted"
	[analytics]
	enabled = false
	[features]
	plugins = false
	unbounded_connection_retries = false
	[model_providers.scripted]
	name = "Scripted"
	base_url = "http://127.0.0.1:$PORT/v1"
	wire_api = "responses"
	env_key = "OPENAI_API_KEY"
	${1:-}
	EOF
}

# codex_run ARGS...: codex exec in the sandbox, the prompt on stdin; JSONL
# on ./out.jsonl, stderr on ./err.txt.
codex_run() {
	echo "$PROMPT" >prompt.txt &&
	SANDBOX_ENV="OPENAI_API_KEY=sk-test-key" \
		sandbox codex exec --json --skip-git-repo-check \
		--dangerously-bypass-approvals-and-sandbox "$@" \
		<prompt.txt >out.jsonl 2>err.txt
}

check() { python3 "$MS/check.py" "$@"; }

test_line_count() { test "$(wc -l <"$2")" -eq "$1"; }

# Wall-clock seconds since $1 (date +%s).
since() { echo $(($(date +%s) - $1)); }

test_expect_success CLAUDE 'claude: scripted Read, Edit, Write, Bash turns change the workspace' '
	workspace &&
	start_server anthropic claude-edit.json &&
	claude_run &&
	check answers requests.jsonl >answers &&
	test_line_count 5 answers &&
	test_grep "Fix the greeting in hello.txt" requests.jsonl &&
	check tool-results requests.jsonl >results &&
	test_grep "^toolu_[0-9a-f]* Read .*hello world" results &&
	test_grep "^toolu_[0-9a-f]* Edit .*updated successfully" results &&
	test_grep "^toolu_[0-9a-f]* Write .*created successfully" results &&
	test_grep "^toolu_[0-9a-f]* Bash \"hello.txt.nnew.txt\"" results &&
	printf "hello there\nline two\n" >expect &&
	test_cmp expect ws/hello.txt &&
	echo "a new file" >expect &&
	test_cmp expect ws/new.txt &&
	check claude-result out.jsonl >result &&
	test_grep "^subtype=\"success\"$" result &&
	test_grep "^is_error=false$" result &&
	test_grep "^num_turns=5$" result &&
	test_grep "^result=\"All done: hello.txt edited, new.txt created.\"$" result &&
	test_grep "^session_id=\"[0-9a-f-]\{36\}\"$" result &&
	test_grep "^usage.cache_read_input_tokens=5000$" result &&
	test_grep "^usage.cache_creation_input_tokens=1000$" result &&
	test_grep "^total_cost_usd=0\.[0-9]" result &&
	head -1 out.jsonl >init &&
	test_grep "\"subtype\":\"init\"" init &&
	test_grep "\"cwd\":\"/workspace\"" init &&
	test -f home/.claude.json &&
	ls home/.claude/projects/-workspace/*.jsonl &&
	ls -A ws >ls &&
	printf "hello.txt\nnew.txt\n" >expect &&
	test_cmp expect ls
'

test_expect_success CLAUDE 'claude: 529 overloaded twice, then it answers: retried, succeeds' '
	workspace &&
	start_server anthropic claude-overloaded.json &&
	claude_run &&
	check answers requests.jsonl >answers &&
	printf "1 529 turn 0 error 529\n2 529 turn 0 error 529\n3 200 turn 0\n" >expect &&
	test_cmp expect answers &&
	test "$(grep -c "\"subtype\":\"api_retry\"" out.jsonl)" -eq 2 &&
	test_grep "\"error_status\":529" out.jsonl &&
	check claude-result out.jsonl >result &&
	test_grep "^is_error=false$" result &&
	test_grep "^result=\"Answered after two overloaded errors.\"$" result
'

test_expect_success CLAUDE 'claude: an error event in the stream: retried, succeeds' '
	workspace &&
	start_server anthropic claude-stream-error.json &&
	claude_run &&
	check answers requests.jsonl >answers &&
	printf "1 200 turn 0 failed in stream\n2 200 turn 0\n" >expect &&
	test_cmp expect answers &&
	check claude-result out.jsonl >result &&
	test_grep "^is_error=false$" result &&
	test_grep "^result=\"Answered after an error event in the stream.\"$" result
'

# 2.1.332 sends a request that got a 400 again at once, without backoff
# or an api_retry message, in variants (without "thinking", with every
# tool in full instead of deferred ones): 6 requests in well under 1 s.
test_expect_success CLAUDE 'claude: 400 invalid request: a few variants at once, no backoff, exit 1' '
	workspace &&
	start_server anthropic claude-400.json &&
	t0=$(date +%s) &&
	test_expect_code 1 claude_run &&
	test "$(since $t0)" -lt 15 &&
	check answers requests.jsonl >answers &&
	test_grep -v -e " 200 " answers &&
	n=$(grep -c " 400 turn 0 error 400$" answers) &&
	test "$n" -ge 1 && test "$n" -le 8 &&
	test_grep -v "\"subtype\":\"api_retry\"" out.jsonl &&
	check claude-result out.jsonl >result &&
	test_grep "^subtype=\"success\"$" result &&
	test_grep "^is_error=true$" result &&
	test_grep "^api_error_status=400$" result &&
	test_grep "^terminal_reason=\"api_error\"$" result &&
	test_grep "text content blocks must be non-empty" result
'

test_expect_success CLAUDE 'claude: 500 every time: CLAUDE_CODE_MAX_RETRIES=2 retries, then exit 1' '
	workspace &&
	start_server anthropic claude-500.json &&
	CLAUDE_ENV=CLAUDE_CODE_MAX_RETRIES=2 test_expect_code 1 claude_run &&
	check answers requests.jsonl >answers &&
	test "$(grep -c " 500 turn 0 error 500$" answers)" -eq 3 &&
	check claude-result out.jsonl >result &&
	test_grep "^is_error=true$" result &&
	test_grep "^api_error_status=500$" result &&
	test_grep "^result=\"API Error: 500 Internal server error" result
'

test_expect_success CLAUDE 'claude: a server that never answers: API_TIMEOUT_MS ends each try' '
	workspace &&
	start_server anthropic hang.json &&
	t0=$(date +%s) &&
	CLAUDE_ENV="API_TIMEOUT_MS=2000 CLAUDE_CODE_MAX_RETRIES=1" \
		test_expect_code 1 claude_run &&
	test "$(since $t0)" -lt 30 &&
	check answers requests.jsonl >answers &&
	printf "1 None turn 0 hang\n2 None turn 0 hang\n" >expect &&
	test_cmp expect answers &&
	check claude-result out.jsonl >result &&
	test_grep "^is_error=true$" result &&
	test_grep "^result=\"Request timed out" result
'

test_expect_success CLAUDE 'claude: a stream that stalls: the byte watchdog, then a request without streaming' '
	workspace &&
	start_server anthropic stall-once.json &&
	CLAUDE_ENV="CLAUDE_ENABLE_BYTE_WATCHDOG=1 CLAUDE_BYTE_STREAM_IDLE_TIMEOUT_MS=2000" \
		claude_run &&
	check answers requests.jsonl >answers &&
	printf "1 None turn 0 hang mid-stream\n2 200 turn 0 (not streamed)\n" >expect &&
	test_cmp expect answers &&
	check claude-result out.jsonl >result &&
	test_grep "^is_error=false$" result &&
	test_grep "^result=\"Recovered after a stalled stream.\"$" result
'

test_expect_success CLAUDE 'claude: --max-turns 2 stops a model that never finishes' '
	workspace &&
	start_server anthropic claude-loop.json &&
	test_expect_code 1 claude_run --max-turns 2 &&
	check answers requests.jsonl >answers &&
	printf "1 200 turn 0\n2 200 turn 1\n" >expect &&
	test_cmp expect answers &&
	check claude-result out.jsonl >result &&
	test_grep "^subtype=\"error_max_turns\"$" result &&
	test_grep "^is_error=true$" result &&
	test_grep "^terminal_reason=\"max_turns\"$" result &&
	test_grep "Reached maximum number of turns (2)" result
'

test_expect_success CLAUDE 'claude: --max-budget-usd stops it once the reported cost passes the budget' '
	workspace &&
	start_server anthropic claude-loop.json &&
	test_expect_code 1 claude_run --max-budget-usd 2 &&
	check claude-result out.jsonl >result &&
	test_grep "^subtype=\"error_max_budget_usd\"$" result &&
	test_grep "^terminal_reason=\"budget_exhausted\"$" result &&
	test_grep "^total_cost_usd=2\.4" result &&
	test "$(check answers requests.jsonl | wc -l)" -eq 3
'

test_expect_success CLAUDE 'claude: without --share-net the sandbox cannot reach the host loopback' '
	workspace &&
	start_server anthropic claude-edit.json &&
	SANDBOX_NET=off CLAUDE_ENV=CLAUDE_CODE_MAX_RETRIES=1 \
		test_expect_code 1 claude_run &&
	test_must_fail test -s requests.jsonl &&
	check claude-result out.jsonl >result &&
	test_grep "^is_error=true$" result &&
	test_grep "Connection refused" result &&
	printf "hello world\nline two\n" >expect &&
	test_cmp expect ws/hello.txt
'

test_expect_success CODEX 'codex: scripted shell read and apply_patch change the workspace' '
	workspace &&
	start_server openai codex-edit.json &&
	codex_config &&
	codex_run &&
	check answers requests.jsonl >answers &&
	printf "1 200 turn 0\n2 200 turn 1\n3 200 turn 2\n" >expect &&
	test_cmp expect answers &&
	test_grep "Fix the greeting in hello.txt" requests.jsonl &&
	check tool-results requests.jsonl >results &&
	test_grep "^call_[0-9a-f]* exec_command .*Output:.nhello world.nline two" results &&
	test_grep "^call_[0-9a-f]* apply_patch .*Success. Updated the following files:.nA new.txt.nM hello.txt" results &&
	printf "hello there\nline two\n" >expect &&
	test_cmp expect ws/hello.txt &&
	echo "a new file" >expect &&
	test_cmp expect ws/new.txt &&
	check codex-events out.jsonl >events &&
	test_grep "^thread.started [0-9a-f-]\{36\}$" events &&
	test_grep "^item.completed command_execution .*cat hello.txt.* exit_code=0 status=completed$" events &&
	test_grep "^item.completed file_change status=completed update:/workspace/hello.txt add:/workspace/new.txt$" events &&
	tail -2 events >last &&
	test_grep "^item.completed agent_message \"All done: hello.txt edited, new.txt created.\"$" last &&
	test_grep "^turn.completed .*cached_input_tokens=2100 .*input_tokens=[1-9]" last &&
	ls home/.codex/sessions/*/*/*/rollout-*.jsonl &&
	ls -A ws >ls &&
	printf "hello.txt\nnew.txt\n" >expect &&
	test_cmp expect ls
'

test_expect_success CODEX 'codex: 500 every time: request_max_retries, then turn.failed, exit 1' '
	workspace &&
	start_server openai codex-500.json &&
	codex_config "request_max_retries = 1
stream_max_retries = 0" &&
	test_expect_code 1 codex_run &&
	test "$(check answers requests.jsonl | grep -c " 500 turn 0 error 500$")" -eq 2 &&
	check codex-events out.jsonl >events &&
	test_grep "^turn.failed " events &&
	test_grep -v "^turn.completed" events
'

test_expect_success CODEX 'codex: a stream that stalls: stream_idle_timeout_ms, reconnect, answer' '
	workspace &&
	start_server openai stall-once.json &&
	codex_config "stream_max_retries = 1
stream_idle_timeout_ms = 2000" &&
	codex_run &&
	check answers requests.jsonl >answers &&
	printf "1 None turn 0 hang mid-stream\n2 200 turn 0\n" >expect &&
	test_cmp expect answers &&
	check codex-events out.jsonl >events &&
	test_grep "^error \"Reconnecting... 1/1 (stream disconnected before completion: idle timeout waiting for SSE)\"$" events &&
	test_grep "^item.completed agent_message \"Recovered after a stalled stream.\"$" events
'

test_expect_success CODEX 'codex: a server that never answers: codex waits on (runner must time it out)' '
	workspace &&
	start_server openai hang.json &&
	codex_config "request_max_retries = 0
stream_max_retries = 0
stream_idle_timeout_ms = 1000" &&
	{ codex_run & } &&
	pid=$! &&
	test_wait_for 20 "check answers requests.jsonl | grep -q \"turn 0 hang\"" &&
	sleep 5 &&
	kill -0 $pid &&
	kill $pid &&
	check codex-events out.jsonl >events &&
	test_grep "^turn.started$" events &&
	test_grep -v "^turn.completed\|^turn.failed" events
'

test_expect_success CODEX 'codex: without --share-net: connection refused, turn.failed, exit 1' '
	workspace &&
	start_server openai codex-edit.json &&
	codex_config "request_max_retries = 1
stream_max_retries = 0" &&
	SANDBOX_NET=off test_expect_code 1 codex_run &&
	test_must_fail test -s requests.jsonl &&
	check codex-events out.jsonl >events &&
	test_grep "^turn.failed \"Connection failed: error sending request\"$" events &&
	printf "hello world\nline two\n" >expect &&
	test_cmp expect ws/hello.txt
'

# runner_smoke ID RUN-LINE: a plan with network: true and the one task
# ID running RUN-LINE (a shell command line) over ./ws; runner exec must
# succeed; the paths that came back as added are in ./added.
runner_smoke() {
	cat >plan.yaml <<-EOF &&
	version: 1
	name: agents-smoke
	backend:
	  type: local
	  isolation: sandbox
	  network: true
	  memory: 2G
	defaults:
	  workspace: ws
	  timeout: 2m
	  secrets: [ANTHROPIC_API_KEY, OPENAI_API_KEY]
	  env:
	    ANTHROPIC_BASE_URL: http://127.0.0.1:$PORT
	    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1"
	tasks:
	  - id: $1
	    run: $2
	EOF
	ANTHROPIC_API_KEY=sk-ant-test-key-0123456789 \
		OPENAI_API_KEY=sk-test-key-0123456789 \
		runner exec plan.yaml --state st >out 2>err &&
	run=$(ls st/runs) &&
	res=st/runs/$run/tasks/$1 &&
	python3 -c "
import json, sys
c = json.load(open(sys.argv[1]))
assert [m[\"path\"] for m in c[\"modified\"]] == [\"hello.txt\"], c
for a in c[\"added\"]:
    print(a[\"path\"])
" $res/changes.json >added &&
	test_grep "^new.txt$" added &&
	printf "hello there\nline two\n" >expect &&
	test_cmp expect $res/changes/hello.txt &&
	printf "hello world\nline two\n" >expect &&
	test_cmp expect ws/hello.txt
}

# What an agent's HOME (/workspace under runner today) brings back as
# "added", printed after the test for the record.
show_added() {
	[ -f "$TRASH_ROOT/t$test_count/added" ] || return 0
	echo "# $1: runner exec brought back $(grep -cv "^new.txt$" \
		"$TRASH_ROOT/t$test_count/added") added file(s) besides new.txt:"
	grep -v "^new.txt$" "$TRASH_ROOT/t$test_count/added" | sed "s/^/#   /" |
		head -20
}

test_expect_success CLAUDE 'runner exec: the real claude in a network: true sandbox edits the workspace' '
	workspace &&
	start_server anthropic claude-edit.json &&
	runner_smoke claude "claude -p --dangerously-skip-permissions --output-format stream-json --verbose \"Fix the greeting\"" &&
	check claude-result $res/output.log >result &&
	test_grep "^subtype=\"success\"$" result
'
show_added claude

test_expect_success CODEX 'runner exec: the real codex in a network: true sandbox edits the workspace' '
	workspace &&
	start_server openai codex-edit.json &&
	runner_smoke codex "codex exec --json --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox -c model=gpt-5.5 -c model_provider=scripted -c analytics.enabled=false -c features.plugins=false -c '"'"'model_providers.scripted={name=\"scripted\",base_url=\"http://127.0.0.1:$PORT/v1\",wire_api=\"responses\",env_key=\"OPENAI_API_KEY\"}'"'"' \"Fix the greeting\" </dev/null" &&
	check codex-events $res/output.log >events &&
	test_grep "^turn.completed " events
'
show_added codex

# runner_agent ID AGENT [AGENTS-BLOCK]: like runner_smoke, the task an
# agent: AGENT task with the built-in profile (changed by AGENTS-BLOCK,
# whose leading tabs go).
runner_agent() {
	sed "s/^	*//" >plan.yaml <<-EOF &&
	version: 1
	name: agents-builtin
	backend:
	  type: local
	  network: true
	  memory: 2G
	defaults:
	  workspace: ws
	  timeout: 2m
	  secrets: [ANTHROPIC_API_KEY, OPENAI_API_KEY]
	  env:
	    ANTHROPIC_BASE_URL: http://127.0.0.1:$PORT
	${3:-}
	tasks:
	  - id: $1
	    agent: $2
	    prompt: Fix the greeting in hello.txt and add new.txt.
	EOF
	ANTHROPIC_API_KEY=sk-ant-test-key-0123456789 \
		OPENAI_API_KEY=sk-test-key-0123456789 \
		runner exec plan.yaml --state st >out 2>err &&
	run=$(ls st/runs) &&
	res=st/runs/$run/tasks/$1 &&
	python3 -c "
import json, sys
c = json.load(open(sys.argv[1]))
assert [m[\"path\"] for m in c[\"modified\"]] == [\"hello.txt\"], c
assert [a[\"path\"] for a in c[\"added\"]] == [\"new.txt\"], c
" $res/changes.json &&
	printf "hello there\nline two\n" >expect &&
	test_cmp expect $res/changes/hello.txt
}

test_expect_success CLAUDE 'runner exec: agent: claude, the built-in profile; its state stays in its HOME' '
	workspace &&
	start_server anthropic claude-edit.json &&
	runner_agent fix claude &&
	check claude-result $res/output.log >result &&
	test_grep "^subtype=\"success\"$" result &&
	test_grep "Fix the greeting in hello.txt" requests.jsonl &&
	python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
a = r[\"agent\"]
assert a[\"result\"] == \"success\" and a[\"turns\"] == 5, a
assert a[\"tokens\"][\"cache_read\"] == 5000, a
assert r[\"cost_source\"] == \"agent\" and r[\"cost_usd\"] == a[\"cost_usd\"] > 0, r
assert a[\"final_text\"] == \"All done: hello.txt edited, new.txt created.\", a
" $res/result.json
'

# runner_fail ID AGENT TASK-KEYS: a plan like runner_agent's whose task
# must fail (exit 1); its result.json in $res.
runner_fail() {
	sed "s/^	*//" >plan.yaml <<-EOF &&
	version: 1
	name: agents-fail
	backend: {network: true, memory: 2G}
	defaults:
	  workspace: ws
	  timeout: 2m
	  secrets: [ANTHROPIC_API_KEY]
	  env:
	    ANTHROPIC_BASE_URL: http://127.0.0.1:$PORT
	    CLAUDE_CODE_MAX_RETRIES: "0"
	tasks:
	  - id: $1
	    agent: $2
	    prompt: Fix the greeting in hello.txt and add new.txt.
	$3
	EOF
	ANTHROPIC_API_KEY=sk-ant-test-key-0123456789 \
		test_expect_code 1 runner exec plan.yaml --state st >out 2>err &&
	run=$(ls st/runs) &&
	res=st/runs/$run/tasks/$1
}

test_expect_success CLAUDE 'runner exec: max_turns reaches claude; its own reason is the task'"'"'s' '
	workspace &&
	start_server anthropic claude-loop.json &&
	runner_fail loop claude "    max_turns: 1" &&
	python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
assert r[\"status\"] == \"failed\", r
assert r[\"reason\"] == \"Reached maximum number of turns (1)\", r
assert r[\"agent\"][\"result\"] == \"max_turns\", r
" $res/result.json
'

test_expect_success CLAUDE 'runner exec: an API error fails the task with the agent'"'"'s message' '
	workspace &&
	start_server anthropic claude-500.json &&
	runner_fail broken claude "" &&
	python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
assert r[\"reason\"].startswith(\"API Error: 500\"), r
assert r[\"agent\"][\"result\"] == \"error\", r
" $res/result.json &&
	test_grep "API Error: 500" out
'

test_expect_success CODEX 'runner exec: agent: codex, the built-in profile with the provider in args' '
	workspace &&
	start_server openai codex-edit.json &&
	runner_agent fix codex "agents:
	  codex:
	    model: gpt-5.5
	    args: [-c, model_provider=scripted, -c, \"model_providers.scripted={name=\\\"scripted\\\",base_url=\\\"http://127.0.0.1:$PORT/v1\\\",wire_api=\\\"responses\\\",env_key=\\\"OPENAI_API_KEY\\\"}\"]" &&
	check codex-events $res/output.log >events &&
	test_grep "^turn.completed " events
'

test_done
