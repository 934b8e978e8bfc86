#!/bin/sh
# QA (qa10): tests that demonstrate bugs still open. Each one fails
# against main as of f8865d6; the expected behaviour is in its title.
. "$(dirname "$0")/lib.sh"

test_expect_success ROOT_MOUNT 'a pull that fails on a full disk keeps the whole change list' '
	mkdir ws st &&
	echo a >ws/a.txt &&
	cat >p.yaml <<-\EOF &&
	version: 1
	name: qa-full
	backend: {isolation: none}
	defaults: {workspace: ws}
	tasks:
	  - id: sp
	    run: for i in 1 2 3 4 5; do echo $i >a$i; done; echo mod >>a.txt; head -c 7000000 /dev/urandom >zbig
	EOF
	unshare -m sh -c "mount -t tmpfs -o size=12m tmpfs st &&
		\"$RUNNER\" exec p.yaml --state st --quiet >out 2>&1;
		cp st/runs/*/tasks/sp/changes.json changes.json;
		\"$RUNNER\" apply last sp --state st >apply.out 2>&1;
		echo \$? >apply.rc" &&
	test "$(cat apply.rc)" = 4 &&
	test_grep "could not be written into the results (see their notes); apply takes all" apply.out &&
	test "$(cat ws/a.txt)" = a &&
	! test -e ws/a1 &&
	python3 -c "
import json
c = json.load(open(\"changes.json\"))
added = sorted(a[\"path\"] for a in c[\"added\"])
mod = [m[\"path\"] for m in c[\"modified\"]]
assert added == [\"a1\", \"a2\", \"a3\", \"a4\", \"a5\", \"zbig\"], added
assert mod == [\"a.txt\"], mod
"
'

test_expect_success 'apply of a change list cut at 100,000 entries does not apply a part silently' '
	mkdir ws &&
	cat >p.yaml <<-\EOF &&
	version: 1
	name: qa-cut
	backend: {isolation: none}
	defaults: {workspace: ws}
	tasks:
	  - id: many
	    run: mkdir m && cd m && seq 1 100005 | xargs touch
	EOF
	runner exec p.yaml --state st --quiet >out &&
	grep -q "\"truncated\":[[:space:]]*true" st/runs/*/tasks/many/changes.json &&
	test_must_fail runner apply last many --state st >apply.out
'

test_expect_success ROOT_MOUNT 'a state on a read-only file system can still be read' '
	mkdir ws &&
	printf "version: 1\nname: qa-ro\nbackend: {isolation: none}\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: echo hi\n" >p.yaml &&
	runner exec p.yaml --state st --quiet >out &&
	unshare -m sh -c "mount --bind st st && mount -o remount,bind,ro st &&
		\"$RUNNER\" runs --state st >runs.out 2>runs.err &&
		\"$RUNNER\" show last t --state st >show.out 2>show.err" ||
	{ cat runs.err show.err; exit 1; }
'

test_expect_success PYTHON3 'verify reports entries hidden after the end-of-archive blocks' '
	mkdir ws &&
	printf "version: 1\nname: qa-eof\nbackend: {isolation: none}\ndefaults: {workspace: ws}\ntasks:\n  - id: t\n    run: echo hi >f\n" >p.yaml &&
	runner exec p.yaml --state st --quiet >out &&
	runner archive last -o a.tar.gz --state st >/dev/null &&
	python3 -c "
import gzip, io, tarfile
raw = gzip.open(\"a.tar.gz\").read()
top = raw[:100].split(b\"/\")[0].decode()
b = io.BytesIO()
t = tarfile.open(fileobj=b, mode=\"w\", format=tarfile.PAX_FORMAT)
ti = tarfile.TarInfo(top + \"/evil.txt\"); ti.size = 5
t.addfile(ti, io.BytesIO(b\"evil\n\")); t.close()
open(\"b.tar.gz\", \"wb\").write(gzip.compress(raw, mtime=0) + gzip.compress(b.getvalue(), mtime=0))
" &&
	mkdir x && tar -xizf b.tar.gz -C x &&
	test -f x/*/evil.txt &&
	test_expect_code 1 runner verify b.tar.gz >v.out 2>&1 ||
	{ cat v.out; exit 1; }
'

test_expect_success 'validate escapes control characters from the plan in its errors' '
	printf "version: 1\nname: \"x\\\\e]0;pwned\\\\a\"\ntasks:\n  - id: t\n    run: \"true\"\n" >p.yaml &&
	test_expect_code 2 runner validate p.yaml 2>err &&
	test_grep "invalid name" err &&
	! grep -q "$(printf "\033")" err ||
	{ od -c err | head -5; exit 1; }
'

test_done
