"""The roster as a table model that pages from the database: never the whole roster in memory.

The count and every page are read in operations (gui.operations), off the GUI thread: a query's rows come
back together with its count, and a page read for an older query is dropped."""

from __future__ import annotations

import datetime as dt
import time

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import QWidget

from core import roster
from core.auth import Actor
from core.constants import ResidentFilter
from gui.operations import Op

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
    """``loading`` is emitted when a query starts (the list is then empty), ``loaded`` with the seconds it took
    when its count and first page are shown, ``failed`` with the Chinese message. ``filter`` is always the
    query whose rows are shown: the browser names it and exports it."""

    loading = Signal()
    loaded = Signal(float)
    failed = Signal(str)

    def __init__(self, actor: Actor, parent: QWidget) -> None:
        super().__init__(parent)
        self.actor = actor
        self.filter = ResidentFilter()
        self.order = "id"
        self.descending = False
        self.rows: list[tuple] = []
        self.total = 0
        self.busy = False  # a query is running: no rows to fetch more of yet
        self._queried = False  # no query before the first set_filter (the view sorts while it is built)
        self._generation = 0  # which query a page read belongs to
        self._paging = False  # one page read at a time: the view asks again and again while it scrolls
        self._key = f"resident-model-{id(self)}"

    @property
    def widget(self) -> QWidget:
        """The widget the operations run for (the browser); reached through parent(), not kept: a reference
        back would make a cycle."""
        return self.parent()  # type: ignore[return-value]

    # -- loading ------------------------------------------------------------------------------------------
    def set_filter(self, flt: ResidentFilter) -> None:
        self.filter = flt
        self.reload()

    def reload(self) -> None:
        """Run the query again (filter, order): the list empties until its count and first page arrive."""
        self._queried = True
        self._generation += 1
        self._paging = False
        self.busy = True
        self.beginResetModel()
        self.rows, self.total = [], 0
        self.endResetModel()
        self.loading.emit()
        actor, flt, order, descending = self.actor, self.filter, self.order, self.descending
        started = time.perf_counter()

        def read() -> tuple[int, list[tuple]]:
            return roster.count(actor, flt), self._fetch(flt, order, descending, 0)

        def show(result: tuple[int, list[tuple]]) -> None:
            self.beginResetModel()
            self.total, self.rows = result
            self.busy = False
            self.endResetModel()
            self.loaded.emit(time.perf_counter() - started)

        Op(self.widget, read, success=show, failure=self._failed, key=self._key, title="花名册",
           label="正在读取……").run()  # fmt: skip

    def _failed(self, message: str) -> None:
        self.busy = False
        self.failed.emit(message)

    def _fetch(self, flt: ResidentFilter, order: str, descending: bool, offset: int) -> list[tuple]:
        return roster.page(self.actor, flt, order=order, descending=descending, offset=offset, limit=PAGE)

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self.busy and not self._paging and len(self.rows) < self.total

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent):
            return
        self._paging = True
        generation, offset = self._generation, len(self.rows)
        flt, order, descending = self.filter, self.order, self.descending

        def append(more: list[tuple]) -> None:
            if generation != self._generation:  # the query changed meanwhile: its own reload shows it
                return
            self._paging = False
            if not more:
                self.total = len(self.rows)
                return
            self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(more) - 1)
            self.rows.extend(more)
            self.endInsertRows()

        def page_failed(message: str) -> None:
            if generation == self._generation:
                self._paging = False
                self.failed.emit(message)

        # No progress dialog: scrolling goes on while the next page comes
        Op(self.widget, lambda: self._fetch(flt, order, descending, offset), success=append, failure=page_failed,
           key=f"{self._key}-page", dialog=False).run()  # fmt: skip

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.order = COLUMNS[column][1] if 0 <= column < len(COLUMNS) else "id"  # -1: no sort column
        self.descending = order == Qt.SortOrder.DescendingOrder
        if self._queried:
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
