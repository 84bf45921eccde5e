"""This PC's own settings (QSettings): window geometry, last folders, default township, the PDF folder.

They belong to the machine and the Windows/Linux user, not to the shared database.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings

SETTINGS_ENV = "PENSION_SETTINGS_DIR"  # an ini file there instead of the user's own (the tests; on Windows
# QSettings would otherwise write the registry, which XDG_CONFIG_HOME does not move)

DEFAULT_TOWNSHIP = "user/default_township"
PDF_FOLDER = "user/pdf_folder"


def settings() -> QSettings:
    folder = os.environ.get(SETTINGS_ENV)
    if folder:
        return QSettings(str(Path(folder) / "pension-levy.ini"), QSettings.Format.IniFormat)
    return QSettings("pension-levy", "pension-levy")


def default_township() -> int | None:
    """The township chosen under 系统管理 → 设置 → 本机默认乡镇 (None: not set)."""
    value = settings().value(DEFAULT_TOWNSHIP)
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def pdf_folder() -> Path | None:
    """本机打印/PDF 文件夹, when set and still there."""
    value = str(settings().value(PDF_FOLDER) or "").strip()
    return Path(value) if value and Path(value).is_dir() else None
