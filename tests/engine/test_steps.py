"""The nine steps of docs/DESIGN.md, each seen from outside: the store, the broker, the answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import create_engine, select

from app.domain.contracts import ExecutionStatus, RejectionReason
from app.store.tables import execution_logs, execution_requests
from tests.builders import CONFIRMATION_FIELDS, rpm, rpm_payload
from tests.conftest import Harness, HarnessFactory

EPOCH, FAR = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


async def run(h: Harness, **kwargs):  # type: ignore[no-untyped-def]
    parsed, raw = rpm(**kwargs)
    return await h.engine.execute(parsed, raw=raw, channel="test")


async def events(h: Harness, execution_id: str) -> list[str]:
    return [e.event_type for e in await h.store.audit_for(execution_id)]


async def test_step1_a_failed_check_sends_nothing_and_answers_rejected(harness: Harness) -> None:
    execution = await run(harness, symbol="NOPE")
    assert execution.status is ExecutionStatus.REJECTED
    assert harness.sim.order_send_calls == 0
    assert await events(harness, execution.execution_id) == ["RECEIVED", "REJECTED"]


async def test_step2_the_request_is_stored_with_the_raw_rpm_output(harness: Harness) -> None:
    payload = rpm_payload(order_id="rpm_step2", unknown_upstream_field={"kept": True})
    raw = json.dumps(payload)
    parsed, _ = rpm(order_id="rpm_step2")
    execution = await harness.engine.execute(parsed, raw=raw, channel="test")
    request = await harness.store.request(execution.execution_id)
    assert request is not None
    assert request["rpm_order_id"] == "rpm_step2"
    assert request["request_id"] == execution.request_id
    assert request["rpm_output_raw"] == raw  # verbatim, unknown fields included
    assert request["config_hash"] == "abc123def456"


async def test_step3_the_pending_log_is_durable_before_the_order_is_sent(harness: Harness, db_url: str) -> None:
    seen: list[Any] = []
    observer = create_engine(db_url)
    send = harness.sim.order_send

    def order_send_watching_the_store(request: dict[str, Any]) -> Any:
        # Another connection, as a process restarted at this instant would see the store.
        with observer.connect() as conn:
            seen.extend(
                conn.execute(
                    select(execution_logs.c.status, execution_requests.c.rpm_order_id).join(
                        execution_requests, execution_requests.c.request_id == execution_logs.c.request_id
                    )
                ).all()
            )
        return send(request)

    harness.sim.order_send = order_send_watching_the_store  # type: ignore[method-assign]
    execution = await run(harness, order_id="rpm_step3")
    observer.dispose()
    assert execution.status is ExecutionStatus.FILLED
    assert [(s, o) for s, o in seen] == [("PENDING", "rpm_step3")]


async def test_step4_the_order_carries_the_execution_tag(harness: Harness) -> None:
    execution = await run(harness)
    (order,) = harness.sim.history_orders_get(EPOCH, FAR)
    assert order.comment == execution.execution_id
    assert order.magic == harness.broker.magic
    assert str(order.ticket) == execution.broker_order_id


async def test_step5_a_resting_order_is_polled_until_filled(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(behaviour={"pending_fill_after_s": 0.05})
    statuses: list[ExecutionStatus] = []
    h.engine.subscribe(lambda ev: ev.execution and statuses.append(ev.execution.status))
    execution = await run(h)
    assert execution.status is ExecutionStatus.FILLED
    assert statuses == [ExecutionStatus.PENDING, ExecutionStatus.SUBMITTED, ExecutionStatus.FILLED]
    assert "SUBMITTED" in await events(h, execution.execution_id)


async def test_step5_an_order_not_filled_in_time_expires(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(behaviour={"pending_fill_after_s": -1}, order_timeout_s=0.1)
    execution = await run(h)
    assert execution.status is ExecutionStatus.EXPIRED
    assert execution.rejection_reason is RejectionReason.ORDER_TIMEOUT
    assert execution.broker_order_id is not None
    assert len(h.sim.orders_get()) == 1  # still resting at the broker: a stale order for the trader


async def test_step6_slippage_is_measured_against_the_intended_price(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(behaviour={"fill_slippage_points": 7})
    execution = await run(h, intended_price=1.09505)
    # Bought at ask 1.09510 moved 7 points against us: 1.09517, 1.2 pips worse than 1.09505.
    assert execution.fill_price == Decimal("1.09517")
    assert execution.slippage_pips == Decimal("1.2")
    assert execution.slippage_category == "good"


async def test_step6_without_intended_price_the_mid_at_validation_is_used(harness: Harness) -> None:
    execution = await run(harness, direction=-1)
    assert execution.intended_price == Decimal("1.09505")
    assert execution.fill_price == Decimal("1.09500")
    assert execution.slippage_pips == Decimal("0.5")  # sold half a spread below mid


async def test_step6_optional_slippage_threshold_flags_the_fill(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(behaviour={"fill_slippage_points": 30}, max_slippage_pips=Decimal(2))
    execution = await run(h, intended_price=1.09505)
    assert execution.status is ExecutionStatus.FILLED  # it did fill: the record says so
    assert execution.rejection_reason is RejectionReason.SLIPPAGE_EXCEEDED
    assert "3.5 pips" in (execution.rejection_details or "")


async def test_step8_the_final_record_is_searchable(harness: Harness) -> None:
    first = await run(harness, symbol="EURUSD")
    second = await run(harness, symbol="GBPUSD")
    assert (await harness.store.get(first.execution_id)).status is ExecutionStatus.FILLED  # type: ignore[union-attr]
    assert [e.execution_id for e in await harness.store.find_by_broker_order(first.broker_order_id or "")] == [
        first.execution_id
    ]
    assert [e.execution_id for e in await harness.store.history(symbol="GBPUSD")] == [second.execution_id]
    now = datetime.now(UTC)
    window = await harness.store.history(start=now - timedelta(minutes=1), end=now + timedelta(minutes=1))
    assert {e.execution_id for e in window} == {first.execution_id, second.execution_id}
    assert await harness.store.history(start=now + timedelta(minutes=1)) == []
    (fill,) = await harness.store.fills(first.execution_id)
    assert fill.units == Decimal(100_000) and fill.price == first.fill_price
    stored = await harness.store.get(first.execution_id)
    assert stored is not None and stored.fill_timestamp and stored.submission_timestamp and stored.last_update_timestamp


async def test_step9_the_confirmation_carries_the_contract_fields(harness: Harness) -> None:
    execution = await run(harness, units=95_000, order_id="rpm_order_123")
    confirmation = json.loads(execution.confirmation().model_dump_json())
    assert set(confirmation) == CONFIRMATION_FIELDS
    assert confirmation["status"] == "FILLED"
    assert confirmation["rpm_order_id"] == "rpm_order_123"
    assert confirmation["intended_units"] == 95000 and confirmation["executed_units"] == 95000
    assert confirmation["timestamp"].endswith("Z")


async def test_rpm_rejected_decisions_are_recorded_and_never_sent(harness: Harness) -> None:
    execution = await run(harness, status="REJECTED")
    assert execution.status is ExecutionStatus.REJECTED
    assert execution.rejection_reason is RejectionReason.RPM_REJECTED
    assert "KILL_SWITCH_TRIGGERED" in (execution.rejection_details or "")
    assert harness.sim.order_send_calls == 0
    assert await harness.store.get(execution.execution_id) is not None


async def test_every_step_leaves_an_audit_event(harness: Harness) -> None:
    execution = await run(harness)
    steps = ["RECEIVED", "VALIDATED", "ORDER_SENT", "TCA_ARRIVAL", "FILLED"]
    assert await events(harness, execution.execution_id) == steps
