"""统计 and 系统管理 tabs (pytest-qt, offscreen): charts render and export, administration through the tab."""

from __future__ import annotations

import subprocess

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QDialog, QInputDialog, QMessageBox

from core import auth
from dao.models import AuditLog, PolicyYear, User
from gui import file_dialogs
from gui.admin_tab import AdminTab, UserDialog
from gui.operations import wait_all as settle
from gui.stats_tab import StatsTab, week_step
from reports import stats_report
from tests.conftest import on_gui_thread, record_threads
from tests.test_stats_admin import make_county

pytestmark = pytest.mark.usefixtures("message_boxes")


def test_stats_tab_charts_render_and_export(qtbot, sqlite_db, admin, tmp_path, monkeypatch, previews):
    make_county(admin, tmp_path)
    tab = StatsTab(admin)
    settle()
    qtbot.addWidget(tab)
    tab.year.setValue(2020)
    tab.resize(1200, 800)
    tab.show()
    tab.refresh()
    settle()
    assert tab.total.rowCount() == 1 and tab.total.text(0, 0) == "合计" and tab.total.text(0, 3) == "5"
    assert "合计" not in [
        tab.table.text(r, 0) for r in range(tab.table.rowCount())
    ]  # pinned below, not scrolled
    assert len(tab.progress_chart.series()) == 1 and tab.progress_chart.series()[0].count() > 0
    assert tab.tier_chart.series()[0].barSets()[0].count() == 3
    compare = tab.compare_chart.series()[0]  # this year against last, one bar pair per township
    assert [b.label() for b in compare.barSets()] == ["上年缴费人数", "本年缴费人数"]
    assert sum(compare.barSets()[1].at(n) for n in range(compare.barSets()[1].count())) == 5
    assert "各乡镇" in tab.compare_chart.title()
    images = tab.chart_images(tmp_path)
    assert len(images) == 3
    for image, (width, height) in zip(images, stats_report.CHART_BOXES, strict=True):
        picture = QImage(str(image))
        assert not picture.isNull() and picture.width() > 100
        assert abs(picture.width() / picture.height() - width / height) < 0.01  # the proportions of its box
        corners = [
            picture.pixelColor(x, y) for x in (1, picture.width() - 2) for y in (1, picture.height() - 2)
        ]
        assert all(c.name() == "#ffffff" for c in corners)  # white paper, no grey screen frame
    tab.export_pdf()
    settle()
    title, pdf, printed, pages = previews[-1]
    assert "统计报告" in title and pages >= 1 and printed.stat().st_size > 1000
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "征缴统计" in text and "费城街道" in text and "去年缴费人数" in text and "统计图表" in text
    listing = subprocess.run(
        ["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    sizes = [line.split() for line in listing.splitlines()[2:] if line.split()[2] == "image"]
    assert len(sizes) == 3 and {row[0] for row in sizes} == {str(pages)}  # the three charts on the last page
    for row in sizes:  # each drawn in its box on the page, at least 125 mm wide (the page is 267 mm)
        assert int(row[3]) / int(row[12]) * 25.4 > 125
    xlsx = tmp_path / "stats.xlsx"
    monkeypatch.setattr(file_dialogs, "_exec", lambda dialog: str(xlsx))
    tab.export_table()
    settle()
    assert xlsx.exists()


def test_weekly_axis_ticks_whole_weeks_and_the_page_fits(qtbot, sqlite_db, admin, tmp_path):
    from PySide6.QtCharts import QBarCategoryAxis, QValueAxis
    from PySide6.QtGui import QFontMetrics

    make_county(admin, tmp_path)
    tab = StatsTab(admin)
    qtbot.addWidget(tab)
    tab.year.setValue(2020)
    tab.resize(1093, 520)  # the page's room on a 1366 x 768 screen at 125 %
    tab.show()
    tab.refresh()
    settle()
    [x] = [a for a in tab.progress_chart.axes() if a.alignment() == Qt.AlignmentFlag.AlignBottom]
    assert isinstance(x, QValueAxis) and x.tickType() == QValueAxis.TickType.TicksDynamic
    assert (x.tickAnchor(), x.tickInterval(), x.min()) == (1, 1, 1)  # ticks on week 1, 2, 3 … never 2.6
    assert [week_step(n) for n in (2, 14, 15, 28, 29, 53)] == [1, 1, 2, 2, 4, 4]
    # The 合计 row is in view under the areas, however short the page; the page asks for no more height than
    # it needs, so the main window's scroll area does not push the row below the screen.
    assert tab.pages.sizeHint() == tab.pages.minimumSizeHint()
    assert tab.views.sizeHint() == tab.views.minimumSizeHint()
    table_page = tab.views.widget(0)
    assert tab.total.isVisibleTo(tab) and tab.total.height() >= tab.total.rowHeight(0)
    assert tab.total.geometry().bottom() <= table_page.height()
    # Every area named on the comparison: Qt skips a category label with less room than its text's height.
    tab.views.setCurrentIndex(1)
    settle()
    [y] = [a for a in tab.compare_chart.axes() if isinstance(a, QBarCategoryAxis)]
    room = tab.compare_chart.plotArea().height() / y.count()
    assert room >= QFontMetrics(y.labelsFont()).height()
    assert y.categories() == [r.name for r in tab.stats.rows[::-1]]


def test_admin_tab_users_policy_and_backup(qtbot, sqlite_db, admin, tmp_path, monkeypatch, message_boxes):
    boss = auth.actor_of(auth.create_user(admin, "boss", "password123", auth.ADMIN))
    tab = AdminTab(boss)
    settle()
    qtbot.addWidget(tab)
    assert tab.users_table.rowCount() == 1 and tab.policy_table.rowCount() == PolicyYear.select().count()

    def fill_new_user(dialog):
        dialog.username.setText("li")
        dialog.role.setCurrentText(auth.CLERK)
        dialog.town.setCurrentIndex(2)
        dialog.password.setText("password123")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(UserDialog, "exec", fill_new_user)
    tab.new_user()
    settle()
    assert User.get(User.username == "li").township_id is not None and tab.users_table.rowCount() == 2

    tab.policy_table.selectRow(tab.policy_table.rowCount() - 1)  # 2020
    tab.p_tiers.setText("100,300,500,800")
    tab.save_policy()
    settle()
    assert PolicyYear.get(PolicyYear.year == 2020).tiers == [10000, 30000, 50000, 80000]
    tab.p_tiers.setText("300,100")
    tab.save_policy()
    settle()
    assert "从低到高" in message_boxes[-1][1]

    out = tmp_path / "backup.db"
    monkeypatch.setattr(file_dialogs, "_exec", lambda dialog: str(out))
    tab.backup()
    settle()
    assert out.exists() and "已备份" in message_boxes[-1][1]
    tab.mask_boxes[auth.FINANCE].setChecked(False)
    tab.mask_boxes[auth.CLERK].setChecked(True)
    tab.save_settings()
    settle()
    tab.refresh_audit()
    assert tab.audit_table.rowCount() >= 3 and tab.audit_count.text() == f"共 {tab.audit_table.rowCount()} 条"
    assert AuditLog.select().where(AuditLog.entity == "setting").count() == 1
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("new-password-2", True)))
    tab.users_table.selectRow([tab.users_table.text(r, 0) for r in range(2)].index("li"))
    tab.reset_password()
    settle()
    assert auth.authenticate("li", "new-password-2").username == "li"


