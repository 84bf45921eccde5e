"""系统管理 tab (administrators): users, policy years, regions, the audit log, the database, settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core import admin, audit_view, auth, policy, regions, roster
from core.auth import Actor
from core.constants import ROLES
from core.errors import UserError, os_error_message
from core.money import yuan_text
from gui import file_dialogs, local_settings, operations
from gui.operations import AUDIT, HANDOFF, IMPORTS, POLICY, REFUNDS, REGIONS, RESIDENTS, SETTINGS, USERS, Op
from gui.tables import ListTable, button_row


def _date_edit(day: dt.date | None) -> QDateEdit:
    edit = QDateEdit(QDate(day) if day else QDate.currentDate())
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    return edit


class _Lists(NamedTuple):
    """What the tab's pages list, read together in one operation."""

    towns: list[Any]  # core's Township rows
    users: list[Any]
    policies: list[Any]
    village_counts: dict[int, int]
    masked: set[str]


def _read_lists(actor: Actor) -> _Lists:
    return _Lists(regions.townships(), admin.users(actor), policy.years(), regions.village_counts(),
                  roster.masked_roles())  # fmt: skip


class UserDialog(QDialog):
    """New user, or a user's role, township and name; ``towns`` are (id, name) as the tab last read them."""

    def __init__(self, parent: QWidget, towns: Sequence[tuple[int, str]], username: str = "", role: str = "",
                 township_id: int | None = None, display: str = "") -> None:  # fmt: skip
        super().__init__(parent)
        self.setWindowTitle("用户" if username else "新建用户")
        form = QFormLayout(self)
        self.username = QLineEdit(username)
        self.username.setEnabled(not username)
        self.display = QLineEdit(display)
        self.role = QComboBox()
        self.role.addItems(list(ROLES))
        if role:
            self.role.setCurrentText(role)
        self.town = QComboBox()
        self.town.addItem("（全县）", None)
        for town_id, name in towns:
            self.town.addItem(name, town_id)
        self.town.setCurrentIndex(max(0, self.town.findData(township_id)))
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("用户名：", self.username)
        form.addRow("姓名：", self.display)
        form.addRow("角色：", self.role)
        form.addRow("所属乡镇（乡镇经办必填）：", self.town)
        if not username:
            form.addRow(f"初始密码（至少 {auth.MIN_PASSWORD_LEN} 位）：", self.password)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


