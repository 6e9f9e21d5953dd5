"""The file-drop inbox of `execution-engine serve --inbox DIR`, end to end, as upstream uses it."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.polling import eventually
from tests.api.served import Served
from tests.builders import rpm_payload


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("inbox")
    (directory / "waiting.json").write_text(json.dumps(rpm_payload(units=1000, order_id="inbox_waiting")))
    return directory


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, inbox: Path) -> Iterator[Served]:
    engine = Served.start(tmp_path_factory.mktemp("served-inbox"), "--inbox", str(inbox), "--order-timeout", "5")
    yield engine
    assert engine.stop() == 0, engine.output


def drop(inbox: Path, name: str, payload: dict[str, Any] | str) -> None:
    """As upstream writes: a temporary name, then a rename to `<name>.json`."""
    text = payload if isinstance(payload, str) else json.dumps(payload)
    temporary = inbox / f".{name}.json.tmp"
    temporary.write_text(text)
    os.replace(temporary, inbox / f"{name}.json")


def answer(inbox: Path, name: str, timeout: float = 60.0) -> dict[str, Any]:
    path = inbox / "outbox" / f"{name}.confirmation.json"
    text: str = eventually(lambda: path.exists() and path.read_text(), timeout)
    confirmation: dict[str, Any] = json.loads(text)
    return confirmation


def failure(inbox: Path, name: str, timeout: float = 60.0) -> str:
    path = inbox / "failed" / f"{name}.error.txt"
    text: str = eventually(lambda: path.exists() and path.read_text(), timeout)
    return text


def test_a_file_waiting_before_the_start_is_executed(served: Served, inbox: Path) -> None:
    confirmation = answer(inbox, "waiting")
    assert confirmation["status"] == "FILLED"
    assert confirmation["rpm_order_id"] == "inbox_waiting"
    assert eventually(lambda: (inbox / "processed" / "waiting.json").exists())
    assert not (inbox / "waiting.json").exists()
    assert f"inbox: {inbox} (answers in outbox/, then processed/ or failed/)" in served.lines


def test_a_dropped_file_is_answered_in_the_outbox_then_moved_to_processed(served: Served, inbox: Path) -> None:
    drop(inbox, "eurusd-1", rpm_payload(units=1000, order_id="inbox_eurusd_1"))
    confirmation = answer(inbox, "eurusd-1")
    assert (confirmation["status"], confirmation["executed_units"]) == ("FILLED", 1000)
    assert eventually(lambda: (inbox / "processed" / "eurusd-1.json").exists())
    assert not (inbox / "eurusd-1.json").exists()
    with served.client() as api:
        record = api.get(f"/executions/{confirmation['execution_id']}").json()
    assert (record["request"]["channel"], record["request"]["source"]) == ("inbox", "eurusd-1.json")


def test_an_invalid_file_goes_to_failed_with_each_bad_field_named(served: Served, inbox: Path) -> None:
    payload = rpm_payload(units=1000, order_id="inbox_bad_fields")
    payload["decision"]["approved_trade"]["direction"] = 0
    payload["decision"]["approved_trade"]["symbol"] = "EUR USD"
    drop(inbox, "bad-fields", payload)
    reason = failure(inbox, "bad-fields")
    assert "decision.approved_trade.direction: " in reason
    assert "decision.approved_trade.symbol: " in reason
    assert eventually(lambda: (inbox / "failed" / "bad-fields.json").exists())
    assert not (inbox / "outbox" / "bad-fields.confirmation.json").exists()


def test_a_file_that_is_not_json_goes_to_failed_once_it_has_settled(served: Served, inbox: Path) -> None:
    drop(inbox, "garbage", "this is not an RPMOutput")
    reason = failure(inbox, "garbage")
    assert "body: Invalid JSON" in reason
    assert (inbox / "failed" / "garbage.json").read_text() == "this is not an RPMOutput"  # kept as it came


def test_a_file_written_slowly_under_its_final_name_is_not_read_half_way(served: Served, inbox: Path) -> None:
    text = json.dumps(rpm_payload(units=1000, order_id="inbox_slow_writer"), indent=2)
    pieces = [text[: len(text) // 3], text[len(text) // 3 : 2 * len(text) // 3], text[2 * len(text) // 3 :]]
    with (inbox / "slow.json").open("w") as fh:
        for i, piece in enumerate(pieces):
            if i:
                time.sleep(0.6)  # the writer pausing: longer than two polls of the inbox
            fh.write(piece)
            fh.flush()
    confirmation = answer(inbox, "slow")
    assert confirmation["status"] == "FILLED"
    assert not (inbox / "failed" / "slow.json").exists()
    with served.client() as api:
        trail = api.get("/audit_trail", params={"start_date": "2000-01-01", "end_date": "2100-01-01"}).json()
    refused = [e for e in trail["events"] if e["event_type"] == "INPUT_INVALID"]
    assert "slow.json" not in {e["data"]["source"] for e in refused}


def test_the_same_order_id_in_two_files_gets_the_first_answer_and_one_order(served: Served, inbox: Path) -> None:
    payload = rpm_payload(units=1000, order_id="inbox_twice")
    drop(inbox, "twice-a", payload)
    first = answer(inbox, "twice-a")
    drop(inbox, "twice-b", payload)
    second = answer(inbox, "twice-b")
    assert second == first
    assert len([o for o in served.sim_orders() if o["comment"] == first["execution_id"]]) == 1


def test_temporary_names_are_left_alone(served: Served, inbox: Path) -> None:
    (inbox / ".upstream.json.tmp").write_text("{")
    (inbox / "notes.txt").write_text("not for the engine")
    drop(inbox, "after-temporaries", rpm_payload(units=1000, order_id="inbox_after_temporaries"))
    answer(inbox, "after-temporaries")  # polls have come and gone
    assert (inbox / ".upstream.json.tmp").read_text() == "{"
    assert (inbox / "notes.txt").exists()
    assert not (inbox / "failed" / ".upstream.json.tmp").exists()
