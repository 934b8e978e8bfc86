#!/bin/sh
# notify: {webhook, on, timeout}: a JSON summary POSTed when a run ends
# and when its cost passes 80% of the budget, against a real HTTP server
# on loopback: the payload (secrets masked), on: failure, a server that
# hangs (the timeout bounds it; the run's records and exit code stay as
# they are), a server that answers 500 twice (tried again), the budget
# post.
. ./lib.sh

SERVER_PID=""
cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
	chmod -R u+rwx "$TRASH_ROOT" 2>/dev/null
	rm -rf "$TRASH_ROOT"
}
trap cleanup EXIT

# The webhook: POST /MODE/NAME. ok answers 200; hang never answers in
# time; flaky answers 500 to the first two posts of NAME, then 200; e404
# answers 404. Each post is kept as NAME.N.json, and NAME.log has a line
# "N MS_SINCE_EPOCH" as it arrives.
HOOKS="$TRASH_ROOT/hooks"
mkdir -p "$HOOKS"
cat >"$TRASH_ROOT/hook.py" <<'PY'
import http.server, os, sys, threading, time
root, port_file = sys.argv[1], sys.argv[2]
lock, seen = threading.Lock(), {}
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_POST(self):
        parts = self.path.strip("/").split("/")
        mode, name = parts[0], parts[1]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            n = seen[name] = seen.get(name, 0) + 1
            with open(os.path.join(root, "%s.%d.json" % (name, n)), "wb") as f:
                f.write(body)
            with open(os.path.join(root, name + ".log"), "a") as f:
                f.write("%d %d %s\n" % (n, int(time.time() * 1000),
                        self.headers.get("Content-Type")))
        if mode == "hang":
            time.sleep(30)
        code = 200
        if mode == "flaky" and n <= 2 or mode == "e500":
            code = 500
        if mode == "e404":
            code = 404
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
class S(http.server.ThreadingHTTPServer):
    daemon_threads = True
s = S(("127.0.0.1", 0), H)
open(port_file + ".tmp", "w").write(str(s.server_address[1]))
os.rename(port_file + ".tmp", port_file)
s.serve_forever()
PY
if test_have_prereq PYTHON3; then
	python3 "$TRASH_ROOT/hook.py" "$HOOKS" "$TRASH_ROOT/port" \
		2>"$TRASH_ROOT/hook.err" &
	SERVER_PID=$!
	test_wait_for 10 'test -s "$TRASH_ROOT/port"' ||
		sed 's/^/# server: /' "$TRASH_ROOT/hook.err"
	HOOK="http://127.0.0.1:$(cat "$TRASH_ROOT/port")"
fi

# plan FILE NOTIFY TASKS...: a plan on the host (isolation: none) with
# notify: NOTIFY and limits from $LIMITS.
plan() {
	file=$1 notify=$2 &&
	shift 2 &&
	mkdir -p ws &&
	{
		printf "version: 1\nname: nightly\nbackend: {isolation: none}\n" &&
		printf "limits: {%s}\n" "${LIMITS:-concurrency: 2}" &&
		printf "notify: %s\n" "$notify" &&
		printf "defaults: {workspace: ws}\ntasks:\n" &&
		for t in "$@"; do printf "  - %s\n" "$t" || return 1; done
	} >"$file"
}

posts() { ls "$HOOKS" | grep -c "^$1\.[0-9]*\.json$" || true; }

test_expect_success 'validate: the webhook URL, on:, timeout, where written' '
	cat >bad.yaml <<-\EOF &&
	version: 1
	name: n
	notify: {webhook: "ftp://example.org/x", on: [failure, sometimes], timeout: 5m}
	tasks:
	  - {id: a, run: "true"}
	EOF
	test_expect_code 2 runner validate bad.yaml 2>err &&
	test_grep "^bad.yaml:3:19: notify.webhook: invalid webhook URL: it must start with http:// or https://" err &&
	test_grep "^bad.yaml:3:56: notify.on: expected failure, budget or always, found .sometimes." err &&
	test_grep "^bad.yaml:3:77: notify.timeout: a webhook.s timeout is from 100ms to 60s" err &&
	cat >bad2.yaml <<-\EOF &&
	version: 1
	name: n
	notify:
	  on: [budget]
	  hook: "http://x"
	tasks:
	  - {id: a, run: "true"}
	EOF
	test_expect_code 2 runner validate bad2.yaml 2>err &&
	test_grep "^bad2.yaml:3:1: notify: missing required key .webhook." err &&
	test_grep "^bad2.yaml:4:8: notify.on: budget needs limits.budget_usd" err &&
	test_grep "^bad2.yaml:5:3: notify: unknown key .hook." err &&
	cat >bad3.yaml <<-\EOF &&
	version: 1
	name: n
	notify: {webhook: "https:///path"}
	tasks:
	  - {id: a, run: "true"}
	EOF
	test_expect_code 2 runner validate bad3.yaml 2>err &&
	test_grep "^bad3.yaml:3:19: notify.webhook: invalid webhook URL: it has no host" err &&
	cat >good.yaml <<-\EOF &&
	version: 1
	name: n
	limits: {budget_usd: 5}
	notify: {webhook: "https://hooks.example.org/T0/B1?x=1", on: [failure, budget, always], timeout: 2s}
	tasks:
	  - {id: a, run: "true"}
	EOF
	runner validate good.yaml
