#!/bin/sh
# Secrets through the CLI: a real PEM private key and a service-account
# JSON credential are masked in every form a task prints them in, in
# every place a run writes (output.log, the database, result.json,
# --json events, the live line); a value too short to mask well is
# warned about by name; warnings that used to live only in output.log
# (log_limit, the 100,000-change cap) reach result.json and runner show.
. ./lib.sh
. ./lib-e2b.sh

# lib.sh takes one prerequisite: these stand for several.
have_all() {
	for p in "$@"; do
		test_have_prereq "$p" || return 1
	done
}
KEYS=BWRAP
have_all BWRAP OPENSSL PYTHON3 || KEYS=MISSING_BWRAP_OPENSSL_OR_PYTHON3
LIVE=SCRIPT
have_all BWRAP OPENSSL PYTHON3 SCRIPT || LIVE=MISSING_SCRIPT_OR_OPENSSL
E2B=BWRAP
have_all BWRAP PYTHON3 CURL || E2B=MISSING_BWRAP_PYTHON3_OR_CURL

# leaks.py SECRET_FILE... -- FILE...: every line of each secret worth
# hiding (8+ characters, split at newlines and at backslash-n, trimmed;
# not the PEM armour lines), raw or JSON-escaped, looked for in each
# FILE. Prints what it finds; exit 1 when anything leaked.
cat >"$TRASH_ROOT/leaks.py" <<\EOF
import json, re, sys
args = sys.argv[1:]
cut = args.index("--")
secrets, files = args[:cut], args[cut + 1:]
forms = {}
for path in secrets:
    text = open(path).read()
    for n, line in enumerate(re.split(r"\n|\\n", text), 1):
        line = line.strip()
        if len(line) < 8 or line.startswith("-----"):
            continue
        for form in (line, json.dumps(line)[1:-1],
                     json.dumps(line)[1:-1].replace("/", "\\/")):
            forms[form] = "%s line %d" % (path, n)
if len(forms) < 20:
    sys.exit("leaks.py: only %d forms: not a real secret" % len(forms))
bad = 0
for path in files:
    data = open(path, errors="replace").read()
    for form, where in forms.items():
        if form in data:
            print("%s: holds %s: %s" % (path, where, form[:40]))
            bad += 1
sys.exit(1 if bad else 0)
EOF

# A service-account credential the way Google hands it out: pretty JSON,
# its private key (a fresh 2048-bit one) inside a string with \n escapes.
make_credential() {
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out gcp.pem 2>/dev/null &&
	python3 - <<-\EOF
	import json
	cred = {
	    "type": "service_account",
	    "project_id": "acme-batch-prod",
	    "private_key_id": "3f9a1c0e8b7d6a5f4e3d2c1b0a99887766554433",
	    "private_key": open("gcp.pem").read(),
	    "client_email": "runner@acme-batch-prod.iam.gserviceaccount.com",
	    "client_id": "104583920123456789012",
	    "auth_uri": "https://accounts.google.com/o/oauth2/auth",
	    "token_uri": "https://oauth2.googleapis.com/token",
	    "universe_domain": "googleapis.com",
	}
	open("cred.json", "w").write(json.dumps(cred, indent=2) + "\n")
	EOF
}

