# Shared by the e2b tests: start tests/e2b-server/server.py on loopback
# with a canary API key, point the E2B_* variables at it, and stop it
# when the script ends. Source after lib.sh.

E2B_TOOL="$RUNNER_BUILD/tests/e2b-tool"
SERVER="$RUNNER_TOP/tests/e2b-server/server.py"
CANARY="e2b_$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')"
SERVER_PID=""

cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
	chmod -R u+rwx "$TRASH_ROOT" 2>/dev/null
	rm -rf "$TRASH_ROOT"
}
trap cleanup EXIT

if test_have_prereq BWRAP && test_have_prereq PYTHON3 &&
   test_have_prereq CURL; then
	mkdir -p "$TRASH_ROOT/sbx"
	python3 "$SERVER" --port-file "$TRASH_ROOT/port" --api-key "$CANARY" \
		--root "$TRASH_ROOT/sbx" 2>"$TRASH_ROOT/server.err" &
	SERVER_PID=$!
	# Not a test: when the server does not come up, every test fails,
	# and this says why.
	test_wait_for 10 'test -s "$TRASH_ROOT/port"' ||
		sed 's/^/# server: /' "$TRASH_ROOT/server.err"
	URL="http://127.0.0.1:$(cat "$TRASH_ROOT/port")"
	E2B_API_URL=$URL
	E2B_SANDBOX_URL=$URL
	E2B_API_KEY=$CANARY
	export URL E2B_API_URL E2B_SANDBOX_URL E2B_API_KEY
fi
# Fast enough for tests; the defaults are documented in sandbox-e2b.h.
RUNNER_E2B_RETRY_DELAY=100ms
RUNNER_E2B_RETRIES=3
RUNNER_E2B_HEALTH_TIMEOUT=5s
export RUNNER_E2B_RETRY_DELAY RUNNER_E2B_RETRIES RUNNER_E2B_HEALTH_TIMEOUT
unset E2B_DOMAIN RUNNER_E2B_REQUEST_TIMEOUT RUNNER_E2B_TRANSFER_TIMEOUT \
	RUNNER_E2B_KEEPALIVE RUNNER_E2B_MAX_TTL RUNNER_E2B_TTL_MARGIN

set_faults() { curl -sf -X POST --data "{\"faults\": $1}" "$URL/_faults" >/dev/null; }
server_config() { curl -sf -X POST --data "$1" "$URL/_config" >/dev/null; }
server_state() { curl -sf "$URL/_state"; }
