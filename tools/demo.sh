#!/bin/sh
# make demo: run plans/demo.yaml on the local backend and show the result.
set -eu
runner=${1:-build/runner}
state=${RUNNER_STATE:-.runner}
start=$(date +%s.%N)
set +e
"$runner" exec plans/demo.yaml --state "$state"
rc=$?
set -e
end=$(date +%s.%N)
echo
"$runner" show last --state "$state"
echo
awk -v s="$start" -v e="$end" -v rc="$rc" 'BEGIN { printf "demo: exit %d, wall time %.2fs\n", rc, e - s }'
echo "try: $runner show last readme-usage --state $state"
echo "     $runner logs last readme-usage --state $state"
exit "$rc"
