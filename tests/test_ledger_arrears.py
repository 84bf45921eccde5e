"""缴费明细 and 补缴核定 on both databases: every ledger code, voucher idempotency, refund candidates, the
year proposal, declaration rules, assessment, payment, voiding, the printed sheet and 大写 amounts."""

from __future__ import annotations

import datetime as dt
import random
import subprocess

import pytest
from openpyxl import load_workbook

from core import arrears, ledger
from core import special_groups as sg
from core.errors import PermissionDenied, UserError
from core.money import to_capital, yuan_text
from core.progress import run
from dao.models import (
    ARREARS_ASSESSED,
    ARREARS_PAID,
    ARREARS_VOID,
    ArrearsAssessment,
    Contribution,
    PolicyYear,
    RefundCandidate,
    Resident,
)
from reports.pdf_kit import Column, Roster
from tests.conftest import clerk_of
from tests.fixtures import HEADER, person, write_xlsx
from tests.test_roster_import import do_import

LEDGER_HEADER = [
    "身份证号码",
    "姓名",
    "缴费年度",
    "缴费金额",
    "缴费日期",
    "缴费渠道",
    "电子税票号码",
    "缴费类型",
    "缴费人类型",
]


@pytest.fixture
def people(db, admin, tmp_path):
    born = {1: dt.date(1980, 5, 17), 3: dt.date(2000, 6, 1), 5: dt.date(1970, 1, 1), 7: dt.date(1990, 2, 2)}
    rows = [HEADER] + [
        person(n, born=b, township="上冶镇" if n == 7 else "费城街道") for n, b in born.items()
    ]
    do_import(write_xlsx(tmp_path / "roster.xlsx", rows), admin, as_of=dt.date(2020, 1, 15))
    Resident.update(enrolled_on=dt.date(2012, 1, 15)).execute()
    return {n: Resident.get(Resident.id_number == person(n, born=b)[1]) for n, b in born.items()}


def pay(
    r, year, amount, voucher, *, on="2020-01-10", channel="山东省电子税务局", kind="正常缴费", payer="个人"
):
    return [r.id_number, r.name, year, amount, on, channel, voucher, kind, payer]


def ledger_file(tmp_path, name, rows):
    return write_xlsx(tmp_path / name, [LEDGER_HEADER, *rows])


def imp(path, actor, **kwargs):
    return run(ledger.import_contributions(path, actor, **kwargs))


def codes(report):
    return {(i.row, i.code) for i in (*report.errors, *report.warnings)}


def test_every_ledger_code(people, admin, tmp_path):
    p = people
    rows = [
        pay(p[1], 2020, 300, "V001"),  # 2 ok
        ["371325199901011111", "外人", 2020, 300, "2020-01-10", "支付宝", "V002", "", ""],  # 3 ID_CHECKSUM
        [person(41)[1], "不在册", 2020, 300, "2020-01-10", "支付宝", "V003", "", ""],  # 4 NOT_IN_ROSTER
        pay(p[3], 2030, 300, "V004"),  # 5 YEAR_NO_POLICY
        pay(p[3], 2020, 350, "V005"),  # 6 TIER_INVALID
        pay(p[3], 2020, 300, "V006", channel="村委会现金代收"),  # 7 CHANNEL_CASH_FORBIDDEN
        pay(p[3], 2020, 300, "V001"),  # 8 DUPLICATE_VOUCHER (in the file)
        pay(p[3], 2020, 300, ""),  # 9 VOUCHER_MISSING
        pay(p[3], 2020, "三百", "V009"),  # 10 AMOUNT_INVALID
        pay(p[3], 2020, 300, "V010", on="2020-13-45"),  # 11 DATE_INVALID
    ]
    report = imp(ledger_file(tmp_path, "l.xlsx", rows), admin)
    assert codes(report) == {(3, "ID_CHECKSUM"), (4, "NOT_IN_ROSTER"), (5, "YEAR_NO_POLICY"), (6, "TIER_INVALID"),
                             (7, "CHANNEL_CASH_FORBIDDEN"), (8, "DUPLICATE_VOUCHER"), (9, "VOUCHER_MISSING"),
                             (10, "AMOUNT_INVALID"), (11, "DATE_INVALID")}  # fmt: skip
    assert report.imported == 1 and report.rejected == 9
    assert all(
        e.code != "NOT_IN_ROSTER" or ("未入账" in e.message and "参保登记" in e.message)
        for e in report.errors
    )
    assert "现金" in next(e.message for e in report.errors if e.code == "CHANNEL_CASH_FORBIDDEN")
    assert Contribution.select().count() == 1
    conflict = imp(ledger_file(tmp_path, "c.xlsx", [pay(p[3], 2020, 500, "V001")]), admin)
    assert [e.code for e in conflict.errors] == ["DUPLICATE_VOUCHER"] and "系统中已有" in conflict.errors[
        0
    ].message


