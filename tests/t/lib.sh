# Shell test library (git's t/test-lib.sh, much smaller). Source it from a
# tests/t/tNNNN-*.sh script, then call test_expect_success and friends;
# finish with test_done. Output is TAP.
#
# Each test body runs in a subshell with "set -e" in a fresh trash
# directory, $TRASH, removed when the script ends.

set -u
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

_run_body() {
	TRASH="$TRASH_ROOT/t$test_count"
	mkdir -p "$TRASH"
	(
		cd "$TRASH" || exit 1
		export TRASH HOME="$TRASH"
		set -e
		eval "$1"
	) > "$TRASH_ROOT/out.$test_count" 2>&1
}

# test_expect_success [PREREQ] 'description' 'body'
test_expect_success() {
	if [ $# -eq 3 ]; then
		if ! test_have_prereq "$1"; then
			test_count=$((test_count + 1))
			echo "ok $test_count # skip $2 (missing $1)"
			return 0
		fi
		shift
	fi
	test_count=$((test_count + 1))
	if _run_body "$2"; then
		echo "ok $test_count - $1"
	else
		test_failures=$((test_failures + 1))
		echo "not ok $test_count - $1"
		sed 's/^/#   /' "$TRASH_ROOT/out.$test_count" | tail -40
	fi
}

test_done() {
	echo "1..$test_count"
	[ "$test_failures" -eq 0 ]
}

# Prerequisites: BWRAP (bubblewrap works here), GIT, PYTHON3, PARALLEL,
# CLANG_FORMAT_14 (the version the committed style was made with),
# ROOT_MOUNT (root, and may mount in a mount namespace of its own).
test_have_prereq() {
	case "$1" in
	CLANG_FORMAT_14) clang-format --version 2>/dev/null |
		grep -q "version 14\." ;;
	BWRAP) command -v bwrap >/dev/null &&
		bwrap --unshare-all --ro-bind / / true 2>/dev/null ;;
	GIT) command -v git >/dev/null ;;
	PYTHON3) command -v python3 >/dev/null ;;
	NOT_ROOT) [ "$(id -u)" -ne 0 ] ;;
	ROOT_MOUNT) [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null ;;
	*) command -v "$(echo "$1" | tr 'A-Z' 'a-z')" >/dev/null ;;
	esac
}

# test_expect_code CODE command...: the command must exit with CODE.
test_expect_code() {
	want=$1
	shift
	set +e
	"$@"
	got=$?
	set -e
	if [ "$got" -ne "$want" ]; then
		echo "test_expect_code: '$*' exited $got, want $want" >&2
		return 1
	fi
}

# test_must_fail command...: non-zero exit, but not a crash.
test_must_fail() {
	set +e
	"$@"
	got=$?
	set -e
	if [ "$got" -eq 0 ]; then
		echo "test_must_fail: '$*' succeeded" >&2
		return 1
	elif [ "$got" -gt 128 ]; then
		echo "test_must_fail: '$*' died by signal $((got - 128))" >&2
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
