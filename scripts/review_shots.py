"""Screenshots of every screen, per role, on a fresh demo county, for a review of how the screens look.

Makes a demo SQLite database in a temporary folder (the same steps as ``start.sh --demo``), then for each
role's demo user opens the main window at the screen's size and saves every tab and inner tab, plus the key
dialogs: a refund case in full, a resident's detail, the counter registration, change password, the login,
a standard message box and input dialog (to see Qt's own buttons in Chinese). With ``--forms`` it also prints
every form the program makes to PDF (through the CLI, and the statistics report through its tab) and renders
each page to PNG with ``pdftoppm -png -r 70``.

Run it under a real X server at the office's smallest screen, at 100 % and at 125 %:

    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python scripts/review_shots.py --out shots-100 --forms forms
    QT_SCALE_FACTOR=1.25 xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python scripts/review_shots.py --out shots-125
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# This run's settings, data and logs go to throw-away folders (set before Qt or core read them).
_SCRATCH = Path(tempfile.mkdtemp(prefix="pension-review-"))
_FOLDERS = ("XDG_CONFIG_HOME", "PENSION_SETTINGS_DIR", "XDG_DATA_HOME", "XDG_STATE_HOME", "PENSION_LOG_DIR")
for _name in _FOLDERS:
    os.environ[_name] = str(_SCRATCH / _name.lower())
os.environ.setdefault("QT_QPA_PLATFORM", "xcb")

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QDialog, QInputDialog, QMessageBox, QTabWidget, QWidget  # noqa: E402

from core.database import DbInfo  # noqa: E402
from core.demo import DEMO_PASSWORD  # noqa: E402

if TYPE_CHECKING:
    from gui.main_window import MainWindow

USERS = ("admin", "jingban01", "shenhe", "caiwu")  # 管理员, 乡镇经办, 县局审核, 财务


# -- the demo database --------------------------------------------------------------------------------------
def cli(url: str, *args: str, user: str | None = None, stdin: str | None = None) -> str:
    """Run ``main.py`` with the demo password; its standard output."""
    command = [sys.executable, str(ROOT / "main.py"), "--db", url]
    command += ["--user", user] if user else []
    env = {**os.environ, "PENSION_PASSWORD": DEMO_PASSWORD, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([*command, *args], input=stdin, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"main.py {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def make_demo(folder: Path, residents: int) -> str:
    url = f"sqlite:///{folder / 'demo.db'}"
    cli(url, "init-db")
    cli(url, "create-user", "admin", "--role", "管理员", "--name", "系统管理员", "--password-stdin",
        stdin=DEMO_PASSWORD)  # fmt: skip
    cli(url, "demo-data", "--residents", str(residents), user="admin")
    return url


# -- waiting and grabbing ------------------------------------------------------------------------------------
def settle(ms: int = 150) -> None:
    """Let Qt paint (and deliver timers) for a moment, then wait for every background operation."""
    from gui.operations import wait_all

    wait_all()
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()
    wait_all()
    QApplication.processEvents()


def safe(text: str) -> str:
    return re.sub(r"[\s/\\:*?\"<>|（）()…]+", "", text)[:24] or "x"


class Shots:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.out.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def save(self, widget: QWidget, *parts: str) -> None:
        settle()
        self.count += 1
        name = "_".join(safe(p) for p in parts)
        widget.grab().save(str(self.out / f"{name}.png"))

    def dialog(self, dialog: QDialog, *parts: str) -> None:
        """Show a dialog without its own event loop, save it, close it."""
        dialog.show()
        dialog.raise_()
        self.save(dialog, *parts)
        dialog.close()
        dialog.deleteLater()


def fit_to_screen(window: QWidget) -> None:
    """The window as on the office PC: maximised within the screen's work area (xvfb has no window manager
    to maximise it)."""
    area = window.screen().availableGeometry()
    window.setGeometry(area)


# -- per role -----------------------------------------------------------------------------------------------
def shoot_role(shots: Shots, info: DbInfo, username: str) -> None:
    from core import auth
    from gui.main_window import MainWindow

    window = MainWindow(auth.authenticate(username, DEMO_PASSWORD), info)
    window.show()
    fit_to_screen(window)
    shots.save(window, username, "00", "landing")
    shoot_tabs(shots, window, username)
    shoot_lookups(shots, window, username)
    shoot_import(shots, window, username)
    shoot_dialogs(shots, window, username)
    window.close()
    settle()
    window.deleteLater()


def shoot_tabs(shots: Shots, window: MainWindow, username: str) -> None:
    """Every tab the role has, and every page of the tabs inside it."""
    for t in range(window.tabs.count()):
        window.tabs.setCurrentIndex(t)
        title = window.tabs.tabText(t)
        shots.save(window, username, f"{t + 1:02d}", title)
        tab = window.current_tab()
        for inner in tab.findChildren(QTabWidget) if tab is not None else []:
            for i in range(inner.count()):
                inner.setCurrentIndex(i)
                shots.save(window, username, f"{t + 1:02d}", title, f"{i + 1}", inner.tabText(i))
            inner.setCurrentIndex(0)


def shoot_import(shots: Shots, window: MainWindow, username: str) -> None:
    """A village roster opened and previewed (只校验，不写入): the mapping, the counts and the rejected rows."""
    if not window.actor.can("roster.import"):
        return
    panel = window.roster_tab.import_panel
    window.show_tab(window.roster_tab)
    window.roster_tab.inner.setCurrentWidget(panel)
    panel.open_file(sample_roster(_SCRATCH / f"{username}-花名册.csv", window.actor.township_id))
    shots.save(window, username, "import", "花名册_列对应")
    panel.run(dry_run=True)
    shots.save(window, username, "import", "花名册_预览")


def shoot_dialogs(shots: Shots, window: MainWindow, username: str) -> None:
    """A resident's detail, the counter registration, a refund case in full, change password."""
    from gui import refund_tab as refund_module
    from gui.login import ChangePasswordDialog
    from gui.resident_dialog import ResidentDialog
    from gui.resident_register_dialog import RegisterDialog

    actor, browser = window.actor, window.roster_tab.browser
    window.show_tab(window.roster_tab)
    window.roster_tab.inner.setCurrentWidget(browser)
    settle()
    if browser.model.rows:
        shots.dialog(ResidentDialog(actor, browser.model.resident_id(0), window), username, "dlg", "居民详情")
    if actor.can("roster.edit"):
        shots.dialog(RegisterDialog(actor, window), username, "dlg", "新参保登记")
    if window.refund_tab is not None:
        cases = window.refund_tab.cases
        window.show_tab(window.refund_tab)
        window.refund_tab.inner.setCurrentWidget(cases)
        settle()
        if cases.table.rowCount():

            def grab_case(dialog: QDialog) -> bool:  # 查看 opens the case through run_dialog
                shots.dialog(dialog, username, "dlg", "退费案件详情")
                return False

            cases.table.selectRow(0)
            original, refund_module.run_dialog = refund_module.run_dialog, grab_case
            try:
                cases.open_case()
                settle()
            finally:
                refund_module.run_dialog = original
    shots.dialog(ChangePasswordDialog(actor, window), username, "dlg", "修改密码")


