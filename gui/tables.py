"""Small widgets the tabs share: read-only tables for fully loaded lists, the township chooser."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
)

from core import regions
from core.auth import Actor


def fill_table(table: QTableWidget, headers: list[str], rows: list[list[object]]) -> None:
    table.clear()
    table.setColumnCount(len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            item = QTableWidgetItem("" if value is None else str(value))
            if isinstance(value, int | float):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)
    table.resizeColumnsToContents()


def read_only_table() -> QTableWidget:
    table = QTableWidget()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.setAlternatingRowColors(True)
    return table


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
