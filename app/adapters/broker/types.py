"""What the engine knows of a broker: symbols, quotes, orders and fills in its own terms.

Adapters translate their venue's answers into these; the engine never reads a venue's codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol


class TradeMode(StrEnum):
    FULL = "full"
    DISABLED = "disabled"
    LONG_ONLY = "longonly"
    SHORT_ONLY = "shortonly"
    CLOSE_ONLY = "closeonly"

    def allows(self, direction: int) -> bool:
        if self is TradeMode.FULL:
            return True
        if self is TradeMode.LONG_ONLY:
            return direction == 1
        if self is TradeMode.SHORT_ONLY:
            return direction == -1
        return False


@dataclass(frozen=True)
class SymbolSpec:
    name: str
    digits: int
    point: Decimal
    contract_size: Decimal
    volume_min: Decimal
    volume_step: Decimal
    volume_max: Decimal
    trade_mode: TradeMode
    volume_limit: Decimal = Decimal(0)  # 0: no limit on the total open volume

    @property
    def pip(self) -> Decimal:
        """A pip is 10 points on 5- and 3-digit quotes, one point otherwise (docs/CONTRACT.md §3)."""
        return self.point * 10 if self.digits in (3, 5) else self.point


@dataclass(frozen=True)
class Quote:
    bid: Decimal
    ask: Decimal
    time: datetime

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2


@dataclass(frozen=True)
class PreTradeSnapshot:
    """Everything step 1 needs from the broker, gathered in one hop to the broker thread."""

    symbol: str
    connected: bool
    trade_allowed: bool = True
    trade_disallowed_detail: str = ""
    spec: SymbolSpec | None = None
    lots: Decimal | None = None
    volume_error: str | None = None
    quote: Quote | None = None
    market_open: bool | None = None
    market_detail: str = ""
    margin_required: Decimal | None = None
    margin_free: Decimal | None = None
    liquidity_lots: Decimal | None = None  # None: the venue publishes no depth for the symbol


@dataclass(frozen=True)
class OrderRequest:
    tag: str  # execution id (+ "/n" for a completion order); travels in the order's comment
    symbol: str
    direction: int
    lots: Decimal
    price: Decimal  # the quote the order is sent against


class SendKind(StrEnum):
    FILLED = "filled"  # executed in full
    PARTIAL = "partial"  # executed in part; the remainder is cancelled by the venue
    PLACED = "placed"  # accepted, resting: poll it
    RETRYABLE = "retryable"  # provably not executed (requote, throttled): safe to send again
    AMBIGUOUS = "ambiguous"  # may have reached the broker: reconcile before anything else
    REJECTED = "rejected"  # final answer: never retried


@dataclass(frozen=True)
class Fill:
    deal: str
    lots: Decimal
    price: Decimal
    time: datetime


@dataclass(frozen=True)
class SendOutcome:
    kind: SendKind
    detail: str
    order: str | None = None
    fills: tuple[Fill, ...] = ()
    code: int | None = None  # the venue's own code, for the record only
    backoff: bool = False  # RETRYABLE because the venue asked us to slow down


class OrderState(StrEnum):
    OPEN = "open"
    # Final at the broker, but its deals do not yet add up to the volume it executed: not yet known.
    # Never read as a rejection; asked again until the deals are in.
    UNSETTLED = "unsettled"
    FILLED = "filled"
    PARTIAL = "partial"  # final with part of the volume executed
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def final(self) -> bool:
        """The order's outcome is known: nothing more will fill, and every deal of it is in."""
        return self not in (OrderState.OPEN, OrderState.UNSETTLED)


@dataclass(frozen=True)
class BrokerOrder:
    order: str
    tag: str
    symbol: str
    state: OrderState
    lots_requested: Decimal
    fills: tuple[Fill, ...] = field(default=())

    @property
    def lots_filled(self) -> Decimal:
        return sum((f.lots for f in self.fills), Decimal(0))


@dataclass(frozen=True)
class CancelOutcome:
    cancelled: bool
    detail: str
    order: BrokerOrder | None = None  # the order's state after the attempt, when known


@dataclass(frozen=True)
class BrokerPosition:
    """An open position at the broker, the console's (its magic) or anyone else's."""

    ticket: str
    symbol: str
    direction: int  # 1 buy, -1 sell
    lots: Decimal
    magic: int
    price_open: Decimal
    opened: datetime
    # As the terminal reports them: the price the position would close at now (a long at the bid, a short
    # at the ask), and its floating profit and accumulated swap in the account's currency.
    price_current: Decimal
    profit: Decimal
    swap: Decimal


@dataclass(frozen=True)
class BrokerAccount:
    """The trading account's figures as the terminal reports them, in the account's currency."""

    login: int
    currency: str
    margin_mode: str  # "hedging" (a position per order), "netting" (one per symbol) or "exchange"
    leverage: int
    balance: Decimal
    credit: Decimal
    profit: Decimal  # floating, over every open position
    equity: Decimal
    margin: Decimal
    margin_free: Decimal
    margin_level: Decimal | None  # percent; None while no margin is in use (the terminal then says 0)


@dataclass(frozen=True)
class BrokerDeal:
    """A buy or sell deal carrying the console's magic; its comment is the tag of the order it filled."""

    deal: str
    order: str
    symbol: str
    direction: int
    lots: Decimal
    price: Decimal
    time: datetime
    tag: str


class BrokerUnavailable(Exception):
    """The broker cannot be reached; nothing was sent."""


class Broker(Protocol):
    name: str
    magic: int  # carried by every order the console sends, and so by its deals and positions

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def is_connected(self) -> bool: ...

    async def pre_trade_snapshot(self, symbol: str, direction: int, units: Decimal) -> PreTradeSnapshot: ...

    async def quote(self, symbol: str) -> Quote | None: ...

    async def quote_at(self, symbol: str, when: datetime) -> Quote | None:
        """The latest tick at or before `when` from the broker's tick history; None when it has none."""
        ...

    async def symbol_spec(self, symbol: str) -> SymbolSpec | None: ...

    async def send_market_order(self, request: OrderRequest) -> SendOutcome: ...

    async def find_orders(self, tag_prefix: str, since: datetime) -> list[BrokerOrder]: ...

    async def open_orders(self) -> list[BrokerOrder]: ...

    async def order_status(self, order: str, since: datetime) -> BrokerOrder | None: ...

    async def cancel_order(self, order: str, since: datetime) -> CancelOutcome: ...

    async def positions(self) -> list[BrokerPosition]: ...

    async def account(self) -> BrokerAccount: ...

    async def deals(self, since: datetime) -> list[BrokerDeal]: ...


class SupervisedBroker(Broker, Protocol):
    """A broker whose link is watched (app.adapters.broker.connection): a cheap probe, and a fresh link when the
    terminal stopped answering."""

    async def probe(self, answer_within_s: float) -> tuple[bool, bool, str]: ...

    async def reconnect(self, answer_within_s: float) -> None: ...
