#!/bin/sh
# runner apply --branch: a task's changes as one commit on a new branch of
# the workspace's git repository, on the commit the snapshot was taken
# from, the working tree and the index untouched; refused where that
# commit does not hold what the snapshot held; --all with a pattern. And
# the plan's on_done: hook, run on the host after the run without the
# secrets, its failure a warning only.
. ./lib.sh

# Each body has a HOME of its own: git's config is named instead.
export GIT_CONFIG_GLOBAL="$TRASH_ROOT/gitconfig" GIT_CONFIG_NOSYSTEM=1
git config --global user.name "Some One" &&
	git config --global user.email one@example.org &&
	git config --global init.defaultBranch main

plan() {
	printf "version: 1\nname: br\ndefaults: {workspace: %s, timeout: 5m}\ntasks:\n  - id: t\n    run: %s\n" "$1" "$2" >p.yaml
}
repo() {
	git init -q "$1" && (cd "$1" && git add -A && git commit -qm base)
}
# What must not move: the index (time and bytes), the working tree's
# status (taken without refreshing the index), HEAD and the files.
still() {
	(cd "$1" && stat -c "%y %s" .git/index && sha256sum .git/index &&
		GIT_OPTIONAL_LOCKS=0 git status --porcelain=v1 -z | od -c &&
		git rev-parse HEAD && git symbolic-ref HEAD &&
		find . -path ./.git -prune -o -printf "%y %p %l\n" | LC_ALL=C sort &&
		find . -path ./.git -prune -o -type f -exec sha256sum {} + | LC_ALL=C sort -k2)
}
rid() { basename st/runs/*; }

test_expect_success BWRAP,GIT 'a task as one commit on a new branch: tree = base + changes, nothing else moved' '
	mkdir ws && echo a >ws/a && echo b >ws/b && mkdir ws/d && echo c >ws/d/c &&
	ln -s a ws/l && echo "#!/bin/sh" >ws/x && chmod +x ws/x &&
	repo ws && base=$(git -C ws rev-parse HEAD) &&
	plan ws "\"echo new >a && rm b && printf nl >\\\"n\\nl\\\" && echo e >e && chmod +x e && rm l && ln -s d l2 && rm -r d && echo file >d\"" &&
	runner exec p.yaml --state st >out &&
	python3 - st/runs/*/tasks/t/changes.json "$base" <<-\EOF &&
	import json, sys
	c = json.load(open(sys.argv[1]))
	assert c["git"] == {"commit": sys.argv[2], "dirty": False}, c.get("git")
	EOF
	runner show last t --state st >show &&
	test_grep "^git:      $base$" show &&
	still ws >before &&
	sleep 1 &&
	runner apply last t --branch "runner/{run}/{task}" --state st >out &&
	br=runner/$(rid)/t &&
	test_grep "^branch $br: .*, 8 changes of t on ${base%${base#????????????}}" out &&
	still ws >after && test_cmp before after &&
	test "$(git -C ws rev-parse $br^)" = "$base" &&
	test "$(git -C ws rev-list --count $base..$br)" = 1 &&
	test "$(git -C ws show $br:a)" = new &&
	test_must_fail git -C ws cat-file -e $br:b &&
	git -C ws ls-tree $br -- e l2 x d >modes &&
	test_grep "^100755 blob .*	e$" modes && test_grep "^120000 blob .*	l2$" modes &&
	test_grep "^100755 blob .*	x$" modes && test_grep "^100644 blob .*	d$" modes &&
	test "$(git -C ws cat-file blob $br:l2)" = d &&
	python3 - ws $br <<-\EOF &&
	import subprocess, sys
	git = ["git", "-C", sys.argv[1]]
	out = subprocess.run(git + ["ls-tree", "-r", "-z", sys.argv[2]], capture_output=True, check=True).stdout
	names = {e.split(b"\t", 1)[1]: e.split()[2] for e in out.split(b"\0") if e}
	assert sorted(names) == [b"a", b"d", b"e", b"l2", b"n\nl", b"x"], names
	blob = subprocess.run(git + ["cat-file", "blob", names[b"n\nl"]], capture_output=True, check=True).stdout
	assert blob == b"nl", blob
	EOF
	cp -a ws expect && git -C expect reset -q --hard &&
	runner apply last t --to expect --state st >/dev/null &&
	git -C expect add -A &&
	test "$(git -C expect write-tree)" = "$(git -C ws rev-parse $br^{tree})" &&
	test "$(git -C ws log -1 --format="%an <%ae>" $br)" = "runner task t <t@runner.invalid>" &&
	test "$(git -C ws log -1 --format="%cn" $br)" = "Some One" &&
	git -C ws log -1 --format=%B $br >msg &&
	test_grep "^t: changes from runner run $(rid)$" msg &&
	test_grep "^Runner-Task: t$" msg && test_grep "^Runner-Run: $(rid)$" msg
'

test_expect_success BWRAP,GIT 'many files: the same tree as apply makes, and quickly' '
	mkdir -p ws/src && for i in $(seq 1 1500); do echo $i >ws/src/f$i || return 1; done &&
	repo ws &&
	plan ws "\"for i in \$(seq 1 600); do echo x >>src/f\$i; echo n >src/n\$i; done; rm src/f1500\"" &&
	runner exec p.yaml --state st >out &&
	start=$(date +%s) &&
	runner apply last t --branch many --state st >out &&
	test $(($(date +%s) - start)) -lt 10 &&
	test_grep "1201 changes of t" out &&
	cp -a ws expect && runner apply last t --to expect --state st >/dev/null &&
	git -C expect add -A &&
	test "$(git -C expect write-tree)" = "$(git -C ws rev-parse many^{tree})"
'

test_expect_success BWRAP,GIT 'a branch that exists, a bad name, no git: refused, nothing made' '
	mkdir ws && echo a >ws/a && repo ws &&
	plan ws "\"echo new >a\"" &&
	runner exec p.yaml --state st >out &&
	runner apply last t --branch mine --state st >out &&
	tip=$(git -C ws rev-parse mine) &&
	test_expect_code 1 runner apply last t --branch mine --state st >out 2>err &&
	test_grep "branch .mine. exists already" err &&
	test "$(git -C ws rev-parse mine)" = "$tip" &&
	for bad in "a..b" "-x" "HEAD" "x.lock" "a b" "x{y}"; do
		test_expect_code 1 runner apply last t --branch "$bad" --state st 2>err ||
		test_expect_code 2 runner apply last t --branch "$bad" --state st 2>err || return 1
	done &&
	test_grep "branch name" err &&
	test "$(git -C ws for-each-ref | wc -l)" = 2 &&
	mkdir plain && echo a >plain/a && plan plain "\"echo new >a\"" &&
	runner exec p.yaml --state st2 >out &&
	test_expect_code 1 runner apply last t --branch x --state st2 2>err &&
	test_grep "recorded no git commit" err
'

test_expect_success BWRAP,GIT 'the message: the agent'"'"'s final text when result.json has one, control characters dropped' '
	mkdir ws && echo a >ws/a && repo ws &&
	plan ws "\"echo new >a\"" &&
	runner exec p.yaml --state st >out &&
	python3 - st/runs/*/tasks/t/result.json <<-\EOF &&
	import json, sys
	r = json.load(open(sys.argv[1]))
	r["agent"] = {"result": "success", "final_text": "Fixed the \x1b[31mlint\x1b[0m warnings in a\n\nThree of them.\n"}
	json.dump(r, open(sys.argv[1], "w"))
	EOF
	runner apply last t --branch agent --state st >out &&
	git -C ws log -1 --format=%B agent >msg &&
	test "$(head -n 1 msg)" = "t: Fixed the [31mlint[0m warnings in a" &&
	test_grep "^Three of them.$" msg &&
	test_grep "^Runner-Task: t$" msg &&
	test_grep -v "$(printf "\033")" msg
'

test_expect_success BWRAP,GIT 'a dirty snapshot: refused where the task changed what was not committed' '
	mkdir ws && echo a >ws/a && echo b >ws/b && repo ws &&
	echo uncommitted >ws/a && echo untracked >ws/u &&
	printf "version: 1\nname: br\ndefaults: {workspace: ws, timeout: 5m}\ntasks:\n  - {id: t, run: \"echo new >a\"}\n  - {id: u, run: \"rm u\"}\n  - {id: v, run: \"echo new >b && echo n >n\"}\n" >p.yaml &&
	runner exec p.yaml --state st >out &&
	grep -q "\"dirty\":	true" st/runs/*/tasks/t/changes.json &&
	runner show last t --state st >show &&
	test_grep "^git:      $(git -C ws rev-parse HEAD) (the workspace had uncommitted changes)$" show &&
	still ws >before &&
	test_expect_code 1 runner apply last t --branch t --state st >out 2>err &&
	test_grep "^conflict: t: a: differs between the base commit and the snapshot" out &&
	test_grep "no branch was made" err &&
	test_expect_code 1 runner apply last u --branch u --state st >out 2>err &&
	test_grep "^conflict: u: u: is not in the base commit" out &&
	test_must_fail git -C ws rev-parse -q --verify refs/heads/t &&
	test_must_fail git -C ws rev-parse -q --verify refs/heads/u &&
	runner apply last v --branch v --state st >out &&
	test_grep "note: v: the workspace was not clean" out &&
	test "$(git -C ws show v:a)" = a && test "$(git -C ws show v:b)" = new &&
	test "$(git -C ws show v:n)" = n && test_must_fail git -C ws cat-file -e v:u &&
	still ws >after && test_cmp before after &&
	echo taken >ws/n && git -C ws add n && git -C ws commit -qm n &&
	rm -rf ws/.git && git init -q ws && git -C ws commit -q --allow-empty -m other &&
	test_expect_code 1 runner apply last v --branch v2 --state st 2>err &&
	test_grep "is not in the repository" err
'

test_expect_success BWRAP,GIT '--all with a pattern: a branch per task, each on the base, in a sub-directory of the repository' '
	mkdir -p repo/sub && echo top >repo/top && echo a >repo/sub/a && echo b >repo/sub/b &&
	repo repo && base=$(git -C repo rev-parse HEAD) &&
	printf "version: 1\nname: br\ndefaults: {workspace: repo/sub, timeout: 5m}\ntasks:\n  - {id: t1, run: \"echo 1 >a\"}\n  - {id: t2, run: \"echo 2 >b && rm a\"}\n  - {id: t3, run: \"echo 3 >a && exit 1\"}\n  - {id: t4, run: \"true\"}\n" >p.yaml &&
	test_expect_code 1 runner exec p.yaml --state st >out &&
	test_expect_code 2 runner apply last --all --branch "night/x" --state st 2>err &&
	test_grep "needs {task}" err &&
	test_expect_code 1 runner apply last --all --dry-run --state st >out &&
	test_grep "held back: t1: a is changed by t2 too" out &&
	runner apply last --all --branch "night/{run}/{task}" --dry-run --state st >out &&
	test_grep "dry run: 2 branches made" out &&
	test "$(git -C repo for-each-ref | wc -l)" = 1 &&
	runner apply last --all --branch "night/{run}/{task}" --state st >out &&
	test_grep "^held back: t3 (failed)$" out &&
	test_grep "2 branches made, 0 refused" out &&
	n=night/$(rid) &&
	test "$(git -C repo rev-parse $n/t1^)" = "$base" &&
	test "$(git -C repo rev-parse $n/t2^)" = "$base" &&
	test "$(git -C repo show $n/t1:sub/a)" = 1 && test "$(git -C repo show $n/t1:sub/b)" = b &&
	test "$(git -C repo show $n/t2:sub/b)" = 2 &&
	test_must_fail git -C repo cat-file -e $n/t2:sub/a &&
	test "$(git -C repo show $n/t2:top)" = top &&
	test_grep "^held back: t4 (no changes)$" out &&
	test_must_fail git -C repo rev-parse -q --verify $n/t4 &&
	test_must_fail git -C repo rev-parse -q --verify $n/t3 &&
	test_expect_code 1 runner apply last --all --branch "night/{run}/{task}" --state st >out &&
	test_grep "0 branches made, 2 refused" out
'

test_expect_success BWRAP 'on_done: run after the results, with the run in its environment and not the secrets' '
	mkdir ws && echo a >ws/a &&
	cat >p.yaml <<-\EOF &&
	version: 1
	name: hook
	on_done: "env >hook-env; test -f \"$RUNNER_RESULTS/run.json\" && echo has-results; echo said \"$MY_TOKEN\""
	tasks:
	  - id: t
	    workspace: ws
	    run: "echo x >a"
	    secrets: [MY_TOKEN]
	EOF
	MY_TOKEN=s3cr3t-value-1234 OTHER_VAR=keep-out runner exec p.yaml --state st >out &&
	test_grep "^RUNNER_RUN_ID=$(rid)$" hook-env &&
	test_grep "^RUNNER_RESULTS=.*/st/runs/$(rid)$" hook-env &&
	test_grep "^RUNNER_STATUS=succeeded$" hook-env &&
	test_grep "^RUNNER_EXIT_CODE=0$" hook-env &&
	test_grep "^RUNNER_STATE=/" hook-env &&
	test_grep "^PATH=" hook-env && test_grep "^HOME=" hook-env &&
	test_grep -v "MY_TOKEN" hook-env && test_grep -v "s3cr3t" hook-env &&
	test_grep -v "OTHER_VAR" hook-env &&
	test_grep "^has-results$" st/runs/*/on_done.log &&
	test_grep "^said $" st/runs/*/on_done.log
'

test_expect_success BWRAP 'on_done failing or timing out: a warning and an event, the exit code stays' '
	mkdir ws && echo a >ws/a &&
	printf "version: 1\nname: hook\non_done: \"echo oops; exit 3\"\ntasks:\n  - {id: t, workspace: ws, run: \"true\"}\n" >p.yaml &&
	runner exec p.yaml --state st >out 2>err &&
	test_grep "on_done failed with status 3" err &&
	test_grep "^oops$" st/runs/*/on_done.log &&
	grep -q "\"status\":	\"succeeded\"" st/runs/*/run.json &&
	runner exec p.yaml --state st --json >events 2>/dev/null &&
	test_grep "\"event\":\"on_done_failed\"" events &&
	printf "version: 1\nname: hook\non_done: \"echo oops; exit 3\"\ntasks:\n  - {id: t, workspace: ws, run: \"exit 1\"}\n" >p.yaml &&
	test_expect_code 1 runner exec p.yaml --state st >out 2>err &&
	test_grep "on_done failed" err &&
	printf "version: 1\nname: hook\non_done: {run: \"sleep 60\", timeout: 1s}\ntasks:\n  - {id: t, workspace: ws, run: \"true\"}\n" >p.yaml &&
	start=$(date +%s) &&
	runner exec p.yaml --state st >out 2>err &&
	test $(($(date +%s) - start)) -lt 20 &&
	test_grep "on_done timed out" err
'

test_expect_success BWRAP,GIT 'on_done makes the branches and pushes them to a remote' '
	git init -q --bare remote.git &&
	mkdir repo && echo a >repo/a && repo repo &&
	git -C repo remote add origin ../remote.git &&
	cat >p.yaml <<-\EOF &&
	version: 1
	name: hook
	on_done: >-
	  runner apply "$RUNNER_RUN_ID" --all --branch "runner/{run}/{task}" --state "$RUNNER_STATE" &&
	  git -C repo push -q origin "refs/heads/runner/$RUNNER_RUN_ID/*:refs/heads/runner/$RUNNER_RUN_ID/*"
	tasks:
	  - {id: t1, workspace: repo, run: "echo 1 >a"}
	  - {id: t2, workspace: repo, run: "echo 2 >b"}
	EOF
	PATH="$RUNNER_BUILD:$PATH" runner exec p.yaml --state st >out 2>err &&
	test_grep -v "on_done failed" err &&
	test_grep "2 branches made" st/runs/*/on_done.log &&
	test "$(git -C remote.git show runner/$(rid)/t1:a)" = 1 &&
	test "$(git -C remote.git show runner/$(rid)/t2:b)" = 2 &&
	test "$(git -C remote.git rev-parse runner/$(rid)/t2^)" = "$(git -C repo rev-parse HEAD)"
'

test_expect_success 'on_done: validated, with where' '
	printf "version: 1\nname: h\non_done: 5\ntasks:\n  - {id: t, run: \"true\"}\n" >p.yaml &&
	test_expect_code 2 runner validate p.yaml 2>err &&
	test_grep "p.yaml:3:10: on_done: expected a command" err &&
	printf "version: 1\nname: h\non_done: {run: x, timeout: soon, when: always}\ntasks:\n  - {id: t, run: \"true\"}\n" >p.yaml &&
	test_expect_code 2 runner validate p.yaml 2>err &&
	test_grep "p.yaml:3:.*timeout.*duration" err &&
	test_grep "p.yaml:3:.*when" err &&
	printf "version: 1\nname: h\non_done: {timeout: 1m}\ntasks:\n  - {id: t, run: \"true\"}\n" >p.yaml &&
	test_expect_code 2 runner validate p.yaml 2>err &&
	test_grep "p.yaml:3:10: on_done: missing required key .run." err &&
	printf "version: 1\nname: h\non_done: {run: \"git push origin HEAD\", timeout: 2m}\ntasks:\n  - {id: t, run: \"true\"}\n" >p.yaml &&
	runner validate p.yaml
'

test_done
