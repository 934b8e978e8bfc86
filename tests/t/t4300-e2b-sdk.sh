#!/bin/sh
# The official E2B JavaScript SDK (npm `e2b`, pinned in tools/deps.sh)
# against tests/e2b-server/server.py: every call of
# tests/e2b-sdk/sdk-check.mjs must pass, so that the stand-in the e2b
# tests run against keeps behaving as the real service does for the
# client E2B ships (it creates at /v2/sandboxes, uploads chunked, reads
# root's home, filters by URL-encoded metadata, ...).
. ./lib.sh
. ./lib-e2b.sh

SDK_DIR=${E2B_SDK_DIR:-/usr/lib/node_modules/e2b}
CHECK="$RUNNER_TOP/tests/e2b-sdk/sdk-check.mjs"

# One line per call sdk-check.mjs makes; each must say "ok".
cat >"$TRASH_ROOT/calls" <<'EOF'
Sandbox.create with metadata
commands.run as root
commands.run as the default user
commands.run with envs and cwd
commands.run exit code (CommandExitError)
files.write text (multipart), files.read
files.write 1 MiB binary (octet-stream), read as bytes
files.write several files at once, as root
commands.run in the background
commands.list shows it
commands.connect(pid)
commands.kill(pid), then wait() sees the kill
a process that ended is forgotten (kill and connect: not found)
Sandbox.list by metadata, paginated
setTimeout moves the end, shorter or longer
Sandbox.kill, then it is gone
EOF

if ! command -v node >/dev/null; then
	test_skip 'the official E2B SDK passes against the loopback server' \
		'node is not installed'
elif ! test -f "$SDK_DIR/dist/index.mjs"; then
	test_skip 'the official E2B SDK passes against the loopback server' \
		"the e2b npm package is not in $SDK_DIR (tools/deps.sh installs it)"
else
	test_expect_success BWRAP 'the official E2B SDK passes against the loopback server' '
	node -e "console.log(require(process.argv[1]).version)" \
		"$SDK_DIR/package.json" >version &&
	echo "# e2b SDK $(cat version)" &&
	timeout 300 node "$CHECK" "$SDK_DIR" >out 2>err || {
		cat out err; exit 1; } &&
	cat out &&
	while read -r call; do
		grep -qxF "ok - $call" out ||
			{ echo "missing or failed: $call"; return 1; }
	done <"$TRASH_ROOT/calls" &&
	! grep "^not ok" out &&
	test "$(grep -c "^ok - " out)" = "$(wc -l <"$TRASH_ROOT/calls")" &&
	test_grep "^sdk-check: 16 passed, 0 failed$" out &&
	server_state >state.json &&
	python3 -c "
import json, sys
d = json.load(open(\"state.json\"))
reqs = [r for r in d[\"requests\"] if not r[\"path\"].startswith(\"/_\")]
assert not d[\"sandboxes\"], \"sandboxes left: %s\" % d[\"sandboxes\"]
assert all(r[\"agent\"].startswith(\"e2b-js-sdk/\") for r in reqs), \\
    set(r[\"agent\"] for r in reqs)
ups = [r for r in reqs if r[\"method\"] == \"POST\" and r[\"path\"] == \"/files\"]
assert ups and all(r[\"chunked\"] and r[\"status\"] == 200 for r in ups), ups
assert any(r[\"path\"] == \"/v2/sandboxes\" and r[\"method\"] == \"POST\"
           for r in reqs)
"
'
fi

test_done
