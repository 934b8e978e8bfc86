#!/bin/sh
# runner archive / runner verify: layout, reproducibility, SOURCE_DATE_EPOCH,
# tampering, hostile archives, RUN resolution, refusals and write failures.
. "$(dirname "$0")/lib.sh"

RUN=20261122-020000-a1b2
RUN2=20261123-020000-c3d4
TOP=runner-$RUN
END=1700000123 # the run's ended_at in seconds (1700000123456 ms)

# setup_run STATE ID STATUS STARTED_MS ENDED_MS|NULL: a state whose
# database has the run's rows (two tasks, three attempts, events) and a
# run folder like the one exec writes, with a symlink and an exec bit.
setup_run() {
	st=$1 id=$2 status=$3 start=$4 end=$5 &&
	"$RUNNER" db migrate --state "$st" >/dev/null &&
	sqlite3 -bail "$st/runner.db" <<-EOF &&
	INSERT INTO runs (id, plan_name, plan_path, plan_sha256, backend,
		status, started_at, ended_at, host, pid, tasks_total, exit_code)
		VALUES ('$id', 'demo', '/plans/demo.yaml', 'ab12', 'local',
		'$status', $start, $end, 'host1', 4242, 2, 1);
	INSERT INTO tasks (run_id, id, seq, status, exit_code, attempts,
		started_at, ended_at, cost_usd)
		VALUES ('$id', 'b-task', 0, 'succeeded', 0, 1, $start + 1, $start + 2, 0.25);
	INSERT INTO tasks (run_id, id, seq, status, reason, exit_code, attempts,
		started_at, ended_at)
		VALUES ('$id', 'a-task', 1, 'failed', 'exit 3', 3, 2, $start + 3, $start + 9);
	INSERT INTO attempts VALUES ('$id', 'a-task', 2, 'failed', 3, NULL,
		'local', 'sb-2', 'host1', 4242, $start + 6, $start + 9, NULL, NULL);
	INSERT INTO attempts VALUES ('$id', 'b-task', 1, 'succeeded', 0, NULL,
		'local', 'sb-0', 'host1', 4242, $start + 1, $start + 2, NULL, NULL);
	INSERT INTO attempts VALUES ('$id', 'a-task', 1, 'failed', 3, NULL,
		'local', 'sb-1', 'host1', 4242, $start + 3, $start + 5, NULL, NULL);
	INSERT INTO events (at, run_id, task_id, level, kind, message, data)
		VALUES ($start, '$id', NULL, 'info', 'run_start', 'started', '{"n":2}');
	INSERT INTO events (at, run_id, task_id, level, kind, message)
		VALUES ($start + 3, '$id', 'a-task', 'warn', 'retry', 'again');
	INSERT INTO events (at, run_id, task_id, level, kind, message)
		VALUES ($start, 'other', NULL, 'info', 'noise', 'not this run');
	EOF
	d=$st/runs/$id &&
	mkdir -p "$d/tasks/a-task/changes/src" "$d/tasks/b-task" &&
	printf 'version: 1\nname: demo\n' >"$d/plan.yaml" &&
	printf '{"status": "failed"}\n' >"$d/run.json" &&
	printf 'out a\n' >"$d/tasks/a-task/output.log" &&
	printf '{"status": "failed"}\n' >"$d/tasks/a-task/result.json" &&
	printf '#!/bin/sh\necho fixed\n' >"$d/tasks/a-task/changes/src/fix.sh" &&
	chmod 755 "$d/tasks/a-task/changes/src/fix.sh" &&
	printf 'x\n' >"$d/tasks/a-task/changes/README" &&
	printf '{"added": []}\n' >"$d/tasks/a-task/changes.json" &&
	printf 'out b\n' >"$d/tasks/b-task/output.log" &&
	ln -s ../../plan.yaml "$d/tasks/a-task/plan-link" &&
	ln -s /etc/passwd "$d/tasks/b-task/outside"
}

