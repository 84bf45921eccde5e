"""peewee models. Money is integer fen (BigIntegerField), never float.

These classes describe the newest schema. A fresh database is created from them; an existing one is
brought here by the steps in ``dao.migrations``, which never use these classes.
"""

from __future__ import annotations

import datetime as dt

import peewee as pw

from dao.db import db_proxy


def now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


class BaseModel(pw.Model):
    class Meta:
        database = db_proxy
        legacy_table_names = False


class SchemaVersion(BaseModel):
    version = pw.IntegerField()
    applied_at = pw.DateTimeField(default=now)


class Township(BaseModel):
    code = pw.CharField(max_length=12, unique=True)
    name = pw.CharField(max_length=40, unique=True)
    sort_order = pw.IntegerField(default=0)


class Village(BaseModel):
    township = pw.ForeignKeyField(Township, backref="villages", on_delete="RESTRICT")
    name = pw.CharField(max_length=60)
    code = pw.CharField(max_length=15, null=True)
    # From the administrator's village register (系统管理 → 区划): a township with registered villages accepts
    # no other village names; villages met first in a roster are not registered.
    registered = pw.BooleanField(default=False)

    class Meta:
        indexes = ((("township", "name"), True),)


class ImportLog(BaseModel):
    """One row per file fed to an importer (roster, special list, ledger ...)."""

    kind = pw.CharField(max_length=20, index=True)
    file_name = pw.CharField(max_length=255)
    sha256 = pw.CharField(max_length=64, index=True)
    username = pw.CharField(max_length=60)
    started_at = pw.DateTimeField(default=now)
    rows = pw.IntegerField(default=0)
    imported = pw.IntegerField(default=0)
    updated = pw.IntegerField(default=0)
    unchanged = pw.IntegerField(default=0)
    rejected = pw.IntegerField(default=0)
    warnings = pw.IntegerField(default=0)
    township = pw.ForeignKeyField(Township, null=True, on_delete="SET NULL")
    changes = pw.IntegerField(default=0)  # fields changed (old -> new) by this import, see ImportChange


RESIDENT_STATUSES = ("未参保", "正常参保", "暂停", "终止")


class Resident(BaseModel):
    id_number = pw.CharField(max_length=18, unique=True)
    name = pw.CharField(max_length=60)  # no index: searches are prefix LIKEs, which SQLite scans anyway
    sex = pw.CharField(max_length=1)  # 男 / 女, derived from the ID number
    birth_date = pw.DateField()
    # (township, village, id) below serves township and village filters; fewer indexes, faster imports
    township = pw.ForeignKeyField(Township, backref="residents", on_delete="RESTRICT", index=False)
    village = pw.ForeignKeyField(Village, null=True, backref="residents", on_delete="RESTRICT", index=False)
    phone = pw.CharField(max_length=30, default="")
    household_type = pw.CharField(max_length=20, default="")  # 户籍类型: 农业 / 非农业 ...
    status = pw.CharField(max_length=8, default="正常参保")
    enrolled_on = pw.DateField(null=True)
    import_log = pw.ForeignKeyField(ImportLog, null=True, on_delete="SET NULL", index=False)
    created_at = pw.DateTimeField(default=now)
    updated_at = pw.DateTimeField(default=now)
    version = pw.IntegerField(default=1)  # optimistic locking for edits from several PCs

    class Meta:
        # Paging by township/village and the statistics' counts read this index alone (it covers them).
        indexes = (
            pw.SQL(
                'CREATE INDEX "resident_area_stats" ON "resident" ("township_id", "village_id", "status", "enrolled_on")'
            ),
        )


class ImportChange(BaseModel):
    """One field an import changed (old -> new): a roster update, a person put on or taken off a list.

    Values are text as a clerk reads them (township and village names, not ids)."""

    import_log = pw.ForeignKeyField(ImportLog, backref="change_rows", on_delete="CASCADE", index=True)
    resident = pw.ForeignKeyField(Resident, null=True, on_delete="SET NULL", index=True)
    row = pw.IntegerField(default=0)  # the file's row (0: not from a row, e.g. a person taken off a list)
    id_number = pw.CharField(max_length=18)
    field = pw.CharField(max_length=20)
    old_value = pw.CharField(max_length=200, default="")
    new_value = pw.CharField(max_length=200, default="")

    class Meta:
        table_name = "import_change"


