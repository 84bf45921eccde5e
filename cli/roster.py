"""import-roster, export-residents, import-history."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from cli.progress import run_with_bar
from core import auth, imports, regions, roster, roster_import
from core.rowcodes import ImportReport, write_error_report
from dao.queries import ResidentFilter


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


_date.__name__ = "_date"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import-roster", help="导入参保登记花名册（.xlsx/.xls/.csv）")
    p.add_argument("file", metavar="FILE", help="花名册文件")
    p.add_argument("--sheet", metavar="NAME", help="工作表名称（默认第一个）")
    p.add_argument("--as-of", type=_date, metavar="YYYY-MM-DD", help="计算年龄的日期（默认今天）")
    p.add_argument("--dry-run", action="store_true", help="只校验并报告，不写入数据库")
    p.add_argument(
        "--error-report", metavar="OUT.xlsx", help="把被拒绝的行写入 Excel 文件，便于改正后重新导入"
    )
    p.add_argument(
        "--apply-changes",
        action="store_true",
        help="接受已登记居民的身份信息变更（姓名、性别、出生日期、乡镇、村居）；默认不修改并以 IDENTITY_CHANGED 警告列出",
    )
    p.add_argument("--json", action="store_true", help="标准输出只输出一个 JSON 对象")
    p.set_defaults(handler=import_roster_cmd)

    p = sub.add_parser("export-residents", help="导出花名册（.xlsx 或 .csv）")
    p.add_argument("out", metavar="OUT", help="输出文件 .xlsx 或 .csv")
    p.add_argument("--township", metavar="NAME", help="只导出该乡镇")
    p.set_defaults(handler=export_residents_cmd)

    p = sub.add_parser("import-history", help="列出导入记录（花名册、特殊群体名单、缴费明细）")
    p.add_argument("--kind", choices=list(imports.KIND_NAMES), help="只列出该类导入")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.set_defaults(handler=import_history_cmd)

    p = sub.add_parser("import-changes", help="列出一次导入的变更（原值 → 新值）")
    p.add_argument("import_id", metavar="IMPORT_ID", type=int, help="导入记录编号（见 import-history）")
    p.add_argument("--out", metavar="OUT.xlsx", help="同时导出为 Excel（.xlsx）或 .csv")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.set_defaults(handler=import_changes_cmd)


def summary_text(report: ImportReport) -> str:
    head = "（试运行，未写入数据库）" if report.dry_run else ""
    lines = [
        f"{report.file_name}{head}",
        f"数据行 {report.rows}：新增 {report.imported}，更新 {report.updated}，未变 {report.unchanged}，"
        f"拒绝 {report.rejected}，警告 {len(report.warnings)}",
    ]
    for item in report.errors[:50]:
        lines.append(f"  第 {item.row} 行 [{item.column}] {item.code}：{item.message}")
    if len(report.errors) > 50:
        lines.append(f"  ……另有 {len(report.errors) - 50} 条错误，请用 --error-report 导出")
    for item in [w for w in report.warnings if w.code != "IDENTITY_CHANGED"][:20]:
        lines.append(f"  警告 第 {item.row} 行 [{item.column}] {item.code}：{item.message}")
    if report.held:
        people = len({h.id_number for h in report.held})
        lines.append(f"身份信息变更未修改（{people} 人，核对无误后用 --apply-changes 重新导入）：")
        lines += [
            f"  第 {h.row} 行 {h.id_number} [{h.column}] {h.old or '空'} → {h.new or '空'}"
            for h in report.held[:200]
        ]
        if len(report.held) > 200:
            lines.append(f"  ……另有 {len(report.held) - 200} 项，请用 --json 查看")
    if report.updates:
        lines.append(f"{'将' if report.dry_run else '已'}更新的项目（{len(report.updates)} 项）：")
        lines += [f"  第 {u.row} 行 {u.id_number} [{u.column}] {u.old or '空'} → {u.new or '空'}"
                  for u in report.updates[:200]]  # fmt: skip
        if len(report.updates) > 200:
            lines.append(f"  ……另有 {len(report.updates) - 200} 项，请用 import-changes 或 --json 查看")
    return "\n".join(lines)


def import_roster_cmd(args: argparse.Namespace) -> int:
    actor = auth.cli_actor(args.user)
    job = roster_import.import_roster(
        args.file,
        actor,
        sheet=args.sheet,
        as_of=args.as_of,
        dry_run=args.dry_run,
        apply_changes=args.apply_changes,
    )
    report = run_with_bar(job, "导入花名册", quiet=args.json)
    if args.error_report:
        written = write_error_report(report, args.error_report)
        if not args.json:
            print(f"已写出错误清单 {args.error_report}（{written} 行）", file=sys.stderr)
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        print(summary_text(report))
    return 0


def export_residents_cmd(args: argparse.Namespace) -> int:
    actor = auth.cli_actor(args.user)
    flt = ResidentFilter(township_id=regions.township_id_of(args.township))
    count = run_with_bar(roster.export(actor, args.out, flt), "导出花名册")
    print(f"已导出 {count} 人到 {args.out}")
    return 0


def import_history_cmd(args: argparse.Namespace) -> int:
    actor = auth.cli_actor(args.user)
    logs = imports.history(actor, [args.kind] if args.kind else None)
    if args.json:
        print(json.dumps([g.as_dict() for g in logs], ensure_ascii=False))
        return 0
    for g in logs:
        print(f"{g.import_id:>5} {g.at:%Y-%m-%d %H:%M} {g.kind_name:<6} {g.username:<10} {g.file_name} 行{g.rows} "
              f"新增{g.imported} 更新{g.updated} 未变{g.unchanged} 拒绝{g.rejected} 变更{g.changes}")  # fmt: skip
    return 0


def import_changes_cmd(args: argparse.Namespace) -> int:
    actor = auth.cli_actor(args.user)
    log = imports.get(actor, args.import_id)
    changes = imports.changes(actor, args.import_id)
    if args.out:
        imports.export_changes(actor, args.import_id, args.out)
    if args.json:
        print(json.dumps({"import_id": log.import_id, "kind": log.kind, "file": log.file_name,
                          "changes": [c.as_dict(with_row=False) for c in changes]}, ensure_ascii=False))  # fmt: skip
        return 0
    print(
        f"{log.import_id} {log.kind_name} {log.file_name}（{log.at:%Y-%m-%d %H:%M}，{log.username}）：{len(changes)} 项变更"
    )
    for c in changes:
        print(
            f"  {('第 ' + str(c.row) + ' 行 ') if c.row else ''}{c.id_number} [{c.column}] {c.old or '空'} → {c.new or '空'}"
        )
    if args.out:
        print(f"已导出到 {args.out}")
    return 0
