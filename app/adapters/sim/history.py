"""copy_ticks_*, copy_rates_* and market_book_get of the simulated terminal, answered from the feed.

As the MetaTrader5 package answers them: numpy structured arrays with its field names and types,
oldest first; dates as datetime (its .timestamp(), so a naive one is local time, as the package
documentation warns) or int seconds, read as UTC. The chart keeps the latest MAX_BARS bars of each
timeframe (terminal_info().maxbars): a request reaching past them answers None with "Terminal: Invalid
params", as the terminal does. Tick requests are bounded by memory instead: past MAX_TICKS ticks the
answer is None with "Terminal: Out of memory". A bar's spread is the tightest of its ticks'; the feed
has quote ticks only (bid and ask, no last or volume), so COPY_TICKS_TRADE finds none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

import numpy as np
import numpy.typing as npt

from app.adapters.mt5 import constants as c
from app.adapters.mt5.records import BookInfo
from app.adapters.sim.feed import HISTORY_START, WEEK_START, Bars, Grain, is_open, reduce
from app.adapters.sim.market import Market, Quote
from app.adapters.sim.query import ArgumentError, check_int, check_str, seconds
from app.adapters.sim.scenario import SymbolSpec

MAX_BARS = 100_000
MAX_TICKS = 2_000_000  # 120 MB of ticks: the simulator's memory for one answer
BOOK_LEVELS = 10  # per side, as SymbolInfo.ticks_bookdepth says

TICK_DTYPE = np.dtype(
    [
        ("time", "<i8"),
        ("bid", "<f8"),
        ("ask", "<f8"),
        ("last", "<f8"),
        ("volume", "<u8"),
        ("time_msc", "<i8"),
        ("flags", "<u4"),
        ("volume_real", "<f8"),
    ]
)
RATE_DTYPE = np.dtype(
    [
        ("time", "<i8"),
        ("open", "<f8"),
        ("high", "<f8"),
        ("low", "<f8"),
        ("close", "<f8"),
        ("tick_volume", "<u8"),
        ("spread", "<i4"),
        ("real_volume", "<u8"),
    ]
)

Ints = npt.NDArray[np.int64]
Array = npt.NDArray[np.void]

INVALID_PARAMS = "Terminal: Invalid params"
CALL_FAILED = (c.RES_E_FAIL, "Terminal: Call failed")
OUT_OF_MEMORY = (c.RES_E_NO_MEMORY, "Terminal: Out of memory")


class Unavailable(Exception):
    """The call answers None with this last_error."""

    def __init__(self, error: tuple[int, str]) -> None:
        super().__init__(error[1])
        self.error = error


@dataclass(frozen=True)
class Timeframe:
    """Bars of `seconds` each counted from `offset` (W1: from a Sunday), or calendar months (seconds 0)."""

    seconds: int
    offset: int = 0

    def start(self, t: Ints) -> Ints:
        """The opening time (s) of the bar holding each t (s)."""
        if not self.seconds:
            return _epoch(_months(t))
        return (t - self.offset) // self.seconds * self.seconds + self.offset

    def end(self, start: Ints) -> Ints:
        if not self.seconds:
            return _epoch(_months(start) + 1)
        return start + self.seconds

    def back(self, newest: int, oldest: int, most: int) -> Ints:
        """Opening times of the bars from `newest` back to `oldest` (both opening times), at most `most`,
        oldest first."""
        if not self.seconds:
            first, last = _months(np.array([oldest, newest]))
            return _epoch(np.arange(max(first, last - most + 1), last + 1))
        count = min((newest - oldest) // self.seconds + 1, most)
        return newest - self.seconds * np.arange(count - 1, -1, -1, dtype=np.int64)


def _months(t: Ints) -> npt.NDArray[np.datetime64]:
    """The calendar month of each t (s)."""
    return t.astype("datetime64[s]").astype("datetime64[M]")


def _epoch(months: npt.NDArray[np.datetime64]) -> Ints:
    """When (s) each month begins."""
    return months.astype("datetime64[s]").astype(np.int64)


TIMEFRAMES: dict[int, Timeframe] = {
    **{getattr(c, f"TIMEFRAME_M{m}"): Timeframe(60 * m) for m in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)},
    **{getattr(c, f"TIMEFRAME_H{h}"): Timeframe(3600 * h) for h in (1, 2, 3, 4, 6, 8, 12)},
    c.TIMEFRAME_D1: Timeframe(86_400),
    c.TIMEFRAME_W1: Timeframe(7 * 86_400, WEEK_START),
    c.TIMEFRAME_MN1: Timeframe(0),
}


class MarketData:
    """One call's view of the market: the feed, the Market Watch, and the clock."""

    def __init__(self, market: Market, specs: Mapping[str, SymbolSpec], hidden: set[str], now: float) -> None:
        self._market = market
        self._specs = specs
        self._hidden = hidden
        self._now = now

    # --- bars -----------------------------------------------------------------------------------------

    def rates_from(self, symbol: object, timeframe: object, date_from: object, count: object) -> Array:
        """`count` bars opening at or before date_from, the newest last."""
        tf, spec = self._timeframe(timeframe), self._symbol(symbol)
        when, wanted = seconds(date_from, "date_from"), check_int(count, "count")
        if wanted is None or not 0 < wanted <= MAX_BARS:
            raise ArgumentError(INVALID_PARAMS)
        held = self._held(spec, tf)
        newest = int(np.searchsorted(held, when, side="right"))
        if len(held) - newest + wanted > MAX_BARS:  # reaches past the bars the chart holds
            raise ArgumentError(INVALID_PARAMS)
        return self._rates(spec, tf, held[max(newest - wanted, 0) : newest])

    def rates_from_pos(self, symbol: object, timeframe: object, start_pos: object, count: object) -> Array:
        """`count` bars from position start_pos back (0: the current bar), the newest last."""
        tf, spec = self._timeframe(timeframe), self._symbol(symbol)
        start, wanted = check_int(start_pos, "start_pos"), check_int(count, "count")
        if start is None or wanted is None or start < 0 or wanted <= 0 or start + wanted > MAX_BARS:
            raise ArgumentError(INVALID_PARAMS)
        held = self._held(spec, tf)
        newest = len(held) - start
        return self._rates(spec, tf, held[max(newest - wanted, 0) : max(newest, 0)])

    def rates_range(self, symbol: object, timeframe: object, date_from: object, date_to: object) -> Array:
        """The bars opening from date_from to date_to, both included."""
        tf, spec = self._timeframe(timeframe), self._symbol(symbol)
        first, last = seconds(date_from, "date_from"), seconds(date_to, "date_to")
        held = self._held(spec, tf)
        if len(held) == MAX_BARS and first < held[0]:
            raise ArgumentError(INVALID_PARAMS)
        return self._rates(spec, tf, held[(held >= first) & (held <= last)])

    def _held(self, spec: SymbolSpec, tf: Timeframe) -> Ints:
        """Opening times of the bars the chart holds, oldest first: those with ticks, the latest MAX_BARS."""
        feed = self._market.feed
        last = feed.last_tick(spec.name, self._now)[0] // 1000
        if last < HISTORY_START:
            return np.zeros(0, dtype=np.int64)
        newest, oldest = (int(t) for t in tf.start(np.array([last, HISTORY_START])))
        # 5 days of 7 trade: half again as many slots hold MAX_BARS bars with ticks, whatever the ends
        slots = tf.back(newest, oldest, MAX_BARS * 3 // 2)
        ends = tf.end(slots)
        hours = slots[:, None] // 3600 + np.arange(int((ends - slots).max()) // 3600 + 1)
        has_ticks = (is_open(hours, self._now) & (hours * 3600 < ends[:, None])).any(axis=1)
        anchors = np.array([t // 1000 for t in feed.anchors(spec.name) if t // 1000 <= last], dtype=np.int64)
        has_ticks |= np.isin(slots, tf.start(anchors))
        held: Ints = slots[has_ticks][-MAX_BARS:]
        return held

    def _rates(self, spec: SymbolSpec, tf: Timeframe, slots: Ints) -> Array:
        out = np.zeros(len(slots), dtype=RATE_DTYPE)
        if not len(slots):
            return out
        # bars of an hour or more never split an hour: whole hours are pieces enough
        grain = Grain.HOUR if tf.seconds % 3600 == 0 else Grain.MINUTE
        first, last = int(slots[0]) * 1000, int(tf.end(slots[-1:])[0]) * 1000 - 1
        parts = [self._bars(tf, p) for p in self._market.feed.pieces(spec.name, first, last, self._now, grain)]
        bars = self._bars(tf, Bars.join(parts))
        scale = 10.0**spec.digits
        out["time"] = bars.time // 1000
        for field, values in (("open", bars.open), ("high", bars.high), ("low", bars.low), ("close", bars.close)):
            out[field] = values / scale
        out["tick_volume"] = bars.n
        out["spread"] = bars.spread
        return out

    @staticmethod
    def _bars(tf: Timeframe, pieces: Bars) -> Bars:
        return reduce(pieces, tf.start(pieces.time // 1000) * 1000)

    # --- ticks ----------------------------------------------------------------------------------------

    def ticks_from(self, symbol: object, date_from: object, count: object, flags: object) -> Array:
        """The first `count` ticks at or after date_from."""
        spec, wanted, trade_only = self._symbol(symbol), check_int(count, "count"), self._trade_only(flags)
        first = seconds(date_from, "date_from") * 1000
        if wanted is None or wanted < 0:
            raise ArgumentError(INVALID_PARAMS)
        if trade_only or not wanted:
            return np.zeros(0, dtype=TICK_DTYPE)
        feed = self._market.feed
        end = feed.horizon(spec.name, self._now)
        if wanted > MAX_TICKS:
            self._fits(spec, first, end)
        parts: list[Bars] = []
        for batch in feed.pieces(spec.name, first, end, self._now, Grain.TICK):
            parts.append(batch)
            if sum(len(p.time) for p in parts) >= wanted:
                break
        return self._ticks(spec, Bars.join(parts).pick(slice(0, wanted)) if parts else None)

    def ticks_range(self, symbol: object, date_from: object, date_to: object, flags: object) -> Array:
        """The ticks from date_from to date_to, both included (to the second)."""
        spec, trade_only = self._symbol(symbol), self._trade_only(flags)
        first, last = seconds(date_from, "date_from") * 1000, seconds(date_to, "date_to") * 1000
        if trade_only:
            return np.zeros(0, dtype=TICK_DTYPE)
        self._fits(spec, first, last)
        parts = list(self._market.feed.pieces(spec.name, first, last, self._now, Grain.TICK))
        return self._ticks(spec, Bars.join(parts) if parts else None)

    def _fits(self, spec: SymbolSpec, first: int, last: int) -> None:
        """Counted by the hour, without making the ticks."""
        feed = self._market.feed
        total = sum(int(p.n.sum()) for p in feed.pieces(spec.name, first, last, self._now, Grain.HOUR))
        if total > MAX_TICKS:
            raise Unavailable(OUT_OF_MEMORY)

    @staticmethod
    def _trade_only(flags: object) -> bool:
        """COPY_TICKS_ALL, COPY_TICKS_INFO, COPY_TICKS_TRADE or INFO | TRADE: True when only trade ticks
        (Last and Volume changes) are asked for."""
        kind = check_int(flags, "flags")
        if kind == c.COPY_TICKS_ALL:
            return False
        if kind is None or not 0 < kind <= c.COPY_TICKS_INFO | c.COPY_TICKS_TRADE:
            raise ArgumentError(INVALID_PARAMS)
        return not kind & c.COPY_TICKS_INFO

    @staticmethod
    def _ticks(spec: SymbolSpec, ticks: Bars | None) -> Array:
        if ticks is None:
            return np.zeros(0, dtype=TICK_DTYPE)
        out = np.zeros(len(ticks.time), dtype=TICK_DTYPE)
        scale = 10.0**spec.digits
        out["time"] = ticks.time // 1000
        out["bid"] = ticks.open / scale
        out["ask"] = (ticks.open + ticks.spread) / scale
        out["time_msc"] = ticks.time
        out["flags"] = c.TICK_FLAG_BID | c.TICK_FLAG_ASK  # every tick is a quote, as symbol_info_tick's
        return out

    # --- arguments --------------------------------------------------------------------------------------

    def _symbol(self, symbol: object) -> SymbolSpec:
        name = check_str(symbol, "symbol")
        spec = self._specs.get(name or "")
        if spec is None or spec.name in self._hidden:
            raise Unavailable(CALL_FAILED)
        return spec

    @staticmethod
    def _timeframe(timeframe: object) -> Timeframe:
        tf = TIMEFRAMES.get(check_int(timeframe, "timeframe") or 0)
        if tf is None:
            raise ArgumentError(INVALID_PARAMS)
        return tf


def depth(spec: SymbolSpec, quote: Quote) -> tuple[BookInfo, ...]:
    """The book as the terminal lists it: the sell side from its highest price down to the ask, then the
    buy side from the bid down, one point apart. The symbol's liquidity is spread over each side, more
    of it further from the touch, and each side sums to exactly liquidity_lots: what a market order on
    the simulator can take (the engine's liquidity check reads it so)."""
    lots = spec.liquidity_lots
    weights = range(1, BOOK_LEVELS + 1)
    total = sum(weights)
    volumes = [(lots * w / total).quantize(Decimal("0.01"), ROUND_DOWN) for w in weights[:-1]]
    volumes.append(lots - sum(volumes, Decimal(0)))  # the deepest level takes what rounding left

    def side(kind: int, price: Callable[[int], Decimal], levels: int) -> list[BookInfo]:
        shares = [*volumes[: levels - 1], sum(volumes[levels - 1 :], Decimal(0))]
        return [
            BookInfo(type=kind, price=float(price(k)), volume=int(v), volume_dbl=float(v)) for k, v in enumerate(shares)
        ]

    # a buy level needs a positive price: a quote near zero has fewer of them
    buy_levels = max(1, min(BOOK_LEVELS, int((quote.bid / spec.point).to_integral_value())))
    sells = side(c.BOOK_TYPE_SELL, lambda k: quote.ask + k * spec.point, BOOK_LEVELS)
    buys = side(c.BOOK_TYPE_BUY, lambda k: quote.bid - k * spec.point, buy_levels)
    return (*reversed(sells), *buys)
