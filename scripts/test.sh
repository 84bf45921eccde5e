#!/usr/bin/env bash
# Set up and run the whole test suite: lint, layer contracts, and pytest on SQLite and PostgreSQL.
# PostgreSQL: 127.0.0.1:5432, trust auth, database "test" (override with PENSION_TEST_PG).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_venv.sh
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports
.venv/bin/python -m pytest "$@"
