"""TCA per fill (issue 16 item 3): arrival figures, mark-outs from the broker's quotes, and through a restart.

The simulator's clock and the mark-out scheduler's are one manual clock: moments come by moving it,
never by waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal

import pytest

from app.adapters.broker import mt5_adapter
from app.adapters.broker.mt5_adapter import MT5Broker
from app.adapters.broker.types import Quote
from app.domain.execution import Execution
from app.domain.tca import Tca
from app.engine.engine import ExecutionEngine
from app.engine.markouts import RETRY_AFTER, MarkoutScheduler
from tests.builders import rpm
from tests.conftest import Harness, HarnessFactory
from tests.store.test_store import verified

D = Decimal


class ManualClock:
    """Seconds since the epoch, moved by hand; starts at the real time (the quotes' age is checked)."""

    def __init__(self) -> None:
        self.t = float(int(time.time()))

    def __call__(self) -> float:
        return self.t

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)

    def advance(self, seconds: float) -> None:
        self.t += seconds


class ClockedDatetime(datetime):
    """datetime whose now() reads the test's manual clock, for the adapter, which times a fill (MT5's
    order_send answer has no time) by the engine's clock."""

    clock: ManualClock | None = None

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> ClockedDatetime:  # type: ignore[override]
        return cls.fromtimestamp(cls.clock.t, tz) if cls.clock is not None else super().now(tz)


@pytest.fixture(autouse=True)
def fills_on_the_manual_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(mt5_adapter, "datetime", ClockedDatetime)
    yield
    ClockedDatetime.clock = None


async def with_clock(harness_factory: HarnessFactory, **kwargs: object) -> tuple[Harness, ManualClock]:
    """A harness whose simulator, fills and mark-out scheduler all run on one manual clock."""
    h: Harness = await harness_factory(**kwargs)
    clock = ManualClock()
    h.sim._clock = clock  # the simulator's clock is its constructor's argument; swapped before any order
    h.engine.markouts.clock = clock.now
    ClockedDatetime.clock = clock
    return h, clock


async def buy(h: Harness, **kwargs: object) -> Execution:
    parsed, raw = rpm(**kwargs)  # type: ignore[arg-type]
    return await h.engine.execute(parsed, raw=raw, channel="test")


async def markouts_at(h: Harness, clock: ManualClock, execution: Execution, *offsets: float) -> Tca:
    """Move the clock to each offset after the fill, sampling what is due at each stop."""
    assert execution.fill_timestamp is not None
    for offset in offsets:
        clock.t = execution.fill_timestamp.timestamp() + offset
        await h.engine.markouts.run_due()
    tca = await h.store.tca(execution.execution_id)
    assert tca is not None
    return tca


async def test_a_fill_records_its_arrival_mid_spread_and_slippage_against_it(harness_factory: HarnessFactory) -> None:
    h, _clock = await with_clock(harness_factory, behaviour={"fill_slippage_points": 7})
    execution = await buy(h, intended_price=1.09490)
    # Validated at 1.09500/1.09510 (mid 1.09505, 1 pip wide); bought 7 points above the ask: 1.09517.
    tca = await h.store.tca(execution.execution_id)
    assert tca is not None
    assert tca.arrival_mid == D("1.09505") and tca.spread_pips == D("1.0")
    assert tca.slippage_vs_arrival_pips == D("1.2")  # 1.09517 - 1.09505, adverse: positive
    assert execution.slippage_pips == D("2.7")  # against the intended 1.09490
    assert tca.marked_from == execution.fill_timestamp
    assert tca.pending == [1, 5, 30, 60]
    events = [e for e in await h.store.audit_for(execution.execution_id) if e.event_type == "TCA_ARRIVAL"]
    assert events and events[0].data["slippage_vs_arrival_pips"] == "1.2"


async def test_mark_outs_are_the_mid_after_the_fill_signed_for_the_trade(harness_factory: HarnessFactory) -> None:
    h, clock = await with_clock(harness_factory)
    execution = await buy(h)  # bought at the ask, 1.09510
    assert await markouts_at(h, clock, execution, 0.5) == await h.store.tca(execution.execution_id)  # nothing due

    await markouts_at(h, clock, execution, 1)  # the market still at 1.09500/1.09510: mid 1.09505
    h.sim.set_quote("EURUSD", "1.09530", "1.09540")  # then up 3 pips: the buy gained
    await markouts_at(h, clock, execution, 5)
    h.sim.set_quote("EURUSD", "1.09480", "1.09490")  # then down: the buy was picked off
    tca = await markouts_at(h, clock, execution, 30, 60)

    assert tca.markouts_pips == {1: D("0.5"), 5: D("-2.5"), 30: D("2.5"), 60: D("2.5")}
    assert tca.pending == [] and tca.missing == frozenset()
    marks = [e.data for e in await h.store.audit_for(execution.execution_id) if e.event_type == "MARKOUT"]
    assert [(m["horizon"], m["source"], m["mid"]) for m in marks] == [
        ("1s", "quote", "1.09505"),
        ("5s", "quote", "1.09535"),
        ("30s", "quote", "1.09485"),
        ("60s", "quote", "1.09485"),
    ]


async def test_a_sell_marks_out_with_the_opposite_sign(harness_factory: HarnessFactory) -> None:
    h, clock = await with_clock(harness_factory)
    execution = await buy(h, direction=-1)  # sold at the bid, 1.09500
    h.sim.set_quote("EURUSD", "1.09530", "1.09540")  # up 3 pips after the sale: adverse
    tca = await markouts_at(h, clock, execution, 1)
    assert tca.markouts_pips[1] == D("3.5")


