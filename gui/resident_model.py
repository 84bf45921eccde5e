"""The roster as a table model that pages from the database: never the whole roster in memory."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from core import roster
from core.auth import Actor
from core.constants import ResidentFilter

COLUMNS = (  # (header, sort key in dao.queries.SORTABLE)
    ("身份证号码", "id_number"),
    ("姓名", "name"),
    ("性别", "sex"),
    ("出生日期", "birth_date"),
    ("乡镇", "township"),
    ("村居", "village"),
    ("联系电话", "phone"),
    ("参保状态", "status"),
)
PAGE = 200

_Index = QModelIndex | QPersistentModelIndex


class ResidentTableModel(QAbstractTableModel):
    def __init__(self, actor: Actor, parent=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(parent)
        self.actor = actor
        self.filter = ResidentFilter()
        self.order = "id"
        self.descending = False
        self.rows: list[tuple] = []
        self.total = 0

    # -- loading ------------------------------------------------------------------------------------------
    def set_filter(self, flt: ResidentFilter) -> None:
        self.filter = flt
        self.reload()

    def reload(self) -> None:
        self.beginResetModel()
        self.total = roster.count(self.actor, self.filter)
        self.rows = self._fetch(0)
        self.endResetModel()

    def _fetch(self, offset: int) -> list[tuple]:
        return roster.page(
            self.actor, self.filter, order=self.order, descending=self.descending, offset=offset, limit=PAGE
        )

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and len(self.rows) < self.total

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid():
            return
        more = self._fetch(len(self.rows))
        if not more:
            self.total = len(self.rows)
            return
        self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(more) - 1)
        self.rows.extend(more)
        self.endInsertRows()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.order = COLUMNS[column][1] if 0 <= column < len(COLUMNS) else "id"  # -1: no sort column
        self.descending = order == Qt.SortOrder.DescendingOrder
        self.reload()

    # -- the model interface ------------------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # type: ignore[no-untyped-def]
        if role == Qt.ItemDataRole.DisplayRole:
            if orientation == Qt.Orientation.Horizontal:
                return COLUMNS[section][0]
            return str(section + 1)
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):  # type: ignore[no-untyped-def]
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            value = row[index.column() + 1]
            if isinstance(value, dt.date):
                return value.isoformat()
            return "" if value is None else str(value)
        if role == Qt.ItemDataRole.UserRole:
            return row[0]  # resident id
        return None

    def resident_id(self, row: int) -> int:
        return self.rows[row][0]
