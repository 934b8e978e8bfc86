#!/bin/sh
# Resource limits that hold (runner/cgroup.h), on this host's real
# cgroups, through `test-tool cgroup-run`, which makes a task cgroup,
# starts the command in it (the child joins between fork and exec),
# waits, prints usage and OOM status and removes the cgroup: memory
# (RSS and tmpfs pages) killed at the limit with its peak reported, a
# fork bomb held at pids:, a CPU quota, usage read correctly, nothing
# left in /sys/fs/cgroup, even after the tool was SIGKILLed.
. "$(dirname "$0")/lib.sh"

# cg ARGS...: cgroup-run, stdout to out, stderr to err.
cg() {
	"$TEST_TOOL" cgroup-run "$@" >out 2>err
}

# field NAME: the value of NAME=... in out.
field() {
	tr ' ' '\n' <out | sed -n "s/^$1=//p" | tail -n 1
}

# between N LO HI: LO <= N <= HI, or say what N was.
between() {
	if [ "$1" -lt "$2" ] || [ "$1" -gt "$3" ]; then
		echo "$1 is not within [$2, $3]" >&2
		cat out err >&2
		return 1
	fi
}

# nothing_left: no directory cgroup-run made is left (and it made some).
nothing_left() {
	dirs=$(sed -n 's/^run_dir=//p; s/^dir=//p' out) &&
	if [ -z "$dirs" ]; then
		echo "cgroup-run printed no directories:" >&2
		cat out err >&2
		return 1
	fi &&
	for d in $dirs; do
		if [ -e "$d" ]; then
			echo "left behind: $d" >&2
			return 1
		fi
	done
}

# host_procs: how many processes the host has.
host_procs() {
	ls /proc | grep -c '^[0-9]'
}

# marked TAG: how many processes carry TAG in their environment.
marked() {
	grep -l "$1" /proc/[0-9]*/environ 2>/dev/null | wc -l
}

why=$("$TEST_TOOL" cgroup-probe 2>&1 | sed -n 's/^reason=//p')
test_have_prereq CGROUP || test_skip 'resource limits by cgroup' "$why"

test_expect_success CGROUP 'probe names the cgroups it found' '
	"$TEST_TOOL" cgroup-probe --memory 2G --pids 1024 --cpus 0.5 >out &&
	test_grep "^mode=v[12]$" out &&
	test_grep "^reason=cgroup v[12] (memory, pids, cpu" out &&
	test_grep -v "^note=" out &&
	for d in $(sed -n "s/^dir=//p" out); do
		test -w "$d/cgroup.procs" || return 1
	done
'

