"""Positions and the account as a terminal keeps them: hedging and netting, SL/TP, close by, the
figures (equity = balance + floating profit; free margin = equity - margin; margin level = equity /
margin × 100), order_check's figures after the trade, and the deposit that opens the history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.adapters.mt5.records import OrderSendResult
from app.adapters.sim.accounting import DEPOSIT_TICKET
from app.adapters.sim.scenario import Scenario
from app.adapters.sim.terminal import SimulatedTerminal

T0 = 1_700_000_000.0
EPOCH, FAR = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def make(clock: Clock | None = None, **overrides: Any) -> SimulatedTerminal:
    sim = SimulatedTerminal(Scenario().with_overrides(**overrides), clock=clock or Clock(), sleep=lambda s: None)
    assert sim.initialize()
    return sim


def deal(
    sim: SimulatedTerminal, volume: float, *, sell: bool = False, symbol: str = "EURUSD", **extra: Any
) -> OrderSendResult:
    request = {
        "action": sim.TRADE_ACTION_DEAL,
        "symbol": symbol,
        "volume": volume,
        "type": sim.ORDER_TYPE_SELL if sell else sim.ORDER_TYPE_BUY,
        "type_filling": sim.ORDER_FILLING_FOK,
        "magic": 5,
        "comment": "acct",
        **extra,
    }
    result = sim.order_send(request)
    assert result is not None, sim.last_error()
    return result


def sltp(sim: SimulatedTerminal, position: int, sl: float = 0.0, tp: float = 0.0) -> int:
    result = sim.order_send(
        {"action": sim.TRADE_ACTION_SLTP, "symbol": "EURUSD", "position": position, "sl": sl, "tp": tp}
    )
    assert result is not None, sim.last_error()
    return result.retcode


# --- results --------------------------------------------------------------------------------------


def test_order_send_answers_the_bid_and_ask_of_the_execution() -> None:
    sim = make(behaviour={"fill_slippage_points": 3})
    r = deal(sim, 1.0)
    assert (r.retcode, r.price, r.bid, r.ask) == (10009, 1.09513, 1.095, 1.0951)
    sold = deal(sim, 1.0, sell=True, symbol="USDJPY")
    assert (sold.price, sold.bid, sold.ask) == (151.497, 151.5, 151.512)


def test_the_deposit_is_the_balance_deal_that_opens_the_history() -> None:
    clock = Clock()
    sim = make(clock, account={"balance": 25000.0})
    assert sim.account_info() is not None  # the terminal's first call: the account is there
    clock.now += 60
    r = deal(sim, 0.1)
    deposit, trade = sim.history_deals_get(EPOCH, FAR) or ()
    assert (deposit.ticket, deposit.type, deposit.entry, deposit.profit, deposit.time, deposit.order) == (
        DEPOSIT_TICKET,
        sim.DEAL_TYPE_BALANCE,
        sim.DEAL_ENTRY_IN,
        25000.0,
        int(T0),  # when the terminal was first asked
        0,
    )
    assert (deposit.symbol, deposit.comment, deposit.volume) == ("", "Deposit", 0.0)
    assert trade.ticket == r.deal and sim.history_deals_get(ticket=r.order) == (trade,)
    assert sim.history_deals_get(EPOCH, FAR, group="EUR*") == (trade,)  # a symbol group leaves it out


# --- hedging and netting --------------------------------------------------------------------------


def test_a_hedging_account_keeps_a_position_per_order() -> None:
    sim = make()
    info = sim.account_info()
    assert info is not None and info.margin_mode == sim.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING
    a, b, c = deal(sim, 1.0), deal(sim, 0.5), deal(sim, 0.3, sell=True)
    assert [(p.ticket, p.type, p.volume) for p in sim.positions_get() or ()] == [
        (a.order, sim.POSITION_TYPE_BUY, 1.0),
        (b.order, sim.POSITION_TYPE_BUY, 0.5),
        (c.order, sim.POSITION_TYPE_SELL, 0.3),
    ]
    assert {d.entry for d in sim.history_deals_get(EPOCH, FAR, group="EURUSD") or ()} == {sim.DEAL_ENTRY_IN}


def test_a_netting_account_keeps_one_position_per_symbol_in_out_and_reversal() -> None:
    sim = make(account={"margin_mode": "netting"})
    info = sim.account_info()
    assert info is not None and info.margin_mode == sim.ACCOUNT_MARGIN_MODE_RETAIL_NETTING
    first = deal(sim, 1.0)  # buy 1.0 at 1.0951
    sim.set_quote("EURUSD", 1.0960, 1.0961)
    added = deal(sim, 0.5)  # buy 0.5 at 1.0961: one position at the volume-weighted price
    (pos,) = sim.positions_get() or ()
    assert (pos.ticket, pos.identifier, pos.volume) == (first.order, first.order, 1.5)
    assert pos.price_open == pytest.approx((1.0951 + 0.5 * 1.0961) / 1.5)
    reduced = deal(sim, 0.5, sell=True)  # at the bid 1.0960
    (pos,) = sim.positions_get() or ()
    assert pos.volume == 1.0
    reversed_ = deal(sim, 3.0, sell=True)  # closes 1.0, opens 2.0 short: one deal
    (pos,) = sim.positions_get() or ()
    assert (pos.ticket, pos.identifier, pos.type, pos.volume, pos.price_open) == (
        reversed_.order,  # the ticket becomes the reversing order's
        first.order,  # the identifier stays
        sim.POSITION_TYPE_SELL,
        2.0,
        1.096,
    )
    deals = sim.history_deals_get(position=first.order) or ()
    assert [(d.order, d.entry, d.volume) for d in deals] == [
        (first.order, sim.DEAL_ENTRY_IN, 1.0),
        (added.order, sim.DEAL_ENTRY_IN, 0.5),
        (reduced.order, sim.DEAL_ENTRY_OUT, 0.5),
        (reversed_.order, sim.DEAL_ENTRY_INOUT, 3.0),
    ]
    opened = (1.0951 + 0.5 * 1.0961) / 1.5
    assert deals[2].profit == pytest.approx(round((1.0960 - opened) * 50000, 2))
    assert deals[3].profit == pytest.approx(round((1.0960 - opened) * 100000, 2))
    (hist,) = sim.history_orders_get(ticket=reversed_.order) or ()
    assert hist.position_id == first.order
    assert deal(sim, 2.5, sell=False, position=pos.ticket).retcode == 10038  # closing by ticket never reverses
    assert deal(sim, 2.0, position=pos.ticket).retcode == 10009
    assert sim.positions_get() == ()


def test_close_by_closes_two_opposite_positions_in_two_deals() -> None:
    sim = make()
    buy = deal(sim, 1.0)  # at 1.0951
    sim.set_quote("EURUSD", 1.0970, 1.0971)
    sell = deal(sim, 0.4, sell=True)  # at 1.0970
    r = sim.order_send(
        {"action": sim.TRADE_ACTION_CLOSE_BY, "position": buy.order, "position_by": sell.order, "magic": 5}
    )
    assert r is not None and (r.retcode, r.volume, r.price) == (10009, 0.4, 1.097)
    (order,) = sim.history_orders_get(ticket=r.order) or ()
    assert (order.type, order.position_id, order.position_by_id, order.state) == (
        sim.ORDER_TYPE_CLOSE_BY,
        buy.order,
        sell.order,
        sim.ORDER_STATE_FILLED,
    )
    closing = sim.history_deals_get(ticket=r.order) or ()
    assert [(d.position_id, d.type, d.entry, d.volume, d.price, d.profit) for d in closing] == [
        (buy.order, sim.DEAL_TYPE_SELL, sim.DEAL_ENTRY_OUT_BY, 0.4, 1.097, 76.0),  # 19 pips on 0.4 lot
        (sell.order, sim.DEAL_TYPE_BUY, sim.DEAL_ENTRY_OUT_BY, 0.4, 1.097, 0.0),
    ]
    (left,) = sim.positions_get() or ()
    assert (left.ticket, left.volume) == (buy.order, 0.6)
    info = sim.account_info()
    assert info is not None and info.balance == 100076.0
    again = sim.order_send({"action": sim.TRADE_ACTION_CLOSE_BY, "position": buy.order, "position_by": sell.order})
    assert again is not None and again.retcode == 10036  # position_by is closed


def test_close_by_needs_two_opposite_positions_of_one_symbol_on_a_hedging_account() -> None:
    sim = make()
    a, b, c = deal(sim, 1.0), deal(sim, 1.0), deal(sim, 1.0, sell=True, symbol="GBPUSD")
    for position, by in ((a.order, b.order), (a.order, c.order), (a.order, a.order)):
        r = sim.order_send({"action": sim.TRADE_ACTION_CLOSE_BY, "position": position, "position_by": by})
        assert r is not None and r.retcode == 10013
    netting = make(account={"margin_mode": "netting"})
    x = deal(netting, 1.0)
    r = netting.order_send({"action": netting.TRADE_ACTION_CLOSE_BY, "position": x.order, "position_by": x.order})
    assert r is not None and r.retcode == 10013


# --- stop loss and take profit --------------------------------------------------------------------


def test_sltp_sets_the_stops_and_a_stop_loss_closes_the_position_by_the_quotes() -> None:
    sim = make()
    opened = deal(sim, 1.0)
    assert sltp(sim, opened.order, sl=1.0960) == 10016  # a long's stop loss above the bid
    assert sltp(sim, opened.order, sl=1.0940, tp=1.0990) == 10009
    assert sltp(sim, opened.order, sl=1.0940, tp=1.0990) == 10025  # no changes
    (pos,) = sim.positions_get() or ()
    assert (pos.sl, pos.tp) == (1.094, 1.099)
    sim.set_quote("EURUSD", 1.0941, 1.0942)
    assert len(sim.positions_get() or ()) == 1
    sim.set_quote("EURUSD", 1.0938, 1.0939)  # the bid falls through the stop
    assert sim.positions_get() == ()
    _, closing = sim.history_deals_get(position=opened.order) or ()
    assert (closing.type, closing.entry, closing.reason, closing.price, closing.magic, closing.comment) == (
        sim.DEAL_TYPE_SELL,
        sim.DEAL_ENTRY_OUT,
        sim.DEAL_REASON_SL,
        1.0938,
        5,
        "[sl 1.09400]",
    )
    (order,) = sim.history_orders_get(ticket=closing.order) or ()
    assert (order.reason, order.type, order.position_id) == (sim.ORDER_REASON_SL, sim.ORDER_TYPE_SELL, opened.order)
    assert sltp(sim, opened.order, sl=1.0900) == 10036


def test_a_take_profit_set_with_the_order_closes_a_short_at_the_ask() -> None:
    sim = make(behaviour={"fill_slippage_points": 2})
    opened = deal(sim, 0.5, sell=True, tp=1.0900)  # at 1.09498
    sim.set_quote("EURUSD", 1.0895, 1.0897)
    _, closing = sim.history_deals_get(position=opened.order) or ()
    assert (closing.reason, closing.type, closing.price) == (sim.DEAL_REASON_TP, sim.DEAL_TYPE_BUY, 1.0897)
    info = sim.account_info()
    assert info is not None and info.balance == pytest.approx(100000 + round((1.09498 - 1.0897) * 50000, 2))


# --- figures --------------------------------------------------------------------------------------


@pytest.mark.parametrize("margin_mode", ["hedging", "netting"])
def test_the_figures_follow_the_open_positions(margin_mode: str) -> None:
    sim = make(account={"margin_mode": margin_mode})
    deal(sim, 1.0)
    deal(sim, 0.5, symbol="USDJPY", sell=True)
    deal(sim, 0.3, symbol="GBPUSD")
    sim.set_quote("EURUSD", 1.0990, 1.0991)
    sim.set_quote("USDJPY", 150.0, 150.01)
    info = sim.account_info()
    positions = sim.positions_get() or ()
    assert info is not None
    assert info.profit == pytest.approx(sum(p.profit for p in positions), abs=0.01 * len(positions))
    assert info.equity == pytest.approx(info.balance + info.profit)
    margins = [sim.order_calc_margin(p.type, p.symbol, p.volume, p.price_open) or 0.0 for p in positions]
    assert info.margin == pytest.approx(sum(margins), abs=0.01 * len(positions))
    assert info.margin_free == pytest.approx(info.equity - info.margin)
    assert info.margin_level == pytest.approx(info.equity / info.margin * 100, abs=0.01)
    for p in positions:
        deal(sim, p.volume, sell=p.type == sim.POSITION_TYPE_BUY, symbol=p.symbol, position=p.ticket)
    flat = sim.account_info()
    assert flat is not None and (flat.profit, flat.margin, flat.margin_level) == (0.0, 0.0, 0.0)
    assert flat.equity == flat.balance == pytest.approx(100000 + info.profit)


def test_order_check_answers_the_figures_after_an_opening_trade() -> None:
    sim = make()
    deal(sim, 1.0)
    before = sim.account_info()
    request = {"action": 1, "symbol": "USDJPY", "volume": 1.0, "type": 0, "type_filling": 0, "comment": "x"}
    check = sim.order_check(request)
    assert before is not None and check is not None
    assert (check.retcode, check.comment, check.request.comment) == (0, "Done", "x")
    assert (check.balance, check.equity, check.profit) == (before.balance, before.equity, before.profit)
    assert check.margin == pytest.approx(before.margin + 3333.33)  # 100000 USD / 30
    assert check.margin_free == pytest.approx(check.equity - check.margin)
    assert check.margin_level == pytest.approx(check.equity / check.margin * 100, abs=0.01)


def test_order_check_answers_the_figures_after_a_closing_trade() -> None:
    sim = make()
    opened = deal(sim, 1.0)
    sim.set_quote("EURUSD", 1.0971, 1.0972)  # +20 pips: 200 USD floating
    before = sim.account_info()
    check = sim.order_check({"action": 1, "symbol": "EURUSD", "volume": 0.5, "type": 1, "position": opened.order})
    assert before is not None and check is not None and check.retcode == 0
    assert (check.balance, check.profit, check.equity) == (100100.0, 100.0, before.equity)  # half realised
    assert check.margin == pytest.approx(before.margin / 2, abs=0.01)
    assert check.margin_free == pytest.approx(check.equity - check.margin)
    assert sim.positions_get() is not None and len(sim.positions_get() or ()) == 1  # nothing was done


def test_order_check_without_money_shows_the_margin_the_trade_would_need() -> None:
    sim = make(account={"balance": 3000.0})
    check = sim.order_check({"action": 1, "symbol": "EURUSD", "volume": 1.0, "type": 0})
    assert check is not None and (check.retcode, check.comment) == (10019, "No money")
    assert (check.margin, check.margin_free) == (3650.33, pytest.approx(3000 - 3650.33))
