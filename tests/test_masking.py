"""Issue 18: ID masking follows the setting everywhere a role sees ID numbers — lists, dialogs, exports — while
the forms the tax office or the bank needs keep the full number."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import load_workbook

from core import audit, audit_view, auth, handoff, imports, ledger, payments, refunds
from core import roster as roster_core
from core import special_groups as sg
from dao.models import Contribution, ImportLog, RefundCandidate, Resident
from gui import refund_tab
from gui.operations import wait_all as settle
from tests.conftest import township_id
from tests.fixtures import HEADER, person, write_xlsx
from tests.test_handoff import _office, paid_refund
from tests.test_roster_import import do_import
from tests.test_special_groups import imp, special


def masked(number: str) -> str:
    return f"{number[:6]}********{number[14:]}"


def all_text(path) -> str:
    sheet = load_workbook(path).active
    return "\n".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None)


@pytest.fixture
def people(db, admin, tmp_path):
    rows = [HEADER, *[person(n) for n in (1, 3, 5)]]
    do_import(write_xlsx(tmp_path / "r.xlsx", rows), admin)
    return [r[1] for r in rows[1:]]


def test_special_lists_mask_on_screen_and_keep_the_printed_list_full(people, admin, tmp_path):
    newcomer = person(41)[1]
    listed = [person(1), person(3), person(41)]
    imp(special(tmp_path, "a.xlsx", listed), admin, department="民政", group="特困人员")
    roster_core.set_masked_roles(admin, {auth.ADMIN})

    assert [e.id_number for e in sg.pending(admin, 2020)] == [masked(newcomer)]
    shown = {r.id_number for r in sg.subsidy_rows(admin, 2020)}
    assert shown == {masked(people[0]), masked(people[1])}
    out = tmp_path / "代缴.xlsx"
    sg.export_subsidy_list(admin, 2020, out)
    assert people[0] in all_text(out)  # the 花名册 is credited by the tax office: always the full number

    report = imp(special(tmp_path, "b.xlsx", [person(1)]), admin, department="民政", group="特困人员",
                 dry_run=True)  # fmt: skip
    assert [r.id_number for r in report.removals] == [masked(people[1])]

    roster_core.set_masked_roles(admin, set())
    assert {r.id_number for r in sg.subsidy_rows(admin, 2020)} == {people[0], people[1]}


def test_refund_candidates_mask_and_open_the_person_by_row_id(people, admin):
    r = Resident.get(Resident.id_number == people[0])
    c = Contribution.create(resident=r.id, year=2020, amount_fen=90000, tier_fen=30000, voucher="V1")
    RefundCandidate.create(
        contribution=c.id, code="OVER_ANNUAL_MAX", message="超过最高档次", amount_fen=60000
    )
    roster_core.set_masked_roles(admin, {auth.ADMIN})
    [row] = ledger.candidates(admin)
    assert (row.id_number, row.name, row.voucher, row.amount_fen) == (masked(people[0]), r.name, "V1", 60000)
    card, paid = payments.lookup_by_id(admin, row.resident_id)
    assert card.id_number == masked(people[0]) and [p.id for p in paid] == [c.id]
    assert (
        refunds.candidate_reason(row.code) == "多缴/超过最高档次" and refunds.candidate_reason("X") == "其他"
    )


def test_import_changes_mask_on_screen_and_in_their_export(people, admin, tmp_path):
    changed = person(1)
    changed[6] = "13900000000"
    do_import(write_xlsx(tmp_path / "r2.xlsx", [HEADER, changed]), admin)
    log = ImportLog.select().order_by(ImportLog.id.desc()).get()
    roster_core.set_masked_roles(admin, {auth.ADMIN})
    [change] = imports.changes(admin, log.id)
    assert change.id_number == masked(people[0]) and change.new == "13900000000"
    out = tmp_path / "changes.xlsx"
    imports.export_changes(admin, log.id, out)
    assert masked(people[0]) in all_text(out) and people[0] not in all_text(out)


def test_the_audit_viewer_and_its_export_mask_numbers_in_the_details(people, admin, tmp_path):
    r = Resident.get(Resident.id_number == people[2])
    audit.record(admin.username, "update", "resident", str(r.id), before={"phone": "1"},
                 after={"id_number": people[2], "removals": [{"id_number": people[1], "name": "居民3"}]})  # fmt: skip
    roster_core.set_masked_roles(admin, {auth.ADMIN})
    line = audit_view.entries(admin, entity="resident")[0]
    assert masked(people[2]) in line.target and masked(people[2]) in line.details
    assert (
        masked(people[1]) in line.details and people[1] not in line.details and people[2] not in line.details
    )
    out = tmp_path / "audit.xlsx"
    assert audit_view.export(admin, out, entity="resident") >= 1
    text = all_text(out)
    assert "修改" in text and "身份证号码" in text and masked(people[2]) in text and people[2] not in text
    roster_core.set_masked_roles(admin, set())
    assert people[2] in audit_view.entries(admin, entity="resident")[0].details


def test_rejected_handoff_lines_mask(db, admin, tmp_path):
    o = _office(admin, tmp_path)
    r = o["residents"][0]
    paid_refund(o, r, "V1", dt.date(2020, 3, 5))
    batch = handoff.create_batch(o["reviewer"], "2020-03", "refund", tmp_path)
    handoff.mark_sent(o["reviewer"], batch.id)
    feedback = write_xlsx(
        tmp_path / "f.xlsx",
        [["批次号", "序号", "处理结果", "失败原因"], [batch.batch_no, 1, "拒绝", "号码不存在"]],
    )
    from core.progress import run

    run(handoff.import_feedback(feedback, o["reviewer"]))
    assert handoff.rejected_lines(o["reviewer"])[0][2] == f"{r.name} {r.id_number}"
    roster_core.set_masked_roles(admin, {auth.REVIEWER})
    assert handoff.rejected_lines(o["reviewer"])[0][2] == f"{r.name} {masked(r.id_number)}"


def test_refund_entry_page_masks_candidates_and_takes_one_up(
    qtbot, sqlite_db, admin, tmp_path, message_boxes
):
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), admin)
    r = Resident.get()
    c = Contribution.create(resident=r.id, year=2020, amount_fen=30000, tier_fen=30000, voucher="V1")
    RefundCandidate.create(
        contribution=c.id, code="PAID_AFTER_60", message="年满 60 周岁后个人缴费", amount_fen=30000
    )
    clerk = auth.actor_of(auth.create_user(admin, "li", "password123", auth.CLERK, township_id("费城街道")))
    roster_core.set_masked_roles(admin, {auth.CLERK})
    page = refund_tab.EntryPage(clerk)
    qtbot.addWidget(page)
    settle()
    assert page.candidates.model().index(0, 0).data() == masked(r.id_number)
    page.candidates.selectRow(0)
    page.use_candidate()
    settle()
    assert (
        page.resident is not None and page.resident.id == r.id and page.id_edit.text() == masked(r.id_number)
    )
    assert page.pay_table.cellWidget(0, 0).isChecked() and page.candidate_id is not None
    assert page.reason.currentText() == "其他" and "60" in page.reason_text.text()


def test_controls_a_role_cannot_use_say_who_may(qtbot, sqlite_db, admin):
    from gui.arrears_tab import ArrearsTab
    from gui.handoff_tab import HandoffTab
    from gui.special_tab import SpecialTab

    finance = auth.actor_of(auth.create_user(admin, "cai", "password123", auth.FINANCE))
    tabs = [HandoffTab(finance), ArrearsTab(finance), SpecialTab(finance)]
    for tab in tabs:
        qtbot.addWidget(tab)
    settle()
    handoff_tab, arrears, special_tab = tabs
    for text, button in handoff_tab.buttons.items():
        if text == "重新导出…":
            assert button.isEnabled()
        else:
            assert not button.isEnabled() and button.toolTip().startswith(f"须由{auth.REVIEWER}办理")
    assert (
        not arrears.assess_page.assess_button.isEnabled()
        and "须由" in arrears.assess_page.assess_button.toolTip()
    )
    undo = special_tab.undo_button
    assert (
        not undo.isEnabled() and "撤销" in undo.toolTip() and "须由" in undo.toolTip()
    )  # what it does, then who
    assert auth.who_may("system.manage") == auth.ADMIN and auth.who_may("refund.enter") == auth.CLERK