# A finished run in state s (and a second, later one in state s when
# "two" is given).
std_run() {
	setup_run s $RUN failed 1700000000000 1700000123456 &&
	if [ "${1:-}" = two ]; then
		setup_run s2 $RUN2 succeeded 1700086400000 1700086499000 &&
		mkdir -p s/runs &&
			cp -R s2/runs/$RUN2 s/runs/ &&
			sqlite3 s/runner.db "ATTACH 's2/runner.db' AS o;
				INSERT INTO runs SELECT * FROM o.runs;"
	fi
}

# entries FILE: one line per entry: name, type, mode, uid, gid, [uname],
# [gname], mtime, link target or -, pax keys other than path, linkpath
# and hdrcharset (or -).
entries() {
	python3 - "$1" <<-\EOF
	import sys, tarfile
	with tarfile.open(sys.argv[1]) as t:
	    for m in t:
	        extra = sorted(set(m.pax_headers) -
	                       {"path", "linkpath", "hdrcharset"})
	        print(m.name, m.type.decode(), oct(m.mode), m.uid, m.gid,
	              "[%s]" % m.uname, "[%s]" % m.gname, m.mtime,
	              m.linkname or "-", ",".join(extra) or "-")
	EOF
}

# tamper SRC DST OP ARG: rewrite an archive with python's tarfile.
#   modify REL    replace the data of TOP/REL
#   remove REL    drop TOP/REL
#   add REL       add a regular file TOP/REL
#   raw NAME      add a regular file named exactly NAME
#   dup REL       add TOP/REL a second time
cat >"$TRASH_ROOT/tamper.py" <<\EOF
import io, sys, tarfile
src, dst, ops = sys.argv[1], sys.argv[2], sys.argv[3:]
ops = list(zip(ops[0::2], ops[1::2]))
with tarfile.open(src) as t:
    members = [(m, t.extractfile(m).read() if m.isreg() else None)
               for m in t]
top = members[0][0].name.split("/")[0]
out = []
for m, data in members:
    rel = m.name.split("/", 1)[1] if "/" in m.name else ""
    if ("remove", rel) in ops:
        continue
    if ("modify", rel) in ops:
        data = b"tampered\n"
        m.size = len(data)
    out.append((m, data))
    if ("dup", rel) in ops:
        out.append((m, data))
for op, arg in ops:
    if op in ("add", "raw"):
        ti = tarfile.TarInfo(top + "/" + arg if op == "add" else arg)
        data = b"extra\n"
        ti.size = len(data)
        out.append((ti, data))
with tarfile.open(dst, "w:gz", format=tarfile.PAX_FORMAT) as o:
    for m, data in out:
        o.addfile(m, io.BytesIO(data) if data is not None else None)
EOF
tamper() {
	python3 "$TRASH_ROOT/tamper.py" "$@"
}

test_expect_success 'archive writes ./runner-RUN.tar.gz and prints it' '
	std_run &&
	runner archive $RUN --state s >out 2>err &&
	echo "./runner-$RUN.tar.gz" >expect &&
	test_cmp expect out &&
	test_must_fail test -s err &&
	test -f runner-$RUN.tar.gz &&
	ls -a >files &&
	test_grep -v "tmp-" files
'

# Bytewise: "changes" < "changes.json" < "changes/README" ('.' < '/').
test_expect_success PYTHON3 'entries: sorted, owners 0/0, normalised modes, mtime = end' '
	std_run &&
	chmod 600 s/runs/$RUN/plan.yaml &&
	chmod 700 s/runs/$RUN/tasks/b-task &&
	chmod 741 s/runs/$RUN/tasks/a-task/changes/src/fix.sh &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null &&
	entries a.tar.gz >actual &&
	cat >expect <<-EOF &&
	$TOP 5 0o755 0 0 [] [] $END - -
	$TOP/SHA256SUMS 0 0o644 0 0 [] [] $END - -
	$TOP/db.json 0 0o644 0 0 [] [] $END - -
	$TOP/plan.yaml 0 0o644 0 0 [] [] $END - -
	$TOP/run.json 0 0o644 0 0 [] [] $END - -
	$TOP/tasks 5 0o755 0 0 [] [] $END - -
	$TOP/tasks/a-task 5 0o755 0 0 [] [] $END - -
	$TOP/tasks/a-task/changes 5 0o755 0 0 [] [] $END - -
	$TOP/tasks/a-task/changes.json 0 0o644 0 0 [] [] $END - -
	$TOP/tasks/a-task/changes/README 0 0o644 0 0 [] [] $END - -
	$TOP/tasks/a-task/changes/src 5 0o755 0 0 [] [] $END - -
	$TOP/tasks/a-task/changes/src/fix.sh 0 0o755 0 0 [] [] $END - -
	$TOP/tasks/a-task/output.log 0 0o644 0 0 [] [] $END - -
	$TOP/tasks/a-task/plan-link 2 0o777 0 0 [] [] $END ../../plan.yaml -
	$TOP/tasks/a-task/result.json 0 0o644 0 0 [] [] $END - -
	$TOP/tasks/b-task 5 0o755 0 0 [] [] $END - -
	$TOP/tasks/b-task/output.log 0 0o644 0 0 [] [] $END - -
	$TOP/tasks/b-task/outside 2 0o777 0 0 [] [] $END /etc/passwd -
	EOF
	test_cmp expect actual
