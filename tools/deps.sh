#!/bin/sh
# Install the Debian packages runner needs to build and test, when missing.
# --quiet: say nothing when everything is already there.
# Then the coding-agent CLIs, from npm (below).
# chromium (about 400 MB installed) only renders the run report in
# tests/t/t7100-report.sh, which skips that test without it. groff-base
# checks that the man page renders without warnings (t0300-cli-help.sh).
set -eu
PKGS="build-essential pkg-config libyaml-dev libcurl4-openssl-dev libcjson-dev
libsqlite3-dev libarchive-dev libssl-dev bubblewrap sqlite3 git python3
python3-jsonschema python3-yaml parallel rsync procps curl tzdata patch
clang-format-14 groff-base
chromium"
# The coding-agent CLIs that tests/t/t9000-agents-real.sh runs for real
# against scripted model servers (it skips without them), from npm into
# /usr, so that a sandbox, which sees /usr read-only, finds /usr/bin/claude
# and /usr/bin/codex. Both are native binaries shipped in npm packages:
# Claude Code's postinstall copies its platform package's binary over
# bin/claude.exe (a stub that only prints an error until then); Codex's
# bin/codex.js (node) runs the binary of its optional platform package.
# Nothing is downloaded at run time. The versions are pinned here and only
# here. RUNNER_NO_AGENTS=1 skips them. A failed npm install is a warning,
# not an error: the tests that need the CLIs then say they skip, and why.
CLAUDE_CODE_VERSION=2.1.332
CODEX_VERSION=0.171.0
# The official E2B JavaScript SDK, which tests/t/t4300-e2b-sdk.sh drives
# against the loopback E2B server (tests/e2b-server) to keep that server
# honest; into /usr/lib/node_modules/e2b (a library: no binary). The test
# skips without it. RUNNER_NO_E2B_SDK=1 skips it.
E2B_SDK_VERSION=2.51.0
E2B_SDK_DIR=/usr/lib/node_modules/e2b
quiet=false
[ "${1:-}" = --quiet ] && quiet=true
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

agents_present() {
	[ "$(/usr/bin/claude --version 2>/dev/null)" = \
		"$CLAUDE_CODE_VERSION (Claude Code)" ] &&
		[ "$(/usr/bin/codex --version 2>/dev/null)" = \
			"codex-cli $CODEX_VERSION" ]
}

install_agents() {
	if ! command -v npm >/dev/null; then
		echo "deps: warning: no npm; claude and codex not installed" >&2
		return 0
	fi
	echo "deps: installing @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" \
		"@openai/codex@$CODEX_VERSION (npm, under /usr)"
	# A cache of our own, removed after: the two packages are ~800 MB
	# unpacked and need not be kept twice.
	cache=$(mktemp -d)
	$SUDO npm install -g --prefix /usr --no-fund --no-audit \
		--loglevel=error --cache "$cache" \
		--allow-scripts=@anthropic-ai/claude-code \
		"@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" \
		"@openai/codex@$CODEX_VERSION" ||
		echo "deps: warning: npm install failed" >&2
	rm -rf "$cache"
	# An npm that skipped the postinstall leaves the stub: run it.
	pkg=/usr/lib/node_modules/@anthropic-ai/claude-code
	if [ -f "$pkg/install.cjs" ] && ! /usr/bin/claude --version \
		>/dev/null 2>&1; then
		(cd "$pkg" && $SUDO node install.cjs) ||
			echo "deps: warning: claude's postinstall failed" >&2
	fi
	agents_present || echo "deps: warning: claude $CLAUDE_CODE_VERSION" \
		"and codex $CODEX_VERSION are not both installed; the tests" \
		"of the real agents will skip" >&2
}

e2b_sdk_present() {
	[ -f "$E2B_SDK_DIR/package.json" ] &&
		node -e 'process.exit(require(process.argv[1]).version ===
			process.argv[2] ? 0 : 1)' "$E2B_SDK_DIR/package.json" \
			"$E2B_SDK_VERSION" 2>/dev/null
}

install_e2b_sdk() {
	if ! command -v npm >/dev/null; then
		echo "deps: warning: no npm; the E2B SDK is not installed" >&2
		return 0
	fi
	echo "deps: installing e2b@$E2B_SDK_VERSION (npm, under /usr)"
	cache=$(mktemp -d)
	$SUDO npm install -g --prefix /usr --no-fund --no-audit \
		--loglevel=error --cache "$cache" "e2b@$E2B_SDK_VERSION" ||
		echo "deps: warning: npm install e2b failed; t4300 will skip" >&2
	rm -rf "$cache"
}

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $missing
fi
if [ "${RUNNER_NO_AGENTS:-}" != 1 ] && ! agents_present; then
	install_agents
elif [ -z "$missing" ] && ! $quiet; then
	echo "deps: all packages present"
fi
if [ "${RUNNER_NO_E2B_SDK:-}" != 1 ] && ! e2b_sdk_present; then
	install_e2b_sdk
fi
