#!/bin/sh
# Workspace sync end to end: what goes up, what comes back, hostile
# output, the hash cache, the secret scan, changes.patch and apply.
. ./lib.sh

plan() {
	printf "version: 1\nname: sync\ndefaults: {workspace: ws%s}\ntasks:\n  - id: t\n    run: %s\n" "${2:-}" "$1" >p.yaml
}
rd() { echo st/runs/*/tasks/t; }

test_expect_success BWRAP 'what goes up: .gitignore at every level with !, exclude, .git, secret files' '
	mkdir -p ws/sub ws/.git ws/build ws/.ssh &&
	printf "*.log\n!keep.log\nbuild/\n" >ws/.gitignore &&
	printf "*.tmp\n" >ws/sub/.gitignore &&
	echo a >ws/a.log && echo k >ws/keep.log && echo b >ws/build/out &&
	echo t >ws/sub/x.tmp && echo s >ws/sub/src.c && echo g >ws/.git/HEAD &&
	echo "PASSWORD=x" >ws/.env && echo key >ws/server.pem && echo k >ws/.ssh/id_rsa &&
	echo n >ws/node.txt &&
	plan "find . -type f | sort" ", exclude: [node.txt]" &&
	runner exec p.yaml --state st >out &&
	cat >expect <<-\EOF &&
	./.gitignore
	./keep.log
	./sub/.gitignore
	./sub/src.c
	EOF
	test_cmp expect $(rd)/output.log
'

test_expect_success BWRAP 'include_git: true sends .git/ too' '
	mkdir -p ws/.git && echo g >ws/.git/HEAD &&
	plan "find . -type f | sort" ", include_git: true" &&
	runner exec p.yaml --state st >out &&
	grep -q "^./.git/HEAD$" $(rd)/output.log
'

test_expect_success BWRAP 'only added and modified files come back, plus the deleted list; pull filters' '
	mkdir -p ws/src &&
	for i in 1 2 3 4 5; do echo $i >ws/src/f$i.txt || return 1; done &&
	echo r >ws/README.md &&
	plan "echo x >>src/f1.txt; echo n >src/new.txt; echo m >NEW.md; rm src/f2.txt" ", pull: [\"*.md\"]" &&
	runner exec p.yaml --state st >out &&
	(cd $(rd)/changes && find . -type f | sort) >got &&
	echo ./NEW.md >expect && test_cmp expect got &&
	python3 - $(rd)/changes.json <<-\EOF
	import json, sys
	c = json.load(open(sys.argv[1]))
	added = {e["path"]: e for e in c["added"]}
	assert set(added) == {"NEW.md", "src/new.txt"}, added
	assert added["NEW.md"]["pulled"] and not added["src/new.txt"]["pulled"]
	assert added["src/new.txt"]["note"] == "not matched by pull"
	assert [e["path"] for e in c["modified"]] == ["src/f1.txt"]
	assert [e["path"] for e in c["deleted"]] == ["src/f2.txt"]
	assert len(c["deleted"][0]["base_sha256"]) == 64
	EOF
'

test_expect_success BWRAP 'a hostile task: links out, a fifo, .. tricks; nothing lands outside the results' '
	mkdir ws && echo a >ws/a &&
	plan "ln -s /etc/passwd abs; ln -s ../../../../outside up; ln -s a inside; mkfifo pipe; mkdir d; ln -s /tmp d/tmp; echo x >..hidden; echo ok" &&
	runner exec p.yaml --state st >out &&
	c=$(rd)/changes &&
	test -L $c/inside && test "$(readlink $c/inside)" = a &&
	! test -e $c/abs && ! test -L $c/abs &&
	! test -e $c/up && ! test -L $c/up &&
	! test -e $c/pipe &&
	! test -e $c/d/tmp && ! test -L $c/d/tmp &&
	test -f "$c/..hidden" &&
	python3 - $(rd)/changes.json <<-\EOF &&
	import json, sys
	c = json.load(open(sys.argv[1]))
	notes = {e["path"]: e.get("note") for e in c["added"]}
	assert notes["abs"] == "symlink points outside the workspace", notes
	assert notes["up"] == "symlink points outside the workspace", notes
	assert notes["d/tmp"] == "symlink points outside the workspace", notes
	assert notes["pipe"] == "fifo refused", notes
	assert notes["inside"] is None, notes
	EOF
	grep -q "\"refused\":\s*4" $(rd)/result.json &&
	! test -e ../outside && ! test -e outside
'

test_expect_success BWRAP 'pull_limit bounds the bytes that come back' '
	mkdir ws &&
	plan "head -c 300000 /dev/zero >big; echo small >small" ", pull_limit: 100K" &&
	runner exec p.yaml --state st >out &&
	test -f $(rd)/changes/small && ! test -e $(rd)/changes/big &&
	grep -q "over pull_limit" $(rd)/changes.json
'

test_expect_success BWRAP 'a task that times out still gets its partial changes back' '
	mkdir ws &&
	plan "echo partial >p.txt; sleep 30" ", timeout: 1s" &&
	test_expect_code 1 runner exec p.yaml --state st --grace 1s >out &&
	test "$(cat $(rd)/changes/p.txt)" = partial
'

test_expect_success BWRAP 'the second run over an unchanged workspace hashes no file' '
	mkdir -p ws/d &&
	for i in $(seq 50); do echo $i >ws/d/f$i || return 1; done &&
	plan "exit 0" &&
	runner exec p.yaml --state st >out1 &&
	grep -q "hashed 50 files" out1 &&
	runner exec p.yaml --state st >out2 &&
	grep -q "hashed 0 files" out2 &&
	echo changed >ws/d/f7 &&
	runner exec p.yaml --state st >out3 &&
	grep -q "hashed 1 files" out3
'

test_expect_success 'secret_scan block: a secret in a nested file stops the run before any sandbox' '
	mkdir -p ws/config/deep && echo "clean" >ws/ok.txt &&
	printf "line1\nkey = AKIA%s\n" "ABCDEFGHIJKLMNOP" >ws/config/deep/settings.py &&
	printf "version: 1\nname: s\nbackend: {isolation: none}\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: \"true\"\n" >p.yaml &&
	test_expect_code 2 runner exec p.yaml --state st 2>err &&
	test_grep "config/deep/settings.py:2: aws-access-key-id" err &&
	! grep -q ABCDEFGHIJKLMNOP err &&
	{ ! test -d st/runs || test -z "$(ls st/runs)"; }
'

test_expect_success 'secret_scan warn runs and records a warning; off skips the scan' '
	mkdir -p ws && printf "token: ghp_%s\n" "abcdefghijklmnopqrstuvwxyz0123456789" >ws/notes.md &&
	printf "version: 1\nname: s\nbackend: {isolation: none}\ndefaults: {workspace: ws, secret_scan: warn}\ntasks:\n  - id: t\n    run: \"true\"\n" >p.yaml &&
	runner exec p.yaml --state st >out &&
	grep -q "possible secret in notes.md:1 (github-token)" st/runs/*/tasks/t/result.json &&
	sed -i "s/secret_scan: warn/secret_scan: off/" p.yaml &&
	runner exec p.yaml --state st >out &&
	grep -q "scanned 0" out
'

test_expect_success BWRAP 'changes.patch is a unified diff of the text changes' '
	mkdir ws && printf "one\ntwo\n" >ws/a.txt && echo gone >ws/old.txt &&
	plan "printf \"one\\\\nTWO\\\\n\" >a.txt; rm old.txt; echo hi >new.txt" &&
	runner exec p.yaml --state st >out &&
	grep -q "^-two$" $(rd)/changes.patch &&
	grep -q "^+TWO$" $(rd)/changes.patch &&
	grep -q "^+++ b/new.txt$" $(rd)/changes.patch &&
	grep -q "^-gone$" $(rd)/changes.patch &&
	pf=$(echo "$PWD"/st/runs/*/tasks/t/changes.patch) &&
	cp -r ws ws2 && (cd ws2 && patch -p1 -s <"$pf") &&
	test "$(cat ws2/a.txt)" = "$(printf "one\nTWO")" && test -f ws2/new.txt && ! test -e ws2/old.txt
'

test_expect_success BWRAP 'apply: writes the changes, removes deletions; --dry-run and --to' '
	mkdir -p ws/src && echo a >ws/a.txt && echo d >ws/del.txt &&
	plan "echo A >a.txt; mkdir -p src/deep; echo n >src/deep/n.txt; rm del.txt" &&
	runner exec p.yaml --state st >out &&
	runner apply last t --state st --dry-run >dry &&
	test_grep "^M a.txt$" dry && test_grep "^A src/deep/n.txt$" dry && test_grep "^D del.txt$" dry &&
	test "$(cat ws/a.txt)" = a &&
	cp -r ws other &&
	runner apply last t --to other --state st >out &&
	test "$(cat other/a.txt)" = A && test -f other/src/deep/n.txt && ! test -e other/del.txt &&
	test "$(cat ws/a.txt)" = a &&
	runner apply last t --state st >out &&
	test "$(cat ws/a.txt)" = A && test -f ws/src/deep/n.txt && ! test -e ws/del.txt
'

test_expect_success BWRAP 'apply refuses on conflict, names each file, and changes nothing' '
	mkdir ws && echo a >ws/a.txt && echo b >ws/b.txt && echo c >ws/c.txt &&
	plan "echo A >a.txt; echo B >b.txt; rm c.txt; echo n >new.txt" &&
	runner exec p.yaml --state st >out &&
	echo mine >ws/b.txt && echo mine >ws/c.txt && echo other >ws/new.txt &&
	test_expect_code 1 runner apply last t --state st >out 2>err &&
	test_grep "conflict: b.txt: changed in the workspace" out &&
	test_grep "conflict: c.txt: changed in the workspace" out &&
	test_grep "conflict: new.txt: exists in the workspace and differs" out &&
	! grep -q "a.txt" out &&
	test "$(cat ws/a.txt)" = a && test "$(cat ws/b.txt)" = mine &&
	test "$(cat ws/c.txt)" = mine && test "$(cat ws/new.txt)" = other &&
	test -z "$(ls -A ws | grep runner-apply)"
'

test_expect_success 'a workspace edited after the snapshot is not shipped silently' '
	mkdir ws && echo one >ws/a.txt &&
	printf "version: 1\nname: race\nbackend: {isolation: none}\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: touch $TRASH/started; sleep 2\n  - id: u\n    depends_on: [t]\n    run: cat a.txt\n" >p.yaml &&
	{ "$RUNNER" exec p.yaml --state st >out 2>&1 & } &&
	pid=$! &&
	test_wait_for 10 "test -e started" &&
	echo "two, longer" >ws/a.txt &&
	{ wait $pid || true; } &&
	grep -q "changed after the snapshot was taken" st/runs/*/tasks/u/result.json
'

test_expect_success BWRAP 'a task that creates more files than the cap: the list stops, memory stays bounded' '
	mkdir ws &&
	printf "version: 1\nname: many\ndefaults: {workspace: ws, timeout: 5m}\ntasks:\n  - id: t\n    run: mkdir d && cd d && seq 1 100010 | xargs touch\n" >p.yaml &&
	runner exec p.yaml --state st >out &&
	grep -q "\"truncated\":\s*true" st/runs/*/tasks/t/changes.json &&
	grep -q "more than 100000 changes" st/runs/*/tasks/t/result.json
'

test_done