'

test_expect_success 'no atime/ctime anywhere; gzip header has no time or name' '
	std_run &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null &&
	gzip -dc a.tar.gz >a.tar &&
	test "$(grep -a -c -e "atime=" -e "ctime=" -e "mtime=" a.tar)" = 0 &&
	od -A n -t u1 -N 10 a.tar.gz | tr -s " " >hdr &&
	echo " 31 139 8 0 0 0 0 0 2 3" >expect &&
	test_cmp expect hdr
'

test_expect_success 'SHA256SUMS lists every other regular file, sha256sum -c agrees' '
	std_run &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null &&
	mkdir x &&
	tar -xzf a.tar.gz -C x &&
	grep -v "^#" x/$TOP/SHA256SUMS | cut -c67- >listed &&
	target_sum=$(printf "%s" "$(readlink x/$TOP/tasks/b-task/outside)" |
		sha256sum | cut -c1-64) &&
	test_grep "^#symlink $target_sum  tasks/b-task/outside$" \
		x/$TOP/SHA256SUMS &&
	cat >expect <<-\EOF &&
	db.json
	plan.yaml
	run.json
	tasks/a-task/changes.json
	tasks/a-task/changes/README
	tasks/a-task/changes/src/fix.sh
	tasks/a-task/output.log
	tasks/a-task/result.json
	tasks/b-task/output.log
	EOF
	test_cmp expect listed &&
	(cd x/$TOP && sha256sum -c --quiet SHA256SUMS) &&
	test -L x/$TOP/tasks/b-task/outside
'

test_expect_success PYTHON3 'db.json: the rows, keys sorted, exact integers, ordered' '
	std_run &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null &&
	tar -xzOf a.tar.gz $TOP/db.json >db.json &&
	python3 - <<-\EOF
	import json
	def pairs(kv):
	    keys = [k for k, _ in kv]
	    assert keys == sorted(keys, key=lambda k: k.encode()), keys
	    return dict(kv)
	d = json.load(open("db.json"), object_pairs_hook=pairs)
	assert sorted(d) == ["attempts", "events", "run", "schema_version",
	                     "tasks"], sorted(d)
	r = d["run"]
	assert r["id"] == "20261122-020000-a1b2" and r["status"] == "failed"
	assert r["ended_at"] == 1700000123456 and r["exit_code"] == 1, r
	assert [t["id"] for t in d["tasks"]] == ["b-task", "a-task"]
	assert d["tasks"][0]["cost_usd"] == 0.25
	assert d["tasks"][1]["reason"] == "exit 3"
	assert d["tasks"][0]["reason"] is None
	assert [(a["task_id"], a["attempt"]) for a in d["attempts"]] == \
	    [("a-task", 1), ("a-task", 2), ("b-task", 1)]
	assert [e["kind"] for e in d["events"]] == ["run_start", "retry"]
	assert d["events"][0]["data"] == "{\"n\":2}"
	assert d["schema_version"] >= 1
	assert len(d["run"]) == 12 and len(d["tasks"][0]) == 15
	EOF
'

