"""Execution modes (SYMBOL_TRADE_EXECUTION_*) and the filling policies each takes, per the MT5 help.

Fill Policy table of the MT5 help: Instant and Request fill or kill; Market takes FOK and IOC (Return
for limit and stop-limit orders only); Exchange takes FOK, IOC and Return. MqlTradeRequest: Instant and
Request need the price and honour the deviation; Market and Exchange ignore the price.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.adapters.mt5.records import SYMBOL_FILLING_FOK, SYMBOL_FILLING_IOC, OrderSendResult
from app.adapters.sim.scenario import Scenario
from app.adapters.sim.terminal import SimulatedTerminal

T0 = 1_700_000_000.0
EPOCH, FAR = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def make(mode: str, clock: Clock | None = None, **symbol: Any) -> SimulatedTerminal:
    behaviour = symbol.pop("behaviour", {})
    scenario = Scenario().with_overrides(symbols={"EURUSD": {"execution_mode": mode, **symbol}}, behaviour=behaviour)
    sim = SimulatedTerminal(scenario, clock=clock or Clock(), sleep=lambda s: None)
    assert sim.initialize()
    return sim


def send(sim: SimulatedTerminal, volume: float = 1.0, **extra: Any) -> OrderSendResult:
    request = {"action": sim.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": volume, "type": sim.ORDER_TYPE_BUY}
    result = sim.order_send({"type_filling": sim.ORDER_FILLING_FOK, "magic": 1, **request, **extra})
    assert result is not None, sim.last_error()
    return result


@pytest.mark.parametrize(
    ("mode", "exemode", "flags"),
    [
        ("instant", 1, SYMBOL_FILLING_FOK),  # IOC is not offered in instant execution, though listed
        ("request", 0, SYMBOL_FILLING_FOK),
        ("market", 2, SYMBOL_FILLING_FOK | SYMBOL_FILLING_IOC),
        ("exchange", 3, SYMBOL_FILLING_FOK | SYMBOL_FILLING_IOC),
    ],
)
def test_symbol_info_shows_the_execution_mode_and_the_flags_it_offers(mode: str, exemode: int, flags: int) -> None:
    info = make(mode).symbol_info("EURUSD")
    assert info is not None and (info.trade_exemode, info.filling_mode) == (exemode, flags)


def test_the_majors_keep_market_execution_by_default() -> None:
    sim = SimulatedTerminal(Scenario())
    assert sim.initialize()
    assert {s.trade_exemode for s in sim.symbols_get() or ()} == {sim.SYMBOL_TRADE_EXECUTION_MARKET}


def test_instant_and_request_execution_must_list_fok() -> None:
    with pytest.raises(ValueError, match=r"symbols\.EURUSD\.filling_modes: instant execution fills or kills"):
        Scenario().with_overrides(symbols={"EURUSD": {"execution_mode": "instant", "filling_modes": ["ioc"]}})
    with pytest.raises(ValueError, match=r"symbols\.EURUSD\.execution_mode: expected one of instant, request"):
        Scenario().with_overrides(symbols={"EURUSD": {"execution_mode": "dealer"}})


@pytest.mark.parametrize(
    ("mode", "filling", "retcode"),
    [
        ("instant", "FOK", 10009),
        ("instant", "IOC", 10030),
        ("instant", "RETURN", 10030),
        ("request", "FOK", 10009),
        ("request", "IOC", 10030),
        ("market", "FOK", 10009),
        ("market", "IOC", 10009),
        ("market", "RETURN", 10030),  # Return in market execution: limit and stop-limit orders only
        ("exchange", "FOK", 10008),
        ("exchange", "IOC", 10008),
        ("exchange", "RETURN", 10008),
    ],
)
def test_each_mode_takes_the_filling_policies_of_the_help(mode: str, filling: str, retcode: int) -> None:
    sim = make(mode)
    result = send(sim, type_filling=getattr(sim, f"ORDER_FILLING_{filling}"), price=1.0951, deviation=10)
    assert result.retcode == retcode


# --- instant execution ----------------------------------------------------------------------------


def test_instant_execution_needs_the_price() -> None:
    sim = make("instant")
    assert send(sim).retcode == 10015  # INVALID_PRICE
    check = sim.order_check({"action": 1, "symbol": "EURUSD", "volume": 1.0, "type": 0})
    assert check is not None and (check.retcode, check.comment) == (10015, "Invalid price")


def test_instant_execution_fills_at_the_stream_price_within_the_deviation() -> None:
    sim = make("instant")
    sim.set_quote("EURUSD", 1.09503, 1.09513)  # 3 points above the price the trader saw
    r = send(sim, price=1.0951, deviation=3)
    assert (r.retcode, r.price, r.bid, r.ask) == (10009, 1.09513, 1.09503, 1.09513)


def test_instant_execution_requotes_beyond_the_deviation_with_the_new_prices() -> None:
    sim = make("instant")
    sim.set_quote("EURUSD", 1.09530, 1.09540)  # 30 points away
    r = send(sim, price=1.0951, deviation=20)
    assert (r.retcode, r.comment, r.bid, r.ask, r.order, r.deal) == (10004, "Requote", 1.0953, 1.0954, 0, 0)
    assert sim.history_orders_get(EPOCH, FAR) == ()  # nothing was executed
    # a price that moved in the trader's favour beyond the deviation is requoted too
    assert send(sim, price=1.0960, deviation=20).retcode == 10004
    assert send(sim, price=r.ask, deviation=20).retcode == 10009


def test_instant_slippage_counts_against_the_deviation() -> None:
    sim = make("instant", behaviour={"fill_slippage_points": 5})
    assert send(sim, price=1.0951, deviation=4).retcode == 10004
    r = send(sim, price=1.0951, deviation=5)
    assert (r.retcode, r.price) == (10009, 1.09515)


# --- request execution ----------------------------------------------------------------------------


def test_request_execution_fills_at_the_requested_price_while_the_broker_quotes_within_the_deviation() -> None:
    sim = make("request", behaviour={"fill_slippage_points": 5})
    sim.set_quote("EURUSD", 1.09502, 1.09512)
    r = send(sim, price=1.0951, deviation=2)
    assert (r.retcode, r.price, r.ask) == (10009, 1.0951, 1.09512)  # the agreed price, no slippage
    (deal,) = sim.history_deals_get(ticket=r.order) or ()
    assert deal.price == 1.0951


def test_request_execution_answers_its_own_prices_when_they_moved() -> None:
    sim = make("request")
    sim.set_quote("EURUSD", 1.0960, 1.0961)
    r = send(sim, price=1.0951, deviation=10)
    assert (r.retcode, r.bid, r.ask) == (10004, 1.096, 1.0961)
    assert send(sim, price=r.ask, deviation=10).price == 1.0961


# --- market execution -----------------------------------------------------------------------------


def test_market_execution_ignores_the_price_and_the_deviation() -> None:
    sim = make("market")
    r = send(sim, price=1.2, deviation=0)
    assert (r.retcode, r.price, r.bid, r.ask) == (10009, 1.0951, 1.095, 1.0951)
    assert send(sim).retcode == 10009  # no price at all


# --- exchange execution ---------------------------------------------------------------------------


def test_exchange_execution_places_the_order_and_fills_it_at_the_next_call() -> None:
    sim = make("exchange")
    r = send(sim, comment="tag")
    assert (r.retcode, r.comment, r.deal, r.volume, r.bid, r.ask) == (10008, "Order placed", 0, 1.0, 1.095, 1.0951)
    (hist,) = sim.history_orders_get(ticket=r.order) or ()  # this call let the exchange fill it
    assert (hist.state, hist.volume_current) == (sim.ORDER_STATE_FILLED, 0.0)
    (deal,) = sim.history_deals_get(ticket=r.order) or ()
    assert (deal.volume, deal.price, deal.comment) == (1.0, 1.0951, "tag")


def test_exchange_return_leaves_a_partial_fill_resting_until_it_fills() -> None:
    clock = Clock()
    sim = make("exchange", clock, filling_modes=["return"], behaviour={"fill_ratio": 0.6, "pending_fill_after_s": 2})
    r = send(sim, type_filling=sim.ORDER_FILLING_RETURN)
    assert r.retcode == 10008 and sim.history_deals_get(ticket=r.order) == ()
    clock.now += 2
    (resting,) = sim.orders_get() or ()  # 0.6 filled, the rest is not cancelled: it rests
    assert (resting.ticket, resting.state, resting.volume_current) == (r.order, sim.ORDER_STATE_PARTIAL, 0.4)
    assert sim.history_orders_get(ticket=r.order) == ()
    assert [d.volume for d in sim.history_deals_get(ticket=r.order) or ()] == [0.6]
    clock.now += 2
    assert sim.orders_get() == ()
    (hist,) = sim.history_orders_get(ticket=r.order) or ()
    assert (hist.state, hist.volume_current) == (sim.ORDER_STATE_FILLED, 0.0)
    deals = sim.history_deals_get(ticket=r.order) or ()
    assert [d.volume for d in deals] == [0.6, 0.4]
    assert len({d.position_id for d in deals}) == 1  # one order's deals make one position
    (pos,) = sim.positions_get() or ()
    assert pos.volume == 1.0


def test_a_resting_return_remainder_can_be_removed_keeping_what_filled() -> None:
    clock = Clock()
    sim = make("exchange", clock, behaviour={"fill_ratio": 0.5, "pending_fill_after_s": 2})
    r = send(sim, type_filling=sim.ORDER_FILLING_RETURN)
    clock.now += 3  # half filled at +2, the rest due at +4
    removed = sim.order_send({"action": sim.TRADE_ACTION_REMOVE, "order": r.order})
    assert removed is not None and (removed.retcode, removed.order) == (10009, r.order)
    (hist,) = sim.history_orders_get(ticket=r.order) or ()
    assert (hist.state, hist.volume_current) == (sim.ORDER_STATE_CANCELED, 0.5)
    clock.now += 5
    assert [d.volume for d in sim.history_deals_get(ticket=r.order) or ()] == [0.5]


def test_exchange_fok_that_cannot_fill_in_full_is_cancelled_after_being_placed() -> None:
    sim = make("exchange", behaviour={"fill_ratio": 0.5})
    r = send(sim)
    assert r.retcode == 10008
    (hist,) = sim.history_orders_get(ticket=r.order) or ()
    assert (hist.state, hist.volume_current) == (sim.ORDER_STATE_CANCELED, 1.0)
    assert sim.history_deals_get(ticket=r.order) == ()


def test_exchange_ioc_fills_what_there_is_and_cancels_the_rest() -> None:
    sim = make("exchange", behaviour={"fill_ratio": 0.5})
    r = send(sim, type_filling=sim.ORDER_FILLING_IOC)
    (hist,) = sim.history_orders_get(ticket=r.order) or ()
    assert (hist.state, hist.volume_current) == (sim.ORDER_STATE_FILLED, 0.5)
    assert sim.orders_get() == ()
