#!/bin/sh
# Run every unit test binary and every tests/t/t*.sh script, each a TAP
# producer, and end with one line: "N passed, N failed, N skipped".
#   sh tests/run-tests.sh BUILD_DIR [--only "u-pool u-sched"] [PATTERN]
set -u
O=${1:?usage: run-tests.sh BUILD_DIR}
shift
only=""
if [ "${1:-}" = --only ]; then only=$2; shift 2; fi
pattern=${1:-}
top=$(cd "$(dirname "$0")/.." && pwd)
O=$(cd "$O" && pwd)
export RUNNER_BUILD="$O" RUNNER_TOP="$top"
logdir="$O/test-logs"
rm -rf "$logdir"
mkdir -p "$logdir"
pass=0 fail=0 skip=0 failed_names=""

count() {
	# $1 name, $2 log, $3 exit status
	p=$(grep -c '^ok ' "$2" | tr -d ' ')
	s=$(grep -c '^ok .*# *[sS][kK][iI][pP]' "$2" | tr -d ' ')
	f=$(grep -c '^not ok ' "$2" | tr -d ' ')
	p=$((p - s))
	if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then
		# A crash or a bad exit counts as a failure of its own.
		f=1
		echo "not ok - $1 exited with status $3" >> "$2"
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	if [ "$f" -gt 0 ]; then
		failed_names="$failed_names $1"
		echo "FAIL $1 ($f failed; log: $2)"
		grep -A8 '^not ok' "$2" | head -60 | sed 's/^/    /'
	else
		if [ "$s" -gt 0 ]; then echo "ok   $1 ($p passed, $s skipped)"; else echo "ok   $1 ($p passed)"; fi
	fi
}

want() {
	[ -z "$only" ] || case " $only " in *" $1 "*) ;; *) return 1 ;; esac
	[ -z "$pattern" ] || case "$1" in *$pattern*) ;; *) return 1 ;; esac
	return 0
}

for t in "$O"/tests/u-*; do
	[ -x "$t" ] || continue
	case "$t" in *.d|*.o) continue ;; esac
	name=$(basename "$t")
	want "$name" || continue
	log="$logdir/$name.log"
	(cd "$top" && "$t") > "$log" 2>&1
	count "$name" "$log" $?
done

for t in "$top"/tests/t/t[0-9]*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	want "$name" || continue
	log="$logdir/$name.log"
	(cd "$top/tests/t" && sh "$t") > "$log" 2>&1
	count "$name" "$log" $?
done

[ -z "$failed_names" ] || echo "failed:$failed_names"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
