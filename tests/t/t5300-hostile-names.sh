#!/bin/sh
# File names chosen by a hostile task, through the CLI with real bwrap
# sandboxes: a name cannot inject hunks into changes.patch, cannot put
# raw ESC or CR on a terminal (show, runs, logs, the live output of exec).
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

test_done
