#!/bin/sh
# apply when a task changes what a path is (a file replaced by a directory,
# a directory tree by a file, a directory by a link and back), all or
# nothing when it fails half way; sparse files kept sparse on the way into
# a sandbox, back into the results and through apply.
. ./lib.sh

plan() {
	printf "version: 1\nname: types\ndefaults: {workspace: ws, timeout: 5m%s}\ntasks:\n  - id: t\n    run: %s\n" "${2:-}" "$1" >p.yaml
}
rd() { echo st/runs/*/tasks/t; }
# Every path under a tree with its type and content, for "nothing changed".
tree() {
	(cd "$1" && find . -printf "%y %p %l\n" | LC_ALL=C sort &&
		find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2)
}
leftovers() { find "$1" -name "*runner-apply*"; }

# chattr +i makes a rename fail even for root: the failure half way.
mkdir -p "$TRASH_ROOT/probe" && : >"$TRASH_ROOT/probe/f" &&
	chattr +i "$TRASH_ROOT/probe/f" 2>/dev/null &&
	chattr -i "$TRASH_ROOT/probe/f" && IMMUTABLE=1 || IMMUTABLE=

test_expect_success BWRAP 'a file replaced by a directory: recorded, shown, applied; --dry-run, --to, again' '
	mkdir ws && echo a >ws/a && echo keep >ws/k &&
	plan "rm a && mkdir -p a/c && echo x >a/b && seq 1 200000 >a/c/big" &&
	runner exec p.yaml --state st >out &&
	python3 - $(rd)/changes.json <<-\EOF &&
	import json, sys
	c = json.load(open(sys.argv[1]))
	assert [e["path"] for e in c["added"]] == ["a/b", "a/c/big"], c["added"]
	assert all(e["pulled"] for e in c["added"]), c["added"]
	assert [(e["path"], e["type"]) for e in c["deleted"]] == [("a", "file")], c
	assert len(c["deleted"][0]["base_sha256"]) == 64
	assert c["modified"] == []
	EOF
	runner show last t --state st >show &&
	test_grep "^  D a$" show && test_grep "^  A a/b$" show &&
	test_grep "^+++ b/a/b$" $(rd)/changes.patch && test_grep "^--- a/a$" $(rd)/changes.patch &&
	runner apply last t --state st --dry-run >dry &&
	test_grep "^D a$" dry && test_grep "^A a/b$" dry && test_grep "^A a/c/big$" dry &&
	test_grep "3 changes would be applied" dry &&
	test -f ws/a && test "$(cat ws/a)" = a &&
	cp -r ws other &&
	runner apply last t --to other --state st >out &&
	test -d other/a && test "$(cat other/a/b)" = x &&
	seq 1 200000 | cmp - other/a/c/big &&
	test -f ws/a && test "$(cat ws/a)" = a &&
	runner apply last t --state st >out &&
	test_grep "applied 3 changes" out &&
	test "$(cat ws/a/b)" = x && seq 1 200000 | cmp - ws/a/c/big &&
	test "$(cat ws/k)" = keep &&
	test -z "$(leftovers ws)" &&
	runner apply last t --state st >again &&
	test_grep "applied 0 changes" again
'

test_expect_success BWRAP 'a deep tree of many files replaced by a file' '
	mkdir -p ws && echo keep >ws/keep &&
	for i in 0 1 2 3 4 5 6 7 8 9; do
		p=ws/d/l$i/m/n$i/o/p$i/q/r$i/s &&
		mkdir -p $p &&
		for k in $(seq 1 200); do echo "$i $k" >$p/f$k || return 1; done &&
		echo top$i >ws/d/t$i || return 1
	done &&
	mkdir ws/d/empty &&
	plan "rm -rf d && echo file >d" &&
	runner exec p.yaml --state st >out &&
	python3 - $(rd)/changes.json <<-\EOF &&
	import json, sys
	c = json.load(open(sys.argv[1]))
	assert [(e["path"], e["type"]) for e in c["added"]] == [("d", "file")], c["added"]
	assert len(c["deleted"]) == 2010, len(c["deleted"])
	assert all(e["path"].startswith("d/") for e in c["deleted"])
	EOF
	runner apply last t --state st --dry-run >dry &&
	test_grep "^A d$" dry && test "$(grep -c "^D d/" dry)" = 2010 &&
	test -d ws/d &&
	cp -r ws other &&
	runner apply last t --to other --state st >out &&
	test -f other/d && test "$(cat other/d)" = file &&
	runner apply last t --state st >out &&
	test_grep "applied 2011 changes" out &&
	test -f ws/d && test "$(cat ws/d)" = file && test "$(cat ws/keep)" = keep &&
	test "$(ls -A ws | LC_ALL=C sort | tr "\n" " ")" = "d keep " &&
	runner apply last t --state st >again &&
	test_grep "applied 0 changes" again
'

test_expect_success BWRAP 'conflicts in a replaced tree or file: each named, nothing applied' '
	mkdir -p ws/d/sub && echo a >ws/a && echo 1 >ws/d/f && echo 2 >ws/d/sub/g &&
	echo "*.log" >ws/.gitignore && echo mine >ws/d/sub/build.log &&
	plan "rm a && mkdir a && echo x >a/b && rm -rf d && echo file >d" &&
	runner exec p.yaml --state st >out &&
	python3 - $(rd)/changes.json <<-\EOF &&
	import json, sys
	c = json.load(open(sys.argv[1]))
	assert sorted(e["path"] for e in c["deleted"]) == ["a", "d/f", "d/sub/g"], c
	EOF
	test_expect_code 1 runner apply last t --state st >out 2>err &&
	test_grep "^conflict: d: .*d/sub/build.log" out &&
	test_grep "nothing was changed" err &&
	rm ws/d/sub/build.log &&
	echo changed >ws/d/sub/g && echo changed >ws/a && echo new >ws/d/new &&
	tree ws >before &&
	test_expect_code 1 runner apply last t --state st >out 2>err &&
	test_grep "^conflict: d/sub/g: changed in the workspace since the task started" out &&
	test_grep "^conflict: a: changed in the workspace since the task started" out &&
	test_grep "^conflict: d: .*d/new" out &&
	test_grep -v "^conflict: a/b" out && test_grep -v "^conflict: d/f" out &&
	tree ws >after && test_cmp before after &&
	echo 2 >ws/d/sub/g && echo a >ws/a && rm ws/d/new &&
	runner apply last t --state st >out &&
	test "$(cat ws/a/b)" = x && test "$(cat ws/d)" = file
'

test_expect_success BWRAP 'a directory replaced by a link inside, a link by a directory; nothing written through a link' '
	mkdir -p ws/d ws/sub outside outside2 && echo 1 >ws/d/f && echo s >ws/sub/s &&
	ln -s ../outside ws/l &&
	plan "rm -r d && ln -s sub d && rm l && mkdir l && echo x >l/f && mkdir n && echo y >n/x" &&
	runner exec p.yaml --state st >out &&
	python3 - $(rd)/changes.json <<-\EOF &&
	import json, sys
	c = json.load(open(sys.argv[1]))
	added = {e["path"]: e for e in c["added"]}
	assert set(added) == {"d", "l/f", "n/x"}, added
	assert added["d"]["type"] == "symlink" and added["d"]["pulled"], added
	assert sorted((e["path"], e["type"]) for e in c["deleted"]) == \
		[("d/f", "file"), ("l", "symlink")], c["deleted"]
	EOF
	cp -a ws copy &&
	ln -sfn ../outside2 ws/l &&
	tree ws >before &&
	test_expect_code 1 runner apply last t --state st >out &&
	test_grep "^conflict: l: changed in the workspace" out &&
	tree ws >after && test_cmp before after &&
	test -z "$(find outside outside2 -mindepth 1)" &&
	ln -sfn ../outside ws/l &&
	runner apply last t --state st >out &&
	test -L ws/d && test "$(readlink ws/d)" = sub && test "$(cat ws/d/s)" = s &&
	test -d ws/l && ! test -L ws/l && test "$(cat ws/l/f)" = x &&
	test -z "$(find outside outside2 -mindepth 1)" &&
	ln -s ../outside copy/n && tree copy >before &&
	test_expect_code 1 runner apply last t --to copy --state st >out &&
	test_grep "^conflict: n/x: " out &&
	tree copy >after && test_cmp before after &&
	test -z "$(find outside outside2 -mindepth 1)"
'

test_expect_success BWRAP 'a directory replaced by a link out of the workspace: the link is skipped, never followed' '
	mkdir -p ws/d outside && echo 1 >ws/d/f &&
	plan "rm -r d && ln -s $TRASH/outside d" &&
	runner exec p.yaml --state st >out &&
	runner apply last t --state st >out &&
	test_grep "^skipped: d (symlink points outside the workspace)" out &&
	! test -L ws/d && ! test -e ws/d/f &&
	test -z "$(ls -A outside)"
'

if test -n "$IMMUTABLE"; then
test_expect_success BWRAP 'a failure half way through apply puts every change back' '
	mkdir -p ws/d/e && echo g >ws/gone && echo m >ws/m1 && echo z >ws/z &&
	echo a >ws/a && echo 1 >ws/d/f && echo 2 >ws/d/e/g &&
	plan "rm gone && echo new >m1 && echo new >n && echo new >z" &&
	runner exec p.yaml --state st >out &&
	tree ws >before &&
	chattr +i ws/z &&
	rc=0 && runner apply last t --state st >out 2>err || rc=$? &&
	chattr -i ws/z &&
	test $rc = 4 && cat err &&
	test_grep "nothing was changed" err &&
	tree ws >after && test_cmp before after && test -z "$(leftovers ws)" &&
	plan "rm gone && echo new >m1 && echo new >z && rm a && mkdir a && echo x >a/b && rm -r d && echo f >d" &&
	runner exec p.yaml --state st >out &&
	chattr +i ws/z &&
	rc=0 && runner apply last t --state st >out 2>err || rc=$? &&
	chattr -i ws/z &&
	test $rc = 4 && cat err &&
	test_grep "nothing was changed" err &&
	tree ws >after && test_cmp before after && test -z "$(leftovers ws)" &&
	runner apply last t --state st >out &&
	test "$(cat ws/z)" = new && test "$(cat ws/a/b)" = x && test "$(cat ws/d)" = f
'
else
	test_skip 'a failure half way through apply puts every change back' 'chattr +i does not work here'
fi

test_expect_success ROOT_MOUNT 'out of inodes half way: the directories made are removed, the rest put back' '
	mkdir ws small && echo g >ws/gone && echo m >ws/m1 &&
	plan "rm gone && echo new >m1 && mkdir -p n/deep && echo x >n/deep/f && echo y >top" &&
	runner exec p.yaml --state st >out &&
	cat >fill.sh <<-\EOF &&
	set -e
	mount -t tmpfs -o size=64m,nr_inodes=200 tmpfs small
	cp -a ws small/ws && mkdir small/filler
	# Room for the three staged files and one directory, not two.
	i=0
	while [ $(df --output=iavail small | tail -1) -gt 4 ]; do
		i=$((i + 1)) && : >small/filler/$i
	done
	(cd small/ws && find . -printf "%y %p\n" | LC_ALL=C sort && cat m1) >before
	rc=0 && "$RUNNER" apply last t --to small/ws --state st >out 2>err || rc=$?
	(cd small/ws && find . -printf "%y %p\n" | LC_ALL=C sort && cat m1) >after
	echo $rc >rc
	EOF
	unshare -m sh fill.sh &&
	cat err &&
	test "$(cat rc)" = 4 &&
	test_grep "cannot add .n/deep/f.: No space left on device; nothing was changed" err &&
	test_cmp before after
'

# A 2 GiB file with 4 MiB of data and a hole at the end, and a file that
# is all hole: a dense copy takes 2 GiB of disk.
sparse_ws() {
	mkdir -p ws && truncate -s 2G ws/big && truncate -s 100M ws/hole &&
	for o in 0 500 1200 2000; do
		head -c 1048576 /dev/urandom |
			dd of=ws/big bs=1M seek=$o conv=notrunc status=none ||
			return 1
	done
}
kib() { du -k "$1" | cut -f1; }

test_expect_success BWRAP 'a sparse file stays sparse in the sandbox, and the task is quick' '
	sparse_ws &&
	test $(kib ws/big) -lt 8192 &&
	plan "du -k big hole | cut -f1; stat -c %s big hole; sha256sum hole" &&
	start=$(date +%s) &&
	runner exec p.yaml --state st >out &&
	end=$(date +%s) &&
	cat $(rd)/output.log &&
	test "$(sed -n 1p $(rd)/output.log)" -lt 8192 &&
	test "$(sed -n 2p $(rd)/output.log)" = 0 &&
	test "$(sed -n 3p $(rd)/output.log)" = 2147483648 &&
	test "$(sed -n 4p $(rd)/output.log)" = 104857600 &&
	test "$(sed -n 5p $(rd)/output.log | cut -c1-64)" = "$(head -c 104857600 /dev/zero | sha256sum | cut -c1-64)" &&
	echo "exec took $((end - start)) s" &&
	test $((end - start)) -lt 60
'

test_expect_success BWRAP 'a sparse file the task modifies or adds comes back sparse, and apply keeps it sparse' '
	sparse_ws &&
	plan "head -c 2097152 /dev/urandom | dd of=big bs=1M seek=1500 conv=notrunc status=none && truncate -s 1G new && echo tail | dd of=new bs=1M seek=1000 conv=notrunc status=none" ", pull_limit: 4G" &&
	runner exec p.yaml --state st >out &&
	c=$(rd)/changes &&
	test $(stat -c %s $c/big) = 2147483648 && test $(kib $c/big) -lt 10240 &&
	test $(stat -c %s $c/new) = 1073741824 && test $(kib $c/new) -lt 1024 &&
	test_grep "^# big: too large to show" $(rd)/changes.patch &&
	python3 - $(rd)/changes.json $c <<-\EOF &&
	import hashlib, json, sys
	c = json.load(open(sys.argv[1]))
	assert sorted(e["path"] for e in c["added"] + c["modified"]) == ["big", "new"], c
	for e in c["added"] + c["modified"]:
	    h = hashlib.sha256()
	    with open(sys.argv[2] + "/" + e["path"], "rb") as f:
	        for b in iter(lambda: f.read(1 << 20), b""):
	            h.update(b)
	    assert h.hexdigest() == e["sha256"], e["path"]
	EOF
	runner apply last t --state st >out &&
	test $(kib ws/big) -lt 10240 && test $(kib ws/new) -lt 1024 &&
	test $(stat -c %s ws/new) = 1073741824 &&
	cmp $c/big ws/big && cmp $c/new ws/new &&
	test "$(dd if=ws/new bs=1M skip=1000 count=1 status=none | head -c 4)" = tail
'

test_done
