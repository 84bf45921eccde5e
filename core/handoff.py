"""税务传递: monthly handoff files to the tax side, each record exactly once.

A batch claims every ready record of its kind (refunds paid and not yet handed off; 政府代缴 payments pending,
and corrections for payments that stopped qualifying after handoff). The claim is a unique key, so no record
sits in two live batches, even when two PCs create a batch at once. Files are written under temporary names
and the batch is committed only after; a re-export rebuilds byte-identical files from the stored lines.
Before it is marked sent a batch can be cancelled (its records return to the pool); after, it is locked and
mistakes are fixed by correction batches. The tax side's feedback marks lines accepted or rejected; a
rejected record goes back to the pool with the reason.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import logging
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import peewee as pw

from core import audit, regions, roster
from core.auth import Actor, display_names, require
from core.errors import UserError
from core.money import fen_to_yuan
from core.progress import Job, Progress
from core.refunds import PAID, parse_month
from core.roster_import import file_sha256
from core.rowcodes import ImportReport, issue, register
from core.tabular import Column, data_rows, open_table, text_of
from dao import bulk
from dao import db as dao_db
from dao.db import current
from dao.models import (
    BATCH_CANCELLED,
    BATCH_CREATED,
    BATCH_SENT,
    FEEDBACK_ACCEPTED,
    FEEDBACK_REJECTED,
    PAYMENT_CORRECTED,
    PAYMENT_CORRECTION,
    PAYMENT_PENDING,
    PAYMENT_SENT,
    Contribution,
    GovernmentPayment,
    HandoffBatch,
    HandoffLine,
    ImportLog,
    RefundCase,
    RefundItem,
    Resident,
    Township,
    now,
)
from reports import handoff_files

log = logging.getLogger(__name__)

KINDS = {"refund": "退费", "subsidy": "政府代缴"}
INSURANCE = "城乡居民基本养老保险"

register("BATCH_UNKNOWN", True, "批次号不存在")
register("BATCH_NOT_SENT", True, "该批次尚未报送，不能登记反馈")
register("LINE_UNKNOWN", True, "批次中没有这个序号")
register("RESULT_UNKNOWN", True, "处理结果无法识别（应为 成功/接收 或 失败/拒绝）")
FEEDBACK_COLUMNS = (
    Column("batch_no", "批次号", ("批次号", "批次编号", "传递批次号"), required=True),
    Column("line_no", "序号", ("序号", "行号", "明细序号"), required=True),
    Column("id_number", "社会保障号码", ("社会保障号码", "身份证号码", "证件号码")),
    Column("result", "处理结果", ("处理结果", "反馈结果", "处理状态", "状态", "结果"), required=True),
    Column("reason", "原因", ("原因", "失败原因", "拒绝原因", "备注", "说明")),
)
_ACCEPT = {"成功", "接收", "已接收", "受理成功", "处理成功", "正常", "通过"}
_REJECT = {"失败", "拒绝", "已拒绝", "退回", "不成功", "处理失败", "不通过", "被拒绝"}


def default_folder() -> Path:
    return dao_db.default_data_dir() / "handoff"


def _month_end(month: str) -> dt.date:
    year, mon = (int(x) for x in month.split("-"))
    return dt.date(year, mon, calendar.monthrange(year, mon)[1])


def _money(fen: int) -> str:
    return str(fen_to_yuan(fen))


@dataclass
class _Line:
    record_id: int
    amount_fen: int
    values: list
    claim: str
    corrects: int | None = None


def _refund_lines(month: str, county_code: str) -> list[_Line]:
    cases = list(
        RefundCase.select(RefundCase, Resident)
        .join(Resident)
        .where(
            (RefundCase.state == PAID)
            & RefundCase.handoff_batch_id.is_null()
            & (RefundCase.paid_on <= _month_end(month))
        )
        .order_by(RefundCase.paid_on, RefundCase.id)
    )
    years: dict[int, set[int]] = defaultdict(set)
    ids = [c.id for c in cases]
    for part in bulk.in_chunks(ids):
        query = (
            RefundItem.select(RefundItem.case, Contribution.year)
            .join(Contribution)
            .where(RefundItem.case.in_(part))
        )
        for case_id, year in query.tuples():
            years[case_id].add(year)
    return [
        _Line(
            c.id,
            c.amount_fen,
            [
                c.resident.id_number,
                c.resident.name,
                INSURANCE,
                "、".join(str(y) for y in sorted(years[c.id])),
                _money(c.amount_fen),
                c.reason,
                c.paid_on.isoformat(),
                c.bank_ref,
                county_code,
                "正常",
                "",
                "",
            ],
            f"refund:{c.id}",
        )
        for c in cases
    ]


def _subsidy_lines(county_code: str) -> list[_Line]:
    rows = (
        GovernmentPayment.select(GovernmentPayment, Resident, Township)
        .join(Resident)
        .join(Township, on=(Resident.township == Township.id))
        .where((GovernmentPayment.state == PAYMENT_PENDING) & GovernmentPayment.handoff_batch_id.is_null())
        .order_by(Township.sort_order, Resident.id_number)
    )
    lines = [
        _Line(
            p.id,
            p.amount_fen,
            [
                p.resident.id_number,
                p.resident.name,
                INSURANCE,
                str(p.year),
                _money(p.amount_fen),
                p.groups,
                p.resident.township.name,
                county_code,
                "正常",
                "",
                "",
            ],
            f"subsidy:{p.id}",
        )
        for p in rows
    ]
    # Payments that stopped qualifying after handoff: a negative line cancels the original one.
    for p in (
        GovernmentPayment.select(GovernmentPayment, Resident)
        .join(Resident)
        .where(GovernmentPayment.state == PAYMENT_CORRECTION)
    ):
        original = (
            HandoffLine.select(HandoffLine, HandoffBatch)
            .join(HandoffBatch)
            .where((HandoffBatch.kind == "subsidy") & (HandoffBatch.state == BATCH_SENT) & ~HandoffBatch.is_correction
                   & (HandoffLine.record_id == p.id) & (HandoffLine.feedback != FEEDBACK_REJECTED))
            .order_by(HandoffLine.id.desc())
            .first()
        )  # fmt: skip
        if (
            original is None
            or HandoffLine.select().where(HandoffLine.claim == f"subsidy-c:{original.id}").exists()
        ):
            continue
        values = json.loads(original.values)
        lines.append(_Line(p.id, -original.amount_fen, [values[0], values[1], INSURANCE, values[3], _money(-original.amount_fen),
                                                        "不再符合政府代缴条件", values[6], county_code, "冲正",
                                                        original.batch.batch_no, str(original.line_no)],
                           f"subsidy-c:{original.id}", corrects=original.id))  # fmt: skip
    return lines


def _batch_no(kind: str, month: str, seq: int, correction: bool, county_code: str) -> str:
    code = ("TF" if kind == "refund" else "DJ") + ("C" if correction else "")
    return f"{county_code}-{month.replace('-', '')}-{code}-{seq:02d}"


def _next_seq(kind: str, month: str) -> int:
    top = (
        HandoffBatch.select(pw.fn.MAX(HandoffBatch.seq))
        .where((HandoffBatch.kind == kind) & (HandoffBatch.month == month))
        .scalar()
    )
    return (top or 0) + 1


def _columns(kind: str) -> tuple[str, ...]:
    return handoff_files.REFUND_COLUMNS if kind == "refund" else handoff_files.SUBSIDY_COLUMNS


def _rows(batch: HandoffBatch) -> list[list]:
    return [[line.line_no, *json.loads(line.values)] for line in batch.lines.order_by(HandoffLine.line_no)]


def _manifest(batch: HandoffBatch) -> dict:
    return {
        "batch_no": batch.batch_no,
        "kind": KINDS[batch.kind],
        "month": batch.month,
        "county_code": regions.county_code(),
        "record_count": batch.records,
        "total_amount": _money(batch.total_fen),
        "correction": batch.is_correction,
        "note": batch.note,
        "created_by": batch.created_by,
        "created_at": batch.created_at.isoformat(sep=" "),
        "columns": list(_columns(batch.kind)),
    }


def _file_args(batch: HandoffBatch, out_dir: Path) -> tuple:
    county = regions.county()["county_name"]
    title = f"{county}{INSURANCE}{KINDS[batch.kind]}传递明细（批次 {batch.batch_no}，{batch.month}）"
    return (out_dir, batch.batch_no, title, _columns(batch.kind), _rows(batch), _manifest(batch), batch.created_at,
            batch.file_format)  # fmt: skip


def _write_files(batch: HandoffBatch, out_dir: Path) -> dict[str, str]:
    return handoff_files.write_batch(*_file_args(batch, out_dir))


# -- the folders batches are written to, and what an interrupted batch left in them -----------------------------

_FOLDERS_FILE = "handoff-folders.json"  # on this PC: where its batches were written


def _folders_file() -> Path:
    return dao_db.default_data_dir() / _FOLDERS_FILE


def written_folders() -> list[Path]:
    """Every folder this PC has written batches to (the default one first)."""
    folders = [default_folder()]
    try:
        folders += [Path(x) for x in json.loads(_folders_file().read_text(encoding="utf-8"))]
    except (OSError, ValueError):
        pass
    seen: dict[str, Path] = {}
    for folder in folders:
        seen.setdefault(str(folder.resolve()), folder)
    return list(seen.values())


def _remember_folder(folder: Path) -> None:
    """Recorded before the first temporary file is written there, so a kill cannot hide its leftovers."""
    known = written_folders()
    if str(folder.resolve()) in {str(f.resolve()) for f in known}:
        return
    register = _folders_file()
    register.parent.mkdir(parents=True, exist_ok=True)
    kept = [str(f) for f in known[1:]] + [str(folder.resolve())]
    temp = register.with_name(f".{register.name}.{os.getpid()}.part")
    temp.write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
    os.replace(temp, register)


def tidy_folders(actor: Actor) -> list[str]:
    """Leftovers of a batch creation that was killed: a batch that was committed gets its files (rebuilt byte
    for byte from its stored lines); temporary files of a batch that never was are removed. Returns what was
    done, in Chinese, for the command or tab to say."""
    if not actor.can("handoff.view"):
        return []
    said = []
    for folder in written_folders():
        found = handoff_files.orphans(folder)
        if not found:
            continue
        by_batch: dict[str, list[handoff_files.Orphan]] = defaultdict(list)
        for orphan in found:
            by_batch[_batch_of(orphan.name)].append(orphan)
        for batch_no, leftovers in sorted(by_batch.items()):
            batch = HandoffBatch.get_or_none(HandoffBatch.batch_no == batch_no)
            if batch is not None and not all((folder / o.name).exists() for o in leftovers):
                _write_files(batch, folder)
                said.append(
                    f"批次 {batch_no} 已生成但文件未放好（上次操作被中断）：已在 {folder} 补全其文件。"
                )
            else:
                said.append(f"已删除上次中断的传递操作留下的临时文件 {len(leftovers)} 个（{folder}，批次 {batch_no} "
                            + ("的文件已齐全）。" if batch is not None else "并未生成）。"))  # fmt: skip
            for orphan in leftovers:
                orphan.path.unlink(missing_ok=True)
            log.info(
                "handoff leftovers in %s: batch %s (%s)", folder, batch_no, "exists" if batch else "none"
            )
    return said


def _batch_of(file_name: str) -> str:
    for suffix in (".manifest.json", ".xlsx", ".csv"):
        if file_name.endswith(suffix):
            return file_name[: -len(suffix)]
    return file_name


def _store(actor: Actor, kind: str, month: str, lines: list[_Line], out_dir: Path, *, correction: bool,
           note: str = "") -> HandoffBatch:  # fmt: skip
    county_code = regions.county_code()
    _remember_folder(out_dir)
    staged: handoff_files.Staged | None = None
    try:
        with current().atomic():
            seq = _next_seq(kind, month)
            batch = HandoffBatch.create(batch_no=_batch_no(kind, month, seq, correction, county_code), kind=kind, month=month,
                                        seq=seq, is_correction=correction, created_by=actor.username, note=note[:200],
                                        records=len(lines), total_fen=sum(x.amount_fen for x in lines), created_at=now(),
                                        file_format=handoff_files.CURRENT_FORMAT)  # fmt: skip
            bulk.insert_rows(
                HandoffLine, ("line_no", "record_id", "amount_fen", "values", "claim", "corrects_id"),
                [(n, x.record_id, x.amount_fen, json.dumps(x.values, ensure_ascii=False), x.claim, x.corrects)
                 for n, x in enumerate(lines, start=1)],
                {"batch_id": batch.id, "feedback": "", "feedback_reason": ""},
            )  # fmt: skip
            normal = [x.record_id for x in lines if x.corrects is None]
            model = RefundCase if kind == "refund" else GovernmentPayment
            for part in bulk.in_chunks(normal):
                model.update(handoff_batch_id=batch.id).where(model.id.in_(part)).execute()
            # Written under temporary names; a failure here rolls the batch back: no half batch.
            staged = handoff_files.stage_batch(*_file_args(batch, out_dir))
            files = staged.hashes
            HandoffBatch.update(files=json.dumps(files, sort_keys=True)).where(
                HandoffBatch.id == batch.id
            ).execute()
            audit.record(actor.username, "create", "handoff_batch", batch.id,
                         after={"batch_no": batch.batch_no, "records": batch.records, "total_fen": batch.total_fen})  # fmt: skip
        # Committed: now the files take their names. Killed before this, the next handoff command finds the
        # temporary files of a committed batch and completes them (tidy_folders).
        try:
            staged.commit()
        except OSError as exc:
            raise UserError(f"批次 {batch.batch_no} 已生成，但文件未能放入 {out_dir}（{exc.strerror}）："
                            "请用“重新导出”把文件导出到可写的文件夹。") from exc  # fmt: skip
    except pw.IntegrityError as exc:
        raise UserError(
            "另一台电脑刚刚生成了同一批次（或其中的记录已进入其他批次），本次未生成。请刷新后查看。"
        ) from exc
    finally:
        if staged is not None:
            staged.discard()  # nothing is left under a temporary name, whatever happened
    log.info(
        "handoff batch %s created by %s: %s records in %s",
        batch.batch_no,
        actor.username,
        batch.records,
        out_dir,
    )
    return HandoffBatch.get_by_id(batch.id)


def create_batch(actor: Actor, month: str, kind: str, out_dir: str | Path | None = None) -> HandoffBatch:
    """The month's batch of ``kind``: every ready record, none twice. One live batch per month and kind."""
    require(actor, "handoff.manage")
    if kind not in KINDS:
        raise UserError(f"传递类型应为 refund（退费）或 subsidy（政府代缴）：{kind}")
    month = parse_month(month)
    live = HandoffBatch.get_or_none((HandoffBatch.kind == kind) & (HandoffBatch.month == month) & ~HandoffBatch.is_correction
                                    & (HandoffBatch.state != BATCH_CANCELLED))  # fmt: skip
    if live is not None:
        raise UserError(
            f"{month} 已有{KINDS[kind]}批次 {live.batch_no}（{live.state}）：之后就绪的记录将进入下月批次。"
        )
    county_code = regions.county_code()
    lines = _refund_lines(month, county_code) if kind == "refund" else _subsidy_lines(county_code)
    if not lines:
        raise UserError(f"没有待传递的{KINDS[kind]}记录。")
    return _store(actor, kind, month, lines, Path(out_dir) if out_dir else default_folder(), correction=False)


