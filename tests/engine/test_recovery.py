"""Crash recovery: every execution left unfinished is brought to its true state; nothing is resent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from app.adapters.broker.mt5_adapter import MT5Broker
from app.domain.contracts import ExecutionStatus, RejectionReason
from app.engine.config import EngineConfig
from app.engine.engine import ExecutionEngine
from app.engine.metrics import compute_metrics
from app.store.repository import ExecutionStore
from tests.builders import rpm
from tests.conftest import FAST, Harness, HarnessFactory

S, R = ExecutionStatus, RejectionReason
EPOCH, FAR = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


class Crash(BaseException):
    """The engine process dying at this instant (nothing after it runs)."""


def crash_around_order_send(h: Harness, *, after: bool) -> None:
    send = h.sim.order_send

    def dying(request: dict[str, Any]) -> Any:
        if after:
            send(request)  # the broker executes it; the engine never hears back
        raise Crash

    h.sim.order_send = dying  # type: ignore[method-assign]


async def crashed_execution(h: Harness) -> str:
    parsed, raw = rpm(order_id="rpm_crash")
    with pytest.raises(Crash):
        await h.engine.execute(parsed, raw=raw, channel="test")
    (left,) = await h.store.unfinished()
    assert left.status is S.PENDING
    return left.execution_id


async def restart(h: Harness, store_factory: Callable[[], ExecutionStore], **config: Any) -> ExecutionEngine:
    del h.sim.order_send  # the restarted process has a healthy terminal link
    broker = MT5Broker(h.sim, name="sim")
    await broker.connect()
    return ExecutionEngine(broker, store_factory(), EngineConfig(**{**FAST, **config}))


async def test_an_order_the_broker_executed_before_the_crash_is_recorded_filled(
    harness: Harness, store_factory: Callable[[], ExecutionStore]
) -> None:
    crash_around_order_send(harness, after=True)
    execution_id = await crashed_execution(harness)
    engine = await restart(harness, store_factory)
    (recovered,) = await engine.recover()
    assert recovered.execution_id == execution_id
    assert recovered.status is S.FILLED and recovered.executed_units == 100_000
    assert harness.sim.order_send_calls == 1  # nothing resent
    assert len(await engine.store.fills(execution_id)) == 1
    assert "RECONCILED" in [e.event_type for e in await engine.store.audit_for(execution_id)]


async def test_an_order_that_never_left_is_closed_as_never_executed(
    harness: Harness, store_factory: Callable[[], ExecutionStore]
) -> None:
    crash_around_order_send(harness, after=False)
    execution_id = await crashed_execution(harness)
    engine = await restart(harness, store_factory)
    (recovered,) = await engine.recover()
    assert (recovered.status, recovered.rejection_reason) == (S.REJECTED, R.BROKER_REJECTION)
    assert "never executed" in (recovered.rejection_details or "")
    assert harness.sim.order_send_calls == 0 and harness.sim.history_orders_get(EPOCH, FAR) == ()
    assert (await engine.store.get(execution_id)).status is S.REJECTED  # type: ignore[union-attr]


async def test_a_resting_order_stays_submitted_and_is_polled_by_the_watch(
    harness_factory: HarnessFactory, store_factory: Callable[[], ExecutionStore]
) -> None:
    h = await harness_factory(behaviour={"pending_fill_after_s": -1})
    crash_around_order_send(h, after=True)
    execution_id = await crashed_execution(h)
    engine = await restart(h, store_factory)
    (recovered,) = await engine.recover()
    assert recovered.status is S.SUBMITTED and recovered.broker_order_id is not None
    assert [s.execution.execution_id for s in await engine.reconciler.stale_orders()] == []  # not yet stale
    assert execution_id == recovered.execution_id


async def test_an_unreachable_broker_leaves_it_submitted_with_an_alert(
    harness: Harness, store_factory: Callable[[], ExecutionStore]
) -> None:
    crash_around_order_send(harness, after=True)
    execution_id = await crashed_execution(harness)
    engine = await restart(harness, store_factory)
    harness.sim.set_connected(False)
    (left,) = await engine.recover()
    assert left.status is S.PENDING  # unknown: neither resent nor called rejected
    assert "RECONCILE_FAILED" in [e.event_type for e in await engine.store.audit_for(execution_id)]
    metrics = await compute_metrics(engine.store, broker_connected=False)
    assert "broker_connection_lost" in {a.rule for a in metrics.active_alerts}
    harness.sim.set_connected(True)
    (settled,) = await engine.recover()
    assert settled.status is S.FILLED
    assert harness.sim.order_send_calls == 1
