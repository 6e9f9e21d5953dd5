"""POST /execute as upstream uses it: final answers, 202 without waiting, idempotency, refusals on record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from tests.api.polling import eventually
from tests.api.served import Served
from tests.builders import CONFIRMATION_FIELDS, rpm_payload


def small(**kwargs: Any) -> dict[str, Any]:
    """A trade small enough that hundreds fit the simulated account's margin."""
    return rpm_payload(units=1000, **kwargs)


def invalid_input_events(api: httpx.Client) -> list[dict[str, Any]]:
    trail = api.get("/audit_trail", params={"start_date": "2000-01-01", "end_date": "2100-01-01"}).json()
    return [e for e in trail["events"] if e["event_type"] == "INPUT_INVALID"]


def test_execute_answers_the_final_confirmation(api: httpx.Client) -> None:
    payload = small(order_id="api_final_1")
    response = api.post("/execute", json=payload)
    assert response.status_code == 200
    confirmation = response.json()
    assert set(confirmation) == CONFIRMATION_FIELDS
    assert confirmation["status"] == "FILLED"
    assert confirmation["rpm_order_id"] == "api_final_1"
    assert confirmation["executed_units"] == confirmation["intended_units"] == 1000
    assert confirmation["order_id"] is not None
    assert confirmation["timestamp"].endswith("Z")


def test_execute_without_waiting_answers_202_with_the_pending_confirmation(api: httpx.Client) -> None:
    response = api.post("/execute", params={"wait": "false"}, json=small(order_id="api_nowait_1"))
    assert response.status_code == 202
    pending = response.json()
    assert pending["status"] == "PENDING"

    def final() -> dict[str, Any] | None:
        record: dict[str, Any] = api.get(f"/executions/{pending['execution_id']}").json()
        return record if record["status"] == "FILLED" else None

    assert eventually(final)["executed_units"] == 1000


def test_the_same_order_id_again_returns_the_first_execution_and_sends_nothing(
    served: Served, api: httpx.Client
) -> None:
    payload = small(order_id="api_replay_1")
    first = api.post("/execute", json=payload)
    again = api.post("/execute", json=payload)
    no_wait = api.post("/execute", params={"wait": "false"}, json=payload)
    assert first.status_code == again.status_code == no_wait.status_code == 200
    assert first.json() == again.json() == no_wait.json()
    execution_id = first.json()["execution_id"]
    assert len([o for o in served.sim_orders() if o["comment"] == execution_id]) == 1


def test_an_invalid_rpm_output_is_refused_naming_each_bad_field_and_recorded(api: httpx.Client) -> None:
    payload = small(order_id="api_bad_fields_1")
    payload["decision"]["approved_trade"]["direction"] = 2
    payload["decision"]["approved_trade"]["position_units"] = -5
    del payload["portfolio_state"]["trading_halted"]
    response = api.post("/execute", json=payload)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["detail"]}
    assert fields == {
        "decision.approved_trade.direction",
        "decision.approved_trade.position_units",
        "portfolio_state.trading_halted",
    }
    assert all(e["message"] for e in response.json()["detail"])
    recorded = [e for e in invalid_input_events(api) if e["data"]["rpm_order_id"] == "api_bad_fields_1"]
    assert len(recorded) == 1
    assert recorded[0]["data"]["channel"] == "api"
    assert {e["field"] for e in recorded[0]["data"]["errors"]} == fields
    history = api.get("/history", params={"limit": 1000}).json()
    assert "api_bad_fields_1" not in {c["rpm_order_id"] for c in history}  # nothing was executed


def test_a_body_that_is_not_json_is_refused_as_the_body(api: httpx.Client) -> None:
    response = api.post("/execute", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["field"] == "body"
    assert "JSON" in error["message"]


def test_a_body_over_one_mib_is_refused_with_413_and_recorded(api: httpx.Client) -> None:
    payload = small(order_id="api_too_big_1")
    payload["padding"] = "x" * (1024 * 1024)
    body = json.dumps(payload).encode()
    response = api.post("/execute", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    [error] = response.json()["detail"]
    assert error["field"] == "body"
    assert str(len(body)) in error["message"]
    recorded = [e for e in invalid_input_events(api) if str(len(body)) in e["data"]["errors"][0]["message"]]
    assert len(recorded) == 1
    assert recorded[0]["data"]["raw_bytes"] == 1024 * 1024  # the first MiB is kept


def test_a_large_body_on_a_small_endpoint_is_refused_before_it_is_read(api: httpx.Client) -> None:
    response = api.post("/halt", json={"reason": "x" * 100_000})
    assert response.status_code == 413
    assert api.get("/health").json()["trading_halted"] is False


def test_a_small_chunked_body_is_taken(api: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"reason": "chunked '
        yield b'halt"}'

    assert api.post("/halt", content=chunks(), headers={"Content-Type": "application/json"}).status_code == 200
    assert api.get("/health").json()["trading_halted"] is True
    assert api.post("/resume").status_code == 200
