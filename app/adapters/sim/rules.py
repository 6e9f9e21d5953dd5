"""The trade server's rules, as the MT5 help and the MQL5 reference state them: pure functions.

Execution modes (SYMBOL_TRADE_EXECUTION_*), MT5 help "Fill Policy":

    mode       Fill or Kill   Immediate or Cancel   Return
    Instant         +                 -                -
    Request         +                 -                -
    Market          +                 +        limit and stop-limit orders only
    Exchange        +                 +        market, limit and stop-limit orders

FOK and IOC also need the symbol's SYMBOL_FILLING_FOK / SYMBOL_FILLING_IOC flag (the scenario's
`filling_modes`); Return has no flag, the mode allows it. "return" in a symbol's `filling_modes` lets
the server take Return beyond the table too (a broker's own setting), except in Instant and Request
execution, which fill or kill.

Prices (MqlTradeRequest): Instant and Request execution need the request's price and honour its
`deviation` (points); Market and Exchange execution ignore the price. Instant fills at the current
price when it is within the deviation of the requested one; Request fills at the requested price,
the price the broker quoted and the trader confirmed, while the broker still quotes within the
deviation. Otherwise both answer 10004 REQUOTE with the broker's prices.

Pending orders (ENUM_ORDER_TYPE): a buy limit is placed below the ask and triggers when the ask
falls to it, a sell limit above the bid (bid rises to it), a buy stop above the ask (ask rises to
it), a sell stop below the bid (bid falls to it). A stop-limit's stop level is placed like a stop
and, once reached, places a limit order at its `stoplimit` price: below the stop level for a buy,
above it for a sell.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from app.adapters.mt5 import constants as c
from app.adapters.mt5.records import SYMBOL_FILLING_FOK, SYMBOL_FILLING_IOC, TradeOrder
from app.adapters.sim.market import Quote
from app.adapters.sim.scenario import SymbolSpec

EXECUTION_MODES: dict[str, int] = {
    "instant": c.SYMBOL_TRADE_EXECUTION_INSTANT,
    "request": c.SYMBOL_TRADE_EXECUTION_REQUEST,
    "market": c.SYMBOL_TRADE_EXECUTION_MARKET,
    "exchange": c.SYMBOL_TRADE_EXECUTION_EXCHANGE,
}
MARGIN_MODES: dict[str, int] = {
    "hedging": c.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING,
    "netting": c.ACCOUNT_MARGIN_MODE_RETAIL_NETTING,
}

MARKET = (c.ORDER_TYPE_BUY, c.ORDER_TYPE_SELL)
LIMITS = (c.ORDER_TYPE_BUY_LIMIT, c.ORDER_TYPE_SELL_LIMIT)
STOPS = (c.ORDER_TYPE_BUY_STOP, c.ORDER_TYPE_SELL_STOP)
STOP_LIMITS = (c.ORDER_TYPE_BUY_STOP_LIMIT, c.ORDER_TYPE_SELL_STOP_LIMIT)
PENDING = LIMITS + STOPS + STOP_LIMITS
TIME_TYPES = (c.ORDER_TIME_GTC, c.ORDER_TIME_DAY, c.ORDER_TIME_SPECIFIED, c.ORDER_TIME_SPECIFIED_DAY)
_FILL_OR_KILL = ("instant", "request")
_DAY = timedelta(days=1)


def dec(value: float) -> Decimal:
    """A float from a request or record as the decimal it was written as (0.95, not 0.9499999...)."""
    return Decimal(str(value))


def is_buy(order_type: int) -> bool:
    """BUY, BUY_LIMIT, BUY_STOP and BUY_STOP_LIMIT are the even order types."""
    return order_type % 2 == 0


# --- execution modes and filling policies ---------------------------------------------------------


def fillings(spec: SymbolSpec, order_type: int) -> frozenset[int]:
    """The ORDER_FILLING_* policies the server takes for an order of this type on this symbol."""
    listed = spec.filling_modes
    if spec.execution_mode in _FILL_OR_KILL:
        return frozenset({c.ORDER_FILLING_FOK})  # the scenario makes sure "fok" is listed
    taken = {f for name, f in (("fok", c.ORDER_FILLING_FOK), ("ioc", c.ORDER_FILLING_IOC)) if name in listed}
    by_mode = order_type in LIMITS + STOP_LIMITS or (spec.execution_mode == "exchange" and order_type in MARKET)
    if by_mode or "return" in listed:
        taken.add(c.ORDER_FILLING_RETURN)
    return frozenset(taken)


def filling_flags(spec: SymbolSpec) -> int:
    """SymbolInfo.filling_mode: the SYMBOL_FILLING_* flags of the policies the symbol offers (Return has none)."""
    offered = fillings(spec, c.ORDER_TYPE_BUY)
    return (SYMBOL_FILLING_FOK if c.ORDER_FILLING_FOK in offered else 0) | (
        SYMBOL_FILLING_IOC if c.ORDER_FILLING_IOC in offered else 0
    )


def needs_price(spec: SymbolSpec) -> bool:
    """Instant and Request execution trade at the request's price; Market and Exchange ignore it."""
    return spec.execution_mode in _FILL_OR_KILL


