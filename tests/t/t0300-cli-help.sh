#!/bin/sh
# Every command's options go through one parser (runner/cmd-opt.c): -h and
# --help on every command print its usage, its description and a line per
# option; unknown options, missing values and values given to flags are
# usage errors (exit 2) in one format; "runner help CMD" is "CMD --help";
# the man page doc/runner.1 is generated from that help, is up to date,
# lists every option and is installed by "make install".
. "$(dirname "$0")/lib.sh"

test_must_be_empty() {
	test ! -s "$1" || { echo "'$1' is not empty:"; cat "$1"; return 1; }
}

COMMANDS="exec validate resume runs show logs apply archive report review
verify next db gc"

# Every option of every command: command, short letter (- for none),
# long name, a valid value (- for a flag). The commands' --help must list
# exactly these (and -h, --help), and each must be accepted.
OPTIONS="exec j jobs 2
exec - backend local
exec - only a,b
exec - dry-run -
exec - if-due -
exec - state st
exec q quiet -
exec - json -
exec - grace 5s
resume j jobs 2
resume - state st
resume q quiet -
resume - json -
resume - grace 5s
runs n limit 3
runs - state st
show - state st
logs f follow -
logs - raw -
logs - state st
apply - to dir
apply n dry-run -
apply - branch x
apply - state st
apply - all -
archive o output a.tar.gz
archive - state st
report o output r.html
report - state st
review - no-diff -
review - json -
review - state st
next n count 3
next - from 2026-03-29T01:30:00Z
db - to 1
db - steps 1
db - state st
gc - older-than 30d
gc n dry-run -
gc - state st"

test_expect_success 'every command takes --help and -h: usage on stdout, exit 0' '
	for cmd in $COMMANDS; do
		runner $cmd --help >out 2>err &&
		test_must_be_empty err &&
		head -n 1 out | grep "^usage: runner $cmd" &&
		test_grep "^options:$" out &&
		test_grep "^  -h, --help  *print this help$" out &&
		runner $cmd -h >out.h 2>err &&
		test_must_be_empty err &&
		test_cmp out out.h ||
		{ echo "command: $cmd"; cat out err; exit 1; } || return 1
	done
'

test_expect_success '--help has a line per option, and no other option lines' '
	echo "$OPTIONS" | while read -r cmd short long val; do
		if [ "$short" = - ]; then left="      --$long"; else
			left="  -$short, --$long"; fi &&
		if [ "$val" = - ]; then pat="^$left  +[a-z]"; else
			pat="^$left [^ ]+  +[a-z]"; fi &&
		runner $cmd --help >out &&
		grep -E -e "$pat" out >/dev/null ||
		{ echo "$cmd --help has no line for --$long ($pat):"; cat out;
			exit 1; } || return 1
	done &&
	for cmd in $COMMANDS; do
		runner $cmd --help >help &&
		sed -n "/^options:$/,\$p" help |
			awk "/^  .*--/ { n++ } END { print n + 0 }" >count &&
		want=$(echo "$OPTIONS" | awk -v c=$cmd "\$1 == c { n++ } END { print n + 0 }") &&
		echo $((want + 1)) >expect &&
		test_cmp expect count ||
		{ echo "command: $cmd"; exit 1; } || return 1
	done
'

test_expect_success 'every option in the help is accepted, as --long, --long=V and -s' '
	echo "$OPTIONS" | while read -r cmd short long val; do
		if [ "$val" = - ]; then
			runner $cmd --$long --help >out 2>err
		else
			runner $cmd --$long "$val" --help >out 2>err &&
			runner $cmd --$long="$val" --help >out 2>err
		fi &&
		if [ "$short" != - ]; then
			if [ "$val" = - ]; then runner $cmd -$short --help >out 2>err
			else runner $cmd -$short "$val" --help >out 2>err; fi
		fi &&
		head -n 1 out | grep "^usage: runner $cmd" >/dev/null ||
		{ echo "$cmd --$long $val:"; cat out err; exit 1; } || return 1
	done
'

