"""What the desk holds at the broker: open positions per symbol, side and owner, and the account's figures.

Read from the broker as it reports them (profit and swap in the account's currency, never recomputed
here). A position is the console's when it carries the console's magic, as the position reconciliation
(app.engine.positions) tells them apart; the rest are foreign (manual trades, other experts). The
reconciliation's standing mismatch is marked on the console's lines of the symbols it concerns; a
mismatch on a symbol where the broker holds none of ours has no line and is listed on its own.
Nothing here sends anything or records anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from app.adapters.broker.types import Broker, BrokerPosition, SymbolSpec
from app.adapters.broker.volume import lots_to_units, plain
from app.domain.execution import utcnow
from app.engine.positions import PositionReconciler, SymbolPosition

ZERO = Decimal(0)
AVERAGE_EXTRA_DIGITS = 2  # an average price keeps two digits beyond the symbol's quote


@dataclass(frozen=True)
class PositionLine:
    """The open positions of one symbol, side and owner, summed (one position on a netting account)."""

    symbol: str
    direction: int  # 1 buy (long), -1 sell (short)
    ours: bool  # the console's magic; False: foreign
    lots: Decimal
    units: Decimal | None  # lots × contract size; None: the broker gives no contract size for the symbol
    average_price: Decimal  # the lots-weighted opening price
    current_price: Decimal  # where the broker would close them now
    profit: Decimal  # floating, in the account's currency, as the broker reports it
    swap: Decimal
    tickets: tuple[str, ...]
    mismatch: SymbolPosition | None = None  # the reconciliation's mismatch on the symbol (the console's lines)


@dataclass(frozen=True)
class PositionsView:
    read_at: datetime
    currency: str  # the account's: profit and swap are in it
    lines: tuple[PositionLine, ...]
    mismatches: tuple[SymbolPosition, ...]  # every standing mismatch, with a line or not
    reconciled_at: datetime | None  # the reconciliation pass the mismatches are from; None: none has run

    @property
    def profit(self) -> Decimal:
        return sum((line.profit for line in self.lines), ZERO)

    @property
    def swap(self) -> Decimal:
        return sum((line.swap for line in self.lines), ZERO)


def _average(positions: Sequence[BrokerPosition], spec: SymbolSpec | None) -> Decimal:
    lots = sum((p.lots for p in positions), ZERO)
    average = sum((p.lots * p.price_open for p in positions), ZERO) / lots
    if spec is None:
        return plain(average)
    return plain(average.quantize(Decimal(1).scaleb(-(spec.digits + AVERAGE_EXTRA_DIGITS))))


def _line(
    key: tuple[str, int, bool],
    positions: list[BrokerPosition],
    spec: SymbolSpec | None,
    mismatch: SymbolPosition | None,
) -> PositionLine:
    symbol, direction, ours = key
    lots = plain(sum((p.lots for p in positions), ZERO))
    return PositionLine(
        symbol=symbol,
        direction=direction,
        ours=ours,
        lots=lots,
        units=lots_to_units(lots, spec) if spec is not None else None,
        average_price=_average(positions, spec),
        current_price=positions[-1].price_current,  # one read: every position of a symbol and side has the same
        profit=sum((p.profit for p in positions), ZERO),
        swap=sum((p.swap for p in positions), ZERO),
        tickets=tuple(p.ticket for p in positions),
        mismatch=mismatch if ours else None,
    )


def group(
    positions: Sequence[BrokerPosition],
    magic: int,
    specs: dict[str, SymbolSpec | None],
    mismatches: Sequence[SymbolPosition] = (),
) -> list[PositionLine]:
    """One line per symbol, side and owner: the console's before the foreign, symbols in order, longs first."""
    by_key: dict[tuple[str, int, bool], list[BrokerPosition]] = {}
    for p in positions:
        by_key.setdefault((p.symbol, p.direction, p.magic == magic), []).append(p)
    mismatched = {m.symbol: m for m in mismatches}
    order = sorted(by_key, key=lambda k: (not k[2], k[0], -k[1]))
    return [_line(k, by_key[k], specs.get(k[0]), mismatched.get(k[0])) for k in order]


async def read_positions(broker: Broker, reconciler: PositionReconciler) -> PositionsView:
    """The broker's open positions now, with the reconciliation's standing verdict. Raises BrokerUnavailable."""
    positions = await broker.positions()
    account = await broker.account()
    specs = {s: await broker.symbol_spec(s) for s in sorted({p.symbol for p in positions})}
    mismatches = reconciler.mismatches
    last = reconciler.last
    return PositionsView(
        read_at=utcnow(),
        currency=account.currency,
        lines=tuple(group(positions, broker.magic, specs, mismatches)),
        mismatches=mismatches,
        reconciled_at=last.checked_at if last is not None else None,
    )
