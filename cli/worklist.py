"""worklist lapsed|short-years: the 征缴进度 work lists (who still has to pay, who must make up years)."""

from __future__ import annotations

import argparse
import json

from core import worklists


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "worklist",
        help="征缴进度名单：lapsed 未续缴（上年已缴、本年未缴），short-years 补缴动员（60岁前不足15年）",
    )
    p.add_argument("kind", choices=list(worklists.KINDS), help="lapsed 未续缴；short-years 补缴动员")
    p.add_argument("--year", type=int, required=True, help="年度，如 2020")
    p.add_argument("--township", metavar="NAME", help="只列该乡镇（乡镇经办只能是本乡镇）")
    p.add_argument("--village", metavar="NAME", help="只列该村居（村名在全县不唯一时同时给出 --township）")
    p.add_argument("--json", action="store_true", help="标准输出只输出一个 JSON 对象")
    p.add_argument(
        "--out",
        metavar="OUT",
        help="另存为 .xlsx（村居汇总、名单、代缴未到账）或 .pdf（每个村居一份打印名单）",
    )
    p.set_defaults(handler=worklist_cmd)


def worklist_cmd(args: argparse.Namespace) -> int:
    actor = args.actor
    township_id, village_id = worklists.resolve(actor, args.township, args.village)
    if args.out:
        worklists.check_out(args.out)  # before the work: a wrong name is refused at once
    wl = worklists.worklist(actor, args.kind, args.year, township_id, village_id)
    if args.out:
        worklists.export(actor, wl, args.out)
    if args.json:
        print(json.dumps(worklists.as_json(wl), ensure_ascii=False))
        return 0
    print(f"{wl.scope} {wl.year} 年{wl.title}名单")
    for row in worklists.village_table(wl):
        town, village, count, base, share = row
        print(
            f"  {town} {village}  {count}/{base}  {share}%" if base else f"  {town} {village}  {count}/{base}"
        )
    if args.out:  # the names are in the file
        print(f"已导出 {len(wl.people)} 人到 {args.out}")
        return 0
    to_contact = worklists.people_table(wl.kind, wl.to_contact)
    headers = worklists.people_headers(wl.kind)
    print("  ".join(headers))
    for row in to_contact:
        print("  ".join(str(v) for v in row))
    pending = wl.subsidy_pending
    if pending:
        print(f"代缴未到账（政府代缴，不计入未续缴人数）：{len(pending)} 人")
        for row in worklists.people_table(wl.kind, pending):
            print("  ".join(str(v) for v in row))
    return 0
