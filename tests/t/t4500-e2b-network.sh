#!/bin/sh
# backend.network and backend.memory on the e2b backend, through the
# CLI, against the loopback E2B server: what the create request asks
# for (allow_internet_access, network.allowOut/denyOut, as the official
# SDK sends them), what the stand-in then enforces, and what validate
# refuses or warns about because E2B cannot say it.
. ./lib.sh
. ./lib-e2b.sh

SDK_DIR=${E2B_SDK_DIR:-/usr/lib/node_modules/e2b}

# The network fields of the one sandbox made since the last reset, as
# the server recorded them: [allowInternetAccess, network, cutOff].
created() {
	server_state | python3 -c '
import json, sys
c = json.load(sys.stdin)["created"]
assert len(c) == 1, c
print(json.dumps([c[0]["allowInternetAccess"], c[0]["network"], c[0]["cutOff"]], sort_keys=True))'
}

# plan NETWORK-LINE: p.yaml whose task says whether it reached the
# server (this host's loopback) from inside the sandbox.
plan() {
	mkdir -p ws &&
	cat >p.yaml <<-EOF2
	version: 1
	name: net
	backend:
	  type: e2b
	$1
	defaults: {workspace: ws, env: {U: "$URL"}}
	tasks:
	  - id: t
	    run: if curl -s -o /dev/null --max-time 5 "\$U/health"; then echo reached; else echo cut; fi >net.txt
	EOF2
}

test_expect_success BWRAP 'default: allow_internet_access false, no network object, the sandbox is cut off' '
	curl -sf -X POST "$URL/_reset" >/dev/null &&
	plan "" &&
	runner exec p.yaml --state st >out 2>&1 &&
	test "$(created)" = "[false, null, true]" &&
	test "$(cat st/runs/*/tasks/t/changes/net.txt)" = cut
'

test_expect_success BWRAP 'network: false says the same' '
	curl -sf -X POST "$URL/_reset" >/dev/null &&
	plan "  network: false" &&
	runner exec p.yaml --state st >out 2>&1 &&
	test "$(created)" = "[false, null, true]"
'

test_expect_success BWRAP 'network: true: allow_internet_access true, the sandbox has a network' '
	curl -sf -X POST "$URL/_reset" >/dev/null &&
	plan "  network: true" &&
	runner validate p.yaml >out 2>err &&
	test_grep -v warning err &&
	runner exec p.yaml --state st >out 2>&1 &&
	test "$(created)" = "[true, null, false]" &&
	test "$(cat st/runs/*/tasks/t/changes/net.txt)" = reached
'

test_expect_success BWRAP 'a list: allowOut without ports, denyOut all traffic, allow_internet_access false' '
	curl -sf -X POST "$URL/_reset" >/dev/null &&
	plan "  network: [api.example.org:443, \"*.pkg.example.org:80\", 1.1.1.1:53, 1.1.1.1:853, API.Example.org.:80]" &&
	runner exec p.yaml --state st >out 2>&1 &&
	cat >expect <<-\EOF2 &&
	[false, {"allowOut": ["api.example.org", "*.pkg.example.org", "1.1.1.1"], "denyOut": ["0.0.0.0/0"]}, true]
	EOF2
	created >actual &&
	test_cmp expect actual &&
	test "$(cat st/runs/*/tasks/t/changes/net.txt)" = cut
'

test_expect_success 'validate: a list on e2b says what its ports become' '
	plan "  network: [api.example.org:443, 1.1.1.1:53, 1.1.1.1:853, 8.8.4.4:443]" &&
	runner validate p.yaml >out 2>err &&
	test_grep "p.yaml: ok (1 task)" out &&
	test_grep "warning: p.yaml:5:12: backend.network on e2b: E2B.s allowOut has no ports, so 1.1.1.1, 8.8.4.4 may be reached on every port, and a listed name on both 80 and 443 (and 8.8.8.8, for DNS)$" err &&
	plan "  network: [1.1.1.1:53]" &&
	runner validate p.yaml >out 2>err &&
	test_grep "so 1.1.1.1 may be reached on every port$" err
'

test_expect_success 'validate: entries E2B cannot express are refused where they are written' '
	plan "  network: [db.example.org:5432, 127.0.0.1:8080, localhost:9000, \"[2001:db8::1]:443\", 10.1.2.3:22, 169.254.169.254:80, 100.64.0.1:443, 0.0.0.0:80, \"*.example.org:22\", ok.example.org:443]" &&
	test_expect_code 2 runner validate p.yaml >out 2>err &&
	cat >expect <<-\EOF2 &&
	p.yaml:5:13: backend.network: on e2b: '"'"'db.example.org:5432'"'"': E2B matches a name only on ports 80 and 443 (by the HTTP Host and the TLS SNI); list the address (a.b.c.d:5432)
	p.yaml:5:34: backend.network: on e2b: '"'"'127.0.0.1:8080'"'"': an E2B sandbox cannot reach this host; its own loopback needs no entry
	p.yaml:5:50: backend.network: on e2b: '"'"'localhost:9000'"'"': an E2B sandbox cannot reach this host; its own localhost needs no entry
	p.yaml:5:66: backend.network: on e2b: '"'"'[2001:db8::1]:443'"'"': E2B'"'"'s egress filter is IPv4 only (list an IPv4 address)
	p.yaml:5:87: backend.network: on e2b: '"'"'10.1.2.3:22'"'"': a private address, which E2B never lets a sandbox reach
	p.yaml:5:100: backend.network: on e2b: '"'"'169.254.169.254:80'"'"': a link-local address, which E2B never lets a sandbox reach
	p.yaml:5:120: backend.network: on e2b: '"'"'100.64.0.1:443'"'"': a private address, which E2B never lets a sandbox reach
	p.yaml:5:136: backend.network: on e2b: '"'"'0.0.0.0:80'"'"': an unspecified address, which E2B never lets a sandbox reach
	p.yaml:5:148: backend.network: on e2b: '"'"'*.example.org:22'"'"': E2B matches a name only on ports 80 and 443 (by the HTTP Host and the TLS SNI); list the address (a.b.c.d:22)
	EOF2
	test_cmp expect err &&
	test_grep -v ok.example.org err
