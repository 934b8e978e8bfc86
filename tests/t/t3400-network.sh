#!/bin/sh
# backend.network through `runner exec` (local backend, bubblewrap):
# false (no network), or a list of destinations reached through the
# run's proxy (runner/netproxy.c) and nothing else; what the proxy
# refused is a network_blocked event, shown by `show`, the report and
# --json. The proxy itself is t3200's (test-tool netproxy-run).
. "$(dirname "$0")/lib.sh"
. "$RUNNER_TOP/tests/t/lib-agents.sh"

# serve_http: a threaded HTTP server on host 127.0.0.1 serving ./site
# (its file page holds "page-from-host"); sets HTTP_PORT, stopped with
# the test.
serve_http() {
	mkdir -p site &&
	echo page-from-host >site/page &&
	rm -f port &&
	{ python3 -c '
import functools, http.server, os
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
    functools.partial(Quiet, directory="site"))
with open("port.tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename("port.tmp", "port")
srv.serve_forever()
' & } &&
	echo $! >>pids &&
	trap 'kill $(cat "$TRASH/pids") 2>/dev/null || :' EXIT &&
	test_wait_for 10 "test -s port" &&
	HTTP_PORT=$(cat port)
}

# serve_greeter: a TCP service on host 127.0.0.1 that greets and closes
# (a host loopback service nobody listed); sets GREET_PORT.
serve_greeter() {
	rm -f gport &&
	{ python3 -c '
import os, socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
with open("gport.tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename("gport.tmp", "gport")
while True:
    c, _ = s.accept()
    c.sendall(b"hello-from-host\n")
    c.close()
' & } &&
	echo $! >>pids &&
	trap 'kill $(cat "$TRASH/pids") 2>/dev/null || :' EXIT &&
	test_wait_for 10 "test -s gport" &&
	GREET_PORT=$(cat gport)
}

# A port nothing listens on (bound, then released).
free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# net_plan NETWORK [TIMEOUT]: plan.yaml with backend.network: NETWORK
# and one task, probe, running ws/probe.sh (which the test writes).
net_plan() {
	mkdir -p ws &&
	cat >plan.yaml <<-EOF
	version: 1
	name: network
	backend:
	  type: local
	  isolation: sandbox
	  network: $1
	defaults:
	  workspace: ws
	  timeout: ${2:-1m}
	tasks:
	  - id: probe
	    run: sh probe.sh
	EOF
}

# The run's only id, and the task's output.
run_id() { ls st/runs; }
task_log() { cat "st/runs/$(run_id)/tasks/probe/output.log"; }

test_have_prereq BWRAP && test_have_prereq PYTHON3 &&
	test_have_prereq CURL && NET=BWRAP || NET=NETWORK_TOOLS_MISSING
test_have_prereq CLAUDE && NET_CLAUDE=$NET || NET_CLAUDE=CLAUDE
# This host's name, when it resolves to loopback (Debian's /etc/hosts).
HOSTNAME_LO=$(hostname 2>/dev/null)
case "$(getent hosts "$HOSTNAME_LO" 2>/dev/null)" in
127.*) NET_HOSTNAME=$NET ;;
*) NET_HOSTNAME=HOSTNAME_RESOLVING_TO_LOOPBACK ;;
esac

test_expect_success 'validate: each bad entry of the list at its line and column' '
	mkdir ws &&
	cat >plan.yaml <<-\EOF &&
	version: 1
	name: n
	backend:
	  network:
	    - api.anthropic.com:443
	    - api.anthropic.com
	    - "*"
	    - 443
	    - "*.com:443"
	    - a.example:99999
	    - "*.pkg.example.org:443"
	    - 127.0.0.1:8080
	defaults:
	  workspace: ws
	tasks:
	  - id: t
	    run: "true"
	EOF
	test_expect_code 2 runner validate plan.yaml 2>err &&
	cat >expect <<-\EOF &&
	plan.yaml:6:7: backend.network: '"'"'api.anthropic.com'"'"': missing port (write api.anthropic.com:443)
	plan.yaml:7:7: backend.network: '"'"'*'"'"': a wildcard needs a domain (*.example.org:443); network: true is the whole network
	plan.yaml:8:7: backend.network: expected a host:port string, found '"'"'443'"'"' (quote it to make it a string)
	plan.yaml:9:7: backend.network: '"'"'*.com:443'"'"': the wildcard covers a whole top-level domain
	plan.yaml:10:7: backend.network: '"'"'a.example:99999'"'"': bad port '"'"'99999'"'"' (1-65535)
	EOF
	test_cmp expect err
'

test_expect_success 'validate: a list needs a sandbox, and on e2b what E2B can say; no empty list' '
	mkdir ws &&
	printf "version: 1\nname: n\nbackend:\n  isolation: none\n  network: [a.example:443]\ndefaults:\n  workspace: ws\ntasks:\n  - id: t\n    run: x\n" >none.yaml &&
	printf "version: 1\nname: n\nbackend:\n  type: e2b\n  network: [a.example:22]\ndefaults:\n  workspace: ws\ntasks:\n  - id: t\n    run: x\n" >e2b.yaml &&
	printf "version: 1\nname: n\nbackend:\n  network: []\ndefaults:\n  workspace: ws\ntasks:\n  - id: t\n    run: x\n" >empty.yaml &&
	printf "version: 1\nname: n\nbackend:\n  network: some\ndefaults:\n  workspace: ws\ntasks:\n  - id: t\n    run: x\n" >str.yaml &&
	test_expect_code 2 runner validate none.yaml e2b.yaml empty.yaml str.yaml 2>err &&
	cat >expect <<-\EOF &&
	none.yaml:5:12: backend.network: a list of destinations needs isolation: sandbox (with isolation: none the task has the host'"'"'s network)
	e2b.yaml:5:13: backend.network: on e2b: '"'"'a.example:22'"'"': E2B matches a name only on ports 80 and 443 (by the HTTP Host and the TLS SNI); list the address (a.b.c.d:22)
	empty.yaml:4:12: backend.network: an empty list allows nothing (write false)
	str.yaml:4:12: backend.network: expected true, false or a list of host:port, found '"'"'some'"'"'
	EOF
	test_cmp expect err
'

test_expect_success 'validate warns that network: true exposes the host loopback' '
	net_plan true &&
	runner validate plan.yaml >out 2>err &&
	echo "plan.yaml: ok (1 task)" >expect &&
	test_cmp expect out &&
	test_grep "^runner: warning: plan.yaml:6:12: backend.network: true gives the tasks the host'"'"'s network, its loopback services included" err &&
	net_plan "[a.example:443]" &&
	runner validate plan.yaml >out 2>err &&
	test_must_fail test -s err
'

test_expect_success $NET 'a curl task reaches what is listed; the rest is refused and reported' '
	serve_http &&
	serve_greeter &&
	unlisted=$(free_port) &&
	net_plan "[127.0.0.1:$HTTP_PORT, \"*.pkg.example.org:443\"]" &&
	cat >ws/probe.sh <<-EOF &&
	env | grep -i _proxy= | sort
	curl -sS -m 10 http://127.0.0.1:$HTTP_PORT/page
	curl -sS -m 10 -p -o /dev/null http://127.0.0.1:$HTTP_PORT/page && echo tunnel-ok
	curl -sS -m 10 http://127.0.0.1:$unlisted/ ; echo "unlisted-port rc=\$?"
	curl -sS -m 10 https://unlisted.example/ ; echo "unlisted-name rc=\$?"
	curl -sS -m 10 https://unlisted.example/ ; echo "again rc=\$?"
	curl -sS -m 10 -p telnet://127.0.0.1:$GREET_PORT </dev/null ; echo "host-service rc=\$?"
	curl -sS -m 10 --noproxy "*" http://127.0.0.1:$GREET_PORT/ ; echo "direct rc=\$?"
	EOF
	runner exec plan.yaml --state st --json >events.jsonl 2>err &&
	task_log >log &&
	test_grep "^HTTPS_PROXY=http://127.0.0.1:3128$" log &&
	test_grep "^https_proxy=http://127.0.0.1:3128$" log &&
	test_grep "^HTTP_PROXY=http://127.0.0.1:3128$" log &&
	test_grep "^ALL_PROXY=http://127.0.0.1:3128$" log &&
	test_grep "^NO_PROXY=$" log &&
	test_grep "^page-from-host$" log &&
	test_grep "^tunnel-ok$" log &&
	test_grep "^runner: 127.0.0.1:$unlisted is not in the task" log &&
	test_grep "^unlisted-name rc=56$" log &&
	test_grep "^host-service rc=56$" log &&
	test_grep "^direct rc=7$" log &&
	test_grep -v hello-from-host log &&
	# --json: one network_blocked event per refused destination
	grep "\"event\":\"network_blocked\"" events.jsonl |
		sed "s/.*\"task_id\":\"\([^\"]*\)\".*\"message\":\"\([^\"]*\)\".*/\1 \2/" >blocked &&
	cat >expect <<-EOF &&
	probe blocked: 127.0.0.1:$unlisted, 1 time
	probe blocked: unlisted.example:443, 2 times
	probe blocked: 127.0.0.1:$GREET_PORT, 1 time
	EOF
	test_cmp expect blocked &&
	# show: the task, and the run
	runner show --state st "$(run_id)" probe >show &&
	sed -n "/^network:/,/^changes:/p" show >got &&
	cat >expect <<-EOF &&
	network:  blocked: 127.0.0.1:$unlisted, 1 time
	          blocked: unlisted.example:443, 2 times
	          blocked: 127.0.0.1:$GREET_PORT, 1 time
	changes:
	EOF
	test_cmp expect got &&
	runner show --state st "$(run_id)" >show &&
	test_grep "^network:  probe: blocked: 127.0.0.1:$unlisted, 1 time$" show &&
	test_grep "^          probe: blocked: unlisted.example:443, 2 times$" show &&
	# the report
	runner report --state st "$(run_id)" -o report.html &&
	test_grep "blocked: unlisted.example:443, 2 times" report.html &&
	test_grep "blocked: 127.0.0.1:$GREET_PORT, 1 time" report.html
'

test_expect_success $NET_HOSTNAME 'a listed name that resolves to loopback is refused, unless its address is listed too' '
	serve_http &&
	net_plan "[$HOSTNAME_LO:$HTTP_PORT]" &&
	cat >ws/probe.sh <<-EOF &&
	curl -sS -f -m 10 http://$HOSTNAME_LO:$HTTP_PORT/page ; echo "by-name rc=\$?"
	EOF
	runner exec plan.yaml --state st >out 2>err &&
	task_log >log &&
	test_grep "^by-name rc=22$" log &&
	test_grep -v page-from-host log &&
	runner show --state st "$(run_id)" probe >show &&
	test_grep "^network:  blocked: $HOSTNAME_LO:$HTTP_PORT (resolves to a loopback address), 1 time$" show &&
	rm -r st &&
	net_plan "[$HOSTNAME_LO:$HTTP_PORT, 127.0.0.1:$HTTP_PORT]" &&
	runner exec plan.yaml --state st >out 2>err &&
	task_log >log &&
	test_grep "^page-from-host$" log &&
	test_grep "^by-name rc=0$" log
'

test_expect_success $NET 'network: false: nothing is reachable, no proxy is set' '
	serve_http &&
	serve_greeter &&
	net_plan false &&
	cat >ws/probe.sh <<-EOF &&
	env | grep -ci _proxy=
	curl -sS -m 5 http://127.0.0.1:$HTTP_PORT/page ; echo "http rc=\$?"
	curl -sS -m 5 -x http://127.0.0.1:3128 http://127.0.0.1:$HTTP_PORT/page ; echo "via-3128 rc=\$?"
	curl -sS -m 5 telnet://127.0.0.1:$GREET_PORT </dev/null ; echo "host-service rc=\$?"
	EOF
	runner exec plan.yaml --state st --json >events.jsonl 2>err &&
	task_log >log &&
	test_grep "^0$" log &&
	test_grep "^http rc=7$" log &&
	test_grep "^via-3128 rc=7$" log &&
	test_grep "^host-service rc=7$" log &&
	test_grep -v page-from-host log &&
	test_grep -v hello-from-host log &&
	test_grep -v network_blocked events.jsonl
'

# hold_server: on host 127.0.0.1, accepts one connection, sends a byte
# every 50 ms, and writes "closed" to ./closed once sending fails or the
# peer closed; sets HOLD_PORT.
hold_server() {
	rm -f hport &&
	{ python3 -c '
import os, socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(4)
with open("hport.tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename("hport.tmp", "hport")
c, _ = s.accept()
open("accepted", "w").write("accepted\n")
c.settimeout(0.05)
try:
    while True:
        c.send(b"x")
        try:
            if c.recv(1) == b"":
                break
        except socket.timeout:
            pass
except OSError:
    pass
open("closed", "w").write("closed\n")
' & } &&
	echo $! >>pids &&
	trap 'kill $(cat "$TRASH/pids") 2>/dev/null || :' EXIT &&
	test_wait_for 10 "test -s hport" &&
	HOLD_PORT=$(cat hport)
}

test_expect_success $NET 'every connection of the task closes when it ends (here by its timeout)' '
	hold_server &&
	net_plan "[127.0.0.1:$HOLD_PORT]" 10s &&
	cat >ws/probe.sh <<-EOF &&
	curl -sS -m 60 -p -o /dev/null telnet://127.0.0.1:$HOLD_PORT </dev/null
	EOF
	test_expect_code 1 runner exec plan.yaml --state st >out 2>err &&
	test_grep "timed_out" out &&
	test -s accepted &&
	test_wait_for 5 "test -s closed"
'

test_expect_success $NET_CLAUDE 'the real Claude Code reaches its listed model server; its other requests are refused and reported' '
	serve_greeter &&
	unlisted=$(free_port) &&
	cat >scenario.json <<-EOF &&
	{"turns": [
	  {"text_before": "Probing the network.", "tool": "Bash",
	   "input": {"command": "curl -sS -m 5 http://127.0.0.1:$unlisted/; curl -sS -m 5 https://unlisted.example/; curl -sS -m 5 -p telnet://127.0.0.1:$GREET_PORT </dev/null; echo probes-done",
	             "description": "Probe the network"}},
	  {"text": "NET-DONE"}
	]}
	EOF
	start_server anthropic "$PWD/scenario.json" &&
	mkdir ws &&
	echo hello >ws/hello.txt &&
	cat >plan.yaml <<-EOF &&
	version: 1
	name: network-claude
	backend:
	  type: local
	  isolation: sandbox
	  network: [127.0.0.1:$PORT]
	defaults:
	  workspace: ws
	  timeout: 3m
	  secrets: [ANTHROPIC_API_KEY]
	  env:
	    ANTHROPIC_BASE_URL: http://127.0.0.1:$PORT
	    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1"
	tasks:
	  - id: probe
	    run: claude -p --dangerously-skip-permissions --output-format stream-json --verbose "Probe the network"
	EOF
	ANTHROPIC_API_KEY=sk-ant-test-key-0123456789 \
		runner exec plan.yaml --state st --json >events.jsonl 2>err &&
	task_log >log &&
	python3 "$MS/check.py" claude-result log >result &&
	test_grep "^subtype=\"success\"$" result &&
	test_grep "NET-DONE" result &&
	python3 "$MS/check.py" tool-results requests.jsonl >tools &&
	test_grep "probes-done" tools &&
	test_grep "127.0.0.1:$unlisted is not in the task" tools &&
	test_grep "CONNECT tunnel failed, response 403" tools &&
	test_grep -v hello-from-host tools &&
	grep "\"event\":\"network_blocked\"" events.jsonl >blocked &&
	test_grep "blocked: 127.0.0.1:$unlisted, 1 time" blocked &&
	test_grep "blocked: unlisted.example:443, 1 time" blocked &&
	test_grep "blocked: 127.0.0.1:$GREET_PORT, 1 time" blocked &&
	test_grep -v "127.0.0.1:$PORT" blocked &&
	kill $(cat pids) &&
	runner show --state st "$(run_id)" probe >show &&
	test_grep "^network:  blocked: 127.0.0.1:$unlisted, 1 time$" show
'

test_done
