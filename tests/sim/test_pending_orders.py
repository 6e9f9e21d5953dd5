"""Pending orders (TRADE_ACTION_PENDING), their lifetimes, TRADE_ACTION_MODIFY and TRADE_ACTION_REMOVE.

ENUM_ORDER_TYPE: a buy limit sits below the ask and triggers when the ask falls to it; a sell limit
above the bid; a buy stop above the ask (triggers when the ask rises to it); a sell stop below the bid;
a stop-limit, once its stop level is reached, places a limit at its stoplimit price.
ENUM_ORDER_TYPE_TIME: GTC, DAY (the current trading day), SPECIFIED (until `expiration`),
SPECIFIED_DAY (until the end of `expiration`'s day).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.adapters.mt5.records import OrderSendResult
from app.adapters.sim.scenario import Scenario
from app.adapters.sim.terminal import SimulatedTerminal

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
MIDNIGHT = datetime(2023, 11, 15, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def make(clock: Clock | None = None, **overrides: Any) -> SimulatedTerminal:
    sim = SimulatedTerminal(Scenario().with_overrides(**overrides), clock=clock or Clock(), sleep=lambda s: None)
    assert sim.initialize()
    return sim


def place(sim: SimulatedTerminal, order_type: int, price: float, volume: float = 1.0, **extra: Any) -> OrderSendResult:
    request = {
        "action": sim.TRADE_ACTION_PENDING,
        "symbol": "EURUSD",
        "volume": volume,
        "type": order_type,
        "price": price,
        "type_filling": sim.ORDER_FILLING_FOK,
        "magic": 9,
        "comment": "pending",
        **extra,
    }
    result = sim.order_send(request)
    assert result is not None, sim.last_error()
    return result


# EURUSD quotes 1.09500 / 1.09510 until set_quote moves it.
@pytest.mark.parametrize(
    ("name", "good", "bad"),
    [
        ("BUY_LIMIT", 1.0940, 1.0952),
        ("SELL_LIMIT", 1.0960, 1.0949),
        ("BUY_STOP", 1.0960, 1.0950),
        ("SELL_STOP", 1.0940, 1.0951),
    ],
)
def test_a_pending_order_must_be_placed_on_its_side_of_the_market(name: str, good: float, bad: float) -> None:
    sim = make()
    order_type = getattr(sim, f"ORDER_TYPE_{name}")
    wrong = place(sim, order_type, bad)
    assert (wrong.retcode, wrong.comment) == (10015, "Invalid price")
    right = place(sim, order_type, good)
    assert (right.retcode, right.volume) == (10009, 1.0) and right.order > 0 and right.deal == 0
    (resting,) = sim.orders_get() or ()
    assert (resting.ticket, resting.type, resting.state, resting.price_open) == (
        right.order,
        order_type,
        sim.ORDER_STATE_PLACED,
        good,
    )
    assert sim.positions_get() == ()


def test_a_buy_limit_fills_when_the_ask_falls_to_it_at_the_quote() -> None:
    sim = make()
    r = place(sim, sim.ORDER_TYPE_BUY_LIMIT, 1.0940, sl=1.0900, tp=1.1000)
    sim.set_quote("EURUSD", 1.0942, 1.0941)  # not yet: the ask is above the limit
    sim.set_quote("EURUSD", 1.0935, 1.0938)  # a gap through the limit: filled at the better ask
    assert sim.orders_get() == ()
    (hist,) = sim.history_orders_get(ticket=r.order) or ()
    assert (hist.state, hist.type, hist.price_open) == (sim.ORDER_STATE_FILLED, sim.ORDER_TYPE_BUY_LIMIT, 1.094)
    (deal,) = sim.history_deals_get(ticket=r.order) or ()
    assert (deal.type, deal.entry, deal.price, deal.reason) == (sim.DEAL_TYPE_BUY, 0, 1.0938, sim.DEAL_REASON_EXPERT)
    (pos,) = sim.positions_get() or ()
    assert (pos.identifier, pos.volume, pos.price_open, pos.sl, pos.tp) == (r.order, 1.0, 1.0938, 1.09, 1.1)


def test_a_sell_stop_fills_when_the_bid_falls_to_it_with_slippage() -> None:
    sim = make(behaviour={"fill_slippage_points": 2})
    r = place(sim, sim.ORDER_TYPE_SELL_STOP, 1.0940)
    sim.set_quote("EURUSD", 1.0941, 1.0942)
    assert len(sim.orders_get() or ()) == 1
    sim.set_quote("EURUSD", 1.0939, 1.0940)
    (deal,) = sim.history_deals_get(ticket=r.order) or ()
    assert (deal.type, deal.price) == (sim.DEAL_TYPE_SELL, 1.09388)


def test_a_stop_limit_places_its_limit_when_the_stop_is_reached() -> None:
    sim = make()
    r = place(sim, sim.ORDER_TYPE_BUY_STOP_LIMIT, 1.0960, stoplimit=1.0955, type_filling=sim.ORDER_FILLING_RETURN)
    assert place(sim, sim.ORDER_TYPE_BUY_STOP_LIMIT, 1.0960, stoplimit=1.0965).retcode == 10015  # limit above stop
    sim.set_quote("EURUSD", 1.0961, 1.0962)  # stop reached: a buy limit at 1.0955 now rests
    (limit,) = [o for o in sim.orders_get() or () if o.ticket == r.order]
    assert (limit.type, limit.price_open, limit.state) == (sim.ORDER_TYPE_BUY_LIMIT, 1.0955, sim.ORDER_STATE_PLACED)
    assert sim.positions_get() == ()
    sim.set_quote("EURUSD", 1.0953, 1.0954)
    (deal,) = sim.history_deals_get(ticket=r.order) or ()
    assert deal.price == 1.0954


def test_a_pending_order_rests_through_a_restart(tmp_path: Any) -> None:
    state = {"state_file": str(tmp_path / "broker.json")}
    first = make(behaviour=state)
    r = place(first, first.ORDER_TYPE_BUY_STOP, 1.0960)
    restarted = make(behaviour=state)
    assert [o.ticket for o in restarted.orders_get() or ()] == [r.order]
    restarted.set_quote("EURUSD", 1.0960, 1.0961)
    assert restarted.orders_get() == () and len(restarted.positions_get() or ()) == 1


def test_a_triggered_order_the_account_cannot_afford_is_rejected() -> None:
    sim = make(account={"balance": 5000.0})
    r = place(sim, sim.ORDER_TYPE_BUY_LIMIT, 1.0940, volume=2.0)  # no margin is held while it rests
    assert r.retcode == 10009
    sim.set_quote("EURUSD", 1.0939, 1.0940)
    (hist,) = sim.history_orders_get(ticket=r.order) or ()
    assert hist.state == sim.ORDER_STATE_REJECTED and sim.positions_get() == ()


# --- lifetimes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_time", "expiration", "ends"),
    [
        ("SPECIFIED", int(T0) + 600, T0 + 600),
        ("DAY", 0, MIDNIGHT),
        ("SPECIFIED_DAY", int(T0) + 60, MIDNIGHT),
    ],
)
def test_an_order_expires_at_the_end_of_its_lifetime(type_time: str, expiration: int, ends: float) -> None:
    clock = Clock()
    sim = make(clock)
    r = place(
        sim, sim.ORDER_TYPE_BUY_LIMIT, 1.0940, type_time=getattr(sim, f"ORDER_TIME_{type_time}"), expiration=expiration
    )
    clock.now = ends - 1
    assert len(sim.orders_get() or ()) == 1
    clock.now = ends + 30
    assert sim.orders_get() == ()
    (hist,) = sim.history_orders_get(ticket=r.order) or ()
    assert (hist.state, hist.time_done) == (sim.ORDER_STATE_EXPIRED, int(ends))


def test_a_gtc_order_never_expires_and_a_past_expiration_is_refused() -> None:
    clock = Clock()
    sim = make(clock)
    place(sim, sim.ORDER_TYPE_BUY_LIMIT, 1.0940)
    clock.now += 365 * 86400
    assert len(sim.orders_get() or ()) == 1
    past = place(sim, sim.ORDER_TYPE_BUY_LIMIT, 1.0940, type_time=sim.ORDER_TIME_SPECIFIED, expiration=int(T0))
    assert (past.retcode, past.comment) == (10022, "Invalid expiration")
    assert place(sim, sim.ORDER_TYPE_BUY_LIMIT, 1.0940, type_time=9).retcode == 10022


# --- modify and remove ----------------------------------------------------------------------------


def modify(sim: SimulatedTerminal, ticket: int, price: float, **extra: Any) -> OrderSendResult:
    result = sim.order_send({"action": sim.TRADE_ACTION_MODIFY, "order": ticket, "price": price, **extra})
    assert result is not None, sim.last_error()
    return result


def test_modify_moves_a_pending_order_and_its_stops() -> None:
    sim = make()
    r = place(sim, sim.ORDER_TYPE_BUY_LIMIT, 1.0940)
    moved = modify(sim, r.order, 1.0930, sl=1.0900, tp=1.0990)
    assert (moved.retcode, moved.order) == (10009, r.order)
    (resting,) = sim.orders_get() or ()
    assert (resting.price_open, resting.sl, resting.tp) == (1.093, 1.09, 1.099)
    assert modify(sim, r.order, 1.0930, sl=1.0900, tp=1.0990).retcode == 10025  # no changes
    assert modify(sim, r.order, 1.0960).retcode == 10015  # above the ask: not a limit any more
    assert modify(sim, r.order, 1.0930, sl=1.0950).retcode == 10016  # a buy's stop above its price
    sim.set_quote("EURUSD", 1.0935, 1.0938)  # would have filled the old price, not the new one
    assert len(sim.orders_get() or ()) == 1


def test_only_a_resting_pending_order_can_be_modified() -> None:
    sim = make(behaviour={"pending_fill_after_s": -1})
    market = sim.order_send({"action": 1, "symbol": "EURUSD", "volume": 1.0, "type": 0})
    assert market is not None and market.retcode == 10008
    assert modify(sim, market.order, 1.0940).retcode == 10035  # a resting market order is not a pending one
    assert modify(sim, 12345, 1.0940).retcode == 10013


def test_remove_cancels_a_pending_order() -> None:
    sim = make()
    r = place(sim, sim.ORDER_TYPE_SELL_LIMIT, 1.0960)
    removed = sim.order_send({"action": sim.TRADE_ACTION_REMOVE, "order": r.order})
    assert removed is not None and (removed.retcode, removed.order) == (10009, r.order)
    (hist,) = sim.history_orders_get(ticket=r.order) or ()
    assert hist.state == sim.ORDER_STATE_CANCELED
    sim.set_quote("EURUSD", 1.0961, 1.0962)
    assert sim.positions_get() == ()
    again = sim.order_send({"action": sim.TRADE_ACTION_REMOVE, "order": r.order})
    assert again is not None and again.retcode == 10035


def test_order_check_tells_a_pending_orders_faults() -> None:
    sim = make()
    request = {"action": sim.TRADE_ACTION_PENDING, "symbol": "EURUSD", "volume": 1.0, "type": sim.ORDER_TYPE_BUY_STOP}
    wrong = sim.order_check({**request, "price": 1.0940, "type_filling": sim.ORDER_FILLING_FOK})
    assert wrong is not None and wrong.retcode == 10015
    fine = sim.order_check({**request, "price": 1.0960, "type_filling": sim.ORDER_FILLING_FOK})
    assert fine is not None and (fine.retcode, fine.margin) == (0, 0.0)  # nothing is held while it rests
    stop_return = sim.order_check({**request, "price": 1.0960, "type_filling": sim.ORDER_FILLING_RETURN})
    assert stop_return is not None and stop_return.retcode == 10030  # Return: limit and stop-limit orders only
    assert sim.orders_get() == ()


def test_a_limit_order_with_return_fills_in_parts_while_its_price_holds() -> None:
    sim = make(behaviour={"fill_ratio": 0.5})
    r = place(sim, sim.ORDER_TYPE_BUY_LIMIT, 1.0940, type_filling=sim.ORDER_FILLING_RETURN)
    sim.set_quote("EURUSD", 1.0938, 1.0939)
    (resting,) = sim.orders_get() or ()  # half filled; the rest is not cancelled: it is still a limit
    assert (resting.ticket, resting.state, resting.volume_current) == (r.order, sim.ORDER_STATE_PARTIAL, 0.5)
    assert sim.orders_get() == ()  # the price still holds: the rest fills
    assert [d.volume for d in sim.history_deals_get(ticket=r.order) or ()] == [0.5, 0.5]
    (pos,) = sim.positions_get() or ()
    assert pos.volume == 1.0
