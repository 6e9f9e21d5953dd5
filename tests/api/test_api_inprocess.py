"""The API in-process (httpx over ASGI) on the real engine, for what the served tests cannot reach cheaply:
both databases, a broker that drops, the OpenAPI document itself."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from app.adapters.broker.connection import ConnectionSupervisor
from app.interfaces.api import control
from app.interfaces.api.app import create_app
from app.store.export import write_csv
from tests.api.polling import eventually_async
from tests.builders import json_text, rpm_payload
from tests.conftest import Harness, HarnessFactory

TOKEN = "in-process-token"


@pytest.fixture
async def client(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(harness.engine, TOKEN))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://engine", headers=headers) as c:
        yield c


async def test_the_full_record_reads_the_same_on_either_database(client: httpx.AsyncClient) -> None:
    confirmation = (await client.post("/execute", json=rpm_payload(units=95_000, intended_price=1.09505))).json()
    record = (await client.get(f"/executions/{confirmation['execution_id']}")).json()
    assert record["status"] == "FILLED"
    assert (record["intended_units"], record["executed_units"], record["lots"]) == (95000, 95000, 0.95)
    assert record["intended_price"] == 1.09505
    assert record["fills"][0]["lots"] == 0.95
    assert record["request"]["timeout_seconds"] == 0.5
    assert record["created_timestamp"].endswith("Z")
    assert [e["event_type"] for e in record["audit_events"]][:2] == ["RECEIVED", "VALIDATED"]


async def test_executions_waiting_on_the_broker_do_not_wait_for_each_other(harness_factory: HarnessFactory) -> None:
    """Ten orders rest at the broker at the same moment: none waits for another's fill to be sent."""
    ahead = [0.0]  # how far the broker's clock runs ahead of the machine's
    harness: Harness = await harness_factory(
        behaviour={"pending_fill_after_s": 3600.0}, order_timeout_s=300.0, clock=lambda: time.time() + ahead[0]
    )
    transport = httpx.ASGITransport(app=create_app(harness.engine, TOKEN))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://engine", headers=headers) as api:
        posts = asyncio.gather(*(api.post("/execute", json=rpm_payload(units=1000)) for _ in range(10)))
        await eventually_async(lambda: harness.sim.orders_total() == 10, within_s=120)  # all ten resting at once
        ahead[0] = 3601.0  # only now does the broker's time reach the orders' fills
        responses = await posts
    assert {r.json()["status"] for r in responses} == {"FILLED"}


