"""How the MetaTrader5 package reads the arguments of each of its functions (5.0.6231).

The documentation (mql5.com, "Python Integration", a page per function) shows the call forms only;
what a wrong call does was read off the package's C extension itself (_core.cp311-win_amd64.pyd of
the 5.0.6231 wheel): its method table gives each function's CPython calling convention, and the code
of each function its checks, their order and its texts (the strings of the .pyd). What it does:

* shutdown, version, terminal_info, account_info, positions_total, orders_total, symbols_total and
  last_error take no arguments (METH_NOARGS): any argument is CPython's TypeError, raised.
* symbol_info, symbol_info_tick, symbol_select, market_book_add/get/release, order_calc_margin,
  order_calc_profit, history_orders_total, history_deals_total and copy_* take positional arguments
  only (METH_VARARGS): a keyword is CPython's TypeError ("symbol_info_tick() takes no keyword
  arguments"), raised.
* Everything else the extension checks itself, before anything reaches the terminal (so a wrong call
  before initialize() says so, not "No IPC connection"): the call answers None, or False for
  initialize, login, symbol_select and symbols_get, with (-2, text) in last_error; the texts are
  "Invalid arguments", "Invalid number of arguments", "Unnamed arguments not allowed", "Invalid 1st
  unnamed argument", 'Invalid "ticket" argument' and the like. positions_get("EURUSD") is one.
* Where the extension leaves a value to CPython's converters (PyArg_ParseTuple's "i", "k" and "d" in
  copy_* and order_calc_*; PyLong_AsUnsigned* for tickets, logins and timeouts) and the conversion
  fails, the extension still sets (-2, text) and answers, with CPython's TypeError or OverflowError
  pending, which the interpreter turns into SystemError("<built-in function …> returned a result with
  an exception set"): raised, e.g. copy_rates_from("EURUSD", TIMEFRAME_M1, date, 10.0) or
  positions_get(ticket=-1).
* Also kept: positions_get/orders_get filter by one keyword only, ticket before symbol before group;
  keywords the function does not know are ignored; history_orders_get/history_deals_get take the two
  dates positionally (with group=), otherwise ticket= or position= alone; order_send/order_check take
  the request as one dict or as keywords; symbols_get answers False to bad arguments, and
  market_book_add/market_book_release None; names are refused past the extension's buffers (a symbol
  of 30 UTF-16 units or more, a group of 1998...).

Not mirrored: the package keeps a date in 32 bits (PyLong_AsLong of a Windows long, cvttsd2si into a
32-bit register), so an int date past 2038-01-19 ends in SystemError and a later datetime or float
reads as -2**31; the simulator reads every date as given.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.adapters.sim.query import ArgumentError

Call = tuple[tuple[Any, ...], dict[str, Any]]  # the body's positional and keyword arguments
Reader = Callable[[tuple[Any, ...], dict[str, Any]], Call]

INVALID = "Invalid arguments"
COUNT = "Invalid number of arguments"
UNNAMED = "Unnamed arguments not allowed"

# the extension's buffers in UTF-16 units, the terminating NUL included
SYMBOL = 31
GROUP = 1999
CREDENTIAL = 255
PATH = 259

C_INT = 1 << 31  # C int and long are 32 bits on Windows


class Leaked(ArgumentError):
    """Refused with a CPython conversion error left pending: the interpreter raises SystemError."""

    def __init__(self, message: str, cause: Exception) -> None:
        super().__init__(message)
        self.cause = cause

    def raised(self, function: str) -> SystemError:
        """What the interpreter raises instead of the answer (its cause: self.cause)."""
        return SystemError(f"<built-in function {function}> returned a result with an exception set")


def _text(value: object, units: int, message: str) -> str:
    if not isinstance(value, str) or len(value.encode("utf-16-le", "surrogatepass")) // 2 + 1 >= units:
        raise ArgumentError(message)
    return value


def _unsigned(value: object, bits: int, message: str) -> int:
    if not isinstance(value, int):  # bool is an int to CPython too
        raise ArgumentError(message)
    if value < 0:
        raise Leaked(message, OverflowError("can't convert negative int to unsigned"))
    if value >= 1 << bits:
        raise Leaked(message, OverflowError("int too big to convert"))
    return int(value)


def _c_int(value: int) -> int:
    if not -C_INT <= value < C_INT:
        raise Leaked(INVALID, OverflowError("signed integer is greater than maximum"))
    return value


def _truncated(value: float) -> int:
    return int(value) if math.isfinite(value) else -C_INT  # what the x86 conversion makes of NaN


def _seconds(value: object) -> int:
    """A date as the extension takes it: int seconds, a float, or a datetime through its .timestamp()."""
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _truncated(value)
    if isinstance(value, datetime):
        return _truncated(value.timestamp())
    raise ArgumentError(INVALID)


def _symbol(value: object) -> str:
    return _text(value, SYMBOL, INVALID)


def _same(value: Any) -> Any:
    return value


# PyArg_ParseTuple's format units, as the extension's formats use them
def _unit_int(value: object, position: int) -> int:
    try:
        return _c_int(operator.index(value))  # type: ignore[arg-type]
    except TypeError as exc:
        raise Leaked(INVALID, exc) from None


def _unit_bits(value: object, position: int) -> int:
    if not isinstance(value, int):
        raise Leaked(INVALID, TypeError(f"argument {position} must be int, not {type(value).__name__}"))
    return value & 0xFFFFFFFF  # "k": an unsigned long, masked rather than checked


def _unit_double(value: object, position: int) -> float:
    kind = type(value)
    if not (hasattr(kind, "__float__") or hasattr(kind, "__index__")):
        raise Leaked(INVALID, TypeError(f"must be real number, not {kind.__name__}"))
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError) as exc:
        raise Leaked(INVALID, exc) from None


UNITS: dict[str, Callable[[object, int], Any]] = {
    "O": lambda value, _position: value,
    "i": _unit_int,
    "k": _unit_bits,
    "d": _unit_double,
    "p": lambda value, _position: bool(value),
}


def _no_arguments(name: str) -> Reader:
    def read(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
        if kwargs:
            raise TypeError(f"MetaTrader5._core.{name}() takes no keyword arguments")
        if args:
            raise TypeError(f"MetaTrader5._core.{name}() takes no arguments ({len(args)} given)")
        return (), {}

    return read


def _positional(name: str, units: str, *checks: Callable[[Any], Any]) -> Reader:
    """Exactly len(units) positional arguments, converted as PyArg_ParseTuple(units), then checked."""

    def read(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
        if kwargs:
            raise TypeError(f"{name}() takes no keyword arguments")
        if len(args) != len(units):
            raise ArgumentError(INVALID)
        values = [UNITS[unit](value, i) for i, (unit, value) in enumerate(zip(units, args, strict=True), 1)]
        return tuple(check(value) for check, value in zip(checks, values, strict=True)), {}

    return read


def _symbol_select(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
    if len(args) == 1:  # enable defaults to True
        return _positional("symbol_select", "O", _symbol)(args, kwargs)
    return _positional("symbol_select", "Op", _symbol, _same)(args, kwargs)


def _filter(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
    """positions_get/orders_get: keywords only, and only the first of ticket, symbol, group given."""
    if args:
        raise ArgumentError(UNNAMED)
    if "ticket" in kwargs:
        return (), {"ticket": _unsigned(kwargs["ticket"], 64, 'Invalid "ticket" argument')}
    if "symbol" in kwargs:
        return (), {"symbol": _text(kwargs["symbol"], SYMBOL, 'Invalid "symbol" argument')}
    if "group" in kwargs:
        return (), {"group": _text(kwargs["group"], GROUP, 'Invalid "group" argument')}
    return (), {}


def _history(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
    """history_*_get: (date_from, date_to[, group=]) or ticket= or position=; other keywords ignored."""
    if len(args) == 2:
        span = (_seconds(args[0]), _seconds(args[1]))
        if "group" in kwargs:
            return span, {"group": _text(kwargs["group"], GROUP, 'Invalid "group" argument')}
        return span, {}
    for key in ("ticket", "position"):
        if key in kwargs:
            if args:
                raise ArgumentError(UNNAMED)
            return (), {key: _unsigned(kwargs[key], 64, f'Invalid "{key}" argument')}
    raise ArgumentError(INVALID)


def _request(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
    """order_send/order_check: the request as one dict, or its fields as keywords."""
    if kwargs:
        if args:
            raise ArgumentError(UNNAMED)
        request: object = dict(kwargs)
    elif len(args) != 1:
        raise ArgumentError(COUNT)
    else:
        request = args[0]
    if not isinstance(request, dict):
        raise ArgumentError(INVALID)
    return (request,), {}


def _symbols_get(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
    if len(args) > 1:
        raise ArgumentError(COUNT)
    group = _text(args[0], GROUP, "Invalid 1st unnamed argument") if args else ""
    if "group" in kwargs:
        group = _text(kwargs["group"], GROUP, 'Invalid "group" argument')
    return (group or None,), {}  # an empty group is every symbol


def _keyword(kwargs: dict[str, Any], key: str, read: Callable[[object, str], Any]) -> Any:
    return read(kwargs[key], f'Invalid "{key}" argument') if key in kwargs else None


def _credentials(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {
        "login": _keyword(kwargs, "login", lambda v, m: _unsigned(v, 64, m)),
        "server": _keyword(kwargs, "server", lambda v, m: _text(v, CREDENTIAL, m)),
        "password": _keyword(kwargs, "password", lambda v, m: _text(v, CREDENTIAL, m)),
        "timeout": _keyword(kwargs, "timeout", lambda v, m: _unsigned(v, 32, m)),
    }


def _initialize(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
    if len(args) > 1:
        raise ArgumentError(COUNT)
    path = _text(args[0], PATH, "Invalid 1st unnamed argument") if args else None
    given = _credentials(kwargs)
    if "path" in kwargs:
        path = _text(kwargs["path"], PATH, 'Invalid "path" argument')
    return (path,), {**given, "portable": bool(kwargs.get("portable", False))}


def _login(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
    """login(login, password, server) positionally, any of them (and timeout) as keywords."""
    if len(args) > 3:
        raise ArgumentError(COUNT)
    positional: dict[str, Any] = {}
    if args:
        positional["login"] = _unsigned(args[0], 64, "Invalid 1st unnamed argument")
    for key, value, ordinal in zip(("password", "server"), args[1:], ("2nd", "3rd"), strict=False):
        positional[key] = _text(value, CREDENTIAL, f"Invalid {ordinal} unnamed argument")
    given = {**positional, **{k: v for k, v in _credentials(kwargs).items() if k in kwargs}}
    if not given.get("login"):
        raise ArgumentError('Invalid "login" argument')
    login = given.pop("login")
    return (login,), given


# function -> (how it reads its arguments, what it answers when it refuses them)
ARGUMENTS: dict[str, tuple[Reader, bool | None]] = {
    **{
        name: (_no_arguments(name), None)
        for name in (
            "shutdown",
            "version",
            "terminal_info",
            "account_info",
            "positions_total",
            "orders_total",
            "symbols_total",
            "last_error",
        )
    },
    "initialize": (_initialize, False),
    "login": (_login, False),
    "symbols_get": (_symbols_get, False),
    "symbol_info": (_positional("symbol_info", "O", _symbol), None),
    "symbol_info_tick": (_positional("symbol_info_tick", "O", _symbol), None),
    "symbol_select": (_symbol_select, False),
    "market_book_add": (_positional("market_book_add", "O", _symbol), None),
    "market_book_get": (_positional("market_book_get", "O", _symbol), None),
    "market_book_release": (_positional("market_book_release", "O", _symbol), None),
    "order_calc_margin": (_positional("order_calc_margin", "kOdd", _same, _symbol, _same, _same), None),
    "order_calc_profit": (
        _positional("order_calc_profit", "kOddd", _same, _symbol, _same, _same, _same),
        None,
    ),
    "order_check": (_request, None),
    "order_send": (_request, None),
    "orders_get": (_filter, None),
    "positions_get": (_filter, None),
    "history_orders_total": (_positional("history_orders_total", "OO", _seconds, _seconds), None),
    "history_deals_total": (_positional("history_deals_total", "OO", _seconds, _seconds), None),
    "history_orders_get": (_history, None),
    "history_deals_get": (_history, None),
    "copy_ticks_from": (_positional("copy_ticks_from", "OOii", _symbol, _seconds, _same, _same), None),
    "copy_ticks_range": (_positional("copy_ticks_range", "OOOi", _symbol, _seconds, _seconds, _same), None),
    "copy_rates_from": (_positional("copy_rates_from", "OiOi", _symbol, _same, _seconds, _same), None),
    "copy_rates_from_pos": (_positional("copy_rates_from_pos", "Oiii", _symbol, _same, _same, _same), None),
    "copy_rates_range": (_positional("copy_rates_range", "OiOO", _symbol, _same, _seconds, _seconds), None),
}
