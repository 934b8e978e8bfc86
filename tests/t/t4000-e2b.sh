#!/bin/sh
# The e2b backend end to end, against tests/e2b-server/server.py on
# loopback (an E2B-compatible server with fault injection), driven by
# build/tests/e2b-tool the way the scheduler drives a backend. After every
# test no sandbox may be left alive on the server, and the API key (a
# canary) must never appear in anything we print.
. ./lib.sh

. ./lib-e2b.sh

e2b() { "$E2B_TOOL" "$@"; }

# Run python over the server's /_state (as d) and fail on an assertion.
state_check() {
	server_state >server-state.json &&
	python3 -c "
import json, sys
d = json.load(open('server-state.json'))
reqs = [r for r in d['requests'] if not r['path'].startswith('/_')]
def count(route, status=None):
    m, p = route.split(' ', 1)
    return sum(1 for r in reqs if r['method'] == m and
               (r['path'] == p or p.endswith('*') and
                r['path'].startswith(p[:-1])) and
               (status is None or r['status'] == status))
def first(route):
    m, p = route.split(' ', 1)
    return [r for r in reqs if r['method'] == m and r['path'] == p]
$1
"
}

no_sandbox_left() {
	state_check '
if d["sandboxes"]:
    sys.exit("sandboxes left alive: %s" % d["sandboxes"])'
}

# e2b_test 'description' 'body': a test against a clean server that must
# leave no sandbox alive.
e2b_test() {
	test_expect_success BWRAP "$1" "
	curl -sf -X POST \"\$URL/_reset\" >/dev/null &&
	{
	$2
	} &&
	no_sandbox_left"
}

make_ws() {
	mkdir -p "$1/src" "$1/docs" &&
	echo hello >"$1/a.txt" &&
	echo keep >"$1/src/b.txt" &&
	printf '#!/bin/sh\necho run\n' >"$1/src/run.sh" &&
	chmod +x "$1/src/run.sh" &&
	echo "gone soon" >"$1/old.txt" &&
	ln -s a.txt "$1/link" &&
	printf 'build/\n*.o\n' >"$1/.gitignore" &&
	echo 'secret' >"$1/.env"
}

# The same task through the local backend, for comparisons.
local_run() {
	"$E2B_TOOL" run --backend local --state "$TRASH/local-state" "$@"
}

e2b_test 'a task that changes files: only the changes come back' '
	make_ws ws &&
	e2b run --workspace ws --changes ch --run-id r1 --task-id edit \
		"echo changed >a.txt; echo new >src/new.txt; rm old.txt;
		 mkdir build; echo o >build/x.o; echo done" >out 2>err &&
	test_grep "^done$" out &&
	test_grep "^status: exit=0 signal=0 timed_out=0 cancelled=0" out &&
	test_grep "^change: M file a.txt size=8 .* pulled=1$" out &&
	test_grep "^change: A file src/new.txt size=4 .* pulled=1$" out &&
	test_grep "^change: D file old.txt " out &&
	test_grep "^changes: 3 pulled=12 refused=0$" out &&
	echo changed >expect && test_cmp expect ch/a.txt &&
	echo new >expect && test_cmp expect ch/src/new.txt &&
	(cd ch && find . | sort) >got &&
	printf ".\n./a.txt\n./src\n./src/new.txt\n" >expect &&
	test_cmp expect got &&
	echo hello >expect && test_cmp expect ws/a.txt &&
	state_check "
