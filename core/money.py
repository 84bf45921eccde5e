"""Exact money: integer fen in the database, Decimal yuan at the edges. Never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")


def yuan_to_fen(value: object) -> int:
    """'1500', 1500, '1,500.00', Decimal('1500.5') -> fen. Raises ValueError on anything else."""
    if isinstance(value, float):
        value = repr(value)  # shortest repr round-trips: 1500.1 -> '1500.1'
    text = str(value).strip().replace(",", "").replace("，", "").removesuffix("元")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"不是有效的金额：{value}") from exc
    if amount != amount.quantize(FEN):
        raise ValueError(f"金额最多两位小数：{value}")
    return int((amount * 100).to_integral_value(ROUND_HALF_UP))


def fen_to_yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(FEN)


def format_yuan(fen: int) -> str:
    return f"{fen_to_yuan(fen):,.2f}"


def yuan_text(fen: int) -> str:
    """A tier or standard as people write it: 30000 -> '300', 15050 -> '150.50' (never cut to whole yuan)."""
    yuan, rest = divmod(fen, 100)
    return str(yuan) if rest == 0 else str(fen_to_yuan(fen))


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_BIG_UNITS = ("", "万", "亿", "万亿")


def _four(number: int) -> str:
    """0..9999 in capitals, with 零 for inner gaps (1005 -> 壹仟零伍)."""
    out = ""
    zero = False
    for position in range(3, -1, -1):
        digit = number // 10**position % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[digit] + _SMALL_UNITS[position]
    return out


def to_capital(fen: int) -> str:
    """Amount in Chinese capitals for forms (大写): 150000 -> 壹仟伍佰元整, 10050 -> 壹佰元伍角."""
    if fen < 0:
        return "负" + to_capital(-fen)
    yuan, rest = divmod(fen, 100)
    jiao, fen_digit = divmod(rest, 10)
    text = ""
    if yuan:
        groups = []
        while yuan:
            yuan, group = divmod(yuan, 10000)
            groups.append(group)
        need_zero = False
        for index in range(len(groups) - 1, -1, -1):
            group = groups[index]
            if group == 0:
                need_zero = bool(text)
                continue
            if text and (need_zero or group < 1000):
                text += "零"
            text += _four(group) + _BIG_UNITS[index]
            need_zero = False
        text += "元"
    if not jiao and not fen_digit:
        return (text or "零元") + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif text:
        text += "零"
    if fen_digit:
        text += _DIGITS[fen_digit] + "分"
    return text
