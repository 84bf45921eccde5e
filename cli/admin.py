"""init-db, create-user, demo-data."""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from cli.progress import run_with_bar
from core import admin, audit, auth, regions
from core.database import DatabaseOpenError, close_database, open_database
from core.errors import UserError
from dao import db as dao_db
from dao import migrations, pg_security
from dao.models import ROLES, Township, User


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "init-db", help="创建或升级数据库（写入乡镇和缴费档次等基础数据；PostgreSQL 须用所有者账号）"
    )
    p.add_argument(
        "--set-password",
        metavar="用户名",
        help="PostgreSQL：由数据库所有者为用户设置新密码（旧版本升级来的用户须先设置）；"
        "新密码在终端输入或 --password-stdin",
    )
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读取新密码（一行）")
    p.set_defaults(handler=init_db, needs_db=False)

    p = sub.add_parser(
        "create-user",
        help="创建用户（管理员；数据库中还没有用户时可直接创建第一个管理员）",
        description="新用户的密码在终端上输入两次，或用 --password-stdin 从标准输入读一行；不接受命令行上的密码。",
    )
    p.add_argument("username", help="登录用户名（不区分大小写）")
    p.add_argument("--role", required=True, choices=ROLES, help="角色")
    p.add_argument("--township", help="所属乡镇（乡镇经办必填），名称或代码")
    p.add_argument("--name", default="", help="显示姓名")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读取新用户的密码（一行）")
    p.add_argument("--json", action="store_true", help='输出 {"username", "role", "township", "db_role"}')
    p.set_defaults(handler=create_user, needs_db=False)

    user = sub.add_parser("user", help="用户管理（管理员）：list、deactivate、activate、reset-password")
    users = user.add_subparsers(
        dest="user_command", title="子命令", metavar="子命令", parser_class=type(user)
    )
    p = users.add_parser("list", help="列出用户")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=user_list)
    for name, text in (("deactivate", "停用用户（不能再登录）"), ("activate", "启用用户（同时解除锁定）")):
        p = users.add_parser(name, help=text)
        p.add_argument("username")
        p.set_defaults(handler=user_active, active=name == "activate")
    p = users.add_parser(
        "reset-password", help="重置用户密码（同时解除锁定）；新密码在终端输入或 --password-stdin"
    )
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读取新密码（一行）")
    p.set_defaults(handler=user_reset_password)

    p = sub.add_parser(
        "demo-data", help="向空数据库写入演示数据：12 个乡镇的村居、居民、2019—2020 年缴费记录和演示用户"
    )
    p.add_argument("--residents", type=int, default=3000, help="居民人数（默认 3000）")
    p.add_argument("--seed", type=int, default=2020, help="随机种子（相同种子生成相同数据）")
    p.set_defaults(handler=demo_data)


def init_db(args: argparse.Namespace) -> int:
    info = open_database(args.db)
    if info.backend == "postgresql":
        database = dao_db.current()
        with database.atomic():
            migrations.secure(database)  # roles, privileges and policies, repaired if changed
        if args.set_password:
            user = auth.find_user(args.set_password)
            if user is None:
                raise UserError(f"用户“{args.set_password}”不存在。")
            verifier = pg_security.scram_verifier(_checked(new_password(args)))
            with database.atomic():
                database.execute_sql("SELECT app_user_password(%s, %s)", (user.username, verifier))
                audit.record(auth.os_login(), "reset_password", "user", user.id, after={"by": "init-db"})
            print(f"已为用户 {user.username} 设置新密码。")
        waiting = pg_security.users_without_password(database)
        if waiting:
            print(f"以下用户还没有数据库密码，不能登录：{'、'.join(waiting)}。"
                  "请用所有者账号执行 init-db --set-password 用户名 设置。")  # fmt: skip
    elif args.set_password:
        raise UserError(
            "--set-password 只用于 PostgreSQL；SQLite 数据库请由管理员用 user reset-password 重置。"
        )
    print(
        f"数据库已就绪：{info.label}（乡镇 {Township.select().count()} 个，用户 {User.select().count()} 个）"
    )
    return 0


