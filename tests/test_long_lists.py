"""A county's lists are long. Every ``IN (...)`` the program sends is cut into chunks, so a SQLite built with
the smallest variable limit (999: older builds, some Windows Pythons) still takes 1,200-person files."""

from __future__ import annotations

import datetime as dt
import sqlite3

import peewee as pw
import pytest

from core import auth, handoff, ledger
from core import special_groups as sg
from core.progress import run
from dao.db import current
from dao.models import PAYMENT_PENDING, PAYMENT_SENT, GovernmentPayment, RefundCandidate
from tests.fixtures import HEADER, person, write_xlsx
from tests.test_roster_import import do_import

PEOPLE = 1200
FLAGGED = 1000


@pytest.fixture
def county(sqlite_db, admin, tmp_path):
    conn = current().connection()
    if not hasattr(conn, "setlimit"):  # Python 3.10
        pytest.skip("sqlite3.Connection.setlimit needs Python 3.11")
    conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    with pytest.raises(pw.OperationalError):  # the limit holds: an unchunked list of 1,000 would fail
        current().execute_sql(f"SELECT 1 WHERE 1 IN ({', '.join('?' * 1000)})", list(range(1000)))
    # born 1970: under 60 in 2020, so a 2020 payment is not PAID_AFTER_60
    people = [person(n, born=dt.date(1970, 1, 1) + dt.timedelta(days=n // 1000)) for n in range(PEOPLE)]
    assert do_import(write_xlsx(tmp_path / "roster.xlsx", [HEADER, *people]), admin).imported == PEOPLE
    return people


def test_long_lists_on_the_smallest_sqlite_limit(county, admin, tmp_path):
    flagged = county[:FLAGGED]
    special = write_xlsx(tmp_path / "dibao.xlsx", [["姓名", "身份证号码"], *[p[:2] for p in flagged]])
    report = run(sg.import_special_list(special, admin, year=2020, department="民政", group="低保对象"))
    assert report.rejected == 0
    assert sg.statistics(admin, 2020).people == FLAGGED

    # everyone pays the 100-yuan tier personally: a refund candidate for every row, of two kinds
    rows = [["身份证号码", "姓名", "缴费年度", "缴费金额", "缴费日期", "税票号码"]]
    rows += [[p[1], p[0], 2020, 100, "2020-05-10", f"V{n:05d}"] for n, p in enumerate(county)]
    paid = run(ledger.import_contributions(write_xlsx(tmp_path / "ledger.xlsx", rows), admin))
    assert paid.imported == PEOPLE
    found = dict(
        RefundCandidate.select(RefundCandidate.code, pw.fn.COUNT(RefundCandidate.id))
        .group_by(RefundCandidate.code)
        .tuples()
    )
    assert found == {"SUBSIDY_TIER_PAID_PERSONALLY": FLAGGED, "TIER_100_NOT_FLAGGED": PEOPLE - FLAGGED}

    # a 代缴 batch of 1,000 records: cancelled (all back in the pool), made again, sent, then corrected
    reviewer = auth.actor_of(auth.create_user(admin, "shen", "password123", auth.REVIEWER))
    first = handoff.create_batch(reviewer, "2020-06", "subsidy", tmp_path / "out")
    assert first.records == FLAGGED
    handoff.cancel(reviewer, first.id, "测试取消")
    assert GovernmentPayment.select().where(GovernmentPayment.handoff_batch_id.is_null()).count() == FLAGGED
    again = handoff.create_batch(reviewer, "2020-06", "subsidy", tmp_path / "out")
    assert again.records == FLAGGED
    handoff.mark_sent(reviewer, again.id)
    assert GovernmentPayment.select().where(GovernmentPayment.state == PAYMENT_SENT).count() == FLAGGED
    fix = handoff.correct(
        reviewer, again.id, list(range(1, FLAGGED + 1)), "整批冲正", out_dir=tmp_path / "out"
    )
    assert fix.records == FLAGGED and fix.total_fen == -again.total_fen
    assert not GovernmentPayment.select().where(GovernmentPayment.state == PAYMENT_PENDING).exists()


def test_printed_refund_forms_load_long_selections(county):
    from core import refunds

    assert refunds._load(range(1, PEOPLE + 1)) == []  # 1,200 ids (none are cases) in one selection
