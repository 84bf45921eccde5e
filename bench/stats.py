"""统计 at 500,000 residents and 1,000,000 contributions (SQLite): each view under 1 s.

python bench/stats.py [--residents 500000] [--pg]

--pg runs it on PostgreSQL (a scratch schema in the test database at 127.0.0.1) instead of SQLite.

Also times, in the same run, what a county view cost before the ``payer_year`` summary: counting this and last
year's payers per township straight from the payments (the figures alone, without enrolment or charts).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def build_county(
    n: int,
    rng: random.Random,
    *,
    born: Callable[[int], dt.date] | None = None,
    pays: Callable[[int, int], bool] | None = None,
    years: Sequence[int] = (2019, 2020),
) -> tuple[list[int], int]:
    """The bench county in the bound database: ``n`` residents in 12 townships × 30 villages, each paying for
    each of ``years`` (every 40th by 政府代缴) unless ``pays(resident id, year)`` says no. ``born(i)`` gives
    the i-th resident's birth date (default: born 1950, ID numbers spread over 1950-51). Returns the
    township ids and the payments written."""
    from core import idcard
    from dao import bulk
    from dao.db import current
    from dao.models import Contribution, Resident, Township, Village

    towns = [t.id for t in Township.select().order_by(Township.id)]
    with current().atomic():
        villages = [(t, Village.create(township=t, name=f"第{k}村").id) for t in towns for k in range(1, 31)]
        stamp = dt.datetime(2020, 1, 1)
        rows = []
        for i in range(n):
            town, village = villages[i % len(villages)]
            if born is None:
                number, birth = (
                    idcard.make("371325", dt.date(1950, 1, 1) + dt.timedelta(days=i // 900), i % 900),
                    dt.date(1950, 1, 1),
                )
            else:
                birth = born(i)
                number = idcard.make("371325", birth, i // 21900)
            rows.append((number, f"居民{i}", "男", birth, town, village, dt.date(2015, 1, 1)))  # fmt: skip
        bulk.insert_rows(Resident, ("id_number", "name", "sex", "birth_date", "township_id", "village_id", "enrolled_on"),
                         rows, {"status": "正常参保", "household_type": "", "phone": "", "created_at": stamp,
                                "updated_at": stamp, "version": 1})  # fmt: skip
        ids = [r for (r,) in Resident.select(Resident.id).order_by(Resident.id).tuples()]
        tiers = [30000, 50000, 100000, 150000, 200000]
        contributions = []
        for year in years:
            for rid in ids:
                if pays is not None and not pays(rid, year):
                    continue
                day = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(0, 90))
                payer = "政府代缴" if rid % 40 == 0 else "个人"
                tier = 10000 if payer == "政府代缴" else rng.choice(tiers)
                contributions.append((rid, year, tier, tier, payer, day, f"{year}{rid:09d}"))
        bulk.insert_rows(Contribution, ("resident_id", "year", "amount_fen", "tier_fen", "payer", "paid_on", "voucher"),
                         contributions, {"kind": "正常应缴", "channel": "支付宝", "created_at": stamp})  # fmt: skip
    return towns, len(contributions)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=500_000)
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    from bench.import_roster import scratch_database
    from core import statistics
    from core.auth import ADMIN, CLERK, Actor
    from dao.db import current

    rng = random.Random(9)
    n = args.residents
    with scratch_database(args.pg):
        started = time.perf_counter()
        towns, payments = build_county(n, rng)
        current().execute_sql("ANALYZE")
        print(
            f"{n:,} residents and {payments:,} contributions written in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        for year in (2020, 2019):
            current().execute_sql(
                f"SELECT township_id, COUNT(*), SUM(amount) FROM (SELECT c.resident_id, r.township_id, "
                f"SUM(c.amount_fen) AS amount FROM contribution c JOIN resident r ON r.id = c.resident_id "
                f"WHERE c.year = {year} AND c.kind = '正常应缴' GROUP BY c.resident_id, r.township_id) AS p "
                "GROUP BY township_id"
            ).fetchall()
        baseline = time.perf_counter() - started
        print(f"{'counted from the payments':<28} {baseline:6.2f} s (the payers of two years, as before)")
        for label, actor, township in (
            ("county view (by township)", Actor("bench", ADMIN), None),
            ("township view (by village)", Actor("bench", ADMIN), towns[0]),
            ("township clerk's view", Actor("clerk", CLERK, towns[3]), None),
        ):
            started = time.perf_counter()
            stats = statistics.year_stats(actor, 2020, township)
            seconds = time.perf_counter() - started
            verdict = "ok" if seconds < 1 else "OVER 1 s"
            print(f"{label:<28} {seconds:6.2f} s ({verdict}, {seconds / baseline:.2f} of the count from the payments)"
                  f"  payers {stats.total.this.payers:,} vs {stats.total.last.payers:,}, {len(stats.weekly)} weeks, "
                  f"{len(stats.tiers)} tiers")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
