#!/bin/sh
# runner report: a self-contained HTML page of a run (summary, timeline of
# attempts, cap waits, task table with links), checked on real runs, and
# rendered by headless Chromium when it is installed.
. ./lib.sh

SHARED="$TRASH_ROOT/shared"

# A state with one run of every outcome: succeeded, failed, retried then
# succeeded, skipped by a failed dependency, timed out. The plan file's
# name carries markup and quotes, to be escaped in the page.
make_shared_run() {
	mkdir -p "$SHARED/ws" &&
	echo hello >"$SHARED/ws/a.txt" &&
	echo gone >"$SHARED/ws/old.txt" &&
	cat >"$SHARED/p<&\"'>.yaml" <<-\EOF &&
	version: 1
	name: report-demo
	backend: {isolation: none}
	limits: {concurrency: 4, cost_per_hour_usd: 0.5}
	defaults:
	  workspace: ws
	tasks:
	  - id: ok
	    run: echo changed > a.txt; echo new > b.txt; rm old.txt; sleep 0.2
	  - id: bad
	    run: echo oops; exit 3
	  - id: flaky
	    retries: 1
	    retry_backoff: 200ms
	    run: test "$RUNNER_ATTEMPT" -ge 2
	  - id: after-bad
	    depends_on: [bad]
	    run: "true"
	  - id: slow
	    timeout: 1s
	    run: sleep 5
	EOF
	(cd "$SHARED" && test_expect_code 1 "$RUNNER" exec "p<&\"'>.yaml" \
		--state st >exec.out 2>&1)
}

# copy_shared: a private copy of the shared state in the current directory.
copy_shared() {
	cp -a "$SHARED/st" "$SHARED/ws" . &&
	run=$(ls st/runs) &&
	abs=$(cd "st/runs/$run" && pwd -P)
}

# poison STATE: markup and quotes in a reason, a warning and a cap wait.
poison() {
	sqlite3 "$1/runner.db" <<-\EOF
	UPDATE tasks SET reason = '<script>alert("x")</script> & ''q'''
	 WHERE id = 'bad';
	INSERT INTO events (at, run_id, task_id, level, kind, message)
	 SELECT started_at + 1, id, 'ok', 'warn', 'warning',
	  'ran past <img src=x onerror=alert(1)> "30m"' FROM runs;
	INSERT INTO events (at, run_id, task_id, level, kind, message)
	 SELECT started_at + 2, id, NULL, 'info', 'cap_wait',
	  'per_hour cap <b>reached</b>; waiting' FROM runs;
	EOF
}

# attempts_are N: st/runner.db has N attempts (for test_wait_for).
attempts_are() {
	test "$(sqlite3 st/runner.db "select count(*) from attempts" \
		2>/dev/null)" = "$1"
}

# self_contained FILE: nothing in the page makes a browser fetch anything:
# no element that loads, every URL a fragment, a task file (relative) or
# file:///, no CSS url() but fragments, no @import, no http(s) anywhere.
self_contained() {
	python3 - "$1" <<-\EOF
	import re, sys
	from html.parser import HTMLParser
	LOADERS = {"script", "link", "img", "iframe", "frame", "object", "embed",
	           "video", "audio", "source", "track", "base", "image", "use",
	           "feimage", "foreignobject", "form", "input"}
	URL_ATTRS = {"src", "srcset", "href", "xlink:href", "action", "data",
	             "poster", "background", "formaction", "ping"}
	def css_ok(text):
	    urls = re.findall(r"url\(\s*([^)]*)\)", text)
	    return "@import" not in text and all(u.startswith("#") for u in urls)
	class Check(HTMLParser):
	    def __init__(self):
	        super().__init__()
	        self.bad, self.in_style = [], False
	    def handle_starttag(self, tag, attrs):
	        if tag in LOADERS:
	            self.bad.append("<%s>" % tag)
	        if tag == "meta" and dict(attrs).get("http-equiv", "").lower() == "refresh":
	            self.bad.append("meta refresh")
	        for k, v in attrs:
	            v = v or ""
	            if k in URL_ATTRS and not re.match(r"#|tasks/|file:///", v):
	                self.bad.append("%s=%s" % (k, v))
	            if k == "style" and not css_ok(v):
	                self.bad.append("style=%s" % v)
	            if k.startswith("on"):
	                self.bad.append("handler %s" % k)
	            if re.search(r"https?:", v, re.I):
	                self.bad.append("%s=%s" % (k, v))
	        self.in_style = tag == "style"
	    def handle_endtag(self, tag):
	        self.in_style = False
	    def handle_data(self, data):
	        if self.in_style and not css_ok(data):
	            self.bad.append("style sheet")
	c = Check()
	c.feed(open(sys.argv[1], encoding="utf-8").read())
	c.close()
	if c.bad:
	    sys.exit("%s is not self-contained: %s" % (sys.argv[1], c.bad))
	EOF
}

