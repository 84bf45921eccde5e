"""The 特殊群体标识 tab (pytest-qt, offscreen): import a list, resolve pending people, export the 代缴 list."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QInputDialog

from dao.models import GovernmentPayment, Resident
from gui import file_dialogs
from gui.operations import wait_all as settle
from gui.special_tab import SpecialTab
from tests.conftest import clerk_of
from tests.fixtures import HEADER, person, write_xlsx
from tests.test_roster_import import do_import

pytestmark = pytest.mark.usefixtures("message_boxes")


def test_import_resolve_and_export(qtbot, sqlite_db, admin, tmp_path, monkeypatch, previews):
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1), person(3, township="上冶镇")]), admin)
    newcomer = person(5)
    rows = [["姓名", "身份证号码", "类别", "乡镇"], [person(1)[0], person(1)[1], "低保", "费城街道"],
            ["改了名", person(3)[1], "特困", "上冶镇"], [newcomer[0], newcomer[1], "低保", ""]]  # fmt: skip
    source = write_xlsx(tmp_path / "民政名单.xlsx", rows)
    tab = SpecialTab(admin)
    settle()
    qtbot.addWidget(tab)
    tab.year.setValue(2020)
    panel = tab.import_panel
    panel.department.setCurrentText("民政")
    assert panel.group.currentData() is None  # two groups: by the file's column
    panel.open_file(source)
    qtbot.waitUntil(lambda: not panel.running and panel.preview is not None, timeout=10000)
    panel.run(dry_run=False)
    settle()
    qtbot.waitUntil(lambda: not panel.running and panel.report is not None, timeout=10000)
    assert "低保对象：新增 2 人" in panel.summary.text()
    assert tab.pending_table.rowCount() == 2 and "（2）" in tab.inner.tabText(1)
    assert tab.subsidy_table.rowCount() == 1

    statuses = [tab.pending_table.text(r, 0) for r in range(2)]
    tab.pending_table.selectRow(statuses.index("姓名待核"))
    tab.review_selected(True)
    settle()
    tab.pending_table.selectRow(0)  # the one left: not in the roster, no township given
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(lambda *a, **k: ("胡阳镇", True)))
    tab.enrol_selected()
    settle()
    assert Resident.get(Resident.id_number == newcomer[1]).township.name == "胡阳镇"
    assert tab.pending_table.rowCount() == 0 and GovernmentPayment.select().count() == 3
    assert tab.subsidy_table.rowCount() == 3 and "300.00" in tab.subsidy_total.text()
    assert tab.stats_table.text(tab.stats_table.rowCount() - 1, 0) == "合计"

    tab.export_subsidies(".pdf")
    settle()
    title, pdf, printed, pages = previews[-1]
    assert "政府代缴名单" in title and pages >= 1 and pdf.stat().st_size > 1000 and printed.exists()
    out = tmp_path / "代缴.xlsx"
    monkeypatch.setattr(file_dialogs, "_exec", lambda dialog: str(tmp_path / "代缴"))  # the suffix is added
    tab.export_subsidies(".xlsx")
    settle()
    assert out.exists() and out.stat().st_size > 1000


def test_clerk_cannot_import_lists_but_sees_own_township(qtbot, sqlite_db, admin, tmp_path):
    tab = SpecialTab(clerk_of("上冶镇"))
    settle()
    qtbot.addWidget(tab)
    assert not tab.import_panel.isEnabled()
    assert tab.subsidy_town.count() == 1 and tab.subsidy_town.currentText() == "上冶镇"
