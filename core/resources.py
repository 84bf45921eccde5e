"""Where the bundled data files live (regions, policy years, fonts, templates)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def path(*parts: str) -> Path:
    return RESOURCES.joinpath(*parts)


def load_json(*parts: str) -> Any:
    with path(*parts).open(encoding="utf-8") as fh:
        return json.load(fh)
