# Helpers for the tests that run the real Claude Code and Codex CLIs
# (tools/deps.sh installs them) under bubblewrap with runner's arguments
# against the scripted model servers of tests/model-server/: the same
# setup as t9000-agents-real.sh (see there, and
# tests/model-server/README.md). Source after lib.sh.

MS="$RUNNER_TOP/tests/model-server"
SCEN="$MS/scenarios"
AGENT_FIXTURES="$RUNNER_TOP/tests/fixtures/agents"
SANDBOX_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PROMPT="Fix the greeting in hello.txt and add new.txt."

# start_server anthropic|openai SCENARIO: the scripted server in the
# background, stopped when the test ends; its port in ./port, every
# request in ./requests.jsonl. SCENARIO is a name in scenarios/ or a path.
start_server() {
	case "$2" in
	*/*) _scen=$2 ;;
	*) _scen=$SCEN/$2 ;;
	esac &&
	{ python3 "$MS/$1.py" "$_scen" --port-file port --log requests.jsonl \
		--var ws=/workspace --max-seconds 300 2>server.err & } &&
	echo $! >server.pid &&
	trap 'kill "$(cat "$TRASH/server.pid")" 2>/dev/null' EXIT &&
	test_wait_for 10 'test -s port' &&
	PORT=$(cat port)
}

# workspace: ./ws with hello.txt, an empty ./home.
workspace() {
	mkdir ws home &&
	printf 'hello world\nline two\n' >ws/hello.txt
}

system_dirs() {
	for d in /bin /sbin /lib /lib32 /lib64 /libx32; do
		if [ -L "$d" ]; then
			echo "--symlink $(readlink "$d") $d"
		elif [ -d "$d" ]; then
			echo "--ro-bind $d $d"
		fi
	done
}

# sandbox CMD...: CMD in bubblewrap with runner's arguments plus
# --share-net, ./ws at /workspace, ./home at /home/agent, and an
# environment of PATH, HOME and the NAME=VALUE words of $SANDBOX_ENV.
sandbox() {
	_env=""
	for _kv in ${SANDBOX_ENV:-}; do
		_env="$_env --setenv ${_kv%%=*} ${_kv#*=}"
	done
	# shellcheck disable=SC2046,SC2086
	set -- --die-with-parent --unshare-all --share-net --new-session \
		--cap-drop ALL --hostname runner --ro-bind /usr /usr \
		$(system_dirs) --ro-bind /etc /etc --proc /proc --dev /dev \
		--tmpfs /tmp --bind "$PWD/ws" /workspace \
		--bind "$PWD/home" /home/agent --chdir /workspace --clearenv \
		--setenv PATH "$SANDBOX_PATH" --setenv HOME /home/agent \
		$_env -- "$@"
	if [ "$(id -u)" -eq 0 ]; then
		chown -R 65534:65534 ws home &&
		setpriv --reuid=65534 --regid=65534 --clear-groups bwrap "$@"
	else
		bwrap "$@"
	fi
}

# claude_run ARGS...: the real CLI in the sandbox against the server on
# $PORT, the prompt on stdin; stdout and stderr together on ./out.jsonl
# (as runner's output pipe gets them); $CLAUDE_ENV adds variables.
claude_run() {
	echo "$PROMPT" >prompt.txt &&
	SANDBOX_ENV="ANTHROPIC_BASE_URL=http://127.0.0.1:$PORT
		ANTHROPIC_API_KEY=sk-ant-test-key
		CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 ${CLAUDE_ENV:-}" \
		sandbox claude -p --dangerously-skip-permissions \
		--output-format stream-json --verbose "$@" \
		<prompt.txt >out.jsonl 2>&1
}

# codex_config [PROVIDER SETTINGS]: $HOME/.codex/config.toml for the
# server on $PORT, model gpt-5.5, analytics and plugins off.
codex_config() {
	mkdir -p home/.codex &&
	cat >home/.codex/config.toml <<-EOF2
	model = "gpt-5.5"
	model_provider = "scripted"
	[analytics]
	enabled = false
	[features]
	plugins = false
	unbounded_connection_retries = false
	[model_providers.scripted]
	name = "Scripted"
	base_url = "http://127.0.0.1:$PORT/v1"
	wire_api = "responses"
	env_key = "OPENAI_API_KEY"
	${1:-}
	EOF2
}

# codex_run ARGS...: codex exec in the sandbox, the prompt on stdin;
# stdout and stderr together on ./out.jsonl.
codex_run() {
	echo "$PROMPT" >prompt.txt &&
	SANDBOX_ENV="OPENAI_API_KEY=sk-test-key" \
		sandbox codex exec --json --skip-git-repo-check \
		--dangerously-bypass-approvals-and-sandbox "$@" \
		<prompt.txt >out.jsonl 2>&1
}

check() { python3 "$MS/check.py" "$@"; }
