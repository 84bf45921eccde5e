"""缴费明细: the tax side's and banks' payment detail files in, each payment counted once (by voucher).

Rows reuse the roster importer's reader, ID rules and row codes. Payments that look refundable (above the
top tier, paid twice, a hardship tier by someone not in a hardship group, a flagged person paying before the
re-selection date) become refund candidates for the refund tab. An arrears payment (补缴) marks the
matching line of an assessment paid.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from core import audit, idcard, insured, roster, rules
from core import special_groups as sg
from core.arrears import mark_paid
from core.auth import Actor, require
from core.money import format_yuan, yuan_text, yuan_to_fen
from core.progress import Job, Progress
from core.regions import normalise_text
from core.roster_import import ID_ALIASES, NAME_ALIASES, file_sha256
from core.rowcodes import ImportReport, RowIssue, issue, register, too_long
from core.tabular import Column, FileUnusable, data_rows, excel_serial_date, open_table, text_of
from dao import bulk
from dao.db import current
from dao.models import Contribution, ImportLog, PolicyYear, RefundCandidate, Resident, now

register("YEAR_NO_POLICY", True, "缴费年度没有缴费政策（或年度无效）")
register("TIER_INVALID", True, "缴费金额不是该年度的缴费档次")
register("AMOUNT_INVALID", True, "缴费金额无效")
register(
    "CHANNEL_CASH_FORBIDDEN", True, "通知规定不得由村居或代办人员收取现金：该笔记录已拒收，请乡镇说明情况"
)
register("CHANNEL_UNKNOWN", True, "缴费渠道无法识别：该笔记录未入账，请核实渠道后重新导入")
register("CHANNEL_GOVERNMENT_ONLY", True, "财政代缴渠道只用于政府代缴，个人缴费不能使用")
register("DUPLICATE_VOUCHER", True, "税票号码重复")
register("VOUCHER_MISSING", True, "税票号码为空")
# The special lists' NOT_IN_ROSTER is a warning about a list entry; for a payment it means this:
NOT_IN_ROSTER_REASON = "缴费人不在参保花名册中：该笔缴费未入账。请先办理参保登记，再重新导入本文件"
register("OVER_ANNUAL_MAX", False, "同一年度个人缴费合计超过最高档次：退费候选")
register("DUPLICATE_PAYMENT", False, "同一年度重复缴费：退费候选")
register("TIER_100_NOT_FLAGGED", False, "非困难群体按最低档次缴费：退费候选")
register("PAID_AFTER_SUBSIDY_BEFORE_RESELECT", False, "政府已代缴，本人在重新选档日期前缴费：退费候选")
register("SUBSIDY_TIER_PAID_PERSONALLY", False, "政府已代缴最低档次，本人又按该档次缴费：退费候选")
register("PAID_AFTER_60", False, "缴费年度为年满 60 周岁当年或以后，不再缴费：退费候选")

LEDGER_COLUMNS: tuple[Column, ...] = (
    Column("id_number", "身份证号码", ID_ALIASES, required=True),
    Column("name", "姓名", NAME_ALIASES),
    Column("year", "缴费年度", ("缴费年度", "费款所属期", "所属年度", "年度", "费款所属年度"), required=True),
    Column("amount", "缴费金额", ("缴费金额", "金额", "实缴金额", "缴费金额(元)", "实缴金额(元)")),
    Column("tier", "缴费档次", ("缴费档次", "档次", "缴费标准")),
    Column("paid_on", "缴费日期", ("缴费日期", "入库日期", "缴款日期", "开票日期")),
    Column("channel", "缴费渠道", ("缴费渠道", "渠道", "缴费方式", "征收渠道")),
    Column(
        "voucher",
        "税票号码",
        ("税票号码", "电子税票号码", "票证号码", "完税凭证号", "缴款凭证号"),
        required=True,
    ),
    Column("kind", "缴费类型", ("缴费类型", "征收类型", "缴费性质")),
    Column("payer", "缴费人类型", ("缴费人类型", "缴费主体", "资金来源")),
)
NORMAL, ARREARS = "正常应缴", "补缴"
PERSONAL, GOVERNMENT = "个人", "政府代缴"
_KINDS = {"正常缴费": NORMAL, "正常应缴": NORMAL, "正常": NORMAL, "补缴": ARREARS, "补缴以前年度": ARREARS}
_PAYERS = {"个人": PERSONAL, "本人": PERSONAL, "个人缴费": PERSONAL, "政府代缴": GOVERNMENT, "政府": GOVERNMENT,
           "代缴": GOVERNMENT}  # fmt: skip


@dataclass
class _Payment:
    row: int
    resident_id: int
    year: int
    amount_fen: int
    tier_fen: int
    payer: str
    kind: str
    channel: str
    paid_on: dt.date | None
    voucher: str


def _date(value: object) -> dt.date | bool | None:
    """A date cell; None when blank; False when unreadable."""
    if value is None or text_of(value) == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    serial = excel_serial_date(value)
    if serial is not None:
        return serial
    text = (
        text_of(value).replace("/", "-").replace(".", "-").replace("年", "-").replace("月", "-").rstrip("日")
    )
    if text.isdigit() and len(text) == 8:
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        return dt.date.fromisoformat("-".join(part.zfill(2) for part in text.split(" ")[0].split("-")))
    except ValueError:
        return False


def import_contributions(
    path: str | Path,
    actor: Actor,
    *,
    sheet: str | None = None,
    dry_run: bool = False,
    overrides: dict[str, int] | None = None,
) -> Job[ImportReport]:
    require(actor, "ledger.import")
    path = Path(path)
    table = open_table(path, LEDGER_COLUMNS, sheet=sheet, overrides=overrides)
    layout = table.layout
    if "amount" not in layout.mapping and "tier" not in layout.mapping:
        table.source.close()
        raise FileUnusable(f"第 {layout.header_row} 行的表头缺少“缴费金额”或“缴费档次”列。")
    report = ImportReport(dry_run=dry_run, file_name=path.name, sha256=file_sha256(path), headers=layout.headers,
                          header_row=layout.header_row, text_columns=[layout.mapping["id_number"], layout.mapping["voucher"]])  # fmt: skip
    label = {c.field: layout.label(c.field) for c in LEDGER_COLUMNS}
    label["tier_or_amount"] = label["tier" if "tier" in layout.mapping else "amount"]
    policies = {p.year: p for p in PolicyYear.select()}
    raw: list[tuple[int, list, dict[str, object]]] = []
    today = dt.date.today()
    try:
        for n, (row, cells, value) in enumerate(data_rows(table)):
            if n % 1000 == 0:
                yield Progress(
                    n, max(n, table.source.estimated_rows - table.layout.header_row), "读取缴费明细"
                )
            report.rows += 1
            raw.append((row, cells, value))
    finally:
        table.source.close()
    numbers: dict[int, str] = {}
    legacy: set[int] = set()  # rows with a 15-digit number, converted: ID_LEGACY_15 when the row is kept
    for row, _cells, value in raw:
        try:
            info = idcard.parse(value.get("id_number"), today)
        except idcard.IdError:
            continue
        numbers[row] = info.number
        if info.legacy15:
            legacy.add(row)
    residents = bulk.fetch_by_keys(Resident, "id_number", ("id",), set(numbers.values()))
    vouchers = {normalise_text(text_of(v.get("voucher"))) for _, _, v in raw}
    stored = bulk.fetch_by_keys(
        Contribution, "voucher", ("resident_id", "year", "amount_fen"), vouchers - {""}
    )
    yield Progress(report.rows, report.rows, "校验")

    payments: list[_Payment] = []
    seen_vouchers: dict[str, int] = {}
    for row, cells, value in raw:
        problems: list[RowIssue] = []
        found = _check_row(row, value, label, policies, numbers, residents, problems)
        voucher = normalise_text(text_of(value.get("voucher")))
        if not voucher:
            problems.append(issue(row, label["voucher"], "VOUCHER_MISSING"))
        elif (
            found_long := too_long(row, label["voucher"], voucher, Contribution.voucher.max_length)
        ) is not None:
            problems.append(found_long)
        elif voucher in seen_vouchers:
            problems.append(
                issue(row, label["voucher"], "DUPLICATE_VOUCHER", f"与第 {seen_vouchers[voucher]} 行相同")
            )
        else:
            seen_vouchers[voucher] = row
        if problems:
            report.rejected += 1
            for p in problems:
                report.add(p)
            report.rejected_rows.append((row, list(cells)))
            continue
        assert found is not None
        found.voucher = voucher
        if row in legacy:
            report.add(issue(row, label["id_number"], "ID_LEGACY_15", numbers[row]))
        old = stored.get(voucher)
        if old is not None:
            if tuple(old) == (found.resident_id, found.year, found.amount_fen):
                report.unchanged += 1  # the same payment from an overlapping file: counted once
            else:
                report.rejected += 1
                report.add(
                    issue(
                        row,
                        label["voucher"],
                        "DUPLICATE_VOUCHER",
                        "系统中已有该税票号码，但人员、年度或金额不同",
                    )
                )
                report.rejected_rows.append((row, list(cells)))
            continue
        payments.append(found)
    with current().atomic() as transaction:
        _write(report, payments, actor, policies, label)
        if dry_run:
            transaction.rollback()  # a dry run computes candidates and matches, and keeps nothing
    report.errors.sort(key=lambda e: e.row)
    report.warnings.sort(key=lambda w: w.row)
    return report


def _check_row(row: int, value: dict[str, object], label: dict[str, str], policies: dict[int, PolicyYear],
               numbers: dict[int, str], residents: dict, problems: list[RowIssue]) -> _Payment | None:  # fmt: skip
    number = numbers.get(row)
    if number is None:
        try:
            idcard.parse(value.get("id_number"))
        except idcard.IdError as exc:
            problems.append(issue(row, label["id_number"], exc.code, exc.detail))
    elif number not in residents:
        problems.append(issue(row, label["id_number"], "NOT_IN_ROSTER", number, error=True,
                              reason=NOT_IN_ROSTER_REASON))  # fmt: skip
    year_text = text_of(value.get("year"))[:4]
    year = int(year_text) if year_text.isdigit() else None
    policy_year = policies.get(year) if year else None
    if policy_year is None:
        problems.append(issue(row, label["year"], "YEAR_NO_POLICY", text_of(value.get("year")) or "空"))
    amount = tier = None
    for field in ("amount", "tier"):
        cell = value.get(field)
        if cell is None or text_of(cell) == "":
            continue
        try:
            fen = yuan_to_fen(cell)
        except ValueError:
            problems.append(issue(row, label[field], "AMOUNT_INVALID", text_of(cell)))
            continue
        if fen <= 0:
            problems.append(issue(row, label[field], "AMOUNT_INVALID", text_of(cell)))
        elif field == "amount":
            amount = fen
        else:
            tier = fen
    if amount is None and tier is None and not any(p.code == "AMOUNT_INVALID" for p in problems):
        problems.append(issue(row, label["amount"], "AMOUNT_INVALID", "空"))
    amount = amount if amount is not None else tier
    tier = tier if tier is not None else amount
    if policy_year is not None and tier is not None and tier not in policy_year.tiers:
        tiers = "、".join(yuan_text(t) for t in policy_year.tiers)
        problems.append(issue(row, label["tier_or_amount"], "TIER_INVALID",
                              f"{format_yuan(tier)} 元；{year} 年档次为 {tiers} 元"))  # fmt: skip
    kind = _KINDS.get(normalise_text(text_of(value.get("kind"))), NORMAL)
    payer = _PAYERS.get(normalise_text(text_of(value.get("payer"))), PERSONAL)
    channel = normalise_text(text_of(value.get("channel")))
    if channel:  # a file without the column, or a blank cell, states no channel: nothing to check
        code = rules.channel_problem(rules.classify_channel(channel), payer == GOVERNMENT)
        if code == "CHANNEL_UNKNOWN":
            problems.append(
                issue(row, label["channel"], code, f"“{channel}”；可用：{rules.accepted_channels()}")
            )
        elif code is not None:
            problems.append(issue(row, label["channel"], code, channel))
        elif (
            found_long := too_long(row, label["channel"], channel, Contribution.channel.max_length)
        ) is not None:
            problems.append(found_long)
    paid_on = _date(value.get("paid_on"))
    if paid_on is False:
        problems.append(issue(row, label["paid_on"], "DATE_INVALID", text_of(value.get("paid_on"))))
    if problems:
        return None
    assert number is not None and year is not None and amount is not None and tier is not None
    return _Payment(row, residents[number][0], year, amount, tier, payer, kind, channel, paid_on or None, "")


def _write(report: ImportReport, payments: list[_Payment], actor: Actor, policies: dict[int, PolicyYear],
           label: dict[str, str]) -> None:  # fmt: skip
    log_id = ImportLog.create(kind="ledger", file_name=report.file_name, sha256=report.sha256,
                              username=actor.username).id  # fmt: skip
    moment = now()
    # In person order: each payment updates its person's payers-summary row (a trigger), and two offices
    # importing overlapping files must lock those rows in the same order, or PostgreSQL finds a deadlock.
    in_order = sorted(payments, key=lambda p: (p.resident_id, p.year))
    bulk.insert_rows(
        Contribution,
        ("resident_id", "year", "amount_fen", "tier_fen", "payer", "kind", "channel", "paid_on", "voucher"),
        [(p.resident_id, p.year, p.amount_fen, p.tier_fen, p.payer, p.kind, p.channel, p.paid_on, p.voucher)
         for p in in_order],
        {"import_log_id": log_id, "created_at": moment},
    )  # fmt: skip
    report.imported = len(payments)
    ids = bulk.fetch_by_keys(Contribution, "voucher", ("id",), [p.voucher for p in payments])
    by_voucher = {p.voucher: p for p in payments}
    for p in payments:
        if p.kind == ARREARS:
            mark_paid(actor, p.resident_id, p.year, ids[p.voucher][0], p.amount_fen, p.paid_on)
    _refund_candidates(report, payments, ids, by_voucher, policies, label)
    ImportLog.update(rows=report.rows, imported=report.imported, unchanged=report.unchanged, rejected=report.rejected,
                     warnings=len(report.warnings)).where(ImportLog.id == log_id).execute()  # fmt: skip
    audit.record(actor.username, "import", "import_log", log_id,
                 after={"kind": "ledger", "file": report.file_name, "imported": report.imported,
                        "rejected": report.rejected, "unchanged": report.unchanged})  # fmt: skip
    report.import_id = log_id


def _refund_candidates(report: ImportReport, payments: list[_Payment], ids: dict, by_voucher: dict,
                       policies: dict[int, PolicyYear], label: dict[str, str]) -> None:  # fmt: skip
    """Look at every person and year this file touched, with the payments already stored."""
    candidates: list[tuple[Any, str, str, int]] = []  # (payment row, code, detail, fen)
    candidates += _after_60([p for p in payments if p.payer == PERSONAL], ids)
    candidates += _after_termination([p for p in payments if p.payer == PERSONAL], ids)
    touched = {(p.resident_id, p.year) for p in payments if p.payer == PERSONAL}
    if not touched:
        _store_candidates(report, candidates, ids, by_voucher, label)
        return
    personal: dict[tuple[int, int], list] = defaultdict(list)
    columns = (Contribution.id, Contribution.resident.alias("resident_id"), Contribution.year,
               Contribution.amount_fen, Contribution.tier_fen, Contribution.channel, Contribution.paid_on)  # fmt: skip
    for part in bulk.in_chunks({r for r, _ in touched}):
        query = Contribution.select(*columns).where(
            Contribution.resident.in_(part) & (Contribution.payer == PERSONAL) & (Contribution.kind == NORMAL)
        )
        for c in query.namedtuples():
            if (c.resident_id, c.year) in touched:
                personal[(c.resident_id, c.year)].append(c)
    for paid in personal.values():
        paid.sort(key=lambda c: (c.paid_on or dt.date.min, c.id))
    flagged_in = {year: set(sg.flagged_groups(year)) for year in {y for _, y in touched}}
    for (rid, year), paid in personal.items():
        policy_year = policies[year]
        year_rules = rules.YearRules(
            policy_year.tiers, policy_year.hardship_min_fen, policy_year.reselect_date
        )
        found = rules.refund_candidates(
            year, year_rules, rid in flagged_in[year],
            [rules.Paid(c, c.amount_fen, c.tier_fen, c.paid_on, c.channel) for c in paid],
        )  # fmt: skip
        candidates += [(x.paid.ref, x.code, x.detail, x.amount_fen) for x in found]
    _store_candidates(report, candidates, ids, by_voucher, label)


class _Ref(NamedTuple):
    id: int


def _after_60(personal: list[_Payment], ids: dict) -> list[tuple[Any, str, str, int]]:
    """PAID_AFTER_60: a person's own payment (normal or arrears) for the year they turn 60 or a later one."""
    births: dict[int, dt.date] = {}
    for part in bulk.in_chunks({p.resident_id for p in personal}):
        births.update(Resident.select(Resident.id, Resident.birth_date).where(Resident.id.in_(part)).tuples())
    found = []
    for p in personal:
        born = births[p.resident_id]
        if rules.paid_after_60(p.year, born):
            detail = f"出生于 {born:%Y-%m-%d}，{rules.turns_60_in(born)} 年满 60 周岁，缴费年度 {p.year}"
            found.append((_Ref(ids[p.voucher][0]), "PAID_AFTER_60", detail, p.amount_fen))
    return found


