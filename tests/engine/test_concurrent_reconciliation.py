"""Reconciliation paths that see the same late fill at once record it once, and never take one back."""

from __future__ import annotations

import asyncio

from app.domain.contracts import ExecutionStatus
from app.engine.engine import CancelRefused
from tests.api.polling import eventually_async
from tests.builders import rpm
from tests.conftest import HarnessFactory

S = ExecutionStatus


async def test_passes_racing_over_one_late_fill_record_it_once(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(behaviour={"pending_fill_after_s": 0.2}, order_timeout_s=0.05)
    parsed, raw = rpm()
    expired = await h.engine.execute(parsed, raw=raw, channel="test")
    assert expired.status is S.EXPIRED and expired.broker_order_id is not None
    await eventually_async(lambda: h.sim.history_deals_get(ticket=int(expired.broker_order_id or 0)))  # filled late

    passes = await asyncio.gather(*(h.engine.reconciler.reconcile_stale() for _ in range(3)))

    assert sum(len(found) for found in passes) >= 1
    record = await h.store.get(expired.execution_id)
    assert record is not None and record.status is S.FILLED
    assert record.executed_units == expired.intended_units
    assert len(await h.store.fills(expired.execution_id)) == 1


async def test_a_cancel_reading_the_broker_before_a_late_fill_was_recorded_keeps_the_fill(
    harness_factory: HarnessFactory,
) -> None:
    h = await harness_factory(behaviour={"pending_fill_after_s": 0.2}, order_timeout_s=0.05)
    parsed, raw = rpm()
    expired = await h.engine.execute(parsed, raw=raw, channel="test")
    await eventually_async(lambda: h.sim.history_deals_get(ticket=int(expired.broker_order_id or 0)))

    results = await asyncio.gather(
        h.engine.cancel(expired.execution_id, approved_by="desk-trader"),
        h.engine.reconciler.reconcile_stale(),
        return_exceptions=True,
    )

    # The cancel may find the order already done (refused, nothing to cancel); nothing else may fail.
    assert [r for r in results if isinstance(r, BaseException) and not isinstance(r, CancelRefused)] == []
    record = await h.store.get(expired.execution_id)
    assert record is not None and record.status is S.FILLED
    assert len(await h.store.fills(expired.execution_id)) == 1


async def test_a_link_lost_during_a_pass_leaves_the_late_fill_to_the_next_pass(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(behaviour={"pending_fill_after_s": 0.2}, order_timeout_s=0.05)
    parsed, raw = rpm()
    expired = await h.engine.execute(parsed, raw=raw, channel="test")
    await eventually_async(lambda: h.sim.history_deals_get(ticket=int(expired.broker_order_id or 0)))
    read_deals = h.sim.history_deals_get

    def then_link_lost(*args: object, **kwargs: object) -> object:
        deals = read_deals(*args, **kwargs)
        h.sim.set_connected(False)  # the terminal goes once the orders and deals were read
        return deals

    h.sim.history_deals_get = then_link_lost  # type: ignore[method-assign]
    assert await h.engine.reconciler.reconcile_stale() == []  # no pass failure: the broker is simply gone
    h.sim.history_deals_get = read_deals  # type: ignore[method-assign]
    h.sim.set_connected(True)
    (late,) = await h.engine.reconciler.reconcile_stale()
    assert late.status is S.FILLED
