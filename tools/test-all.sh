#!/usr/bin/env bash
# The README's second command: install what the tests need (Debian's
# rabbitmq-server and postgresql, a .venv with the test requirements) and
# run the whole test suite, unit and functional, with stestr.
# Extra arguments are a stestr filter, e.g. tools/test-all.sh limits_svc
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-peers.sh
tools/setup-venv.sh --with-tests
export PATH="$PWD/.venv/bin:$PATH"
# The federation tests' upstream OpenID Provider (npm oidc-provider),
# installed once into its cache directory before the tests start.
.venv/bin/python -m svc_common.tests.fixtures.oidc_provider ||
  echo "oidc-provider not installed now; its tests will try again" >&2
log=$(mktemp)
status=0
.venv/bin/stestr run "$@" 2>&1 | tee "$log" || status=$?
passed=$(grep -oP '^ - Passed: \K[0-9]+' "$log" | tail -1 || true)
failed=$(grep -oP '^ - Failed: \K[0-9]+' "$log" | tail -1 || true)
skipped=$(grep -oP '^ - Skipped: \K[0-9]+' "$log" | tail -1 || true)
rm -f "$log"
echo
if [ -z "$passed$failed$skipped" ]; then
  # stestr printed no totals: the tests could not be listed (an import
  # error in a test module) or none matched the filter. "0 failed" would
  # read as a success.
  echo "No test results: stestr ran no test (exit $status); see above." >&2
  [ "$status" -ne 0 ] || status=1
else
  echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
fi
exit $status