def sample_people(township_id: int | None) -> tuple[str | None, str | None]:
    """In the user's scope: someone who missed 2019 (for 补缴申报) and someone who paid 2020 (for 受理登记)."""
    from dao.models import Contribution, Resident

    people = Resident.select().order_by(Resident.id)
    if township_id is not None:
        people = people.where(Resident.township == township_id)
    paid_2019 = Contribution.select(Contribution.resident).where(Contribution.year == 2019)
    paid_2020 = Contribution.select(Contribution.resident).where(
        (Contribution.year == 2020) & (Contribution.payer == "个人")
    )
    unpaid = people.where(Resident.id.not_in(paid_2019)).first()
    paid = people.where(Resident.id.in_(paid_2020)).first()
    return (unpaid.id_number if unpaid else None), (paid.id_number if paid else None)


def sample_roster(path: Path, township_id: int | None) -> Path:
    """A village's roster as it comes in: new people, a changed phone, and the usual mistakes."""
    from core import idcard, regions
    from dao.models import Resident, Village

    village = (
        Village.select()
        .where((Village.township == township_id) if township_id is not None else Village.id.is_null(False))
        .first()
    )
    town = regions.township_name(village.township_id)
    known = Resident.select().where(Resident.village == village.id).first()
    county = regions.county_code()
    rows = [["姓名", "身份证号码", "性别", "出生日期", "乡镇", "村居", "联系电话"]]
    for n in range(1, 6):
        born = dt.date(1970 + n, n, 10 + n)
        number = idcard.make(county, born, 700 + n)
        rows.append([f"新居民{n}", number, "男" if int(number[16]) % 2 else "女", born.isoformat(), town,
                     village.name, f"1390539{n:04d}"])  # fmt: skip
    if known is not None:
        rows.append([known.name, known.id_number, known.sex, known.birth_date.isoformat(), town, village.name,
                     "13800000000"])  # fmt: skip
    rows.append(["错号码", county + "19800101123", "男", "1980-01-01", town, village.name, "13900000001"])
    rows.append(["错校验", idcard.make(county, dt.date(1981, 2, 3), 11)[:17] + "0", "男", "1981-02-03", town,
                 village.name, "13900000002"])  # fmt: skip
    rows.append(
        ["外乡镇", idcard.make(county, dt.date(1982, 3, 4), 12), "女", "1982-03-04", "不存在镇", "", ""]
    )
    rows.append(["缺电话", idcard.make(county, dt.date(1983, 4, 5), 13), "", "", town, village.name, "12345"])
    with path.open("w", newline="", encoding="utf-8-sig") as out:
        csv.writer(out).writerows(rows)
    return path


