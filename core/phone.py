"""Phone numbers as a clerk writes them: an 11-digit mobile (1[3-9]xxxxxxxxx) or a landline with its area code
(0xx-xxxxxxxx / 0xxx-xxxxxxx, optionally with an extension). Plain text in, the stored form or a reason out."""

from __future__ import annotations

import re

_FULLWIDTH = str.maketrans("０１２３４５６７８９－（）＋", "0123456789-()+")
_SPACES = re.compile(r"[\s\u3000\u00a0]+")
_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")
# Area code 0 + 2 or 3 digits, local number 7 or 8 digits (not starting with 0 or 1), an optional extension.
_LANDLINE = re.compile(r"^\(?(0\d{2,3})\)?-?([2-9]\d{6,7})(?:(?:-|转|ext\.?|EXT\.?|x|X|#)(\d{1,6}))?$")


class PhoneError(ValueError):
    """An invalid phone number; the message says why, in Chinese."""


def normalise(text: object) -> str:
    """The number as stored: ``13800000000``, ``0539-5021234``, ``0539-5021234-801``; an empty text stays
    empty (no phone). Raises PhoneError with the reason."""
    raw = "" if text is None else str(text)
    value = _SPACES.sub("", raw.translate(_FULLWIDTH))
    if not value:
        return ""
    mobile = _MOBILE.match(value)
    if mobile:
        return mobile.group(1)
    landline = _LANDLINE.match(value)
    if landline:
        area, local, ext = landline.groups()
        if len(area) + len(local) in (11, 12):  # 010-62345678, 0539-5021234, 0539-50212345
            return f"{area}-{local}" + (f"-{ext}" if ext else "")
    digits = re.sub(r"\D", "", value)
    if not re.fullmatch(r"[\d\-()+#转xX]+|ext\.?\d+", value) or not digits:
        raise PhoneError(f"“{raw.strip()}”含有数字以外的字符")
    if digits.startswith("1"):
        raise PhoneError(f"“{raw.strip()}”不是 11 位手机号码（1 开头，第二位 3—9）")
    if digits.startswith("0"):
        raise PhoneError(f"“{raw.strip()}”不是带区号的固定电话（如 0539-5021234）")
    raise PhoneError(f"“{raw.strip()}”缺少区号：固定电话请写区号（如 0539-5021234），手机号码为 11 位")


def problem(text: object) -> str | None:
    """Why ``text`` is no phone number, or None when it is one (or empty)."""
    if (
        text.__class__ is str
        and len(text) == 11
        and text.isdigit()
        and text[0] == "1"
        and text[1] in "3456789"
    ):
        return None  # the common mobile, without the regular expressions (the importer asks for every row)
    try:
        normalise(text)
    except PhoneError as exc:
        return str(exc)
    return None