def get(batch_ref: str | int) -> HandoffBatch:
    text = str(batch_ref).strip()
    batch = (
        HandoffBatch.get_or_none(HandoffBatch.id == int(text))
        if text.isdigit()
        else HandoffBatch.get_or_none(HandoffBatch.batch_no == text)
    )
    if batch is None:
        raise UserError(f"没有这个传递批次：{batch_ref}")
    return batch


def _set_state(actor: Actor, batch: HandoffBatch, action: str, **changes: object) -> None:
    updated = (
        HandoffBatch.update(**changes)
        .where((HandoffBatch.id == batch.id) & (HandoffBatch.state == batch.state))
        .execute()
    )
    if updated != 1:
        raise UserError(f"批次 {batch.batch_no} 刚被其他用户处理，请刷新后再看。")
    audit.record(actor.username, action, "handoff_batch", batch.id, before={"state": batch.state},
                 after={k: v for k, v in changes.items() if k != "sent_at"})  # fmt: skip


def mark_sent(actor: Actor, batch_ref: str | int) -> HandoffBatch:
    """The files went to the tax side: the batch and its month's refunds are locked from now on."""
    require(actor, "handoff.manage")
    batch = get(batch_ref)
    if batch.state != BATCH_CREATED:
        raise UserError(f"批次 {batch.batch_no} 当前为“{batch.state}”，不能标记为已报送。")
    with current().atomic():
        _set_state(actor, batch, "mark_sent", state=BATCH_SENT, sent_by=actor.username, sent_at=now())
        if batch.kind == "subsidy":
            normal = [x.record_id for x in batch.lines if x.corrects_id is None]
            corrected = [x.record_id for x in batch.lines if x.corrects_id is not None]
            for ids, state in ((normal, PAYMENT_SENT), (corrected, PAYMENT_CORRECTED)):
                for part in bulk.in_chunks(ids):
                    GovernmentPayment.update(state=state).where(GovernmentPayment.id.in_(part)).execute()
    return get(batch.id)


