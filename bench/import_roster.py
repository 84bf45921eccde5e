"""Roster import speed and memory: the whole command as a clerk runs it, against a bare read of the same file.

    python bench/import_roster.py [--rows 100000] [--big 500000] [--no-pg] [--repeat 3]

Prints (a) a bare python-calamine read of the file (inside its process), (b) `main.py import-roster` into a
fresh SQLite database, timed from the outside — start-up, the password check and the import, (c) the same
command again (every row unchanged); ratios b/a and c/a (target 2, accepted at 3) and the peak memory of (b)
(target under 400 MB). Then the stages inside one process: the sheet parse, reading and checking every row
(a dry run), and the import, with the main thread's CPU time (what the second core takes over). Then (b) on
PostgreSQL, and the --big file (bounded memory). Each figure is the best of --repeat runs, each in its own
process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PASSWORD = "bench-password-1"

READ = r"""
import json, sys, time
import python_calamine as pc
t0 = time.perf_counter()
sheet = pc.CalamineWorkbook.from_path(sys.argv[1]).get_sheet_by_index(0).to_python()
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": len(sheet)}))
"""

STAGES = r"""
import datetime as dt, json, sys, time
sys.path.insert(0, sys.argv[1])
path, url = sys.argv[2], sys.argv[3]
import python_calamine as pc
from core import auth
from core.database import open_database
from core.progress import run
from core.roster_import import import_roster
t0 = time.perf_counter()
pc.CalamineWorkbook.from_path(path).get_sheet_by_index(0)
parse = time.perf_counter() - t0
open_database(url)
actor = auth.Actor("bench", auth.ADMIN, None, "bench")
out = {"parse": parse}
for name, dry in (("dry_run", True), ("import", False)):
    t0, c0 = time.perf_counter(), time.thread_time()
    run(import_roster(path, actor, as_of=dt.date(2020, 1, 15), dry_run=dry))
    out[name], out[name + "_cpu"] = time.perf_counter() - t0, time.thread_time() - c0
print(json.dumps(out))
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


def _child(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bare_read(path: Path) -> float:
    return _child(READ, str(path))["seconds"]


def office(url: str) -> None:
    """A database with the user the command logs in as (its password checked like any clerk's)."""
    from core import auth
    from core.database import close_database, open_database

    open_database(url)
    try:
        auth.create_user(None, "bench", PASSWORD, auth.ADMIN, None)
    finally:
        close_database()


def command(path: Path, url: str) -> tuple[float, float, dict]:
    """Wall seconds and peak MB of `main.py import-roster` as a clerk runs it, and its JSON summary."""
    env = {**os.environ, "PENSION_PASSWORD": PASSWORD, "PYTHONPATH": str(ROOT)}
    env.pop("PENSION_DB_URL", None)
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as stdout:
        child = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), "--db", url, "--user", "bench", "import-roster", str(path),
             "--as-of", "2020-01-15", "--json"],
            stdout=stdout, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak memory
        seconds = time.perf_counter() - t0
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode:
            raise SystemExit(f"import-roster failed ({child.returncode}): {child.stderr.read().strip()}")
        stdout.seek(0)
        summary = json.loads(stdout.read())
    peak = usage.ru_maxrss / 1024
    return seconds, peak, {k: summary[k] for k in ("imported", "unchanged", "rejected")}


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=0, help="also import a file with this many rows")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs of each figure")
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        roster = tmp_path / "roster.xlsx"
        make_roster(roster, args.rows)
        print(f"file: {args.rows} rows, {roster.stat().st_size / 1e6:.1f} MB; load {os.getloadavg()[0]:.1f}")
        empty = tmp_path / "empty.db"
        office(f"sqlite:///{empty}")
        a = min(bare_read(roster) for _ in range(args.repeat))
        runs_b, runs_c = [], []
        for n in range(args.repeat):
            db = tmp_path / f"run{n}.db"
            shutil.copy(empty, db)
            runs_b.append(command(roster, f"sqlite:///{db}"))
            runs_c.append(command(roster, f"sqlite:///{db}"))
        b, c = min(runs_b), min(runs_c)
        print(f"(a) bare calamine read            {a:6.2f} s")
        print(f"(b) import-roster, fresh SQLite   {b[0]:6.2f} s   peak {b[1]:4.0f} MB   {b[2]}")
        print(f"(c) import-roster again, unchanged {c[0]:5.2f} s   peak {c[1]:4.0f} MB   {c[2]}")
        print(f"ratio b/a = {b[0] / a:.2f}   c/a = {c[0] / a:.2f}   (target 2, accepted at 3)   "
              f"all runs b: {' '.join(f'{r[0]:.2f}' for r in runs_b)}")  # fmt: skip
        stage_db = tmp_path / "stages.db"
        shutil.copy(empty, stage_db)
        st = _child(STAGES, str(ROOT), str(roster), f"sqlite:///{stage_db}")
        print(f"stages in one process: sheet parse {st['parse']:.2f} s; read+check (dry run) "
              f"{st['dry_run']:.2f} s (main thread CPU {st['dry_run_cpu']:.2f}); import {st['import']:.2f} s "
              f"(main thread CPU {st['import_cpu']:.2f}); start-up and password = (b) - import")  # fmt: skip
        if not args.no_pg:
            purl, schema = pg_url()
            try:
                office(purl)
                p = command(roster, purl)
                print(
                    f"(b) import-roster, PostgreSQL     {p[0]:6.2f} s   peak {p[1]:4.0f} MB   ratio {p[0] / a:.2f}"
                )
            finally:
                drop_pg(schema)
        if args.big:
            big = tmp_path / "big.xlsx"
            make_roster(big, args.big, seed=11)
            ba = bare_read(big)
            big_db = tmp_path / "big.db"
            shutil.copy(empty, big_db)
            bb = command(big, f"sqlite:///{big_db}")
            print(f"big: {args.big} rows  read {ba:.2f} s   import-roster {bb[0]:.2f} s (ratio {bb[0] / ba:.2f}), "
                  f"peak {bb[1]:.0f} MB   {bb[2]}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