# bad_pages: pages that would load something, one per file.
bad_pages() {
	echo '<link rel="stylesheet" href="https://cdn.example/x.css">' >bad1.html &&
	echo '<style>@import "x.css";</style>' >bad2.html &&
	echo '<div style="background:url(//x.example/a.png)">x</div>' >bad3.html &&
	echo '<svg><image href="a.png"/></svg>' >bad4.html &&
	echo '<script src="a.js"></script>' >bad5.html &&
	echo '<a href="http://x.example/">x</a>' >bad6.html &&
	echo '<style>svg{fill:url(a.svg#p)}</style>' >bad7.html &&
	echo '<p>text about &lt;img src=x&gt; and url(x) is fine</p>' >good.html
}

test_expect_success 'the self-containment check catches what loads' '
	bad_pages &&
	for f in bad1 bad2 bad3 bad4 bad5 bad6 bad7; do
		! self_contained $f.html 2>/dev/null ||
		{ echo "$f passed" >&2; false; } || return 1
	done &&
	self_contained good.html
'

test_expect_success 'setup: a run with every kind of outcome' '
	make_shared_run &&
	test "$(sqlite3 "$SHARED/st/runner.db" "select count(*) from attempts")" = 5
'

test_expect_success 'report goes into the run folder with relative links' '
	copy_shared &&
	runner report last --state st >out 2>err &&
	echo "st/runs/$run/report.html" >expect &&
	test_cmp expect out &&
	test ! -s err &&
	page=st/runs/$run/report.html &&
	test -f $page &&
	self_contained $page &&
	! grep -q "//" $page &&
	grep -q "href=\"tasks/ok/output.log\"" $page &&
	grep -q "href=\"tasks/bad/output.log\"" $page &&
	grep -q "href=\"tasks/ok/result.json\"" $page &&
	! grep -q "href=\"tasks/after-bad/output.log\"" $page
'

test_expect_success 'report -o elsewhere links to the run folder with file:// URLs' '
	copy_shared &&
	runner report "$(echo $run | cut -c1-12)" -o r.html --state st >out &&
	echo r.html >expect && test_cmp expect out &&
	self_contained r.html &&
	grep -q "href=\"file://$abs/tasks/ok/output.log\"" r.html &&
	grep -q "href=\"file://$abs/tasks/slow/output.log\"" r.html &&
	! grep -q "href=\"tasks/" r.html &&
	! test -e st/runs/$run/report.html
'