async def test_mark_outs_whose_moment_passed_while_down_come_from_tick_history(
    harness_factory: HarnessFactory,
) -> None:
    h, clock = await with_clock(harness_factory)
    execution = await buy(h)
    assert execution.fill_timestamp is not None
    clock.t = execution.fill_timestamp.timestamp() + 3
    h.sim.set_quote("EURUSD", "1.09530", "1.09540")  # a tick 3 s after the fill, while nobody watched

    # The engine stops before any mark-out; another starts on the same store 2 minutes later.
    clock.advance(120)
    after = ExecutionEngine(h.broker, h.store, h.engine.config)
    after.markouts.clock = clock.now
    assert await after.markouts.resume() == 1
    assert await after.markouts.run_due() == 4

    tca = await h.store.tca(execution.execution_id)
    assert tca is not None and tca.markouts_pips == {1: D("0.5"), 5: D("-2.5"), 30: D("-2.5"), 60: D("-2.5")}
    marks = [e.data for e in await h.store.audit_for(execution.execution_id) if e.event_type == "MARKOUT"]
    assert {m["source"] for m in marks} == {"history"}
    assert await after.markouts.resume() == 0  # settled: nothing left for the next start


class NoHistory:
    """The broker, with no tick history to give (a symbol the terminal keeps none for)."""

    def __init__(self, broker: MT5Broker) -> None:
        self._broker = broker

    async def quote(self, symbol: str) -> Quote | None:
        return await self._broker.quote(symbol)

    async def quote_at(self, symbol: str, when: datetime) -> None:
        return None


async def test_a_mark_out_the_history_has_no_tick_for_is_marked_missing(harness_factory: HarnessFactory) -> None:
    h, clock = await with_clock(harness_factory)
    execution = await buy(h)
    await markouts_at(h, clock, execution, 1)
    clock.advance(120)  # down over the other three moments; the broker has no history of them
    after = MarkoutScheduler(NoHistory(h.broker), h.store, clock=clock.now)  # type: ignore[arg-type]
    await after.resume()
    assert await after.run_due() == 3

    tca = await h.store.tca(execution.execution_id)
    assert tca is not None
    assert tca.markouts_pips == {1: D("0.5"), 5: None, 30: None, 60: None}
    assert tca.missing == frozenset({5, 30, 60}) and tca.pending == []
    marks = [e.data for e in await h.store.audit_for(execution.execution_id) if e.event_type == "MARKOUT"]
    assert [m["source"] for m in marks] == ["quote", "missing", "missing", "missing"]
    assert await after.resume() == 0
    assert verified(h.store).problems == []  # the row, its mark-out and the missing three, as audited


async def test_with_the_random_walk_mark_outs_move_and_replay_from_the_seed(harness_factory: HarnessFactory) -> None:
    seed = 11
    print(f"random_seed={seed}")
    runs = []
    for _ in range(2):
        h, clock = await with_clock(harness_factory, behaviour={"random_walk": True, "random_seed": seed})
        clock.t = datetime(2027, 3, 3, 14, 0, tzinfo=UTC).timestamp()  # a Wednesday afternoon, London open
        execution = await buy(h, intended_price=None)
        runs.append((await markouts_at(h, clock, execution, 1, 5, 30, 60)).markouts_pips)
    assert runs[0] == runs[1]
    assert len(set(runs[0].values())) > 1, runs[0]  # the mid moved after the fill


def test_tca_moments_count_from_the_fill() -> None:
    at = datetime(2027, 1, 1, tzinfo=UTC)
    tca = Tca(arrival_mid=D(1), spread_pips=None, slippage_vs_arrival_pips=None, marked_from=at)
    assert [tca.due(h) - at for h in (1, 60)] == [timedelta(seconds=1), timedelta(seconds=60)]


async def test_the_runner_samples_what_is_due_and_wakes_for_a_new_fill(harness_factory: HarnessFactory) -> None:
    h, clock = await with_clock(harness_factory)
    recorded: list[str] = []
    settled = asyncio.Event()

    def on_recorded(execution_id: str) -> None:
        recorded.append(execution_id)
        if len(recorded) == 4:
            settled.set()

    scheduler = MarkoutScheduler(h.broker, h.store, clock=clock.now, on_recorded=on_recorded)
    runner = asyncio.create_task(scheduler.run())  # idle: nothing queued, it sleeps until woken
    try:
        execution = await buy(h)  # the engine's own scheduler is not running: this one resumes it
        clock.advance(120)
        assert await scheduler.resume() == 1  # queued: the runner wakes and samples the past moments
        await asyncio.wait_for(settled.wait(), timeout=30)
    finally:
        runner.cancel()
    assert recorded == [execution.execution_id] * 4
    tca = await h.store.tca(execution.execution_id)
    assert tca is not None and tca.pending == [] and None not in tca.markouts_pips.values()
    assert scheduler.next_due() is None


async def test_a_broker_that_cannot_answer_leaves_the_mark_out_queued_for_later(
    harness_factory: HarnessFactory,
) -> None:
    h, clock = await with_clock(harness_factory)
    execution = await buy(h)
    h.sim.shutdown()  # the terminal gone: neither quote nor history can be asked
    clock.advance(2)
    assert await h.engine.markouts.run_due() == 0
    await h.broker.connect()
    assert await h.engine.markouts.run_due() == 0  # the 1 s moment is asked again RETRY_AFTER later
    clock.advance(RETRY_AFTER.total_seconds())
    assert await h.engine.markouts.run_due() == 2  # it, and the 5 s moment, both past: from history
    marks = [e.data for e in await h.store.audit_for(execution.execution_id) if e.event_type == "MARKOUT"]
    assert {(m["horizon"], m["source"]) for m in marks} == {("1s", "history"), ("5s", "history")}