test_expect_success 'two archives are identical despite touch, chmod, chown, TZ, umask' '
	std_run &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null &&
	sleep 1 &&
	find s/runs -exec touch -h {} + &&
	find s/runs -type f ! -perm /111 -exec chmod 600 {} + &&
	find s/runs -type f -perm /111 -exec chmod 700 {} + &&
	find s/runs -type d -exec chmod 700 {} + &&
	if [ "$(id -u)" = 0 ]; then chown -hR 1234:5678 s/runs; fi &&
	(umask 077 && TZ=Asia/Tokyo LC_ALL=C.UTF-8 \
		runner archive $RUN --state s -o b.tar.gz >/dev/null) &&
	cmp a.tar.gz b.tar.gz
'

test_expect_success 'the same run built elsewhere under another umask gives the same bytes' '
	std_run &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null &&
	mkdir -p elsewhere/deeper &&
	(umask 027 && setup_run elsewhere/deeper/st $RUN failed \
		1700000000000 1700000123456) &&
	(cd elsewhere && TZ=America/Los_Angeles \
		runner archive last --state deeper/st -o ../b.tar.gz >/dev/null) &&
	cmp a.tar.gz b.tar.gz
'

test_expect_success PYTHON3 'SOURCE_DATE_EPOCH is honoured and changes the bytes' '
	std_run &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null &&
	SOURCE_DATE_EPOCH=1234567890 runner archive $RUN --state s \
		-o b.tar.gz >/dev/null &&
	SOURCE_DATE_EPOCH=1234567890 runner archive $RUN --state s \
		-o c.tar.gz >/dev/null &&
	test_must_fail cmp -s a.tar.gz b.tar.gz &&
	cmp b.tar.gz c.tar.gz &&
	entries b.tar.gz | cut -d" " -f8 | sort -u >mtimes &&
	echo 1234567890 >expect &&
	test_cmp expect mtimes &&
	runner verify b.tar.gz
'

test_expect_success 'a malformed SOURCE_DATE_EPOCH is a usage error' '
	std_run &&
	SOURCE_DATE_EPOCH=yesterday test_expect_code 2 \
		runner archive $RUN --state s -o a.tar.gz 2>err &&
	test_grep "SOURCE_DATE_EPOCH must be a number of seconds" err &&
	test_must_fail test -e a.tar.gz
'

test_expect_success 'verify: an intact archive' '
	std_run &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null &&
	runner verify a.tar.gz >out &&
	echo "a.tar.gz: 9 files OK" >expect &&
	test_cmp expect out &&
	runner verify - <a.tar.gz >out &&
	echo "-: 9 files OK" >expect &&
	test_cmp expect out &&
	runner verify -- a.tar.gz
'

test_expect_success PYTHON3 'verify names a modified file' '
	std_run &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null &&
	tamper a.tar.gz m.tar.gz modify tasks/a-task/output.log &&
	test_expect_code 1 runner verify m.tar.gz >out 2>err &&
	echo "modified: tasks/a-task/output.log" >expect &&
	test_cmp expect out &&
	test_grep "m.tar.gz: verification failed: 8 of 9 listed files match" err
'

test_expect_success PYTHON3 'verify names a missing file' '
	std_run &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null &&
	tamper a.tar.gz m.tar.gz remove run.json &&
	test_expect_code 1 runner verify m.tar.gz >out &&
	echo "missing: run.json" >expect &&
	test_cmp expect out
'

test_expect_success PYTHON3 'verify names an extra file' '
	std_run &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null &&
	tamper a.tar.gz m.tar.gz add tasks/b-task/new.txt &&
	test_expect_code 1 runner verify m.tar.gz >out &&
	echo "extra: tasks/b-task/new.txt" >expect &&
	test_cmp expect out
'

test_expect_success PYTHON3 'verify names every problem at once, sorted' '
	std_run &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null &&
	tamper a.tar.gz m.tar.gz modify db.json remove plan.yaml \
		add aaa.txt modify tasks/b-task/output.log &&
	test_expect_code 1 runner verify m.tar.gz >out &&
	cat >expect <<-\EOF &&
	extra: aaa.txt
	modified: db.json
	missing: plan.yaml
	modified: tasks/b-task/output.log
	EOF
	test_cmp expect out
