#!/bin/sh
# The source follows the committed .clang-format (STYLE.md): what
# `make style` checks, run with the other tests so that CI sees it.
# tools/deps.sh installs clang-format-14, the version the style was made
# with; without it this fails, it does not skip.
. "$(dirname "$0")/lib.sh"

test_expect_success 'runner/ is formatted as .clang-format says' '
	command -v clang-format-14 >/dev/null ||
		{ echo "clang-format-14 is missing: run make deps"; exit 1; } &&
	cd "$RUNNER_TOP" &&
	clang-format-14 --dry-run --Werror runner/*.c runner/*.h
'

test_done
