#!/bin/sh
# The local sandbox backend end to end, through `test-tool sandbox-run`:
# what a task can see and reach under bubblewrap, its environment, exit
# status, output, timeouts, cancellation, trees and limits; the same for
# isolation: none; and the errors when bubblewrap is missing or broken.
. "$(dirname "$0")/lib.sh"

# sbx ARGS... CMD: sandbox-run with a PATH, stdout to out, stderr to err.
sbx() {
	"$TEST_TOOL" sandbox-run --env PATH=/usr/bin:/bin "$@" >out 2>err
}

# status FIELD: a field of the final status line in err.
status() {
	grep "^exit=" err | tail -n 1 | tr " " "\n" | sed -n "s/^$1=//p"
}

# expect_status exit=N signal=S ...: the status line has those fields.
expect_status() {
	for kv in "$@"; do
		if [ "$(status "${kv%%=*}")" != "${kv#*=}" ]; then
			echo "want $kv in:" >&2
			cat err >&2
			return 1
		fi
	done
}

# The sandbox root is gone once sandbox-run returns, on every path.
no_sandbox_left() {
	if [ -n "$(ls -A state/sandboxes 2>/dev/null)" ]; then
		echo "left in state/sandboxes:" >&2
		ls -la state/sandboxes >&2
		return 1
	fi
}

# between N LO HI: N is an integer within [LO, HI] (an empty or
# non-numeric N fails: "[" then exits 2, which "!" turns into a failure).
between() {
	if ! [ "$1" -ge "$2" ] 2>/dev/null || ! [ "$1" -le "$3" ]; then
		echo "'$1' is not within [$2, $3]" >&2
		return 1
	fi
}

# A live process whose command line is exactly "$*"?
alive() {
	for f in /proc/[0-9]*/cmdline; do
		if [ "$(tr '\0' ' ' < "$f" 2>/dev/null)" = "$* " ]; then
			state=$(sed 's/.*) \(.\).*/\1/' "${f%cmdline}stat" \
				2>/dev/null || true)
			[ "$state" = Z ] || return 0
		fi
	done
	return 1
}

