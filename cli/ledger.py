"""import-contributions, assess-arrears, export-arrears, print-arrears."""

from __future__ import annotations

import argparse
import json

from cli import CommandFailed, int_list
from cli.progress import run_with_bar
from cli.roster import summary_text
from core import arrears, auth, ledger, regions
from core.errors import UserError
from core.money import fen_to_yuan, to_capital, yuan_to_fen
from dao.models import ArrearsLine


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import-contributions", help="导入税务、银行的缴费明细（同一税票号码只入账一次）")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--sheet", metavar="NAME")
    p.add_argument("--dry-run", action="store_true", help="只校验并报告，不写入数据库")
    p.add_argument("--json", action="store_true", help="标准输出只输出一个 JSON 对象")
    p.set_defaults(handler=import_cmd)

    p = sub.add_parser("assess-arrears", help="补缴申报并核定，可同时打印补缴费额核定单")
    p.add_argument("id_number", metavar="ID_NUMBER", help="身份证号码")
    p.add_argument("--years", required=True, help="补缴年度，逗号分隔，如 2017,2018,2019")
    p.add_argument("--tiers", required=True, help="各年度缴费档次（元），逗号分隔，如 300,300,500")
    p.add_argument("--pdf", metavar="OUT.pdf", help="打印核定单到该 PDF 文件")
    p.add_argument("--json", action="store_true", help="标准输出只输出一个 JSON 对象")
    p.set_defaults(handler=assess_cmd)

    p = sub.add_parser("export-arrears", help="导出补缴清单（已申报、已核定未缴、已缴清、已作废）")
    p.add_argument("out", metavar="OUT", help="输出文件 .xlsx 或 .csv")
    p.add_argument("--status", choices=["declared", "assessed", "paid", "void"], help="只导出该状态")
    p.add_argument("--township", metavar="NAME", help="只导出该乡镇")
    p.set_defaults(handler=export_cmd)

    p = sub.add_parser("print-arrears", help="打印已核定的补缴费额核定单（每张一页 A4）")
    p.add_argument("ids", metavar="ASSESSMENT", nargs="+", type=int, help="补缴记录编号")
    p.add_argument("--out", required=True, metavar="OUT.pdf")
    p.set_defaults(handler=print_cmd)


def import_cmd(args: argparse.Namespace) -> int:
    actor = auth.cli_actor(args.user)
    job = ledger.import_contributions(args.file, actor, sheet=args.sheet, dry_run=args.dry_run)
    report = run_with_bar(job, "导入缴费明细", quiet=args.json)
    print(json.dumps(report.as_json(), ensure_ascii=False) if args.json else summary_text(report))
    return 0


def _numbers(text: str, what: str) -> list[str]:
    parts = [p.strip() for p in text.replace("，", ",").split(",") if p.strip()]
    if not parts:
        raise CommandFailed(f"{what}不能为空。")
    return parts


def assess_cmd(args: argparse.Namespace) -> int:
    actor = auth.cli_actor(args.user)
    years = int_list(args.years, "--years")
    try:
        tiers = [yuan_to_fen(t) for t in _numbers(args.tiers, "--tiers")]
    except ValueError as exc:  # yuan_to_fen's message is Chinese and names the amount
        raise UserError(f"参数 --tiers 格式不正确：{exc}") from exc
    resident = arrears.find_resident(actor, args.id_number)
    declared = arrears.declare(actor, resident.id, years, tiers)
    assessed = arrears.assess(actor, declared.id)
    if args.pdf:
        arrears.print_sheets(actor, [assessed.id], args.pdf)
    lines = list(ArrearsLine.select().where(ArrearsLine.assessment == assessed.id).order_by(ArrearsLine.year))
    data = {
        "assessment": assessed.id,
        "sheet_no": assessed.sheet_no,
        "status": assessed.status,
        "id_number": resident.id_number,
        "name": resident.name,
        "township": regions.township_name(resident.township_id),
        "lines": [
            {"year": x.year, "tier": str(fen_to_yuan(x.tier_fen)), "amount": str(fen_to_yuan(x.amount_fen))}
            for x in lines
        ],
        "total": str(fen_to_yuan(assessed.total_fen)),
        "total_capital": to_capital(assessed.total_fen),
    }
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        years_text = "、".join(f"{x['year']}年{x['amount']}元" for x in data["lines"])
        print(
            f"已核定 {data['sheet_no']}：{resident.name} {years_text}，合计 {data['total']} 元（{data['total_capital']}）"
        )
        if args.pdf:
            print(f"核定单已打印到 {args.pdf}")
    return 0


def export_cmd(args: argparse.Namespace) -> int:
    actor = auth.cli_actor(args.user)
    township_id = regions.township_id_of(args.township)
    count = arrears.export(actor, args.out, args.status, township_id)
    print(f"已导出 {count} 条到 {args.out}")
    return 0


def print_cmd(args: argparse.Namespace) -> int:
    actor = auth.cli_actor(args.user)
    count = arrears.print_sheets(actor, args.ids, args.out)
    print(f"已打印 {count} 张核定单到 {args.out}")
    return 0
