"""1,000 退费审批表 printed to one PDF (target: under 30 s), measured in-process on SQLite.

python bench/refund_sheets.py [--cases 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1000)
    args = parser.parse_args()

    from core import auth, idcard, refunds
    from core.database import open_database
    from dao import bulk
    from dao.models import Contribution, Resident, Township

    with tempfile.TemporaryDirectory() as tmp:
        open_database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        town = Township.get(Township.name == "费城街道")
        stamp = dt.datetime(2020, 1, 1)
        rows = [(idcard.make("371325", dt.date(1960, 1, 1) + dt.timedelta(days=n), n % 1000), f"居民{n}", "男",
                 dt.date(1960, 1, 1), town.id, f"1380000{n:04d}") for n in range(args.cases)]  # fmt: skip
        bulk.insert_rows(Resident, ("id_number", "name", "sex", "birth_date", "township_id", "phone"), rows,
                         {"status": "正常参保", "household_type": "", "created_at": stamp, "updated_at": stamp, "version": 1})  # fmt: skip
        ids = [r for (r,) in Resident.select(Resident.id).tuples()]
        bulk.insert_rows(Contribution, ("resident_id", "year", "amount_fen", "tier_fen", "voucher", "channel"),
                         [(rid, 2020, 30000, 30000, f"V{rid:07d}", "山东省电子税务局") for rid in ids],
                         {"payer": "个人", "kind": "正常应缴", "created_at": stamp})  # fmt: skip
        admin = auth.Actor("admin", auth.ADMIN)
        clerk = auth.actor_of(auth.create_user(admin, "li", "password123", auth.CLERK, town.id, "李经办"))
        started = time.perf_counter()
        cases = []
        for c in Contribution.select():
            case = refunds.create(clerk, refunds.NewCase(c.resident_id, [c.id], [c.amount_fen], "重复缴费", "张三",
                                                         "6228480000000001", "农业银行费县支行", ["退费申请"]))  # fmt: skip
            refunds.advance(clerk, case.id, "初审")
            cases.append(case.id)
        print(f"{len(cases)} cases entered and passed in {time.perf_counter() - started:.1f} s")
        out = Path(tmp) / "sheets.pdf"
        started = time.perf_counter()
        refunds.print_approval_sheets(admin, cases, out)
        seconds = time.perf_counter() - started
        verdict = "ok" if seconds < 30 else "OVER 30 s"
        print(
            f"{len(cases)} approval sheets -> one PDF: {seconds:.1f} s, {out.stat().st_size / 1e6:.1f} MB ({verdict})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