def touch(spec: SymbolSpec, buy: bool, quote: Quote, slippage_points: int) -> Decimal:
    """What a market execution gets: the ask for a buy, the bid for a sell, moved adversely by the slippage."""
    slip = slippage_points * spec.point
    return quote.ask + slip if buy else max(quote.bid - slip, spec.point)


def beyond_deviation(spec: SymbolSpec, requested: Decimal, price: Decimal, deviation: int) -> bool:
    return abs(price - requested) > deviation * spec.point


# --- pending orders -------------------------------------------------------------------------------


def placement_ok(order_type: int, price: Decimal, stoplimit: Decimal, quote: Quote) -> bool:
    """The order's price on the right side of the market (and a stop-limit's limit on the right side of its stop)."""
    if not price.is_finite() or price <= 0:
        return False
    if order_type == c.ORDER_TYPE_BUY_LIMIT:
        return price < quote.ask
    if order_type == c.ORDER_TYPE_SELL_LIMIT:
        return price > quote.bid
    if order_type == c.ORDER_TYPE_BUY_STOP:
        return price > quote.ask
    if order_type == c.ORDER_TYPE_SELL_STOP:
        return price < quote.bid
    if not stoplimit.is_finite() or stoplimit <= 0:
        return False
    if order_type == c.ORDER_TYPE_BUY_STOP_LIMIT:
        return price > quote.ask and stoplimit < price
    return price < quote.bid and stoplimit > price  # SELL_STOP_LIMIT


def triggered(order: TradeOrder, quote: Quote) -> bool:
    """The quote reached the order's price (its stop level for a stop-limit)."""
    price = dec(order.price_open)
    if order.type == c.ORDER_TYPE_BUY_LIMIT:
        return quote.ask <= price
    if order.type == c.ORDER_TYPE_SELL_LIMIT:
        return quote.bid >= price
    if order.type in (c.ORDER_TYPE_BUY_STOP, c.ORDER_TYPE_BUY_STOP_LIMIT):
        return quote.ask >= price
    return quote.bid <= price  # SELL_STOP, SELL_STOP_LIMIT


def activated(order: TradeOrder) -> TradeOrder:
    """A stop-limit whose stop level was reached: the limit order it places.

    The MQL5 reference says a limit order "is created"; it does not say under which ticket. Here it
    is the same order, turned into a limit at its stoplimit price with Return filling, so that one
    request keeps one ticket.
    """
    limit = c.ORDER_TYPE_BUY_LIMIT if is_buy(order.type) else c.ORDER_TYPE_SELL_LIMIT
    return order._replace(type=limit, price_open=order.price_stoplimit, type_filling=c.ORDER_FILLING_RETURN)


def stops_ok(buy: bool, sl: Decimal, tp: Decimal, reference: Decimal) -> bool:
    """Stop loss and take profit on the losing and winning sides of the price the position would close at."""
    if not (sl.is_finite() and tp.is_finite()) or sl < 0 or tp < 0:
        return False
    if buy:
        return (sl == 0 or sl < reference) and (tp == 0 or tp > reference)
    return (sl == 0 or sl > reference) and (tp == 0 or tp < reference)


def _end_of_day(t: float) -> float:
    day = datetime.fromtimestamp(t, tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day + _DAY).timestamp()


def expiry(type_time: int, setup: float, expiration: float) -> float | None:
    """When an order of this lifetime expires; None: good till cancelled.

    The simulated sessions run around the clock on UTC days, so ORDER_TIME_DAY ends at the next UTC
    midnight and ORDER_TIME_SPECIFIED_DAY at the end (23:59:59) of the expiration's UTC day.
    """
    if type_time == c.ORDER_TIME_DAY:
        return _end_of_day(setup)
    if type_time == c.ORDER_TIME_SPECIFIED:
        return expiration
    if type_time == c.ORDER_TIME_SPECIFIED_DAY:
        return _end_of_day(expiration)
    return None


def expiration_ok(type_time: int, expiration: int, now: float) -> bool:
    if type_time not in TIME_TYPES:
        return False
    if type_time in (c.ORDER_TIME_SPECIFIED, c.ORDER_TIME_SPECIFIED_DAY):
        when = expiry(type_time, now, expiration)
        return when is not None and when > now
    return True
