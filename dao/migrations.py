"""Schema versions.

A fresh database is created from the models and stamped with ``LATEST``. An older database runs one step
per version, each in its own transaction; a SQLite file is backed up first. Steps use the migrator and table
names only, never the live model classes (which describe the newest schema and would add columns twice).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import peewee as pw
from playhouse.migrate import SchemaMigrator, migrate

from dao import models, payer_year, pg_security, sqlite_files
from dao.db import DatabaseOpenError

LATEST = 13


def _step_2(db: pw.Database) -> None:
    """Import log (every file fed to an importer; rows point at the import that made them) and settings."""

    class ImportLogV2(pw.Model):
        kind = pw.CharField(max_length=20, index=True)
        file_name = pw.CharField(max_length=255)
        sha256 = pw.CharField(max_length=64, index=True)
        username = pw.CharField(max_length=60)
        started_at = pw.DateTimeField()
        rows = pw.IntegerField(default=0)
        imported = pw.IntegerField(default=0)
        updated = pw.IntegerField(default=0)
        unchanged = pw.IntegerField(default=0)
        rejected = pw.IntegerField(default=0)
        warnings = pw.IntegerField(default=0)
        township_id = pw.IntegerField(null=True)

        class Meta:
            database = db
            table_name = "import_log"

    class AppSettingV2(pw.Model):
        key = pw.CharField(max_length=60, primary_key=True)
        value = pw.TextField(default="")

        class Meta:
            database = db
            table_name = "app_setting"

    db.create_tables([ImportLogV2, AppSettingV2])
    migrator = SchemaMigrator.from_database(db)
    migrate(
        migrator.add_column("resident", "import_log_id", pw.IntegerField(null=True)),
        migrator.add_column("contribution", "import_log_id", pw.IntegerField(null=True)),
    )


def _step_3(db: pw.Database) -> None:
    """Special groups: departments' lists, their entries, and the 政府代缴 list."""

    class Base(pw.Model):
        class Meta:
            database = db

    class SpecialListV3(Base):
        year = pw.IntegerField(index=True)
        department = pw.CharField(max_length=8)
        group = pw.CharField(max_length=20)
        file_name = pw.CharField(max_length=255)
        sha256 = pw.CharField(max_length=64, index=True)
        username = pw.CharField(max_length=60)
        imported_at = pw.DateTimeField()
        current = pw.BooleanField(default=True)
        replaced_by = pw.ForeignKeyField("self", null=True, on_delete="SET NULL")
        people = pw.IntegerField(default=0)
        added = pw.IntegerField(default=0)
        removed = pw.IntegerField(default=0)
        unchanged = pw.IntegerField(default=0)

        class Meta:
            table_name = "special_list"
            indexes = ((("year", "department", "group", "current"), False),)

    class ResidentRef(Base):
        class Meta:
            table_name = "resident"

    class SpecialListEntryV3(Base):
        special_list = pw.ForeignKeyField(SpecialListV3, on_delete="CASCADE")
        row = pw.IntegerField()
        id_number = pw.CharField(max_length=18, index=True)
        name = pw.CharField(max_length=60)
        township_text = pw.CharField(max_length=40, default="")
        village_text = pw.CharField(max_length=60, default="")
        resident = pw.ForeignKeyField(ResidentRef, null=True, on_delete="RESTRICT", index=True)
        status = pw.CharField(max_length=8)

        class Meta:
            table_name = "special_list_entry"
            indexes = ((("special_list", "id_number"), True),)

    class GovernmentPaymentV3(Base):
        resident = pw.ForeignKeyField(ResidentRef, on_delete="RESTRICT")
        year = pw.IntegerField(index=True)
        amount_fen = pw.BigIntegerField()
        groups = pw.CharField(max_length=80)
        state = pw.CharField(max_length=8, index=True)
        handoff_batch_id = pw.IntegerField(null=True)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        version = pw.IntegerField(default=1)

        class Meta:
            table_name = "government_payment"
            indexes = ((("resident", "year"), True),)

    db.create_tables([SpecialListV3, SpecialListEntryV3, GovernmentPaymentV3])


