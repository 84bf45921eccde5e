"""The audit log as an administrator reads it: Chinese action names, the object by its business key
(退费案件 TF2026-001-0002, not ``refund_case 10``), details as readable lines instead of JSON."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

from core import admin, audit, roster
from core.auth import Actor
from core.errors import UserError
from core.money import format_yuan, yuan_text
from dao.models import (
    ArrearsAssessment,
    HandoffBatch,
    ImportLog,
    RefundCase,
    Resident,
    SpecialList,
    Township,
    User,
)
from reports.tables import write_table

ACTIONS = {
    "login": "登录", "login_failed": "登录失败", "change_password": "修改密码", "reset_password": "重置密码",
    "create": "新建", "update": "修改", "import": "导入", "import_update": "导入更新", "export": "导出",
    "print": "打印", "print_application": "打印申请表", "fund_request": "生成资金申请", "backup": "备份",
    "restore": "从备份恢复", "undo": "撤销名单", "review": "核对姓名", "enrol": "登记参保",
    "sync": "同步政府代缴名单", "declare": "补缴申报", "assess": "核定", "void": "作废", "paid": "已缴清",
    "demo_data": "生成演示数据", "mark_sent": "标记已报送", "cancel": "取消批次", "correct": "更正（冲正）",
    "feedback": "登记税务反馈", "delete": "删除",
}  # fmt: skip
ENTITIES = {
    "resident": "居民", "refund_case": "退费案件", "handoff_batch": "税务传递批次", "arrears_assessment": "补缴核定",
    "arrears_line": "补缴年度", "user": "用户", "policy_year": "缴费政策", "setting": "设置",
    "special_list": "特殊群体名单", "special_list_entry": "名单人员", "government_payment": "政府代缴",
    "import_log": "导入记录", "region": "区划", "database": "数据库", "audit_log": "审计日志",
}  # fmt: skip
FIELDS = {
    "state": "状态", "status": "状态", "note": "说明", "day": "办理日期", "file": "文件", "rows": "行数",
    "count": "数量", "cases": "件数", "total_fen": "金额", "amount_fen": "金额", "role": "角色",
    "township_id": "乡镇", "display_name": "姓名", "active": "启用", "phone": "联系电话", "village_id": "村居",
    "name": "姓名", "account_name": "收款人户名", "account_no": "银行账号", "bank_name": "开户行", "from": "来源",
    "safety_copy": "安全副本", "reason": "原因", "year": "年度", "tiers": "缴费档次", "value": "设置值",
    "sent_by": "报送人", "cancelled_by": "取消人", "assessed_by": "核定人", "sheet_no": "核定单号",
    "id_number": "身份证号码", "failed_attempts": "连续失败次数", "username": "用户名", "db_role": "数据库角色",
    "rehashed": "密码哈希已更新", "roles": "角色", "added": "新增", "removed": "移出", "imported": "导入",
    "updated": "更新", "unchanged": "未变", "rejected": "拒绝", "confirmed": "已确认移出", "current": "当前名单",
    "department": "部门", "group": "人员类别", "scope": "范围", "replaces": "替换名单", "kind": "类型",
    "batch_no": "批次号", "records": "记录数", "people": "人数", "payments": "缴费笔数", "years": "年度",
    "contribution_id": "缴费记录", "resident_id": "居民编号", "from_entry": "名单记录", "enrolled_on": "参保日期",
    "id_card_seen": "已核验身份证", "form": "表单", "dir": "文件夹", "on": "日期", "restored": "已恢复",
    "tiers_fen": "缴费档次", "hardship_min_fen": "最低标准", "reselect_date": "重新选档日期",
    "window_start": "征缴期开始", "window_end": "征缴期结束", "arrears_allowed": "可补缴", "arrears_subsidy": "补缴补贴",
    "paid_on": "退款日期", "bank_ref": "银行流水号", "batch_month": "资金月份", "removals": "移出人员",
    "errors": "错误", "warnings": "提示", "subsidy_removed": "取消政府代缴", "subsidy_restored": "恢复政府代缴",
    "refund_candidates": "退费候选", "arrears_voided": "作废补缴", "residents": "居民", "contributions": "缴费记录",
    "users": "用户", "arrears": "补缴", "refunds": "退费案件", "government_payments": "政府代缴",
    "government_paid": "政府代缴已缴", "townships": "乡镇", "villages": "村居", "lists": "名单",
}  # fmt: skip
# An 18-character ID number anywhere in the details (also inside lists such as an import's removals).
ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
HEADERS = ("时间", "用户", "操作", "对象", "内容")


@dataclass(frozen=True)
class AuditLine:
    at: dt.datetime
    user: str  # display name (login)
    action: str
    target: str  # 退费案件 TF2026-001-0002
    details: str  # one change per line


def _value(key: str, value: object) -> str:
    if key.endswith("_fen") and isinstance(value, int):
        return f"{format_yuan(value)} 元"
    if key == "tiers_fen" and isinstance(value, str):  # "10000,20000": the tiers in fen
        return "、".join(yuan_text(int(t)) for t in value.split(",") if t.strip().isdigit()) + " 元"
    if isinstance(value, bool):
        return "是" if value else "否"
    if value in (None, ""):
        return "（空）"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def _details(before: str, after: str) -> str:
    old = json.loads(before) if before else {}
    new = json.loads(after) if after else {}
    lines = []
    for key in list(dict.fromkeys([*old, *new])):
        label = FIELDS.get(key, key)
        if key in old and key in new:
            lines.append(f"{label}：{_value(key, old[key])} → {_value(key, new[key])}")
        elif key in new:
            lines.append(f"{label}：{_value(key, new[key])}")
        else:
            lines.append(f"{label}：{_value(key, old[key])}（原值）")
    return "\n".join(lines)


def _keys(actor: Actor, entity: str, ids: set[int]) -> dict[int, str]:
    """Business keys for the numeric ids of one kind of object."""
    if not ids:
        return {}
    if entity == "refund_case":
        return dict(
            RefundCase.select(RefundCase.id, RefundCase.case_no).where(RefundCase.id.in_(ids)).tuples()
        )
    if entity == "handoff_batch":
        return dict(
            HandoffBatch.select(HandoffBatch.id, HandoffBatch.batch_no)
            .where(HandoffBatch.id.in_(ids))
            .tuples()
        )
    if entity == "arrears_assessment":
        found = (
            ArrearsAssessment.select(ArrearsAssessment, Township)
            .join(Township)
            .where(ArrearsAssessment.id.in_(ids))
        )
        return {a.id: (a.sheet_no or f"申报 {a.id}") for a in found}
    if entity == "user":
        return {
            i: f"{name}（{u}）" if name else u
            for i, u, name in User.select(User.id, User.username, User.display_name)
            .where(User.id.in_(ids))
            .tuples()
        }
    if entity == "resident":
        show = roster.id_display(actor)
        return {
            i: f"{name} {show(number)}"
            for i, name, number in Resident.select(Resident.id, Resident.name, Resident.id_number)
            .where(Resident.id.in_(ids))
            .tuples()
        }
    if entity == "import_log":
        return {
            i: f"{name}"
            for i, name in ImportLog.select(ImportLog.id, ImportLog.file_name)
            .where(ImportLog.id.in_(ids))
            .tuples()
        }
    if entity == "special_list":
        return {
            i: f"{y} 年 {d} {g}"
            for i, y, d, g in SpecialList.select(
                SpecialList.id, SpecialList.year, SpecialList.department, SpecialList.group
            )
            .where(SpecialList.id.in_(ids))
            .tuples()
        }
    return {}  # fmt: skip


def entries(actor: Actor, **filters: object) -> list[AuditLine]:
    """The newest audit entries (admin.audit_entries' filters and limit), in Chinese."""
    rows = admin.audit_entries(actor, **filters)  # type: ignore[arg-type]
    wanted: dict[str, set[int]] = {}
    for e in rows:
        for part in str(e.entity_id).split(","):
            if part.isdigit():
                wanted.setdefault(e.entity, set()).add(int(part))
    keys = {entity: _keys(actor, entity, ids) for entity, ids in wanted.items()}
    names = dict(User.select(User.username, User.display_name).tuples())
    show = roster.id_display(actor)
    out = []
    for e in rows:
        kind = ENTITIES.get(e.entity, e.entity)
        parts = [p for p in str(e.entity_id).split(",") if p]
        shown = [keys.get(e.entity, {}).get(int(p), p) if p.isdigit() else p for p in parts]
        target = f"{kind} {'、'.join(shown)}".strip()
        user = f"{names[e.username]}（{e.username}）" if names.get(e.username) else e.username
        out.append(
            AuditLine(e.at, user, ACTIONS.get(e.action, e.action), target,
                      ID_IN_TEXT.sub(lambda m: show(m.group()), _details(e.before, e.after)))
        )  # fmt: skip
    return out


def export(actor: Actor, out: str | Path, **filters: object) -> int:
    """Every matching entry (not only the newest shown) as .xlsx or .csv, in the viewer's words and with its
    masking: the file is read by people, and an export must not show more than the screen does."""
    if Path(out).suffix.lower() not in (".xlsx", ".csv"):
        raise UserError(f"审计日志应导出为 .xlsx 或 .csv：{Path(out).name}")
    lines = entries(actor, limit=1_000_000, **filters)
    count = write_table(out, HEADERS, ((f"{e.at:%Y-%m-%d %H:%M:%S}", e.user, e.action, e.target, e.details)
                                       for e in lines), sheet_title="审计日志", widths=[20, 22, 14, 36, 70])  # fmt: skip
    audit.record(actor.username, "export", "audit_log", "", after={"file": Path(out).name, "rows": count})
    return count
