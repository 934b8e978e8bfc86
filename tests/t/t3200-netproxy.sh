#!/bin/sh
# The network allowlist proxy end to end, through `test-tool netproxy-run`:
# a command under bubblewrap with its own empty network namespace, whose
# only way out is the proxy on the host (reached on the sandbox's own
# 127.0.0.1:3128, a listener the in-sandbox helper handed over). What is
# listed is reached (plain HTTP and CONNECT); what is not is refused and
# counted; nothing bypasses the proxy; memory stays bounded under load;
# every connection closes with the task.
. "$(dirname "$0")/lib.sh"

# np ARGS... SCRIPT: netproxy-run, stdout to out, stderr to err.
np() {
	"$TEST_TOOL" netproxy-run "$@" >out 2>err
}

# serve KIND DIR: a threaded HTTP (KIND http) or HTTPS (KIND https, a
# self-signed certificate) server on host 127.0.0.1 serving DIR, each
# answer SERVE_DELAY seconds late; sets PORT and SERVER_PID.
serve() {
	rm -f port &&
	python3 - "$1" "$2" <<-\EOF &
	import functools, http.server, os, ssl, sys, time
	kind, root = sys.argv[1], sys.argv[2]
	delay = float(os.environ.get("SERVE_DELAY", "0"))
	class Quiet(http.server.SimpleHTTPRequestHandler):
	    def log_message(self, *a):
	        pass
	    def do_GET(self):
	        time.sleep(delay)
	        super().do_GET()
	class Server(http.server.ThreadingHTTPServer):
	    request_queue_size = 128
	h = functools.partial(Quiet, directory=root)
	srv = Server(("127.0.0.1", 0), h)
	srv.daemon_threads = True
	if kind == "https":
	    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
	    ctx.load_cert_chain("cert.pem", "key.pem")
	    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
	with open("port.tmp", "w") as f:
	    f.write(str(srv.server_address[1]))
	os.rename("port.tmp", "port")
	srv.serve_forever()
	EOF
	SERVER_PID=$! &&
	test_wait_for 10 "test -s port" &&
	PORT=$(cat port)
}

