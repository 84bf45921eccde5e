"""GUI tests (pytest-qt, offscreen): login, the import wizard end to end, cancel, the browser, scoping, masking."""

from __future__ import annotations

import datetime as dt
import sys
import time
from decimal import Decimal

import PySide6
import pytest
from openpyxl import load_workbook
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel

from core import auth, idcard, regions, roster, roster_import
from core.auth import FINANCE, Actor
from dao import bulk
from dao.models import Resident, Township, Village
from gui import file_dialogs, operations
from gui.login import FirstAdminDialog, LoginDialog
from gui.main_window import MainWindow
from gui.operations import wait_all as settle
from gui.roster_browser import ALL
from gui.roster_tab import RosterTab
from gui.tables import ListTable
from tests.conftest import clerk_of, on_gui_thread, record_threads, township_id
from tests.fixtures import HEADER, person, write_xlsx

pytestmark = pytest.mark.usefixtures("message_boxes")


def wait_idle(qtbot, _widget=None, timeout=20000):
    """Every running operation done and its result on screen."""
    operations.wait_all(timeout / 1000)


def add_residents(count: int, township: str = "费城街道", start: int = 0) -> None:
    town = township_id(township)
    rows = [
        (idcard.make("371325", dt.date(1950, 1, 1) + dt.timedelta(days=(start + n) // 900), (start + n) % 900),
         f"居民{start + n:06d}", "男", dt.date(1950, 1, 1), town, None, "", "", "正常参保", None, 1,
         dt.datetime(2020, 1, 1), dt.datetime(2020, 1, 1))
        for n in range(count)
    ]  # fmt: skip
    cols = ("id_number", "name", "sex", "birth_date", "township_id", "village_id", "phone", "household_type",
            "status", "enrolled_on", "version", "created_at", "updated_at")  # fmt: skip
    bulk.insert_rows(Resident, cols, rows)


def test_qt_calls_keep_none_alive(qtbot):
    """PySide6 6.12.0 took a reference to None away on every call returning nothing: on Python 3.11 the
    application died ("deallocating None") after some 5,000 calls. setup.cfg keeps that release out."""
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(2000):
        label.setText("缴费")
    assert abs(sys.getrefcount(None) - before) < 100, f"{PySide6.__version__} loses references to None"


def test_list_table_shows_rows_without_items(qtbot):
    table = ListTable()
    qtbot.addWidget(table)
    rows = [[f"居民{n}", n, Decimal("1234567.50"), None] for n in range(30_000)]
    table.set_rows(["姓名", "序号", "金额", "备注"], rows)
    model = table.model()
    assert table.rowCount() == 30_000 and table.text(29_999, 0) == "居民29999" and table.text(0, 3) == ""
    assert model.headerData(2, Qt.Orientation.Horizontal) == "金额" and table.text(0, 2) == "1,234,567.50"
    right = model.data(model.index(0, 2), Qt.ItemDataRole.TextAlignmentRole)
    assert (
        right & int(Qt.AlignmentFlag.AlignRight)
        and model.data(model.index(0, 0), Qt.ItemDataRole.TextAlignmentRole) is None
    )
    table.clear_rows()
    assert table.rowCount() == 0 and model.columnCount() == 4


def test_login_rejects_wrong_password_and_accepts_right(qtbot, sqlite_db, admin):
    auth.create_user(admin, "li", "password123", auth.REVIEWER)
    dialog = LoginDialog("test.db")
    qtbot.addWidget(dialog)
    dialog.username.setText("li")
    dialog.password.setText("wrong-one")
    login_button = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(login_button, Qt.MouseButton.LeftButton)
    assert dialog.result() != QDialog.DialogCode.Accepted and dialog.actor is None
    assert "用户名或密码不正确" in dialog.message.text()
    dialog.password.setText("password123")
    qtbot.mouseClick(login_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.actor is not None and dialog.actor.role == auth.REVIEWER


def test_first_admin_dialog(qtbot, sqlite_db):
    dialog = FirstAdminDialog()
    qtbot.addWidget(dialog)
    dialog.password.setText("password123")
    dialog.again.setText("password124")
    dialog.create()
    assert "不一致" in dialog.message.text()
    dialog.again.setText("password123")
    dialog.create()
    assert dialog.actor is not None and dialog.actor.role == auth.ADMIN


def test_main_window_status_bar_and_tabs(qtbot, sqlite_db, admin):
    window = MainWindow(clerk_of("上冶镇"), sqlite_db)
    settle()
    qtbot.addWidget(window)
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == [
        "参保登记导入",
        "特殊群体标识",
        "补缴核定",
        "退费审核",
        "统计",
    ]  # no 税务传递 nor 系统管理 for a township clerk
    assert sqlite_db.label in window.db_label.text()
    assert "乡镇经办" in window.user_label.text() and "上冶镇" in window.user_label.text()
    window.close()


def test_import_wizard_end_to_end(qtbot, sqlite_db, admin, tmp_path, monkeypatch, message_boxes):
    bad = person(5)
    bad[1] = bad[1][:17] + ("0" if bad[1][17] != "0" else "1")
    source = write_xlsx(tmp_path / "村报花名册.xlsx", [HEADER, person(1), person(3), bad],
                        title_rows=[["某村花名册"]])  # fmt: skip
    monkeypatch.setattr(file_dialogs, "_exec", lambda dialog: str(source))
    tab = RosterTab(admin)
    settle()
    qtbot.addWidget(tab)
    panel = tab.import_panel
    panel.choose_file()
    wait_idle(qtbot)
    assert panel.preview is not None and panel.preview.layout.header_row == 2
    assert panel.mapping_combos["id_number"].currentIndex() == 2  # B列
    assert panel.import_button.isEnabled()

    panel.run(dry_run=True)
    wait_idle(qtbot)
    assert panel.report.dry_run and panel.report.imported == 2 and panel.report.rejected == 1
    assert "预览结果" in panel.summary.text()
    assert (
        panel.issues.rowCount() == 1
        and panel.issues.item(0, 2).text() == "身份证号码校验位错误"  # Chinese; the code in the tooltip
        and "ID_CHECKSUM" in panel.issues.item(0, 2).toolTip()
    )
    assert Resident.select().count() == 0

    panel.run(dry_run=False)
    wait_idle(qtbot)
    assert Resident.select().count() == 2 and "导入完成" in panel.summary.text()
    assert tab.history.rowCount() == 1 and tab.history.text(0, 3) == "村报花名册.xlsx"
    assert tab.browser.model.total == 2

    out = tmp_path / "errors.xlsx"
    monkeypatch.setattr(file_dialogs, "_exec", lambda dialog: str(out))
    panel.save_error_report()
    ws = load_workbook(out).worksheets[0]
    assert ws.cell(row=2, column=2).value == bad[1]
    assert message_boxes[-1][0] == "已保存"


def test_wizard_lets_the_user_map_a_missing_column(qtbot, sqlite_db, admin, tmp_path):
    source = write_xlsx(tmp_path / "odd.xlsx", [["姓名", "号码", "乡镇"], ["张三", person(1)[1], "费城街道"]])
    tab = RosterTab(admin)
    settle()
    qtbot.addWidget(tab)
    panel = tab.import_panel
    panel.open_file(source)
    wait_idle(qtbot)
    assert "没有识别出必需的列" in panel.summary.text() and not panel.import_button.isEnabled()
    panel.mapping_combos["id_number"].setCurrentIndex(2)  # B列：号码
    assert panel.import_button.isEnabled()
    panel.run(dry_run=False)
    wait_idle(qtbot)
    assert Resident.get().name == "张三"


def test_unusable_file_shows_a_message(qtbot, sqlite_db, admin, tmp_path, message_boxes):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"not a workbook")
    tab = RosterTab(admin)
    settle()
    qtbot.addWidget(tab)
    tab.import_panel.open_file(path)
    wait_idle(qtbot)
    assert message_boxes and "不是 Excel" in message_boxes[-1][1]
    assert not tab.import_panel.import_button.isEnabled()


def test_cancel_during_import_leaves_no_rows(qtbot, sqlite_db, admin, tmp_path, monkeypatch):
    monkeypatch.setattr(roster_import, "TICK", 1)
    monkeypatch.setattr(roster_import, "CHUNK", 3)
    real_insert = roster_import.bulk.insert_rows

    def slow_insert(*args, **kwargs):  # long enough to cancel half-way, after chunks were written
        time.sleep(0.03)
        real_insert(*args, **kwargs)

    monkeypatch.setattr(roster_import.bulk, "insert_rows", slow_insert)
    source = write_xlsx(tmp_path / "many.xlsx", [HEADER, *[person(n) for n in range(1, 200, 2)]])
    tab = RosterTab(admin)
    settle()
    qtbot.addWidget(tab)
    panel = tab.import_panel
    panel.open_file(source)
    wait_idle(qtbot)
    seen = []

    def cancel_after_some_chunks(done, total, stage):
        seen.append(done)
        if done >= 20:
            panel.cancel_button.click()

    panel.run(dry_run=False)
    assert panel.cancel_button.isEnabled()
    panel.op.progressed.connect(cancel_after_some_chunks)
    wait_idle(qtbot)
    assert seen and max(seen) >= 20
    assert Resident.select().count() == 0
    assert "已取消" in panel.summary.text()
    assert tab.history.rowCount() == 0


def test_browser_pages_filters_and_sorts(qtbot, sqlite_db, admin):
    add_residents(450, "费城街道")
    add_residents(30, "上冶镇", start=1000)
    tab = RosterTab(admin)
    settle()
    qtbot.addWidget(tab)
    browser = tab.browser
    model = browser.model
    assert model.total == 480 and model.rowCount() == 200 and model.canFetchMore()
    model.fetchMore()
    assert not model.canFetchMore()  # one page read at a time
    settle()
    assert model.rowCount() == 400
    browser.table.scrollToBottom()
    qtbot.wait(50)
    settle()
    assert model.rowCount() <= 480

    browser.township.setCurrentIndex(browser.township.findData(township_id("上冶镇")))
    browser.search()
    settle()
    assert model.total == 30 and {model.rows[i][5] for i in range(model.rowCount())} == {"上冶镇"}

    target = Resident.select().where(Resident.township == township_id("上冶镇")).order_by(Resident.id).first()
    browser.id_search.setText(target.id_number)
    browser.search()
    settle()
    assert model.total == 1 and model.rows[0][1] == target.id_number
    browser.id_search.setText(target.id_number[-6:])
    browser.search()
    settle()
    assert model.total >= 1 and all(r[1].endswith(target.id_number[-6:]) for r in model.rows)

    browser.id_search.clear()
    browser.township.setCurrentIndex(0)
    browser.name_search.setText("居民00000")
    browser.search()
    settle()
    assert model.total == 10
    model.sort(1, Qt.SortOrder.DescendingOrder)
    settle()
    assert [r[2] for r in model.rows] == sorted((r[2] for r in model.rows), reverse=True)
    assert model.rows[0][2] == "居民000009"


def test_browser_reads_off_the_gui_thread_and_drops_replaced_queries(qtbot, sqlite_db, admin, monkeypatch):
    add_residents(450, "费城街道")
    add_residents(30, "上冶镇", start=1000)
    for name in ("后村", "前村"):
        Village.create(township=township_id("上冶镇"), name=name)
    threads = record_threads(monkeypatch, (roster, "count"), (roster, "page"), (regions, "villages"))
    tab = RosterTab(admin)
    qtbot.addWidget(tab)
    browser, model = tab.browser, tab.browser.model
    assert browser.count_label.text() == "正在读取……" and model.rowCount() == 0 and not model.canFetchMore()
    settle()
    assert (model.total, model.rowCount()) == (480, 200) and "共 480 人" in browser.count_label.text()

    tab.inner.setCurrentWidget(browser)  # scrolling to the end reads the next pages, each in an operation
    tab.resize(900, 600)
    tab.show()
    for _ in range(5):
        browser.table.scrollToBottom()
        qtbot.wait(20)
        settle()
    assert model.rowCount() == 480 and not model.canFetchMore()
    assert len(threads["page"]) == 3 and set(threads) == {"count", "page"} and not on_gui_thread(threads)

    slow_town = township_id("上冶镇")
    real_count = roster.count

    def slow_count(actor, flt):  # type: ignore[no-untyped-def]
        if flt.township_id == slow_town:
            time.sleep(0.3)
        return real_count(actor, flt)

    monkeypatch.setattr(roster, "count", slow_count)
    browser.township.setCurrentIndex(browser.township.findData(slow_town))  # runs the query at once
    browser.township.setCurrentIndex(browser.township.findData(township_id("费城街道")))
    settle()  # the slower, older query's rows never show
    assert model.total == 450 and model.filter.township_id == township_id("费城街道")
    assert {model.rows[i][5] for i in range(model.rowCount())} == {"费城街道"}
    assert browser.count_label.text().startswith("费城街道：共 450 人")

    model.fetchMore()  # a page still being read when the query changes is not added to the new list
    browser.township.setCurrentIndex(browser.township.findData(slow_town))
    settle()
    assert model.total == model.rowCount() == 30 and {r[5] for r in model.rows} == {"上冶镇"}

    village = browser.village  # the township's villages come from a worker too; a refresh keeps the choice
    assert village.isEnabled() and [village.itemText(n) for n in range(village.count())] == [
        ALL,
        "前村",
        "后村",
    ]
    village.setCurrentIndex(2)
    chosen = village.currentData()
    assert chosen is not None
    settle()
    browser.refresh()
    settle()
    assert village.currentData() == chosen and model.filter.village_id == chosen
    assert "villages" in threads and not on_gui_thread(threads)


def test_township_clerk_sees_only_their_township(qtbot, sqlite_db):
    add_residents(20, "费城街道")
    add_residents(5, "上冶镇", start=1000)
    tab = RosterTab(clerk_of("上冶镇"))
    settle()
    qtbot.addWidget(tab)
    browser = tab.browser
    assert browser.model.total == 5
    assert not browser.township.isEnabled() and browser.township.count() == 1
    with pytest.raises(Exception, match="本乡镇"):
        roster.page(clerk_of("上冶镇"), roster.ResidentFilter(township_id=township_id("费城街道")))


def test_id_masking_per_role(qtbot, sqlite_db, admin):
    add_residents(3)
    finance = Actor("cai", FINANCE)
    tab = RosterTab(finance)
    settle()
    qtbot.addWidget(tab)
    shown = tab.browser.model.rows[0][1]
    assert "********" in shown and len(shown) == 18
    roster.set_masked_roles(admin, set())
    tab.browser.search()
    settle()
    assert "*" not in tab.browser.model.rows[0][1]
    roster.set_masked_roles(admin, {auth.CLERK})
    clerk_tab = RosterTab(clerk_of("费城街道"))
    settle()
    qtbot.addWidget(clerk_tab)
    assert "********" in clerk_tab.browser.model.rows[0][1]


def test_resident_dialog_edits_are_audited(qtbot, sqlite_db, admin, message_boxes):
    from dao.models import AuditLog, Village
    from gui.resident_dialog import ResidentDialog

    add_residents(1)
    resident = Resident.get()
    village = Village.create(township=resident.township_id, name="新建村")
    dialog = ResidentDialog(admin, resident.id)
    qtbot.addWidget(dialog)
    assert not dialog.status.isEnabled()  # 暂停/终止/恢复 are actions with a reason (test_gui_residents.py)
    dialog.phone.setText("1234abc")
    dialog.save()
    assert not dialog.saved  # refused: not a phone number
    dialog.phone.setText("13912345678")
    dialog.village.setCurrentIndex(dialog.village.findData(village.id))
    dialog.save()
    assert dialog.saved
    changed = Resident.get_by_id(resident.id)
    assert (changed.phone, changed.village_id, changed.status, changed.version) == (
        "13912345678",
        village.id,
        "正常参保",
        2,
    )
    entry = AuditLog.get((AuditLog.entity == "resident") & (AuditLog.action == "update"))
    assert "13912345678" in entry.after and entry.username == admin.username
    stale = ResidentDialog(admin, resident.id)
    qtbot.addWidget(stale)
    Resident.update(version=Resident.version + 1).where(Resident.id == resident.id).execute()
    stale.phone.setText("13000000000")
    stale.save()
    assert not stale.saved  # someone else changed it meanwhile


def test_browser_export_uses_the_current_filter(qtbot, sqlite_db, admin, tmp_path, monkeypatch):
    add_residents(12, "费城街道")
    add_residents(4, "上冶镇", start=1000)
    tab = RosterTab(admin)
    settle()
    qtbot.addWidget(tab)
    browser = tab.browser
    browser.township.setCurrentIndex(browser.township.findData(township_id("上冶镇")))
    browser.search()
    settle()
    out = tmp_path / "export.csv"
    monkeypatch.setattr(file_dialogs, "_exec", lambda dialog: str(out))
    browser.export()
    wait_idle(qtbot)
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 5 and all("上冶镇" in line for line in lines[1:])
    assert Township.select().count() == 12


def test_tabs_follow_the_role(qtbot, sqlite_db, admin):
    county = MainWindow(admin, sqlite_db)
    settle()
    qtbot.addWidget(county)
    assert (
        county.tabs.count() == 7
        and county.tabs.tabText(4) == "税务传递"
        and county.tabs.tabText(6) == "系统管理"
    )
    finance = MainWindow(Actor("cai", FINANCE), sqlite_db)
    settle()
    qtbot.addWidget(finance)
    assert "税务传递" in [finance.tabs.tabText(i) for i in range(finance.tabs.count())]
    county.close()
    finance.close()
