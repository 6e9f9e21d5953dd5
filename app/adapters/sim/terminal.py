"""SimulatedTerminal: an object that answers like the `MetaTrader5` package module.

Same function names, signatures, constants and result tuples, so that the MT5 broker adapter (which
takes "a module object") runs unchanged against it. Like the real module it never raises for
operational failures: a call answers None (False for the bool functions) and last_error() says why;
last_error is one value per terminal, overwritten by every call, as in the real package.

Test hooks, the simulator's own and not MT5's: set_quote(), set_connected(), order_send_calls,
scenario.
"""

from __future__ import annotations

import functools
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from app.adapters.mt5 import constants as c
from app.adapters.mt5.records import (
    AccountInfo,
    BookInfo,
    OrderCheckResult,
    OrderSendResult,
    SymbolInfo,
    TerminalInfo,
    Tick,
    TradeDeal,
    TradeOrder,
    TradePosition,
)
from app.adapters.sim.arguments import ARGUMENTS, Leaked
from app.adapters.sim.history import Array, MarketData, Unavailable, depth
from app.adapters.sim.info import account_info, symbol_info, terminal_info
from app.adapters.sim.market import Market
from app.adapters.sim.orders import TradeServer, dec
from app.adapters.sim.query import ArgumentError, check_int, check_number, check_str, date_range, in_group, select
from app.adapters.sim.requests import RequestArgumentError, parse_request
from app.adapters.sim.scenario import Scenario, SymbolSpec
from app.adapters.sim.state import SimState, StateFile

BUILD = 4755
BUILD_DATE = "20 Jan 2025"
DEFAULT_LOGIN = 5_000_001

OK = (c.RES_S_OK, "Success")
CALL_FAILED = (c.RES_E_FAIL, "Terminal: Call failed")
AUTH_FAILED = (c.RES_E_AUTH_FAILED, "Terminal: Authorization failed")
NO_IPC = (c.RES_E_INTERNAL_FAIL_CONNECT, "No IPC connection")
IPC_SEND_FAILED = (c.RES_E_INTERNAL_FAIL_SEND, "IPC send failed")
IPC_RECV_FAILED = (c.RES_E_INTERNAL_FAIL_RECEIVE, "IPC recv failed")
IPC_INIT_FAILED = (c.RES_E_INTERNAL_FAIL_INIT, "IPC initialize failed, MetaTrader 5 x64 not found")

P = ParamSpec("P")
R = TypeVar("R")
Method = Callable[Concatenate["SimulatedTerminal", P], R]


def _arguments(fn: Method[P, R]) -> Method[P, R]:
    """The package's own reading of the call's arguments (app/adapters/sim/arguments.py), before the terminal."""
    read, refused = ARGUMENTS[fn.__name__]

    @functools.wraps(fn)
    def call(self: SimulatedTerminal, *args: Any, **kwargs: Any) -> Any:
        try:
            args, kwargs = read(args, kwargs)
        except ArgumentError as exc:
            with self._lock:
                self._error = (c.RES_E_INVALID_PARAMS, str(exc))
            if isinstance(exc, Leaked):
                raise exc.raised(fn.__name__) from exc.cause
            return refused
        return fn(self, *args, **kwargs)

    return cast(Method[P, R], call)


def _ipc(fail: Any = None, *, quiet: bool = False) -> Callable[[Method[P, R]], Method[P, R]]:
    """A call that goes to the terminal: its arguments, latency, the IPC check, lazy fills, last_error.

    quiet: the package answers fail and leaves last_error as it was (market_book_add/release)."""

    def deco(fn: Method[P, R]) -> Method[P, R]:
        @functools.wraps(fn)
        def call(self: SimulatedTerminal, *args: P.args, **kwargs: P.kwargs) -> R:
            self._wait()
            with self._lock:
                if not self._initialized or not self._connected:
                    self._error = OK if quiet else NO_IPC
                    return cast(R, fail)
                self._now = self._clock()
                if self._server.settle(self._now):
                    self._save()
                self._error = OK
                try:
                    return fn(self, *args, **kwargs)
                except ArgumentError as exc:
                    self._error = (c.RES_E_INVALID_PARAMS, str(exc))
                    return cast(R, fail)

        return _arguments(cast("Method[P, R]", call))  # functools.wraps hides the signature from mypy

    return deco


