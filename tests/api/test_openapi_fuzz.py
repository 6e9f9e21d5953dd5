"""Schemathesis against the served OpenAPI document: whatever a client sends, no 5xx.

A process of its own: the fuzzer halts and resumes trading, which the shared engine must not see.
Schemathesis' Python API drives Hypothesis directly (its lazy pytest loader does not run on pytest 9).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.api.served import Served

OPERATIONS = [
    ("GET", "/health"),
    ("POST", "/execute"),
    ("GET", "/executions/{execution_id}"),
    ("GET", "/history"),
    ("POST", "/executions/{execution_id}/cancel"),
    ("POST", "/halt"),
    ("POST", "/resume"),
    ("GET", "/metrics"),
    ("GET", "/audit_trail"),
    ("GET", "/reconciliation"),
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
        case.call_and_validate(base_url=fuzzed.url, headers=headers, checks=[not_a_server_error], timeout=10)

    call()
