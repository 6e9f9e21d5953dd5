"""The simulator as the `MetaTrader5` module, for code written against `import MetaTrader5 as mt5`.

What the 5.0.6231 package offers, by the same names: its constants, the functions of its C extension
(answered by a SimulatedTerminal), the record types the extension defines, __version__ and
__author__, and the package's Python helpers Buy, Sell, Close and _RawOrder, which behave as the
package's do: market deals with a deviation of 10 points, at a fresh price up to ten times while the
server answers requote or off quotes, each through the module's own order_send (docs/CONTRACT.md §6a).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.adapters.mt5 import constants as c
from app.adapters.mt5 import records
from app.adapters.sim.arguments import ARGUMENTS
from app.adapters.sim.scenario import load_scenario
from app.adapters.sim.terminal import SimulatedTerminal

RECORDS = (
    records.TradePosition,
    records.TradeOrder,
    records.TradeDeal,
    records.TradeRequest,
    records.OrderSendResult,
    records.OrderCheckResult,
    records.Tick,
    records.TerminalInfo,
    records.SymbolInfo,
    records.AccountInfo,
    records.BookInfo,
)
TRIES = 10
DEVIATION = 10  # points
RETRY = (c.TRADE_RETCODE_REQUOTE, c.TRADE_RETCODE_PRICE_OFF)


def open_terminal(scenario: str | Path | None = None) -> types.ModuleType:
    """A fresh simulated terminal per the scenario file (the defaults for None), as the module.

    Its state is in memory unless the scenario names a state_file. A scenario that cannot be read
    raises ValueError or OSError."""
    return module_of(SimulatedTerminal(load_scenario(scenario)))


def module_of(terminal: SimulatedTerminal) -> types.ModuleType:
    """The module that answers through this terminal."""
    mt5 = types.ModuleType("MetaTrader5")
    mt5.__version__ = terminal.__version__  # type: ignore[attr-defined]
    mt5.__author__ = terminal.__author__  # type: ignore[attr-defined]
    for name, value in vars(c).items():
        if name.isupper():
            setattr(mt5, name, value)
    for name in ARGUMENTS:
        setattr(mt5, name, getattr(terminal, name))
    for record in RECORDS:
        setattr(mt5, record.__name__, record)
    for name, helper in _helpers(mt5).items():
        setattr(mt5, name, helper)
    return mt5


def _helpers(mt5: Any) -> dict[str, Callable[..., Any]]:
    """Buy, Sell, Close and _RawOrder, each calling the functions the module holds when called."""

    def _RawOrder(
        order_type: int, symbol: str, volume: float, price: float, comment: str | None = None, ticket: int | None = None
    ) -> Any:
        return _raw_order(mt5, order_type, symbol, volume, price, comment, ticket)

    def Buy(
        symbol: str, volume: float, price: float | None = None, *, comment: str | None = None, ticket: int | None = None
    ) -> Any:
        if price is not None:
            return _raw_order(mt5, c.ORDER_TYPE_BUY, symbol, volume, price, comment, ticket)
        return _at_market(mt5, c.ORDER_TYPE_BUY, symbol, volume, comment, ticket)

    def Sell(
        symbol: str, volume: float, price: float | None = None, *, comment: str | None = None, ticket: int | None = None
    ) -> Any:
        if price is not None:
            return _raw_order(mt5, c.ORDER_TYPE_SELL, symbol, volume, price, comment, ticket)
        return _at_market(mt5, c.ORDER_TYPE_SELL, symbol, volume, comment, ticket)

    def Close(symbol: str, *, comment: str | None = None, ticket: int | None = None) -> bool | str | None:
        """Close the symbol's buy and sell positions (the one of that ticket): True when every one
        closed, "Partially" when some did, False when none did, None when a tick or an answer is missing."""
        return _close(mt5, symbol, comment, ticket)

    return {"_RawOrder": _RawOrder, "Buy": Buy, "Sell": Sell, "Close": Close}


def _raw_order(
    mt5: Any, order_type: int, symbol: str, volume: float, price: float, comment: str | None, ticket: int | None
) -> Any:
    request: dict[str, Any] = {
        "action": c.TRADE_ACTION_DEAL,
        "symbol": symbol,
        "volume": volume,
        "type": order_type,
        "price": price,
        "deviation": DEVIATION,
    }
    if comment is not None:
        request["comment"] = comment
    if ticket is not None:
        request["position"] = ticket
    return mt5.order_send(request)


def _at_market(
    mt5: Any,
    order_type: int,
    symbol: str,
    volume: float,
    comment: str | None,
    ticket: int | None,
    *,
    closing: bool = False,
) -> Any:
    """The last answer: the first that is neither requote nor off quotes, a None, or the tenth."""
    result = None
    for _ in range(TRIES):
        tick = mt5.symbol_info_tick(symbol)
        if tick is None and closing:
            return None
        # Buy and Sell read the tick regardless: without one they fail on it, as the package's do
        price = tick.ask if order_type == c.ORDER_TYPE_BUY else tick.bid
        result = _raw_order(mt5, order_type, symbol, volume, price, comment, ticket)
        if result is None or result.retcode not in RETRY:
            return result
    return result


def _close(mt5: Any, symbol: str, comment: str | None, ticket: int | None) -> bool | str | None:
    positions = mt5.positions_get(ticket=ticket) if ticket is not None else mt5.positions_get(symbol=symbol)
    tried = done = 0
    for position in positions:
        if position.type not in (c.ORDER_TYPE_BUY, c.ORDER_TYPE_SELL):
            continue
        tried += 1
        opposite = c.ORDER_TYPE_SELL if position.type == c.ORDER_TYPE_BUY else c.ORDER_TYPE_BUY
        result = _at_market(mt5, opposite, symbol, position.volume, comment, position.ticket, closing=True)
        if result is None:
            return None
        done += result.retcode == c.TRADE_RETCODE_DONE
    if done == 0:
        return False
    return True if done == tried else "Partially"