'

test_expect_success PYTHON3 'verify: a modified SHA256SUMS shows as a mismatch' '
	std_run &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null &&
	tamper a.tar.gz m.tar.gz modify SHA256SUMS &&
	test_expect_code 1 runner verify m.tar.gz 2>err &&
	test_grep "SHA256SUMS line 1 is not" err
'

test_expect_success 'verify: truncated, garbage, empty archives' '
	std_run &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null &&
	size=$(wc -c <a.tar.gz) &&
	head -c $((size / 2)) a.tar.gz >t.tar.gz &&
	test_expect_code 1 runner verify t.tar.gz 2>err &&
	test_grep "t.tar.gz: corrupt or truncated archive" err &&
	head -c 5000 /dev/urandom >g.tar.gz &&
	test_expect_code 1 runner verify g.tar.gz 2>err &&
	test_grep "g.tar.gz: corrupt or truncated archive" err &&
	: >e.tar.gz &&
	test_expect_code 1 runner verify e.tar.gz 2>err &&
	test_grep "e.tar.gz: " err
'

test_expect_success 'verify: bytes after the last gzip member' '
	std_run &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null &&
	{ cat a.tar.gz && printf "hidden payload"; } >j.tar.gz &&
	test_expect_code 1 runner verify j.tar.gz 2>err &&
	test_grep "j.tar.gz: 14 bytes after the end of the compressed data" err &&
	test_expect_code 1 runner verify - <j.tar.gz 2>err &&
	test_grep "14 bytes after the end" err
'

test_expect_success PYTHON3 'verify: an archive without SHA256SUMS' '
	std_run &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null &&
	tamper a.tar.gz n.tar.gz remove SHA256SUMS &&
	test_expect_code 1 runner verify n.tar.gz >out 2>err &&
	test_grep "n.tar.gz: no SHA256SUMS in the archive" err &&
	test_must_fail test -s out
'

test_expect_success PYTHON3 'verify rejects .. and absolute entries and extracts nothing' '
	std_run &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null &&
	mkdir sub && cd sub &&
	tamper ../a.tar.gz ../d.tar.gz raw "$TOP/../../evil" &&
	test_expect_code 1 runner verify ../d.tar.gz 2>err &&
	test_grep "unsafe path .*'\''\.\.'\'' component" err &&
	tamper ../a.tar.gz ../abs.tar.gz raw "/tmp/evil-$$" &&
	test_expect_code 1 runner verify ../abs.tar.gz 2>err &&
	test_grep "unsafe path '\''/tmp/evil-$$'\'': absolute" err &&
	test_must_fail test -e ../../evil &&
	test_must_fail test -e /tmp/evil-$$ &&
	tamper ../a.tar.gz ../o.tar.gz raw "elsewhere/file" &&
	test_expect_code 1 runner verify ../o.tar.gz 2>err &&
	test_grep "is outside the top-level directory" err &&
	tamper ../a.tar.gz ../dup.tar.gz dup run.json &&
	test_expect_code 1 runner verify ../dup.tar.gz 2>err &&
	test_grep "run.json'\'' appears twice" err
'

test_expect_success 'verify: unreadable file is exit 4, usage is exit 2' '
	test_expect_code 4 runner verify nope.tar.gz 2>err &&
	test_grep "cannot read '\''nope.tar.gz'\'': No such file or directory" err &&
	mkdir d &&
	test_expect_code 4 runner verify d 2>err &&
	test_grep "Is a directory" err &&
	test_expect_code 2 runner verify 2>err &&
	test_grep "usage: runner verify FILE" err &&
	test_expect_code 2 runner verify a b 2>err &&
	test_expect_code 2 runner verify --bogus 2>err
'

test_expect_success 'a run still going is refused' '
	setup_run s $RUN running 1700000000000 NULL &&
	test_expect_code 1 runner archive $RUN --state s 2>err &&
	echo "runner: run $RUN is still going; archive it when it has finished" >expect &&
	test_cmp expect err &&
	ls -a >files &&
	test_grep -v "tar.gz" files
'