def shoot_lookups(shots: Shots, window: MainWindow, username: str) -> None:
    """补缴申报 and 受理登记 with a resident looked up: the pages as a clerk works in them."""
    unpaid, paid = sample_people(window.actor.township_id)
    arrears_tab, refund_tab = window.arrears_tab, window.refund_tab
    if arrears_tab is not None and unpaid:
        window.show_tab(arrears_tab)
        arrears_tab.inner.setCurrentWidget(arrears_tab.declare_page)
        arrears_tab.declare_page.id_edit.setText(unpaid)
        arrears_tab.declare_page.find()
        shots.save(window, username, "lookup", "补缴申报_已查询")
    if refund_tab is not None and paid:
        window.show_tab(refund_tab)
        refund_tab.inner.setCurrentWidget(refund_tab.entry)
        refund_tab.entry.id_edit.setText(paid)
        refund_tab.entry.find()
        shots.save(window, username, "lookup", "受理登记_已查询")


def shoot_common(shots: Shots, label: str) -> None:
    """The login and Qt's standard dialogs (their buttons come from Qt's own translations)."""
    from gui.login import LoginDialog

    login = LoginDialog(label)
    shots.dialog(login, "common", "登录")
    login = LoginDialog(label)
    login.username.setText("jingban01")
    login.password.setText("wrong")
    login.try_login()
    shots.dialog(login, "common", "登录_密码错误")
    box = QMessageBox(QMessageBox.Icon.Question, "注销", "注销用户“系统管理员”并重新登录？",
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)  # fmt: skip
    shots.dialog(box, "common", "消息框_是否")
    box = QMessageBox(QMessageBox.Icon.Warning, "无法打印", "示例提示。",
                      QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel)  # fmt: skip
    shots.dialog(box, "common", "消息框_确定取消")
    ask = QInputDialog()
    ask.setWindowTitle("退回")
    ask.setLabelText("退回原因：")
    shots.dialog(ask, "common", "输入框")


