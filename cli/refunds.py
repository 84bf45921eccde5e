"""refunds list | create | from-candidate | advance | correct-account | fund-request | print | print-application."""

from __future__ import annotations

import argparse
import json

from cli import ChineseParser
from cli.roster import _date
from core import arrears, auth, refunds
from core.errors import UserError
from core.money import fen_to_yuan, format_yuan, yuan_to_fen
from dao.models import REFUND_DOCUMENTS, REFUND_REASONS, Contribution


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("refunds", help="退费审核：受理、初审、复核、资金申请、退款、打印审批表")
    group = p.add_subparsers(
        dest="refund_command", title="退费子命令", metavar="子命令", parser_class=ChineseParser
    )
    group.required = True

    q = group.add_parser("list", help="列出退费案件")
    q.add_argument("--state", help="状态：" + "、".join(refunds.STATES))
    q.add_argument("--month", metavar="YYYY-MM", help="报送批次月份或资金申请月份")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=list_cmd)

    q = group.add_parser("create", help="受理：登记一个退费案件")
    q.add_argument("--id-number", required=True, help="缴费人身份证号码")
    q.add_argument("--vouchers", required=True, help="要退的税票号码，逗号分隔")
    q.add_argument("--amounts", help="各税票退费金额（元），逗号分隔；默认全额")
    q.add_argument("--reason", required=True, choices=REFUND_REASONS)
    q.add_argument("--reason-text", default="", help="原因为“其他”时的说明")
    q.add_argument("--insurance", default="居民养老", choices=["居民养老", "居民医保"])
    q.add_argument("--account-name", required=True, help="收款人户名")
    q.add_argument("--account-no", required=True, help="银行账号")
    q.add_argument("--bank", required=True, help="开户行")
    q.add_argument("--documents", default="、".join(REFUND_DOCUMENTS), help="已收材料，顿号或逗号分隔")
    q.add_argument(
        "--on", type=_date, metavar="YYYY-MM-DD", help="受理日期（补录时填写，默认今天，不能晚于今天）"
    )
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=create_cmd)

    q = group.add_parser("from-candidate", help="把缴费明细导入发现的退费候选登记为案件")
    q.add_argument("candidate", type=int)
    q.add_argument("--account-name", required=True)
    q.add_argument("--account-no", required=True)
    q.add_argument("--bank", required=True)
    q.set_defaults(handler=candidate_cmd)

    q = group.add_parser("advance", help="推进案件：初审、复核通过、退回、已退款、退款失败、撤销、重新发放")
    q.add_argument("cases", metavar="CASE", nargs="+", help="案件编号或序号")
    q.add_argument("--to", required=True, choices=list(refunds.TARGET_NAMES), help="目标环节")
    q.add_argument("--reason", default="", help="退回、退款失败的原因")
    q.add_argument("--bank-ref", default="", help="已退款时的银行流水号")
    q.add_argument(
        "--on",
        type=_date,
        metavar="YYYY-MM-DD",
        help="办理日期（补录时填写，默认今天；不能晚于今天、早于上一环节）",
    )
    q.add_argument(
        "--paid-on",
        type=_date,
        metavar="YYYY-MM-DD",
        help="退款日期（默认办理日期；不能早于复核通过、晚于今天）",
    )
    q.set_defaults(handler=advance_cmd)

    q = group.add_parser("correct-account", help="更正收款账户（退回或退款失败后）")
    q.add_argument("case", metavar="CASE")
    q.add_argument("--account-name", required=True)
    q.add_argument("--account-no", required=True)
    q.add_argument("--bank", required=True)
    q.set_defaults(handler=account_cmd)

    q = group.add_parser("fund-request", help="生成某月向县财政局的退费资金申请（PDF 或 Excel）")
    q.add_argument("--month", required=True, metavar="YYYY-MM")
    q.add_argument("out", metavar="OUT", help="输出 .pdf 或 .xlsx")
    q.set_defaults(handler=fund_cmd)

    q = group.add_parser("print", help="批量打印退费审批表（每案一页 A4）")
    q.add_argument("cases", metavar="CASE", nargs="+")
    q.add_argument("out", metavar="OUT.pdf")
    q.set_defaults(handler=print_cmd)

    q = group.add_parser("print-application", help="打印退费申请表和缴费证明（各一式三份）")
    q.add_argument("case", metavar="CASE")
    q.add_argument("out", metavar="OUT.pdf")
    q.set_defaults(handler=application_cmd)


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.replace("，", ",").replace("、", ",").split(",") if p.strip()]


