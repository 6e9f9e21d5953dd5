"""Quotes of the simulated market, currency conversion and the MT5 margin/profit formulas.

Quotes are Decimal and always rounded to the symbol's digits. A quote is the latest tick of the
simulated feed (app/adapters/sim/feed.py), so it continues the history that copy_ticks_*/copy_rates_* answer;
with `random_walk` it moves as a deterministic function of time, so the same clock gives the same
prices, also across restarts, and no state needs to be kept.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from app.adapters.sim.feed import Feed
from app.adapters.sim.scenario import AccountSpec, Scenario, SymbolSpec

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Quote:
    bid: Decimal
    ask: Decimal
    time: float  # of the feed's tick it is (at or before the clock less the tick age)


def money(value: Decimal) -> Decimal:
    """Account-currency amounts have 2 decimals (AccountInfo.currency_digits)."""
    return value.quantize(CENT, ROUND_HALF_UP)


def cross_rate(mids: Mapping[tuple[str, str], Decimal], ccy_from: str, ccy_to: str) -> Decimal | None:
    """Units of ccy_to per unit of ccy_from, through the quoted pairs (direct, inverse or via others)."""
    if ccy_from == ccy_to:
        return Decimal(1)
    edges: dict[str, list[tuple[str, Decimal]]] = {}
    for (base, profit), mid in mids.items():
        if mid > 0:
            edges.setdefault(base, []).append((profit, mid))
            edges.setdefault(profit, []).append((base, 1 / mid))
    # breadth first: the fewest conversions, as a broker would quote a cross
    seen = {ccy_from}
    queue: deque[tuple[str, Decimal]] = deque([(ccy_from, Decimal(1))])
    while queue:
        ccy, rate = queue.popleft()
        for nxt, r in edges.get(ccy, []):
            if nxt == ccy_to:
                return rate * r
            if nxt not in seen:
                seen.add(nxt)
                queue.append((nxt, rate * r))
    return None


class Market:
    """Current quotes, the test hook set_quote(), and conversions between currencies."""

    def __init__(self, scenario: Scenario) -> None:
        self._symbols = scenario.symbols
        self._walk = scenario.behaviour.random_walk
        self.feed = Feed(scenario)
        # mids of every pair at one instant: conversions are asked for many times per call
        self._mids_at: tuple[float, dict[tuple[str, str], Decimal]] | None = None
        self.version = 0  # bumped whenever a quote is set: what was derived from quotes is stale

    @property
    def moving(self) -> bool:
        """Quotes change with time (random walk): nothing derived from them keeps."""
        return self._walk

    def set_quote(self, symbol: str, bid: Decimal, ask: Decimal, now: float) -> None:
        """From `now` the quote is bid/ask (a random walk continues from there).

        Not checked: a test may set a crossed or zero quote to see the caller catch it.
        """
        spec = self._symbols[symbol]
        bid_points = int(bid.quantize(spec.point, ROUND_HALF_UP).scaleb(spec.digits))
        ask_points = int(ask.quantize(spec.point, ROUND_HALF_UP).scaleb(spec.digits))
        self.feed.set_quote(symbol, bid_points, ask_points - bid_points, now)
        self._mids_at = None
        self.version += 1

    def quote(self, symbol: str, now: float) -> Quote:
        digits = self._symbols[symbol].digits
        at, bid, spread = self.feed.last_tick(symbol, now)
        # mid-millisecond: int(time * 1000) gives the tick's time_msc back whatever the float's rounding
        return Quote(Decimal(bid).scaleb(-digits), Decimal(bid + spread).scaleb(-digits), (at + 0.5) / 1000)

    def rate(self, ccy_from: str, ccy_to: str, now: float) -> Decimal | None:
        """Conversion at the mids of the current quotes."""
        if self._mids_at is None or self._mids_at[0] != now:
            mids: dict[tuple[str, str], Decimal] = {}
            for name, spec in self._symbols.items():
                pair = (spec.currency_base, spec.currency_profit)
                if pair not in mids:
                    q = self.quote(name, now)
                    mids[pair] = (q.bid + q.ask) / 2
            self._mids_at = (now, mids)
        return cross_rate(self._mids_at[1], ccy_from, ccy_to)

    def margin(
        self, spec: SymbolSpec, account: AccountSpec, volume: Decimal, price: Decimal, now: float
    ) -> Decimal | None:
        """MT5 Forex margin: lots * contract / leverage in the base currency, then in the account's.

        The symbol converts its own base currency at `price` (EURUSD on a USD account:
        lots * contract * price / leverage); other conversions use current mids.
        """
        notional = volume * spec.contract_size
        if spec.currency_base == account.currency:
            value = notional
        elif spec.currency_profit == account.currency:
            value = notional * price
        else:
            r = self.rate(spec.currency_base, account.currency, now)
            if r is None:
                return None
            value = notional * r
        return money(value / account.leverage)

    def profit(
        self,
        spec: SymbolSpec,
        account: AccountSpec,
        buy: bool,
        volume: Decimal,
        price_open: Decimal,
        price_close: Decimal,
        now: float,
    ) -> Decimal | None:
        """Profit in the account currency; the symbol converts its own profit currency at price_close."""
        diff = price_close - price_open if buy else price_open - price_close
        value = diff * volume * spec.contract_size
        if spec.currency_profit == account.currency:
            pass
        elif spec.currency_base == account.currency:
            if price_close <= 0:
                return None
            value = value / price_close
        else:
            r = self.rate(spec.currency_profit, account.currency, now)
            if r is None:
                return None
            value = value * r
        return money(value)

    def tick_value(self, spec: SymbolSpec, account: AccountSpec, now: float) -> Decimal:
        """Value of a one-point move of one lot in the account currency (SymbolInfo.trade_tick_value)."""
        value = spec.point * spec.contract_size
        if spec.currency_profit == account.currency:
            return value
        if spec.currency_base == account.currency:
            q = self.quote(spec.name, now)
            return value / ((q.bid + q.ask) / 2)
        r = self.rate(spec.currency_profit, account.currency, now)
        return value * r if r is not None else Decimal(0)
