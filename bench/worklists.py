"""征缴进度 work lists at 500,000 residents and about 1,000,000 payments (the bench/stats.py county).

python bench/worklists.py [--residents 500000] [--pg]

--pg runs it on PostgreSQL (a scratch schema in the test database at 127.0.0.1) instead of SQLite.

The county is bench/stats.py's, with ages spread over 16–75 (so both lists have people): 92% paid for 2019,
85% for 2020, a quarter one earlier year (2014–2018), 5,000 arrears payments (补缴), and a 低保 list for
2020 naming every 40th resident. Targets: the county's village table for either list under 1 s, one
township's names under 0.3 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=500_000)
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--repeat", type=int, default=3, help="time each view this many times (best shown)")
    args = parser.parse_args()
    from bench.import_roster import scratch_database
    from bench.stats import build_county
    from core import worklists
    from core.auth import ADMIN, CLERK, Actor
    from dao import bulk
    from dao.db import current
    from dao.models import Contribution, SpecialList, SpecialListEntry

    rng = random.Random(19)
    n = args.residents
    earlier = {}  # resident id -> one earlier year paid

    def born(i: int) -> dt.date:
        return dt.date(1945, 1, 1) + dt.timedelta(days=i % 21900)  # 1945-01-01 … 2004-12-17

    def pays(rid: int, year: int) -> bool:
        draw = random.Random(rid * 7 + year).random()
        return draw < (0.92 if year == 2019 else 0.85)

    with scratch_database(args.pg):
        started = time.perf_counter()
        towns, _ = build_county(n, rng, born=born, pays=pays)
        ids = [r for (r,) in current().execute_sql("SELECT id FROM resident ORDER BY id").fetchall()]
        stamp = dt.datetime(2020, 1, 1)
        with current().atomic():
            for rid in ids:
                if rng.random() < 0.23:
                    earlier[rid] = rng.randrange(2014, 2019)
            rows = [(rid, year, 30000, 30000, "个人", "正常应缴", dt.date(year, 2, 1), f"E{rid:09d}")
                    for rid, year in earlier.items()]  # fmt: skip
            rows += [(rid, 2013, 30000, 30000, "个人", "补缴", dt.date(2019, 6, 1), f"A{rid:09d}")
                     for rid in rng.sample(ids, 5000)]  # fmt: skip
            bulk.insert_rows(Contribution, ("resident_id", "year", "amount_fen", "tier_fen", "payer", "kind", "paid_on",
                                            "voucher"), rows, {"channel": "银行", "created_at": stamp})  # fmt: skip
            flagged = SpecialList.create(year=2020, department="民政", group="低保对象", file_name="bench.xlsx",
                                         sha256="bench", username="bench")  # fmt: skip
            entries = [(flagged.id, k, f"{rid:018d}", f"居民{rid}", rid, "已匹配")
                       for k, rid in enumerate(ids[::40], start=2)]  # fmt: skip
            bulk.insert_rows(SpecialListEntry, ("special_list_id", "row", "id_number", "name", "resident_id", "status"),
                             entries, {"township_text": "", "village_text": ""})  # fmt: skip
        if args.pg:  # autovacuum's steady state: statistics, and the visibility map index-only scans need
            connection = current().connection()
            connection.autocommit = True
            for table in ("resident", "payer_year", "contribution", "special_list_entry"):
                connection.cursor().execute(f"VACUUM ANALYZE {table}")
        else:
            current().execute_sql("ANALYZE")
        total = current().execute_sql("SELECT COUNT(*) FROM contribution").fetchone()[0]
        print(f"{'PostgreSQL' if args.pg else 'SQLite'}: {n:,} residents and {total:,} contributions written in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        admin = Actor("bench", ADMIN)
        clerk = Actor("clerk", CLERK, towns[0])
        views = (
            ("county village table, 未续缴", admin, worklists.LAPSED, False, 1.0),
            ("county village table, 补缴动员", admin, worklists.SHORT_YEARS, False, 1.0),
            ("one township's names, 未续缴", clerk, worklists.LAPSED, True, 0.3),
            ("one township's names, 补缴动员", clerk, worklists.SHORT_YEARS, True, 0.3),
        )
        for label, actor, kind, people, target in views:
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                wl = worklists.worklist(actor, kind, 2020, people=people)
                times.append(time.perf_counter() - started)
            best = min(times)
            verdict = "ok" if best < target else f"OVER {target} s"
            count = sum(v.count for v in wl.villages)
            base = sum(v.base for v in wl.villages)
            print(f"{label:<30} {best:6.3f} s (best of {args.repeat}; {verdict}, target {target} s)  "
                  f"{len(wl.villages)} villages, {count:,} of {base:,}, {len(wl.people):,} names")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
