"""import-roster, export-residents, import-history."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from cli.progress import run_with_bar
from core import regions, roster, roster_import
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
    p.add_argument("--json", action="store_true", help="标准输出只输出一个 JSON 对象")
    p.set_defaults(handler=import_roster_cmd)

    p = sub.add_parser("export-residents", help="导出花名册（.xlsx 或 .csv）")
    p.add_argument("out", metavar="OUT", help="输出文件 .xlsx 或 .csv")
    p.add_argument("--township", metavar="NAME", help="只导出该乡镇")
    p.set_defaults(handler=export_residents_cmd)

    p = sub.add_parser("import-history", help="列出花名册导入记录")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.set_defaults(handler=import_history_cmd)


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
    for item in report.warnings[:20]:
        lines.append(f"  警告 第 {item.row} 行 [{item.column}] {item.code}：{item.message}")
    return "\n".join(lines)


def import_roster_cmd(args: argparse.Namespace) -> int:
    actor = args.actor
    job = roster_import.import_roster(
        args.file, actor, sheet=args.sheet, as_of=args.as_of, dry_run=args.dry_run
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
    actor = args.actor
    flt = ResidentFilter(township_id=regions.township_id_of(args.township))
    count = run_with_bar(roster.export(actor, args.out, flt), "导出花名册")
    print(f"已导出 {count} 人到 {args.out}")
    return 0


def import_history_cmd(args: argparse.Namespace) -> int:
    actor = args.actor
    logs = roster_import.history(actor)
    rows = [
        {"id": g.id, "file": g.file_name, "sha256": g.sha256, "user": g.username, "at": g.started_at.isoformat(),
         "rows": g.rows, "imported": g.imported, "updated": g.updated, "unchanged": g.unchanged,
         "rejected": g.rejected}
        for g in logs
    ]  # fmt: skip
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        for r in rows:
            print(f"{r['id']:>5} {r['at']} {r['user']:<10} {r['file']} 行{r['rows']} 新增{r['imported']} "
                  f"更新{r['updated']} 未变{r['unchanged']} 拒绝{r['rejected']}")  # fmt: skip
    return 0
