#!/bin/sh
# runner's reading of coding agents' output (runner/agent-stream.c) and
# its prices (runner/prices.c, prices/models.json), through
# `test-tool agent-parse FORMAT < OUTPUT`: first over the captures in
# tests/fixtures/agents/, then over the live output of the real Claude
# Code and Codex CLIs run as t9000 runs them (bubblewrap with runner's
# arguments, scripted model servers on loopback; tests/t/lib-agents.sh).
#
# The cross-check of the price table: the cost Claude reports
# (total_cost_usd) must be the tokens it reports times the table's
# prices for its model, to the last digit printed.
. ./lib.sh
. ./lib-agents.sh

# agent_parse FORMAT [ARGS...] <OUTPUT: the outcome in ./parsed.
agent_parse() {
	"$TEST_TOOL" agent-parse "$@" >parsed
}

# val KEY: KEY's value in ./parsed.
val() { sed -n "s/^$1=//p" parsed; }

# expect KEY=VALUE...: each line must be in ./parsed.
expect() {
	for _kv in "$@"; do
		test_grep "^$_kv\$" parsed || return 1
	done
}

# same_cost: the reported cost is the tokens' cost under the table.
same_cost() {
	test "$(val reported_cost_usd)" = "$(val tokens_cost_usd)" || {
		echo "reported $(val reported_cost_usd)," \
			"tokens x table $(val tokens_cost_usd)"
		return 1
	}
}

test_expect_success 'the embedded price table is prices/models.json' '
	v=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"version\"])" \
		"$RUNNER_TOP/prices/models.json") &&
	agent_parse none </dev/null &&
	expect "prices_version=$v" "outcome=none" "final=0" "cost_source=none"
'

test_expect_success 'fixtures: the same outcome whole, a byte at a time, in random chunks' '
	for f in "$AGENT_FIXTURES"/*.out; do
		case $f in
		*/claude-*) fmt=claude-stream-json ;;
		*) fmt=codex-jsonl ;;
		esac &&
		"$TEST_TOOL" agent-parse $fmt <"$f" >out &&
		grep -v "_ms=\|^final_at_byte=" out >whole &&
		"$TEST_TOOL" agent-parse $fmt --chunk 1 <"$f" >out &&
		grep -v "_ms=\|^final_at_byte=" out >bytes &&
		test_cmp whole bytes &&
		for seed in 1 2 3; do
			"$TEST_TOOL" agent-parse $fmt --random $seed <"$f" >out &&
			grep -v "_ms=\|^final_at_byte=" out >rand &&
			test_cmp whole rand || return 1
		done &&
		test_grep "^final=1$" whole &&
		test_grep "^final_calls=1$" whole || return 1
	done
'

test_expect_success 'fixtures: claude reported costs equal tokens x the table' '
	for f in "$AGENT_FIXTURES"/claude-*.out; do
		agent_parse claude-stream-json <"$f" &&
		same_cost &&
		expect cost_source=agent || return 1
	done
'

test_expect_success 'fixtures: codex has no cost; tokens x the table, the plan model' '
	agent_parse codex-jsonl --model gpt-5.5 <"$AGENT_FIXTURES/codex-usage.out" &&
	expect reported_cost_usd=null tokens_cost_usd=0.03225 \
		cost_usd=0.03225 cost_source=tokens "model=\"gpt-5.5\"" &&
	agent_parse codex-jsonl <"$AGENT_FIXTURES/codex-usage.out" &&
	expect "model=null" cost_source=none &&
	agent_parse codex-jsonl --sandbox-ms 1800000 --rate 0.2 \
		<"$AGENT_FIXTURES/codex-usage.out" &&
	expect cost_usd=0.1 cost_source=time
'

test_expect_success 'a plan override of a price changes the tokens cost' '
	cat >over.json <<-\EOF &&
	{"version": "plan", "models": {"gpt-5.5": {"input_per_mtok": 2,
	 "output_per_mtok": 8, "cache_read_per_mtok": 0.5,
	 "cache_write_per_mtok": 2}}}
	EOF
	agent_parse codex-jsonl --model gpt-5.5 --override over.json \
		<"$AGENT_FIXTURES/codex-usage.out" &&
	expect tokens_cost_usd=0.045 &&
	printf "{\"version\": 1}\n" >bad.json &&
	test_expect_code 1 "$TEST_TOOL" agent-parse codex-jsonl \
		--override bad.json </dev/null 2>err &&
	test_grep "prices: .version. must be a string" err
'

test_expect_success 'a 10 MiB line among the events is skipped' '
	f="$AGENT_FIXTURES/claude-edit.out" &&
	head -3 "$f" >big &&
	python3 -c "import sys; sys.stdout.write(\"{\\\"type\\\":\\\"user\\\",\\\"x\\\":\\\"\" + \"A\" * (10 << 20) + \"\\\"}\\n\")" >>big &&
	tail -n +4 "$f" >>big &&
	agent_parse claude-stream-json --chunk 65536 <big &&
	expect skipped_lines=1 outcome=success turns=5 tokens.cache_read=5000
