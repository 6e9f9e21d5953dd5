"""The simulated trade server: checks requests, keeps orders, fills them into deals and positions.

Market execution (SYMBOL_TRADE_EXECUTION_MARKET) on a hedging account: `price` and `deviation` are
accepted but not enforced; buys fill at the ask and sells at the bid of the moment of the fill,
moved adversely by `fill_slippage_points`. A request with `position` closes (part of) that position.
Pending order types and the SLTP/MODIFY/CLOSE_BY actions are not simulated (retcode 10013); sl/tp
are checked and kept on the position but never triggered.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from app.mt5 import constants as c
from app.mt5.records import OrderCheckResult, OrderSendResult, TradeDeal, TradeOrder, TradePosition, TradeRequest
from app.sim.market import Market
from app.sim.requests import CHECK_OK, CHECK_OK_COMMENT, FILLING_NAMES, comment_for, truncate_comment
from app.sim.scenario import Scenario, SymbolSpec
from app.sim.state import SimState

ZERO = Decimal(0)
_REASON_EXPERT = c.ORDER_REASON_EXPERT  # orders sent through the API are "expert" orders in MT5


def dec(value: float) -> Decimal:
    """A float from a request or record as the decimal it was written as (0.95, not 0.9499999...)."""
    return Decimal(str(value))


def volume_ok(spec: SymbolSpec, volume: Decimal) -> bool:
    """Within volume_min..volume_max and an exact multiple of volume_step."""
    if not volume.is_finite() or volume <= 0:
        return False
    return spec.volume_min <= volume <= spec.volume_max and volume % spec.volume_step == 0


@dataclass(frozen=True)
class AccountFigures:
    balance: Decimal
    profit: Decimal
    equity: Decimal
    margin: Decimal
    margin_free: Decimal
    margin_level: Decimal  # percent; 0 without margin in use


@dataclass
class _Exposure:
    """Open volume of one symbol and direction; margin and profit are linear in these two sums."""

    volume: Decimal = ZERO
    volume_price: Decimal = ZERO


class TradeServer:
    def __init__(self, scenario: Scenario, market: Market, state: SimState) -> None:
        self._scenario = scenario
        self._symbols = scenario.symbols
        self._account = scenario.account
        self._behaviour = scenario.behaviour
        self._market = market
        self._state = state
        self._jitter = random.Random(f"fills:{scenario.behaviour.random_seed}")
        # kept incrementally so account figures cost O(symbols), not O(positions), per call
        self._exposure: dict[tuple[str, int], _Exposure] = {}
        self._exposure_version = 0
        self._figures: tuple[tuple[int, int, Decimal], AccountFigures] | None = None
        for pos in state.positions.values():
            self._expose(pos.symbol, pos.type, dec(pos.volume), dec(pos.price_open))

    # --- account --------------------------------------------------------------------------------

    def figures(self, now: float) -> AccountFigures:
        # Still quotes and unchanged positions give the same figures: asked for at every check and send.
        key = (
            None if self._market.moving else (self._exposure_version, self._market.version, self._state.realized_profit)
        )
        if key is not None and self._figures is not None and self._figures[0] == key:
            return self._figures[1]
        figures = self._compute_figures(now)
        if key is not None:
            self._figures = (key, figures)
        return figures

    def _compute_figures(self, now: float) -> AccountFigures:
        balance = self._account.balance + self._state.realized_profit
        profit = margin = ZERO
        for (symbol, ptype), exp in self._exposure.items():
            spec = self._symbols.get(symbol)
            if spec is None or exp.volume <= 0:
                continue
            buy = ptype == c.POSITION_TYPE_BUY
            q = self._market.quote(symbol, now)
            avg_open = exp.volume_price / exp.volume
            close = q.bid if buy else q.ask
            profit += self._market.profit(spec, self._account, buy, exp.volume, avg_open, close, now) or ZERO
            margin += self._market.margin(spec, self._account, exp.volume, avg_open, now) or ZERO
        equity = balance + profit
        level = (equity / margin * 100).quantize(Decimal("0.01")) if margin else ZERO
        return AccountFigures(balance, profit, equity, margin, equity - margin, level)

    def live_position(self, pos: TradePosition, now: float) -> TradePosition:
        """The position with price_current and profit at the current quote."""
        spec = self._symbols.get(pos.symbol)
        if spec is None:
            return pos
        buy = pos.type == c.POSITION_TYPE_BUY
        q = self._market.quote(pos.symbol, now)
        current = q.bid if buy else q.ask
        profit = (
            self._market.profit(spec, self._account, buy, dec(pos.volume), dec(pos.price_open), current, now) or ZERO
        )
        return pos._replace(price_current=float(current), profit=float(profit))

    # --- order_check ----------------------------------------------------------------------------

    def check(self, req: TradeRequest, now: float) -> OrderCheckResult:
        fig = self.figures(now)
        extra = ZERO
        if req.action == c.TRADE_ACTION_REMOVE:
            order = self._state.orders.get(req.order)
            code = CHECK_OK if order and order.state == c.ORDER_STATE_PLACED else c.TRADE_RETCODE_INVALID
        elif req.action != c.TRADE_ACTION_DEAL:
            code = c.TRADE_RETCODE_INVALID
        else:
            code, spec, pos = self._validate_deal(req, now)
            if code == CHECK_OK and spec is not None and pos is None:
                need = self._required_margin(spec, req, now)
                if need is None:
                    code = c.TRADE_RETCODE_ERROR
                else:
                    extra = need
                    if need > fig.margin_free:
                        code = c.TRADE_RETCODE_NO_MONEY
        margin = fig.margin + extra
        level = (fig.equity / margin * 100).quantize(Decimal("0.01")) if margin else ZERO
        return OrderCheckResult(
            retcode=code,
            balance=float(fig.balance),
            equity=float(fig.equity),
            profit=float(fig.profit),
            margin=float(margin),
            margin_free=float(fig.equity - margin),
            margin_level=float(level),
            comment=CHECK_OK_COMMENT if code == CHECK_OK else comment_for(code),
            request=req,
        )

    # --- order_send -----------------------------------------------------------------------------

    def send(self, req: TradeRequest, call_no: int, now: float) -> OrderSendResult:
        """The server's answer to one order_send; call_no counts order_send calls from 1."""
        rid = self._state.new_request_id()
        b = self._behaviour
        if b.reject_retcode:
            return _answer(req, rid, b.reject_retcode)
        if req.action == c.TRADE_ACTION_REMOVE:
            return self._remove(req, rid, now)
        if req.action != c.TRADE_ACTION_DEAL:
            return _answer(req, rid, c.TRADE_RETCODE_INVALID)
        code, spec, pos = self._validate_deal(req, now)
        if code or spec is None:
            return _answer(req, rid, code or c.TRADE_RETCODE_INVALID)
        q = self._market.quote(spec.name, now)
        if b.requote_every and call_no % b.requote_every == 0:
            return _answer(req, rid, c.TRADE_RETCODE_REQUOTE, bid=q.bid, ask=q.ask)
        volume = dec(req.volume)
        fillable = self._fillable(spec, volume)
        if fillable == 0 or (fillable < volume and req.type_filling == c.ORDER_FILLING_FOK):
            return _answer(req, rid, c.TRADE_RETCODE_REJECT)
        if pos is None:
            need = self._required_margin(spec, req, now)
            if need is None:
                return _answer(req, rid, c.TRADE_RETCODE_ERROR)
            if need > self.figures(now).margin_free:
                return _answer(req, rid, c.TRADE_RETCODE_NO_MONEY)

        ticket = self._state.new_ticket()
        self._state.orders[ticket] = TradeOrder(
            ticket=ticket,
            time_setup=int(now),
            time_setup_msc=int(now * 1000),
            time_done=0,
            time_done_msc=0,
            time_expiration=0,
            type=req.type,
            type_time=req.type_time,
            type_filling=req.type_filling,
            state=c.ORDER_STATE_PLACED,
            magic=req.magic,
            position_id=pos.ticket if pos else 0,
            position_by_id=0,
            reason=_REASON_EXPERT,
            volume_initial=float(volume),
            volume_current=float(volume),
            price_open=req.price,
            sl=req.sl,
            tp=req.tp,
            price_current=float(q.ask if req.type == c.ORDER_TYPE_BUY else q.bid),
            price_stoplimit=0.0,
            symbol=spec.name,
            comment=truncate_comment(req.comment),
            external_id="",
        )
        rest = spec.pending_fill_after_s if spec.pending_fill_after_s is not None else b.pending_fill_after_s
        if rest >= 0 and b.pending_fill_jitter_s:
            rest += self._jitter.uniform(0, b.pending_fill_jitter_s)
        if rest != 0:
            # accepted but not yet executed: it rests until its due time (never when -1)
            self._state.due[ticket] = None if rest < 0 else now + rest
            return _answer(req, rid, c.TRADE_RETCODE_PLACED, order=ticket, volume=volume)
        deal = self._fill(ticket, now)
        if deal is None:
            return _answer(req, rid, c.TRADE_RETCODE_REJECT)
        filled = dec(deal.volume)
        code = c.TRADE_RETCODE_DONE if filled == volume else c.TRADE_RETCODE_DONE_PARTIAL
        return _answer(req, rid, code, deal=deal.ticket, order=ticket, volume=filled, price=dec(deal.price))

    def settle(self, now: float) -> bool:
        """Fill the resting orders whose due time has come (at that time); True if any did."""
        ready = sorted((when, t) for t, when in self._state.due.items() if when is not None and when <= now)
        for when, ticket in ready:
            self._fill(ticket, when)
        return bool(ready)

    # --- internals ------------------------------------------------------------------------------

    def _validate_deal(self, req: TradeRequest, now: float) -> tuple[int, SymbolSpec | None, TradePosition | None]:
        spec = self._symbols.get(req.symbol) if req.symbol else None
        if spec is None:
            return c.TRADE_RETCODE_INVALID, None, None
        if req.type not in (c.ORDER_TYPE_BUY, c.ORDER_TYPE_SELL):
            return c.TRADE_RETCODE_INVALID_ORDER, spec, None
        pos = None
        if req.position:
            pos = self._state.positions.get(req.position)
            if pos is None:
                was = req.position in self._state.deals_by_position
                return (c.TRADE_RETCODE_POSITION_CLOSED if was else c.TRADE_RETCODE_INVALID), spec, None
            same_side = (pos.type == c.POSITION_TYPE_BUY) == (req.type == c.ORDER_TYPE_BUY)
            if pos.symbol != spec.name or same_side:
                return c.TRADE_RETCODE_INVALID, spec, None
        if spec.trade_mode == "disabled":
            return c.TRADE_RETCODE_TRADE_DISABLED, spec, pos
        if not spec.market_open:
            return c.TRADE_RETCODE_MARKET_CLOSED, spec, pos
        if pos is None:
            if spec.trade_mode == "closeonly":
                return c.TRADE_RETCODE_CLOSE_ONLY, spec, pos
            if spec.trade_mode == "longonly" and req.type == c.ORDER_TYPE_SELL:
                return c.TRADE_RETCODE_LONG_ONLY, spec, pos
            if spec.trade_mode == "shortonly" and req.type == c.ORDER_TYPE_BUY:
                return c.TRADE_RETCODE_SHORT_ONLY, spec, pos
        volume = dec(req.volume)
        if not volume_ok(spec, volume):
            return c.TRADE_RETCODE_INVALID_VOLUME, spec, pos
        if pos is not None and volume > dec(pos.volume):
            return c.TRADE_RETCODE_INVALID_CLOSE_VOLUME, spec, pos
        if FILLING_NAMES.get(req.type_filling) not in spec.filling_modes:
            return c.TRADE_RETCODE_INVALID_FILL, spec, pos
        if pos is None and not self._stops_ok(spec, req, now):
            return c.TRADE_RETCODE_INVALID_STOPS, spec, pos
        return CHECK_OK, spec, pos

    def _stops_ok(self, spec: SymbolSpec, req: TradeRequest, now: float) -> bool:
        q = self._market.quote(spec.name, now)
        sl, tp = dec(req.sl), dec(req.tp)
        if not (sl.is_finite() and tp.is_finite()):
            return False
        if req.type == c.ORDER_TYPE_BUY:  # a long closes at the bid
            return (sl == 0 or sl < q.bid) and (tp == 0 or tp > q.bid)
        return (sl == 0 or sl > q.ask) and (tp == 0 or tp < q.ask)

    def _required_margin(self, spec: SymbolSpec, req: TradeRequest, now: float) -> Decimal | None:
        q = self._market.quote(spec.name, now)
        price = q.ask if req.type == c.ORDER_TYPE_BUY else q.bid
        return self._market.margin(spec, self._account, dec(req.volume), price, now)

    def _fillable(self, spec: SymbolSpec, volume: Decimal) -> Decimal:
        """What the market gives: volume * fill_ratio, at most liquidity_lots, down to whole steps.

        A partial fill is never smaller than the minimum lot (the market deals in no less), so an
        order for the minimum fills in full and completing a partial fill converges.
        """
        ratio = self._behaviour.fill_ratio
        share = volume * ratio
        if ratio > 0:
            share = max(share, min(volume, spec.volume_min))
        avail = min(share, spec.liquidity_lots)
        steps = (avail / spec.volume_step).to_integral_value(rounding=ROUND_FLOOR)
        return min(steps * spec.volume_step, volume)

    def _fill(self, ticket: int, at: float) -> TradeDeal | None:
        """Execute an accepted order at time `at`: deal, position change, order to history."""
        st = self._state
        st.due.pop(ticket, None)
        order = st.orders[ticket]
        spec = self._symbols.get(order.symbol)
        volume = dec(order.volume_initial)
        filled = self._fillable(spec, volume) if spec else ZERO
        if order.type_filling == c.ORDER_FILLING_FOK and filled < volume:
            filled = ZERO
        pos = st.positions.get(order.position_id) if order.position_id else None
        if order.position_id:
            filled = min(filled, dec(pos.volume)) if pos else ZERO
        done_ms = int(at * 1000)
        if spec is None or filled == 0:
            st.orders[ticket] = order._replace(state=c.ORDER_STATE_CANCELED, time_done=int(at), time_done_msc=done_ms)
            return None
        buy = order.type == c.ORDER_TYPE_BUY
        q = self._market.quote(spec.name, at)
        slip = self._behaviour.fill_slippage_points * spec.point
        price = q.ask + slip if buy else max(q.bid - slip, spec.point)
        deal_ticket = st.new_ticket()
        profit = ZERO
        if pos is None:
            position_id = ticket  # hedging: the opening order's ticket names the position
            st.positions[ticket] = TradePosition(
                ticket=ticket,
                time=int(at),
                time_msc=int(at * 1000),
                time_update=int(at),
                time_update_msc=int(at * 1000),
                type=c.POSITION_TYPE_BUY if buy else c.POSITION_TYPE_SELL,
                magic=order.magic,
                identifier=ticket,
                reason=c.POSITION_REASON_EXPERT,
                volume=float(filled),
                price_open=float(price),
                sl=order.sl,
                tp=order.tp,
                price_current=float(price),
                swap=0.0,
                profit=0.0,
                symbol=spec.name,
                comment=order.comment,
                external_id="",
            )
            self._expose(spec.name, st.positions[ticket].type, filled, price)
        else:
            position_id = pos.ticket
            long_pos = pos.type == c.POSITION_TYPE_BUY
            profit = self._market.profit(spec, self._account, long_pos, filled, dec(pos.price_open), price, at) or ZERO
            st.realized_profit += profit
            self._expose(spec.name, pos.type, -filled, dec(pos.price_open))
            left = dec(pos.volume) - filled
            if left == 0:
                del st.positions[pos.ticket]
            else:
                st.positions[pos.ticket] = pos._replace(
                    volume=float(left), time_update=int(at), time_update_msc=int(at * 1000)
                )
        deal = TradeDeal(
            ticket=deal_ticket,
            order=ticket,
            time=int(at),
            time_msc=int(at * 1000),
            type=c.DEAL_TYPE_BUY if buy else c.DEAL_TYPE_SELL,
            entry=c.DEAL_ENTRY_IN if pos is None else c.DEAL_ENTRY_OUT,
            magic=order.magic,
            position_id=position_id,
            reason=c.DEAL_REASON_EXPERT,
            volume=float(filled),
            price=float(price),
            commission=0.0,
            swap=0.0,
            profit=float(profit),
            fee=0.0,
            symbol=spec.name,
            comment=order.comment,
            external_id="",
        )
        st.add_deal(deal)
        st.orders[ticket] = order._replace(
            state=c.ORDER_STATE_FILLED,
            volume_current=float(volume - filled),
            price_open=float(price),
            price_current=float(price),
            position_id=position_id,
            time_done=int(at),
            time_done_msc=done_ms,
        )
        return deal

    def _remove(self, req: TradeRequest, rid: int, now: float) -> OrderSendResult:
        order = self._state.orders.get(req.order) if req.order else None
        if order is None:
            return _answer(req, rid, c.TRADE_RETCODE_INVALID)
        if order.state != c.ORDER_STATE_PLACED:
            return _answer(req, rid, c.TRADE_RETCODE_INVALID_ORDER)
        self._state.due.pop(order.ticket, None)
        self._state.orders[order.ticket] = order._replace(
            state=c.ORDER_STATE_CANCELED, time_done=int(now), time_done_msc=int(now * 1000)
        )
        return _answer(req, rid, c.TRADE_RETCODE_DONE, order=order.ticket)

    def _expose(self, symbol: str, ptype: int, volume: Decimal, price: Decimal) -> None:
        exp = self._exposure.setdefault((symbol, ptype), _Exposure())
        self._exposure_version += 1
        exp.volume += volume
        exp.volume_price += volume * price
        if exp.volume == 0:
            exp.volume_price = ZERO  # no residue of rounded averages once flat


def _answer(
    req: TradeRequest,
    rid: int,
    retcode: int,
    *,
    deal: int = 0,
    order: int = 0,
    volume: Decimal = ZERO,
    price: Decimal = ZERO,
    bid: Decimal = ZERO,
    ask: Decimal = ZERO,
) -> OrderSendResult:
    return OrderSendResult(
        retcode=retcode,
        deal=deal,
        order=order,
        volume=float(volume),
        price=float(price),
        bid=float(bid),
        ask=float(ask),
        comment=comment_for(retcode),
        request_id=rid,
        retcode_external=0,
        request=req,
    )
