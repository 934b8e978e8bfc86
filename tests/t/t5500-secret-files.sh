#!/bin/sh
# No file, patch or archive member that holds a secret's value comes
# back: a pulled-back file, name or link target holding any form the
# masker knows (whole value, a line of 8+ characters of a multi-line one,
# JSON-escaped) is refused on the local and the e2b backend alike,
# recorded in changes.json with a note naming the secret (never its
# value), warned about, left out of changes.patch and of `runner apply`.
# And what `exclude` removes, or a `pull` negation leaves out, does not
# come back either.
. ./lib.sh
. ./lib-e2b.sh

E2B=BWRAP,PYTHON3,CURL
KEYS=BWRAP,PYTHON3,OPENSSL

# An Anthropic-shaped key, a 4096-bit PEM key, a token with a quote, a
# backslash and slashes (so its JSON-escaped form differs from it).
API_KEY="sk-ant-api03-$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')-AA"
JSON_TOKEN="tok\"$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')\\path/to/x"
export API_KEY JSON_TOKEN

# Every trace of the secrets (raw, and the JSON-escaped token) in the
# files named, binary ones (the database, a tar) too; prints what it finds.
leaks() {
	python3 - "$@" <<-\EOF
	import json, os, sys
	forms = {"api key": os.environ["API_KEY"],
	         "pem line": open(os.environ["S"] + "/pem-line").read().strip(),
	         "token": os.environ["JSON_TOKEN"],
	         "token as json": json.dumps(os.environ["JSON_TOKEN"])[1:-1]}
	bad = 0
	for path in sys.argv[1:]:
	    paths = [path]
	    if os.path.isdir(path):
	        paths = [os.path.join(d, f) for d, _, fs in os.walk(path)
	                 for f in fs + [x for x in _ if os.path.islink(os.path.join(d, x))]]
	    for p in paths:
	        if os.path.islink(p):
	            data = os.readlink(p).encode()
	        elif os.path.isfile(p):
	            data = open(p, "rb").read()
	        else:
	            continue
	        data += p.encode()
	        for what, v in forms.items():
	            if v.encode() in data:
	                print("%s holds the %s" % (p, what))
	                bad += 1
	sys.exit(1 if bad else 0)
	EOF
}

# changes.json of task $2 in state $1, one line per change:
# kind path type pulled note.
changes() {
	python3 - "$1" "$2" <<-\EOF
	import glob, json, sys
	f, = glob.glob(sys.argv[1] + "/runs/*/tasks/" + sys.argv[2] + "/changes.json")
	d = json.load(open(f))
	for kind in ("added", "modified", "deleted"):
	    for c in d[kind]:
	        print(kind[0].upper(), c["path"], c["type"], c.get("pulled"),
	              c.get("note", "-"))
	EOF
}

# The secret-file tests share one folder: the runs of one test are
# checked (apply, e2b's comparison) by the next.
S=$TRASH_ROOT/shared
export S

