#!/usr/bin/env bash
# Install the Debian packages whose servers the functional tests start
# privately (RabbitMQ, PostgreSQL; memcached for tools/bench_limits, whose
# keystonemiddleware caches tokens there as deployments do), and curl for
# the documentation's examples, which the tests run. The tests start and stop their own
# instances on 127.0.0.1; the packaged services are not used.
set -euo pipefail
need=()
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v memcached >/dev/null 2>&1 || [ -x /usr/bin/memcached ] || need+=(memcached)
# The README's examples use curl, and the tests run them.
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Need root to install: ${need[*]}" >&2
    exit 1
  fi
  echo "Installing ${need[*]} ..."
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
  # The packages start their own services; the tests do not use them.
  service rabbitmq-server stop >/dev/null 2>&1 || true
  service postgresql stop >/dev/null 2>&1 || true
  service memcached stop >/dev/null 2>&1 || true
fi

# The federation tests' upstream OpenID Provider: the npm package
# oidc-provider, run by Node.js (>= 18) and installed once into a cache
# directory (svc_common/tests/fixtures/oidc_provider.py).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Need root to install: nodejs npm" >&2
    exit 1
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm
fi
# The package itself is installed by tools/test-all.sh once .venv exists
# (the fixture installs it on first use otherwise).
