"""Issue 16, logs and crash reports: a rotating log in the log folder with every command and every committed
change (user and outcome), unexpected errors in the GUI logged and shown in a Chinese dialog with 复制错误信息,
--version, 关于; and the tests never touch the real user's folders."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox

from core import logs
from core.version import version
from dao import db as dao_db
from gui import crash, local_settings
from tests.clirun import cli, office_db
from tests.fixtures import HEADER, person, write_xlsx


def test_version():
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"居民养老保险征缴业务系统 {version()}"
    assert version()[0].isdigit()


def test_commands_and_changes_are_logged_with_user_and_outcome(tmp_path):
    url = office_db(tmp_path)
    folder = tmp_path / "日志"
    env = {"PENSION_LOG_DIR": str(folder)}
    roster = write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1), person(3)])
    assert cli("--db", url, "--user", "boss", "import-roster", str(roster), env=env).returncode == 0
    refused = cli("--db", url, "--user", "boss", "restore", str(tmp_path / "无.db"), "--yes", env=env)
    assert refused.returncode == 2
    text = (folder / logs.LOG_NAME).read_text(encoding="utf-8")
    assert f"start cli, version {version()}" in text
    assert "command by boss: --db" in text and "import-roster" in text and "-> exit 0" in text
    assert "boss: import import_log 1" in text  # the committed change, from the audit trail
    assert "restore" in text and "-> exit 2" in text and "找不到备份文件" in text  # and why
    assert (folder / logs.CRASH_NAME).exists()  # faulthandler's file (the command line does not turn it on)


def test_unexpected_error_is_logged_and_shown_with_a_copy_button(qtbot, monkeypatch, tmp_path):
    logs.setup("gui")  # PENSION_LOG_DIR: the tests' own folder
    shown: list[QMessageBox] = []
    monkeypatch.setattr(crash, "_show", shown.append)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # put back after the test
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    crash.install(lambda: "SQLite 文件 /办公室/pension.db")
    try:
        raise ValueError("出错的槽函数")
    except ValueError:
        sys.excepthook(*sys.exc_info())
    box = shown[-1]
    assert box.windowTitle() == "程序错误" and "意外错误" in box.text()
    copy = next(b for b in box.buttons() if b.text() == "复制错误信息")
    copy.click()
    copied = QApplication.clipboard().text()
    for part in (version(), "SQLite 文件 /办公室/pension.db", str(logs.log_path()), "ValueError: 出错的槽函数",
                 "test_logs.py"):  # fmt: skip
        assert part in copied
    assert "出错的槽函数" in logs.log_path().read_text(encoding="utf-8")

    def worker():
        raise RuntimeError("工作线程出错")

    thread = threading.Thread(target=worker, name="导入线程")
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: len(shown) == 2, timeout=5000)  # shown from the main thread
    assert "RuntimeError: 工作线程出错" in shown[-1].property("report")
    assert "unexpected error in thread 导入线程" in logs.log_path().read_text(encoding="utf-8")


def test_about_shows_version_and_log_path(qtbot, sqlite_db, admin, monkeypatch):
    from gui.main_window import MainWindow

    said = []
    monkeypatch.setattr(QMessageBox, "about", staticmethod(lambda parent, title, text: said.append(text)))
    window = MainWindow(admin, sqlite_db)
    qtbot.addWidget(window)
    window._about()
    assert f"版本：{version()}" in said[0] and f"日志文件：{logs.log_dir() / logs.LOG_NAME}" in said[0]


def test_tests_never_touch_the_users_own_folders():
    config, data = os.environ["XDG_CONFIG_HOME"], os.environ["XDG_DATA_HOME"]
    assert "pension-test-config-" in config and "pension-test-data-" in data
    assert local_settings.settings().fileName().startswith(config)
    assert str(dao_db.default_data_dir()).startswith(data)
    assert "pension-test-logs-" in str(logs.log_dir())
    assert not str(logs.log_dir()).startswith(str(Path.home()))


def test_warnings_shown_in_the_gui_are_logged(qtbot, monkeypatch):
    logs.setup("gui")
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Ok))
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Ok))
    crash.log_refusals()
    QMessageBox.warning(None, "税务传递", "没有待传递的退费记录。")
    assert "shown to the user: 税务传递: 没有待传递的退费记录。" in logs.log_path().read_text(
        encoding="utf-8"
    )
