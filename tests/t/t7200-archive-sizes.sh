#!/bin/sh
# runner archive / runner verify on runs made by runner exec: files of
# 100 KiB, 10 MiB and 200 MiB (random and compressible), thousands of
# files, a sandboxed run; gzip bombs; and what SHA256SUMS says about
# symlinks and directories: tampered archives (an added or retargeted
# link, a file replaced by a link, hard links, devices, fifos, sparse
# files) made with python's tarfile and GNU tar from genuine ones.
. "$(dirname "$0")/lib.sh"

# GNU time measures verify's peak RSS.
if /usr/bin/time -f %M -o /dev/null true 2>/dev/null; then
	GNU_TIME=SH
else
	GNU_TIME=GNU_TIME_MISSING
fi

# plan ISOLATION: plan.yaml with one task t whose script is on stdin,
# over the workspace ws (made here, with one file).
plan() {
	mkdir -p ws &&
	echo base >ws/base.txt &&
	{
		printf 'version: 1\nname: sizes\nbackend: {isolation: %s}\n' "$1" &&
		printf 'defaults:\n  workspace: ws\n  timeout: 10m\ntasks:\n' &&
		printf '  - id: t\n    run: |\n' &&
		sed 's/^/      /'
	} >plan.yaml
}

# run_and_archive: exec plan.yaml into state st (it must succeed) and
# archive the run as a.tar.gz.
run_and_archive() {
	runner exec plan.yaml --state st --quiet >exec.out &&
	runner archive last --state st -o a.tar.gz >/dev/null
}

# check_archive FILE: verify says "FILE: N files OK" for the N regular
# files of the extracted archive (SHA256SUMS aside), and sha256sum -c
# --strict agrees on the extracted tree (in x/, its top directory $top).
check_archive() {
	runner verify "$1" >out &&
	rm -rf x && mkdir x && tar -xzf "$1" -C x &&
	top=$(ls x) &&
	n=$(($(find "x/$top" -type f ! -path "x/$top/SHA256SUMS" | wc -l))) &&
	echo "$1: $n files OK" >expect &&
	test_cmp expect out &&
	(cd "x/$top" && sha256sum -c --strict --quiet SHA256SUMS)
}

# The task prints "sha256sum FILE..." of what it made; the archive must
# hold the same bytes: check that against its output.log, extracted.
check_task_sums() {
	(cd "x/$top/tasks/t/changes" &&
		sha256sum -c --strict --quiet ../output.log)
}

# tamper SRC DST OP REL ARG [OP REL ARG]...: rewrite an archive with
# python's tarfile (REL under the top directory; ARG - when unused).
#   link REL TARGET      add a symlink
#   retarget REL TARGET  point an existing symlink elsewhere
#   tolink REL TARGET    replace a member by a symlink
#   tofile REL DATA      replace a member by a regular file holding DATA
#   hardlink REL OTHER   add a hard link to the member OTHER
#   chardev REL -        add a character device (1, 3)
#   blockdev REL -       add a block device (7, 0)
#   fifo REL -           add a fifo
#   dir REL -            add an empty directory
#   drop REL -           remove the member
# bomb SRC DST REL MIB: add a regular file of MIB MiB of zeros (a multiple
# of 16), as concatenated gzip members: a few KiB per 16 MiB.
# sumsbomb DST MIB: an archive whose SHA256SUMS is MIB MiB of zeros.
cat >"$TRASH_ROOT/tamper.py" <<\EOF
import gzip, io, sys, tarfile

def load(src):
    with tarfile.open(src) as t:
        return [(m, t.extractfile(m).read() if m.isreg() else None)
                for m in t]

def save(dst, members):
    with tarfile.open(dst, "w:gz", format=tarfile.PAX_FORMAT) as o:
        for m, data in members:
            o.addfile(m, io.BytesIO(data) if data is not None else None)

def info(name, like, type_, **kw):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mtime, ti.mode = type_, like.mtime, 0o777
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti

