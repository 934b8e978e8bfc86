#!/bin/sh
# runner exec end to end: results layout, exit codes, dependencies,
# concurrency, timeouts, environment, masking, and runs/show/logs.
. ./lib.sh

# make_ws DIR: a small workspace with a few files.
make_ws() {
	mkdir -p "$1/src" &&
	echo "hello" > "$1/a.txt" &&
	echo "keep" > "$1/src/b.txt" &&
	echo "gone soon" > "$1/old.txt"
}

test_expect_success BWRAP 'a plan runs; results land where DESIGN.md says' '
	make_ws ws &&
	cat > plan.yaml <<-\EOF &&
	version: 1
	name: basic
	defaults:
	  workspace: ws
	tasks:
	  - id: edit
	    run: echo changed > a.txt && echo new > src/new.txt && rm old.txt && echo done
	  - id: quiet
	    run: "true"
	EOF
	runner exec plan.yaml --state st >out 2>err &&
	run=$(ls st/runs) &&
	test -f st/runs/$run/plan.yaml &&
	test_cmp plan.yaml st/runs/$run/plan.yaml &&
	test -f st/runs/$run/run.json &&
	test -f st/runs/$run/tasks/edit/result.json &&
	test -f st/runs/$run/tasks/edit/changes.json &&
	grep -q "^done$" st/runs/$run/tasks/edit/output.log &&
	echo changed >expect && test_cmp expect st/runs/$run/tasks/edit/changes/a.txt &&
	echo new >expect && test_cmp expect st/runs/$run/tasks/edit/changes/src/new.txt &&
	! test -e st/runs/$run/tasks/edit/changes/src/b.txt &&
	grep -q "\"path\":\s*\"old.txt\"" st/runs/$run/tasks/edit/changes.json &&
	echo hello >expect && test_cmp expect ws/a.txt &&
	test -f ws/old.txt &&
	test_grep "results: st/runs/$run" out &&
	python3 -c "