test_expect_success 'RUN can be a prefix or last' '
	std_run two &&
	runner archive 20261122 --state s >out &&
	echo "./runner-$RUN.tar.gz" >expect &&
	test_cmp expect out &&
	runner archive last --state s >out &&
	echo "./runner-$RUN2.tar.gz" >expect &&
	test_cmp expect out &&
	tar -tzf runner-$RUN2.tar.gz | head -1 >top &&
	echo "runner-$RUN2/" >expect &&
	test_cmp expect top &&
	runner verify runner-$RUN2.tar.gz &&
	test_expect_code 4 runner archive 2026112 --state s 2>err &&
	test_grep "matches several runs" err &&
	test_expect_code 4 runner archive nosuch --state s 2>err &&
	test_grep "no run '\''nosuch'\''" err
'

test_expect_success 'usage errors and a missing state' '
	test_expect_code 2 runner archive 2>err &&
	test_grep "usage: runner archive RUN" err &&
	test_expect_code 2 runner archive a b 2>err &&
	test_expect_code 2 runner archive --bogus x 2>err &&
	test_expect_code 4 runner archive last --state nostate 2>err &&
	test_grep "no runner state" err
'

test_expect_success 'RUNNER_STATE and options after RUN' '
	std_run &&
	RUNNER_STATE=s runner archive last -o x.tar.gz >out &&
	echo x.tar.gz >expect &&
	test_cmp expect out &&
	runner verify x.tar.gz
'

test_expect_success '-o /dev/full: a clear error, the device untouched, no temp file' '
	std_run &&
	test_expect_code 4 runner archive $RUN --state s -o /dev/full 2>err &&
	test_grep "cannot write '\''/dev/full'\'': No space left on device" err &&
	test -c /dev/full &&
	test -z "$(ls /dev | grep "^full\.tmp")"
'

test_expect_success '-o into a missing directory: a clear error, nothing left' '
	std_run &&
	test_expect_code 4 runner archive $RUN --state s -o no/such/a.tar.gz 2>err &&
	test_grep "cannot create '\''no/such/a.tar.gz'\'': No such file or directory" err &&
	test_expect_code 4 runner archive $RUN --state s -o . 2>err &&
	test_grep "is a directory" err
'

# Root reads and writes anything: as root, the permission tests run the
# runner as nobody (as_user), on a state handed to nobody (user_owns).
as_user() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
	else
		"$@"
	fi
}

user_owns() {
	if [ "$(id -u)" -eq 0 ]; then
		chmod 711 "$TRASH_ROOT" &&
		chown -R 65534:65534 "$@"
	fi
}

test_expect_success '-o into a read-only directory' '
	std_run &&
	mkdir ro && chmod 555 ro &&
	user_owns s &&
	test_expect_code 4 as_user "$RUNNER" archive $RUN --state s -o ro/a.tar.gz 2>err &&
	test_grep "cannot create '\''ro/a.tar.gz'\'': Permission denied" err &&
	test -z "$(ls ro)"
'

# A tiny tmpfs in a private mount namespace stands for a full disk.
if unshare -rm sh -c 'mount -t tmpfs -o size=64k tmpfs /mnt' 2>/dev/null
then
	TMPFS=SH
else
	TMPFS=TMPFS_IN_USER_NAMESPACE
fi
test_expect_success $TMPFS 'a full disk: a clear error and no partial file' '
	std_run &&
	head -c 1048576 /dev/urandom >s/runs/$RUN/tasks/b-task/big.bin &&
	mkdir mnt &&
	unshare -rm sh -c "
		mount -t tmpfs -o size=64k tmpfs mnt &&
		echo old >mnt/a.tar.gz &&
		! \"$RUNNER\" archive $RUN --state s -o mnt/a.tar.gz 2>err &&
		ls -A mnt >left &&
		cat mnt/a.tar.gz >kept
	" &&
	test_grep "cannot write '\''mnt/a.tar.gz'\'': No space left on device" err &&
	echo a.tar.gz >expect &&
	test_cmp expect left &&
	echo old >expect &&
	test_cmp expect kept
'

test_expect_success 'an existing archive is replaced whole' '
	std_run &&
	echo old >a.tar.gz &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null &&
	runner verify a.tar.gz
