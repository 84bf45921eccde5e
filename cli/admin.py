"""init-db, create-user, demo-data."""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from cli.progress import run_with_bar
from core import auth, demo, regions
from core.database import open_database
from core.errors import UserError
from dao.models import ROLES, Township, User


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init-db", help="创建或升级数据库（写入乡镇和缴费档次等基础数据）")
    p.set_defaults(handler=init_db, needs_db=False)

    p = sub.add_parser("create-user", help="创建用户（第一个用户可在无管理员时创建）")
    p.add_argument("username", help="登录用户名")
    p.add_argument("--role", required=True, choices=ROLES, help="角色")
    p.add_argument("--township", help="所属乡镇（乡镇经办必填），名称或代码")
    p.add_argument("--name", default="", help="显示姓名")
    p.add_argument("--password", help="密码（不给出时在终端提示输入；也可用环境变量 PENSION_PASSWORD）")
    p.set_defaults(handler=create_user)

    p = sub.add_parser(
        "demo-data", help="向空数据库写入演示数据：12 个乡镇的村居、居民、2019—2020 年缴费记录和演示用户"
    )
    p.add_argument("--residents", type=int, default=3000, help="居民人数（默认 3000）")
    p.add_argument("--seed", type=int, default=2020, help="随机种子（相同种子生成相同数据）")
    p.set_defaults(handler=demo_data)


def init_db(args: argparse.Namespace) -> int:
    info = open_database(args.db)
    print(
        f"数据库已就绪：{info.label}（乡镇 {Township.select().count()} 个，用户 {User.select().count()} 个）"
    )
    return 0


def create_user(args: argparse.Namespace) -> int:
    import os

    password = args.password or os.environ.get("PENSION_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            raise UserError("请用 --password 或环境变量 PENSION_PASSWORD 给出密码。")
        password = getpass.getpass("密码：")
        if password != getpass.getpass("再次输入密码："):
            raise UserError("两次输入的密码不一致。")
    township_id = regions.township_id_of(args.township)
    actor = None if not User.select().exists() else auth.cli_actor(args.user)
    user = auth.create_user(actor, args.username, password, args.role, township_id, args.name)
    print(f"已创建用户 {user.username}（{user.role}）")
    return 0


def demo_data(args: argparse.Namespace) -> int:
    actor = auth.cli_actor(args.user)
    counts = run_with_bar(demo.create_demo(actor, args.residents, args.seed), "生成演示数据")
    print(json.dumps(counts, ensure_ascii=False))
    print(f"演示用户密码均为 {demo.DEMO_PASSWORD}：admin（管理员）、shenhe（县局审核）、caiwu（财务）、"
          "jingban01…jingban12（各乡镇经办）")  # fmt: skip
    return 0