def _release(batch: HandoffBatch, line_ids: Sequence[int] | None = None) -> None:
    """Return records to the pool (a cancelled batch, or lines the tax side rejected)."""
    if line_ids is None:
        lines = list(batch.lines)
    else:
        lines = [x for part in bulk.in_chunks(line_ids) for x in batch.lines.where(HandoffLine.id.in_(part))]
    for part in bulk.in_chunks(x.id for x in lines):
        HandoffLine.update(claim=None).where(HandoffLine.id.in_(part)).execute()
    normal = [x.record_id for x in lines if x.corrects_id is None]
    model = RefundCase if batch.kind == "refund" else GovernmentPayment
    for part in bulk.in_chunks(normal):
        model.update(handoff_batch_id=None).where(
            model.id.in_(part) & (model.handoff_batch_id == batch.id)
        ).execute()
        if batch.kind == "subsidy" and batch.state == BATCH_SENT:
            GovernmentPayment.update(state=PAYMENT_PENDING).where(GovernmentPayment.id.in_(part)).execute()


def cancel(actor: Actor, batch_ref: str | int, reason: str = "") -> HandoffBatch:
    """Before it is sent, a batch can be cancelled: its records go into the next batch."""
    require(actor, "handoff.manage")
    batch = get(batch_ref)
    if batch.state != BATCH_CREATED:
        raise UserError(f"批次 {batch.batch_no} 当前为“{batch.state}”：已报送的批次不能取消，请用更正批次。")
    with current().atomic():
        _set_state(
            actor,
            batch,
            "cancel",
            state=BATCH_CANCELLED,
            cancelled_by=actor.username,
            note=reason[:200] or batch.note,
        )
        _release(batch)
    return get(batch.id)


