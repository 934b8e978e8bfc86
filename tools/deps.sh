#!/bin/sh
# Install the Debian packages runner needs to build and test, when missing.
# --quiet: say nothing when everything is already there.
# chromium (about 400 MB installed) only renders the run report in
# tests/t/t7100-report.sh, which skips that test without it. groff-base
# checks that the man page renders without warnings (t0300-cli-help.sh).
set -eu
PKGS="build-essential pkg-config libyaml-dev libcurl4-openssl-dev libcjson-dev
libsqlite3-dev libarchive-dev libssl-dev bubblewrap sqlite3 git python3
python3-jsonschema python3-yaml parallel rsync procps curl tzdata patch
clang-format-14 groff-base
chromium"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	[ "${1:-}" = --quiet ] || echo "deps: all packages present"
	exit 0
fi
echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
