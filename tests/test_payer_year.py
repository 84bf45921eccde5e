"""The payers' summary (``payer_year``) is kept by database triggers: after any mix of bulk imports, single
payments, edits, deletions, rolled-back work and residents moving, it equals a recount from the payments —
on both databases. Two offices paying for the same person at once on PostgreSQL are both counted."""

from __future__ import annotations

import datetime as dt
import random
import threading

import pytest

from core.database import open_database
from dao import bulk, payer_year
from dao.db import current
from dao.models import Contribution, PayerYear, Resident, Township, Village
from tests.fixtures import HEADER, person, write_xlsx
from tests.test_roster_import import do_import

COLUMNS = "resident_id, year, township_id, village_id, payments, personal, government, amount_fen, first_day"


def _rows(sql: str) -> list[tuple]:
    return sorted(
        tuple(str(v)[:10] if isinstance(v, (dt.date, str)) else v for v in row)
        for row in current().execute_sql(sql).fetchall()
    )


def assert_in_step() -> None:
    kept = _rows(f"SELECT {COLUMNS} FROM payer_year")
    assert kept == _rows(payer_year.RECOUNT)


@pytest.fixture
def county(db, admin, tmp_path):
    rows = [
        person(n, township=("费城街道", "上冶镇")[n % 2], village=("东村", "西村")[n % 3 % 2])
        for n in range(12)
    ]
    do_import(write_xlsx(tmp_path / "roster.xlsx", [HEADER, *rows]), admin)
    return [r for (r,) in Resident.select(Resident.id).tuples()]


def test_summary_follows_every_kind_of_change(county):
    rng = random.Random(8)
    villages = [(v.township_id, v.id) for v in Village.select()] + [
        (t.id, None) for t in Township.select().limit(3)
    ]
    vouchers = iter(range(1, 10**6))

    def payment() -> tuple:
        return (
            rng.choice(county),
            rng.choice((2019, 2020, 2021)),
            rng.choice((10000, 30000, 50000)),
            rng.choice(("个人", "个人", "政府代缴")),
            rng.choice(("正常应缴", "正常应缴", "补缴")),
            rng.choice((None, dt.date(2020, 1, rng.randint(1, 28)))),
            f"V{next(vouchers)}",
        )

    fields = ("resident_id", "year", "amount_fen", "payer", "kind", "paid_on", "voucher")
    for step in range(300):
        ids = [c for (c,) in Contribution.select(Contribution.id).tuples()]
        action = rng.choice(("bulk", "one", "edit", "edit", "delete", "move", "rollback"))
        if action == "bulk" or not ids:
            bulk.insert_rows(Contribution, fields, [payment() for _ in range(rng.randint(1, 20))],
                             {"channel": "", "created_at": dt.datetime(2020, 1, 1)})  # fmt: skip
        elif action == "one":
            Contribution.create(**dict(zip(fields, payment(), strict=True)))
        elif action == "edit":
            field, value = rng.choice(list(zip(fields[:-1], payment(), strict=False)))
            Contribution.update({field: value}).where(Contribution.id == rng.choice(ids)).execute()
        elif action == "delete":
            Contribution.delete().where(Contribution.id == rng.choice(ids)).execute()
        elif action == "move":
            town, village = rng.choice(villages)
            Resident.update(township=town, village=village).where(Resident.id == rng.choice(county)).execute()
        else:
            with current().atomic() as tx:
                Contribution.delete().where(Contribution.id.in_(ids[:5])).execute()
                Resident.update(township=villages[0][0], village=villages[0][1]).execute()
                tx.rollback()
        if step % 20 == 0:
            assert_in_step()
    assert_in_step()
    assert PayerYear.select().count() > 10  # the walk left a real summary behind, not an empty one


def test_two_offices_pay_for_the_same_person_at_once_on_postgres(pg_schema, admin, tmp_path):
    open_database(pg_schema.url)
    do_import(write_xlsx(tmp_path / "roster.xlsx", [HEADER, person(1)]), admin)
    rid = Resident.get().id
    first_inserted = threading.Event()
    errors: list[BaseException] = []

    def office(voucher: str, first: bool) -> None:
        try:
            if not first:
                first_inserted.wait(5)
            with current().atomic():
                Contribution.create(resident=rid, year=2020, amount_fen=30000, payer="个人", voucher=voucher,
                                    paid_on=dt.date(2020, 3, 1 if first else 2))  # fmt: skip
                if first:
                    first_inserted.set()
                    threading.Event().wait(0.5)  # the other office's insert waits on this row meanwhile
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            current().close()

    threads = [threading.Thread(target=office, args=(f"V{n}", n == 0)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    row = PayerYear.get(PayerYear.resident == rid)
    assert (row.payments, row.personal, row.amount_fen, row.first_day) == (2, 2, 60000, dt.date(2020, 3, 1))
    assert_in_step()


def test_two_offices_import_overlapping_ledgers_at_once_on_postgres(pg_schema, admin, tmp_path):
    """Both files touch the same 300 people, in opposite orders: the summary rows are locked in one order
    (people sorted before the insert), so neither import deadlocks the other."""
    from core import ledger
    from core.progress import run

    open_database(pg_schema.url)
    people = [person(n, born=dt.date(1970, 1, 1) + dt.timedelta(days=n // 1000)) for n in range(300)]
    do_import(write_xlsx(tmp_path / "roster.xlsx", [HEADER, *people]), admin)
    header = ["身份证号码", "姓名", "缴费年度", "缴费金额", "缴费日期", "税票号码"]
    files = []
    for office, order in (("a", people), ("b", people[::-1])):
        rows = [[p[1], p[0], 2020, 300, "2020-03-01", f"{office}{n:04d}"] for n, p in enumerate(order)]
        files.append(write_xlsx(tmp_path / f"{office}.xlsx", [header, *rows]))
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def office(path) -> None:
        try:
            start.wait(5)
            outcomes.append(run(ledger.import_contributions(path, admin)).imported)
        except Exception as exc:  # reported by the assertion below
            outcomes.append(exc)
        finally:
            current().close()

    threads = [threading.Thread(target=office, args=(f,)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == [300, 300]
    assert PayerYear.select().where(PayerYear.payments == 2).count() == 300
    assert_in_step()