test_expect_success 'runner help CMD is runner CMD --help; runner help lists the commands' '
	for cmd in $COMMANDS; do
		runner $cmd --help >expect &&
		runner help $cmd >out 2>err &&
		test_must_be_empty err &&
		test_cmp expect out || return 1
	done &&
	runner --help >expect &&
	runner help >out &&
	test_cmp expect out &&
	runner -h >out &&
	test_cmp expect out &&
	for cmd in $COMMANDS; do
		grep -E "^  $cmd +[a-z]" expect >/dev/null ||
		{ echo "runner --help does not list $cmd"; exit 1; } || return 1
	done &&
	test_grep "runner help COMMAND" expect &&
	test_expect_code 2 runner help nosuch >out 2>err &&
	test_must_be_empty out &&
	test_grep "^runner: unknown command .nosuch." err &&
	runner --version >out &&
	test_grep "^runner [0-9][0-9.]*$" out
'

test_expect_success 'unknown options exit 2 with the usage error on stderr' '
	for cmd in $COMMANDS; do
		test_expect_code 2 runner $cmd --bogus >out 2>err &&
		test_must_be_empty out &&
		sed -n 1p err >line1 &&
		echo "runner: unknown option '\''--bogus'\''" >expect &&
		test_cmp expect line1 &&
		sed -n 2p err | grep "^usage: runner $cmd" &&
		test_expect_code 2 runner $cmd -Z >out 2>err &&
		sed -n 1p err >line1 &&
		echo "runner: unknown option '\''-Z'\''" >expect &&
		test_cmp expect line1 ||
		{ echo "command: $cmd"; cat err; exit 1; } || return 1
	done
'

test_expect_success 'a missing value, or a value given to a flag, is a usage error' '
	echo "$OPTIONS" | while read -r cmd short long val; do
		if [ "$val" = - ]; then
			test_expect_code 2 runner $cmd --$long=x 2>err &&
			echo "runner: option '\''--$long'\'' takes no value" >expect
		else
			test_expect_code 2 runner $cmd --$long 2>err &&
			echo "runner: option '\''--$long'\'' needs a value" >expect
		fi &&
		sed -n 1p err >line1 &&
		test_cmp expect line1 &&
		sed -n 2p err | grep "^usage: runner $cmd" >/dev/null &&
		if [ "$short" != - ] && [ "$val" != - ]; then
			test_expect_code 2 runner $cmd -$short 2>err &&
			echo "runner: option '\''-$short'\'' needs a value" >expect &&
			sed -n 1p err >line1 &&
			test_cmp expect line1
		fi ||
		{ echo "$cmd --$long:"; cat err; exit 1; } || return 1
	done
'

# These messages were there before the shared parser and must stay.
test_expect_success 'bad values keep their messages' '
	test_expect_code 2 runner exec p.yaml --jobs 0 2>err &&
	test_grep "^runner: --jobs wants a number from 1 to 1024, not .0.$" err &&
	test_expect_code 2 runner resume last -j 1025 2>err &&
	test_grep "^runner: --jobs wants a number from 1 to 1024, not .1025.$" err &&
	test_expect_code 2 runner exec p.yaml --grace soon 2>err &&
	test_grep "^runner: --grace wants a duration like 10s, not .soon.$" err &&
	test_expect_code 2 runner gc --older-than soon 2>err &&
	test_grep "^runner: --older-than wants a duration like 30d, not .soon.$" err &&
	test_expect_code 2 runner runs -n 0 2>err &&
	test_grep "^runner: --limit wants a positive number, not .0.$" err &&
	test_expect_code 2 runner next p.yaml -n 0 2>err &&
	test_grep "^runner: bad count .0. (want 1-100000)$" err &&
	test_expect_code 2 runner db migrate --to abc 2>err &&
	test_grep "^runner: --to needs a schema version (0, 1, ...), not .abc.$" err &&
	test_expect_code 2 runner db status --state= 2>err &&
	test_grep "^runner: --state needs a directory$" err &&
	test_expect_code 2 runner archive x -o "" 2>err &&
	test_grep "^runner: -o wants a file name$" err
'

