"""居民养老保险征缴业务系统 — entry point: the GUI by default, batch sub-commands otherwise."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    from cli import build_parser, run

    parser = build_parser()
    known, _ = parser.parse_known_args(args)
    if known.command is None and not any(a in ("-h", "--help") for a in args):
        from gui.app import run_gui

        return run_gui(known.db)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