test_expect_success 'every task has a row; one bar per attempt, classed by status' '
	copy_shared &&
	runner report last -o r.html --state st >/dev/null &&
	sqlite3 st/runner.db "select id from tasks" >ids &&
	while read t; do
		grep -q "<tr id=\"task-$t\">" r.html &&
		grep -q "<a href=\"#task-$t\">" r.html || return 1
	done <ids &&
	sqlite3 st/runner.db "select task_id, attempt, status from attempts" >att &&
	while IFS="|" read t n s; do
		grep -q "class=\"bar st-$s\" data-task=\"$t\" data-attempt=\"$n\"" r.html ||
		{ echo "no $s bar for $t attempt $n" >&2; false; } || return 1
	done <att &&
	test "$(grep -o "<rect class=\"bar " r.html | wc -l)" = "$(wc -l <att)" &&
	grep -q "class=\"bar st-failed\" data-task=\"flaky\" data-attempt=\"1\"" r.html &&
	grep -q "class=\"bar st-succeeded\" data-task=\"flaky\" data-attempt=\"2\"" r.html &&
	grep -q "class=\"bar st-timed_out\" data-task=\"slow\"" r.html &&
	grep -q "class=\"mark st-skipped\"" r.html &&
	test "$(grep -o "<line class=\"gap\"" r.html | wc -l)" = 1 &&
	grep -q "<span class=\"add\">+1</span> <span class=\"mod\">~1</span> <span class=\"del\">-1</span>" r.html &&
	grep -q "dependency &#39;bad&#39; did not succeed" r.html
'

test_expect_success 'strings from the database and paths are escaped' '
	copy_shared &&
	poison st &&
	runner report last -o r.html --state st >/dev/null &&
	self_contained r.html &&
	grep -q "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;" r.html &&
	grep -q "ran past &lt;img src=x onerror=alert(1)&gt; &quot;30m&quot;" r.html &&
	grep -q "per_hour cap &lt;b&gt;reached&lt;/b&gt;; waiting" r.html &&
	grep -q "p&lt;&amp;&quot;&#39;&gt;.yaml" r.html &&
	! grep -q "<b>reached" r.html &&
	! grep -q "p<&" r.html
'

test_expect_success 'a cap wait is a band up to the next start' '
	copy_shared &&
	poison st &&
	runner report last -o r.html --state st >/dev/null &&
	test "$(grep -o "<rect class=\"capwait\"" r.html | wc -l)" = 1 &&
	grep -Eq "<title>cap wait, [0-9.]+m?s: per_hour cap" r.html
'

test_expect_success 'a finished run gives the same page, wherever the state is' '
	copy_shared &&
	runner report last --state st >/dev/null &&
	cp st/runs/$run/report.html first.html &&
	sleep 1 &&
	runner report last --state st >/dev/null &&
	cmp first.html st/runs/$run/report.html &&
	mkdir elsewhere && mv st elsewhere/moved &&
	runner report last --state elsewhere/moved >/dev/null &&
	cmp first.html elsewhere/moved/runs/$run/report.html
'

test_expect_success 'a running run: its open attempt ends now' '
	mkdir ws &&
	printf "version: 1\nname: live\nbackend: {isolation: none}\ndefaults: {workspace: ws}\ntasks:\n  - id: long\n    run: sleep 3\n" >plan.yaml &&
	{ "$RUNNER" exec plan.yaml --state st >exec.out 2>&1 & } &&
	pid=$! &&
	test_wait_for 10 "attempts_are 1" &&
	runner report last -o r.html --state st >/dev/null &&
	test_expect_code 0 wait $pid &&
	grep -q "class=\"bar st-running\" data-task=\"long\"" r.html &&
	grep -q "not yet (as of " r.html &&
	grep -q "so far" r.html
'

test_expect_success 'a run whose runner died: the lost attempt is drawn' '
	mkdir ws &&
	printf "version: 1\nname: dies\nbackend: {isolation: none}\ndefaults: {workspace: ws}\ntasks:\n  - id: victim\n    run: sleep 2\n" >plan.yaml &&
	{ "$RUNNER" exec plan.yaml --state st >exec.out 2>&1 & } &&
	pid=$! &&
	test_wait_for 10 "attempts_are 1" &&
	kill -9 $pid && { wait $pid || :; } &&
	runner report last -o r.html --state st >/dev/null &&
	grep -q "class=\"bar st-lost\" data-task=\"victim\"" r.html &&
	grep -q "<span class=\"badge st-lost\">lost</span>" r.html
'

