"""A database created at version N-1 upgrades to N with its data intact, to the same schema as a fresh one."""

from __future__ import annotations

import datetime as dt
import sqlite3

import peewee as pw
import pytest
from playhouse.migrate import SchemaMigrator, migrate

from core.database import DatabaseOpenError, close_database, open_database
from dao import db as dao_db
from dao import migrations
from dao.models import PayerYear, Resident, SpecialList, Township
from tests import schema


def _columns(database) -> dict[str, set[str]]:
    tables = migrations.table_names(database)
    return {t: {c.name for c in database.get_columns(t)} for t in tables}


def _undo_3(database) -> None:
    for table in ("government_payment", "special_list_entry", "special_list"):
        database.execute_sql(f'DROP TABLE "{table}"')


def _undo_2(database) -> None:
    migrator = SchemaMigrator.from_database(database)
    legacy = {} if isinstance(database, pw.PostgresqlDatabase) else {"legacy": True}  # rebuild: FK column
    migrate(*(migrator.drop_column(t, "import_log_id", **legacy) for t in ("resident", "contribution")))
    database.execute_sql('DROP TABLE "import_log"')
    database.execute_sql('DROP TABLE "app_setting"')


def _undo_4(database) -> None:
    for table in ("refund_candidate", "arrears_line", "arrears_assessment"):
        database.execute_sql(f'DROP TABLE "{table}"')
    migrator = SchemaMigrator.from_database(database)
    migrate(migrator.drop_column("policy_year", "tier_subsidies_fen"))


def _undo_5(database) -> None:
    for table in ("refund_event", "refund_item", "refund_case"):
        database.execute_sql(f'DROP TABLE "{table}"')


def _undo_6(database) -> None:
    for table in ("handoff_line", "handoff_batch"):
        database.execute_sql(f'DROP TABLE "{table}"')


def _undo_7(database) -> None:
    migrator = SchemaMigrator.from_database(database)
    migrate(
        migrator.drop_index("resident", "resident_area_stats"),
        migrator.add_index("resident", ("township_id", "village_id", "id"), False),
        migrator.drop_index("contribution", "contribution_year_stats"),
        migrator.add_index("contribution", ("year",), False),
    )


def _undo_8(database) -> None:
    if isinstance(database, pw.PostgresqlDatabase):
        database.execute_sql('DROP TRIGGER payer_year_sync ON "contribution"')
        database.execute_sql('DROP TRIGGER payer_year_move ON "resident"')
    else:
        for name in ("insert", "delete", "update", "move"):
            database.execute_sql(f"DROP TRIGGER payer_year_{name}")
    database.execute_sql('DROP TABLE "payer_year"')


def _undo_9(database) -> None:
    database.execute_sql('DROP TABLE "import_change"')
    migrator = SchemaMigrator.from_database(database)
    legacy = {} if isinstance(database, pw.PostgresqlDatabase) else {"legacy": True}
    migrate(
        migrator.drop_column("import_log", "changes", **legacy),
        *(migrator.drop_column("special_list", c, **legacy)
          for c in ("scope", "replaces", "import_log_id", "undone_by", "undone_at", "handoff_mark")),
        migrator.drop_column("village", "registered", **legacy),
    )  # fmt: skip


def _undo_10(database) -> None:
    migrator = SchemaMigrator.from_database(database)
    migrate(migrator.drop_column("refund_event", "day"), migrator.drop_column("handoff_batch", "file_format"))


def _undo_11(database) -> None:
    for index in ("app_user_username_nocase", "app_user_db_role"):
        database.execute_sql(f'DROP INDEX "{index}"')
    database.execute_sql('ALTER TABLE "app_user" DROP COLUMN "db_role"')


def _undo_12(database) -> None:
    database.execute_sql('DROP TABLE "resident_event"')


def _undo_13(database) -> None:
    """Nothing: a fresh database of version 12 already had the names and keys step 13 gives an upgraded one."""


UNDO = {
    13: _undo_13,
    12: _undo_12,
    11: _undo_11,
    10: _undo_10,
    9: _undo_9,
    8: _undo_8,
    7: _undo_7,
    6: _undo_6,
    5: _undo_5,
    4: _undo_4,
    3: _undo_3,
    2: _undo_2,
}  # what each step added, taken away by hand: an older database


def _downgrade(database, version: int) -> None:
    for step in sorted((s for s in migrations.STEPS if s > version), reverse=True):  # numbers may have gaps
        UNDO[step](database)
    database.execute_sql("DELETE FROM schema_version")
    database.execute_sql(f"INSERT INTO schema_version (version, applied_at) VALUES ({version}, '2020-01-01')")