test_expect_success $KEYS 'setup: a workspace, a 4096-bit PEM key, the plan' '
	mkdir "$S" && cd "$S" &&
	mkdir ws &&
	echo "print(1)" >ws/main.py &&
	echo "old notes" >ws/notes.txt &&
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 \
		-out key.pem 2>/dev/null &&
	test "$(wc -l <key.pem)" -ge 50 &&
	sed -n 26p key.pem >pem-line &&
	test "$(wc -c <pem-line)" = 65 &&
	printf "x%sy\n" "$API_KEY" >probe && test_must_fail leaks probe &&
	python3 -c "import json, os; print(json.dumps(os.environ[\"JSON_TOKEN\"]))" >probe &&
	test_must_fail leaks probe &&
	cp pem-line probe && test_must_fail leaks probe &&
	printf "%s\n" "$API_KEY" | cut -c 1-20 >probe && leaks probe &&
	rm probe &&
	cat >p.yaml <<-\EOF
	version: 1
	name: secret-files
	defaults: {workspace: ws, timeout: 5m}
	tasks:
	  - id: env
	    secrets: [ANTHROPIC_API_KEY]
	    run: |
	      set -e
	      env >debug.txt
	      echo "new notes" >notes.txt
	      printf "%s\n" "$ANTHROPIC_API_KEY" | cut -c 5-11 >innocent.txt
	      printf "%s" "$ANTHROPIC_API_KEY" | cut -c 1-7 >>innocent.txt
	      echo "agent said hi" >"leak-$ANTHROPIC_API_KEY.txt"
	      mkdir -p "cache/$ANTHROPIC_API_KEY" && echo x >"cache/$ANTHROPIC_API_KEY/entry"
	      mkdir -p notes && ln -s "notes/$ANTHROPIC_API_KEY" pointer
	      ln -s notes/plain fine-link
	      printf "%s\n" "$ANTHROPIC_API_KEY" >main.py
	  - id: pem
	    secrets: [PEM_KEY]
	    run: |
	      set -e
	      mkdir many
	      for i in $(seq 1 1000); do echo "file $i of many" >many/f$i.txt; done
	      printf "%s\n" "$PEM_KEY" | sed -n 26p >>many/f617.txt
	  - id: big
	    secrets: [ANTHROPIC_API_KEY]
	    run: |
	      set -e
	      python3 -c "
	      import os
	      k = os.environ[\"ANTHROPIC_API_KEY\"].encode()
	      at = 300 * 65536 - len(k) // 2
	      with open(\"big.bin\", \"wb\") as f:
	          f.write(os.urandom(at))
	          f.write(k)
	          f.write(os.urandom(50 * 1048576 - at - len(k)))
	      with open(\"clean.bin\", \"wb\") as f:
	          f.write(os.urandom(8 * 1048576))
	      "
	  - id: json
	    secrets: [JSON_TOKEN]
	    run: |
	      set -e
	      python3 -c "import json, os; print(json.dumps({\"token\": os.environ[\"JSON_TOKEN\"]}))" >tool.json
	      python3 -c "import json, os; print(json.dumps({\"ok\": 1}))" >ok.json
	EOF
'

# Run the plan on backend $1 into state st-$1.
run_on() {
	rm -rf "st-$1" &&
	ANTHROPIC_API_KEY=$API_KEY PEM_KEY=$(cat key.pem) \
		runner exec p.yaml --backend "$1" --state "st-$1" \
		>"out-$1" 2>"err-$1"
}

# What both backends must show for the run in st-$1.
check_run() {
	st=st-$1 &&
	d=$(echo $st/runs/*/tasks) &&
	changes $st env >env.txt &&
	test_grep "^A debug.txt file False contains the value of secret ANTHROPIC_API_KEY$" env.txt &&
	test_grep "^M main.py file False contains the value of secret ANTHROPIC_API_KEY$" env.txt &&
	test_grep "^A leak-\*\*\*.txt file False its name contains the value of secret ANTHROPIC_API_KEY$" env.txt &&
	test_grep "^A cache/\*\*\*/entry file False its name contains the value of secret ANTHROPIC_API_KEY$" env.txt &&
	test_grep "^A pointer symlink False its target contains the value of secret ANTHROPIC_API_KEY$" env.txt &&
	test_grep "^A fine-link symlink True -$" env.txt &&
	test_grep "^A innocent.txt file True -$" env.txt &&
	test_grep "^M notes.txt file True -$" env.txt &&
	test ! -e $d/env/changes/debug.txt &&
	test ! -e $d/env/changes/cache &&
	test ! -e $d/env/changes/main.py &&
	test ! -h $d/env/changes/pointer &&
	test "$(cat $d/env/changes/notes.txt)" = "new notes" &&
	test_grep "^$(printf "%s" "$API_KEY" | cut -c 5-11)$" $d/env/changes/innocent.txt &&
	python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
assert r[\"changes\"][\"refused\"] == 5, r[\"changes\"]
w = [x for x in r[\"warnings\"] if \"value of a secret\" in x]
assert len(w) == 1 and w[0].startswith(\"5 files not pulled back, as they hold the value of a secret: \"), r[\"warnings\"]
assert \"debug.txt (contains the value of secret ANTHROPIC_API_KEY)\" in w[0], w
" $d/env/result.json &&
	test_grep "env: warning: 5 files not pulled back" out-$1 &&
	test_grep "^+++ b/notes.txt" $d/env/changes.patch &&
	test_grep "^+++ b/innocent.txt" $d/env/changes.patch &&
	test_grep -v "debug.txt\|main.py\|leak-\|cache/" $d/env/changes.patch &&
	changes $st pem >pem.txt &&
	test "$(grep -c "^A many/f[0-9]*.txt file True -$" pem.txt)" = 999 &&
	test_grep "^A many/f617.txt file False contains the value of secret PEM_KEY$" pem.txt &&
	test "$(ls $d/pem/changes/many | wc -l)" = 999 &&
	test ! -e $d/pem/changes/many/f617.txt &&
	test_grep -v "f617" $d/pem/changes.patch &&
	changes $st big >big.txt &&
	test_grep "^A big.bin file False contains the value of secret ANTHROPIC_API_KEY$" big.txt &&
	test_grep "^A clean.bin file True -$" big.txt &&
	test ! -e $d/big/changes/big.bin &&
	test "$(wc -c <$d/big/changes/clean.bin)" = 8388608 &&
	python3 -c "
import json, sys
c = json.load(open(sys.argv[1]))
assert c[\"bytes_pulled\"] == 8388608, c[\"bytes_pulled\"]
" $d/big/changes.json &&
	changes $st json >json.txt &&
	test_grep "^A tool.json file False contains the value of secret JSON_TOKEN$" json.txt &&
	test_grep "^A ok.json file True -$" json.txt &&
	runner show last env --state $st >show-$1 &&
	test_grep "^  A debug.txt  -- contains the value of secret ANTHROPIC_API_KEY$" show-$1 &&
	test_grep "^  A \"\?leak-\*\*\*.txt\"\?  -- its name contains the value of secret ANTHROPIC_API_KEY$" show-$1 &&
	test_grep "5 files not pulled back, as they hold the value of a secret" show-$1 &&
	runner archive last --state $st -o arch-$1.tar.gz >/dev/null &&
	mkdir x-$1 && tar -xzf arch-$1.tar.gz -C x-$1 &&
	gzip -dc arch-$1.tar.gz >arch-$1.tar &&
	runner verify arch-$1.tar.gz >/dev/null &&
	sqlite3 $st/runner.db .dump >dump-$1.sql &&
	leaks $st x-$1 arch-$1.tar dump-$1.sql out-$1 err-$1 show-$1
}

test_expect_success $KEYS 'local: files, names and links holding a secret are refused, reported by name, never kept' '
	cd "$S" &&
	run_on local &&
	check_run local
'

test_expect_success $KEYS 'local: apply leaves the refused files out and says why' '
	cd "$S" &&
	cp -r ws applied &&
	runner apply last env --state st-local --to applied >apply.out &&
	test_grep "^skipped: debug.txt (contains the value of secret ANTHROPIC_API_KEY)$" apply.out &&
	test_grep "^skipped: pointer (its target contains the value of secret ANTHROPIC_API_KEY)$" apply.out &&
	test "$(cat applied/notes.txt)" = "new notes" &&
	test "$(cat applied/main.py)" = "print(1)" &&
	test -f applied/innocent.txt &&
	test ! -e applied/debug.txt && test ! -h applied/pointer &&
	test -z "$(find applied -name "leak-*")" && test ! -e applied/cache &&
	leaks applied apply.out
'

test_expect_success $E2B,OPENSSL 'e2b: the same refusals, the same change list, nothing kept' '
	cd "$S" &&
	run_on e2b &&
	check_run e2b &&
	for t in env pem big json; do
		changes st-local $t >l.txt && changes st-e2b $t >e.txt &&
		test_cmp l.txt e.txt || return 1
	done &&
	diff -r --no-dereference st-local/runs/*/tasks/env/changes \
		st-e2b/runs/*/tasks/env/changes
'

# A plan for t, "exclude" and "pull" given, run on backend $1.
pull_plan() {
	cat >q.yaml <<-EOF &&
	version: 1
	name: pull-rules
	defaults: {workspace: qws, timeout: 5m}
	tasks:
	  - id: t
	    exclude: $1
	    pull: $2
	    run: |
	      set -e
	      mkdir -p .claude/projects src/gen logs
	      echo "{}" >.claude/settings.json
	      head -c 300000 /dev/urandom | base64 >.claude/projects/session.jsonl
	      echo keep >.claude/keep.json
	      echo "int x;" >src/a.c
	      echo "int y;" >src/gen/b.c
	      echo log >logs/run.log
	      echo top >top.txt
	      echo changed >tracked.txt
	EOF
	rm -rf qws && mkdir -p qws && echo tracked >qws/tracked.txt
}

# changes of t under both backends, compared; the list in q.txt.
pull_both() {
	rm -rf sq-local sq-e2b &&
	runner exec q.yaml --backend local --state sq-local >/dev/null 2>&1 &&
	changes sq-local t >q.txt &&
	if test_have_prereq CURL; then
		runner exec q.yaml --backend e2b --state sq-e2b >/dev/null 2>&1 &&
		changes sq-e2b t >qe.txt &&
		test_cmp q.txt qe.txt &&
		diff -r sq-local/runs/*/tasks/t/changes sq-e2b/runs/*/tasks/t/changes
	fi
}

test_expect_success BWRAP,PYTHON3 'exclude keeps what it removes from coming back, as .gitignore does (both backends)' '
	pull_plan "[\".claude/\", \"*.log\"]" "[\"**\"]" &&
	pull_both &&
	test_grep -v "\.claude\|run.log" q.txt &&
	test ! -e sq-local/runs/*/tasks/t/changes/.claude &&
	test_grep "^A src/a.c file True -$" q.txt &&
	test_grep "^A top.txt file True -$" q.txt &&
	test_grep "^M tracked.txt file True -$" q.txt
'

test_expect_success BWRAP,PYTHON3 'a pull negation leaves out a directory, a pattern, and a later entry takes back (both backends)' '
	pull_plan "[]" "[\"**\", \"!.claude/\", \".claude/keep.json\", \"!*.log\", \"!src/gen/\"]" &&
	pull_both &&
	test_grep "^A .claude/settings.json file False not matched by pull$" q.txt &&
	test_grep "^A .claude/projects/session.jsonl file False not matched by pull$" q.txt &&
	test_grep "^A .claude/keep.json file True -$" q.txt &&
	test_grep "^A logs/run.log file False not matched by pull$" q.txt &&
	test_grep "^A src/gen/b.c file False not matched by pull$" q.txt &&
	test_grep "^A src/a.c file True -$" q.txt &&
	test_grep "^A top.txt file True -$" q.txt &&
	test_grep "^M tracked.txt file True -$" q.txt &&
	test ! -e sq-local/runs/*/tasks/t/changes/.claude/settings.json &&
	test -f sq-local/runs/*/tasks/t/changes/.claude/keep.json
'

test_expect_success BWRAP,PYTHON3 'plain pull lists still work: a directory, a glob' '
	pull_plan "[]" "[\"src/\", \"*.txt\"]" &&
	pull_both &&
	test_grep "^A src/gen/b.c file True -$" q.txt &&
	test_grep "^A src/a.c file True -$" q.txt &&
	test_grep "^A top.txt file True -$" q.txt &&
	test_grep "^A .claude/keep.json file False not matched by pull$" q.txt
'

test_done