assert d[\"counts\"][\"created\"] == 1, d[\"counts\"]
assert count(\"GET /files\") == 1, \"one download for all changes\"
assert count(\"POST /files\") == 2, \"tar and file list uploads\""
'

e2b_test 'the sandbox gets the workspace exactly, as /workspace' '
	make_ws ws &&
	e2b run --workspace ws --changes ch \
		"pwd; cat a.txt; ls -l src/run.sh | cut -c1-10; readlink link;
		 test -e .env || echo no-env; ./src/run.sh" >out 2>err &&
	printf "/workspace\nhello\n-rwxr-xr-x\na.txt\nno-env\nrun\n" >expect &&
	sed -n 1,6p out >got &&
	test_cmp expect got
'

e2b_test 'the changes equal what the local backend pulls back' '
	make_ws ws &&
	mkdir -p ws/keep && echo k >ws/keep/k && ln -s a.txt ws/l2 &&
	script="echo A2 >a.txt; mkdir -p build n/m; echo o >build/x; echo o >z.o
		echo n >n/m/f; ln -s /etc/passwd abs; ln -s ../outside rel
		mkfifo fifo; echo s >.env.local; mkdir .git; echo g >.git/c
		rm -r keep; chmod +x src/b.txt; ln -sfn src/b.txt link
		printf \"x\\n\" >n/.gitignore; echo q >n/x; echo big >big
		rmdir docs; echo f >docs; rm src/b.txt; mkdir src/b.txt
		echo in >src/b.txt/f; rm link; mkdir link; ln -sfn src/run.sh l2" &&
	e2b run --workspace ws --changes ch-e2b "$script" >out-e2b 2>err &&
	local_run --workspace ws --changes ch-local "$script" >out-local 2>err &&
	grep -v "^status:" out-e2b >e2b.txt &&
	grep -v "^status:" out-local >local.txt &&
	test_cmp local.txt e2b.txt &&
	diff -r --no-dereference ch-local ch-e2b &&
	test_grep "^change: A link abs .* note=symlink points outside the workspace$" e2b.txt &&
	test_grep "^change: A file fifo .* note=fifo refused$" e2b.txt &&
	test_grep "^change: D link link .* base=" e2b.txt &&
	test_grep "^change: M link l2 .* base=.* pulled=1$" e2b.txt &&
	test_grep "^change: A file docs " e2b.txt &&
	test_grep "^change: D file src/b.txt .* base=" e2b.txt &&
	test_grep "^change: A file src/b.txt/f " e2b.txt &&
	test_grep -v "build/x" e2b.txt &&
	test_grep -v "\.git/c" e2b.txt &&
	test_grep -v "\.env" e2b.txt &&
	test_grep -v " n/x " e2b.txt
'

e2b_test 'odd file names and an empty workspace survive the round trip' '
	mkdir ws empty &&
	printf "1\n" >"ws/sp ace" &&
	printf "2\n" >"ws/new
line" &&
	printf "3\n" >"ws/back\\slash" &&
	printf "4\n" >ws/-dash &&
	printf "5\n" >"ws/$(printf "\303\274n\303\257")" &&
	printf "6\n" >"ws/$(printf "bin\377ary")" &&
	mkdir -p "ws/$(head -c 120 /dev/zero | tr "\0" d)/x" &&
	echo deep >"ws/$(head -c 120 /dev/zero | tr "\0" d)/x/$(head -c 120 /dev/zero | tr "\0" f)" &&
	script="for f in *; do [ -f \"\$f\" ] && echo x >>\"\$f\"; done
		echo new >\"n e w
		\"; ls | wc -l; for f in ddd*/x/fff*; do echo y >>\"\$f\"; done" &&
	e2b run --workspace ws --changes ch "$script" >out 2>err &&
	local_run --workspace ws --changes ch-local "$script" >out-local 2>err &&
	grep -a -v "^status:" out >e2b.txt &&
	grep -a -v "^status:" out-local >local.txt &&
	test_cmp local.txt e2b.txt &&
	diff -r ch-local ch &&
	grep -a "^changes: 8 pulled=" out &&
	grep -a "^change: M file d*/x/f* size=7 .* pulled=1$" out &&
	LC_ALL=C grep -a "^change: M file bin.ary size=4 .* pulled=1$" out &&
	grep -a "^change: A file n e w$" out &&
	e2b run --workspace empty --changes ch2 "ls -A | wc -l; echo n >n" \
		>out2 2>err &&
	test_grep "^0$" out2 &&
	test_grep "^change: A file n size=2 .* pulled=1$" out2
'

e2b_test 'pull patterns and pull_limit work as for the local backend' '
	make_ws ws &&
	script="echo 1234 >src/one; echo 123456789 >src/two; echo x >top" &&
	e2b run --workspace ws --changes ch --pull "src/" --pull-limit 6 \
		"$script" >out 2>err &&
	local_run --workspace ws --changes ch-local --pull "src/" \
		--pull-limit 6 "$script" >out-local 2>err &&
	grep -v "^status:" out >e2b.txt &&
	grep -v "^status:" out-local >local.txt &&
	test_cmp local.txt e2b.txt &&
	test_grep "^change: A file src/one .* pulled=1$" out &&
	test_grep "^change: A file src/two .* pulled=0 note=over pull_limit$" out &&
	test_grep "^change: A file top .* pulled=0 note=not matched by pull$" out &&
	test -f ch/src/one && ! test -e ch/src/two && ! test -e ch/top
'

e2b_test 'output is streamed as it is written, stdout and stderr' '
	make_ws ws &&
	{
		e2b run --workspace ws --changes ch \
			"echo one; sleep 1; echo two >&2; sleep 1; echo three" \
			>out 2>err &
	} &&
	pid=$! &&
	test_wait_for 5 "grep -q \"^one\$\" out" &&
	! grep -q "^three$" out &&
	wait $pid &&
	printf "one\ntwo\nthree\n" >expect &&
	sed -n 1,3p out >got &&
	test_cmp expect got
'

e2b_test 'exit codes and signals come back' '
	make_ws ws &&
	e2b run --workspace ws --changes ch "exit 42" >out 2>err &&
	test_grep "^status: exit=42 signal=0 " out &&
	e2b run --workspace ws --changes ch2 "kill -TERM \$\$" >out 2>err &&
	test_grep "^status: exit=-1 signal=15 " out &&
	e2b run --workspace ws --changes ch3 /bin/false >out 2>err &&
	test_grep "^status: exit=1 signal=0 " out
'

e2b_test 'environment: only what the task declares, never the API key' '
	make_ws ws &&
	e2b run --workspace ws --changes ch --env FOO=bar --run-id r9 \
		--attempt 2 "env" >out 2>err &&
	test_grep "^FOO=bar$" out &&
	test_grep "^RUNNER_RUN_ID=r9$" out &&
	test_grep "^RUNNER_ATTEMPT=2$" out &&
	test_grep "^HOME=/home/user$" out &&
	test_grep -v E2B out
'

e2b_test 'stdin comes from a file' '
	make_ws ws &&
	printf "line one\nline two\n" >prompt.txt &&
	e2b run --workspace ws --changes ch --stdin prompt.txt \
		cat >out 2>err &&
	test_grep "^line two$" out &&
	test_grep "^status: exit=0 " out &&
	e2b run --workspace ws --changes ch2 "cat; ls /tmp" >out2 2>err &&
	test_grep "^status: exit=0 " out2 &&
	test_grep -v "line" out2
'

e2b_test 'timeout: TERM, then KILL after the grace; warnings before' '
	make_ws ws &&
	e2b run --workspace ws --changes ch --timeout 1s --warn-at 500ms \
		--grace 1s "echo x >partial; trap \"echo ignoring TERM\" TERM
		for i in 1 2 3 4 5 6 7 8; do sleep 1; done; echo never" \
		>out 2>err &&
	test_grep "^ignoring TERM$" out &&
	test_grep -v never out &&
	test_grep "^status: exit=-1 signal=9 timed_out=1 cancelled=0" out &&
	test_grep "warning: still running after" err &&
	test_grep "^change: A file partial " out &&
	e2b run --workspace ws --changes ch2 --timeout 1s \
		"trap \"echo bye; exit 5\" TERM; sleep 5 & wait" >out2 2>err2 &&
	test_grep "^bye$" out2 &&
	test_grep "^status: exit=5 signal=0 timed_out=1 " out2
'

e2b_test 'cancel and kill-now stop the task' '
	make_ws ws &&
	e2b run --workspace ws --changes ch --cancel-after 700ms --grace 5s \
		"trap \"echo stopping; exit 3\" TERM; sleep 10 & wait" \
		>out 2>err &&
	test_grep "^stopping$" out &&
	test_grep "^status: exit=3 signal=0 timed_out=0 cancelled=1" out &&
	e2b run --workspace ws --changes ch2 --kill-after 700ms \
		"trap \"\" TERM; sleep 10" >out2 2>err2 &&
	test_grep "^status: exit=-1 signal=9 timed_out=0 cancelled=1" out2
'

e2b_test 'a gated start: the clock starts at the go; no go, no task' '
	make_ws ws &&
	e2b run --workspace ws --changes ch --gate 1500ms --timeout 1s \
		"sleep 0.5; echo ran" >out 2>err &&
	test_grep "^ran$" out &&
	test_grep "^status: exit=0 signal=0 timed_out=0 cancelled=0" out &&
	e2b run --workspace ws --changes ch2 --gate-cancel 100ms \
		"echo ran >a.txt; echo ran" >out2 2>err2 &&
	test_grep "no go" err2 &&
	test_grep -v "^ran$" out2 &&
	test_grep "^status: exit=-1 signal=0 timed_out=0 cancelled=1" out2 &&
	test_grep "^changes: 0 " out2 &&
	state_check "assert count(\"POST /process.Process/Start\") == 5"
'

e2b_test 'a failing output handler kills the task' '
	make_ws ws &&
	test_must_fail e2b run --workspace ws --changes ch \
		--fail-output-after 100 "while :; do echo yyyyyyyyyy; done" \
		>out 2>err &&
	test_grep "output handler failed; the task was killed" err
'

e2b_test '429 rate limit: Retry-After is honoured (seconds)' '
	make_ws ws &&
	set_faults "[{\"route\": \"POST /sandboxes\", \"kind\": \"rate_limit\",
		\"retry_after\": \"2\"}]" &&
	e2b run --workspace ws --changes ch "echo ok" >out 2>err &&
	test_grep "^ok$" out &&
	state_check "
r = first(\"POST /sandboxes\")
assert [x[\"status\"] for x in r] == [429, 201], r
gap = r[1][\"start\"] - r[0][\"end\"]
assert gap >= 1.95, \"retried after %.3f s, Retry-After said 2\" % gap
assert gap < 4, gap"
'

e2b_test '429 rate limit: Retry-After as an HTTP date' '
	make_ws ws &&
	when=$(python3 -c "import email.utils, time
print(email.utils.formatdate(time.time() + 3, usegmt=True))") &&
	set_faults "[{\"route\": \"POST /sandboxes\", \"kind\": \"rate_limit\",
		\"retry_after\": \"$when\"}]" &&
	e2b run --workspace ws --changes ch "echo ok" >out 2>err &&
	state_check "
r = first(\"POST /sandboxes\")
assert [x[\"status\"] for x in r] == [429, 201], r
gap = r[1][\"start\"] - r[0][\"end\"]
assert gap >= 1.5, \"retried after %.3f s\" % gap"
'

e2b_test '429 quota: bounded retries, then a clear error' '
	make_ws ws &&
	set_faults "[{\"route\": \"POST /sandboxes\", \"kind\": \"quota\",
		\"count\": -1}]" &&
	test_must_fail e2b run --workspace ws --changes ch "echo ok" \
		>out 2>err &&
	test_grep "HTTP 429: you have reached the maximum number of concurrent E2B sandboxes" err &&
	test_grep "gave up after 4 tries" err &&
	state_check "assert count(\"POST /sandboxes\") == 4, count(\"POST /sandboxes\")"
'

e2b_test '500 on the next requests: retried, then success' '
	make_ws ws &&
	set_faults "[{\"route\": \"POST /sandboxes\", \"kind\": \"status\",
		\"status\": 500, \"count\": 2},
		{\"route\": \"POST /process.Process/Start\", \"kind\": \"status\",
		\"status\": 503, \"count\": 1, \"match\": \"marker\"},
		{\"route\": \"GET /files\", \"kind\": \"status\", \"status\": 502,
		\"count\": 1}]" &&
	e2b run --workspace ws --changes ch "echo marker; echo x >a.txt" \
		>out 2>err &&
	test_grep "^marker$" out &&
	test_grep "^change: M file a.txt .* pulled=1$" out &&
	state_check "
assert count(\"POST /sandboxes\", 500) == 2, reqs
assert count(\"POST /process.Process/Start\", 503) == 1
assert count(\"GET /files\", 502) == 1"
'

e2b_test '500 forever: a clear failure after bounded retries' '
	make_ws ws &&
	set_faults "[{\"route\": \"POST /sandboxes\", \"kind\": \"status\",
		\"status\": 500, \"count\": -1, \"message\": \"database down\"}]" &&
	test_must_fail e2b run --workspace ws --changes ch "echo ok" \
		>out 2>err &&
	test_grep "POST /sandboxes: HTTP 500: database down (gave up after 4 tries)" err &&
	state_check "assert count(\"POST /sandboxes\") == 4"
'

e2b_test 'a server that echoes the key in an error cannot make us print it' '
	make_ws ws &&
	set_faults "[{\"route\": \"POST /sandboxes\", \"kind\": \"status\",
		\"status\": 400, \"count\": -1,
		\"message\": \"bad key $CANARY given\"}]" &&
	test_must_fail e2b run --workspace ws --changes ch "echo ok" \
		>out 2>err &&
	test_grep "HTTP 400: bad key \*\*\* given" err &&
	! grep -r "$CANARY" out err
'

e2b_test 'a hanging request: the total timeout fires' '
	make_ws ws &&
	set_faults "[{\"route\": \"POST /sandboxes\", \"kind\": \"hang\"}]" &&
	start=$(date +%s) &&
	RUNNER_E2B_REQUEST_TIMEOUT=1s test_must_fail e2b run --workspace ws \
		--changes ch "echo ok" >out 2>err &&
	end=$(date +%s) &&
	test $((end - start)) -le 4 &&
	test_grep "POST /sandboxes: timed out" err &&
	test_grep "RUNNER_E2B_REQUEST_TIMEOUT" err
'

e2b_test 'a hanging upload: the transfer timeout fires, the sandbox is killed' '
	make_ws ws &&
	set_faults "[{\"route\": \"POST /files\", \"kind\": \"hang\"}]" &&
	RUNNER_E2B_TRANSFER_TIMEOUT=1s test_must_fail e2b run --workspace ws \
		--changes ch "echo ok" >out 2>err &&
	test_grep "upload (POST /files): timed out" err &&
	state_check "assert count(\"DELETE /sandboxes/*\", 204) == 1"
'

e2b_test 'a dropped stream is reattached and the task finishes' '
	make_ws ws &&
	set_faults "[{\"route\": \"POST /process.Process/Start\",
		\"kind\": \"drop\", \"after_ms\": 700, \"match\": \"marker\"}]" &&
	e2b run --workspace ws --changes ch "echo marker; sleep 1.5
		echo after >a.txt; echo end; exit 4" >out 2>err &&
	test_grep "^marker$" out &&
	test_grep "output stream from the e2b sandbox broke; reattached" out &&
	test_grep "^end$" out &&
	test_grep "^status: exit=4 signal=0 " out &&
	test_grep "^change: M file a.txt " out &&
	state_check "assert count(\"POST /process.Process/Connect\") == 1"
'

e2b_test 'a sandbox that dies mid-task: a clear error' '
	make_ws ws &&
	set_faults "[{\"route\": \"POST /process.Process/Start\",
		\"kind\": \"die\", \"after_ms\": 500, \"match\": \"marker\"}]" &&
	test_must_fail e2b run --workspace ws --changes ch \
		"echo marker; sleep 5" >out 2>err &&
	sbx=$(sed -n "s/^e2b-tool: sandbox //p" err) &&
	test_grep "error: sandbox $sbx died during the task" err &&
	state_check "assert d[\"counts\"][\"died\"] == 1"
'

e2b_test 'a slow upload completes (transfers have their own timeout)' '
	make_ws ws &&
	head -c 1000000 /dev/urandom >ws/blob &&
	set_faults "[{\"route\": \"POST /files\", \"kind\": \"slow\",
		\"rate\": 500000, \"count\": 1}]" &&
	start=$(date +%s) &&
	RUNNER_E2B_REQUEST_TIMEOUT=1s e2b run --workspace ws --changes ch \
		"sha256sum blob" >out 2>err &&
	end=$(date +%s) &&
	test $((end - start)) -ge 2 &&
	sha256sum <ws/blob | cut -d" " -f1 >expect &&
	cut -d" " -f1 <out | head -n1 >got &&
	test_cmp expect got
'

e2b_test 'multipart upload for envd older than 0.5.7' '
	make_ws ws &&
	server_config "{\"envd_version\": \"0.5.0\"}" &&
	e2b run --workspace ws --changes ch "cat a.txt; echo y >a.txt" \
		>out 2>err &&
	test_grep "^hello$" out &&
	test_grep "^change: M file a.txt " out
'

e2b_test 'a tree that does not match the manifest is refused, naming the path' '
	make_ws ws &&
	set_faults "[{\"route\": \"POST /process.Process/Start\",
		\"kind\": \"plant\", \"match\": \"tar -xzpf\",
		\"path\": \"/workspace/planted.txt\", \"content\": \"x\"}]" &&
	test_must_fail e2b run --workspace ws --changes ch "echo ok" \
		>out 2>err &&
	test_grep "does not match the snapshot (1 difference): unexpected .planted.txt." err &&
	test_grep -v "^ok$" out
'

e2b_test 'long tasks extend the sandbox timeout' '
	make_ws ws &&
	RUNNER_E2B_MAX_TTL=2s e2b run --workspace ws --changes ch \
		"sleep 4; echo survived" >out 2>err &&
	test_grep "^survived$" out &&
	state_check "
assert count(\"POST /sandboxes/*\") >= 2, \"extended %d times\" % count(\"POST /sandboxes/*\")
assert d[\"counts\"][\"expired\"] == 0"
'

e2b_test 'idle streams are kept alive by keepalives' '
	make_ws ws &&
	RUNNER_E2B_KEEPALIVE=1s e2b run --workspace ws --changes ch \
		"sleep 4.5; echo done" >out 2>err &&
	test_grep "^done$" out &&
	test_grep -v "broke" out &&
	state_check "assert count(\"POST /process.Process/Connect\") == 0"
'

e2b_test 'sandboxes expire at their timeout' '
	curl -sf -X POST -H "X-API-Key: $CANARY" \
		--data "{\"templateID\": \"base\", \"timeout\": 1}" \
		"$URL/sandboxes" >created.json &&
	grep -q sandboxID created.json &&
	sleep 1.5 &&
	state_check "assert d[\"counts\"][\"expired\"] == 1"
'

e2b_test 'the created hook sees the id first; a failing hook kills it' '
	make_ws ws &&
	e2b run --hook --workspace ws --changes ch --run-id R --task-id T \
		"echo ok" >out 2>err &&
	sbx=$(sed -n "s/^e2b-tool: sandbox //p" err) &&
	head -n1 err >first &&
	echo "e2b-tool: created $sbx for R/T#1" >expect &&
	test_cmp expect first &&
	test_must_fail e2b run --hook-fail --workspace ws --changes ch2 \
		"echo ok" >out2 2>err2 &&
	test_grep "error: cannot record the sandbox id" err2 &&
	state_check "assert count(\"DELETE /sandboxes/*\", 204) == 2"
'

e2b_test 'gc helpers: list by metadata (paginated) and kill' '
	for r in a a a b; do
		curl -sf -X POST -H "X-API-Key: $CANARY" --data "{\"templateID\":
			\"base\", \"timeout\": 60, \"metadata\": {\"runner_run\":
			\"$r\"}}" "$URL/sandboxes" >/dev/null || return 1
	done &&
	server_config "{\"page_max\": 2}" &&
	e2b list runner_run=a >ids &&
	test_line_count() { test $(wc -l <"$2") -eq "$1"; } &&
	test_line_count 3 ids &&
	test "$(cut -d" " -f2 ids | sort -u)" = a &&
	e2b list >all && test_line_count 4 all &&
	test "$(grep -c " b$" all)" = 1 &&
	for id in $(cut -d" " -f1 all); do e2b kill "$id" || return 1; done &&
	e2b kill "$(head -n1 ids | cut -d" " -f1)" &&
	e2b list >none && test_line_count 0 none
'

e2b_test 'an unreachable API stops the run before it starts' '
	make_ws ws &&
	E2B_API_URL=http://127.0.0.1:1 test_must_fail e2b run --workspace ws \
		--changes ch "echo ok" >out 2>err &&
	test_grep "cannot use the E2B API at http://127.0.0.1:1 (E2B_API_URL)" err
'

e2b_test 'a file that grows past its listed size is refused; its bytes do not count' '
	make_ws ws &&
	python3 -c "
import io, tarfile, base64
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode=\"w:gz\") as t:
    for name, data in ((\"big.bin\", b\"y\" * 300000), (\"s.txt\", b\"abc\")):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
print(base64.b64encode(buf.getvalue()).decode())" >b64 &&
	set_faults "[{\"route\": \"GET /files\", \"kind\": \"body\",
		\"body_b64\": \"$(cat b64)\"}]" &&
	e2b run --workspace ws --changes ch \
		"head -c 200000 /dev/zero >big.bin; printf abc >s.txt" >out 2>err &&
	test_grep "^change: A file big.bin .* pulled=0 note=could not be read safely$" out &&
	test_grep "^change: A file s.txt size=3 .* pulled=1$" out &&
	test_grep "^changes: 2 pulled=3 refused=1$" out &&
	! test -e ch/big.bin
'

e2b_test 'a hostile download: nothing outside the changes folder, no links' '
	make_ws ws &&
	python3 -c "
import io, tarfile, base64
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode=\"w:gz\") as t:
    def add(name, data=b\"\", **kw):
        ti = tarfile.TarInfo(name)
        for k, v in kw.items():
            setattr(ti, k, v)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    add(\"../evil\", b\"evil\")
    add(\"/abs-evil\", b\"evil\")
    add(\"a.txt\", type=tarfile.SYMTYPE, linkname=\"/etc/passwd\")
    add(\"./b.txt\", b\"\\0\" * 1000000)
    add(\"src\", type=tarfile.DIRTYPE, mode=0o777)
    add(\"notasked\", b\"x\")
    add(\"c.txt\", b\"z\\n\", mode=0o4755)
    add(\"c.txt\", b\"again\\n\")
print(base64.b64encode(buf.getvalue()).decode())" >b64 &&
	set_faults "[{\"route\": \"GET /files\", \"kind\": \"body\",
		\"body_b64\": \"$(cat b64)\"}]" &&
	e2b run --workspace ws --changes ch \
		"echo x >a.txt; echo y >b.txt; echo z >c.txt" >out 2>err &&
	test_grep "^change: M file a.txt .* pulled=0 note=could not be read safely$" out &&
	test_grep "^change: A file b.txt .* pulled=0 note=could not be read safely$" out &&
	test_grep "^change: A file c.txt size=2 .* pulled=1$" out &&
	(cd ch && find . | sort) >got &&
	printf ".\n./c.txt\n" >expect &&
	test_cmp expect got &&
	test "$(stat -c %a ch/c.txt)" = 755 &&
	! test -e evil && ! test -e ../evil && ! test -e /abs-evil
'

e2b_test 'SIGKILL not confirmed: the sandbox itself is killed' '
	make_ws ws &&
	set_faults "[{\"route\": \"POST /process.Process/SendSignal\",
		\"kind\": \"status\", \"status\": 400, \"count\": -1},
		{\"route\": \"POST /process.Process/Start\",
		\"kind\": \"status\", \"status\": 400, \"count\": -1,
		\"match\": \"kill -KILL\"}]" &&
	RUNNER_E2B_KILL_WAIT=1s test_must_fail e2b run --workspace ws \
		--changes ch --timeout 1s --grace 500ms "sleep 30" >out 2>err &&
	test_grep "^status: exit=-1 signal=9 timed_out=1 " out &&
	test_grep "sandbox .* is gone: changes cannot be pulled" err &&
	state_check "
assert count(\"DELETE /sandboxes/*\", 204) == 1
assert count(\"DELETE /sandboxes/*\", 404) == 1"
'

e2b_test 'a sandbox that cannot be killed is reported by destroy' '
	make_ws ws &&
	set_faults "[{\"route\": \"DELETE /sandboxes/*\", \"kind\": \"status\",
		\"status\": 500, \"count\": -1}]" &&
	test_must_fail e2b run --workspace ws --changes ch "echo ok" \
		>out 2>err &&
	test_grep "^ok$" out &&
	test_grep "error: destroy: cannot kill E2B sandbox .*HTTP 500.* (it ends by itself within" err &&
	set_faults "[]" &&
	e2b kill "$(sed -n "s/^e2b-tool: sandbox //p" err)"
'

e2b_test 'a missing E2B_API_KEY is a clear error before any request' '
	make_ws ws &&
	(unset E2B_API_KEY && test_must_fail e2b run --workspace ws \
		--changes ch "echo ok") >out 2>err &&
	test_grep "E2B_API_KEY is not set" err &&
	state_check "assert len(reqs) == 0, reqs"
'

e2b_test 'a wrong key: 401 named as an E2B_API_KEY problem' '
	make_ws ws &&
	E2B_API_KEY=e2b_0123456789abcdef test_must_fail e2b run --workspace ws \
		--changes ch "echo ok" >out 2>err &&
	test_grep "E2B rejected the API key (HTTP 401 on GET /v2/sandboxes): check E2B_API_KEY" err &&
	test_grep -v 0123456789abcdef err
'

e2b_test 'memory stays flat with a big workspace and a big change' '
	mkdir ws &&
	head -c 32000000 /dev/urandom >ws/big &&
	e2b run --rusage --workspace ws --changes ch \
		"cat big big >big2; echo x >>big" >out 2>err &&
	test_grep "^change: M file big size=32000002 .* pulled=1$" out &&
	test_grep "^change: A file big2 size=64000000 .* pulled=1$" out &&
	cat ws/big ws/big | cmp - ch/big2 &&
	rss=$(sed -n "s/.*maxrss_kb=//p" err) &&
	echo "maxrss_kb=$rss" &&
	test "$rss" -lt 40000
'

e2b_test 'the API key never appears in any output of this script' '
	! grep -rl --exclude=server-state.json "$CANARY" "$TRASH_ROOT"/t* \
		"$TRASH_ROOT"/out.* 2>/dev/null
'

test_done