def correct(actor: Actor, batch_ref: str | int, line_nos: Sequence[int], reason: str, month: str | None = None,
            out_dir: str | Path | None = None) -> HandoffBatch:  # fmt: skip
    """A correction batch: negative (cancel) lines referencing lines of a sent batch. History is never edited."""
    require(actor, "handoff.manage")
    if not reason.strip():
        raise UserError("更正批次必须写明原因。")
    original = get(batch_ref)
    if original.state != BATCH_SENT:
        raise UserError(f"只能更正已报送的批次（{original.batch_no} 为“{original.state}”，可直接取消）。")
    wanted = set(line_nos)
    chosen = sorted(
        (x for part in bulk.in_chunks(wanted) for x in original.lines.where(HandoffLine.line_no.in_(part))),
        key=lambda x: x.line_no,
    )
    missing = wanted - {x.line_no for x in chosen}
    if missing:
        raise UserError(f"批次 {original.batch_no} 中没有序号：{'、'.join(str(n) for n in sorted(missing))}")
    lines = []
    for x in chosen:
        if x.corrects_id is not None:
            raise UserError(f"序号 {x.line_no} 本身是更正行，不能再更正。")
        if x.feedback == FEEDBACK_REJECTED:
            # Never booked by the tax side, and its record went back to the pool: reversing it would cancel
            # a payment that was never made (or net the re-sent record to zero).
            raise UserError(
                f"序号 {x.line_no} 已被税务端拒绝（{x.feedback_reason or '未写原因'}），从未入账，不能冲正："
                "该记录已回到待传递，改正后随下一批次报送。"
            )
        values = json.loads(x.values)
        values[4] = _money(-x.amount_fen)  # the amount column of both layouts
        values[-3:] = ["冲正", original.batch_no, str(x.line_no)]
        lines.append(_Line(x.record_id, -x.amount_fen, values, f"{original.kind}-c:{x.id}", corrects=x.id))
    month = parse_month(month) if month else original.month
    return _store(actor, original.kind, month, lines, Path(out_dir) if out_dir else default_folder(), correction=True,
                  note=reason.strip())  # fmt: skip


