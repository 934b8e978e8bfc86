#!/bin/sh
# schema/plan.schema.json: every plan in plans/ and examples/ and every
# valid fixture passes it; the invalid fixtures marked "# schema: reject"
# fail it, those marked "# schema: accept" (errors only `runner validate`
# can see) pass it.
. "$(dirname "$0")/lib.sh"

SCHEMA="$RUNNER_TOP/schema/plan.schema.json"
PLANS="$FIXTURES/plans"

# check-schema.py accept|reject FILE...: exit 1 naming each file that is
# not as expected. YAML is read as YAML 1.2 reads it (the language server
# does the same): yes/no/on/off are strings, dates are strings.
cat > "$TRASH_ROOT/check-schema.py" <<'PY'
import json, re, sys
import jsonschema, yaml

class Loader(yaml.SafeLoader):
    pass

Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v
        if tag not in ("tag:yaml.org,2002:bool",
                       "tag:yaml.org,2002:timestamp")]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))

schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
validator = jsonschema.Draft7Validator(schema)
want = sys.argv[2]
bad = 0
for path in sys.argv[3:]:
    try:
        doc = yaml.load(open(path), Loader=Loader)
        errors = [e.message for e in validator.iter_errors(doc)]
    except yaml.YAMLError as e:
        errors = ["yaml: %s" % e]
    if want == "accept" and errors:
        print("%s: rejected: %s" % (path, errors[0]))
        bad = 1
    elif want == "reject" and not errors:
        print("%s: accepted, but it is invalid" % path)
        bad = 1
    else:
        print("%s: %s as expected%s" % (path, want,
              (" (" + errors[0] + ")") if errors else ""))
sys.exit(bad)
PY

check() {
	python3 "$TRASH_ROOT/check-schema.py" "$SCHEMA" "$@"
}

test_expect_success PYTHON3 'the schema is a valid draft-07 schema' '
	python3 -c "import json, jsonschema; jsonschema.Draft7Validator.check_schema(json.load(open(\"$SCHEMA\")))"
'

test_expect_success PYTHON3 'plans in plans/ and examples/ pass the schema' '
	find "$RUNNER_TOP/plans" "$RUNNER_TOP/examples" -type f \
		\( -name "*.yaml" -o -name "*.yml" \) 2>/dev/null |
		sort > candidates &&
	: > plans &&
	while read -r f; do
		if grep -q "^version:" "$f"; then echo "$f" >> plans; fi ||
		return 1
	done < candidates &&
	if test -s plans; then
		check accept $(cat plans)
	else
		echo "no plans yet: the fixtures stand in" &&
		check accept "$PLANS"/valid-*.yaml
	fi
'

test_expect_success PYTHON3 'valid fixture plans pass the schema' '
	check accept "$PLANS"/valid-*.yaml
'

test_expect_success PYTHON3 'invalid fixtures marked reject fail the schema' '
	files=$(grep -l "^# schema: reject" "$PLANS"/invalid-*.yaml) &&
	test -n "$files" &&
	for f in $files; do check reject "$f" || return 1; done
'

test_expect_success PYTHON3 'invalid fixtures marked accept pass the schema' '
	files=$(grep -l "^# schema: accept" "$PLANS"/invalid-*.yaml) &&
	test -n "$files" &&
	check accept $files
'

test_expect_success PYTHON3 'every invalid fixture says what the schema does' '
	for f in "$PLANS"/invalid-*.yaml; do
		grep -q "^# schema: \(accept\|reject\)" "$f" ||
		{ echo "$f: no # schema: line"; false; } || return 1
	done
'

# Each of these is a plan that differs from a valid one in one place.
reject_case() {
	printf "%s\n" "$2" > "$TRASH/$1.yaml" &&
	check reject "$TRASH/$1.yaml"
}

test_expect_success PYTHON3 'the schema rejects what it can see' '
	base="version: 1
name: x" &&
	reject_case unknown-top "$base
tasks: [{id: a, run: x}]
nme: x" &&
	reject_case unknown-task-key "$base
tasks: [{id: a, run: x, timeot: 5m}]" &&
	reject_case bad-duration "$base
tasks: [{id: a, run: x, timeout: 90}]" &&
	reject_case bad-duration-order "$base
tasks: [{id: a, run: x, timeout: 30m1h}]" &&
	reject_case bad-size "$base
defaults: {log_limit: 1.5G}
tasks: [{id: a, run: x}]" &&
	reject_case run-and-agent "$base
tasks: [{id: a, run: x, agent: c, prompt: p}]" &&
	reject_case neither "$base
tasks: [{id: a}]" &&
	reject_case prompt-with-run "$base
tasks: [{id: a, run: x, prompt: p}]" &&
	reject_case agent-without-prompt "$base
tasks: [{id: a, agent: c}]" &&
	reject_case reserved-env "$base
tasks: [{id: a, run: x, env: {RUNNER_X: 1}}]" &&
	reject_case absolute-workspace "$base
tasks: [{id: a, run: x, workspace: /etc}]" &&
	reject_case bad-id "$base
tasks: [{id: a b, run: x}]" &&
	reject_case no-tasks "$base
tasks: []" &&
	reject_case version-2 "version: 2
name: x
tasks: [{id: a, run: x}]" &&
	reject_case bad-cron "$base
schedule: {cron: 0 2 * *}
tasks: [{id: a, run: x}]" &&
	reject_case empty-command "$base
agents: {c: {command: []}}
tasks: [{id: a, agent: c, prompt: p}]" &&
	reject_case id-in-defaults "$base
defaults: {run: x}
tasks: [{id: a, run: x}]" &&
	reject_case retries "$base
tasks: [{id: a, run: x, retries: 101}]" &&
	reject_case secret-scan "$base
tasks: [{id: a, run: x, secret_scan: no}]" &&
	reject_case dotdot-pattern "$base
tasks: [{id: a, run: x, pull: [../x]}]"
'

test_expect_success PYTHON3 'what the schema rejects, runner validate rejects' '
	n=0 &&
	for f in "$TRASH_ROOT"/t*/*.yaml; do
		test -f "$f" &&
		test_expect_code 2 "$RUNNER" validate "$f" 2>/dev/null &&
		n=$((n + 1)) ||
		{ echo "runner validate accepts $f (or it is gone)"; false; } || return 1
	done &&
	test "$n" -gt 0
'

test_done
