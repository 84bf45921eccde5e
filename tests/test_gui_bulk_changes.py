"""Issue 14 in the GUI: removals and identity changes shown before 开始导入, the confirmation dialog, undo in
名单记录, an import opened from 导入记录 and exported."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QMessageBox

from core import special_groups as sg
from dao.models import Resident, SpecialList
from gui import file_dialogs
from gui.import_changes import ImportChangesDialog
from gui.operations import wait_all as settle
from gui.roster_tab import RosterTab
from gui.special_tab import SpecialTab
from tests.fixtures import HEADER, person, write_xlsx
from tests.test_roster_import import do_import

pytestmark = pytest.mark.usefixtures("message_boxes")


def wait_idle(qtbot, panel):
    qtbot.waitUntil(lambda: not panel.running, timeout=15000)


def flagged() -> set[str]:
    ids = list(sg.flagged_groups(2020))
    return {r.id_number for r in Resident.select().where(Resident.id.in_(ids))} if ids else set()


def test_removals_previewed_confirmed_and_undone(qtbot, sqlite_db, admin, tmp_path, monkeypatch):
    people = [person(n, township="上冶镇" if n > 10 else "费城街道") for n in (1, 3, 5, 11, 13)]
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, *people]), admin)
    first = write_xlsx(tmp_path / "a.xlsx", [["姓名", "身份证号码"], *[p[:2] for p in people]])
    second = write_xlsx(
        tmp_path / "b.xlsx", [["姓名", "身份证号码", "乡镇"], [people[3][0], people[3][1], "上冶镇"]]
    )
    tab = SpecialTab(admin)
    settle()
    qtbot.addWidget(tab)
    tab.year.setValue(2020)
    panel = tab.import_panel
    panel.department.setCurrentText("民政")
    panel.group.setCurrentIndex(panel.group.findText("低保对象"))
    panel.open_file(first)
    wait_idle(qtbot, panel)
    panel.run(dry_run=False)
    settle()
    wait_idle(qtbot, panel)
    assert len(flagged()) == 5

    panel.open_file(second)
    wait_idle(qtbot, panel)
    panel.run(dry_run=True)
    settle()
    wait_idle(qtbot, panel)
    assert not panel.changes_box.isHidden() and panel.changes_table.rowCount() == 1
    assert (
        panel.changes_table.item(0, 2).text() == people[4][1]
        and panel.changes_table.item(0, 4).text() == "将移出"
    )
    assert "上冶镇" in panel.changes_box.title() and "需要确认" in panel.changes_box.title()

    asked: list[str] = []

    def answer(reply):
        def question(parent, title, text, *a, **k):
            asked.append(text)
            return reply

        return staticmethod(question)

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    panel.run(dry_run=False)
    settle()
    wait_idle(qtbot, panel)
    qtbot.waitUntil(lambda: bool(asked), timeout=5000)
    assert "移出 1 人" in asked[0] and len(flagged()) == 5 and SpecialList.select().count() == 1
    assert "未确认" in panel.summary.text()

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    panel.run(dry_run=False)
    settle()
    wait_idle(qtbot, panel)
    qtbot.waitUntil(lambda: SpecialList.select().count() == 2, timeout=10000)
    wait_idle(qtbot, panel)
    assert flagged() == {p[1] for p in people[:4]}  # 费城街道 untouched, one of 上冶镇 removed
    assert panel.changes_table.item(0, 4).text() == "已移出"

    # 名单记录: the newest list opened, then undone.
    tab.refresh()
    settle()  # the refreshed list is on screen before a row is chosen (opening the list waits in a local loop)
    assert tab.lists_table.text(0, 5) == "上冶镇" and tab.lists_table.text(0, 10) == "当前"
    tab.lists_table.selectRow(0)
    monkeypatch.setattr(ImportChangesDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    tab.open_list_changes()
    tab.undo_selected_list()
    settle()
    assert len(flagged()) == 5 and tab.lists_table.text(0, 10).startswith("已撤销")


def test_identity_changes_ticked_per_row(qtbot, sqlite_db, admin, tmp_path, monkeypatch):
    a, b = person(1), person(3)
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, a, b]), admin)
    a2, b2 = list(a), person(3, township="上冶镇", village="")
    a2[0] = "新名字"
    path = write_xlsx(tmp_path / "again.xlsx", [HEADER, a2, b2])
    tab = RosterTab(admin)
    settle()
    qtbot.addWidget(tab)
    panel = tab.import_panel
    panel.open_file(path)
    wait_idle(qtbot, panel)
    panel.run(dry_run=True)
    settle()
    wait_idle(qtbot, panel)
    table = panel.changes_table
    assert not panel.changes_box.isHidden() and table.rowCount() == 2
    assert table.item(0, 3).text() == "姓名：居民1 → 新名字"
    assert table.item(1, 3).text() == "乡镇：费城街道 → 上冶镇；村居：东王庄村 → 空"
    assert all(table.item(r, 0).checkState() == Qt.CheckState.Unchecked for r in range(2))  # none ticked
    table.item(0, 0).setCheckState(Qt.CheckState.Checked)
    panel.run(dry_run=False)
    settle()
    wait_idle(qtbot, panel)
    assert Resident.get(Resident.id_number == a[1]).name == "新名字"
    assert Resident.get(Resident.id_number == b[1]).township.name == "费城街道"  # not ticked: kept
    assert table.rowCount() == 2 and table.item(1, 4).text() == "已更新"

    # 导入记录: the import opened shows its change and exports it.
    assert tab.history.text(0, 10) == "1"
    tab.history.selectRow(0)
    dialog = ImportChangesDialog(admin, tab.logs[0].import_id, tab)
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == 1 and dialog.table.text(0, 4) == "新名字"
    out = tmp_path / "变更.xlsx"
    monkeypatch.setattr(file_dialogs, "_exec", lambda dialog: str(out))
    dialog.export()
    settle()  # written in an operation, off the GUI thread
    assert [c.value for c in load_workbook(out).active[3]] == [2, a[1], "姓名", "居民1", "新名字"]
    panel.open_file(path)  # a new file: the last file's table and its ticks are gone
    wait_idle(qtbot, panel)
    assert panel.changes_box.isHidden() and panel.accepted_changes() == set()


def test_an_import_opened_is_read_off_the_gui_thread(qtbot, sqlite_db, admin, tmp_path, monkeypatch):
    from core import imports
    from tests.conftest import on_gui_thread, record_threads

    first = person(1)
    do_import(write_xlsx(tmp_path / "a.xlsx", [HEADER, first]), admin)
    do_import(write_xlsx(tmp_path / "b.xlsx", [HEADER, [*first[:6], "13900000001"]]), admin)
    tab = RosterTab(admin)
    qtbot.addWidget(tab)
    settle()
    threads = record_threads(monkeypatch, (imports, "get"), (imports, "changes"))
    dialog = ImportChangesDialog(admin, tab.logs[0].import_id, tab)
    qtbot.addWidget(dialog)
    assert set(threads) == {"get", "changes"} and not on_gui_thread(threads)
    assert dialog.windowTitle().endswith("b.xlsx") and "变更 1 项" in dialog.findChild(QLabel).text()
    assert dialog.table.rowCount() == 1 and dialog.table.text(0, 4) == "13900000001"

    gone = ImportChangesDialog(admin, 9999, tab)  # said in the dialog: the tabs that open it need not know
    qtbot.addWidget(gone)
    assert "没有这条导入记录：9999" in gone.findChild(QLabel).text() and gone.table.rowCount() == 0