# serve_loopback: a TCP server on host 127.0.0.1 that greets and closes;
# sets PORT and SERVER_PID (t3000's).
serve_loopback() {
	rm -f port &&
	python3 -c '
import os, socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
with open("port.tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename("port.tmp", "port")
while True:
    c, _ = s.accept()
    c.sendall(b"hello-from-host\n")
    c.close()
' &
	SERVER_PID=$! &&
	test_wait_for 10 "test -s port" &&
	PORT=$(cat port)
}

make_cert() {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem \
		-out cert.pem -days 1 -subj /CN=localhost 2>/dev/null
}

# A port nothing listens on (bound, then released).
free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# stat NAME: a field of the stats line in err.
stat() {
	grep "^connections=" err | tr " " "\n" | sed -n "s/^$1=//p"
}

test_have_prereq PYTHON3 && test_have_prereq CURL && test_have_prereq OPENSSL &&
	NETPROXY=BWRAP || NETPROXY=NETPROXY_TOOLS_MISSING
# lib.sh takes one prerequisite: this one needs the above and claude.
test_have_prereq CLAUDE && NP_CLAUDE=$NETPROXY || NP_CLAUDE=CLAUDE

test_expect_success $NETPROXY 'a listed loopback HTTP server is reached' '
	mkdir www &&
	head -c 8388608 /dev/urandom >www/blob &&
	want=$(sha256sum <www/blob | cut -d" " -f1) &&
	serve http www &&
	np --allow 127.0.0.1:$PORT \
		"curl -fsS http://127.0.0.1:$PORT/blob | sha256sum" &&
	kill $SERVER_PID &&
	echo "$want  -" >expect &&
	test_cmp expect out &&
	test_grep "^exit=0 " err &&
	test "$(stat forwarded)" = 1 &&
	test "$(stat bytes_in)" -gt 8388608 &&
	test_grep -v "^refused" err
'

test_expect_success $NETPROXY 'HTTPS through CONNECT, by address and by localhost' '
	mkdir www && echo secret-page >www/index.html &&
	make_cert &&
	serve https www &&
	np --allow 127.0.0.1:$PORT --allow localhost:$PORT \
		"curl -fsSk https://127.0.0.1:$PORT/ &&
		 curl -fsSk https://localhost:$PORT/" &&
	kill $SERVER_PID &&
	printf "secret-page\nsecret-page\n" >expect &&
	test_cmp expect out &&
	test "$(stat forwarded)" = 2
'

test_expect_success $NETPROXY 'what is not listed is refused, counted and reported' '
	mkdir www && echo page >www/index.html &&
	serve http www &&
	other=$(free_port) &&
	np --allow 127.0.0.1:$PORT --allow rebind.example:$other \
		--allow "*.pkg.example:443" \
		--resolve rebind.example=127.0.0.1 \
		--resolve evil.pkg.example=10.0.0.7,::1 \
		"for i in 1 2 3; do
			curl -sS -o /dev/null -w \"%{http_code}\n\" \
				http://127.0.0.1:$other/
		 done
		 curl -sS -o /dev/null -w \"%{http_code}\n\" http://example.org/
		 curl -sSk https://example.org/ 2>&1 | sed \"s/.*response /connect /\"
		 curl -sSk https://rebind.example:$other/ 2>&1 |
			sed \"s/.*response /connect /\"
		 curl -sSk https://evil.pkg.example/ 2>&1 |
			sed \"s/.*response /connect /\"
		 curl -fsS http://127.0.0.1:$PORT/" &&
	kill $SERVER_PID &&
	cat >expect <<-EOF &&
	403
	403
	403
	403
	connect 403
	connect 403
	connect 403
	page
	EOF
	test_cmp expect out &&
	grep "^event" err >events &&
	cat >expect <<-EOF &&
	event blocked: 127.0.0.1:$other, 3 times
	event blocked: example.org:80, 1 time
	event blocked: example.org:443, 1 time
	event blocked: rebind.example:$other (resolves to a loopback address), 1 time
	event blocked: evil.pkg.example:443 (resolves to a private address), 1 time
	EOF
	test_cmp expect events &&
	test "$(stat forwarded)" = 1
'

test_expect_success $NETPROXY 'a host loopback service is reachable only through the proxy, and only listed' '
	serve_loopback &&
	np --allow example.org:443 \
		"curl -sS --noproxy \"*\" -m 5 telnet://127.0.0.1:$PORT </dev/null
		 echo direct=\$?
		 curl -sS -m 5 -p telnet://127.0.0.1:$PORT </dev/null 2>&1 |
			sed \"s/.*response /connect /\"
		 python3 -c \"import socket
try:
    socket.create_connection((\\\"192.0.2.1\\\", 80), timeout=3)
    print(\\\"connected\\\")
except OSError as e:
    print(\\\"direct\\\", e.errno)\"" &&
	kill $SERVER_PID &&
	test_grep "^direct=7" out &&
	test_grep "^connect 403" out &&
	test_grep "^direct 101" out &&
	test_grep -v hello-from-host out &&
	test_grep "^event blocked: 127.0.0.1:$PORT, 1 time" err &&
	test "$(stat connections)" = 1
'

test_expect_success $NETPROXY 'without the proxy (network: false) nothing is reachable' '
	mkdir www && echo page >www/index.html &&
	serve http www &&
	np --no-helper --allow 127.0.0.1:$PORT \
		"curl -sS -m 5 http://127.0.0.1:$PORT/ 2>&1; echo rc=\$?
		 curl -sS -m 5 --noproxy \"*\" http://127.0.0.1:$PORT/ 2>&1
		 echo rc=\$?" &&
	kill $SERVER_PID &&
	test_grep "^rc=7" out &&
	test "$(grep -c "^rc=7" out)" = 2 &&
	test_grep -v "^page" out &&
	test_grep "^error=the sandbox did not hand the network proxy" err
'

test_expect_success $NETPROXY 'the task inherits no descriptor and no process of the helper' '
	np --allow example.org:443 \
		"ls /proc/self/fd | sort -n | tr \"\n\" \" \"; echo
		 cat /proc/[0-9]*/comm >/tmp/comm
		 sort /tmp/comm | tr \"\n\" \" \"" &&
	printf "0 1 2 3 \nbwrap sh " >expect &&
	test_cmp expect out
'

test_expect_success $NETPROXY '50 concurrent downloads, memory bounded' '
	mkdir www &&
	head -c 4194304 /dev/urandom >www/blob &&
	want=$(sha256sum <www/blob | cut -d" " -f1) &&
	SERVE_DELAY=3 serve http www &&
	np --allow 127.0.0.1:$PORT \
		"i=0
		 while [ \$i -lt 50 ]; do
			curl -fsS --limit-rate 1M http://127.0.0.1:$PORT/blob |
				sha256sum >/tmp/sum.\$i &
			i=\$((i + 1))
		 done
		 wait
		 cat /tmp/sum.* | sort | uniq -c" &&
	kill $SERVER_PID &&
	echo "     50 $want  -" >expect &&
	test_cmp expect out &&
	test "$(stat forwarded)" = 50 &&
	test "$(stat peak)" = 50 &&
	rss=$(stat maxrss_kb) &&
	# 50 connections x 2 x 64 KiB is 6.4 MiB; 200 MiB went through
	test "$rss" -lt 40000
'

test_expect_success $NETPROXY 'past max-conns connections wait, then all succeed' '
	mkdir www && echo page >www/index.html &&
	serve http www &&
	np --max-conns 3 --allow 127.0.0.1:$PORT \
		"for i in 1 2 3 4 5 6 7 8 9 10; do
			curl -fsS http://127.0.0.1:$PORT/ >/tmp/r.\$i &
		 done
		 wait
		 cat /tmp/r.* | sort | uniq -c" &&
	kill $SERVER_PID &&
	echo "     10 page" >expect &&
	test_cmp expect out &&
	test "$(stat peak)" -le 3
'

test_expect_success $NETPROXY 'under a low descriptor limit the proxy caps its connections' '
	mkdir www && echo page >www/index.html &&
	SERVE_DELAY=1 serve http www &&
	# RLIMIT_NOFILE 96: (96 - 64) / 2 = 16 connections at most
	(
		ulimit -n 96 &&
		np --allow 127.0.0.1:$PORT \
			"for i in \$(seq 30); do
				curl -fsS http://127.0.0.1:$PORT/ >/tmp/r.\$i &
			 done
			 wait
			 cat /tmp/r.* | sort | uniq -c"
	) &&
	kill $SERVER_PID &&
	echo "     30 page" >expect &&
	test_cmp expect out &&
	test "$(stat peak)" = 16
'

# The issue's own case: the real Claude Code in the sandbox, its model
# API a fake server on host loopback that is listed; the model has it
# run curl against an unlisted loopback port, an unlisted name and a
# host loopback service (Claude Code's Bash tool), then ends the turn.
test_expect_success $NP_CLAUDE 'Claude Code reaches a listed loopback model server; its other requests are refused' '
	serve_loopback &&
	greeter=$SERVER_PID gport=$PORT &&
	cat >scenario.json <<-EOF &&
	{"turns": [
	  {"tool": "Bash",
	   "input": {"command": "curl -sS -m 5 http://127.0.0.1:1/; curl -sS -m 5 https://unlisted.example/; curl -sS -m 5 -p telnet://127.0.0.1:$gport </dev/null; echo probes-done",
	             "description": "Probe the network"}},
	  {"text": "FAKE-MODEL-DONE"}
	]}
	EOF
	rm -f port &&
	{ python3 "$RUNNER_TOP/tests/model-server/anthropic.py" scenario.json \
		--port-file port --log requests.jsonl --max-seconds 300 & } &&
	SERVER_PID=$! &&
	test_wait_for 10 "test -s port" &&
	PORT=$(cat port) &&
	np --timeout 120s --allow 127.0.0.1:$PORT \
		--env ANTHROPIC_BASE_URL=http://127.0.0.1:$PORT \
		--env ANTHROPIC_API_KEY=sk-ant-fake \
		--env DISABLE_TELEMETRY=1 --env DISABLE_ERROR_REPORTING=1 \
		--env CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
		--env DISABLE_AUTOUPDATER=1 \
		"claude -p \"run the probe\" --allowedTools Bash \
			--output-format json" &&
	kill $SERVER_PID $greeter &&
	test_grep "\"result\":\"FAKE-MODEL-DONE\"" out &&
	test_grep "\"num_turns\":2" out &&
	test_grep "\"is_error\":false" out &&
	test "$(stat forwarded)" -ge 2 &&
	# the tool ran, and saw the proxy refuse each probe
	python3 "$RUNNER_TOP/tests/model-server/check.py" tool-results \
		requests.jsonl >tools &&
	test_grep "probes-done" tools &&
	test_grep "127.0.0.1:1 is not in the task" tools &&
	test_grep "CONNECT tunnel failed, response 403" tools &&
	test_grep -v hello-from-host tools &&
	test_grep "^event blocked: 127.0.0.1:1, 1 time" err &&
	test_grep "^event blocked: unlisted.example:443, 1 time" err &&
	test_grep "^event blocked: 127.0.0.1:$gport, 1 time" err
'

# hold_server: on host 127.0.0.1, accepts one connection, sends a byte
# every 50 ms, and writes "closed" to the file closed once sending fails
# or the peer closed; sets PORT and SERVER_PID.
hold_server() {
	rm -f port &&
	python3 - <<-\EOF &
	import os, socket, time
	s = socket.socket()
	s.bind(("127.0.0.1", 0))
	s.listen(4)
	with open("port.tmp", "w") as f:
	    f.write(str(s.getsockname()[1]))
	os.rename("port.tmp", "port")
	c, _ = s.accept()
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
	EOF
	SERVER_PID=$! &&
	test_wait_for 10 "test -s port" &&
	PORT=$(cat port)
}

# tunnel_client PORT SECONDS: in the sandbox, open a CONNECT tunnel to
# 127.0.0.1:PORT and hold it SECONDS; prints what happened.
tunnel_client='import socket, sys, time
s = socket.create_connection(("127.0.0.1", 3128))
s.sendall(b"CONNECT 127.0.0.1:%s HTTP/1.1\r\n\r\n" % sys.argv[1].encode())
print(s.recv(39).decode().split("\r\n")[0], flush=True)
s.settimeout(float(sys.argv[2]))
t0 = time.time()
try:
    while s.recv(65536):
        pass
    print("tunnel closed after %d s" % (time.time() - t0), flush=True)
except socket.timeout:
    print("tunnel still open", flush=True)'

test_expect_success $NETPROXY 'every connection closes when the task ends' '
	hold_server &&
	printf "%s\n" "$tunnel_client" >client.py &&
	np --allow 127.0.0.1:$PORT --env "CLIENT=$(cat client.py)" \
		"python3 -c \"\$CLIENT\" $PORT 1 &
		 sleep 2" &&
	test_wait_for 3 "test -s closed" &&
	test_grep "HTTP/1.1 200" out &&
	wait $SERVER_PID
'

test_expect_success $NETPROXY 'an idle tunnel is closed after the idle timeout' '
	hold_server &&
	kill -STOP $SERVER_PID &&
	printf "%s\n" "$tunnel_client" >client.py &&
	np --idle-timeout 1s --allow 127.0.0.1:$PORT \
		--env "CLIENT=$(cat client.py)" \
		"python3 -c \"\$CLIENT\" $PORT 10" &&
	kill -CONT $SERVER_PID &&
	test_grep "HTTP/1.1 200" out &&
	test_grep "tunnel closed after [0-3] s" out &&
	test "$(stat timed_out)" = 1 &&
	test_wait_for 5 "test -s closed"
'

test_done