'

test_expect_success '-o - writes to standard output' '
	std_run &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null &&
	runner archive $RUN --state s -o - >b.tar.gz &&
	cmp a.tar.gz b.tar.gz
'

test_expect_success 'special files are skipped with a warning, symlinks not followed' '
	std_run &&
	mkfifo s/runs/$RUN/tasks/b-task/pipe &&
	ln -s /etc s/runs/$RUN/tasks/b-task/etc-link &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null 2>err &&
	test_grep "warning: skipping '\''tasks/b-task/pipe'\'': a fifo" err &&
	tar -tzf a.tar.gz >list &&
	test_grep -v pipe list &&
	test_grep "tasks/b-task/etc-link$" list &&
	test_grep -v "etc-link/" list &&
	runner verify a.tar.gz
'

test_expect_success 'odd file names survive: newline, backslash, non-UTF-8' '
	std_run &&
	d=s/runs/$RUN/tasks/b-task &&
	printf 1 >"$d/$(printf "new\nline")" &&
	printf 2 >"$d/back\\slash" &&
	printf 3 >"$d/$(printf "latin\351")" &&
	printf 4 >"$d/$(printf "\303\251t\303\251")" &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null &&
	runner verify a.tar.gz >out &&
	echo "a.tar.gz: 13 files OK" >expect &&
	test_cmp expect out &&
	mkdir x && tar -xzf a.tar.gz -C x &&
	(cd x/$TOP && sha256sum -c --quiet SHA256SUMS) &&
	LC_ALL=C.UTF-8 runner archive $RUN --state s -o b.tar.gz >/dev/null &&
	cmp a.tar.gz b.tar.gz
'

test_expect_success 'a run folder with its own db.json is refused' '
	std_run &&
	echo "{}" >s/runs/$RUN/db.json &&
	test_expect_code 4 runner archive $RUN --state s -o a.tar.gz 2>err &&
	test_grep "has a file '\''db.json'\'' of its own" err &&
	test_must_fail test -e a.tar.gz
'

test_expect_success 'an unreadable file in the run folder: an error, no file' '
	std_run &&
	chmod 000 s/runs/$RUN/run.json &&
	user_owns s . &&
	test_expect_code 4 as_user "$RUNNER" archive $RUN --state s -o a.tar.gz 2>err &&
	test_grep "cannot read .*run.json'\''.*Permission denied" err &&
	test_must_fail test -e a.tar.gz &&
	ls -a >files &&
	test_grep -v "tmp-" files
'

test_expect_success 'a run folder that is a symlink is followed at the top only' '
	std_run &&
	mv s/runs/$RUN moved &&
	ln -s ../../moved s/runs/$RUN &&
	runner archive $RUN --state s -o a.tar.gz >/dev/null &&
	runner verify a.tar.gz >out &&
	echo "a.tar.gz: 9 files OK" >expect &&
	test_cmp expect out
'

test_expect_success 'a missing run folder is an error' '
	std_run &&
	rm -rf s/runs/$RUN &&
	test_expect_code 4 runner archive $RUN --state s -o a.tar.gz 2>err &&
	test_grep "the folder of run $RUN" err &&
	test_must_fail test -e a.tar.gz
'

test_expect_success 'a real run from exec (isolation: none) archives and verifies' '
	mkdir ws && echo a >ws/a.txt &&
	cat >plan.yaml <<-\EOF &&
	version: 1
	name: arc
	backend: {isolation: none}
	defaults:
	  workspace: ws
	tasks:
	  - id: edit
	    run: echo changed > a.txt && echo hi
	EOF
	runner exec plan.yaml --state st >/dev/null &&
	runner archive last --state st -o a.tar.gz >/dev/null &&
	runner verify a.tar.gz >out &&
	test_grep "a.tar.gz: [0-9]* files OK" out &&
	tar -tzf a.tar.gz >list &&
	test_grep "/tasks/edit/changes/a.txt$" list &&
	test_grep "/db.json$" list &&
	sleep 1 &&
	runner archive last --state st -o b.tar.gz >/dev/null &&
	cmp a.tar.gz b.tar.gz
'

test_done
