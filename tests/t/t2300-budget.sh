#!/bin/sh
# limits.budget_per_day_usd: a cost ledger shared by every run of a state.
# Each attempt reserves its estimate before it starts, in the transaction
# that takes its start slot, and settles what it cost when it ends; a
# start waits, is skipped or fails the run when the last 24 h spent or
# reserved plus its estimate would pass the budget. The agent is a stand-in
# for Claude Code that reports the cost its task's $COST says.
. ./lib.sh

q() { sqlite3 st/runner.db "$1"; }

# bin/claude: after $SLEEP seconds, a stream-json result costing $COST.
fake_claude() {
	mkdir -p bin ws &&
	cat >bin/claude <<-\EOF &&
	#!/bin/sh
	cat >/dev/null
	[ -z "${SLEEP:-}" ] || sleep "$SLEEP"
	printf '{"type":"result","subtype":"success","is_error":false,"num_turns":1,"total_cost_usd":%s,"result":"done","session_id":"s-%s"}\n' "$COST" "$$"
	EOF
	chmod +x bin/claude
}

# plan NAME LIMITS, then on stdin "ID COST [SLEEP [MAX_COST]]" per task.
plan() {
	printf "version: 1\nname: %s\nbackend: {isolation: none}\n" "$1" &&
	printf "limits: %s\n" "$2" &&
	printf "defaults: {workspace: ws, timeout: 1m}\ntasks:\n" &&
	while read -r id cost sleep max; do
		printf "  - id: %s\n    agent: claude\n    prompt: go\n" "$id" &&
		printf "    env: {PATH: \"%s/bin:/usr/bin:/bin\", COST: \"%s\", SLEEP: \"%s\"}\n" \
			"$PWD" "$cost" "${sleep:-}" &&
		{ [ -z "${max:-}" ] || printf "    max_cost_usd: %s\n" "$max"; } ||
		return 1
	done
}

test_expect_success 'validate: budget_per_day_usd and estimate_usd are numbers' '
	mkdir ws &&
	printf "version: 1\nname: v\nlimits:\n  budget_per_day_usd: lots\ntasks:\n  - id: a\n    run: \"true\"\n" >p.yaml &&
	test_must_fail runner validate p.yaml >out 2>&1 &&
	test_grep "p.yaml:4:23: limits.budget_per_day_usd.*a number" out &&
	printf "version: 1\nname: v\nlimits: {budget_per_day_usd: 5, estimate_usd: 0.5}\ntasks:\n  - id: a\n    run: \"true\"\n" >p.yaml &&
	runner validate p.yaml
'

test_expect_success 'the budget holds across two consecutive runs; the reason says what was spent' '
	fake_claude &&
	plan day "{budget_per_day_usd: 2.50, on_limit: skip, concurrency: 1}" >one.yaml <<-\EOF &&
	a 1.00 0 1.00
	b 1.00 0 1.00
	EOF
	runner exec one.yaml --state st >out &&
	test "$(q "select count(*) from tasks where status = \"succeeded\"")" = 2 &&
	plan day2 "{budget_per_day_usd: 2.50, on_limit: skip, concurrency: 1}" >two.yaml <<-\EOF &&
	c 1.00 0 1.00
	d 0.40 0 0.40
	EOF
	test_expect_code 1 runner exec two.yaml --state st >out &&
	q "select reason from tasks where id = \"c\"" >reason &&
	test_grep "^budget_per_day_usd \$2.50 reached: \$2.0000 spent or reserved in the last 24 h, its estimate \$1.0000 (its max_cost_usd)$" reason &&
	test "$(q "select status from tasks where id = \"d\"")" = succeeded &&
	test "$(q "select printf(\"%.2f\", sum(actual_usd)) from cost_ledger")" = 2.40 &&
	test "$(q "select count(*) from cost_ledger where actual_usd is null")" = 0
'

