"""Schema versions.

A fresh database is created from the models and stamped with ``LATEST``. An older database runs one step
per version, each in its own transaction; a SQLite file is backed up first. Steps use the migrator and table
names only, never the live model classes (which describe the newest schema and would add columns twice).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
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


def _step_12(db: pw.Database) -> None:
    """Issue 21: the append-only history of what happened to a person at the counter (``resident_event``)."""

    class Base(pw.Model):
        class Meta:
            database = db

    class ResidentRef(Base):
        class Meta:
            table_name = "resident"

    class ResidentEventV12(Base):
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

    db.create_tables([ResidentEventV12])
    _append_only(db, "resident_event")


def _user_indexes(db: pw.Database) -> None:
    db.execute_sql(
        'CREATE UNIQUE INDEX IF NOT EXISTS app_user_username_nocase ON "app_user" (LOWER("username"))'
    )
    db.execute_sql('CREATE UNIQUE INDEX IF NOT EXISTS app_user_db_role ON "app_user" ("db_role")')


# Every index of schema 13 by name: (table, name, unique, columns as SQL). A fresh database is created with
# exactly these (never with names peewee derives); step 13 brings an upgraded one to them. A later step that
# adds or drops an index does it itself and changes ``INDEXES`` (the newest schema's list), not this one.
_V13_INDEXES: tuple[tuple[str, str, bool, str], ...] = (
    ("app_user", "app_user_db_role", True, '"db_role"'),
    ("app_user", "app_user_township_id", False, '"township_id"'),
    ("app_user", "app_user_username", True, '"username"'),
    ("app_user", "app_user_username_nocase", True, 'LOWER("username")'),
    ("arrears_assessment", "arrears_assessment_resident_id", False, '"resident_id"'),
    ("arrears_assessment", "arrears_assessment_status", False, '"status"'),
    ("arrears_assessment", "arrears_assessment_township_id", False, '"township_id"'),
    (
        "arrears_assessment",
        "arrears_assessment_township_id_sheet_year_sheet_seq",
        True,
        '"township_id", "sheet_year", "sheet_seq"',
    ),
    ("arrears_line", "arrears_line_assessment_id", False, '"assessment_id"'),
    ("arrears_line", "arrears_line_contribution_id", False, '"contribution_id"'),
    ("audit_log", "audit_log_at", False, '"at"'),
    ("audit_log", "audit_log_entity", False, '"entity"'),
    ("audit_log", "audit_log_username", False, '"username"'),
    ("contribution", "contribution_import_log_id", False, '"import_log_id"'),
    ("contribution", "contribution_paid_on", False, '"paid_on"'),
    ("contribution", "contribution_resident_id", False, '"resident_id"'),
    ("contribution", "contribution_resident_id_year", False, '"resident_id", "year"'),
    ("contribution", "contribution_voucher", True, '"voucher"'),
    (
        "contribution",
        "contribution_year_stats",
        False,
        '"year", "kind", "resident_id", "payer", "amount_fen", "paid_on", "tier_fen"',
    ),
    ("government_payment", "government_payment_resident_id", False, '"resident_id"'),
    ("government_payment", "government_payment_resident_id_year", True, '"resident_id", "year"'),
    ("government_payment", "government_payment_state", False, '"state"'),
    ("government_payment", "government_payment_year", False, '"year"'),
    ("handoff_batch", "handoff_batch_batch_no", True, '"batch_no"'),
    ("handoff_batch", "handoff_batch_kind_month_seq", True, '"kind", "month", "seq"'),
    ("handoff_batch", "handoff_batch_state", False, '"state"'),
    ("handoff_line", "handoff_line_batch_id", False, '"batch_id"'),
    ("handoff_line", "handoff_line_claim", True, '"claim"'),
    ("handoff_line", "handoff_line_corrects_id", False, '"corrects_id"'),
    ("import_change", "import_change_import_log_id", False, '"import_log_id"'),
    ("import_change", "import_change_resident_id", False, '"resident_id"'),
    ("import_log", "import_log_kind", False, '"kind"'),
    ("import_log", "import_log_sha256", False, '"sha256"'),
    ("import_log", "import_log_township_id", False, '"township_id"'),
    (
        "payer_year",
        "payer_year_area",
        False,
        '"year", "township_id", "village_id", "personal", "government", "amount_fen", "first_day"',
    ),
    ("policy_year", "policy_year_year", True, '"year"'),
    ("refund_candidate", "refund_candidate_contribution_id", False, '"contribution_id"'),
    ("refund_candidate", "refund_candidate_contribution_id_code", True, '"contribution_id", "code"'),
    ("refund_candidate", "refund_candidate_status", False, '"status"'),
    ("refund_case", "refund_case_batch_month", False, '"batch_month"'),
    ("refund_case", "refund_case_candidate_id", False, '"candidate_id"'),
    ("refund_case", "refund_case_case_no", True, '"case_no"'),
    ("refund_case", "refund_case_fund_month", False, '"fund_month"'),
    ("refund_case", "refund_case_resident_id", False, '"resident_id"'),
    ("refund_case", "refund_case_state", False, '"state"'),
    ("refund_case", "refund_case_township_id", False, '"township_id"'),
    ("refund_event", "refund_event_case_id", False, '"case_id"'),
    ("refund_item", "refund_item_case_id", False, '"case_id"'),
    ("refund_item", "refund_item_contribution_id", False, '"contribution_id"'),
    ("refund_item", "refund_item_lock", True, '"lock"'),
    ("resident", "resident_area_stats", False, '"township_id", "village_id", "status", "enrolled_on"'),
    ("resident", "resident_id_number", True, '"id_number"'),
    ("special_list", "special_list_replaced_by_id", False, '"replaced_by_id"'),
    ("special_list", "special_list_sha256", False, '"sha256"'),
    ("special_list", "special_list_year", False, '"year"'),
    (
        "special_list",
        "special_list_year_department_group_current",
        False,
        '"year", "department", "group", "current"',
    ),
    ("special_list_entry", "special_list_entry_id_number", False, '"id_number"'),
    ("special_list_entry", "special_list_entry_resident_id", False, '"resident_id"'),
    ("special_list_entry", "special_list_entry_special_list_id", False, '"special_list_id"'),
    (
        "special_list_entry",
        "special_list_entry_special_list_id_id_number",
        True,
        '"special_list_id", "id_number"',
    ),
    ("township", "township_code", True, '"code"'),
    ("township", "township_name", True, '"name"'),
    ("village", "village_township_id", False, '"township_id"'),
    ("village", "village_township_id_name", True, '"township_id", "name"'),
    ("resident_event", "resident_event_person", False, '"resident_id", "day", "id"'),
)
INDEXES = _V13_INDEXES

# Foreign keys steps 2 and 9 added as plain integer columns: (table, column, target table, ON DELETE).
_V13_FOREIGN_KEYS = (
    ("import_log", "township_id", "township", "SET NULL"),
    ("resident", "import_log_id", "import_log", "SET NULL"),
    ("contribution", "import_log_id", "import_log", "SET NULL"),
    ("special_list", "import_log_id", "import_log", "SET NULL"),
)


def _step_13(db: pw.Database) -> None:
    """Issue 16: an upgraded database is the same as a fresh one. Steps 3-9 made indexes under their helper
    classes' names (``refundcasev5_state`` for ``refund_case_state``), version 2 had indexes a fresh database
    no longer has, and the ``import_log_id`` columns of steps 2 and 9 had no foreign key. A later step that
    drops an index by its fresh name would otherwise fail on every upgraded office.

    Also: ``resident_event`` as the first version 12 made it lacked the person's ID number and name (added to
    step 12 before any office had it); such a database gets them here, empty for its earlier events."""
    have = {c.name for c in db.get_columns("resident_event", **_schema_of(db))}
    for column, length in (("id_number", 18), ("name", 60)):
        if column not in have:
            db.execute_sql(
                f'ALTER TABLE "resident_event" ADD COLUMN "{column}" VARCHAR({length}) NOT NULL DEFAULT \'\''
            )
    for table, column, target, on_delete in _V13_FOREIGN_KEYS:
        _add_foreign_key(db, table, column, target, on_delete)
    _conform_indexes(db, _V13_INDEXES)
    for table in APPEND_ONLY_TABLES:  # version 2 wrote them without quotes: the same text a fresh one has
        if not isinstance(db, pw.PostgresqlDatabase):
            for verb in ("update", "delete"):
                db.execute_sql(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
        _append_only(db, table)
    if not isinstance(db, pw.PostgresqlDatabase):
        broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys violated after step 13: {broken[:5]}")


def _add_foreign_key(db: pw.Database, table: str, column: str, target: str, on_delete: str) -> None:
    postgres = isinstance(db, pw.PostgresqlDatabase)
    if any(
        fk.column == column and fk.dest_table == target for fk in db.get_foreign_keys(table, **_schema_of(db))
    ):
        return
    # A row pointing at an import that is gone points at none, as ON DELETE SET NULL would have left it.
    db.execute_sql(f'UPDATE "{table}" SET "{column}" = NULL WHERE "{column}" IS NOT NULL '
                   f'AND "{column}" NOT IN (SELECT "id" FROM "{target}")')  # fmt: skip
    constraint = f'FOREIGN KEY ("{column}") REFERENCES "{target}" ("id") ON DELETE {on_delete}'
    if postgres:
        db.execute_sql(f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_{column}_fkey" {constraint}')
    else:
        _rebuild_sqlite_table(db, table, constraint)


def _schema_of(db: pw.Database) -> dict[str, str]:
    if isinstance(db, pw.PostgresqlDatabase):
        return {"schema": db.execute_sql("SELECT current_schema()").fetchone()[0]}
    return {}


def _rebuild_sqlite_table(db: pw.Database, table: str, constraint: str) -> None:
    """SQLite cannot add a constraint to a table: the table is made again with it (SQLite's "12 steps"; foreign
    keys are off while ``upgrade`` runs the steps, and checked at the end of the step)."""
    sql = db.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()[0]
    extras = [r[0] for r in db.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND tbl_name = ? AND sql IS NOT NULL",
        (table,))]  # fmt: skip
    _head, body = sql.split("(", 1)
    new = f"{table}__v12"
    body = body.rstrip().removesuffix(")")
    db.execute_sql(f'CREATE TABLE "{new}" ({body}, {constraint})')
    columns = ", ".join(f'"{r[1]}"' for r in db.execute_sql(f'PRAGMA table_info("{table}")'))
    db.execute_sql(f'INSERT INTO "{new}" ({columns}) SELECT {columns} FROM "{table}"')
    db.execute_sql("PRAGMA legacy_alter_table = ON")  # other tables' triggers name the table being replaced
    try:
        db.execute_sql(f'DROP TABLE "{table}"')
        db.execute_sql(f'ALTER TABLE "{new}" RENAME TO "{table}"')
    finally:
        db.execute_sql("PRAGMA legacy_alter_table = OFF")
    for statement in extras:
        db.execute_sql(statement)


def _index_columns(columns: str) -> tuple[str | None, ...]:
    """'"a", "b"' -> ('a', 'b'); an expression is None (never matched by columns)."""
    if "(" in columns:
        return (None,)
    return tuple(c.strip().strip('"') for c in columns.split(","))


def _actual_indexes(db: pw.Database) -> dict[str, tuple[str, bool, tuple[str | None, ...]]]:
    """name -> (table, unique, columns) of the indexes made by CREATE INDEX (not primary keys or constraints)."""
    found: dict[str, tuple[str, bool, tuple[str | None, ...]]] = {}
    if isinstance(db, pw.PostgresqlDatabase):
        for name, table, unique, columns in db.execute_sql(
            "SELECT i.relname, t.relname, x.indisunique, ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY "
            "AS k(attnum, ord) LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum ORDER BY "
            "k.ord) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = current_schema() AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)"
        ):
            found[name] = (table, bool(unique), tuple(columns))
        return found
    for (table,) in db.execute_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ):
        for _seq, name, unique, origin, _partial in db.execute_sql(
            f'PRAGMA index_list("{table}")'
        ).fetchall():
            if origin == "c":
                cols = tuple(r[2] for r in db.execute_sql(f'PRAGMA index_info("{name}")'))
                found[name] = (table, bool(unique), cols)
    return found


def _create_index(db: pw.Database, table: str, name: str, unique: bool, columns: str) -> None:
    kind = "UNIQUE INDEX" if unique else "INDEX"
    db.execute_sql(f'CREATE {kind} IF NOT EXISTS "{name}" ON "{table}" ({columns})')


def _conform_indexes(db: pw.Database, expected: Sequence[tuple[str, str, bool, str]]) -> None:
    """Rename indexes to the expected names (PostgreSQL renames, SQLite makes them again), create missing
    ones, drop those the schema does not have."""
    postgres = isinstance(db, pw.PostgresqlDatabase)
    actual = _actual_indexes(db)
    wanted = {name for _t, name, _u, _c in expected}
    for table, name, unique, columns in expected:
        if name in actual:
            continue
        same = next((n for n, (t, u, c) in actual.items()
                     if n not in wanted and t == table and u == unique and c == _index_columns(columns)), None)  # fmt: skip
        if same is not None and postgres:
            db.execute_sql(f'ALTER INDEX "{same}" RENAME TO "{name}"')
        else:
            if same is not None:
                db.execute_sql(f'DROP INDEX "{same}"')
            _create_index(db, table, name, unique, columns)
        if same is not None:
            del actual[same]
    for name in actual:
        if name not in wanted:
            db.execute_sql(f'DROP INDEX "{name}"')


STEPS: dict[int, Callable[[pw.Database], None]] = {
    2: _step_2, 3: _step_3, 4: _step_4, 5: _step_5, 6: _step_6, 7: _step_7, 8: _step_8, 9: _step_9, 10: _step_10,
    11: _step_11, 12: _step_12, 13: _step_13,
}  # fmt: skip


def table_names(db: pw.Database) -> set[str]:
    """Tables of the schema in use (PostgreSQL: the first schema on search_path, not always public)."""
    if isinstance(db, pw.PostgresqlDatabase):  # one round trip: every start of every office asks this
        rows = db.execute_sql(
            "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema()"
        )
        return {name for (name,) in rows}
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
    """Tables from the models; indexes from ``INDEXES`` (explicit names, the same an upgrade gives)."""
    with db.bind_ctx(models.ALL_MODELS):
        for model in pw.sort_models(models.ALL_MODELS):
            model._schema.create_table(safe=False)
    for table, name, unique, columns in INDEXES:
        _create_index(db, table, name, unique, columns)
    for table in APPEND_ONLY_TABLES:
        _append_only(db, table)
    payer_year.install(db)
    _stamp(db, LATEST)


def backup_sqlite(path: Path, suffix: str) -> Path:
    """Online, consistent copy next to the file (safe while others use it)."""
    return sqlite_files.online_copy(path, path.with_name(f"{path.name}.{suffix}.bak"))


UPGRADE_LOCK = 160_016  # PostgreSQL advisory lock class: one upgrade of a schema at a time


def upgrade(db: pw.Database, sqlite_path: Path | None = None) -> int:
    """Bring the database to ``LATEST``; returns the version it had before.

    On PostgreSQL the upgrade holds an advisory lock on the schema and reads the version under it: when two
    offices start at once, the second waits and then finds the database upgraded."""
    postgres = isinstance(db, pw.PostgresqlDatabase)
    if postgres:
        db.execute_sql("SELECT pg_advisory_lock(%s, hashtext(current_schema()))", (UPGRADE_LOCK,))
    try:
        return _upgrade(db, sqlite_path)
    finally:
        if postgres and not db.is_closed():
            db.execute_sql("SELECT pg_advisory_unlock(%s, hashtext(current_schema()))", (UPGRADE_LOCK,))


def _upgrade(db: pw.Database, sqlite_path: Path | None) -> int:
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
    sqlite = not isinstance(db, pw.PostgresqlDatabase)
    if sqlite:  # a step may rebuild a table (step 13): SQLite's procedure needs the keys off, checked after
        db.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        for target in range(version + 1, LATEST + 1):
            with db.atomic():
                STEPS[target](db)
                _stamp(db, target)
    finally:
        if sqlite:
            db.execute_sql("PRAGMA foreign_keys = ON")
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
