"""What the trade server answers a request before acting on it: one check per action, shared by
order_check (which stops there) and order_send (which acts on a passing verdict).

The retcodes follow the MQL5 reference's trade server return codes. Where a request names what
does not exist, it is 10013 INVALID; an order or position that exists but cannot take the action is
10035 INVALID_ORDER; a position that existed and was closed is 10036 POSITION_CLOSED.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from app.adapters.mt5 import constants as c
from app.adapters.mt5.records import TradeOrder, TradePosition, TradeRequest
from app.adapters.sim.accounting import ZERO, Books, Closing
from app.adapters.sim.market import Market
from app.adapters.sim.rules import (
    MARKET,
    PENDING,
    STOP_LIMITS,
    dec,
    expiration_ok,
    fillings,
    is_buy,
    needs_price,
    placement_ok,
    stops_ok,
)
from app.adapters.sim.scenario import Scenario, SymbolSpec
from app.adapters.sim.state import SimState

OK = 0  # order_check's retcode for a request that would pass


@dataclass(frozen=True)
class Verdict:
    code: int
    spec: SymbolSpec | None = None
    closings: tuple[Closing, ...] = ()  # what the request closes
    margin: Decimal = ZERO  # margin its new position needs
    position: TradePosition | None = None  # the position it names (DEAL, SLTP, CLOSE_BY)
    other: TradePosition | None = None  # CLOSE_BY's position_by
    order: TradeOrder | None = None  # the resting order it names (MODIFY, REMOVE)


def volume_ok(spec: SymbolSpec, volume: Decimal) -> bool:
    """Within volume_min..volume_max and an exact multiple of volume_step."""
    if not volume.is_finite() or volume <= 0:
        return False
    return spec.volume_min <= volume <= spec.volume_max and volume % spec.volume_step == 0


class Checks:
    def __init__(self, scenario: Scenario, market: Market, state: SimState, books: Books) -> None:
        self._symbols = scenario.symbols
        self._account = scenario.account
        self._market = market
        self._state = state
        self._books = books

    def verdict(self, req: TradeRequest, now: float) -> Verdict:
        check = {
            c.TRADE_ACTION_DEAL: self._deal,
            c.TRADE_ACTION_PENDING: self._pending,
            c.TRADE_ACTION_SLTP: self._sltp,
            c.TRADE_ACTION_MODIFY: self._modify,
            c.TRADE_ACTION_REMOVE: self._remove,
            c.TRADE_ACTION_CLOSE_BY: self._close_by,
        }.get(req.action)
        return check(req, now) if check else Verdict(c.TRADE_RETCODE_INVALID)

    def margin_for(self, spec: SymbolSpec, buy: bool, volume: Decimal, now: float) -> Decimal | None:
        q = self._market.quote(spec.name, now)
        return self._market.margin(spec, self._account, volume, q.ask if buy else q.bid, now)

    # --- per action -----------------------------------------------------------------------------

    def _deal(self, req: TradeRequest, now: float) -> Verdict:
        spec = self._symbols.get(req.symbol) if req.symbol else None
        if spec is None:
            return Verdict(c.TRADE_RETCODE_INVALID)
        if req.type not in MARKET:
            return Verdict(c.TRADE_RETCODE_INVALID_ORDER, spec)
        buy = req.type == c.ORDER_TYPE_BUY
        pos = None
        if req.position:
            pos = self._state.positions.get(req.position)
            if pos is None:
                return Verdict(self._gone(req.position), spec)
            if pos.symbol != spec.name or (pos.type == c.POSITION_TYPE_BUY) == buy:
                return Verdict(c.TRADE_RETCODE_INVALID, spec)
        volume = dec(req.volume)
        target = pos if pos is not None or not self._books.netting else self._books.position_of(spec.name)
        only_closes = (
            volume.is_finite()
            and target is not None
            and (target.type == c.POSITION_TYPE_BUY) != buy
            and volume <= dec(target.volume)
        )
        code = self._tradable(spec, buy, opening=not only_closes)
        if code:
            return Verdict(code, spec, position=pos)
        if not volume_ok(spec, volume):
            return Verdict(c.TRADE_RETCODE_INVALID_VOLUME, spec, position=pos)
        if pos is not None and volume > dec(pos.volume):
            return Verdict(c.TRADE_RETCODE_INVALID_CLOSE_VOLUME, spec, position=pos)
        if req.type_filling not in fillings(spec, req.type):
            return Verdict(c.TRADE_RETCODE_INVALID_FILL, spec, position=pos)
        if needs_price(spec) and not self._positive(req.price):
            return Verdict(c.TRADE_RETCODE_INVALID_PRICE, spec, position=pos)
        closings = tuple(self._books.closed_by(buy, volume, target))
        opened = volume - sum((part.volume for part in closings), ZERO)
        if opened > 0 and not stops_ok(buy, dec(req.sl), dec(req.tp), self._books.closing_price(spec.name, buy, now)):
            return Verdict(c.TRADE_RETCODE_INVALID_STOPS, spec, position=pos)
        need = self.margin_for(spec, buy, opened, now) if opened > 0 else ZERO
        if need is None:
            return Verdict(c.TRADE_RETCODE_ERROR, spec, position=pos)
        code = c.TRADE_RETCODE_NO_MONEY if need > self._books.after(closings, ZERO, now).margin_free else OK
        return Verdict(code, spec, closings, need, position=pos)

    def _pending(self, req: TradeRequest, now: float) -> Verdict:
        spec = self._symbols.get(req.symbol) if req.symbol else None
        if spec is None:
            return Verdict(c.TRADE_RETCODE_INVALID)
        if req.type not in PENDING:
            return Verdict(c.TRADE_RETCODE_INVALID_ORDER, spec)
        buy = is_buy(req.type)
        code = self._tradable(spec, buy, opening=True)
        if code:
            return Verdict(code, spec)
        if not volume_ok(spec, dec(req.volume)):
            return Verdict(c.TRADE_RETCODE_INVALID_VOLUME, spec)
        code = self._order_terms(spec, req.type, req, now)
        if code:
            return Verdict(code, spec)
        if req.type_filling not in fillings(spec, req.type):
            return Verdict(c.TRADE_RETCODE_INVALID_FILL, spec)
        return Verdict(OK, spec)  # no margin is held for a pending order; it is checked when it triggers

    def _sltp(self, req: TradeRequest, now: float) -> Verdict:
        if req.position:
            pos = self._state.positions.get(req.position)
        else:  # a netting account's position is its symbol's
            pos = self._books.position_of(req.symbol) if self._books.netting and req.symbol else None
        if pos is None:
            return Verdict(self._gone(req.position))
        spec = self._symbols.get(pos.symbol)
        if spec is None or (req.symbol and req.symbol != pos.symbol):
            return Verdict(c.TRADE_RETCODE_INVALID)
        code = self._tradable(spec, pos.type == c.POSITION_TYPE_BUY, opening=False)
        if code:
            return Verdict(code, spec, position=pos)
        buy = pos.type == c.POSITION_TYPE_BUY
        sl, tp = dec(req.sl), dec(req.tp)
        if not stops_ok(buy, sl, tp, self._books.closing_price(spec.name, buy, now)):
            return Verdict(c.TRADE_RETCODE_INVALID_STOPS, spec, position=pos)
        if (sl, tp) == (dec(pos.sl), dec(pos.tp)):
            return Verdict(c.TRADE_RETCODE_NO_CHANGES, spec, position=pos)
        return Verdict(OK, spec, position=pos)

    def _modify(self, req: TradeRequest, now: float) -> Verdict:
        order = self._state.orders.get(req.order) if req.order else None
        if order is None:
            return Verdict(c.TRADE_RETCODE_INVALID)
        spec = self._symbols.get(order.symbol)
        if spec is None or order.ticket not in self._state.due or order.type not in PENDING:
            return Verdict(c.TRADE_RETCODE_INVALID_ORDER, spec, order=order)  # done, or a market order
        code = self._tradable(spec, is_buy(order.type), opening=False) or self._order_terms(spec, order.type, req, now)
        if code:
            return Verdict(code, spec, order=order)
        if modified(order, req) == order:
            return Verdict(c.TRADE_RETCODE_NO_CHANGES, spec, order=order)
        return Verdict(OK, spec, order=order)

    def _remove(self, req: TradeRequest, now: float) -> Verdict:
        order = self._state.orders.get(req.order) if req.order else None
        if order is None:
            return Verdict(c.TRADE_RETCODE_INVALID)
        if order.ticket not in self._state.due:
            return Verdict(c.TRADE_RETCODE_INVALID_ORDER, order=order)  # filled, cancelled or expired already
        return Verdict(OK, order=order)

    def _close_by(self, req: TradeRequest, now: float) -> Verdict:
        if self._books.netting:  # one position per symbol: there is no opposite one
            return Verdict(c.TRADE_RETCODE_INVALID)
        pos = self._state.positions.get(req.position)
        by = self._state.positions.get(req.position_by)
        if pos is None or by is None:
            return Verdict(self._gone(req.position if pos is None else req.position_by))
        if pos.ticket == by.ticket or pos.symbol != by.symbol or pos.type == by.type:
            return Verdict(c.TRADE_RETCODE_INVALID)
        spec = self._symbols.get(pos.symbol)
        if spec is None or (req.symbol and req.symbol != pos.symbol):
            return Verdict(c.TRADE_RETCODE_INVALID)
        code = self._tradable(spec, pos.type == c.POSITION_TYPE_SELL, opening=False)
        volume, price = min(dec(pos.volume), dec(by.volume)), dec(by.price_open)
        closings = (Closing(pos, volume, price), Closing(by, volume, price))
        return Verdict(code, spec, closings, position=pos, other=by)

    # --- shared ---------------------------------------------------------------------------------

    def _tradable(self, spec: SymbolSpec, buy: bool, *, opening: bool) -> int:
        if spec.trade_mode == "disabled":
            return c.TRADE_RETCODE_TRADE_DISABLED
        if not spec.market_open:
            return c.TRADE_RETCODE_MARKET_CLOSED
        if opening:
            if spec.trade_mode == "closeonly":
                return c.TRADE_RETCODE_CLOSE_ONLY
            if spec.trade_mode == "longonly" and not buy:
                return c.TRADE_RETCODE_LONG_ONLY
            if spec.trade_mode == "shortonly" and buy:
                return c.TRADE_RETCODE_SHORT_ONLY
        return OK

    def _order_terms(self, spec: SymbolSpec, order_type: int, req: TradeRequest, now: float) -> int:
        """A pending order's price, lifetime and stops (for placing it and for modifying it)."""
        price, stoplimit = dec(req.price), dec(req.stoplimit)
        if not placement_ok(order_type, price, stoplimit, self._market.quote(spec.name, now)):
            return c.TRADE_RETCODE_INVALID_PRICE
        if not expiration_ok(req.type_time, req.expiration, now):
            return c.TRADE_RETCODE_INVALID_EXPIRATION
        executes_at = stoplimit if order_type in STOP_LIMITS else price
        if not stops_ok(is_buy(order_type), dec(req.sl), dec(req.tp), executes_at):
            return c.TRADE_RETCODE_INVALID_STOPS
        return OK

    def _gone(self, ticket: int) -> int:
        was = bool(ticket) and ticket in self._state.deals_by_position
        return c.TRADE_RETCODE_POSITION_CLOSED if was else c.TRADE_RETCODE_INVALID

    @staticmethod
    def _positive(value: float) -> bool:
        price = dec(value)
        return price.is_finite() and price > 0


def modified(order: TradeOrder, req: TradeRequest) -> TradeOrder:
    """The resting order with a TRADE_ACTION_MODIFY request's price, stops and lifetime."""
    return order._replace(
        price_open=req.price,
        price_stoplimit=req.stoplimit if order.type in STOP_LIMITS else order.price_stoplimit,
        sl=req.sl,
        tp=req.tp,
        type_time=req.type_time,
        time_expiration=req.expiration,
    )
