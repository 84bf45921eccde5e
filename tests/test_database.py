"""Opening databases: URL resolution, backends, and every way a database can be unusable."""

from __future__ import annotations

import hashlib
import os
import sqlite3

import pytest

from core.database import DatabaseOpenError, close_database, open_database
from dao import db as dao_db
from dao import migrations
from dao.models import PolicyYear, Township


def _hash(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_url_resolution_order(monkeypatch, tmp_path):
    monkeypatch.setenv("PENSION_DB_URL", "sqlite:///from-env.db")
    assert dao_db.resolve_url("sqlite:///cli.db") == "sqlite:///cli.db"
    assert dao_db.resolve_url(None) == "sqlite:///from-env.db"
    monkeypatch.delenv("PENSION_DB_URL")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert dao_db.resolve_url(None) == f"sqlite:///{tmp_path / 'pension-levy' / 'pension.db'}"


@pytest.mark.parametrize(
    "url, path",
    [("sqlite:///pension.db", "pension.db"), ("sqlite:////var/lib/x.db", "/var/lib/x.db"),
     ("sqlite:///C:\\Users\\li\\AppData\\Local\\pension-levy\\pension.db", "C:\\Users\\li\\AppData\\Local\\pension-levy\\pension.db"),
     ("sqlite:///C:/data/pension.db", "C:/data/pension.db"), ("sqlite:///%E8%B4%B9%E5%8E%BF.db", "费县.db")],
)  # fmt: skip
def test_sqlite_url_paths(url, path):
    assert str(dao_db.describe(url).path) == path


def test_relative_sqlite_path_is_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    open_database("sqlite:///office.db")
    close_database()
    assert (tmp_path / "office.db").exists()


def test_fresh_database_is_seeded_and_versioned(db):
    assert Township.select().count() == 12
    assert Township.get(Township.code == "371325115").name == "东蒙镇"
    p2020 = PolicyYear.get(PolicyYear.year == 2020)
    assert p2020.tiers[0] == 10000 and p2020.tiers[-1] == 500000 and len(p2020.tiers) == 12
    assert p2020.hardship_min_fen == 10000
    assert migrations.current_version(dao_db.current()) == migrations.LATEST


def test_sqlite_uses_wal_and_foreign_keys(sqlite_db):
    database = dao_db.current()
    assert database.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert database.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1


def test_reopening_is_idempotent(db_url):
    open_database(db_url)
    close_database()
    open_database(db_url)
    assert Township.select().count() == 12


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("mysql://root@localhost/x", "无法识别的数据库地址"),
        ("nonsense", "无法识别的数据库地址"),
        ("postgresql://postgres@127.0.0.1:1/test", "无法连接数据库服务器"),
        ("postgresql://postgres@127.0.0.1:5432/no_such_db_here", "没有这个数据库"),
    ],
)
def test_bad_urls_give_chinese_messages(url, fragment):
    with pytest.raises(DatabaseOpenError, match=fragment):
        open_database(url)


def test_corrupt_sqlite_file_is_refused_and_untouched(tmp_path):
    path = tmp_path / "broken.db"
    path.write_bytes(b"this is not a database at all" * 100)
    before = _hash(path)
    with pytest.raises(DatabaseOpenError, match="不是 SQLite 数据库或已损坏"):
        open_database(f"sqlite:///{path}")
    assert _hash(path) == before


def test_damaged_pages_are_refused(tmp_path):
    path = tmp_path / "damaged.db"
    open_database(f"sqlite:///{path}")
    close_database()
    raw = bytearray(path.read_bytes())
    raw[100:4096] = b"\xff" * (4096 - 100)  # the schema page
    path.write_bytes(bytes(raw))
    for extra in ("-wal", "-shm"):
        (tmp_path / f"damaged.db{extra}").unlink(missing_ok=True)
    before = _hash(path)
    with pytest.raises(DatabaseOpenError):
        open_database(f"sqlite:///{path}")
    assert _hash(path) == before


def test_read_only_check_uses_access(tmp_path, monkeypatch):
    """A file the process may not write is refused before anything touches it (patched: CI runs as root)."""
    path = tmp_path / "ro.db"
    open_database(f"sqlite:///{path}")
    close_database()
    before = _hash(path)
    real_access = os.access
    monkeypatch.setattr(
        dao_db.os, "access", lambda p, mode: False if mode == os.W_OK else real_access(p, mode)
    )
    with pytest.raises(DatabaseOpenError, match="只读"):
        open_database(f"sqlite:///{path}")
    assert _hash(path) == before


