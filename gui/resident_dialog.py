"""A resident's details, contribution history, and the fields a clerk may edit (audited in core). Reading
and saving run as operations (gui.operations.call): the window stays responsive while the dialog waits."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from core import regions, residents, roster
from core.auth import Actor
from core.constants import RESIDENT_STATUSES
from core.errors import UserError
from core.money import fen_to_yuan, format_yuan
from gui import resident_actions
from gui.operations import call
from gui.tables import ListTable, fit_to_screen, permit


def _read(
    actor: Actor, resident_id: int
) -> tuple[roster.ResidentDetail, list[Any], list[residents.HistoryLine]]:
    """Everything the dialog shows, read in one worker: the detail, the township's villages, the history."""
    detail = roster.detail(actor, resident_id)
    r = detail.resident
    # The action forms name the resident's township and village: peewee keeps the rows read here on r
    r.township  # noqa: B018
    if r.village_id is not None:
        r.village  # noqa: B018
    return detail, regions.villages(r.township_id), residents.history(actor, resident_id)


class ResidentDialog(QDialog):
    """Raises UserError (in Chinese) when the resident cannot be read."""

    def __init__(self, actor: Actor, resident_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.resident_id = resident_id
        self.saved = False
        self.detail, villages, history_lines = call(
            parent if parent is not None else self, "正在读取……", _read, actor, resident_id
        )
        r = self.detail.resident
        self.setWindowTitle(f"居民信息 — {r.name}")
        fit_to_screen(self, 820, 600)
        layout = QVBoxLayout(self)

        top = QHBoxLayout()
        info = QGroupBox("基本信息")
        form = QFormLayout(info)
        for label, value in (
            ("身份证号码", self.detail.id_shown),
            ("姓名", r.name),
            ("性别", r.sex),
            ("出生日期", r.birth_date.isoformat()),
            ("乡镇（街道）", self.detail.township),
            ("参保登记日期", r.enrolled_on.isoformat() if r.enrolled_on else ""),
            ("最后修改", f"{r.updated_at:%Y-%m-%d %H:%M}（第 {r.version} 版）"),
        ):
            form.addRow(label + "：", QLabel(str(value)))
        top.addWidget(info, 1)

        can_edit = actor.can("roster.edit")
        edit = QGroupBox("可修改" if can_edit else "联系信息")
        edit_form = QFormLayout(edit)
        self.phone = QLineEdit(r.phone)
        self.phone.setMaxLength(30)
        self.village = QComboBox()
        self.village.addItem("（未指定）", None)
        for v in villages:
            self.village.addItem(v.name, v.id)
        self.village.setCurrentIndex(max(0, self.village.findData(r.village_id)))
        self.status = QComboBox()
        self.status.addItems(list(RESIDENT_STATUSES))
        self.status.setCurrentText(r.status)
        edit_form.addRow("联系电话：", self.phone)
        edit_form.addRow("村居：", self.village)
        edit_form.addRow("参保状态：", self.status)
        for widget in (self.phone, self.village):
            permit(widget, actor, "roster.edit")
        self.status.setEnabled(False)  # 暂停/终止/恢复 below, each with its reason (gui/resident_actions.py)
        top.addWidget(edit, 1)
        layout.addLayout(top)

        history = QGroupBox("缴费记录（按年度）")
        history_layout = QVBoxLayout(history)
        table = ListTable()
        table.empty_text = "没有缴费记录"
        # Amounts as Decimal: right-aligned with thousands separators; the 税票号码 a clerk reads out on the phone.
        table.set_rows(["年度", "金额（元）", "档次（元）", "缴费人", "类型", "渠道", "缴费日期", "税票号码"], [
            [c.year, fen_to_yuan(c.amount_fen), fen_to_yuan(c.tier_fen) if c.tier_fen is not None else "",
             c.payer, c.kind, c.channel, c.paid_on.isoformat() if c.paid_on else "", c.voucher]
            for c in self.detail.contributions
        ])  # fmt: skip
        table.horizontalHeader().setStretchLastSection(True)
        history_layout.addWidget(table)
        self.actions = resident_actions.ResidentActions(self, actor, r)
        layout.addLayout(self.actions.bar)
        layout.addWidget(self.actions.tabs(history, history_lines), 1)

        flags = QGroupBox("特殊群体标识、政府代缴与退费")
        flags_layout = QVBoxLayout(flags)
        if self.detail.subsidies:
            for p in self.detail.subsidies:
                flags_layout.addWidget(
                    QLabel(f"{p.year} 年：{p.groups}；政府代缴 {format_yuan(p.amount_fen)} 元（{p.state}）")
                )
        else:
            flags_layout.addWidget(QLabel("未被标识为特殊群体。"))
        for case in self.detail.refunds:
            flags_layout.addWidget(
                QLabel(
                    f"退费案件 {case.case_no}：{case.reason}，{format_yuan(case.amount_fen)} 元（{case.state}）"
                )
            )
        layout.addWidget(flags)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        )
        buttons.button(QDialogButtonBox.StandardButton.Save).setText("保存修改")
        buttons.button(QDialogButtonBox.StandardButton.Close).setText("关闭")
        buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(can_edit)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def save(self) -> None:
        r = self.detail.resident
        self.setEnabled(False)  # no second 保存 while the first is written
        try:
            call(
                self,
                "正在保存……",
                roster.update,
                self.actor,
                self.resident_id,
                version=r.version,
                phone=self.phone.text(),
                village_id=self.village.currentData(),
            )
        except UserError as exc:
            QMessageBox.warning(self, "无法保存", str(exc))
            return
        finally:
            self.setEnabled(True)
        self.saved = True
        self.accept()
