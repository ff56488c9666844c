"""Money, exactly: amounts as the decimals they were written as, rewards in the smallest payable unit.

Orders keep their amounts in the app's own unit (``REPORT_AMOUNT_SCALE`` of them make one yuan: 1 for yuan with up
to two decimals, 100 for fen, WeChat Pay's unit). Sums and rewards are computed with ``Decimal`` on the decimal each
number was written as, and a reward is rounded once, to a whole fen, by the configured rule (half-up by default):
never a binary float's approximation, never 299.85 fen.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

FEN_PER_YUAN = 100
ROUNDINGS = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN}


def decimal(value: float | int | str | Decimal) -> Decimal:
    """The decimal a number was written as (a float from JSON or BSON reads back as its shortest repr)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def exact_sum(values: Iterable[float | int | Decimal]) -> float:
    """A sum of amounts without binary-float drift (0.1 + 0.2 is 0.3), as a plain number for JSON."""
    return float(sum((decimal(value) for value in values), Decimal(0)))


def to_fen(amount: float | int | Decimal, amount_scale: int = 1, rounding: str = "half_up") -> int:
    """An amount in the orders' unit as whole fen."""
    fen = decimal(amount) * FEN_PER_YUAN / amount_scale
    return int(fen.quantize(Decimal(1), rounding=ROUNDINGS[rounding]))


def yuan(fen: int, grouped: bool = False) -> str:
    """Whole fen as yuan for people, exactly (``-1234`` → ``-12.34``; ``grouped``: ``1,234.56``): no float on the
    way."""
    sign, whole = "-" if fen < 0 else "", abs(fen) // FEN_PER_YUAN
    return (
        f"{sign}{whole:,}.{abs(fen) % FEN_PER_YUAN:02d}" if grouped else f"{sign}{whole}.{abs(fen) % FEN_PER_YUAN:02d}"
    )


def from_fen(fen: int, amount_scale: int = 1) -> float:
    """Whole fen back in the orders' unit, for display."""
    return float(Decimal(fen) * amount_scale / FEN_PER_YUAN)
