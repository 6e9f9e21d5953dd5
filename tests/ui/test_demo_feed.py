"""The --demo desk: every outcome the console shows really happens, through the production door."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest_asyncio

from app.adapters.broker.mt5_adapter import MT5Broker
from app.adapters.sim.market import Market
from app.adapters.sim.scenario import load_scenario
from app.adapters.sim.terminal import SimulatedTerminal
from app.domain.contracts import ExecutionStatus, RejectionReason
from app.engine.metrics import compute_metrics
from app.host.runtime import BrokerChoice, Runtime, simulated_broker
from app.host.settings import Settings
from app.interfaces.intake.receive import receive
from app.tools.demo import DEMO_ORDER_TIMEOUT_S, DEMO_SCENARIO_FILE, SLOW, THIN, WIDE, DemoFeed, DemoVenues
from tests.builders import rpm_payload
from tests.ui.conftest import AUDIT_KEY

S, R = ExecutionStatus, RejectionReason


@pytest_asyncio.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings(
        data_dir=tmp_path, broker="sim", sim_scenario=DEMO_SCENARIO_FILE, audit_key=AUDIT_KEY, order_timeout_s=0.3
    )
    runtime = Runtime.build(settings, lambda s: simulated_broker(s, "demo", DemoVenues))
    await runtime.start()
    yield runtime
    await runtime.stop(drain_s=1.0)


async def test_the_feed_mixes_approvals_on_several_majors_rejections_and_the_special_venues(demo: Runtime) -> None:
    feed = DemoFeed(demo.engine, seed=7)
    payloads = [await feed.next_payload() for _ in range(200)]

    decisions = Counter(p["decision"]["status"] for p in payloads)
    symbols = Counter(p["decision"]["approved_trade"]["symbol"] for p in payloads if "approved_trade" in p["decision"])
    assert decisions["REJECTED"] > 8 and decisions["APPROVED"] > 80 and decisions["ADJUSTED"] > 8
    assert len([s for s in symbols if s not in (WIDE, THIN, SLOW)]) >= 4
    # the special venues now and then, never a pile: EURJPY 35, 185; NZDUSD 50, 100, 150, 200; USDCAD 24, 124
    assert (symbols[WIDE], symbols[THIN], symbols[SLOW]) == (2, 4, 2)
    special = [p["decision"].get("approved_trade", {}).get("symbol") in (WIDE, THIN, SLOW) for p in payloads]
    for k in range(20, len(special) + 1):  # even if each of them failed, the success rate would stay above 90 %
        assert sum(special[:k]) <= 0.07 * k, k


async def test_every_outcome_happens_when_the_feed_runs(demo: Runtime) -> None:
    feed = DemoFeed(demo.engine, seed=3, interval=(0.005, 0.01))
    feed.post(await feed.approved(SLOW))  # the feed sends one now and then; this test has no time to wait
    feed.start()
    try:
        for _ in range(400):
            await asyncio.sleep(0.05)
            seen = {(e.status, e.rejection_reason) for e in await demo.store.history(limit=1000)}
            if {(S.FILLED, None), (S.PARTIALLY_FILLED, None), (S.REJECTED, R.RPM_REJECTED)} <= seen and any(
                s is S.EXPIRED for s, _ in seen
            ):
                break
    finally:
        await feed.stop()
    assert (S.FILLED, None) in seen and (S.PARTIALLY_FILLED, None) in seen
    assert (S.REJECTED, R.RPM_REJECTED) in seen
    stale = await demo.engine.reconciler.stale_orders()
    assert stale and {s.execution.symbol for s in stale} == {SLOW}


async def test_the_thin_venue_fills_part_of_an_order_its_book_said_it_could_take(demo: Runtime) -> None:
    execution = await receive(demo.engine, json.dumps(rpm_payload(symbol=THIN, units=250_000)).encode(), channel="t")
    assert execution.status is S.PARTIALLY_FILLED
    assert execution.executed_units == Decimal(100_000)


def test_only_the_slow_venue_rests_and_for_longer_than_the_demos_order_timeout() -> None:
    scenario = load_scenario(DEMO_SCENARIO_FILE)
    rest = scenario.symbols[SLOW].pending_fill_after_s
    assert rest is not None and rest > DEMO_ORDER_TIMEOUT_S  # else the console shows no stale order
    assert scenario.behaviour.pending_fill_after_s == 0
    assert all(spec.pending_fill_after_s is None for name, spec in scenario.symbols.items() if name != SLOW)


def test_the_wide_venues_spread_breathes_around_the_three_pip_limit() -> None:
    scenario = load_scenario(DEMO_SCENARIO_FILE)
    market = Market(scenario)
    pip = Decimal("0.01")
    spreads = [(q.ask - q.bid) / pip for q in (market.quote(WIDE, t * 0.5) for t in range(2000))]
    assert min(spreads) <= 3 < max(spreads)
    assert 0.1 < sum(s > 3 for s in spreads) / len(spreads) < 0.6


# ---- the demo on a clock of its own: the feed's pauses move it, nobody waits ----------------------------


@dataclass
class DemoRun:
    runtime: Runtime
    feed: DemoFeed
    start: float  # the demo clock starts at the real time: the engine judges a quote's age by that clock
    clock: float = 0.0
    first_stale_at: float | None = None  # demo seconds
    first_stale_symbols: set[str] = field(default_factory=set)
    critical: list[tuple[float, str]] = field(default_factory=list)  # (demo seconds, message) as they fired

    def __post_init__(self) -> None:
        self.clock = self.start


async def run_demo(tmp_path: Path, *, seed: int, executions: int) -> DemoRun:
    """The demo feed's own loop on the simulator, on a virtual clock shared by the feed and the terminal:
    each pause of the feed lets what it sent reach its outcome, then moves the clock on by the pause."""
    settings = Settings(
        data_dir=tmp_path, broker="sim", sim_scenario=DEMO_SCENARIO_FILE, audit_key=AUDIT_KEY, order_timeout_s=0.3
    )
    run: DemoRun
    terminal = SimulatedTerminal(load_scenario(DEMO_SCENARIO_FILE), clock=lambda: run.clock)
    runtime = Runtime.build(settings, lambda _: BrokerChoice(MT5Broker(DemoVenues(terminal), name="sim"), "demo"))
    finished = asyncio.Event()

    async def pause(seconds: float) -> None:
        await run.feed.settle()
        await runtime.engine.drain(within_s=10.0)  # each outcome known before the clock moves on
        stale = await runtime.engine.reconciler.stale_orders() if run.first_stale_at is None else []
        if stale:
            run.first_stale_at = run.clock - run.start
            run.first_stale_symbols = {s.execution.symbol for s in stale}
        # What the console's alert band would show at this moment, as its monitor computes it.
        m = await compute_metrics(runtime.store, broker_connected=True)
        run.critical += [(run.clock - run.start, a.message) for a in m.active_alerts if a.severity == "critical"]
        if run.feed.sent >= executions:
            finished.set()
            await asyncio.Event().wait()  # until the feed stops
        run.clock += seconds

    run = DemoRun(runtime, DemoFeed(runtime.engine, seed=seed, sleep=pause), start=time.time())
    print(f"demo feed seed {seed}, demo clock from {datetime.fromtimestamp(run.start, UTC).isoformat()}")
    await runtime.start()
    run.feed.start()
    await finished.wait()
    await run.feed.stop()
    return run


async def test_ordinary_demo_traffic_fires_no_critical_alert(tmp_path: Path) -> None:
    run = await run_demo(tmp_path, seed=20261201, executions=300)
    try:
        m = await compute_metrics(run.runtime.store, broker_connected=True)
        hour = m.windows["1h"]
        print(hour.by_status, hour.rejections_by_reason, hour.success_rate, hour.avg_abs_slippage_pips)
        assert hour.total_executions == 300
        assert run.critical == []  # not at the end, not on the way (the first minutes' small samples included)
        assert hour.success_rate is not None and hour.success_rate >= 0.9
    finally:
        await run.runtime.stop(drain_s=1.0)


async def test_a_stale_order_shows_within_the_demos_first_minute(tmp_path: Path) -> None:
    run = await run_demo(tmp_path, seed=5, executions=40)
    try:
        assert run.first_stale_at is not None
        # Sent at first_stale_at (demo time); the console's order timeout makes it stale that much later.
        assert run.first_stale_at + DEMO_ORDER_TIMEOUT_S < 60
        assert run.first_stale_symbols == {SLOW}
    finally:
        await run.runtime.stop(drain_s=1.0)
