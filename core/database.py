"""Opening the application's database: connect, check, migrate, seed reference data."""

from __future__ import annotations

import peewee as pw

from core import policy, regions
from dao import db as dao_db
from dao import migrations
from dao.db import DatabaseOpenError, DbInfo

__all__ = ["DatabaseOpenError", "DbInfo", "describe", "open_database"]


def describe(url: str | None) -> DbInfo:
    """What a URL (or $PENSION_DB_URL, or the default file) points at, without connecting."""
    return dao_db.describe(dao_db.resolve_url(url))


def open_database(url: str | None = None, *, create: bool = True) -> DbInfo:
    """Resolve the URL (--db, $PENSION_DB_URL, default file), connect, upgrade, seed and bind.

    Raises DatabaseOpenError with a Chinese message; a failure leaves the database as it was.
    """
    resolved = dao_db.resolve_url(url)
    database, info = dao_db.connect(resolved, create=create)
    try:
        try:
            migrations.upgrade(database, info.path)
        except DatabaseOpenError:
            raise
        except pw.DatabaseError as exc:
            raise DatabaseOpenError(f"数据库无法读取或升级（{info.label}）：{exc}") from exc
        except Exception as exc:  # a failed migration step: its transaction has been rolled back
            raise DatabaseOpenError(f"数据库升级失败，已撤销本次升级（{info.label}）：{exc}") from exc
        dao_db.bind(database)
        # Each seeds in its own transaction only when something is missing: an everyday start reads two
        # short lists and writes nothing (a round trip saved is 20 ms for a township office).
        regions.seed_townships()
        policy.seed_policy_years()
    except BaseException:
        dao_db.close(database)
        raise
    return info


def close_database() -> None:
    if dao_db.db_proxy.obj is not None:
        dao_db.close(dao_db.db_proxy.obj)


def close_thread_connection() -> None:
    """Close the calling thread's connection only (peewee keeps one per thread): a GUI worker ends with it.
    The database stays open for the program, with its instance registration (dao.db.close lets that go)."""
    db = dao_db.db_proxy.obj
    if db is not None and not db.is_closed():
        db.close()
