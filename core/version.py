"""The program's version: the installed package's, else the one setup.cfg names (running from the source)."""

from __future__ import annotations

import configparser
from functools import cache
from pathlib import Path

APP_NAME = "居民养老保险征缴业务系统"


@cache
def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("pension-levy")
    except PackageNotFoundError:
        pass
    setup = Path(__file__).resolve().parent.parent / "setup.cfg"
    config = configparser.ConfigParser()
    if config.read(setup, encoding="utf-8") and config.has_option("metadata", "version"):
        return f"{config.get('metadata', 'version')}（源代码）"
    return "未知"
