"""The program's log: a rotating file in the platform's log folder, and crashes of the interpreter itself.

On Windows the GUI runs under pythonw, where stderr goes nowhere: without this file an unexpected error
leaves no trace. ``PENSION_LOG_DIR`` overrides the folder (the tests use it). Each change of data is logged
with its user once it is committed (core.audit), each command with its user and outcome (cli), and every
unexpected error with its traceback (gui.crash)."""

from __future__ import annotations

import faulthandler
import logging
import logging.handlers
import os
from pathlib import Path

LOG_ENV = "PENSION_LOG_DIR"
LOG_NAME = "pension.log"
CRASH_NAME = "crash.log"  # faulthandler: a segfault or a hang in Qt, written by the interpreter itself
MAX_BYTES, BACKUPS = 2_000_000, 5

_state: dict[str, object] = {}


def log_dir() -> Path:
    if os.environ.get(LOG_ENV):
        return Path(os.environ[LOG_ENV])
    import platformdirs

    return Path(platformdirs.user_log_dir("pension-levy", appauthor=False))


def log_path() -> Path | None:
    """The log file in use (None when the folder could not be written)."""
    path = _state.get("path")
    return path if isinstance(path, Path) else None


def setup(program: str) -> Path | None:
    """Send this process's log to the rotating file; idempotent. ``program`` is 'gui' or 'cli'."""
    if "program" in _state:
        return log_path()
    _state["program"] = program
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    logging.getLogger("peewee").setLevel(logging.WARNING)
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            folder / LOG_NAME, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=False
        )
    except OSError:
        _state["path"] = None
        return None  # a read-only profile: the program still runs, without a log
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s [{program} %(process)d] %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    _state["path"] = folder / LOG_NAME
    if not faulthandler.is_enabled():  # already on (python -X faulthandler, pytest): it reports to stderr
        try:
            crash = open(folder / CRASH_NAME, "a", encoding="utf-8")  # noqa: SIM115 - open for the process's life
            faulthandler.enable(file=crash, all_threads=True)
            _state["crash_file"] = crash
        except OSError:
            pass
    from core.version import version

    logging.getLogger("pension").info("start %s, version %s", program, version())
    return folder / LOG_NAME
