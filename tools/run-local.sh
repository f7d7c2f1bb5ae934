#!/usr/bin/env bash
# The README's first command: set up .venv (once; again only when the
# requirements change) and run all four Arbiter services in one process on
# 127.0.0.1:9870-9873 (SQLite files in ./arbiter-data, an in-process bus,
# noauth identity headers). .venv also gets the openstack CLI; the run
# prints how to point it at the services.
# Extra arguments go to arbiter-all-in-one, e.g. --port-base 9970
# (see .venv/bin/arbiter-all-in-one --help).
#
# The services run in the directory this script is called from, as
# arbiter-all-in-one itself would: relative paths given to it (--data-dir,
# --config-dir) and its data directory are the caller's, whichever
# directory that is (from another directory, --config-dir etc was looked
# for in the repository and refused as "not a directory").
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
(cd "$repo" && tools/setup-venv.sh)
exec "$repo/.venv/bin/arbiter-all-in-one" "$@"
