"""handoff create | mark-sent | export | import-feedback | cancel | correct | list."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from cli import ChineseParser, int_list
from cli.progress import run_with_bar
from cli.roster import summary_text
from core import handoff
from core.money import fen_to_yuan, format_yuan


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("handoff", help="税务传递：生成、报送、重新导出、登记反馈、取消、更正")
    group = p.add_subparsers(
        dest="handoff_command", title="传递子命令", metavar="子命令", parser_class=ChineseParser
    )
    group.required = True
    p.set_defaults(out_is_folder=True)  # --out is a folder here

    q = group.add_parser("create", help="生成某月的传递批次（每条记录只传一次）")
    q.add_argument("--month", required=True, metavar="YYYY-MM")
    q.add_argument("--kind", required=True, choices=list(handoff.KINDS), help="refund 退费；subsidy 政府代缴")
    q.add_argument("--out", metavar="DIR", help="文件夹（默认用户数据目录下的 handoff）")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=_tidying(create_cmd))

    q = group.add_parser("mark-sent", help="标记批次已报送（报送后锁定，不能再取消或修改）")
    q.add_argument("batch", metavar="BATCH")
    q.set_defaults(handler=_tidying(sent_cmd))

    q = group.add_parser("export", help="重新导出批次文件（与首次生成的文件逐字节相同）")
    q.add_argument("batch", metavar="BATCH")
    q.add_argument("--out", required=True, metavar="DIR")
    q.set_defaults(handler=_tidying(export_cmd))

    q = group.add_parser("import-feedback", help="导入税务端的处理结果（接收或拒绝及原因）")
    q.add_argument("file", metavar="FILE")
    q.add_argument("--dry-run", action="store_true")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=_tidying(feedback_cmd))

    q = group.add_parser("cancel", help="取消尚未报送的批次，记录回到待传递")
    q.add_argument("batch", metavar="BATCH")
    q.add_argument("--reason", default="")
    q.set_defaults(handler=_tidying(cancel_cmd))

    q = group.add_parser("correct", help="为已报送批次中的记录生成更正（冲正）批次")
    q.add_argument("batch", metavar="BATCH")
    q.add_argument("--lines", required=True, help="要冲正的序号，逗号分隔")
    q.add_argument("--reason", required=True)
    q.add_argument("--month", metavar="YYYY-MM", help="更正批次的月份（默认原批次月份）")
    q.add_argument("--out", metavar="DIR")
    q.set_defaults(handler=_tidying(correct_cmd))

    q = group.add_parser("list", help="列出传递批次")
    q.add_argument("--kind", choices=list(handoff.KINDS))
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=_tidying(list_cmd))


def _tidying(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Every handoff command first deals with what an interrupted batch creation left in the folders."""

    def run(args: argparse.Namespace) -> int:
        for line in handoff.tidy_folders(args.actor):
            print(line, file=sys.stderr)
        return handler(args)

    return run


def _batch_json(batch) -> dict:  # type: ignore[no-untyped-def]
    return {"batch": batch.batch_no, "id": batch.id, "kind": batch.kind, "month": batch.month, "state": batch.state,
            "records": batch.records, "total": str(fen_to_yuan(batch.total_fen)), "files": json.loads(batch.files or "{}")}  # fmt: skip


def create_cmd(args: argparse.Namespace) -> int:
    actor = args.actor
    batch = handoff.create_batch(actor, args.month, args.kind, args.out)
    folder = args.out or handoff.default_folder()
    if args.json:
        print(json.dumps({**_batch_json(batch), "dir": str(folder)}, ensure_ascii=False))
    else:
        print(
            f"已生成批次 {batch.batch_no}：{batch.records} 条，合计 {format_yuan(batch.total_fen)} 元，文件在 {folder}"
        )
    return 0


def sent_cmd(args: argparse.Namespace) -> int:
    batch = handoff.mark_sent(args.actor, args.batch)
    print(f"批次 {batch.batch_no} 已报送，已锁定")
    return 0


def export_cmd(args: argparse.Namespace) -> int:
    files = handoff.export(args.actor, args.batch, args.out)
    for name, digest in files.items():
        print(f"{name}  sha256={digest}")
    return 0


def feedback_cmd(args: argparse.Namespace) -> int:
    actor = args.actor
    report = run_with_bar(
        handoff.import_feedback(args.file, actor, dry_run=args.dry_run), "登记反馈", quiet=args.json
    )
    print(json.dumps(report.as_json(), ensure_ascii=False) if args.json else summary_text(report))
    return 0


def cancel_cmd(args: argparse.Namespace) -> int:
    batch = handoff.cancel(args.actor, args.batch, args.reason)
    print(f"批次 {batch.batch_no} 已取消，其中的记录回到待传递")
    return 0


def correct_cmd(args: argparse.Namespace) -> int:
    lines = int_list(args.lines, "--lines")
    batch = handoff.correct(args.actor, args.batch, lines, args.reason, args.month, args.out)
    print(f"已生成更正批次 {batch.batch_no}：{batch.records} 条，合计 {format_yuan(batch.total_fen)} 元")
    return 0


def list_cmd(args: argparse.Namespace) -> int:
    rows = handoff.batches(args.actor, args.kind)
    if args.json:
        print(json.dumps([{"batch": r.batch_no, "kind": r.kind, "month": r.month, "state": r.state, "records": r.records,
                           "total": str(fen_to_yuan(r.total_fen)), "accepted": r.accepted, "rejected": r.rejected}
                          for r in rows], ensure_ascii=False))  # fmt: skip
        return 0
    for r in rows:
        print(f"{r.batch_no} {r.kind} {r.month} {r.state} {r.records} 条 {format_yuan(r.total_fen)} 元 "
              f"接收 {r.accepted} 拒绝 {r.rejected}")  # fmt: skip
    return 0
