"""What the API shows of executions: the full record, history, metrics and the audit trail."""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.domain.execution import COLUMN_OF, Execution
from app.store.export import HEADER
from tests.api.served import ROOT, Served, serve_env
from tests.builders import rpm_payload

RANGE = {"start_date": "2000-01-01", "end_date": "2100-01-01"}
METRICS_FIELDS = {
    "total_executions",
    "successful_executions",
    "failed_executions",
    "success_rate",
    "avg_slippage_pips",
    "rejections_by_reason",
    "timeout_rate",
    "network_errors",
    "latency_ms",
    "active_alerts",
}


def execute(api: httpx.Client, **kwargs: Any) -> dict[str, Any]:
    response = api.post("/execute", json=rpm_payload(units=1000, **kwargs))
    assert response.status_code == 200, response.text
    confirmation: dict[str, Any] = response.json()
    return confirmation


def test_an_execution_record_holds_every_column_the_request_verbatim_fills_and_audit_events(
    api: httpx.Client,
) -> None:
    payload = rpm_payload(units=1000, order_id="api_record_1")
    payload["upstream_note"] = {"kept": ["verbatim", 1.50]}  # an unknown field upstream added
    raw = json.dumps(payload, indent=1)
    confirmation = api.post("/execute", content=raw, headers={"Content-Type": "application/json"}).json()

    response = api.get(f"/executions/{confirmation['execution_id']}")
    assert response.status_code == 200
    record = response.json()
    assert {k: record[k] for k in confirmation} == confirmation
    assert {COLUMN_OF.get(f.name, f.name) for f in dataclasses.fields(Execution)} <= set(record)  # every column
    assert record["rpm_decision_id"] == "api_record_1"
    assert record["broker"] == "sim"
    assert record["lots"] == 0.01

    request = record["request"]
    assert request["rpm_output_raw"] == raw
    assert request["rpm_output"]["upstream_note"] == {"kept": ["verbatim", 1.50]}
    assert request["channel"] == "api"

    [fill] = record["fills"]
    assert fill["units"] == 1000
    assert fill["price"] == record["fill_price"]

    events = record["audit_events"]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert events[0]["event_type"] == "RECEIVED"
    steps = [e["event_type"] for e in events if e["event_type"] != "MARKOUT"]  # mark-outs come as time passes
    assert steps[-2:] == ["TCA_ARRIVAL", "FILLED"]
    assert all(e["execution_id"] == confirmation["execution_id"] for e in events)
    assert {"data", "prev_hash", "hash", "signature", "event_timestamp"} <= set(events[0])

    tca = record["tca"]
    assert tca["arrival_mid"] == round((record["market_bid"] + record["market_ask"]) / 2, 6)
    assert tca["spread_pips"] == record["spread_pips"]
    assert set(tca["markouts_pips"]) == {"1s", "5s", "30s", "60s"}


def test_an_unknown_execution_is_404(api: httpx.Client) -> None:
    response = api.get("/executions/exec_does_not_exist")
    assert response.status_code == 404
    assert "exec_does_not_exist" in response.json()["detail"]


def test_history_is_newest_first_and_filters_by_symbol_status_and_limit(api: httpx.Client) -> None:
    eur = execute(api, order_id="api_hist_eur")
    jpy = execute(api, order_id="api_hist_jpy", symbol="USDJPY", direction=-1)
    halted = execute(api, order_id="api_hist_halted", halted=True, halt_reason="drawdown")
    assert halted["status"] == "REJECTED"

    latest = api.get("/history", params={"limit": 3}).json()
    assert [c["execution_id"] for c in latest] == [halted["execution_id"], jpy["execution_id"], eur["execution_id"]]
    assert {c["symbol"] for c in api.get("/history", params={"symbol": "usdjpy", "limit": 1000}).json()} == {"USDJPY"}
    rejected = api.get("/history", params={"status": "REJECTED", "limit": 1000}).json()
    assert halted["execution_id"] in {c["execution_id"] for c in rejected}
    assert {c["status"] for c in rejected} == {"REJECTED"}
    assert len(api.get("/history", params={"limit": 1}).json()) == 1


