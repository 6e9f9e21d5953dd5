"""The simulated trade server: acts on requests that pass app.adapters.sim.checks, keeps orders, fills them.

Actions: DEAL (a market order, priced per the symbol's execution mode: app.adapters.sim.rules), PENDING
(limit, stop and stop-limit orders with their lifetime), SLTP, MODIFY, REMOVE and CLOSE_BY; the
positions and deals an execution makes are app.adapters.sim.accounting's.

Timing. A market order executes on send, unless the symbol's resting time (`pending_fill_after_s`)
says it rests (10008 PLACED) until then, or the symbol is on Exchange execution: the order goes to
the exchange (10008 PLACED) and executes at its resting time, at once when that is 0 (the next call
sees it). An execution fills `fill_ratio` of what the order asks, up to the liquidity; FOK takes all
or nothing, IOC cancels what is left, Return leaves it resting: it executes again after the resting
time (a pending order: when its price is reached again), for all that is left up to the liquidity.

Quotes. Pending orders, stop-limit activation, stop loss and take profit are checked against the
quotes at each call to the terminal (the random walk or set_quote), in ticket order: the simulator
has no tick stream, so a quote that crosses a level and comes back between two calls triggers
nothing. Limit orders and take profits fill at the quote (at least as good as their price), stop
orders, stop losses and market orders at the quote moved adversely by `fill_slippage_points`; a
pending order whose margin the account no longer has when it triggers is rejected
(ORDER_STATE_REJECTED).
"""

from __future__ import annotations

import random
from decimal import ROUND_FLOOR, Decimal

from app.adapters.mt5 import constants as c
from app.adapters.mt5.records import (
    OrderCheckResult,
    OrderSendResult,
    TradeDeal,
    TradeOrder,
    TradePosition,
    TradeRequest,
)
from app.adapters.sim.accounting import ZERO, AccountFigures, Books
from app.adapters.sim.checks import OK, Checks, Verdict, modified
from app.adapters.sim.market import Market, Quote
from app.adapters.sim.requests import CHECK_OK_COMMENT, comment_for, truncate_comment
from app.adapters.sim.rules import (
    LIMITS,
    MARKET,
    PENDING,
    STOP_LIMITS,
    activated,
    beyond_deviation,
    dec,
    expiry,
    is_buy,
    needs_price,
    touch,
    triggered,
)
from app.adapters.sim.scenario import Scenario, SymbolSpec
from app.adapters.sim.state import SimState

__all__ = ["AccountFigures", "TradeServer", "dec"]

_REASON_EXPERT = c.ORDER_REASON_EXPERT  # orders sent through the API are "expert" orders in MT5


