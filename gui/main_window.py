"""The main window: one tab per workflow, the database and user in the status bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QTabWidget

from core.auth import Actor
from core.database import DbInfo
from core.tabular import CSV_SUFFIXES, EXCEL_SUFFIXES
from dao.models import Township
from gui.admin_tab import AdminTab
from gui.arrears_tab import ArrearsTab
from gui.handoff_tab import HandoffTab
from gui.refund_tab import RefundTab
from gui.roster_tab import RosterTab
from gui.special_tab import SpecialTab
from gui.stats_tab import StatsTab

APP_NAME = "居民养老保险征缴业务系统"
WORKFLOW_TABS = (RosterTab, SpecialTab, ArrearsTab, RefundTab, HandoffTab, StatsTab, AdminTab)


def settings() -> QSettings:
    return QSettings("pension-levy", "pension-levy")


class MainWindow(QMainWindow):
    def __init__(self, actor: Actor, db: DbInfo) -> None:
        super().__init__()
        self.actor = actor
        self.db = db
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        # One tab per workflow, for the roles that may see it (core checks every action again).
        self.workflow_tabs = [cls(actor) for cls in WORKFLOW_TABS if actor.can(cls.permission)]
        found = {type(tab): tab for tab in self.workflow_tabs}
        self.roster_tab: RosterTab = found[RosterTab]  # every role may view the roster
        self.special_tab = found.get(SpecialTab)
        self.arrears_tab = found.get(ArrearsTab)
        self.refund_tab = found.get(RefundTab)
        self.handoff_tab = found.get(HandoffTab)
        self.stats_tab = found.get(StatsTab)
        self.admin_tab = found.get(AdminTab)
        for tab in self.workflow_tabs:
            self.tabs.addTab(tab, tab.title)
        self.setCentralWidget(self.tabs)
        self._build_menu()
        self._build_status_bar()
        self._restore_geometry()

    def _build_menu(self) -> None:
        menu = self.menuBar().addMenu("文件(&F)")
        open_action = QAction("导入花名册…", self)
        open_action.triggered.connect(self._open_roster)
        menu.addAction(open_action)
        menu.addSeparator()
        quit_action = QAction("退出(&X)", self)
        quit_action.triggered.connect(self.close)
        menu.addAction(quit_action)
        help_menu = self.menuBar().addMenu("帮助(&H)")
        about = QAction("关于", self)
        about.triggered.connect(self._about)
        help_menu.addAction(about)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        kind = "SQLite 文件" if self.db.backend == "sqlite" else "PostgreSQL"
        self.db_label = QLabel(f"数据库（{kind}）：{self.db.label}")
        scope = "全县"
        if self.actor.township_id is not None:
            town = Township.get_or_none(Township.id == self.actor.township_id)
            scope = town.name if town else "?"
        self.user_label = QLabel(
            f"用户：{self.actor.display_name or self.actor.username}（{self.actor.role}，{scope}）"
        )
        bar.addWidget(self.db_label, 1)
        bar.addPermanentWidget(self.user_label)

    def _open_roster(self) -> None:
        self.tabs.setCurrentWidget(self.roster_tab)
        self.roster_tab.inner.setCurrentWidget(self.roster_tab.import_panel)
        self.roster_tab.import_panel.choose_file()

    def _about(self) -> None:
        QMessageBox.about(self, "关于", f"<b>{APP_NAME}</b><br>城乡居民基本养老保险征缴后台业务系统。")

    # -- drag and drop a roster onto the window ------------------------------------------------------------
    @staticmethod
    def _dropped_file(event: QDragEnterEvent | QDropEvent) -> Path | None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if len(urls) != 1 or not urls[0].isLocalFile():
            return None
        path = Path(urls[0].toLocalFile())
        return path if path.suffix.lower() in EXCEL_SUFFIXES | CSV_SUFFIXES else None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_file(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        path = self._dropped_file(event)
        if path is not None:
            self.tabs.setCurrentWidget(self.roster_tab)
            self.roster_tab.open_file(path)
            event.acceptProposedAction()

    # -- geometry -----------------------------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        geometry = settings().value("main/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1200, 760)

    def closeEvent(self, event: QCloseEvent) -> None:
        settings().setValue("main/geometry", self.saveGeometry())
        for tab in self.workflow_tabs:
            tab.shutdown()  # no worker thread outlives the window
        super().closeEvent(event)
