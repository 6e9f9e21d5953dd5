"""A trace recorded on an account that is not flat: the replay starts from the positions, resting
orders and history the trace shows before its first order_send, under their own tickets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.adapters.mt5 import constants as c
from app.adapters.sim.scenario import Scenario
from app.adapters.sim.terminal import SimulatedTerminal
from app.adapters.trace.derive import opening_book
from app.adapters.trace.format import read_trace
from app.adapters.trace.recorder import RecordingModule
from app.adapters.trace.replay import check_trace
from app.adapters.trace.tracefile import TraceFile

DAY = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def send(mt5: Any, **request: Any) -> Any:
    base = {"symbol": "EURUSD", "volume": 0.2, "type_filling": c.ORDER_FILLING_IOC, "deviation": 10}
    result = mt5.order_send({**base, **request})
    assert result.retcode in (c.TRADE_RETCODE_DONE, c.TRADE_RETCODE_PLACED), result
    return result


def yesterday(state_file: Path) -> Scenario:
    """A hedging account left with two positions and a buy limit resting far below the market."""
    scenario = Scenario().with_overrides(behaviour={"state_file": str(state_file)})
    mt5 = SimulatedTerminal(scenario)
    assert mt5.initialize()
    bid = mt5.symbol_info_tick("EURUSD").bid
    send(mt5, action=c.TRADE_ACTION_DEAL, type=c.ORDER_TYPE_BUY)
    send(mt5, action=c.TRADE_ACTION_DEAL, type=c.ORDER_TYPE_SELL, symbol="USDJPY", volume=0.1)
    send(mt5, action=c.TRADE_ACTION_PENDING, type=c.ORDER_TYPE_BUY_LIMIT, price=round(bid - 0.05, 5))
    mt5.shutdown()
    return scenario


def test_a_day_that_starts_with_positions_orders_and_history_replays_without_divergence(tmp_path: Path) -> None:
    scenario = yesterday(tmp_path / "sim-state.json")
    trace = TraceFile(tmp_path / "today.jsonl")
    mt5 = RecordingModule(SimulatedTerminal(scenario), trace)
    assert mt5.initialize()
    mt5.history_deals_get(*DAY)
    mt5.history_orders_get(*DAY)
    resting = mt5.orders_get()
    held = mt5.positions_get()
    mt5.account_info()
    eurusd = next(p for p in held if p.symbol == "EURUSD")
    send(mt5, action=c.TRADE_ACTION_DEAL, type=c.ORDER_TYPE_SELL, position=eurusd.ticket)  # closes yesterday's
    send(mt5, action=c.TRADE_ACTION_REMOVE, order=resting[0].ticket)
    mt5.positions_get()
    mt5.orders_get()
    mt5.history_deals_get(*DAY)
    mt5.account_info()
    trace.close()

    book = opening_book(read_trace(tmp_path / "today.jsonl"))
    assert {p.symbol for p in book.positions.values()} == {"EURUSD", "USDJPY"}
    assert set(book.due) == {resting[0].ticket} and book.positions.keys() == {p.ticket for p in held}
    assert book.opened is not None and all(d.type != c.DEAL_TYPE_BALANCE for d in book.deals.values())
    report = check_trace(tmp_path / "today.jsonl")
    assert report.divergences == [], report.summary()