class TradeServer:
    def __init__(self, scenario: Scenario, market: Market, state: SimState) -> None:
        self._symbols = scenario.symbols
        self._behaviour = scenario.behaviour
        self._market = market
        self._state = state
        self._jitter = random.Random(f"fills:{scenario.behaviour.random_seed}")
        self.books = Books(scenario, market, state)
        self._checks = Checks(scenario, market, state, self.books)
        # resting pending orders: the quotes are watched for these
        self._waiting = {t for t in state.due if state.orders[t].type in PENDING}
        self._waiting_version = 0
        self._watched: tuple[int, int, int] | None = None  # what the last look at the quotes saw

    def figures(self, now: float) -> AccountFigures:
        return self.books.figures(now)

    def live_position(self, pos: TradePosition, now: float) -> TradePosition:
        return self.books.live_position(pos, now)

    # --- order_check ----------------------------------------------------------------------------

    def check(self, req: TradeRequest, now: float) -> OrderCheckResult:
        """The verdict order_send would start from, with the figures the account would have after it."""
        v = self._checks.verdict(req, now)
        fig = self.books.after(v.closings, v.margin, now)
        return OrderCheckResult(
            retcode=v.code,
            balance=float(fig.balance),
            equity=float(fig.equity),
            profit=float(fig.profit),
            margin=float(fig.margin),
            margin_free=float(fig.margin_free),
            margin_level=float(fig.margin_level),
            comment=CHECK_OK_COMMENT if v.code == OK else comment_for(v.code),
            request=req,
        )

    # --- order_send -----------------------------------------------------------------------------

    def send(self, req: TradeRequest, call_no: int, now: float) -> OrderSendResult:
        """The server's answer to one order_send; call_no counts order_send calls from 1."""
        rid = self._state.new_request_id()
        if self._behaviour.reject_retcode:
            return _answer(req, rid, self._behaviour.reject_retcode)
        v = self._checks.verdict(req, now)
        if v.code != OK:
            return _answer(req, rid, v.code)
        if req.action == c.TRADE_ACTION_DEAL:
            return self._deal(req, rid, v, call_no, now)
        if req.action == c.TRADE_ACTION_PENDING:
            return self._place(req, rid, now)
        if req.action == c.TRADE_ACTION_SLTP:
            assert v.position is not None
            self.books.set_stops(v.position, dec(req.sl), dec(req.tp), now)
            return _answer(req, rid, c.TRADE_RETCODE_DONE, quote=self._quote(v.position.symbol, now))
        if req.action == c.TRADE_ACTION_MODIFY:
            assert v.order is not None
            self._state.orders[v.order.ticket] = modified(v.order, req)
            self._waiting_version += 1
            return _answer(req, rid, c.TRADE_RETCODE_DONE, order=v.order.ticket)
        if req.action == c.TRADE_ACTION_REMOVE:
            assert v.order is not None
            self._finish(v.order.ticket, c.ORDER_STATE_CANCELED, now)
            return _answer(req, rid, c.TRADE_RETCODE_DONE, order=v.order.ticket)
        return self._close_by(req, rid, v, now)  # TRADE_ACTION_CLOSE_BY: checks knows no other action

    def settle(self, now: float) -> bool:
        """Bring the books up to `now`: orders due, lifetimes ended, prices reached. True if anything changed."""
        st = self._state
        self.books.open_account(now)
        if not st.due and not self.books.protected:
            return False  # nothing rests, nothing is watched: the usual case, at every call
        ready = sorted((when, t) for t, when in st.due.items() if when is not None and when <= now)
        for when, ticket in ready:
            ends = self._expiry(ticket)
            if ends is None or ends > when:  # else it expired first (below)
                self._execute(ticket, when)
        ended = sorted((ends, t) for t in st.due if (ends := self._expiry(t)) is not None and ends <= now)
        for ends, ticket in ended:
            self._finish(ticket, c.ORDER_STATE_EXPIRED, ends)
        return self._watch(now) or bool(ready or ended)

    # --- actions --------------------------------------------------------------------------------

    def _deal(self, req: TradeRequest, rid: int, v: Verdict, call_no: int, now: float) -> OrderSendResult:
        spec = v.spec
        assert spec is not None
        b = self._behaviour
        q = self._quote(spec.name, now)
        buy = req.type == c.ORDER_TYPE_BUY
        if b.requote_every and call_no % b.requote_every == 0:
            return _answer(req, rid, c.TRADE_RETCODE_REQUOTE, quote=q)
        if needs_price(spec):
            # Instant fills at the stream price, Request at the price it quoted: either within the deviation.
            slip = b.fill_slippage_points if spec.execution_mode == "instant" else 0
            if beyond_deviation(spec, dec(req.price), touch(spec, buy, q, slip), req.deviation):
                return _answer(req, rid, c.TRADE_RETCODE_REQUOTE, quote=q)
        volume = dec(req.volume)
        exchange = spec.execution_mode == "exchange"
        if not exchange and req.type_filling != c.ORDER_FILLING_RETURN:
            fillable = self._fillable(spec, volume, b.fill_ratio)
            if fillable == 0 or (fillable < volume and req.type_filling == c.ORDER_FILLING_FOK):
                return _answer(req, rid, c.TRADE_RETCODE_REJECT, quote=q)
        ticket = self._new_order(req, spec, now, q)
        due = self._due(spec, now)
        if exchange or due != now:
            self._state.due[ticket] = due  # accepted, not yet executed: it rests until its due time (None: never)
            return _answer(req, rid, c.TRADE_RETCODE_PLACED, order=ticket, volume=volume, quote=q)
        deal = self._execute(ticket, now)
        if deal is None:
            code = c.TRADE_RETCODE_PLACED if ticket in self._state.due else c.TRADE_RETCODE_REJECT  # Return: it rests
            return _answer(req, rid, code, order=ticket, quote=q)
        filled = dec(deal.volume)
        code = c.TRADE_RETCODE_DONE if filled == volume else c.TRADE_RETCODE_DONE_PARTIAL
        return _answer(req, rid, code, deal=deal.ticket, order=ticket, volume=filled, price=dec(deal.price), quote=q)

    def _place(self, req: TradeRequest, rid: int, now: float) -> OrderSendResult:
        spec = self._symbols[req.symbol]
        q = self._quote(spec.name, now)
        ticket = self._new_order(req, spec, now, q)
        self._state.due[ticket] = None  # rests until its price is reached, removed, or its lifetime ends
        self._waiting.add(ticket)
        self._waiting_version += 1
        return _answer(req, rid, c.TRADE_RETCODE_DONE, order=ticket, volume=dec(req.volume), quote=q)

    def _close_by(self, req: TradeRequest, rid: int, v: Verdict, now: float) -> OrderSendResult:
        pos, by = v.position, v.other
        assert pos is not None and by is not None
        volume = min(dec(pos.volume), dec(by.volume))
        ticket = self._state.new_ticket()
        order = _order(
            ticket,
            now,
            c.ORDER_TYPE_CLOSE_BY,
            pos.symbol,
            volume,
            magic=req.magic,
            comment=req.comment,
            price=by.price_open,
            position_id=pos.identifier,
            position_by_id=by.identifier,
        )
        first, _ = self.books.close_by(order, pos, by, now)
        self._state.orders[ticket] = _done(order, c.ORDER_STATE_FILLED, now, ZERO)
        return _answer(
            req,
            rid,
            c.TRADE_RETCODE_DONE,
            deal=first.ticket,
            order=ticket,
            volume=volume,
            price=dec(first.price),
            quote=self._quote(pos.symbol, now),
        )

    # --- executions -----------------------------------------------------------------------------

    def _execute(self, ticket: int, at: float) -> TradeDeal | None:
        """One execution of a resting or just accepted order at time `at`; None when nothing filled."""
        st = self._state
        order = st.orders[ticket]
        spec = self._symbols.get(order.symbol)
        if spec is None:
            self._finish(ticket, c.ORDER_STATE_CANCELED, at)
            return None
        left = dec(order.volume_current)
        first = left == dec(order.volume_initial)
        filled = self._fillable(spec, left, self._behaviour.fill_ratio if first else Decimal(1))
        if order.type_filling == c.ORDER_FILLING_FOK and filled < left:
            filled = ZERO
        if not self.books.netting and order.position_id not in (0, order.ticket):  # closes a given position
            target = st.positions.get(order.position_id)
            if target is None:  # closed meanwhile: nothing left to close
                self._finish(ticket, c.ORDER_STATE_CANCELED, at)
                return None
            filled = min(filled, dec(target.volume))
        if filled == 0:
            if order.type_filling == c.ORDER_FILLING_RETURN:
                self._rest(order, spec, at)
            else:
                self._finish(ticket, c.ORDER_STATE_CANCELED, at)
            return None
        price = self._price(spec, order, self._market.quote(spec.name, at))
        deal = self.books.execute(order, filled, price, at, c.DEAL_REASON_EXPERT)
        left -= filled
        order = order._replace(
            volume_current=float(left),
            price_current=float(price),
            position_id=deal.position_id,
            price_open=float(price) if order.type in MARKET else order.price_open,
        )
        if left > 0 and order.type_filling == c.ORDER_FILLING_RETURN:
            st.orders[ticket] = order._replace(state=c.ORDER_STATE_PARTIAL)
            self._rest(order, spec, at)
        else:
            st.orders[ticket] = _done(order, c.ORDER_STATE_FILLED, at, left)
            self._forget(ticket)
        return deal

    def _price(self, spec: SymbolSpec, order: TradeOrder, quote: Quote) -> Decimal:
        buy = is_buy(order.type)
        if order.type in LIMITS:
            return touch(spec, buy, quote, 0)
        if order.type in MARKET and spec.execution_mode == "request":
            return dec(order.price_open)  # the price the broker quoted and the trader confirmed
        return touch(spec, buy, quote, self._behaviour.fill_slippage_points)

    def _watch(self, now: float) -> bool:
        """Pending orders whose price is reached, positions whose stop loss or take profit is; True if any."""
        if not self._waiting and not self.books.protected:
            return False
        seen = (self._market.version, self._waiting_version, self.books.protected_version)
        if not self._market.moving and seen == self._watched:
            return False  # still quotes, nothing new to watch
        st = self._state
        changed = False
        for ticket in sorted(self._waiting):
            order = st.orders[ticket]
            q = self._market.quote(order.symbol, now)
            if not triggered(order, q):
                continue
            changed = True
            if order.type in STOP_LIMITS:
                order = st.orders[ticket] = activated(order)
                if not triggered(order, q):
                    continue
            if self._affordable(order, now):
                self._execute(ticket, now)
            else:
                self._finish(ticket, c.ORDER_STATE_REJECTED, now)
        for ticket in sorted(self.books.protected):
            pos = st.positions.get(ticket)
            if pos is not None and self._stop_out(pos, now):
                changed = True
        # after a change, look again at the next call: a Return remainder may fill, a limit just activated trigger
        self._watched = None if changed else seen
        return changed

    def _affordable(self, order: TradeOrder, now: float) -> bool:
        spec = self._symbols[order.symbol]
        buy, volume = is_buy(order.type), dec(order.volume_current)
        closings = self.books.closed_by(buy, volume, self.books.target(order))
        opened = volume - sum((part.volume for part in closings), ZERO)
        need = self._checks.margin_for(spec, buy, opened, now) if opened > 0 else ZERO
        return need is not None and need <= self.books.after(closings, ZERO, now).margin_free

    def _stop_out(self, pos: TradePosition, now: float) -> bool:
        """Close the position by a market deal when the price it closes at reached its stop loss or take profit."""
        long = pos.type == c.POSITION_TYPE_BUY
        price = self.books.closing_price(pos.symbol, long, now)
        sl, tp = dec(pos.sl), dec(pos.tp)
        if sl and (price <= sl if long else price >= sl):
            reason, level, slip = c.DEAL_REASON_SL, pos.sl, self._behaviour.fill_slippage_points
        elif tp and (price >= tp if long else price <= tp):
            reason, level, slip = c.DEAL_REASON_TP, pos.tp, 0
        else:
            return False
        spec = self._symbols[pos.symbol]
        tag = "sl" if reason == c.DEAL_REASON_SL else "tp"
        order = _order(
            self._state.new_ticket(),
            now,
            c.ORDER_TYPE_SELL if long else c.ORDER_TYPE_BUY,
            pos.symbol,
            dec(pos.volume),
            magic=pos.magic,
            comment=f"[{tag} {level:.{spec.digits}f}]",  # as the terminal labels such a deal
            position_id=pos.ticket,
            reason=c.ORDER_REASON_SL if reason == c.DEAL_REASON_SL else c.ORDER_REASON_TP,
        )
        fill = touch(spec, not long, self._market.quote(pos.symbol, now), slip)
        deal = self.books.execute(order, dec(pos.volume), fill, now, reason)
        self._state.orders[order.ticket] = _done(
            order._replace(price_open=float(fill), price_current=float(fill), position_id=deal.position_id),
            c.ORDER_STATE_FILLED,
            now,
            ZERO,
        )
        return True

    # --- internals ------------------------------------------------------------------------------

    def _new_order(self, req: TradeRequest, spec: SymbolSpec, now: float, q: Quote) -> int:
        ticket = self._state.new_ticket()
        self._state.orders[ticket] = _order(
            ticket,
            now,
            req.type,
            spec.name,
            dec(req.volume),
            magic=req.magic,
            comment=req.comment,
            price=req.price,
            stoplimit=req.stoplimit,
            sl=req.sl,
            tp=req.tp,
            type_filling=req.type_filling,
            type_time=req.type_time,
            expiration=req.expiration,
            position_id=req.position,
            current=q.ask if is_buy(req.type) else q.bid,
        )
        return ticket

    def _due(self, spec: SymbolSpec, now: float) -> float | None:
        """When an order accepted now executes: its symbol's resting time, or the scenario's (None: never)."""
        b = self._behaviour
        rest = spec.pending_fill_after_s if spec.pending_fill_after_s is not None else b.pending_fill_after_s
        if rest < 0:
            return None
        if b.pending_fill_jitter_s:
            rest += self._jitter.uniform(0, b.pending_fill_jitter_s)
        return now + rest

    def _rest(self, order: TradeOrder, spec: SymbolSpec, at: float) -> None:
        """Return: what is left rests, a market order for its resting time, a pending one for its price."""
        self._state.due[order.ticket] = None if order.type in PENDING else self._due(spec, at)

    def _expiry(self, ticket: int) -> float | None:
        order = self._state.orders[ticket]
        if order.type_time == c.ORDER_TIME_GTC:
            return None
        return expiry(order.type_time, order.time_setup_msc / 1000, order.time_expiration)

    def _finish(self, ticket: int, state: int, at: float) -> None:
        order = self._state.orders[ticket]
        self._state.orders[ticket] = _done(order, state, at, dec(order.volume_current))
        self._forget(ticket)

    def _forget(self, ticket: int) -> None:
        self._state.due.pop(ticket, None)
        if ticket in self._waiting:
            self._waiting.discard(ticket)
            self._waiting_version += 1

    def _fillable(self, spec: SymbolSpec, volume: Decimal, ratio: Decimal) -> Decimal:
        """What the market gives: volume * ratio, at most liquidity_lots, down to whole steps.

        A partial fill is never smaller than the minimum lot (the market deals in no less), so an
        order for the minimum fills in full and completing a partial fill converges.
        """
        share = volume * ratio
        if ratio > 0:
            share = max(share, min(volume, spec.volume_min))
        avail = min(share, spec.liquidity_lots)
        steps = (avail / spec.volume_step).to_integral_value(rounding=ROUND_FLOOR)
        return min(steps * spec.volume_step, volume)

    def _quote(self, symbol: str, now: float) -> Quote:
        return self._market.quote(symbol, now)