def test_vouchers_are_counted_once(people, admin, tmp_path):
    p = people
    first = ledger_file(tmp_path, "a.xlsx", [pay(p[1], 2020, 300, "A1"), pay(p[3], 2020, 500, "A2")])
    assert imp(first, admin).imported == 2
    again = imp(first, admin)
    assert (again.imported, again.unchanged, again.rejected) == (0, 2, 0)
    overlap = ledger_file(tmp_path, "b.xlsx", [pay(p[3], 2020, 500, "A2"), pay(p[5], 2020, 1000, "A3")])
    report = imp(overlap, admin)
    assert (report.imported, report.unchanged) == (1, 1)
    assert Contribution.select().count() == 3
    dry = imp(ledger_file(tmp_path, "d.xlsx", [pay(p[7], 2020, 300, "A4")]), admin, dry_run=True)
    assert dry.imported == 1 and Contribution.select().count() == 3


def test_refund_candidates(people, admin, tmp_path):
    p = people
    flag = write_xlsx(
        tmp_path / "cl.xlsx",
        [["姓名", "身份证号码"], [p[5].name, p[5].id_number], [p[7].name, p[7].id_number]],
    )
    run(sg.import_special_list(flag, admin, year=2020, department="残联", group="重度残疾人"))
    rows = [
        pay(p[1], 2020, 5000, "R1", channel="支付宝"),
        pay(p[1], 2020, 300, "R2", channel="中国农业银行"),  # over the top tier and paid twice
        pay(p[3], 2020, 100, "R3"),  # 100 yuan, not in a hardship group
        pay(p[5], 2020, 500, "R4", on="2020-02-20"),  # flagged, paid before 1 March
        pay(p[7], 2020, 100, "R5", on="2020-03-05"),  # flagged, paid the minimum personally
        pay(p[7], 2019, 300, "R6", on="2019-01-05"),  # not flagged in 2019: fine
    ]
    report = imp(ledger_file(tmp_path, "r.xlsx", rows), admin)
    found = {(w.row, w.code) for w in report.warnings}
    assert found == {(3, "DUPLICATE_PAYMENT"), (3, "OVER_ANNUAL_MAX"), (4, "TIER_100_NOT_FLAGGED"),
                     (5, "PAID_AFTER_SUBSIDY_BEFORE_RESELECT"), (6, "SUBSIDY_TIER_PAID_PERSONALLY")}  # fmt: skip
    assert report.imported == 6 and report.rejected == 0
    by_code = {c.code: c for c in RefundCandidate.select()}
    assert by_code["OVER_ANNUAL_MAX"].amount_fen == 30000  # 5,300 paid, top tier 5,000
    assert by_code["DUPLICATE_PAYMENT"].amount_fen == 30000
    assert (
        "支付宝" in by_code["DUPLICATE_PAYMENT"].message
        and "中国农业银行" in by_code["DUPLICATE_PAYMENT"].message
    )
    imp(ledger_file(tmp_path, "r.xlsx", rows), admin)  # re-import: no second candidate
    assert RefundCandidate.select().count() == 5
    assert len(ledger.candidates(admin)) == 5 and len(ledger.candidates(clerk_of("上冶镇"))) == 1


def test_ledger_requires_amount_or_tier_and_permission(people, admin, tmp_path):
    from core.tabular import FileUnusable

    bad = write_xlsx(
        tmp_path / "x.xlsx", [["身份证号码", "缴费年度", "税票号码"], [people[1].id_number, 2020, "Z1"]]
    )
    with pytest.raises(FileUnusable, match="缴费金额"):
        imp(bad, admin)
    with pytest.raises(PermissionDenied):
        imp(ledger_file(tmp_path, "y.xlsx", [pay(people[1], 2020, 300, "Z2")]), clerk_of("费城街道"))


