"""Every dao/core test runs on SQLite (a fresh file per test) and PostgreSQL (a fresh schema per test).

PostgreSQL is 127.0.0.1:5432, trust auth, database ``test`` (override with PENSION_TEST_PG). An unreachable
server is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import uuid
from pathlib import Path

import psycopg2
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# This PC's settings (QSettings: last folders, default township, window geometry) go to a throw-away folder,
# never the developer's own; set before Qt reads it.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="pension-test-config-")
os.environ["PENSION_SETTINGS_DIR"] = os.environ["XDG_CONFIG_HOME"]  # Windows: an ini file, not the registry
# Likewise the data folder (default database, handoff folder register) and the log folder: the tests and the
# command lines they start never write into the developer's own folders.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="pension-test-data-")
os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="pension-test-state-")
os.environ["PENSION_LOG_DIR"] = tempfile.mkdtemp(prefix="pension-test-logs-")

from core import auth
from core.auth import ADMIN, CLERK, Actor
from core.database import close_database, open_database
from dao.models import Township

PG_BASE = os.environ.get("PENSION_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_admin():
    try:
        conn = psycopg2.connect(PG_BASE, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for the tests and is unreachable at {PG_BASE}: {exc}")
    conn.autocommit = True
    return conn


_real_hash_password = auth.hash_password
_hashes: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _reuse_password_hashes(monkeypatch):
    """scrypt at N = 2^17 costs 0.5 s: tests reuse one (real) hash per password instead of making one per
    user. Verifying still runs the full cost, as in production."""

    def cached(password: str, *, salt: bytes | None = None) -> str:
        if salt is not None:
            return _real_hash_password(password, salt=salt)
        if password not in _hashes:
            _hashes[password] = _real_hash_password(password)
        return _hashes[password]

    monkeypatch.setattr(auth, "hash_password", cached)


class PgSchema:
    """A throw-away schema; URLs that point at it carry search_path in the connection options."""

    def __init__(self) -> None:
        self.name = f"t_{uuid.uuid4().hex[:12]}"
        with _pg_admin() as conn, conn.cursor() as cur:
            cur.execute(f'CREATE SCHEMA "{self.name}"')

    @property
    def url(self) -> str:
        return f"{PG_BASE}?options=-csearch_path%3D{self.name}"

    @property
    def namespace(self) -> str:
        from dao import pg_security

        return pg_security.namespace_of_url(self.url)

    def drop(self) -> None:
        """The schema and the login and group roles made for it (roles are cluster-wide)."""
        conn = _pg_admin()
        try:
            with conn.cursor() as cur:
                cur.execute(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')
                pattern = self.namespace.replace("_", "\\_") + "\\_%"
                cur.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (pattern,))
                for (role,) in cur.fetchall():
                    cur.execute(f'DROP OWNED BY "{role}" CASCADE')
                    cur.execute(f'DROP ROLE IF EXISTS "{role}"')
        finally:
            conn.close()


@pytest.fixture
def pg_schema():
    schema = PgSchema()
    yield schema
    close_database()
    schema.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        close_database()
    else:
        schema = PgSchema()
        yield schema.url
        close_database()
        schema.drop()


@pytest.fixture
def db(db_url):
    """An opened, migrated, seeded database bound to the models."""
    return open_database(db_url)


@pytest.fixture
def sqlite_db(tmp_path):
    info = open_database(f"sqlite:///{tmp_path / 'test.db'}")
    yield info
    close_database()


@pytest.fixture
def admin() -> Actor:
    return Actor("tester", ADMIN, None, "测试管理员")


def township_id(name: str) -> int:
    return Township.get(Township.name == name).id


def clerk_of(name: str) -> Actor:
    return Actor(f"clerk-{name}", CLERK, township_id(name), f"{name}经办")


def record_threads(monkeypatch, *targets: tuple[object, str]) -> dict[str, list[threading.Thread]]:
    """Wrap each (module, function name) so that every call records the thread it ran on, by function name:
    GUI tests prove that their database work runs off the GUI thread."""
    threads: dict[str, list[threading.Thread]] = {}

    def wrap(real, name: str):  # type: ignore[no-untyped-def]
        def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
            threads.setdefault(name, []).append(threading.current_thread())
            return real(*args, **kwargs)

        return spy

    for module, name in targets:
        monkeypatch.setattr(module, name, wrap(getattr(module, name), name))
    return threads


def on_gui_thread(threads: dict[str, list[threading.Thread]]) -> set[str]:
    """The recorded functions that ran on the GUI (main) thread at least once."""
    return {name for name, seen in threads.items() if threading.main_thread() in seen}


@pytest.fixture(autouse=True)
def _operations_settle():
    """A GUI test ends with its operations done and their results delivered, while its widgets still exist."""
    yield
    import sys

    operations = sys.modules.get("gui.operations")
    if operations is not None:
        operations.wait_all()


@pytest.fixture
def message_boxes(monkeypatch):
    """GUI tests: message boxes would block offscreen, so their (title, text) are recorded instead; and no worker
    thread may outlive the test."""
    from PySide6.QtWidgets import QMessageBox

    from gui import operations

    shown: list[tuple[str, str]] = []
    for name in ("warning", "information", "critical"):
        monkeypatch.setattr(
            QMessageBox, name, staticmethod(lambda parent, title, text, *a, **k: shown.append((title, text)))
        )
    yield shown
    operations.wait_all()  # deliver what the last operations returned, before the widgets go
    assert not operations.LIVE_THREADS, "a worker thread outlived its test"


@pytest.fixture
def previews(monkeypatch, tmp_path):
    """GUI tests: a print preview would block offscreen. Instead each preview's PDF is kept, and the dialog's
    own page drawing is run onto a PDF printer, as the print button would run it; recorded as
    (title, the reports' PDF, the printed PDF, pages drawn)."""
    from PySide6.QtPrintSupport import QPrinter

    from gui import printing

    shown: list[tuple[str, Path, Path, int]] = []

    def fake_exec(dialog) -> None:
        n = len(shown)
        source = tmp_path / f"preview-{n}.pdf"
        shutil.copyfile(dialog.property("pdf"), source)
        printed = tmp_path / f"printed-{n}.pdf"
        printer = QPrinter(QPrinter.PrinterMode.ScreenResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(printed))
        printer.setPageLayout(dialog.printer().pageLayout())
        printer.setFullPage(True)
        pages = printing.render(printing.load(source), printer)
        shown.append((dialog.windowTitle(), source, printed, pages))

    monkeypatch.setattr(printing, "_exec", fake_exec)
    return shown
