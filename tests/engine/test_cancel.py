"""The trader approves the cancellation of a stale order; the engine cancels it at the broker."""

from __future__ import annotations

import asyncio

import pytest

from app.domain.contracts import ExecutionStatus, RejectionReason
from app.engine.engine import CancelKind, CancelRefused
from tests.builders import rpm
from tests.conftest import REST_S, BrokerClock, Harness, HarnessFactory

S, R = ExecutionStatus, RejectionReason


async def expired(h: Harness):  # type: ignore[no-untyped-def]
    parsed, raw = rpm()
    execution = await h.engine.execute(parsed, raw=raw, channel="test")
    assert execution.status is S.EXPIRED
    return execution


async def test_cancelling_an_expired_order_cancels_it_at_the_broker(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(behaviour={"pending_fill_after_s": -1}, order_timeout_s=0.05)
    stale = await expired(h)
    done = await h.engine.cancel(stale.execution_id, approved_by="desk-trader")
    assert (done.status, done.rejection_reason) == (S.CANCELLED, R.OPERATOR_CANCELLED)
    assert "desk-trader" in (done.rejection_details or "")
    assert h.sim.orders_get() == ()
    assert done.cancel_requested_timestamp is not None
    stored = await h.store.get(stale.execution_id)
    assert stored is not None and stored.status is S.CANCELLED
    events = [e.event_type for e in await h.store.audit_for(stale.execution_id)]
    assert events[-3:] == ["CANCEL_APPROVED", "CANCEL_RESULT", "CANCELLED"]


async def expires_then_fills(harness_factory: HarnessFactory) -> tuple[Harness, BrokerClock]:
    """A harness whose orders rest past the order timeout and fill when the test moves the broker's clock."""
    clock = BrokerClock()
    h: Harness = await harness_factory(behaviour={"pending_fill_after_s": REST_S}, order_timeout_s=0.05, clock=clock)
    return h, clock


async def test_a_fill_that_lands_before_the_cancel_wins(harness_factory: HarnessFactory) -> None:
    h, clock = await expires_then_fills(harness_factory)
    stale = await expired(h)
    clock.advance(REST_S)  # the broker fills the order in the meantime
    done = await h.engine.cancel(stale.execution_id, approved_by="desk-trader")
    assert done.status is S.FILLED
    assert done.executed_units == stale.intended_units
    assert len(await h.store.fills(stale.execution_id)) == 1


async def test_a_cancel_in_progress_is_never_sent_twice(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(behaviour={"pending_fill_after_s": -1, "latency_ms": 30}, order_timeout_s=0.05)
    stale = await expired(h)
    calls_before = h.sim.order_send_calls
    results = await asyncio.gather(
        h.engine.cancel(stale.execution_id, approved_by="a"),
        h.engine.cancel(stale.execution_id, approved_by="b"),
        return_exceptions=True,
    )
    assert sum(isinstance(r, CancelRefused) for r in results) == 1
    assert h.sim.order_send_calls == calls_before + 1


async def test_a_filled_execution_has_nothing_to_cancel(harness: Harness) -> None:
    parsed, raw = rpm()
    filled = await harness.engine.execute(parsed, raw=raw, channel="test")
    with pytest.raises(CancelRefused, match="FILLED"):
        await harness.engine.cancel(filled.execution_id, approved_by="x")


async def test_cancelling_while_the_engine_still_polls(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(behaviour={"pending_fill_after_s": -1}, order_timeout_s=5)
    parsed, raw = rpm()
    pending = await h.engine.start(parsed, raw=raw, channel="test")
    for _ in range(100):
        current = await h.store.get(pending.execution_id)
        if current is not None and current.status is S.SUBMITTED:
            break
        await asyncio.sleep(0.01)
    done = await h.engine.cancel(pending.execution_id, approved_by="desk-trader")
    assert (done.status, done.rejection_reason) == (S.CANCELLED, R.OPERATOR_CANCELLED)


async def test_a_late_fill_after_expiry_wins(harness_factory: HarnessFactory) -> None:
    h, clock = await expires_then_fills(harness_factory)
    stale = await expired(h)
    assert [s.execution.execution_id for s in await h.engine.reconciler.stale_orders()] == [stale.execution_id]
    clock.advance(REST_S)
    (changed,) = await h.engine.reconciler.reconcile_stale()
    assert changed.status is S.FILLED and changed.rejection_reason is None
    assert "LATE_FILL" in [e.event_type for e in await h.store.audit_for(stale.execution_id)]
    assert await h.engine.reconciler.stale_orders() == []
    assert await h.engine.reconciler.reconcile_stale() == []  # recorded once


async def test_an_uncertain_submission_is_resolved_by_the_watch(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(behaviour={"connection_drop_after": [1]}, max_retries=0, reconcile_after_s=0)
    real_find = h.broker.find_orders
    calls = 0

    async def broker_unreachable_at_first(tag: str, since):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 1:
            from app.adapters.broker.types import BrokerUnavailable

            raise BrokerUnavailable("terminal restarting")
        return await real_find(tag, since)

    h.broker.find_orders = broker_unreachable_at_first  # type: ignore[method-assign]
    parsed, raw = rpm()
    execution = await h.engine.execute(parsed, raw=raw, channel="test")
    assert execution.status is S.SUBMITTED  # the broker may have it: neither resent nor called rejected
    (resolved,) = await h.engine.reconciler.reconcile_stale()
    assert resolved.status is S.FILLED
    assert h.sim.order_send_calls == 1


async def test_a_fill_recorded_just_before_the_cancel_is_answered_as_the_fill(harness_factory: HarnessFactory) -> None:
    h, clock = await expires_then_fills(harness_factory)
    stale = await expired(h)
    clock.advance(REST_S)  # the broker fills the order, and the reconciler records it first
    (late,) = await h.engine.reconciler.reconcile_stale()
    assert late.status is S.FILLED
    result = await h.engine.try_cancel(stale.execution_id, approved_by="desk-trader")
    assert (result.kind, result.execution.status) == (CancelKind.FILLED_FIRST, S.FILLED)


async def test_an_order_filled_at_once_is_refused_with_the_reason(harness: Harness) -> None:
    parsed, raw = rpm()
    filled = await harness.engine.execute(parsed, raw=raw, channel="test")
    result = await harness.engine.try_cancel(filled.execution_id, approved_by="x")
    assert result.kind is CancelKind.REFUSED and "no resting order to cancel" in result.reason
