"""Issue 18: the case detail view, role-aware refund buttons, payments in a live case marked, the roster browser's
list and export being the same query, masking in the refund list and detail."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from core import auth, refunds, roster
from dao.models import Contribution, Resident
from gui import file_dialogs, refund_tab
from gui.operations import wait_all as settle
from gui.refund_tab import RefundTab
from gui.roster_tab import RosterTab
from tests.conftest import township_id
from tests.fixtures import HEADER, person, write_xlsx
from tests.test_roster_import import do_import

pytestmark = pytest.mark.usefixtures("message_boxes")


def select_first(table) -> None:
    """Select row 0 whatever keyboard modifiers an earlier test left behind (selectRow honours a held Ctrl and
    would toggle the row off)."""
    from PySide6.QtCore import QItemSelectionModel

    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    table.selectionModel().select(table.model().index(0, 0), flags)


def _case(admin, tmp_path):
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), admin)
    r = Resident.get()
    c1 = Contribution.create(resident=r.id, year=2020, amount_fen=30000, tier_fen=30000, voucher="3713251234567890",
                             channel="支付宝")  # fmt: skip
    Contribution.create(
        resident=r.id, year=2019, amount_fen=50000, tier_fen=50000, voucher="V2019", channel="农业银行"
    )
    clerk = auth.actor_of(
        auth.create_user(admin, "li", "password123", auth.CLERK, township_id("费城街道"), "李经办")
    )
    case = refunds.create(
        clerk,
        refunds.NewCase(r.id, [c1.id], [30000], "重复缴费", r.name, "6228480000000001", "农行", ["退费申请"]),
    )
    refunds.advance(clerk, case.id, "初审", reason="")
    return r, clerk, case


def test_case_detail_view_and_approve_from_it(qtbot, sqlite_db, admin, tmp_path, monkeypatch, message_boxes):
    r, _clerk, case = _case(admin, tmp_path)
    Contribution.create(resident=r.id, year=2020, amount_fen=100000, tier_fen=100000, voucher="V2020B")
    reviewer = auth.actor_of(auth.create_user(admin, "shen", "password123", auth.REVIEWER, None, "沈审核"))
    tab = RefundTab(reviewer)
    qtbot.addWidget(tab)
    settle()
    assert [row.case_no for row in tab.cases.rows] == [case.case_no]  # lands on the cases waiting for review
    for text in ("初审", "撤销…", "已退款…"):  # not the reviewer's steps: disabled, the tooltip names who may
        button = tab.cases.buttons[text]
        assert not button.isEnabled() and "须由" in button.toolTip()
    assert tab.cases.buttons["复核通过"].isEnabled()

    checked: list[bool] = []

    def approve(dialog):
        check_detail(dialog, r)
        checked.append(True)
        dialog.step_buttons["复核通过"].click()
        return dialog.result() == QDialog.DialogCode.Accepted.value

    monkeypatch.setattr(refund_tab, "run_dialog", approve)
    tab.cases.table.selectRow(0)
    tab.cases.open_case()
    settle()
    assert checked == [True], message_boxes
    assert refunds.get(reviewer, case.id).state == "复核通过" and "复核通过：1 件" in message_boxes[-1][1]


def check_detail(dialog, r) -> None:
    """The dialog as the reviewer sees it (checked while it is open)."""
    f = dialog.detail.form
    assert f.name == r.name and f.amount == "300.00" and f.amount_capital == "叁佰元整"
    assert dialog.payments.text(0, 2) == "3713251234567890" and dialog.payments.text(0, 5) == "支付宝"
    steps = [dialog.events.text(n, 1) for n in range(dialog.events.rowCount())]
    who = [dialog.events.text(n, 2) for n in range(dialog.events.rowCount())]
    assert steps == ["受理", "初审"] and who == ["李经办", "李经办"]  # display names, not logins
    assert "☑ 退费申请" in dialog.documents.text() and "☐ 身份证复印件" in dialog.documents.text()
    assert list(dialog.step_buttons) == [
        "复核通过",
        "退回",
    ]  # the reviewer's own (重新发放 after a failure only)
    assert dialog.payments.text(0, 3) == "300.00" and dialog.payments.text(0, 7) == "本案退费"
    align = dialog.payments.model().index(0, 3).data(Qt.ItemDataRole.TextAlignmentRole)
    assert align & Qt.AlignmentFlag.AlignRight.value  # amounts right-aligned, as in every list
    other = [dialog.payments.text(1, c) for c in (0, 2, 3, 6, 7)]  # the year's other payment, to compare
    assert dialog.payments.rowCount() == 2 and other == ["2020", "V2020B", "1,000.00", "", "不在本案"]


def test_entry_marks_payments_in_a_live_case_and_starts_unticked(qtbot, sqlite_db, admin, tmp_path):
    r, clerk, case = _case(admin, tmp_path)
    tab = RefundTab(clerk)
    qtbot.addWidget(tab)
    entry = tab.entry
    entry.id_edit.setText(r.id_number)
    entry.find()
    settle()
    assert entry.pay_table.rowCount() == 2
    held = next(n for n in range(2) if entry.pay_table.item(n, 2).text() == "3713251234567890")
    free = 1 - held
    assert (
        entry.pay_table.item(held, 6).text() == case.case_no
        and not entry.pay_table.cellWidget(held, 0).isEnabled()
    )
    assert entry.pay_table.cellWidget(free, 0).isEnabled() and not entry.pay_table.item(free, 6).text()
    assert not any(box.isChecked() for box in entry.documents.values())


def test_account_dialog_cancel_changes_nothing(qtbot, sqlite_db, admin, tmp_path, monkeypatch, message_boxes):
    _r, clerk, case = _case(admin, tmp_path)
    reviewer = auth.actor_of(auth.create_user(admin, "shen", "password123", auth.REVIEWER))
    refunds.advance(reviewer, case.id, "退回", reason="账号有误")
    tab = RefundTab(clerk)
    qtbot.addWidget(tab)
    settle()
    monkeypatch.setattr(refund_tab, "run_dialog", lambda dialog: False)
    qtbot.waitUntil(lambda: tab.cases.table.rowCount() == 1)
    select_first(tab.cases.table)
    assert tab.cases.selected(), (tab.cases.table.rowCount(), message_boxes)
    tab.cases.correct_account()
    settle()
    assert refunds.get(clerk, case.id).account_no == "6228480000000001"

    def fill(dialog):
        assert dialog.account_no.text() == "6228480000000001"  # the three fields in one dialog, filled in
        dialog.account_no.setText("6228480000000002")
        return True

    monkeypatch.setattr(refund_tab, "run_dialog", fill)
    qtbot.waitUntil(lambda: tab.cases.table.rowCount() == 1)
    select_first(tab.cases.table)
    assert tab.cases.selected(), (tab.cases.table.rowCount(), message_boxes)
    tab.cases.correct_account()
    settle()
    assert refunds.get(clerk, case.id).account_no == "6228480000000002", message_boxes


def test_masking_follows_the_setting_in_the_refund_list_and_detail(qtbot, sqlite_db, admin, tmp_path):
    r, clerk, case = _case(admin, tmp_path)
    from core import refund_view

    roster.set_masked_roles(admin, {auth.CLERK})
    assert refunds.listing(clerk)[0].id_number != r.id_number and "*" in refunds.listing(clerk)[0].id_number
    assert "*" in refund_view.case_detail(clerk, case.id).form.id_number
    assert refund_view.case_detail(admin, case.id).form.id_number == r.id_number


def test_browser_township_change_reruns_and_export_is_the_list(
    qtbot, sqlite_db, admin, tmp_path, monkeypatch
):
    rows = [HEADER, *[person(n) for n in range(1, 12, 2)]]
    do_import(write_xlsx(tmp_path / "r.xlsx", rows), admin)
    tab = RosterTab(admin)
    qtbot.addWidget(tab)
    settle()
    browser = tab.browser
    everyone = browser.model.total
    assert everyone == Resident.select().count() > 0
    other = township_id("胡阳镇")
    browser.township.setCurrentIndex(browser.township.findData(other))  # no 查询 pressed
    settle()
    assert browser.model.total == 0 and browser.model.filter.township_id == other
    browser.township.setCurrentIndex(0)
    settle()
    assert browser.model.total == everyone
    out = tmp_path / "export.csv"
    monkeypatch.setattr(file_dialogs, "_exec", lambda dialog: str(out))
    browser.export()
    settle()
    assert len(out.read_text(encoding="utf-8-sig").splitlines()) == 1 + everyone


def test_landing_tabs_password_change_and_log_out(qtbot, sqlite_db, admin, monkeypatch, message_boxes):
    from PySide6.QtWidgets import QMessageBox

    from core.database import describe
    from gui.login import ChangePasswordDialog
    from gui.main_window import MainWindow

    finance = auth.actor_of(auth.create_user(admin, "cai", "password123", auth.FINANCE, None, "蔡财务"))
    window = MainWindow(finance, describe(None))
    qtbot.addWidget(window)
    settle()
    assert window.current_tab() is window.refund_tab
    assert window.refund_tab.inner.currentWidget() is window.refund_tab.fund  # 财务 opens on 资金申请
    menu = [a.text() for a in window.file_menu.actions()]
    assert "修改密码…" in menu and "注销/切换用户" in menu

    dialog = ChangePasswordDialog(finance)
    qtbot.addWidget(dialog)
    dialog.old.setText("wrong-password")
    dialog.new.setText("newpassword1")
    dialog.again.setText("newpassword1")
    dialog.change()
    assert "原密码不正确" in dialog.message.text()
    dialog.old.setText("password123")
    dialog.change()
    assert dialog.result() == QDialog.DialogCode.Accepted.value
    assert auth.authenticate("cai", "newpassword1").username == "cai"

    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    window.log_out()
    assert window.switch_user and not window.isVisible()


def test_the_program_logs_in_again_after_log_out(qtbot, tmp_path, monkeypatch, message_boxes):
    """The start-up loop itself (gui.app.run_gui): 注销 closes the window and the login dialog comes back for
    the next user, who gets a window of their own; 退出 at that dialog ends the program."""
    import sys

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from core.database import open_database
    from gui import app as app_module
    from gui.login import LoginDialog
    from gui.main_window import MainWindow

    monkeypatch.setenv("PENSION_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # crash.install replaces it
    url = f"sqlite:///{tmp_path / 'office.db'}"
    open_database(url)
    admin_actor = auth.Actor("setup", auth.ADMIN, None, "")
    auth.create_user(admin_actor, "li", "password123", auth.CLERK, township_id("费城街道"), "李经办")
    auth.create_user(admin_actor, "cai", "password123", auth.FINANCE, None, "蔡财务")
    logins = iter([("li", "password123"), ("cai", "password123")])
    windows: list[MainWindow] = []

    def login(dialog: LoginDialog) -> int:
        who = next(logins, None)
        if who is None:  # the third time: the clerk presses 退出
            return QDialog.DialogCode.Rejected.value
        dialog.username.setText(who[0])
        dialog.password.setText(who[1])
        dialog.try_login()
        return dialog.result()

    def shown(window: MainWindow) -> None:
        original_show(window)
        windows.append(window)
        if len(windows) == 1:
            QTimer.singleShot(0, window.log_out)  # 文件 → 注销/切换用户, answered 是
        else:
            QTimer.singleShot(0, window.close)  # the second user closes the program's window

    original_show = MainWindow.show
    monkeypatch.setattr(LoginDialog, "exec", login)
    monkeypatch.setattr(MainWindow, "show", shown)
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    guard = QTimer(singleShot=True, interval=60_000)  # a hang fails this test instead of stalling the run
    guard.timeout.connect(QApplication.quit)
    guard.start()
    code = app_module.run_gui(url)
    guard.stop()
    assert code == 0
    assert [w.actor.username for w in windows] == ["li", "cai"]
    assert windows[0].switch_user and not windows[1].switch_user
    assert windows[1].current_tab() is windows[1].refund_tab  # the new user's own landing tab


def test_roles_land_on_pages_they_can_use(qtbot, sqlite_db, admin):
    from core.database import describe
    from gui.main_window import MainWindow

    finance = auth.actor_of(auth.create_user(admin, "cai", "password123", auth.FINANCE, None, "蔡财务"))
    window = MainWindow(finance, describe(None))
    qtbot.addWidget(window)
    settle()
    roster_tab = window.roster_tab
    assert roster_tab.inner.currentWidget() is roster_tab.browser  # not the import page they may not use
    assert not roster_tab.import_panel.isEnabled() and "须由" in roster_tab.import_panel.toolTip()
    import_action = next(a for a in window.file_menu.actions() if a.text() == "导入花名册…")
    assert not import_action.isEnabled()

    clerk = auth.actor_of(auth.create_user(admin, "li", "password123", auth.CLERK, township_id("费城街道")))
    from gui.special_tab import SpecialTab

    special_tab = SpecialTab(clerk)
    qtbot.addWidget(special_tab)
    settle()
    assert special_tab.inner.tabText(special_tab.inner.currentIndex()).startswith("待处理人员")


def test_import_preview_keeps_the_rejected_rows_in_view(qtbot, sqlite_db, admin, tmp_path):
    """The changes box is as tall as its rows; the issue list keeps at least five rows; a CSV has no sheet box."""
    from gui.roster_import_panel import RosterImportPanel

    panel = RosterImportPanel(admin)
    qtbot.addWidget(panel)
    panel.resize(1200, 700)
    panel.fill_changes("身份信息变更", ("行号", "内容"), [[2, "姓名 张三 → 张四"]])
    one_row = panel.changes_table.height()
    panel.fill_changes("身份信息变更", ("行号", "内容"), [[n, "x"] for n in range(40)])
    assert (
        one_row
        < panel.changes_table.height()
        < 12 * panel.changes_table.verticalHeader().defaultSectionSize()
    )
    assert panel.issues.minimumHeight() >= 5 * panel.issues.verticalHeader().defaultSectionSize()

    path = tmp_path / "名册.csv"
    path.write_text("姓名,身份证号码\n张三,371325198005170012\n", encoding="utf-8")
    panel.show()
    panel.open_file(path)
    qtbot.waitUntil(lambda: panel.preview is not None, timeout=10000)
    assert not panel.sheet_combo.isVisible() and not panel.sheet_label.isVisible()


def test_an_empty_list_says_so_and_spreads_its_headers(qtbot):
    from gui.tables import ROW_HEIGHT, ListTable

    table = ListTable()
    qtbot.addWidget(table)
    table.resize(600, 200)
    table.set_rows(["案件编号", "姓名", "金额（元）"], [])
    header = table.horizontalHeader()
    assert header.sectionResizeMode(0) == header.ResizeMode.Stretch and table.empty_text == "（无记录）"
    table.show()
    assert sum(header.sectionSize(c) for c in range(3)) >= table.viewport().width() - 2
    table.set_rows(["案件编号", "姓名", "金额（元）"], [["TF1", "张三", 1]])
    assert header.sectionResizeMode(0) == header.ResizeMode.Interactive
    assert table.verticalHeader().defaultSectionSize() == ROW_HEIGHT
    table.set_rows(["年度", "人数"], [[2020, 12345]], grouped=[1])  # counts grouped, years not
    assert (table.text(0, 0), table.text(0, 1)) == ("2020", "12,345")


def test_resident_detail_for_a_role_that_may_not_edit(qtbot, sqlite_db, admin, tmp_path):
    """财务 reads a resident: the dialog fits the screen, the payments show their 税票号码 with amounts
    right-aligned, and what finance may not change is greyed with who may, under a title that does not say 可修改."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QGroupBox

    from gui.resident_dialog import ResidentDialog

    r, clerk, _refund = _case(admin, tmp_path)
    finance = auth.actor_of(auth.create_user(admin, "cai", "password123", auth.FINANCE, None, "蔡财务"))
    dialog = ResidentDialog(finance, r.id)
    qtbot.addWidget(dialog)
    area = QApplication.primaryScreen().availableGeometry()
    assert dialog.width() <= area.width() and dialog.height() <= area.height() - 40
    titles = [box.title() for box in dialog.findChildren(QGroupBox)]
    assert "可修改" not in titles and "联系信息" in titles
    assert not dialog.phone.isEnabled() and "须由" in dialog.phone.toolTip()
    change = dialog.actions.buttons["信息变更…"]
    assert not change.isEnabled() and "须由" in change.toolTip()
    assert dialog.actions.buttons["打印参保登记表…"].isEnabled()
    from gui.tables import ListTable

    payments = next(t for t in dialog.findChildren(ListTable) if "税票号码" in t.list_model.headers)
    column = payments.list_model.headers.index("税票号码")
    assert {payments.text(row, column) for row in range(payments.rowCount())} == {"3713251234567890", "V2019"}
    amount = payments.list_model.index(0, 1)
    assert payments.list_model.data(amount, Qt.ItemDataRole.TextAlignmentRole) & int(
        Qt.AlignmentFlag.AlignRight
    )

    clerk_dialog = ResidentDialog(clerk, r.id)
    qtbot.addWidget(clerk_dialog)
    restore = clerk_dialog.actions.buttons["恢复参保…"]
    assert not restore.isEnabled() and "无需恢复" in restore.toolTip()  # allowed, but not for this state