async def test_the_streamed_csv_is_what_the_export_writes(harness: Harness, client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await client.post("/execute", json=rpm_payload(units=1000))
    start, end = datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(days=1)
    streamed = await client.get(
        "/audit_trail", params={"start_date": start.isoformat(), "end_date": end.isoformat(), "format": "csv"}
    )
    expected = io.StringIO(newline="")
    with harness.store.db.reader.connect() as conn:
        write_csv(conn, expected, start, end)
    assert streamed.text == expected.getvalue()
    assert len(list(csv.reader(io.StringIO(streamed.text)))) == 4


async def test_health_is_degraded_while_the_terminal_is_disconnected(
    harness: Harness, client: httpx.AsyncClient
) -> None:
    harness.sim.set_connected(False)
    health = (await client.get("/health", headers={"Authorization": ""})).json()
    assert (health["status"], health["broker_connected"], health["database"]) == ("degraded", False, "ok")
    metrics = (await client.get("/metrics")).json()
    assert metrics["broker_connected"] is False
    harness.sim.set_connected(True)
    assert (await client.get("/health")).json()["status"] == "ok"


async def test_health_tells_the_links_story_and_never_waits_on_a_hung_terminal(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = ConnectionSupervisor(harness.broker)
    transport = httpx.ASGITransport(app=create_app(harness.engine, TOKEN, link))
    async with httpx.AsyncClient(transport=transport, base_url="http://engine") as client:
        harness.sim.set_connected(False)
        await link.check_once()
        health = (await client.get("/health")).json()
        assert health["broker_link"]["state"] == "disconnected"
        assert health["broker_link"]["detail"] == "the terminal has lost its trade server"
        assert health["broker_link"]["since"].endswith("Z")
        harness.sim.set_connected(True)

        monkeypatch.setattr(control, "BROKER_CHECK_S", 0.2)
        release = threading.Event()
        monkeypatch.setattr(harness.sim, "terminal_info", lambda: release.wait(300))  # hangs until released
        try:
            # Answered while the terminal still hangs: a wait on it would outlast the test's timeout.
            health = (await client.get("/health")).json()
        finally:
            release.set()
        assert (health["status"], health["broker_connected"]) == ("degraded", False)


async def test_the_openapi_document_is_public_and_names_the_contract_shapes(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json", headers={"Authorization": ""})).json()
    execute = document["paths"]["/execute"]["post"]
    assert execute["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/RPMOutput"}
    assert set(execute["responses"]) >= {"200", "202", "401", "413", "422"}
    schemas = document["components"]["schemas"]
    assert {"RPMOutput", "ExecutionConfirmation", "ExecutionRecord", "FieldErrors", "Health"} <= set(schemas)
    assert "HTTPValidationError" not in schemas  # every 422 answers {"detail": [{"field", "message"}]}
    history_422 = document["paths"]["/history"]["get"]["responses"]["422"]
    assert history_422["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/FieldErrors"}
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


async def test_an_unknown_path_is_a_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


async def test_a_chunked_body_on_a_small_endpoint_is_read_no_further_than_the_limit(
    harness: Harness, client: httpx.AsyncClient
) -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:  # no Content-Length: chunked, as long as the app reads
        nonlocal sent
        yield b'{"reason": "'
        while sent < 50 * 1024 * 1024:
            sent += 16 * 1024
            yield b"x" * 16 * 1024

    response = await client.post("/halt", content=endless(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert sent <= 128 * 1024  # read up to the 64 KiB limit, not the 50 MiB the client had
    assert not harness.engine.halted


def exact(text: str) -> Any:
    """JSON as the desk should read it: every number exactly as written."""
    return json.loads(text, parse_float=Decimal)


async def test_numbers_are_answered_and_recorded_exactly_as_sent(harness: Harness, client: httpx.AsyncClient) -> None:
    units, score = "123456789012.12345678", "0.123456789012345678901234567890"  # past a float's 17 digits
    payload = rpm_payload(units="@units@", confidence_score="@score@")
    answer = await client.post("/execute", content=json_text(payload, units=units, score=score))
    assert answer.status_code == 200, answer.text
    confirmation = exact(answer.text)
    assert (confirmation["status"], confirmation["rejection_reason"]) == ("REJECTED", "INVALID_VOLUME")
    assert confirmation["intended_units"] == Decimal(units)

    record = exact((await client.get(f"/executions/{confirmation['execution_id']}")).text)
    assert {k: record[k] for k in confirmation} == confirmation
    assert (record["intended_units"], record["confidence_score"]) == (Decimal(units), Decimal(score))
    assert record["request"]["rpm_output"]["decision"]["approved_trade"]["position_units"] == Decimal(units)
    [received] = [e for e in record["audit_events"] if e["event_type"] == "RECEIVED"]
    assert received["data"]["units"] == units
    [latest] = exact((await client.get("/history", params={"limit": 1})).text)
    assert latest["intended_units"] == Decimal(units)


async def test_a_number_too_precise_to_record_is_a_422_naming_the_field(
    harness: Harness, client: httpx.AsyncClient
) -> None:
    text = json_text(rpm_payload(units="@units@"), units="95000.000000000000001")  # a float reads 95000
    answer = await client.post("/execute", content=text)
    assert answer.status_code == 422
    [error] = answer.json()["detail"]
    assert error["field"] == "decision.approved_trade.position_units"
    assert "8 decimal places" in error["message"]
    [row] = await harness.store.intake_errors()
    assert row["raw_payload"] == text
    assert harness.sim.order_send_calls == 0
