"""退费审核 on both databases: every transition and every forbidden one, the 25th cut-off, fund requests,
printed forms, and two PCs moving one case at once on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import subprocess
import threading
from decimal import Decimal

import peewee as pw
import pytest

from core import auth, refunds
from core.database import open_database
from core.errors import PermissionDenied, UserError
from core.progress import run
from dao.models import Contribution, RefundCase, RefundEvent, RefundItem, Resident
from tests.conftest import township_id
from tests.fixtures import HEADER, person, write_xlsx
from tests.test_roster_import import do_import


@pytest.fixture
def setup(db, admin, tmp_path):
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1), person(3, township="上冶镇")]), admin)
    users = {
        "li": auth.create_user(admin, "li", "password123", auth.CLERK, township_id("费城街道"), "李经办"),
        "wang": auth.create_user(admin, "wang", "password123", auth.CLERK, township_id("费城街道"), "王所长"),
        "shen": auth.create_user(admin, "shen", "password123", auth.REVIEWER, None, "沈审核"),
        "zhou": auth.create_user(admin, "zhou", "password123", auth.REVIEWER, None, "周审核"),
        "cai": auth.create_user(admin, "cai", "password123", auth.FINANCE, None, "蔡财务"),
        "shang": auth.create_user(
            admin, "shang", "password123", auth.CLERK, township_id("上冶镇"), "上冶经办"
        ),
    }
    actors = {name: auth.actor_of(user) for name, user in users.items()}
    r1 = Resident.get(Resident.id_number == person(1)[1])
    r3 = Resident.get(Resident.id_number == person(3)[1])
    pays = {
        "a": Contribution.create(
            resident=r1.id, year=2020, amount_fen=30000, tier_fen=30000, voucher="A", channel="支付宝"
        ),
        "b": Contribution.create(
            resident=r1.id, year=2020, amount_fen=30000, tier_fen=30000, voucher="B", channel="农行"
        ),
        "c": Contribution.create(resident=r3.id, year=2020, amount_fen=50000, tier_fen=50000, voucher="C"),
    }
    return actors, r1, r3, pays


def new_case(resident, payments, amounts=None, reason="重复缴费", **kw):
    return refunds.NewCase(resident.id, [p.id for p in payments], amounts or [p.amount_fen for p in payments], reason,
                           "张三", "6228 4800 0000 0001", "农业银行费县支行", ["退费申请", "身份证复印件"], **kw)  # fmt: skip


def test_the_whole_flow_and_its_trail(setup, tmp_path):
    a, r1, _, pays = setup
    case = refunds.create(a["li"], new_case(r1, [pays["b"]]), on=dt.date(2020, 3, 10))
    assert case.state == refunds.ACCEPTED and case.case_no == "TF2020-001-0001" and case.amount_fen == 30000
    case = refunds.advance(a["wang"], case.case_no, "初审", on=dt.date(2020, 3, 25))
    assert case.state == refunds.PASSED and case.batch_month == "2020-03"
    with pytest.raises(UserError, match="原因"):
        refunds.advance(a["shen"], case.id, "退回")
    case = refunds.advance(a["shen"], case.id, "退回", reason="银行卡复印件不清晰", on=dt.date(2020, 3, 25))
    assert case.state == refunds.RETURNED and case.note == "银行卡复印件不清晰"
    refunds.correct_account(a["li"], case.id, "张三", "6228480000000002", "农业银行费县支行")
    case = refunds.advance(a["wang"], case.id, "初审", on=dt.date(2020, 3, 26))
    assert case.batch_month == "2020-04"  # after the 25th: next month's batch
    case = refunds.advance(a["shen"], case.id, "复核通过", on=dt.date(2020, 4, 8))
    assert case.state == refunds.APPROVED and case.fund_month == "2020-05"
    case = refunds.advance(a["cai"], case.id, "退款失败", reason="账号已销户", on=dt.date(2020, 5, 10))
    refunds.correct_account(a["li"], case.id, "张三", "6228480000000003", "农业银行费县支行")
    with pytest.raises(PermissionDenied, match="县局审核"):
        refunds.advance(a["li"], case.id, "重新发放", on=dt.date(2020, 5, 20))
    case = refunds.advance(a["zhou"], case.id, "重新发放", on=dt.date(2020, 5, 20))
    assert case.state == refunds.APPROVED and case.fund_month == "2020-06"
    with pytest.raises(UserError, match="流水号"):
        refunds.advance(a["cai"], case.id, "已退款")
    case = refunds.advance(a["cai"], case.id, "已退款", bank_ref="NB20200605001", paid_on=dt.date(2020, 6, 5))
    assert case.state == refunds.PAID and case.paid_on == dt.date(2020, 6, 5)
    steps = [
        e.action for e in RefundEvent.select().where(RefundEvent.case == case.id).order_by(RefundEvent.id)
    ]
    assert steps == [
        "受理",
        "初审",
        "退回",
        "修改账户",
        "初审",
        "复核通过",
        "退款失败",
        "修改账户",
        "重新发放",
        "已退款",
    ]
    with pytest.raises(pw.DatabaseError, match="append-only"):
        RefundEvent.update(note="改写历史").execute()


def test_forbidden_transitions(setup):
    a, r1, _, pays = setup
    case = refunds.create(a["li"], new_case(r1, [pays["a"]]))
    with pytest.raises(PermissionDenied, match="乡镇经办"):
        refunds.advance(a["shen"], case.id, "初审")  # wrong role
    with pytest.raises(PermissionDenied, match="本乡镇"):
        refunds.advance(a["shang"], case.id, "初审")  # wrong township
    with pytest.raises(UserError, match="不能“复核通过”"):
        refunds.advance(a["shen"], case.id, "复核通过")  # skips 初审
    refunds.advance(a["li"], case.id, "初审")
    with pytest.raises(PermissionDenied, match="县局审核"):
        refunds.advance(a["li"], case.id, "复核通过")
    with pytest.raises(PermissionDenied, match="财务"):
        refunds.advance(a["shen"], case.id, "已退款", bank_ref="x")
    with pytest.raises(UserError, match="不能“已退款”"):
        refunds.advance(a["cai"], case.id, "已退款", bank_ref="x")
    with pytest.raises(PermissionDenied):
        refunds.create(a["shen"], new_case(r1, [pays["b"]]))  # reviewers do not enter cases
    with pytest.raises(PermissionDenied, match="本乡镇"):
        refunds.create(a["shang"], new_case(r1, [pays["b"]]))


def test_maker_checker(setup, admin):
    a, r1, _, pays = setup
    boss = auth.actor_of(auth.create_user(admin, "boss", "password123", auth.ADMIN))
    case = refunds.create(boss, new_case(r1, [pays["a"]]))
    refunds.advance(a["li"], case.id, "初审")
    with pytest.raises(PermissionDenied, match="受理人或初审人"):
        refunds.advance(boss, case.id, "复核通过")  # an administrator entered it: may not approve it too
    assert refunds.advance(a["shen"], case.id, "复核通过").reviewed_by == "shen"


def test_amounts_and_double_refunds(setup):
    a, r1, _, pays = setup
    with pytest.raises(UserError, match="超过实缴"):
        refunds.create(a["li"], new_case(r1, [pays["a"]], [30001]))
    with pytest.raises(UserError, match="不属于该居民"):
        refunds.create(a["li"], new_case(r1, [pays["c"]]))
    with pytest.raises(UserError, match="其他"):
        refunds.create(a["li"], new_case(r1, [pays["a"]], reason="其他"))
    first = refunds.create(a["li"], new_case(r1, [pays["a"]], [10000]))
    with pytest.raises(UserError, match="不能重复退费"):
        refunds.create(a["li"], new_case(r1, [pays["a"]], [5000]))
    assert RefundCase.select().count() == 1
    refunds.advance(a["li"], first.id, "撤销")
    again = refunds.create(a["li"], new_case(r1, [pays["a"]]))  # a withdrawn case releases the payment
    assert (
        again.state == refunds.ACCEPTED
        and RefundItem.select().where(RefundItem.lock == pays["a"].id).count() == 1
    )
    medical = refunds.create(a["li"], new_case(r1, [pays["b"]], insurance="居民医保"))
    assert medical.state == refunds.TO_MEDICAL
    with pytest.raises(UserError):
        refunds.advance(a["li"], medical.id, "初审")


@pytest.mark.parametrize(
    "day, month",
    [(dt.date(2020, 1, 25), "2020-01"), (dt.date(2020, 1, 26), "2020-02"), (dt.date(2020, 2, 29), "2020-03"),
     (dt.date(2020, 12, 25), "2020-12"), (dt.date(2020, 12, 26), "2021-01"), (dt.date(2020, 12, 31), "2021-01"),
     (dt.date(2021, 1, 1), "2021-01")],
)  # fmt: skip
def test_the_25th_cut_off(day, month):
    assert refunds.batch_month(day) == month
    assert refunds.next_month("2020-12") == "2021-01" and refunds.next_month("2020-01") == "2020-02"


def test_cut_off_status(setup):
    a, r1, _, pays = setup
    refunds.create(a["li"], new_case(r1, [pays["a"]]))
    status = refunds.cutoff_status(a["li"], dt.date(2020, 3, 20))
    assert status.month == "2020-03" and status.cutoff == dt.date(2020, 3, 25) and status.unsent == 1


def test_fund_request_totals(setup, tmp_path, admin):
    a, r1, r3, pays = setup
    clerk3 = a["shang"]
    c1 = refunds.create(a["li"], new_case(r1, [pays["a"], pays["b"]], [30000, 12345]), on=dt.date(2020, 4, 1))
    c2 = refunds.create(clerk3, new_case(r3, [pays["c"]], [50000]), on=dt.date(2020, 4, 1))
    for case, clerk in ((c1, a["li"]), (c2, clerk3)):
        refunds.advance(clerk, case.id, "初审", on=dt.date(2020, 4, 10))
        refunds.advance(a["shen"], case.id, "复核通过", on=dt.date(2020, 4, 20))
    request = refunds.fund_request(a["cai"], "2020-05")
    assert [c.case_no for c in request.cases] == [c1.case_no, c2.case_no]
    assert request.total_fen == 92345 == sum(fen for _, _, fen in request.by_township)
    assert dict((t, n) for t, n, _ in request.by_township) == {"费城街道": 1, "上冶镇": 1}
    assert refunds.fund_request(a["cai"], "2020-04").cases == []
    pdf = tmp_path / "fund.pdf"
    refunds.write_fund_request(a["cai"], "2020-05", pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert (
        "退费资金申请表" in text
        and "923.45" in text
        and "玖佰贰拾叁元肆角伍分" in text
        and "6228480000000001" in text
    )
    from openpyxl import load_workbook

    xlsx = tmp_path / "fund.xlsx"
    refunds.write_fund_request(a["cai"], "2020-05", xlsx)
    ws = load_workbook(xlsx).worksheets[0]
    amounts = [r[7] for r in ws.iter_rows(min_row=3, values_only=True) if r[0] and r[0].startswith("TF")]
    total = next(r[7] for r in ws.iter_rows(min_row=3, values_only=True) if r[0] == "合计")
    assert sum(amounts) == total == pytest.approx(923.45)
    with pytest.raises(PermissionDenied):
        refunds.fund_request(a["li"], "2020-05")


def test_printed_forms(setup, tmp_path):
    a, r1, _, pays = setup
    case = refunds.create(a["li"], new_case(r1, [pays["a"]]))
    refunds.advance(a["wang"], case.id, "初审")
    sheets = tmp_path / "approval.pdf"
    assert refunds.print_approval_sheets(a["shen"], [case.case_no], sheets) == 1
    text = subprocess.run(
        ["pdftotext", "-layout", str(sheets), "-"], capture_output=True, text=True, check=True
    ).stdout
    for expected in (
        "退费审批表",
        case.case_no,
        "叁佰元整",
        "王所长",
        "李经办",
        "县人社局审核",
        "分管领导",
        "6228480000000001",
    ):
        assert expected in text, expected
    app = tmp_path / "application.pdf"
    refunds.print_application(a["li"], case.id, app)
    text = subprocess.run(["pdftotext", str(app), "-"], capture_output=True, text=True, check=True).stdout
    assert text.count("退费申请表") == 3 and text.count("缴费证明") == 3
    for copy in ("税务分局", "人社所", "县人社局"):
        assert text.count(copy) >= 2, copy


def test_candidate_becomes_a_prefilled_case(setup, tmp_path, admin):
    from core import ledger

    a, r1, _, _ = setup
    header = ["身份证号码", "缴费年度", "缴费金额", "缴费渠道", "税票号码"]
    rows = [[r1.id_number, 2019, 5000, "支付宝", "X1"], [r1.id_number, 2019, 500, "农行", "X2"]]
    run(ledger.import_contributions(write_xlsx(tmp_path / "l.xlsx", [header, *rows]), admin))
    over = next(c for c in ledger.candidates(a["li"]) if c.code == "OVER_ANNUAL_MAX")
    case = refunds.from_candidate(a["li"], over.id, "张三", "6228", "农行")
    assert case.reason == "多缴/超过最高档次" and case.amount_fen == 50000
    assert over.id not in [c.id for c in ledger.candidates(a["li"])]


def test_concurrent_approval_on_postgres(pg_schema, admin, tmp_path):
    """Two reviewers on two PCs approve the same case at the same moment: exactly one wins."""
    open_database(pg_schema.url)
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), admin)
    r1 = Resident.get()
    pay = Contribution.create(resident=r1.id, year=2020, amount_fen=30000, tier_fen=30000, voucher="P")
    li = auth.actor_of(auth.create_user(admin, "li", "password123", auth.CLERK, r1.township_id))
    reviewers = [
        auth.actor_of(auth.create_user(admin, n, "password123", auth.REVIEWER)) for n in ("shen", "zhou")
    ]
    case = refunds.create(li, new_case(r1, [pay]))
    refunds.advance(li, case.id, "初审")
    seen = RefundCase.get_by_id(case.id).version
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def approve(actor):
        try:
            barrier.wait()
            refunds.advance(actor, case.id, "复核通过", expected_version=seen)
            outcomes.append("won")
        except UserError as exc:
            outcomes.append(str(exc))
        finally:
            from dao.db import current

            current().close()

    threads = [threading.Thread(target=approve, args=(r,)) for r in reviewers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o == "won" for o in outcomes) == [False, True]
    assert any("其他用户处理" in o for o in outcomes if o != "won")
    assert RefundCase.get_by_id(case.id).version == seen + 1
    assert (
        RefundEvent.select().where((RefundEvent.case == case.id) & (RefundEvent.action == "复核通过")).count()
        == 1
    )


def test_concurrent_cases_for_one_payment_on_postgres(pg_schema, admin, tmp_path):
    """Two clerks open a case for the same payment at once: the unique lock lets one through."""
    open_database(pg_schema.url)
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), admin)
    r1 = Resident.get()
    pay = Contribution.create(resident=r1.id, year=2020, amount_fen=30000, tier_fen=30000, voucher="P")
    clerks = [
        auth.actor_of(auth.create_user(admin, n, "password123", auth.CLERK, r1.township_id))
        for n in ("li", "wang")
    ]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def open_case(actor):
        try:
            barrier.wait()
            refunds.create(actor, new_case(r1, [pay]))
            outcomes.append("won")
        except UserError as exc:
            outcomes.append(str(exc))
        finally:
            from dao.db import current

            current().close()

    threads = [threading.Thread(target=open_case, args=(c,)) for c in clerks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o == "won" for o in outcomes) == [False, True]
    assert RefundCase.select().count() == 1


def test_listing_names_the_clerk_by_display_name(setup):
    a, r1, _, pays = setup
    refunds.create(a["li"], new_case(r1, [pays["a"]]), on=dt.date(2020, 4, 1))
    assert [row.entered_by for row in refunds.listing(a["shen"])] == ["李经办"]  # not the login "li"


def test_no_fund_request_for_a_month_without_approved_cases(setup, tmp_path):
    a, r1, _, pays = setup
    out = tmp_path / "fund.pdf"
    with pytest.raises(UserError, match="2020-05 没有复核通过的退费案件") as empty:
        refunds.write_fund_request(a["cai"], "2020-05", out)
    assert "待申请" not in str(empty.value) and not out.exists()
    case = refunds.create(a["li"], new_case(r1, [pays["a"]]), on=dt.date(2020, 4, 1))
    refunds.advance(a["li"], case.id, "初审", on=dt.date(2020, 4, 10))
    refunds.advance(a["shen"], case.id, "复核通过", on=dt.date(2020, 4, 20))
    with pytest.raises(UserError, match=r"待申请资金的月份：2020-05（1 件）"):
        refunds.write_fund_request(a["cai"], "2020-04", out)  # says where the approved case is waiting
    assert not out.exists()


def test_case_detail_lists_the_other_payments_of_the_year(setup):
    from core import refund_view

    a, r1, _, pays = setup
    Contribution.create(resident=r1.id, year=2019, amount_fen=20000, tier_fen=20000, voucher="OLD")
    case = refunds.create(a["li"], new_case(r1, [pays["b"]], [100000 // 4]), on=dt.date(2020, 4, 1))
    lines = refund_view.case_detail(a["shen"], case.id).payments
    assert [(line.voucher, line.note) for line in lines] == [
        ("B", refund_view.IN_CASE),
        ("A", refund_view.NOT_IN_CASE),
    ]
    assert (
        lines[0].refund == Decimal("250.00")
        and lines[1].refund is None
        and lines[1].paid == Decimal("300.00")
    )


def test_demo_gives_the_first_clerk_a_case_in_each_early_state(sqlite_db, admin):
    from core.demo import create_demo

    run(create_demo(admin, residents=300, seed=5))
    clerk = auth.actor_of(auth.find_user("jingban01"))
    rows = refunds.listing(clerk)
    assert {refunds.ACCEPTED, refunds.PASSED, refunds.RETURNED, refunds.APPROVED} <= {
        row.state for row in rows
    }
    from core import refund_view

    notes = [line.note for line in refund_view.case_detail(clerk, rows[-1].id).payments]
    assert notes == [refund_view.IN_CASE, refund_view.NOT_IN_CASE]  # the duplicate refunded, the first kept
