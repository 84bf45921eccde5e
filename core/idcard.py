"""Resident ID numbers (GB 11643-1999): normalise, validate, convert 15 -> 18 digits, derive sex and birth."""

from __future__ import annotations

import datetime as dt
import re
from operator import mul
from typing import NamedTuple

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"

# Full-width digits and letters typed by Chinese input methods; spaces of every width.
_FULLWIDTH = str.maketrans("０１２３４５６７８９ｘＸ", "0123456789XX")
_SPACES = re.compile(r"[\s\u3000\u00a0]+")
_SCIENTIFIC = re.compile(r"^[0-9]+(\.[0-9]*)?[eE][+]?[0-9]+$")
_SHAPE_18 = re.compile(r"^[0-9]{17}[0-9X]$")
_SHAPE_15 = re.compile(r"^[0-9]{15}$")


class IdError(Exception):
    """An invalid ID number; ``code`` is one of the roster row codes."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


class IdInfo(NamedTuple):  # a tuple: the importer makes one per row
    number: str  # 18 characters, upper-case X
    birth_date: dt.date
    sex: str  # 男 / 女
    legacy15: bool  # given as a 15-digit number and converted


_ASCII_ZERO_WEIGHT = 48 * sum(WEIGHTS)


def check_char(first17: str) -> str:
    # bytes iterate as ints: the weighted sum runs in C (the importer calls this for every row)
    return CHECK_CHARS[(sum(map(mul, first17.encode("ascii"), WEIGHTS)) - _ASCII_ZERO_WEIGHT) % 11]


def clean(value: object) -> str:
    """The cell as text, ready to validate; raises IdError(ID_PRECISION_LOST) for numbers Excel rounded.

    An 18-digit number typed into a General cell is stored as a double with 15 significant digits: the
    last digits are gone and cannot be recovered, so we must not guess.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return ""
        if abs(value) >= 1e15 or not value.is_integer():
            raise IdError("ID_PRECISION_LOST", f"{value:.15g}")
        value = int(value)
    if isinstance(value, int):
        text = str(value)
        if len(text) >= 16:
            raise IdError("ID_PRECISION_LOST", text)
        return text
    text = _SPACES.sub("", str(value).translate(_FULLWIDTH)).upper()
    if text.startswith("'"):  # Excel's text marker survives some CSV exports
        text = text[1:]
    if _SCIENTIFIC.match(text):
        raise IdError("ID_PRECISION_LOST", text)
    return text


_DATES: dict[str, dt.date | None] = {}  # yyyymmdd -> date (None: not a date); birth dates repeat a lot


def _birth(yyyymmdd: str, today: dt.date) -> dt.date:
    try:
        born = _DATES[yyyymmdd]
    except KeyError:
        try:
            born = dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
        except ValueError:
            born = None
        if born is not None and born.year < 1890:
            born = None
        if len(_DATES) < 200_000:
            _DATES[yyyymmdd] = born
    if born is None:
        raise IdError("ID_BIRTHDATE", f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:8]} 不是有效日期")
    if born > today:
        raise IdError("ID_BIRTHDATE", f"出生日期 {born:%Y-%m-%d} 晚于 {today:%Y-%m-%d}，不可能")
    return born


_CHECK_SET = frozenset("0123456789X")


_SEX_OF_DIGIT = {d: "男" if int(d) % 2 else "女" for d in "0123456789"}
_new_info = tuple.__new__


def _parse18(text: str, today: dt.date) -> IdInfo:
    # Runs for every imported row: the fast path of _birth and check_char is inlined.
    born = _DATES.get(text[6:14])
    if born is None or born > today:
        born = _birth(text[6:14], today)
    expected = CHECK_CHARS[(sum(map(mul, text[:17].encode("ascii"), WEIGHTS)) - _ASCII_ZERO_WEIGHT) % 11]
    if text[17] != expected:
        raise IdError("ID_CHECKSUM", f"校验位应为 {expected}")
    return _new_info(IdInfo, (text, born, _SEX_OF_DIGIT[text[16]], False))


def parse(value: object, today: dt.date | None = None) -> IdInfo:
    """Validate a cell value as an ID number. Raises IdError with the row code on failure."""
    today = today or dt.date.today()
    if value.__class__ is str and len(value) == 18 and value.isascii() and value[:17].isdigit():
        last = value[17]  # the common, clean case skips ``clean``
        if last in _CHECK_SET:
            return _parse18(value, today)
        if last == "x":
            return _parse18(value.upper(), today)
    text = clean(value)
    if not text:
        raise IdError("ID_MISSING")
    if len(text) == 18 and _SHAPE_18.match(text):
        return _parse18(text, today)
    if len(text) == 15 and _SHAPE_15.match(text):
        first17 = f"{text[:6]}19{text[6:]}"
        born = _birth(first17[6:14], today)
        number = first17 + check_char(first17)
        return IdInfo(number, born, "男" if (ord(text[14]) - 48) % 2 else "女", True)
    raise IdError("ID_FORMAT", f"“{text}”不是 18 位（或 15 位旧版）身份证号码")


def is_valid(value: object) -> bool:
    try:
        parse(value)
    except IdError:
        return False
    return True


def make(prefix6: str, birth: dt.date, sequence: int) -> str:
    """Build a valid 18-digit number (demo data and tests): sequence 0..999, odd = male."""
    first17 = f"{prefix6}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)


def mask(number: str) -> str:
    """371325********123X: address code and the last four characters stay visible."""
    if len(number) != 18:
        return number
    return f"{number[:6]}{'*' * 8}{number[14:]}"


def born_by(day: dt.date, years: int) -> dt.date:
    """The latest birth date of someone at least ``years`` old on ``day`` (29 Feb falls back to 28 Feb)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
