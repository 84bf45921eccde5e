"""Issue 13 on both databases: the classes of input that files no one here wrote found wrong — arrears year
bounds and enrolment dates, payment channels, the departments' spellings, 15-digit IDs, long texts, handoff
amounts, refunds of 政府代缴, refund step dates, and the 1 March re-selection boundary in the live ledger."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from openpyxl import load_workbook

from core import arrears, handoff, ledger, refunds, statistics
from core import special_groups as sg
from core.errors import UserError
from core.progress import run
from dao.models import Contribution, GovernmentPayment, HandoffBatch, RefundEvent, Resident, SpecialListEntry
from reports import handoff_files
from tests.fixtures import HEADER, person, write_xlsx
from tests.test_handoff import paid_refund
from tests.test_ledger_arrears import LEDGER_HEADER, pay
from tests.test_roster_import import do_import

BORN = dt.date(1980, 5, 17)


def legacy15(number18: str) -> str:
    """The 15-digit number a person born in the 1900s had before 1999: no century, no check character."""
    return number18[:6] + number18[8:17]


def ledger_rows(tmp_path, name, rows):
    return write_xlsx(tmp_path / name, [LEDGER_HEADER, *rows])


def import_ledger(path, actor):
    return run(ledger.import_contributions(path, actor))


# --- 补缴: the enrolment date is no bound; the roster's own date is kept, never invented ----------------


def test_a_resident_imported_today_may_declare_years_before_the_import(db, admin, tmp_path):
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), admin, as_of=dt.date(2020, 6, 1))
    r = Resident.get(Resident.id_number == person(1)[1])
    assert r.enrolled_on is None  # no 参保日期 column: unknown, not the import day
    import_ledger(ledger_rows(tmp_path, "l.xlsx", [pay(r, 2019, 300, "P2019", on="2019-03-01")]), admin)
    years = [y.year for y in arrears.proposal(admin, r.id, dt.date(2021, 1, 10))]
    assert years == [2014, 2015, 2016, 2017, 2018, 2020]
    a = arrears.declare(admin, r.id, [2016, 2017], [30000, 30000], dt.date(2021, 1, 10))
    assert a.total_fen == 60000


@pytest.mark.parametrize("column", ["参保日期", "参保时间"])
def test_the_rosters_enrolment_date_is_kept(db, admin, tmp_path, column):
    rows = [[*HEADER, column], [*person(1), "2015-03-20"], [*person(3), "2016年5月"], [*person(5), ""],
            [*person(7), "2030-01-01"], [*person(9), "不详"], [*person(11, born=dt.date(2004, 1, 1)), "2019-01-01"]]  # fmt: skip
    report = do_import(write_xlsx(tmp_path / "r.xlsx", rows), admin, as_of=dt.date(2020, 6, 1))
    assert [(e.row, e.code, e.column) for e in report.errors] == [
        (5, "DATE_INVALID", column), (6, "DATE_INVALID", column), (7, "DATE_INVALID", column)
    ]  # fmt: skip
    assert "晚于今天" in report.errors[0].message and "16" in report.errors[2].message
    enrolled = {r.id_number: r.enrolled_on for r in Resident.select()}
    assert enrolled == {
        person(1)[1]: dt.date(2015, 3, 20),
        person(3)[1]: dt.date(2016, 5, 1),
        person(5)[1]: None,
    }
    # A later roster without the column keeps the date; one with a date fills an unknown one.
    do_import(write_xlsx(tmp_path / "r2.xlsx", [HEADER, person(1)]), admin)
    do_import(write_xlsx(tmp_path / "r3.xlsx", [[*HEADER, column], [*person(5), "2018/7/1"]]), admin)
    enrolled = {r.id_number: r.enrolled_on for r in Resident.select()}
    assert enrolled[person(1)[1]] == dt.date(2015, 3, 20) and enrolled[person(5)[1]] == dt.date(2018, 7, 1)


def test_special_enrol_invents_no_enrolment_date(db, admin, tmp_path):
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), admin)
    newcomer = person(41)
    rows = [["姓名", "身份证号码", "乡镇"], [newcomer[0], newcomer[1], "胡阳镇"]]
    run(sg.import_special_list(write_xlsx(tmp_path / "l.xlsx", rows), admin, year=2020, department="民政",
                               group="低保对象"))  # fmt: skip
    (entry,) = sg.pending(admin, 2020)
    assert sg.enrol(admin, [entry.entry_id]) == sg.Enrolled(1, 1)
    assert Resident.get(Resident.id_number == newcomer[1]).enrolled_on is None


def test_statistics_never_show_fewer_enrolled_than_payers(db, admin, tmp_path):
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1), person(3), person(5)]), admin)
    late, gone, unknown = (Resident.get(Resident.id_number == person(n)[1]) for n in (1, 3, 5))
    Resident.update(enrolled_on=dt.date(2020, 5, 1)).where(
        Resident.id == late.id
    ).execute()  # paid 2019 anyway
    Resident.update(status="终止", enrolled_on=dt.date(2015, 1, 1)).where(Resident.id == gone.id).execute()
    rows = [pay(r, 2019, 300, f"S{r.id}", on="2019-02-01") for r in (late, gone, unknown)]
    import_ledger(ledger_rows(tmp_path, "l.xlsx", rows), admin)
    stats = statistics.year_stats(admin, 2020)
    (town,) = [r for r in stats.rows if r.name == "费城街道"]
    assert town.last.payers == 3 and town.last.enrolled == 3  # 2019: everyone who paid was enrolled
    assert town.this.enrolled == 2 and town.this.payers == 0  # 2020: the terminated person no longer counts


# --- 缴费渠道 ------------------------------------------------------------------------------------------


def test_channels_in_the_ledger(db, admin, tmp_path):
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), admin)
    r = Resident.get(Resident.id_number == person(1)[1])
    accepted = ["银行代收", "农商银行代收", "农行柜台", "邮储手机银行", "税务APP", "自助办税终端", "微信缴费", "税务",
                "银行", "建行裕农通", "", "中国邮政储蓄银行（柜面）"]  # fmt: skip
    rows = [pay(r, 2014 + n % 7, 300, f"OK{n}", channel=c) for n, c in enumerate(accepted)]
    rows += [pay(r, 2014, 300, "C1", channel="现金"), pay(r, 2014, 300, "C2", channel="村居代收"),
             pay(r, 2014, 300, "C3", channel="协理员代收"), pay(r, 2014, 300, "U1", channel="代收"),
             pay(r, 2014, 300, "U2", channel="村里交的"), pay(r, 2014, 300, "G1", channel="财政代缴"),
             pay(r, 2015, 100, "G2", channel="财政代缴", payer="政府代缴")]  # fmt: skip
    report = import_ledger(ledger_rows(tmp_path, "l.xlsx", rows), admin)
    n = len(accepted) + 2  # the data rows start at row 2
    by_row = {e.row: e for e in report.errors}
    assert {row: e.code for row, e in by_row.items() if row >= n} == {
        n: "CHANNEL_CASH_FORBIDDEN", n + 1: "CHANNEL_CASH_FORBIDDEN", n + 2: "CHANNEL_CASH_FORBIDDEN",
        n + 3: "CHANNEL_UNKNOWN", n + 4: "CHANNEL_UNKNOWN", n + 5: "CHANNEL_GOVERNMENT_ONLY",
    }  # fmt: skip
    assert all(by_row[row].column == "缴费渠道" for row in range(n, n + 6))
    unknown = by_row[n + 3].message
    assert "代收" in unknown and "微信小程序" in unknown and "中国农业银行" in unknown  # the accepted names
    booked = {c.voucher for c in Contribution.select()}
    assert {f"OK{k}" for k in range(len(accepted))} | {"G2"} <= booked and not booked & {
        "C1",
        "C2",
        "U1",
        "G1",
    }
    assert not [e for e in report.errors if e.row < n and e.code.startswith("CHANNEL")]


# --- 15-digit IDs, NOT_IN_ROSTER, long texts ------------------------------------------------------------


def test_fifteen_digit_ids_on_lists_and_the_ledger(db, admin, tmp_path):
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1), person(3)]), admin)
    old1, old3 = legacy15(person(1)[1]), legacy15(person(3)[1])
    lst = [["姓名", "身份证号码", "人员类别"], [person(1)[0], old1, "农村低保"]]
    report = run(
        sg.import_special_list(write_xlsx(tmp_path / "l.xlsx", lst), admin, year=2020, department="民政")
    )
    assert [(w.row, w.code) for w in report.warnings] == [(2, "ID_LEGACY_15")]
    assert person(1)[1] in report.warnings[0].message
    assert sg.is_flagged(Resident.get(Resident.id_number == person(1)[1]).id, 2020)
    rows = [[old3, person(3)[0], 2020, 300, "2020-03-05", "支付宝", "L1", "", ""]]
    report = import_ledger(ledger_rows(tmp_path, "p.xlsx", rows), admin)
    assert [(w.row, w.code) for w in report.warnings] == [(2, "ID_LEGACY_15")] and report.imported == 1
    assert Contribution.get(Contribution.voucher == "L1").resident.id_number == person(3)[1]


def test_ledger_not_in_roster_says_what_happens_to_the_payment(db, admin, tmp_path):
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), admin)
    rows = [[person(41)[1], "不在册", 2020, 300, "2020-03-05", "支付宝", "N1", "", ""]]
    (error,) = import_ledger(ledger_rows(tmp_path, "p.xlsx", rows), admin).errors
    assert error.code == "NOT_IN_ROSTER" and "未入账" in error.message and "参保登记" in error.message
    assert "重新导入" in error.message and "标识" not in error.message  # not the special lists' wording


def test_too_long_texts_are_row_errors_on_both_databases(db, admin, tmp_path):
    long_name, name60 = "张" * 61, "李" * 60
    rows = [HEADER, [long_name, *person(1)[1:]], [name60, *person(3)[1:]],
            [*person(5)[:5], "村" * 61, person(5)[6]], [*person(7)[:6], "1" * 31]]  # fmt: skip
    report = do_import(write_xlsx(tmp_path / "r.xlsx", rows), admin)
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (2, "姓名", "TEXT_TOO_LONG"), (4, "村居", "TEXT_TOO_LONG"), (5, "联系电话", "TEXT_TOO_LONG")
    ]  # fmt: skip
    assert "61 个字，最多 60 个字" in report.errors[0].message
    assert report.imported == 1 and Resident.get().name == name60
    r = Resident.get()
    report = import_ledger(
        ledger_rows(tmp_path, "p.xlsx", [pay(r, 2020, 300, "V" * 41), pay(r, 2019, 300, "ok")]), admin
    )
    assert [(e.row, e.code) for e in report.errors] == [(2, "TEXT_TOO_LONG")] and report.imported == 1
    lst = [["姓名", "身份证号码"], [long_name, person(9)[1]], [name60, person(3)[1]]]
    report = run(sg.import_special_list(write_xlsx(tmp_path / "l.xlsx", lst), admin, year=2020, department="残联",
                                        group="重度残疾人"))  # fmt: skip
    assert [(e.row, e.column, e.code) for e in report.errors] == [(2, "姓名", "TEXT_TOO_LONG")]


# --- the departments' spellings, special-enrol -----------------------------------------------------------


def test_departments_spellings_flag_people(db, admin, tmp_path):
    people = [person(n) for n in range(1, 16, 2)]
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, *people]), admin)
    written = [
        "农村低保",
        "城市低保",
        "城乡低保",
        "低保户",
        "分散供养特困人员",
        "集中供养特困人员",
        "特困供养人员",
        "五保户",
    ]
    lst = [
        ["姓名", "身份证号码", "人员类别"],
        *[[p[0], p[1], w] for p, w in zip(people, written, strict=True)],
    ]
    report = run(
        sg.import_special_list(write_xlsx(tmp_path / "mz.xlsx", lst), admin, year=2020, department="民政")
    )
    assert report.errors == [] and report.imported == 8
    assert GovernmentPayment.select().count() == 8
    cl = [["姓名", "身份证号码", "残疾类别"], [people[0][0], people[0][1], "一级肢体残疾"],
          [people[1][0], people[1][1], "二级视力残疾"], [people[2][0], people[2][1], "三级肢体残疾"]]  # fmt: skip
    report = run(
        sg.import_special_list(write_xlsx(tmp_path / "cl.xlsx", cl), admin, year=2020, department="残联")
    )
    assert [(e.row, e.code) for e in report.errors] == [(4, "GROUP_UNKNOWN")]
    assert "三级肢体残疾" in report.errors[0].message and "重度残疾人" in report.errors[0].message
    fp = [["姓名", "身份证号码", "类别"], [people[3][0], people[3][1], "脱贫享受政策人口"],
          [people[4][0], people[4][1], "农村低保"]]  # fmt: skip
    report = run(
        sg.import_special_list(write_xlsx(tmp_path / "fp.xlsx", fp), admin, year=2020, department="扶贫")
    )
    assert [(e.row, e.code) for e in report.errors] == [(3, "GROUP_UNKNOWN")]  # 低保 is 民政's, not 扶贫's
    assert "建档立卡贫困人员" in report.errors[0].message


def test_special_enrol_refuses_unknown_and_handled_entries_by_name(db, admin, tmp_path):
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), admin)
    lst = [
        ["姓名", "身份证号码", "乡镇"],
        [person(1)[0], person(1)[1], "费城街道"],
        ["新人", person(41)[1], "胡阳镇"],
    ]
    run(sg.import_special_list(write_xlsx(tmp_path / "l.xlsx", lst), admin, year=2020, department="民政",
                               group="低保对象"))  # fmt: skip
    (pending,) = sg.pending(admin, 2020)
    matched = SpecialListEntry.get(SpecialListEntry.id_number == person(1)[1]).id  # matched: not pending
    with pytest.raises(UserError, match="没有这些名单记录：9999"):
        sg.enrol(admin, [pending.entry_id, 9999])
    with pytest.raises(UserError, match=f"记录 {matched}（{person(1)[0]}）不是“未参保待处理”"):
        sg.enrol(admin, [matched, pending.entry_id])
    assert Resident.select().count() == 1  # nothing written
    assert sg.enrol(admin, [pending.entry_id]) == sg.Enrolled(enrolled=1, flagged=1)
    with pytest.raises(UserError, match="不是“未参保待处理”"):
        sg.enrol(admin, [pending.entry_id])  # twice: already handled


# --- 1 March: the live rule, at the boundary -------------------------------------------------------------


def test_reselection_boundary_in_the_ledger(db, admin, tmp_path):
    people = [person(n) for n in (1, 3, 5, 7)]
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, *people]), admin)
    lst = [["姓名", "身份证号码"], *[[p[0], p[1]] for p in people]]
    run(sg.import_special_list(write_xlsx(tmp_path / "l.xlsx", lst), admin, year=2020, department="残联",
                               group="重度残疾人"))  # fmt: skip
    residents = [Resident.get(Resident.id_number == p[1]) for p in people]
    days = ["2020-02-28", "2020-02-29", "2020-03-01", "2020-03-02"]
    rows = [
        pay(r, 2020, 300, f"R{n}", on=day) for n, (r, day) in enumerate(zip(residents, days, strict=True))
    ]
    report = import_ledger(ledger_rows(tmp_path, "p.xlsx", rows), admin)
    assert report.imported == 4
    assert {(w.row, w.code) for w in report.warnings} == {
        (2, "PAID_AFTER_SUBSIDY_BEFORE_RESELECT"),  # 28 February: a refund candidate
        (3, "PAID_AFTER_SUBSIDY_BEFORE_RESELECT"),  # 29 February 2020
    }  # 1 and 2 March: re-selections, allowed
    assert {c.voucher for c in ledger.candidates(admin)} == {"R0", "R1"}
    assert not hasattr(sg, "personal_payment_problem")  # the rule lives once, in core.rules


# --- tax handoff amounts ---------------------------------------------------------------------------------


@pytest.fixture
def office(db, admin, tmp_path):
    from tests.test_handoff import _office

    return _office(admin, tmp_path)


def _csv_rows(path):
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"))))


def test_correction_amounts_are_numbers(office, tmp_path):
    o, r = office, office["residents"]
    paid_refund(o, r[0], "V1", dt.date(2020, 3, 5))
    sent = handoff.create_batch(o["reviewer"], "2020-03", "refund", tmp_path)
    handoff.mark_sent(o["reviewer"], sent.id)
    fix = handoff.correct(o["reviewer"], sent.batch_no, [1], "银行流水号填错", out_dir=tmp_path)
    assert fix.file_format == handoff_files.CURRENT_FORMAT
    rows = _csv_rows(tmp_path / f"{fix.batch_no}.csv")
    amount = rows[0].index("退费金额")
    assert rows[1][amount] == "-300.00"  # a plain negative number, not '-300.00
    assert rows[1][2].startswith("'+")  # text is still neutralised (the formula-like name)
    ws = load_workbook(tmp_path / f"{fix.batch_no}.xlsx").active
    cell = ws.cell(row=3, column=amount + 1)
    assert cell.data_type == "n" and cell.value == -300 and cell.number_format == "0.00"
    first = load_workbook(tmp_path / f"{sent.batch_no}.xlsx").active.cell(row=3, column=amount + 1)
    assert first.data_type == "n" and first.value == 300
    again = handoff.export(o["reviewer"], fix.batch_no, tmp_path / "again")
    assert again == json.loads(HandoffBatch.get_by_id(fix.id).files)


def test_batches_made_before_keep_their_bytes(office, tmp_path, monkeypatch):
    """A batch written with amounts as text (format 1, before this change) re-exports byte-identical."""
    o, r = office, office["residents"]
    paid_refund(o, r[0], "V1", dt.date(2020, 3, 5))
    monkeypatch.setattr(handoff_files, "CURRENT_FORMAT", handoff_files.FORMAT_TEXT_AMOUNTS)
    old = handoff.create_batch(o["reviewer"], "2020-03", "refund", tmp_path / "first")
    monkeypatch.undo()
    assert HandoffBatch.get_by_id(old.id).file_format == handoff_files.FORMAT_TEXT_AMOUNTS
    files = handoff.export(o["reviewer"], old.batch_no, tmp_path / "again")
    assert files == json.loads(old.files)
    assert (tmp_path / "again" / f"{old.batch_no}.csv").read_bytes() == (
        tmp_path / "first" / f"{old.batch_no}.csv"
    ).read_bytes()


def test_a_rejected_line_cannot_be_reversed(office, tmp_path):
    o, r = office, office["residents"]
    a = paid_refund(o, r[0], "V1", dt.date(2020, 3, 5))
    paid_refund(o, r[1], "V2", dt.date(2020, 3, 6))
    batch = handoff.create_batch(o["reviewer"], "2020-03", "refund", tmp_path)
    handoff.mark_sent(o["reviewer"], batch.id)
    feedback = [["批次号", "序号", "处理结果", "原因"], [batch.batch_no, 1, "拒绝", "账号不符"]]
    run(handoff.import_feedback(write_xlsx(tmp_path / "f.xlsx", feedback), o["reviewer"]))
    resend = handoff.create_batch(o["reviewer"], "2020-04", "refund", tmp_path)
    handoff.mark_sent(o["reviewer"], resend.id)
    with pytest.raises(UserError, match="序号 1 已被税务端拒绝（账号不符），从未入账，不能冲正"):
        handoff.correct(o["reviewer"], batch.batch_no, [1, 2], "重复", out_dir=tmp_path)
    assert HandoffBatch.select().where(HandoffBatch.is_correction).count() == 0
    assert [x.record_id for x in resend.lines] == [a.id]  # the re-sent line stands, not netted to zero
    fix = handoff.correct(o["reviewer"], batch.batch_no, [2], "金额有误", out_dir=tmp_path)
    assert fix.total_fen == -30000


def test_money_columns_are_numbers_in_every_workbook(office, tmp_path, admin):
    o, r = office, office["residents"]
    for n, resident in enumerate(r[:2]):
        Contribution.create(
            resident=resident.id, year=2019, amount_fen=30000, tier_fen=30000, voucher=f"M{n}"
        )
    a = arrears.declare(admin, r[2].id, [2016, 2017], [30000, 50000], dt.date(2021, 1, 10))
    arrears.export(admin, tmp_path / "a.xlsx")
    ws = load_workbook(tmp_path / "a.xlsx").active
    amount = [c.value for c in ws[1]].index("金额（元）") + 1
    cell = ws.cell(row=2, column=amount)
    assert (
        cell.data_type == "n" and cell.value == 800 and cell.number_format == "0.00" and a.total_fen == 80000
    )
    arrears.export(admin, tmp_path / "a.csv")
    assert _csv_rows(tmp_path / "a.csv")[1][amount - 1] == "800.00"
    stats = statistics.year_stats(admin, 2019)
    statistics.export(admin, stats, tmp_path / "s.xlsx")
    ws = load_workbook(tmp_path / "s.xlsx").active
    money = [i + 1 for i, c in enumerate(ws[1]) if "金额" in (c.value or "")]
    assert money and all(ws.cell(row=2, column=m).data_type == "n" for m in money)
    assert all(ws.cell(row=2, column=m).number_format == "0.00" for m in money)
    paid_refund(o, r[3], "V9", dt.date(2020, 3, 5))
    case = refunds.listing(o["reviewer"], "已退款")[0]
    wb_path = tmp_path / "fund.xlsx"
    refunds.write_fund_request(o["finance"], refunds.rules.refund_fund_month(dt.date(2020, 3, 5)), wb_path)
    wb = load_workbook(wb_path)
    for ws in wb.worksheets:
        amounts = [row[-1] for row in ws.iter_rows(min_row=3 if ws.title == "收款人清单" else 2)]
        assert amounts and all(c.data_type == "n" and c.number_format.endswith("0.00") for c in amounts)
    assert case.amount_fen == 30000


# --- refunds -------------------------------------------------------------------------------------------


def test_government_payments_are_not_refundable(office):
    o, r = office, office["residents"]
    state = Contribution.create(resident=r[0].id, year=2020, amount_fen=10000, tier_fen=10000, voucher="GOV",
                                payer="政府代缴", channel="财政代缴")  # fmt: skip
    own = Contribution.create(resident=r[0].id, year=2020, amount_fen=30000, tier_fen=30000, voucher="OWN")
    new = refunds.NewCase(r[0].id, [own.id, state.id], [30000, 10000], "重复缴费", r[0].name, "6228", "农行")
    with pytest.raises(UserError, match="税票 GOV（2020 年，政府代缴）：政府代缴的缴费不能退给个人"):
        refunds.create(o["clerk"], new)
    assert refunds.RefundCase.select().count() == 0
    refunds.create(
        o["clerk"], refunds.NewCase(r[0].id, [own.id], [30000], "重复缴费", r[0].name, "6228", "农行")
    )


def test_refund_step_dates(office):
    o, r = office, office["residents"]
    c = Contribution.create(resident=r[0].id, year=2020, amount_fen=30000, tier_fen=30000, voucher="D1")
    new = refunds.NewCase(r[0].id, [c.id], [30000], "重复缴费", r[0].name, "6228", "农行")
    today = dt.date(2020, 4, 30)
    with pytest.raises(UserError, match="晚于今天"):
        refunds.create(o["clerk"], new, today=today, on=dt.date(2020, 5, 1))
    case = refunds.create(o["clerk"], new, today=today, on=dt.date(2020, 3, 20))  # paperwork entered late
    with pytest.raises(UserError, match="早于受理日期 2020-03-20"):
        refunds.advance(o["clerk"], case.id, "初审", today=today, on=dt.date(2020, 3, 19))
    with pytest.raises(UserError, match="晚于今天"):
        refunds.advance(o["clerk"], case.id, "初审", today=today, on=dt.date(2020, 5, 2))
    case = refunds.advance(o["clerk"], case.id, "初审", today=today, on=dt.date(2020, 3, 26))
    assert case.batch_month == "2020-04"  # the 25th cut-off follows the step's date, not the day it was typed
    with pytest.raises(UserError, match="早于初审"):
        refunds.advance(o["reviewer"], case.id, "复核通过", today=today, on=dt.date(2020, 3, 25))
    case = refunds.advance(o["reviewer"], case.id, "复核通过", today=today, on=dt.date(2020, 4, 2))
    assert case.fund_month == "2020-05"
    with pytest.raises(UserError, match="早于复核通过"):
        refunds.advance(
            o["finance"], case.id, "已退款", bank_ref="B", today=today, paid_on=dt.date(2020, 4, 1)
        )
    with pytest.raises(UserError, match="晚于今天"):
        refunds.advance(
            o["finance"], case.id, "已退款", bank_ref="B", today=today, paid_on=dt.date(2020, 5, 1)
        )
    case = refunds.advance(
        o["finance"], case.id, "已退款", bank_ref="B", today=today, paid_on=dt.date(2020, 4, 20)
    )
    assert case.paid_on == dt.date(2020, 4, 20)
    days = [e.day for e in RefundEvent.select().where(RefundEvent.case == case.id).order_by(RefundEvent.id)]
    assert days == [dt.date(2020, 3, 20), dt.date(2020, 3, 26), dt.date(2020, 4, 2), dt.date(2020, 4, 20)]


def test_advancing_several_cases_is_all_or_nothing(office):
    o, r = office, office["residents"]
    cases = []
    for n, resident in enumerate(r[:3]):
        c = Contribution.create(
            resident=resident.id, year=2020, amount_fen=30000, tier_fen=30000, voucher=f"W{n}"
        )
        cases.append(refunds.create(o["clerk"], refunds.NewCase(resident.id, [c.id], [30000], "重复缴费", resident.name,
                                                                "6228", "农行")))  # fmt: skip
    refunds.advance(o["clerk"], cases[1].id, "撤销")
    refs = [c.case_no for c in cases]
    with pytest.raises(UserError, match=f"案件 {refs[1]}：.*不能“初审”.*3 件均未办理"):
        refunds.advance_many(o["clerk"], refs, "初审")
    assert [refunds.RefundCase.get_by_id(c.id).state for c in cases] == ["已受理", "已撤销", "已受理"]
    moved = refunds.advance_many(o["clerk"], [refs[0], refs[2]], "初审")
    assert [c.state for c in moved] == ["已初审", "已初审"]


def test_step_dates_are_checked_against_the_real_today(office):
    """The date checks use the real today by default: a step dated tomorrow is refused."""
    o, r = office, office["residents"]
    c = Contribution.create(resident=r[0].id, year=2020, amount_fen=30000, tier_fen=30000, voucher="T1")
    new = refunds.NewCase(r[0].id, [c.id], [30000], "重复缴费", r[0].name, "6228", "农行")
    with pytest.raises(UserError, match="晚于今天"):
        refunds.create(o["clerk"], new, on=dt.date.today() + dt.timedelta(days=1))


# --- two offices importing overlapping rosters at once (PostgreSQL) --------------------------------------


def test_overlapping_roster_imports_on_postgresql(pg_schema, tmp_path):
    """The second import meets the first one's uncommitted resident under the unique key, waits, and when the
    first commits it imports again by itself: no ``duplicate key value violates unique constraint``."""
    import os
    import subprocess
    import sys
    import time

    import psycopg2

    from tests.clirun import ROOT, TEST_PASSWORD, add_users
    from tests.conftest import PG_BASE

    add_users(pg_schema.url, [("boss", "管理员", None)])
    rows = [HEADER, *[person(n) for n in range(1, 40, 2)]]
    path = write_xlsx(tmp_path / "r.xlsx", rows)
    other = psycopg2.connect(PG_BASE, options=f"-csearch_path={pg_schema.name}")
    try:
        with other.cursor() as cur:  # the other office's import, not yet committed
            cur.execute("SELECT id FROM township WHERE name = '费城街道'")
            (town,) = cur.fetchone()
            cur.execute(
                "INSERT INTO resident (id_number, name, sex, birth_date, township_id, phone, household_type, status, "
                "created_at, updated_at, version) VALUES (%s, %s, '男', %s, %s, '', '', '正常参保', now(), now(), 1)",
                (person(21)[1], person(21)[0], BORN, town),
            )
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PENSION_PASSWORD": TEST_PASSWORD}
        env.pop("PENSION_DB_URL", None)
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), "--db", pg_schema.url, "--user", "boss", "import-roster", str(path),
             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        watcher = psycopg2.connect(PG_BASE)
        watcher.autocommit = True
        deadline = time.monotonic() + 60
        try:
            with watcher.cursor() as cur:
                while time.monotonic() < deadline and proc.poll() is None:
                    cur.execute(
                        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                        "WHERE NOT l.granted AND a.query ILIKE %s",
                        ("%resident%",),
                    )
                    if cur.fetchone()[0]:
                        break
                    time.sleep(0.1)
        finally:
            watcher.close()
        assert proc.poll() is None, proc.communicate()  # waiting on the other office's row
        other.commit()
        out, err = proc.communicate(timeout=120)
    finally:
        other.close()
    assert proc.returncode == 0, err
    assert "duplicate key" not in err
    report = json.loads(out)
    assert report["imported"] == 19 and report["updated"] == 1 and report["rejected"] == 0  # village, phone


def test_a_second_clash_gives_a_chinese_message(db, admin, tmp_path, monkeypatch):
    import peewee as pw

    from core import roster_import

    def clash(*args, **kwargs):
        yield from ()
        raise pw.IntegrityError('duplicate key value violates unique constraint "resident_id_number"')

    monkeypatch.setattr(roster_import, "_import_once", clash)
    with pytest.raises(UserError, match="另一台电脑正在同时导入相同的人员") as caught:
        do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), admin)
    assert "duplicate" not in str(caught.value)
