"""居民养老保险征缴业务系统 — entry point: the GUI by default, batch sub-commands otherwise."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from core.version import APP_NAME, version

        print(f"{APP_NAME} {version()}")
        return 0
    smoke_test = "--smoke-test" in args  # an installed build starts: see gui.app._smoke_test
    args = [a for a in args if a != "--smoke-test"]
    from cli import build_parser, run

    parser = build_parser()
    known, _ = parser.parse_known_args(args)
    if smoke_test or (known.command is None and not any(a in ("-h", "--help") for a in args)):
        from gui.app import run_gui

        return run_gui(known.db, smoke_test=smoke_test)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
