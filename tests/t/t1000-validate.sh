#!/bin/sh
# runner validate: exit codes, what goes to stdout and stderr, and the
# exact error text for the fixture plans (tests/fixtures/plans/*.err).
. "$(dirname "$0")/lib.sh"

PLANS="$FIXTURES/plans"

test_must_be_empty() {
	if test -s "$1"; then
		echo "'$1' is not empty:" >&2
		cat "$1" >&2
		return 1
	fi
}

test_expect_success 'no plan is a usage error' '
	test_expect_code 2 runner validate >out 2>err &&
	test_grep "usage: runner validate PLAN" err &&
	test_grep "no plan given" err &&
	test_must_be_empty out
'

test_expect_success 'an unknown option is a usage error' '
	test_expect_code 2 runner validate --frobnicate plan.yaml >out 2>err &&
	test_grep "unknown option .--frobnicate." err &&
	test_grep "usage: runner validate PLAN" err &&
	test_must_be_empty out
'

test_expect_success '--help prints usage on stdout' '
	runner validate --help >out 2>err &&
	test_grep "usage: runner validate PLAN" out &&
	test_must_be_empty err
'

test_expect_success 'a valid plan: ok on stdout, nothing on stderr' '
	cp "$PLANS/valid-minimal.yaml" . &&
	runner validate valid-minimal.yaml >out 2>err &&
	echo "valid-minimal.yaml: ok (1 task)" >expect &&
	test_cmp expect out &&
	test_must_be_empty err
'

test_expect_success 'the task count is after matrix expansion' '
	cp "$PLANS/valid-full.yaml" . &&
	runner validate valid-full.yaml >out 2>err &&
	echo "valid-full.yaml: ok (5 tasks)" >expect &&
	test_cmp expect out &&
	test_must_be_empty err
'

test_expect_success 'aliases and merge keys' '
	cp "$PLANS/valid-anchors.yaml" . &&
	runner validate valid-anchors.yaml >out &&
	echo "valid-anchors.yaml: ok (3 tasks)" >expect &&
	test_cmp expect out
'

# Every invalid fixture, against its golden error file.
for f in "$PLANS"/invalid-*.yaml; do
	name=$(basename "$f" .yaml)
	test_expect_success "$name: exact errors, exit 2" "
		cp '$f' . &&
		test_expect_code 2 runner validate $name.yaml >out 2>err &&
		test_cmp '$PLANS/$name.err' err &&
		test_must_be_empty out
	"
done

test_expect_success 'five different errors give five lines' '
	cp "$PLANS/invalid-five.yaml" . &&
	test_expect_code 2 runner validate invalid-five.yaml 2>err &&
	test "$(wc -l <err)" -eq 5 &&
	test "$(grep -c "^invalid-five.yaml:[0-9]*:[0-9]*: " err)" -eq 5
'

test_expect_success 'FILE in messages is the path as given' '
	mkdir -p sub &&
	cp "$PLANS/invalid-cycle.yaml" sub/ &&
	test_expect_code 2 runner validate ./sub/../sub/invalid-cycle.yaml \
		2>err &&
	test_grep "^\./sub/\.\./sub/invalid-cycle\.yaml:7:18: dependency cycle" err &&
	test_expect_code 2 runner validate "$PWD/sub/invalid-cycle.yaml" \
		2>err &&
	test_grep "^$PWD/sub/invalid-cycle\.yaml:7:18: " err
'

test_expect_success 'several files: each checked, exit 2 if any is bad' '
	cp "$PLANS/valid-minimal.yaml" "$PLANS/invalid-cycle.yaml" \
		"$PLANS/valid-anchors.yaml" . &&
	test_expect_code 2 runner validate valid-minimal.yaml \
		invalid-cycle.yaml valid-anchors.yaml >out 2>err &&
	printf "%s\n" "valid-minimal.yaml: ok (1 task)" \
		"valid-anchors.yaml: ok (3 tasks)" >expect &&
	test_cmp expect out &&
	test_cmp "$PLANS/invalid-cycle.err" err
'

test_expect_success 'several valid files: exit 0' '
	cp "$PLANS/valid-minimal.yaml" "$PLANS/valid-full.yaml" . &&
	runner validate valid-minimal.yaml valid-full.yaml >out 2>err &&
	test "$(wc -l <out)" -eq 2 &&
	test_must_be_empty err
'

test_expect_success 'a missing file is an error, the others are still checked' '
	cp "$PLANS/valid-minimal.yaml" . &&
	test_expect_code 2 runner validate nope.yaml valid-minimal.yaml \
		>out 2>err &&
	test_grep "^nope.yaml: cannot read plan: No such file or directory" err &&
	echo "valid-minimal.yaml: ok (1 task)" >expect &&
	test_cmp expect out
'

test_expect_success 'a directory is an error' '
	mkdir d &&
	test_expect_code 2 runner validate d 2>err &&
	test_grep "^d: cannot read plan: Is a directory" err
'

test_expect_success 'a 10 MB plan is refused with a clear message' '
	{
		printf "version: 1\nname: big\ntasks:\n" &&
		seq 1 400000 | sed "s/.*/  - {id: task-&, run: echo hello}/"
	} >big.yaml &&
	test "$(wc -c <big.yaml)" -gt 10000000 &&
	test_expect_code 2 runner validate big.yaml >out 2>err &&
	echo "big.yaml:1:1: plan is larger than 8 MiB" >expect &&
	test_cmp expect err &&
	test_must_be_empty out
'

test_expect_success 'a plan just under the limit is read in full' '
	{
		printf "version: 1\nname: big\ntasks:\n" &&
		printf "  - {id: t1, run: echo}\n" &&
		seq 2 90000 | awk "{ printf \"  - {id: t%d, run: echo hello world, depends_on: [t%d]}\n\", \$1, \$1 - 1 }"
	} >chain.yaml &&
	test "$(wc -c <chain.yaml)" -gt 5000000 &&
	runner validate chain.yaml >out &&
	echo "chain.yaml: ok (90000 tasks)" >expect &&
	test_cmp expect out
'

test_expect_success 'an alias bomb is refused' '
	cat >bomb.yaml <<-\EOF &&
	a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
	b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
	c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
	d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
	e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
	f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
	g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
	h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
	i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
	EOF
	test_expect_code 2 runner validate bomb.yaml 2>err &&
	test_grep "^bomb.yaml:7:12: alias .\*f. makes the plan expand to more than 1000000 nodes$" err
'

test_expect_success 'every plan in plans/ and examples/ is valid' '
	find "$RUNNER_TOP/plans" "$RUNNER_TOP/examples" -type f \
		\( -name "*.yaml" -o -name "*.yml" \) 2>/dev/null | sort >list &&
	n=0 &&
	while read -r f; do
		grep -q "^version:" "$f" || continue &&
		runner validate "$f" &&
		n=$((n + 1)) || return 1
	done <list &&
	test "$n" -gt 0
'

test_done