'

test_have_prereq BWRAP || echo "# the live tests skip: bubblewrap does not work here"
# bwrap runs as nobody when we are root: nobody must reach the trash.
[ "$(id -u)" -ne 0 ] || chmod 711 "$TRASH_ROOT"

test_expect_success CLAUDE 'claude live: Read, Edit, Write, Bash: success, 5 turns, cost = tokens x table' '
	test_have_prereq BWRAP &&
	workspace &&
	start_server anthropic claude-edit.json &&
	claude_run &&
	agent_parse claude-stream-json --chunk 1 <out.jsonl &&
	expect final=1 final_calls=1 outcome=success error=null turns=5 \
		tool_calls=4 model_requests=5 "model=\"claude-opus-5-5\"" \
		tokens.cache_read=5000 tokens.cache_write=1000 \
		cost_source=agent \
		"final_text=\"All done: hello.txt edited, new.txt created.\"" &&
	test "$(val final_at_byte)" = "$(wc -c <out.jsonl)" &&
	test "$(val tokens.input)" -gt 10000 &&
	test "$(val tokens.output)" -gt 100 &&
	same_cost &&
	check claude-result out.jsonl >result &&
	test_grep "^session_id=$(val session_id)$" result &&
	test_grep "^total_cost_usd=$(val reported_cost_usd)$" result
'

test_expect_success CLAUDE 'claude live: fixed usage with 1-hour cache writes: exact tokens and cost' '
	test_have_prereq BWRAP &&
	workspace &&
	start_server anthropic "$AGENT_FIXTURES/scenarios/claude-usage.json" &&
	claude_run &&
	agent_parse claude-stream-json <out.jsonl &&
	expect outcome=success turns=3 tokens.input=3000 tokens.output=300 \
		tokens.cache_read=60000 tokens.cache_write=9000 \
		tokens.cache_write_1h=6000 reported_cost_usd=0.093 \
		tokens_cost_usd=0.093 \
		"final_text=\"Fixed usage on every turn.\""
'

test_expect_success CLAUDE 'claude live: 400: subtype success but is_error: outcome error' '
	test_have_prereq BWRAP &&
	workspace &&
	start_server anthropic claude-400.json &&
	test_expect_code 1 claude_run &&
	agent_parse claude-stream-json --random 9 <out.jsonl &&
	expect final=1 outcome=error "subtype=\"success\"" \
		"terminal_reason=\"api_error\"" api_error_status=400 \
		reported_cost_usd=0 cost_source=agent &&
	test_grep "^error=\"API Error: 400 messages.1.content: text content blocks must be non-empty\"$" parsed
'

test_expect_success CLAUDE 'claude live: 500 with CLAUDE_CODE_MAX_RETRIES=1: a retry, then error' '
	test_have_prereq BWRAP &&
	workspace &&
	start_server anthropic claude-500.json &&
	CLAUDE_ENV=CLAUDE_CODE_MAX_RETRIES=1 test_expect_code 1 claude_run &&
	agent_parse claude-stream-json <out.jsonl &&
	expect outcome=error api_error_status=500 retries=1 \
		"warning=\"api_retry 1/1: 500 server_error\"" &&
	test_grep "^error=\"API Error: 500 Internal server error" parsed
'

test_expect_success CLAUDE 'claude live: --max-turns 2: max_turns, num_turns 3 for 2 requests' '
	test_have_prereq BWRAP &&
	workspace &&
	start_server anthropic claude-loop.json &&
	test_expect_code 1 claude_run --max-turns 2 &&
	test "$(check answers requests.jsonl | wc -l)" -eq 2 &&
	agent_parse claude-stream-json <out.jsonl &&
	expect outcome=max_turns "subtype=\"error_max_turns\"" turns=3 \
		model_requests=2 tokens.input=200000 tokens.output=40000 \
		"error=\"Reached maximum number of turns (2)\"" \
		reported_cost_usd=1.6 &&
	same_cost
'

# result.usage leaves out the request that crossed the budget; modelUsage
# and total_cost_usd count it. The parser takes modelUsage.
test_expect_success CLAUDE 'claude live: --max-budget-usd 2: max_budget, tokens of all 3 requests' '
	test_have_prereq BWRAP &&
	workspace &&
	start_server anthropic claude-loop.json &&
	test_expect_code 1 claude_run --max-budget-usd 2 &&
	test "$(check answers requests.jsonl | wc -l)" -eq 3 &&
	agent_parse claude-stream-json <out.jsonl &&
	expect outcome=max_budget "terminal_reason=\"budget_exhausted\"" \
		tokens.input=300000 tokens.output=60000 reported_cost_usd=2.4 \
		"error=\"Reached maximum budget (\$2)\"" &&
	same_cost &&
	check claude-result out.jsonl >result &&
	test_grep "^usage.input_tokens=200000$" result
