"""The broker's books on disk: a restarted engine finds every order and deal made before."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.mt5.records import TradeDeal, TradeOrder
from app.sim.scenario import Scenario
from app.sim.state import SimState, from_json, load_state, save_state, to_json
from app.sim.terminal import SimulatedTerminal

T0 = 1_700_000_000.0
EPOCH, FAR = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def terminal(path: Path, clock: Clock | None = None, **behaviour: Any) -> SimulatedTerminal:
    scenario = Scenario().with_overrides(behaviour={"state_file": str(path), **behaviour})
    sim = SimulatedTerminal(scenario, clock=clock or Clock(), sleep=lambda s: None)
    assert sim.initialize()
    return sim


def buy(sim: SimulatedTerminal, volume: float = 1.0, **extra: Any) -> Any:
    return sim.order_send(
        {
            "action": sim.TRADE_ACTION_DEAL,
            "symbol": "EURUSD",
            "volume": volume,
            "type": sim.ORDER_TYPE_BUY,
            "type_filling": sim.ORDER_FILLING_FOK,
            "magic": 7,
            "comment": "tag",
            **extra,
        }
    )


def test_a_restarted_terminal_sees_every_order_deal_and_position(tmp_path: Path) -> None:
    path = tmp_path / "state" / "broker.json"
    first = terminal(path)
    a = buy(first, 0.5)
    b = buy(first, 0.25)
    first.set_quote("EURUSD", 1.0961, 1.0962)
    first.order_send(
        {
            "action": first.TRADE_ACTION_DEAL,
            "symbol": "EURUSD",
            "volume": 0.25,
            "type": first.ORDER_TYPE_SELL,
            "position": b.order,
        }
    )

    again = terminal(path)
    assert again.history_orders_get(EPOCH, FAR) == first.history_orders_get(EPOCH, FAR)
    assert again.history_deals_get(EPOCH, FAR) == first.history_deals_get(EPOCH, FAR)
    (pos,) = again.positions_get() or ()
    assert (pos.ticket, pos.volume, pos.price_open) == (a.order, 0.5, 1.0951)
    info = again.account_info()
    assert info is not None and info.balance == 100025.0  # the closed quarter lot: 10 pips
    assert again.order_send_calls == 3
    c = buy(again)
    assert c.order > max(a.deal, b.deal) and c.request_id == 4  # tickets never repeat


def test_the_file_holds_mt5_records(tmp_path: Path) -> None:
    path = tmp_path / "broker.json"
    sim = terminal(path, pending_fill_after_s=-1)
    filled_elsewhere = terminal(tmp_path / "other.json")
    resting = buy(sim)
    done = buy(filled_elsewhere)
    data = json.loads(path.read_text())
    (order,) = data["orders"]
    assert list(order) == list(TradeOrder._fields)
    assert (order["ticket"], order["state"], order["comment"]) == (resting.order, sim.ORDER_STATE_PLACED, "tag")
    assert data["deals"] == []
    other = json.loads((tmp_path / "other.json").read_text())
    assert [o["state"] for o in other["orders"]] == [sim.ORDER_STATE_FILLED]
    (deal,) = other["deals"]
    assert list(deal) == list(TradeDeal._fields) and deal["ticket"] == done.deal
    assert data["sim"]["due"] == {str(resting.order): None}
    assert data["sim"]["order_send_calls"] == 1


def test_a_resting_order_fills_after_a_restart_from_its_persisted_due_time(tmp_path: Path) -> None:
    path = tmp_path / "broker.json"
    placed = buy(terminal(path, pending_fill_after_s=2.0))
    assert placed.retcode == 10008
    later = Clock(T0 + 30)
    restarted = terminal(path, later, pending_fill_after_s=2.0)
    assert restarted.orders_get() == ()
    (hist,) = restarted.history_orders_get(ticket=placed.order) or ()
    assert hist.state == restarted.ORDER_STATE_FILLED and hist.time_done == int(T0 + 2)
    (deal,) = restarted.history_deals_get(ticket=placed.order) or ()
    assert deal.time == int(T0 + 2)
    # and the fill itself was written down
    assert load_state(path).due == {}


def test_the_order_send_count_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "broker.json"
    first = terminal(path, connection_drop_before=[2], connection_drop_after=[3])
    assert buy(first).retcode == 10009
    second = terminal(path, connection_drop_before=[2], connection_drop_after=[3])
    assert buy(second) is None and second.last_error() == (-10001, "IPC send failed")
    third = terminal(path, connection_drop_before=[2], connection_drop_after=[3])
    assert buy(third) is None and third.last_error() == (-10002, "IPC recv failed")
    fourth = terminal(path)
    assert fourth.order_send_calls == 3
    assert len(fourth.history_deals_get(EPOCH, FAR) or ()) == 2  # call 3 executed, its answer lost


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "broker.json"
    sim = terminal(path)
    for _ in range(5):
        buy(sim, 0.01)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broker.json", "broker.json.journal"]
    assert len(load_state(path).deals) == 5
    sim.shutdown()  # the file alone is complete again, in the contract's format
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broker.json"]
    assert len(json.loads(path.read_text())["deals"]) == 5


def test_a_long_session_appends_to_the_journal_instead_of_rewriting_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broker.json"
    sim = terminal(path)
    buy(sim, 0.01)
    size = path.stat().st_size
    for _ in range(20):
        buy(sim, 0.01)
    assert path.stat().st_size == size  # not rewritten at every order
    assert len(load_state(path).orders) == 21


def test_a_torn_last_journal_line_is_a_change_that_never_happened(tmp_path: Path) -> None:
    path = tmp_path / "broker.json"
    sim = terminal(path)
    buy(sim, 0.01)
    buy(sim, 0.01)
    journal = tmp_path / "broker.json.journal"
    journal.write_text(journal.read_text() + '{"orders": [{"tick')  # the process died mid-write
    assert len(load_state(path).orders) == 2


def test_memory_only_without_a_state_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    sim = SimulatedTerminal(Scenario(), clock=Clock())
    assert sim.initialize()
    assert buy(sim).retcode == 10009
    assert list(tmp_path.iterdir()) == []
    assert SimulatedTerminal(Scenario()).order_send_calls == 0


def test_an_unreadable_state_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "broker.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match=r"broker\.json: unreadable simulator state"):
        terminal(path)
    path.write_text(json.dumps({"orders": [{"ticket": 1}], "deals": []}))
    with pytest.raises(ValueError, match=r"orders\[0\]': missing"):
        load_state(path)


def test_state_round_trips_through_json(tmp_path: Path) -> None:
    state = SimState(order_send_calls=4, realized_profit=Decimal("12.34"), due={5: 1.5, 6: None})
    state.new_ticket()
    again = from_json(json.loads(json.dumps(to_json(state))))
    assert again == state
    save_state(tmp_path / "s.json", state)
    assert load_state(tmp_path / "s.json") == state
    assert load_state(tmp_path / "missing.json") == SimState()
    assert load_state("") == SimState()