# As before the shared parser: short options cluster, options go before,
# between or after the arguments, and "--" ends them.
test_expect_success 'clustered options, options after arguments, and --' '
	cp "$FIXTURES/plans/valid-minimal.yaml" ./-p.yaml &&
	runner exec -qj3 --dry-run --state st -- -p.yaml >out &&
	test_grep "^plan minimal: 1 task, concurrency 3, backend local$" out &&
	runner exec ./-p.yaml --dry-run -j 2 >out &&
	test_grep "concurrency 2" out &&
	test_expect_code 2 runner exec -- -p.yaml --dry-run 2>err &&
	test_grep "^runner: exec takes one plan file$" err &&
	runner validate -- -p.yaml >out &&
	test_grep "^-p.yaml: ok (1 task)$" out &&
	test_expect_code 2 runner validate -p.yaml 2>err &&
	test_grep "^runner: unknown option .-p." err &&
	test_expect_code 4 runner verify -- -p.tar.gz 2>err &&
	test_grep "cannot read .-p.tar.gz." err
'

test_expect_success 'doc/runner.1 is what tools/gen-man.sh makes of the help now' '
	sh "$RUNNER_TOP/tools/gen-man.sh" "$RUNNER" \
		"$RUNNER_TOP/doc/runner.1.in" >fresh.1 &&
	test_cmp "$RUNNER_TOP/doc/runner.1" fresh.1 ||
	{ echo "doc/runner.1 is stale: run make man"; exit 1; }
'

test_expect_success 'the man page has every option of every command, in its section' '
	man="$RUNNER_TOP/doc/runner.1" &&
	for sec in NAME SYNOPSIS DESCRIPTION COMMANDS "EXIT STATUS" \
		ENVIRONMENT FILES EXAMPLES; do
		grep "^\.SH \"*$sec\"*$" "$man" >/dev/null ||
		{ echo "no section $sec"; exit 1; } || return 1
	done &&
	for cmd in $COMMANDS; do
		sed -n "/^\.SS $cmd\$/,/^\.S[SH] /p" "$man" |
			sed -e "s/\\\\-/-/g" -e "s/\\\\f[BIR]//g" >section &&
		head -n 2 section | grep "^runner $cmd" >/dev/null &&
		runner $cmd --help >help &&
		sed -n "/^options:$/,\$p" help |
			sed -n "s/^  *\(-., \)*\(--[a-z-]*\).*/\2/p" >longs &&
		test -s longs &&
		while read -r long; do
			grep -e "^$long\$" -e "^-., $long\$" -e "^$long " \
				-e "^-., $long " section >/dev/null ||
			{ echo "man page: $cmd has no $long"; exit 1; } ||
			return 1
		done <longs || { echo "command: $cmd"; exit 1; } || return 1
	done &&
	for v in RUNNER_STATE RUNNER_NOW E2B_API_KEY E2B_API_URL \
		E2B_SANDBOX_URL RUNNER_E2B_RETRIES SOURCE_DATE_EPOCH; do
		grep "^\.B $v\$" "$man" >/dev/null ||
		{ echo "man page: no $v"; exit 1; } || return 1
	done &&
	test_grep "if\\\\-due" "$man"
'

test_expect_success GROFF 'the man page renders without warnings' '
	groff -man -ww -z "$RUNNER_TOP/doc/runner.1" 2>err &&
	test_must_be_empty err &&
	groff -man -Tutf8 -P-cbou "$RUNNER_TOP/doc/runner.1" 2>err >out &&
	test_must_be_empty err &&
	test_grep "runner exec  *PLAN" out &&
	test_grep "EXIT STATUS" out
'

test_expect_success 'make install puts the binary and the man page under PREFIX' '
	make -C "$RUNNER_TOP" -o "$RUNNER_BUILD/runner" O="$RUNNER_BUILD" \
		install DESTDIR="$TRASH/root" \
		PREFIX=/usr >make.out 2>&1 ||
	{ cat make.out; exit 1; } &&
	test -x root/usr/bin/runner &&
	cmp "$RUNNER" root/usr/bin/runner &&
	root/usr/bin/runner --version >out &&
	test_grep "^runner " out &&
	test_cmp "$RUNNER_TOP/doc/runner.1" root/usr/share/man/man1/runner.1 &&
	ls -l root/usr/share/man/man1/runner.1 >mode &&
	test_grep "^-rw-r--r--" mode
'

test_done
