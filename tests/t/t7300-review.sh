#!/bin/sh
# The morning review: `runner review` shows every task of a run with its
# flags, files and diff, then the matrix of tasks that changed the same
# files (overlapping hunks or not); `runner apply RUN --all` applies what
# conflicts with nothing, each task all or nothing, and says what it held
# back; the report's review section says the same, checked in headless
# Chromium (--dump-dom), and hostile names stay text.
. ./lib.sh

export MY_TOKEN=tok-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')

# A workspace: src/a.c of 50 lines, a Makefile with a test target, a
# 300-line file and six docs to delete.
setup() {
	mkdir -p ws/src ws/docs ws/etc &&
	seq 1 50 >ws/src/a.c && echo b >ws/src/b.c &&
	printf "test:\n\ttrue\n" >ws/Makefile &&
	seq 1 300 >ws/big.txt &&
	for i in 1 2 3 4 5 6; do echo $i >ws/docs/d$i || return 1; done &&
	cat >p.yaml <<-\EOF
	version: 1
	name: nightly
	defaults: {workspace: ws, timeout: 5m}
	tasks:
	  - id: top
	    run: sed -i "s/^5$/five/" src/a.c && make test
	  - id: bottom
	    run: sed -i "s/^45$/forty-five/" src/a.c
	  - id: clash
	    run: sed -i "s/^6$/six/" src/a.c
	  - id: wipe
	    run: rm big.txt docs/d* && echo new >docs/index.md
	  - id: leak
	    secrets: [MY_TOKEN]
	    run: echo "token=$MY_TOKEN" >leak.txt && echo ok >fine.txt
	  - id: solo
	    run: echo more >>src/b.c && if [ -f second ]; then echo y >etc/conf; fi
	  - id: broken
	    run: echo half >half.txt && exit 3
	EOF
	{ runner exec p.yaml --state st >exec.out || test $? = 1; }
}

