"""One way to run an action: a core call off the GUI thread, as anki's CollectionOp/QueryOp do.

``Op(parent, fn, success=..., label=..., changes=...).run()`` calls ``fn()`` in a worker thread. When ``fn``
returns a ``core.progress`` job (a generator), the worker drives it: each tick updates the progress and is a
place where 取消 stops it (the job's transaction rolls back). A progress dialog appears only when the call
takes longer than 0.6 s. ``UserError``, database and file errors become one Chinese dialog (or go to
``failure``). On success ``success(result)`` runs on the GUI thread and the window is told what changed
(``changes``, e.g. ``{"refunds"}``): each tab's ``on_changed`` refreshes what that touches.

An Op is a child of ``parent``: ``shutdown(widget)`` cancels and waits for every Op under a widget, so no
worker outlives its window.
"""

from __future__ import annotations

import inspect
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import peewee as pw
import shiboken6
from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from core.database import close_thread_connection
from core.errors import Cancelled, UserError, os_error_message
from core.progress import Progress, run

# What an operation may change; each tab's on_changed looks for the ones its lists show.
RESIDENTS, PAYMENTS, REFUNDS, HANDOFF, SPECIAL, ARREARS = (
    "residents",
    "payments",
    "refunds",
    "handoff",
    "special",
    "arrears",
)
USERS, POLICY, REGIONS, SETTINGS, IMPORTS, AUDIT, DATABASE = (
    "users",
    "policy",
    "regions",
    "settings",
    "imports",
    "audit",
    "database",
)
EVERYTHING = frozenset(
    {
        RESIDENTS,
        PAYMENTS,
        REFUNDS,
        HANDOFF,
        SPECIAL,
        ARREARS,
        USERS,
        POLICY,
        REGIONS,
        SETTINGS,
        IMPORTS,
        AUDIT,
    }
)

SHOW_AFTER_MS = 600  # a quick call shows no flash of a dialog
LIVE_THREADS: set[QThread] = set()  # tests check that none outlives its window
_RUNNING: set[Op] = set()
_LATEST: dict[tuple[int, str], Op] = {}  # the newest Op per (parent, key): older results are dropped
_HELD: list[Op] | None = None  # inside held(): operations kept instead of started


def error_message(exc: BaseException) -> str:
    """The one Chinese sentence a failed operation shows."""
    if isinstance(exc, UserError):
        return str(exc)
    if isinstance(exc, pw.DatabaseError):
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"数据库操作失败，本次操作已撤销：{first}"
    if isinstance(exc, OSError):  # a file that cannot be written (read-only folder, open in Excel, disk full)
        return os_error_message(exc)
    return f"程序内部错误：{type(exc).__name__}: {exc}"


class _Worker(QObject):
    progress = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    done = Signal()

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self._fn = fn
        self.cancel_requested = False
        self._last_emit = 0.0

    def _tick(self, tick: Progress) -> None:
        if self.cancel_requested:
            raise Cancelled()
        now = time.monotonic()
        if now - self._last_emit >= 0.05:  # at most 20 updates a second
            self._last_emit = now
            self.progress.emit(tick.done, tick.total, tick.stage)

    @Slot()
    def work(self) -> None:
        try:
            result = self._fn()
            if inspect.isgenerator(result):
                result = run(result, self._tick)
        except Cancelled:
            self.cancelled.emit()
        except Exception as exc:
            if not isinstance(exc, (UserError, pw.DatabaseError, OSError)):
                traceback.print_exc()  # a bug: show it rather than lose it in a thread
            self.failed.emit(error_message(exc))
        else:
            self.succeeded.emit(result)
        finally:
            close_thread_connection()  # this thread's connection only
            self.done.emit()