def _after_termination(personal: list[_Payment], ids: dict) -> list[tuple[Any, str, str, int]]:
    """DIED / JOINED_EMPLOYEE_PENSION: a person's own payment for a year after the year of their 终止."""
    ended = insured.refundable_terminations(p.resident_id for p in personal)
    found = []
    for p in personal:
        if p.resident_id in ended and p.year > ended[p.resident_id][0].year:
            day, reason = ended[p.resident_id]
            code, refund_reason = insured.REFUND_AFTER[reason]
            detail = f"{day:%Y-%m-%d} 终止参保（{refund_reason}），{p.year} 年缴费应退"
            found.append((_Ref(ids[p.voucher][0]), code, detail, p.amount_fen))
    return found


def _store_candidates(report: ImportReport, candidates: list[tuple[Any, str, str, int]], ids: dict,
                      by_voucher: dict, label: dict[str, str]) -> None:  # fmt: skip
    new_ids = {ids[v][0]: v for v in by_voucher}
    existing = set(RefundCandidate.select(RefundCandidate.contribution, RefundCandidate.code).tuples())
    rows = []
    for c, code, detail, amount in candidates:
        if (c.id, code) in existing:
            continue
        existing.add((c.id, code))
        rows.append((c.id, code, detail[:200], amount))
        voucher = new_ids.get(c.id)
        row = by_voucher[voucher].row if voucher else None
        if row is not None:  # warnings belong to rows of this file
            report.add(issue(row, label["voucher"], code, detail))
    bulk.insert_rows(RefundCandidate, ("contribution_id", "code", "message", "amount_fen"), rows,
                     {"status": "待处理", "created_at": now()})  # fmt: skip


@dataclass(frozen=True)
class CandidateRow:
    """A refund candidate as the screens list it, the ID number as this user may see it."""

    id: int
    resident_id: int
    contribution_id: int
    id_number: str  # shown (masked per the setting)
    name: str
    year: int
    paid_fen: int
    channel: str
    voucher: str
    code: str
    message: str
    amount_fen: int  # the suggested refund
    status: str


def candidates(actor: Actor, status: str | None = "待处理") -> list[CandidateRow]:
    require(actor, "roster.view")
    query = RefundCandidate.select(RefundCandidate, Contribution, Resident).join(Contribution).join(Resident)
    if status:
        query = query.where(RefundCandidate.status == status)
    if actor.township_id is not None:
        query = query.where(Resident.township == actor.township_id)
    show = roster.id_display(actor)
    return [
        CandidateRow(c.id, c.contribution.resident_id, c.contribution_id, show(c.contribution.resident.id_number),
                     c.contribution.resident.name, c.contribution.year, c.contribution.amount_fen,
                     c.contribution.channel, c.contribution.voucher, c.code, c.message, c.amount_fen, c.status)
        for c in query.order_by(RefundCandidate.id)
    ]  # fmt: skip
