"""docs/DESIGN.md's eight error scenarios, plus requotes and filling-mode refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from app.adapters.mt5.records import SYMBOL_FILLING_FOK, SYMBOL_FILLING_IOC
from app.domain.contracts import ExecutionStatus, RejectionReason
from app.engine.config import EngineConfig, PartialFillPolicy
from tests.builders import rpm
from tests.conftest import Harness, HarnessFactory

R, S = RejectionReason, ExecutionStatus
EPOCH, FAR = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


async def run(h: Harness, **kwargs):  # type: ignore[no-untyped-def]
    parsed, raw = rpm(**kwargs)
    return await h.engine.execute(parsed, raw=raw, channel="test")


def orders_at_broker(h: Harness) -> list[Any]:
    return list(h.sim.orders_get() or ()) + list(h.sim.history_orders_get(EPOCH, FAR) or ())


async def event_types(h: Harness, execution_id: str) -> list[str]:
    return [e.event_type for e in await h.store.audit_for(execution_id)]


# Scenario 1: network failure during submission -------------------------------------------------
async def test_network_failures_are_retried_until_the_order_goes_through(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(behaviour={"connection_drop_before": [1, 2]})
    execution = await run(h)
    assert execution.status is S.FILLED
    assert h.sim.order_send_calls == 3
    assert len(orders_at_broker(h)) == 1
    assert (await event_types(h, execution.execution_id)).count("NETWORK_ERROR") == 2


async def test_network_failures_beyond_max_retries_reject_with_broker_rejection(
    harness_factory: HarnessFactory,
) -> None:
    h = await harness_factory(behaviour={"connection_drop_before": [1, 2, 3, 4, 5]}, max_retries=3)
    execution = await run(h)
    assert execution.status is S.REJECTED
    assert execution.rejection_reason is R.BROKER_REJECTION
    assert h.sim.order_send_calls == 4  # the first attempt and three retries
    assert orders_at_broker(h) == []


def test_back_off_is_exponential() -> None:
    config = EngineConfig()
    assert [config.backoff(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]


async def test_a_lost_answer_is_reconciled_not_resent(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(behaviour={"connection_drop_after": [1]})
    execution = await run(h)
    assert execution.status is S.FILLED
    assert h.sim.order_send_calls == 1  # found at the broker by its tag: never sent twice
    assert len(orders_at_broker(h)) == 1
    assert execution.broker_order_id == str(orders_at_broker(h)[0].ticket)
    assert "RECONCILED" in await event_types(h, execution.execution_id)


async def test_lost_answers_never_make_two_orders_under_load(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(behaviour={"connection_drop_after": [1, 3, 4, 7], "connection_drop_before": [2, 5]})
    results = [await run(h) for _ in range(6)]
    assert all(r.status is S.FILLED for r in results)
    tags = [o.comment for o in orders_at_broker(h)]
    assert sorted(tags) == sorted(r.execution_id for r in results)


# Scenario 2: the broker rejects ------------------------------------------------------------------
@pytest.mark.parametrize("retcode", [10006, 10019, 10014])
async def test_a_broker_rejection_is_final_and_never_retried(harness_factory: HarnessFactory, retcode: int) -> None:
    h = await harness_factory(behaviour={"reject_retcode": retcode})
    execution = await run(h)
    assert execution.status is S.REJECTED
    assert execution.rejection_reason is R.BROKER_REJECTION
    assert str(retcode) in (execution.rejection_details or "")
    assert h.sim.order_send_calls == 1


# Scenario 3, 4, 5, 6 are step 1's checks (test_pre_validation.py); here as the trader meets them.
async def test_backwards_prices_are_caught_before_the_broker(harness: Harness) -> None:
    harness.sim.set_quote("EURUSD", 1.100, 1.095)
    assert (await run(harness)).rejection_reason is R.VALIDATION_FAILED
    assert harness.sim.order_send_calls == 0


async def test_halted_portfolio_is_not_retried(harness: Harness) -> None:
    execution = await run(harness, halted=True, halt_reason="kill switch")
    assert execution.rejection_reason is R.TRADING_HALTED
    assert await event_types(harness, execution.execution_id) == ["RECEIVED", "REJECTED"]


# Scenario 7: order timeout ----------------------------------------------------------------------
async def test_timeout_expires_the_execution_and_leaves_the_order_for_the_trader(
    harness_factory: HarnessFactory,
) -> None:
    h = await harness_factory(behaviour={"pending_fill_after_s": -1}, order_timeout_s=0.05)
    execution = await run(h)
    assert (execution.status, execution.rejection_reason) == (S.EXPIRED, R.ORDER_TIMEOUT)
    assert "EXPIRED" in await event_types(h, execution.execution_id)


# Scenario 8: partial fill, both ways of step 7 ----------------------------------------------------
async def test_partial_fill_accepted_by_default(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(symbols={"EURUSD": {"filling_modes": ["ioc"]}}, behaviour={"fill_ratio": 0.7})
    execution = await run(h, units=100_000)
    assert execution.status is S.PARTIALLY_FILLED
    assert execution.executed_units == Decimal(70_000)
    assert len(orders_at_broker(h)) == 1
    assert "PARTIAL_FILL" in await event_types(h, execution.execution_id)


async def test_partial_fill_completed_with_more_orders_and_vwap(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(
        symbols={"EURUSD": {"filling_modes": ["ioc"]}},
        behaviour={"fill_ratio": 0.5},
        partial_fill_policy=PartialFillPolicy.COMPLETE,
        max_completion_orders=3,
    )
    execution = await run(h, units=100_000)
    # 1.00 lot → 0.50 filled, then 0.50 → 0.25, 0.25 → 0.12 (step 0.01), 0.13 → 0.06: three more orders at most.
    fills = await h.store.fills(execution.execution_id)
    assert [f.lots for f in fills] == [Decimal("0.5"), Decimal("0.25"), Decimal("0.12"), Decimal("0.06")]
    assert execution.executed_units == Decimal(93_000)
    assert execution.status is S.PARTIALLY_FILLED
    assert len(orders_at_broker(h)) == 4
    assert {o.comment for o in orders_at_broker(h)} == {execution.execution_id} | {
        f"{execution.execution_id}/{n}" for n in (2, 3, 4)
    }
    total = sum(f.lots * f.price for f in fills) / sum(f.lots for f in fills)
    assert execution.fill_price == total.quantize(Decimal("0.00000001"))


async def test_partial_fill_completion_reaches_the_full_size(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(
        symbols={"EURUSD": {"filling_modes": ["ioc"], "liquidity_lots": 1000}},
        behaviour={"fill_ratio": 0.6},
        partial_fill_policy=PartialFillPolicy.COMPLETE,
        max_completion_orders=10,
    )
    execution = await run(h, units=50_000)
    assert execution.status is S.FILLED
    assert execution.executed_units == Decimal(50_000)


# Requotes and filling modes ----------------------------------------------------------------------
async def test_a_requote_is_retried_at_the_new_price(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(behaviour={"requote_every": 2})
    first = await run(h)
    second = await run(h)  # its first order_send is the simulator's 2nd: requoted
    assert first.status is S.FILLED and second.status is S.FILLED
    assert second.attempts == 2
    assert "REQUOTE" in await event_types(h, second.execution_id)
    assert len(orders_at_broker(h)) == 2


async def test_endless_requotes_end_in_a_rejection(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(behaviour={"requote_every": 1}, max_requotes=2)
    execution = await run(h)
    assert execution.rejection_reason is R.BROKER_REJECTION
    assert "requoted 3 times" in (execution.rejection_details or "")
    assert orders_at_broker(h) == []


async def test_a_refused_filling_mode_falls_back_to_another_allowed_one(harness_factory: HarnessFactory) -> None:
    # The terminal advertises FOK and IOC, but the trade server only takes IOC: 10030 on FOK.
    h = await harness_factory(symbols={"EURUSD": {"filling_modes": ["ioc"]}})
    real = h.sim.symbol_info

    def advertising_fok_too(symbol: str) -> Any:
        info = real(symbol)
        return info._replace(filling_mode=SYMBOL_FILLING_FOK | SYMBOL_FILLING_IOC) if info else info

    h.sim.symbol_info = advertising_fok_too  # type: ignore[method-assign]
    execution = await run(h)
    assert execution.status is S.FILLED
    assert h.sim.order_send_calls == 2
    (order,) = orders_at_broker(h)
    assert order.type_filling == h.sim.ORDER_FILLING_IOC


async def test_no_filling_mode_accepted_is_a_broker_rejection(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(symbols={"EURUSD": {"filling_modes": ["return"]}})
    real = h.sim.symbol_info
    h.sim.symbol_info = lambda s: i._replace(filling_mode=SYMBOL_FILLING_FOK) if (i := real(s)) else i  # type: ignore[method-assign]
    execution = await run(h)
    assert execution.rejection_reason is R.BROKER_REJECTION
    assert "10030" in (execution.rejection_details or "")