test_expect_success CGROUP 'the command runs in the task cgroup from its first instruction' '
	cg -- cat /proc/self/cgroup &&
	run=$(sed -n "s/^run_dir=//p" out | head -n 1) &&
	run=${run##*/} &&
	# every hierarchy we made a directory in
	test "$(grep -c ":/\(.*/\)\{0,1\}$run/task\$" out)" = \
		"$(grep -c "^dir=" out)" ||
	{ echo "not in $run/task:"; cat out err; exit 1; } &&
	nothing_left
'

test_expect_success CGROUP,PERL 'allocating past memory: is killed and reported OOM with its peak' '
	cg --memory 64M -- perl -e "\$x = \"x\" x (1 << 30); print qq(survived\n)" &&
	test_grep -v survived out &&
	test "$(field signal)" = 9 &&
	test "$(field oom)" = 1 &&
	between "$(field oom_kills)" 1 100 &&
	between "$(field memory_peak)" $((60 << 20)) $((64 << 20)) &&
	test_grep "^reason=out of memory (memory: 64M)$" out &&
	nothing_left
'

test_expect_success CGROUP,PERL 'peak memory and CPU time match what the process saw' '
	cat >hog.pl <<-\EOF &&
	use Time::HiRes qw(time);
	my $x = "x" x (100 << 20);
	my $end = time + 1;
	1 while time < $end;
	open(my $f, "<", "/proc/self/status") or die;
	while (<$f>) { print "hwm_kb=$1\n" if /^VmHWM:\s+(\d+)/ }
	my @t = times;
	printf "self_cpu_ms=%d\n", ($t[0] + $t[1]) * 1000;
	EOF
	cg -- perl hog.pl &&
	test "$(field exit)" = 0 &&
	test "$(field oom)" = 0 &&
	hwm=$(( $(field hwm_kb) * 1024 )) &&
	peak=$(field memory_peak) &&
	between "$peak" $((100 << 20)) $((400 << 20)) &&
	# VmHWM also counts shared library pages that were charged to
	# whoever read them first, before this cgroup existed
	between "$peak" $((hwm - (16 << 20))) $((hwm + (64 << 20))) &&
	self=$(field self_cpu_ms) &&
	cpu_ms=$(( $(field cpu_usec) / 1000 )) &&
	between "$cpu_ms" $((self * 8 / 10 - 50)) $((self * 12 / 10 + 100)) &&
	nothing_left
'

for kill_path in freezer pidfd; do
	opt=
	[ "$kill_path" = pidfd ] && opt=--no-freezer
	test_expect_success CGROUP,PERL "a fork bomb stops at pids: and is killed ($kill_path)" '
		# Each process forks until it has made 12 children, retrying
		# when fork fails, then sleeps: 4096 processes unlimited.
		tag=T3100BOMB$$ &&
		before=$(host_procs) &&
		timeout 60 "$TEST_TOOL" cgroup-run $opt --pids 50 --memory 256M \
			--cpus 1 --timeout 3s -- env $tag=1 perl -e "
			my \$i = 0;
			while (\$i < 12) { my \$p = fork; \$i++ if defined \$p }
			sleep 100" >out 2>err &&
		test "$(field timed_out)" = 1 &&
		between "$(field pids_peak)" 40 50 &&
		between "$(field pids_hits)" 1 100000000 &&
		test "$(marked $tag=1)" = 0 &&
		after=$(host_procs) &&
		# other work on this host comes and goes; the bomb would be
		# 4096 here, the limit alone 50
		between "$after" 0 $((before + 100)) &&
		nothing_left
	'
done

test_expect_success CGROUP,BWRAP 'writing 1 GiB into tmpfs under memory: 256M is stopped' '
	cg --memory 256M -- bwrap --dev-bind / / --size $((4 << 30)) \
		--tmpfs /tmp sh -c "dd if=/dev/zero of=/tmp/fill bs=1M \
		count=1024 2>/dev/null; echo dd=\$?; stat -c size=%s /tmp/fill" &&
	test "$(field dd)" != 0 &&
	between "$(field size)" 0 $((256 << 20)) &&
	between "$(field memory_peak)" 0 $((256 << 20)) &&
	test "$(field oom)" = 1 &&
	nothing_left
'

test_expect_success BWRAP 'bwrap --size bounds the private /tmp' '
	bwrap --dev-bind / / --size $((64 << 20)) --tmpfs /tmp sh -c \
		"dd if=/dev/zero of=/tmp/fill bs=1M count=100 2>&1;
		echo dd=\$?; stat -c size=%s /tmp/fill" >out &&
	test "$(field dd)" != 0 &&
	test_grep "No space left on device" out &&
	between "$(field size)" $((60 << 20)) $((64 << 20))
'

test_expect_success CGROUP 'cpus: 0.5 gives about half a core' '
	busy="timeout 2 sh -c \"while :; do :; done\"" &&
	cg --cpus 0.5 -- sh -c "$busy & $busy; wait" &&
	between "$(field wall_ms)" 1900 5000 &&
	# Two busy loops for 2 s: up to 4 s of CPU unlimited, 1 s at 0.5.
	# Less when the host is busy (other work shares its cores), so
	# only the upper bound is tight.
	between "$(field cpu_usec)" 100000 1400000 &&
	nothing_left
'

test_expect_success CGROUP 'after a SIGKILL of the tool, the cleanup removes what it left' '
	tag=T3100LEFT$$ &&
	{ "$TEST_TOOL" cgroup-run --pids 20 -- env $tag=1 \
		sh -c "sleep 600 & sleep 600" >out 2>err & } &&
	test_wait_for 10 "grep -q ^dir= out" &&
	test_wait_for 10 "test \"\$(marked $tag=1)\" = 3" &&
	# a live runner next to it, whose cgroups must stay
	{ "$TEST_TOOL" cgroup-run -- sleep 5 >live.out 2>&1 & } &&
	live_pid=$! &&
	test_wait_for 10 "grep -q ^dir= live.out" &&
	kill -9 "$(field tool_pid)" &&
	for d in $(sed -n "s/^dir=//p" out); do
		test -n "$(cat "$d/cgroup.procs")" || return 1
	done &&
	"$TEST_TOOL" cgroup-cleanup >clean.out &&
	removed=$(sed -n "s/^removed=//p" clean.out) &&
	between "$removed" $(( $(grep -c "^dir=" out) * 2 )) 1000 &&
	test "$(marked $tag=1)" = 0 &&
	nothing_left &&
	for d in $(sed -n "s/^dir=//p" live.out); do
		test -d "$d" || { echo "live cgroup removed: $d"; exit 1; }
	done &&
	test_expect_code 0 wait $live_pid &&
	test_grep "^exit=0 " live.out &&
	mv live.out out &&
	nothing_left
'

if "$TEST_TOOL" cgroup-probe --mode v2 --v2-bare >/dev/null 2>&1; then
	test_expect_success CGROUP,PERL 'cgroup v2 without controllers: join, CPU time, cgroup.kill, remove' '
		tag=T3100V2$$ &&
		cg --mode v2 --v2-bare -- env $tag=1 sh -c "setsid sleep 300 &
			perl -MTime::HiRes=time -e \"\\\$e = time + 0.5;
			1 while time < \\\$e\"" &&
		test "$(field exit)" = 0 &&
		test "$(marked $tag=1)" = 0 &&
		between "$(field cpu_usec)" 100000 2000000 &&
		nothing_left
	'
	test_expect_success CGROUP 'cgroup v2: clone3 starts the child in the cgroup, no join' '
		"$TEST_TOOL" cgroup-probe --mode v2 --v2-bare >probe.out &&
		cg --mode v2 --v2-bare --clone3 -- cat /proc/self/cgroup &&
		task=$(sed -n "s/^dir=//p" out) &&
		rel=${task#$(sed -n "s/^dir=//p" probe.out)} &&
		test_grep "^0::$rel\$" out &&
		nothing_left
	'
else
	test_skip 'cgroup v2 without controllers' \
		"$("$TEST_TOOL" cgroup-probe --mode v2 --v2-bare |
			sed -n 's/^reason=//p')"
fi

test_expect_success CGROUP 'create, join and remove take well under 25 ms a task' '
	"$TEST_TOOL" cgroup-bench --count 200 >out &&
	cat out &&
	create=$(field create_us) &&
	join=$(field join_us) &&
	remove=$(field remove_us) &&
	between $((create + join + remove)) 1 25000
'

test_done
