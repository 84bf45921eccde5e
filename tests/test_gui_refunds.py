"""The 退费审核 tab (pytest-qt, offscreen): enter a case, move it through its steps, print, fund request."""

from __future__ import annotations

import subprocess

import pytest
from PySide6.QtWidgets import QInputDialog, QMessageBox

from core import auth
from dao.models import Contribution, RefundCase, Resident
from gui import file_dialogs
from gui.operations import wait_all as settle
from gui.refund_tab import RefundTab
from tests.conftest import township_id
from tests.fixtures import HEADER, person, write_xlsx
from tests.test_roster_import import do_import

pytestmark = pytest.mark.usefixtures("message_boxes")


def test_enter_and_move_a_case(qtbot, sqlite_db, admin, tmp_path, monkeypatch, message_boxes, previews):
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), admin)
    r = Resident.get()
    Contribution.create(
        resident=r.id, year=2020, amount_fen=30000, tier_fen=30000, voucher="V1", channel="支付宝"
    )
    clerk = auth.actor_of(auth.create_user(admin, "li", "password123", auth.CLERK, township_id("费城街道")))
    reviewer = auth.actor_of(auth.create_user(admin, "shen", "password123", auth.REVIEWER))
    tab = RefundTab(clerk)
    settle()
    qtbot.addWidget(tab)
    settle()
    entry = tab.entry
    entry.id_edit.setText(r.id_number)
    entry.find()
    settle()
    assert entry.pay_table.rowCount() == 1 and entry.create_button.isEnabled()
    entry.pay_table.cellWidget(0, 0).setChecked(True)
    entry.pay_table.item(0, 7).setText("120.50")
    entry.account_no.setText("6228480000000001")
    entry.bank.setText("农业银行费县支行")
    entry.create()
    settle()
    case = RefundCase.get()
    assert case.amount_fen == 12050 and case.account_name == r.name and message_boxes[-1][0] == "已受理"
    assert tab.cases.table.rowCount() == 1 and "尚未初审报送：<b>1</b>" in tab.cutoff.text()

    tab.cases.table.selectRow(0)
    tab.cases.move("初审")
    settle()
    assert RefundCase.get().state == "已初审"
    tab.cases.table.selectRow(0)
    tab.cases.move("复核通过")  # a clerk may not approve: core refuses, and the button says so beforehand
    settle()
    button = tab.cases.buttons["复核通过"]
    assert not button.isEnabled() and "县局审核" in button.toolTip()
    assert RefundCase.get().state == "已初审" and "县局审核" in message_boxes[-1][1]

    county = RefundTab(reviewer)
    settle()
    qtbot.addWidget(county)
    settle()
    county.cases.table.selectRow(0)
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("材料不全", True)))
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    county.cases.move("退回")
    settle()
    assert RefundCase.get().state == "已退回" and RefundCase.get().note == "材料不全"

    from gui.resident_dialog import ResidentDialog

    details = ResidentDialog(reviewer, r.id)
    qtbot.addWidget(details)
    assert details.detail.refunds[0].case_no == case.case_no
    assert county.cases.state.currentText() == "已初审"  # 县局审核 lands on the cases waiting for review
    county.cases.state.setCurrentIndex(0)
    settle()
    county.cases.table.selectRow(0)
    county.cases.print_sheets()
    settle()
    title, pdf, _, pages = previews[-1]
    assert "退费审批表" in title and pages == 1
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert case.case_no in text


def test_handoff_tab_creates_sends_and_reexports(
    qtbot, sqlite_db, admin, tmp_path, monkeypatch, message_boxes
):
    import datetime as dt

    from core import refunds
    from dao.models import HandoffBatch
    from gui.handoff_tab import HandoffTab

    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), admin)
    r = Resident.get()
    c = Contribution.create(resident=r.id, year=2020, amount_fen=30000, tier_fen=30000, voucher="V1")
    clerk = auth.actor_of(auth.create_user(admin, "li", "password123", auth.CLERK, township_id("费城街道")))
    reviewer = auth.actor_of(auth.create_user(admin, "shen", "password123", auth.REVIEWER))
    finance = auth.actor_of(auth.create_user(admin, "cai", "password123", auth.FINANCE))
    case = refunds.create(
        clerk, refunds.NewCase(r.id, [c.id], [30000], "重复缴费", r.name, "6228", "农行", ["退费申请"])
    )
    refunds.advance(clerk, case.id, "初审")
    refunds.advance(reviewer, case.id, "复核通过")
    refunds.advance(finance, case.id, "已退款", bank_ref="B1", paid_on=dt.date.today())
    tab = HandoffTab(reviewer)
    settle()
    qtbot.addWidget(tab)
    settle()
    assert "退费 <b>1</b>" in tab.pending.text()
    monkeypatch.setattr(file_dialogs, "_exec", lambda dialog: str(tmp_path / "out"))
    tab.create()
    settle()
    batch = HandoffBatch.get()
    assert tab.batches.rowCount() == 1 and (tmp_path / "out" / f"{batch.batch_no}.xlsx").exists()
    tab.batches.selectRow(0)
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    tab.mark_sent()
    settle()
    assert HandoffBatch.get().state == "已报送" and tab.periods.text(0, 2) == "已锁定"
    monkeypatch.setattr(file_dialogs, "_exec", lambda dialog: str(tmp_path / "again"))
    tab.batches.selectRow(0)
    tab.export()
    settle()
    name = f"{batch.batch_no}.csv"
    assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "out" / name).read_bytes()


