#!/usr/bin/env bash
# Set up and start the application.
#   bash scripts/start.sh            the office database (SQLite in the user's data directory, or $PENSION_DB_URL)
#   bash scripts/start.sh --demo     a separate demo database filled with a demo county on first start
# Any other arguments go to main.py (e.g. --db postgresql://user@host:5432/pension).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_venv.sh
args=()
demo=0
for a in "$@"; do
  if [ "$a" = "--demo" ]; then demo=1; else args+=("$a"); fi
done
if [ "$demo" = 1 ]; then
  data="${XDG_DATA_HOME:-$HOME/.local/share}/pension-levy"
  mkdir -p "$data"
  url="sqlite:///$data/demo.db"
  .venv/bin/python main.py --db "$url" init-db >/dev/null
  if ! .venv/bin/python -c "import sys; from core.database import open_database; from dao.models import Resident; open_database(sys.argv[1]); sys.exit(0 if Resident.select().exists() else 1)" "$url"; then
    # the demo's first administrator (allowed while the database has no user), then the county as that user
    echo demo12345 | .venv/bin/python main.py --db "$url" create-user admin --role 管理员 --name 系统管理员 \
      --password-stdin >/dev/null 2>&1 || true
    PENSION_PASSWORD=demo12345 .venv/bin/python main.py --db "$url" --user admin demo-data --residents 5000
  fi
  args=(--db "$url" "${args[@]}")
fi
exec .venv/bin/python main.py "${args[@]}"
