"""GET /reconciliation, and a position mismatch as monitoring sees it: /health, /metrics, Prometheus."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.interfaces.api.app import create_app
from tests.api.served import Served
from tests.builders import rpm_payload
from tests.conftest import Harness
from tests.trades import MANUAL, trade_at_the_broker

TOKEN = "in-process-token"


@pytest.fixture
async def client(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(harness.engine, TOKEN))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://engine", headers=headers) as c:
        yield c


async def test_the_reconciliation_answers_per_symbol_with_foreign_positions_apart(
    harness: Harness, client: httpx.AsyncClient
) -> None:
    await client.post("/execute", json=rpm_payload(units=95_000))
    foreign = trade_at_the_broker(harness.sim, magic=MANUAL, comment="", lots=0.25, direction=-1)

    answer = await client.get("/reconciliation")

    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok" and body["checked_at"].endswith("Z")
    assert body["symbols"] == [
        {"symbol": "EURUSD", "recorded_units": 95000, "broker_units": 95000, "difference": 0, "state": "match"}
    ]
    (position,) = body["foreign_positions"]
    assert (position["ticket"], position["magic"], position["direction"]) == (str(foreign.order), MANUAL, -1)
    assert (position["lots"], position["units"]) == (0.25, -25000)
    assert body["unattributed_deals"] == []


async def test_a_mismatch_shows_in_the_reconciliation_health_and_metrics_until_it_clears(
    harness: Harness, client: httpx.AsyncClient
) -> None:
    await client.post("/execute", json=rpm_payload(units=100_000))
    stray = trade_at_the_broker(harness.sim, magic=harness.broker.magic, comment="hedge by hand", lots=0.5)

    body = (await client.get("/reconciliation")).json()
    assert body["status"] == "mismatch"
    assert body["symbols"] == [
        {
            "symbol": "EURUSD",
            "recorded_units": 100000,
            "broker_units": 150000,
            "difference": 50000,
            "state": "mismatch",
        }
    ]
    assert [d["deal"] for d in body["unattributed_deals"]] == [str(stray.deal)]

    health = (await client.get("/health", headers={"Authorization": ""})).json()
    assert (health["status"], health["positions"], health["broker_connected"]) == ("degraded", "mismatch", True)
    alerts = (await client.get("/metrics")).json()["active_alerts"]
    (mismatch,) = [a for a in alerts if a["rule"] == "POSITION_MISMATCH"]
    assert mismatch["severity"] == "critical"
    assert "EURUSD: recorded 100000 units, broker 150000 units" in mismatch["message"]
    prometheus = (await client.get("/metrics", params={"format": "prometheus"})).text
    assert 'execution_alert_firing{rule="POSITION_MISMATCH"} 1.0' in prometheus

    trade_at_the_broker(harness.sim, magic=MANUAL, comment="close", lots=0.5, direction=-1, position=stray.order)
    assert (await client.get("/reconciliation")).json()["status"] == "ok"
    assert (await client.get("/health")).json()["status"] == "ok"
    assert "POSITION_MISMATCH" not in {a["rule"] for a in (await client.get("/metrics")).json()["active_alerts"]}
    assert "execution_alert_firing{" not in (await client.get("/metrics", params={"format": "prometheus"})).text


async def test_an_unreachable_broker_is_a_503_naming_why(harness: Harness, client: httpx.AsyncClient) -> None:
    harness.sim.set_connected(False)
    answer = await client.get("/reconciliation")
    assert answer.status_code == 503
    assert "cannot be reached" in answer.json()["detail"]


def test_the_served_engine_checks_its_positions_at_start_up(served: Served, api: httpx.Client) -> None:
    assert httpx.get(f"{served.url}/health").json()["positions"] == "ok"  # before anyone asked
    assert httpx.get(f"{served.url}/reconciliation").status_code == 401
    assert api.get("/reconciliation").json()["status"] == "ok"