class Op(QObject):
    """A core call run off the GUI thread; see the module's docstring."""

    progressed = Signal(int, int, str)
    finished = Signal()

    def __init__(
        self,
        parent: QWidget,
        fn: Callable[[], Any],
        *,
        success: Callable[[Any], None] | None = None,
        failure: Callable[[str], None] | None = None,
        cancelled: Callable[[], None] | None = None,
        label: str = "正在处理……",
        title: str = "无法完成",
        changes: Iterable[str] = (),
        key: str = "",
        dialog: bool = True,
        cancellable: bool = False,
        block: bool | None = None,
    ) -> None:
        # No Qt parent: a tab closed while its operation runs must not take the running thread with it. The
        # operation lives in _RUNNING until its thread ends; a result for a widget already gone is dropped.
        super().__init__()
        self.widget = parent
        self.fn = fn
        self.on_success = success
        self.on_failure = failure
        self.on_cancelled = cancelled
        self.label = label
        self.title = title
        self.changes = frozenset(changes)
        self.key = key
        self.show_dialog = dialog
        self.cancellable = cancellable
        # An action that writes keeps its widget disabled while it runs, so it cannot start twice; a query
        # (a list refresh) leaves the screen usable.
        self.block = bool(self.changes) if block is None else block
        self.result: Any = None
        self.error: str | None = None
        self.was_cancelled = False
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self._progress: QProgressDialog | None = None
        self._timer: QTimer | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def run(self) -> Op:
        if _HELD is not None:
            _HELD.append(self)
            return self
        if self.key:
            _LATEST[(id(self.widget), self.key)] = self
        thread = QThread()
        worker = _Worker(self.fn)
        worker.moveToThread(thread)
        thread.started.connect(worker.work)
        worker.progress.connect(self._on_progress)
        worker.succeeded.connect(self._on_succeeded)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        # Direct: quit() is thread-safe, and a queued quit would wait for a GUI thread blocked in wait()
        worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(self._finish)
        self._thread, self._worker = thread, worker
        LIVE_THREADS.add(thread)
        _RUNNING.add(self)
        if self.show_dialog:
            self._make_dialog()
        if self.block:
            self.widget.setEnabled(False)
        thread.start()
        return self

    def _make_dialog(self) -> None:
        window = self.widget.window()
        dialog = QProgressDialog(self.label, "取消" if self.cancellable else None, 0, 0, window)
        dialog.setWindowTitle("请稍候")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(2**30)  # shown by our timer only
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.reset()  # hidden until the timer fires
        dialog.canceled.connect(self.cancel)
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.timeout.connect(dialog.show)
        timer.start(SHOW_AFTER_MS)
        self._progress, self._timer = dialog, timer

    @property
    def dialog_visible(self) -> bool:
        return self._progress is not None and self._progress.isVisible()

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel_requested = True

    def wait(self, ms: int = 60000) -> bool:
        """Block until the worker ends; its result is delivered at the next event processing."""
        return self._thread is None or self._thread.wait(ms)

    def _stale(self) -> bool:
        if not shiboken6.isValid(self.widget):
            return True
        return bool(self.key) and _LATEST.get((id(self.widget), self.key)) is not self

    # -- results, on the GUI thread ---------------------------------------------------------------------
    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, stage: str) -> None:
        self.progressed.emit(done, total, stage)
        if self._progress is not None and total > 0:
            self._progress.setRange(0, max(total, 1))
            self._progress.setValue(min(done, total))
            self._progress.setLabelText(f"{self.label}\n{stage}：{done:,} / {total:,}")

    @Slot(object)
    def _on_succeeded(self, result: object) -> None:
        self.result = result
        self._close_dialog()
        if self._stale():
            return
        if self.on_success is not None:
            self.on_success(result)
        if self.changes:
            broadcast(self.widget, self.changes)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.error = message
        self._close_dialog()
        if self._stale():
            return
        if self.on_failure is not None:
            self.on_failure(message)
        else:
            QMessageBox.warning(self.widget, self.title, message)

    @Slot()
    def _on_cancelled(self) -> None:
        self.was_cancelled = True
        self._close_dialog()
        if self.on_cancelled is not None and shiboken6.isValid(self.widget):
            self.on_cancelled()

    def _close_dialog(self) -> None:
        if self.block and shiboken6.isValid(self.widget):
            self.widget.setEnabled(True)
        if self._timer is not None:
            self._timer.stop()
        if self._progress is not None and shiboken6.isValid(self._progress):
            self._progress.close()
            self._progress.deleteLater()
            self._progress = None

    @Slot()
    def _finish(self) -> None:
        thread, worker = self._thread, self._worker
        self._thread = self._worker = None
        if worker is not None:
            worker.deleteLater()
        if thread is not None:
            LIVE_THREADS.discard(thread)
            thread.deleteLater()
        self._close_dialog()
        _RUNNING.discard(self)
        if self.key and _LATEST.get((id(self.widget), self.key)) is self:
            del _LATEST[(id(self.widget), self.key)]
        self.finished.emit()
        self.deleteLater()


