"""Small widgets the tabs share: read-only tables for fully loaded lists, the township chooser, button rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QGuiApplication, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableView,
    QWidget,
)

from core import regions
from core.auth import Actor, who_may
from gui import local_settings

_Index = QModelIndex | QPersistentModelIndex
ROW_HEIGHT = 24  # every list's rows (ListTable, the roster browser, 受理登记's payments)


class ListModel(QAbstractTableModel):
    """Rows held in a Python list and drawn on demand: no item object per cell, so a county's 25,000-row
    代缴 list shows at once (a QTableWidget took 0.6 s to build its items)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.headers: list[str] = []
        self.rows: list[Sequence[object]] = []
        self.grouped: frozenset[int] = frozenset()  # columns of counts shown as 12,345 (not years or numbers)

    def set_rows(
        self, headers: Sequence[str], rows: Sequence[Sequence[object]], grouped: Iterable[int] = ()
    ) -> None:
        self.beginResetModel()
        self.headers, self.rows, self.grouped = list(headers), list(rows), frozenset(grouped)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        row = self.rows[index.row()]
        value = row[index.column()] if index.column() < len(row) else None
        if role == Qt.ItemDataRole.DisplayRole:
            if isinstance(value, Decimal):  # amounts in yuan (core.money.fen_to_yuan)
                return f"{value:,.2f}"
            if isinstance(value, int) and index.column() in self.grouped:
                return f"{value:,}"
            return "" if value is None else str(value)
        if role == Qt.ItemDataRole.ToolTipRole and isinstance(value, str) and len(value) > 12:
            # a long text cut off by its column (a reason, a file name, an audit entry): the whole of it on hover
            return value.replace("；", "\n")
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(value, int | float | Decimal):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers[section] if section < len(self.headers) else None
        return None


class ListTable(QTableView):
    """A read-only table of fully loaded rows (lists that fit in memory; the roster pages from the database)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list_model = ListModel(self)
        self.setModel(self.list_model)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        self.setAlternatingRowColors(True)
        self.empty_text = "（无记录）"

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.list_model.headers and not self.list_model.rows and self.empty_text:
            # An empty list says so, instead of looking like one still loading or broken.
            painter = QPainter(self.viewport())
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, self.empty_text)
            painter.end()

    def set_rows(
        self, headers: Sequence[str], rows: Sequence[Sequence[object]], grouped: Iterable[int] = ()
    ) -> None:
        self.list_model.set_rows(headers, rows, grouped)
        self.resizeColumnsToContents()  # looks at the first 1,000 rows only (Qt's default precision)
        if not rows and headers:  # no rows to size by: the headers share the width instead of huddling left
            self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        else:
            self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)

    def clear_rows(self) -> None:
        self.list_model.set_rows(self.list_model.headers, [])

    def rowCount(self) -> int:
        return self.list_model.rowCount()

    def text(self, row: int, column: int) -> str:
        return str(self.list_model.data(self.list_model.index(row, column)))


def township_combo(actor: Actor, county_label: str = "（全县）", item_suffix: str = "") -> QComboBox:
    """The townships this user may look at: the county first for county staff, their own township only for a
    township clerk (the combo is then fixed)."""
    combo = QComboBox()
    if actor.township_id is None:
        combo.addItem(county_label, None)
    for t in regions.townships():
        if actor.township_id in (None, t.id):
            combo.addItem(f"{t.name}{item_suffix}", t.id)
    combo.setEnabled(actor.township_id is None)
    if actor.township_id is None:  # county staff at a township's PC start on that township (本机默认乡镇)
        combo.setCurrentIndex(max(0, combo.findData(local_settings.default_township())))
    return combo


def button_row(
    actions: Sequence[tuple[str, Callable[[], None]]],
) -> tuple[QHBoxLayout, dict[str, QPushButton]]:
    """A left-aligned row of push buttons; the buttons by their text, to enable or disable them."""
    row = QHBoxLayout()
    buttons = {}
    for text, slot in actions:
        button = QPushButton(text)
        button.clicked.connect(slot)
        row.addWidget(button)
        buttons[text] = button
    row.addStretch(1)
    return row, buttons


def permit(widget: QWidget, actor: Actor, permission: str, enabled: bool = True) -> None:
    """Enabled when ``enabled`` and the role holds ``permission``; a role without it sees the control greyed
    with a tooltip naming who may (after what the control does, when it already says so)."""
    allowed = actor.can(permission)
    widget.setEnabled(enabled and allowed)
    if not allowed:
        who = f"须由{who_may(permission)}办理（当前用户：{actor.role}）"
        tip = widget.toolTip()
        if who not in tip:
            widget.setToolTip(f"{tip}\n{who}" if tip else who)


def fit_to_screen(window: QWidget, width: int, height: int) -> None:
    """Size a dialog ``width``×``height`` at most, and never beyond the screen's work area (1366×768 at 125 % is
    1093×614), leaving room for the title bar; centred on that area."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    area = screen.availableGeometry()
    frame = 40  # the title bar and borders the window manager adds around the dialog
    window.setMaximumSize(area.width(), area.height() - frame)
    w, h = min(width, area.width() - 16), min(height, area.height() - frame)
    window.resize(w, h)
    window.move(area.x() + (area.width() - w) // 2, area.y() + max(0, (area.height() - frame - h) // 2))