def test_newer_schema_is_refused_and_untouched(tmp_path):
    path = tmp_path / "future.db"
    open_database(f"sqlite:///{path}")
    close_database()
    con = sqlite3.connect(path)
    con.execute(
        "INSERT INTO schema_version (version, applied_at) VALUES (?, '2030-01-01')", (migrations.LATEST + 5,)
    )
    con.commit()
    con.close()
    before = _hash(path)
    with pytest.raises(DatabaseOpenError, match="比本程序支持的版本"):
        open_database(f"sqlite:///{path}")
    assert _hash(path) == before


def test_foreign_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE invoices (id INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(DatabaseOpenError, match="其他程序"):
        open_database(f"sqlite:///{path}")


def test_directory_as_database_is_refused(tmp_path):
    with pytest.raises(DatabaseOpenError, match="文件夹"):
        open_database(f"sqlite:///{tmp_path}")


def test_two_postgres_connections_see_each_others_writes(pg_schema):
    """Two PCs on one PostgreSQL database: one writes, the other reads it."""
    import peewee as pw

    from core.auth import create_user
    from dao.models import User

    open_database(pg_schema.url)
    second, _ = dao_db.connect(pg_schema.url)
    try:
        create_user(None, "first-pc", "password123", "管理员")
        with second.bind_ctx([User]):
            assert [u.username for u in User.select()] == ["first-pc"]
            User.update(display_name="改名").where(User.username == "first-pc").execute()
        assert User.get(User.username == "first-pc").display_name == "改名"
    finally:
        second.close()
    assert isinstance(dao_db.current(), pw.PostgresqlDatabase)


def test_bulk_writes_keep_every_character_and_type(db):
    """The bulk path (COPY on PostgreSQL, a scratch table for SQLite tables with triggers) stores text with
    tabs, line breaks, backslashes and quotes, NULLs, dates and big integers exactly."""
    import datetime as dt

    import peewee as pw

    from dao import bulk
    from dao.models import AuditLog, Contribution, Resident

    awkward = [
        "tab\there",
        "line\nbreak\r\n",
        "back\\slash \\N",
        "quote ' \" ;",
        "",
        "=1+1",
        "中文，全角　空格",
    ]
    bulk.insert_rows(AuditLog, ("entity_id", "before", "after"), [(str(n), text, text) for n, text in enumerate(awkward)],
                     {"at": dt.datetime(2020, 1, 2, 3, 4, 5), "username": "测试", "action": "x", "entity": "y"})  # fmt: skip
    stored = {int(e.entity_id): e for e in AuditLog.select().where(AuditLog.action == "x")}
    assert [stored[n].before for n in range(len(awkward))] == awkward
    assert stored[0].at == dt.datetime(2020, 1, 2, 3, 4, 5) and stored[0].username == "测试"

    town = Township.get().id
    bulk.insert_rows(Resident, ("id_number", "name", "sex", "birth_date", "township_id", "village_id", "phone"),
                     [("371325198001010011", "甲\t乙", "男", dt.date(1980, 1, 1), town, None, "")],
                     {"status": "正常参保", "household_type": "", "enrolled_on": None, "created_at": dt.datetime(2020, 1, 1),
                      "updated_at": dt.datetime(2020, 1, 1), "version": 1})  # fmt: skip
    person = Resident.get()
    assert (person.name, person.birth_date, person.village_id, person.enrolled_on) == (
        "甲\t乙",
        dt.date(1980, 1, 1),
        None,
        None,
    )
    bulk.insert_rows(Contribution, ("resident_id", "year", "amount_fen", "voucher", "paid_on"),
                     [(person.id, 2020, 9_000_000_000_000, "V\\1", None)],
                     {"tier_fen": None, "payer": "个人", "kind": "正常应缴", "channel": "", "created_at": dt.datetime(2020, 1, 1)})  # fmt: skip
    paid = Contribution.get()
    assert (paid.amount_fen, paid.voucher, paid.paid_on) == (9_000_000_000_000, "V\\1", None)
    with pytest.raises(pw.IntegrityError):  # driver errors arrive as peewee's, whatever the path
        bulk.insert_rows(Contribution, ("resident_id", "year", "amount_fen", "voucher"), [(person.id, 2020, 1, "V\\1")],
                         {"payer": "个人", "kind": "正常应缴", "channel": "", "created_at": dt.datetime(2020, 1, 1)})  # fmt: skip
