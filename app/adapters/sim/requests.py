"""Trade requests as order_send/order_check take them, and the trade server's answer texts.

The real package checks the request dict in the Python extension before anything reaches the
terminal: an unknown key or a value of the wrong type makes the call return None with last_error
(-2, 'Invalid "<key>" argument'). What is well-formed but wrong (unknown action, unknown symbol,
bad volume...) is answered by the trade server with a retcode instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_type_hints

from app.adapters.mt5 import constants as c
from app.adapters.mt5.records import TradeRequest

COMMENT_MAX = 31  # MT5 keeps 31 characters of an order/deal/position comment

# The trade server's comment for each retcode, as the MT5 terminal shows them.
RETCODE_COMMENTS: dict[int, str] = {
    c.TRADE_RETCODE_REQUOTE: "Requote",
    c.TRADE_RETCODE_REJECT: "Request rejected",
    c.TRADE_RETCODE_CANCEL: "Request canceled by trader",
    c.TRADE_RETCODE_PLACED: "Order placed",
    c.TRADE_RETCODE_DONE: "Request executed",
    c.TRADE_RETCODE_DONE_PARTIAL: "Request executed partially",
    c.TRADE_RETCODE_ERROR: "Request processing error",
    c.TRADE_RETCODE_TIMEOUT: "Request canceled by timeout",
    c.TRADE_RETCODE_INVALID: "Invalid request",
    c.TRADE_RETCODE_INVALID_VOLUME: "Invalid volume",
    c.TRADE_RETCODE_INVALID_PRICE: "Invalid price",
    c.TRADE_RETCODE_INVALID_STOPS: "Invalid stops",
    c.TRADE_RETCODE_TRADE_DISABLED: "Trade disabled",
    c.TRADE_RETCODE_MARKET_CLOSED: "Market closed",
    c.TRADE_RETCODE_NO_MONEY: "No money",
    c.TRADE_RETCODE_PRICE_CHANGED: "Prices changed",
    c.TRADE_RETCODE_PRICE_OFF: "Off quotes",
    c.TRADE_RETCODE_INVALID_EXPIRATION: "Invalid expiration",
    c.TRADE_RETCODE_ORDER_CHANGED: "Order state changed",
    c.TRADE_RETCODE_TOO_MANY_REQUESTS: "Too many requests",
    c.TRADE_RETCODE_NO_CHANGES: "No changes",
    c.TRADE_RETCODE_SERVER_DISABLES_AT: "AutoTrading disabled by server",
    c.TRADE_RETCODE_CLIENT_DISABLES_AT: "AutoTrading disabled by client",
    c.TRADE_RETCODE_LOCKED: "Request locked for processing",
    c.TRADE_RETCODE_FROZEN: "Order or position frozen",
    c.TRADE_RETCODE_INVALID_FILL: "Unsupported filling mode",
    c.TRADE_RETCODE_CONNECTION: "No connection",
    c.TRADE_RETCODE_ONLY_REAL: "Only real accounts allowed",
    c.TRADE_RETCODE_LIMIT_ORDERS: "Orders limit reached",
    c.TRADE_RETCODE_LIMIT_VOLUME: "Volume limit reached",
    c.TRADE_RETCODE_INVALID_ORDER: "Invalid order",
    c.TRADE_RETCODE_POSITION_CLOSED: "Position already closed",
    c.TRADE_RETCODE_INVALID_CLOSE_VOLUME: "Invalid close volume",
    c.TRADE_RETCODE_CLOSE_ORDER_EXIST: "Close order already exists",
    c.TRADE_RETCODE_LIMIT_POSITIONS: "Positions limit reached",
    c.TRADE_RETCODE_REJECT_CANCEL: "Pending order activation rejected",
    c.TRADE_RETCODE_LONG_ONLY: "Long positions only allowed",
    c.TRADE_RETCODE_SHORT_ONLY: "Short positions only allowed",
    c.TRADE_RETCODE_CLOSE_ONLY: "Only position closing allowed",
    c.TRADE_RETCODE_FIFO_CLOSE: "FIFO close rule",
}

# order_check answers 0 / 'Done' when the request would pass
CHECK_OK = 0
CHECK_OK_COMMENT = "Done"

# ENUM_ORDER_TYPE_FILLING -> the scenario's name for it
FILLING_NAMES: dict[int, str] = {
    c.ORDER_FILLING_FOK: "fok",
    c.ORDER_FILLING_IOC: "ioc",
    c.ORDER_FILLING_RETURN: "return",
    c.ORDER_FILLING_BOC: "boc",
}

# resolved types: records.py postpones annotations, so __annotations__ holds ForwardRefs
_KINDS: dict[str, type] = get_type_hints(TradeRequest)
_DEFAULTS: dict[str, Any] = {f: kind() for f, kind in _KINDS.items()}  # 0, 0.0 or ""


class RequestArgumentError(ValueError):
    """A request the Python extension itself refuses: the call answers None, last_error (-2, text)."""


def comment_for(retcode: int) -> str:
    return RETCODE_COMMENTS.get(retcode, f"Retcode {retcode}")


def truncate_comment(comment: str) -> str:
    return comment[:COMMENT_MAX]


def parse_request(request: Any) -> TradeRequest:
    """The request as a TradeRequest (absent fields 0/0.0/""), or RequestArgumentError."""
    if not isinstance(request, Mapping):
        raise RequestArgumentError('Invalid "request" argument')
    values: dict[str, Any] = {}
    for key, value in request.items():
        kind = _KINDS.get(key) if isinstance(key, str) else None
        if kind is None:
            raise RequestArgumentError(f'Invalid "{key}" argument')
        if kind is str:
            ok = isinstance(value, str)
        elif kind is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            value = float(value) if ok else value
        else:
            ok = isinstance(value, int) and not isinstance(value, bool)
        if not ok:
            raise RequestArgumentError(f'Invalid "{key}" argument')
        values[key] = value
    return TradeRequest(**{**_DEFAULTS, **values})
