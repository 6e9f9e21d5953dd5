"""The RPM's halt as structured state: what its newest decision's portfolio_state says, told to listeners
as HaltChanged(source=RPM) and rebuilt from the store at a restart — never read from a message's words."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from app.domain.contracts import ExecutionStatus, RejectionReason
from app.domain.execution import Execution
from app.engine.engine import ExecutionEngine
from app.engine.events import EngineEvent, HaltChanged, HaltSource
from app.engine.halts import RpmHaltWatch
from app.store.repository import ExecutionStore
from tests.builders import rpm
from tests.conftest import Harness

S, R = ExecutionStatus, RejectionReason


def rpm_halts(engine: ExecutionEngine) -> list[HaltChanged]:
    seen: list[HaltChanged] = []

    def listen(event: EngineEvent) -> None:
        if isinstance(event, HaltChanged) and event.source is HaltSource.RPM:
            seen.append(event)

    engine.subscribe(listen)
    return seen


async def send(engine: ExecutionEngine, **kwargs: Any) -> Execution:
    parsed, raw = rpm(**kwargs)
    return await engine.execute(parsed, raw=raw, channel="api")


def restart(h: Harness, store_factory: Callable[[], ExecutionStore]) -> ExecutionEngine:
    """Another process on the same store and terminal."""
    return ExecutionEngine(h.broker, store_factory(), h.engine.config)


async def test_a_halted_decision_halts_and_the_next_one_that_is_not_releases(harness: Harness) -> None:
    seen = rpm_halts(harness.engine)

    halted = await send(harness.engine, halted=True, halt_reason="daily loss limit reached")
    assert halted.status is S.REJECTED and halted.rejection_reason is R.TRADING_HALTED
    current = harness.engine.rpm_halt.current
    assert current is not None and current.reason == "daily loss limit reached"
    assert current.since == halted.created_timestamp
    assert [(e.halted, e.reason, e.by) for e in seen] == [(True, "daily loss limit reached", "RPM")]

    again = await send(harness.engine, halted=True, halt_reason="daily loss limit reached")
    assert again.status is S.REJECTED
    assert len(seen) == 1 and harness.engine.rpm_halt.current == current  # still the same halt, same start

    filled = await send(harness.engine)
    assert filled.status is S.FILLED
    assert harness.engine.rpm_halt.current is None
    assert [(e.halted, e.source) for e in seen] == [(True, HaltSource.RPM), (False, HaltSource.RPM)]
    assert not harness.engine.halted  # the console's own kill switch was never touched


async def test_an_rpm_rejection_carries_the_rpms_halt_too(harness: Harness) -> None:
    """The portfolio state comes with every decision, rejected ones included."""
    await send(harness.engine, status="REJECTED", halted=True, halt_reason="kill switch upstream")
    current = harness.engine.rpm_halt.current
    assert current is not None and current.reason == "kill switch upstream"


async def test_a_console_halt_is_not_an_rpm_halt(harness: Harness) -> None:
    seen = rpm_halts(harness.engine)
    await harness.engine.halt("news", by="trader")
    rejected = await send(harness.engine)
    assert rejected.rejection_reason is R.TRADING_HALTED
    assert harness.engine.rpm_halt.current is None and seen == []


def test_an_older_decision_finishing_late_does_not_speak_for_the_rpm() -> None:
    watch, t = RpmHaltWatch(), datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert watch.observe(True, "drawdown 8%", t) is not None
    assert watch.observe(False, None, t - timedelta(seconds=5)) is None  # received before: no say
    assert watch.current is not None and watch.current.since == t
    change = watch.observe(True, "drawdown 9%", t + timedelta(seconds=1))  # a new reason, the same halt
    assert change is not None and change.reason == "drawdown 9%" and change.since == t
    released = watch.observe(False, None, t + timedelta(seconds=2))
    assert released is not None and not released.halted and released.since == t + timedelta(seconds=2)


async def test_a_restart_opens_with_the_rpm_halt_its_decisions_left_in_force(
    harness: Harness, store_factory: Callable[[], ExecutionStore]
) -> None:
    await send(harness.engine)
    first = await send(harness.engine, halted=True, halt_reason="daily loss limit reached")
    await send(harness.engine, halted=True, halt_reason="daily loss limit reached")

    engine = restart(harness, store_factory)
    seen = rpm_halts(engine)
    await engine.restore_halt()

    current = engine.rpm_halt.current
    assert current is not None and current.reason == "daily loss limit reached"
    assert current.since == first.created_timestamp
    assert [(e.halted, e.source, e.reason) for e in seen] == [(True, HaltSource.RPM, "daily loss limit reached")]
    assert not engine.halted

    assert (await send(engine)).status is S.FILLED
    lifted = restart(harness, store_factory)
    await lifted.restore_halt()
    assert lifted.rpm_halt.current is None
