#!/bin/sh
# runner history: a plan's last runs side by side (grid of task by run,
# flaky tasks, cost and duration per run, outliers), for the terminal and
# as a self-contained HTML page, on real runs of one plan: a task that
# fails every other run (a counter outside the workspace), a task that is
# slow in one run, and matrix tasks.
. ./lib.sh

SHARED="$TRASH_ROOT/shared"

# Five runs of plan "nightly": flaky fails in runs 2 and 4, slow takes
# 1.5 s in run 4 (0.1 s otherwise), and a run of another plan between.
make_runs() {
	mkdir -p "$SHARED/ws" &&
	cat >"$SHARED/nightly.yaml" <<-EOF &&
	version: 1
	name: nightly
	backend: {isolation: none}
	limits: {cost_per_hour_usd: 60}
	defaults:
	  workspace: ws
	tasks:
	  - id: build
	    run: "true"
	  - id: flaky
	    run: n=\$(cat "$SHARED/counter" 2>/dev/null || echo 0); echo \$((n + 1)) >"$SHARED/counter"; test \$((n % 2)) -eq 0
	  - id: slow
	    run: if test -e "$SHARED/slow"; then sleep 1.5; else sleep 0.1; fi
	  - id: lint-{{lang}}
	    matrix: {lang: [c, sh]}
	    run: "true"
	EOF
	cat >"$SHARED/other.yaml" <<-\EOF &&
	version: 1
	name: other
	backend: {isolation: none}
	defaults:
	  workspace: ws
	tasks:
	  - id: elsewhere
	    run: exit 1
	EOF
	(
		cd "$SHARED" &&
		for i in 1 2 3 4 5; do
			if test $i = 4; then touch slow; else rm -f slow; fi &&
			want=0 &&
			if test $i = 2 || test $i = 4; then want=1; fi &&
			test_expect_code $want "$RUNNER" exec nightly.yaml \
				--state st -q >>exec.out 2>&1 || return 1
			if test $i = 3; then
				test_expect_code 1 "$RUNNER" exec other.yaml \
					--state st -q >>exec.out 2>&1 || return 1
			fi
		done
	)
}

test_expect_success 'five runs of a plan, one of another' '
	make_runs &&
	test "$(sqlite3 "$SHARED/st/runner.db" \
		"select count(*) from runs where plan_name = '\''nightly'\''")" = 5
'

test_expect_success 'the grid: task by run, oldest first, matrix tasks by id' '
	runner history "$SHARED/nightly.yaml" --state "$SHARED/st" >out &&
	test_grep "^history of plan .nightly.: the last 5 runs, oldest first" out &&
	test_grep "^TASK  *#1  *#2  *#3  *#4  *#5$" out &&
	test_grep "^build  *ok  *ok  *ok  *ok  *ok$" out &&
	test_grep "^flaky  *ok  *F  *ok  *F  *ok  *flaky (4 flips)$" out &&
	test_grep "^slow  *ok  *ok  *ok  *ok!  *ok$" out &&
	test_grep "^lint-c  *ok" out &&
	test_grep "^lint-sh  *ok" out &&
	! grep -q elsewhere out
'

test_expect_success 'the runs: status, tasks, duration and cost per run' '
	runner history "$SHARED/nightly.yaml" --state "$SHARED/st" >out &&
	sed -n "/^#  *RUN/,/^$/p" out >runs &&
	test "$(grep -c "^#[1-5] " runs)" = 5 &&
	grep "^#2 " runs | grep -q " failed  *4/5 " &&
	grep "^#3 " runs | grep -q " succeeded  *5/5 " &&
	grep "^#4 " runs >r4 &&
	test_grep " 1\.[5-9]s  *\$0\.0[0-9]*$" r4 &&
	grep "^#1 " runs >r1 &&
	test_grep " [0-9]*ms  *\$0\.00[0-9]*$" r1
'

test_expect_success 'flaky tasks and outliers are listed' '
	runner history nightly --state "$SHARED/st" >out &&
	sed -n "/^flaky tasks/,/^$/p" out >flaky &&
	test_grep "^  flaky: 4 flips, failed in 2 of 5 runs$" flaky &&
	test "$(grep -c "^  " flaky)" = 1 &&
	sed -n "/^outliers/,\$p" out >outl &&
	test_grep "^  slow in run #4 ([0-9a-f-]*): took 1\.[5-9]s, median [0-9]*ms$" outl &&
	test_grep "^  slow in run #4 ([0-9a-f-]*): cost \$0\.0[0-9]*, median \$0\.00" outl &&
	test "$(grep -c "^  " outl)" = 2
'

test_expect_success 'by file or by name: the same; --last N counts back' '
	runner history "$SHARED/nightly.yaml" --state "$SHARED/st" >a &&
	runner history nightly --state "$SHARED/st" >b &&
	test_cmp a b &&
	runner history nightly --last 2 --state "$SHARED/st" >c &&
	test_grep "the last 2 runs" c &&
	test_grep "^flaky  *F  *ok$" c &&
	test_grep "^flaky tasks.*: none$" c &&
	test_grep "^outliers.*: none$" c
'

