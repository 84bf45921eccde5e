"""特殊群体标识 on both databases: lists, flags, replacement, pending people, the 代缴 list and its exports."""

from __future__ import annotations

import datetime as dt
import subprocess
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from core import special_groups as sg
from core.errors import PermissionDenied, UserError
from core.progress import run
from core.tabular import FileUnusable
from dao.models import (
    PAYMENT_CANCELLED,
    PAYMENT_CORRECTION,
    PAYMENT_PENDING,
    PAYMENT_SENT,
    GovernmentPayment,
    PolicyYear,
    Resident,
    SpecialList,
)
from tests.conftest import clerk_of
from tests.fixtures import HEADER, person, write_xlsx
from tests.test_roster_import import do_import


@pytest.fixture
def roster(db, admin, tmp_path):
    """Ten residents: person(1) .. person(19) (odd sequence numbers), in two townships."""
    rows = [HEADER, *[person(n, township="上冶镇" if n > 10 else "费城街道") for n in range(1, 20, 2)]]
    do_import(write_xlsx(tmp_path / "roster.xlsx", rows), admin)
    return {n: person(n) for n in range(1, 20, 2)}


def special(tmp_path, name, people, *, group_column=None):
    header = ["序号", "姓名", "身份证号"] + (["类别"] if group_column else [])
    rows = [header]
    for n, p in enumerate(people, start=1):
        rows.append([n, p[0], p[1]] + ([group_column(p)] if group_column else []))
    return write_xlsx(tmp_path / name, rows, title_rows=[["县民政局困难群众名单"]])


def imp(path, actor, **kwargs):
    kwargs.setdefault("year", 2020)
    return run(sg.import_special_list(path, actor, **kwargs))


def payment(p):
    return GovernmentPayment.get(GovernmentPayment.resident == Resident.get(Resident.id_number == p[1]).id)


def test_overlapping_lists_give_one_payment_of_the_policy_minimum(roster, admin, tmp_path):
    PolicyYear.update(hardship_min_fen=12000).where(PolicyYear.year == 2020).execute()  # not a literal 100
    p = roster
    imp(special(tmp_path, "mz.xlsx", [p[1], p[3]], group_column=lambda x: "低保" if x is p[1] else "特困"), admin,
        department="民政")  # fmt: skip
    imp(special(tmp_path, "cl.xlsx", [p[1], p[5]]), admin, department="残联", group="重度残疾人")
    assert GovernmentPayment.select().count() == 3
    both = payment(p[1])
    assert (
        both.amount_fen == 12000 and both.groups == "低保对象、重度残疾人" and both.state == PAYMENT_PENDING
    )
    assert sg.flagged_groups(2020)[both.resident_id] == {"低保对象", "重度残疾人"}
    stats = sg.statistics(admin, 2020)
    assert stats.by_group == {"低保对象": 1, "特困人员": 1, "重度残疾人": 2}
    assert stats.overlaps == {("低保对象", "重度残疾人"): 1} and stats.multi == 1 and stats.people == 3
    assert stats.amount_fen == 36000 and stats.by_township["费城街道"]["重度残疾人"] == 2


def test_replaced_list_reports_changes_and_follows_the_flags(roster, admin, tmp_path):
    p = roster
    first = imp(special(tmp_path, "v1.xlsx", [p[1], p[3], p[5]]), admin, department="民政", group="低保对象")
    assert (first.imported, first.unchanged) == (3, 0)
    second = imp(
        special(tmp_path, "v2.xlsx", [p[3], p[5], p[7]]),
        admin,
        department="民政",
        group="低保对象",
        confirm_removals=True,
    )  # one of three removed: more than 20 %
    change = second.changes["低保对象"]
    assert [n for n, _ in change.added] == [p[7][1]] and [n for n, _ in change.removed] == [p[1][1]]
    assert change.unchanged == 2 and (second.imported, second.unchanged) == (1, 2)
    lists = list(SpecialList.select().order_by(SpecialList.id))
    assert [x.current for x in lists] == [False, True] and lists[0].replaced_by_id == lists[1].id
    assert (lists[1].added, lists[1].removed, lists[1].unchanged) == (1, 1, 2)
    assert payment(p[1]).state == PAYMENT_CANCELLED  # stopped qualifying before handoff
    assert payment(p[7]).state == PAYMENT_PENDING
    assert not sg.is_flagged(payment(p[1]).resident_id, 2020)

    # After handoff a removal is a correction, never a silent delete.
    GovernmentPayment.update(state=PAYMENT_SENT).where(GovernmentPayment.state == PAYMENT_PENDING).execute()
    imp(
        special(tmp_path, "v3.xlsx", [p[5], p[7]]),
        admin,
        department="民政",
        group="低保对象",
        confirm_removals=True,
    )
    assert payment(p[3]).state == PAYMENT_CORRECTION
    assert GovernmentPayment.select().count() == 4
    imp(special(tmp_path, "v4.xlsx", [p[3], p[5], p[7]]), admin, department="民政", group="低保对象")
    assert payment(p[3]).state == PAYMENT_SENT  # qualifies again before the correction went out