def test_step_dates_in_the_tab(qtbot, sqlite_db, admin, tmp_path, message_boxes):
    """The 办理日期 and 受理日期 fields default to today, refuse the future, and the 25th cut-off follows them;
    several cases move all or nothing."""
    import datetime as dt

    from PySide6.QtCore import QDate

    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1), person(3)]), admin)
    clerk = auth.actor_of(auth.create_user(admin, "li", "password123", auth.CLERK, township_id("费城街道")))
    tab = RefundTab(clerk)
    settle()
    qtbot.addWidget(tab)
    settle()
    today = dt.date.today()
    assert tab.cases.step_date.date().toPython() == today and tab.entry.accepted_on.date().toPython() == today
    tab.cases.step_date.setDate(QDate(today.year + 1, 1, 1))
    assert tab.cases.step_date.date().toPython() == today  # a future day cannot be chosen
    last_year = today.year - 1
    for n, resident in enumerate(Resident.select().order_by(Resident.id)):
        Contribution.create(
            resident=resident.id, year=2020, amount_fen=30000, tier_fen=30000, voucher=f"G{n}"
        )
        tab.entry.id_edit.setText(resident.id_number)
        tab.entry.find()
        settle()
        tab.entry.pay_table.cellWidget(0, 0).setChecked(True)
        tab.entry.account_no.setText("6228")
        tab.entry.bank.setText("农行")
        tab.entry.accepted_on.setDate(QDate(last_year, 3, 20))
        tab.entry.create()
        settle()
    cases = list(RefundCase.select().order_by(RefundCase.id))
    assert len(cases) == 2 and all(c.entered_at.date() == today for c in cases)
    from core import refunds

    refunds.advance(clerk, cases[1].id, "撤销", on=dt.date(last_year, 3, 21))
    tab.cases.refresh()
    settle()
    tab.cases.table.selectAll()
    tab.cases.step_date.setDate(QDate(last_year, 3, 26))
    tab.cases.move("初审")  # the withdrawn case cannot move: neither does the other
    settle()
    assert "均未办理" in message_boxes[-1][1] and RefundCase.get_by_id(cases[0].id).state == "已受理"
    tab.cases.table.clearSelection()
    tab.cases.table.selectRow(next(n for n, row in enumerate(tab.cases.rows) if row.id == cases[0].id))
    tab.cases.move("初审")
    settle()
    moved = RefundCase.get_by_id(cases[0].id)
    assert moved.state == "已初审" and moved.batch_month == f"{last_year}-04"  # passed on the 26th


def _approved_case(admin, tmp_path, amount_fen=100000):
    """A case approved by the county, with its clerk, reviewer and finance officer."""
    from core import refunds

    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), admin)
    r = Resident.get()
    c = Contribution.create(
        resident=r.id, year=2020, amount_fen=amount_fen, tier_fen=amount_fen, voucher="V1"
    )
    clerk = auth.actor_of(
        auth.create_user(admin, "li", "password123", auth.CLERK, township_id("费城街道"), "李经办")
    )
    reviewer = auth.actor_of(auth.create_user(admin, "shen", "password123", auth.REVIEWER, None, "沈审核"))
    finance = auth.actor_of(auth.create_user(admin, "cai", "password123", auth.FINANCE, None, "蔡财务"))
    case = refunds.create(
        clerk, refunds.NewCase(r.id, [c.id], [amount_fen], "重复缴费", r.name, "6228", "农行", ["退费申请"])
    )
    refunds.advance(clerk, case.id, "初审")
    refunds.advance(reviewer, case.id, "复核通过")
    return r, clerk, reviewer, finance, refunds.get(admin, case.id)


