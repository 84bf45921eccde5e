"""Command line: batch sub-commands over the same core functions the GUI calls. Never opens the GUI."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

import peewee as pw

from core import auth, logs, session
from core.auth import Actor
from core.database import DatabaseOpenError, close_database
from core.errors import Cancelled, ConnectionLost, UserError, os_error_message

log = logging.getLogger("pension.cli")

# argparse speaks English; the messages a user meets most are translated here.
_ARGPARSE_ZH = (
    ("the following arguments are required: ", "缺少必需的参数："),
    ("unrecognized arguments: ", "无法识别的参数："),
    ("invalid choice: ", "无效的选项："),
    ("choose from ", "可选："),
    ("expected one argument", "需要一个参数值"),
    ("argument ", "参数 "),
    ("invalid int value: ", "不是有效的整数："),
    ("invalid _date value: ", "不是有效的日期（应为 YYYY-MM-DD）："),
)


class ChineseHelpFormatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):  # type: ignore[no-untyped-def]
        super().add_usage(usage, actions, groups, prefix="用法：" if prefix is None else prefix)


class ChineseParser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("formatter_class", ChineseHelpFormatter)
        kwargs.setdefault("add_help", False)
        super().__init__(*args, **kwargs)
        self._positionals.title = "位置参数"
        self._optionals.title = "选项"
        self.add_argument("-h", "--help", action="help", help="显示本帮助并退出")

    def error(self, message: str) -> None:  # type: ignore[override]
        for en, zh in _ARGPARSE_ZH:
            message = message.replace(en, zh)
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}：参数错误：{message}\n")


def int_list(text: str, what: str) -> list[int]:
    """``2,5`` / ``2，5`` -> [2, 5]; anything else is a Chinese argument error naming the bad part."""
    parts = [p.strip() for p in text.replace("，", ",").replace("、", ",").split(",") if p.strip()]
    if not parts:
        raise UserError(f"参数 {what} 不能为空。")
    bad = [p for p in parts if not p.isdigit()]
    if bad:
        raise UserError(f"参数 {what} 应为逗号分隔的整数（如 2,5），“{'、'.join(bad)}”不是整数。")
    return [int(p) for p in parts]


class CommandFailed(Exception):
    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


PASSWORD_ENV = "PENSION_PASSWORD"


def password_of(username: str) -> str:
    """The acting user's password: $PENSION_PASSWORD for scripts, else asked on the terminal (never argv)."""
    import getpass
    import os

    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if sys.stdin.isatty():
        return getpass.getpass(f"用户 {username} 的密码：")
    return ""  # no password: refused like a wrong one (and counted)


def log_in(args: argparse.Namespace) -> Actor:
    """Every command that reads or changes business data is a user of the system, proven by a password."""
    username = (args.user or auth.os_login()).strip()
    actor, _ = session.login(args.db, username, password_of(username))
    return actor


def build_parser() -> ChineseParser:
    from cli import admin, admin_ops, handoff, ledger, refunds, resident, roster, special, worklist

    parser = ChineseParser(
        prog="main.py",
        description="居民养老保险征缴业务系统。不带子命令时启动图形界面；带子命令时执行批处理，不打开图形界面。",
        epilog="数据库：--db 参数，否则环境变量 PENSION_DB_URL，否则用户数据目录下的 SQLite 文件。\n"
        "示例：python main.py --db sqlite:///pension.db import-roster 花名册.xlsx --json",
    )
    parser.add_argument(
        "--db", metavar="URL", help="数据库地址：sqlite:///文件路径 或 postgresql://用户@主机:端口/库名"
    )
    parser.add_argument(
        "--user",
        metavar="用户名",
        help="执行操作的系统用户（默认为操作系统登录名）；密码在终端上询问，脚本可用环境变量 PENSION_PASSWORD 给出",
    )
    sub = parser.add_subparsers(dest="command", title="子命令", metavar="子命令", parser_class=ChineseParser)
    admin.register(sub)
    roster.register(sub)
    resident.register(sub)
    special.register(sub)
    ledger.register(sub)
    refunds.register(sub)
    handoff.register(sub)
    admin_ops.register(sub)
    worklist.register(sub)
    return parser


OUTPUT_OPTIONS = (
    "out",
    "error_report",
)  # every option naming a file (or, with out_is_folder, a folder) to write


def _check_outputs(args: argparse.Namespace) -> None:
    from core.outputs import check_writable

    for name in OUTPUT_OPTIONS:
        value = getattr(args, name, None)
        if value:
            check_writable(value, folder=name == "out" and getattr(args, "out_is_folder", False))


def run(argv: Sequence[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv))
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    logs.setup("cli")
    try:
        code = _run(args, handler)
    except BaseException:
        log.exception("command failed unexpectedly: %s", " ".join(argv))
        raise
    actor = getattr(args, "actor", None)
    user = actor.username if actor is not None else (args.user or "?")
    log.info("command by %s: %s -> exit %s", user, " ".join(argv), code)
    return code


def _say(message: str) -> None:
    """A refusal: to the user, and to the log with the command's outcome."""
    log.warning("%s", message)
    print(message, file=sys.stderr)


def _run(args: argparse.Namespace, handler: Callable[[argparse.Namespace], int]) -> int:
    try:
        _check_outputs(args)  # before anything is written: never a committed import without its report
        if getattr(args, "needs_db", True):
            args.actor = log_in(args)
        return handler(args)
    except DatabaseOpenError as exc:
        _say(f"错误：{exc}")
        return 3
    except ConnectionLost as exc:  # the server went away under a write: nothing saved, run it again
        _say(f"错误：{exc}")
        return 3
    except UserError as exc:
        _say(f"错误：{exc}")
        return 2
    except CommandFailed as exc:
        _say(f"错误：{exc}")
        return exc.code
    except pw.DatabaseError as exc:
        log.exception("database error")
        print(f"错误：数据库操作失败，本次操作已撤销：{str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 3
    except BrokenPipeError:  # output piped into `head` and the like
        return 0
    except OSError as exc:  # an output folder that does not exist, a file open in Excel, a full disk
        print(f"错误：{os_error_message(exc)}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Cancelled):
        print("\n已中断：本次操作未写入任何数据。", file=sys.stderr)
        return 130
    finally:
        close_database()
