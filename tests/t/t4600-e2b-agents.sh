#!/bin/sh
# Coding agents on the e2b backend, through `runner exec` against the
# loopback E2B server: the agent's HOME is its own, outside /workspace,
# and nothing it keeps there comes back; its stream-json outcome and
# cost are recorded as on the local backend (t9200); a secret it writes
# into the workspace is refused.
. ./lib.sh
. ./lib-e2b.sh

json() {
	python3 -c "import json, sys; j = json.load(open(sys.argv[1])); print($2)" "$1"
}

# An agent as Claude Code behaves headless: its state into HOME, a file
# into the workspace, its events as stream-json ending in a result.
write_plan() {
	mkdir -p ws &&
	echo base >ws/a.txt &&
	cat >p.yaml <<-\EOF
	version: 1
	name: e2b-agents
	backend: {type: e2b, network: true}
	defaults: {workspace: ws, timeout: 1m, secrets: [AGENT_TOKEN]}
	agents:
	  claude:
	    command:
	      - /bin/sh
	      - -c
	      - |
	        cat >/dev/null
	        mkdir -p "$HOME/.claude/projects" &&
	        echo '{"userID": "u1"}' >"$HOME/.claude.json" &&
	        echo transcript >"$HOME/.claude/projects/s.jsonl" &&
	        echo "home=$HOME" >where.txt &&
	        echo edited >a.txt &&
	        echo "$AGENT_TOKEN" >leak.txt &&
	        echo '{"type":"system","subtype":"init","session_id":"0e0e0e0e-0000-4000-8000-000000000001","model":"claude-sonnet-4-5"}' &&
	        echo '{"type":"result","subtype":"success","is_error":false,"num_turns":3,"session_id":"0e0e0e0e-0000-4000-8000-000000000001","total_cost_usd":0.0421,"usage":{"input_tokens":1200,"output_tokens":300,"cache_read_input_tokens":5000,"cache_creation_input_tokens":100},"result":"Edited a.txt."}'
	tasks:
	  - {id: t, agent: claude, prompt: "edit a.txt"}
	EOF
}

test_expect_success BWRAP 'on e2b: HOME outside the workspace, nothing of it back; the outcome and cost recorded; the secret refused' '
	write_plan &&
	AGENT_TOKEN=tok-$(od -An -tx1 -N12 /dev/urandom | tr -d " \n") &&
	export AGENT_TOKEN &&
	runner exec p.yaml --state st >out 2>err &&
	res=$(echo st/runs/*/tasks/t) &&
	home=$(sed -n "s/^home=//p" $res/changes/where.txt) &&
	test -n "$home" &&
	case "$home" in /workspace|/workspace/*) false ;; *) true ;; esac &&
	test "$(cat $res/changes/a.txt)" = edited &&
	! test -e $res/changes/.claude.json &&
	! test -e $res/changes/.claude &&
	! grep -rq "$AGENT_TOKEN" st out err &&
	test_grep "contains the value of secret AGENT_TOKEN" $res/changes.json &&
	test "$(json $res/result.json "j[\"agent\"][\"result\"], j[\"agent\"][\"turns\"], j[\"cost_source\"], j[\"cost_usd\"]")" = "success 3 agent 0.0421" &&
	test "$(json $res/result.json "j[\"agent\"][\"final_text\"]")" = "Edited a.txt."
'

test_done
