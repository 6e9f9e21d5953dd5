"""Step 1: every check of the gatekeeper rejects with its reason, and nothing reaches the broker."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.domain.contracts import ExecutionStatus, RejectionReason
from tests.builders import rpm
from tests.conftest import Harness, HarnessFactory

R = RejectionReason
EPOCH, FAR = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def broker_orders(h: Harness) -> int:
    return len(h.sim.orders_get() or ()) + len(h.sim.history_orders_get(EPOCH, FAR) or ())


async def run(h: Harness, **kwargs):  # type: ignore[no-untyped-def]
    parsed, raw = rpm(**kwargs)
    return await h.engine.execute(parsed, raw=raw, channel="test")


async def assert_rejected(h: Harness, reason: RejectionReason, **kwargs) -> str:  # type: ignore[no-untyped-def]
    execution = await run(h, **kwargs)
    assert execution.status is ExecutionStatus.REJECTED
    assert execution.rejection_reason is reason, execution.rejection_details
    assert broker_orders(h) == 0
    assert h.sim.order_send_calls == 0
    stored = await h.store.get(execution.execution_id)
    assert stored is not None and stored.status is ExecutionStatus.REJECTED and stored.rejection_reason is reason
    assert execution.rejection_details
    return execution.rejection_details


async def test_rpm_halt_rejects_with_its_reason(harness: Harness) -> None:
    details = await assert_rejected(harness, R.TRADING_HALTED, halted=True, halt_reason="daily loss limit")
    assert "daily loss limit" in details


async def test_console_kill_switch_rejects(harness: Harness) -> None:
    await harness.engine.halt("news event", by="test")
    details = await assert_rejected(harness, R.TRADING_HALTED)
    assert "news event" in details
    await harness.engine.resume(by="test")
    assert (await run(harness)).status is ExecutionStatus.FILLED


async def test_market_closed(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(symbols={"EURUSD": {"market_open": False}})
    await assert_rejected(h, R.MARKET_CLOSED)


async def test_unknown_symbol_is_not_tradable(harness: Harness) -> None:
    details = await assert_rejected(harness, R.SYMBOL_NOT_TRADABLE, symbol="XAUEUR")
    assert "XAUEUR" in details


@pytest.mark.parametrize(("mode", "direction"), [("disabled", 1), ("closeonly", 1), ("longonly", -1), ("shortonly", 1)])
async def test_trade_mode_forbids_the_side(harness_factory: HarnessFactory, mode: str, direction: int) -> None:
    h = await harness_factory(symbols={"EURUSD": {"trade_mode": mode}})
    await assert_rejected(h, R.SYMBOL_NOT_TRADABLE, direction=direction)


async def test_trade_mode_longonly_still_allows_a_long(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(symbols={"EURUSD": {"trade_mode": "longonly"}})
    assert (await run(h, direction=1)).status is ExecutionStatus.FILLED


async def test_stale_quote_is_no_market_data(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(symbols={"EURUSD": {"tick_age_s": 120.0}})
    details = await assert_rejected(h, R.MARKET_DATA_UNAVAILABLE)
    assert "old" in details


async def test_crossed_market_fails_the_sanity_check(harness: Harness) -> None:
    harness.sim.set_quote("EURUSD", 1.10000, 1.09500)
    details = await assert_rejected(harness, R.VALIDATION_FAILED)
    assert "crossed" in details


async def test_intended_price_far_from_market_fails_the_sanity_check(harness: Harness) -> None:
    details = await assert_rejected(harness, R.VALIDATION_FAILED, intended_price=1.25)
    assert "intended price" in details


async def test_wide_spread(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(symbols={"EURUSD": {"bid": 1.09500, "ask": 1.09560}})
    details = await assert_rejected(h, R.SPREAD_TOO_WIDE)
    assert "6.0 pips" in details


async def test_spread_limit_is_configurable(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(symbols={"EURUSD": {"bid": 1.09500, "ask": 1.09560}}, max_spread_pips=Decimal(8))
    assert (await run(h)).status is ExecutionStatus.FILLED


async def test_margin_with_cushion(harness_factory: HarnessFactory) -> None:
    # 100,000 EURUSD at 1.0951 on 30:1 needs 3,650.33; 4,000 free is enough bare but not with a 20% cushion.
    h = await harness_factory(account={"balance": 4000.0, "leverage": 30})
    details = await assert_rejected(h, R.MARGIN_INSUFFICIENT)
    assert "cushion" in details


async def test_margin_without_cushion_passes(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(account={"balance": 4000.0, "leverage": 30}, margin_cushion=Decimal(0))
    assert (await run(h)).status is ExecutionStatus.FILLED


async def test_liquidity_at_the_touch(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(symbols={"EURUSD": {"liquidity_lots": 0.5}})
    details = await assert_rejected(h, R.LIQUIDITY_INSUFFICIENT)
    assert "0.5" in details


async def test_disconnected_terminal_sends_nothing(harness: Harness) -> None:
    harness.sim.set_connected(False)
    await assert_rejected(harness, R.MARKET_DATA_UNAVAILABLE)


async def test_checks_run_in_the_design_documents_order(harness_factory: HarnessFactory) -> None:
    # Halted AND closed AND wide spread: the halt is what the trader must read first.
    h = await harness_factory(symbols={"EURUSD": {"market_open": False, "bid": 1.0, "ask": 1.1}})
    await assert_rejected(h, R.TRADING_HALTED, halted=True)
