#!/usr/bin/env bash
# The README's first command: set up .venv (once; again only when the
# requirements change) and run all four Arbiter services in one process on
# 127.0.0.1:9870-9873 (SQLite files in ./arbiter-data, an in-process bus,
# noauth identity headers). .venv also gets the openstack CLI; the run
# prints how to point it at the services.
# Extra arguments go to arbiter-all-in-one, e.g. --port-base 9970
# (see .venv/bin/arbiter-all-in-one --help).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-venv.sh
exec .venv/bin/arbiter-all-in-one "$@"
