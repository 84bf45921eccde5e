"""Townships and villages: seeded from resources/regions/county.json, matched by name or code."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core import resources
from core.errors import UserError
from dao.db import current
from dao.models import Township, Village

_SUFFIXES = ("街道办事处", "街道", "镇", "乡")
_SPACES = re.compile(r"[\s\u3000]+")


def county() -> dict:
    return resources.load_json("regions", "county.json")


def county_code() -> str:
    return county()["county_code"]


def seed_townships() -> int:
    """Insert the county's townships that are missing; returns how many were added."""
    # One look-up for all: every start runs this, and each query is a round trip to a county server.
    have = {code for (code,) in Township.select(Township.code).tuples()}
    missing = [(order, item) for order, item in enumerate(county()["townships"]) if item["code"] not in have]
    if missing:
        with Township._meta.database.atomic():
            for order, item in missing:
                Township.create(code=item["code"], name=item["name"], sort_order=order)
        forget_townships()
    return len(missing)


def short_name(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def normalise_text(value: str) -> str:
    return _SPACES.sub("", value).replace("（", "(").replace("）", ")")


@dataclass
class TownshipMatcher:
    """Finds a township by full name, name without suffix (上冶 = 上冶镇) or 9/12-digit code."""

    by_key: dict[str, int]
    names: dict[int, str]

    @classmethod
    def load(cls) -> TownshipMatcher:
        by_key: dict[str, int] = {}
        names: dict[int, str] = {}
        for t in sorted(townships(), key=lambda t: t.id):
            names[t.id] = t.name
            for key in (t.name, short_name(t.name), t.code, t.code[:9]):
                by_key.setdefault(key, t.id)
        return cls(by_key, names)

    def match(self, value: object) -> int | None:
        if value is None:
            return None
        text = normalise_text(str(value))
        if text.endswith(".0") and text[:-2].isdigit():  # a code typed as a number
            text = text[:-2]
        if not text:
            return None
        found = self.by_key.get(text)
        if found is None:
            found = self.by_key.get(short_name(text))
        return found


def village_register() -> dict[int, set[str]]:
    """township id -> its registered village names, for the townships the administrator's register covers
    (系统管理 → 区划). A township missing here keeps no register: villages are created as rosters name them."""
    register: dict[int, set[str]] = {}
    for township_id, name in (
        Village.select(Village.township, Village.name).where(Village.registered).tuples()
    ):
        register.setdefault(township_id, set()).add(name)
    return register


class VillageCache:
    """Village ids by (township, name) — a name is always looked up within one township. New villages are
    created on first sight (unless ``dry_run``), except in a township that keeps a village register: there
    an unknown name gives no village (importers reject such rows first)."""

    def __init__(self, *, dry_run: bool = False) -> None:
        self.dry_run = dry_run
        self.ids: dict[tuple[int, str], int | None] = {}
        self.names: dict[int, str] = {}
        self.register: dict[int, set[str]] = {}  # as village_register(), from the same single read
        for vid, township_id, name, registered in Village.select(
            Village.id, Village.township, Village.name, Village.registered
        ).tuples():
            self.ids[(township_id, name)] = vid
            self.names[vid] = name
            if registered:
                self.register.setdefault(township_id, set()).add(name)
        self.created = 0

    def find(self, township_id: int, raw_name: str) -> int | None:
        """The village's id if it exists (or was created here); never creates."""
        found = self.ids.get((township_id, raw_name))
        return found if found is not None else self.ids.get((township_id, normalise_text(raw_name)))

    def get(self, township_id: int, raw_name: str) -> int | None:
        try:
            return self.ids[(township_id, raw_name)]
        except KeyError:
            pass
        name = normalise_text(raw_name)
        if not name:
            return None
        key = (township_id, name)
        if key not in self.ids:
            if township_id in self.register:
                return None  # not in the register: no village rather than a made-up one
            self.created += 1
            self.ids[key] = None if self.dry_run else Village.create(township=township_id, name=name).id
            if self.ids[key] is not None:
                self.names[self.ids[key]] = name
        self.ids[(township_id, raw_name)] = self.ids[key]
        return self.ids[key]

    def name_of(self, village_id: int | None) -> str:
        return self.names.get(village_id, "") if village_id is not None else ""


_townships: tuple[object, list[Township]] | None = None  # (database, its townships)


def townships() -> list[Township]:
    """The county's townships in their order, read once per opened database: every screen and command asks,
    and on a township office's network each query is a round trip. They change only through
    ``seed_townships`` and the administrator's region import, which call ``forget_townships``."""
    global _townships
    db = current()
    if _townships is None or _townships[0] is not db:
        _townships = (db, list(Township.select().order_by(Township.sort_order, Township.code)))
    return list(_townships[1])


def forget_townships() -> None:
    global _townships
    _townships = None


def villages(township_id: int) -> list[Village]:
    return list(Village.select().where(Village.township == township_id).order_by(Village.name))


def township_name(township_id: int) -> str:
    town = Township.get_or_none(Township.id == township_id)
    return town.name if town else ""


def township_id_of(name: str | None) -> int | None:
    """The township a user typed (name, short name or code); None for no name. Raises UserError if unknown."""
    if not name:
        return None
    township_id = TownshipMatcher.load().match(name)
    if township_id is None:
        raise UserError(f"乡镇“{name}”不存在。")
    return township_id


def village_counts() -> dict[int, int]:
    """Township id -> how many villages it has (the 区划 page)."""
    counts: dict[int, int] = {}
    for v in Village.select(Village.township):
        counts[v.township_id] = counts.get(v.township_id, 0) + 1
    return counts
