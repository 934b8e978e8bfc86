#!/bin/sh
# The test harness itself (lib.sh): a body fails on its first failing
# command, a broken &&-chain is reported as a bug in the test, and a
# skip says why. Each case runs a small script of its own through lib.sh
# and reads its TAP output.
. "$(dirname "$0")/lib.sh"

# child NAME: run child.sh (written by the test) through lib.sh; its TAP
# output goes to NAME.tap, its exit status to NAME.rc.
child() {
	{
		echo ". \"$RUNNER_TOP/tests/t/lib.sh\""
		cat child.sh
		echo "test_done"
	} >"$1.sh" &&
	{ sh "$1.sh" >"$1.tap" 2>&1; echo $? >"$1.rc"; }
}

test_expect_success 'a body that passes is ok, and the script exits 0' '
	cat >child.sh <<-\EOF &&
	test_expect_success "passes" "
		true &&
		test 1 = 1
	"
	EOF
	child c &&
	test_grep "^ok 1 - passes$" c.tap &&
	test_grep "^1\.\.1$" c.tap &&
	test "$(cat c.rc)" = 0
'

test_expect_success 'a failing command in the middle of a chain fails the body' '
	cat >child.sh <<-\EOF &&
	test_expect_success "middle fails" "
		true &&
		false &&
		true
	"
	EOF
	child c &&
	test_grep "^not ok 1 - middle fails$" c.tap &&
	test "$(cat c.rc)" = 1
'

test_expect_success 'a failing middle line with no && is a broken chain, not ok' '
	cat >child.sh <<-\EOF &&
	test_expect_success "unchained" "
		false
		true
	"
	EOF
	child c &&
	test_grep "^not ok 1 - unchained # BUG: broken &&-chain" c.tap &&
	test_grep "no && after .false." c.tap &&
	test "$(cat c.rc)" = 1
'

test_expect_success 'a broken chain is found inside if, loops, case and subshells' '
	cat >child.sh <<-\EOF &&
	test_expect_success "in if" "
		if true
		then
			false
			true
		fi
	"
	test_expect_success "in a subshell" "
		(
			cd . &&
			false
			true
		)
	"
	test_expect_success "in a case arm" "
		case x in
		x) false
			true ;;
		esac
	"
	test_expect_success "a semicolon" "
		false; true
	"
	test_expect_success "a background job" "
		sleep 1 &
		true
	"
	EOF
	child c &&
	test "$(grep -c "^not ok .* # BUG: broken &&-chain" c.tap)" = 5 &&
	test_grep "background job breaks" c.tap
'

test_expect_success 'a loop must pass a failure on with || return 1' '
	cat >child.sh <<-\EOF &&
	test_expect_success "loop without return" "
		for i in 1 2 3
		do
			test \$i = 9
		done
	"
	test_expect_success "loop with return" "
		for i in 1 2 3
		do
			test \$i = 1 || return 1
		done
	"
	EOF
	child c &&
	test_grep "^not ok 1 - loop without return # BUG" c.tap &&
	test_grep "ends without .|| return 1." c.tap &&
	test_grep "^not ok 2 - loop with return$" c.tap
'

test_expect_success 'what hides a status inside a chain is refused too' '
	cat >child.sh <<-\EOF &&
	test_expect_success "bare wait" "
		{ false & } &&
		wait
	"
	test_expect_success "runner piped" "
		runner --version | grep -q runner
	"
	test_expect_success "loop piped" "
		for i in 1 2
		do
			false || return 1
		done | sort
	"
	test_expect_success "return 0 ends a loop" "
		for i in 1 2
		do
			false || return 0
		done
	"
	test_expect_success "export x=\$(cmd)" "
		export X=\$(false) &&
		true
	"
	test_expect_success "waiting for jobs that record their status" "
		{ (rc=0 && { false || rc=\$?; } && echo \$rc >rc) & } &&
		test_wait_jobs &&
		test \"\$(cat rc)\" = 1
	"
	EOF
	child c &&
	test "$(grep -c "^not ok .* # BUG: broken &&-chain" c.tap)" = 5 &&
	test_grep "wait. without a pid" c.tap &&
	test_grep "pipeline hides the exit status of .runner." c.tap &&
	test_grep "loop piped into another command" c.tap &&
	test_grep "export x=\$(cmd). hides" c.tap &&
	test_grep "^ok 6 - waiting for jobs that record their status$" c.tap
'

test_expect_success 'chained bodies with here-documents, quotes and groups lint clean' '
	cat >child.sh <<-\EOF &&
	test_expect_success "clean" "
		cat >f <<-\\END &&
		a line; with a semicolon
		another & one
		END
		x=\$(printf \"%s\" \"a;b\" | sed \"s/)/(/\") &&
		test \"\$x\" = \"a;b\" &&
		{ sleep 0 & } &&
		wait \$! &&
		test -f f || { echo \"no f\"; exit 1; } &&
		case \$x in
		a*) : ;;
		*) false ;;
		esac &&
		for i in 1 2
		do
			test -n \"\$i\" || continue
			test \$i -gt 0 ||
			{ echo \"bad \$i\"; exit 1; }
		done
	"
	EOF
	child c &&
	test_grep "^ok 1 - clean$" c.tap
'

test_expect_success 'test_expect_code keeps the body'"'"'s own variables' '
	want=mine &&
	got=also-mine &&
	test_expect_code 3 sh -c "exit 3" &&
	test_must_fail false &&
	test "$want" = mine &&
	test "$got" = also-mine
'

test_expect_success 'set -e holds inside the functions a body calls last' '
	cat >child.sh <<-\EOF &&
	two_lines() {
		false
		true
	}
	test_expect_success "helper fails" "
		true &&
		two_lines
	"
	EOF
	child c &&
	test_grep "^not ok 1 - helper fails$" c.tap
'

test_expect_success 'a body run from inside a condition is refused, not passed' '
	cat >child.sh <<-\EOF &&
	if test_expect_success "in a condition" "
		false &&
		true
	"; then :; fi
	if test_expect_success "false then true" "
		true
	"; then :; fi
	EOF
	child c &&
	test_grep "^not ok 1 - in a condition$" c.tap &&
	test_grep "^not ok 2 - false then true$" c.tap &&
	test_grep "set -e has no effect here" c.tap
'

test_expect_success 'a body with a syntax error is reported by the shell check' '
	cat >child.sh <<-\EOF &&
	test_expect_success "syntax" "
		if true; then true
	"
	EOF
	child c &&
	test_grep "^not ok 1 - syntax # BUG: broken &&-chain" c.tap &&
	test_grep "syntax error" c.tap
'

test_expect_success 'a missing prerequisite and test_skip are skips that say why' '
	cat >child.sh <<-\EOF &&
	test_expect_success NO_SUCH_TOOL_HERE "needs a tool" "
		true
	"
	test_skip "cannot run" "no zoneinfo here"
	EOF
	child c &&
	test_grep "^ok 1 # skip needs a tool (missing NO_SUCH_TOOL_HERE)$" c.tap &&
	test_grep "^ok 2 # skip cannot run (no zoneinfo here)$" c.tap &&
	test "$(cat c.rc)" = 0
'

test_done
