"""Running the command line from tests, the way a clerk's script would.

Every CLI test goes through ``cli`` and acts as a user of the system: ``office_db`` makes a database with the
administrator ``boss`` (password ``TEST_PASSWORD``), and ``cli`` hands that password over in
``PENSION_PASSWORD`` unless a test gives ``env`` of its own. Keeping both here means a change in how commands
prove their user (issue 15) is made once, not in every test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST_PASSWORD = "password123"


def cli(*args: str, env: dict | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "PENSION_PASSWORD": TEST_PASSWORD, **(env or {})}
    full_env.pop("PENSION_DB_URL", None)
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=120,
    )


def office_db(tmp_path: Path, name: str = "office.db") -> str:
    """A fresh SQLite database with the administrator ``boss``; returns its URL."""
    url = f"sqlite:///{tmp_path / name}"
    add_users(url, [("boss", "管理员", None)])
    return url


def add_users(url: str, users: list[tuple[str, str, str | None]]) -> None:
    """Create users (name, role, township name or None), all with ``TEST_PASSWORD``, in the database at url."""
    from core import auth
    from core.database import close_database, open_database
    from dao.models import Township, User

    open_database(url)
    try:
        for name, role, township in users:
            town_id = Township.get(Township.name == township).id if township else None
            creator = None if not User.select().exists() else auth.Actor("setup", auth.ADMIN, None, "setup")
            auth.create_user(creator, name, TEST_PASSWORD, role, town_id)
    finally:
        close_database()
