"""One import opened: who, when, the file's SHA-256, its counts and every change (old -> new), exportable.
They are read in an operation (gui.operations.call): the window stays responsive while the dialog waits."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core import imports
from core.auth import Actor
from core.errors import UserError
from gui import file_dialogs
from gui.operations import Op, call
from gui.tables import ListTable


def _read(actor: Actor, import_id: int) -> tuple[imports.ImportRow, list[imports.FieldChange]]:
    return imports.get(actor, import_id), imports.changes(actor, import_id)


class ImportChangesDialog(QDialog):
    def __init__(self, actor: Actor, import_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.import_id = import_id
        failure = ""
        try:
            log, self.changes = call(
                parent if parent is not None else self, "正在读取……", _read, actor, import_id
            )
        except UserError as exc:  # said in the dialog itself: the tabs that open it need not know
            log, self.changes, failure = None, [], str(exc)
        self.setWindowTitle(f"导入记录 {import_id}" + (f"：{log.file_name}" if log else ""))
        self.resize(900, 560)
        layout = QVBoxLayout(self)
        head = QLabel(
            f"<b>{log.kind_name}导入</b> {log.file_name}<br>"
            f"时间 {log.at:%Y-%m-%d %H:%M:%S}，经办人 {log.user_name}；数据行 {log.rows:,}，新增 {log.imported:,}，"
            f"更新 {log.updated:,}，未变 {log.unchanged:,}，拒绝 {log.rejected:,}；变更 {len(self.changes):,} 项"
            f"<br>文件 SHA-256：{log.sha256}"
            if log
            else f"<b style='color:#b00'>无法读取这条导入记录：</b>{failure}"
        )
        head.setWordWrap(True)
        layout.addWidget(head)
        self.table = ListTable()
        self.table.set_rows(
            list(imports.CHANGE_HEADERS),
            [[c.row or "", c.id_number, c.column, c.old, c.new] for c in self.changes],
        )
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        export = QPushButton("导出 Excel…")
        export.clicked.connect(self.export)
        export.setEnabled(log is not None)
        close = QPushButton("关闭")
        close.clicked.connect(self.accept)
        buttons.addStretch(1)
        buttons.addWidget(export)
        buttons.addWidget(close)
        layout.addLayout(buttons)

    def export(self) -> None:
        name = file_dialogs.save_file(self, "导出变更清单", file_dialogs.EXPORT, f"导入记录{self.import_id}_变更.xlsx",
                                      [file_dialogs.EXCEL_FILTER])  # fmt: skip
        if not name:
            return
        Op(self, lambda: imports.export_changes(self.actor, self.import_id, Path(name)), title="导出失败",
           label="正在导出……", success=lambda count: QMessageBox.information(
               self, "已导出", f"已导出 {count} 项变更到：\n{name}")).run()  # fmt: skip