import json,sys
r=json.load(open(\"st/runs/$run/tasks/edit/result.json\"))
assert r[\"status\"]==\"succeeded\" and r[\"exit_code\"]==0, r
assert r[\"changes\"]==dict(added=1,modified=1,deleted=1,refused=0), r[\"changes\"]
run=json.load(open(\"st/runs/$run/run.json\"))
assert run[\"status\"]==\"succeeded\" and run[\"exit_code\"]==0, run
assert run[\"counts\"][\"succeeded\"]==2, run
" &&
	test "$(sqlite3 st/runner.db "select status from runs")" = succeeded &&
	test "$(sqlite3 st/runner.db "select count(*) from tasks where status=\"succeeded\"")" = 2 &&
	test "$(sqlite3 st/runner.db "select count(*) from attempts")" = 2 &&
	test -z "$(ls st/sandboxes 2>/dev/null)"
'

test_expect_success BWRAP 'result.json, run.json and changes.json follow the schemas' '
	make_ws ws &&
	printf "version: 1\nname: s\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: echo x > a.txt; ln -s a.txt l\n  - id: bad\n    run: exit 3\n" >plan.yaml &&
	test_expect_code 1 runner exec plan.yaml --state st >out &&
	run=$(ls st/runs) &&
	python3 - "$RUNNER_TOP/schema" st/runs/$run <<-\EOF
	import json, sys, pathlib
	from jsonschema import Draft202012Validator as V
	from referencing import Registry, Resource
	schema_dir, run = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
	schemas = {n: json.load(open(schema_dir / n)) for n in ("result.schema.json", "run.schema.json", "changes.schema.json")}
	reg = Registry().with_resources([(s["$id"], Resource.from_contents(s)) for s in schemas.values()])
	def check(name, path):
	    V(schemas[name], registry=reg).validate(json.load(open(path)))
	check("run.schema.json", run / "run.json")
	for t in (run / "tasks").iterdir():
	    check("result.schema.json", t / "result.json")
	    check("changes.schema.json", t / "changes.json")
	EOF
'

test_expect_success 'exit codes: 1 when a task fails; the failure is in result.json' '
	mkdir ws &&
	printf "version: 1\nname: fail\nbackend: {isolation: none}\ndefaults: {workspace: ws}\ntasks:\n  - id: ok\n    run: \"true\"\n  - id: bad\n    run: echo oops; exit 7\n" >plan.yaml &&
	test_expect_code 1 runner exec plan.yaml --state st >out &&
	run=$(ls st/runs) &&
	grep -q "\"exit_code\":\s*7" st/runs/$run/tasks/bad/result.json &&
	grep -q "exited with status 7" st/runs/$run/tasks/bad/result.json &&
	test "$(sqlite3 st/runner.db "select exit_code from runs")" = 1
'

test_expect_success 'a task whose dependency failed is skipped with the reason; others go on' '
	mkdir ws &&
	cat > plan.yaml <<-\EOF &&
	version: 1
	name: deps
	backend: {isolation: none}
	defaults: {workspace: ws}
	tasks:
	  - id: first
	    run: exit 1
	  - id: second
	    depends_on: [first]
	    run: "true"
	  - id: third
	    depends_on: [second]
	    run: "true"
	  - id: independent
	    run: "true"
	EOF
	test_expect_code 1 runner exec plan.yaml --state st >out &&
	test "$(sqlite3 st/runner.db "select status||\":\"||reason from tasks where id=\"second\"")" = "skipped:dependency '"'"'first'"'"' did not succeed" &&
	test "$(sqlite3 st/runner.db "select status from tasks where id=\"third\"")" = skipped &&
	test "$(sqlite3 st/runner.db "select status from tasks where id=\"independent\"")" = succeeded
'

# Tasks log start and end times to a shared file (isolation: none can see
# it); the largest number running at once must equal the cap.
max_overlap() {
	sort -n -k1,1 -k2,2r "$1" | awk "\$2==\"start\"{n++; if(n>m)m=n} \$2==\"end\"{n--} END{print m}"
}

test_expect_success 'concurrency caps the tasks running at once; --jobs overrides it' '
	mkdir ws &&
	{
	printf "version: 1\nname: conc\nbackend: {isolation: none}\nlimits: {concurrency: 2}\ndefaults: {workspace: ws}\ntasks:\n" &&
	for i in 1 2 3 4 5 6; do
		printf "  - id: t%s\n    run: echo \$(date +%%s%%N) start >> $TRASH/log; sleep 0.4; echo \$(date +%%s%%N) end >> $TRASH/log\n" $i ||
		return 1
	done
	} >plan.yaml &&
	"$RUNNER" exec plan.yaml --state st >out &&
	test "$(max_overlap log)" = 2 &&
	rm log &&
	runner exec plan.yaml --state st --jobs 3 >out &&
	test "$(max_overlap log)" = 3
'

test_expect_success 'a task over its timeout is killed and marked timed_out' '
	mkdir ws &&
	printf "version: 1\nname: to\nbackend: {isolation: none}\ndefaults: {workspace: ws, timeout: 1s}\ntasks:\n  - id: slow\n    run: echo started; sleep 30\n" >plan.yaml &&
	start=$(date +%s) &&
	test_expect_code 1 runner exec plan.yaml --state st --grace 1s >out &&
	test $(( $(date +%s) - start )) -lt 10 &&
	test "$(sqlite3 st/runner.db "select status from tasks")" = timed_out &&
	grep -q started st/runs/*/tasks/slow/output.log
'

test_expect_success BWRAP 'the task sees only its declared environment; secrets are masked' '
	mkdir ws &&
	cat > plan.yaml <<-\EOF &&
	version: 1
	name: env
	defaults:
	  workspace: ws
	  env: {GREETING: hi}
	  secrets: [MY_TOKEN]
	tasks:
	  - id: show
	    run: env | sort; echo "token is $MY_TOKEN"
	EOF
	HOST_ONLY=leak MY_TOKEN=s3cr3t-value-123 runner exec plan.yaml --state st >out 2>err &&
	log=$(echo st/runs/*/tasks/show/output.log) &&
	grep -q "^GREETING=hi$" $log &&
	grep -q "^RUNNER_TASK_ID=show$" $log &&
	grep -q "^RUNNER_ATTEMPT=1$" $log &&
	grep -q "^RUNNER_RUN_ID=" $log &&
	grep -q "^MY_TOKEN=\*\*\*$" $log &&
	grep -q "token is \*\*\*" $log &&
	! grep -q HOST_ONLY $log &&
	! grep -rq s3cr3t-value-123 st out err
'

test_expect_success 'a missing secret stops the run before it starts' '
	mkdir ws &&
	printf "version: 1\nname: sec\ndefaults: {workspace: ws, secrets: [NOT_SET_ANYWHERE]}\ntasks:\n  - id: t\n    run: \"true\"\n" >plan.yaml &&
	test_expect_code 2 runner exec plan.yaml --state st 2>err &&
	test_grep "NOT_SET_ANYWHERE" err &&
	! test -d st/runs
'

test_expect_success 'stdout and stderr are interleaved in order; big output is capped at log_limit' '
	mkdir ws &&
	printf "version: 1\nname: out\nbackend: {isolation: none}\ndefaults: {workspace: ws, log_limit: 1M}\ntasks:\n  - id: order\n    run: echo a; echo b >&2; echo c; echo d >&2\n  - id: big\n    run: head -c 50000000 /dev/zero | tr \"\\\\\\\\0\" x; echo\n" >plan.yaml &&
	"$RUNNER" exec plan.yaml --state st >out &&
	printf "a\nb\nc\nd\n" >expect &&
	test_cmp expect st/runs/*/tasks/order/output.log &&
	size=$(stat -c %s st/runs/*/tasks/big/output.log) &&
	test "$size" -lt 1100000 &&
	test "$size" -ge 1048576 &&
	tail -1 st/runs/*/tasks/big/output.log | grep -q "truncated at log_limit"
'

test_expect_success 'runs, show and logs read a run back; RUN may be last or a prefix' '
	mkdir ws &&
	printf "version: 1\nname: back\nbackend: {isolation: none}\ndefaults: {workspace: ws}\ntasks:\n  - id: hello\n    run: echo hello from the task\n" >plan.yaml &&
	"$RUNNER" exec plan.yaml --state st >out &&
	run=$(ls st/runs) &&
	runner runs --state st >runs &&
	test_grep "$run" runs && test_grep "back" runs &&
	runner show last --state st >show &&
	test_grep "hello" show && test_grep succeeded show &&
	runner show "$(echo $run | cut -c1-15)" hello --state st >task &&
	test_grep "status:   succeeded" task &&
	runner logs last hello --state st >log &&
	echo "hello from the task" >expect && test_cmp expect log &&
	runner logs last hello --follow --state st >log2 && test_cmp expect log2 &&
	test_expect_code 4 runner show nosuchrun --state st 2>err &&
	test_grep "no run" err &&
	test_expect_code 4 runner logs last nosuchtask --state st 2>err &&
	test_grep "no task" err &&
	test_expect_code 4 runner runs --state empty 2>err &&
	test_grep "nothing has run here" err
'

test_expect_success 'an ambiguous run prefix is refused, naming the candidates' '
	mkdir ws &&
	printf "version: 1\nname: amb\nbackend: {isolation: none}\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: \"true\"\n" >plan.yaml &&
	"$RUNNER" exec plan.yaml --state st >out && runner exec plan.yaml --state st >out &&
	test_expect_code 4 runner show 2 --state st 2>err &&
	test_grep "matches several runs" err
'

test_expect_success 'logs --follow streams a running task until it ends' '
	mkdir ws &&
	printf "version: 1\nname: fol\nbackend: {isolation: none}\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: echo one; sleep 1; echo two\n" >plan.yaml &&
	{ "$RUNNER" exec plan.yaml --state st >out & } &&
	pid=$! &&
	test_wait_for 10 "test -f st/runs/*/tasks/t/output.log" &&
	runner logs last t --follow --state st >log &&
	wait $pid &&
	printf "one\ntwo\n" >expect && test_cmp expect log
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 runner exec 2>err &&
	test_expect_code 2 runner exec a.yaml b.yaml 2>err &&
	test_expect_code 2 runner exec x.yaml --jobs 0 2>err &&
	test_expect_code 2 runner exec x.yaml --bogus 2>err &&
	test_expect_code 2 runner nosuchcommand 2>err &&
	test_grep "unknown command" err &&
	runner --help >out && test_grep "exit codes" out
'

test_expect_success 'an invalid plan exits 2 and runs nothing' '
	printf "version: 1\nname: bad\ntasks:\n  - id: t\n" >plan.yaml &&
	test_expect_code 2 runner exec plan.yaml --state st 2>err &&
	test_grep "plan.yaml:4" err &&
	! test -d st/runs
'

test_expect_success 'a missing workspace fails the task with a clear reason' '
	printf "version: 1\nname: nows\nbackend: {isolation: none}\ndefaults: {workspace: nowhere}\ntasks:\n  - id: t\n    run: \"true\"\n" >plan.yaml &&
	test_expect_code 1 runner exec plan.yaml --state st >out &&
	grep -q "cannot open workspace" st/runs/*/tasks/t/result.json
'

# As root everything is readable: run the runner as nobody instead.
as_user() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
	else
		"$@"
	fi
}

test_expect_success 'an unreadable workspace fails the task with a clear reason' '
	mkdir -p ws/secret && echo x >ws/secret/f && chmod 000 ws/secret &&
	mkdir st && chmod 777 st . && chmod 755 "$TRASH_ROOT" &&
	printf "version: 1\nname: unr\nbackend: {isolation: none}\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: \"true\"\n" >plan.yaml &&
	chmod 644 plan.yaml &&
	test_expect_code 1 as_user "$RUNNER" exec plan.yaml --state st >out 2>&1 &&
	grep -q "cannot open directory .secret.: Permission denied" st/runs/*/tasks/t/result.json
'

test_expect_success 'bubblewrap missing: a clear error naming the package, exit 4, nothing run' '
	mkdir ws &&
	printf "version: 1\nname: nobw\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: \"true\"\n" >plan.yaml &&
	test_expect_code 4 env PATH=/nonexistent "$RUNNER" exec plan.yaml --state st 2>err &&
	test_grep "bubblewrap" err && test_grep "make deps" err &&
	{ ! test -d st/runs || test -z "$(ls st/runs)"; }
'

test_expect_success 'an unreadable file in the workspace fails the task, naming it' '
	mkdir ws && mkfifo ws/pipe && echo ok > ws/file &&
	ln -s /nonexistent ws/dangling &&
	printf "version: 1\nname: unr\nbackend: {isolation: none}\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: ls\n" >plan.yaml &&
	"$RUNNER" exec plan.yaml --state st >out &&
	grep -q "^file$" st/runs/*/tasks/t/output.log &&
	grep -q "^dangling$" st/runs/*/tasks/t/output.log &&
	! grep -q "^pipe$" st/runs/*/tasks/t/output.log
'

test_expect_success 'a state folder that cannot be created is a runtime error (exit 4)' '
	mkdir ws && echo file >notadir &&
	printf "version: 1\nname: st\nbackend: {isolation: none}\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: \"true\"\n" >plan.yaml &&
	test_expect_code 4 runner exec plan.yaml --state notadir/state 2>err &&
	test_grep "notadir" err
'

test_expect_success '--dry-run shows the tasks and runs nothing' '
	mkdir ws &&
	printf "version: 1\nname: dry\ndefaults: {workspace: ws}\ntasks:\n  - id: a\n    run: \"true\"\n  - id: b\n    depends_on: [a]\n    run: \"true\"\n" >plan.yaml &&
	runner exec plan.yaml --dry-run --state st >out &&
	test_grep "after a" out &&
	! test -e st/runs
'

test_expect_success '--only runs just the named tasks' '
	mkdir ws &&
	printf "version: 1\nname: only\nbackend: {isolation: none}\ndefaults: {workspace: ws}\ntasks:\n  - id: a\n    run: \"true\"\n  - id: b\n    depends_on: [a]\n    run: \"true\"\n  - id: c\n    run: \"true\"\n" >plan.yaml &&
	runner exec plan.yaml --only b --state st >out &&
	test "$(sqlite3 st/runner.db "select group_concat(id) from tasks")" = b &&
	test_expect_code 2 runner exec plan.yaml --only nope --state st 2>err &&
	test_grep "no task" err
'

test_expect_success '--json prints one JSON event per line' '
	mkdir ws &&
	printf "version: 1\nname: js\nbackend: {isolation: none}\ndefaults: {workspace: ws}\ntasks:\n  - id: a\n    run: \"true\"\n" >plan.yaml &&
	runner exec plan.yaml --json --state st >out 2>err &&
	python3 -c "
import json
ev=[json.loads(l) for l in open(\"out\")]
kinds=[e[\"event\"] for e in ev]
assert kinds[0]==\"run_started\" and kinds[-1]==\"run_finished\", kinds
assert any(e[\"event\"]==\"task_finished\" and e[\"status\"]==\"succeeded\" for e in ev)
" &&
	runner exec plan.yaml --quiet --state st >out &&
	! grep -q task_started out && test_grep "results:" out
'

test_expect_success BWRAP 'a sandbox folder is private: 0700' '
	mkdir ws &&
	printf "version: 1\nname: p\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: stat -c %%a .\n" >sbx.yaml &&
	printf "version: 1\nname: p\nbackend: {isolation: none}\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: stat -c %%a .\n" >none.yaml &&
	runner exec sbx.yaml --quiet --state st &&
	test "$(cat st/runs/*/tasks/t/output.log)" = 700 &&
	runner exec none.yaml --quiet --state st2 &&
	test "$(cat st2/runs/*/tasks/t/output.log)" = 700
'

test_expect_success 'the snapshot line comes before any task starts' '
	mkdir ws && echo x >ws/f &&
	printf "version: 1\nname: o\nbackend: {isolation: none}\ndefaults: {workspace: ws}\ntasks:\n  - id: a\n    run: \"true\"\n  - id: b\n    run: \"true\"\n" >plan.yaml &&
	runner exec plan.yaml --state st >out &&
	snap=$(grep -n "snapshot of" out | cut -d: -f1) &&
	first=$(grep -n " [ab]  *started$" out | head -1 | cut -d: -f1) &&
	test -n "$snap" && test -n "$first" && test "$snap" -lt "$first"
'

test_expect_success 'a big run lists only what did not succeed' '
	mkdir ws &&
	{
		printf "version: 1\nname: big\nbackend: {isolation: none}\n" &&
		printf "limits: {concurrency: 8}\ndefaults: {workspace: ws}\ntasks:\n" &&
		i=0 &&
		while [ $i -lt 60 ]; do
			printf "  - id: ok%d\n    run: \"true\"\n" $i &&
			i=$((i + 1)) || return 1
		done &&
		i=0 &&
		while [ $i -lt 25 ]; do
			printf "  - id: bad%d\n    run: exit 4\n" $i &&
			i=$((i + 1)) || return 1
		done
	} >plan.yaml &&
	test_expect_code 1 runner exec plan.yaml --quiet --state st >out &&
	run=$(ls st/runs) &&
	test_grep "60 succeeded, 25 failed" out &&
	! grep -q " ok[0-9]" out &&
	test "$(grep -c "^  failed *bad" out)" = 20 &&
	test_grep "and 5 more that did not succeed" out &&
	test_grep "every task: runner show $run" out &&
	runner show $run --state st >show &&
	test_grep ok59 show && test_grep bad24 show
'

test_expect_success 'the demo plan validates and runs from a clean state' '
	cp -r "$RUNNER_TOP/plans" "$RUNNER_TOP/examples" . &&
	runner validate plans/demo.yaml >out
'


test_expect_success BWRAP 'the demo runs; fake-claude reports like Claude Code, its state stays home' '
	cp -r "$RUNNER_TOP/plans" "$RUNNER_TOP/examples" . &&
	runner exec plans/demo.yaml --state st >out 2>err &&
	run=$(ls st/runs) &&
	for t in readme-usage contributing; do
		python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
a = r[\"agent\"]
assert a[\"result\"] == \"success\" and a[\"turns\"] == 2, a
assert r[\"cost_source\"] == \"agent\" and r[\"cost_usd\"] > 0, r
assert len(a[\"session_id\"]) == 36 and a[\"tokens\"][\"input\"] == 2400, a
c = json.load(open(sys.argv[2]))
names = [x[\"path\"] for k in (\"added\", \"modified\") for x in c[k]]
assert not [n for n in names if \".claude\" in n], names
" st/runs/$run/tasks/$t/result.json st/runs/$run/tasks/$t/changes.json ||
		return 1
	done
'

test_expect_success BWRAP 'HOME is private, outside the workspace; nothing written there comes back' '
	make_ws ws &&
	cat >plan.yaml <<-\EOF &&
	version: 1
	name: home
	defaults: {workspace: ws}
	tasks:
	  - id: t
	    run: echo "home=$HOME" && mkdir -p "$HOME/.claude/projects" && echo state >"$HOME/.claude.json" && echo s >"$HOME/.claude/projects/x.jsonl" && test -w "$HOME" && echo changed >a.txt
	EOF
	runner exec plan.yaml --state st >out 2>err &&
	run=$(ls st/runs) &&
	test_grep "^home=/home/runner$" st/runs/$run/tasks/t/output.log &&
	python3 -c "
import json, sys
c = json.load(open(sys.argv[1]))
assert [m[\"path\"] for m in c[\"modified\"]] == [\"a.txt\"], c
assert c[\"added\"] == [] and c[\"deleted\"] == [], c
" st/runs/$run/tasks/t/changes.json &&
	! test -e st/runs/$run/tasks/t/changes/.claude.json &&
	test -z "$(ls st/sandboxes)"
'

test_expect_success 'isolation none: HOME is a folder of its own, removed with the sandbox' '
	make_ws ws &&
	cat >plan.yaml <<-\EOF &&
	version: 1
	name: home
	backend: {isolation: none}
	defaults: {workspace: ws}
	tasks:
	  - id: t
	    run: echo "home=$HOME" && echo "pwd=$PWD" && echo state >"$HOME/.claude.json" && echo changed >a.txt
	EOF
	runner exec plan.yaml --state st >out 2>err &&
	run=$(ls st/runs) &&
	log=st/runs/$run/tasks/t/output.log &&
	home=$(sed -n "s/^home=//p" $log) &&
	pwd=$(sed -n "s/^pwd=//p" $log) &&
	test -n "$home" && test "$home" = "$pwd.home" &&
	! test -e "$home" &&
	test "$(ls st/runs/$run/tasks/t/changes)" = a.txt &&
	test -z "$(ls st/sandboxes)"
'
test_done
