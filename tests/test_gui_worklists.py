"""统计 → 征缴进度 (pytest-qt, offscreen): the village table, a village's names, export and the printed list."""

from __future__ import annotations

import subprocess

import pytest
from openpyxl import load_workbook
from shiboken6 import isValid

from gui import file_dialogs
from gui.operations import wait_all
from gui.stats_tab import StatsTab
from gui.worklist_panel import VillageDialog, WorklistPanel
from tests.conftest import clerk_of
from tests.test_worklists import build_county

pytestmark = pytest.mark.usefixtures("message_boxes")


def test_village_table_names_export_and_print(qtbot, sqlite_db, admin, tmp_path, monkeypatch, previews,
                                              message_boxes):  # fmt: skip
    build_county(admin, tmp_path)
    tab = StatsTab(admin)
    qtbot.addWidget(tab)
    panel = tab.worklists
    assert tab.pages.tabText(1) == "征缴进度" and panel.worklist is None  # nothing read until it is looked at
    panel.town.setCurrentIndex(0)  # the county
    panel.year.setValue(2020)
    panel.refresh()
    table = panel.table
    rows = [[table.text(r, c) for c in range(5)] for r in range(table.rowCount())]
    assert rows == [["费城街道", "东村", "5", "7", "71.4"], ["费城街道", "西村", "1", "1", "100.0"],
                    ["上冶镇", "南村", "1", "1", "100.0"], ["合计", "", "7", "9", "77.8"]]  # fmt: skip
    assert "未续缴" in panel.summary.text() and "代缴未到账" in panel.explain.text()
    table.doubleClicked.emit(table.model().index(0, 0))
    dialog = panel.dialogs[-1]
    assert isinstance(dialog, VillageDialog) and "费城街道东村" in dialog.windowTitle()
    assert dialog.table.rowCount() == 5 and dialog.table.text(0, 3) == "居民1"
    assert dialog.pending_table is not None and dialog.pending_table.rowCount() == 1
    assert dialog.pending_table.text(0, 3) == "居民11"
    xlsx = tmp_path / "东村.xlsx"
    monkeypatch.setattr(file_dialogs, "_exec", lambda d: str(xlsx))
    dialog.export_excel()
    assert load_workbook(xlsx)["名单"].max_row == 2 + 5 and "已导出 6 人" in message_boxes[-1][1]
    dialog.close()
    qtbot.waitUntil(lambda: not isValid(dialog))
    panel.open_village(1)  # another village after the first window closed (and deleted itself)
    assert len(panel.dialogs) == 1 and "西村" in panel.dialogs[0].windowTitle()
    tab.shutdown()
    assert panel.dialogs == []
    table.selectRow(0)
    panel.print_selected()
    wait_all()  # printing runs as an operation
    title, pdf, printed, pages = previews[-1]
    assert "费城街道东村" in title and pages == 2 and printed.stat().st_size > 1000
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "费城街道东村2020年度城乡居民养老保险未续缴人员名单" in text and "联系情况/签字" in text
    county = tmp_path / "county.xlsx"
    monkeypatch.setattr(file_dialogs, "_exec", lambda d: str(county))
    panel.export_excel()
    assert load_workbook(county).sheetnames == ["村居汇总", "名单", "代缴未到账"]
    panel.kind.setCurrentIndex(1)  # 补缴动员: refreshed on change
    assert [table.text(1, c) for c in range(4)] == ["费城街道", "西村", "4", "6"]
    assert "15年" in panel.explain.text()


def test_clerk_sees_own_township(qtbot, sqlite_db, admin, tmp_path):
    build_county(admin, tmp_path)
    panel = WorklistPanel(clerk_of("上冶镇"))
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel.worklist is not None)  # filled on first show
    assert not panel.town.isEnabled()
    assert [panel.table.text(r, 0) for r in range(panel.table.rowCount())] == ["上冶镇", "合计"]
