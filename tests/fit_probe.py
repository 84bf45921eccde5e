"""Run in a subprocess (QT_SCALE_FACTOR must be set before Qt starts): the main window's minimum size and any
widget shown smaller than it needs, on every tab and inner page, at a given work area in physical pixels.

python -m tests.fit_probe DB_URL WIDTH HEIGHT  -> one JSON object on stdout
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TITLE_BAR = 32  # logical pixels of window title bar the work area must also hold


def main() -> int:
    url, width, height = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractSpinBox,
        QComboBox,
        QLabel,
        QLineEdit,
        QTabWidget,
        QWidget,
    )

    from core.auth import ADMIN, Actor
    from core.database import open_database
    from gui import operations
    from gui.app import make_app
    from gui.main_window import MainWindow

    app = make_app()
    info = open_database(url)
    window = MainWindow(Actor("probe", ADMIN, None, "检查"), info)
    ratio = app.devicePixelRatio()
    logical_w, logical_h = int(width / ratio), int(height / ratio) - TITLE_BAR
    window.setWindowState(Qt.WindowState.WindowNoState)
    window.resize(logical_w, logical_h)
    window.show()
    app.processEvents()
    minimum = window.minimumSizeHint()
    crushed: list[str] = []
    scrolls: dict[str, list[int]] = {}  # pages larger than the window: reachable by scrolling

    def check(where: str) -> None:
        operations.wait_all()  # a tab loads when shown: measure it with its data in place, laid out
        app.processEvents()
        area = window.tabs.currentWidget()
        need = area.widget().minimumSizeHint()
        if need.width() > area.viewport().width() or need.height() > area.viewport().height():
            scrolls[where] = [need.width(), need.height(), area.viewport().width(), area.viewport().height()]
        kinds = (QAbstractButton, QLineEdit, QComboBox, QAbstractSpinBox, QLabel)
        for widget in window.findChildren(QWidget):
            if not isinstance(widget, kinds) or not widget.isVisible():
                continue
            if isinstance(widget.parent(), (QAbstractSpinBox, QComboBox)):
                continue  # their own editor, sized by them
            need = widget.minimumSizeHint().boundedTo(
                widget.sizeHint()
            )  # a spin box's hint is below its minimum
            if isinstance(widget, QLabel) and (widget.wordWrap() or not widget.text()):
                continue
            if widget.width() < need.width() - 1 or widget.height() < need.height() - 1:
                text = getattr(widget, "text", lambda: "")() or widget.objectName() or type(widget).__name__
                crushed.append(
                    f"{where}: {text!s:.30} {widget.width()}x{widget.height()} < {need.width()}x{need.height()}"
                )

    pages = 0
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        tab = window.tabs.widget(index)
        inner = [w for w in tab.findChildren(QTabWidget) if w.isVisible()]
        if inner:
            for n in range(inner[0].count()):
                inner[0].setCurrentIndex(n)
                check(f"{window.tabs.tabText(index)}/{inner[0].tabText(n)}")
                pages += 1
        else:
            check(window.tabs.tabText(index))
            pages += 1
    print(json.dumps({
        "ratio": ratio,
        "minimum": [round(minimum.width() * ratio), round((minimum.height() + TITLE_BAR) * ratio)],
        "window": [round(window.width() * ratio), round(window.height() * ratio)],
        "pages": pages,
        "crushed": crushed,
        "scrolls": scrolls,
    }, ensure_ascii=False))  # fmt: skip
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
