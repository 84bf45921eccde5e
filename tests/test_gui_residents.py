"""Issue 21 in the GUI (pytest-qt, offscreen): 新参保登记 from the roster browser, and the resident detail's
变更 / 转移 / 暂停·终止·恢复 actions and history tab."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest

from core import idcard, residents
from core.auth import REVIEWER, Actor
from dao.models import Resident, ResidentEvent
from gui.operations import wait_all as settle
from gui.resident_actions import ChangeDialog, MoveDialog, MovesDialog, StatusDialog
from gui.resident_dialog import ResidentDialog
from gui.resident_register_dialog import RegisterDialog
from tests.conftest import clerk_of, on_gui_thread, record_threads
from tests.fixtures import HEADER, person, write_xlsx
from tests.test_roster_import import do_import

pytestmark = pytest.mark.usefixtures("message_boxes")
NEW = idcard.make("371325", dt.date(1975, 8, 9), 21)


def test_register_fills_from_the_id_and_says_at_once_when_registered(
    qtbot, sqlite_db, admin, tmp_path, previews, monkeypatch
):
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), admin)
    clerk = clerk_of("费城街道")
    dialog = RegisterDialog(clerk)
    qtbot.addWidget(dialog)
    assert not dialog.township.isEnabled() and dialog.township.currentText() == "费城街道"
    threads = record_threads(monkeypatch, (residents, "preview_id"))
    dialog.id_number.setText(person(1)[1])
    assert dialog.id_state.text() == "正在核对……"  # looked up in a worker: typing never waits
    settle()
    assert threads["preview_id"] and not on_gui_thread(threads)
    assert "已登记" in dialog.id_state.text() and person(1)[0] in dialog.id_state.text()
    assert dialog.show_existing.isVisibleTo(dialog) and dialog.open_existing == Resident.get().id
    dialog.id_number.setText(NEW[:10])
    assert dialog.sex.text() == "—" and not dialog.show_existing.isVisibleTo(dialog)
    dialog.id_number.setText(NEW)
    dialog.id_number.setText(NEW[:17])  # the lookup of a number no longer there never shows
    settle()
    assert dialog.sex.text() == "—" and dialog.id_state.text() == "已录入 17 位。"
    dialog.id_number.setText(NEW)
    settle()
    assert (dialog.sex.text(), dialog.birth.text()) == (
        "男",
        "1975-08-09",
    ) and "未登记" in dialog.id_state.text()
    dialog.name.setText("王五")
    dialog.village.setCurrentText("东王庄村")
    dialog.phone.setText("1234abc")
    dialog.register(print_form=False)
    assert "核对身份证" in dialog.error.text()
    dialog.confirmed.setChecked(True)
    dialog.register(print_form=False)
    assert "PHONE_INVALID" in dialog.error.text() and dialog.resident_id is None
    dialog.phone.setText("13800000021")
    dialog.register(print_form=True)
    r = Resident.get(Resident.id_number == NEW)
    assert dialog.resident_id == r.id and (r.name, r.village.name, r.enrolled_on) == (
        "王五",
        "东王庄村",
        dt.date.today(),
    )
    [(title, pdf, _printed, pages)] = previews
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "参保登记表" in title and pages == 1 and "王五" in text and "签字" in text


def test_detail_actions_change_move_stop_restore_and_history(
    qtbot, sqlite_db, admin, tmp_path, message_boxes, monkeypatch
):
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), admin)
    threads = record_threads(monkeypatch, (residents, "change"), (residents, "move"), (residents, "set_status"),
                             (residents, "township_moves"))  # fmt: skip
    r = Resident.get()
    clerk = clerk_of("费城街道")
    dialog = ResidentDialog(clerk, r.id)
    qtbot.addWidget(dialog)
    assert "转移…" not in dialog.actions.buttons  # county users only
    assert (
        dialog.actions.buttons["暂停/终止…"].isEnabled()
        and not dialog.actions.buttons["恢复参保…"].isEnabled()
    )

    change = ChangeDialog(clerk, r)
    qtbot.addWidget(change)
    change.field.setCurrentIndex(change.field.findData("name"))
    change.value.setText("张改")
    change.accept()
    assert "原因" in change.error.text() and change.result() == 0
    change.reason.setText("户籍更正")
    change.seen.setChecked(True)
    change.accept()
    assert Resident.get_by_id(r.id).name == "张改" and "张改" in change.result_text

    reviewer = Actor("shen", REVIEWER, None, "审核员")
    r = Resident.get_by_id(r.id)
    assert "转移…" in ResidentDialog(reviewer, r.id).actions.buttons
    move = MoveDialog(reviewer, r)
    qtbot.addWidget(move)
    move.township.setCurrentIndex(move.township.findText("上冶镇"))
    move.village.setCurrentText("后村")
    move.accept()
    assert "原因" in move.error.text()
    move.reason.setText("婚嫁迁居")
    move.accept()
    assert Resident.get_by_id(r.id).township.name == "上冶镇" and "上冶镇后村" in move.result_text

    r = Resident.get_by_id(r.id)
    stop = StatusDialog(reviewer, r, restore=False)
    qtbot.addWidget(stop)
    stop.to.setCurrentIndex(stop.to.findData("终止"))
    stop.reason.setCurrentText("死亡")
    stop.accept()
    assert Resident.get_by_id(r.id).status == "终止" and "终止" in stop.result_text
    r = Resident.get_by_id(r.id)
    back = StatusDialog(reviewer, r, restore=True)
    qtbot.addWidget(back)
    back.accept()
    assert "原因" in back.error.text()
    back.reason.setCurrentText("误报死亡，核实后恢复")
    back.accept()
    assert Resident.get_by_id(r.id).status == "正常参保"

    moves = MovesDialog(clerk)  # the township the person left still sees where they went
    qtbot.addWidget(moves)
    assert (moves.table.rowCount(), moves.table.text(0, 2), moves.table.text(0, 5)) == (
        1,
        "张改",
        "上冶镇后村",
    )
    detail = ResidentDialog(reviewer, r.id)
    qtbot.addWidget(detail)
    history = detail.actions.history
    kinds = [history.text(row, 2) for row in range(history.rowCount())]
    assert kinds == ["导入", "信息变更", "转移", "参保状态", "参保状态"]
    assert ResidentEvent.select().count() == 4
    assert set(threads) == {"change", "move", "set_status", "township_moves"}  # each form's OK, 转移记录
    assert not on_gui_thread(threads)


def test_detail_reads_and_saves_off_the_gui_thread(
    qtbot, sqlite_db, admin, tmp_path, monkeypatch, message_boxes
):
    from core import regions, roster
    from gui.roster_tab import RosterTab

    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), admin)
    r = Resident.get()
    threads = record_threads(monkeypatch, (roster, "detail"), (regions, "villages"), (residents, "history"),
                             (roster, "update"))  # fmt: skip
    dialog = ResidentDialog(admin, r.id)
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == f"居民信息 — {r.name}" and dialog.phone.text() == r.phone
    assert dialog.village.currentData() == r.village_id and dialog.village.count() > 1
    assert [dialog.actions.history.text(row, 2) for row in range(dialog.actions.history.rowCount())] == [
        "导入"
    ]
    dialog.phone.setText("13912345678")
    dialog.save()
    assert dialog.saved and Resident.get_by_id(r.id).phone == "13912345678" and dialog.isEnabled()
    assert set(threads) == {"detail", "villages", "history", "update"} and not on_gui_thread(threads)

    tab = RosterTab(admin)  # a resident gone meanwhile: said in Chinese, no dialog opens
    qtbot.addWidget(tab)
    tab.browser.show_resident(r.id + 1000)
    assert message_boxes[-1] == ("花名册", "该居民不存在（可能已被其他用户删除）。")


def test_village_lists_of_the_counter_forms_are_read_off_the_gui_thread(qtbot, sqlite_db, admin, monkeypatch):
    from core import regions
    from dao.models import Village
    from gui.operations import wait_all
    from gui.resident_register_dialog import RegisterDialog
    from tests.conftest import on_gui_thread, record_threads, township_id

    Village.create(township=township_id("胡阳镇"), name="胡阳新村")
    threads = record_threads(monkeypatch, (regions, "villages"))
    dialog = RegisterDialog(admin)
    qtbot.addWidget(dialog)
    dialog.township.setCurrentIndex(dialog.township.findData(township_id("胡阳镇")))
    dialog.village.setEditText("先打的字")  # typed before the list arrived: kept
    wait_all()
    assert dialog.village.findText("胡阳新村") > 0 and dialog.village.currentText() == "先打的字"
    assert threads["villages"] and on_gui_thread(threads) == set()
