#!/bin/sh
# runner's own cost per agent task (issue 12), with the real Claude Code
# CLI (/usr/bin/claude, tools/deps.sh) as `agent: claude` tasks, built-in
# profile, on the local backend, against the scripted model server
# (tests/model-server/anthropic.py, claude-edit.json: 5 turns, 4 tools)
# on loopback:
#   sh tests/bench/agents.sh [build-bench/runner]
# Prints "name value unit" lines:
#   - overhead per task, median and p95: "go to agent start" (the
#     sandbox is ready and its slot given: attempts.started_at, until
#     the agent's process runs) and "agent exit to recorded" (until the
#     task_finished event, written after the database row and
#     result.json); 10 tasks one at a time, and 50 at concurrency 10;
#   - wall time of runner against GNU parallel running the same claude
#     command with the same environment and concurrency, with no
#     sandbox (each task in a private mount namespace that puts its own
#     copy of the workspace at one path), and against parallel running
#     it in the same bwrap sandbox runner makes (the floor);
#   - runner's own peak RSS (its VmHWM, not the agents') over 10 and 50
#     tasks at concurrency 10.
# The agent's start and exit are seen from inside the sandbox: PATH in
# the plan puts a bash wrapper named claude first, which prints
# $EPOCHREALTIME to the task's output before and after running
# /usr/bin/claude (the stream parser skips non-JSON lines). bash's own
# start (about 2 ms) counts as runner's; the database's times are ms.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/tests/bench
RUNNER=${1:-$top/build-bench/runner}
RUNNER=$(cd "$(dirname "$RUNNER")" && pwd)/$(basename "$RUNNER")
CLAUDE=/usr/bin/claude
for need in "$RUNNER" "$CLAUDE" /usr/bin/parallel /usr/bin/bwrap; do
	if [ ! -x "$need" ]; then
		echo "agents.sh: skipped: no $need (make, or sh tools/deps.sh)" >&2
		exit 0
	fi