def export(actor: Actor, batch_ref: str | int, out_dir: str | Path) -> dict[str, str]:
    """Write a batch's files again: byte-identical to the first time (checked against the stored hashes)."""
    require(actor, "handoff.view")
    batch = get(batch_ref)
    files = _write_files(batch, Path(out_dir))
    stored = json.loads(batch.files or "{}")
    if stored and stored != files:
        raise UserError(
            f"批次 {batch.batch_no} 重新导出的文件与首次生成的不一致：数据可能被改动，请联系管理员。"
        )
    audit.record(actor.username, "export", "handoff_batch", batch.id, after={"dir": str(out_dir)})
    return files


# --- feedback from the tax side -------------------------------------------------------------------------


def import_feedback(path: str | Path, actor: Actor, *, dry_run: bool = False) -> Job[ImportReport]:
    """The tax side's return file: per line accepted, or rejected with a reason (the record returns to the pool)."""
    require(actor, "handoff.manage")
    path = Path(path)
    table = open_table(path, FEEDBACK_COLUMNS)
    layout = table.layout
    report = ImportReport(dry_run=dry_run, file_name=path.name, sha256=file_sha256(path), headers=layout.headers,
                          header_row=layout.header_row)  # fmt: skip
    label = {c.field: layout.label(c.field) for c in FEEDBACK_COLUMNS}
    batches: dict[str, HandoffBatch | None] = {}
    try:
        with current().atomic() as transaction:
            for n, (row, cells, value) in enumerate(data_rows(table)):
                if n % 1000 == 0:
                    yield Progress(n, table.source.estimated_rows, "登记反馈")
                report.rows += 1
                problem = _feedback_row(row, value, label, batches, report)
                if problem is not None:
                    report.rejected += 1
                    report.add(problem)
                    report.rejected_rows.append((row, list(cells)))
            if dry_run:
                transaction.rollback()
            else:
                log = ImportLog.create(kind="feedback", file_name=path.name, sha256=report.sha256, username=actor.username,
                                       rows=report.rows, imported=report.imported, unchanged=report.unchanged,
                                       rejected=report.rejected)  # fmt: skip
                audit.record(actor.username, "import", "import_log", log.id, after={"kind": "feedback", "file": path.name,
                             "updated": report.imported, "rejected": report.rejected})  # fmt: skip
    finally:
        table.source.close()
    return report


