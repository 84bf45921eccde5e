"""特殊群体标识 tab: import departments' lists, resolve pending people, the 政府代缴 list, statistics."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core import policy, regions
from core import special_groups as sg
from core.auth import Actor
from core.constants import ENTRY_NAME_MISMATCH, ENTRY_NOT_IN_ROSTER, SPECIAL_GROUPS
from core.money import fen_to_yuan, format_yuan
from core.progress import Job
from core.rowcodes import ImportReport
from gui import file_dialogs, operations, printing
from gui.import_changes import ImportChangesDialog
from gui.import_panel import ImportPanel
from gui.operations import HANDOFF, IMPORTS, RESIDENTS, SPECIAL, Op
from gui.tables import ListTable, permit, township_combo

BY_FILE = "（按文件中的“人员类别”列）"


class SpecialImportPanel(ImportPanel):
    file_hint = "选择县残联、县民政局或县扶贫办提供的名单（.xlsx、.xls、.csv）"

    def __init__(self, actor: Actor, year: QSpinBox, parent: QWidget | None = None) -> None:
        self.year = year
        self.department = QComboBox()
        self.department.addItems(list(SPECIAL_GROUPS))
        self.group = QComboBox()
        self.department.currentTextChanged.connect(self._department_changed)
        self._department_changed(self.department.currentText())
        self.scope = QComboBox()
        self.scope.addItem("名单涉及的乡镇", sg.SCOPE_TOWNSHIPS)
        self.scope.addItem("全县", sg.SCOPE_COUNTY)
        self.scope.setToolTip(
            "名单只替换它涉及的乡镇（乡镇列，或花名册中这些人所在的乡镇）；选“全县”才替换全县的名单"
        )
        self.confirmed = False  # the next import may remove what the dialog named
        self._ask: sg.SpecialImportReport | None = None
        super().__init__(actor, sg.COLUMNS, parent)
        self.changes = frozenset({IMPORTS, SPECIAL, RESIDENTS})

    def _department_changed(self, department: str) -> None:
        self.group.clear()
        self.group.addItem(BY_FILE, None)
        for g in SPECIAL_GROUPS.get(department, ()):
            self.group.addItem(g, g)
        if len(SPECIAL_GROUPS.get(department, ())) == 1:
            self.group.setCurrentIndex(1)

    def extra_controls(self) -> list[tuple[str, QWidget]]:
        return [("部门：", self.department), ("人员类别：", self.group), ("替换范围：", self.scope)]

    def make_job(
        self, path: Path, sheet: str, overrides: dict[str, int], dry_run: bool
    ) -> Callable[[], Job[Any]]:
        year, department, group = self.year.value(), self.department.currentText(), self.group.currentData()
        scope, confirmed = self.scope.currentData(), self.confirmed and not dry_run
        self.confirmed = False
        return lambda: sg.import_special_list(path, self.actor, year=year, department=department, group=group,
                                              sheet=sheet, dry_run=dry_run, overrides=overrides, scope=scope,
                                              confirm_removals=confirmed)  # fmt: skip

    def show_changes(self, report: ImportReport) -> None:
        if not isinstance(report, sg.SpecialImportReport) or report.no_op:
            self.changes_box.setVisible(False)
            return
        done = "已移出" if report.import_id is not None else "将移出"
        rows = [[r.group, r.name, r.id_number, r.township or "（未知）", done] for r in report.removals]
        title = f"替换范围：{report.scope}；{done} {len(report.removals)} 人"
        if report.needs_confirmation and report.import_id is None:
            title += "（移出较多或名单没有可用数据行：导入时需要确认）"
        self.fill_changes(title, ("人员类别", "姓名", "身份证号码", "乡镇", "处理"), rows)
        if report.refused:
            self._ask = report

    def finished(self) -> None:
        self._ask_confirmation()

    def _ask_confirmation(self) -> None:
        """A list refused for want of confirmation: a dialog naming the count, then the import again."""
        report, self._ask = self._ask, None
        if report is None:
            return
        answer = QMessageBox.question(
            self,
            "确认移出",
            f"{report.confirmation_text()}。\n\n移出的人员不再享受政府代缴。确定导入并移出这 {len(report.removals)} 人吗？",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.confirmed = True
            self.run(dry_run=False)
        else:
            self.summary.setText(self.summary.text() + "<br><b>未确认：没有写入任何数据。</b>")

    def report_details(self, report: ImportReport) -> str:
        if not isinstance(report, sg.SpecialImportReport):
            return ""
        if report.no_op:
            return "<br><b>与当前名单是同一个文件：未作任何改动。</b>"
        parts = [f"替换范围：{report.scope}"]
        if report.refused:
            parts.append(f"<b style='color:#b00'>{report.confirmation_text()}：需要确认，尚未写入。</b>")
        for group, change in report.changes.items():
            removed = "、".join(name for _, name in change.removed[:10])
            more = f"等 {len(change.removed)} 人" if len(change.removed) > 10 else ""
            parts.append(f"{group}：新增 {len(change.added)} 人，移出 {len(change.removed)} 人"
                         + (f"（{removed}{more}）" if removed else "") + f"，未变 {change.unchanged} 人"
                         + (f"，范围外保留 {change.carried} 人" if change.carried else ""))  # fmt: skip
        if report.payments:
            p = report.payments
            parts.append(f"政府代缴名单：新增 {p['created']}，恢复 {p['restored']}，取消 {p['cancelled']}，"
                         f"待更正 {p['corrections']}")  # fmt: skip
        return "<br>" + "<br>".join(parts) if parts else ""


class SpecialTab(QWidget):
    title = "特殊群体标识"
    permission = "special.view"

    def __init__(self, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.year = QSpinBox()
        self.year.setRange(2000, 2100)
        years = [p.year for p in policy.years()]
        self.year.setValue(max(years) if years else 2020)
        self.year.valueChanged.connect(self.refresh)
        top.addWidget(QLabel("年度："))
        top.addWidget(self.year)
        top.addStretch(1)
        layout.addLayout(top)

        self.inner = QTabWidget()
        self.import_panel = SpecialImportPanel(actor, self.year)
        self.inner.addTab(self.import_panel, "导入名单")
        self.inner.addTab(self._pending_page(), "待处理人员")
        self.inner.addTab(self._subsidy_page(), "政府代缴名单")
        self.inner.addTab(self._stats_page(), "统计")
        self.inner.addTab(self._lists_page(), "名单记录")
        layout.addWidget(self.inner)
        permit(self.import_panel, actor, "special.import")
        if not actor.can(
            "special.import"
        ):  # a township clerk's work here is the pending people, not the import
            self.inner.setCurrentIndex(1)
        self.refresh()

    def shutdown(self) -> None:
        operations.shutdown(self)

    # -- pages --------------------------------------------------------------------------------------------
    def _pending_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(
            QLabel(
                "名单中的人员不在花名册中（可登记参保后标识），或身份证号码相同而姓名不一致（核对后再标识）。"
            )
        )
        self.pending_table = ListTable()
        self.pending_table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        layout.addWidget(self.pending_table, 1)
        buttons = QHBoxLayout()
        self.enrol_button = QPushButton("登记参保并标识…")
        self.enrol_button.clicked.connect(self.enrol_selected)
        self.accept_button = QPushButton("核对无误，标识")
        self.accept_button.clicked.connect(lambda: self.review_selected(True))
        self.reject_button = QPushButton("不是同一人，不标识")
        self.reject_button.clicked.connect(lambda: self.review_selected(False))
        for b in (self.enrol_button, self.accept_button, self.reject_button):
            permit(b, self.actor, "special.enrol")
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        return page

    def _subsidy_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        row = QHBoxLayout()
        self.subsidy_town = township_combo(self.actor)
        self.subsidy_town.currentIndexChanged.connect(self.refresh_subsidies)
        self.subsidy_total = QLabel("")
        export_xlsx = QPushButton("导出 Excel…")
        export_xlsx.clicked.connect(lambda: self.export_subsidies(".xlsx"))
        export_pdf = QPushButton("打印花名册（PDF）…")
        export_pdf.clicked.connect(lambda: self.export_subsidies(".pdf"))
        printing.print_shortcut(page, lambda: self.export_subsidies(".pdf"))
        row.addWidget(QLabel("乡镇："))
        row.addWidget(self.subsidy_town)
        row.addWidget(self.subsidy_total, 1)
        row.addWidget(export_xlsx)
        row.addWidget(export_pdf)
        layout.addLayout(row)
        self.subsidy_table = ListTable()
        layout.addWidget(self.subsidy_table, 1)
        return page

    def _lists_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.lists_table = ListTable()
        self.lists_table.doubleClicked.connect(lambda _index: self.open_list_changes())
        layout.addWidget(self.lists_table, 1)
        buttons = QHBoxLayout()
        self.changes_button = QPushButton("查看变更…")
        self.changes_button.clicked.connect(self.open_list_changes)
        self.undo_button = QPushButton("撤销此名单…")
        self.undo_button.setToolTip(
            "该类别的标识恢复为导入这份名单之前；名单的变更已进入税务传递批次的不能撤销"
        )
        self.undo_button.clicked.connect(self.undo_selected_list)
        permit(self.undo_button, self.actor, "special.import")
        buttons.addWidget(self.changes_button)
        buttons.addWidget(self.undo_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        return page

    def _selected_list(self) -> dict | None:
        rows = sorted({i.row() for i in self.lists_table.selectedIndexes()})
        if not rows:
            QMessageBox.information(self, "名单记录", "请先选择一份名单。")
            return None
        return self.lists[rows[0]]

    def open_list_changes(self) -> None:
        chosen = self._selected_list()
        if chosen is None:
            return
        if chosen["import_id"] is None:
            QMessageBox.information(self, "名单记录", "这份名单导入时还没有记录变更明细。")
            return
        ImportChangesDialog(self.actor, int(chosen["import_id"]), self).exec()

    def undo_selected_list(self) -> None:
        chosen = self._selected_list()
        if chosen is None:
            return
        answer = QMessageBox.question(
            self,
            "撤销名单",
            f"撤销名单 {chosen['list_id']}（{chosen['department']} {chosen['group']}，{chosen['file']}，"
            f"范围 {chosen['scope']}）？\n{chosen['group']}的标识将恢复为导入这份名单之前，政府代缴名单随之调整。",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return

        def undo() -> int:
            sg.undo_list(self.actor, int(chosen["list_id"]))
            return 1

        self._act(undo, "已撤销 {} 份名单，该类别的标识已恢复为导入前。")

    def _stats_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.stats_label = QLabel("")
        self.stats_label.setWordWrap(True)
        layout.addWidget(self.stats_label)
        self.stats_table = ListTable()
        layout.addWidget(self.stats_table, 1)
        return page

    # -- data ---------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read in an operation, fill the pages when it is back (the newest refresh wins)."""
        year, town = self.year.value(), self.subsidy_town.currentData()

        def load() -> tuple:
            return (sg.pending(self.actor, year), sg.subsidy_rows(self.actor, year, town),
                    sg.statistics(self.actor, year), sg.list_history(self.actor, year))  # fmt: skip

        Op(self, load, success=lambda data: self._show(year, *data), key="refresh", label="正在读取……").run()

    def on_changed(self, changes: frozenset[str]) -> None:
        if changes & {SPECIAL, RESIDENTS, IMPORTS, HANDOFF}:
            self.refresh()

    def _show(self, year: int, pending: list, subsidies: list, stats: sg.GroupStats, lists: list) -> None:
        self.pending = pending
        self.pending_table.set_rows(["状态", "部门", "人员类别", "姓名（名单）", "身份证号码", "花名册姓名", "乡镇（名单）", "村居（名单）"],
                                    [[p.status, p.department, p.group, p.name, p.id_number, p.roster_name, p.township_text, p.village_text]
                                     for p in self.pending])  # fmt: skip
        if self.pending:  # an empty list keeps ListTable's spread headers
            self.pending_table.horizontalHeader().setSectionResizeMode(
                QHeaderView.ResizeMode.ResizeToContents
            )
        self.inner.setTabText(1, f"待处理人员（{len(self.pending)}）")
        self._show_subsidies(subsidies)
        self._show_stats(year, stats)
        self.lists = lists
        self.lists_table.set_rows(["编号", "导入时间", "部门", "人员类别", "文件", "范围", "人数", "新增", "移出", "未变", "状态", "经办人"],
                                  [[x["list_id"], str(x["at"])[:16].replace("T", " "), x["department"], x["group"], x["file"],
                                    x["scope"], x["people"], x["added"], x["removed"], x["unchanged"],
                                    x["state"] + (f"（{x['undone_by_name']}）" if x["undone_by"] else ""), x["user_name"]]
                                   for x in self.lists])  # fmt: skip
        self.lists_table.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)

    def refresh_subsidies(self) -> None:
        year, town = self.year.value(), self.subsidy_town.currentData()
        Op(self, lambda: sg.subsidy_rows(self.actor, year, town), success=self._show_subsidies, key="subsidies",
           label="正在读取……").run()  # fmt: skip

    def _show_subsidies(self, rows: list) -> None:
        self.subsidy_table.set_rows(["乡镇（街道）", "村（居）", "身份证号码", "姓名", "性别", "人员类别", "代缴金额（元）", "状态"],
                                    [[r.township, r.village, r.id_number, r.name, r.sex, r.groups, fen_to_yuan(r.amount_fen), r.state]
                                     for r in rows])  # fmt: skip
        self.subsidy_table.horizontalHeader().setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        total = sum(r.amount_fen for r in rows)
        self.subsidy_total.setText(f"  共 {len(rows):,} 人，代缴金额合计 {format_yuan(total)} 元")

    def _show_stats(self, year: int, stats: sg.GroupStats) -> None:
        groups = [g for gs in SPECIAL_GROUPS.values() for g in gs]
        rows = [[town, *(counts.get(g, 0) for g in groups)] for town, counts in stats.by_township.items()]
        rows.append(["合计", *(stats.by_group.get(g, 0) for g in groups)])
        self.stats_table.set_rows(["乡镇（街道）", *groups], rows)
        overlaps = "；".join(f"{a} 且 {b}：{n} 人" for (a, b), n in sorted(stats.overlaps.items())) or "无"
        self.stats_label.setText(
            f"{year} 年标识人数 {stats.people:,}（其中属于两个及以上类别 {stats.multi:,} 人）；"
            f"政府代缴 {stats.payments:,} 人，金额 {format_yuan(stats.amount_fen)} 元；待处理 {stats.pending:,} 条。"
            f"<br>类别重叠：{overlaps}"
        )

    # -- actions ------------------------------------------------------------------------------------------
    def _selected(self, status: str) -> list[sg.PendingEntry]:
        rows = sorted({i.row() for i in self.pending_table.selectedIndexes()})
        return [self.pending[r] for r in rows if self.pending[r].status == status]

    def enrol_selected(self) -> None:
        chosen = self._selected(ENTRY_NOT_IN_ROSTER)
        if not chosen:
            QMessageBox.information(self, "登记参保", "请先选择“未参保待处理”的人员。")
            return
        township_id = None
        if any(regions.TownshipMatcher.load().match(p.township_text) is None for p in chosen):
            names = [t.name for t in regions.townships() if self.actor.township_id in (None, t.id)]
            name, ok = QInputDialog.getItem(
                self, "选择乡镇", "部分人员的乡镇未填或无法识别，登记到：", names, 0, False
            )
            if not ok:
                return
            township_id = regions.TownshipMatcher.load().match(name)
        self._act(
            lambda: sg.enrol(self.actor, [p.entry_id for p in chosen], township_id).flagged,
            "已标识 {} 人（不在花名册中的已登记参保）。",
        )

    def review_selected(self, accept: bool) -> None:
        chosen = self._selected(ENTRY_NAME_MISMATCH)
        if not chosen:
            QMessageBox.information(self, "核对姓名", "请先选择“姓名待核”的人员。")
            return

        def review() -> int:
            for p in chosen:
                sg.review_name(self.actor, p.entry_id, accept=accept)
            return len(chosen)

        self._act(review, "已核对 {} 人。")

    def _act(self, action: Callable[[], int], done: str) -> None:
        Op(self, action, success=lambda count: QMessageBox.information(self, "完成", done.format(count)),
           changes={SPECIAL, RESIDENTS}, label="正在处理……").run()  # fmt: skip

    def export_subsidies(self, suffix: str) -> None:
        year = self.year.value()
        town = self.subsidy_town.currentData()
        if suffix == ".pdf":
            printing.print_pdf(self, f"{year}年政府代缴名单", f"{year}年政府代缴名单.pdf",
                               lambda path: sg.export_subsidy_list(self.actor, year, path, town),
                               "正在生成政府代缴名单……")  # fmt: skip
            return
        name = file_dialogs.save_file(self, "导出政府代缴名单", file_dialogs.EXPORT, f"{year}年政府代缴名单{suffix}",
                                      [file_dialogs.EXCEL_FILTER])  # fmt: skip
        if not name:
            return
        Op(self, lambda: sg.export_subsidy_list(self.actor, year, name, town), label="正在生成政府代缴名单……",
           title="导出失败", block=True,
           success=lambda count: QMessageBox.information(self, "已导出", f"已导出 {count} 人到：\n{name}")).run()  # fmt: skip
