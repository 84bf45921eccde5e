"""Database connection: one deferred proxy, bound at start-up to SQLite or PostgreSQL by URL."""

from __future__ import annotations

import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import peewee
from playhouse.db_url import parse as parse_db_url

from dao import sqlite_files

log = logging.getLogger(__name__)

db_proxy = peewee.DatabaseProxy()

ENV_URL = "PENSION_DB_URL"
SQLITE_MAGIC = b"SQLite format 3\x00"


class DatabaseOpenError(Exception):
    """The database cannot be used; the message is for the user, in Chinese."""


LOST_MESSAGE = "与数据库的连接中断，本次操作未保存，请重试。"


class ConnectionLost(Exception):
    """The server connection died under a write (or under a read that could not be repeated). The
    transaction is gone with it: nothing of it was saved. core.errors.ConnectionLost (a UserError) is what
    is raised once core is loaded."""


lost_error: type[Exception] = ConnectionLost  # replaced by core.errors.ConnectionLost


def _is_read(sql: str) -> bool:
    head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    return head in ("SELECT", "SHOW")


class AppPostgresqlDatabase(peewee.PostgresqlDatabase):
    """PostgreSQL over an office network that drops now and then (a server restart, pg_terminate_backend).

    A dead connection is noticed on the next statement: outside a transaction a read is repeated on a new
    connection, and so is the BEGIN that opens a transaction (nothing has happened yet). A statement or COMMIT
    inside a transaction cannot be repeated: the server has rolled the transaction back, so ``lost_error``
    (Chinese: try again) is raised, the transaction blocks unwind without touching the dead connection, and
    the next action reconnects.

    A thread's connection, when closed, is kept for the next thread instead of being closed (a small pool):
    the GUI runs each action in a new worker thread, and a new connection costs several round trips (TCP,
    TLS, password exchange) — most of a tab's first load over a 20 ms network. Only a healthy connection
    with no transaction open is kept; when one turns out dead, the kept ones are dropped with it (a server
    restart kills them all)."""

    IDLE_KEPT = 4  # more than the workers a window runs at once

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._idle: list = []
        self._idle_lock = threading.Lock()

    def _connect(self):  # type: ignore[no-untyped-def]
        with self._idle_lock:
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed:
                    return conn
        return super()._connect()

    def _close(self, conn) -> None:  # type: ignore[no-untyped-def]
        idle = not conn.closed and conn.info.transaction_status == 0  # TRANSACTION_STATUS_IDLE
        with self._idle_lock:
            if idle and len(self._idle) < self.IDLE_KEPT:
                self._idle.append(conn)
                return
        super()._close(conn)

    def close_idle(self) -> None:
        """Close the kept connections (the program ends, the user logs out, or the server dropped them)."""
        with self._idle_lock:
            kept, self._idle = self._idle, []
        for conn in kept:
            try:
                conn.close()
            except Exception:
                pass

    def _dead(self) -> bool:
        conn = self._state.conn
        return conn is None or bool(getattr(conn, "closed", 0))

    def _drop(self) -> None:
        """Forget the dead connection, keeping the transaction stack for the blocks that are unwinding."""
        conn = self._state.conn
        try:
            if conn is not None:
                conn.close()
        except Exception:
            pass
        self._state.conn = None
        self._state.closed = True
        self._state.lost = True  # type: ignore[attr-defined]
        self.close_idle()  # they died with it: a reconnect must not pick up another dead one

    def _lost_in_transaction(self) -> bool:
        return bool(getattr(self._state, "lost", False)) and self.in_transaction()

    def execute_sql(self, sql, params=None, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        if self._lost_in_transaction():
            raise lost_error(LOST_MESSAGE)  # a later statement of a transaction whose connection died
        try:
            return super().execute_sql(sql, params, *args, **kwargs)
        except (peewee.InterfaceError, peewee.OperationalError) as exc:
            if not self._dead():
                raise
            in_transaction = self.in_transaction()
            self._drop()
            if in_transaction or not _is_read(sql):
                log.warning("connection to PostgreSQL lost during a write: %s", str(exc).strip())
                raise lost_error(LOST_MESSAGE) from exc
            log.warning("connection to PostgreSQL lost; reconnected for a read: %s", str(exc).strip())
            self._state.lost = False  # type: ignore[attr-defined]
            return super().execute_sql(sql, params, *args, **kwargs)  # autoconnects

    def begin(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return super().begin(*args, **kwargs)
        except (peewee.InterfaceError, peewee.OperationalError) as exc:
            if not self._dead():
                raise
            log.warning(
                "connection to PostgreSQL lost before a transaction; reconnected: %s", str(exc).strip()
            )
            self._drop()
            self._state.lost = False  # type: ignore[attr-defined]
            return super().begin(*args, **kwargs)

    def commit(self):  # type: ignore[no-untyped-def]
        if self._lost_in_transaction():
            raise lost_error(LOST_MESSAGE)
        try:
            return super().commit()
        except (peewee.InterfaceError, peewee.OperationalError) as exc:
            if not self._dead():
                raise
            self._drop()
            raise lost_error(LOST_MESSAGE) from exc

    def rollback(self):  # type: ignore[no-untyped-def]
        if self.is_closed() and getattr(self._state, "lost", False):
            return None  # the server rolled it back when the connection died
        try:
            return super().rollback()
        except (peewee.InterfaceError, peewee.OperationalError):
            if not self._dead():
                raise
            self._drop()
            return None

    def pop_transaction(self):  # type: ignore[no-untyped-def]
        popped = super().pop_transaction()
        if not self.in_transaction():
            self._state.lost = False  # type: ignore[attr-defined]  # the next action starts afresh
        return popped

    def connect(self, reuse_if_open: bool = False):  # type: ignore[no-untyped-def, override]
        if self._state.closed and self.in_transaction():
            raise lost_error(LOST_MESSAGE)  # never a new connection in the middle of a dead transaction
        return super().connect(reuse_if_open)


@dataclass(frozen=True)
class DbInfo:
    url: str
    backend: str  # "sqlite" | "postgresql"
    label: str  # what the status bar shows: file path or host/db
    path: Path | None = None  # SQLite file


def default_data_dir() -> Path:
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "pension-levy"


def resolve_url(cli_url: str | None) -> str:
    """--db URL, else $PENSION_DB_URL, else a SQLite file in the user's data directory."""
    if cli_url:
        return cli_url
    if os.environ.get(ENV_URL):
        return os.environ[ENV_URL]
    return f"sqlite:///{default_data_dir() / 'pension.db'}"


def describe(url: str) -> DbInfo:
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme in ("sqlite", "sqlite3"):
        raw = unquote(parsed.path)
        # As in peewee and SQLAlchemy: sqlite:///relative.db, sqlite:////absolute.db, sqlite:///C:\dir\x.db
        path = Path(raw[1:] if raw.startswith("/") else raw) if raw else None
        if path is None or str(path) in ("", "/"):
            raise DatabaseOpenError(f"数据库地址缺少文件路径：{url}")
        return DbInfo(url, "sqlite", str(path), path)
    if scheme in ("postgresql", "postgres", "postgresext", "postgresqlext"):
        host = parsed.hostname or "localhost"
        port = parsed.port or 5432
        name = parsed.path.lstrip("/") or "(未指定数据库)"
        return DbInfo(url, "postgresql", f"{host}:{port}/{name}")
    raise DatabaseOpenError(
        f"无法识别的数据库地址：{url}\n应为 sqlite:///文件路径 或 postgresql://用户@主机:端口/数据库"
    )


def _check_sqlite_file(path: Path, *, create: bool) -> None:
    if path.exists():
        if path.is_dir():
            raise DatabaseOpenError(f"数据库路径是一个文件夹，不是数据库文件：{path}")
        if not os.access(path, os.R_OK):
            raise DatabaseOpenError(f"没有读取数据库文件的权限：{path}")
        if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
            raise DatabaseOpenError(f"数据库文件或其所在文件夹是只读的，无法写入：{path}")
        size = path.stat().st_size
        if size:
            with path.open("rb") as fh:
                head = fh.read(len(SQLITE_MAGIC))
            if head != SQLITE_MAGIC:
                raise DatabaseOpenError(f"文件不是 SQLite 数据库或已损坏：{path}")
        return
    if not create:
        raise DatabaseOpenError(f"数据库文件不存在：{path}")
    try:
        sqlite_files.make_private_dir(path.parent)  # 0700 when the program creates it
    except OSError as exc:
        raise DatabaseOpenError(f"无法创建数据库所在文件夹 {path.parent}：{exc.strerror}") from exc
    if not os.access(path.parent, os.W_OK):
        raise DatabaseOpenError(f"数据库所在文件夹是只读的，无法创建数据库：{path.parent}")
    try:
        sqlite_files.create_private(path)  # 0600: on one PC the file is the security boundary
    except OSError as exc:
        raise DatabaseOpenError(f"无法创建数据库文件 {path}：{exc.strerror}") from exc


def connect(url: str, *, create: bool = True) -> tuple[peewee.Database, DbInfo]:
    """Open (not yet bind) a database for a URL; every failure is a DatabaseOpenError in Chinese."""
    info = describe(url)
    if info.backend == "sqlite":
        assert info.path is not None
        _check_sqlite_file(info.path, create=create)
        db: peewee.Database = peewee.SqliteDatabase(
            str(info.path),
            pragmas={
                "journal_mode": "wal",
                "foreign_keys": 1,
                "busy_timeout": 10000,
                "synchronous": "normal",
                "cache_size": -65536,  # 64 MB: index pages of a 500,000-resident roster stay in memory
            },
            check_same_thread=False,
        )
    else:
        try:
            params = parse_db_url(url.replace("postgres://", "postgresql://", 1))
        except Exception as exc:  # malformed port and the like
            raise DatabaseOpenError(f"数据库地址格式不正确：{url}（{exc}）") from exc
        params.setdefault("connect_timeout", 5)
        name = params.pop("database", None)
        if not name:
            raise DatabaseOpenError(f"数据库地址缺少数据库名：{url}")
        db = AppPostgresqlDatabase(name, **params)
    try:
        db.connect()
        db.execute_sql("SELECT 1")
    except peewee.DatabaseError as exc:
        db.close() if not db.is_closed() else None
        raise DatabaseOpenError(_explain_connect_error(info, exc)) from exc
    if info.path is not None:
        try:  # every running instance holds <db>.instances shared: a restore waits for none of them
            sqlite_files.hold_instance(info.path)
        except OSError as exc:
            db.close()
            raise DatabaseOpenError(
                f"无法建立数据库的使用登记文件 {info.path}.instances：{exc.strerror}"
            ) from exc
        db.instance_path = info.path  # type: ignore[attr-defined]
    return db, info


def close(db: peewee.Database) -> None:
    """Close a database opened by ``connect`` and let go of its instance registration."""
    try:
        if not db.is_closed():
            db.close()
        if isinstance(db, AppPostgresqlDatabase):
            db.close_idle()
    finally:
        path = getattr(db, "instance_path", None)
        if path is not None:
            db.instance_path = None  # type: ignore[attr-defined]
            sqlite_files.release_instance(path)


def _explain_connect_error(info: DbInfo, exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if info.backend == "sqlite":
        if "not a database" in text or "malformed" in text:
            return f"文件不是 SQLite 数据库或已损坏：{info.label}"
        if "readonly" in text or "read-only" in text:
            return f"数据库文件是只读的，无法写入：{info.label}"
        return f"无法打开数据库文件 {info.label}：{text}"
    if "does not exist" in text:
        return f"数据库服务器上没有这个数据库：{info.label}（{text}）"
    if "authentication" in text or "password" in text:
        return f"数据库用户名或密码不正确：{info.label}"
    return f"无法连接数据库服务器 {info.label}：{text}"


def bind(db: peewee.Database) -> None:
    db_proxy.initialize(db)


def current() -> peewee.Database:
    if db_proxy.obj is None:
        raise RuntimeError("database not bound")
    return db_proxy.obj


def is_postgres(db: peewee.Database | None = None) -> bool:
    return isinstance(db or current(), peewee.PostgresqlDatabase)