def test_reimporting_the_same_file_is_a_no_op(roster, admin, tmp_path):
    path = special(tmp_path, "same.xlsx", [roster[1], roster[3]])
    imp(path, admin, department="扶贫", group="建档立卡贫困人员")
    again = imp(path, admin, department="扶贫", group="建档立卡贫困人员")
    assert again.no_op and again.imported == 0 and again.unchanged == 2
    assert SpecialList.select().count() == 1


def test_name_mismatch_waits_for_review(roster, admin, tmp_path):
    wrong = [roster[9][0] + "某", roster[9][1]]
    report = imp(
        special(tmp_path, "n.xlsx", [roster[1], wrong]), admin, department="残联", group="重度残疾人"
    )
    assert [w.code for w in report.warnings] == ["NAME_MISMATCH"]
    assert "名单为" in report.warnings[0].message
    rid = Resident.get(Resident.id_number == roster[9][1]).id
    assert not sg.is_flagged(rid, 2020)
    (entry,) = sg.pending(admin, 2020)
    assert entry.roster_name == roster[9][0] and entry.name == wrong[0]
    sg.review_name(admin, entry.entry_id, accept=True)
    assert sg.is_flagged(rid, 2020) and payment(roster[9]).state == PAYMENT_PENDING
    with pytest.raises(UserError, match="不需要核对"):
        sg.review_name(admin, entry.entry_id, accept=False)
    # The same spelling in a corrected list stays reviewed.
    imp(special(tmp_path, "n2.xlsx", [wrong, roster[3]]), admin, department="残联", group="重度残疾人")
    assert sg.is_flagged(rid, 2020) and sg.pending(admin, 2020) == []


def test_not_in_roster_is_pending_then_enrolled(roster, admin, tmp_path):
    newcomer = person(41)
    rows = [["姓名", "身份证号码", "乡镇", "村居"], [newcomer[0], newcomer[1], "胡阳", "新村"],
            ["无乡镇", person(43)[1], "", ""]]  # fmt: skip
    report = imp(write_xlsx(tmp_path / "p.xlsx", rows), admin, department="民政", group="特困人员")
    assert [w.code for w in report.warnings] == ["NOT_IN_ROSTER", "NOT_IN_ROSTER"]
    entries = {e.name: e for e in sg.pending(admin, 2020)}
    assert set(entries) == {newcomer[0], "无乡镇"}
    with pytest.raises(UserError, match="无法识别"):
        sg.enrol(admin, [entries["无乡镇"].entry_id])
    assert sg.enrol(admin, [entries[newcomer[0]].entry_id]) == sg.Enrolled(enrolled=1, flagged=1)
    resident = Resident.get(Resident.id_number == newcomer[1])
    assert resident.township.name == "胡阳镇" and resident.village.name == "新村"
    assert sg.is_flagged(resident.id, 2020) and payment(newcomer).amount_fen == 10000
    clerk = clerk_of("上冶镇")
    with pytest.raises(PermissionDenied):
        sg.enrol(clerk, [entries["无乡镇"].entry_id], township_id=resident.township_id)
    # A pending person registered later through the roster is matched on the next sync (here the names
    # differ, so the entry now waits for a name review instead).
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(43, township="费城街道")]), admin)
    sg.sync_payments(admin, 2020)
    (entry,) = sg.pending(admin, 2020)
    assert entry.status == "姓名待核" and entry.roster_name == person(43)[0]


