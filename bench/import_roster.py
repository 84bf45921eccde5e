"""Roster import speed and memory, against a bare python-calamine read of the same file in the same run.

    python bench/import_roster.py [--rows 100000] [--big 500000] [--no-pg]

Prints (a) the bare read, (b) import into a fresh SQLite database, (c) importing it again (all unchanged),
with ratios b/a and c/a (targets: at most 3) and the peak memory of (b) (target: under 400 MB); then (b) on
PostgreSQL, and the --big file (must finish with bounded memory). Each measurement runs in its own process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
mode, path, url = sys.argv[2], sys.argv[3], sys.argv[4]
if mode == "read":
    import python_calamine as pc
    t0 = time.perf_counter()
    sheet = pc.CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python()
    seconds, rows = time.perf_counter() - t0, len(sheet)
else:
    import datetime as dt
    from core.auth import Actor
    from core.database import open_database
    from core.progress import run
    from core.roster_import import import_roster
    open_database(url)
    t0 = time.perf_counter()
    report = run(import_roster(path, Actor("bench", "管理员"), as_of=dt.date(2020, 1, 15)))
    seconds = time.perf_counter() - t0
    rows = {"imported": report.imported, "unchanged": report.unchanged, "rejected": report.rejected}
print(json.dumps({"seconds": seconds, "rows": rows, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

TOWNS = [
    "费城街道",
    "上冶镇",
    "薛庄镇",
    "探沂镇",
    "朱田镇",
    "梁邱镇",
    "新庄镇",
    "马庄镇",
    "胡阳镇",
    "石井镇",
    "东蒙镇",
    "大田庄乡",
]


def make_roster(path: Path, rows: int, seed: int = 7) -> None:
    from openpyxl import Workbook

    from core import idcard

    rng = random.Random(seed)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("花名册")
    ws.append(["费县城乡居民基本养老保险参保登记花名册"])
    ws.append(["姓名", "身份证号码", "性别", "出生日期", "乡镇", "村居", "联系电话"])
    seen: set[str] = set()
    start = dt.date(1940, 1, 1)
    while len(seen) < rows:
        born = start + dt.timedelta(days=rng.randrange(0, 365 * 60))
        number = idcard.make("371325", born, rng.randrange(0, 1000))
        if number in seen:
            continue
        seen.add(number)
        ws.append([f"居民{len(seen)}", number, "男" if int(number[16]) % 2 else "女", born.isoformat(),
                   rng.choice(TOWNS), f"{rng.choice('东西南北前后')}{rng.choice('王李张刘')}庄村",
                   f"13{rng.randrange(0, 10**9):09d}"])  # fmt: skip
    wb.save(path)


def measure(mode: str, path: Path, url: str = "") -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), mode, str(path), url],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def pg_url() -> tuple[str, str]:
    import psycopg2

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    base = os.environ.get("PENSION_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
    conn = psycopg2.connect(base)
    conn.autocommit = True
    conn.cursor().execute(f'CREATE SCHEMA "{schema}"')
    conn.close()
    return f"{base}?options=-csearch_path%3D{schema}", schema


def drop_pg(schema: str) -> None:
    import psycopg2

    conn = psycopg2.connect(os.environ.get("PENSION_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    conn.autocommit = True
    conn.cursor().execute(f'DROP SCHEMA "{schema}" CASCADE')
    conn.close()


@contextmanager
def scratch_database(pg: bool) -> Iterator[str]:
    """An opened, empty database for a benchmark: a SQLite file in a temporary folder, or a scratch schema in
    the PostgreSQL test database; removed afterwards."""
    from core.database import close_database, open_database

    with tempfile.TemporaryDirectory() as tmp:
        url, schema = pg_url() if pg else (f"sqlite:///{Path(tmp) / 'bench.db'}", "")
        open_database(url)
        try:
            yield tmp
        finally:
            close_database()
            if schema:
                drop_pg(schema)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=0, help="also import a file with this many rows")
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        roster = tmp_path / "roster.xlsx"
        make_roster(roster, args.rows)
        print(f"file: {args.rows} rows, {roster.stat().st_size / 1e6:.1f} MB")
        a = measure("read", roster)
        url = f"sqlite:///{tmp_path / 'bench.db'}"
        b = measure("import", roster, url)
        c = measure("import", roster, url)
        print(f"(a) bare calamine read      {a['seconds']:7.2f} s   peak {a['maxrss_mb']:6.0f} MB")
        print(
            f"(b) import, fresh SQLite    {b['seconds']:7.2f} s   peak {b['maxrss_mb']:6.0f} MB   {b['rows']}"
        )
        print(
            f"(c) import again, unchanged {c['seconds']:7.2f} s   peak {c['maxrss_mb']:6.0f} MB   {c['rows']}"
        )
        print(f"ratio b/a = {b['seconds'] / a['seconds']:.2f} (target <= 3)   "
              f"c/a = {c['seconds'] / a['seconds']:.2f} (target <= 3)   "
              f"peak(b) {b['maxrss_mb']:.0f} MB (target < 400)")  # fmt: skip
        if not args.no_pg:
            purl, schema = pg_url()
            try:
                p = measure("import", roster, purl)
                print(f"(b) import, PostgreSQL      {p['seconds']:7.2f} s   peak {p['maxrss_mb']:6.0f} MB   "
                      f"ratio {p['seconds'] / a['seconds']:.2f}")  # fmt: skip
            finally:
                drop_pg(schema)
        if args.big:
            big = tmp_path / "big.xlsx"
            make_roster(big, args.big, seed=11)
            ba = measure("read", big)
            bb = measure("import", big, f"sqlite:///{tmp_path / 'big.db'}")
            print(f"big: {args.big} rows  read {ba['seconds']:.2f} s / {ba['maxrss_mb']:.0f} MB   "
                  f"import {bb['seconds']:.2f} s / {bb['maxrss_mb']:.0f} MB   {bb['rows']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
