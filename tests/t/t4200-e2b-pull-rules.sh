#!/bin/sh
# What comes back from a sandbox follows one set of rules on every
# backend (ws.c's pull-back filter): the same plan, run through the CLI
# on the local backend and on e2b (against the loopback E2B server), must
# give the same change list and the same pulled-back files.
. ./lib.sh
. ./lib-e2b.sh

# The change list of task t of the one run in state dir $1, one line per
# change: kind, path, type, size, sha256, pulled, note.
changes() {
	python3 -c '
import glob, json, sys
f, = glob.glob(sys.argv[1] + "/runs/*/tasks/t/changes.json")
d = json.load(open(f))
for kind in ("added", "modified", "deleted"):
    for c in d[kind]:
        print(kind[0].upper(), c["path"], c["type"], c.get("size"),
              c.get("sha256"), c.get("pulled"), c.get("note", "-"))
print("bytes_pulled", d["bytes_pulled"], "truncated", d["truncated"])
' "$1"
}

# Run p.yaml on both backends and compare what came back.
run_both() {
	runner exec p.yaml --backend local --state st-local >out-local 2>&1 &&
	runner exec p.yaml --backend e2b --state st-e2b >out-e2b 2>&1 &&
	changes st-local >local.txt &&
	changes st-e2b >e2b.txt &&
	test_cmp local.txt e2b.txt &&
	diff -r --no-dereference st-local/runs/*/tasks/t/changes \
		st-e2b/runs/*/tasks/t/changes
}

# A .gitignore of about 2 MiB: $2 generated lines, then the rules in $3.
big_gitignore() {
	awk -v n="$2" 'BEGIN { for (i = 0; i < n; i++)
		printf "vendor/generated/module-%06d/build-output-cache/\n", i }' >"$1" &&
	printf "%s\n" "$3" >>"$1"
}