def _step_4(db: pw.Database) -> None:
    """Arrears assessments and their lines, refund candidates from the ledger, subsidies per tier."""

    class Base(pw.Model):
        class Meta:
            database = db

    def ref(table: str) -> type[pw.Model]:
        return type(f"Ref_{table}", (Base,), {"Meta": type("Meta", (), {"table_name": table})})

    resident_t, township_t, contribution_t = ref("resident"), ref("township"), ref("contribution")

    class ArrearsAssessmentV4(Base):
        resident = pw.ForeignKeyField(resident_t, on_delete="RESTRICT", index=True)
        township = pw.ForeignKeyField(township_t, on_delete="RESTRICT")
        status = pw.CharField(max_length=8, index=True)
        sheet_year = pw.IntegerField(null=True)
        sheet_seq = pw.IntegerField(null=True)
        total_fen = pw.BigIntegerField(default=0)
        declared_by = pw.CharField(max_length=60)
        declared_at = pw.DateTimeField()
        assessed_by = pw.CharField(max_length=60, default="")
        assessed_at = pw.DateTimeField(null=True)
        paid_at = pw.DateTimeField(null=True)
        void_reason = pw.CharField(max_length=200, default="")
        voided_by = pw.CharField(max_length=60, default="")
        version = pw.IntegerField(default=1)

        class Meta:
            table_name = "arrears_assessment"
            indexes = ((("township", "sheet_year", "sheet_seq"), True),)

    class ArrearsLineV4(Base):
        assessment = pw.ForeignKeyField(ArrearsAssessmentV4, on_delete="CASCADE")
        year = pw.IntegerField()
        tier_fen = pw.BigIntegerField()
        amount_fen = pw.BigIntegerField()
        subsidy_fen = pw.BigIntegerField(default=0)
        contribution = pw.ForeignKeyField(contribution_t, null=True, on_delete="SET NULL")

        class Meta:
            table_name = "arrears_line"

    class RefundCandidateV4(Base):
        contribution = pw.ForeignKeyField(contribution_t, on_delete="CASCADE")
        code = pw.CharField(max_length=40)
        message = pw.CharField(max_length=200)
        amount_fen = pw.BigIntegerField()
        status = pw.CharField(max_length=8, index=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "refund_candidate"
            indexes = ((("contribution", "code"), True),)

    db.create_tables([ArrearsAssessmentV4, ArrearsLineV4, RefundCandidateV4])
    migrate(
        SchemaMigrator.from_database(db).add_column(
            "policy_year", "tier_subsidies_fen", pw.TextField(default="")
        )
    )


def _step_5(db: pw.Database) -> None:
    """Refund cases, the payments they refund, and their append-only event ledger."""

    class Base(pw.Model):
        class Meta:
            database = db

    def ref(table: str) -> type[pw.Model]:
        return type(f"Ref_{table}", (Base,), {"Meta": type("Meta", (), {"table_name": table})})

    resident_t, township_t, contribution_t, candidate_t = (
        ref("resident"), ref("township"), ref("contribution"), ref("refund_candidate"),
    )  # fmt: skip

    class RefundCaseV5(Base):
        case_no = pw.CharField(max_length=30, unique=True)
        resident = pw.ForeignKeyField(resident_t, on_delete="RESTRICT", index=True)
        township = pw.ForeignKeyField(township_t, on_delete="RESTRICT", index=True)
        insurance = pw.CharField(max_length=8)
        reason = pw.CharField(max_length=20)
        reason_text = pw.CharField(max_length=200, default="")
        amount_fen = pw.BigIntegerField()
        account_name = pw.CharField(max_length=60)
        account_no = pw.CharField(max_length=40)
        bank_name = pw.CharField(max_length=60)
        documents = pw.CharField(max_length=200, default="")
        state = pw.CharField(max_length=8, index=True)
        batch_month = pw.CharField(max_length=7, default="", index=True)
        fund_month = pw.CharField(max_length=7, default="", index=True)
        entered_by = pw.CharField(max_length=60)
        entered_at = pw.DateTimeField()
        passed_by = pw.CharField(max_length=60, default="")
        reviewed_by = pw.CharField(max_length=60, default="")
        paid_on = pw.DateField(null=True)
        bank_ref = pw.CharField(max_length=60, default="")
        note = pw.CharField(max_length=200, default="")
        candidate = pw.ForeignKeyField(candidate_t, null=True, on_delete="SET NULL")
        handoff_batch_id = pw.IntegerField(null=True)
        version = pw.IntegerField(default=1)

        class Meta:
            table_name = "refund_case"

    class RefundItemV5(Base):
        case = pw.ForeignKeyField(RefundCaseV5, on_delete="CASCADE")
        contribution = pw.ForeignKeyField(contribution_t, on_delete="RESTRICT", index=True)
        amount_fen = pw.BigIntegerField()
        lock = pw.IntegerField(null=True, unique=True)

        class Meta:
            table_name = "refund_item"

    class RefundEventV5(Base):
        case = pw.ForeignKeyField(RefundCaseV5, on_delete="RESTRICT", index=True)
        at = pw.DateTimeField()
        username = pw.CharField(max_length=60)
        action = pw.CharField(max_length=12)
        from_state = pw.CharField(max_length=8, default="")
        to_state = pw.CharField(max_length=8)
        note = pw.CharField(max_length=200, default="")

        class Meta:
            table_name = "refund_event"

    db.create_tables([RefundCaseV5, RefundItemV5, RefundEventV5])
    _append_only(db, "refund_event")


def _step_6(db: pw.Database) -> None:
    """Handoff batches to the tax side and the lines they carried."""

    class Base(pw.Model):
        class Meta:
            database = db

    class HandoffBatchV6(Base):
        batch_no = pw.CharField(max_length=40, unique=True)
        kind = pw.CharField(max_length=10)
        month = pw.CharField(max_length=7)
        seq = pw.IntegerField()
        is_correction = pw.BooleanField(default=False)
        state = pw.CharField(max_length=8, index=True)
        records = pw.IntegerField(default=0)
        total_fen = pw.BigIntegerField(default=0)
        files = pw.TextField(default="")
        note = pw.CharField(max_length=200, default="")
        created_by = pw.CharField(max_length=60)
        created_at = pw.DateTimeField()
        sent_by = pw.CharField(max_length=60, default="")
        sent_at = pw.DateTimeField(null=True)
        cancelled_by = pw.CharField(max_length=60, default="")

        class Meta:
            table_name = "handoff_batch"
            indexes = ((("kind", "month", "seq"), True),)

    class HandoffLineV6(Base):
        batch = pw.ForeignKeyField(HandoffBatchV6, on_delete="RESTRICT", index=True)
        line_no = pw.IntegerField()
        record_id = pw.IntegerField()
        amount_fen = pw.BigIntegerField()
        values = pw.TextField()
        corrects = pw.ForeignKeyField("self", null=True, on_delete="RESTRICT")
        claim = pw.CharField(max_length=30, null=True, unique=True)
        feedback = pw.CharField(max_length=8, default="")
        feedback_reason = pw.CharField(max_length=200, default="")

        class Meta:
            table_name = "handoff_line"

    db.create_tables([HandoffBatchV6, HandoffLineV6])


def _step_7(db: pw.Database) -> None:
    """Covering indexes for the statistics (500,000 residents, 1,000,000 payments)."""
    migrator = SchemaMigrator.from_database(db)
    migrate(
        migrator.drop_index("resident", "resident_township_id_village_id_id"),
        migrator.add_index("resident", ("township_id", "village_id", "status", "enrolled_on"), False),
        migrator.drop_index("contribution", "contribution_year"),
        migrator.add_index(
            "contribution",
            ("year", "kind", "resident_id", "payer", "amount_fen", "paid_on", "tier_fen"),
            False,
        ),
    )


def _step_8(db: pw.Database) -> None:
    """The paying residents per year (``payer_year``), kept by triggers, counted once from the payments."""

    class Base(pw.Model):
        class Meta:
            database = db

    class ResidentRef(Base):
        class Meta:
            table_name = "resident"

    class PayerYearV8(Base):
        resident = pw.ForeignKeyField(ResidentRef, on_delete="RESTRICT", index=False)
        year = pw.IntegerField()
        township_id = pw.IntegerField(null=True)
        village_id = pw.IntegerField(null=True)
        payments = pw.IntegerField()
        personal = pw.IntegerField()
        government = pw.IntegerField()
        amount_fen = pw.BigIntegerField()
        first_day = pw.DateField(null=True)

        class Meta:
            table_name = "payer_year"
            primary_key = pw.CompositeKey("resident", "year")
            indexes = (
                pw.SQL(
                    'CREATE INDEX "payer_year_area" ON "payer_year" '
                    '("year", "township_id", "village_id", "personal", "government", "amount_fen", "first_day")'
                ),
            )

    db.create_tables([PayerYearV8])
    payer_year.install(db)
    payer_year.refill(db)


def _step_9(db: pw.Database) -> None:
    """Bulk changes a clerk can see and undo: each import's changes (old -> new), a list's scope and undo,
    the village register."""

    class Base(pw.Model):
        class Meta:
            database = db

    class ImportLogRef(Base):
        class Meta:
            table_name = "import_log"

    class ResidentRef(Base):
        class Meta:
            table_name = "resident"

    class ImportChangeV9(Base):
        import_log = pw.ForeignKeyField(ImportLogRef, on_delete="CASCADE", index=True)
        resident = pw.ForeignKeyField(ResidentRef, null=True, on_delete="SET NULL", index=True)
        row = pw.IntegerField(default=0)
        id_number = pw.CharField(max_length=18)
        field = pw.CharField(max_length=20)
        old_value = pw.CharField(max_length=200, default="")
        new_value = pw.CharField(max_length=200, default="")

        class Meta:
            table_name = "import_change"

    db.create_tables([ImportChangeV9])
    migrator = SchemaMigrator.from_database(db)
    migrate(
        migrator.add_column("special_list", "replaces", pw.IntegerField(null=True)),
        migrator.add_column("special_list", "import_log_id", pw.IntegerField(null=True)),
        migrator.add_column("special_list", "undone_at", pw.DateTimeField(null=True)),
    )
    # NOT NULL columns with a default in one statement each: the migrator would rebuild the SQLite tables
    # (village, import_log) to add NOT NULL, which the residents' foreign keys refuse.
    false = "false" if isinstance(db, pw.PostgresqlDatabase) else "0"
    boolean = "BOOLEAN" if isinstance(db, pw.PostgresqlDatabase) else "INTEGER"
    for table, column, kind in (
        ("import_log", "changes", "INTEGER NOT NULL DEFAULT 0"),
        ("special_list", "scope", "VARCHAR(255) NOT NULL DEFAULT '全县'"),
        ("special_list", "undone_by", "VARCHAR(60) NOT NULL DEFAULT ''"),
        ("special_list", "handoff_mark", "INTEGER NOT NULL DEFAULT 0"),
        ("village", "registered", f"{boolean} NOT NULL DEFAULT {false}"),
    ):
        db.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {kind}')
    # Lists imported before: each replaced the one whose replaced_by points at it.
    db.execute_sql(
        "UPDATE special_list SET replaces = (SELECT o.id FROM special_list o WHERE o.replaced_by_id = special_list.id)"
    )


def _step_10(db: pw.Database) -> None:
    """Issue 13: a refund step's own date; each handoff batch's file format (older batches wrote amounts as
    text, and a re-export must rebuild those bytes); and no invented enrolment dates. Until now every
    resident's ``enrolled_on`` was the import day (or ``--as-of``) or the day of a special-list enrolment —
    never a date any file gave — so it becomes unknown; rosters with a 参保日期 column fill it again."""
    migrator = SchemaMigrator.from_database(db)
    migrate(migrator.add_column("refund_event", "day", pw.DateField(null=True)))
    # NOT NULL with a default in one statement: the migrator would rebuild the SQLite table.
    db.execute_sql('ALTER TABLE "handoff_batch" ADD COLUMN "file_format" INTEGER NOT NULL DEFAULT 1')
    db.execute_sql("UPDATE resident SET enrolled_on = NULL WHERE enrolled_on IS NOT NULL")


def _step_11(db: pw.Database) -> None:
    """User names unique regardless of case; each user's PostgreSQL login role (``db_role``)."""
    migrate(
        SchemaMigrator.from_database(db).add_column(
            "app_user", "db_role", pw.CharField(max_length=63, null=True)
        )
    )
    _user_indexes(db)


def _step_13(db: pw.Database) -> None:
    """Issue 21: the append-only history of what happened to a person at the counter (``resident_event``)."""

    class Base(pw.Model):
        class Meta:
            database = db

    class ResidentRef(Base):
        class Meta:
            table_name = "resident"

    class ResidentEventV13(Base):
        resident = pw.ForeignKeyField(ResidentRef, on_delete="RESTRICT", index=False)
        township_id = pw.IntegerField()
        from_township_id = pw.IntegerField(null=True)
        id_number = pw.CharField(max_length=18, default="")
        name = pw.CharField(max_length=60, default="")
        kind = pw.CharField(max_length=10)
        field = pw.CharField(max_length=20, default="")
        old_value = pw.CharField(max_length=200, default="")
        new_value = pw.CharField(max_length=200, default="")
        reason = pw.CharField(max_length=200, default="")
        day = pw.DateField()
        id_card_seen = pw.BooleanField(default=False)
        username = pw.CharField(max_length=60)
        at = pw.DateTimeField()

        class Meta:
            table_name = "resident_event"
            indexes = (
                pw.SQL(
                    'CREATE INDEX "resident_event_person" ON "resident_event" ("resident_id", "day", "id")'
                ),
            )

    db.create_tables([ResidentEventV13])
    _append_only(db, "resident_event")


def _user_indexes(db: pw.Database) -> None:
    db.execute_sql(
        'CREATE UNIQUE INDEX IF NOT EXISTS app_user_username_nocase ON "app_user" (LOWER("username"))'
    )
    db.execute_sql('CREATE UNIQUE INDEX IF NOT EXISTS app_user_db_role ON "app_user" ("db_role")')


STEPS: dict[int, Callable[[pw.Database], None]] = {
    2: _step_2, 3: _step_3, 4: _step_4, 5: _step_5, 6: _step_6, 7: _step_7, 8: _step_8, 9: _step_9, 10: _step_10,
    11: _step_11, 13: _step_13,
}  # fmt: skip


def table_names(db: pw.Database) -> set[str]:
    """Tables of the schema in use (PostgreSQL: the first schema on search_path, not always public)."""
    if isinstance(db, pw.PostgresqlDatabase):
        schema = db.execute_sql("SELECT current_schema()").fetchone()[0]
        return set(db.get_tables(schema=schema))
    return set(db.get_tables())


def current_version(db: pw.Database) -> int:
    if "schema_version" not in table_names(db):
        return 0
    row = db.execute_sql("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


APPEND_ONLY_TABLES = ("audit_log", "refund_event", "resident_event")


def _append_only(db: pw.Database, table: str) -> None:
    """Triggers that refuse UPDATE and DELETE: history tables are append-only in the database itself."""
    if isinstance(db, pw.PostgresqlDatabase):
        db.execute_sql(
            "CREATE OR REPLACE FUNCTION append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION '%% is append-only', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql"
        )
        db.execute_sql(f'DROP TRIGGER IF EXISTS {table}_no_change ON "{table}"')
        db.execute_sql(
            f'CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            db.execute_sql(
                f'CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} ON "{table}" '
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def _stamp(db: pw.Database, version: int) -> None:
    p = db.param
    db.execute_sql(
        f"INSERT INTO schema_version (version, applied_at) VALUES ({p}, {p})", (version, dt.datetime.now())
    )


def _create_fresh(db: pw.Database) -> None:
    with db.bind_ctx(models.ALL_MODELS):
        db.create_tables(models.ALL_MODELS)
    for table in APPEND_ONLY_TABLES:
        _append_only(db, table)
    payer_year.install(db)
    _user_indexes(db)
    _stamp(db, LATEST)


def backup_sqlite(path: Path, suffix: str) -> Path:
    """Online, consistent copy next to the file (safe while others use it)."""
    return sqlite_files.online_copy(path, path.with_name(f"{path.name}.{suffix}.bak"))


def upgrade(db: pw.Database, sqlite_path: Path | None = None) -> int:
    """Bring the database to ``LATEST``; returns the version it had before."""
    version = current_version(db)
    if version > LATEST:
        raise DatabaseOpenError(
            f"数据库的结构版本（{version}）比本程序支持的版本（{LATEST}）新，"
            "请先升级本程序，再打开这个数据库。数据库未作任何改动。"
        )
    if version == LATEST:
        return version
    if version == 0:
        if table_names(db) - {"schema_version"}:
            raise DatabaseOpenError("这个数据库里已有其他程序的表，不是本系统的数据库。数据库未作任何改动。")
        with db.atomic():
            _create_fresh(db)
            secure(db)
        return 0
    if sqlite_path is not None:
        backup_sqlite(sqlite_path, f"v{version}-{dt.datetime.now():%Y%m%d%H%M%S}")
    # step numbers may have gaps while branches merge
    for target in sorted(step for step in STEPS if step > version):
        with db.atomic():
            STEPS[target](db)
            _stamp(db, target)
    with db.atomic():
        secure(db)  # new tables get their privileges and policies
    return version


def secure(db: pw.Database) -> None:
    """PostgreSQL: roles, privileges, row-level security (dao.pg_security). SQLite: the file is the boundary."""
    if isinstance(db, pw.PostgresqlDatabase):
        try:
            pg_security.install(db)
        except pw.ProgrammingError as exc:
            if "permission denied" in str(exc) or "must be" in str(exc):
                raise DatabaseOpenError(
                    "建立或升级数据库须用数据库所有者账号（需要 CREATEROLE 权限）执行 init-db，"
                    f"办公电脑上的用户账号不能升级数据库：{str(exc).splitlines()[0]}"
                ) from exc
            raise
