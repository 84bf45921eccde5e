"""Drive the GUI and save screenshots for a look (offscreen by default; run under xvfb-run for a real window).

python scripts/screenshots.py --db sqlite:///demo.db --file roster.xlsx --out shots/
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--file", required=True, help="a roster to preview and import")
    parser.add_argument("--out", default="shots")
    parser.add_argument("--user", default="admin")
    parser.add_argument(
        "--special", help="a 民政 list (with a 类别 column) to import in the 特殊群体标识 tab"
    )
    args = parser.parse_args()

    from PySide6.QtCore import QEventLoop, QTimer

    from core.auth import actor_of
    from core.database import open_database
    from dao.models import User
    from gui.app import make_app
    from gui.main_window import MainWindow

    make_app()
    info = open_database(args.db)
    actor = actor_of(User.get(User.username == args.user))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    window = MainWindow(actor, info)
    window.resize(1280, 800)
    window.show()

    def settle(ms: int = 300) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def wait_idle(runner) -> None:  # type: ignore[no-untyped-def]
        while runner.running:
            settle(100)
        settle(200)

    panel = window.roster_tab.import_panel
    panel.open_file(Path(args.file))
    wait_idle(panel.runner)
    window.grab().save(str(out / "1-mapping.png"))
    panel.run(dry_run=True)
    wait_idle(panel.runner)
    window.grab().save(str(out / "2-preview.png"))
    panel.run(dry_run=False)
    wait_idle(panel.runner)
    window.grab().save(str(out / "3-result.png"))
    window.roster_tab.inner.setCurrentWidget(window.roster_tab.browser)
    settle()
    window.grab().save(str(out / "4-browser.png"))
    from gui.resident_dialog import ResidentDialog

    dialog = ResidentDialog(actor, window.roster_tab.browser.model.resident_id(0), window)
    dialog.show()
    settle()
    dialog.grab().save(str(out / "5-resident.png"))
    dialog.close()
    if args.special:
        tab = window.special_tab
        window.tabs.setCurrentWidget(tab)
        tab.import_panel.department.setCurrentText("民政")
        tab.import_panel.open_file(Path(args.special))
        wait_idle(tab.import_panel.runner)
        tab.import_panel.run(dry_run=False)
        wait_idle(tab.import_panel.runner)
        window.grab().save(str(out / "6-special-import.png"))
        for n, page in enumerate((1, 2, 3), start=7):
            tab.inner.setCurrentIndex(page)
            settle()
            window.grab().save(str(out / f"{n}-special-{page}.png"))
    others = ("arrears", "refund", "handoff", "stats", "admin")
    for n, name in enumerate(others, start=10):
        tab = getattr(window, f"{name}_tab")
        if tab is not None:  # the user's role may not have it
            window.tabs.setCurrentWidget(tab)
            settle(1000)
            window.grab().save(str(out / f"{n}-{name}.png"))
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