'

test_expect_success BWRAP 'a local plan run with --backend e2b: an entry E2B cannot express stops the run before it starts' '
	curl -sf -X POST "$URL/_reset" >/dev/null &&
	plan "  network: [127.0.0.1:8080]" &&
	sed -i "s/type: e2b/type: local/" p.yaml &&
	runner validate p.yaml >out 2>err &&
	test_expect_code 4 runner exec p.yaml --backend e2b --state st >out 2>err &&
	test_grep "backend.network on e2b: .127.0.0.1:8080.: an E2B sandbox cannot reach this host" err &&
	test "$(server_state | python3 -c "import json,sys; print(len(json.load(sys.stdin)[\"created\"]))")" = 0
'

test_expect_success 'validate: backend.memory on e2b is said not to be enforced; on local it is not' '
	plan "  memory: 1G" &&
	runner validate p.yaml >out 2>err &&
	test_grep "warning: p.yaml:5:11: backend.memory is not enforced on e2b: a sandbox has its template.s memory and CPUs" err &&
	sed -i "s/type: e2b/type: local/" p.yaml &&
	runner validate p.yaml >out 2>err &&
	test_grep -v memory err
'

if ! command -v node >/dev/null ||
   ! test -f "$SDK_DIR/dist/index.mjs"; then
	test_skip 'the official SDK: the same network fields, the same refusals' \
		"node or the e2b npm package in $SDK_DIR is missing (tools/deps.sh)"
else
test_expect_success BWRAP 'the official SDK sends the same network fields for the same intent' '
	curl -sf -X POST "$URL/_reset" >/dev/null &&
	plan "  network: [api.example.org:443, 1.1.1.1:53]" &&
	runner exec p.yaml --state st >out 2>&1 &&
	created >runner.json &&
	curl -sf -X POST "$URL/_reset" >/dev/null &&
	cat >sdk.mjs <<-\EOF2 &&
	const { Sandbox, ALL_TRAFFIC } = await import(process.argv[2]);
	const s = await Sandbox.create({ allowInternetAccess: false,
		network: { allowOut: ["api.example.org", "1.1.1.1"], denyOut: [ALL_TRAFFIC] } });
	const info = await s.getInfo();
	console.log(JSON.stringify([info.allowInternetAccess, info.network.allowOut, info.network.denyOut]));
	await s.kill();
	EOF2
	timeout 60 node sdk.mjs "file://$SDK_DIR/dist/index.mjs" >info &&
	created >sdk.json &&
	test_cmp runner.json sdk.json &&
	echo "[false,[\"api.example.org\",\"1.1.1.1\"],[\"0.0.0.0/0\"]]" >expect &&
	test_cmp expect info
'

test_expect_success PYTHON3 'the API refusals the SDK surfaces: a name without deny-all, a name in denyOut, a bad type' '
	cat >bad.mjs <<-\EOF2 &&
	const { Sandbox } = await import(process.argv[2]);
	for (const opts of [{ network: { allowOut: ["api.example.org"] } },
			    { network: { denyOut: ["example.org"] } },
			    { allowInternetAccess: "no" }]) {
		try { const s = await Sandbox.create(opts); await s.kill(); console.log("created"); }
		catch (e) { console.log(e.message); }
	}
	EOF2
	timeout 60 node bad.mjs "file://$SDK_DIR/dist/index.mjs" >out &&
	test_grep "must include .ALL_TRAFFIC. in deny out" out &&
	test_grep "invalid denied CIDR example.org" out &&
	test_grep "allow_internet_access.: value must be a boolean" out &&
	test_grep -v "^created" out
'
fi

test_expect_success BWRAP 'an agent task with the network off fails at once naming backend.network, and makes no sandbox' '
	curl -sf -X POST "$URL/_reset" >/dev/null &&
	mkdir -p ws &&
	cat >p.yaml <<-\EOF &&
	version: 1
	name: offline
	backend: {type: e2b}
	defaults: {workspace: ws}
	agents:
	  claude: {command: [/bin/sh, -c, "echo started; sleep 30"]}
	tasks:
	  - {id: t, agent: claude, prompt: p}
	EOF
	runner validate p.yaml >out 2>err &&
	test_grep "agent .claude. (task .t.) needs the network to reach its API, but backend.network is false" err &&
	start=$(date +%s) &&
	test_expect_code 1 runner exec p.yaml --state st >out 2>err &&
	test $(($(date +%s) - start)) -lt 10 &&
	test_grep "needs the network to reach its API, but backend.network is false" st/runs/*/tasks/t/result.json &&
	server_state | python3 -c "
import json, sys
c = json.load(sys.stdin)[\"created\"]
assert c == [], c"
'

test_done