# A run whose task names its files to fool a terminal and a page.
evil() {
	mkdir -p ev && echo x >ev/f &&
	cat >e.yaml <<-\EOF &&
	version: 1
	name: evil
	defaults: {workspace: ev, timeout: 5m}
	tasks:
	  - id: a
	    run: printf "x\n" >"$(printf "red\033[31mX")" && echo "<i>y" >"<i>x.txt" && echo 1 >f
	  - id: b
	    run: echo 2 >f
	EOF
	runner exec e.yaml --state evst >/dev/null
}

test_expect_success BWRAP 'review: flags, files and the conflict matrix, line by line' '
	setup &&
	runner review --state st --no-diff >out &&
	grep -E "^(==|flags:|tests:|changes:|  [AMD] )" out >got &&
	cat >want <<-\EOF &&
	== top succeeded
	flags: conflict
	tests: ran (make test)
	changes: 0 added, 1 modified, 0 deleted, 0 refused; +1 -1 lines
	  M src/a.c  +1 -1
	== bottom succeeded
	flags: no-tests, conflict
	tests: none seen
	changes: 0 added, 1 modified, 0 deleted, 0 refused; +1 -1 lines
	  M src/a.c  +1 -1
	== clash succeeded
	flags: no-tests, conflict
	tests: none seen
	changes: 0 added, 1 modified, 0 deleted, 0 refused; +1 -1 lines
	  M src/a.c  +1 -1
	== wipe succeeded
	flags: large-deletion, no-tests
	tests: none seen
	changes: 1 added, 0 modified, 7 deleted, 0 refused; +1 -306 lines
	  D big.txt  +0 -300
	  D docs/d1  +0 -1
	  D docs/d2  +0 -1
	  D docs/d3  +0 -1
	  D docs/d4  +0 -1
	  D docs/d5  +0 -1
	  D docs/d6  +0 -1
	  A docs/index.md  +1 -0
	== leak succeeded
	flags: refused, secret, no-tests
	tests: none seen
	changes: 2 added, 0 modified, 0 deleted, 1 refused; +1 -0 lines
	  A fine.txt  +1 -0
	  A leak.txt  refused: contains the value of secret MY_TOKEN
	== solo succeeded
	flags: no-tests
	tests: none seen
	changes: 0 added, 1 modified, 0 deleted, 0 refused; +1 -0 lines
	  M src/b.c  +1 -0
	== broken failed: exited with status 3
	flags: no-tests
	tests: none seen
	changes: 1 added, 0 modified, 0 deleted, 0 refused; +1 -0 lines
	  A half.txt  +1 -0
	EOF
	test_cmp want got &&
	sed -n "/^conflicts:/,\$p" out >got &&
	cat >want <<-\EOF &&
	conflicts: tasks that changed the same files
	       1  2  3
	   1   -  ~  X  top
	   2   ~  -  ~  bottom
	   3   X  ~  -  clash
	  X overlapping changes, ~ the same files, other hunks, = the same change
	  top and bottom: src/a.c: same file (different hunks of it)
	  top and clash: src/a.c: overlap (hunks overlap at lines 3-8)
	  bottom and clash: src/a.c: same file (different hunks of it)
	EOF
	test_cmp want got &&
	test_grep "^run .* of plan nightly: failed; 7 tasks, 7 with changes, 7 flagged$" out &&
	test_grep -v "$MY_TOKEN" out
'

test_expect_success BWRAP,PYTHON3 'review --json: the same flags, files and conflicts, for scripts' '
	setup &&
	runner review --json --state st >out.json &&
	python3 - "$MY_TOKEN" >got <<-\PY &&
	import json, sys
	r = json.load(open("out.json"))
	assert r["plan"] == "nightly" and r["status"] == "failed", r
	for t in r["tasks"]:
	    c = t["changes"]
	    print(t["id"], t["status"], ",".join(t["flags"]), t["tests"],
	          c["added"], c["modified"], c["deleted"], c["refused"],
	          c["lines_added"], c["lines_removed"])
	    for f in c["files"]:
	        print(" ", f["change"], f["path"], f["pulled"], f["refused"],
	              f["secret"], f["note"], "diff" in f and f["diff"] is not None)
	for c in r["conflicts"]:
	    print("conflict", c["a"], c["b"], c["path"], c["verdict"], c["why"])
	assert sys.argv[1] not in open("out.json").read()
	PY
	cat >want <<-\EOF &&
	top succeeded conflict make test 0 1 0 0 1 1
	  modified src/a.c True False False None True
	bottom succeeded no-tests,conflict None 0 1 0 0 1 1
	  modified src/a.c True False False None True
	clash succeeded no-tests,conflict None 0 1 0 0 1 1
	  modified src/a.c True False False None True
	wipe succeeded large-deletion,no-tests None 1 0 7 0 1 306
	  deleted big.txt True False False None True
	  deleted docs/d1 True False False None True
	  deleted docs/d2 True False False None True
	  deleted docs/d3 True False False None True
	  deleted docs/d4 True False False None True
	  deleted docs/d5 True False False None True
	  deleted docs/d6 True False False None True
	  added docs/index.md True False False None True
	leak succeeded refused,secret,no-tests None 2 0 0 1 1 0
	  added fine.txt True False False None True
	  added leak.txt False True True contains the value of secret MY_TOKEN False
	solo succeeded no-tests None 0 1 0 0 1 0
	  modified src/b.c True False False None True
	broken failed no-tests None 1 0 0 0 1 0
	  added half.txt True False False None True
	conflict top bottom src/a.c same file different hunks of it
	conflict top clash src/a.c overlap hunks overlap at lines 3-8
	conflict bottom clash src/a.c same file different hunks of it
	EOF
	test_cmp want got &&
	runner review --json --no-diff --state st >nodiff.json &&
	python3 -c "
import json
r = json.load(open(\"nodiff.json\"))
assert all(\"diff\" not in f for t in r[\"tasks\"] for f in t[\"changes\"][\"files\"])
assert r[\"tasks\"][0][\"changes\"][\"files\"][0][\"sha256\"]
" &&
	evil &&
	runner review --json --state evst >evil.json &&
	python3 -c "
import base64, json
r = json.load(open(\"evil.json\"))
names = [base64.b64decode(f[\"path_b64\"]) if \"path_b64\" in f else f[\"path\"].encode()
         for f in r[\"tasks\"][0][\"changes\"][\"files\"]]
assert b\"red\\033[31mX\" in names, names
" &&
	! grep -q "$(printf "\033")" evil.json
'

test_expect_success BWRAP 'review shows the diffs inline; a deleted file only its head' '
	setup &&
	runner review last --state st >out &&
	test_grep "^    @@ -2,7 +2,7 @@$" out &&
	test_grep "^    -5$" out && test_grep "^    +five$" out &&
	test_grep "^    +forty-five$" out &&
	test_grep "^    --- a/big.txt$" out && test_grep "^    -1$" out &&
	test_grep -v "^    -300$" out &&
	test_grep "^    ... 295 more lines$" out
'

test_expect_success BWRAP 'outside-area: a file where none of the earlier runs changed one' '
	setup &&
	: >ws/second &&
	{ runner exec p.yaml --state st --only solo >exec2.out || test $? = 1; } &&
	runner review --state st --no-diff >out &&
	test_grep "^flags: outside-area, no-tests$" out &&
	test_grep "^usual area (1 earlier run): src$" out &&
	test_grep "^  A etc/conf  +1 -0  \[outside-area\]$" out &&
	test_grep "^  M src/b.c  +1 -0$" out
'

test_expect_success BWRAP 'apply --all: what conflicts with nothing, each all or nothing; what it held back' '
	setup &&
	cp -r ws before &&
	test_expect_code 1 runner apply last --all --state st --dry-run >dry &&
	test_grep "^dry run: would apply 3 tasks, held back 4$" dry &&
	diff -r before ws &&
	test_expect_code 1 runner apply last --all --state st >out &&
	grep -E "^(==|held back:|applied)" out >got &&
	cat >want <<-\EOF &&
	== wipe
	applied 8 changes to '\''$PWD/ws'\''
	== leak
	applied 1 change to '\''$PWD/ws'\''
	== solo
	applied 1 change to '\''$PWD/ws'\''
	held back: top: src/a.c is changed by bottom too (different hunks of it); src/a.c is changed by clash too (hunks overlap at lines 3-8)
	held back: bottom: src/a.c is changed by top too (different hunks of it); src/a.c is changed by clash too (different hunks of it)
	held back: clash: src/a.c is changed by top too (hunks overlap at lines 3-8); src/a.c is changed by bottom too (different hunks of it)
	held back: broken: it did not succeed (failed)
	applied 3 tasks, held back 4
	EOF
	sed "s|\$PWD|$PWD|" want >want.pwd &&
	test_cmp want.pwd got &&
	test_grep "^skipped: leak.txt (contains the value of secret MY_TOKEN)$" out &&
	test "$(cat ws/src/a.c)" = "$(seq 1 50)" &&
	test "$(cat ws/src/b.c)" = "$(printf "b\nmore")" &&
	test ! -e ws/big.txt && test ! -e ws/docs/d1 &&
	test "$(cat ws/docs/index.md)" = new &&
	test "$(cat ws/fine.txt)" = ok && test ! -e ws/leak.txt &&
	test ! -e ws/half.txt &&
	test_expect_code 2 runner apply last top --all --state st 2>err &&
	test_grep "apply --all takes RUN alone" err
'

test_expect_success BWRAP 'apply --all: a task whose files moved in the workspace is held back whole' '
	setup &&
	echo changed >ws/docs/d3 &&
	test_expect_code 1 runner apply last --all --state st >out &&
	test_grep "^conflict: docs/d3: changed in the workspace since the task started$" out &&
	test_grep "^held back: wipe: conflicts in the workspace (listed above); nothing of it was applied$" out &&
	test -e ws/big.txt && test ! -e ws/docs/index.md &&
	test "$(cat ws/fine.txt)" = ok
'

test_expect_success BWRAP 'hostile names: escaped in review, text on the page' '
	evil &&
	runner review --state evst >out &&
	test_grep "^  A \"red\\\\033\\[31mX\"  (name cannot be written into a diff; not in changes.patch)$" out &&
	! grep -q "$(printf "\033")" out &&
	runner report last --state evst -o page.html >/dev/null &&
	test_grep "&lt;i&gt;x.txt" page.html &&
	test_grep -v "<i>x.txt" page.html &&
	test_grep -v "<i>y" page.html
'

# The page as Chromium builds it: the review section, its flags, the
# matrix, the diff lines; nothing of a hostile name became markup.
test_expect_success BWRAP,CHROMIUM,PYTHON3 'the report in headless Chromium: review section and matrix' '
	setup && evil &&
	runner report last --state st >/dev/null &&
	runner report last --state evst >/dev/null &&
	timeout 120 chromium --headless --no-sandbox --disable-gpu \
		--dump-dom "file://$(echo "$PWD"/evst/runs/*/report.html)" >evil.html 2>chromium.err &&
	python3 - evil.html <<-\EOF &&
	import sys
	from html.parser import HTMLParser
	class P(HTMLParser):
	    def __init__(s):
	        super().__init__(); s.text = []
	    def handle_starttag(s, tag, attrs):
	        # The <i> of the page itself are legend swatches (class "sw").
	        if tag == "i" and "sw" not in (dict(attrs).get("class") or ""):
	            raise SystemExit("an <i> element: a name became markup")
	    def handle_data(s, d):
	        s.text.append(d)
	p = P(); p.feed(open(sys.argv[1]).read())
	assert "<i>x.txt" in p.text, "the name is not shown as text"
	assert "+<i>y" in p.text, "the diff line is not shown as text"
	EOF
	page=$(echo "$PWD"/st/runs/*/report.html) &&
	timeout 120 chromium --headless --no-sandbox --disable-gpu \
		--dump-dom "file://$page" >dom.html 2>chromium.err &&
	python3 - dom.html <<-\EOF
	import sys
	from html.parser import HTMLParser
	class P(HTMLParser):
	    def __init__(s):
	        super().__init__(); s.stack = []; s.flags = {}; s.cells = []
	        s.text = {}; s.diff = []
	    def handle_starttag(s, tag, attrs):
	        a = dict(attrs); s.stack.append((tag, a))
	        if tag == "section" and "data-flags" in a:
	            s.flags[a["id"]] = a["data-flags"]
	    def handle_endtag(s, tag):
	        while s.stack and s.stack.pop()[0] != tag: pass
	    def handle_data(s, d):
	        tags = [t for t, _ in s.stack]; cls = [a.get("class", "") for _, a in s.stack]
	        if "table" in tags and any("cx-" in c for c in cls[-1:]):
	            s.cells.append((cls[-1], d))
	        if "pre" in tags and tags[-1] == "span":
	            s.diff.append(d)
	p = P(); p.feed(open(sys.argv[1]).read())
	want = {"review-top": "conflict", "review-bottom": "no-tests conflict",
	        "review-clash": "no-tests conflict", "review-wipe": "large-deletion no-tests",
	        "review-leak": "refused secret no-tests", "review-solo": "no-tests",
	        "review-broken": "no-tests"}
	assert p.flags == want, p.flags
	assert [c for c in p.cells if c[0] == "cx-overlap"] == [("cx-overlap", "X")] * 2, p.cells
	assert [c for c in p.cells if c[0] == "cx-file"] == [("cx-file", "~")] * 4, p.cells
	for line in ("@@ -2,7 +2,7 @@", "-5", "+five", "+forty-five", "+six"):
	    assert line in p.diff, line
	EOF
'

test_done
