"""Exact numbers end to end: a number in an RPMOutput is recorded exactly as sent (the record, the audit
trail, the confirmation, the export) or refused naming its field, on either database. Nothing is rounded
through a float on the way, nor to fit a column.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError

from app.domain.contracts import ExactDecimal, ExecutionStatus, InvalidRPMOutput, RejectionReason
from app.interfaces.intake.receive import receive
from app.store.export import write_csv
from tests.builders import json_text, rpm_payload
from tests.conftest import Harness

UNITS = "123456789012.12345678"  # 20 digits: a float keeps 17 (123456789012.12346)
SCORE = "0.123456789012345678901234567890"  # a model's score with 30 decimals
PRICE = "123456789012.0950512345"  # 22 digits, 10 decimals: as many as the price columns keep


def exact(text: str) -> Any:
    """JSON as the desk should read it: every number exactly as written."""
    return json.loads(text, parse_float=Decimal)


def approved(**numbers: str) -> str:
    """An approved RPMOutput's text with these fields of its trade written as the literals given."""
    payload = rpm_payload(**{"units" if name == "position_units" else name: f"@{name}@" for name in numbers})
    return json_text(payload, **numbers)


def exported(h: Harness, execution_id: str) -> dict[str, str]:
    out = io.StringIO(newline="")
    with h.store.db.reader.connect() as conn:
        write_csv(conn, out, None, None)
    rows = [row for row in csv.DictReader(io.StringIO(out.getvalue())) if row["execution_id"] == execution_id]
    assert len(rows) == 1
    return rows[0]


async def test_a_size_past_a_floats_precision_is_recorded_exactly_everywhere(harness: Harness) -> None:
    execution = await receive(harness.engine, approved(position_units=UNITS).encode(), channel="t")
    # Not a whole number of EURUSD lot steps: it is refused as sent, not as a float would have it.
    assert (execution.status, execution.rejection_reason) == (ExecutionStatus.REJECTED, RejectionReason.INVALID_VOLUME)
    assert UNITS in (execution.rejection_details or "")

    stored = await harness.store.get(execution.execution_id)
    assert stored is not None and stored.intended_units == Decimal(UNITS)
    assert exact(execution.confirmation().model_dump_json())["intended_units"] == Decimal(UNITS)
    received = [e.data for e in await harness.store.audit_for(execution.execution_id) if e.event_type == "RECEIVED"]
    assert received[0]["units"] == UNITS
    assert Decimal(exported(harness, execution.execution_id)["intended_units"]) == Decimal(UNITS)


async def test_a_models_score_and_a_price_with_many_digits_are_recorded_exactly(harness: Harness) -> None:
    text = approved(confidence_score=SCORE, intended_price=PRICE, risk_per_trade="999999999999.99")
    execution = await receive(harness.engine, text.encode(), channel="t")
    assert execution.rejection_reason is RejectionReason.VALIDATION_FAILED  # that far from the market

    stored = await harness.store.get(execution.execution_id)
    assert stored is not None
    assert (stored.confidence_score, stored.intended_price) == (Decimal(SCORE), Decimal(PRICE))
    assert stored.risk_per_trade == Decimal("999999999999.99")
    assert exact(execution.confirmation().model_dump_json())["intended_price"] == Decimal(PRICE)
    row = exported(harness, execution.execution_id)
    assert (Decimal(row["confidence_score"]), Decimal(row["intended_price"])) == (Decimal(SCORE), Decimal(PRICE))


@pytest.mark.parametrize(
    ("text", "field", "says"),
    [
        # More decimals than the column keeps, hidden past a float's 17 digits: refused, not rounded.
        (approved(position_units="95000.000000000000001"), "decision.approved_trade.position_units", "8 decimal"),
        (approved(risk_per_trade="500.000000000000000001"), "decision.approved_trade.risk_per_trade", "14 digits"),
        (approved(intended_price="1.09505000000000000001"), "decision.approved_trade.intended_price", "10 decimal"),
        (approved(confidence_score="0." + "1" * 31), "decision.approved_trade.confidence_score", "30 decimal"),
        # Too large for any column, or for a float.
        (approved(position_units="1e400"), "decision.approved_trade.position_units", "28 digits"),
        (approved(position_units="9" * 5000), "decision.approved_trade.position_units", "28 digits"),
        (approved(confidence_score="1E+400"), "decision.approved_trade.confidence_score", "40 digits"),
        # NaN and Infinity are no JSON numbers, wherever they are.
        (approved(position_units="NaN"), "decision.approved_trade.position_units", "NaN"),
        (approved(base_units="-Infinity"), "decision.approved_trade.base_units", "-Infinity"),
        (json_text({**rpm_payload(), "risk_metrics": {"var_95": "@var@"}}, var="Infinity"), "risk_metrics.var_95", ""),
        # Nested deeper than its record could be written back.
        (
            json_text({**rpm_payload(), "risk_metrics": {"d": "@deep@"}}, deep="[" * 300 + "]" * 300),
            "body",
            "nested deeper",
        ),
    ],
)
async def test_a_number_that_cannot_be_recorded_exactly_is_refused_naming_its_field(
    harness: Harness, text: str, field: str, says: str
) -> None:
    with pytest.raises(InvalidRPMOutput) as refused:
        await receive(harness.engine, text.encode(), channel="t")
    [error] = refused.value.errors  # one clear line
    assert (error.field, says in error.message) == (field, True), error
    [row] = await harness.store.intake_errors()
    assert row["raw_payload"] == text  # the payload is recorded as it came
    assert field in row["errors"]
    assert row["rpm_order_id"] and f'"{row["rpm_order_id"]}"' in text  # and under its order_id
    assert harness.sim.order_send_calls == 0


async def test_numbers_written_another_way_are_the_same_numbers(harness: Harness) -> None:
    text = approved(position_units="1E+5", confidence_score="7.8e-1", risk_per_trade="-0")
    execution = await receive(harness.engine, text.encode(), channel="t")
    assert execution.status is ExecutionStatus.FILLED
    stored = await harness.store.get(execution.execution_id)
    assert stored is not None
    assert (stored.intended_units, stored.executed_units) == (Decimal(100000), Decimal(100000))
    assert stored.confidence_score == Decimal("0.78")
    # A negative zero is zero: the same on both databases (PostgreSQL's NUMERIC has no signed zero).
    assert stored.risk_per_trade == 0 and not stored.risk_per_trade.is_signed()
    assert exact(execution.confirmation().model_dump_json())["intended_units"] == 100000


def test_a_model_written_by_pydantic_alone_never_rounds_a_number() -> None:
    # Answers with a model that is no ExactJSON (FastAPI's own): a float where it is the very number.
    class Position(BaseModel):
        units: ExactDecimal

    assert Position(units=Decimal("95000.25")).model_dump(mode="json") == {"units": 95000.25}
    with pytest.raises(PydanticSerializationError, match="more digits than a float keeps"):
        Position(units=Decimal(UNITS)).model_dump_json()
