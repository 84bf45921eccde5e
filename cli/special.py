"""import-special-list, export-subsidy-list, special-pending, special-enrol."""

from __future__ import annotations

import argparse
import json

from cli import ChineseParser, CommandFailed
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
    p.add_argument(
        "--scope",
        choices=[special_groups.SCOPE_TOWNSHIPS, special_groups.SCOPE_COUNTY],
        default=special_groups.SCOPE_TOWNSHIPS,
        help="名单替换的范围：townships 只替换名单涉及的乡镇（默认）；county 替换全县",
    )
    p.add_argument(
        "--confirm-removals",
        action="store_true",
        help="确认移出：移出超过范围内该类别 20%% 的人员、或名单没有可用数据行时必须给出",
    )
    p.add_argument("--dry-run", action="store_true", help="只校验并报告（含将移出的人员），不写入数据库")
    p.add_argument("--json", action="store_true", help="标准输出只输出一个 JSON 对象")
    p.set_defaults(handler=import_special_cmd)

    p = sub.add_parser("special-list", help="特殊群体名单记录：查看、撤销")
    group = p.add_subparsers(
        dest="list_command", title="名单子命令", metavar="子命令", parser_class=ChineseParser
    )
    group.required = True
    q = group.add_parser("history", help="列出导入的名单（当前、已被替换、已撤销）")
    q.add_argument("--year", type=int, help="只列出该年度")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=list_history_cmd)
    q = group.add_parser("undo", help="撤销一份名单：该类别的标识恢复到导入前（已进入传递批次的不能撤销）")
    q.add_argument("list_id", metavar="LIST_ID", type=int, help="名单编号（见 special-list history）")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=undo_cmd)

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
                                             group=args.group, sheet=args.sheet, dry_run=args.dry_run,
                                             scope=args.scope, confirm_removals=args.confirm_removals)  # fmt: skip
    report = run_with_bar(job, "导入名单", quiet=args.json)
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        print(summary_text(report))
        print(f"替换范围：{report.scope}")
        if report.no_op:
            print("与当前名单是同一个文件：未作任何改动。")
        for group, change in report.changes.items():
            print(f"{group}：新增 {len(change.added)} 人，移出 {len(change.removed)} 人，未变 {change.unchanged} 人"
                  + (f"，范围外保留 {change.carried} 人" if change.carried else ""))  # fmt: skip
        for r in report.removals[:200]:
            print(f"  移出 {r.group} {r.name} {r.id_number} {r.township}")
        if len(report.removals) > 200:
            print(f"  ……另有 {len(report.removals) - 200} 人，请用 --dry-run --json 查看")
        for item in report.lists:
            if item["list_id"] is not None:
                print(
                    f"名单编号 {item['list_id']}（{item['group']}）：可用 special-list undo {item['list_id']} 撤销"
                )
        if report.payments:
            p = report.payments
            print(f"政府代缴名单：新增 {p['created']}，恢复 {p['restored']}，取消 {p['cancelled']}，"
                  f"待更正 {p['corrections']}")  # fmt: skip
    if report.refused:
        raise CommandFailed(
            f"{report.confirmation_text()}。未写入任何数据：核对后加 --confirm-removals 重新导入。"
        )
    return 0


def list_history_cmd(args: argparse.Namespace) -> int:
    actor = auth.cli_actor(args.user)
    rows = special_groups.list_history(actor, args.year)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for r in rows:
        print(f"{r['list_id']:>5} {str(r['at'])[:16].replace('T', ' ')} {r['year']} {r['department']}/{r['group']} {r['state']} "
              f"范围 {r['scope']} 人数 {r['people']} 新增 {r['added']} 移出 {r['removed']} {r['file']} {r['user']}")  # fmt: skip
    return 0


def undo_cmd(args: argparse.Namespace) -> int:
    actor = auth.cli_actor(args.user)
    restored = special_groups.undo_list(actor, args.list_id)
    if args.json:
        print(json.dumps({"list_id": args.list_id, "restored": restored.id if restored else None}))
    elif restored is not None:
        print(f"已撤销名单 {args.list_id}，恢复为名单 {restored.id}（{restored.file_name}）。")
    else:
        print(f"已撤销名单 {args.list_id}：该类别恢复为没有名单。")
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
