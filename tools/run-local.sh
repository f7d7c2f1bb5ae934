#!/usr/bin/env bash
# The README's first command: set up .venv and run all four Arbiter
# services in one process on 127.0.0.1:9870-9873 (SQLite files in
# ./arbiter-data, an in-process bus, noauth identity headers).
# Extra arguments go to arbiter-all-in-one (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-venv.sh
exec .venv/bin/arbiter-all-in-one "$@"