class AdminTab(QWidget):
    title = "系统管理"
    permission = "system.manage"

    def __init__(self, actor: Actor, db_label: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.lists = _Lists([], [], [], {}, set())  # filled by refresh, off the GUI thread
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.inner = QTabWidget()
        self.inner.addTab(self._users_page(), "用户")
        self.inner.addTab(self._policy_page(), "缴费政策")
        self.inner.addTab(self._region_page(), "区划")
        self.inner.addTab(self._audit_page(), "审计日志")
        self.inner.addTab(self._database_page(), "数据库")
        self.inner.addTab(self._settings_page(), "设置")
        # The pages built on the lists stay disabled until the first read arrives: saving settings from an
        # empty page would clear what is saved.
        self.list_pages = [self.inner.widget(n) for n in (0, 1, 2, 5)]
        for page in self.list_pages:
            page.setEnabled(False)
        layout.addWidget(self.inner)
        self.refresh()

    # -- helpers ------------------------------------------------------------------------------------------
    def _do(
        self, action: Callable[[], object], done: str = "", then: Callable[[], None] | None = None
    ) -> None:
        """An administrator's action as an operation (backup, restore, exports off the GUI thread); ``then``
        runs after it succeeded."""

        def succeeded(_result: object) -> None:
            if then is not None:
                then()
            if done:
                QMessageBox.information(self, "系统管理", done)

        Op(
            self,
            action,
            success=succeeded,
            title="系统管理",
            changes={USERS, POLICY, REGIONS, SETTINGS, AUDIT},
        ).run()

    @staticmethod
    def _buttons(layout: QVBoxLayout, actions: list[tuple[str, Callable[[], None]]]) -> None:
        layout.addLayout(button_row(actions)[0])

    # -- users --------------------------------------------------------------------------------------------
    def _users_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.users_table = ListTable()
        layout.addWidget(self.users_table, 1)
        self._buttons(layout, [("新建用户…", self.new_user), ("修改角色/乡镇…", self.edit_user),
                               ("停用/启用", self.toggle_user), ("重置密码…", self.reset_password)])  # fmt: skip
        return page

    def _selected_user(self) -> str | None:
        rows = sorted({i.row() for i in self.users_table.selectedIndexes()})
        if len(rows) != 1:
            QMessageBox.information(self, "用户", "请选择一个用户。")
            return None
        return self.users_table.text(rows[0], 0)

    def _towns(self) -> list[tuple[int, str]]:
        return [(t.id, t.name) for t in self.lists.towns]

    def _user(self, name: str) -> Any:
        """The user as the list shows it (read by the last refresh, which follows every change)."""
        return next(u for u in self.lists.users if u.username == name)

    def new_user(self) -> None:
        dialog = UserDialog(self, self._towns())
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self._do(lambda: auth.create_user(self.actor, dialog.username.text(), dialog.password.text(),
                                              dialog.role.currentText(), dialog.town.currentData(), dialog.display.text()),
                     "已创建用户。")  # fmt: skip

    def edit_user(self) -> None:
        name = self._selected_user()
        if name is None:
            return
        user = self._user(name)
        dialog = UserDialog(
            self, self._towns(), user.username, user.role, user.township_id, user.display_name
        )
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self._do(lambda: admin.update_user(self.actor, name, role=dialog.role.currentText(),
                                               township_id=dialog.town.currentData(), display_name=dialog.display.text()))  # fmt: skip

    def toggle_user(self) -> None:
        name = self._selected_user()
        if name is not None:
            user = self._user(name)
            self._do(lambda: admin.update_user(self.actor, name, active=not user.active))

    def reset_password(self) -> None:
        name = self._selected_user()
        if name is None:
            return
        password, ok = QInputDialog.getText(
            self, "重置密码", f"{name} 的新密码：", QLineEdit.EchoMode.Password
        )
        if ok:
            self._do(lambda: admin.reset_password(self.actor, name, password), "密码已重置，账号已解锁。")

    # -- policy -------------------------------------------------------------------------------------------
    def _policy_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.policy_table = ListTable()
        self.policy_table.selectionModel().selectionChanged.connect(lambda *_: self._load_policy())
        layout.addWidget(self.policy_table, 1)
        form = QFormLayout()
        self.p_year = QSpinBox()
        self.p_year.setRange(1990, 2100)
        self.p_year.setValue(dt.date.today().year)
        self.p_tiers = QLineEdit()
        self.p_tiers.setPlaceholderText("从低到高，逗号分隔，如 100,300,500,…,5000")
        self.p_min = QLineEdit("100")
        self.p_reselect = _date_edit(None)
        self.p_start = _date_edit(None)
        self.p_end = _date_edit(None)
        self.p_arrears = QCheckBox("允许以后补缴该年度")
        self.p_arrears.setChecked(True)
        self.p_subsidy = QCheckBox("补缴享受政府补贴")
        self.p_reason = QLineEdit()
        self.p_reason.setPlaceholderText("该年度已有缴费记录时必须填写")
        for label, widget in (("年度：", self.p_year), ("缴费档次（元）：", self.p_tiers), ("困难群体最低标准（元）：", self.p_min),
                              ("重新选档日期：", self.p_reselect), ("征缴期开始：", self.p_start), ("征缴期结束：", self.p_end),
                              ("", self.p_arrears), ("", self.p_subsidy), ("修改原因：", self.p_reason)):  # fmt: skip
            form.addRow(label, widget)
        layout.addLayout(form)
        self._buttons(layout, [("保存", self.save_policy)])
        return page

    def _load_policy(self) -> None:
        rows = sorted({i.row() for i in self.policy_table.selectedIndexes()})
        if len(rows) != 1:
            return
        year = int(self.policy_table.text(rows[0], 0))
        p = next((p for p in self.lists.policies if p.year == year), None)
        if p is None:
            return
        self.p_year.setValue(p.year)
        self.p_tiers.setText(",".join(yuan_text(t) for t in p.tiers))
        self.p_min.setText(yuan_text(p.hardship_min_fen))
        for edit, day in (
            (self.p_reselect, p.reselect_date),
            (self.p_start, p.window_start),
            (self.p_end, p.window_end),
        ):
            edit.setDate(QDate(day) if day else QDate(p.year, 1, 1))
        self.p_arrears.setChecked(p.arrears_allowed)
        self.p_subsidy.setChecked(p.arrears_subsidy)

    def save_policy(self) -> None:
        data = admin.PolicyInput(
            self.p_year.value(), [t for t in self.p_tiers.text().replace("，", ",").split(",") if t.strip()],
            self.p_min.text(), self.p_reselect.date().toPython(), self.p_start.date().toPython(),
            self.p_end.date().toPython(), self.p_arrears.isChecked(), self.p_subsidy.isChecked(),
        )  # fmt: skip
        self._do(
            lambda: admin.save_policy(self.actor, data, self.p_reason.text()), f"{data.year} 年度政策已保存。"
        )

    # -- regions ------------------------------------------------------------------------------------------
    def _region_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(
            QLabel(
                "乡镇（街道）及其村居。可从文件导入（列：乡镇代码、乡镇、村居代码、村居），另一个县也可据此设置。"
            )
        )
        self.region_table = ListTable()
        layout.addWidget(self.region_table, 1)
        self._buttons(layout, [("从文件导入…", self.import_regions)])
        return page

    def import_regions(self) -> None:
        name = file_dialogs.open_file(self, "选择区划文件", file_dialogs.IMPORT, [file_dialogs.TABLE_FILTER])
        if name:
            self._do(lambda: admin.import_regions(self.actor, name), "区划已导入。")

    # -- audit --------------------------------------------------------------------------------------------
    def _audit_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        row = QHBoxLayout()
        self.a_user = QLineEdit()
        self.a_user.setPlaceholderText("用户名")
        self.a_entity = QComboBox()
        self.a_entity.addItem("（全部对象）", "")
        for code, name in audit_view.ENTITIES.items():
            self.a_entity.addItem(name, code)
        self.a_start = _date_edit(dt.date.today() - dt.timedelta(days=30))
        self.a_end = _date_edit(dt.date.today())
        search = QPushButton("查询")
        search.clicked.connect(self.refresh_audit)
        export = QPushButton("导出…")
        export.clicked.connect(self.export_audit)
        for widget in (
            self.a_user,
            self.a_entity,
            QLabel("从"),
            self.a_start,
            QLabel("到"),
            self.a_end,
            search,
            export,
        ):
            row.addWidget(widget)
        layout.addLayout(row)
        self.audit_table = ListTable()
        layout.addWidget(self.audit_table, 1)
        self.audit_count = QLabel()
        layout.addWidget(self.audit_count)
        return page

    def _audit_filters(self) -> dict:
        return {"username": self.a_user.text().strip(), "entity": self.a_entity.currentData() or "",
                "start": self.a_start.date().toPython(), "end": self.a_end.date().toPython()}  # fmt: skip

    def refresh_audit(self) -> None:
        filters = self._audit_filters()
        Op(self, lambda: audit_view.entries(self.actor, **filters), success=self._show_audit, key="audit",
           label="正在读取……").run()  # fmt: skip

    def _show_audit(self, entries: list[audit_view.AuditLine]) -> None:
        self.audit_lines = entries
        self.audit_table.set_rows(["时间", "用户", "操作", "对象", "内容"],
                                  [[f"{e.at:%Y-%m-%d %H:%M:%S}", e.user, e.action, e.target, e.details.replace("\n", "；")]
                                   for e in entries])  # fmt: skip
        self.audit_table.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        shown = len(entries)
        self.audit_count.setText(
            f"显示最近 {shown:,} 条（更早的请缩小条件或导出，导出包含全部符合条件的记录）"
            if shown >= admin.AUDIT_SHOWN
            else f"共 {shown:,} 条"
        )

    def export_audit(self) -> None:
        name = file_dialogs.save_file(
            self,
            "导出审计日志",
            file_dialogs.EXPORT,
            "审计日志.xlsx",
            [file_dialogs.EXCEL_FILTER, file_dialogs.CSV_FILTER],
        )
        if name:
            self._do(lambda: audit_view.export(self.actor, name, **self._audit_filters()), f"已导出：{name}")

    # -- database -----------------------------------------------------------------------------------------
    def _database_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        info = admin.database_info()
        self.db_info = QLabel()
        self.db_info.setWordWrap(True)
        if info.backend == "sqlite":
            warning = admin.network_share_warning(Path(info.label))
            text = f"当前数据库：SQLite 文件 {info.label}"
            if warning:
                text += f"<br><b style='color:#b00'>{warning}</b>"
            self.db_info.setText(text)
            layout.addWidget(self.db_info)
            self._buttons(layout, [("备份…", self.backup), ("从备份恢复…", self.restore)])
        else:
            self.db_info.setText(f"当前数据库：PostgreSQL {info.label}<br>请在数据库服务器上用 pg_dump 备份、pg_restore 恢复，"
                                 "例如：pg_dump -Fc -h 主机 -U 用户 库名 &gt; 备份.dump")  # fmt: skip
            layout.addWidget(self.db_info)
        layout.addStretch(1)
        return page

    def backup(self) -> None:
        name = file_dialogs.save_file(
            self,
            "备份数据库",
            file_dialogs.BACKUP,
            f"pension-{dt.date.today():%Y%m%d}.db",
            [file_dialogs.DB_FILTER],
        )
        if not name:
            return

        def attempt() -> object:
            try:
                return admin.backup(self.actor, name)
            except admin.OverwriteRefused as exc:  # asked about on the GUI thread, then written with force
                return exc

        def done(result: object) -> None:
            if isinstance(result, admin.OverwriteRefused):
                sure = QMessageBox.question(self, "备份数据库", f"{result}\n\n仍要覆盖这个文件吗？")
                if sure == QMessageBox.StandardButton.Yes:
                    self._do(lambda: admin.backup(self.actor, name, force=True), f"已备份到：{name}")
                return
            self.refresh()
            QMessageBox.information(self, "系统管理", f"已备份到：{name}")

        Op(self, attempt, success=done, title="系统管理", label="正在备份……").run()

    def restore(self) -> None:
        name = file_dialogs.open_file(
            self, "选择备份文件", file_dialogs.BACKUP, [file_dialogs.DB_FILTER, file_dialogs.ALL_FILTER]
        )
        if not name:
            return
        sure = QMessageBox.question(
            self, "从备份恢复", f"确定用备份\n{name}\n替换当前数据库吗？当前数据库会先自动另存一份。"
        )
        if sure != QMessageBox.StandardButton.Yes:
            return
        # On the GUI thread, not as an operation: restore closes this thread's connection and checks that no
        # other is open (a worker's would keep the database in use).
        try:
            admin.restore(self.actor, name, confirm=True)
        except (UserError, OSError) as exc:
            QMessageBox.warning(
                self, "系统管理", os_error_message(exc) if isinstance(exc, OSError) else str(exc)
            )
            return
        QMessageBox.information(self, "系统管理", "已恢复。请重新登录以刷新所有数据。")

    # -- settings -----------------------------------------------------------------------------------------
    def _settings_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel("身份证号码显示为 371325********123X 的角色："))
        where = QLabel(
            "遮盖适用于这些角色看到身份证号码的地方：花名册查询和导出、退费案件列表和详情、退费候选、补缴申报、"
            "补缴清单和补缴核定单、特殊群体待处理名单和代缴名单（屏幕）、导入变更清单及其导出、税务反馈拒绝清单、"
            "审计日志及其导出。退费申请表、退费审批表和退费资金申请表须凭完整号码向银行退款，政府代缴花名册和"
            "税务传递文件须凭完整号码在税务端入账，参保登记表由本人签字存档：这些依法始终使用完整号码。"
        )
        where.setWordWrap(True)
        layout.addWidget(where)
        self.mask_boxes = {role: QCheckBox(role) for role in ROLES}
        row = QHBoxLayout()
        for box in self.mask_boxes.values():
            row.addWidget(box)
        row.addStretch(1)
        layout.addLayout(row)
        form = QFormLayout()
        self.default_town = QComboBox()  # the townships come with refresh
        self.default_town.addItem("（无）", None)
        self.pdf_folder = QLineEdit()
        folder = local_settings.settings().value(local_settings.PDF_FOLDER)
        self.pdf_folder.setText(str(folder or ""))
        self.pdf_folder.setPlaceholderText("打印预览中“另存为 PDF”和各文件对话框默认打开的文件夹")
        form.addRow("本机默认乡镇：", self.default_town)
        browse = QPushButton("浏览…")
        browse.clicked.connect(self._choose_pdf_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.pdf_folder, 1)
        folder_row.addWidget(browse)
        form.addRow("本机打印/PDF 文件夹：", folder_row)
        layout.addLayout(form)
        self._buttons(layout, [("保存设置", self.save_settings)])
        layout.addStretch(1)
        return page

    def _choose_pdf_folder(self) -> None:
        current = Path(self.pdf_folder.text().strip()) if self.pdf_folder.text().strip() else None
        chosen = file_dialogs.folder(self, "选择打印/PDF 文件夹", file_dialogs.PDF, current)
        if chosen is not None:
            self.pdf_folder.setText(str(chosen))

    def save_settings(self) -> None:
        masked = {role for role, box in self.mask_boxes.items() if box.isChecked()}
        town, folder = self.default_town.currentData(), self.pdf_folder.text().strip()

        def save_local() -> None:
            local = local_settings.settings()
            local.setValue(local_settings.DEFAULT_TOWNSHIP, town)
            local.setValue(local_settings.PDF_FOLDER, folder)

        self._do(lambda: roster.set_masked_roles(self.actor, masked), "设置已保存。", then=save_local)

    # -- refresh ------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        Op(self, lambda: _read_lists(self.actor), success=self._show_lists, key="refresh", title="系统管理",
           label="正在读取……").run()  # fmt: skip
        self.refresh_audit()

    def _show_lists(self, lists: _Lists) -> None:
        self.lists = lists
        towns = {t.id: t.name for t in lists.towns}
        self.users_table.set_rows(["用户名", "姓名", "角色", "乡镇", "状态", "锁定至"],
                                  [[u.username, u.display_name, u.role, towns.get(u.township_id, "全县"), "启用" if u.active else "停用",
                                    f"{u.locked_until:%Y-%m-%d %H:%M}" if u.locked_until else ""] for u in lists.users])  # fmt: skip
        self.policy_table.set_rows(["年度", "缴费档次（元）", "最低标准", "重新选档", "征缴期", "可补缴", "补缴补贴", "说明"],
                                   [[p.year, ",".join(yuan_text(t) for t in p.tiers), yuan_text(p.hardship_min_fen), p.reselect_date or "",
                                     f"{p.window_start or ''}—{p.window_end or ''}", "是" if p.arrears_allowed else "否",
                                     "是" if p.arrears_subsidy else "否", p.note] for p in lists.policies])  # fmt: skip
        self.policy_table.horizontalHeader().setSectionResizeMode(7, QHeaderView.ResizeMode.Stretch)
        self.region_table.set_rows(["代码", "乡镇（街道）", "村居数"],
                                   [[t.code, t.name, lists.village_counts.get(t.id, 0)] for t in lists.towns])  # fmt: skip
        for role, box in self.mask_boxes.items():
            box.setChecked(role in lists.masked)
        # A choice not yet saved survives a refresh; the first fill shows this PC's saved township.
        chosen = (
            self.default_town.currentData()
            if self.default_town.count() > 1
            else local_settings.default_township()
        )
        self.default_town.clear()
        self.default_town.addItem("（无）", None)
        for t in lists.towns:
            self.default_town.addItem(t.name, t.id)
        self.default_town.setCurrentIndex(max(0, self.default_town.findData(chosen)))
        for page in self.list_pages:
            page.setEnabled(True)

    def on_changed(self, changes: frozenset[str]) -> None:
        if changes & {USERS, POLICY, REGIONS, SETTINGS, AUDIT, RESIDENTS, REFUNDS, HANDOFF, IMPORTS}:
            self.refresh()

    def shutdown(self) -> None:
        operations.shutdown(self)
