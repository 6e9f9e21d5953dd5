"""The broker's books on disk: a restarted engine finds every order and deal made before."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.adapters.mt5.records import TradeDeal, TradeOrder, TradePosition
from app.adapters.sim.scenario import Scenario
from app.adapters.sim.state import SimState, from_json, load_state, save_state, to_json
from app.adapters.sim.terminal import SimulatedTerminal

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
    deals = fourth.history_deals_get(EPOCH, FAR) or ()
    assert [d.type for d in deals] == [fourth.DEAL_TYPE_BALANCE, 0, 0]  # the deposit; call 3 executed, its answer lost


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


def _record(fields: tuple[str, ...], **values: Any) -> dict[str, Any]:
    return {f: values.get(f, "" if f in ("symbol", "comment", "external_id") else 0) for f in fields}


def test_a_file_written_before_the_account_had_an_opening_time_still_loads(tmp_path: Path) -> None:
    # The format as version 1 first wrote it: no "opened", one filled order, its deal and position.
    t = int(T0) - 3600
    order = _record(
        TradeOrder._fields,
        ticket=1_000_001,
        time_setup=t,
        time_setup_msc=t * 1000,
        state=4,
        symbol="EURUSD",
        volume_initial=1.0,
        price_open=1.0951,
        type_filling=0,
        magic=7,
        position_id=1_000_001,
        reason=3,
    )
    deal = _record(
        TradeDeal._fields,
        ticket=1_000_002,
        order=1_000_001,
        time=t,
        time_msc=t * 1000,
        volume=1.0,
        price=1.0951,
        position_id=1_000_001,
        magic=7,
        symbol="EURUSD",
        reason=3,
    )
    position = _record(
        TradePosition._fields,
        ticket=1_000_001,
        identifier=1_000_001,
        time=t,
        time_msc=t * 1000,
        volume=1.0,
        price_open=1.0951,
        magic=7,
        symbol="EURUSD",
        reason=3,
    )
    sim_counters = {
        "version": 1,
        "next_ticket": 1_000_003,
        "next_request_id": 2,
        "order_send_calls": 1,
        "realized_profit": "0",
        "due": {},
        "positions": [position],
    }
    path = tmp_path / "broker.json"
    path.write_text(json.dumps({"orders": [order], "deals": [deal], "sim": sim_counters}))
    sim = terminal(path)
    deposit, trade = sim.history_deals_get(EPOCH, FAR) or ()
    assert (deposit.type, deposit.time, deposit.profit) == (sim.DEAL_TYPE_BALANCE, t, 100000.0)  # its first record
    assert trade.ticket == 1_000_002
    (pos,) = sim.positions_get() or ()
    assert (pos.ticket, pos.volume) == (1_000_001, 1.0)
    assert buy(sim).order == 1_000_003
    sim.shutdown()
    assert json.loads(path.read_text())["sim"]["opened"] == t


def test_resting_return_and_pending_orders_and_the_opening_time_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "broker.json"
    scenario = Scenario().with_overrides(
        symbols={"EURUSD": {"execution_mode": "exchange"}},
        behaviour={"state_file": str(path), "fill_ratio": 0.5, "pending_fill_after_s": 5},
    )
    clock = Clock()
    first = SimulatedTerminal(scenario, clock=clock, sleep=lambda s: None)
    assert first.initialize()
    placed = buy(first, type_filling=first.ORDER_FILLING_RETURN)
    limit = first.order_send(
        {"action": 5, "symbol": "EURUSD", "volume": 0.1, "type": 2, "price": 1.09, "type_filling": 2}
    )
    assert placed.retcode == 10008 and limit is not None and limit.retcode == 10009
    clock.now += 6  # half of the market order filled; its rest due at +10
    assert len(first.orders_get() or ()) == 2
    again = SimulatedTerminal(scenario, clock=clock, sleep=lambda s: None)
    assert again.initialize()
    assert again.orders_get() == first.orders_get()
    assert again.history_deals_get(EPOCH, FAR) == first.history_deals_get(EPOCH, FAR)
    clock.now += 5
    assert [o.ticket for o in again.orders_get() or ()] == [limit.order]
    assert [d.volume for d in again.history_deals_get(ticket=placed.order) or ()] == [0.5, 0.5]
