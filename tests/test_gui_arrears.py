"""The 补缴核定 tab (pytest-qt, offscreen): declare, assess, print, and the ledger import that pays."""

from __future__ import annotations

import datetime as dt

import pytest

from dao.models import ARREARS_ASSESSED, ARREARS_PAID, ArrearsAssessment, Resident
from gui.arrears_tab import ArrearsTab
from gui.operations import wait_all as settle
from tests.fixtures import HEADER, person, write_xlsx
from tests.test_ledger_arrears import LEDGER_HEADER, pay
from tests.test_roster_import import do_import

pytestmark = pytest.mark.usefixtures("message_boxes")


def test_declare_assess_print_and_pay(
    qtbot, sqlite_db, admin, tmp_path, monkeypatch, message_boxes, previews
):
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1, born=dt.date(1980, 5, 17))]), admin)
    resident = Resident.get()
    Resident.update(enrolled_on=dt.date(2016, 1, 1)).execute()
    tab = ArrearsTab(admin)
    settle()
    qtbot.addWidget(tab)
    page = tab.declare_page
    page.id_edit.setText(resident.id_number.lower())
    page.find()
    settle()
    years = [page.owed_table.item(n, 1).text() for n in range(page.owed_table.rowCount())]
    assert years == [
        "2014",
        "2015",
        "2016",
        "2017",
        "2018",
        "2019",
        "2020",
    ]  # enrolled 2016: no bound (issue 13)
    assert not page.declare_button.isEnabled()
    for n in (2, 4):
        page.owed_table.cellWidget(n, 0).setChecked(True)
    page.owed_table.cellWidget(4, 2).setCurrentText("1,500.00")
    assert "1,800.00" in page.total.text()
    page.declare()
    settle()
    assert message_boxes[-1][0] == "已申报"
    assert [page.owed_table.item(n, 1).text() for n in range(page.owed_table.rowCount())] == [
        "2014",
        "2015",
        "2017",
        "2019",
        "2020",
        "2016",  # declared: shown as such, not hidden
        "2018",
    ]
    assert "已申报" in page.owed_table.item(5, 3).text() and page.owed_table.cellWidget(5, 0) is None

    assess = tab.assess_page
    assert assess.table.rowCount() == 1
    assess.table.selectRow(0)
    assess.assess()
    settle()
    a = ArrearsAssessment.get()
    assert a.status == ARREARS_ASSESSED and a.total_fen == 180000
    assess.table.selectRow(0)
    assess.print_sheets()
    settle()
    title, _, printed, pages = previews[-1]
    assert "核定单" in title and pages == 1 and printed.stat().st_size > 1000

    ledger_file = write_xlsx(tmp_path / "l.xlsx", [LEDGER_HEADER, pay(resident, 2016, 300, "T1", kind="补缴"),
                                                   pay(resident, 2018, 1500, "T2", kind="补缴")])  # fmt: skip
    panel = tab.ledger_panel
    panel.open_file(ledger_file)
    qtbot.waitUntil(lambda: not panel.running and panel.preview is not None, timeout=10000)
    panel.run(dry_run=False)
    settle()
    qtbot.waitUntil(lambda: not panel.running and panel.report is not None, timeout=10000)
    assert panel.report.imported == 2
    assert ArrearsAssessment.get().status == ARREARS_PAID
    assert tab.assess_page.table.text(0, 2) == ARREARS_PAID