# -- printed forms ------------------------------------------------------------------------------------------
def make_forms(url: str, out: Path, stats_pdf: Callable[[Path], None]) -> list[Path]:
    """Every printed form, as PDF, from the CLI on the demo database."""
    from core import idcard, regions
    from dao.models import ArrearsAssessment, Township

    out.mkdir(parents=True, exist_ok=True)
    cases = json.loads(cli(url, "refunds", "list", "--json", user="admin"))
    numbers = [c["case_no"] for c in cases]
    cli(url, "refunds", "print-application", numbers[0], str(out / "退费申请表_缴费证明.pdf"), user="admin")
    cli(url, "refunds", "print", *numbers[:2], str(out / "退费审批表.pdf"), user="admin")
    months = sorted({c.get("fund_month") for c in cases} - {None, ""})
    for month in months[:1]:
        cli(url, "refunds", "fund-request", "--month", month, str(out / "退费资金申请表.pdf"), user="caiwu")
    assessed = [a.id for a in ArrearsAssessment.select().order_by(ArrearsAssessment.id)]
    for n in assessed:
        try:
            cli(url, "print-arrears", str(n), "--out", str(out / "补缴核定单.pdf"), user="admin")
            break
        except RuntimeError:
            continue  # only 已核定 ones print
    town = Township.select().order_by(Township.sort_order).first()
    cli(url, "export-subsidy-list", "--year", "2020", str(out / "政府代缴花名册.pdf"), user="admin")
    number = idcard.make(regions.county_code(), dt.date(1970, 5, 6), 517)
    cli(url, "resident", "register", "--id-number", number, "--name", "欧阳明华", "--township", town.name,
        "--phone", "13905391234", "--pdf", str(out / "参保登记表.pdf"), user="jingban01")  # fmt: skip
    cli(url, "worklist", "lapsed", "--year", "2020", "--township", town.name, "--out",
        str(out / "未续缴工作名单.pdf"), user="admin")  # fmt: skip
    stats_pdf(out / "统计报表.pdf")
    return sorted(out.glob("*.pdf"))


def stats_report(info: DbInfo) -> Callable[[Path], None]:
    """The 统计报告 PDF through the statistics tab (it draws the charts), its preview replaced by a copy."""

    def make(target: Path) -> None:
        from core import auth
        from gui import printing
        from gui.main_window import MainWindow

        window = MainWindow(auth.authenticate("admin", DEMO_PASSWORD), info)
        window.show()
        fit_to_screen(window)
        window.show_tab(window.stats_tab)
        settle()
        window.stats_tab.refresh()
        settle()
        original = printing.show_preview
        printing.show_preview = lambda _parent, _title, pdf: shutil.copy(pdf, target)
        try:
            window.stats_tab.export_pdf()
            settle()
        finally:
            printing.show_preview = original
        window.close()
        settle()

    return make


def render(pdfs: list[Path]) -> None:
    for pdf in pdfs:
        subprocess.run(["pdftoppm", "-png", "-r", "70", str(pdf), str(pdf.with_suffix(""))], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the screenshots")
    parser.add_argument("--forms", type=Path, help="also print every form to PDF and PNG into this folder")
    parser.add_argument("--residents", type=int, default=2000)
    parser.add_argument("--users", default=",".join(USERS))
    args = parser.parse_args()

    from core.database import open_database
    from gui.app import make_app

    app = make_app()
    url = make_demo(_SCRATCH, args.residents)
    info = open_database(url)
    shots = Shots(args.out)
    shoot_common(shots, info.label)
    for username in args.users.split(","):
        shoot_role(shots, info, username)
    if args.forms:
        render(make_forms(url, args.forms, stats_report(info)))
    print(f"{shots.count} screenshots in {args.out}" + (f", forms in {args.forms}" if args.forms else ""))
    app.processEvents()
    shutil.rmtree(_SCRATCH, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
