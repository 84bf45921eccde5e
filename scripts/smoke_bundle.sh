#!/usr/bin/env bash
# Smoke-test the BUILT program (dist/pension-levy/pension-levy, or the path given), run from an empty folder
# the way an office PC runs it: --version, init-db on a new SQLite file, the first administrator, a roster
# import, and the GUI starting offscreen and closing (--smoke-test). Prints the start-up times.
set -euo pipefail
cd "$(dirname "$0")/.."
app=$(realpath "${1:-dist/pension-levy/pension-levy}")
repo=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A roster to import, with valid ID numbers (made with the development environment, not the bundle).
.venv/bin/python - "$work/roster.xlsx" <<'PY'
import sys
from pathlib import Path

from tests.fixtures import HEADER, person, write_xlsx

write_xlsx(Path(sys.argv[1]), [HEADER, *[person(n) for n in range(1, 41)]])
PY
cd "$work"
export PENSION_PASSWORD=smoke-test-password QT_QPA_PLATFORM=offscreen
unset PYTHONPATH PYTHONHOME PENSION_DB_URL
url="sqlite:///$work/office.db"
t0=$(date +%s.%N)
"$app" --version
t1=$(date +%s.%N)
"$app" --db "$url" init-db
printf "%s\n" "$PENSION_PASSWORD" | "$app" --db "$url" --user boss create-user boss --role 管理员 --name 冒烟测试 --password-stdin
"$app" --db "$url" --user boss import-roster roster.xlsx --json >import.json
grep -q '"imported": 40' import.json || { cat import.json; echo "roster import failed" >&2; exit 1; }
t2=$(date +%s.%N)
"$app" --db "$url" --smoke-test
t3=$(date +%s.%N)
"$app" --db "$url" --user boss export-residents out.csv >/dev/null
grep -q '^"=""371325' out.csv || { head -3 out.csv; echo "CSV export lost the ID form" >&2; exit 1; }
echo "bundle smoke test passed: $(du -sh "$(dirname "$app")" | cut -f1) on disk;" \
  "--version $(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") s, GUI start to close (--smoke-test) $(awk "BEGIN{printf \"%.2f\", $t3 - $t2}") s"
cd "$repo"
