#!/usr/bin/env bash
# The whole test suite, on SQLite and PostgreSQL and in a real browser.
# Installs what the tests need from Debian's packages (PostgreSQL, Chromium, chromedriver) and
# PyPI (aiosmtpd, a real SMTP server),
# starts a throwaway PostgreSQL on a free port, runs every test, and cleans up.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || [ -x /usr/lib/chromium/chromedriver ] || missing+=(chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A real SMTP server for the outbox tests, from PyPI.
python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check aiosmtpd

# A throwaway PostgreSQL cluster, owned by the postgres user when we are root (initdb refuses root).
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
# The backup tests run pg_dump and pg_restore: the cluster's own, first on the PATH.
export PATH="$pg_bin:$PATH"
pg_dir=$(mktemp -d /tmp/earlyhelp-pg.XXXXXX)
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$pg_dir"
pg "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
  -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300" start >/dev/null
# Each test's SQLite database, browser profile and scratch files go in a directory of their own,
# removed with the cluster: a whole run leaves several gigabytes otherwise.
scratch=$(mktemp -d /tmp/earlyhelp-tests.XXXXXX)
cleanup() { pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$pg_dir" "$scratch" 2>/dev/null || true; }
trap cleanup EXIT
export EARLYHELP_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
export TMPDIR="$scratch"
echo "== PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on port $pg_port"

cargo test --workspace --locked "$@"
