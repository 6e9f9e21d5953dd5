"""The --demo desk: every outcome the console shows really happens, through the production door."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest_asyncio

from app.adapters.sim.market import Market
from app.adapters.sim.scenario import load_scenario
from app.domain.contracts import ExecutionStatus, RejectionReason
from app.host.runtime import BrokerChoice, Runtime, simulator
from app.host.settings import Settings
from app.interfaces.intake.receive import receive
from app.tools.demo import DEMO_ORDER_TIMEOUT_S, DEMO_SCENARIO_FILE, SLOW, THIN, WIDE, DemoFeed, demo_broker
from tests.builders import rpm_payload
from tests.ui.conftest import AUDIT_KEY

S, R = ExecutionStatus, RejectionReason


@pytest_asyncio.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings(
        data_dir=tmp_path, broker="sim", sim_scenario=DEMO_SCENARIO_FILE, audit_key=AUDIT_KEY, order_timeout_s=0.3
    )
    runtime = Runtime.build(settings, lambda s: BrokerChoice(demo_broker(simulator(s)), "demo"))
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
    assert symbols[WIDE] > 8 and symbols[THIN] > 4
    assert 1 <= symbols[SLOW] <= 200 // 20 + 1  # a stale order now and then, never a pile


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
