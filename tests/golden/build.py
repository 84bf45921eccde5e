"""Build the golden databases: one SQLite file per released schema version, made by that version's own code.

Each version's commit (main's history of dao/migrations.py) is checked out in a temporary worktree and its
``open_database`` creates a fresh database there; a few rows are added with plain SQL (a resident, a payment,
an audit entry; from version 3 a department list and its entry). No demo data. Run from the repository root:

    .venv/bin/python tests/golden/build.py

The files are committed; tests/test_upgrades.py upgrades copies of them.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

# version -> the commit whose code created databases of that version (renumbered branch steps skipped: only
# the numbering main released)
RELEASES = {
    2: "4b8d6a9",
    3: "780e365",
    4: "5827afc",
    5: "87c1919",
    6: "7bfb777",
    7: "6dcb11b",
    8: "55b4cea",
    9: "86447f5",
    10: "a55333a",
    11: "8567eea",
    12: "c4abced",  # issue 21's resident_event (merged as step 12)
}

MAKE = r"""
import sqlite3, sys
from core.database import open_database, close_database
from dao import migrations
path, version = sys.argv[1], int(sys.argv[2])
open_database("sqlite:///" + path)
close_database()
con = sqlite3.connect(path)
assert con.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == version
town = con.execute("SELECT id FROM township WHERE name = '上冶镇'").fetchone()[0]
con.execute(
    "INSERT INTO resident (id_number, name, sex, birth_date, township_id, phone, household_type, status, enrolled_on,"
    " created_at, updated_at, version) VALUES ('371325198001010011', '老数据', '男', '1980-01-01', ?, '', '', '正常参保',"
    " '2020-01-01', '2020-01-01 08:00:00', '2020-01-01 08:00:00', 1)", (town,))
con.execute(
    "INSERT INTO contribution (resident_id, year, amount_fen, tier_fen, payer, kind, channel, paid_on, voucher, created_at)"
    " SELECT id, 2020, 30000, 30000, '个人', '正常应缴', '', '2020-03-01', 'GOLD-1', '2020-03-01 08:00:00' FROM resident")
con.execute("INSERT INTO audit_log (at, username, action, entity, entity_id, before, after) VALUES"
            " ('2020-01-01 08:00:00', 'golden', 'create', 'resident', '1', '', '')")
if version >= 3:
    later = {"scope": "'全县'", "undone_by": "''", "handoff_mark": "0"}  # NOT NULL columns of version 9 on
    have = {r[1] for r in con.execute("PRAGMA table_info(special_list)")}
    extra = {k: v for k, v in later.items() if k in have}
    con.execute(
        "INSERT INTO special_list (year, department, \"group\", file_name, sha256, username, imported_at, current,"
        " replaced_by_id, people, added, removed, unchanged" + "".join(", " + k for k in extra) + ") VALUES (2020,"
        " '民政', '低保对象', 'a.xlsx', 'x', 'golden', '2020-01-02 08:00:00', 1, NULL, 1, 1, 0, 0"
        + "".join(", " + v for v in extra.values()) + ")")
    con.execute(
        "INSERT INTO special_list_entry (special_list_id, row, id_number, name, township_text, village_text,"
        " resident_id, status) SELECT 1, 2, id_number, name, '上冶镇', '', id, '已匹配' FROM resident")
con.commit()
con.execute("PRAGMA journal_mode=DELETE")
con.execute("PRAGMA page_size=512")  # small files to keep in the repository
con.execute("VACUUM")
con.close()
"""


def build(version: int, commit: str, out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix=f"golden-v{version}-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), commit], check=True,
                       capture_output=True)  # fmt: skip
        try:
            target = Path(tmp) / "db.sqlite"
            subprocess.run([sys.executable, "-c", MAKE, str(target), str(version)], cwd=tree, check=True,
                           env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "HOME": tmp,
                                "XDG_DATA_HOME": tmp, "XDG_CONFIG_HOME": tmp})  # fmt: skip
            out.write_bytes(target.read_bytes())
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)


if __name__ == "__main__":
    for version, commit in RELEASES.items():
        out = HERE / f"schema-v{version:02d}.db"
        build(version, commit, out)
        print(f"{out.name}: {out.stat().st_size} bytes from {commit}")
