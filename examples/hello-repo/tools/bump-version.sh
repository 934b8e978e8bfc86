#!/bin/sh
# Bump the patch number in VERSION and start a changelog section for it.
set -eu
old=$(cat VERSION)
new=$(echo "$old" | awk -F. '{ printf "%d.%d.%d", $1, $2, $3 + 1 }')
echo "$new" > VERSION
{
	sed -n '1,2p' CHANGELOG.md
	printf '## %s\n\n- Maintenance release (task %s, attempt %s).\n\n' \
		"$new" "$RUNNER_TASK_ID" "$RUNNER_ATTEMPT"
	sed -n '3,$p' CHANGELOG.md
} > CHANGELOG.md.new
mv CHANGELOG.md.new CHANGELOG.md
echo "version $old -> $new"
