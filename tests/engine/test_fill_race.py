"""A fill that lands between two reads of the broker is a fill: never a rejection, never lost.

The simulator's clock here moves one millisecond per call to the terminal, so a resting order's fill
can be placed exactly between any two consecutive calls the adapter makes while polling it.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

import pytest

from app.adapters.sim.terminal import SimulatedTerminal
from app.domain.contracts import ExecutionStatus
from tests.builders import rpm
from tests.conftest import Harness, HarnessFactory

S = ExecutionStatus
STEP_S = 0.001


class StepClock:
    """A clock that moves STEP_S forward each time the terminal reads it (once per call)."""

    def __init__(self) -> None:
        self._now = time.time()
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self._now += STEP_S
            return self._now


async def stepped_harness(harness_factory: HarnessFactory, rest_calls: float) -> Harness:
    h: Harness = await harness_factory(behaviour={"pending_fill_after_s": rest_calls * STEP_S})
    h.sim._clock = StepClock()  # the simulator's clock is its constructor's argument; swapped before any order
    return h


def broker_deal_lots(sim: SimulatedTerminal, order: str) -> Decimal:
    deals = sim.history_deals_get(ticket=int(order))
    assert deals is not None
    return sum((Decimal(str(d.volume)) for d in deals), Decimal(0))


@pytest.mark.parametrize("calls_before_fill", [k + 0.5 for k in range(12)])
async def test_a_fill_between_any_two_reads_of_a_polled_order_is_recorded_filled(
    harness_factory: HarnessFactory, calls_before_fill: float
) -> None:
    h = await stepped_harness(harness_factory, calls_before_fill)
    parsed, raw = rpm(units=100_000)
    execution = await h.engine.execute(parsed, raw=raw, channel="test")

    assert execution.broker_order_id is not None
    assert broker_deal_lots(h.sim, execution.broker_order_id) == Decimal("1.00")  # the broker did fill it
    assert (execution.status, execution.rejection_reason) == (S.FILLED, None), execution.rejection_details
    assert execution.executed_units == Decimal(100_000)
    stored = await h.store.get(execution.execution_id)
    assert stored is not None and stored.status is S.FILLED
    assert [f.deal_id for f in await h.store.fills(execution.execution_id)] != []


class LaggingDeals:
    """A terminal whose deal history lags its order history: the first `hidden` deal reads see no deal."""

    def __init__(self, sim: SimulatedTerminal, hidden: int) -> None:
        self.reads = 0
        self._hidden = hidden
        self._read = sim.history_deals_get

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.reads += 1
        return () if self.reads <= self._hidden else self._read(*args, **kwargs)


async def test_an_order_done_at_the_broker_whose_deals_are_not_yet_in_is_polled_until_they_are(
    harness_factory: HarnessFactory,
) -> None:
    h = await harness_factory(behaviour={"pending_fill_after_s": 0.02})
    lag = LaggingDeals(h.sim, hidden=8)
    h.sim.history_deals_get = lag  # type: ignore[method-assign]
    parsed, raw = rpm(units=100_000)
    execution = await h.engine.execute(parsed, raw=raw, channel="test")

    assert lag.reads > 8  # it was read while the deals were missing, and again after
    assert execution.status is S.FILLED, execution.rejection_details
    assert execution.executed_units == Decimal(100_000)


async def test_deals_still_missing_at_the_order_timeout_leave_the_execution_for_reconciliation(
    harness_factory: HarnessFactory,
) -> None:
    h = await harness_factory(behaviour={"pending_fill_after_s": 0.02}, order_timeout_s=0.3)
    real_read = h.sim.history_deals_get
    h.sim.history_deals_get = lambda *a, **k: ()  # type: ignore[method-assign]
    parsed, raw = rpm(units=100_000)
    execution = await h.engine.execute(parsed, raw=raw, channel="test")
    # Neither a rejection nor a timeout: the broker says done and has not yet said how.
    assert execution.status is S.SUBMITTED
    assert execution.rejection_reason is None

    h.sim.history_deals_get = real_read  # type: ignore[method-assign]
    (after,) = await h.engine.recover()
    assert after.status is S.FILLED
    assert after.executed_units == Decimal(100_000)


async def test_a_lost_answer_reconciled_while_the_deals_lag_is_a_fill(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(behaviour={"connection_drop_after": [1]})
    lag = LaggingDeals(h.sim, hidden=4)
    h.sim.history_deals_get = lag  # type: ignore[method-assign]
    parsed, raw = rpm(units=100_000)
    execution = await h.engine.execute(parsed, raw=raw, channel="test")

    assert h.sim.order_send_calls == 1  # reconciled, never resent
    assert execution.status is S.FILLED, execution.rejection_details
    assert execution.executed_units == Decimal(100_000)