def new_password(args: argparse.Namespace) -> str:
    """A new user's password: one line on stdin (--password-stdin) or typed twice on a terminal."""
    if args.password_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise UserError("标准输入中没有密码。")
        return line
    if not sys.stdin.isatty():
        raise UserError(
            "请在终端上输入新密码，或用 --password-stdin 从标准输入给出（不接受命令行上的密码）。"
        )
    password = getpass.getpass("新密码：")
    if password != getpass.getpass("再次输入新密码："):
        raise UserError("两次输入的密码不一致。")
    return password


def _checked(password: str) -> str:
    if len(password) < auth.MIN_PASSWORD_LEN:
        raise UserError(f"密码至少 {auth.MIN_PASSWORD_LEN} 位。")
    return password


def _first_user_database(args: argparse.Namespace) -> bool:
    """Open the database as its URL says; True when it has no user yet (the first administrator may then be
    created without logging in). On PostgreSQL an office URL cannot connect as the owner: log in instead."""
    from cli import log_in

    try:
        open_database(args.db)
    except DatabaseOpenError:
        if dao_db.describe(dao_db.resolve_url(args.db)).backend != "postgresql":
            raise
    else:
        if not User.select().exists():
            return True
        close_database()
    args.actor = log_in(args)
    return False


def create_user(args: argparse.Namespace) -> int:
    first = _first_user_database(args)
    password = new_password(args)
    township_id = regions.township_id_of(args.township)
    actor = None if first else args.actor
    user = auth.create_user(actor, args.username, password, args.role, township_id, args.name)
    town = Township.get_by_id(user.township_id).name if user.township_id else None
    if args.json:
        print(json.dumps({"username": user.username, "role": user.role, "township": town,
                          "db_role": user.db_role}, ensure_ascii=False))  # fmt: skip
    else:
        print(f"已创建用户 {user.username}（{user.role}{'，' + town if town else ''}）")
    return 0


def user_list(args: argparse.Namespace) -> int:
    rows = admin.users(args.actor)
    towns = {t.id: t.name for t in Township.select()}
    data = [
        {"username": u.username, "display_name": u.display_name, "role": u.role,
         "township": towns.get(u.township_id), "active": bool(u.active),
         "locked_until": u.locked_until.isoformat(sep=" ") if u.locked_until else None, "db_role": u.db_role}
        for u in rows
    ]  # fmt: skip
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
        return 0
    for d in data:
        state = "启用" if d["active"] else "停用"
        if d["locked_until"]:
            state += f"，锁定至 {d['locked_until']}"
        print(
            f"{d['username']:<12} {d['display_name']:<10} {d['role']:<6} {d['township'] or '全县':<6} {state}"
        )
    return 0


def user_active(args: argparse.Namespace) -> int:
    user = admin.update_user(args.actor, args.username, active=args.active)
    print(f"已{'启用' if args.active else '停用'}用户 {user.username}")
    return 0


def user_reset_password(args: argparse.Namespace) -> int:
    admin.reset_password(args.actor, args.username, new_password(args))
    print(f"已重置用户 {auth.find_user(args.username).username} 的密码，账号已解锁")
    return 0


def demo_data(args: argparse.Namespace) -> int:
    from core import demo  # the demo pulls in every workflow and the PDF library: not for other commands

    counts = run_with_bar(demo.create_demo(args.actor, args.residents, args.seed), "生成演示数据")
    print(json.dumps(counts, ensure_ascii=False))
    print(f"演示用户密码均为 {demo.DEMO_PASSWORD}：admin（管理员）、shenhe（县局审核）、caiwu（财务）、"
          "jingban01…jingban12（各乡镇经办）")  # fmt: skip
    return 0
