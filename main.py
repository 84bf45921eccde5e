"""居民养老保险征缴业务系统 — entry point: the GUI by default, batch sub-commands otherwise."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from core.version import APP_NAME, version

        print(f"{APP_NAME} {version()}")
        return 0
    _start_reading(args)
    smoke_test = "--smoke-test" in args  # an installed build starts: see gui.app._smoke_test
    args = [a for a in args if a != "--smoke-test"]
    from cli import build_parser, run

    parser = build_parser()
    known, _ = parser.parse_known_args(args)
    if smoke_test or (known.command is None and not any(a in ("-h", "--help") for a in args)):
        from gui.app import run_gui

        return run_gui(known.db, smoke_test=smoke_test)
    return run(args)


_IMPORT_COMMANDS = ("import-roster", "import-contributions")
_VALUE_OPTIONS = ("--db", "--user", "--sheet", "--as-of", "--error-report")


def _start_reading(args: list[str]) -> None:
    """An import's spreadsheet starts parsing on the second core while the program loads and checks the
    password (core.tabular.read_ahead). A guess from the raw arguments, before argparse is even imported:
    a wrong guess only costs a parse that nobody uses."""
    command = next((i for i, a in enumerate(args) if a in _IMPORT_COMMANDS), None)
    if command is None:
        return
    rest, file, sheet = args[command + 1 :], None, None
    pending = ""
    for arg in rest:
        if pending:
            sheet = arg if pending == "--sheet" else sheet
            pending = ""
        elif arg.startswith("-"):
            pending = arg if arg in _VALUE_OPTIONS else ""
        elif file is None:
            file = arg
    if file:
        from core.tabular import read_ahead

        read_ahead(file, sheet)


if __name__ == "__main__":
    sys.exit(main())
