#!/bin/sh
# Coding agents as runner tasks, through `runner exec`, with stand-ins on
# PATH that print what they were given (the real CLIs: t9000): the
# built-in profiles (agent: claude / codex without an agents: block), a
# plan's entry changing part of one, how the prompt reaches the agent,
# the memory floor; what the agent reports (its outcome, error, tokens,
# cost) in result.json, the database, show, the report and --json.
. ./lib.sh

# fake_agent NAME: bin/NAME prints its arguments, the variables a profile
# sets, HOME and its stdin, one per line, then what $FAKE_OUT names.
fake_agent() {
	mkdir -p bin &&
	cat >bin/$1 <<-\EOF &&
	#!/bin/sh
	for a in "$@"; do echo "arg=$a"; done
	for v in CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC DISABLE_AUTOUPDATER \
		DISABLE_TELEMETRY DISABLE_ERROR_REPORTING EXTRA HOME; do
		eval "echo \"env.$v=\${$v-unset}\""
	done
	echo "stdin=$(cat)"
	[ -z "${FAKE_OUT:-}" ] || cat "$FAKE_OUT"
	EOF
	chmod +x bin/$1
}

# plan FILE AGENTS-BLOCK TASK-KEYS: a plan over ./ws, isolation none,
# bin/ first on PATH. Leading tabs go (the blocks come from test bodies).
plan() {
	sed "s/^	*//" >"$1" <<-EOF
	version: 1
	name: agents
	backend: {isolation: none}
	defaults:
	  workspace: ws
	  timeout: 1m
	  env: {PATH: "$PWD/bin:/usr/bin:/bin"}
	$2
	tasks:
	  - id: t
	    prompt: Fix the greeting.
	$3
	EOF
}

result_of() {
	run=$(ls st/runs) && res=st/runs/$run/tasks/t
}

test_expect_success 'agent: claude works without an agents: block' '
	mkdir ws && fake_agent claude &&
	plan plan.yaml "" "    agent: claude" &&
	runner exec plan.yaml --state st >out 2>err &&
	result_of && log=$res/output.log &&
	cat >expect <<-\EOF &&
	arg=-p
	arg=--dangerously-skip-permissions
	arg=--output-format
	arg=stream-json
	arg=--verbose
	env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
	env.DISABLE_AUTOUPDATER=1
	env.DISABLE_TELEMETRY=1
	env.DISABLE_ERROR_REPORTING=1
	env.EXTRA=unset
	stdin=Fix the greeting.
	EOF
	grep -v "^env.HOME=" $log >actual &&
	test_cmp expect actual &&
	home=$(sed -n "s/^env.HOME=//p" $log) &&
	case "$home" in */ws*|/workspace*|"") false ;; esac
'

test_expect_success 'agent: codex works without an agents: block' '
	mkdir ws && fake_agent codex &&
	plan plan.yaml "" "    agent: codex" &&
	runner exec plan.yaml --state st >out 2>err &&
	result_of &&
	grep "^arg=" $res/output.log >actual &&
	cat >expect <<-\EOF &&
	arg=exec
	arg=--json
	arg=--skip-git-repo-check
	arg=--dangerously-bypass-approvals-and-sandbox
	arg=-c
	arg=analytics.enabled=false
	arg=-c
	arg=features.plugins=false
	EOF
	test_cmp expect actual &&
	test_grep "^stdin=Fix the greeting.$" $res/output.log
'

test_expect_success 'a plan entry changes part of a built-in profile, keeps the rest' '
	mkdir ws && fake_agent claude &&
	plan plan.yaml "agents:
	  claude:
	    args: [--add-dir, /tmp]
	    model: claude-sonnet-5
	    prompt: arg
	    env: {EXTRA: yes, DISABLE_TELEMETRY: 0}" "    agent: claude" &&
	runner exec plan.yaml --state st >out 2>err &&
	result_of && log=$res/output.log &&
	grep "^arg=" $log >actual &&
	cat >expect <<-\EOF &&
	arg=-p
	arg=--dangerously-skip-permissions
	arg=--output-format
	arg=stream-json
	arg=--verbose
	arg=--add-dir
	arg=/tmp
	arg=--model
	arg=claude-sonnet-5
	arg=Fix the greeting.
	EOF
	test_cmp expect actual &&
	test_grep "^env.EXTRA=yes$" $log &&
	test_grep "^env.DISABLE_TELEMETRY=0$" $log &&
	test_grep "^env.DISABLE_AUTOUPDATER=1$" $log &&
	test_grep "^stdin=$" $log
