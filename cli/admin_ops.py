"""stats, backup, restore."""

from __future__ import annotations

import argparse
import json
import sys

from core import admin, regions, statistics
from core.money import format_yuan


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stats", help="统计：参保、缴费人数和金额，与上年对比")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--township", metavar="NAME", help="只看该乡镇（按村居列出）")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=stats_cmd)

    p = sub.add_parser("backup", help="在线备份 SQLite 数据库（他人可继续使用）")
    p.add_argument("backup_file", metavar="OUT.db")  # checked by core.admin.backup itself
    p.add_argument("--force", action="store_true", help="OUT.db 已存在且不是本系统的数据库时也覆盖它")
    p.set_defaults(handler=backup_cmd)

    p = sub.add_parser(
        "restore", help="用备份恢复 SQLite 数据库（先自动备份当前数据库；在终端上会先请求确认）"
    )
    p.add_argument("source", metavar="IN.db")
    p.add_argument("--yes", action="store_true", help="不再询问，直接用备份替换当前数据库")
    p.set_defaults(handler=restore_cmd)


def stats_cmd(args: argparse.Namespace) -> int:
    actor = args.actor
    township_id = regions.township_id_of(args.township)
    stats = statistics.year_stats(actor, args.year, township_id)
    if args.json:
        print(json.dumps(statistics.as_json(stats), ensure_ascii=False))
        return 0
    print(f"{stats.scope} {stats.year} 年（括号内为 {stats.year - 1} 年）")
    for r in [*stats.rows, stats.total]:
        growth = "—" if r.payer_growth is None else f"{r.payer_growth:+.1f}%"
        print(f"{r.name:<8} 参保 {r.this.enrolled}（{r.last.enrolled}） 缴费 {r.this.payers}（{r.last.payers}） {growth} "
              f"金额 {format_yuan(r.this.amount_fen)}（{format_yuan(r.last.amount_fen)}）元")  # fmt: skip
    return 0


def backup_cmd(args: argparse.Namespace) -> int:
    out = admin.backup(args.actor, args.backup_file, force=args.force)
    print(f"已备份到 {out}")
    return 0


def restore_cmd(args: argparse.Namespace) -> int:
    confirm = args.yes or not sys.stdin.isatty()  # a script's command line is its confirmation
    if not confirm:
        answer = input(f"用 {args.source} 替换当前数据库？当前数据库会先自动另存一份。确认请输入 y：")
        confirm = answer.strip().lower() in {"y", "yes", "是"}
    safety = admin.restore(args.actor, args.source, confirm=confirm)
    print(f"已恢复；恢复前的数据库已另存为 {safety}")
    return 0
