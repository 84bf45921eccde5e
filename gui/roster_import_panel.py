"""The roster's import wizard: the shared wizard plus the date ages are counted on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QDateEdit, QWidget

from core import roster_import
from core.auth import Actor
from core.progress import Job
from gui.import_panel import ImportPanel


class RosterImportPanel(ImportPanel):
    file_hint = "选择村居报来的花名册（.xlsx、.xls、.csv），也可以把文件拖到窗口上（Ctrl+O）"

    def __init__(self, actor: Actor, parent: QWidget | None = None) -> None:
        self.as_of = QDateEdit(QDate.currentDate())
        self.as_of.setCalendarPopup(True)
        self.as_of.setDisplayFormat("yyyy-MM-dd")
        self.as_of.setToolTip("按这一天计算是否年满 16 周岁")
        super().__init__(actor, roster_import.COLUMNS, parent)

    def extra_controls(self) -> list[tuple[str, QWidget]]:
        return [("年龄计算日期：", self.as_of)]

    def make_job(
        self, path: Path, sheet: str, overrides: dict[str, int], dry_run: bool
    ) -> Callable[[], Job[Any]]:
        as_of = self.as_of.date().toPython()
        return lambda: roster_import.import_roster(
            path, self.actor, sheet=sheet, as_of=as_of, dry_run=dry_run, overrides=overrides
        )
