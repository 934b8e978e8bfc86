# Shell test library (git's t/test-lib.sh, much smaller). Source it from a
# tests/t/tNNNN-*.sh script, then call test_expect_success and friends;
# finish with test_done. Output is TAP.
#
# A body is one &&-chain, as in git: every command is joined to the next
# by && (or ||, |), loops end their body in "|| return 1", and a
# background job is written "{ cmd & } &&". Before a body runs, the chain
# lint (chainlint.awk, git's t/chainlint idea) reports a broken chain as
# a bug in the test, and the shell checks the body's syntax. The body then
# runs in a function, in a subshell under "set -e", in a fresh trash
# directory $TRASH (removed when the script ends): a failing command
# fails the test wherever -e applies, and the chain carries the rest.

set -u
set +e
: "${RUNNER_TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${RUNNER_BUILD:=$RUNNER_TOP/build}"
RUNNER="$RUNNER_BUILD/runner"
TEST_TOOL="$RUNNER_BUILD/tests/test-tool"
FIXTURES="$RUNNER_TOP/tests/fixtures"
export RUNNER TEST_TOOL FIXTURES RUNNER_TOP RUNNER_BUILD
unset RUNNER_STATE

test_count=0
test_failures=0
TRASH_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/runner-test.XXXXXX")
trap 'chmod -R u+rwx "$TRASH_ROOT" 2>/dev/null; rm -rf "$TRASH_ROOT"' EXIT

runner() { "$RUNNER" "$@"; }

_test_body() { eval "$1"; }

_run_body() {
	TRASH="$TRASH_ROOT/t$test_count"
	mkdir -p "$TRASH"
	(
		# set -e is ignored in a condition and everything it calls;
		# a body run from one would check nothing but its last line.
		( set -e; false; exit 0 )
		if [ $? -eq 0 ]; then
			echo "BUG: set -e has no effect here: test_expect_success" \
				"was called inside a condition (if, &&, ||, !)"
			exit 99
		fi
		cd "$TRASH" || exit 1
		export TRASH HOME="$TRASH"
		set -e
		_test_body "$1"
	) > "$TRASH_ROOT/out.$test_count" 2>&1 </dev/null
}

# _lint_body BODY: 0 when BODY is one unbroken &&-chain; else the
# problems are in $TRASH_ROOT/lint.$test_count.
_lint_body() {
	_lint_out="$TRASH_ROOT/lint.$test_count"
	printf '%s\n' "$1" | awk -f "$RUNNER_TOP/tests/t/chainlint.awk" \
		> "$_lint_out"
	[ $? -eq 0 ] || return 1
	# The shell's own parser: defining a function reads the whole body
	# and runs none of it.
	( eval "_lint_syntax() {
$1
}" ) > "$_lint_out" 2>&1 </dev/null
	if [ $? -ne 0 ]; then
		echo "syntax error in the test body:" >> "$_lint_out"
		return 1
	fi
}

# test_expect_success [PREREQ] 'description' 'body'
test_expect_success() {
	if [ $# -eq 3 ]; then
		if ! test_have_prereq "$1"; then
			test_count=$((test_count + 1))
			echo "ok $test_count # skip $2 (missing $1$(_prereq_why "$1"))"
			return 0
		fi
		shift
	fi
	test_count=$((test_count + 1))
	if [ $# -ne 2 ]; then
		test_failures=$((test_failures + 1))
		echo "not ok $test_count - ${1:-?} # BUG: test_expect_success" \
			"takes [PREREQ] DESCRIPTION BODY, got $# arguments"
		return 0
	fi
	if ! _lint_body "$2"; then
		test_failures=$((test_failures + 1))
		echo "not ok $test_count - $1 # BUG: broken &&-chain in the test"
		sed 's/^/#   /' "$TRASH_ROOT/lint.$test_count"
		return 0
	fi
	_run_body "$2"
	_body_rc=$?
	if [ "$_body_rc" -eq 0 ]; then
		echo "ok $test_count - $1"
	else
		test_failures=$((test_failures + 1))
		echo "not ok $test_count - $1"
		sed 's/^/#   /' "$TRASH_ROOT/out.$test_count" | tail -40
	fi
}

# test_skip 'description' 'why': a test that cannot run here, said so.
test_skip() {
	test_count=$((test_count + 1))
	echo "ok $test_count # skip $1 ($2)"
}

test_done() {
	echo "1..$test_count"
	[ "$test_failures" -eq 0 ]
}

# Prerequisites: BWRAP (bubblewrap works here), GIT, PYTHON3, PARALLEL,
# ZONEINFO (python3 with the IANA zones, for a reference of cron's DST),
# ROOT_MOUNT (root, and may mount in a mount namespace of its own),
# CHROMIUM (Debian's chromium runs headless: tools/deps.sh installs it),
# CLAUDE, CODEX (the real agent CLIs run from /usr/bin, which a sandbox
# sees; tools/deps.sh installs them), CGROUP (a writable cgroup:
# `test-tool cgroup-probe` says why not); A,B: both.
test_have_prereq() {
	case "$1" in
	*,*) test_have_prereq "${1%%,*}" && test_have_prereq "${1#*,}" ;;
	BWRAP) command -v bwrap >/dev/null &&
		bwrap --unshare-all --ro-bind / / true 2>/dev/null ;;
	GIT) command -v git >/dev/null ;;
	PYTHON3) command -v python3 >/dev/null ;;
	ZONEINFO) python3 -c "import zoneinfo