@pytest.mark.parametrize("size", [(1366, 768), (1093, 614)])  # 1366×768 at 100 % and at 125 % (logical size)
def test_refund_pages_and_case_detail_fit_the_screen(qtbot, sqlite_db, admin, tmp_path, monkeypatch, size):
    """Each 退费审核 page fits the window without scrolling the whole tab: the tall 受理登记 page scrolls inside
    itself, so the 案件 page's buttons stay on screen; 受理登记 still shows six payments at 100 %, and its
    退费候选 list and button at 125 %. The case detail keeps to the screen with its buttons visible."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QScreen
    from PySide6.QtWidgets import QPushButton, QScrollArea

    from core.database import describe
    from gui.main_window import MainWindow

    r, _clerk, _case_row = _case(admin, tmp_path)
    for year in range(2012, 2019):
        Contribution.create(resident=r.id, year=year, amount_fen=30000, tier_fen=30000, voucher=f"Y{year}")
    window = MainWindow(admin, describe(None))
    qtbot.addWidget(window)
    window.show()
    window.show_tab(window.refund_tab)
    window.setWindowState(Qt.WindowState.WindowNoState)  # opened maximised on the small offscreen screen
    window.resize(*size)
    tab = window.refund_tab
    settle()
    outer = window.tabs.currentWidget()
    for page in (tab.cases, tab.entry):
        tab.inner.setCurrentWidget(page)
        qtbot.wait(20)
        assert outer.verticalScrollBar().maximum() == 0, (
            page,
            tab.minimumSizeHint(),
        )  # no tab-wide scrolling
    bottom = tab.cases.buttons["查看…"].mapTo(window, tab.cases.buttons["查看…"].rect().bottomLeft()).y()
    assert bottom < window.height() - window.statusBar().height()
    tab.inner.setCurrentWidget(tab.entry)
    tab.entry.id_edit.setText(r.id_number)
    tab.entry.find()
    settle()
    qtbot.wait(20)
    entry_scroll = tab.entry.findChild(QScrollArea)
    if size == (1366, 768):
        assert tab.entry.pay_table.viewport().height() >= 24 * refund_tab.PAYMENT_ROWS_SHOWN
    else:  # at 125 % everything still fits, the candidates and their button included
        assert entry_scroll.verticalScrollBar().maximum() == 0, tab.entry.minimumSizeHint()
    use = tab.entry.use_button
    assert use.mapTo(window, use.rect().bottomLeft()).y() < window.height() - window.statusBar().height()

    area = QRect(0, 0, *size)
    monkeypatch.setattr(QScreen, "availableGeometry", lambda self: area)
    checked: list[bool] = []

    def look(dialog) -> bool:  # checked while the dialog is open
        dialog.show()
        qtbot.wait(20)
        assert dialog.height() <= size[1] - 40 and dialog.width() <= size[0]
        close = next(b for b in dialog.findChildren(QPushButton) if b.text() == "关闭")
        assert close.isVisible() and close.mapTo(dialog, close.rect().bottomLeft()).y() < dialog.height()
        assert (
            dialog.findChild(QScrollArea).verticalScrollBar().maximum() == 0
        )  # everything fits: no scrolling
        checked.append(True)
        return False

    monkeypatch.setattr(refund_tab, "run_dialog", look)
    tab.inner.setCurrentWidget(tab.cases)
    select_first(tab.cases.table)
    tab.cases.open_case()
    settle()
    assert checked == [True]


def test_case_list_steps_follow_the_selected_cases_state(qtbot, sqlite_db, admin, tmp_path):
    _case(admin, tmp_path)  # one case, 已初审
    reviewer = auth.actor_of(auth.create_user(admin, "shen", "password123", auth.REVIEWER, None, "沈审核"))
    tab = RefundTab(reviewer)
    qtbot.addWidget(tab)
    settle()
    buttons = tab.cases.buttons
    assert buttons["复核通过"].isEnabled() and buttons["重新发放"].isEnabled()  # nothing selected yet
    select_first(tab.cases.table)
    assert buttons["复核通过"].isEnabled()
    assert (
        not buttons["重新发放"].isEnabled() and "已初审" in buttons["重新发放"].toolTip()
    )  # only after 退款失败
    assert not buttons["初审"].isEnabled() and "须由" in buttons["初审"].toolTip()  # another role's step
