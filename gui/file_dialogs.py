"""Every open, save and folder dialog of the GUI goes through here.

The dialogs are Qt's own widgets (never the native ones) with an icon provider that judges a file by its
name only. A native dialog (GTK's preview and MIME sniffing, Windows shell extensions) or Qt's default icon
provider (QMimeDatabase reads a file's first bytes) opens the files it lists; on Linux closing *any*
descriptor of the SQLite database file drops every POSIX lock this process holds on it (SQLite, "How To
Corrupt An SQLite Database File", 2.2) — while a worker may be in the middle of a transaction. So the GUI
touches the database's files only through its connection, and a dialog shown on the database's folder
only stats the names it lists.

Each dialog starts in the folder last used for its kind of file (remembered per kind on this PC), else in
the settings' 本机打印/PDF 文件夹, else in the user's documents folder — never the program's own folder.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QFileInfo, QStandardPaths
from PySide6.QtGui import QAbstractFileIconProvider, QIcon
from PySide6.QtWidgets import QApplication, QFileDialog, QStyle, QWidget

from gui import local_settings

# Kinds of file, each with its own remembered folder.
IMPORT = "import"  # rosters, lists, payment files, region tables, tax feedback
EXPORT = "export"  # spreadsheets written out (roster, arrears, audit, statistics, error lists)
PDF = "pdf"  # printed forms saved as PDF
BACKUP = "backup"  # database backups
HANDOFF = "handoff"  # tax handoff folders
CHARTS = "charts"  # chart pictures

EXCEL_FILTER = "Excel 工作簿 (*.xlsx)"
CSV_FILTER = "CSV 文件 (*.csv)"
PDF_FILTER = "PDF 文件 (*.pdf)"
TABLE_FILTER = "表格文件 (*.xlsx *.xls *.csv)"
DB_FILTER = "SQLite 数据库 (*.db)"
ALL_FILTER = "所有文件 (*)"

_KEY = "folders/{}"


class NameOnlyIconProvider(QAbstractFileIconProvider):
    """Icons and type names from the file name alone: nothing is opened to look inside."""

    def __init__(self) -> None:
        super().__init__()
        style = QApplication.style()
        self._dir = style.standardIcon(QStyle.StandardPixmap.SP_DirIcon)
        self._file = style.standardIcon(QStyle.StandardPixmap.SP_FileIcon)
        self._drive = style.standardIcon(QStyle.StandardPixmap.SP_DriveHDIcon)
        self._computer = style.standardIcon(QStyle.StandardPixmap.SP_ComputerIcon)

    def icon(self, what: object) -> QIcon:  # type: ignore[override]
        if isinstance(what, QFileInfo):
            if what.isRoot():
                return self._drive
            return self._dir if what.isDir() else self._file
        kinds = QAbstractFileIconProvider.IconType
        return {
            kinds.Computer: self._computer,
            kinds.Drive: self._drive,
            kinds.Folder: self._dir,
            kinds.Desktop: self._dir,
            kinds.Trashcan: self._dir,
            kinds.Network: self._computer,
        }.get(what, self._file)  # type: ignore[call-overload]

    def type(self, info: QFileInfo) -> str:  # type: ignore[override]
        if info.isRoot():
            return "驱动器"
        if info.isDir():
            return "文件夹"
        return f"{info.suffix().upper()} 文件" if info.suffix() else "文件"


_provider: NameOnlyIconProvider | None = None


def _icon_provider() -> NameOnlyIconProvider:
    """One provider for every dialog, alive as long as the program. A dialog does not own its provider, and a
    dialog outlives its Python wrapper when it has a parent: a provider freed with the wrapper was still
    called by the dialog's file model (in its own thread), which crashed the program."""
    global _provider
    if _provider is None:
        _provider = NameOnlyIconProvider()
    return _provider


def start_folder(kind: str) -> Path:
    """Where a dialog for this kind of file opens."""
    remembered = str(local_settings.settings().value(_KEY.format(kind)) or "")
    if remembered and Path(remembered).is_dir():
        return Path(remembered)
    pdf = local_settings.pdf_folder()
    if pdf is not None:
        return pdf
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(documents) if documents and Path(documents).is_dir() else Path.home()


def remember(kind: str, folder: Path) -> None:
    local_settings.settings().setValue(_KEY.format(kind), str(folder))


def make_dialog(parent: QWidget | None, title: str, kind: str, filters: Sequence[str] = ()) -> QFileDialog:
    """The one way the GUI builds a file dialog (the tests open it on the database's folder)."""
    dialog = QFileDialog(parent, title)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dialog.setOption(QFileDialog.Option.DontUseCustomDirectoryIcons, True)  # no desktop.ini reads
    dialog.setIconProvider(_icon_provider())
    dialog.setDirectory(str(start_folder(kind)))
    # Qt's zh_CN catalogue leaves these two in English
    dialog.setLabelText(QFileDialog.DialogLabel.LookIn, "查找范围：")
    dialog.setLabelText(QFileDialog.DialogLabel.FileType, "文件类型：")
    if filters:
        dialog.setNameFilters(list(filters))
    return dialog


def _run(dialog: QFileDialog) -> str | None:
    """``_exec``, then the dialog goes: its file model's timers and watcher must not outlive it unseen."""
    try:
        return _exec(dialog)
    finally:
        dialog.deleteLater()


def _exec(dialog: QFileDialog) -> str | None:
    """Run the dialog; the chosen path. (Tests replace this to answer without a user.)"""
    if dialog.exec() != QFileDialog.DialogCode.Accepted:
        return None
    files = dialog.selectedFiles()
    return files[0] if files else None


def _suffixes(name_filter: str) -> list[str]:
    return [s.lower() for s in re.findall(r"\*(\.[A-Za-z0-9]+)", name_filter)]


def open_file(parent: QWidget | None, title: str, kind: str, filters: Sequence[str]) -> Path | None:
    dialog = make_dialog(parent, title, kind, filters)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    chosen = _run(dialog)
    if not chosen:
        return None
    path = Path(chosen)
    remember(kind, path.parent)
    return path


def save_file(
    parent: QWidget | None, title: str, kind: str, name: str, filters: Sequence[str]
) -> Path | None:
    """A path to write; when the name typed has none of the filters' suffixes, the chosen filter's is added."""
    dialog = make_dialog(parent, title, kind, filters)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    dialog.selectFile(str(start_folder(kind) / name))
    chosen = _run(dialog)
    if not chosen:
        return None
    path = Path(chosen)
    allowed = [s for f in filters for s in _suffixes(f)]
    if allowed and path.suffix.lower() not in allowed:
        picked = _suffixes(dialog.selectedNameFilter()) or allowed
        path = path.with_name(path.name + picked[0])
    remember(kind, path.parent)
    return path


def folder(parent: QWidget | None, title: str, kind: str, start: Path | None = None) -> Path | None:
    dialog = make_dialog(parent, title, kind)
    dialog.setFileMode(QFileDialog.FileMode.Directory)
    dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    if start is not None and str(local_settings.settings().value(_KEY.format(kind)) or "") == "":
        dialog.setDirectory(str(start))
    chosen = _run(dialog)
    if not chosen:
        return None
    path = Path(chosen)
    remember(kind, path)
    return path