def _feedback_row(row: int, value: dict, label: dict, batches: dict, report: ImportReport):  # type: ignore[no-untyped-def]
    batch_no = text_of(value.get("batch_no"))
    if batch_no not in batches:
        batches[batch_no] = HandoffBatch.get_or_none(HandoffBatch.batch_no == batch_no)
    batch = batches[batch_no]
    if batch is None:
        return issue(row, label["batch_no"], "BATCH_UNKNOWN", batch_no or "空")
    if batch.state != BATCH_SENT:
        return issue(row, label["batch_no"], "BATCH_NOT_SENT", f"{batch_no}：{batch.state}")
    line_text = text_of(value.get("line_no"))
    line = batch.lines.where(HandoffLine.line_no == int(line_text)).first() if line_text.isdigit() else None
    if line is None:
        return issue(row, label["line_no"], "LINE_UNKNOWN", line_text or "空")
    result = text_of(value.get("result")).replace(" ", "")
    if result in _ACCEPT:
        outcome = FEEDBACK_ACCEPTED
    elif result in _REJECT:
        outcome = FEEDBACK_REJECTED
    else:
        return issue(row, label["result"], "RESULT_UNKNOWN", result or "空")
    reason = text_of(value.get("reason"))[:200]
    if line.feedback == outcome and line.feedback_reason == reason:
        report.unchanged += 1
        return None
    HandoffLine.update(feedback=outcome, feedback_reason=reason).where(HandoffLine.id == line.id).execute()
    if outcome == FEEDBACK_REJECTED and line.claim is not None:
        _release(batch, [line.id])
        if batch.kind == "refund":
            RefundCase.update(note=f"税务反馈拒绝：{reason}"[:200]).where(
                RefundCase.id == line.record_id
            ).execute()
    report.imported += 1
    return None


