"""The MetaTrader 5 broker adapter, over a module object.

The object is the real `MetaTrader5` package on the desk, or the simulator everywhere else: one code
path, so the simulator exercises this very adapter. The package is not thread-safe and its
`last_error()` is global, so every call runs on ONE dedicated thread, and each operation below is a
single job on that thread that reads `last_error()` right after the call that failed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from app.adapters.broker.types import (
    BrokerAccount,
    BrokerDeal,
    BrokerOrder,
    BrokerPosition,
    BrokerUnavailable,
    CancelOutcome,
    Fill,
    OrderRequest,
    OrderState,
    PreTradeSnapshot,
    Quote,
    SendKind,
    SendOutcome,
    SymbolSpec,
    TradeMode,
)
from app.adapters.broker.volume import InvalidVolume, exact, units_to_lots
from app.adapters.mt5 import constants as C
from app.adapters.mt5.records import SYMBOL_FILLING_FOK, SYMBOL_FILLING_IOC

log = logging.getLogger(__name__)
T = TypeVar("T")

# Requests that certainly did not execute: sending again is safe.
_RETRYABLE = {C.TRADE_RETCODE_REQUOTE, C.TRADE_RETCODE_PRICE_CHANGED, C.TRADE_RETCODE_PRICE_OFF}
_THROTTLED = C.TRADE_RETCODE_TOO_MANY_REQUESTS
# The request may have reached the trade server: reconcile before anything else.
_AMBIGUOUS = {C.TRADE_RETCODE_ERROR, C.TRADE_RETCODE_TIMEOUT, C.TRADE_RETCODE_CONNECTION}
_INVALID_FILL = C.TRADE_RETCODE_INVALID_FILL
_MARKET_CLOSED = C.TRADE_RETCODE_MARKET_CLOSED
_CHECK_OK = 0


def _retcode_name(module: Any, code: int) -> str:
    return _retcode_names(module).get(code, str(code))


@functools.cache
def _retcode_names(module: Any) -> dict[int, str]:
    return {getattr(module, n): n for n in dir(module) if n.startswith("TRADE_RETCODE_")}


def _utc(seconds_msc: int) -> datetime:
    return datetime.fromtimestamp(seconds_msc / 1000, tz=UTC)


class MT5Broker:
    """Broker over a MetaTrader5-like module; `name` says which ("mt5" or "sim")."""

    def __init__(
        self,
        module: Any,
        *,
        name: str,
        magic: int = 20251223,
        deviation_points: int = 20,
        initialize_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.mt5 = module
        self.magic = magic
        self.deviation_points = deviation_points
        self._initialize_kwargs = initialize_kwargs or {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mt5")
        self._books: set[str] = set()
        # SymbolInfo (trade_exemode, filling_mode) by symbol, as last read: what a market order must carry
        self._execution: dict[str, tuple[int, int]] = {}

    async def _run(self, job: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, job, *args)

    # ---- connection -------------------------------------------------------------------------
    async def connect(self, answer_within_s: float = 90.0) -> None:
        """initialize() the terminal; a terminal that does not answer in time is unavailable."""
        try:
            async with asyncio.timeout(answer_within_s):  # not wait_for: on 3.11 it can swallow a cancel
                await self._run(self._connect)
        except TimeoutError:
            raise BrokerUnavailable(f"the terminal did not answer initialize() within {answer_within_s:g} s") from None

    def _connect(self) -> None:
        if not self.mt5.initialize(**self._initialize_kwargs):
            code, message = self.mt5.last_error()
            raise BrokerUnavailable(f"initialize() failed: {code} {message}")

    async def reconnect(self, answer_within_s: float) -> None:
        """A fresh IPC link after the terminal went away (restarted, crashed, or hung)."""

        def again() -> None:
            self.mt5.shutdown()
            self._books.clear()  # market depth subscriptions die with the link
            self._connect()

        try:
            async with asyncio.timeout(answer_within_s):
                await self._run(again)
        except TimeoutError:
            raise BrokerUnavailable(f"the terminal did not answer initialize() within {answer_within_s:g} s") from None

    async def probe(self, answer_within_s: float) -> tuple[bool, bool, str]:
        """(terminal answers, trade server connected, detail) — one cheap call."""

        def look() -> tuple[bool, bool, str]:
            info = self.mt5.terminal_info()
            if info is None:
                code, message = self.mt5.last_error()
                return False, False, f"the terminal does not answer ({code} {message})"
            if not info.connected:
                return True, False, "the terminal has lost its trade server"
            if not info.trade_allowed:
                return True, True, "connected; algorithmic trading is disabled in the terminal"
            return True, True, "connected"

        try:
            async with asyncio.timeout(answer_within_s):
                return await self._run(look)
        except TimeoutError:
            return False, False, f"the terminal did not answer within {answer_within_s:g} s"

    async def close(self) -> None:
        try:
            await self._run(self.mt5.shutdown)
        finally:
            self._executor.shutdown(wait=True)

    async def is_connected(self) -> bool:
        return await self._run(self._is_connected)

    def _is_connected(self) -> bool:
        info = self.mt5.terminal_info()
        return bool(info is not None and info.connected)

    # ---- market data ------------------------------------------------------------------------
    def _spec(self, symbol: str) -> SymbolSpec | None:
        info = self.mt5.symbol_info(symbol)
        if info is None:
            return None
        if not info.visible and self.mt5.symbol_select(symbol, True):
            # A symbol outside Market Watch has no live quotes until it is selected.
            info = self.mt5.symbol_info(symbol) or info
        self._execution[symbol] = (info.trade_exemode, info.filling_mode)  # fresh with every pre-trade snapshot
        return SymbolSpec(
            name=info.name,
            digits=info.digits,
            point=exact(info.point),
            contract_size=exact(info.trade_contract_size),
            volume_min=exact(info.volume_min),
            volume_step=exact(info.volume_step),
            volume_max=exact(info.volume_max),
            trade_mode=self._trade_mode(info.trade_mode),
            volume_limit=exact(info.volume_limit),
        )

    def _trade_mode(self, mode: int) -> TradeMode:
        m = self.mt5
        return {
            m.SYMBOL_TRADE_MODE_FULL: TradeMode.FULL,
            m.SYMBOL_TRADE_MODE_LONGONLY: TradeMode.LONG_ONLY,
            m.SYMBOL_TRADE_MODE_SHORTONLY: TradeMode.SHORT_ONLY,
            m.SYMBOL_TRADE_MODE_CLOSEONLY: TradeMode.CLOSE_ONLY,
        }.get(mode, TradeMode.DISABLED)

    def _quote(self, symbol: str) -> Quote | None:
        tick = self.mt5.symbol_info_tick(symbol)
        if tick is None:
            return None
        return Quote(bid=exact(tick.bid), ask=exact(tick.ask), time=_utc(tick.time_msc))

    async def symbol_spec(self, symbol: str) -> SymbolSpec | None:
        return await self._run(self._spec_checked, symbol)

    def _spec_checked(self, symbol: str) -> SymbolSpec | None:
        self._require_terminal()
        return self._spec(symbol)

    async def quote(self, symbol: str) -> Quote | None:
        return await self._run(self._quote, symbol)

    async def pre_trade_snapshot(self, symbol: str, direction: int, units: Decimal) -> PreTradeSnapshot:
        return await self._run(self._snapshot, symbol, direction, units)

    async def quote_at(self, symbol: str, when: datetime) -> Quote | None:
        return await self._run(self._quote_at, symbol, when)

    _HISTORY_LOOKBACK = timedelta(seconds=60)  # a tick older than this before the moment is not its quote

    def _quote_at(self, symbol: str, when: datetime) -> Quote | None:
        self._require_terminal()
        # copy_ticks_range's bounds are whole seconds: ask past the moment, keep what is not after it.
        ticks = self.mt5.copy_ticks_range(
            symbol, when - self._HISTORY_LOOKBACK, when + timedelta(seconds=1), self.mt5.COPY_TICKS_ALL
        )
        if ticks is None or not len(ticks):
            return None
        moment = int(when.timestamp() * 1000)
        at_or_before = [t for t in ticks if int(t["time_msc"]) <= moment and t["bid"] > 0 and t["ask"] > 0]
        if not at_or_before:
            return None
        tick = at_or_before[-1]
        return Quote(bid=exact(float(tick["bid"])), ask=exact(float(tick["ask"])), time=_utc(int(tick["time_msc"])))

    def _snapshot(self, symbol: str, direction: int, units: Decimal) -> PreTradeSnapshot:
        m = self.mt5
        terminal = m.terminal_info()
        if terminal is None or not terminal.connected:
            return PreTradeSnapshot(symbol=symbol, connected=False)
        account = m.account_info()
        trade_allowed, why = True, ""
        if not terminal.trade_allowed or getattr(terminal, "tradeapi_disabled", False):
            trade_allowed, why = False, "algorithmic trading is disabled in the terminal (AutoTrading button)"
        elif account is not None and not (account.trade_allowed and account.trade_expert):
            trade_allowed, why = False, "the account does not allow trading by expert advisors"
        spec = self._spec(symbol)
        if spec is None:
            return PreTradeSnapshot(
                symbol=symbol, connected=True, trade_allowed=trade_allowed, trade_disallowed_detail=why
            )
        lots: Decimal | None = None
        volume_error: str | None = None
        try:
            lots = units_to_lots(units, spec)
        except InvalidVolume as exc:
            volume_error = str(exc)
        quote = self._quote(symbol)
        market_open: bool | None = None
        market_detail = ""
        margin_required: Decimal | None = None
        liquidity: Decimal | None = None
        if lots is not None and quote is not None:
            price = quote.ask if direction == 1 else quote.bid
            check = m.order_check(
                self._deal_request(symbol, direction, lots, price, "check", self._filling_modes(symbol)[0])
            )
            if check is not None:
                market_open = check.retcode != _MARKET_CLOSED
                market_detail = check.comment
            order_type = m.ORDER_TYPE_BUY if direction == 1 else m.ORDER_TYPE_SELL
            margin = m.order_calc_margin(order_type, symbol, float(lots), float(price))
            margin_required = exact(margin) if margin is not None else None
            liquidity = self._book_depth(symbol, direction)
        return PreTradeSnapshot(
            symbol=symbol,
            connected=True,
            trade_allowed=trade_allowed,
            trade_disallowed_detail=why,
            spec=spec,
            lots=lots,
            volume_error=volume_error,
            quote=quote,
            market_open=market_open,
            market_detail=market_detail,
            margin_required=margin_required,
            margin_free=exact(account.margin_free) if account is not None else None,
            liquidity_lots=liquidity,
        )

    def _book_depth(self, symbol: str, direction: int) -> Decimal | None:
        m = self.mt5
        if symbol not in self._books:
            if not m.market_book_add(symbol):
                return None
            self._books.add(symbol)
        book = m.market_book_get(symbol)
        if not book:
            return None
        # A buy takes the offers (sell side of the book), a sell hits the bids.
        side = (
            (m.BOOK_TYPE_SELL, m.BOOK_TYPE_SELL_MARKET) if direction == 1 else (m.BOOK_TYPE_BUY, m.BOOK_TYPE_BUY_MARKET)
        )
        return sum((exact(level.volume_dbl) for level in book if level.type in side), Decimal(0))

    # ---- orders -----------------------------------------------------------------------------
    def _filling_modes(self, symbol: str) -> list[int]:
        """The filling policies a market order may carry, in the order they are tried (MT5 help, Fill Policy).

        Instant and Request execution fill or kill. Market execution takes FOK and IOC as the symbol's
        SYMBOL_FILLING_* flags allow, all-or-nothing first. Exchange execution takes those and Return,
        which has no flag: the mode allows it, and it is tried last (it may leave a remainder resting).
        A Market symbol with neither flag offers no documented policy for market orders; Return, the
        one without a flag, is sent (an older terminal's way of saying "Return only"): a refusal is a
        final TRADE_RETCODE_INVALID_FILL.
        """
        m = self.mt5
        exemode, flags = self._execution.get(symbol) or self._read_execution(symbol)
        if exemode in (m.SYMBOL_TRADE_EXECUTION_INSTANT, m.SYMBOL_TRADE_EXECUTION_REQUEST):
            return [m.ORDER_FILLING_FOK]
        modes = []
        if flags & SYMBOL_FILLING_FOK:
            modes.append(m.ORDER_FILLING_FOK)
        if flags & SYMBOL_FILLING_IOC:
            modes.append(m.ORDER_FILLING_IOC)
        if exemode == m.SYMBOL_TRADE_EXECUTION_EXCHANGE or not modes:
            modes.append(m.ORDER_FILLING_RETURN)
        return modes

    def _read_execution(self, symbol: str) -> tuple[int, int]:
        info = self.mt5.symbol_info(symbol)
        if info is None:
            return self.mt5.SYMBOL_TRADE_EXECUTION_MARKET, 0
        return info.trade_exemode, info.filling_mode

    def _deal_request(
        self, symbol: str, direction: int, lots: Decimal, price: Decimal, tag: str, filling: int
    ) -> dict[str, Any]:
        m = self.mt5
        # Instant and Request execution trade at this price within `deviation` points (else
        # TRADE_RETCODE_REQUOTE); Market and Exchange execution ignore both, so one request fits every mode.
        return {
            "action": m.TRADE_ACTION_DEAL,
            "symbol": symbol,
            "volume": float(lots),
            "type": m.ORDER_TYPE_BUY if direction == 1 else m.ORDER_TYPE_SELL,
            "price": float(price),
            "deviation": self.deviation_points,
            "magic": self.magic,
            "comment": tag,
            "type_time": m.ORDER_TIME_GTC,
            "type_filling": filling,
        }

    async def send_market_order(self, request: OrderRequest) -> SendOutcome:
        return await self._run(self._send, request)

    def _send(self, req: OrderRequest) -> SendOutcome:
        m = self.mt5
        tried: list[int] = []
        for filling in self._filling_modes(req.symbol):
            tried.append(filling)
            result = m.order_send(self._deal_request(req.symbol, req.direction, req.lots, req.price, req.tag, filling))
            if result is None:
                code, message = m.last_error()
                return SendOutcome(SendKind.AMBIGUOUS, f"no answer from the terminal ({code} {message})", code=code)
            if result.retcode == _INVALID_FILL:
                # The symbol refused this filling mode; the request provably did not execute.
                continue
            return self._outcome(req, result, filling)
        return SendOutcome(
            SendKind.REJECTED,
            f"no filling mode accepted (tried {tried}): {_INVALID_FILL} TRADE_RETCODE_INVALID_FILL",
            code=_INVALID_FILL,
        )

    def _outcome(self, req: OrderRequest, result: Any, filling: int) -> SendOutcome:
        m = self.mt5
        code = result.retcode
        detail = f"{code} {_retcode_name(m, code)}: {result.comment}"
        order = str(result.order) if result.order else None
        if code in (m.TRADE_RETCODE_DONE, m.TRADE_RETCODE_DONE_PARTIAL):
            filled = exact(result.volume)
            fills = (
                (Fill(deal=str(result.deal), lots=filled, price=exact(result.price), time=datetime.now(UTC)),)
                if filled > 0
                else ()
            )
            if filled >= req.lots:
                return SendOutcome(SendKind.FILLED, detail, order=order, fills=fills, code=code)
            # Return: the remainder is not cancelled but rests at the broker, to be polled like a placed order
            kind = SendKind.PLACED if filling == m.ORDER_FILLING_RETURN else SendKind.PARTIAL
            return SendOutcome(kind, detail, order=order, fills=fills, code=code)
        if code == m.TRADE_RETCODE_PLACED:
            return SendOutcome(SendKind.PLACED, detail, order=order, code=code)
        if code in _RETRYABLE:
            return SendOutcome(SendKind.RETRYABLE, detail, code=code)
        if code == _THROTTLED:
            return SendOutcome(SendKind.RETRYABLE, detail, code=code, backoff=True)
        if code in _AMBIGUOUS:
            return SendOutcome(SendKind.AMBIGUOUS, detail, order=order, code=code)
        return SendOutcome(SendKind.REJECTED, detail, order=order, code=code)

    # ---- reconciliation ---------------------------------------------------------------------
    # Orders are read before their deals, never after: an order that fills between two reads then
    # shows as open with its deals, or as final with its deals. The other way round, an order that
    # filled in between would read "filled, no deals". A final order whose deals do not yet add up to
    # the volume it executed is UNSETTLED (not yet known), and the whole read is made again.
    _SETTLE_READS = 3

    def _state(self, order: Any) -> OrderState:
        m = self.mt5
        state = order.state
        if state in (
            m.ORDER_STATE_STARTED,
            m.ORDER_STATE_PLACED,
            m.ORDER_STATE_REQUEST_ADD,
            m.ORDER_STATE_REQUEST_MODIFY,
            m.ORDER_STATE_REQUEST_CANCEL,
        ):
            return OrderState.OPEN
        if state == m.ORDER_STATE_FILLED:
            return OrderState.FILLED
        if state == m.ORDER_STATE_PARTIAL:
            return OrderState.PARTIAL
        return {
            m.ORDER_STATE_CANCELED: OrderState.CANCELLED,
            m.ORDER_STATE_REJECTED: OrderState.REJECTED,
            m.ORDER_STATE_EXPIRED: OrderState.EXPIRED,
        }.get(state, OrderState.REJECTED)

    def _fills(self, deals: Any) -> dict[int, list[Fill]]:
        by_order: dict[int, list[Fill]] = {}
        for deal in deals or ():
            by_order.setdefault(deal.order, []).append(
                Fill(deal=str(deal.ticket), lots=exact(deal.volume), price=exact(deal.price), time=_utc(deal.time_msc))
            )
        return by_order

    def _broker_order(self, order: Any, fills: list[Fill], is_open: bool) -> BrokerOrder:
        fill_tuple = tuple(fills)
        state = OrderState.OPEN if is_open else self._settled_state(order, fill_tuple)
        return BrokerOrder(
            order=str(order.ticket),
            tag=order.comment,
            symbol=order.symbol,
            state=state,
            lots_requested=exact(order.volume_initial),
            fills=fill_tuple,
        )

    def _settled_state(self, order: Any, fills: tuple[Fill, ...]) -> OrderState:
        """A final order's state once its deals account for every lot it executed; UNSETTLED before."""
        state = self._state(order)
        executed = exact(order.volume_initial) - exact(order.volume_current)
        dealt = sum((f.lots for f in fills), Decimal(0))
        if dealt != executed or (executed == 0 and state in (OrderState.FILLED, OrderState.PARTIAL)):
            return OrderState.UNSETTLED
        if fills and state is not OrderState.FILLED:
            return OrderState.PARTIAL  # cancelled, expired or rejected after part of it executed
        return state

    def _require_terminal(self) -> None:
        if not self._is_connected():
            code, message = self.mt5.last_error()
            raise BrokerUnavailable(f"terminal not connected ({code} {message})")

    def _until_settled(self, read: Callable[[], list[BrokerOrder]]) -> list[BrokerOrder]:
        orders = read()
        for _ in range(self._SETTLE_READS - 1):
            if all(o.state is not OrderState.UNSETTLED for o in orders):
                break
            orders = read()
        return orders

    async def find_orders(self, tag_prefix: str, since: datetime) -> list[BrokerOrder]:
        return await self._run(self._find, tag_prefix, since)

    def _find(self, tag_prefix: str, since: datetime) -> list[BrokerOrder]:
        """Every order of ours whose comment starts with the tag, open or done, with its deals."""
        self._require_terminal()
        return self._until_settled(lambda: self._find_once(tag_prefix, since))

    def _find_once(self, tag_prefix: str, since: datetime) -> list[BrokerOrder]:
        m = self.mt5
        lo, until = since - timedelta(minutes=5), datetime.now(UTC) + timedelta(days=1)
        open_orders = self._records(m.orders_get(), "open orders")
        history = self._records(m.history_orders_get(lo, until), "history orders")
        deals = self._records(m.history_deals_get(lo, until), "deals")  # last: the orders' deals are all in
        fills = self._fills(d for d in deals if d.magic == self.magic and d.comment.startswith(tag_prefix))
        found: dict[int, BrokerOrder] = {}
        # An order in both lists was done between the two reads: its history record is the later word.
        for is_open, orders in ((True, open_orders), (False, history)):
            for order in orders:
                if order.magic == self.magic and order.comment.startswith(tag_prefix):
                    found[order.ticket] = self._broker_order(order, fills.get(order.ticket, []), is_open)
        return sorted(found.values(), key=lambda o: int(o.order))

    async def open_orders(self) -> list[BrokerOrder]:
        return await self._run(self._open_orders)

    def _open_orders(self) -> list[BrokerOrder]:
        self._require_terminal()
        orders = self.mt5.orders_get()
        if orders is None:
            code, message = self.mt5.last_error()
            raise BrokerUnavailable(f"orders_get failed ({code} {message})")
        return [self._broker_order(o, [], is_open=True) for o in orders if o.magic == self.magic]

    async def order_status(self, order: str, since: datetime) -> BrokerOrder | None:
        return await self._run(self._order_status, int(order))

    def _order_status(self, ticket: int) -> BrokerOrder | None:
        self._require_terminal()
        found = self._until_settled(lambda: self._order_status_once(ticket))
        return found[0] if found else None

    def _order_status_once(self, ticket: int) -> list[BrokerOrder]:
        m = self.mt5
        live = self._records(m.orders_get(ticket=ticket), f"order {ticket}")
        done = () if live else self._records(m.history_orders_get(ticket=ticket), f"order {ticket} in history")
        # After the order: `ticket` selects that order's deals.
        deals = self._records(m.history_deals_get(ticket=ticket), f"deals of order {ticket}")
        fills = self._fills(deals).get(ticket, [])
        if live:
            return [self._broker_order(live[0], fills, is_open=True)]
        return [self._broker_order(done[0], fills, is_open=False)] if done else []

    def _records(self, found: tuple[Any, ...] | None, what: str) -> tuple[Any, ...]:
        """A selection's records; None is "none found" only when last_error() says the call succeeded."""
        if found is not None:
            return found
        code, message = self.mt5.last_error()
        if code == self.mt5.RES_S_OK:
            return ()
        raise BrokerUnavailable(f"{what}: lookup failed ({code} {message})")

    async def cancel_order(self, order: str, since: datetime) -> CancelOutcome:
        return await self._run(self._cancel, int(order))

    def _cancel(self, ticket: int) -> CancelOutcome:
        m = self.mt5
        self._require_terminal()
        result = m.order_send({"action": m.TRADE_ACTION_REMOVE, "order": ticket, "magic": self.magic})
        after = self._order_status(ticket)
        if result is not None and result.retcode == m.TRADE_RETCODE_DONE:
            return CancelOutcome(True, f"{result.retcode} {_retcode_name(m, result.retcode)}: {result.comment}", after)
        if result is None:
            code, message = m.last_error()
            detail = f"no answer from the terminal ({code} {message})"
        else:
            detail = f"{result.retcode} {_retcode_name(m, result.retcode)}: {result.comment}"
        cancelled = after is not None and after.state is OrderState.CANCELLED
        return CancelOutcome(cancelled, detail, after)

    # ---- positions and deals (the position reconciliation) ------------------------------------------
    async def positions(self) -> list[BrokerPosition]:
        return await self._run(self._positions)

    def _positions(self) -> list[BrokerPosition]:
        """Every open position, whoever opened it: the caller tells the console's (by magic) from the rest."""
        self._require_terminal()
        m = self.mt5
        return [
            BrokerPosition(
                ticket=str(p.ticket),
                symbol=p.symbol,
                direction=1 if p.type == m.POSITION_TYPE_BUY else -1,
                lots=exact(p.volume),
                magic=p.magic,
                price_open=exact(p.price_open),
                opened=_utc(p.time_msc),
                price_current=exact(p.price_current),
                profit=exact(p.profit),
                swap=exact(p.swap),
            )
            for p in self._records(m.positions_get(), "open positions")
        ]

    async def account(self) -> BrokerAccount:
        return await self._run(self._account)

    def _account(self) -> BrokerAccount:
        self._require_terminal()
        m = self.mt5
        a = m.account_info()
        if a is None:
            code, message = m.last_error()
            raise BrokerUnavailable(f"account_info failed ({code} {message})")
        modes = {
            m.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING: "hedging",
            m.ACCOUNT_MARGIN_MODE_RETAIL_NETTING: "netting",
            m.ACCOUNT_MARGIN_MODE_EXCHANGE: "exchange",
        }
        margin = exact(a.margin)
        return BrokerAccount(
            login=a.login,
            currency=a.currency,
            margin_mode=modes.get(a.margin_mode, str(a.margin_mode)),
            leverage=a.leverage,
            balance=exact(a.balance),
            credit=exact(a.credit),
            profit=exact(a.profit),
            equity=exact(a.equity),
            margin=margin,
            margin_free=exact(a.margin_free),
            margin_level=exact(a.margin_level) if margin else None,
        )

    async def deals(self, since: datetime) -> list[BrokerDeal]:
        return await self._run(self._deals, since)

    def _deals(self, since: datetime) -> list[BrokerDeal]:
        """The buy and sell deals of our magic since `since` (balance and other account deals are not trades)."""
        self._require_terminal()
        m = self.mt5
        sides = {m.DEAL_TYPE_BUY: 1, m.DEAL_TYPE_SELL: -1}
        until = datetime.now(UTC) + timedelta(days=1)  # the trade server's clock may run ahead of ours
        return [
            BrokerDeal(
                deal=str(d.ticket),
                order=str(d.order),
                symbol=d.symbol,
                direction=sides[d.type],
                lots=exact(d.volume),
                price=exact(d.price),
                time=_utc(d.time_msc),
                tag=d.comment,
            )
            for d in self._records(m.history_deals_get(since, until), "deals")
            if d.magic == self.magic and d.type in sides
        ]
