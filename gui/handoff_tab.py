"""税务传递 tab: monthly batches to the tax side, their files, feedback, corrections and locked months."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core import handoff, refunds
from core.auth import Actor
from core.errors import UserError
from core.money import fen_to_yuan, format_yuan
from core.progress import run
from gui import file_dialogs, operations
from gui.operations import HANDOFF, PAYMENTS, REFUNDS, SPECIAL, Op
from gui.tables import ListTable, button_row, permit


class HandoffTab(QWidget):
    title = "税务传递"
    permission = "handoff.view"

    def __init__(self, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.rows: list[handoff.BatchRow] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.month = QLineEdit(refunds.month_of(dt.date.today()))
        self.month.setMaximumWidth(90)
        self.month.returnPressed.connect(self.refresh)
        self.kind = QComboBox()
        for key, name in handoff.KINDS.items():
            self.kind.addItem(name, key)
        top.addWidget(QLabel("月份："))
        top.addWidget(self.month)
        top.addWidget(QLabel("类型："))
        top.addWidget(self.kind)
        self.pending = QLabel("")
        top.addWidget(self.pending, 1)
        layout.addLayout(top)

        actions: list[tuple[str, Callable[[], None]]] = [
            ("生成批次…", self.create),
            ("标记已报送", self.mark_sent),
            ("取消批次…", self.cancel),
            ("重新导出…", self.export),
            ("更正（冲正）…", self.correct),
            ("导入税务反馈…", self.feedback),
        ]
        row, self.buttons = button_row(actions)
        for text, button in self.buttons.items():
            if text != "重新导出…":  # a batch file can be exported again by anyone who sees it
                permit(button, actor, "handoff.manage")
        layout.addLayout(row)

        # The batches (13 columns) take the whole width; the month states and the rejected records sit below,
        # side by side: at 125 % a column beside the batches pushed them into sideways scrolling.
        splitter = QSplitter(Qt.Orientation.Vertical)
        self.batches = ListTable()
        splitter.addWidget(self.batches)
        below = QWidget()
        below_layout = QHBoxLayout(below)
        below_layout.setContentsMargins(0, 0, 0, 0)
        self.periods = ListTable()
        self.rejected = ListTable()
        for title, table, stretch in (("月份状态（已报送的月份已锁定）", self.periods, 1),
                                      ("税务端拒绝的记录（待处理）", self.rejected, 2)):  # fmt: skip
            column = QVBoxLayout()
            column.addWidget(QLabel(title))
            column.addWidget(table, 1)
            below_layout.addLayout(column, stretch)
        splitter.addWidget(below)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout.addWidget(splitter, 1)
        self.refresh()

    def refresh(self) -> None:
        month = self.month.text()

        def load() -> tuple:
            try:
                counts: dict[str, int] | str = handoff.pending_counts(self.actor, month)
            except UserError as exc:
                counts = str(exc)
            return (handoff.batches(self.actor), handoff.periods(self.actor), handoff.rejected_lines(self.actor),
                    counts)  # fmt: skip

        Op(self, load, success=lambda data: self._show(*data), key="refresh", label="正在读取……").run()

    def on_changed(self, changes: frozenset[str]) -> None:
        if changes & {HANDOFF, REFUNDS, SPECIAL, PAYMENTS}:
            self.refresh()

    def _show(self, rows: list[handoff.BatchRow], periods: list, rejected: list, counts: dict | str) -> None:
        self.rows = rows
        self.batches.set_rows(["批次号", "类型", "月份", "状态", "更正", "条数", "金额（元）", "接收", "拒绝", "生成人",
                                             "生成时间", "报送人", "说明"],
                              [[r.batch_no, r.kind, r.month, r.state, "是" if r.correction else "", r.records, fen_to_yuan(r.total_fen),
                                r.accepted, r.rejected, r.created_by, f"{r.created_at:%Y-%m-%d %H:%M}", r.sent_by, r.note]
                               for r in self.rows])  # fmt: skip
        self.batches.horizontalHeader().setSectionResizeMode(12, QHeaderView.ResizeMode.Stretch)  # 说明
        self.periods.set_rows(["月份", "类型", "状态"], [list(p) for p in periods])
        self.periods.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.rejected.set_rows(["批次", "序号", "人员", "原因"], [list(x) for x in rejected])
        self.rejected.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        if isinstance(counts, str):
            self.pending.setText(f"<span style='color:#b00'>{counts}</span>")
            return
        self.pending.setText(
            f"　待传递：退费 <b>{counts['refund']}</b> 条，政府代缴（含更正）<b>{counts['subsidy']}</b> 条"
        )

    def _selected(self) -> handoff.BatchRow | None:
        rows = sorted({i.row() for i in self.batches.selectedIndexes()})
        if len(rows) != 1:
            QMessageBox.information(self, "税务传递", "请先在表中选择一个批次。")
            return None
        return self.rows[rows[0]]

    def _do(self, action: Callable[[], str]) -> None:
        def tidy_then_act() -> str:  # as every handoff command: an interrupted batch's leftovers first
            return "\n".join([*handoff.tidy_folders(self.actor), action()])

        Op(self, tidy_then_act, success=lambda message: QMessageBox.information(self, "税务传递", message),
           label="正在处理税务传递……", title="税务传递", changes={HANDOFF}).run()  # fmt: skip

    def _folder(self) -> str | None:
        folder = file_dialogs.folder(
            self, "选择保存传递文件的文件夹", file_dialogs.HANDOFF, handoff.default_folder()
        )
        return str(folder) if folder else None

    def create(self) -> None:
        folder = self._folder()
        if folder:
            month, kind = self.month.text(), self.kind.currentData()  # read here: make() runs in a worker

            def make() -> str:
                batch = handoff.create_batch(self.actor, month, kind, folder)
                return f"已生成批次 {batch.batch_no}：{batch.records} 条，合计 {format_yuan(batch.total_fen)} 元。\n文件在：{folder}"

            self._do(make)

    def mark_sent(self) -> None:
        row = self._selected()
        if (
            row
            and QMessageBox.question(
                self, "标记已报送", f"确认批次 {row.batch_no} 已报送税务端？报送后不能取消或修改。"
            )
            == QMessageBox.StandardButton.Yes
        ):
            self._do(lambda: f"批次 {handoff.mark_sent(self.actor, row.id).batch_no} 已报送，已锁定。")

    def cancel(self) -> None:
        row = self._selected()
        if row is None:
            return
        reason, ok = QInputDialog.getText(self, "取消批次", "取消原因：")
        if ok:
            self._do(
                lambda: f"批次 {handoff.cancel(self.actor, row.id, reason).batch_no} 已取消，记录回到待传递。"
            )

    def export(self) -> None:
        row = self._selected()
        folder = self._folder() if row else None
        if row and folder:
            self._do(
                lambda: (
                    "已重新导出（与首次生成的文件逐字节相同）：\n"
                    + "\n".join(handoff.export(self.actor, row.id, folder))
                )
            )

    def correct(self) -> None:
        row = self._selected()
        if row is None:
            return
        lines, ok = QInputDialog.getText(self, "更正批次", f"要冲正的 {row.batch_no} 序号（逗号分隔）：")
        if not ok:
            return
        reason, ok = QInputDialog.getText(self, "更正批次", "更正原因：")
        folder = self._folder() if ok else None
        if folder:

            def make() -> str:
                numbers = [int(x) for x in lines.replace("，", ",").split(",") if x.strip().isdigit()]
                batch = handoff.correct(self.actor, row.id, numbers, reason, out_dir=folder)
                return f"已生成更正批次 {batch.batch_no}：{batch.records} 条。"

            self._do(make)

    def feedback(self) -> None:
        name = file_dialogs.open_file(
            self, "选择税务端反馈文件", file_dialogs.IMPORT, [file_dialogs.TABLE_FILTER]
        )
        if name:

            def load() -> str:
                report = run(handoff.import_feedback(name, self.actor))
                problems = "\n".join(f"第 {e.row} 行：{e.message}" for e in report.errors[:10])
                return f"登记反馈 {report.imported} 条，未变 {report.unchanged} 条，无法识别 {report.rejected} 条。\n{problems}"

            self._do(load)

    def shutdown(self) -> None:
        operations.shutdown(self)
