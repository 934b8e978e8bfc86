#!/bin/sh
# The network allowlist proxy (runner/netproxy.c), standalone:
#   sh tests/bench/netproxy.sh [BUILD_DIR]     (default build; needs
#   BUILD_DIR/tests/test-tool, bwrap, curl, python3)
# Prints "name value unit" lines:
#   - a 200 MB download from a loopback server, by curl on the host
#     directly and by curl in a sandbox through the proxy (best of 3
#     each, curl's own transfer time), and their ratio;
#   - the proxy's process peak RSS with 1 connection and with 50
#     concurrent ones (each reading slowly, so every buffer is full);
#   - the same through `runner exec` (BUILD_DIR/runner), a task with
#     network: [127.0.0.1:PORT]: the download's time against the direct
#     one, and runner's own peak RSS with 1 and 50 connections.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
tool=$build/tests/test-tool
[ -x "$tool" ] || { echo "netproxy.sh: no $tool (make $build/tests/test-tool)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/runner-bench-np.XXXXXX")
spid=""
trap '[ -n "$spid" ] && kill $spid 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
best() { printf "%s\n" "$@" | sort -n | head -n 1; }

head -c 200000000 /dev/zero >blob
head -c 20000000 /dev/zero >blob20
# A server that is not the bottleneck: sendfile(2) per connection.
python3 - <<'EOF' &
import os, socket, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(128)
open("port.tmp", "w").write(str(s.getsockname()[1]))
os.rename("port.tmp", "port")
def serve(c):
    try:
        req = b""
        while b"\r\n\r\n" not in req:
            d = c.recv(4096)
            if not d:
                return
            req += d
        name = req.split(b" ")[1].rsplit(b"/", 1)[-1].decode()
        with open(name, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                      b"Connection: close\r\n\r\n" % size)
            c.sendfile(f)
    except OSError:
        pass
    finally:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
spid=$!
while [ ! -s port ]; do sleep 0.1; done
port=$(cat port)
url=http://127.0.0.1:$port

direct="" proxied=""
for i in 1 2 3; do
	direct="$direct $(curl -s -o /dev/null -w '%{time_total}' "$url/blob")"
	proxied="$proxied $("$tool" netproxy-run --allow 127.0.0.1:$port \
		"curl -s -o /dev/null -w '%{time_total}' $url/blob" 2>/dev/null)"
done
d=$(best $direct)
p=$(best $proxied)
echo "netproxy_200mb_direct_loopback $d s"
echo "netproxy_200mb_through_proxy $p s"
echo "netproxy_200mb_direct_rate $(awk -v t="$d" 'BEGIN { printf "%.0f", 200 / t }') MB/s"
echo "netproxy_200mb_proxy_rate $(awk -v t="$p" 'BEGIN { printf "%.0f", 200 / t }') MB/s"
echo "netproxy_200mb_ratio_proxy_over_direct $(ratio "$p" "$d") x"

rss() { sed -n 's/.*maxrss_kb=\([0-9]*\).*/\1/p' "$1"; }
"$tool" netproxy-run --allow 127.0.0.1:$port \
	"curl -fsS --limit-rate 5M -o /dev/null $url/blob20" >/dev/null 2>one
# 50 at once, each reading at 5 MB/s (4 s): the server fills every
# buffer on the way, so this is the proxy's worst case for memory.
"$tool" netproxy-run --allow 127.0.0.1:$port \
	"i=0
	 while [ \$i -lt 50 ]; do
		curl -fsS --limit-rate 5M -o /dev/null $url/blob20 &
		i=\$((i + 1))
	 done
	 wait" >/dev/null 2>fifty
grep -q "forwarded=50 failed=0" fifty || { cat fifty >&2; exit 1; }
echo "netproxy_1_conn_peak_rss $(rss one) KiB"
echo "netproxy_50_conns_peak_rss $(rss fifty) KiB"
echo "netproxy_50_conns_peak_connections $(sed -n 's/.* peak=\([0-9]*\).*/\1/p' fifty) conns"
echo "netproxy_50_conns_rss_per_conn $(awk -v a="$(rss fifty)" -v b="$(rss one)" 'BEGIN { printf "%.0f", (a - b) / 49 }') KiB"

runner=$build/runner
[ -x "$runner" ] || exit 0
# exec_plan NAME SCRIPT: NAME.yaml, one task running SCRIPT in ws-NAME
# with the loopback server listed.
exec_plan() {
	mkdir -p "ws-$1"
	printf '%s\n' "$2" >"ws-$1/job.sh"
	printf 'version: 1\nname: %s\nbackend:\n  network: [127.0.0.1:%s]\n' "$1" "$port" >"$1.yaml"
	printf 'defaults:\n  workspace: ws-%s\n  timeout: 5m\ntasks:\n  - id: job\n    run: sh job.sh\n' "$1" >>"$1.yaml"
}
exec_log() { cat "st-$1"/runs/*/tasks/job/output.log; }
exec_plan dl "curl -fsS -o /dev/null -w '%{time_total}' $url/blob"
viaexec=""
for i in 1 2 3; do
	rm -rf st-dl
	"$runner" exec dl.yaml --state st-dl --quiet >/dev/null
	viaexec="$viaexec $(exec_log dl)"
done
e=$(best $viaexec)
echo "netproxy_exec_200mb_through_proxy $e s"
echo "netproxy_exec_200mb_proxy_rate $(awk -v t="$e" 'BEGIN { printf "%.0f", 200 / t }') MB/s"
echo "netproxy_exec_200mb_ratio_proxy_over_direct $(ratio "$e" "$d") x"
exec_plan one "curl -fsS --limit-rate 5M -o /dev/null $url/blob20"
exec_plan fifty "i=0
while [ \$i -lt 50 ]; do
	curl -fsS --limit-rate 5M -o /dev/null $url/blob20 &
	i=\$((i + 1))
done
wait"
r1=$(python3 "$top/tests/bench/measure.py" "$runner" exec one.yaml --state st-one --quiet)
r50=$(python3 "$top/tests/bench/measure.py" "$runner" exec fifty.yaml --state st-fifty --quiet)
rss1=$(echo "$r1" | cut -d" " -f2)
rss50=$(echo "$r50" | cut -d" " -f2)
echo "netproxy_exec_1_conn_runner_peak_rss $rss1 KiB"
echo "netproxy_exec_50_conns_runner_peak_rss $rss50 KiB"
echo "netproxy_exec_50_conns_wall $(echo "$r50" | cut -d" " -f1) s"
echo "netproxy_exec_50_conns_rss_per_conn $(awk -v a="$rss50" -v b="$rss1" 'BEGIN { printf "%.0f", (a - b) / 49 }') KiB"
