"""resident register / show / change / move / status: the counter's work, one person at a time."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from cli import CommandFailed
from core import residents, roster
from core.money import format_yuan


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


_date.__name__ = "_date"  # argparse's message names the type: translated in cli/__init__.py


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("resident", help="参保登记、信息变更、转移、暂停/终止/恢复（逐人办理）")
    cmds = p.add_subparsers(dest="resident_command", title="操作", metavar="操作", required=True,
                            parser_class=type(p))  # fmt: skip

    c = cmds.add_parser("register", help="新参保登记（按身份证）")
    c.add_argument("--id-number", required=True, metavar="ID", help="身份证号码（18 位，或 15 位旧号码）")
    c.add_argument("--name", required=True, metavar="NAME", help="姓名")
    c.add_argument("--township", required=True, metavar="T", help="乡镇（街道）")
    c.add_argument("--village", default="", metavar="V", help="村（居）")
    c.add_argument("--phone", default="", metavar="P", help="联系电话：11 位手机号码或带区号的固定电话")
    c.add_argument("--student", action="store_true", help="在校学生（不符合参保条件）")
    c.add_argument("--other-pension", action="store_true", help="已参加其他养老保险（不符合参保条件）")
    c.add_argument(
        "--on", type=_date, metavar="YYYY-MM-DD", help="登记日期，即参保日期；按该日计算年龄（默认今天）"
    )
    c.add_argument("--pdf", metavar="OUT.pdf", help="同时打印参保登记表到 PDF 文件")
    c.add_argument("--json", action="store_true", help="输出 JSON")
    c.set_defaults(handler=register_cmd)

    c = cmds.add_parser("show", help="查看居民信息、参保状态变更和缴费记录")
    c.add_argument("id_number", metavar="ID", help="身份证号码")
    c.add_argument("--json", action="store_true", help="输出 JSON")
    c.set_defaults(handler=show_cmd)

    c = cmds.add_parser("change", help="信息变更（姓名、性别、出生日期须填原因并核对身份证）")
    c.add_argument("id_number", metavar="ID", help="身份证号码")
    c.add_argument("--field", required=True, choices=list(residents.CHANGE_FIELDS), help="变更项目")
    c.add_argument("--value", required=True, metavar="V", help="新值（出生日期为 YYYY-MM-DD）")
    c.add_argument("--reason", default="", metavar="TEXT", help="变更原因")
    c.add_argument("--id-card-seen", action="store_true", help="已核对居民身份证原件")
    c.add_argument("--json", action="store_true", help="输出 JSON")
    c.set_defaults(handler=change_cmd)

    c = cmds.add_parser("move", help="转移到县内其他乡镇（县局审核或管理员）")
    c.add_argument("id_number", metavar="ID", help="身份证号码")
    c.add_argument("--township", required=True, metavar="T", help="转入乡镇（街道）")
    c.add_argument("--village", default="", metavar="V", help="转入村（居）")
    c.add_argument("--reason", required=True, metavar="TEXT", help="转移原因")
    c.add_argument("--on", type=_date, metavar="YYYY-MM-DD", help="转移日期（默认今天）")
    c.set_defaults(handler=move_cmd)

    c = cmds.add_parser("status", help="暂停、终止或恢复参保")
    c.add_argument("id_number", metavar="ID", help="身份证号码")
    c.add_argument("--to", required=True, choices=["暂停", "终止", "正常参保"], help="新的参保状态")
    c.add_argument("--reason", required=True, metavar="原因",
                   help=f"暂停、终止的原因：{'、'.join(residents.STATUS_REASONS)}；恢复时填写恢复原因")  # fmt: skip
    c.add_argument("--on", type=_date, metavar="YYYY-MM-DD", help="生效日期（默认今天）")
    c.add_argument("--json", action="store_true", help="输出 JSON")
    c.set_defaults(handler=status_cmd)


def register_cmd(args: argparse.Namespace) -> int:
    out = residents.register(args.actor, args.id_number, args.name, args.township, args.village, args.phone,
                             student=args.student, other_pension=args.other_pension, on=args.on)  # fmt: skip
    if args.json:
        print(json.dumps(out.as_json(), ensure_ascii=False))
    if not out.ok:
        raise CommandFailed(f"未登记：{out.message()}")
    if args.pdf:
        residents.print_form(args.actor, out.resident_id, args.pdf)
    if not args.json:
        r = residents.find(args.actor, args.id_number)
        print(f"已登记：{residents.describe(r)}，参保日期 {r.enrolled_on}")
        for w in out.warnings:
            print(f"  提示 {w.code}：{w.message}")
        if args.pdf:
            print(f"已打印参保登记表：{args.pdf}")
    elif args.pdf:
        print(f"已打印参保登记表：{args.pdf}", file=sys.stderr)
    return 0


def show_cmd(args: argparse.Namespace) -> int:
    actor = args.actor
    r = residents.find(actor, args.id_number)
    detail = roster.detail(actor, r.id)
    lines = residents.history(actor, r.id)
    data = {
        "resident_id": r.id, "id_number": detail.id_shown, "name": r.name, "sex": r.sex,
        "birth_date": r.birth_date.isoformat(), "township": detail.township, "village": detail.village,
        "phone": r.phone, "status": r.status, "enrolled_on": r.enrolled_on.isoformat() if r.enrolled_on else None,
        "history": [h.as_dict() for h in lines],
        "payments": [{"year": c.year, "amount": format_yuan(c.amount_fen), "kind": c.kind, "payer": c.payer,
                      "channel": c.channel, "paid_on": c.paid_on.isoformat() if c.paid_on else None,
                      "voucher": c.voucher} for c in detail.contributions],
    }  # fmt: skip
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
        return 0
    print(f"{r.name}  {detail.id_shown}  {r.sex}  出生 {r.birth_date}  {detail.township}{detail.village}")
    print(f"联系电话 {r.phone or '无'}  参保状态 {r.status}  参保日期 {r.enrolled_on or '不详'}")
    print(f"历史记录（{len(lines)} 条）：")
    for h in lines:
        change = f"{h.old or '空'} → {h.new or '空'}" if h.old or h.new else ""
        when = f"{h.day}" if h.day else f"{h.at:%Y-%m-%d}"
        print(f"  {when} {h.kind} {h.item} {change} {h.reason}（{h.username}）".replace("  ", " "))
    print(f"缴费记录（{len(detail.contributions)} 笔）：")
    for c in detail.contributions:
        print(
            f"  {c.year} {c.kind} {c.payer} {format_yuan(c.amount_fen)} 元 {c.channel} {c.paid_on or ''} 税票 {c.voucher}"
        )
    return 0


def change_cmd(args: argparse.Namespace) -> int:
    before = residents.find(args.actor, args.id_number)
    label = residents.CHANGE_FIELDS[args.field]
    old = _field_text(before, args.field)
    after = residents.change(
        args.actor, args.id_number, args.field, args.value, args.reason, args.id_card_seen
    )
    new = _field_text(after, args.field)
    if args.json:
        print(
            json.dumps(
                {"resident_id": after.id, "field": args.field, "old": old, "new": new}, ensure_ascii=False
            )
        )
    else:
        print(f"已变更 {after.name} 的{label}：{old or '空'} → {new or '空'}")
    return 0


def _field_text(r, field: str) -> str:  # type: ignore[no-untyped-def]
    if field == "village":
        return r.village.name if r.village_id else ""
    value = getattr(r, field)
    return value.isoformat() if isinstance(value, dt.date) else str(value or "")


def move_cmd(args: argparse.Namespace) -> int:
    r = residents.move(args.actor, args.id_number, args.township, args.village, args.reason, args.on)
    print(f"已转移：{residents.describe(r)}")
    return 0


def status_cmd(args: argparse.Namespace) -> int:
    out = residents.set_status(args.actor, args.id_number, args.to, args.reason, args.on)
    if args.json:
        print(json.dumps(out.as_json(), ensure_ascii=False))
        return 0
    print(f"参保状态已变更为：{out.status}")
    if out.subsidy_removed:
        print(f"  移出政府代缴名单的年度：{'、'.join(map(str, out.subsidy_removed))}（已报送的将冲正）")
    if out.subsidy_restored:
        print(f"  恢复政府代缴的年度：{'、'.join(map(str, out.subsidy_restored))}")
    if out.refund_candidates:
        print(f"  转为退费候选的缴费（税票）：{'、'.join(out.refund_candidates)}")
    if out.arrears_voided:
        print(f"  已作废的补缴记录：{'、'.join(map(str, out.arrears_voided))}")
    return 0