test_expect_success $KEYS 'a PEM key and a JSON credential are masked in every form, everywhere' '
	mkdir ws &&
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 \
		-out key.pem 2>/dev/null &&
	test "$(wc -l <key.pem)" -ge 28 &&
	make_credential &&
	cat >plan.yaml <<-\EOF &&
	version: 1
	name: pem
	defaults: {workspace: ws, secrets: [PEM_KEY, GCP_CRED]}
	tasks:
	  - id: pem
	    run: |
	      printf "%s\n" "$PEM_KEY"
	      printf "%s\n" "$PEM_KEY" | sed -n 14p
	      printf "%s\n" "$PEM_KEY" | python3 -c "import json,sys; print(json.dumps(sys.stdin.read()))"
	      printf "%s" "$PEM_KEY" | head -c 1700; sleep 0.3
	      printf "%s\n" "$PEM_KEY" | tail -c +1701
	      python3 -c "import os,sys,time
	      v = os.environ[\"PEM_KEY\"]
	      for i in range(0, len(v), 7):
	          sys.stdout.write(v[i:i + 7]); sys.stdout.flush(); time.sleep(0.0005)
	      print()"
	  - id: gcp
	    run: |
	      printf "%s\n" "$GCP_CRED"
	      printf "%s\n" "$GCP_CRED" | sed -n 5p
	      printf "%s\n" "$GCP_CRED" | python3 -c "import json,sys; print(json.dumps(sys.stdin.read()))"
	      printf "%s\n" "$GCP_CRED" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"private_key\"])"
	      printf "%s\n" "$GCP_CRED" | python3 -c "import json,sys; print(json.dumps(json.load(sys.stdin)))"
	      exit 3
	EOF
	PEM_KEY=$(cat key.pem) GCP_CRED=$(cat cred.json) \
		test_expect_code 1 runner exec plan.yaml --state st --json \
		>events.json 2>err &&
	run=$(ls st/runs) &&
	d=st/runs/$run/tasks &&
	printf "***\n***\n\"***\\\\n\"\n***\n***\n" >expect &&
	test_cmp expect $d/pem/output.log &&
	test_grep "\[runner: attempt 1 failed: exited with status 3\]" $d/gcp/output.log &&
	test "$(grep -c "^\*\*\*$" $d/gcp/output.log)" -ge 2 &&
	runner show last gcp --state st >show.out &&
	runner logs last gcp --state st >logs.out &&
	runner report last --state st -o report.html &&
	sqlite3 st/runner.db .dump >dump.sql &&
	test_grep task_finished dump.sql &&
	python3 "$TRASH_ROOT/leaks.py" key.pem cred.json -- \
		$d/*/output.log $d/*/result.json st/runs/$run/run.json \
		dump.sql events.json err show.out logs.out report.html
'

test_expect_success $LIVE 'the live line on a terminal shows no secret' '
	mkdir ws &&
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out key.pem 2>/dev/null &&
	cat >plan.yaml <<-\EOF &&
	version: 1
	name: live
	defaults: {workspace: ws, secrets: [PEM_KEY]}
	tasks:
	  - id: t
	    run: printf "%s\n" "$PEM_KEY" | sed -n 3,6p; sleep 1; exit 1
	EOF
	PEM_KEY=$(cat key.pem) script -qec "$RUNNER exec plan.yaml --state st" \
		tty.out </dev/null >/dev/null 2>&1 || : &&
	test_grep "t .*failed" tty.out &&
	python3 "$TRASH_ROOT/leaks.py" key.pem -- tty.out \
		st/runs/*/tasks/t/output.log
'

test_expect_success BWRAP 'a secret shorter than 8 characters is warned about by name, at validate and exec' '
	mkdir ws &&
	cat >plan.yaml <<-\EOF &&
	version: 1
	name: short
	defaults: {workspace: ws}
	tasks:
	  - id: pin
	    secrets: [SHORT_PIN, LONG_TOKEN, TINY]
	    run: echo "pin $SHORT_PIN token $LONG_TOKEN"; echo "100#% done"
	  - id: other
	    secrets: [LONG_TOKEN]
	    run: echo "token $LONG_TOKEN"
	EOF
	SHORT_PIN="#%" LONG_TOKEN=tok-3c1e9b0f77a2 runner validate plan.yaml >out 2>err &&
	test_grep "plan.yaml: ok" out &&
	test_grep "warning: plan.yaml: secret .SHORT_PIN. (as set here) is shorter than 8 characters" err &&
	test_grep -v "LONG_TOKEN" err &&
	test_grep -v "#%" err &&
	LONG_TOKEN=tok-3c1e9b0f77a2 runner validate plan.yaml >out 2>err &&
	test_must_fail test -s err &&
	SHORT_PIN= LONG_TOKEN=tok-3c1e9b0f77a2 runner validate plan.yaml >out 2>err &&
	test_grep "secret .SHORT_PIN. (as set here) is empty" err &&
	SHORT_PIN="#%" LONG_TOKEN=tok-3c1e9b0f77a2 TINY=ar \
		runner exec plan.yaml --state st >out 2>err &&
	test "$(grep -c "warning: secret .SHORT_PIN. is shorter than 8 characters" err)" = 1 &&
	test_grep -v "LONG_TOKEN" err &&
	test_grep -v "#%" err &&
	echo "pin *** token ***" >expect &&
	echo "100*** done" >>expect &&
	test_cmp expect st/runs/*/tasks/pin/output.log &&
	runner show last pin --state st >show.out &&
	test_grep "^warnings:  secret .SHORT_PIN. is shorter than 8 characters" show.out &&
	test_grep "^          secret .TINY. is shorter than 8 characters: it is masked" show.out &&
	test_grep -v "#%" show.out &&
	python3 -c "
import json, sys
w = json.load(open(sys.argv[1]))[\"warnings\"]
assert len(w) == 2 and w[0].startswith(\"secret \x27SHORT_PIN\x27 is shorter\"), w
assert w[1].startswith(\"secret \x27TINY\x27 is shorter than 8 characters: it is masked\"), w
o = json.load(open(sys.argv[2]))[\"warnings\"]
assert o == [], o
" st/runs/*/tasks/pin/result.json st/runs/*/tasks/other/result.json
'

test_expect_success BWRAP 'output cut at log_limit is a warning in result.json, the database and show' '
	mkdir ws &&
	cat >plan.yaml <<-\EOF &&
	version: 1
	name: cut
	defaults: {workspace: ws, log_limit: 1M}
	tasks:
	  - id: loud
	    run: head -c 5000000 /dev/urandom | base64
	  - id: twice
	    retries: 1
	    retry_backoff: 0s
	    run: head -c 3000000 /dev/urandom | base64; exit 1
	  - id: quiet
	    run: head -c 500000 /dev/urandom | base64
	EOF
	test_expect_code 1 runner exec plan.yaml --state st >out 2>err &&
	d=$(echo st/runs/*/tasks) &&
	test "$(stat -c %s $d/loud/output.log)" -lt 1100000 &&
	test_grep "output truncated at log_limit" $d/loud/output.log &&
	runner show last loud --state st >show.out &&
	test_grep "^warnings:  output cut at log_limit (1M): output.log holds the first 1M" show.out &&
	runner show last twice --state st >show2.out &&
	test "$(grep -c "output cut at log_limit" show2.out)" = 1 &&
	runner show last quiet --state st >show3.out &&
	test_grep -v "^warnings:" show3.out &&
	test "$(sqlite3 st/runner.db "select count(*) from events where kind = \"warning\" and message like \"output cut at log_limit%\"")" = 2 &&
	python3 -c "
import json, sys
for path, want in zip(sys.argv[1:], (1, 1, 0)):
    w = [x for x in json.load(open(path))[\"warnings\"] if \"log_limit\" in x]
    assert len(w) == want, (path, w)
" $d/loud/result.json $d/twice/result.json $d/quiet/result.json
'

# 100,001 empty files, nothing pulled (so only the list is at stake).
many_plan() {
	cat >plan.yaml <<-EOF
	version: 1
	name: many
	backend: {$1}
	defaults: {workspace: ws}
	tasks:
	  - id: many
	    pull: ["keep/"]
	    run: mkdir d && cd d && seq 1 100001 | xargs touch
	  - id: few
	    run: mkdir d && cd d && seq 1 10 | xargs touch
	EOF
}

check_many() {
	runner show last many --state st >show.out &&
	sed -n "1,/^changes:/p" show.out >head.out &&
	test_grep "^warnings:  more than 100000 changes: the list was cut there" head.out &&
	runner show last few --state st >show2.out &&
	test_grep -v "^warnings:" show2.out &&
	python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
assert r[\"changes\"][\"added\"] == 100000, r[\"changes\"]
assert r[\"warnings\"] == [\"more than 100000 changes: the list was cut there\"], r
c = json.load(open(sys.argv[2]))
assert c[\"truncated\"] is True and len(c[\"added\"]) == 100000
assert json.load(open(sys.argv[3]))[\"warnings\"] == []
" st/runs/*/tasks/many/result.json st/runs/*/tasks/many/changes.json \
	st/runs/*/tasks/few/result.json
}

test_expect_success 'more than 100,000 changes is a warning in result.json and show (local)' '
	mkdir ws &&
	many_plan "isolation: none" &&
	runner exec plan.yaml --state st >out 2>err &&
	check_many
'

test_expect_success $E2B 'more than 100,000 changes is a warning in result.json and show (e2b)' '
	mkdir ws &&
	many_plan "type: e2b" &&
	runner exec plan.yaml --state st >out 2>err &&
	check_many
'

test_done
