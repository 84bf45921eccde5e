"""Start-up: the bundled CJK font, Qt's Chinese translations, the database, login, the main window."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTimer, QTranslator
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from core import auth, logs, resources, session
from core.auth import Actor
from core.database import DatabaseOpenError, DbInfo, close_database, describe, open_database
from gui import crash

FONT_FILE = ("fonts", "wqy-microhei.ttc")


def install_font(app: QApplication, point_size: int = 10) -> str:
    """Register the bundled font so Chinese renders on machines without a CJK font; returns its family."""
    font_id = QFontDatabase.addApplicationFont(str(resources.path(*FONT_FILE)))
    families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
    family = families[0] if families else app.font().family()
    font = QFont(family, point_size)
    app.setFont(font)
    return family


QT_CATALOGUES = ("qtbase_zh_CN",)  # OK/Cancel, file and print dialogs, context menus


def translations_folder() -> Path:
    """Qt's own translations as PySide6 ships them (also inside the PyInstaller bundle)."""
    folder = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath))
    if (folder / f"{QT_CATALOGUES[0]}.qm").is_file():
        return folder
    import PySide6

    return Path(PySide6.__file__).parent / "Qt" / "translations"


def install_translations(app: QApplication) -> list[QTranslator]:
    """Qt's standard dialogs, buttons and menus in Chinese, and Chinese month and day names (calendar)."""
    QLocale.setDefault(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
    folder = translations_folder()
    installed = []
    for name in QT_CATALOGUES:
        translator = QTranslator(app)
        if translator.load(name, str(folder)) and app.installTranslator(translator):
            installed.append(translator)
    return installed


def make_app() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("居民养老保险征缴业务系统")
    app.setOrganizationName("pension-levy")
    install_font(app)
    install_translations(app)  # type: ignore[arg-type]
    return app  # type: ignore[return-value]


def run_gui(db_url: str | None, smoke_test: bool = False) -> int:
    from gui.login import FirstAdminDialog, LoginDialog
    from gui.main_window import MainWindow

    app = make_app()
    logs.setup("gui")
    crash.log_refusals()
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
            dialog = LoginDialog(target.label) if auth.has_users() else FirstAdminDialog()
    except DatabaseOpenError as exc:
        if smoke_test:
            print(f"无法打开数据库：{exc}", file=sys.stderr)
        else:
            QMessageBox.critical(None, "无法打开数据库", str(exc))
        return 3
    if smoke_test:
        if "info" not in holder:  # PostgreSQL: nothing is opened before a user of the system logs in
            print("启动自检需要 SQLite 数据库：PostgreSQL 须由用户登录后才能连接。", file=sys.stderr)
            return 3
        return _smoke_test(app, holder["info"])
    while True:  # 注销/切换用户 comes back here for the next login
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.actor is None:
            return 0
        info = holder["info"]  # PostgreSQL: opened by the login
        crash.install(
            lambda info=info: f"{'SQLite 文件' if info.backend == 'sqlite' else 'PostgreSQL'} {info.label}"
        )
        crash.set_user(dialog.actor.username)
        logging.getLogger("pension.gui").info(
            "login %s (%s) on %s", dialog.actor.username, dialog.actor.role, info.label
        )
        window = MainWindow(dialog.actor, info)
        window.show()
        code = app.exec()
        logging.getLogger("pension.gui").info("exit %s", code)
        if not window.switch_user:
            return code
        window.deleteLater()
        if target.backend == "postgresql":
            close_database()  # the next user connects as their own login role
        dialog = LoginDialog(target.label, dialog._login if target.backend == "postgresql" else None)


def _smoke_test(app: QApplication, info) -> int:  # type: ignore[no-untyped-def]
    """--smoke-test: the main window for an administrator, without the login dialog, shown and closed.

    Proves an installed build starts: Qt's plugins, the font, the translations, every tab's widgets and
    its first queries on the database named by --db / PENSION_DB_URL. Exits 0 when all of that worked.
    """
    import time

    from core.auth import ADMIN, Actor
    from gui.main_window import MainWindow

    started = time.perf_counter()
    if QCoreApplication.translate("QPlatformTheme", "OK") != "确定":
        print(f"启动自检失败：没有加载 Qt 的中文翻译（{translations_folder()}）", file=sys.stderr)
        return 1
    window = MainWindow(Actor("smoke-test", ADMIN, None, "启动自检"), info)
    window.show()
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        app.processEvents()
    QTimer.singleShot(200, window.close)
    code = app.exec()
    tabs = "、".join(window.tabs.tabText(i) for i in range(window.tabs.count()))
    print(f"启动自检通过：{tabs}（{time.perf_counter() - started:.2f} 秒）")
    return code
