"""Sizes go out exactly or not at all; pips follow the symbol's digits."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.adapters.broker.types import SymbolSpec, TradeMode
from app.adapters.broker.volume import InvalidVolume, lots_to_units, units_to_lots
from app.domain.contracts import ExecutionStatus, RejectionReason
from app.engine.slippage import SlippageCategory, categorize, slippage_pips
from tests.builders import rpm
from tests.conftest import Harness, HarnessFactory

EPOCH, FAR = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
EURUSD = SymbolSpec(
    "EURUSD", 5, Decimal("0.00001"), Decimal(100000), Decimal("0.01"), Decimal("0.01"), Decimal(100), TradeMode.FULL
)


async def run(h: Harness, **kwargs):  # type: ignore[no-untyped-def]
    parsed, raw = rpm(**kwargs)
    return await h.engine.execute(parsed, raw=raw, channel="test")


@pytest.mark.parametrize(
    ("units", "lots"), [("95000", "0.95"), ("1000", "0.01"), ("10000000", "100"), ("123000", "1.23")]
)
def test_units_convert_to_lots_exactly(units: str, lots: str) -> None:
    assert units_to_lots(Decimal(units), EURUSD) == Decimal(lots)


@pytest.mark.parametrize("units", ["95500", "999", "100000.5", "10001000", "500"])
def test_units_the_symbol_cannot_express_are_refused_not_rounded(units: str) -> None:
    with pytest.raises(InvalidVolume):
        units_to_lots(Decimal(units), EURUSD)


async def test_units_off_the_volume_step_are_rejected_invalid_volume(harness: Harness) -> None:
    execution = await run(harness, units=95_500)
    assert execution.status is ExecutionStatus.REJECTED
    assert execution.rejection_reason is RejectionReason.INVALID_VOLUME
    assert "volume step" in (execution.rejection_details or "")
    assert harness.sim.order_send_calls == 0


@pytest.mark.parametrize("units", [500, 20_000_000])
async def test_units_outside_min_max_are_rejected_invalid_volume(harness: Harness, units: int) -> None:
    execution = await run(harness, units=units)
    assert execution.rejection_reason is RejectionReason.INVALID_VOLUME
    assert harness.sim.order_send_calls == 0


async def test_the_broker_receives_exactly_the_approved_units(harness: Harness) -> None:
    execution = await run(harness, units=95_000)
    assert execution.status is ExecutionStatus.FILLED
    deals = harness.sim.history_deals_get(EPOCH, FAR) or ()
    trades = [d for d in deals if d.type != harness.sim.DEAL_TYPE_BALANCE]  # after the account's deposit
    assert [Decimal(repr(d.volume)) for d in trades] == [Decimal("0.95")]
    assert execution.executed_units == Decimal(95_000)
    assert execution.lots == Decimal("0.95")


async def test_a_coarser_volume_step_is_honoured(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(symbols={"EURUSD": {"volume_step": 0.1, "volume_min": 0.1}})
    assert (await run(h, units=95_000)).rejection_reason is RejectionReason.INVALID_VOLUME
    assert (await run(h, units=90_000)).status is ExecutionStatus.FILLED


def test_pip_is_ten_points_on_five_and_three_digit_quotes() -> None:
    assert EURUSD.pip == Decimal("0.0001")
    jpy = SymbolSpec(
        "USDJPY", 3, Decimal("0.001"), Decimal(100000), Decimal("0.01"), Decimal("0.01"), Decimal(100), TradeMode.FULL
    )
    assert jpy.pip == Decimal("0.01")


def test_slippage_is_signed_against_the_trade() -> None:
    pip = Decimal("0.0001")
    assert slippage_pips(1, Decimal("1.09505"), Decimal("1.09512"), pip) == Decimal("0.7")  # paid more
    assert slippage_pips(-1, Decimal("1.09505"), Decimal("1.09512"), pip) == Decimal("-0.7")  # sold higher
    assert slippage_pips(-1, Decimal("1.09505"), Decimal("1.09450"), pip) == Decimal("5.5")


@pytest.mark.parametrize(
    ("pips", "category"),
    [("0.4", "excellent"), ("1.0", "excellent"), ("2.9", "good"), ("-4.2", "acceptable"), ("5.1", "poor")],
)
def test_slippage_categories_of_the_design_document(pips: str, category: str) -> None:
    assert categorize(Decimal(pips)) is SlippageCategory(category)


async def test_usdjpy_slippage_is_measured_in_jpy_pips(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(
        symbols={"USDJPY": {"bid": 151.500, "ask": 151.510}}, behaviour={"fill_slippage_points": 5}
    )
    execution = await run(h, symbol="USDJPY", units=100_000, intended_price=151.505)
    assert execution.status is ExecutionStatus.FILLED
    assert execution.fill_price == Decimal("151.515")
    assert execution.slippage_pips == Decimal("1.0")  # 0.010 JPY = one pip
    assert execution.spread_pips == Decimal("1.0")


async def test_usdjpy_spread_check_uses_jpy_pips(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(symbols={"USDJPY": {"bid": 151.500, "ask": 151.540}})
    execution = await run(h, symbol="USDJPY")
    assert execution.rejection_reason is RejectionReason.SPREAD_TOO_WIDE
    assert "4.0 pips" in (execution.rejection_details or "")


def test_sizes_never_print_in_exponent_form() -> None:
    assert str(units_to_lots(Decimal(10_000_000), EURUSD)) == "100"
    assert str(lots_to_units(Decimal("1.00"), EURUSD)) == "100000"


async def test_a_partial_fill_says_its_units_plainly(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(symbols={"EURUSD": {"filling_modes": ["ioc"]}}, behaviour={"fill_ratio": 0.5})
    execution = await run(h, units=200_000)
    assert execution.rejection_details == "filled 100000 of 200000 units"