ZERO16 = None
def zeros(o, mib):
    global ZERO16
    if ZERO16 is None:
        ZERO16 = gzip.compress(bytes(16 << 20), 9)
    for _ in range(mib // 16):
        o.write(ZERO16)

def bomb(src, dst, rel, mib):
    raw = gzip.decompress(open(src, "rb").read())
    t = tarfile.open(fileobj=io.BytesIO(raw))
    first = t.getmembers()[0]
    end = t.offset
    ti = info(first.name.rstrip("/") + "/" + rel, first, tarfile.REGTYPE,
              mode=0o644, size=mib << 20)
    with open(dst, "wb") as o:
        o.write(gzip.compress(raw[:end] + ti.tobuf(tarfile.PAX_FORMAT)))
        zeros(o, mib)
        o.write(gzip.compress(bytes(1024)))

def sumsbomb(dst, mib):
    d = tarfile.TarInfo("runner-bomb/")
    d.type, d.mode = tarfile.DIRTYPE, 0o755
    s = tarfile.TarInfo("runner-bomb/SHA256SUMS")
    s.size, s.mode = mib << 20, 0o644
    with open(dst, "wb") as o:
        o.write(gzip.compress(d.tobuf(tarfile.PAX_FORMAT) +
                              s.tobuf(tarfile.PAX_FORMAT)))
        zeros(o, mib)
        o.write(gzip.compress(bytes(1024)))

def tamper(src, dst, args):
    members = load(src)
    top = members[0][0].name.rstrip("/")
    ops = list(zip(args[0::3], args[1::3], args[2::3]))
    out = []
    for m, data in members:
        rel = m.name.rstrip("/").split("/", 1)[1] if "/" in m.name.rstrip("/") else ""
        for op, r, arg in ops:
            if r != rel:
                continue
            if op == "drop":
                m = None
            elif op == "retarget":
                m.linkname = arg
            elif op == "tolink":
                m, data = info(m.name, m, tarfile.SYMTYPE, linkname=arg), None
            elif op == "tofile":
                data = arg.encode()
                m = info(m.name.rstrip("/"), m, tarfile.REGTYPE, mode=0o644,
                         size=len(data))
        if m is not None:
            out.append((m, data))
    like = members[0][0]
    for op, rel, arg in ops:
        name = top + "/" + rel
        new = {
            "link": lambda: info(name, like, tarfile.SYMTYPE, linkname=arg),
            "hardlink": lambda: info(name, like, tarfile.LNKTYPE,
                                     linkname=top + "/" + arg),
            "chardev": lambda: info(name, like, tarfile.CHRTYPE,
                                    devmajor=1, devminor=3),
            "blockdev": lambda: info(name, like, tarfile.BLKTYPE,
                                     devmajor=7, devminor=0),
            "fifo": lambda: info(name, like, tarfile.FIFOTYPE),
            "dir": lambda: info(name + "/", like, tarfile.DIRTYPE),
        }.get(op)
        if new:
            out.append((new(), None))
    save(dst, out)

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "bomb":
    bomb(args[0], args[1], args[2], int(args[3]))
elif cmd == "sumsbomb":
    sumsbomb(args[0], int(args[1]))
else:
    tamper(args[0], args[1], args[2:])
EOF
tamper() { python3 "$TRASH_ROOT/tamper.py" tamper "$@"; }
bomb() { python3 "$TRASH_ROOT/tamper.py" bomb "$@"; }
sumsbomb() { python3 "$TRASH_ROOT/tamper.py" sumsbomb "$@"; }

# Sizes

test_expect_success 'a 100 KiB random file: verify, sha256sum -c and the task agree' '
	plan none <<-\EOF &&
	head -c 102400 /dev/urandom >z.bin
	sha256sum z.bin
	EOF
	run_and_archive &&
	check_archive a.tar.gz &&
	check_task_sums &&
	runner archive last --state st -o b.tar.gz >/dev/null &&
	cmp a.tar.gz b.tar.gz
'

test_expect_success '10 MiB random, 10 MiB compressible, a 2 MiB log' '
	plan none <<-\EOF &&
	head -c 10485760 /dev/urandom >random.bin
	seq 1 2000000 | head -c 10485760 >counted.txt
	head -c 1572864 /dev/urandom | base64
	sha256sum random.bin counted.txt >&2
	EOF
	run_and_archive &&
	check_archive a.tar.gz &&
	test "$(wc -c <x/$top/tasks/t/output.log)" -gt 2000000 &&
	grep " random.bin\$" x/$top/tasks/t/output.log >sums &&
	grep " counted.txt\$" x/$top/tasks/t/output.log >>sums &&
	(cd x/$top/tasks/t/changes && sha256sum -c --strict --quiet "$TRASH/sums") &&
	runner archive last --state st -o b.tar.gz >/dev/null &&
	cmp a.tar.gz b.tar.gz
'

test_expect_success $GNU_TIME '200 MiB random and 200 MiB compressible: verify streams in bounded memory' '
	plan none <<-\EOF &&
	head -c 209715200 /dev/urandom >random.bin
	yes "{\"type\":\"assistant\",\"message\":{\"content\":\"working\"}}" |
		head -c 209715200 >stream.json
	sha256sum random.bin stream.json
	EOF
	run_and_archive &&
	rm -rf st &&
	/usr/bin/time -f %M -o rss "$RUNNER" verify a.tar.gz >timed &&
	test "$(tail -n 1 rss)" -lt 65536 &&
	check_archive a.tar.gz &&
	test_cmp expect timed &&
	check_task_sums
'

test_expect_success 'thousands of files in a hundred directories' '
	plan none <<-\EOF &&
	for d in $(seq 1 100); do
		mkdir -p "many/d$d"
		for f in $(seq 1 40); do
			echo "$d $f" >"many/d$d/f$f.txt"
		done
	done
	head -c 300000 /dev/urandom >many/d7/big.bin
	EOF
	run_and_archive &&
	check_archive a.tar.gz &&
	test "$n" -gt 4000 &&
	test "$(find x/$top/tasks/t/changes/many -type f | wc -l)" = 4001 &&
	test "$(grep -c "^#dir " x/$top/SHA256SUMS)" = \
		$(($(find x/$top -type d | wc -l) - 1)) &&
	runner archive last --state st -o b.tar.gz >/dev/null &&
	cmp a.tar.gz b.tar.gz
'

test_expect_success BWRAP 'a sandboxed run with 5 MiB of output, a big log and a symlink' '
	plan sandbox <<-\EOF &&
	head -c 5242880 /dev/urandom >z.bin
	ln -s z.bin link
	head -c 1048576 /dev/urandom | od -An -tx1
	EOF
	run_and_archive &&
	check_archive a.tar.gz &&
	test -L x/$top/tasks/t/changes/link &&
	test "$(wc -c <x/$top/tasks/t/output.log)" -gt 3000000 &&
	sum=$(printf z.bin | sha256sum | cut -c1-64) &&
	test_grep "^#symlink $sum  tasks/t/changes/link\$" x/$top/SHA256SUMS &&
	runner archive last --state st -o b.tar.gz >/dev/null &&
	cmp a.tar.gz b.tar.gz
'

# Gzip bombs: deflate expands zeros about 1000 times. Verify hashes as it
# inflates, so memory stays flat; the bomb shows as what it is.

test_expect_success $GNU_TIME 'a 1 GiB member from 1 MiB of gzip: extra, memory flat' '
	plan none <<-\EOF &&
	head -c 200000 /dev/urandom >z.bin
	EOF
	run_and_archive &&
	check_archive a.tar.gz &&
	bomb a.tar.gz b.tar.gz tasks/t/bomb 1024 &&
	test "$(wc -c <b.tar.gz)" -lt 2000000 &&
	test_expect_code 1 /usr/bin/time -f %M -o rss "$RUNNER" verify b.tar.gz >out 2>err &&
	echo "extra: tasks/t/bomb" >expect &&
	test_cmp expect out &&
	test_grep "b.tar.gz: verification failed: $n of $n listed files match" err &&
	test "$(tail -n 1 rss)" -lt 65536
'

test_expect_success $GNU_TIME 'a SHA256SUMS that inflates to 512 MiB is refused at 64 MiB' '
	sumsbomb b.tar.gz 512 &&
	test_expect_code 1 /usr/bin/time -f %M -o rss "$RUNNER" verify b.tar.gz >out 2>err &&
	test_grep "b.tar.gz: SHA256SUMS is larger than 64 MiB" err &&
	test "$(tail -n 1 rss)" -lt 204800
'

# Symlinks, directories and what SHA256SUMS must not let through

# small_run: a run whose task changes a file, adds one, makes a symlink
# and nested directories, archived as a.tar.gz and checked genuine.
small_run() {
	plan none <<-\EOF &&
	echo changed >base.txt
	echo new >new.txt
	ln -s new.txt link
	mkdir -p sub/dir && echo deep >sub/dir/f
	EOF
	run_and_archive &&
	check_archive a.tar.gz
}

# listed FILE: the paths SHA256SUMS lines name, whatever their kind.
listed() {
	sed -e "s/^#[a-z]* //" -e "s/^\\\\//" "$1" | cut -c67-
}

test_expect_success PYTHON3 'SHA256SUMS has a line per entry: symlinks by target, directories' '
	small_run &&
	link=$(printf new.txt | sha256sum | cut -c1-64) &&
	none=$(printf "" | sha256sum | cut -c1-64) &&
	grep "^#" x/$top/SHA256SUMS >actual &&
	cat >expect <<-EOF &&
	#dir $none  tasks
	#dir $none  tasks/t
	#dir $none  tasks/t/changes
	#symlink $link  tasks/t/changes/link
	#dir $none  tasks/t/changes/sub
	#dir $none  tasks/t/changes/sub/dir
	EOF
	test_cmp expect actual &&
	tar -tzf a.tar.gz | sed -n -e "s|/\$||" -e "s|^$top/||p" |
		grep -v -x SHA256SUMS | LC_ALL=C sort >members &&
	listed x/$top/SHA256SUMS >lines &&
	LC_ALL=C sort lines | test_cmp members - &&
	test_cmp members lines
'

test_expect_success PYTHON3 'an added symlink to /etc/passwd is extra' '
	small_run &&
	tamper a.tar.gz m.tar.gz link tasks/t/evil /etc/passwd &&
	test_expect_code 1 runner verify m.tar.gz >out 2>err &&
	echo "extra: tasks/t/evil" >expect &&
	test_cmp expect out &&
	test_grep "m.tar.gz: verification failed: $n of $n listed files match; symlinks 1 of 1, directories 5 of 5 (1 problem)" err
'

test_expect_success PYTHON3 'a symlink retargeted to /etc/shadow is modified' '
	small_run &&
	tamper a.tar.gz m.tar.gz retarget tasks/t/changes/link /etc/shadow &&
	test_expect_code 1 runner verify m.tar.gz >out 2>err &&
	echo "modified: tasks/t/changes/link" >expect &&
	test_cmp expect out &&
	test_grep "symlinks 0 of 1" err
'

test_expect_success PYTHON3 'a file replaced by a link; a link by a file holding its target' '
	small_run &&
	tamper a.tar.gz m.tar.gz tolink tasks/t/changes/new.txt /etc/passwd \
		tofile tasks/t/changes/link new.txt &&
	test_expect_code 1 runner verify m.tar.gz >out &&
	cat >expect <<-\EOF &&
	modified: tasks/t/changes/link
	modified: tasks/t/changes/new.txt
	EOF
	test_cmp expect out
'

test_expect_success PYTHON3 'an added directory is extra, a removed one missing' '
	small_run &&
	tamper a.tar.gz m.tar.gz dir tasks/t/empty - \
		drop tasks/t/changes/sub/dir - &&
	test_expect_code 1 runner verify m.tar.gz >out 2>err &&
	cat >expect <<-\EOF &&
	missing: tasks/t/changes/sub/dir
	extra: tasks/t/empty
	EOF
	test_cmp expect out &&
	test_grep "directories 4 of 5" err
'

test_expect_success PYTHON3 'every kind of tampering at once, each named, sorted' '
	small_run &&
	tamper a.tar.gz m.tar.gz link tasks/t/changes/aaa /etc/passwd \
		retarget tasks/t/changes/link /etc/shadow \
		tolink tasks/t/changes/base.txt /etc/hostname \
		tofile tasks/t/changes/sub/dir x \
		link zzz / &&
	test_expect_code 1 runner verify m.tar.gz >out &&
	cat >expect <<-\EOF &&
	extra: tasks/t/changes/aaa
	modified: tasks/t/changes/base.txt
	modified: tasks/t/changes/link
	modified: tasks/t/changes/sub/dir
	extra: zzz
	EOF
	test_cmp expect out
'

test_expect_success PYTHON3 'hard links, devices and fifos are refused, each named' '
	small_run &&
	tamper a.tar.gz h.tar.gz hardlink tasks/t/hl tasks/t/changes/new.txt &&
	test_expect_code 1 runner verify h.tar.gz >out 2>err &&
	test_grep "h.tar.gz: entry '\''$top/tasks/t/hl'\'' is a hard link to '\''$top/tasks/t/changes/new.txt'\''" err &&
	test_must_fail test -s out &&
	tamper a.tar.gz c.tar.gz chardev tasks/t/null - &&
	test_expect_code 1 runner verify c.tar.gz 2>err &&
	test_grep "entry '\''$top/tasks/t/null'\'' is a special file (a character device)" err &&
	tamper a.tar.gz b.tar.gz blockdev tasks/t/loop0 - &&
	test_expect_code 1 runner verify b.tar.gz 2>err &&
	test_grep "entry '\''$top/tasks/t/loop0'\'' is a special file (a block device)" err &&
	tamper a.tar.gz f.tar.gz fifo tasks/t/changes/pipe - &&
	test_expect_code 1 runner verify f.tar.gz 2>err &&
	test_grep "entry '\''$top/tasks/t/changes/pipe'\'' is a special file (a fifo)" err
'

test_expect_success PYTHON3 'a sparse file (GNU tar --sparse) is refused' '
	small_run &&
	truncate -s 256M x/$top/tasks/t/hole &&
	printf x >>x/$top/tasks/t/hole &&
	tar --sparse --format=pax -czf s.tar.gz -C x $top &&
	test "$(wc -c <s.tar.gz)" -lt 100000 &&
	test_expect_code 1 runner verify s.tar.gz 2>err &&
	test_grep "s.tar.gz: entry '\''$top/tasks/t/hole'\'' is a sparse file" err
'

test_expect_success PYTHON3 'links with odd names are listed escaped and verify' '
	plan none <<-\EOF &&
	ln -s "new\\line" "$(printf "odd\\nname")"
	ln -s x "back\\slash"
	EOF
	run_and_archive &&
	check_archive a.tar.gz &&
	test_grep "^#symlink \\\\[0-9a-f]\{64\}  tasks/t/changes/odd\\\\nname\$" x/$top/SHA256SUMS &&
	test_grep "^#symlink \\\\[0-9a-f]\{64\}  tasks/t/changes/back\\\\\\\\slash\$" x/$top/SHA256SUMS &&
	tamper a.tar.gz m.tar.gz retarget "$(printf "tasks/t/changes/odd\\nname")" y &&
	test_expect_code 1 runner verify m.tar.gz >out &&
	printf "%s\n" "modified: tasks/t/changes/odd\\nname" >expect &&
	test_cmp expect out
'

test_done
