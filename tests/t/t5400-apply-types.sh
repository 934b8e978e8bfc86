#!/bin/sh
# Sparse files kept sparse on the way into a sandbox, back into the
# results and through apply.
. ./lib.sh

plan() {
	printf "version: 1\nname: types\ndefaults: {workspace: ws, timeout: 5m%s}\ntasks:\n  - id: t\n    run: %s\n" "${2:-}" "$1" >p.yaml
}
rd() { echo st/runs/*/tasks/t; }
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
	test $((end - start)) -lt 30
'

test_expect_success BWRAP 'a sparse file the task modifies or adds comes back sparse, and apply keeps it sparse' '
	sparse_ws &&
	plan "head -c 2097152 /dev/urandom | dd of=big bs=1M seek=1500 conv=notrunc status=none && truncate -s 1G new && echo tail | dd of=new bs=1M seek=1000 conv=notrunc status=none" ", pull_limit: 4G" &&
	runner exec p.yaml --state st >out &&
	c=$(rd)/changes &&
	test $(stat -c %s $c/big) = 2147483648 && test $(kib $c/big) -lt 10240 &&
	test $(stat -c %s $c/new) = 1073741824 && test $(kib $c/new) -lt 1024 &&
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