def test_row_codes_and_bad_requests(roster, admin, tmp_path):
    rows = [["姓名", "身份证号码", "类别"], [roster[1][0], roster[1][1], "低保"], [roster[3][0], roster[3][1], "低保边缘户"],
            [roster[1][0], roster[1][1], "低保对象"], ["坏号", "371325", "低保"], ["", roster[5][1], "特困"]]  # fmt: skip
    report = imp(write_xlsx(tmp_path / "c.xlsx", rows), admin, department="民政")
    assert [(e.row, e.code) for e in report.errors] == [
        (3, "GROUP_UNKNOWN"), (4, "DUPLICATE_IN_FILE"), (5, "ID_FORMAT"), (6, "NAME_MISSING")
    ]  # fmt: skip
    assert report.rejected == 4 and report.imported == 1
    with pytest.raises(FileUnusable, match="人员类别"):
        imp(special(tmp_path, "nogroup.xlsx", [roster[1]]), admin, department="民政")
    with pytest.raises(UserError, match="只能是"):
        imp(special(tmp_path, "g.xlsx", [roster[1]]), admin, department="残联", group="低保对象")
    with pytest.raises(UserError, match="缴费政策"):
        imp(special(tmp_path, "y.xlsx", [roster[1]]), admin, department="残联", group="重度残疾人", year=1999)
    with pytest.raises(PermissionDenied):
        imp(
            special(tmp_path, "k.xlsx", [roster[1]]),
            clerk_of("上冶镇"),
            department="残联",
            group="重度残疾人",
        )


def test_dry_run_writes_nothing(roster, admin, tmp_path):
    report = imp(
        special(tmp_path, "d.xlsx", [roster[1]]), admin, department="残联", group="重度残疾人", dry_run=True
    )
    assert report.imported == 1 and report.dry_run
    assert SpecialList.select().count() == 0 and GovernmentPayment.select().count() == 0


def test_exports_totals_equal_rows(roster, admin, tmp_path):
    p = roster
    imp(
        special(tmp_path, "e.xlsx", [p[1], p[3], p[11], p[13], p[15]]),
        admin,
        department="民政",
        group="低保对象",
    )
    out = tmp_path / "subsidy.xlsx"
    assert sg.export_subsidy_list(admin, 2020, out) == 5
    wb = load_workbook(out)
    detail = wb["代缴名单"]
    amounts = [row[7] for row in detail.iter_rows(min_row=3, values_only=True) if isinstance(row[0], int)]
    total_row = next(row for row in detail.iter_rows(min_row=3, values_only=True) if row[0] == "合计")
    assert Decimal(str(total_row[7])) == sum(Decimal(str(a)) for a in amounts) == Decimal("500")
    summary = {(r[0], r[1] or ""): r for r in wb["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary[("费城街道", "小计")][2] == 2 and summary[("上冶镇", "小计")][2] == 3
    assert summary[("合计", "")][2] == 5

    pdf = tmp_path / "subsidy.pdf"
    assert sg.export_subsidy_list(admin, 2020, pdf) == 5
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "政府代缴人员花名册" in text and "本页小计" in text and "经办人" in text
    assert "合计：人数 5" in text and "500.00" in text and p[11][1] in text

    mine = tmp_path / "mine.xlsx"
    assert sg.export_subsidy_list(clerk_of("上冶镇"), 2020, mine) == 3
    with pytest.raises(PermissionDenied):
        sg.export_subsidy_list(clerk_of("上冶镇"), 2020, mine, township_id=payment(p[1]).resident.township_id)


def test_a_listed_person_registered_at_the_counter_is_flagged_at_once(roster, admin, tmp_path):
    from core import residents

    newcomer, other = person(41), person(43)
    rows = [
        ["姓名", "身份证号码", "乡镇"],
        [newcomer[0], newcomer[1], "费城街道"],
        ["别名", other[1], "费城街道"],
    ]
    imp(write_xlsx(tmp_path / "p.xlsx", rows), admin, department="民政", group="特困人员")
    clerk = clerk_of("费城街道")
    done = residents.register(clerk, newcomer[1], newcomer[0], "费城街道", on=dt.date(2020, 3, 1))
    assert done.ok and done.resident_id is not None, done.codes
    assert payment(newcomer).amount_fen == 10000 and payment(newcomer).state == "待传递"  # no sync needed
    residents.register(
        clerk, other[1], other[0], "费城街道", on=dt.date(2020, 3, 1)
    )  # another name on the list
    (entry,) = sg.pending(admin, 2020)
    assert entry.status == "姓名待核" and entry.roster_name == other[0]  # waits for review, not flagged
    assert (
        not GovernmentPayment.select()
        .where(GovernmentPayment.resident == Resident.get(Resident.id_number == other[1]).id)
        .exists()
    )