class PolicyYear(BaseModel):
    """Per-year rules: tiers change by year and province, so they are data, never code."""

    year = pw.IntegerField(unique=True)
    province = pw.CharField(max_length=20, default="山东省")
    tiers_fen = pw.TextField()  # ascending, comma-separated fen: "10000,30000,..."
    hardship_min_fen = pw.BigIntegerField()  # the tier the government pays for hardship groups
    reselect_date = pw.DateField(null=True)  # a flagged person may pick another tier from this date
    window_start = pw.DateField(null=True)
    window_end = pw.DateField(null=True)
    arrears_allowed = pw.BooleanField(default=True)  # may this year be made up later (补缴)
    arrears_subsidy = pw.BooleanField(default=False)  # do arrears earn a government subsidy
    tier_subsidies_fen = pw.TextField(default="")  # government subsidy per tier, parallel to tiers_fen
    note = pw.TextField(default="")

    @property
    def tiers(self) -> list[int]:
        return [int(x) for x in self.tiers_fen.split(",") if x]

    def subsidy_for(self, tier_fen: int) -> int:
        """The government subsidy for a tier (0 when the policy table gives none)."""
        subsidies = [int(x) for x in self.tier_subsidies_fen.split(",") if x]
        tiers = self.tiers
        return subsidies[tiers.index(tier_fen)] if len(subsidies) == len(tiers) and tier_fen in tiers else 0


class Contribution(BaseModel):
    resident = pw.ForeignKeyField(Resident, backref="contributions", on_delete="RESTRICT", index=True)
    year = pw.IntegerField()
    amount_fen = pw.BigIntegerField()
    tier_fen = pw.BigIntegerField(null=True)
    payer = pw.CharField(max_length=8, default="个人")  # 个人 / 政府代缴
    kind = pw.CharField(max_length=8, default="正常应缴")  # 正常应缴 / 补缴
    channel = pw.CharField(max_length=40, default="")
    paid_on = pw.DateField(null=True, index=True)
    voucher = pw.CharField(max_length=40, unique=True)  # 税票号码: a payment is counted once
    import_log = pw.ForeignKeyField(ImportLog, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=now)

    class Meta:
        indexes = (
            (("resident", "year"), False),
            # covers the statistics of a year: read without touching the table
            pw.SQL(
                'CREATE INDEX "contribution_year_stats" ON "contribution" '
                '("year", "kind", "resident_id", "payer", "amount_fen", "paid_on", "tier_fen")'
            ),
        )


class PayerYear(BaseModel):
    """A paying resident: one row per person and year with normal (正常应缴) payments, and where they live.

    Kept by database triggers on ``contribution`` and ``resident`` (dao/payer_year.py), never by the program,
    so no writer can forget it. The statistics read it instead of grouping a million payments per view.
    """

    resident = pw.ForeignKeyField(Resident, on_delete="RESTRICT", index=False)
    year = pw.IntegerField()
    township_id = pw.IntegerField(null=True)
    village_id = pw.IntegerField(null=True)
    payments = pw.IntegerField()
    personal = pw.IntegerField()  # how many of them the person paid
    government = pw.IntegerField()  # how many were 政府代缴
    amount_fen = pw.BigIntegerField()
    first_day = pw.DateField(null=True)  # earliest payment date: the weekly progress chart

    class Meta:
        table_name = "payer_year"
        primary_key = pw.CompositeKey("resident", "year")
        indexes = (
            pw.SQL(
                'CREATE INDEX "payer_year_area" ON "payer_year" '
                '("year", "township_id", "village_id", "personal", "government", "amount_fen", "first_day")'
            ),
        )


ROLES = ("乡镇经办", "县局审核", "财务", "管理员")


