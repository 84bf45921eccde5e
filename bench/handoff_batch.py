"""A month with 20,000 paid refunds: create and write the handoff batch (target: under 10 s on SQLite).

python bench/handoff_batch.py [--records 20000]
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
    parser.add_argument("--records", type=int, default=20_000)
    args = parser.parse_args()

    from core import auth, handoff, idcard
    from core.database import open_database
    from dao import bulk
    from dao.models import Contribution, RefundCase, RefundItem, Resident, Township

    n = args.records
    with tempfile.TemporaryDirectory() as tmp:
        open_database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        town = Township.get(Township.name == "胡阳镇")
        stamp = dt.datetime(2020, 3, 1)
        bulk.insert_rows(Resident, ("id_number", "name", "sex", "birth_date", "township_id", "phone"),
                         [(idcard.make("371325", dt.date(1950, 1, 1) + dt.timedelta(days=i // 900), i % 900), f"居民{i}", "男",
                           dt.date(1950, 1, 1), town.id, "") for i in range(n)],
                         {"status": "正常参保", "household_type": "", "created_at": stamp, "updated_at": stamp, "version": 1})  # fmt: skip
        ids = [r for (r,) in Resident.select(Resident.id).order_by(Resident.id).tuples()]
        bulk.insert_rows(Contribution, ("resident_id", "year", "amount_fen", "tier_fen", "voucher"),
                         [(rid, 2020, 30000, 30000, f"V{rid:08d}") for rid in ids],
                         {"payer": "个人", "kind": "正常应缴", "channel": "支付宝", "created_at": stamp})  # fmt: skip
        bulk.insert_rows(RefundCase, ("case_no", "resident_id", "amount_fen", "bank_ref"),
                         [(f"TF2020-112-{rid:06d}", rid, 30000, f"B{rid}") for rid in ids],
                         {"township_id": town.id, "insurance": "居民养老", "reason": "重复缴费", "reason_text": "",
                          "account_name": "户名", "account_no": "6228", "bank_name": "农行", "documents": "", "state": "已退款",
                          "batch_month": "2020-02", "fund_month": "2020-03", "entered_by": "li", "entered_at": stamp,
                          "passed_by": "wang", "reviewed_by": "shen", "paid_on": dt.date(2020, 3, 10), "note": "",
                          "version": 4})  # fmt: skip
        cases = dict(RefundCase.select(RefundCase.resident, RefundCase.id).tuples())
        contributions = Contribution.select(Contribution.id, Contribution.resident).tuples()
        bulk.insert_rows(RefundItem, ("case_id", "contribution_id", "amount_fen", "lock"),
                         [(cases[rid], cid, 30000, cid) for cid, rid in contributions])  # fmt: skip
        reviewer = auth.actor_of(
            auth.create_user(auth.Actor("admin", auth.ADMIN), "shen", "password123", auth.REVIEWER)
        )
        started = time.perf_counter()
        batch = handoff.create_batch(reviewer, "2020-03", "refund", Path(tmp) / "out")
        seconds = time.perf_counter() - started
        verdict = "ok" if seconds < 10 else "OVER 10 s"
        print(
            f"{batch.records:,} refunds -> batch {batch.batch_no} (xlsx + csv + manifest): {seconds:.2f} s ({verdict})"
        )
        started = time.perf_counter()
        handoff.export(reviewer, batch.id, Path(tmp) / "again")
        print(f"byte-identical re-export: {time.perf_counter() - started:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
