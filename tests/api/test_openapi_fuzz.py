"""Schemathesis against the served OpenAPI document: whatever a client sends, no 5xx and no answer the
document does not describe; and the document says what the server refuses (a decision without its
trade, an empty date).

A process of its own: the fuzzer halts and resumes trading, which the shared engine must not see.
Schemathesis' Python API drives Hypothesis directly (its lazy pytest loader does not run on pytest 9).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from tests.api.served import Served
from tests.builders import rpm_payload

OPERATIONS = [
    ("GET", "/health"),
    ("POST", "/execute"),
    ("GET", "/executions/{execution_id}"),
    ("GET", "/executions"),
    ("GET", "/history"),
    ("POST", "/executions/{execution_id}/cancel"),
    ("POST", "/halt"),
    ("POST", "/resume"),
    ("GET", "/metrics"),
    ("GET", "/audit_trail"),
    ("GET", "/reconciliation"),
    ("GET", "/positions"),
    ("GET", "/account"),
    ("GET", "/tca"),
]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = Served.start(tmp_path_factory.mktemp("fuzzed"), "--order-timeout", "2")
    yield served
    assert served.stop() == 0, served.output


@pytest.fixture(scope="module")
def api_schema(fuzzed: Served) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzzed.url}/openapi.json")


def test_the_document_describes_every_endpoint(api_schema: schemathesis.BaseSchema) -> None:
    served = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert served == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_request_makes_the_server_fail(
    api_schema: schemathesis.BaseSchema, fuzzed: Served, method: str, path: str
) -> None:
    operation = api_schema[path][method]
    headers = {"Authorization": f"Bearer {fuzzed.token}"}
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @given(case=cases)
    @settings(max_examples=25, deadline=5000, database=None, suppress_health_check=list(HealthCheck))
    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(
            base_url=fuzzed.url, headers=headers, checks=[not_a_server_error, status_code_conformance], timeout=60
        )

    call()


@pytest.fixture(scope="module")
def document(fuzzed: Served) -> dict[str, Any]:
    served: dict[str, Any] = httpx.get(f"{fuzzed.url}/openapi.json").json()
    return served


def _valid(document: dict[str, Any], schema: dict[str, Any], value: Any) -> bool:
    """Whether `value` is what `schema` (which may refer to the document's components) allows."""
    return bool(jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]}).is_valid(value))


ABSENT = object()


def _decision(status: str, **trades: Any) -> dict[str, Any]:
    """An RPMOutput with a decision of `status`, its trades set as `trades` say (ABSENT: left out)."""
    payload = rpm_payload(status="REJECTED" if status == "REJECTED" else "APPROVED")
    decision = payload["decision"] | {"status": status}
    for name, trade in trades.items():
        if trade is ABSENT:
            decision.pop(name, None)
        else:
            decision[name] = trade
    return payload | {"decision": decision}


@pytest.mark.parametrize(
    ("payload", "valid"),
    [
        pytest.param(_decision("ADJUSTED"), True, id="adjusted"),
        pytest.param(_decision("ADJUSTED", approved_trade=ABSENT), False, id="adjusted-without-its-trade"),
        pytest.param(_decision("ADJUSTED", approved_trade=None), False, id="adjusted-with-a-null-trade"),
        pytest.param(_decision("APPROVED", approved_trade=None), False, id="approved-with-a-null-trade"),
        pytest.param(_decision("REJECTED"), True, id="rejected"),
        pytest.param(_decision("REJECTED", approved_trade=None), True, id="rejected-with-a-null-approved-trade"),
        pytest.param(_decision("REJECTED", rejected_trade=ABSENT), False, id="rejected-without-its-trade"),
    ],
)
def test_the_document_and_the_server_agree_on_which_trade_a_decision_carries(
    fuzzed: Served, document: dict[str, Any], payload: dict[str, Any], valid: bool
) -> None:
    assert _valid(document, {"$ref": "#/components/schemas/RPMOutput"}, payload) is valid
    with fuzzed.client() as api:
        answer = api.post("/execute", params={"wait": "false"}, json=payload)
    assert answer.status_code in ((200, 202) if valid else (422,)), answer.text


@pytest.mark.parametrize(
    ("path", "documented_as"),
    [("/halt", "/halt"), ("/executions/exec_0123/cancel", "/executions/{execution_id}/cancel")],
)
def test_a_body_that_cannot_be_read_is_answered_400_as_the_document_says(
    fuzzed: Served, document: dict[str, Any], path: str, documented_as: str
) -> None:
    with fuzzed.client() as api:
        answer = api.post(path, content=b"\xff", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert "400" in document["paths"][documented_as]["post"]["responses"]


@pytest.mark.parametrize("empty", ["start_date", "end_date"])
def test_an_empty_date_is_refused_by_the_document_and_the_server_naming_it(
    fuzzed: Served, document: dict[str, Any], empty: str
) -> None:
    [parameter] = [p for p in document["paths"]["/audit_trail"]["get"]["parameters"] if p["name"] == empty]
    assert not _valid(document, parameter["schema"], "")
    assert _valid(document, parameter["schema"], "2026-11-30")
    dates = {"start_date": "2026-11-01", "end_date": "2026-11-30", empty: ""}
    with fuzzed.client() as api:
        answer = api.get("/audit_trail", params=dates)
    assert answer.status_code == 422
    assert [error["field"] for error in answer.json()["detail"]] == [empty]
