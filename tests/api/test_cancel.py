"""POST /executions/{id}/cancel: the trader's approved cancellation of an order resting at the broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.polling import eventually
from tests.api.served import SCENARIOS, Served
from tests.builders import rpm_payload


@pytest.fixture(scope="module")
def resting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """An engine whose broker accepts market orders and never fills them."""
    data_dir: Path = tmp_path_factory.mktemp("resting")
    served = Served.start(data_dir, "--sim-scenario", str(SCENARIOS / "never_fills.toml"), "--order-timeout", "30")
    yield served
    served.stop()


def submitted(api: httpx.Client) -> dict[str, Any]:
    pending = api.post("/execute", params={"wait": "false"}, json=rpm_payload(units=1000)).json()

    def resting_at_the_broker() -> dict[str, Any] | None:
        record: dict[str, Any] = api.get(f"/executions/{pending['execution_id']}").json()
        return record if record["status"] == "SUBMITTED" else None

    return eventually(resting_at_the_broker)


def test_a_resting_order_is_cancelled_with_the_approvers_name_on_record(resting: Served) -> None:
    with resting.client() as api:
        execution = submitted(api)
        response = api.post(f"/executions/{execution['execution_id']}/cancel", json={"approved_by": "jane.trader"})
        assert response.status_code == 200, response.text
        cancelled = response.json()
        assert (cancelled["status"], cancelled["rejection_reason"]) == ("CANCELLED", "OPERATOR_CANCELLED")
        assert "jane.trader" in cancelled["rejection_details"]

        events = api.get(f"/executions/{execution['execution_id']}").json()["audit_events"]
        [approval] = [e for e in events if e["event_type"] == "CANCEL_APPROVED"]
        assert approval["data"]["by"] == "jane.trader"

        again = api.post(f"/executions/{execution['execution_id']}/cancel")
        assert again.status_code == 409
        assert "CANCELLED" in again.json()["detail"]


def test_without_a_name_the_cancellation_is_approved_by_the_api_token(resting: Served) -> None:
    with resting.client() as api:
        execution = submitted(api)
        assert api.post(f"/executions/{execution['execution_id']}/cancel").json()["status"] == "CANCELLED"
        events = api.get(f"/executions/{execution['execution_id']}").json()["audit_events"]
        assert [e["data"]["by"] for e in events if e["event_type"] == "CANCEL_APPROVED"] == ["api"]


def test_a_filled_execution_has_nothing_to_cancel(api: httpx.Client) -> None:
    filled = api.post("/execute", json=rpm_payload(units=1000)).json()
    response = api.post(f"/executions/{filled['execution_id']}/cancel", json={"approved_by": "jane.trader"})
    assert response.status_code == 409
    assert "no resting order to cancel" in response.json()["detail"]


def test_an_unknown_execution_cannot_be_cancelled(api: httpx.Client) -> None:
    response = api.post("/executions/exec_unknown/cancel")
    assert response.status_code == 404
