"""Running core jobs off the GUI thread, with progress and a cooperative cancel.

A job is a ``core.progress`` generator. The worker drives it in a QThread; cancel makes the next progress
tick raise ``Cancelled``, which closes the generator and so rolls its transaction back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import peewee as pw
from PySide6.QtCore import QEventLoop, QObject, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget

from core.errors import Cancelled, UserError, os_error_message
from core.progress import Job, Progress, run
from dao import db as dao_db


class _JobObject(QObject):
    progress = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    done = Signal()

    def __init__(self, make_job: Callable[[], Job[Any]]) -> None:
        super().__init__()
        self._make_job = make_job
        self._cancel = False
        self._last_emit = 0.0

    def request_cancel(self) -> None:
        self._cancel = True

    def _tick(self, tick: Progress) -> None:
        if self._cancel:
            raise Cancelled()
        now = time.monotonic()
        if now - self._last_emit >= 0.05:  # at most 20 updates a second
            self._last_emit = now
            self.progress.emit(tick.done, tick.total, tick.stage)

    @Slot()
    def work(self) -> None:
        try:
            result = run(self._make_job(), self._tick)
        except Cancelled:
            self.cancelled.emit()
        except UserError as exc:
            self.failed.emit(str(exc))
        except pw.DatabaseError as exc:
            self.failed.emit(f"数据库操作失败，本次操作已撤销：{str(exc).strip().splitlines()[0]}")
        except OSError as exc:  # a file that cannot be written (read-only folder, open in Excel, disk full)
            self.failed.emit(os_error_message(exc))
        except (
            Exception
        ) as exc:  # a bug: show it rather than lose it in a thread (and log it: pythonw has no stderr)
            logging.getLogger("pension.worker").exception("unexpected error in a worker")
            self.failed.emit(f"程序内部错误：{type(exc).__name__}: {exc}")
        else:
            self.succeeded.emit(result)
        finally:
            database = dao_db.db_proxy.obj
            if database is not None and not database.is_closed():
                database.close()  # this thread's connection only
            self.done.emit()


T = TypeVar("T")
LIVE_THREADS: set[QThread] = set()  # tests check that none outlives its window


class JobRunner(QObject):
    """Owns one background job at a time. Connect to the signals, then ``start``."""

    progress = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._job: _JobObject | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, make_job: Callable[[], Job[Any]]) -> None:
        if self.running:
            raise RuntimeError("a job is already running")
        thread = QThread()
        job = _JobObject(make_job)
        job.moveToThread(thread)
        thread.started.connect(job.work)
        job.progress.connect(self.progress)
        job.succeeded.connect(self.succeeded)
        job.failed.connect(self.failed)
        job.cancelled.connect(self.cancelled)
        job.done.connect(thread.quit)
        thread.finished.connect(self._cleanup)
        self._thread, self._job = thread, job
        LIVE_THREADS.add(thread)
        thread.start()

    def cancel(self) -> None:
        if self._job is not None:
            self._job.request_cancel()

    def wait(self, ms: int = 30000) -> bool:
        """Block until the job ends (tests and shutdown)."""
        if self._thread is None:
            return True
        return self._thread.wait(ms)

    @Slot()
    def _cleanup(self) -> None:
        thread, job = self._thread, self._job
        self._thread = self._job = None
        if thread is not None:
            # Python owns both (made without a parent): a deleteLater as well would delete them twice once the
            # wrappers go (a segfault in the next event loop pass, 1 run in 4 of test_gui_refunds' handoff test).
            # ``finished`` comes from the thread just before it ends: wait for the end, then let them go.
            thread.wait()
            LIVE_THREADS.discard(thread)
        del job, thread
        self.finished.emit()

    def shutdown(self) -> None:
        """Cancel and wait: called when the window closes, so no thread outlives it."""
        if self._thread is not None:
            self.cancel()
            self._thread.wait()
            self._cleanup()


def as_job(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[], Job[Any]]:
    """A plain call as a job, to run it off the GUI thread with the same runner."""

    def job() -> Job[Any]:
        yield Progress(0, 0, "")
        return fn(*args, **kwargs)

    return job


def run_busy(widget: QWidget, label: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A plain core call (a PDF of a county's list, a batch of files) off the GUI thread.

    The window keeps painting; ``widget`` is disabled meanwhile, so the same action cannot start twice; a busy
    dialog appears when the call takes longer than 0.6 s. Returns the call's result; a failure is raised as a
    UserError carrying the message the worker made of it.
    """
    runner = JobRunner(widget)
    outcome: dict[str, Any] = {}
    runner.succeeded.connect(lambda result: outcome.update(result=result))
    runner.failed.connect(lambda message: outcome.update(error=message))
    # No cancel button: the call writes its file or batch whole or not at all.
    window = widget.window()  # the dialog's parent must not be the widget disabled below
    dialog = QProgressDialog(label, None, 0, 0, window if window is not widget else None)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.reset()  # hidden until the timer below: a quick call shows no flash of a dialog
    show_later = QTimer(dialog)
    show_later.setSingleShot(True)
    show_later.timeout.connect(dialog.show)
    loop = QEventLoop()
    runner.finished.connect(loop.quit)
    widget.setEnabled(False)
    try:
        runner.start(as_job(fn, *args, **kwargs))
        show_later.start(600)
        loop.exec()
    finally:
        show_later.stop()
        widget.setEnabled(True)
        dialog.close()
        dialog.deleteLater()
        runner.deleteLater()
    if "error" in outcome:
        raise UserError(outcome["error"])
    if "result" not in outcome:  # the window closed under it
        raise UserError("操作已中止。")
    return outcome["result"]
