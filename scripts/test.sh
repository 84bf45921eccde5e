#!/usr/bin/env bash
# Set up and run the whole test suite: lint, layer contracts, and pytest on SQLite and PostgreSQL.
# On a fresh Debian/Ubuntu machine it first installs the system packages the tests need (as root, or with
# sudo). PostgreSQL: the one at $PENSION_TEST_PG when given (e.g. postgresql://postgres@127.0.0.1:5432/test,
# trust auth); otherwise a private server it starts itself from the installed server binaries
# (/usr/lib/postgresql/*/bin) in a temporary folder on a free port, and removes afterwards.
# Arguments go to pytest (e.g. bash scripts/test.sh -x -q tests/test_cli.py).
set -euo pipefail
cd "$(dirname "$0")/.."

# -- system packages ------------------------------------------------------------------------------------------
# python3-venv (the .venv), Qt's libraries (offscreen), a CJK font, poppler-utils (pdftotext in the PDF tests),
# the PostgreSQL server binaries (for the private server).
PACKAGES=(python3 python3-venv libegl1 libgl1 libglib2.0-0 libfontconfig1 libxkbcommon0 libdbus-1-3
          fonts-wqy-microhei poppler-utils postgresql)
if command -v dpkg >/dev/null; then
  missing=()
  for pkg in "${PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ -n "${PENSION_TEST_PG:-}" ] && [ "${missing[*]}" = "postgresql" ]; then
      :  # a server is given: its binaries are not needed here
    else
      sudo=()
      [ "$(id -u)" = 0 ] || sudo=(sudo)
      echo "installing: ${missing[*]}"
      "${sudo[@]}" apt-get update -q
      DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
  fi
fi

bash scripts/setup_venv.sh

# -- PostgreSQL -----------------------------------------------------------------------------------------------
if [ -z "${PENSION_TEST_PG:-}" ]; then
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$bin" ] && command -v initdb >/dev/null; then bin=$(dirname "$(command -v initdb)"); fi
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "PostgreSQL's server programs (initdb, pg_ctl) are not installed: install the postgresql package," >&2
    echo "or set PENSION_TEST_PG to a server the tests may use." >&2
    exit 1
  fi
  pgdir=$(mktemp -d /tmp/pension-test-pg.XXXXXX)
  as=()
  if [ "$(id -u)" = 0 ]; then  # initdb refuses to run as root: the server runs as the postgres user
    chown postgres "$pgdir"
    as=(runuser -u postgres --)
  fi
  port=$(.venv/bin/python -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  stop_pg() {
    "${as[@]}" "$bin/pg_ctl" -D "$pgdir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$pgdir"
  }
  trap stop_pg EXIT
  "${as[@]}" "$bin/initdb" -D "$pgdir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  # Members of the group role pension_login log in with their password (issue #15's tests); the owner and
  # the tests' own connections are trusted. The first matching line wins.
  "${as[@]}" tee "$pgdir/data/pg_hba.conf" >/dev/null <<HBA
local all all trust
host all +pension_login 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
HBA
  "${as[@]}" "$bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 \
    -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null
  "${as[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres test
  export PENSION_TEST_PG="postgresql://postgres@127.0.0.1:$port/test"
  echo "PostgreSQL for the tests: private server on 127.0.0.1:$port ($("$bin/postgres" --version))"
fi

export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports
.venv/bin/python -m pytest "$@"
