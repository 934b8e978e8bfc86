#!/bin/sh
# File names chosen by a hostile task, through the CLI with real bwrap
# sandboxes: a name cannot inject hunks into changes.patch, cannot put
# raw ESC or CR on a terminal (show, runs, logs, the live output of exec),
# and every JSON file stays valid UTF-8 with the exact name bytes
# recoverable, which `runner apply` uses.
. ./lib.sh

# run CMD... under a pseudo-terminal (output processing off, so a CR in
# the output is one the program wrote): pty.py OUT CMD...
cat >"$TRASH_ROOT/pty.py" <<'EOF'
import os, subprocess, sys, termios
m, s = os.openpty()
a = termios.tcgetattr(s)
a[1] &= ~termios.OPOST
termios.tcsetattr(s, termios.TCSANOW, a)
env = dict(os.environ, TERM="xterm")
p = subprocess.Popen(sys.argv[2:], stdin=s, stdout=s, stderr=s, env=env)
os.close(s)
out = b""
while True:
    try:
        d = os.read(m, 65536)
    except OSError:
        break
    if not d:
        break
    out += d
open(sys.argv[1], "wb").write(out)
sys.exit(p.wait())
EOF

# no-raw.py FILE...: no ESC and no CR in any of them (what a terminal
# would obey), and each is valid UTF-8.
cat >"$TRASH_ROOT/no-raw.py" <<'EOF'
import sys
for f in sys.argv[1:]:
    b = open(f, "rb").read()
    assert b"\x1b" not in b, (f, b)
    assert b"\r" not in b, (f, b)
    b.decode("utf-8")
EOF

# The injection: a file whose name carries a forged hunk for Makefile,
# and names that patch(1) would read back wrong, next to ordinary work.
cat >"$TRASH_ROOT/evil.sh" <<'EOF'
nl='
'
tab=$(printf '\t')
cr=$(printf '\r')
n="src/note${nl}@@ -0,0 +1 @@${nl}+x${nl}--- a/Makefile${nl}+++ b/Makefile${nl}@@ -1,2 +1,2 @@${nl} all:${nl}-${tab}echo hi${nl}+${tab}echo pwned"
mkdir -p "$(dirname "$n")"
echo hello >"$n"
echo tab >"tab${tab}name.txt"
echo cr >"cr${cr}name.txt"
echo trail >"trail.txt "
echo lead >" lead.txt"
echo quote >'q"uote.txt'
echo back >'back\slash.txt'
echo space >"sp ace.txt"
echo three >>"doc/my notes.txt"
echo "int extra(void) { return 1000; }" >>src/f1.c
sed -i 's/^150000$/changed/' big.txt
rm src/f2.c
EOF

# tree.py DIR: every file under DIR as "repr(name) sha256", sorted.
cat >"$TRASH_ROOT/tree.py" <<'EOF'
import hashlib, os, sys
root = os.fsencode(sys.argv[1])
rows = []
for d, dirs, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        rows.append("%r %s" % (os.path.relpath(p, root),
                               hashlib.sha256(open(p, "rb").read()).hexdigest()))
print("\n".join(sorted(rows)))
EOF

make_ws() {
	mkdir -p ws/src ws/doc &&
	printf "all:\n\techo hi\n" >ws/Makefile &&
	printf "one\ntwo\n" >"ws/doc/my notes.txt" &&
	for i in $(seq 0 199); do
		printf "int f%d(void) { return %d; }\n" $i $i >ws/src/f$i.c || return 1
	done &&
	seq 1 300000 >ws/big.txt
}

