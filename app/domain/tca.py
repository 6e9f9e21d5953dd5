"""Transaction-cost analysis of one fill: what the market was at arrival and how it moved after.

Every figure in pips follows slippage_pips's sign (docs/CONTRACT.md §3): positive costs the trade.
slippage against the arrival mid is positive when the fill is worse than the mid at validation; a
mark-out is positive when the mid, that long after the fill, is worse for the trade than the fill
price (a buy filled above where the market then stood: picked off).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

HORIZONS_S = (1, 5, 30, 60)  # the mark-outs' moments after the fill, in seconds


def horizon_name(seconds: int) -> str:
    return f"{seconds}s"


class MarkoutSource(StrEnum):
    QUOTE = "quote"  # the broker's live quote, read at the moment
    HISTORY = "history"  # the broker's tick history, for a moment that passed while nobody was watching
    MISSING = "missing"  # neither had a price for the moment


@dataclass(frozen=True)
class Tca:
    """The TCA of one execution: arrival figures known at the fill, mark-outs as they become known."""

    arrival_mid: Decimal
    spread_pips: Decimal | None
    slippage_vs_arrival_pips: Decimal | None
    marked_from: datetime  # the fill's time: the mark-outs' moments count from it
    markouts_pips: dict[int, Decimal | None] = field(default_factory=lambda: dict.fromkeys(HORIZONS_S))
    missing: frozenset[int] = frozenset()  # horizons no price could be found for

    def due(self, horizon_s: int) -> datetime:
        return self.marked_from + timedelta(seconds=horizon_s)

    @property
    def pending(self) -> list[int]:
        """The horizons neither recorded nor marked missing yet."""
        return [h for h in HORIZONS_S if self.markouts_pips.get(h) is None and h not in self.missing]


@dataclass(frozen=True)
class MarkoutJob:
    """What sampling an execution's mark-outs needs: a new fill's, or one a restart finds unfinished."""

    execution_id: str
    symbol: str
    direction: int
    fill_price: Decimal
    pip: Decimal
    tca: Tca
