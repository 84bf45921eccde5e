"""Printing: every 打印 action makes the PDF the reports module writes and shows it in a print preview.

The preview (QPrintPreviewDialog) draws the PDF's pages through QPdfDocument, so what is printed is exactly
the PDF the CLI writes; the clerk prints from there, or saves the PDF (另存为 PDF…). Ctrl+P on a page with a
form prints it (``print_shortcut``).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRect, QSize, QSizeF, Qt
from PySide6.QtGui import (
    QAction,
    QImage,
    QKeySequence,
    QPageLayout,
    QPageSize,
    QPaintEngine,
    QPainter,
    QShortcut,
)
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrinter, QPrintPreviewDialog
from PySide6.QtWidgets import QMessageBox, QToolBar, QWidget

from core.errors import os_error_message
from gui import file_dialogs
from gui.operations import Op

RENDER_DPI_MAX = 300  # a page image at the printer's full resolution (1200 dpi) would take half a gigabyte
# The preview keeps every page's picture in memory: small grey pages there (about 1 MB each), full ones only
# on their way to the printer.
PREVIEW_DPI = 110


def print_shortcut(page: QWidget, slot: Callable[[], None]) -> QShortcut:
    """Ctrl+P while ``page`` is on screen (a hidden tab page's shortcut does not fire)."""
    shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Print), page)
    shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
    shortcut.activated.connect(slot)
    return shortcut


def print_pdf(
    parent: QWidget, title: str, name: str, make: Callable[[str], object], busy: str = "正在生成……"
) -> Op:
    """Write the PDF with ``make(path)`` (an operation, off the GUI thread) into a temporary folder, then
    preview it. A refusal is shown as the operation's message."""
    folder = Path(tempfile.mkdtemp(prefix="pension-print-"))
    pdf = folder / name

    def preview(_result: object) -> None:
        show_preview(parent, title, pdf)

    op = Op(parent, lambda: make(str(pdf)), success=preview, label=busy, title="无法打印", block=True)
    op.finished.connect(lambda: shutil.rmtree(folder, ignore_errors=True))
    return op.run()


def load(pdf: Path, parent: QWidget | None = None) -> QPdfDocument:
    document = QPdfDocument(parent)
    error = document.load(str(pdf))
    if error != QPdfDocument.Error.None_:
        raise OSError(f"无法读取 PDF（{error.name}）：{pdf}")
    return document


def setup_printer(printer: QPrinter, document: QPdfDocument, title: str) -> None:
    """Paper and orientation from the PDF's first page; no margins of the printer's own (the PDF has its own)."""
    points = document.pagePointSize(0)
    landscape = points.width() > points.height()
    size = QPageSize(
        QSizeF(min(points.width(), points.height()), max(points.width(), points.height())),
        QPageSize.Unit.Point,
        "",
        QPageSize.SizeMatchPolicy.FuzzyMatch,
    )
    orientation = QPageLayout.Orientation.Landscape if landscape else QPageLayout.Orientation.Portrait
    printer.setPageLayout(QPageLayout(size, orientation, QMarginsF(0, 0, 0, 0)))
    printer.setFullPage(True)
    printer.setDocName(title)


def render(document: QPdfDocument, printer: QPrinter) -> int:
    """Draw every page of the PDF on the printer (or the preview's stand-in); the pages drawn."""
    painter = QPainter()
    if not painter.begin(printer):
        return 0
    try:
        previewing = painter.paintEngine().type() == QPaintEngine.Type.Picture  # QPrintPreviewDialog records
        dpi = PREVIEW_DPI if previewing else min(printer.resolution(), RENDER_DPI_MAX)
        for page in range(document.pageCount()):
            if page:
                printer.newPage()
            points = document.pagePointSize(page)
            image = document.render(
                page, QSize(round(points.width() * dpi / 72), round(points.height() * dpi / 72))
            )
            # The rendered page is transparent where nothing is drawn: put it on white paper (grey in the
            # preview, where every page stays in memory), as printer drivers expect no alpha channel.
            paper = QImage(
                image.size(), QImage.Format.Format_Grayscale8 if previewing else QImage.Format.Format_RGB32
            )
            paper.fill(Qt.GlobalColor.white)
            onto = QPainter(paper)
            onto.drawImage(0, 0, image)
            onto.end()
            image = paper
            target = painter.viewport()
            scaled = image.size().scaled(target.size(), Qt.AspectRatioMode.KeepAspectRatio)
            painter.drawImage(QRect(target.topLeft(), scaled), image)
        return document.pageCount()
    finally:
        painter.end()


def make_preview(parent: QWidget | None, title: str, pdf: Path) -> QPrintPreviewDialog:
    document = load(pdf)
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    setup_printer(printer, document, title)
    dialog = QPrintPreviewDialog(printer, parent)
    document.setParent(dialog)
    dialog._printer = printer  # type: ignore[attr-defined]  # the dialog does not own it
    dialog.setWindowTitle(f"打印预览 — {title}")
    dialog.setProperty("pdf", str(pdf))
    dialog.paintRequested.connect(lambda target: render(document, target))
    save = QAction("另存为 PDF…", dialog)
    save.triggered.connect(lambda: save_copy(dialog, pdf))
    toolbar = dialog.findChild(QToolBar)
    if toolbar is not None:
        toolbar.addSeparator()
        toolbar.addAction(save)
    if parent is not None:  # as large as the window it belongs to, so a form is readable
        dialog.resize(parent.window().size())
    return dialog


def save_copy(parent: QWidget, pdf: Path) -> Path | None:
    target = file_dialogs.save_file(
        parent, "另存为 PDF", file_dialogs.PDF, pdf.name, [file_dialogs.PDF_FILTER]
    )
    if target is None:
        return None
    try:
        shutil.copyfile(pdf, target)
    except OSError as exc:
        QMessageBox.warning(parent, "保存失败", os_error_message(exc))
        return None
    return target


def _exec(dialog: QPrintPreviewDialog) -> None:
    """Run the preview. (Tests replace this to look at the dialog without a user.)"""
    dialog.exec()


def show_preview(parent: QWidget, title: str, pdf: Path) -> None:
    try:
        dialog = make_preview(parent, title, pdf)
    except OSError as exc:
        QMessageBox.warning(parent, "无法打印", str(exc))
        return
    try:
        _exec(dialog)
    finally:
        dialog.deleteLater()
