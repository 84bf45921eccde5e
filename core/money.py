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