def list_cmd(args: argparse.Namespace) -> int:
    actor = auth.cli_actor(args.user)
    rows = refunds.listing(actor, args.state, args.month)
    if args.json:
        print(json.dumps([{"id": r.id, "case_no": r.case_no, "state": r.state, "township": r.township,
                           "id_number": r.id_number, "name": r.name, "reason": r.reason,
                           "amount": str(fen_to_yuan(r.amount_fen)), "batch_month": r.batch_month,
                           "fund_month": r.fund_month} for r in rows], ensure_ascii=False))  # fmt: skip
        return 0
    for r in rows:
        print(f"{r.case_no} {r.state:<5} {r.township} {r.name} {r.reason} {format_yuan(r.amount_fen)} 元 "
              f"批次 {r.batch_month or '—'} 资金 {r.fund_month or '—'}")  # fmt: skip
    print(f"共 {len(rows)} 件，金额合计 {format_yuan(sum(r.amount_fen for r in rows))} 元")
    return 0


def create_cmd(args: argparse.Namespace) -> int:
    actor = auth.system_user(args.user)
    resident = arrears.find_resident(actor, args.id_number)
    vouchers = _split(args.vouchers)
    found = {c.voucher: c for c in Contribution.select().where(Contribution.voucher.in_(vouchers))}
    missing = [v for v in vouchers if v not in found]
    if missing:
        raise UserError(f"没有这些税票号码的缴费记录：{'、'.join(missing)}")
    try:
        amounts = (
            [yuan_to_fen(a) for a in _split(args.amounts)]
            if args.amounts
            else [found[v].amount_fen for v in vouchers]
        )
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    case = refunds.create(actor, refunds.NewCase(
        resident.id, [found[v].id for v in vouchers], amounts, args.reason, args.account_name, args.account_no,
        args.bank, _split(args.documents), args.reason_text, args.insurance,
    ), on=args.on)  # fmt: skip
    if args.json:
        print(json.dumps({"id": case.id, "case_no": case.case_no, "state": case.state,
                          "amount": str(fen_to_yuan(case.amount_fen))}, ensure_ascii=False))  # fmt: skip
    else:
        print(f"已受理 {case.case_no}（{case.state}），退费 {format_yuan(case.amount_fen)} 元")
    return 0


def candidate_cmd(args: argparse.Namespace) -> int:
    actor = auth.system_user(args.user)
    case = refunds.from_candidate(actor, args.candidate, args.account_name, args.account_no, args.bank)
    print(f"已受理 {case.case_no}（{case.reason}），退费 {format_yuan(case.amount_fen)} 元")
    return 0


def advance_cmd(args: argparse.Namespace) -> int:
    actor = auth.system_user(args.user)
    moved = refunds.advance_many(
        actor,
        args.cases,
        args.to,
        reason=args.reason,
        bank_ref=args.bank_ref,
        paid_on=args.paid_on,
        on=args.on,
    )  # all or nothing: one case that cannot move stops them all
    for case in moved:
        extra = f"，报送批次 {case.batch_month}" if case.state == refunds.PASSED else ""
        extra += f"，列入 {case.fund_month} 资金申请" if case.state == refunds.APPROVED else ""
        print(f"{case.case_no}：{case.state}{extra}")
    return 0


def account_cmd(args: argparse.Namespace) -> int:
    actor = auth.system_user(args.user)
    case = refunds.correct_account(actor, args.case, args.account_name, args.account_no, args.bank)
    print(f"{case.case_no}：收款账户已更正")
    return 0


def fund_cmd(args: argparse.Namespace) -> int:
    actor = auth.cli_actor(args.user)
    request = refunds.write_fund_request(actor, args.month, args.out)
    print(
        f"{request.month} 退费资金申请：{len(request.cases)} 件，合计 {format_yuan(request.total_fen)} 元，已写入 {args.out}"
    )
    return 0


def print_cmd(args: argparse.Namespace) -> int:
    actor = auth.cli_actor(args.user)
    count = refunds.print_approval_sheets(actor, args.cases, args.out)
    print(f"已打印 {count} 张退费审批表到 {args.out}")
    return 0


def application_cmd(args: argparse.Namespace) -> int:
    actor = auth.cli_actor(args.user)
    refunds.print_application(actor, args.case, args.out)
    print(f"已打印退费申请表和缴费证明（各一式三份）到 {args.out}")
    return 0