def test_executions_are_found_by_broker_ticket_and_by_rpm_order_id(api: httpx.Client) -> None:
    made = execute(api, order_id="rpm_find_me")
    by_ticket = api.get("/executions", params={"broker_order": made["order_id"]})
    by_rpm = api.get("/executions", params={"rpm_order_id": "rpm_find_me"})
    assert by_ticket.status_code == by_rpm.status_code == 200
    assert [e["execution_id"] for e in by_ticket.json()] == [made["execution_id"]]
    assert [e["execution_id"] for e in by_rpm.json()] == [made["execution_id"]]
    assert api.get("/executions", params={"rpm_order_id": "rpm_nobody"}).json() == []
    assert api.get("/executions").status_code == 422  # neither: say which to give
    both = api.get("/executions", params={"broker_order": made["order_id"], "rpm_order_id": "rpm_find_me"})
    assert both.status_code == 422


@pytest.mark.parametrize("limit", [0, 1001])
def test_history_limit_is_at_most_1000(api: httpx.Client, limit: int) -> None:
    response = api.get("/history", params={"limit": limit})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["detail"]] == ["limit"]


def test_metrics_as_json_and_in_the_prometheus_text_format(api: httpx.Client) -> None:
    execute(api, order_id="api_metrics_1")
    metrics = api.get("/metrics").json()
    assert set(metrics) >= METRICS_FIELDS
    assert metrics["total_executions"] >= 1
    assert set(metrics["latency_ms"]) == {"p50", "p95", "p99"}
    assert metrics["broker_connected"] is True
    windows = metrics["windows"]
    assert set(windows) == {"15m", "1h", "today", "all"}
    assert windows["1h"]["total_executions"] >= 1 and 0 <= windows["1h"]["success_rate"] <= 1
    assert {k: metrics[k] for k in windows["all"]} == windows["all"]  # the top-level figures are all time

    text = api.get("/metrics", params={"format": "prometheus"})
    assert text.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE execution_total gauge" in text.text
    assert 'execution_total{status="FILLED"}' in text.text
    assert 'execution_window_success_rate{window="1h"}' in text.text


def test_the_audit_trail_as_json_has_the_export_rows_and_a_chained_list_of_events(api: httpx.Client) -> None:
    confirmation = execute(api, order_id="api_trail_1")
    trail = api.get("/audit_trail", params=RANGE).json()
    assert set(trail) == {"start_date", "end_date", "records", "events"}
    assert trail["start_date"] == "2000-01-01T00:00:00.000Z"
    assert trail["end_date"] == "2100-01-02T00:00:00.000Z"  # a bare end date covers that whole day
    [record] = [r for r in trail["records"] if r["execution_id"] == confirmation["execution_id"]]
    assert list(record) == HEADER
    assert record["status"] == "FILLED"
    assert record["channel"] == "api"
    events = trail["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(events))


def test_the_audit_trail_as_csv_is_byte_for_byte_the_cli_export(served: Served, api: httpx.Client) -> None:
    execute(api, order_id="api_trail_csv_1")
    out = served.data_dir / "export.csv"
    export = ["export", "--db", f"sqlite:///{served.data_dir / 'x.db'}", "--data-dir", str(served.data_dir)]
    export += ["--start-date", RANGE["start_date"], "--end-date", RANGE["end_date"], "--out", str(out)]
    # The served engine records mark-outs as their moments come: the two exports are compared when the
    # API's answers before and after the CLI's are the same (nothing was written meanwhile).
    for _ in range(5):
        before = api.get("/audit_trail", params={**RANGE, "format": "csv"})
        done = subprocess.run(
            [sys.executable, "-m", "app.interfaces.cli", *export],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=serve_env(),
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        response = api.get("/audit_trail", params={**RANGE, "format": "csv"})
        if response.content == before.content:
            break
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content == Path(out).read_bytes()
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == HEADER
    assert "api_trail_csv_1" in {row[1] for row in rows[1:]}


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"start_date": "yesterday", "end_date": "2030-01-01"}, ["start_date"]),
        ({"start_date": "2030-01-01", "end_date": "2030-13-01"}, ["end_date"]),
        ({"start_date": "2030-01-02", "end_date": "2030-01-01T00:00:00Z"}, ["end_date"]),
        ({"start_date": "2030-01-01"}, ["end_date"]),
    ],
)
def test_an_audit_trail_range_that_cannot_be_read_is_422_naming_the_date(
    api: httpx.Client, params: dict[str, str], fields: list[str]
) -> None:
    response = api.get("/audit_trail", params=params)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["detail"]] == fields
