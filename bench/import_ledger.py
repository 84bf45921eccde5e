"""Contributions ledger import (缴费明细) into a county of 100,000 residents, SQLite.

    python bench/import_ledger.py [--rows 100000] [--pg] [--profile]

Prints the bare CSV read of the file (baseline, same run), the import of every row as a new payment, and the
ratio. No target is set by an issue; the figure shows what the statistics' payer summary (kept by database
triggers on every payment) costs the import.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import datetime as dt
import pstats
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true", help="print where the import spends its time")
    parser.add_argument("--pg", action="store_true", help="PostgreSQL (a scratch schema) instead of SQLite")
    args = parser.parse_args()
    from bench.import_roster import scratch_database
    from core import idcard
    from core.auth import ADMIN, Actor
    from core.ledger import import_contributions
    from core.progress import run
    from dao import bulk
    from dao.db import current
    from dao.models import Resident, Township

    rng = random.Random(6)
    with scratch_database(args.pg) as tmp:
        towns = [t.id for t in Township.select()]
        stamp = dt.datetime(2020, 1, 1)
        numbers = [idcard.make("371325", dt.date(1950, 1, 1) + dt.timedelta(days=i // 900), i % 900)
                   for i in range(args.rows)]  # fmt: skip
        with current().atomic():
            bulk.insert_rows(Resident, ("id_number", "name", "sex", "birth_date", "township_id", "enrolled_on"),
                             [(n, f"居民{i}", "男", dt.date(1950, 1, 1), towns[i % len(towns)], dt.date(2015, 1, 1))
                              for i, n in enumerate(numbers)],
                             {"status": "正常参保", "household_type": "", "phone": "", "created_at": stamp,
                              "updated_at": stamp, "version": 1})  # fmt: skip
        path = Path(tmp) / "ledger.csv"
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(
                ["身份证号码", "姓名", "缴费年度", "缴费金额", "缴费日期", "缴费渠道", "税票号码"]
            )
            for i, number in enumerate(numbers):
                day = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(0, 90))
                writer.writerow([number, f"居民{i}", 2020, rng.choice((300, 500, 1000, 1500, 2000)), day.isoformat(),
                                 "支付宝", f"3{i:019d}"])  # fmt: skip

        started = time.perf_counter()
        with path.open(encoding="utf-8") as source:
            read = sum(1 for _ in csv.reader(source))
        baseline = time.perf_counter() - started

        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        report = run(import_contributions(path, Actor("bench", ADMIN)))
        seconds = time.perf_counter() - started
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        print(f"file: {read - 1:,} payments")
        print(f"(a) bare CSV read         {baseline:7.2f} s")
        print(f"(b) ledger import         {seconds:7.2f} s   imported {report.imported:,}, "
              f"rejected {report.rejected:,}   ({seconds / args.rows * 1e6:.0f} µs a payment)")  # fmt: skip
        print(f"ratio b/a = {seconds / baseline:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