T = TypeVar("T")


def call(parent: QWidget, label: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """An Op whose caller needs the result before it goes on (a dialog's 登记 button, a names window): it runs
    like any Op — off the GUI thread, progress after 0.6 s — while a local event loop waits. A failure raises
    UserError with the Op's Chinese message instead of showing it, so the caller says it in its own place."""
    loop = QEventLoop()
    op = Op(parent, lambda: fn(*args, **kwargs), failure=lambda _message: None, label=label, block=False)
    op.finished.connect(loop.quit)
    op.run()
    if op.running:
        loop.exec()
    if op.error is not None:
        raise UserError(op.error)
    if op.was_cancelled:
        raise Cancelled()
    return op.result


def broadcast(widget: QWidget, changes: Iterable[str]) -> None:
    """Tell the window what changed: the main window's ``changed`` signal reaches every tab; a tab shown on
    its own (tests) refreshes itself."""
    window = widget.window()
    changes = frozenset(changes)
    signal = getattr(window, "changed", None)
    if signal is not None and hasattr(signal, "emit"):
        signal.emit(changes)
        return
    target: QObject | None = widget
    while target is not None:
        handler = getattr(target, "on_changed", None)
        if callable(handler):
            handler(changes)
            return
        target = target.parent()


@contextmanager
def held() -> Iterator[list[Op]]:
    """Operations started inside are kept, not run, for the caller to run or drop: the main window builds
    every tab, then runs only the first loads of the tab on screen. A hidden tab loads when it is shown."""
    global _HELD
    _HELD = kept = []
    try:
        yield kept
    finally:
        _HELD = None


def run_under(ops: Iterable[Op], widget: QWidget | None) -> None:
    """Run the kept operations started for ``widget`` or inside it; drop the others, and any superseded by a
    later one of the same key (a list whose filters were set up one by one loads once)."""
    ops = list(ops)
    last = {(id(op.widget), op.key): op for op in ops if op.key}
    for op in ops:
        latest = not op.key or last[(id(op.widget), op.key)] is op
        if latest and widget is not None and _under(op, widget):
            op.run()
        else:
            op.deleteLater()


def _under(op: Op, widget: QWidget) -> bool:
    """Whether ``op`` was started for ``widget`` or a widget inside it (and that widget still exists)."""
    return shiboken6.isValid(op.widget) and (op.widget is widget or widget.isAncestorOf(op.widget))


def running_under(widget: QWidget) -> list[Op]:
    """The operations started for ``widget`` or any widget inside it."""
    return [op for op in list(_RUNNING) if op.running and _under(op, widget)]


def shutdown(widget: QWidget) -> None:
    """Cancel what can be cancelled and wait for every operation under ``widget`` (a tab's ``shutdown``)."""
    for op in running_under(widget):
        op.cancel()
    for op in running_under(widget):
        op.wait()
        op._finish()


def wait_all(timeout: float = 60.0) -> None:
    """Wait for every running operation and deliver its result, including operations their results start
    (a refresh after a change). For tests and for closing the application."""
    deadline = time.monotonic() + timeout
    while _RUNNING or LIVE_THREADS:
        if time.monotonic() > deadline:
            raise TimeoutError("operations still running")
        for op in list(_RUNNING):
            op.wait(50)
        QCoreApplication.processEvents()
        QCoreApplication.sendPostedEvents(None, 0)
    QCoreApplication.processEvents()