'

test_expect_success 'prompt: file passes the path of a real file outside the workspace' '
	mkdir ws && mkdir -p bin &&
	cat >bin/reader <<-\EOF &&
	#!/bin/sh
	for a in "$@"; do last=$a; done
	echo "path=$last"
	echo "file=$(cat "$last")"
	echo "stdin=$(cat)"
	EOF
	chmod +x bin/reader &&
	plan plan.yaml "agents:
	  reader: {command: [reader, --prompt-file], prompt: file}" "    agent: reader" &&
	runner exec plan.yaml --state st >out 2>err &&
	result_of && log=$res/output.log &&
	test_grep "^file=Fix the greeting.$" $log &&
	test_grep "^stdin=$" $log &&
	path=$(sed -n "s/^path=//p" $log) &&
	case "$path" in /*) ;; *) false ;; esac &&
	test_grep -v "^path=/dev/stdin" $log &&
	! test -e "$path" &&
	test -z "$(ls $res/changes 2>/dev/null)"
'

test_expect_success BWRAP 'prompt: file under bubblewrap: a file in the sandbox HOME' '
	mkdir ws &&
	cat >plan.yaml <<-\EOF &&
	version: 1
	name: agents
	defaults: {workspace: ws}
	agents:
	  cat: {command: [/bin/sh, -c, "echo path=$0; cat \"$0\""], prompt: file}
	tasks:
	  - {id: t, agent: cat, prompt: hello prompt}
	EOF
	runner exec plan.yaml --state st >out 2>err &&
	result_of &&
	test_grep "^path=/home/runner/" $res/output.log &&
	test_grep "^hello prompt$" $res/output.log
'

test_expect_success 'an agent below its memory floor is refused by validate' '
	mkdir ws &&
	cat >plan.yaml <<-\EOF &&
	version: 1
	name: agents
	backend: {memory: 512M}
	defaults: {workspace: ws}
	tasks:
	  - {id: t, agent: claude, prompt: p}
	EOF
	test_expect_code 2 runner validate plan.yaml >out 2>err &&
	test_grep "backend.memory: 512M is too little for agent .claude., which needs 1G" err &&
	cat >plan.yaml <<-\EOF &&
	version: 1
	name: agents
	backend: {memory: 512M}
	defaults: {workspace: ws}
	agents:
	  claude: {needs: {memory: 256M}}
	tasks:
	  - {id: t, agent: claude, prompt: p}
	EOF
	runner validate plan.yaml >out 2>err
'

test_expect_success 'an unknown agent: the built-ins are named' '
	mkdir ws &&
	printf "version: 1\nname: a\ndefaults: {workspace: ws}\ntasks:\n  - {id: t, agent: claud, prompt: p}\n" >plan.yaml &&
	test_expect_code 2 runner validate plan.yaml >out 2>err &&
	test_grep "unknown agent .claud.*claude" err &&
	printf "version: 1\nname: a\nagents: {mine: {prompt: arg}}\ntasks: []\n" >plan.yaml &&
	test_expect_code 2 runner validate plan.yaml >out 2>err &&
	test_grep "missing required key .command. (only claude and codex are built in)" err
'

# replay NAME: bin/claude (or codex) prints the real CLI's captured output
# tests/fixtures/agents/NAME.out and exits as it did (NAME.meta).
replay() {
	mkdir -p bin &&
	code=$(sed -n "s/^exit: //p" "$FIXTURES/agents/$1.meta") &&
	prog=${2:-claude} &&
	printf "#!/bin/sh\ncat >/dev/null\ncat '%s'\nexit %s\n" \
		"$FIXTURES/agents/$1.out" "$code" >bin/$prog &&
	chmod +x bin/$prog
}

# json FILE EXPR: print the Python expression EXPR over the JSON in FILE
# (as j).
json() {
	python3 -c "import json, sys; j = json.load(open(sys.argv[1])); print($2)" "$1"
}

test_expect_success 'the outcome of a claude run: result.json, db, show, report, --json' '
	mkdir ws && replay claude-edit &&
	plan plan.yaml "" "    agent: claude" &&
	runner exec plan.yaml --state st --json >events 2>err &&
	result_of &&
	test "$(json $res/result.json "j[\"agent\"][\"result\"], j[\"agent\"][\"turns\"], j[\"agent\"][\"format\"]")" = "success 5 claude-stream-json" &&
	test "$(json $res/result.json "j[\"agent\"][\"tokens\"][\"cache_read\"], j[\"agent\"][\"tokens\"][\"cache_write\"]")" = "5000 1000" &&
	test "$(json $res/result.json "j[\"agent\"][\"final_text\"]")" = "All done: hello.txt edited, new.txt created." &&
	sid=$(json $res/result.json "j[\"agent\"][\"session_id\"]") &&
	test ${#sid} -eq 36 &&
	test "$(json $res/result.json "j[\"cost_source\"]")" = agent &&
	cost=$(json $res/result.json "j[\"cost_usd\"]") &&
	test "$cost" = "$(json $res/result.json "j[\"agent\"][\"cost_usd\"]")" &&
	python3 -c "assert float(\"$cost\") > 0" &&
	test "$(sqlite3 st/runner.db "select result, turns, session_id, cost_source from agent_outcomes")" = "success|5|$sid|agent" &&
	test "$(sqlite3 st/runner.db "select cost_usd = $cost from tasks")" = 1 &&
	runner show $run t --state st >show &&
	test_grep "^agent:    claude-stream-json: success, 5 turns" show &&
	test_grep "^cost by:  agent" show &&
	test_grep "^final:    All done" show &&
	runner report $run --state st -o report.html &&
	test_grep "agent: success, 5 turns" report.html &&
	grep "\"event\":\"agent_outcome\"" events >ev &&
	test "$(json ev "j[\"data\"][\"result\"], j[\"data\"][\"cost_source\"], j[\"task_id\"]")" = "success agent t"
'

test_expect_success 'an agent that reports an error fails with its own reason' '
	mkdir ws && replay claude-500 &&
	plan plan.yaml "" "    agent: claude" &&
	test_expect_code 1 runner exec plan.yaml --state st >out 2>err &&
	result_of &&
	test "$(json $res/result.json "j[\"status\"], j[\"agent\"][\"result\"]")" = "failed error" &&
	json $res/result.json "j[\"reason\"]" >reason &&
	test_grep "^API Error: 500 Internal server error" reason &&
	test_grep "API Error: 500" out &&
	test_grep -v "exited with status" reason
'

test_expect_success 'max turns: "Reached maximum number of turns", even with exit 0' '
	mkdir ws && replay claude-max-turns &&
	sed -i "s/^exit 1$/exit 0/" bin/claude &&
	plan plan.yaml "" "    agent: claude" &&
	test_expect_code 1 runner exec plan.yaml --state st >out 2>err &&
	result_of &&
	test "$(json $res/result.json "j[\"reason\"], j[\"agent\"][\"result\"]")" = "Reached maximum number of turns (2) max_turns" &&
	test "$(sqlite3 st/runner.db "select reason from attempts")" = "Reached maximum number of turns (2)"
'

test_expect_success 'codex: turn.failed is the reason; tokens priced by the table' '
	mkdir ws && replay codex-500 codex &&
	plan plan.yaml "" "    agent: codex" &&
	test_expect_code 1 runner exec plan.yaml --state st >out 2>err &&
	result_of &&
	test "$(json $res/result.json "j[\"agent\"][\"format\"], j[\"agent\"][\"result\"]")" = "codex-jsonl error" &&
	json $res/result.json "j[\"reason\"]" >reason &&
	test_grep "experiencing high demand" reason &&
	rm -rf st && replay codex-edit codex &&
	plan plan.yaml "agents: {codex: {model: gpt-5.5}}" "    agent: codex" &&
	runner exec plan.yaml --state st >out 2>err &&
	result_of &&
	test "$(json $res/result.json "j[\"agent\"][\"result\"], j[\"cost_source\"]")" = "success tokens" &&
	python3 -c "assert $(json $res/result.json "j[\"cost_usd\"]") > 0"
'

test_expect_success 'a secret the agent prints does not reach result.json or the db' '
	mkdir ws && mkdir -p bin &&
	cat >bin/claude <<-\EOF &&
	#!/bin/sh
	cat >/dev/null
	printf "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":true,\"num_turns\":1,\"result\":\"API Error: key %s refused\",\"session_id\":\"s\"}\n" "$MY_KEY"
	exit 1
	EOF
	chmod +x bin/claude &&
	plan plan.yaml "" "    agent: claude
	    secrets: [MY_KEY]" &&
	MY_KEY=sk-very-secret-value-123456 test_expect_code 1 runner exec plan.yaml --state st >out 2>err &&
	result_of &&
	! grep -r "sk-very-secret-value-123456" st/runs st/runner.db &&
	test_grep "API Error: key" $res/result.json
'

test_expect_success 'max_turns and max_cost_usd reach claude as its own options' '
	mkdir ws && fake_agent claude &&
	plan plan.yaml "" "    agent: claude
	    max_turns: 3
	    max_cost_usd: 0.5" &&
	runner exec plan.yaml --state st >out 2>err &&
	result_of &&
	grep "^arg=" $res/output.log | tail -4 >actual &&
	printf "arg=--max-turns\narg=3\narg=--max-budget-usd\narg=0.5\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'max_cost_usd of an agent without such an option: runner ends it' '
	mkdir ws && replay codex-edit codex &&
	plan plan.yaml "agents: {codex: {model: gpt-5.5}}" "    agent: codex
	    max_cost_usd: 0.000001" &&
	test_expect_code 1 runner exec plan.yaml --state st >out 2>err &&
	result_of &&
	json $res/result.json "j[\"reason\"]" >reason &&
	test_grep "^max_cost_usd: the agent spent \$0\.0[0-9]*, over \$0\.0000$" reason
'

test_expect_success 'budget_usd counts what the agent reported' '
	mkdir ws && replay claude-edit &&
	plan plan.yaml "limits: {budget_usd: 0.05, concurrency: 1}" "    agent: claude
	  - id: second
	    agent: claude
	    prompt: again
	    depends_on: [t]" &&
	test_expect_code 1 runner exec plan.yaml --state st >out 2>err &&
	test "$(sqlite3 st/runner.db "select id, status from tasks order by seq")" = "t|succeeded
second|skipped" &&
	sqlite3 st/runner.db "select reason from tasks where id = \"second\"" >reason &&
	test_grep "budget" reason &&
	test_grep "0\.0676" reason
'

test_expect_success 'prices: the plan prices a model the table does not know' '
	mkdir ws && replay codex-edit codex &&
	plan plan.yaml "agents: {codex: {model: my-model}}
	prices:
	  my-model: {input_per_mtok: 1000, output_per_mtok: 1000}" "    agent: codex" &&
	runner exec plan.yaml --state st >out 2>err &&
	result_of &&
	test "$(json $res/result.json "j[\"cost_source\"]")" = tokens &&
	python3 -c "assert $(json $res/result.json "j[\"cost_usd\"]") > 1" &&
	printf "version: 1\nname: p\nprices: {other: {output_per_mtok: 1}}\ntasks: []\n" >bad.yaml &&
	test_expect_code 2 runner validate bad.yaml 2>err &&
	test_grep "prices: model .other.:" err
'

test_expect_success BWRAP 'network off: an agent task fails at once naming backend.network; validate warns' '
	mkdir ws &&
	cat >plan.yaml <<-\EOF &&
	version: 1
	name: offline
	defaults: {workspace: ws}
	agents:
	  claude: {command: [/bin/sh, -c, "echo started; sleep 30"]}
	tasks:
	  - {id: t, agent: claude, prompt: p}
	EOF
	runner validate plan.yaml >out 2>err &&
	test_grep "agent .claude. (task .t.) needs the network to reach its API, but backend.network is false" err &&
	start=$(date +%s) &&
	test_expect_code 1 runner exec plan.yaml --state st >out 2>err &&
	test $(($(date +%s) - start)) -lt 10 &&
	result_of &&
	json $res/result.json "j[\"reason\"]" >reason &&
	test_grep "needs the network to reach its API, but backend.network is false" reason &&
	test_grep -v "^started$" $res/output.log &&
	sed -i "s/^name: offline$/name: offline\nbackend: {network: true}/" plan.yaml &&
	runner validate plan.yaml >out 2>err &&
	test_grep -v "needs the network" err
'

test_done
