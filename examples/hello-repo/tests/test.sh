#!/bin/sh
# The project's test: greet.sh must greet, and carry no trailing blanks.
set -eu
out=$(sh src/greet.sh runner)
[ "$out" = "hello, runner" ] || { echo "FAIL: got '$out'"; exit 1; }
if grep -n '[[:blank:]]$' src/greet.sh; then
	echo "FAIL: trailing whitespace in src/greet.sh"
	exit 1
fi
echo "ok: greet.sh"