'

test_expect_success CODEX 'codex live: exec_command and apply_patch: success, tokens x table' '
	test_have_prereq BWRAP &&
	workspace &&
	start_server openai codex-edit.json &&
	codex_config &&
	codex_run &&
	agent_parse codex-jsonl --model gpt-5.5 --chunk 7 <out.jsonl &&
	expect final=1 outcome=success turns=1 tool_calls=2 ignored_lines=1 \
		tokens.cache_read=2100 reported_cost_usd=null \
		cost_source=tokens \
		"final_text=\"All done: hello.txt edited, new.txt created.\"" &&
	test "$(val final_at_byte)" = "$(wc -c <out.jsonl)" &&
	check codex-events out.jsonl >events &&
	test_grep "^thread.started $(val session_id | tr -d \")$" events &&
	in=$(sed -n "s/^turn.completed .* input_tokens=\([0-9]*\) .*/\1/p" events) &&
	test "$(val tokens.input)" -eq $((in - 2100)) &&
	python3 -c "
import sys
i, o, cr, got = (float(x) for x in sys.argv[1:])
want = (i * 1.25 + o * 10 + cr * 0.125) / 1e6
assert abs(got - want) < 1e-12, (got, want)
" "$(val tokens.input)" "$(val tokens.output)" 2100 "$(val cost_usd)"
'

test_expect_success CODEX 'codex live: fixed usage: input less cached and cache writes' '
	test_have_prereq BWRAP &&
	workspace &&
	start_server openai "$AGENT_FIXTURES/scenarios/codex-usage.json" &&
	codex_config &&
	codex_run &&
	agent_parse codex-jsonl --model gpt-5.5 <out.jsonl &&
	expect outcome=success tokens.input=9000 tokens.output=1500 \
		tokens.cache_read=18000 tokens.cache_write=3000 \
		tokens.reasoning=600 tokens_cost_usd=0.03225
'

test_expect_success CODEX 'codex live: 500 every time: turn.failed is the error, retries counted' '
	test_have_prereq BWRAP &&
	workspace &&
	start_server openai codex-500.json &&
	codex_config "request_max_retries = 1
stream_max_retries = 0" &&
	test_expect_code 1 codex_run &&
	agent_parse codex-jsonl --model gpt-5.5 <out.jsonl &&
	expect final=1 outcome=error turns=1 retries=1 has_tokens=0 &&
	test_grep "^error=\"We.re currently experiencing high demand" parsed
'

test_expect_success CODEX 'codex live: a stalled stream: a retry warning, still success' '
	test_have_prereq BWRAP &&
	workspace &&
	start_server openai stall-once.json &&
	codex_config "stream_max_retries = 1
stream_idle_timeout_ms = 2000" &&
	codex_run &&
	agent_parse codex-jsonl --model gpt-5.5 <out.jsonl &&
	expect outcome=success error=null retries=1 \
		"final_text=\"Recovered after a stalled stream.\"" &&
	test_grep "^warning=\"Reconnecting... 1/1 (stream disconnected" parsed
'

# runner exec's output.log: the agent's stdout and stderr as runner
# records them.
runner_exec() {
	cat >plan.yaml <<-EOF &&
	version: 1
	name: agent-parse
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
	log=st/runs/$(ls st/runs)/tasks/$1/output.log &&
	test -s "$log"
}

test_expect_success CLAUDE 'runner exec: claude output.log parses to the same outcome' '
	test_have_prereq BWRAP &&
	workspace &&
	start_server anthropic claude-edit.json &&
	runner_exec claude "claude -p --dangerously-skip-permissions --output-format stream-json --verbose \"Fix the greeting\"" &&
	agent_parse claude-stream-json <"$log" &&
	expect outcome=success turns=5 tool_calls=4 tokens.cache_read=5000 &&
	same_cost
'

test_expect_success CODEX 'runner exec: codex output.log (stderr mixed in) parses' '
	test_have_prereq BWRAP &&
	workspace &&
	start_server openai codex-edit.json &&
	runner_exec codex "codex exec --json --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox -c model=gpt-5.5 -c model_provider=scripted -c analytics.enabled=false -c features.plugins=false -c '"'"'model_providers.scripted={name=\"scripted\",base_url=\"http://127.0.0.1:$PORT/v1\",wire_api=\"responses\",env_key=\"OPENAI_API_KEY\"}'"'"' \"Fix the greeting\" </dev/null" &&
	agent_parse codex-jsonl --model gpt-5.5 <"$log" &&
	expect outcome=success turns=1 tool_calls=2 tokens.cache_read=2100 \
		cost_source=tokens
'

test_done