test_expect_success BWRAP 'a name cannot inject a hunk: patch -p1 leaves Makefile alone; odd names are left out, listed, and applied by runner apply' '
	make_ws &&
	cp "$TRASH_ROOT/evil.sh" ws/ &&
	printf "version: 1\nname: inject\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: sh evil.sh\n" >p.yaml &&
	runner exec p.yaml --state st >out &&
	rd=$(echo st/runs/*/tasks/t) &&
	cp -r ws dry && cp -r ws patched &&
	{ (cd dry && patch -p1 --dry-run <"../$rd/changes.patch" >../dry.out 2>&1) || echo "patch exited $?" >>dry.out; } &&
	{ (cd patched && patch -p1 <"../$rd/changes.patch" >../patch.out 2>&1) || echo "patch exited $?" >>patch.out; } &&
	cmp ws/Makefile patched/Makefile &&
	! test -e patched/Makefile.orig && ! test -e patched/Makefile.rej &&
	test_grep -v Makefile dry.out &&
	test_grep -v Makefile patch.out &&
	test_grep -v "patch exited" dry.out &&
	test_grep -v "patch exited" patch.out &&
	test_grep "checking file src/f1.c" dry.out &&
	cp -r ws applied && runner apply last t --to applied --state st >apply.out &&
	python3 "$TRASH_ROOT/tree.py" applied >applied.tree &&
	python3 "$TRASH_ROOT/tree.py" patched >patched.tree &&
	grep -v -e "^b.src/note" -e "^b.tab" -e "^b.cr" -e "^b.trail" applied.tree >expect &&
	test_cmp expect patched.tree &&
	test $(wc -l <applied.tree) = $(( $(wc -l <patched.tree) + 4 )) &&
	python3 - "$rd" applied <<-\EOF &&
	import json, os, sys
	rd, applied = sys.argv[1], os.fsencode(sys.argv[2])
	c = json.load(open(rd + "/changes.json", encoding="utf-8"))
	left = sorted(e["path"] for e in c["added"] if e.get("patch_unsafe_name"))
	assert left == sorted(["cr\rname.txt", "tab\tname.txt", "trail.txt ",
	    "src/note\n@@ -0,0 +1 @@\n+x\n--- a/Makefile\n+++ b/Makefile\n"
	    "@@ -1,2 +1,2 @@\n all:\n-\techo hi\n+\techo pwned"]), left
	for e in c["added"] + c["modified"] + c["deleted"]:
	    assert e.get("patch_unsafe_name") in (None, True), e
	for n in left + [" lead.txt", "q\"uote.txt", "back\\slash.txt", "sp ace.txt"]:
	    p = os.path.join(applied, n.encode())
	    assert os.path.isfile(p), n
	r = json.load(open(rd + "/result.json", encoding="utf-8"))
	w = [x for x in r["warnings"] if "changes.patch leaves out 4 files" in x]
	assert len(w) == 1 and "\"cr\\rname.txt\"" in w[0], r["warnings"]
	EOF
	cat "$rd/changes.patch" >patch.copy &&
	test_grep "^# \"tab\\\\tname.txt\": name cannot be written into a diff" patch.copy &&
	test_grep "^+++ b/sp ace.txt	$" patch.copy &&
	test_grep "^--- a/doc/my notes.txt	$" patch.copy &&
	test_grep "checking file .doc/my notes.txt.$" dry.out &&
	runner show last t --state st >show.out &&
	test_grep "changes.patch leaves out 4 files" show.out &&
	test_grep "A \"trail.txt \"  -- name cannot be written into a diff; not in changes.patch" show.out &&
	test_grep "warning: changes.patch leaves out 4 files" out &&
	python3 "$TRASH_ROOT/no-raw.py" show.out out
'

test_expect_success BWRAP 'a name with ESC and CR reaches no terminal raw: show, runs, logs, the live output' '
	mkdir ws && echo a >ws/a &&
	printf "version: 1\nname: esc\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: touch \"\$(printf \"evil\\\\033[2K\\\\rfake.txt\")\" \"\$(printf \"t\\\\033]0;pwned\\\\007\")\"; ls\n" >p.yaml &&
	python3 "$TRASH_ROOT/pty.py" exec.tty "$RUNNER" exec p.yaml --state st &&
	run=$(ls st/runs) &&
	ls st/runs/$run/tasks/t/changes | od -c | grep -q "033   \[   2   K  \\\\r   f" &&
	runner show $run t --state st >show.out &&
	runner show $run --state st >showrun.out &&
	runner runs --state st >runs.out &&
	python3 "$TRASH_ROOT/pty.py" logs.tty "$RUNNER" logs $run t --state st &&
	python3 "$TRASH_ROOT/no-raw.py" show.out showrun.out runs.out logs.tty &&
	test_grep "A \"evil\\\\033\[2K\\\\rfake.txt\"" show.out &&
	test_grep "A \"t\\\\033\]0;pwned\\\\a\"" show.out &&
	test_grep "^evil\\\\033\[2K\\\\rfake.txt" logs.tty &&
	python3 - exec.tty <<-\EOF &&
	b = open(__import__("sys").argv[1], "rb").read()
	# the live line is drawn with our own \r\033[K; nothing of the task
	assert b"\x1b[2K" not in b and b"\rfake" not in b and b"\x1b]0" not in b, b
	assert b"\"evil\\033[2K\\rfake.txt\"" in b, b
	EOF
	runner logs $run t --state st >logs.file &&
	grep -q "$(printf "\033\\[2K")" logs.file &&
	python3 "$TRASH_ROOT/pty.py" logs.raw "$RUNNER" logs --raw $run t --state st &&
	grep -q "$(printf "\033\\[2K")" logs.raw
'

# Names that are not UTF-8 (and some that are), made by the task, and in
# a workspace whose own path is not UTF-8 either.
cat >"$TRASH_ROOT/bytes.sh" <<'EOF'
p() { printf "$@"; }
echo ff >"$(p 'bad\377name')"
echo seq >"$(p 'a\303(b')"
echo sur >"$(p 'sur\355\240\200')"
echo long >"$(p 'over\300\257')"
echo cut >"$(p 'cut\346\227')"
echo ok >"$(p 'caf\303\251')"
mkdir -p "$(p '\346\227\245\346\234\254')" "$(p 'd\377')"
echo jp >"$(p '\346\227\245\346\234\254/\350\252\236.txt')"
echo in >"$(p 'd\377/f')"
echo new >>"$(p 'old\377.txt')"
rm "$(p 'gone\376.txt')"
head -c 1048576 /dev/urandom >"$(p 'blob\377.bin')"
EOF

cat >"$TRASH_ROOT/check-json.py" <<'EOF'
import base64, json, os, pathlib, sys
from jsonschema import Draft202012Validator as V
from referencing import Registry, Resource

def strict(path):
    return json.loads(open(path, "rb").read().decode("utf-8", "strict"))

def name(o, key):
    if key + "_b64" in o:
        return base64.b64decode(o[key + "_b64"], validate=True)
    return o[key].encode("utf-8")

schema_dir, run, ws = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), os.fsencode(sys.argv[3])
schemas = {n: json.load(open(schema_dir / n)) for n in ("result.schema.json", "run.schema.json", "changes.schema.json")}
reg = Registry().with_resources([(s["$id"], Resource.from_contents(s)) for s in schemas.values()])
def check(n, path):
    doc = strict(path)
    V(schemas[n], registry=reg).validate(doc)
    return doc
r = check("run.schema.json", run / "run.json")
assert "plan_path_b64" in r and name(r, "plan_path").endswith(b"\xffdir/p.yaml"), r
check("result.schema.json", run / "tasks/t/result.json")
c = check("changes.schema.json", run / "tasks/t/changes.json")
assert name(c, "workspace") == ws, c["workspace"]
changes = os.path.join(os.fsencode(str(run)), b"tasks/t/changes")
on_disk = set()
for d, dirs, files in os.walk(changes):
    for f in files:
        on_disk.add(os.path.relpath(os.path.join(d, f), changes))
listed = {name(e, "path") for e in c["added"] + c["modified"]}
assert listed == on_disk, (listed, on_disk)
want = {b"bad\xffname", b"a\xc3(b", b"sur\xed\xa0\x80", b"over\xc0\xaf", b"cut\xe6\x97",
        "café".encode(), "日本/語.txt".encode(), b"d\xff/f", b"blob\xff.bin"}
assert {name(e, "path") for e in c["added"]} == want, c["added"]
assert [name(e, "path") for e in c["modified"]] == [b"old\xff.txt"], c["modified"]
assert [name(e, "path") for e in c["deleted"]] == [b"gone\xfe.txt"], c["deleted"]
for e in c["added"]:
    valid = True
    try:
        name(e, "path").decode("utf-8")
    except UnicodeDecodeError:
        valid = False
    assert ("path_b64" in e) == (not valid), e
    assert valid or "\ufffd" in e["path"], e
EOF

test_expect_success BWRAP 'names that are not UTF-8: every JSON is valid UTF-8, names exact, runner apply recreates the bytes' '
	d=$(printf "plans\377dir") &&
	mkdir -p "$d/ws" &&
	echo old >"$d/ws/$(printf "old\377.txt")" &&
	echo bye >"$d/ws/$(printf "gone\376.txt")" &&
	seq 1 100000 >"$d/ws/keep.txt" &&
	cp "$TRASH_ROOT/bytes.sh" "$d/ws/" &&
	printf "version: 1\nname: bytes\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: sh bytes.sh\n" >"$d/p.yaml" &&
	runner exec "$d/p.yaml" --state st --json >events.jsonl &&
	run=$(ls st/runs) &&
	python3 -c "
import json, sys
lines = open(sys.argv[1], \"rb\").read().splitlines()
assert len(lines) >= 4, lines
for l in lines:
    json.loads(l.decode(\"utf-8\", \"strict\"))
" events.jsonl &&
	python3 "$TRASH_ROOT/check-json.py" "$RUNNER_TOP/schema" st/runs/$run "$PWD/$d/ws" &&
	runner apply last t --state st >apply.out &&
	python3 - "$d/ws" st/runs/$run/tasks/t/changes <<-\EOF &&
	import hashlib, os, sys
	ws, ch = (os.fsencode(a) for a in sys.argv[1:])
	assert not os.path.exists(os.path.join(ws, b"gone\xfe.txt"))
	assert open(os.path.join(ws, b"old\xff.txt"), "rb").read() == b"old\nnew\n"
	for d, dirs, files in os.walk(ch):
	    for f in files:
	        p = os.path.join(d, f)
	        q = os.path.join(ws, os.path.relpath(p, ch))
	        assert open(p, "rb").read() == open(q, "rb").read(), q
	for n in (b"bad\xffname", b"a\xc3(b", b"sur\xed\xa0\x80", b"over\xc0\xaf", b"cut\xe6\x97",
	          "café".encode(), "日本/語.txt".encode(), b"d\xff/f", b"blob\xff.bin"):
	    assert os.path.isfile(os.path.join(ws, n)), n
	EOF
	test_grep "^A \"bad\\\\377name\"" apply.out &&
	test_grep "^A café$" apply.out &&
	runner show last t --state st >show.out &&
	test_grep "^  A \"d\\\\377/f\"" show.out &&
	python3 "$TRASH_ROOT/no-raw.py" show.out apply.out &&
	runner archive last --state st -o run.tar.gz &&
	tar xzf run.tar.gz --wildcards "*/db.json" 2>/dev/null &&
	python3 -c "
import json, sys
json.loads(open(sys.argv[1], \"rb\").read().decode(\"utf-8\", \"strict\"))
" runner-*/db.json &&
	runner report last --state st >report.path &&
	python3 -c "open(open(\"report.path\").read().strip(), \"rb\").read().decode(\"utf-8\", \"strict\")"
'

test_done
