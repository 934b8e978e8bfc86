#!/bin/sh
# The source follows the committed .clang-format (STYLE.md): what
# `make style` checks, run with the other tests so that CI sees it.
. "$(dirname "$0")/lib.sh"

test_expect_success CLANG_FORMAT_14 'runner/ is formatted as .clang-format says' '
	cd "$RUNNER_TOP" &&
	clang-format --dry-run --Werror runner/*.c runner/*.h
'

test_done
