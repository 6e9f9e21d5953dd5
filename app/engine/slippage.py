"""Step 6: slippage in signed pips, and docs/DESIGN.md's quality categories."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum


class SlippageCategory(StrEnum):
    EXCELLENT = "excellent"  # 0–1 pips
    GOOD = "good"  # 1–3 pips
    ACCEPTABLE = "acceptable"  # 3–5 pips
    POOR = "poor"  # > 5 pips


def slippage_pips(direction: int, intended: Decimal, fill: Decimal, pip: Decimal) -> Decimal:
    """Positive = worse than intended for the trade's direction (paid more on a buy, got less on a sell)."""
    return ((fill - intended) * direction / pip).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)


def categorize(pips: Decimal) -> SlippageCategory:
    # docs/DESIGN.md (step 6) measures |fill - intended|: a large deviation either way is worth a look.
    size = abs(pips)
    if size <= 1:
        return SlippageCategory.EXCELLENT
    if size <= 3:
        return SlippageCategory.GOOD
    if size <= 5:
        return SlippageCategory.ACCEPTABLE
    return SlippageCategory.POOR


def vwap(fills: list[tuple[Decimal, Decimal]]) -> Decimal:
    """Volume-weighted price of (lots, price) fills, to 8 decimals (the store's price scale)."""
    volume = sum((lots for lots, _ in fills), Decimal(0))
    value = sum((lots * price for lots, price in fills), Decimal(0))
    return (value / volume).quantize(Decimal("0.00000001"), rounding=ROUND_HALF_EVEN)