def test_backup_over_a_file_that_is_not_ours_asks_first(
    qtbot, sqlite_db, admin, tmp_path, monkeypatch, message_boxes
):
    tab = AdminTab(admin)
    qtbot.addWidget(tab)
    precious = tmp_path / "precious.db"
    precious.write_bytes(b"not a database of ours")
    monkeypatch.setattr(file_dialogs, "_exec", lambda dialog: str(precious))
    asked = []
    answer = QMessageBox.StandardButton.No
    monkeypatch.setattr(
        QMessageBox, "question", staticmethod(lambda parent, title, text, *a: asked.append(text) or answer)
    )
    tab.backup()
    settle()  # the attempt runs as an operation; the question comes when it refuses
    assert "不是本系统的数据库备份" in asked[-1] and precious.read_bytes() == b"not a database of ours"
    answer = QMessageBox.StandardButton.Yes
    tab.backup()
    settle()  # the attempt, then the confirmed backup, run as operations
    assert (
        len(asked) == 2
        and precious.read_bytes().startswith(b"SQLite format 3")
        and "已备份" in message_boxes[-1][1]
    )


def test_restore_from_the_admin_tab(qtbot, sqlite_db, admin, tmp_path, monkeypatch, message_boxes):
    from core import admin as administration
    from dao.models import Township

    tab = AdminTab(admin)
    qtbot.addWidget(tab)
    backup = administration.backup(admin, tmp_path / "b.db")
    Township.update(sort_order=99).execute()
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a: QMessageBox.StandardButton.Yes))
    foreign = tmp_path / "foreign.db"
    foreign.write_bytes(b"SQLite format 3\x00" + b"\x00" * 2000)
    monkeypatch.setattr(file_dialogs, "_exec", lambda dialog: str(foreign))
    tab.restore()
    settle()  # restore runs as an operation
    assert (
        "不是本系统可用的数据库" in message_boxes[-1][1]
        and Township.select().where(Township.sort_order == 99).count()
    )
    monkeypatch.setattr(file_dialogs, "_exec", lambda dialog: str(backup))
    tab.restore()
    settle()
    assert "已恢复" in message_boxes[-1][1]
    assert Township.select().where(Township.sort_order == 99).count() == 0


def test_admin_tab_reads_its_lists_off_the_gui_thread(qtbot, sqlite_db, admin, monkeypatch):
    from core import admin as administration
    from core import policy, regions, roster

    threads = record_threads(monkeypatch, (administration, "users"), (policy, "years"), (policy, "get"),
                             (regions, "village_counts"), (roster, "masked_roles"))  # fmt: skip
    auth.create_user(admin, "li", "password123", auth.CLERK, regions.townships()[1].id, "李经办")
    tab = AdminTab(admin)
    qtbot.addWidget(tab)
    assert all(not page.isEnabled() for page in tab.list_pages)  # nothing to save before the lists arrive
    settle()
    assert set(threads) == {"users", "years", "village_counts", "masked_roles"}
    assert not on_gui_thread(threads)
    assert all(page.isEnabled() for page in tab.list_pages)
    towns = regions.townships()
    assert tab.users_table.rowCount() == 1 and tab.users_table.text(0, 3) == towns[1].name
    assert tab.region_table.rowCount() == len(towns) and tab.default_town.count() == len(towns) + 1
    masked = roster.masked_roles()
    assert {role for role, box in tab.mask_boxes.items() if box.isChecked()} == masked
    years = [p.year for p in policy.years()]
    assert [int(tab.policy_table.text(r, 0)) for r in range(tab.policy_table.rowCount())] == years
    threads.clear()
    tab.policy_table.selectRow(0)  # the form fills from what the list read
    assert tab.p_year.value() == years[0] and "get" not in threads
    shown = []
    monkeypatch.setattr(UserDialog, "exec", lambda d: shown.append(d.town.currentText()) or 0)
    tab.users_table.selectRow(0)
    tab.edit_user()
    assert shown == [towns[1].name] and "users" not in threads
