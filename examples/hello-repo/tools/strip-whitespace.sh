#!/bin/sh
# Remove trailing blanks from every shell and Markdown file.
set -eu
find . -type f \( -name '*.sh' -o -name '*.md' \) -not -path './.git/*' |
while IFS= read -r f; do
	if grep -q '[[:blank:]]$' "$f"; then
		sed -i 's/[[:blank:]]*$//' "$f"
		echo "fixed: $f"
	fi
done