test_expect_success 'the estimate: max_cost_usd, else the last cost of the task, else estimate_usd' '
	fake_claude &&
	plan est "{estimate_usd: 0.25}" >p.yaml <<-\EOF &&
	a 0.10
	b 0.20 0 0.50
	EOF
	runner exec p.yaml --state st >out &&
	runner exec p.yaml --state st >out &&
	q "select task_id, reserved_usd, actual_usd from cost_ledger order by id" >actual &&
	cat >expect <<-\EOF &&
	a|0.25|0.1
	b|0.5|0.2
	a|0.1|0.1
	b|0.5|0.2
	EOF
	test_cmp expect actual
'

test_expect_success 'on_limit wait: an open reservation settled for less lets the next start go' '
	fake_claude &&
	plan wait "{budget_per_day_usd: 1.50, estimate_usd: 1.00, concurrency: 2}" >p.yaml <<-\EOF &&
	a 0.20 1
	b 0.20 1
	EOF
	runner exec p.yaml --state st >out 2>&1 &&
	test_grep "budget_per_day_usd \$1.50 reached: \$1.0000 spent or reserved in the last 24 h, its estimate \$1.0000 (estimate_usd); waiting" out &&
	test "$(q "select count(*) from tasks where status = \"succeeded\"")" = 2 &&
	test "$(q "select group_concat(reserved_usd || \"/\" || actual_usd) from cost_ledger")" = "1.0/0.2,1.0/0.2"
'

test_expect_success 'two runners at once on one state never pass the budget together' '
	fake_claude &&
	for r in x y; do
		plan $r "{budget_per_day_usd: 3.00, on_limit: skip, concurrency: 2}" >$r.yaml <<-\EOF || return 1
		t1 0.50 1 0.50
		t2 0.50 1 0.50
		t3 0.50 1 0.50
		t4 0.50 1 0.50
		EOF
	done &&
	# Made first: two runners creating one state at once race (not this).
	mkdir st && runner db migrate --state st >/dev/null &&
	for r in x y; do
		{ (rc=0 && { "$RUNNER" exec $r.yaml --state st >$r.out 2>&1 || rc=$?; } && echo $rc >$r.rc) & } || return 1
	done &&
	test_wait_jobs &&
	test -s x.rc && test -s y.rc &&
	test "$(q "select count(*) from tasks where status = \"succeeded\"")" = 6 &&
	test "$(q "select count(*) from tasks where reason like \"budget_per_day_usd%\"")" = 2 &&
	test "$(q "select printf(\"%.2f\", sum(actual_usd)) from cost_ledger")" = 3.00 &&
	test "$(q "select printf(\"%.2f\", sum(cost_usd)) from tasks")" = 3.00
'

test_expect_success 'a runner killed mid-attempt: recovery settles its reservation at the estimate' '
	fake_claude &&
	plan crash "{budget_per_day_usd: 1.50, on_limit: skip}" >p.yaml <<-\EOF &&
	slow 0.10 2317 1.00
	EOF
	{ "$RUNNER" exec p.yaml --state st >out 2>&1 & } &&
	pid=$! &&
	test_wait_for 10 "test \"\$(q \"select count(*) from cost_ledger where actual_usd is null\" 2>/dev/null)\" = 1" &&
	test_wait_for 10 "pgrep -f \"sleep 2317\" >/dev/null" &&
	kill -KILL $pid &&
	test_expect_code 137 wait $pid &&
	plan next "{budget_per_day_usd: 1.50, on_limit: skip}" >next.yaml <<-\EOF &&
	more 0.10 0 1.00
	EOF
	test_expect_code 1 runner exec next.yaml --state st >out &&
	test "$(q "select status from runs where plan_name = \"crash\"")" = lost &&
	test "$(q "select reserved_usd, actual_usd, settled_by from cost_ledger where task_id = \"slow\"")" = "1.0|1.0|lost" &&
	q "select reason from tasks where id = \"more\"" >reason &&
	test_grep "\$1.0000 spent or reserved" reason &&
	! pgrep -f "sleep 2317"
'

test_done
