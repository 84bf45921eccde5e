"""Unexpected errors: logged with their traceback and shown in a Chinese dialog, never lost.

``sys.excepthook`` catches what a slot or the main thread did not (PySide6 hands exceptions in slots to it);
``threading.excepthook`` what a worker thread did not — shown from the main thread. The dialog's
复制错误信息 button copies what support needs: version, database kind, log file, traceback."""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

from core import logs
from core.version import APP_NAME, version

log = logging.getLogger("pension.crash")


def report_text(trace: str, database: str) -> str:
    return "\n".join([
        f"{APP_NAME} {version()}",
        f"数据库：{database}",
        f"用户：{_user()}",
        f"日志文件：{logs.log_path() or '（无法写入日志）'}",
        f"Python {sys.version.split()[0]}，{sys.platform}",
        "",
        trace.rstrip(),
    ])  # fmt: skip


def make_dialog(trace: str, database: str) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Critical, "程序错误", "程序出现了意外错误，刚才的操作可能没有完成。")
    box.setInformativeText(
        "错误已记入日志。请点击“复制错误信息”，把内容发给系统管理员或技术支持。"
        f"\n日志文件：{logs.log_path() or '（无法写入日志）'}"
    )
    text = report_text(trace, database)
    box.setDetailedText(text)
    copy = box.addButton("复制错误信息", QMessageBox.ButtonRole.ActionRole)  # copies, then closes the box
    copy.clicked.connect(lambda: QApplication.clipboard().setText(text))
    box.addButton("关闭", QMessageBox.ButtonRole.AcceptRole)
    box.setProperty("report", text)
    return box


def _show(box: QMessageBox) -> None:
    """Run the dialog. (Tests replace this to look at it without a user.)"""
    box.exec()


class _Relay(QObject):
    """Carries a worker thread's traceback to the main thread, where widgets may be made."""

    failed = Signal(str)


_installed: dict[str, object] = {}


def set_user(username: str) -> None:
    """The logged-in user, named in the log lines and the error report."""
    _installed["user"] = username


def _user() -> str:
    return str(_installed.get("user", "（未登录）"))


def install(database: Callable[[], str]) -> None:
    """Hook both; ``database`` tells the kind and place of the open database for the report."""
    relay = _Relay()
    relay.failed.connect(lambda trace: _show(make_dialog(trace, database())))
    _installed["relay"] = relay

    def on_main(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        trace = "".join(traceback.format_exception(kind, value, tb))
        log.critical("unexpected error (user %s):\n%s", _user(), trace)
        try:
            _show(make_dialog(trace, database()))
        except Exception:
            log.exception("the error dialog failed")

    def on_thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        trace = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
        name = args.thread.name if args.thread else "?"
        log.critical("unexpected error in thread %s (user %s):\n%s", name, _user(), trace)
        relay.failed.emit(trace)

    sys.excepthook = on_main
    threading.excepthook = on_thread


def log_refusals() -> None:
    """Every warning or error a dialog shows the user goes to the log too: the outcome of the action."""
    for name in ("warning", "critical"):
        shown = getattr(QMessageBox, name)

        def logged(parent, title, text, *args, _shown=shown, **kwargs):  # type: ignore[no-untyped-def]
            log.warning("shown to %s: %s: %s", _user(), title, text)
            return _shown(parent, title, text, *args, **kwargs)

        setattr(QMessageBox, name, staticmethod(logged))