test_expect_success 'usage errors and unknown runs' '
	copy_shared &&
	test_expect_code 2 runner report --state st 2>err &&
	test_grep "usage: runner report RUN" err &&
	test_expect_code 2 runner report a b --state st 2>err &&
	test_expect_code 2 runner report last --bogus --state st 2>err &&
	test_grep "unknown option" err &&
	test_expect_code 2 runner report last --state st -o 2>err &&
	test_grep "needs a value" err &&
	test_expect_code 4 runner report nope --state st 2>err &&
	test_grep "nope" err &&
	test_expect_code 4 runner report last --state nowhere 2>err &&
	test_grep "no runner state" err
'

test_expect_success 'a run folder that is gone: report says to use -o' '
	copy_shared &&
	rm -rf st/runs/$run &&
	test_expect_code 4 runner report last --state st 2>err &&
	test_grep "with -o FILE" err &&
	runner report last --state st -o r.html >/dev/null &&
	self_contained r.html &&
	grep -q "<tr id=\"task-ok\">" r.html &&
	! grep -q "href=\"file" r.html &&
	! grep -q "href=\"tasks/" r.html
'

test_expect_success 'an unwritable destination fails with the path' '
	copy_shared &&
	test_expect_code 4 runner report last --state st -o no/such/dir/r.html 2>err &&
	test_grep "no/such/dir" err
'

# png_check FILE: a 1280x900 PNG, not blank, with the status colours of
# the bars (green, red, orange) over more than a legend swatch's area.
png_check() {
	python3 - "$1" <<-\EOF
	import struct, sys, zlib
	data = open(sys.argv[1], "rb").read()
	assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
	pos, idat, ihdr = 8, b"", None
	while pos < len(data):
	    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
	    body = data[pos + 8:pos + 8 + n]
	    if kind == b"IHDR":
	        ihdr = struct.unpack(">IIBBBBB", body)
	    elif kind == b"IDAT":
	        idat += body
	    pos += 12 + n
	w, h, depth, ctype, _, _, interlace = ihdr
	assert (w, h) == (1280, 900), (w, h)
	assert depth == 8 and ctype in (2, 6) and interlace == 0, ihdr
	bpp = 3 if ctype == 2 else 4
	raw, stride = zlib.decompress(idat), w * bpp
	prev, i, colours = bytearray(stride), 0, {}
	for _ in range(h):
	    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
	    i += 1 + stride
	    for x in range(stride):
	        a = line[x - bpp] if x >= bpp else 0
	        b, c = prev[x], (prev[x - bpp] if x >= bpp else 0)
	        if f == 1:
	            line[x] = (line[x] + a) & 255
	        elif f == 2:
	            line[x] = (line[x] + b) & 255
	        elif f == 3:
	            line[x] = (line[x] + (a + b) // 2) & 255
	        elif f == 4:
	            p = a + b - c
	            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
	            line[x] = (line[x] + (a if pa <= pb and pa <= pc
	                                  else b if pb <= pc else c)) & 255
	    for x in range(0, stride, bpp):
	        px = bytes(line[x:x + 3])
	        colours[px] = colours.get(px, 0) + 1
	    prev = line
	assert len(colours) > 50, "blank page: %d colours" % len(colours)
	def near(rgb):
	    return sum(n for px, n in colours.items()
	               if max(abs(px[k] - rgb[k]) for k in range(3)) <= 8)
	for name, rgb in (("green", (47, 158, 68)), ("red", (224, 49, 49)),
	                  ("orange", (240, 140, 0))):
	    assert near(rgb) > 1000, "%s bars: %d pixels" % (name, near(rgb))
	print("png ok: %d colours" % len(colours))
	EOF
}

test_expect_success CHROMIUM 'headless Chromium renders the page: not blank, bars drawn' '
	copy_shared &&
	poison st &&
	runner report last -o r.html --state st >/dev/null &&
	timeout 120 chromium --headless --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync \
		--user-data-dir="$TRASH/profile" --screenshot="$TRASH/shot.png" \
		--window-size=1280,900 "file://$TRASH/r.html" >chromium.out 2>&1 &&
	test -s shot.png &&
	png_check shot.png
'

test_done
