"""core, dao, reports and cli never import Qt; dao and reports never import core or gui; gui never imports dao."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "core": ("PySide6", "shiboken6", "PyQt5", "PyQt6", "gui"),
    "dao": ("PySide6", "shiboken6", "PyQt5", "PyQt6", "gui", "core", "reports", "cli"),
    "reports": ("PySide6", "shiboken6", "PyQt5", "PyQt6", "gui", "core", "dao", "cli"),
    "cli": ("PySide6", "shiboken6", "PyQt5", "PyQt6", "gui"),
    "gui": ("dao",),  # every read goes through core's scope checks; constants come through core
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_forbidden_layers(package):
    files = list((ROOT / package).rglob("*.py"))
    assert files, package
    offenders = {
        str(f.relative_to(ROOT)): sorted(_imports(f) & set(FORBIDDEN[package]))
        for f in files
        if _imports(f) & set(FORBIDDEN[package])
    }
    assert offenders == {}


def test_the_check_notices_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from PySide6.QtWidgets import QWidget\nimport core.auth\n", encoding="utf-8")
    assert {"PySide6", "core"} <= _imports(bad)