test_expect_success 'a plan without runs, a bad plan, bad arguments' '
	runner history nosuch --state "$SHARED/st" >out &&
	test_grep "plan .nosuch. has no runs" out &&
	printf "version: 1\nname: x\ntasks: 3\n" >bad.yaml &&
	test_expect_code 2 runner history bad.yaml --state "$SHARED/st" 2>err &&
	test_grep "^bad.yaml:3:" err &&
	test_expect_code 2 runner history "no/such plan" --state "$SHARED/st" 2>err &&
	test_grep "neither a plan file nor a plan name" err &&
	test_expect_code 2 runner history nightly --last 0 --state "$SHARED/st" &&
	test_expect_code 2 runner history --state "$SHARED/st"
'

# self_contained FILE: nothing in the page would make a browser fetch: no
# element that loads, no attribute with a URL, no http(s) or CSS url().
self_contained() {
	python3 - "$1" <<-\EOF &&
	import re, sys
	from html.parser import HTMLParser
	LOADERS = {"script", "link", "img", "iframe", "object", "embed", "base",
	           "form", "input", "image", "use", "video", "audio", "source"}
	class P(HTMLParser):
	    def handle_starttag(self, tag, attrs):
	        assert tag not in LOADERS, tag
	        for k, v in attrs:
	            assert k not in ("src", "href", "srcset", "action", "data",
	                             "xlink:href"), (tag, k, v)
	text = open(sys.argv[1], encoding="utf-8").read()
	P().feed(text)
	assert not re.search(r"https?:|url\(|@import", text, re.I)
	EOF
	test_grep "Content-Security-Policy\" content=\"default-src .none.;" "$1"
}

test_expect_success 'the page: grid, flaky, outliers, runs; self-contained' '
	runner history nightly --html -o h.html --state "$SHARED/st" >out &&
	test_grep "^h.html$" out &&
	self_contained h.html &&
	test "$(grep -o "class=\"cell st-" h.html | wc -l)" = 25 &&
	test "$(grep -o "data-status=\"failed\"" h.html | wc -l)" = 2 &&
	test "$(grep -o "class=\"cell st-succeeded out\"" h.html | wc -l)" = 1 &&
	test_grep "flaky<span class=\"flaky\">flaky</span>" h.html &&
	sed -n "/id=\"outliers\"/,/<\/table>/p" h.html >outl &&
	test "$(grep -c "<tr><td class=\"mono\">slow</td>" outl)" = 2 &&
	test "$(grep -o "<rect class=\"bar" h.html | wc -l)" = 10 &&
	runner history nightly --html --state "$SHARED/st" >stdout.html &&
	test_cmp h.html stdout.html
'

test_expect_success 'what the database says is escaped on the page' '
	cp -a "$SHARED/st" st &&
	sqlite3 st/runner.db "update tasks set id = '\''<img src=x onerror=alert(1)>'\'' where id = '\''build'\''" &&
	runner history nightly --html -o h.html --state st >/dev/null &&
	self_contained h.html &&
	test_grep "&lt;img src=x onerror=alert(1)&gt;" h.html
'

# png_colours FILE R,G,B...: how many pixels of FILE are near each colour.
png_colours() {
	python3 - "$@" <<-\EOF
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
	for arg in sys.argv[2:]:
	    rgb = [int(v) for v in arg.split(",")]
	    print(sum(n for px, n in colours.items()
	              if max(abs(px[k] - rgb[k]) for k in range(3)) <= 8))
	EOF
}

chromium_run() {
	timeout 120 chromium --headless --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync \
		--user-data-dir="$TRASH/profile" "$@"
}

if test_have_prereq CHROMIUM; then
	test_expect_success 'headless Chromium: the DOM has the grid and the lists' '
		runner history nightly --html -o h.html --state "$SHARED/st" >/dev/null &&
		chromium_run --dump-dom "file://$TRASH/h.html" >dom.html 2>chromium.err &&
		test "$(grep -o "class=\"cell st-" dom.html | wc -l)" = 25 &&
		test_grep "<td class=\"task mono\">flaky<span class=\"flaky\">flaky</span></td>" dom.html &&
		test_grep "id=\"outliers\"" dom.html &&
		test_grep "<td>duration</td>" dom.html &&
		test "$(grep -o "<rect class=\"bar" dom.html | wc -l)" = 10
	'
	test_expect_success 'headless Chromium: the screenshot shows green and red cells' '
		runner history nightly --html -o h.html --state "$SHARED/st" >/dev/null &&
		chromium_run --screenshot="$TRASH/shot.png" --window-size=1280,1100 \
			"file://$TRASH/h.html" >chromium.out 2>&1 &&
		png_colours shot.png 47,158,68 224,49,49 >px &&
		green=$(sed -n 1p px) && red=$(sed -n 2p px) &&
		test "$green" -gt 5000 && test "$red" -gt 500 &&
		if test -n "${RUNNER_KEEP_SCREENSHOT:-}"; then
			cp shot.png "$RUNNER_KEEP_SCREENSHOT"
		fi
	'
else
	test_skip "headless Chromium loads the page" \
		"no chromium here; tools/deps.sh installs Debian'\''s"
fi

test_done
