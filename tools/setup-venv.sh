#!/usr/bin/env bash
# Create (or update) the project's virtualenv in .venv and install Arbiter
# into it in develop mode. Usage: tools/setup-venv.sh [--with-tests]
set -euo pipefail
cd "$(dirname "$0")/.."
# Some tools leave a plain file named .venv behind; a venv needs the name.
[ -e .venv ] && [ ! -d .venv ] && rm -f .venv
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
reqs=(-r requirements.txt)
if [ "${1:-}" = "--with-tests" ]; then
  reqs+=(-r test-requirements.txt)
fi
echo "Installing Arbiter and its requirements into .venv ..."
.venv/bin/python -m pip install --quiet "${reqs[@]}" -e .