def test_year_proposal(people, admin):
    young, older = people[3], people[1]  # born 2000-06-01 (16 in 2016) and 1980
    as_of = dt.date(2021, 1, 10)
    assert [y.year for y in arrears.proposal(admin, young.id, as_of)] == [2016, 2017, 2018, 2019, 2020]
    assert [y.year for y in arrears.proposal(admin, older.id, as_of)] == [
        2014,
        2015,
        2016,
        2017,
        2018,
        2019,
        2020,
    ]
    # The enrolment date is no bound (issue 13): enrolled in 2018, the person may still make up 2014-2017.
    Resident.update(enrolled_on=dt.date(2018, 3, 1)).where(Resident.id == older.id).execute()
    Contribution.create(resident=older.id, year=2019, amount_fen=30000, tier_fen=30000, voucher="P2019")
    assert [y.year for y in arrears.proposal(admin, older.id, as_of)] == [2014, 2015, 2016, 2017, 2018, 2020]
    PolicyYear.update(arrears_allowed=False).where(PolicyYear.year <= 2016).execute()
    assert [y.year for y in arrears.proposal(admin, young.id, as_of)] == [2017, 2018, 2019, 2020]
    assert 10000 not in arrears.proposal(admin, young.id, as_of)[0].tiers  # the minimum is for hardship years


def test_declare_rules(people, admin, tmp_path):
    r = people[1]
    as_of = dt.date(2021, 1, 10)
    Contribution.create(resident=r.id, year=2019, amount_fen=30000, tier_fen=30000, voucher="P1")
    with pytest.raises(UserError, match="已经缴费"):
        arrears.declare(admin, r.id, [2019], [30000], as_of)
    with pytest.raises(UserError, match="不在可补缴"):
        arrears.declare(admin, r.id, [2010], [30000], as_of)
    with pytest.raises(UserError, match="不是 2017 年的缴费档次"):
        arrears.declare(admin, r.id, [2017], [35000], as_of)
    with pytest.raises(UserError, match="不属于困难群体"):
        arrears.declare(admin, r.id, [2017], [10000], as_of)
    with pytest.raises(UserError, match="个数不一致"):
        arrears.declare(admin, r.id, [2016, 2017], [30000], as_of)
    flag = write_xlsx(tmp_path / "mz.xlsx", [["姓名", "身份证号码"], [r.name, r.id_number]])
    run(sg.import_special_list(flag, admin, year=2017, department="民政", group="低保对象"))
    a = arrears.declare(admin, r.id, [2017, 2018], [10000, 30000], as_of)
    assert a.total_fen == 40000 and a.status == "已申报"
    with pytest.raises(UserError, match="不在可补缴"):  # already declared
        arrears.declare(admin, r.id, [2018], [30000], as_of)
    with pytest.raises(PermissionDenied):
        arrears.declare(clerk_of("上冶镇"), r.id, [2016], [30000], as_of)


