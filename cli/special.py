"""import-special-list, export-subsidy-list, special-pending, special-enrol."""

from __future__ import annotations

import argparse
import json

from cli.progress import run_with_bar
from cli.roster import summary_text
from core import auth, regions, special_groups
from dao.models import SPECIAL_GROUPS

GROUPS = [g for groups in SPECIAL_GROUPS.values() for g in groups]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import-special-list", help="导入残联、民政、扶贫部门的特殊群体名单并标识")
    p.add_argument("file", metavar="FILE", help="名单文件（.xlsx/.xls/.csv）")
    p.add_argument("--year", type=int, required=True, help="年度，如 2020")
    p.add_argument("--department", required=True, choices=list(SPECIAL_GROUPS), help="提供名单的部门")
    p.add_argument(
        "--group",
        metavar="类别",
        help=f"人员类别：{'、'.join(GROUPS)}，或部门的写法如 农村低保、五保户（文件中有“人员类别”列时可不填）",
    )
    p.add_argument("--sheet", metavar="NAME", help="工作表名称（默认第一个）")
    p.add_argument("--dry-run", action="store_true", help="只校验并报告，不写入数据库")
    p.add_argument("--json", action="store_true", help="标准输出只输出一个 JSON 对象")
    p.set_defaults(handler=import_special_cmd)

    p = sub.add_parser("export-subsidy-list", help="导出政府代缴名单（.xlsx 或打印用 .pdf 花名册）")
    p.add_argument("--year", type=int, required=True, help="年度")
    p.add_argument("out", metavar="OUT", help="输出文件 .xlsx 或 .pdf")
    p.add_argument("--township", metavar="NAME", help="只导出该乡镇")
    p.set_defaults(handler=export_subsidy_cmd)

    p = sub.add_parser("special-pending", help="列出待处理的名单人员（未参保、姓名不符）")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=pending_cmd)

    p = sub.add_parser("special-enrol", help="为名单中未参保的人员登记参保并标识")
    p.add_argument(
        "entries", metavar="ENTRY", nargs="+", type=int, help="待处理记录编号（见 special-pending）"
    )
    p.add_argument("--township", metavar="NAME", help="名单未写乡镇时，登记到该乡镇")
    p.set_defaults(handler=enrol_cmd)


def import_special_cmd(args: argparse.Namespace) -> int:
    actor = auth.cli_actor(args.user)
    job = special_groups.import_special_list(args.file, actor, year=args.year, department=args.department,
                                             group=args.group, sheet=args.sheet, dry_run=args.dry_run)  # fmt: skip
    report = run_with_bar(job, "导入名单", quiet=args.json)
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
        return 0
    print(summary_text(report))
    if report.no_op:
        print("与当前名单是同一个文件：未作任何改动。")
    for group, change in report.changes.items():
        print(
            f"{group}：新增 {len(change.added)} 人，移出 {len(change.removed)} 人，未变 {change.unchanged} 人"
        )
        for number, name in change.removed[:20]:
            print(f"  移出 {name} {number}")
    if report.payments:
        p = report.payments
        print(
            f"政府代缴名单：新增 {p['created']}，恢复 {p['restored']}，取消 {p['cancelled']}，待更正 {p['corrections']}"
        )
    return 0


def export_subsidy_cmd(args: argparse.Namespace) -> int:
    actor = auth.cli_actor(args.user)
    count = special_groups.export_subsidy_list(
        actor, args.year, args.out, regions.township_id_of(args.township)
    )
    print(f"已导出 {count} 人到 {args.out}")
    return 0


def pending_cmd(args: argparse.Namespace) -> int:
    actor = auth.cli_actor(args.user)
    rows = special_groups.pending(actor, args.year)
    if args.json:
        print(json.dumps([r.__dict__ for r in rows], ensure_ascii=False))
        return 0
    for r in rows:
        extra = f"花名册姓名 {r.roster_name}" if r.roster_name else f"乡镇 {r.township_text or '未填'}"
        print(f"{r.entry_id:>6} {r.status} {r.department}/{r.group} {r.name} {r.id_number} {extra}")
    print(f"共 {len(rows)} 条待处理")
    return 0


def enrol_cmd(args: argparse.Namespace) -> int:
    actor = auth.cli_actor(args.user)
    done = special_groups.enrol(actor, args.entries, regions.township_id_of(args.township))
    flagged = f"已标识 {done.flagged} 人" if done.flagged else "没有人因此被标识"
    print(f"已登记参保 {done.enrolled} 人，{flagged}")
    return 0
