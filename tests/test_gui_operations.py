"""gui.operations: one way to run an action — off the GUI thread, progress after 0.6 s with cancel, one Chinese
error dialog, the change announced and the tab on screen refreshed, shutdown waiting for what runs."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtWidgets import QLabel, QWidget

from core.errors import UserError
from core.progress import Progress
from gui import operations
from gui.operations import Op

pytestmark = pytest.mark.usefixtures("message_boxes")


class Tab(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[frozenset[str]] = []

    def on_changed(self, changes: frozenset[str]) -> None:
        self.seen.append(changes)


def test_result_comes_back_from_a_worker_thread_and_the_change_is_announced(qtbot, sqlite_db):
    tab = Tab()
    qtbot.addWidget(tab)
    threads, results = [], []

    def work() -> int:
        threads.append(threading.current_thread())
        return 42

    op = Op(tab, work, success=results.append, changes={"refunds"}).run()
    assert not tab.isEnabled()  # a writing action cannot start twice meanwhile
    operations.wait_all()
    assert results == [42] and threads[0] is not threading.main_thread()
    assert tab.seen == [frozenset({"refunds"})] and tab.isEnabled() and not operations.LIVE_THREADS
    assert op is not None


def test_errors_become_one_chinese_dialog(qtbot, sqlite_db, message_boxes):
    import peewee as pw

    tab = Tab()
    qtbot.addWidget(tab)

    def refused() -> None:
        raise UserError("批次已报送，不能修改。")

    def unwritable() -> None:
        raise PermissionError(13, "Permission denied", "/只读/清单.pdf")

    def broken_db() -> None:
        raise pw.OperationalError("server closed the connection unexpectedly\nmore")

    for fn in (refused, unwritable, broken_db):
        Op(tab, fn, title="税务传递", changes={"handoff"}).run()
        operations.wait_all()
    assert message_boxes == [
        ("税务传递", "批次已报送，不能修改。"),
        ("税务传递", "文件无法读写：/只读/清单.pdf（没有权限：文件可能正在 Excel/WPS 中打开，或文件夹只读）"),
        ("税务传递", "数据库操作失败，本次操作已撤销：server closed the connection unexpectedly"),
    ]
    assert tab.seen == []  # nothing changed: nothing refreshed


def test_progress_dialog_only_after_600_ms_and_cancel_stops_a_job(qtbot, sqlite_db):
    label = QLabel()
    qtbot.addWidget(label)
    release = threading.Event()

    def quick() -> int:
        return 1

    op = Op(label, quick, label="正在生成……").run()
    assert not op.dialog_visible
    operations.wait_all()

    def job():
        for n in range(1000):
            yield Progress(n, 1000, "导入")
            release.wait(0.01)
        return "done"

    cancelled: list[bool] = []
    op = Op(label, job, label="正在导入……", cancellable=True, cancelled=lambda: cancelled.append(True)).run()
    qtbot.wait(200)
    assert not op.dialog_visible
    qtbot.waitUntil(lambda: op.dialog_visible, timeout=3000)
    assert op._progress is not None and op._progress.maximum() == 1000  # a real count, not a busy bar
    op._progress.canceled.emit()  # the dialog's 取消 button
    operations.wait_all()
    assert cancelled == [True] and op.result is None


def test_shutdown_waits_for_running_operations(qtbot, sqlite_db):
    tab = Tab()
    qtbot.addWidget(tab)
    done: list[str] = []

    def slow() -> None:
        time.sleep(0.5)
        done.append("finished")

    Op(tab, slow).run()
    started = time.monotonic()
    operations.shutdown(tab)
    assert done == ["finished"] and time.monotonic() - started >= 0.3
    assert not operations.running_under(tab) and not operations.LIVE_THREADS


def test_an_older_refresh_never_overwrites_a_newer_one(qtbot, sqlite_db):
    tab = Tab()
    qtbot.addWidget(tab)
    shown: list[str] = []

    def slow() -> str:
        time.sleep(0.3)
        return "old"

    Op(tab, slow, success=shown.append, key="refresh").run()
    Op(tab, lambda: "new", success=shown.append, key="refresh").run()
    operations.wait_all()
    assert shown == ["new"]


def test_the_window_loads_only_the_tab_on_screen_and_a_hidden_tab_when_shown(
    qtbot, sqlite_db, admin, monkeypatch
):
    from core import statistics
    from core.database import describe
    from gui.main_window import MainWindow

    counted: list[str] = []
    real = statistics.year_stats
    monkeypatch.setattr(statistics, "year_stats", lambda *a, **k: (counted.append("stats"), real(*a, **k))[1])
    window = MainWindow(admin, describe(None))
    qtbot.addWidget(window)
    operations.wait_all()
    assert window.current_tab() is window.roster_tab and counted == []  # 统计 is not on screen: not loaded
    assert window.roster_tab.browser.model.total == 0  # the tab on screen did load
    window.show_tab(window.stats_tab)
    operations.wait_all()
    assert counted == ["stats"]  # shown: loaded once


def test_held_operations_run_once_per_key_and_only_under_the_widget(qtbot):
    shown, hidden = QWidget(), QWidget()
    for w in (shown, hidden):
        qtbot.addWidget(w)
    ran: list[str] = []
    with operations.held() as kept:
        for n in range(3):  # a list set up filter by filter: three loads of the same key
            Op(shown, lambda n=n: ran.append(f"list{n}"), key="list").run()
        Op(shown, lambda: ran.append("other")).run()
        Op(hidden, lambda: ran.append("hidden")).run()
    assert ran == [] and len(kept) == 5
    operations.run_under(kept, shown)
    operations.wait_all()
    assert sorted(ran) == ["list2", "other"]
