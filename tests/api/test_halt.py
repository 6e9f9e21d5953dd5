"""The kill switch over the API: while halted every execution is REJECTED TRADING_HALTED, and both
switches are in the audit trail with the reason."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.builders import rpm_payload


@pytest.fixture
def halted(api: httpx.Client) -> Iterator[httpx.Response]:
    response = api.post("/halt", json={"reason": "news event: NFP"})
    yield response
    api.post("/resume")  # the served engine is shared: never leave it halted


def test_halt_rejects_every_execution_until_resume(api: httpx.Client, halted: httpx.Response) -> None:
    assert halted.status_code == 200
    assert halted.json() == {"trading_halted": True, "halt_reason": "news event: NFP"}
    assert api.get("/health").json()["trading_halted"] is True

    during = api.post("/execute", json=rpm_payload(units=1000, order_id="api_halt_during")).json()
    assert (during["status"], during["rejection_reason"]) == ("REJECTED", "TRADING_HALTED")
    assert during["order_id"] is None  # nothing went to the broker

    resumed = api.post("/resume")
    assert resumed.json() == {"trading_halted": False, "halt_reason": None}
    after = api.post("/execute", json=rpm_payload(units=1000, order_id="api_halt_after")).json()
    assert after["status"] == "FILLED"

    trail = api.get("/audit_trail", params={"start_date": "2000-01-01", "end_date": "2100-01-01"}).json()
    switches = [e for e in trail["events"] if e["event_type"] in ("HALT", "RESUME")][-2:]
    assert [(e["event_type"], e["data"]["by"]) for e in switches] == [("HALT", "api"), ("RESUME", "api")]
    assert switches[0]["data"]["reason"] == "news event: NFP"
    assert switches[1]["data"]["previous_reason"] == "news event: NFP"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"reason"}),
        ({"reason": ""}, {"reason"}),
        ({"reason": "   "}, {"reason"}),
        ({"why": "x"}, {"reason", "why"}),
    ],
)
def test_a_halt_needs_a_reason(api: httpx.Client, body: dict[str, str], fields: set[str]) -> None:
    response = api.post("/halt", json=body)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["detail"]} == fields
    assert api.get("/health").json()["trading_halted"] is False


def test_health_says_the_rpm_is_halting_until_its_next_decision_says_otherwise(api: httpx.Client) -> None:
    before = api.get("/health").json()
    assert before["rpm_halt"] is None

    during = api.post(
        "/execute", json=rpm_payload(units=1000, order_id="api_rpm_halt", halted=True, halt_reason="drawdown 8%")
    ).json()
    assert (during["status"], during["rejection_reason"]) == ("REJECTED", "TRADING_HALTED")
    health = api.get("/health").json()
    assert health["rpm_halt"] == {"reason": "drawdown 8%", "since": health["rpm_halt"]["since"]}
    assert health["rpm_halt"]["since"] <= during["timestamp"]
    assert health["trading_halted"] is False  # the console's own switch is not engaged

    after = api.post("/execute", json=rpm_payload(units=1000, order_id="api_rpm_halt_lifted")).json()
    assert after["status"] == "FILLED"
    assert api.get("/health").json()["rpm_halt"] is None
