"""One RPM order_id, one order at the broker: again, at once, from two engines, after a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from app.adapters.broker.mt5_adapter import MT5Broker
from app.domain.contracts import ExecutionStatus
from app.engine.config import EngineConfig
from app.engine.engine import ExecutionEngine
from app.store.repository import ExecutionStore
from tests.builders import rpm
from tests.conftest import FAST, Harness, HarnessFactory

EPOCH, FAR = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def orders_at_broker(h: Harness) -> int:
    return len(h.sim.orders_get() or ()) + len(h.sim.history_orders_get(EPOCH, FAR) or ())


async def test_the_same_rpm_output_again_returns_the_first_execution(harness: Harness) -> None:
    parsed, raw = rpm(order_id="rpm_again")
    first = await harness.engine.execute(parsed, raw=raw, channel="api")
    second = await harness.engine.execute(parsed, raw=raw, channel="inbox")
    assert second.execution_id == first.execution_id
    assert orders_at_broker(harness) == 1
    events = [e.event_type for e in await harness.store.audit_for(first.execution_id)]
    assert events[-1] == "DUPLICATE_RECEIVED"


async def test_fifty_copies_at_once_make_one_order(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(behaviour={"latency_ms": 5})
    parsed, raw = rpm(order_id="rpm_burst")
    results = await asyncio.gather(*(h.engine.execute(parsed, raw=raw, channel="api") for _ in range(50)))
    assert len({r.execution_id for r in results}) == 1
    assert {r.status for r in results} == {ExecutionStatus.FILLED}
    assert orders_at_broker(h) == 1


async def test_two_engines_on_one_database_execute_an_order_id_once(
    harness_factory: HarnessFactory, store_factory: Callable[[], ExecutionStore]
) -> None:
    h = await harness_factory(behaviour={"latency_ms": 5})
    other_broker = MT5Broker(h.sim, name="sim")  # a second engine process, same broker account
    await other_broker.connect()
    other = ExecutionEngine(other_broker, store_factory(), EngineConfig(**FAST))
    try:
        for n in range(10):
            parsed, raw = rpm(order_id=f"rpm_shared_{n}")
            a, b = await asyncio.gather(
                h.engine.execute(parsed, raw=raw, channel="api"), other.execute(parsed, raw=raw, channel="api")
            )
            assert a.execution_id == b.execution_id
        assert orders_at_broker(h) == 10
        assert len(await h.store.history(limit=100)) == 10
    finally:
        other_broker._executor.shutdown(wait=True)


async def test_after_a_restart_the_same_order_id_sends_nothing(
    harness: Harness, store_factory: Callable[[], ExecutionStore]
) -> None:
    parsed, raw = rpm(order_id="rpm_restart")
    first = await harness.engine.execute(parsed, raw=raw, channel="api")
    restarted = ExecutionEngine(harness.broker, store_factory(), EngineConfig(**FAST))
    again = await restarted.execute(parsed, raw=raw, channel="api")
    assert again.execution_id == first.execution_id
    assert orders_at_broker(harness) == 1