def _order(
    ticket: int,
    now: float,
    order_type: int,
    symbol: str,
    volume: Decimal,
    *,
    magic: int,
    comment: str,
    price: float = 0.0,
    stoplimit: float = 0.0,
    sl: float = 0.0,
    tp: float = 0.0,
    type_filling: int = c.ORDER_FILLING_FOK,
    type_time: int = c.ORDER_TIME_GTC,
    expiration: int = 0,
    position_id: int = 0,
    position_by_id: int = 0,
    reason: int = _REASON_EXPERT,
    current: Decimal = ZERO,
) -> TradeOrder:
    """A new order, placed (ORDER_STATE_PLACED) at `now`."""
    return TradeOrder(
        ticket=ticket,
        time_setup=int(now),
        time_setup_msc=int(now * 1000),
        time_done=0,
        time_done_msc=0,
        time_expiration=expiration,
        type=order_type,
        type_time=type_time,
        type_filling=type_filling,
        state=c.ORDER_STATE_PLACED,
        magic=magic,
        position_id=position_id,
        position_by_id=position_by_id,
        reason=reason,
        volume_initial=float(volume),
        volume_current=float(volume),
        price_open=price,
        sl=sl,
        tp=tp,
        price_current=float(current),
        price_stoplimit=stoplimit,
        symbol=symbol,
        comment=truncate_comment(comment),
        external_id="",
    )


def _done(order: TradeOrder, state: int, at: float, left: Decimal) -> TradeOrder:
    """The order in the history: filled, cancelled, expired or rejected at `at`, `left` lots unexecuted."""
    return order._replace(state=state, volume_current=float(left), time_done=int(at), time_done_msc=int(at * 1000))


def _answer(
    req: TradeRequest,
    rid: int,
    retcode: int,
    *,
    deal: int = 0,
    order: int = 0,
    volume: Decimal = ZERO,
    price: Decimal = ZERO,
    quote: Quote | None = None,
) -> OrderSendResult:
    """MqlTradeResult: bid/ask are the market's prices when the server answered (the new prices of a requote)."""
    return OrderSendResult(
        retcode=retcode,
        deal=deal,
        order=order,
        volume=float(volume),
        price=float(price),
        bid=float(quote.bid) if quote else 0.0,
        ask=float(quote.ask) if quote else 0.0,
        comment=comment_for(retcode),
        request_id=rid,
        retcode_external=0,
        request=req,
    )
