"""Hostile, malformed, truncated, wrongly typed and huge RPMOutputs: no crash, a field named, a record kept.

Hypothesis throws them at the one intake door (app.interfaces.intake.receive) of a real engine and store.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.contracts import ExecutionStatus, InvalidRPMOutput
from app.interfaces.intake.receive import receive
from tests.builders import rpm_payload
from tests.conftest import Harness

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
HOSTILE_TEXT = st.sampled_from(
    ["\x00", "'; DROP TABLE execution_logs; --", "\u202e", "𝔈𝔘ℜ𝔘𝔖𝔇", "%s%n", "x" * 5000, "\x1b[2J"]
)


def paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield (*prefix, k)
            yield from paths(v, (*prefix, k))


def mutate(payload: dict[str, Any], path: tuple[Any, ...], value: Any, delete: bool) -> dict[str, Any]:
    doc = json.loads(json.dumps(payload))
    node = doc
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


VALID = rpm_payload(order_id="template")


def rejected_with_symbol(symbol: Any) -> dict[str, Any]:
    payload = rpm_payload(status="REJECTED")
    payload["decision"]["rejected_trade"]["symbol"] = symbol
    return payload


PATHS = list(paths(VALID))


@st.composite
def bad_payloads(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "mutate", "truncate", "huge", "deep"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "json":
        return json.dumps(draw(JSON)).encode()
    if kind == "truncate":
        text = json.dumps(VALID)
        return text[: draw(st.integers(0, len(text) - 1))].encode()
    if kind == "huge":
        return json.dumps({**VALID, "padding": "x" * (1024 * 1024)}).encode()
    if kind == "deep":
        depth = draw(st.integers(200, 5000))
        return ("[" * depth + "]" * depth).encode()
    path = draw(st.sampled_from(PATHS))
    value = draw(JSON | HOSTILE_TEXT)
    doc = mutate(VALID, path, value, delete=draw(st.booleans()))
    if isinstance(doc.get("decision"), dict) and path != ("decision", "order_id"):
        doc["decision"]["order_id"] = draw(st.uuids()).hex  # a fresh key, so no example replays another
    return json.dumps(doc).encode()


async def intake_error_count(h: Harness) -> int:
    return len(await h.store.intake_errors(limit=100_000))


async def test_bad_input_is_named_recorded_and_harmless(harness: Harness) -> None:
    loop_results: list[str] = []

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(payload=bad_payloads())
    def one(payload: bytes) -> None:
        loop_results.append(asyncio.run_coroutine_threadsafe(check(payload), loop).result(timeout=30))

    async def check(payload: bytes) -> str:
        before = await intake_error_count(harness)
        try:
            execution = await receive(harness.engine, payload, channel="fuzz")
        except InvalidRPMOutput as exc:
            assert exc.errors and all(e.field and e.message for e in exc.errors)
            assert await intake_error_count(harness) == before + 1
            return "refused"
        # A mutation that happened to stay valid was executed (or rejected by a check) and recorded.
        assert await harness.store.get(execution.execution_id) is not None
        return execution.status.value

    loop = asyncio.get_running_loop()
    await asyncio.to_thread(one)
    assert "refused" in loop_results
    assert len(await harness.store.audit_range(None, None, limit=100_000)) >= loop_results.count("refused")
    # Still healthy: a good RPMOutput goes through.
    fine = await receive(harness.engine, json.dumps(rpm_payload()).encode(), channel="fuzz")
    assert fine.status is ExecutionStatus.FILLED


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"", "body"),
        (b"\xff\xfe{", "body"),
        (b"[]", "body"),
        (json.dumps({**VALID, "portfolio_state": {"trading_halted": "no"}}).encode(), "portfolio_state.trading_halted"),
        (json.dumps(mutate(VALID, ("decision", "approved_trade", "position_units"), "95000", False)).encode(), None),
        (
            json.dumps(mutate(VALID, ("decision", "approved_trade", "position_units"), 1e400, False)).encode(),
            "decision.approved_trade.position_units",
        ),
        (json.dumps(mutate(VALID, ("decision", "order_id"), "a\x00b", False)).encode(), "decision.order_id"),
        (json.dumps({**VALID, "padding": "x" * (1024 * 1024)}).encode(), "body"),
        # What the store keeps in bounded NUMERICs must fit as sent: refused, never rounded or overflowing.
        (json.dumps(rpm_payload(units="95000.123456789")).encode(), "decision.approved_trade.position_units"),
        (json.dumps(rpm_payload(risk_per_trade=1e15)).encode(), "decision.approved_trade.risk_per_trade"),
        (json.dumps(rpm_payload(risk_per_trade="500.125")).encode(), "decision.approved_trade.risk_per_trade"),
        (json.dumps(rpm_payload(intended_price=1e15)).encode(), "decision.approved_trade.intended_price"),
        (json.dumps(rpm_payload(confidence_score=float("inf"))).encode(), "decision.approved_trade.confidence_score"),
        # A rejected decision's symbol goes in the record's symbol column: a symbol or nothing.
        *[
            (json.dumps(rejected_with_symbol(symbol)).encode(), "decision.rejected_trade.symbol")
            for symbol in ('EUR,"USD"', {"a": 1}, "X" * 40, "EUR\x00USD")
        ],
    ],
)
async def test_the_error_names_the_field(harness: Harness, payload: bytes, field: str | None) -> None:
    if field is None:  # a number sent as a string is still an exact number: accepted
        assert (await receive(harness.engine, payload, channel="t")).status is ExecutionStatus.FILLED
        return
    with pytest.raises(InvalidRPMOutput) as caught:
        await receive(harness.engine, payload, channel="t")
    assert field in [e.field for e in caught.value.errors], caught.value.errors
    (row,) = await harness.store.intake_errors()
    assert field in row["errors"]


async def test_a_models_confidence_and_the_risk_are_kept_exactly_as_sent(harness: Harness) -> None:
    payload = rpm_payload(confidence_score=0.7834523, risk_per_trade="1234567.89", units="95000.50")
    execution = await receive(harness.engine, json.dumps(payload).encode(), channel="t")
    stored = await harness.store.get(execution.execution_id)
    assert stored is not None
    assert (stored.confidence_score, stored.risk_per_trade) == (Decimal("0.7834523"), Decimal("1234567.89"))
    assert stored.intended_units == Decimal("95000.50")


async def test_a_rejected_decision_is_recorded_under_its_symbol(harness: Harness) -> None:
    execution = await receive(harness.engine, json.dumps(rejected_with_symbol("gbpusd")).encode(), channel="t")
    assert (execution.status, execution.symbol) == (ExecutionStatus.REJECTED, "GBPUSD")
