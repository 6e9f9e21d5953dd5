"""Only a caller with the token gets in: every endpoint but /health answers 401 without it."""

from __future__ import annotations

import os
import stat

import httpx
import pytest

from tests.api.served import Served

PROTECTED = [
    ("POST", "/execute"),
    ("GET", "/executions/exec_0123"),
    ("GET", "/history"),
    ("GET", "/executions?rpm_order_id=rpm_1"),
    ("GET", "/metrics"),
    ("GET", "/audit_trail?start_date=2020-01-01&end_date=2030-01-01"),
    ("POST", "/executions/exec_0123/cancel"),
    ("POST", "/halt"),
    ("POST", "/resume"),
    ("GET", "/reconciliation"),
    ("GET", "/positions"),
    ("GET", "/account"),
]


def test_health_answers_without_a_token(served: Served) -> None:
    health = httpx.get(f"{served.url}/health").json()
    assert health == {
        "status": "ok",
        "broker_connected": True,
        "database": "ok",
        "trading_halted": False,
        "rpm_halt": None,
        "version": health["version"],
        "broker": "sim",
        "broker_link": {
            "state": "connected",
            "since": health["broker_link"]["since"],
            "attempts": 0,
            "detail": "connected",
        },
        "positions": "ok",
    }


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", "Basic dXNlcjpwYXNz", "Bearer"],
    ids=["none", "wrong", "basic", "empty"],
)
def test_every_other_endpoint_refuses_a_caller_without_the_token(
    served: Served, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.request(method, f"{served.url}{path}", headers=headers, json={"reason": "x"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "bearer token" in response.json()["detail"]


def test_the_right_token_is_accepted(api: httpx.Client) -> None:
    assert api.get("/history").status_code == 200


def test_a_refused_call_changes_nothing(served: Served, api: httpx.Client) -> None:
    httpx.post(f"{served.url}/halt", json={"reason": "intruder"}, headers={"Authorization": "Bearer nope"})
    assert api.get("/health").json()["trading_halted"] is False


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_the_generated_token_is_readable_by_its_owner_only(served: Served) -> None:
    mode = stat.S_IMODE((served.data_dir / "api-token").stat().st_mode)
    assert mode == 0o600
    assert "api token: " + str(served.data_dir / "api-token") in served.output
    assert served.token not in served.output  # the secret itself is never printed