# --- views ----------------------------------------------------------------------------------------------


@dataclass
class BatchRow:
    id: int
    batch_no: str
    kind: str
    month: str
    state: str
    correction: bool
    records: int
    total_fen: int
    accepted: int
    rejected: int
    created_by: str  # display names, for the screens
    created_at: dt.datetime
    sent_by: str
    note: str


def batches(actor: Actor, kind: str | None = None) -> list[BatchRow]:
    require(actor, "handoff.view")
    query = HandoffBatch.select().order_by(HandoffBatch.id.desc())
    if kind:
        query = query.where(HandoffBatch.kind == kind)
    counts: dict[tuple[int, str], int] = defaultdict(int)
    for batch_id, feedback, n in (
        HandoffLine.select(HandoffLine.batch, HandoffLine.feedback, pw.fn.COUNT(HandoffLine.id))
        .group_by(HandoffLine.batch, HandoffLine.feedback)
        .tuples()
    ):
        counts[(batch_id, feedback)] = n
    found = list(query)
    names = display_names([b.created_by for b in found] + [b.sent_by or "" for b in found])
    return [
        BatchRow(b.id, b.batch_no, KINDS[b.kind], b.month, b.state, b.is_correction, b.records, b.total_fen,
                 counts[(b.id, FEEDBACK_ACCEPTED)], counts[(b.id, FEEDBACK_REJECTED)],
                 names.get(b.created_by, b.created_by), b.created_at, names.get(b.sent_by, b.sent_by or ""), b.note)
        for b in found
    ]  # fmt: skip


def periods(actor: Actor) -> list[tuple[str, str, str]]:
    """(month, kind, state) for every month with a batch: 已报送 means the month is locked."""
    require(actor, "handoff.view")
    out: dict[tuple[str, str], str] = {}
    for b in HandoffBatch.select().where(~HandoffBatch.is_correction).order_by(HandoffBatch.id):
        if b.state != BATCH_CANCELLED or (b.month, b.kind) not in out:
            out[(b.month, b.kind)] = (
                "已锁定" if b.state == BATCH_SENT else ("未报送" if b.state == BATCH_CREATED else "已取消")
            )
    return sorted(((m, KINDS[k], s) for (m, k), s in out.items()), reverse=True)


def pending_counts(actor: Actor, month: str) -> dict[str, int]:
    """How many records each kind would carry if a batch were made now."""
    require(actor, "handoff.view")
    county_code = regions.county_code()
    return {
        "refund": len(_refund_lines(parse_month(month), county_code)),
        "subsidy": len(_subsidy_lines(county_code)),
    }


def rejected_lines(actor: Actor) -> list[tuple[str, int, str, str]]:
    """(batch, line, person, reason) the tax side rejected: the bureau's to-do list."""
    require(actor, "handoff.view")
    query = (
        HandoffLine.select(HandoffLine, HandoffBatch).join(HandoffBatch).where(HandoffLine.feedback == FEEDBACK_REJECTED)
        .order_by(HandoffLine.id)
    )  # fmt: skip
    show = roster.id_display(actor)
    out = []
    for x in query:
        number, name = json.loads(x.values)[:2]
        out.append((x.batch.batch_no, x.line_no, f"{name} {show(number)}", x.feedback_reason))
    return out
