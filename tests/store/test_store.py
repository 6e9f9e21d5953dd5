"""The store: durable records, exact numbers, an append-only and tamper-evident audit trail."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.adapters.broker.types import Fill
from app.domain.audit import AuditSigner
from app.domain.contracts import ExecutionStatus, FieldError
from app.domain.execution import Execution, new_id, utcnow
from app.store.integrity import IntegrityReport, verify_store
from app.store.repository import DuplicateOrder, ExecutionStore


def verified(store: ExecutionStore) -> IntegrityReport:
    with store.db.reader.connect() as conn:
        return verify_store(conn, store.signer)


def execution(
    rpm_order_id: str | None = None,
    units: str = "95000",
    *,
    symbol: str = "EURUSD",
    direction: int = 1,
    created: datetime | None = None,
) -> tuple[dict[str, object], Execution]:
    now = created or utcnow()
    ex = Execution(
        execution_id=new_id("exec"),
        request_id=new_id("req"),
        rpm_decision_id=rpm_order_id or new_id("rpm"),
        symbol=symbol,
        direction=direction,
        intended_units=Decimal(units),
        status=ExecutionStatus.PENDING,
        decision_status="APPROVED",
        broker="sim",
        execution_engine_version="0.1.0",
        created_timestamp=now,
        last_update_timestamp=now,
        intended_price=Decimal("1.09505"),
    )
    request = {
        "request_id": ex.request_id,
        "rpm_order_id": ex.rpm_decision_id,
        "execution_id": ex.execution_id,
        "received_timestamp": now,
        "channel": "test",
        "source": None,
        "decision_status": "APPROVED",
        "config_hash": "abc",
        "timeout_seconds": Decimal(60),
        "max_slippage_pips": None,
        "rpm_output_raw": "{}",
    }
    return request, ex


async def test_decimals_come_back_exactly(store_factory: Callable[[], ExecutionStore]) -> None:
    store = store_factory()
    request, ex = execution(units="123456789.12")
    ex.fill_price = Decimal("1.23456789")
    await store.create_execution(request, ex, [("RECEIVED", {})])
    back = await store.get(ex.execution_id)
    assert back is not None
    assert back.intended_units == Decimal("123456789.12")
    assert back.fill_price == Decimal("1.23456789")
    assert back.created_timestamp.tzinfo is not None


async def test_numbers_past_a_floats_precision_come_back_exactly(store_factory: Callable[[], ExecutionStore]) -> None:
    # 20 and 22 significant digits, a 30-decimal score: a float on the way would keep 17 (SQLite's REAL text, 15).
    store = store_factory()
    request, ex = execution(units="123456789012.12345678")
    ex.intended_price, ex.risk_per_trade = Decimal("123456789012.0950512345"), Decimal("999999999999.99")
    ex.confidence_score = Decimal("0.123456789012345678901234567890")
    await store.create_execution(request, ex, [("RECEIVED", {})])
    ex.executed_units, ex.fill_price = Decimal("123456789012.12345678"), Decimal("123456789012.0950512345")
    fill = Fill("deal-1", Decimal("1234567.89012123"), Decimal("123456789012.0950512345"), utcnow())
    await store.save(ex, [], [("order-1", fill, Decimal("123456789012.12345678"))])

    back = await store.get(ex.execution_id)
    assert back is not None
    assert (back.intended_units, back.executed_units) == (Decimal("123456789012.12345678"),) * 2
    assert (back.intended_price, back.fill_price) == (Decimal("123456789012.0950512345"),) * 2
    assert (back.confidence_score, back.risk_per_trade) == (
        Decimal("0.123456789012345678901234567890"),
        Decimal("999999999999.99"),
    )
    [stored_fill] = await store.fills(ex.execution_id)
    assert (stored_fill.lots, stored_fill.units, stored_fill.price) == (
        Decimal("1234567.89012123"),
        Decimal("123456789012.12345678"),
        Decimal("123456789012.0950512345"),
    )


@pytest.mark.parametrize(
    ("column", "value"),
    [("risk_per_trade", "1.234"), ("risk_per_trade", "1234567890123.12345678"), ("intended_units", "0.123456789")],
)
async def test_a_number_its_column_cannot_keep_is_refused_never_rounded(
    store_factory: Callable[[], ExecutionStore], column: str, value: str
) -> None:
    store = store_factory()
    request, ex = execution()
    setattr(ex, column, Decimal(value))
    with pytest.raises(ValueError, match=column):
        await store.create_execution(request, ex, [("RECEIVED", {})])
    assert await store.get(ex.execution_id) is None
    # The writer goes on with the next write.
    request, fine = execution()
    await store.create_execution(request, fine, [("RECEIVED", {})])
    assert await store.get(fine.execution_id) is not None


async def test_one_rpm_order_id_makes_one_execution(store_factory: Callable[[], ExecutionStore]) -> None:
    store = store_factory()
    request, first = execution("rpm_dup")
    await store.create_execution(request, first, [("RECEIVED", {})])
    request2, second = execution("rpm_dup")
    with pytest.raises(DuplicateOrder) as caught:
        await store.create_execution(request2, second, [("RECEIVED", {})])
    assert caught.value.existing.execution_id == first.execution_id
    assert len(await store.history(limit=10)) == 1


async def test_concurrent_writes_share_commits_and_a_failure_stays_its_own(
    store_factory: Callable[[], ExecutionStore],
) -> None:
    store = store_factory()
    pairs = [execution(f"rpm_{i % 40}") for i in range(50)]  # ten duplicates among fifty
    results = await asyncio.gather(
        *(store.create_execution(r, e, [("RECEIVED", {"i": i})]) for i, (r, e) in enumerate(pairs)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, DuplicateOrder) for r in results) == 10
    assert len(await store.history(limit=100)) == 40
    assert store.writer.commits < 50  # shared commits, not one per write
    report = verified(store)
    assert report.problems == [] and report.events == 40


async def test_every_invalid_input_is_kept(store_factory: Callable[[], ExecutionStore]) -> None:
    store = store_factory()
    await store.record_intake_error(
        channel="api",
        source="127.0.0.1",
        raw='{"decision": 1}',
        errors=[FieldError(field="decision", message="bad")],
        rpm_order_id=None,
    )
    (row,) = await store.intake_errors()
    assert row["raw_payload"] == '{"decision": 1}' and "decision" in row["errors"]
    assert [e.event_type for e in await store.audit_range(None, None)] == ["INPUT_INVALID"]


async def test_audit_events_cannot_be_updated_or_deleted(store_factory: Callable[[], ExecutionStore]) -> None:
    store = store_factory()
    await store.audit("HALT", {"reason": "test"})
    for statement in ("UPDATE audit_events SET payload = '{}'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), store.db.writer.begin() as conn:
            conn.execute(text(statement))
    assert len(await store.audit_range(None, None)) == 1


async def test_verify_names_the_first_record_edited_behind_the_engines_back(
    store_factory: Callable[[], ExecutionStore],
) -> None:
    store = store_factory()
    for i in range(5):
        await store.audit("NOTE", {"i": i})
    assert verified(store).problems == []
    with store.db.writer.begin() as conn:  # a person with database access, not the engine
        if store.db.backend == "sqlite":
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
        else:
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update"))
        conn.execute(text("UPDATE audit_events SET payload = :p WHERE seq = 3"), {"p": '{"i":99}'})
    problems = verified(store).problems
    assert problems[0].startswith("seq 3:")


async def test_the_chain_continues_across_a_restart(store_factory: Callable[[], ExecutionStore]) -> None:
    first = store_factory()
    await first.audit("NOTE", {"n": 1})
    first.close()
    second = store_factory()
    await second.audit("NOTE", {"n": 2})
    events = await second.audit_range(None, None)
    assert [e.seq for e in events] == [1, 2]
    assert events[1].prev_hash == events[0].hash
    assert verified(second).problems == []


async def test_a_different_key_fails_verification(store_factory: Callable[[], ExecutionStore], db_url: str) -> None:
    store = store_factory()
    await store.audit("NOTE", {})
    other = AuditSigner(b"another-key-0123456789abcdef")
    with store.db.reader.connect() as conn:
        assert "signature" in verify_store(conn, other).problems[0]
    with pytest.raises(ValueError, match=f"fingerprint {store.signer.fingerprint}; the key given"):
        ExecutionStore.open(db_url, b"another-key-0123456789abcdef")  # its events would never verify


async def test_history_is_newest_first_with_filters(store_factory: Callable[[], ExecutionStore]) -> None:
    store = store_factory()
    ids = []
    for _ in range(3):
        request, ex = execution()
        await store.create_execution(request, ex, [])
        ids.append(ex.execution_id)
    assert [e.execution_id for e in await store.history(limit=2)] == ids[::-1][:2]
    assert await store.history(statuses=[ExecutionStatus.FILLED]) == []
    assert len(await store.history(start=datetime(2000, 1, 1, tzinfo=UTC))) == 3


async def test_the_status_counts_are_of_one_symbol_or_all(store_factory: Callable[[], ExecutionStore]) -> None:
    store = store_factory()
    for symbol, status in (("EURUSD", ExecutionStatus.PENDING), ("EURUSD", ExecutionStatus.REJECTED), ("USDJPY", None)):
        request, ex = execution()
        ex.symbol, ex.status = symbol, status or ex.status
        await store.create_execution(request, ex, [])
    assert await store.count_by_status() == {"PENDING": 2, "REJECTED": 1}
    assert await store.count_by_status("eurusd") == {"PENDING": 1, "REJECTED": 1}
    assert await store.count_by_status("GBPUSD") == {}


async def test_what_the_engine_computes_comes_back_exactly(store_factory: Callable[[], ExecutionStore]) -> None:
    # A partial fill on a contract-size-1, 0.001-lot symbol; the mid of two 8-digit prices; a tiny confidence.
    store = store_factory()
    request, ex = execution(units="0.01")
    ex.executed_units, ex.intended_price = Decimal("0.005"), Decimal("0.000012335")
    ex.confidence_score = Decimal("0.7834523")
    await store.create_execution(request, ex, [("RECEIVED", {})])
    back = await store.get(ex.execution_id)
    assert back is not None
    assert (back.executed_units, back.intended_price) == (Decimal("0.005"), Decimal("0.000012335"))
    assert back.confidence_score == Decimal("0.7834523")