'

test_expect_success PYTHON3 'the payload: the shape of the schema, secrets masked' '
	SECRET=tok-7f3a9c1e5b2d4680 &&
	export NOTIFY_TOKEN=$SECRET &&
	plan "plan-$SECRET.yaml" "{webhook: \"$HOOK/ok/payload\", on: [always]}" \
		"{id: good, run: \"true\", secrets: [NOTIFY_TOKEN]}" \
		"{id: bad, run: \"exit 3\"}" \
		"{id: after, depends_on: [bad], run: \"true\"}" &&
	test_expect_code 1 runner exec "plan-$SECRET.yaml" --state st -q 2>err &&
	test "$(posts payload)" = 1 &&
	! grep -r "$SECRET" "$HOOKS"/payload.* &&
	grep -q "plan-\*\*\*.yaml" "$HOOKS/payload.1.json" &&
	test_grep " application/json$" "$HOOKS/payload.log" &&
	python3 - "$RUNNER_TOP/schema/notify.schema.json" "$HOOKS/payload.1.json" <<-\EOF &&
	import json, sys, jsonschema
	schema = json.load(open(sys.argv[1]))
	doc = json.load(open(sys.argv[2]))
	jsonschema.Draft202012Validator(schema).validate(doc)
	assert doc["event"] == "run_finished", doc
	r = doc["run"]
	assert r["plan"] == "nightly" and r["status"] == "failed", r
	assert r["exit_code"] == 1 and r["ended_at"], r
	assert r["plan_path"] == "plan-***.yaml", r
	t = doc["tasks"]
	assert (t["total"], t["succeeded"], t["failed"], t["skipped"]) == (3, 1, 1, 1), t
	ns = doc["not_succeeded"]
	assert [(x["id"], x["status"]) for x in ns] == [("bad", "failed"), ("after", "skipped")], ns
	assert "3" in ns[0]["reason"], ns
	assert doc["budget_usd"] is None
	EOF
	run=$(ls st/runs) &&
	test "$(sqlite3 st/runner.db "select count(*) from events where kind = '\''notify'\'' and message like '\''posted run_finished to the webhook (HTTP 200, 1 try%'\''")" = 1
'

test_expect_success PYTHON3 'on: [failure] posts only when the run did not succeed' '
	plan ok.yaml "{webhook: \"$HOOK/ok/onfail\", on: [failure]}" \
		"{id: a, run: \"true\"}" &&
	runner exec ok.yaml --state st -q &&
	test "$(posts onfail)" = 0 &&
	plan fail.yaml "{webhook: \"$HOOK/ok/onfail\", on: [failure]}" \
		"{id: a, run: \"false\"}" &&
	test_expect_code 1 runner exec fail.yaml --state st -q &&
	test "$(posts onfail)" = 1 &&
	grep -q "\"status\":\"failed\"" "$HOOKS/onfail.1.json"
'

test_expect_success PYTHON3 'a server that hangs: bounded, records intact, exit code kept' '
	plan hang.yaml "{webhook: \"$HOOK/hang/hang\", on: [always], timeout: 1s}" \
		"{id: a, run: \"true\"}" &&
	start=$(date +%s) &&
	runner exec hang.yaml --state st -q >out 2>err &&
	took=$(($(date +%s) - start)) &&
	test "$took" -ge 3 && test "$took" -le 12 &&
	test "$(posts hang)" = 3 &&
	test_grep "warning: cannot post run_finished to the webhook (3 tries" err &&
	test_grep "timed out" err &&
	test "$(sqlite3 st/runner.db "select status || '\'' '\'' || exit_code from runs")" = "succeeded 0" &&
	sqlite3 st/runner.db "select kind from events where run_id = (select id from runs) order by id" >kinds &&
	test "$(tail -n 2 kinds | tr "\n" " ")" = "run_finished notify_failed " &&
	run=$(ls st/runs) &&
	test_grep "^.\"status\":[[:space:]]*\"succeeded\"" "st/runs/$run/run.json" &&
	ended=$(sqlite3 st/runner.db "select ended_at from runs") &&
	first=$(sed -n "1s/^1 \([0-9]*\) .*/\1/p" "$HOOKS/hang.log") &&
	test "$ended" -le "$first"
'

test_expect_success PYTHON3 'a server that answers 500 twice, then 200: tried again' '
	plan flaky.yaml "{webhook: \"$HOOK/flaky/flaky\", on: [always], timeout: 2s}" \
		"{id: a, run: \"false\"}" &&
	test_expect_code 1 runner exec flaky.yaml --state st -q 2>err &&
	test "$(posts flaky)" = 3 &&
	! grep -q warning err &&
	test "$(sqlite3 st/runner.db "select message from events where kind = '\''notify'\''")" != "" &&
	sqlite3 st/runner.db "select message from events where kind = '\''notify'\''" >msg &&
	test_grep "posted run_finished to the webhook (HTTP 200, 3 tries" msg &&
	t1=$(sed -n "1s/^1 \([0-9]*\) .*/\1/p" "$HOOKS/flaky.log") &&
	t2=$(sed -n "2s/^2 \([0-9]*\) .*/\1/p" "$HOOKS/flaky.log") &&
	t3=$(sed -n "3s/^3 \([0-9]*\) .*/\1/p" "$HOOKS/flaky.log") &&
	test $((t2 - t1)) -ge 900 && test $((t3 - t2)) -ge 1900
'

test_expect_success PYTHON3 'a 404 is final; a failing post never changes the exit code' '
	plan e404.yaml "{webhook: \"$HOOK/e404/e404\", on: [always]}" \
		"{id: a, run: \"true\"}" &&
	runner exec e404.yaml --state st -q 2>err &&
	test "$(posts e404)" = 1 &&
	test_grep "warning: cannot post run_finished to the webhook (1 try, .*HTTP 404" err &&
	! grep -q "127.0.0.1" err &&
	plan down.yaml "{webhook: \"http://127.0.0.1:9/x\", on: [failure], timeout: 1s}" \
		"{id: a, run: \"false\"}" &&
	test_expect_code 1 runner exec down.yaml --state st -q 2>err &&
	test_grep "warning: cannot post run_finished to the webhook (3 tries" err
'

test_expect_success PYTHON3 'a slow on_done does not hold the webhook up' '
	plan slow.yaml "{webhook: \"$HOOK/ok/slowdone\", on: [always]}" \
		"{id: a, run: \"true\"}" &&
	echo "on_done: sleep 3; date +%s%3N >hook_end" >>slow.yaml &&
	runner exec slow.yaml --state st -q 2>err &&
	test "$(posts slowdone)" = 1 &&
	test -s hook_end &&
	posted=$(cut -d" " -f2 "$HOOKS/slowdone.log") &&
	test "$posted" -lt "$(($(cat hook_end) - 2000))" &&
	test "$(sqlite3 st/runner.db "select group_concat(kind) from events where kind in (\"notify\", \"on_done\") order by id")" = "notify,on_done"
'

test_expect_success PYTHON3 'budget: one post when the cost passes 80% of budget_usd' '
	LIMITS="budget_usd: 0.01, cost_per_hour_usd: 36" &&
	plan budget.yaml "{webhook: \"$HOOK/ok/budget\", on: [budget]}" \
		"{id: a, timeout: 1s, run: \"sleep 0.9\"}" \
		"{id: b, depends_on: [a], timeout: 1s, run: \"true\"}" &&
	test_expect_code 1 runner exec budget.yaml --state st -q >out 2>&1 &&
	test_grep "skipped  *b  *(budget" out &&
	test "$(posts budget)" = 1 &&
	python3 - "$RUNNER_TOP/schema/notify.schema.json" "$HOOKS/budget.1.json" <<-\EOF
	import json, sys, jsonschema
	schema = json.load(open(sys.argv[1]))
	doc = json.load(open(sys.argv[2]))
	jsonschema.Draft202012Validator(schema).validate(doc)
	assert doc["event"] == "budget", doc
	assert doc["run"]["status"] == "running" and doc["run"]["exit_code"] is None, doc
	assert doc["budget_usd"] == 0.01 and doc["budget_used"] >= 0.8, doc
	EOF
'

test_done
