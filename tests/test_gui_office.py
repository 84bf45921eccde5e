"""On an office PC: Qt in Chinese, file dialogs that leave the database's locks alone, the window fits a
1366×768 screen at 100 % and 125 %, printing through a preview, the local default township."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fpdf import FPDF
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QPageSize
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QFileSystemModel, QToolBar

from core.auth import ADMIN, Actor
from core.database import close_database, open_database
from dao.models import Township
from gui import file_dialogs, local_settings, printing
from gui.app import install_translations
from gui.main_window import MainWindow
from gui.operations import wait_all as settle
from gui.tables import township_combo
from tests.conftest import clerk_of, township_id

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def clean_settings():
    local_settings.settings().clear()
    yield local_settings.settings()
    local_settings.settings().clear()


def test_qt_standard_buttons_read_chinese(qtbot):
    app = QApplication.instance()
    translators = install_translations(app)
    try:
        assert translators, "qtbase_zh_CN.qm was not found"
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        qtbot.addWidget(box)
        ok = box.button(QDialogButtonBox.StandardButton.Ok).text()
        cancel = box.button(QDialogButtonBox.StandardButton.Cancel).text()
        assert ok.startswith("确定") and cancel.startswith("取消")
    finally:
        for translator in translators:
            app.removeTranslator(translator)


# -- file dialogs -------------------------------------------------------------------------------------------
def _process_locks() -> list[str]:
    """This process's POSIX locks, without /proc/locks' running number (other processes shift it)."""
    lines = Path("/proc/locks").read_text().splitlines()
    return sorted(line.split(":", 1)[1].strip() for line in lines if f" {os.getpid()} " in line)


def _another_process_can_write(path: Path) -> str:
    code = (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)\n"
        "try:\n    c.execute('BEGIN EXCLUSIVE'); print('GOT')\n"
        "except sqlite3.OperationalError as e:\n    print('LOCKED')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True
    ).stdout.strip()


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="POSIX lock bookkeeping is Linux's")
def test_file_dialog_on_the_database_folder_keeps_sqlite_locks(qtbot, tmp_path, clean_settings):
    path = tmp_path / "pension.db"
    open_database(f"sqlite:///{path}")
    database = Township._meta.database
    try:
        with database.atomic():  # as a worker in the middle of an import would
            Township.update(name=Township.name).execute()
            before = _process_locks()
            assert before and _another_process_can_write(path) == "LOCKED"
            remembered = tmp_path / "pension.db-wal"  # the folder a clerk last picked a file in
            file_dialogs.remember(file_dialogs.IMPORT, remembered.parent)
            dialog = file_dialogs.make_dialog(
                None, "选择文件", file_dialogs.IMPORT, [file_dialogs.ALL_FILTER]
            )
            qtbot.addWidget(dialog)
            assert dialog.directory().absolutePath() == str(tmp_path)
            model = dialog.findChild(QFileSystemModel)
            with qtbot.waitSignal(model.directoryLoaded, timeout=5000):
                dialog.show()
            dialog.selectFile(str(path))
            root = model.index(str(tmp_path))
            # .db, -wal, -shm, .instances and .users (the locks every running instance holds, dao.sqlite_files)
            qtbot.waitUntil(lambda: model.rowCount(root) == 5, timeout=5000)
            for row in range(model.rowCount(root)):  # what the view asks to draw each line
                for column in range(model.columnCount(root)):
                    index = model.index(row, column, root)
                    model.data(index, Qt.ItemDataRole.DisplayRole)
                    model.data(index, Qt.ItemDataRole.DecorationRole)
            dialog.grab()
            qtbot.wait(300)
            assert _process_locks() == before
            assert _another_process_can_write(path) == "LOCKED"
            assert model.type(model.index(str(path))) == "DB 文件"  # by its name, not by reading it
            dialog.close()
    finally:
        close_database()


def test_save_dialog_adds_the_suffix_and_remembers_the_folder_per_kind(tmp_path, monkeypatch, clean_settings):
    exports, pdfs = tmp_path / "exports", tmp_path / "pdf"
    exports.mkdir()
    pdfs.mkdir()
    clean_settings.setValue(local_settings.PDF_FOLDER, str(pdfs))
    assert file_dialogs.start_folder(file_dialogs.EXPORT) == pdfs  # nothing remembered: the settings' folder
    seen = []

    def answer(dialog):
        seen.append(dialog)
        return str(exports / "花名册")

    monkeypatch.setattr(file_dialogs, "_exec", answer)
    chosen = file_dialogs.save_file(
        None, "导出", file_dialogs.EXPORT, "花名册.xlsx", [file_dialogs.EXCEL_FILTER, file_dialogs.CSV_FILTER]
    )
    assert chosen == exports / "花名册.xlsx"
    assert seen[0].testOption(seen[0].Option.DontUseNativeDialog)
    assert isinstance(seen[0].iconProvider(), file_dialogs.NameOnlyIconProvider)
    assert file_dialogs.start_folder(file_dialogs.EXPORT) == exports
    assert file_dialogs.start_folder(file_dialogs.BACKUP) == pdfs  # another kind keeps its own


# -- fit ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", ["1", "1.25"])
def test_every_tab_fits_1366x728_at_100_and_125_percent(tmp_path, scale):
    """The main window's minimum, in physical pixels, fits a 1366×768 screen's work area (728 px high with
    a taskbar); on every tab and inner page no field or button is shown smaller than it needs (a page that
    needs more room scrolls)."""
    screen = tmp_path / "screen.json"
    screen.write_text(json.dumps({"screens": [{"name": "office", "x": 0, "y": 0, "width": 1366, "height": 768,
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))  # fmt: skip
    url = f"sqlite:///{tmp_path / 'fit.db'}"
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={screen}", "QT_SCALE_FACTOR": scale}
    done = subprocess.run([sys.executable, "-m", "tests.fit_probe", url, "1366", "728"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["ratio"] == float(scale)
    width, height = result["minimum"]
    assert width <= 1366 and height <= 728, result
    assert result["window"][0] <= 1366 and result["window"][1] <= 728
    assert result["pages"] >= 20  # every tab and inner page was looked at
    assert result["crushed"] == []


def test_geometry_is_restored_only_when_it_fits_the_screen(qtbot, sqlite_db, admin, clean_settings):
    area = QApplication.primaryScreen().availableGeometry()
    big = MainWindow(admin, sqlite_db)
    qtbot.addWidget(big)
    big.setGeometry(
        area.x() + 50, area.y() + 50, area.width() * 2, area.height() * 2
    )  # another, larger monitor
    big.close()  # saves the geometry
    assert clean_settings.value("main/geometry") is not None
    window = MainWindow(admin, sqlite_db)
    qtbot.addWidget(window)
    assert window.width() <= area.width() and window.height() <= area.height()
    window.setGeometry(area.x() + 10, area.y() + 10, area.width() // 2, area.height() // 2)
    window.close()
    again = MainWindow(admin, sqlite_db)
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (area.width() // 2, area.height() // 2)  # it fits: restored


# -- printing -----------------------------------------------------------------------------------------------
def _pdf(path: Path, pages: int, orientation: str = "P") -> Path:
    pdf = FPDF(orientation=orientation, format="A4")
    for n in range(pages):
        pdf.add_page()
        pdf.set_font("helvetica", size=40)
        pdf.cell(0, 20, f"page {n + 1}")
    pdf.output(str(path))
    return path


def test_print_preview_draws_every_page_of_the_pdf(qtbot, tmp_path, monkeypatch):
    source = _pdf(tmp_path / "landscape.pdf", 3, "L")
    dialog = printing.make_preview(None, "政府代缴名单", source)
    qtbot.addWidget(dialog)
    layout = dialog.printer().pageLayout()
    assert (
        layout.orientation() == layout.Orientation.Landscape
        and layout.pageSize().id() == QPageSize.PageSizeId.A4
    )
    toolbar = dialog.findChild(QToolBar)
    assert "另存为 PDF…" in [a.text() for a in toolbar.actions()]
    printed = tmp_path / "printed.pdf"
    printer = QPrinter(QPrinter.PrinterMode.ScreenResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(printed))
    printer.setPageLayout(layout)
    dialog.paintRequested.emit(printer)  # what the dialog's print button runs
    document = QPdfDocument()
    document.load(str(printed))
    assert document.pageCount() == 3
    assert document.pagePointSize(0).width() > document.pagePointSize(0).height()
    saved = tmp_path / "kept.pdf"
    monkeypatch.setattr(file_dialogs, "_exec", lambda d: str(saved))
    printing.save_copy(dialog, source)
    assert saved.read_bytes() == source.read_bytes()


def test_ctrl_p_prints_the_form_in_view(qtbot, sqlite_db, admin, message_boxes, clean_settings):
    window = MainWindow(admin, sqlite_db)
    qtbot.addWidget(window)
    window.show()
    window.windowHandle().requestActivate()  # shortcuts go to the active window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.show_tab(window.roster_tab)
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert message_boxes == []  # nothing to print on the roster import page
    window.show_tab(window.arrears_tab)
    window.arrears_tab.inner.setCurrentWidget(window.arrears_tab.assess_page)
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert message_boxes[-1] == ("打印核定单", "请先选择已核定的记录。")  # its print action ran
    window.close()


# -- this PC's default township -----------------------------------------------------------------------------
def test_default_township_preselects_the_filters(qtbot, sqlite_db, admin, clean_settings):
    assert township_combo(admin).currentData() is None  # not set: the county
    clean_settings.setValue(local_settings.DEFAULT_TOWNSHIP, township_id("上冶镇"))
    assert township_combo(admin).currentText() == "上冶镇"
    assert township_combo(clerk_of("薛庄镇")).currentText() == "薛庄镇"  # a clerk sees only their own
    window = MainWindow(Actor("boss", ADMIN, None, "局长"), sqlite_db)
    qtbot.addWidget(window)
    assert window.roster_tab.browser.township.currentText() == "上冶镇"
    assert window.stats_tab.town.currentData() == township_id("上冶镇")
    window.show_tab(window.admin_tab)  # a hidden tab loads when shown
    settle()  # the settings page fills when its lists arrive
    assert window.admin_tab.default_town.currentText() == "上冶镇"  # the settings page shows what is saved
    window.close()


def test_settings_are_this_pcs_own():
    assert QSettings("pension-levy", "pension-levy").fileName().startswith(os.environ["XDG_CONFIG_HOME"])


def test_every_file_dialog_goes_through_the_helper():
    """A QFileDialog made anywhere else (a static getOpenFileName, a native dialog) may open the database's
    files and drop its locks: only gui/file_dialogs.py may use the class."""
    users = [p.name for p in (ROOT / "gui").glob("*.py") if "QFileDialog" in p.read_text(encoding="utf-8")]
    assert users == ["file_dialogs.py"]


def test_smoke_test_and_version_from_the_command_line(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PENSION_DB_URL": f"sqlite:///{tmp_path / 'env.db'}"}
    version = subprocess.run([sys.executable, "main.py", "--version"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=60)  # fmt: skip
    assert version.returncode == 0 and version.stdout.startswith("居民养老保险征缴业务系统 ")
    smoke = subprocess.run([sys.executable, "main.py", "--smoke-test"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120)  # fmt: skip
    assert smoke.returncode == 0, smoke.stderr
    assert "启动自检通过" in smoke.stdout and "系统管理" in smoke.stdout  # every tab, for an administrator
    assert (tmp_path / "env.db").exists()  # the database PENSION_DB_URL names
    (tmp_path / "not-a-db").write_text("这不是数据库")
    broken = subprocess.run([sys.executable, "main.py", "--db", f"sqlite:///{tmp_path / 'not-a-db'}", "--smoke-test"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert broken.returncode == 3 and "无法打开数据库" in broken.stderr
