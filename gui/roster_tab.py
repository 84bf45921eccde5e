"""参保登记导入 tab: the import wizard, the roster browser (花名册) and the import history (every roster, list
and ledger import, each opened to show its changes)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core import imports
from core.auth import Actor, who_may
from gui import operations
from gui.import_changes import ImportChangesDialog
from gui.operations import IMPORTS, PAYMENTS, REGIONS, RESIDENTS, SPECIAL, Op
from gui.roster_browser import RosterBrowser
from gui.roster_import_panel import RosterImportPanel
from gui.tables import ListTable, permit

HISTORY_HEADERS = (
    "编号",
    "时间",
    "类型",
    "文件",
    "经办人",
    "数据行",
    "新增",
    "更新",
    "未变",
    "拒绝",
    "变更",
    "SHA-256",
)


class RosterTab(QWidget):
    title = "参保登记导入"
    permission = "roster.view"

    def __init__(self, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.inner = QTabWidget()
        self.import_panel = RosterImportPanel(actor)
        self.browser = RosterBrowser(actor)
        self.inner.addTab(self.import_panel, "导入花名册")
        self.inner.addTab(self.browser, "花名册查询")
        self.inner.addTab(self._history_page(), "导入记录")
        layout.addWidget(self.inner)
        permit(self.import_panel, actor, "roster.import")
        if not actor.can("roster.import"):  # 财务 opens on the list it may use, not a greyed import page
            self.inner.setCurrentWidget(self.browser)
        self.load_history()
        self.browser.search()

    def _history_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.history = ListTable()
        self.history.doubleClicked.connect(lambda _index: self.open_changes())
        layout.addWidget(self.history, 1)
        row = QHBoxLayout()
        button = QPushButton("查看变更…")
        button.setToolTip(
            "打开所选的导入：时间、经办人、文件 SHA-256、数量和每一项变更（原值 → 新值），可导出 Excel"
        )
        button.clicked.connect(self.open_changes)
        row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        return page

    def open_file(self, path: Path) -> None:
        """A file dropped on the window."""
        if not self.actor.can("roster.import"):
            QMessageBox.information(self, "导入花名册", f"导入花名册须由{who_may('roster.import')}办理。")
            return
        self.inner.setCurrentWidget(self.import_panel)
        self.import_panel.open_file(path)

    def on_changed(self, changes: frozenset[str]) -> None:
        if changes & {IMPORTS, RESIDENTS, SPECIAL, PAYMENTS}:
            self.load_history()
        if changes & {IMPORTS, RESIDENTS, REGIONS}:
            self.browser.refresh()

    def load_history(self) -> None:
        Op(self, lambda: imports.history(self.actor), success=self._show_history, key="history",
           label="正在读取……").run()  # fmt: skip

    def _show_history(self, logs: list) -> None:
        self.logs = logs
        self.history.set_rows(
            list(HISTORY_HEADERS),
            [[g.import_id, f"{g.at:%Y-%m-%d %H:%M}", g.kind_name, g.file_name, g.user_name, g.rows, g.imported,
              g.updated, g.unchanged, g.rejected, g.changes, g.sha256[:16] + "…"] for g in self.logs],
        )  # fmt: skip
        self.history.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)

    def open_changes(self) -> None:
        rows = sorted({i.row() for i in self.history.selectedIndexes()})
        if not rows:
            QMessageBox.information(self, "导入记录", "请先选择一条导入记录。")
            return
        ImportChangesDialog(self.actor, self.logs[rows[0]].import_id, self).exec()

    def shutdown(self) -> None:
        operations.shutdown(self)