class User(BaseModel):
    username = pw.CharField(max_length=60, unique=True)
    display_name = pw.CharField(max_length=60, default="")
    role = pw.CharField(max_length=8)
    township = pw.ForeignKeyField(Township, null=True, on_delete="RESTRICT")
    password_hash = pw.CharField(max_length=255)
    active = pw.BooleanField(default=True)
    failed_attempts = pw.IntegerField(default=0)
    locked_until = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField(default=now)
    db_role = pw.CharField(max_length=63, null=True)  # PostgreSQL: the user's login role (dao.pg_security)

    class Meta:
        table_name = (
            "app_user"  # "user" is reserved in PostgreSQL; names unique regardless of case (LOWER index)
        )


class AuditLog(BaseModel):
    """Append-only: database triggers refuse UPDATE and DELETE (see dao.migrations)."""

    at = pw.DateTimeField(default=now, index=True)
    username = pw.CharField(max_length=60, index=True)
    action = pw.CharField(max_length=40)
    entity = pw.CharField(max_length=40, index=True)
    entity_id = pw.CharField(max_length=40, default="")
    before = pw.TextField(default="")  # JSON
    after = pw.TextField(default="")  # JSON


class AppSetting(BaseModel):
    """Bureau-wide settings (key -> JSON text), e.g. which roles see ID numbers masked."""

    key = pw.CharField(max_length=60, primary_key=True)
    value = pw.TextField(default="")


# 特殊群体: which department confirms which groups. The government pays the minimum tier for them (政府代缴).
SPECIAL_GROUPS: dict[str, tuple[str, ...]] = {
    "残联": ("重度残疾人",),
    "民政": ("低保对象", "特困人员"),
    "扶贫": ("建档立卡贫困人员",),
}


class SpecialList(BaseModel):
    """One department's list of one group for one year, as imported from a file. A corrected list for the
    same department, group and year replaces the current one (``current`` False, ``replaced_by`` set)."""

    year = pw.IntegerField(index=True)
    department = pw.CharField(max_length=8)
    group = pw.CharField(max_length=20)
    file_name = pw.CharField(max_length=255)
    sha256 = pw.CharField(max_length=64, index=True)
    username = pw.CharField(max_length=60)
    imported_at = pw.DateTimeField(default=now)
    current = pw.BooleanField(default=True)
    replaced_by = pw.ForeignKeyField("self", null=True, on_delete="SET NULL")
    people = pw.IntegerField(default=0)
    added = pw.IntegerField(default=0)
    removed = pw.IntegerField(default=0)
    unchanged = pw.IntegerField(default=0)
    # A list replaces the department's entries only within its scope: its townships (names joined by 、) or
    # 全县. Entries outside the scope are carried over from the list it replaced (row 0).
    scope = pw.CharField(max_length=255, default="全县")
    replaces = pw.IntegerField(null=True)  # the list current before this one: what an undo brings back
    import_log = pw.ForeignKeyField(ImportLog, null=True, on_delete="SET NULL", index=False)
    undone_by = pw.CharField(max_length=60, default="")
    undone_at = pw.DateTimeField(null=True)
    handoff_mark = pw.IntegerField(default=0)  # the last handoff line when imported: later lines may carry it

    class Meta:
        indexes = ((("year", "department", "group", "current"), False),)


ENTRY_MATCHED = "已匹配"  # in the roster with the same name: flagged
ENTRY_NAME_MISMATCH = "姓名待核"  # same ID, other name: not flagged until a person confirms
ENTRY_CONFIRMED = "已确认"  # name mismatch reviewed and accepted: flagged
ENTRY_REJECTED = "已驳回"  # name mismatch reviewed and refused: not flagged
ENTRY_NOT_IN_ROSTER = "未参保待处理"  # not in the roster yet: pending enrolment, never dropped
ENTRY_ENROLLED = "已登记"  # enrolled from the list: flagged
FLAGGING_STATES = (ENTRY_MATCHED, ENTRY_CONFIRMED, ENTRY_ENROLLED)


class SpecialListEntry(BaseModel):
    special_list = pw.ForeignKeyField(SpecialList, backref="entries", on_delete="CASCADE")
    row = pw.IntegerField()  # 0: carried over from the replaced list (outside this list's scope)
    id_number = pw.CharField(max_length=18, index=True)
    name = pw.CharField(max_length=60)
    township_text = pw.CharField(max_length=40, default="")  # as the department wrote it (for enrolment)
    village_text = pw.CharField(max_length=60, default="")
    resident = pw.ForeignKeyField(Resident, null=True, on_delete="RESTRICT", index=True)
    status = pw.CharField(max_length=8)

    class Meta:
        indexes = ((("special_list", "id_number"), True),)