done
work=$(mktemp -d "${TMPDIR:-/tmp}/runner-bench-ag.XXXXXX")
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done; [ -n "${AGENTS_KEEP:-}" ] || rm -rf "$work"' EXIT
# As root the sandbox runs as nobody: it must reach the workspace.
chmod 755 "$work"
cd "$work"
ms=$top/tests/model-server
measure() { python3 "$here/measure.py" "$@"; }
field() { echo "$1" | cut -d" " -f"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
KEY=sk-ant-bench-0123456789
PROMPT="Fix the greeting in hello.txt and add new.txt."
SBX_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# The built-in profile's command and environment (plan-validate.c).
CLAUDE_ARGS="-p --dangerously-skip-permissions --output-format stream-json --verbose"
CLAUDE_ENV="CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1
	DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1 IS_SANDBOX=1"

# server NAME WS: the scripted server for agents that see the workspace
# at WS; its port in NAME.port.
server() {
	python3 "$ms/anthropic.py" "$ms/scenarios/claude-edit.json" \
		--port-file "$1.port" --log "$1.requests" --var "ws=$2" \
		--max-seconds 900 2>"$1.err" &
	pids="$pids $!"
	while [ ! -s "$1.port" ]; do sleep 0.1; done
}
server sbx /workspace
server direct "$work/direct-ws"
sport=$(cat sbx.port)
dport=$(cat direct.port)

mkdir -p ws/.bench-bin direct-ws
printf 'hello world\nline two\n' >ws/hello.txt
cat >ws/.bench-bin/claude <<EOF
#!/bin/bash
echo "runner-bench agent_start \$EPOCHREALTIME"
$CLAUDE "\$@"
rc=\$?
echo "runner-bench agent_exit \$EPOCHREALTIME"
exit \$rc
EOF
chmod 755 ws/.bench-bin/claude
echo "$PROMPT" >prompt.txt

# plan NAME N C: N agent tasks at concurrency C.
plan() {
	{
		printf 'version: 1\nname: %s\n' "$1"
		printf 'backend: {type: local, network: true, memory: 2G}\n'
		printf 'limits: {concurrency: %d}\n' "$3"
		printf 'defaults:\n  workspace: ws\n  timeout: 2m\n'
		printf '  secrets: [ANTHROPIC_API_KEY]\n  env:\n'
		printf '    ANTHROPIC_BASE_URL: http://127.0.0.1:%s\n' "$sport"
		printf '    PATH: /workspace/.bench-bin:%s\ntasks:\n' "$SBX_PATH"
		i=0
		while [ $i -lt "$2" ]; do
			printf '  - id: a%02d\n    agent: claude\n' $i
			printf '    prompt: %s\n' "$PROMPT"
			i=$((i + 1))
		done
	} >"$1.yaml"
}

# runner_exec NAME N C: the plan run; "WALL RUSAGE_RSS U S SELF_HWM".
runner_exec() {
	plan "$1" "$2" "$3"
	ANTHROPIC_API_KEY=$KEY measure --self-hwm "$RUNNER" exec "$1.yaml" \
		--state "st-$1" --quiet
}

# overheads NAME: per task "START_MS END_MS" (go to agent start, agent
# exit to task_finished); fails unless every task succeeded with all 5
# turns and both marks.
overheads() {
	db=st-$1/runner.db
	sqlite3 -separator " " "$db" "select t.id, a.started_at,
		(select max(at) from events e where e.run_id = t.run_id and
		 e.task_id = t.id and e.kind = 'task_finished')
		from tasks t join attempts a on a.run_id = t.run_id and
		a.task_id = t.id where t.status = 'succeeded' order by t.id" |
		while read -r id go rec; do
			log=$(echo st-"$1"/runs/*/tasks/"$id"/output.log)
			grep -q '"num_turns":5' "$log" || {
				echo "agents.sh: $id: not 5 turns" >&2
				exit 1
			}
			awk -v go="$go" -v rec="$rec" '
				$1 == "runner-bench" && $2 == "agent_start" { s = $3 }
				$1 == "runner-bench" && $2 == "agent_exit" { e = $3 }
				END {
					if (s == "" || e == "") exit 1
					printf "%.1f %.1f\n", s * 1000 - go, rec - e * 1000
				}' "$log" || {
				echo "agents.sh: $id: no start/exit marks" >&2
				exit 1
			}
		done
}

# stats COL FILE: "MEDIAN P95" (nearest rank) of column COL.
stats() {
	cut -d" " -f"$1" "$2" | sort -n | awk '{ v[NR] = $1 }
		END {
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			r = int(NR * 0.95 + 0.999); if (r > NR) r = NR
			printf "%.1f %.1f\n", m, v[r]
		}'
}

# direct N J: GNU parallel -jJ runs the claude command N times on the
# host, each in a fresh copy of the workspace, put at $work/direct-ws by
# a private mount namespace (unshare -m; -r as non-root) so that the
# scenario's paths hold, and a fresh HOME on a tmpfs, as the sandbox's
# is.
cat >direct-one.sh <<EOF
#!/bin/sh
set -e
d=$work/direct/\$1
mkdir -p "\$d/home" && cp -R $work/ws "\$d/ws"
exec unshare -m \$( [ "\$(id -u)" = 0 ] || echo -r ) sh -c '
	mount --bind "\$1/ws" $work/direct-ws &&
	mount -t tmpfs tmpfs "\$1/home" && cd $work/direct-ws &&
	exec env -i PATH=$SBX_PATH HOME="\$1/home" \
		ANTHROPIC_BASE_URL=http://127.0.0.1:$dport \
		ANTHROPIC_API_KEY=$KEY $(echo $CLAUDE_ENV) \
		$CLAUDE $CLAUDE_ARGS <$work/prompt.txt >"\$1/out.jsonl" 2>&1' sh "\$d"
EOF
direct() {
	rm -rf direct
	measure parallel --halt now,fail=1 -j"$2" sh "$work/direct-one.sh" \
		::: $(seq "$1")
}

# bare N J: the same, in the bwrap sandbox runner makes (its arguments,
# sandbox-local.c prepare_bwrap; as nobody when we are root), a fresh
# copy of the workspace at /workspace each, no bookkeeping.
sysdirs=""
for d in /bin /sbin /lib /lib32 /lib64 /libx32; do
	if [ -L $d ]; then
		sysdirs="$sysdirs --symlink $(readlink $d) $d"
	elif [ -d $d ]; then
		sysdirs="$sysdirs --ro-bind $d $d"
	fi
done
asuser=""
[ "$(id -u)" = 0 ] && asuser="setpriv --reuid=65534 --regid=65534 --clear-groups"
setenvs=""
for kv in $CLAUDE_ENV PATH=$SBX_PATH HOME=/home/agent \
	ANTHROPIC_BASE_URL=http://127.0.0.1:$sport ANTHROPIC_API_KEY=$KEY; do
	setenvs="$setenvs --setenv ${kv%%=*} ${kv#*=}"
done
cat >bare-one.sh <<EOF
#!/bin/sh
set -e
d=$work/bare/\$1
mkdir -p "\$d" && cp -R $work/ws "\$d/ws" && chmod -R a+rwX "\$d"
exec $asuser bwrap --die-with-parent --unshare-all --share-net \
	--new-session --cap-drop ALL --hostname runner --ro-bind /usr /usr \
	$sysdirs --ro-bind /etc /etc --proc /proc --dev /dev --tmpfs /tmp \
	--tmpfs /home/agent --bind "\$d/ws" /workspace --remount-ro / \
	--chdir /workspace --clearenv $setenvs \
	-- $CLAUDE $CLAUDE_ARGS <$work/prompt.txt >"\$d/out.jsonl" 2>&1
EOF
bare() {
	rm -rf bare
	measure parallel --halt now,fail=1 -j"$2" sh "$work/bare-one.sh" \
		::: $(seq "$1")
}

# Each comparison's runs back to back, so that they share the noise.
load=$(cut -d" " -f1-3 /proc/loadavg)
r1=$(runner_exec c1 10 1)
p1=$(direct 10 1)
b1=$(bare 10 1)
overheads c1 >c1.oh
r10=$(runner_exec c10 50 10)
p10=$(direct 50 10)
b10=$(bare 50 10)
overheads c10 >c10.oh
r10s=$(runner_exec c10s 10 10)
for f in direct/*/out.jsonl bare/*/out.jsonl; do
	grep -q '"num_turns":5' "$f" ||
		{ echo "agents.sh: $f: not 5 turns" >&2; exit 1; }
done

echo "agents_load_average_at_start $load 1/5/15min"
echo "agents_10_c1_overhead_go_to_agent_start_median $(stats 1 c1.oh | cut -d" " -f1) ms"
echo "agents_10_c1_overhead_go_to_agent_start_p95 $(stats 1 c1.oh | cut -d" " -f2) ms"
echo "agents_10_c1_overhead_agent_exit_to_recorded_median $(stats 2 c1.oh | cut -d" " -f1) ms"
echo "agents_10_c1_overhead_agent_exit_to_recorded_p95 $(stats 2 c1.oh | cut -d" " -f2) ms"
echo "agents_10_c1_runner_wall $(field "$r1" 1) s"
echo "agents_10_c1_parallel_j1_direct_wall $(field "$p1" 1) s"
echo "agents_10_c1_parallel_j1_bare_bwrap_wall $(field "$b1" 1) s"
echo "agents_10_c1_ratio_runner_over_parallel $(ratio "$(field "$r1" 1)" "$(field "$p1" 1)") x"
echo "agents_10_c1_ratio_runner_over_bare_bwrap $(ratio "$(field "$r1" 1)" "$(field "$b1" 1)") x"
echo "agents_50_c10_overhead_go_to_agent_start_median $(stats 1 c10.oh | cut -d" " -f1) ms"
echo "agents_50_c10_overhead_go_to_agent_start_p95 $(stats 1 c10.oh | cut -d" " -f2) ms"
echo "agents_50_c10_overhead_agent_exit_to_recorded_median $(stats 2 c10.oh | cut -d" " -f1) ms"
echo "agents_50_c10_overhead_agent_exit_to_recorded_p95 $(stats 2 c10.oh | cut -d" " -f2) ms"
echo "agents_50_c10_runner_wall $(field "$r10" 1) s"
echo "agents_50_c10_parallel_j10_direct_wall $(field "$p10" 1) s"
echo "agents_50_c10_parallel_j10_bare_bwrap_wall $(field "$b10" 1) s"
echo "agents_50_c10_ratio_runner_over_parallel $(ratio "$(field "$r10" 1)" "$(field "$p10" 1)") x"
echo "agents_50_c10_ratio_runner_over_bare_bwrap $(ratio "$(field "$r10" 1)" "$(field "$b10" 1)") x"
echo "agents_50_c10_runner_cpu_per_task $(awk -v u="$(field "$r10" 3)" -v s="$(field "$r10" 4)" 'BEGIN { printf "%.1f", (u + s) * 1000 / 50 }') ms"
echo "agents_10_c10_runner_peak_rss $(field "$r10s" 5) KiB"
echo "agents_50_c10_runner_peak_rss $(field "$r10" 5) KiB"
echo "agents_load_average_at_end $(cut -d" " -f1-3 /proc/loadavg) 1/5/15min"