def test_every_step_has_an_undo_for_this_test():
    assert set(UNDO) == set(migrations.STEPS) and max(migrations.STEPS) == migrations.LATEST
    assert set(migrations.STEPS) <= set(range(2, migrations.LATEST + 1))


@pytest.mark.parametrize("old_version", sorted({migrations.LATEST - 1, 11, 9, 8, 1}, reverse=True))
def test_upgrade_from_previous_version_keeps_data(db_url, tmp_path, old_version):
    open_database(db_url)
    fresh_schema = _columns(dao_db.current())
    fresh_whole = schema.describe(dao_db.current())
    database = dao_db.current()
    _downgrade(database, old_version)
    town = Township.get(Township.name == "上冶镇")
    database.execute_sql(
        "INSERT INTO resident (id_number, name, sex, birth_date, township_id, phone, household_type, status,"
        f" enrolled_on, created_at, updated_at, version) VALUES ('371325198001010011', '老数据', '男', '1980-01-01',"
        f" {town.id}, '', '', '正常参保', '2020-01-01', '2020-01-01', '2020-01-01', 1)"  # the import day, invented
    )
    database.execute_sql(  # a payment made before the upgrade is counted in the payers' summary
        "INSERT INTO contribution (resident_id, year, amount_fen, tier_fen, payer, kind, channel, paid_on, voucher,"
        " created_at) SELECT id, 2020, 30000, 30000, '个人', '正常应缴', '', '2020-03-01', 'OLD-1', '2020-03-01'"
        " FROM resident WHERE id_number = '371325198001010011'"
    )
    if (
        3 <= old_version <= 8
    ):  # two lists (as schema 8 had them), the second replacing the first: step 9 finds
        # what each replaced
        for n, current, replaced_by in ((2, True, None), (1, False, 2)):  # the newer first: the key
            database.execute_sql(
                'INSERT INTO special_list (id, year, department, "group", file_name, sha256, username, imported_at,'
                " current, replaced_by_id, people, added, removed, unchanged) VALUES"
                f" ({n}, 2020, '民政', '低保对象', 'v{n}.xlsx', 'x', 'u', '2020-01-01', {'true' if current else 'false'},"
                f" {replaced_by or 'NULL'}, 0, 0, 0, 0)"
            )
    assert migrations.current_version(database) == old_version
    close_database()

    open_database(db_url)  # runs step 2
    database = dao_db.current()
    assert migrations.current_version(database) == migrations.LATEST
    assert _columns(database) == fresh_schema
    assert schema.differences(schema.describe(database), fresh_whole) == []  # names, keys, triggers too
    old = Resident.get(Resident.id_number == "371325198001010011")
    assert old.name == "老数据" and old.birth_date == dt.date(1980, 1, 1) and old.import_log_id is None
    if old_version < 10:
        assert old.enrolled_on is None  # step 10: an enrolment date no file gave is unknown
    summary = PayerYear.get(PayerYear.resident == old.id)
    assert (summary.year, summary.payments, summary.personal, summary.amount_fen, summary.first_day) == (
        2020,
        1,
        1,
        30000,
        dt.date(2020, 3, 1),
    )
    assert summary.township_id == town.id
    if 3 <= old_version <= 8:
        lists = list(SpecialList.select().order_by(SpecialList.id))
        assert [(x.replaces, x.scope, x.undone_at) for x in lists] == [
            (None, "全县", None),
            (1, "全县", None),
        ]


def test_sqlite_is_backed_up_before_migrating(tmp_path):
    path = tmp_path / "office.db"
    open_database(f"sqlite:///{path}")
    _downgrade(dao_db.current(), 1)
    close_database()
    open_database(f"sqlite:///{path}")
    backups = list(tmp_path.glob("office.db.v1-*.bak"))
    assert len(backups) == 1
    con = sqlite3.connect(backups[0])
    assert con.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 1
    con.close()


def test_failed_step_rolls_back(tmp_path, monkeypatch):
    path = tmp_path / "office.db"
    open_database(f"sqlite:///{path}")
    _downgrade(dao_db.current(), 1)
    close_database()

    def broken(database):
        database.execute_sql('CREATE TABLE "half_done" (id INTEGER)')
        raise RuntimeError("boom")

    monkeypatch.setitem(migrations.STEPS, 2, broken)
    with pytest.raises(DatabaseOpenError, match="升级失败"):
        open_database(f"sqlite:///{path}")
    close_database()
    con = sqlite3.connect(path)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "half_done" not in tables
    assert con.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 1
    con.close()