PAYMENT_PENDING = "待传递"  # on the 代缴 list, not yet handed to the tax side
PAYMENT_SENT = "已传递"
PAYMENT_CANCELLED = "已取消"  # stopped qualifying before handoff
PAYMENT_CORRECTION = "待更正"  # stopped qualifying after handoff: a correction must be sent
PAYMENT_CORRECTED = "已更正"
ACTIVE_PAYMENT_STATES = (PAYMENT_PENDING, PAYMENT_SENT)


class GovernmentPayment(BaseModel):
    """政府代缴: the minimum contribution the government pays for a flagged person, once per year."""

    resident = pw.ForeignKeyField(Resident, on_delete="RESTRICT")
    year = pw.IntegerField(index=True)
    amount_fen = pw.BigIntegerField()
    groups = pw.CharField(max_length=80)  # every group that qualifies the person, e.g. 低保对象、重度残疾人
    state = pw.CharField(max_length=8, default=PAYMENT_PENDING, index=True)
    handoff_batch_id = pw.IntegerField(null=True)
    created_at = pw.DateTimeField(default=now)
    updated_at = pw.DateTimeField(default=now)
    version = pw.IntegerField(default=1)

    class Meta:
        indexes = ((("resident", "year"), True),)


ARREARS_DECLARED = "已申报"
ARREARS_ASSESSED = "已核定"
ARREARS_PAID = "已缴清"
ARREARS_VOID = "已作废"
ARREARS_OPEN_STATES = (ARREARS_DECLARED, ARREARS_ASSESSED)


class ArrearsAssessment(BaseModel):
    """补缴: declared at the township office, assessed (amount fixed, sheet printed), then paid or voided."""

    resident = pw.ForeignKeyField(Resident, on_delete="RESTRICT", index=True)
    township = pw.ForeignKeyField(Township, on_delete="RESTRICT")
    status = pw.CharField(max_length=8, default=ARREARS_DECLARED, index=True)
    sheet_year = pw.IntegerField(null=True)
    sheet_seq = pw.IntegerField(null=True)  # 核定单 number: unique per township and year
    total_fen = pw.BigIntegerField(default=0)
    declared_by = pw.CharField(max_length=60)
    declared_at = pw.DateTimeField(default=now)
    assessed_by = pw.CharField(max_length=60, default="")
    assessed_at = pw.DateTimeField(null=True)
    paid_at = pw.DateTimeField(null=True)
    void_reason = pw.CharField(max_length=200, default="")
    voided_by = pw.CharField(max_length=60, default="")
    version = pw.IntegerField(default=1)

    class Meta:
        indexes = ((("township", "sheet_year", "sheet_seq"), True),)

    @property
    def sheet_no(self) -> str:
        if self.sheet_seq is None:
            return ""
        return f"补核{self.sheet_year}-{self.township.code[-3:]}-{self.sheet_seq:04d}"


class ArrearsLine(BaseModel):
    assessment = pw.ForeignKeyField(ArrearsAssessment, backref="lines", on_delete="CASCADE")
    year = pw.IntegerField()
    tier_fen = pw.BigIntegerField()
    amount_fen = pw.BigIntegerField()
    subsidy_fen = pw.BigIntegerField(default=0)
    contribution = pw.ForeignKeyField(Contribution, null=True, on_delete="SET NULL")  # the payment, once made


CANDIDATE_OPEN = "待处理"
CANDIDATE_CASE = "已立案"
CANDIDATE_DISMISSED = "已排除"


class RefundCandidate(BaseModel):
    """A payment the ledger import found refundable (over the top tier, paid twice, ...): offered to the
    refund tab as a pre-filled case."""

    contribution = pw.ForeignKeyField(Contribution, on_delete="CASCADE")
    code = pw.CharField(max_length=40)
    message = pw.CharField(max_length=200)
    amount_fen = pw.BigIntegerField()
    status = pw.CharField(max_length=8, default=CANDIDATE_OPEN, index=True)
    created_at = pw.DateTimeField(default=now)

    class Meta:
        indexes = ((("contribution", "code"), True),)


