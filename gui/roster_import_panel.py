"""The roster's import wizard: the shared wizard plus the date ages are counted on, and the identity changes a
re-import holds back, each with a tick box (none ticked: nothing about a person's identity changes unasked)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QDateEdit, QWidget

from core import roster_import
from core.auth import Actor
from core.progress import Job
from core.rowcodes import ImportReport
from gui.import_panel import ImportPanel
from gui.operations import IMPORTS, RESIDENTS

CHANGE_HEADERS = ("接受变更", "行号", "身份证号码", "变更（原值 → 新值）", "处理")


class RosterImportPanel(ImportPanel):
    file_hint = "选择村居报来的花名册（.xlsx、.xls、.csv），也可以把文件拖到窗口上（Ctrl+O）"

    def __init__(self, actor: Actor, parent: QWidget | None = None) -> None:
        self.as_of = QDateEdit(QDate.currentDate())
        self.as_of.setCalendarPopup(True)
        self.as_of.setDisplayFormat("yyyy-MM-dd")
        self.as_of.setToolTip("按这一天计算是否年满 16 周岁")
        self.change_ids: list[
            str | None
        ] = []  # the changes table's rows: ID number of a held change, or None
        super().__init__(actor, roster_import.COLUMNS, parent)
        self.changes = frozenset({IMPORTS, RESIDENTS})

    def extra_controls(self) -> list[tuple[str, QWidget]]:
        return [("年龄计算日期：", self.as_of)]

    def accepted_changes(self) -> set[str]:
        """ID numbers whose identity changes the clerk ticked."""
        table = self.changes_table
        return {
            number
            for r, number in enumerate(self.change_ids)
            if number
            and table.item(r, 0) is not None
            and table.item(r, 0).checkState() == Qt.CheckState.Checked
        }

    def make_job(
        self, path: Path, sheet: str, overrides: dict[str, int], dry_run: bool
    ) -> Callable[[], Job[Any]]:
        as_of = self.as_of.date().toPython()
        accepted = self.accepted_changes() if not self.changes_box.isHidden() else set()
        return lambda: roster_import.import_roster(path, self.actor, sheet=sheet, as_of=as_of, dry_run=dry_run,
                                                   overrides=overrides, apply_changes=accepted)  # fmt: skip

    def show_changes(self, report: ImportReport) -> None:
        held: dict[tuple[int, str], list[str]] = {}
        for h in report.held:
            held.setdefault((h.row, h.id_number), []).append(f"{h.column}：{h.old or '空'} → {h.new or '空'}")
        updated: dict[tuple[int, str], list[str]] = {}
        for u in report.updates:
            updated.setdefault((u.row, u.id_number), []).append(
                f"{u.column}：{u.old or '空'} → {u.new or '空'}"
            )
        rows: list[list[object]] = []
        self.change_ids = []
        for (row, number), parts in sorted(held.items()):
            rows.append(["", row, number, "；".join(parts), "身份信息变更：勾选后导入时接受，否则不修改"])
            self.change_ids.append(number)
        done = "将更新" if report.dry_run else "已更新"
        for (row, number), parts in sorted(updated.items()):
            rows.append(["", row, number, "；".join(parts), done])
            self.change_ids.append(None)
        title = f"身份信息变更 {len(held)} 人（默认不修改，勾选核对无误的行后“开始导入”）；{done} {len(updated)} 人"
        self.fill_changes(title, CHANGE_HEADERS, rows, [n is not None for n in self.change_ids])
