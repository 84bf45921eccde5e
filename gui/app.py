"""Start-up: the bundled CJK font, the database, login, the main window."""

from __future__ import annotations

import sys

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from core import resources, session
from core.auth import Actor
from core.database import DatabaseOpenError, DbInfo, describe, open_database
from dao.models import User

FONT_FILE = ("fonts", "wqy-microhei.ttc")


def install_font(app: QApplication, point_size: int = 10) -> str:
    """Register the bundled font so Chinese renders on machines without a CJK font; returns its family."""
    font_id = QFontDatabase.addApplicationFont(str(resources.path(*FONT_FILE)))
    families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
    family = families[0] if families else app.font().family()
    font = QFont(family, point_size)
    app.setFont(font)
    return family


def make_app() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("居民养老保险征缴业务系统")
    app.setOrganizationName("pension-levy")
    install_font(app)
    return app  # type: ignore[return-value]


def run_gui(db_url: str | None) -> int:
    from gui.login import FirstAdminDialog, LoginDialog
    from gui.main_window import MainWindow

    app = make_app()
    try:
        target = describe(db_url)
        if target.backend == "postgresql":
            # The shared database: connect as the user's own login role, so the server checks the password
            # and applies the user's privileges and township scope. Nothing is opened before the login.
            holder: dict[str, DbInfo] = {}

            def login(username: str, password: str) -> Actor:
                actor, holder["info"] = session.login(db_url, username, password)
                return actor

            dialog: LoginDialog | FirstAdminDialog = LoginDialog(target.label, login)
        else:
            holder = {"info": open_database(db_url)}
            dialog = LoginDialog(target.label) if User.select().exists() else FirstAdminDialog()
    except DatabaseOpenError as exc:
        QMessageBox.critical(None, "无法打开数据库", str(exc))
        return 3
    if dialog.exec() != QDialog.DialogCode.Accepted or dialog.actor is None:
        return 0
    window = MainWindow(dialog.actor, holder["info"])
    window.show()
    return app.exec()
