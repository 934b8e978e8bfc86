#!/bin/sh
# make bench: runner against standard tools, in the same run, on this
# machine. Prints one "name value unit" line per figure, ratios included.
#   sh tests/bench/run.sh build-bench/runner [sched|e2b|sync|netproxy|agents|all]
set -eu
RUNNER=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
what=${2:-all}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/runner-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
measure() { python3 "$here/measure.py" "$@"; }
field() { echo "$1" | cut -d" " -f"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

if [ "$what" = all ] || [ "$what" = sched ]; then
	mkdir -p ws
	# 1,000 trivial tasks, sandboxed, two at a time; GNU parallel -j2 runs
	# the same 1,000 commands with no sandbox at all.
	{
		printf "version: 1\nname: bench-1k\nlimits: {concurrency: 2}\n"
		printf "defaults: {workspace: ws}\ntasks:\n"
		i=0
		while [ $i -lt 1000 ]; do
			printf "  - id: t%d\n    run: \"true\"\n" $i
			i=$((i + 1))
		done
	} >1k.yaml
	r=$(measure "$RUNNER" exec 1k.yaml --state st1 --quiet)
	p=$(measure parallel -j2 true ::: $(seq 1000))
	# The floor for any sandboxed run: the same 1,000 commands in the
	# same bwrap sandbox as the local backend makes (sandbox-local.c),
	# two at a time by xargs, with no bookkeeping at all. As root the
	# backend runs bwrap as nobody, so this does too.
	mkdir -p floor-ws
	chmod 755 "$work" floor-ws
	sysdirs=""
	for d in /bin /sbin /lib /lib32 /lib64 /libx32; do
		if [ -L $d ]; then
			sysdirs="$sysdirs --symlink $(readlink $d) $d"
		elif [ -d $d ]; then
			sysdirs="$sysdirs --ro-bind $d $d"
		fi
	done
	asuser=""
	[ "$(id -u)" = 0 ] &&
		asuser="setpriv --reuid=65534 --regid=65534 --clear-groups"
	b=$(measure sh -c "seq 1000 | $asuser xargs -P2 -I{} bwrap \
		--die-with-parent --unshare-all --new-session --cap-drop ALL \
		--hostname runner --ro-bind /usr /usr $sysdirs \
		--ro-bind /etc /etc --proc /proc --dev /dev --tmpfs /tmp \
		--bind $PWD/floor-ws /workspace --chdir /workspace --clearenv \
		/bin/sh -c true")
	echo "sched_1000_sandboxed_runner_wall $(field "$r" 1) s"
	echo "sched_1000_parallel_j2_wall $(field "$p" 1) s"
	echo "sched_1000_bare_bwrap_xargs_P2_wall $(field "$b" 1) s"
	echo "sched_1000_ratio_runner_over_parallel $(ratio "$(field "$r" 1)" "$(field "$p" 1)") x"
	echo "sched_1000_ratio_bare_bwrap_over_parallel $(ratio "$(field "$b" 1)" "$(field "$p" 1)") x"
	echo "sched_1000_ratio_runner_over_bare_bwrap $(ratio "$(field "$r" 1)" "$(field "$b" 1)") x"
	echo "sched_1000_runner_peak_rss $(field "$r" 2) KiB"

	# 10,000 tasks in one plan: the runner's own memory.
	{
		printf "version: 1\nname: bench-10k\nbackend: {isolation: none}\n"
		printf "limits: {concurrency: 8}\ndefaults: {workspace: ws}\ntasks:\n"
		i=0
		while [ $i -lt 10000 ]; do
			printf "  - id: t%d\n    run: \"true\"\n" $i
			i=$((i + 1))
		done
	} >10k.yaml
	r=$(measure "$RUNNER" exec 10k.yaml --state st2 --quiet)
	echo "sched_10000_runner_wall $(field "$r" 1) s"
	echo "sched_10000_runner_peak_rss $(field "$r" 2) KiB"
fi

if [ "$what" = all ] || [ "$what" = e2b ]; then
	# 50 tasks at concurrency 50 against the loopback E2B server: the
	# runner's own CPU and memory per task, and the wall time against
	# the slowest single task.
	mkdir -p e2b-sbx e2b-ws && echo hi >e2b-ws/f
	python3 "$here/../e2b-server/server.py" --port-file e2b-port \
		--api-key e2b_00bench --root "$PWD/e2b-sbx" 2>/dev/null &
	spid=$!
	while [ ! -s e2b-port ]; do sleep 0.1; done
	E2B_API_URL="http://127.0.0.1:$(cat e2b-port)"
	E2B_SANDBOX_URL=$E2B_API_URL E2B_API_KEY=e2b_00bench
	export E2B_API_URL E2B_SANDBOX_URL E2B_API_KEY
	task='sleep 2; echo done >> f'
	printf "version: 1\nname: e1\nbackend: {type: e2b}\ndefaults: {workspace: e2b-ws}\ntasks:\n  - id: one\n    run: %s\n" "$task" >e1.yaml
	{
		printf "version: 1\nname: e50\nbackend: {type: e2b}\nlimits: {concurrency: 50}\n"
		printf "defaults: {workspace: e2b-ws}\ntasks:\n"
		i=0
		while [ $i -lt 50 ]; do
			printf "  - id: t%d\n    run: %s\n" $i "$task"
			i=$((i + 1))
		done
	} >e50.yaml
	one=$(measure "$RUNNER" exec e1.yaml --state ste1 --quiet)
	fifty=$(measure "$RUNNER" exec e50.yaml --state ste50 --quiet)
	slowest=$(sqlite3 ste50/runner.db "select max(ended_at - started_at) from tasks")
	kill $spid 2>/dev/null; wait $spid 2>/dev/null || true
	echo "e2b_single_task_wall $(field "$one" 1) s"
	echo "e2b_50_tasks_c50_wall $(field "$fifty" 1) s"
	echo "e2b_50_slowest_task $(awk -v m="$slowest" 'BEGIN { printf "%.3f", m / 1000 }') s"
	echo "e2b_50_ratio_wall_over_slowest $(ratio "$(field "$fifty" 1)" "$(awk -v m="$slowest" 'BEGIN { print m / 1000 }')") x"
	echo "e2b_50_runner_cpu_per_task $(awk -v u="$(field "$fifty" 3)" -v s="$(field "$fifty" 4)" 'BEGIN { printf "%.1f", (u + s) * 1000 / 50 }') ms"
	echo "e2b_50_runner_peak_rss $(field "$fifty" 2) KiB"
fi

if [ "$what" = all ] || [ "$what" = sync ]; then
	# A 20,000-file, ~300 MB workspace; the task changes one file.
	python3 "$here/mkworkspace.py" big 20000 300
	mkdir -p sp
	printf "version: 1\nname: bench-sync\ndefaults: {workspace: ../big, timeout: 10m}\ntasks:\n  - id: one\n    run: echo changed >> src/d000/f00000.txt\n" >sp/plan.yaml
	# Three fresh states; the median of each of first and second runs.
	firsts="" seconds="" rss=0
	for k in 1 2 3; do
		r1=$(measure "$RUNNER" exec sp/plan.yaml --state st3-$k --quiet)
		r2=$(measure "$RUNNER" exec sp/plan.yaml --state st3-$k --quiet)
		firsts="$firsts $(field "$r1" 1)"
		seconds="$seconds $(field "$r2" 1)"
		[ "$(field "$r1" 2)" -gt "$rss" ] && rss=$(field "$r1" 2)
	done
	median() { printf "%s\n" $1 | sort -n | sed -n 2p; }
	r1="$(median "$firsts") $rss"
	r2="$(median "$seconds") $rss"
	t=$(measure sh -c 'tar czf big.tgz -C big . && mkdir -p x && tar xzf big.tgz -C x')
	pulled=$(find st3-1/runs -path '*/changes/*' -type f | wc -l)
	echo "sync_20k_runner_first_wall $(field "$r1" 1) s"
	echo "sync_20k_runner_second_wall $(field "$r2" 1) s"
	echo "sync_20k_tar_czf_xzf_wall $(field "$t" 1) s"
	echo "sync_20k_ratio_runner_over_tar $(ratio "$(field "$r1" 1)" "$(field "$t" 1)") x"
	echo "sync_20k_ratio_second_over_tar $(ratio "$(field "$r2" 1)" "$(field "$t" 1)") x"
	echo "sync_20k_runner_peak_rss $(field "$r1" 2) KiB"
	echo "sync_20k_files_pulled_per_run $(( pulled / 2 )) files"
	h=$("$RUNNER" exec sp/plan.yaml --state st3-1 | sed -n "s/.*hashed \([0-9]*\) files.*/\1/p")
	echo "sync_20k_third_run_files_hashed $h files"
fi

if [ "$what" = all ] || [ "$what" = netproxy ]; then
	sh "$here/netproxy.sh" "$(dirname "$RUNNER")"
fi

if [ "$what" = all ] || [ "$what" = agents ]; then
	# The real claude CLI as agent tasks against the loopback model
	# server: runner's overhead per task and its own peak RSS.
	sh "$here/agents.sh" "$RUNNER"
fi
