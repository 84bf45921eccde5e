"""Issue 16, upgrades: a database of every released schema version (tests/golden/, made by that version's own
code, see tests/golden/build.py) upgrades to a schema equal to a fresh one — tables, columns, indexes by name,
foreign keys, triggers — with its rows intact; the indexes a fresh database gets are the ones the models
declare; two PostgreSQL starts at once migrate once."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
from pathlib import Path

import peewee as pw
import pytest

from core.database import close_database, open_database
from dao import db as dao_db
from dao import migrations, models
from dao.models import AuditLog, Contribution, PayerYear, Resident, SpecialList, SpecialListEntry
from tests import schema
from tests.test_migrations import _downgrade

GOLDEN = Path(__file__).parent / "golden"


def _golden() -> dict[int, Path]:
    return {int(p.stem.removeprefix("schema-v")): p for p in sorted(GOLDEN.glob("schema-v*.db"))}


def test_every_released_version_has_a_golden_database():
    """A new schema step means the version before it was released: build its file (tests/golden/build.py)."""
    assert set(_golden()) == set(range(2, migrations.LATEST))


@pytest.fixture(scope="module")
def fresh_sqlite(tmp_path_factory):
    path = tmp_path_factory.mktemp("fresh") / "fresh.db"
    open_database(f"sqlite:///{path}")
    try:
        yield schema.describe(dao_db.current())
    finally:
        close_database()


@pytest.mark.parametrize("version", sorted(_golden()))
def test_golden_database_upgrades_to_the_fresh_schema(version, tmp_path, fresh_sqlite):
    path = tmp_path / "office.db"
    shutil.copyfile(_golden()[version], path)
    assert migrations.current_version(pw.SqliteDatabase(str(path))) == version
    open_database(f"sqlite:///{path}")
    try:
        database = dao_db.current()
        assert migrations.current_version(database) == migrations.LATEST
        assert schema.differences(schema.describe(database), fresh_sqlite) == []
        assert database.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert database.execute_sql("PRAGMA foreign_key_check").fetchall() == []
        old = Resident.get(Resident.id_number == "371325198001010011")
        assert (old.name, old.birth_date, old.township.name) == ("老数据", dt.date(1980, 1, 1), "上冶镇")
        payment = Contribution.get(Contribution.voucher == "GOLD-1")
        assert (payment.resident_id, payment.amount_fen, payment.paid_on) == (
            old.id,
            30000,
            dt.date(2020, 3, 1),
        )
        summary = PayerYear.get(PayerYear.resident == old.id)
        assert (summary.year, summary.payments, summary.amount_fen) == (2020, 1, 30000)
        assert AuditLog.select().where(AuditLog.username == "golden").count() == 1
        if version >= 3:
            entry = SpecialListEntry.get()
            assert (
                entry.resident_id == old.id and SpecialList.get_by_id(entry.special_list_id).scope == "全县"
            )
        with pytest.raises(pw.IntegrityError):  # the history is still append-only
            AuditLog.delete().execute()
    finally:
        close_database()
    assert list(tmp_path.glob(f"office.db.v{version}-*.bak"))  # the file was backed up before the upgrade


def test_fresh_indexes_are_the_ones_the_models_declare():
    """``migrations.INDEXES`` names every index a fresh database gets; the models declare the same ones."""

    def key(table: str, unique: bool, columns: str) -> tuple:
        return table, unique, columns.replace('"', "").replace(" ", "")

    declared = set()
    for model in models.ALL_MODELS:
        for index in model._meta.fields_to_index():
            if isinstance(index, pw.SQL):  # CREATE INDEX "name" ON "table" (...)
                text = index.sql
                declared.add(
                    key(model._meta.table_name, "UNIQUE" in text, text.split("(", 1)[1].rsplit(")", 1)[0])
                )
            else:
                columns = ", ".join(f.column_name for f in index._expressions)
                declared.add(key(model._meta.table_name, index._unique, columns))
    declared.add(key("app_user", True, 'LOWER("username")'))  # created by SQL in step 11
    declared.add(key("app_user", True, '"db_role"'))
    listed = {key(t, u, c) for t, _name, u, c in migrations.INDEXES}
    assert listed == declared
    assert len({name for _t, name, _u, _c in migrations.INDEXES}) == len(migrations.INDEXES)


def test_two_postgres_starts_at_once_migrate_once(pg_schema, monkeypatch):
    """Two offices open an old database at the same moment: the advisory lock lets one migrate; the other
    waits, then finds it done."""
    open_database(pg_schema.url)
    _downgrade(dao_db.current(), migrations.LATEST - 1)
    close_database()
    runs = []
    step = migrations.STEPS[migrations.LATEST]

    def slow_step(database):
        runs.append(threading.get_ident())
        time.sleep(1.0)  # long enough for the other start to arrive
        step(database)

    monkeypatch.setitem(migrations.STEPS, migrations.LATEST, slow_step)
    results, errors = [], []

    def start():
        try:
            database, _ = dao_db.connect(pg_schema.url)
            try:
                results.append(migrations.upgrade(database))
            finally:
                dao_db.close(database)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and len(runs) == 1
    assert sorted(results) == [migrations.LATEST - 1, migrations.LATEST]
    open_database(pg_schema.url)
    stamped = [r[0] for r in dao_db.current().execute_sql("SELECT version FROM schema_version")]
    assert stamped.count(migrations.LATEST) == 1