def test_finance_records_the_payout_from_the_case_detail(qtbot, sqlite_db, admin, tmp_path, monkeypatch):
    from gui import refund_tab

    _r, _clerk, _reviewer, finance, case = _approved_case(admin, tmp_path)
    tab = RefundTab(finance)
    qtbot.addWidget(tab)
    settle()
    tab.inner.setCurrentWidget(tab.cases)
    seen: list[list[str]] = []

    def pay(dialog) -> bool:
        seen.append(list(dialog.step_buttons))
        assert dialog.step_buttons["退款失败"].isEnabled()
        dialog.step_buttons["已退款"].click()
        return True

    monkeypatch.setattr(refund_tab, "run_dialog", pay)
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("NB0001", True)))
    tab.cases.table.selectRow(0)
    assert tab.cases.table.text(0, 9) == "李经办"  # the clerk's display name, as in the detail
    tab.cases.open_case()
    settle()
    assert seen == [["已退款", "退款失败"]]  # only finance's own steps, none greyed out
    paid = RefundCase.get_by_id(case.id)
    assert paid.state == "已退款" and paid.bank_ref == "NB0001"


def test_entry_is_read_only_and_fund_page_hidden_without_permission(qtbot, sqlite_db, admin, tmp_path):
    r, clerk, reviewer, _finance, _case = _approved_case(admin, tmp_path)
    county = RefundTab(reviewer)
    qtbot.addWidget(county)
    settle()
    entry = county.entry
    for widget in (entry.account_no, entry.reason, entry.use_button, entry.create_button, entry.accepted_on):
        assert not widget.isEnabled() and "须由乡镇经办办理" in widget.toolTip()
    entry.id_edit.setText(r.id_number)
    entry.find()  # looking up the payments is still allowed
    settle()
    assert entry.pay_table.rowCount() == 1 and not entry.pay_table.cellWidget(0, 0).isEnabled()
    assert not entry.create_button.isEnabled()
    assert county.inner.indexOf(county.fund) == 2  # 县局审核 may build the fund request

    town = RefundTab(clerk)
    qtbot.addWidget(town)
    settle()
    assert town.inner.indexOf(town.fund) == -1 and town.inner.count() == 2  # nothing a clerk can do there
    assert town.entry.account_no.isEnabled() and town.entry.use_button.isEnabled()


def test_entry_amounts_and_month_filter(qtbot, sqlite_db, admin, tmp_path, message_boxes):
    from PySide6.QtCore import Qt

    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), admin)
    r = Resident.get()
    Contribution.create(resident=r.id, year=2020, amount_fen=100000, tier_fen=100000, voucher="V1")
    clerk = auth.actor_of(auth.create_user(admin, "li", "password123", auth.CLERK, township_id("费城街道")))
    tab = RefundTab(clerk)
    qtbot.addWidget(tab)
    settle()
    month = tab.cases.month
    assert month.minimumWidth() >= month.fontMetrics().horizontalAdvance(month.placeholderText())
    entry = tab.entry
    entry.id_edit.setText(r.id_number)
    entry.find()
    settle()
    right = Qt.AlignmentFlag.AlignRight
    for col in (3, 7):  # 实缴 and 退费金额: 1,000.00, right-aligned
        item = entry.pay_table.item(0, col)
        assert item.text() == "1,000.00" and Qt.AlignmentFlag(item.textAlignment()) & right
    entry.pay_table.cellWidget(0, 0).setChecked(True)
    entry.account_no.setText("6228")
    entry.bank.setText("农行")
    entry.create()  # the separator is read back
    settle()
    assert RefundCase.get().amount_fen == 100000, message_boxes


def test_fund_request_for_a_month_without_cases(
    qtbot, sqlite_db, admin, tmp_path, monkeypatch, message_boxes
):
    _r, _clerk, _reviewer, finance, case = _approved_case(admin, tmp_path)
    tab = RefundTab(finance)
    qtbot.addWidget(tab)
    settle()
    fund = tab.fund
    assert fund.month.text() == case.fund_month and fund.table.rowCount() == 1  # opens on the waiting month
    fund.month.setText("2001-01")
    fund.refresh()
    settle()
    assert fund.table.rowCount() == 0 and "2001-01 没有复核通过的退费案件" in fund.summary.text()
    assert f"{case.fund_month}（1 件）" in fund.summary.text()
    out = tmp_path / "fund.pdf"
    monkeypatch.setattr(file_dialogs, "_exec", lambda dialog: str(out))
    fund.write(".pdf")
    settle()
    assert not out.exists() and "没有复核通过的退费案件" in message_boxes[-1][1]  # no form reading 零元整