REFUND_REASONS = (
    "重复缴费",
    "多缴/超过最高档次",
    "已参加职工养老保险",
    "死亡",
    "政府代缴后个人重复缴费",
    "其他",
)
REFUND_DOCUMENTS = ("退费申请", "身份证复印件", "银行卡复印件", "退费申请表", "缴费证明")
INSURANCE_PENSION, INSURANCE_MEDICAL = "居民养老", "居民医保"


class RefundCase(BaseModel):
    """退费: accepted at the township (受理), passed by the township office (初审), reviewed by the county
    (复核), paid by finance. Every transition is a RefundEvent; ``version`` makes concurrent moves safe."""

    case_no = pw.CharField(max_length=30, unique=True)
    resident = pw.ForeignKeyField(Resident, on_delete="RESTRICT", index=True)
    township = pw.ForeignKeyField(Township, on_delete="RESTRICT", index=True)
    insurance = pw.CharField(max_length=8, default=INSURANCE_PENSION)
    reason = pw.CharField(max_length=20)
    reason_text = pw.CharField(max_length=200, default="")
    amount_fen = pw.BigIntegerField()
    account_name = pw.CharField(max_length=60)
    account_no = pw.CharField(max_length=40)
    bank_name = pw.CharField(max_length=60)
    documents = pw.CharField(max_length=200, default="")  # received documents, joined by 、
    state = pw.CharField(max_length=8, index=True)
    batch_month = pw.CharField(max_length=7, default="", index=True)  # the township's batch to the county
    fund_month = pw.CharField(max_length=7, default="", index=True)  # the fund request to finance
    entered_by = pw.CharField(max_length=60)
    entered_at = pw.DateTimeField(default=now)
    passed_by = pw.CharField(max_length=60, default="")
    reviewed_by = pw.CharField(max_length=60, default="")
    paid_on = pw.DateField(null=True)
    bank_ref = pw.CharField(max_length=60, default="")
    note = pw.CharField(max_length=200, default="")  # the last return or failure reason
    candidate = pw.ForeignKeyField(RefundCandidate, null=True, on_delete="SET NULL")
    handoff_batch_id = pw.IntegerField(null=True)
    version = pw.IntegerField(default=1)


class RefundItem(BaseModel):
    """A payment refunded by a case. ``lock`` holds the contribution id while the case is live: the unique
    index means a payment cannot be in two live cases, even when two PCs open them at once."""

    case = pw.ForeignKeyField(RefundCase, backref="items", on_delete="CASCADE")
    contribution = pw.ForeignKeyField(Contribution, on_delete="RESTRICT", index=True)
    amount_fen = pw.BigIntegerField()
    lock = pw.IntegerField(null=True, unique=True)


class RefundEvent(BaseModel):
    """Append-only (database triggers refuse UPDATE and DELETE): the trail printed on the approval sheet."""

    case = pw.ForeignKeyField(RefundCase, backref="events", on_delete="RESTRICT", index=True)
    at = pw.DateTimeField(default=now)
    # The day the step happened (受理, 初审, 复核 ...), which a clerk entering paperwork late may give; the
    # 25th cut-off and the fund month follow it. None on events recorded before schema 10: ``at`` is the day.
    day = pw.DateField(null=True)
    username = pw.CharField(max_length=60)
    action = pw.CharField(max_length=12)
    from_state = pw.CharField(max_length=8, default="")
    to_state = pw.CharField(max_length=8)
    note = pw.CharField(max_length=200, default="")


EVENT_REGISTER, EVENT_CHANGE, EVENT_MOVE, EVENT_STATUS = "register", "change", "move", "status"


