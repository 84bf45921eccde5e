"""The main window: one tab per workflow, the database and user in the status bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSizePolicy,
    QTabWidget,
    QWidget,
)

from core import logs, regions
from core.auth import FINANCE, REVIEWER, Actor
from core.database import DbInfo
from core.tabular import CSV_SUFFIXES, EXCEL_SUFFIXES
from core.version import version
from gui import operations
from gui.admin_tab import AdminTab
from gui.arrears_tab import ArrearsTab
from gui.handoff_tab import HandoffTab
from gui.local_settings import settings
from gui.login import ChangePasswordDialog
from gui.refund_tab import RefundTab
from gui.roster_tab import RosterTab
from gui.special_tab import SpecialTab
from gui.stats_tab import StatsTab

APP_NAME = "居民养老保险征缴业务系统"
WORKFLOW_TABS = (RosterTab, SpecialTab, ArrearsTab, RefundTab, HandoffTab, StatsTab, AdminTab)
DEFAULT_SIZE = QSize(1280, 800)  # on a larger screen; never more than the screen's work area


class TabScroll(QScrollArea):
    """A workflow tab inside a scroll area: on a small screen (1366×768 at 125 %) the tab keeps the size it
    needs and scrolls, instead of crushing its fields or pushing its buttons below the screen."""

    def __init__(self, tab: QWidget) -> None:
        super().__init__()
        self.tab = tab
        self.setWidget(tab)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)


class MainWindow(QMainWindow):
    # What an operation changed (gui.operations broadcasts it): the tab on screen refreshes what it touches;
    # a tab refreshes all of its lists when it is shown again.
    changed = Signal(object)

    def __init__(self, actor: Actor, db: DbInfo) -> None:
        super().__init__()
        self.actor = actor
        self.db = db
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        # One tab per workflow, for the roles that may see it (core checks every action again). Only the tab
        # on screen loads now; the others load when shown (_tab_shown): a window opens in a few round trips.
        with operations.held() as first_loads:
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
            self.tabs.addTab(TabScroll(tab), tab.title)
        self.setCentralWidget(self.tabs)
        self.switch_user = False  # 注销: the application asks for a login again instead of quitting
        self._land()
        operations.run_under(first_loads, self.current_tab())
        self.changed.connect(self._dispatch_changes)
        self.tabs.currentChanged.connect(self._tab_shown)
        self._build_menu()
        self._build_status_bar()
        self._restore_geometry()

    def _build_menu(self) -> None:
        menu = self.file_menu = self.menuBar().addMenu("文件(&F)")
        open_action = QAction("导入花名册…", self)
        open_action.triggered.connect(self._open_roster)
        open_action.setEnabled(self.actor.can("roster.import"))
        menu.addAction(open_action)
        menu.addSeparator()
        password = QAction("修改密码…", self)
        password.triggered.connect(self.change_password)
        menu.addAction(password)
        switch = QAction("注销/切换用户", self)
        switch.triggered.connect(self.log_out)
        menu.addAction(switch)
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
        self.db_label.setToolTip(self.db.label)
        # A long path must not make the window wider than a small screen: the label gives way.
        self.db_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.db_label.setMinimumWidth(80)
        scope = "全县"
        if self.actor.township_id is not None:
            scope = regions.township_name(self.actor.township_id) or "?"
        self.user_label = QLabel(
            f"用户：{self.actor.display_name or self.actor.username}（{self.actor.role}，{scope}）"
        )
        bar.addWidget(self.db_label, 1)
        bar.addPermanentWidget(self.user_label)

    def show_tab(self, tab: QWidget) -> None:
        """Bring a workflow tab to the front (each sits in a TabScroll)."""
        for index in range(self.tabs.count()):
            page = self.tabs.widget(index)
            if isinstance(page, TabScroll) and page.tab is tab:
                self.tabs.setCurrentIndex(index)

    def _land(self) -> None:
        """Each role opens on its first useful tab: 财务 and 县局审核 on 退费审核 (its page for them is chosen
        there), not a greyed import page."""
        if self.actor.role in (FINANCE, REVIEWER) and self.refund_tab is not None:
            self.show_tab(self.refund_tab)

    def change_password(self) -> None:
        dialog = ChangePasswordDialog(self.actor, self)
        if dialog.exec():
            QMessageBox.information(self, "修改密码", "密码已修改，下次登录请使用新密码。")
        dialog.deleteLater()

    def log_out(self) -> None:
        sure = QMessageBox.question(
            self, "注销", f"注销用户“{self.actor.display_name or self.actor.username}”并重新登录？"
        )
        if sure == QMessageBox.StandardButton.Yes:
            self.switch_user = True
            self.close()

    def current_tab(self) -> QWidget | None:
        page = self.tabs.currentWidget()
        return page.tab if isinstance(page, TabScroll) else None

    def _dispatch_changes(self, changes: frozenset[str]) -> None:
        tab = self.current_tab()
        if tab is not None:
            tab.on_changed(changes)

    def _tab_shown(self, _index: int) -> None:
        tab = self.current_tab()
        if tab is not None:
            tab.on_changed(operations.EVERYTHING)  # another user may have changed anything meanwhile

    def _open_roster(self) -> None:
        self.show_tab(self.roster_tab)
        self.roster_tab.inner.setCurrentWidget(self.roster_tab.import_panel)
        self.roster_tab.import_panel.choose_file()

    def _about(self) -> None:
        kind = "SQLite 文件" if self.db.backend == "sqlite" else "PostgreSQL"
        log_file = logs.log_path() or logs.log_dir() / logs.LOG_NAME
        QMessageBox.about(self, "关于", f"<b>{APP_NAME}</b><br>城乡居民基本养老保险征缴后台业务系统。<br><br>"
                          f"版本：{version()}<br>数据库（{kind}）：{self.db.label}<br>日志文件：{log_file}")  # fmt: skip

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
            self.show_tab(self.roster_tab)
            self.roster_tab.open_file(path)
            event.acceptProposedAction()

    # -- geometry -----------------------------------------------------------------------------------------
    def available(self) -> QRect:
        """The work area of the screen the window is on (without the taskbar)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        return screen.availableGeometry()

    def _restore_geometry(self) -> None:
        """The last geometry when it still fits this screen (a laptop moved off a large monitor may not),
        else a default size within the work area, centred."""
        area = self.available()
        geometry = settings().value("main/geometry")
        if geometry is not None and self.restoreGeometry(geometry):
            frame = self.frameGeometry()
            if area.contains(frame) or self.isMaximized():
                return
        frame_extra = QSize(16, 40)  # window decorations, which the frame adds around the client area
        size = DEFAULT_SIZE.boundedTo(area.size() - frame_extra).expandedTo(self.minimumSizeHint())
        self.setGeometry(
            QRect(area.x() + max(0, (area.width() - size.width()) // 2),
                  area.y() + max(0, (area.height() - size.height() - frame_extra.height()) // 2), size.width(),
                  size.height())
        )  # fmt: skip
        if (
            size.width() >= area.width() - frame_extra.width()
            or size.height() >= area.height() - frame_extra.height()
        ):
            self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)

    def closeEvent(self, event: QCloseEvent) -> None:
        settings().setValue("main/geometry", self.saveGeometry())
        for tab in self.workflow_tabs:
            tab.shutdown()  # no worker thread outlives the window
        operations.shutdown(self)
        super().closeEvent(event)
