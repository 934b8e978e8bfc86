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

test_done
