"""The compliance CSV: every cell comes back verbatim, whatever the RPM put in its free-text fields."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select, update

from app.domain.contracts import ExecutionStatus
from app.interfaces.intake.receive import receive
from app.store.export import FREE_TEXT, HEADER, export_query, iter_rows, write_csv
from app.store.repository import ExecutionStore
from app.store.seed import seed_store
from app.store.tables import execution_logs
from tests.builders import rpm_payload
from tests.conftest import HarnessFactory

HOSTILE = 'a,b "c" ""'


def _hostile_payload(*, halted: bool) -> bytes:
    payload = rpm_payload(units=1000, order_id=f'rpm,{halted}"x"', regime=HOSTILE, halted=halted, halt_reason=HOSTILE)
    payload.update(config_hash=HOSTILE, rpm_version=HOSTILE, model_version=HOSTILE)
    return json.dumps(payload).encode()


async def test_commas_and_quotes_in_every_free_text_field_come_back_verbatim(harness_factory: HarnessFactory) -> None:
    harness = await harness_factory()
    filled = await receive(harness.engine, _hostile_payload(halted=False), channel="inbox", source="in/a,b.json")
    rejected = await receive(harness.engine, _hostile_payload(halted=True), channel="inbox", source='in/"q".json')
    out = io.StringIO(newline="")
    with harness.store.db.reader.connect() as conn:
        assert write_csv(conn, out, None, None) == 2
    header, *rows = csv.reader(io.StringIO(out.getvalue()))
    assert header == HEADER
    by_id = {row[0]: dict(zip(HEADER, row, strict=True)) for row in rows}
    first, second = by_id[filled.execution_id], by_id[rejected.execution_id]
    assert (first["status"], second["status"]) == ("FILLED", "REJECTED")
    assert (first["rpm_order_id"], second["rpm_order_id"]) == ('rpm,False"x"', 'rpm,True"x"')
    assert (first["source"], second["source"]) == ("in/a,b.json", 'in/"q".json')
    for row in (first, second):
        assert [row[name] for name in ("regime", "config_hash", "rpm_version", "model_version")] == [HOSTILE] * 4
        assert row["created_timestamp"].endswith("Z") and "T" in row["created_timestamp"]
    assert (Decimal(first["executed_units"]), Decimal(second["executed_units"])) == (1000, 0)
    assert second["rejection_details"] == f"RPM halted trading: {HOSTILE}"
    assert second["fill_timestamp"] == "" and second["order_id"] == ""


def _csv_module(conn: Connection, *filters: Any, **named: Any) -> str:
    """The reference export: iter_rows through the csv module."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(iter_rows(conn, export_query(*filters, **named)))
    return out.getvalue()


async def test_the_backends_own_export_writes_what_the_csv_module_writes(harness_factory: HarnessFactory) -> None:
    # SQLite builds the lines itself, PostgreSQL writes them with COPY: the csv module's, byte for byte.
    harness = await harness_factory()
    filled = await receive(harness.engine, _hostile_payload(halted=False), channel="api")
    await receive(harness.engine, _hostile_payload(halted=True), channel="inbox", source="in/x\ny.json")
    yen = await receive(harness.engine, json.dumps(rpm_payload(units=3000, symbol="USDJPY")).encode(), channel="api")
    with harness.store.db.write_transaction() as conn:
        # Milliseconds truncated, never rounded up; an empty text is an empty cell, as NULL is.
        conn.execute(
            update(execution_logs)
            .where(execution_logs.c.execution_id == yen.execution_id)
            .values(
                submission_timestamp=datetime(2025, 6, 30, 23, 59, 59, 999999, tzinfo=UTC),
                fill_timestamp=datetime(2025, 7, 1, 0, 0, 0, 500, tzinfo=UTC),
                regime="",
                model_version="modèle №2",
                rpm_version=None,
            )
        )
    now = datetime.now(UTC)
    window = (now - timedelta(hours=1), now + timedelta(hours=1))
    with harness.store.db.reader.connect() as conn:
        fast, filtered = io.StringIO(newline=""), io.StringIO(newline="")
        assert write_csv(conn, fast, None, None) == 3
        assert write_csv(conn, filtered, *window, symbol="usdjpy", statuses=[ExecutionStatus.FILLED]) == 1
        assert fast.getvalue() == _csv_module(conn, None, None)
        assert filtered.getvalue() == _csv_module(conn, *window, "USDJPY", [ExecutionStatus.FILLED])
    rows = {row[0]: dict(zip(HEADER, row, strict=True)) for row in csv.reader(io.StringIO(fast.getvalue()))}
    yen_row, filled_row = rows[yen.execution_id], rows[filled.execution_id]
    assert (yen_row["submission_timestamp"], yen_row["fill_timestamp"]) == (
        "2025-06-30T23:59:59.999Z",
        "2025-07-01T00:00:00.000Z",
    )
    assert (yen_row["regime"], yen_row["model_version"], yen_row["rpm_version"]) == ("", "modèle №2", "")
    assert ',"",' not in fast.getvalue()  # the empty regime: nothing, as csv.writer writes it
    assert Decimal(filled_row["fill_price"]) > 0 and filled_row["order_id"] != ""
    assert '"in/x\ny.json"' in fast.getvalue()
    assert set(HEADER) >= FREE_TEXT


def test_a_cancelled_export_stops_at_the_chunk_and_leaves_the_connection_usable(
    store_factory: Callable[[], ExecutionStore],
) -> None:
    store = store_factory()
    seed_store(store.db, store.signer, 2_000)  # 670 kB of CSV: cancelled well inside PostgreSQL's COPY stream
    calls: list[int] = []

    def cancel_at_once(rows: int) -> bool:
        calls.append(rows)
        return False

    with store.db.reader.connect() as conn:
        cancelled = io.StringIO(newline="")
        assert write_csv(conn, cancelled, None, None, progress=cancel_at_once, progress_every=100) == 100
        assert calls == [100, 100]  # at the chunk, then the final count, as on every path
        assert len(cancelled.getvalue().splitlines()) == 101
        # The same connection (and its transaction) carries on: the whole export, then a query.
        whole = io.StringIO(newline="")
        assert write_csv(conn, whole, None, None, progress=lambda rows: True, progress_every=100) == 2_000
        assert whole.getvalue().startswith(cancelled.getvalue())
        assert conn.execute(select(func.count()).select_from(execution_logs)).scalar_one() == 2_000


async def test_a_lone_carriage_return_in_free_text_is_quoted_and_reads_back(harness_factory: HarnessFactory) -> None:
    # Python 3.11's csv.writer would leave it bare, which its own reader cannot read back.
    harness = await harness_factory()
    payload = rpm_payload(units=1000, regime="trend\rup")
    execution = await receive(harness.engine, json.dumps(payload).encode(), channel="api")
    out = io.StringIO(newline="")
    with harness.store.db.reader.connect() as conn:
        write_csv(conn, out, None, None)
    assert '"trend\rup"' in out.getvalue()
    header, row = csv.reader(io.StringIO(out.getvalue(), newline=""))
    assert dict(zip(header, row, strict=True))["regime"] == "trend\rup"
    assert row[0] == execution.execution_id