class SimulatedTerminal:
    """A MetaTrader 5 terminal and its broker, simulated per the scenario (docs/CONTRACT.md §6)."""

    __version__ = "5.0.6231"
    __author__ = "MetaQuotes Ltd."

    def __init__(
        self,
        scenario: Scenario | None = None,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        state: SimState | None = None,
    ) -> None:
        """`state`: the books to start from instead of the scenario's state file (a replay's opening book)."""
        for name, value in vars(c).items():
            if name.isupper():
                setattr(self, name, value)
        self._scenario = scenario if scenario is not None else Scenario()
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.RLock()
        # The faults' own stream (not the quotes'), so that a run's timing replays from its seed.
        self._jitter = random.Random(f"latency:{self._scenario.behaviour.random_seed}")
        self._state_file = StateFile(self._scenario.behaviour.state_file)
        self._state = state if state is not None else self._state_file.load()
        self._market = Market(self._scenario)
        self._server = TradeServer(self._scenario, self._market, self._state)
        self._initialized = False
        self._connected = True
        self._error: tuple[int, str] = OK
        self._now = 0.0
        self._login = self._scenario.account.login or DEFAULT_LOGIN
        self._hidden: set[str] = set()  # symbols taken out of the Market Watch
        self._books: set[str] = set()

    # --- test hooks (the simulator's own, not MT5's) ---------------------------------------------

    @property
    def scenario(self) -> Scenario:
        return self._scenario

    @property
    def order_send_calls(self) -> int:
        """order_send calls that reached the terminal (initialized and connected), over the state's life."""
        return self._state.order_send_calls

    def set_quote(self, symbol: str, bid: float | str | Decimal, ask: float | str | Decimal) -> None:
        """Make the symbol quote bid/ask from now on (rounded to its digits)."""
        with self._lock:
            if symbol not in self._scenario.symbols:
                raise KeyError(f"unknown symbol {symbol!r}")
            self._market.set_quote(symbol, Decimal(str(bid)), Decimal(str(ask)), self._clock())

    def set_connected(self, connected: bool) -> None:
        """False: the terminal is lost. Every call answers None (False) with (-10004, 'No IPC connection'),
        initialize() fails with (-10003, ...), and terminal_info() answers with connected=False."""
        with self._lock:
            self._connected = connected

    # --- session ------------------------------------------------------------------------------

    @_arguments
    def initialize(
        self,
        path: str | None = None,
        *,
        login: int | None = None,
        password: str | None = None,
        server: str | None = None,
        timeout: int | None = None,
        portable: bool = False,
    ) -> bool:
        self._wait()
        with self._lock:
            if not self._connected:
                self._error = IPC_INIT_FAILED
                return False
            if not self._authorize(login, server):
                return False
            self._initialized = True
            self._error = OK
            return True

    @_ipc(fail=False)
    def login(
        self, login: int, password: str | None = None, server: str | None = None, timeout: int | None = None
    ) -> bool:
        return self._authorize(login, server)

    @_arguments
    def shutdown(self) -> bool:
        with self._lock:
            self._state_file.compact(self._state)  # the file alone holds everything again
            self._initialized = False
            self._books.clear()
            self._error = OK
            return True  # as the package answers, though its documentation says None

    @_arguments
    def last_error(self) -> tuple[int, str]:
        with self._lock:
            return self._error

    @_ipc()
    def version(self) -> tuple[int, int, str] | None:
        return (500, BUILD, BUILD_DATE)

    # Bars and ticks: the simulated feed's history, which the live quote continues (app/adapters/sim/history.py).
    @_ipc()
    def copy_rates_from(self, symbol: str, timeframe: int, date_from: datetime | int, count: int) -> Array | None:
        try:
            data = MarketData(self._market, self._scenario.symbols, self._hidden, self._now)
            return data.rates_from(symbol, timeframe, date_from, count)
        except Unavailable as exc:
            self._error = exc.error
            return None

    @_ipc()
    def copy_rates_from_pos(self, symbol: str, timeframe: int, start_pos: int, count: int) -> Array | None:
        try:
            data = MarketData(self._market, self._scenario.symbols, self._hidden, self._now)
            return data.rates_from_pos(symbol, timeframe, start_pos, count)
        except Unavailable as exc:
            self._error = exc.error
            return None

    @_ipc()
    def copy_rates_range(
        self, symbol: str, timeframe: int, date_from: datetime | int, date_to: datetime | int
    ) -> Array | None:
        try:
            data = MarketData(self._market, self._scenario.symbols, self._hidden, self._now)
            return data.rates_range(symbol, timeframe, date_from, date_to)
        except Unavailable as exc:
            self._error = exc.error
            return None

    @_ipc()
    def copy_ticks_from(self, symbol: str, date_from: datetime | int, count: int, flags: int) -> Array | None:
        try:
            data = MarketData(self._market, self._scenario.symbols, self._hidden, self._now)
            return data.ticks_from(symbol, date_from, count, flags)
        except Unavailable as exc:
            self._error = exc.error
            return None

    @_ipc()
    def copy_ticks_range(
        self, symbol: str, date_from: datetime | int, date_to: datetime | int, flags: int
    ) -> Array | None:
        try:
            data = MarketData(self._market, self._scenario.symbols, self._hidden, self._now)
            return data.ticks_range(symbol, date_from, date_to, flags)
        except Unavailable as exc:
            self._error = exc.error
            return None

    @_arguments
    def terminal_info(self) -> TerminalInfo | None:
        self._wait()
        with self._lock:
            if not self._initialized:
                self._error = NO_IPC
                return None
            self._error = OK
            return terminal_info(self._scenario, connected=self._connected, build=BUILD)

    @_ipc()
    def account_info(self) -> AccountInfo | None:
        return account_info(self._scenario.account, self._login, self._server.figures(self._now))

    # --- symbols and market data ----------------------------------------------------------------

    @_ipc()
    def symbols_total(self) -> int | None:
        return len(self._scenario.symbols)

    @_ipc()
    def symbols_get(self, group: str | None = None) -> tuple[SymbolInfo, ...] | None:
        return tuple(self._symbol_info(name) for name in self._scenario.symbols if in_group(name, group))

    @_ipc()
    def symbol_info(self, symbol: str) -> SymbolInfo | None:
        if symbol not in self._scenario.symbols:
            self._call_failed()
            return None
        return self._symbol_info(symbol)

    @_ipc()
    def symbol_info_tick(self, symbol: str) -> Tick | None:
        if symbol not in self._scenario.symbols or symbol in self._hidden:
            self._call_failed()
            return None
        q = self._market.quote(symbol, self._now)
        return Tick(
            time=int(q.time),
            bid=float(q.bid),
            ask=float(q.ask),
            last=0.0,
            volume=0,
            time_msc=int(q.time * 1000),
            flags=c.TICK_FLAG_BID | c.TICK_FLAG_ASK,
            volume_real=0.0,
        )

    @_ipc(fail=False)
    def symbol_select(self, symbol: str, enable: bool = True) -> bool:
        if symbol not in self._scenario.symbols:
            self._error = CALL_FAILED
            return False
        if enable:
            self._hidden.discard(symbol)
            return True
        # like MT5, a symbol with open positions or orders stays in the Market Watch
        busy = any(p.symbol == symbol for p in self._state.positions.values()) or any(
            o.symbol == symbol for o in self._active_orders()
        )
        if busy:
            self._error = CALL_FAILED
            return False
        self._hidden.add(symbol)
        return True

    @_ipc(fail=False, quiet=True)
    def market_book_add(self, symbol: str) -> bool:
        if symbol not in self._scenario.symbols:
            return False  # and last_error stays "Success", as the package leaves it
        self._books.add(symbol)
        return True

    @_ipc()
    def market_book_get(self, symbol: str) -> tuple[BookInfo, ...] | None:
        if check_str(symbol, "symbol") not in self._books:
            self._call_failed()
            return None
        return depth(self._scenario.symbols[symbol], self._market.quote(symbol, self._now))

    @_ipc(fail=False, quiet=True)
    def market_book_release(self, symbol: str) -> bool:
        if symbol not in self._books:
            return False
        self._books.discard(symbol)
        return True

    # --- calculations -----------------------------------------------------------------------------

    @_ipc()
    def order_calc_margin(self, action: int, symbol: str, volume: float, price: float) -> float | None:
        spec = self._calc_symbol(action, symbol, volume, price)
        if spec is None:
            return None
        m = self._market.margin(spec, self._scenario.account, dec(volume), dec(price), self._now)
        if m is None:
            self._call_failed()
            return None
        return float(m)

    @_ipc()
    def order_calc_profit(
        self, action: int, symbol: str, volume: float, price_open: float, price_close: float
    ) -> float | None:
        spec = self._calc_symbol(action, symbol, volume, price_open)
        check_number(price_close, "price_close")
        if spec is None:
            return None
        buy = action % 2 == 0  # BUY, BUY_LIMIT, BUY_STOP, BUY_STOP_LIMIT are the even types
        p = self._market.profit(
            spec, self._scenario.account, buy, dec(volume), dec(price_open), dec(price_close), self._now
        )
        if p is None:
            self._call_failed()
            return None
        return float(p)

    # --- trading --------------------------------------------------------------------------------

    @_ipc()
    def order_check(self, request: dict[str, Any]) -> OrderCheckResult | None:
        try:
            req = parse_request(request)
        except RequestArgumentError as exc:
            self._error = (c.RES_E_INVALID_PARAMS, str(exc))
            return None
        return self._server.check(req, self._now)

    @_ipc()
    def order_send(self, request: dict[str, Any]) -> OrderSendResult | None:
        st = self._state
        st.order_send_calls += 1
        n = st.order_send_calls
        b = self._scenario.behaviour
        if n in b.connection_drop_before:
            self._save()
            self._error = IPC_SEND_FAILED
            return None
        try:
            req = parse_request(request)
        except RequestArgumentError as exc:
            self._save()
            self._error = (c.RES_E_INVALID_PARAMS, str(exc))
            return None
        result = self._server.send(req, n, self._now)
        self._save()
        if n in b.connection_drop_after:
            self._error = IPC_RECV_FAILED  # executed and recorded; only the answer is lost
            return None
        return result

    @_ipc()
    def orders_total(self) -> int | None:
        return sum(1 for _ in self._active_orders())

    @_ipc()
    def orders_get(
        self, *, symbol: str | None = None, group: str | None = None, ticket: int | None = None
    ) -> tuple[TradeOrder, ...] | None:
        orders = self._active_orders()
        return tuple(
            select(orders, check_str(symbol, "symbol"), check_str(group, "group"), check_int(ticket, "ticket"))
        )

    @_ipc()
    def positions_total(self) -> int | None:
        return len(self._state.positions)

    @_ipc()
    def positions_get(
        self, *, symbol: str | None = None, group: str | None = None, ticket: int | None = None
    ) -> tuple[TradePosition, ...] | None:
        chosen = select(
            sorted(self._state.positions.values()),
            check_str(symbol, "symbol"),
            check_str(group, "group"),
            check_int(ticket, "ticket"),
        )
        return tuple(self._server.live_position(p, self._now) for p in chosen)

    @_ipc()
    def history_orders_total(self, date_from: datetime | int, date_to: datetime | int) -> int | None:
        lo, hi = date_range(date_from, date_to)
        return sum(1 for o in self._history_orders() if lo <= o.time_setup <= hi)

    @_ipc()
    def history_orders_get(
        self,
        date_from: datetime | int | None = None,
        date_to: datetime | int | None = None,
        *,
        group: str | None = None,
        ticket: int | None = None,
        position: int | None = None,
    ) -> tuple[TradeOrder, ...] | None:
        """By order ticket, by position (ORDER_POSITION_ID), or by time_setup within [date_from, date_to]."""
        by_ticket, by_position = check_int(ticket, "ticket"), check_int(position, "position")
        if by_ticket is not None:
            found = self._state.orders.get(by_ticket)
            return (found,) if found is not None and found.ticket not in self._state.due else ()
        orders = self._history_orders()
        if by_position is not None:
            return tuple(o for o in orders if o.position_id == by_position)
        lo, hi = date_range(date_from, date_to)
        check_str(group, "group")
        return tuple(o for o in orders if lo <= o.time_setup <= hi and in_group(o.symbol, group))

    @_ipc()
    def history_deals_total(self, date_from: datetime | int, date_to: datetime | int) -> int | None:
        lo, hi = date_range(date_from, date_to)
        return sum(1 for d in self._server.books.deals() if lo <= d.time <= hi)

    @_ipc()
    def history_deals_get(
        self,
        date_from: datetime | int | None = None,
        date_to: datetime | int | None = None,
        *,
        group: str | None = None,
        ticket: int | None = None,
        position: int | None = None,
    ) -> tuple[TradeDeal, ...] | None:
        """As in MT5, ticket= selects the deals of that ORDER ticket (DEAL_ORDER), position= by DEAL_POSITION_ID."""
        st = self._state
        by_ticket, by_position = check_int(ticket, "ticket"), check_int(position, "position")
        if by_ticket is not None:
            return tuple(st.deals[t] for t in st.deals_by_order.get(by_ticket, ()))
        if by_position is not None:
            return tuple(st.deals[t] for t in st.deals_by_position.get(by_position, ()))
        deals = self._server.books.deals()  # in ticket order: the deposit, then deals as they were made
        lo, hi = date_range(date_from, date_to)
        check_str(group, "group")
        return tuple(d for d in deals if lo <= d.time <= hi and in_group(d.symbol, group))

    # --- internals ------------------------------------------------------------------------------

    def _wait(self) -> None:
        # outside the lock: concurrent callers wait side by side, as they would on a slow link
        b = self._scenario.behaviour
        latency = b.latency_ms + (self._jitter.uniform(0, b.latency_jitter_ms) if b.latency_jitter_ms else 0.0)
        if latency > 0:
            self._sleep(latency / 1000.0)

    def _save(self) -> None:
        self._state_file.record(self._state)

    def _call_failed(self) -> None:
        self._error = CALL_FAILED

    def _authorize(self, login: int | None, server: str | None) -> bool:
        acc = self._scenario.account
        # a scenario without a login accepts any credentials; with one, they must match
        if acc.login and ((login is not None and login != acc.login) or (server is not None and server != acc.server)):
            self._error = AUTH_FAILED
            return False
        if login is not None:
            self._login = login
        return True

    def _symbol_info(self, name: str) -> SymbolInfo:
        return symbol_info(
            self._scenario.symbols[name],
            self._scenario.account,
            self._market,
            self._now,
            selected=name not in self._hidden,
        )

    def _calc_symbol(self, action: int, symbol: str, volume: float, price: float) -> SymbolSpec | None:
        check_number(volume, "volume")
        check_number(price, "price")
        spec = self._scenario.symbols.get(symbol)
        if spec is None or not c.ORDER_TYPE_BUY <= action <= c.ORDER_TYPE_SELL_STOP_LIMIT:
            self._call_failed()
            return None
        return spec

    def _active_orders(self) -> list[TradeOrder]:
        # the resting orders are exactly those waiting for a fill time: no scan of the history
        return [self._state.orders[t] for t in sorted(self._state.due)]

    def _history_orders(self) -> list[TradeOrder]:
        # in ticket order: an order enters the dict when placed and keeps its place when it changes
        # not resting: a partly filled Return order (ORDER_STATE_PARTIAL) still rests
        return [o for o in self._state.orders.values() if o.ticket not in self._state.due]
