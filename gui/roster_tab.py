"""参保登记导入 tab: the import wizard, the roster browser (花名册) and the import history."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core import roster_import
from core.auth import Actor
from gui.roster_browser import RosterBrowser
from gui.roster_import_panel import RosterImportPanel

HISTORY_HEADERS = ("时间", "文件", "经办人", "数据行", "新增", "更新", "未变", "拒绝", "SHA-256")


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
        self.history = QTableWidget(0, len(HISTORY_HEADERS))
        self.history.setHorizontalHeaderLabels(list(HISTORY_HEADERS))
        self.history.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.history.verticalHeader().setVisible(False)
        self.history.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.inner.addTab(self.import_panel, "导入花名册")
        self.inner.addTab(self.browser, "花名册查询")
        self.inner.addTab(self.history, "导入记录")
        layout.addWidget(self.inner)
        self.import_panel.imported.connect(self._after_import)
        self.load_history()
        self.browser.search()

    def open_file(self, path: Path) -> None:
        """A file dropped on the window."""
        self.inner.setCurrentWidget(self.import_panel)
        self.import_panel.open_file(path)

    def _after_import(self) -> None:
        self.load_history()
        self.browser.refresh()

    def load_history(self) -> None:
        logs = roster_import.history(self.actor)
        self.history.setRowCount(len(logs))
        for row, g in enumerate(logs):
            values = (f"{g.started_at:%Y-%m-%d %H:%M}", g.file_name, g.username, g.rows, g.imported, g.updated,
                      g.unchanged, g.rejected, g.sha256[:16] + "…")  # fmt: skip
            for col, value in enumerate(values):
                item = QTableWidgetItem(str(value))
                if col == 8:
                    item.setToolTip(g.sha256)
                self.history.setItem(row, col, item)
        self.history.resizeColumnsToContents()

    def shutdown(self) -> None:
        self.import_panel.runner.shutdown()
        self.browser.runner.shutdown()