def test_assess_pay_void_and_print(people, admin, tmp_path):
    as_of = dt.date(2021, 1, 10)
    r1, r5 = people[1], people[5]
    a1 = arrears.declare(admin, r1.id, [2016, 2017, 2018], [30000, 30000, 50000], as_of)
    a2 = arrears.declare(clerk_of("费城街道"), r5.id, [2018], [150000], as_of)
    with pytest.raises(UserError, match="尚未核定"):
        arrears.print_sheets(admin, [a1.id], tmp_path / "no.pdf")
    with pytest.raises(PermissionDenied):
        arrears.assess(clerk_of("上冶镇"), a1.id)
    s1 = arrears.assess(clerk_of("费城街道"), a1.id)
    s2 = arrears.assess(admin, a2.id)
    assert s1.status == ARREARS_ASSESSED and s1.sheet_seq == 1 and s2.sheet_seq == 2
    assert s1.sheet_no != s2.sheet_no and s1.sheet_no.endswith("-0001")
    with pytest.raises(UserError, match="已申报"):
        arrears.assess(admin, a1.id)

    pdf = tmp_path / "sheets.pdf"
    assert arrears.print_sheets(admin, [a1.id, a2.id], pdf) == 2
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert text.count("补缴费额核定单") == 2 and "壹仟壹佰元整" in text and "壹仟伍佰元整" in text
    assert s1.sheet_no in text and "山东税务社保费缴纳" in text and "临商银行" in text and "（盖章）" in text
    pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "Pages:           2" in pages

    listed = {
        row.id: row
        for row in arrears.listing(admin, "assessed", today=dt.date.today() + dt.timedelta(days=3))
    }
    assert listed[a1.id].days_outstanding == 3
    out = tmp_path / "assessed.xlsx"
    assert arrears.export(admin, out, "assessed") == 2
    assert load_workbook(out).worksheets[0].cell(row=2, column=2).value == ARREARS_ASSESSED

    # Payments arrive through the ledger: lines are marked, the assessment closes when all are paid.
    rows = [pay(r1, 2016, 300, "B1", kind="补缴"), pay(r1, 2017, 300, "B2", kind="补缴")]
    imp(ledger_file(tmp_path, "b1.xlsx", rows), admin)
    assert ArrearsAssessment.get_by_id(a1.id).status == ARREARS_ASSESSED
    with pytest.raises(UserError, match="已有年度缴费入账"):
        arrears.void(admin, a1.id, "误报")
    imp(ledger_file(tmp_path, "b2.xlsx", [pay(r1, 2018, 500, "B3", kind="补缴")]), admin)
    assert ArrearsAssessment.get_by_id(a1.id).status == ARREARS_PAID
    with pytest.raises(UserError, match="原因"):
        arrears.void(admin, a2.id, " ")
    arrears.void(admin, a2.id, "本人放弃补缴")
    voided = ArrearsAssessment.get_by_id(a2.id)
    assert voided.status == ARREARS_VOID and voided.void_reason == "本人放弃补缴"
    assert [y.year for y in arrears.proposal(admin, r5.id, as_of)][-3:] == [2018, 2019, 2020]


@pytest.mark.parametrize(
    "fen, text",
    [(150000, "壹仟伍佰元整"), (10050, "壹佰元伍角"), (0, "零元整"), (1, "壹分"), (100001, "壹仟元零壹分"),
     (100500, "壹仟零伍元整"), (1000000, "壹万元整"), (10000100, "壹拾万零壹元整"),
     (9999999999, "玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"), (30050, "叁佰元伍角"), (2000000000, "贰仟万元整")],
)  # fmt: skip
def test_capital_amounts(fen, text):
    assert to_capital(fen) == text


def test_capital_amounts_match_cn2an():
    cn2an = pytest.importorskip("cn2an")  # in the test extra; the hand-checked cases above always run
    rng = random.Random(2020)
    for fen in [rng.randrange(0, 10**10) for _ in range(3000)]:
        assert to_capital(fen) == cn2an.an2cn(f"{fen // 100}.{fen % 100:02d}", "rmb"), fen


def test_tiers_and_amounts_are_shown_exactly():
    assert [yuan_text(f) for f in (30000, 15050, 15005, 0, 1)] == ["300", "150.50", "150.05", "0", "0.01"]
    roster = Roster("清单", [Column("金额", 30)], [["x"]], amount_column=0, amounts=[1])
    assert [roster.money(f) for f in (1, 123456789, -250)] == ["0.01", "1,234,567.89", "-2.50"]


def test_dates_that_lost_their_format_are_read_as_excel_day_numbers(people, admin, tmp_path):
    from core.tabular import excel_serial_date

    assert excel_serial_date(43831) == dt.date(2020, 1, 1) and excel_serial_date(43900) == dt.date(
        2020, 3, 10
    )
    assert excel_serial_date("43900") == dt.date(2020, 3, 10)
    assert excel_serial_date(43900.75) == dt.date(2020, 3, 10)  # a day number with a time of day
    assert [excel_serial_date(v) for v in (True, 20200311, "202003", "4390", "abc", None)] == [None] * 6
    p = people
    rows = [pay(p[1], 2020, 300, "S1", on=43900), pay(p[5], 2020, 300, "S2", on="43901")]
    report = imp(ledger_file(tmp_path, "serial.xlsx", rows), admin)
    assert report.imported == 2 and not report.errors
    days = {c.voucher: c.paid_on for c in Contribution.select()}
    assert days == {"S1": dt.date(2020, 3, 10), "S2": dt.date(2020, 3, 11)}