class ResidentEvent(BaseModel):
    """Append-only (database triggers refuse UPDATE and DELETE): what happened to a person at the counter —
    registration, a changed field (old -> new), a township move, a status change — with its reason and date.
    ``township_id`` is the person's township after the event; a move also keeps the one it left, so both
    townships see it."""

    resident = pw.ForeignKeyField(Resident, on_delete="RESTRICT", index=False)
    township_id = pw.IntegerField()
    from_township_id = pw.IntegerField(null=True)
    # who, as the record was written: the township a person moved away from no longer sees the resident row
    id_number = pw.CharField(max_length=18, default="")
    name = pw.CharField(max_length=60, default="")
    kind = pw.CharField(max_length=10)  # register / change / move / status
    field = pw.CharField(max_length=20, default="")  # change: name, sex, birth_date, village, phone
    old_value = pw.CharField(max_length=200, default="")
    new_value = pw.CharField(max_length=200, default="")
    reason = pw.CharField(max_length=200, default="")
    # the day it took effect (a death, a move), which may be before the day it is recorded
    day = pw.DateField()
    id_card_seen = pw.BooleanField(default=False)
    username = pw.CharField(max_length=60)
    at = pw.DateTimeField(default=now)

    class Meta:
        table_name = "resident_event"
        indexes = (
            pw.SQL('CREATE INDEX "resident_event_person" ON "resident_event" ("resident_id", "day", "id")'),
        )


BATCH_CREATED, BATCH_SENT, BATCH_CANCELLED = "已生成", "已报送", "已取消"
FEEDBACK_ACCEPTED, FEEDBACK_REJECTED = "已接收", "被拒绝"


class HandoffBatch(BaseModel):
    """A monthly file to the tax side (金税三期): refunds processed, or the 政府代缴 list and its corrections."""

    batch_no = pw.CharField(max_length=40, unique=True)
    kind = pw.CharField(max_length=10)  # refund / subsidy
    month = pw.CharField(max_length=7)
    seq = pw.IntegerField()
    is_correction = pw.BooleanField(default=False)
    state = pw.CharField(max_length=8, default=BATCH_CREATED, index=True)
    records = pw.IntegerField(default=0)
    total_fen = pw.BigIntegerField(default=0)
    files = pw.TextField(default="")  # JSON: file name -> SHA-256
    note = pw.CharField(max_length=200, default="")
    created_by = pw.CharField(max_length=60)
    created_at = pw.DateTimeField(default=now)
    sent_by = pw.CharField(max_length=60, default="")
    sent_at = pw.DateTimeField(null=True)
    cancelled_by = pw.CharField(max_length=60, default="")
    # How the files write amounts: 1 as text (batches made before schema 10), 2 as numbers. A re-export
    # rebuilds the bytes the tax side received, so each batch keeps its own format.
    file_format = pw.IntegerField(default=2)

    class Meta:
        indexes = ((("kind", "month", "seq"), True),)


class HandoffLine(BaseModel):
    """One record in a batch, with the values as they were written (so a re-export is byte-identical).

    ``claim`` ('refund:12') is unique while the line's batch is live: a record is never in two batches at once.
    """

    batch = pw.ForeignKeyField(HandoffBatch, backref="lines", on_delete="RESTRICT", index=True)
    line_no = pw.IntegerField()
    record_id = pw.IntegerField()  # RefundCase.id or GovernmentPayment.id
    amount_fen = pw.BigIntegerField()  # negative on a correction line
    values = pw.TextField()  # JSON list: the row as written to the files
    corrects = pw.ForeignKeyField(
        "self", null=True, on_delete="RESTRICT"
    )  # the original line a correction cancels
    claim = pw.CharField(max_length=30, null=True, unique=True)
    feedback = pw.CharField(max_length=8, default="")
    feedback_reason = pw.CharField(max_length=200, default="")


ALL_MODELS: list[type[BaseModel]] = [
    SchemaVersion,
    Township,
    Village,
    ImportLog,
    Resident,
    ImportChange,
    PolicyYear,
    Contribution,
    PayerYear,
    User,
    AuditLog,
    AppSetting,
    SpecialList,
    SpecialListEntry,
    GovernmentPayment,
    ArrearsAssessment,
    ArrearsLine,
    RefundCandidate,
    RefundCase,
    RefundItem,
    RefundEvent,
    HandoffBatch,
    HandoffLine,
    ResidentEvent,
]