# serve_loopback: a TCP server on host 127.0.0.1 that greets and closes;
# sets PORT and SERVER_PID.
serve_loopback() {
	{ python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
with open("port.tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
import os
os.rename("port.tmp", "port")
while True:
    c, _ = s.accept()
    c.sendall(b"hello-from-host\n")
    c.close()
' & } &&
	SERVER_PID=$! &&
	test_wait_for 5 "test -s port" &&
	PORT=$(cat port)
}

# lib.sh takes one prerequisite: these tests need bwrap and python3.
if test_have_prereq PYTHON3; then BWRAP_PY=BWRAP; else BWRAP_PY=PYTHON3; fi

test_expect_success BWRAP 'exit codes propagate' '
	sbx "exit 3" &&
	expect_status exit=3 signal=0 timed_out=0 &&
	sbx "true" &&
	expect_status exit=0 signal=0 &&
	test_grep "^sandbox=local-test-task-1-" err &&
	no_sandbox_left
'

test_expect_success BWRAP 'a task killed by a signal reports it' '
	sbx "kill -9 \$\$" &&
	expect_status exit=-1 signal=9 timed_out=0 &&
	sbx "kill -TERM \$\$" &&
	expect_status exit=-1 signal=15 &&
	no_sandbox_left
'

test_expect_success BWRAP 'the environment is exactly the one given' '
	export HOST_ONLY_VAR=leak &&
	sbx --env FOO=bar --env "EMPTY=" --env "SP=a b" "env | sort" &&
	cat >expect <<-\EOF &&
	EMPTY=
	FOO=bar
	PATH=/usr/bin:/bin
	PWD=/workspace
	SP=a b
	EOF
	test_cmp expect out
'

test_expect_success BWRAP 'stdout and stderr keep their order' '
	sbx "echo a; echo b >&2; echo c; echo d >&2; printf e" &&
	printf "a\nb\nc\nd\ne" >expect &&
	test_cmp expect out
'

test_expect_success BWRAP 'stdin comes from the given file, else /dev/null' '
	echo "prompt text" >prompt &&
	sbx --stdin prompt "cat" &&
	test_cmp prompt out &&
	sbx "cat; echo end" &&
	echo end >expect &&
	test_cmp expect out
'

test_expect_success 'the task inherits only stdin, stdout and stderr' '
	# test-tool inherits 7 and 8 from us; the task must not.
	exec 7>fd7 8<fd7 &&
	for iso in sandbox none; do
		if [ $iso = sandbox ] && ! test_have_prereq BWRAP; then
			continue
		fi &&
		sbx --isolation $iso "ls /proc/self/fd | sort -n | tr \"\\n\" \" \"" &&
		printf "0 1 2 3 " >expect &&
		test_cmp expect out || return 1
	done
'

test_expect_success BWRAP 'the workspace goes in and changes come back' '
	mkdir ws ws/sub &&
	echo one >ws/a.txt &&
	echo two >ws/sub/b.txt &&
	echo gone >ws/del.txt &&
	sbx --workspace ws --changes changes \
		"pwd; cat a.txt; echo more >>a.txt; echo new >c.txt; rm del.txt" &&
	printf "/workspace\none\n" >expect &&
	test_cmp expect out &&
	test_grep "^change M a.txt" err &&
	test_grep "^change A c.txt" err &&
	test_grep "^change D del.txt" err &&
	test_grep -v "sub/b.txt" err &&
	printf "one\nmore\n" >expect &&
	test_cmp expect changes/a.txt &&
	echo one >expect &&
	test_cmp expect ws/a.txt &&
	no_sandbox_left
'

test_expect_success BWRAP 'the task can write its workspace and nothing else' '
	sbx "echo x >/workspace/ok && echo wrote
	     for d in /usr /etc /bin /; do
		touch \$d/runner-probe 2>/dev/null && echo \"wrote \$d\"
	     done; true" &&
	echo wrote >expect &&
	test_cmp expect out &&
	test ! -e /usr/runner-probe &&
	test ! -e /etc/runner-probe
'

test_expect_success BWRAP 'root is dropped: /etc/shadow cannot be read' '
	if [ "$(id -u)" = 0 ]; then
		test -r /etc/shadow &&
		sbx "id -u; id -g" &&
		printf "65534\n65534\n" >expect &&
		test_cmp expect out
	fi &&
	sbx "cat /etc/shadow" &&
	expect_status exit=1 &&
	test_grep "/etc/shadow: Permission denied" out &&
	sbx "cat /etc/gshadow /root/.bashrc 2>&1; true" &&
	test_grep -v "root:" out
'

test_expect_success BWRAP 'nothing of the host but the system is visible' '
	mkdir ws &&
	echo secret >secret-next-to-ws &&
	expect="dev etc home proc tmp usr workspace" &&
	for d in bin sbin lib lib32 lib64 libx32; do
		if [ -e /$d ] || [ -L /$d ]; then expect="$expect $d"; fi ||
		return 1
	done &&
	echo $expect | tr " " "\n" | sort >expect &&
	sbx --workspace ws "ls -A / | sort" &&
	test_cmp expect out &&
	sbx --workspace ws "ls -A /home; ls -A /home/runner" &&
	echo runner >expect &&
	test_cmp expect out &&
	sbx --workspace ws "for p in /root /work /var /run /srv /opt \
		/mnt /media /sys \"$TRASH\" \"$TRASH/secret-next-to-ws\" \
		/workspace/../secret-next-to-ws; do
		[ -e \"\$p\" ] && echo \"visible: \$p\"; done; true" &&
	if test -s out; then cat out && false; fi &&
	sbx "hostname" &&
	echo runner >expect &&
	test_cmp expect out
'

test_expect_success BWRAP '/tmp is private both ways' '
	host_marker=$(mktemp /tmp/runner-t3000-host.XXXXXX) &&
	leak=/tmp/runner-t3000-leak-$$ &&
	sbx "ls -A /tmp; test ! -e $host_marker && echo hidden;
	     echo x >$leak && echo wrote" &&
	rm -f "$host_marker" &&
	printf "hidden\nwrote\n" >expect &&
	test_cmp expect out &&
	test ! -e $leak
'

test_expect_success $BWRAP_PY 'network off: host loopback is unreachable' '
	serve_loopback &&
	trap "kill $SERVER_PID" EXIT &&
	python3 -c "import socket
socket.create_connection((\"127.0.0.1\", $PORT), 2)" &&
	sbx "bash -c \"exec 3<>/dev/tcp/127.0.0.1/$PORT && cat <&3\" 2>&1;
	     echo rc=\$?" &&
	test_grep "rc=1" out &&
	test_grep -v "hello-from-host" out &&
	mkdir ws &&
	cat >ws/probe.py <<-\EOF &&
	import socket, sys
	try:
	    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)
	    print(s.recv(100).decode(), end="")
	except OSError as e:
	    print("refused:", e)
	EOF
	sbx --workspace ws "python3 probe.py $PORT" &&
	test_grep "^refused:" out
'

test_expect_success $BWRAP_PY 'network on: host loopback is reachable' '
	serve_loopback &&
	trap "kill $SERVER_PID" EXIT &&
	sbx --network "bash -c \"exec 3<>/dev/tcp/127.0.0.1/$PORT && cat <&3\"" &&
	echo hello-from-host >expect &&
	test_cmp expect out
'

test_expect_success $BWRAP_PY 'a memory limit stops a big allocation' '
	sbx "python3 -c \"x = bytearray(200 * 1024 * 1024); print(len(x))\"" &&
	expect_status exit=0 &&
	sbx --memory 64M \
		"python3 -c \"x = bytearray(200 * 1024 * 1024); print(len(x))\"" &&
	expect_status exit=1 &&
	test_grep MemoryError out &&
	sbx --memory 64M "ulimit -v; ulimit -c" &&
	printf "65536\n0\n" >expect &&
	test_cmp expect out
'

test_expect_success BWRAP 'timeout: TERM first' '
	start=$(date +%s%N) &&
	sbx --timeout 1s --grace 5s "sleep 100" &&
	took=$((($(date +%s%N) - start) / 1000000)) &&
	expect_status exit=-1 signal=15 timed_out=1 cancelled=0 &&
	between "$(status duration_ms)" 950 1500 &&
	between $took 950 2500
'

test_expect_success BWRAP 'timeout: KILL after the grace if TERM is ignored' '
	start=$(date +%s%N) &&
	sbx --timeout 1s --grace 1s "trap \"\" TERM; sleep 100; echo survived" &&
	took=$((($(date +%s%N) - start) / 1000000)) &&
	expect_status exit=-1 signal=9 timed_out=1 &&
	between "$(status duration_ms)" 1950 2600 &&
	between $took 1950 3500 &&
	test_grep -v survived out &&
	no_sandbox_left
'

test_expect_success BWRAP 'warn_at fires at its offsets' '
	sbx --warn-at 300ms --warn-at 1s "sleep 1.3" &&
	expect_status exit=0 timed_out=0 &&
	test $(grep -c "^warn " err) = 2 &&
	w1=$(sed -n "s/^warn elapsed_ms=//p" err | sed -n 1p) &&
	w2=$(sed -n "s/^warn elapsed_ms=//p" err | sed -n 2p) &&
	between $w1 300 500 &&
	between $w2 1000 1200
'

test_expect_success BWRAP 'cancel stops a task within the grace' '
	sbx --cancel-after 500ms --grace 1s "sleep 100" &&
	expect_status cancelled=1 timed_out=0 signal=15 &&
	between "$(status duration_ms)" 450 1000 &&
	sbx --cancel-after 500ms --grace 1s "trap \"\" TERM; sleep 100" &&
	expect_status cancelled=1 signal=9 &&
	between "$(status duration_ms)" 1450 2000
'

test_expect_success BWRAP 'kill_now kills at once' '
	sbx --kill-after 300ms --grace 10s "trap \"\" TERM; sleep 100" &&
	expect_status cancelled=1 signal=9 &&
	between "$(status duration_ms)" 250 800
'

test_expect_success BWRAP 'nothing a task started survives it' '
	n1=$((200000 + $$ % 10000)) &&
	n2=$((n1 + 1)) &&
	sbx "setsid nohup sleep $n1 >/dev/null 2>&1 &
	     (sleep $n2 >/dev/null 2>&1 &) ; echo started" &&
	echo started >expect &&
	test_cmp expect out &&
	expect_status exit=0 &&
	if alive sleep $n1 || alive sleep $n2; then
		echo "a daemon survived" >&2 &&
		false
	fi &&
	no_sandbox_left
'

test_expect_success BWRAP 'a timeout kills the whole tree' '
	n=$((210000 + $$ % 10000)) &&
	sbx --timeout 500ms --grace 300ms \
		"sh -c \"trap \\\"\\\" TERM; sleep $n\" & wait" &&
	expect_status timed_out=1 &&
	if alive sleep $n; then echo "survived" >&2 && false; fi
'

test_expect_success BWRAP 'big output streams with bounded memory' '
	sbx --count "head -c 200000000 /dev/zero" &&
	echo bytes=200000000 >expect &&
	test_cmp expect out &&
	rss=$(status maxrss_kb) &&
	between "$rss" 1 100000
'

test_expect_success BWRAP 'a failing output handler stops the task' '
	test_expect_code 1 sbx --fail-output-after 10 \
		"echo 0123456789abcdef; sleep 100" &&
	test_grep "output handler failed" err &&
	no_sandbox_left
'

test_expect_success 'bubblewrap missing: a clear message naming the package' '
	mkdir bin &&
	ln -s /bin/sh bin/sh &&
	(export PATH="$TRASH/bin" && test_expect_code 1 sbx "true") &&
	test_grep "bubblewrap (bwrap) is not installed; install the Debian package .bubblewrap." err &&
	test_grep "backend.isolation: none" err &&
	(export PATH="$TRASH/bin" && test_expect_code 1 sbx --no-check "true") &&
	test_grep "bubblewrap (bwrap) is not installed" err &&
	no_sandbox_left &&
	(export PATH="$TRASH/bin" && sbx --isolation none "echo fine") &&
	echo fine >expect &&
	test_cmp expect out
'

test_expect_success 'no user namespaces: the message says so' '
	# The fake must be reachable by the sandbox user (nobody).
	trap "chmod 700 \"\$TRASH_ROOT\"" EXIT &&
	chmod 711 "$TRASH_ROOT" "$TRASH" &&
	mkdir -m 755 fake &&
	cat >fake/bwrap <<-\EOF &&
	#!/bin/sh
	echo "bwrap: No permissions to create new namespace, likely because the kernel does not allow non-privileged user namespaces." >&2
	exit 1
	EOF
	chmod 755 fake/bwrap &&
	(export PATH="$TRASH/fake:/usr/bin:/bin" &&
	 test_expect_code 1 sbx "true") &&
	test_grep "user namespaces are unavailable" err &&
	test_grep "backend.isolation: none" err &&
	(export PATH="$TRASH/fake:/usr/bin:/bin" &&
	 test_expect_code 1 sbx --no-check "true") &&
	test_grep "cannot start the task in the sandbox: bwrap: No permissions" err &&
	no_sandbox_left
'

test_expect_success BWRAP 'a state directory nobody can reach still works' '
	# Not searchable: the workspace gets mounted elsewhere for bwrap.
	chmod 700 "$TRASH" &&
	mkdir ws &&
	echo in >ws/f &&
	sbx --workspace ws --changes ch "cat f; echo out >g" &&
	echo in >expect &&
	test_cmp expect out &&
	echo out >expect &&
	test_cmp expect ch/g
'

test_expect_success BWRAP 'a state directory nobody can search works' '
	trap "chmod 700 \"\$TRASH_ROOT\"" EXIT &&
	chmod 711 "$TRASH_ROOT" "$TRASH" &&
	mkdir ws &&
	echo in >ws/f &&
	sbx --workspace ws --changes ch "cat f; echo out >g" &&
	echo in >expect &&
	test_cmp expect out &&
	echo out >expect &&
	test_cmp expect ch/g
'

test_expect_success 'isolation none: a plain child in the sandbox folder' '
	mkdir ws &&
	echo data >ws/f &&
	sbx --isolation none --workspace ws --changes ch --env FOO=bar \
		"pwd; env | sort; cat f; echo new >g" &&
	root=$(sed -n "s/^sandbox=local-//p" err) &&
	ws="$(cd state/sandboxes && pwd -P)/$root" &&
	cat >expect <<-EOF &&
	$ws
	FOO=bar
	PATH=/usr/bin:/bin
	PWD=$ws
	data
	EOF
	test_cmp expect out &&
	echo new >expect &&
	test_cmp expect ch/g &&
	no_sandbox_left
'

test_expect_success 'isolation none: status, timeout and the process group' '
	sbx --isolation none "exit 3" &&
	expect_status exit=3 signal=0 &&
	sbx --isolation none "kill -TERM \$\$" &&
	expect_status exit=-1 signal=15 &&
	sbx --isolation none --timeout 500ms --grace 300ms \
		"trap \"\" TERM; sleep 100" &&
	expect_status timed_out=1 signal=9 &&
	n=$((220000 + $$ % 10000)) &&
	sbx --isolation none "nohup sleep $n >/dev/null 2>&1 & echo ok" &&
	if alive sleep $n; then echo "survived" >&2 && false; fi &&
	no_sandbox_left
'

test_done