zoneinfo.ZoneInfo(\"Europe/Berlin\")" 2>/dev/null ;;
	NOT_ROOT) [ "$(id -u)" -ne 0 ] ;;
	ROOT_MOUNT) [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null ;;
	CLAUDE) /usr/bin/claude --version >/dev/null 2>&1 ;;
	CODEX) /usr/bin/codex --version >/dev/null 2>&1 ;;
	CGROUP) "$TEST_TOOL" cgroup-probe >/dev/null 2>&1 ;;
	CHROMIUM) command -v chromium >/dev/null &&
		timeout 60 chromium --headless --no-sandbox --disable-gpu \
			--dump-dom about:blank >/dev/null 2>&1 ;;
	*) command -v "$(echo "$1" | tr 'A-Z' 'a-z')" >/dev/null ;;
	esac
}

# Why a prerequisite is missing, where the name alone does not say.
_prereq_why() {
	case "$1" in
	*CHROMIUM*) command -v chromium >/dev/null &&
		echo ": chromium does not run headless here" ||
		echo ": no chromium; tools/deps.sh installs it" ;;
	esac
}

# test_expect_code CODE command...: the command must exit with CODE.
# (Its variables are prefixed: a body's own "want" or "got" survives.)
test_expect_code() {
	_tec_want=$1
	shift
	set +e
	"$@"
	_tec_got=$?
	set -e
	if [ "$_tec_got" -ne "$_tec_want" ]; then
		echo "test_expect_code: '$*' exited $_tec_got, want $_tec_want" >&2
		return 1
	fi
}

# test_must_fail command...: non-zero exit, but not a crash.
test_must_fail() {
	set +e
	"$@"
	_tmf_got=$?
	set -e
	if [ "$_tmf_got" -eq 0 ]; then
		echo "test_must_fail: '$*' succeeded" >&2
		return 1
	elif [ "$_tmf_got" -gt 128 ]; then
		echo "test_must_fail: '$*' died by signal $((_tmf_got - 128))" >&2
		return 1
	fi
}

test_cmp() { diff -u "$1" "$2"; }

# test_grep [-v] PATTERN FILE: like grep, but shows the file on failure.
test_grep() {
	if [ "$1" = -v ]; then
		shift
		if grep -q -e "$1" "$2"; then
			echo "test_grep: '$1' found in $2:" >&2
			cat "$2" >&2
			return 1
		fi
		return 0
	fi
	if ! grep -q -e "$1" "$2"; then
		echo "test_grep: '$1' not found in $2:" >&2
		cat "$2" >&2
		return 1
	fi
}

# test_wait_jobs: wait for every background job of the body. wait without
# a pid returns 0 whatever the jobs did, so each job must record its own
# exit status (e.g. "rc=0 && { cmd || rc=$?; } && echo $rc >rcN") for the
# body to check; the chain lint refuses a bare "wait".
test_wait_jobs() {
	wait
}

# test_wait_for SECONDS 'command': poll (every 0.1 s) until the command
# succeeds; fails, saying what it waited for, when SECONDS pass first.
test_wait_for() {
	_wait_n=$(($1 * 10))
	while [ "$_wait_n" -gt 0 ]; do
		if eval "$2"; then
			return 0
		fi
		sleep 0.1
		_wait_n=$((_wait_n - 1))
	done
	echo "test_wait_for: '$2' still false after $1 s" >&2
	return 1
}