test_expect_success BWRAP 'a .gitignore over 1 MiB filters the pull-back on e2b as on local' '
	mkdir -p ws/src &&
	big_gitignore ws/.gitignore 40000 "*.o" &&
	test "$(wc -c <ws/.gitignore)" -gt 2000000 &&
	for i in $(seq 1 200); do
		head -c 8192 /dev/urandom | od -An -tx1 >ws/src/f$i.c || return 1
	done &&
	cat >p.yaml <<-\EOF &&
	version: 1
	name: big-ignore
	defaults: {workspace: ws}
	tasks:
	  - id: t
	    run: |
	      set -e
	      for f in src/*.c; do cp "$f" "${f%.c}.o"; done
	      echo changed >>src/f1.c
	      mkdir gen
	      big() { awk "BEGIN { for (i = 0; i < 40000; i++) printf \"stale-artifact-%06d/of/a/generated/tree/\\n\", i }"; }
	      { big; echo "*.tmp"; } >gen/.gitignore
	      cat src/*.c >gen/blob.tmp
	      echo kept >gen/kept.txt
	EOF
	run_both &&
	test_grep "^M src/f1.c " e2b.txt &&
	test_grep "^A gen/.gitignore " e2b.txt &&
	test_grep "^A gen/kept.txt " e2b.txt &&
	test_grep -v "\.o \|\.tmp " e2b.txt
'

test_expect_success BWRAP 'pull, exclude, include_git and the credential list: the same change list on both backends' '
	mkdir -p ws/.git/refs/heads ws/lib ws/docs ws/logs &&
	echo "ref: refs/heads/main" >ws/.git/HEAD &&
	echo 0123abcd >ws/.git/refs/heads/main &&
	for i in $(seq 1 300); do
		head -c 4096 /dev/urandom | od -An -tx1 >ws/lib/m$i.txt || return 1
	done &&
	head -c 4000000 /dev/urandom >ws/docs/manual.bin &&
	echo old >ws/logs/run.log &&
	cat >p.yaml <<-\EOF &&
	version: 1
	name: rules
	defaults:
	  workspace: ws
	  include_git: true
	  exclude: ["logs/", "*.bak"]
	  pull: ["lib/**", ".git/**", "*.bak", "logs/", "new/", ".env*", "id_rsa"]
	tasks:
	  - id: t
	    run: |
	      set -e
	      echo abcd0123 >.git/refs/heads/main
	      echo x >.git/ORIG_HEAD
	      for i in $(seq 1 50); do echo edit >>lib/m$i.txt; done
	      rm lib/m300.txt
	      mkdir -p new/deep sub/.git
	      mv docs/manual.bin new/deep/data.bin
	      echo cfg >sub/.git/config
	      echo b >lib/m1.bak
	      mkdir logs && echo l >logs/new.log
	      echo SECRET=1 >.env.local
	      echo key >id_rsa
	      echo not-pulled >top.txt
	EOF
	run_both &&
	test_grep "^M .git/refs/heads/main " e2b.txt &&
	test_grep "^A .git/ORIG_HEAD " e2b.txt &&
	test_grep "^A new/deep/data.bin file 4000000 .* True -$" e2b.txt &&
	test_grep "^A top.txt .* False not matched by pull$" e2b.txt &&
	test_grep "^D docs/manual.bin " e2b.txt &&
	test_grep "^D lib/m300.txt " e2b.txt &&
	test "$(grep -c "^M lib/m" e2b.txt)" = 50 &&
	test_grep -v "sub/.git\|\.env\|id_rsa" e2b.txt
'

test_expect_success BWRAP 'a fetch of the changes that fails: the list says so and apply takes none of it' '
	mkdir ws &&
	echo a >ws/a.txt && echo gone >ws/gone.txt &&
	printf "version: 1\nname: nofetch\nbackend: {type: e2b}\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: echo new >n.txt; echo mod >>a.txt; rm gone.txt\n" >p.yaml &&
	set_faults "[{\"route\": \"GET /files\", \"kind\": \"status\", \"status\": 500, \"count\": -1}]" &&
	test_expect_code 1 runner exec p.yaml --state st --quiet >out 2>&1 &&
	set_faults "[]" &&
	python3 -c "
import glob, json
f, = glob.glob(\"st/runs/*/tasks/t/changes.json\")
c = json.load(open(f))
assert c.get(\"incomplete\") is True, c
for e in c[\"added\"] + c[\"modified\"]:
    assert not e[\"pulled\"] and e[\"note\"] == \"could not be fetched from the sandbox\", e
assert [e[\"path\"] for e in c[\"deleted\"]] == [\"gone.txt\"], c
" &&
	test_expect_code 4 runner apply last t --state st >apply.out 2>&1 &&
	test_grep "could not be written into the results (see their notes)" apply.out &&
	test "$(cat ws/gone.txt)" = gone && test "$(cat ws/a.txt)" = a &&
	! test -e ws/n.txt
'

# A full disk (a tmpfs of 12 MiB for the state, in a mount namespace of
# our own) while the changes come back from e2b: as on local, the list
# keeps every change, what did not fit is noted and not left in part, and
# apply refuses the list.
test_expect_success BWRAP,ROOT_MOUNT 'a pull from e2b onto a full disk keeps the whole change list, no partial file' '
	mkdir ws st &&
	echo a >ws/a.txt &&
	cat >p.yaml <<-\EOF &&
	version: 1
	name: full
	backend: {type: e2b}
	defaults: {workspace: ws}
	tasks:
	  - id: t
	    run: for i in 1 2 3 4 5; do echo $i >a$i; done; echo mod >>a.txt; head -c 9000000 /dev/urandom >zbig; head -c 9000000 /dev/urandom >zbig2
	EOF
	unshare -m sh -c "mount -t tmpfs -o size=12m tmpfs st &&
		\"$RUNNER\" exec p.yaml --state st --quiet >out 2>&1;
		echo \$? >exec.rc;
		cp st/runs/*/tasks/t/changes.json changes.json;
		ls -l st/runs/*/tasks/t/changes >ls.out;
		\"$RUNNER\" apply last t --state st >apply.out 2>&1;
		echo \$? >apply.rc" &&
	test "$(cat exec.rc)" = 1 &&
	test "$(cat apply.rc)" = 4 &&
	test_grep "could not be written into the results (see their notes); apply takes all" apply.out &&
	test "$(cat ws/a.txt)" = a &&
	! test -e ws/a1 &&
	python3 -c "
import json
c = json.load(open(\"changes.json\"))
assert c.get(\"incomplete\") is True, c
added = sorted(a[\"path\"] for a in c[\"added\"])
assert added == [\"a1\", \"a2\", \"a3\", \"a4\", \"a5\", \"zbig\", \"zbig2\"], added
assert [m[\"path\"] for m in c[\"modified\"]] == [\"a.txt\"], c
unwritten = [a for a in c[\"added\"] if not a[\"pulled\"]]
assert unwritten, c
for a in unwritten:
    assert a[\"note\"].startswith(\"could not be written into the results: \"), a
" &&
	# What is in changes/ is whole: only files listed as pulled, each
	# of its recorded size.
	python3 -c "
import json, re
c = json.load(open(\"changes.json\"))
pulled = {a[\"path\"]: a[\"size\"] for a in c[\"added\"] + c[\"modified\"] if a[\"pulled\"]}
for line in open(\"ls.out\"):
    f = line.split()
    if len(f) < 9 or not line.startswith(\"-\"):
        continue
    assert f[8] in pulled and int(f[4]) == pulled[f[8]], (line, pulled)
"
'

test_done
