"""A partial fill whose remainder (or completion order) is still resting at the broker when the
execution ends: its later fill is recorded, and the trader can cancel it.

The simulator's clock is moved by the test, so the broker fills exactly when the test says.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from app.domain.contracts import ExecutionStatus, RejectionReason
from app.domain.execution import Execution
from app.engine.config import PartialFillPolicy
from tests.api.polling import eventually_async
from tests.builders import rpm
from tests.conftest import REST_S, BrokerClock, Harness, HarnessFactory

S, R = ExecutionStatus, RejectionReason


async def partially_filled_with_a_resting_completion_order(h: Harness, clock: BrokerClock) -> Execution:
    """First order half-filled; the completion order sent for the rest is still resting at its timeout."""
    parsed, raw = rpm(units=100_000)
    running = asyncio.create_task(h.engine.execute(parsed, raw=raw, channel="test"))
    await eventually_async(lambda: len(h.sim.orders_get() or ()) == 1)
    clock.advance(REST_S)  # the first order fills half of its volume
    await eventually_async(lambda: h.sim.order_send_calls == 2 and len(h.sim.orders_get() or ()) == 1)
    execution = await running  # the completion order times out, still resting
    assert execution.status is S.PARTIALLY_FILLED
    assert execution.executed_units == Decimal(50_000)
    return execution


async def harness_with_clock(harness_factory: HarnessFactory) -> tuple[Harness, BrokerClock]:
    clock = BrokerClock()
    h: Harness = await harness_factory(
        behaviour={"fill_ratio": 0.5, "pending_fill_after_s": REST_S},
        symbols={"EURUSD": {"filling_modes": ["ioc"]}},  # IOC: the broker fills part and cancels the rest
        partial_fill_policy=PartialFillPolicy.COMPLETE,
        max_completion_orders=1,
        order_timeout_s=0.2,
        clock=clock,
    )
    return h, clock


async def test_a_completion_order_that_fills_after_the_execution_ended_is_recorded(
    harness_factory: HarnessFactory,
) -> None:
    h, clock = await harness_with_clock(harness_factory)
    execution = await partially_filled_with_a_resting_completion_order(h, clock)

    clock.advance(REST_S)  # the completion order fills (half of the remainder) at the broker
    (late,) = await h.engine.reconciler.reconcile_stale()
    assert late.execution_id == execution.execution_id
    assert late.executed_units == Decimal(75_000)  # both deals, none lost
    assert len(await h.store.fills(execution.execution_id)) == 2
    assert "LATE_FILL" in [e.event_type for e in await h.store.audit_for(execution.execution_id)]


async def test_the_trader_sees_and_cancels_a_resting_completion_order_keeping_the_first_fill(
    harness_factory: HarnessFactory,
) -> None:
    h, clock = await harness_with_clock(harness_factory)
    execution = await partially_filled_with_a_resting_completion_order(h, clock)
    (resting,) = h.sim.orders_get() or ()

    (stale,) = await h.engine.reconciler.stale_orders()
    assert (stale.execution.execution_id, stale.order) == (execution.execution_id, str(resting.ticket))
    done = await h.engine.cancel(execution.execution_id, approved_by="desk-trader")
    assert h.sim.orders_get() == ()  # the completion order is cancelled at the broker
    assert done.status is S.PARTIALLY_FILLED
    assert done.executed_units == Decimal(50_000)  # the first order's fill is kept
    events = await h.store.audit_for(execution.execution_id)
    result = next(e for e in events if e.event_type == "CANCEL_RESULT")
    assert result.data["order"] == str(resting.ticket) and result.data["cancelled"] is True
