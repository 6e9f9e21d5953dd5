"""The compliance CSV: every cell comes back verbatim, whatever the RPM put in its free-text fields."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest

from app.export import FREE_TEXT, HEADER, export_query, iter_rows, write_csv
from app.intake.receive import receive
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


async def test_the_sqlite_export_writes_what_the_csv_module_writes(harness_factory: HarnessFactory) -> None:
    # SQLite builds the lines itself (the fast path); they must be the csv module's, byte for byte.
    harness = await harness_factory()
    if harness.store.db.backend != "sqlite":
        pytest.skip("SQLite's own path; PostgreSQL's export is the csv module's")
    await receive(harness.engine, _hostile_payload(halted=False), channel="api")
    await receive(harness.engine, _hostile_payload(halted=True), channel="inbox", source="in/x\ny.json")
    await receive(harness.engine, json.dumps(rpm_payload(units=2500, symbol="USDJPY")).encode(), channel="api")
    fast, by_module = io.StringIO(newline=""), io.StringIO(newline="")
    with harness.store.db.reader.connect() as conn:
        write_csv(conn, fast, None, None)
        writer = csv.writer(by_module, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(iter_rows(conn, export_query(None, None)))
    assert fast.getvalue() == by_module.getvalue()
    assert '"in/x\ny.json"' in fast.getvalue()
    assert set(HEADER) >= FREE_TEXT
