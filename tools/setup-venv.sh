#!/usr/bin/env bash
# Create (or update) the project's virtualenv in .venv and install Arbiter
# into it in develop mode, with python-openstackclient so that
# `openstack quota ...` works against a local run.
# Usage: tools/setup-venv.sh [--with-tests]
#
# The install runs only when something it depends on changed: a stamp in
# .venv records the hashes of requirements.txt, setup.cfg, this script, the
# Python version (and test-requirements.txt with --with-tests). pip's and
# setuptools' output goes to .venv/setup.log and is shown only if the
# install fails.
set -euo pipefail
cd "$(dirname "$0")/.."
# Some tools leave a plain file named .venv behind; a venv needs the name.
[ -e .venv ] && [ ! -d .venv ] && rm -f .venv

usage="Usage: tools/setup-venv.sh [--with-tests]
Creates or updates .venv with Arbiter (develop mode) and
python-openstackclient; --with-tests adds the test requirements."
with_tests=false
for arg in "$@"; do
  case "$arg" in
    --with-tests) with_tests=true ;;
    -h|--help) echo "$usage"; exit 0 ;;
    *) echo "tools/setup-venv.sh: unknown argument '$arg'" >&2
       echo "$usage" >&2
       exit 2 ;;
  esac
done

inputs=(requirements.txt setup.cfg tools/setup-venv.sh)
$with_tests && inputs+=(test-requirements.txt)
stamp_of() { { python3 --version; sha256sum "$@"; } | sha256sum | cut -d' ' -f1; }
stamp_file=.venv/setup-stamp
$with_tests && stamp_file=.venv/setup-stamp-tests
stamp=$(stamp_of "${inputs[@]}")

if [ -x .venv/bin/python ] && [ -f "$stamp_file" ] &&
   [ "$(cat "$stamp_file")" = "$stamp" ]; then
  exit 0
fi

# Debian's python3 has no venv module until python3-venv is installed;
# "python3 -m venv" then leaves a .venv without pip behind. Say so first.
if ! command -v python3 >/dev/null 2>&1; then
  echo "tools/setup-venv.sh: python3 is not installed (Arbiter needs Python 3.10 or later; apt-get install python3 python3-venv)." >&2
  exit 1
fi
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  echo "tools/setup-venv.sh: $(python3 --version 2>&1) cannot create a virtualenv (no venv/ensurepip module): install Debian's python3-venv package (apt-get install python3-venv) and run this again." >&2
  exit 1
fi
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "tools/setup-venv.sh: $(python3 --version 2>&1) is too old: Arbiter needs Python 3.10 or later." >&2
  exit 1
fi

reqs=(-r requirements.txt python-openstackclient)
$with_tests && reqs+=(-r test-requirements.txt)
echo "Installing Arbiter and its requirements into .venv (log: .venv/setup.log) ..."
python3 -m venv .venv
log=.venv/setup.log
if ! { .venv/bin/python -m pip install --quiet --upgrade pip &&
       .venv/bin/python -m pip install --quiet "${reqs[@]}" -e . ; } \
     >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "tools/setup-venv.sh: installing into .venv failed; the full output is in $log" >&2
  exit 1
fi
# An install with the tests is also a complete install without them.
stamp_of requirements.txt setup.cfg tools/setup-venv.sh > .venv/setup-stamp
echo "$stamp" > "$stamp_file"
