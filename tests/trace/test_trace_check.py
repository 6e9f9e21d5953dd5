"""`execution-engine trace-check`: a recorded `serve` run replays clean; edits show as exactly those
divergences; an anonymized copy hides the desk and still replays; bad input is one line, exit 2."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest

from app.adapters.trace.compare import TICKETS
from app.adapters.trace.format import read_lines, read_trace
from app.interfaces.cli import main
from tests.api.served import Served
from tests.builders import rpm_payload

TRACES = Path(__file__).resolve().parents[1] / "traces"


@pytest.fixture(scope="module")
def served_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `serve` run on the simulator with its broker trace recorded: two executions through the API."""
    data_dir = tmp_path_factory.mktemp("served")
    trace = data_dir / "broker-trace.jsonl"
    served = Served.start(data_dir, env={"EXEC_BROKER_TRACE": str(trace)})
    try:
        with served.client() as api:
            for symbol, direction in (("EURUSD", 1), ("USDJPY", -1)):
                done = api.post("/execute", json=rpm_payload(symbol=symbol, direction=direction, units=20_000))
                assert done.json()["status"] == "FILLED", done.text
    finally:
        assert served.stop(signal.SIGINT) == 0, served.output
    return trace


def execute_served(data_dir: Path, trades: list[tuple[str, int]], env: dict[str, str] | None = None) -> None:
    """A `serve` run that fills each (symbol, direction) for 20,000 units, asking for the positions
    before and after: what a desk's console does in a day, in small."""
    served = Served.start(data_dir, env=env)
    try:
        with served.client() as api:
            assert api.get("/positions").status_code == 200
            for symbol, direction in trades:
                done = api.post("/execute", json=rpm_payload(symbol=symbol, direction=direction, units=20_000))
                assert done.json()["status"] == "FILLED", done.text
            assert api.get("/positions").status_code == 200
    finally:
        assert served.stop(signal.SIGINT) == 0, served.output


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [data for _n, data in read_lines(path)]


def write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(["trace-check", *argv])
    captured = capsys.readouterr()
    return code, (captured.out + captured.err).splitlines()


def test_a_recorded_serve_run_replays_with_no_divergence(
    served_trace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = check(capsys, str(served_trace))
    assert code == 0, "\n".join(out)
    assert len(out) == 1 and out[0].endswith("no divergence")
    sends = [d for d in lines_of(served_trace) if d.get("function") == "order_send"]
    assert len(sends) == 2 and all(s["answer"]["retcode"] == 10009 for s in sends)


def test_a_trace_that_starts_with_open_positions_replays_from_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A desk starts recording on an account that already holds positions: the replay starts from the
    book the trace shows, so the positions asked for and the account's margin do not diverge."""
    execute_served(tmp_path, [("EURUSD", 1), ("USDJPY", -1)])  # the day before: not recorded
    trace = tmp_path / "today.jsonl"
    execute_served(tmp_path, [("GBPUSD", 1)], env={"EXEC_BROKER_TRACE": str(trace)})

    calls = read_trace(trace)
    first_send = next(i for i, c in enumerate(calls) if c.function == "order_send")
    held = [c.answer for c in calls[:first_send] if c.function == "positions_get"]
    assert held and {p["symbol"] for p in held[0]} == {"EURUSD", "USDJPY"}  # not flat when recording began
    code, out = check(capsys, str(trace))
    assert code == 0, "\n".join(out)
    assert out[0].endswith("no divergence")


def test_a_trace_edited_by_hand_shows_exactly_the_edits(
    served_trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = lines_of(served_trace)
    first_send, second_send = [i for i, d in enumerate(lines) if d.get("function") == "order_send"]
    info = next(i for i, d in enumerate(lines) if d.get("function") == "symbol_info")
    lines[first_send]["answer"]["retcode"] = 10006  # the broker said REJECT
    del lines[info]["answer"]["spread"]  # a field this terminal does not give
    lines[second_send]["answer"]["price"] = round(lines[second_send]["answer"]["price"] - 0.05, 3)  # filled 5 pips off
    edited = write(tmp_path / "edited.jsonl", lines)

    code, out = check(capsys, str(edited), "--json")
    assert code == 1
    report = json.loads("\n".join(out))
    found = {(d["line"], d["kind"], d["field"]) for d in report["divergences"]}
    assert found == {
        (first_send + 1, "retcode", "retcode"),
        (info + 1, "extra_field", "spread"),
        (second_send + 1, "price", "price"),
    }
    assert report["summary"].endswith("3 divergences (extra_field 1, price 1, retcode 1)")

    code, out = check(capsys, str(edited))
    assert code == 1 and len(out) == 4
    assert f"line {first_send + 1} order_send: retcode: trace '10006 REJECT', simulator '10009 DONE'" in out


def test_the_anonymized_copy_hides_the_desk_and_still_replays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = TRACES / "never_fills.jsonl"  # the engine's tags reappear as comments in later answers
    text = source.read_text()
    secrets = ["Simulated Account", "SimBroker-Demo", "FX Execution Console Simulator"]
    tags = sorted({d["args"][0]["comment"] for d in lines_of(source) if d.get("function") == "order_send"})
    assert all(s in text for s in secrets + tags)
    out = tmp_path / "to-send.jsonl"

    code, said = check(capsys, str(source), "--anonymize", str(out))
    assert code == 0 and said[0].startswith(f"anonymized copy written to {out}")
    copy = out.read_text()
    assert not any(s in copy for s in secrets + tags)
    stand_ins = [d["args"][0]["comment"] for d in lines_of(out) if d.get("function") == "order_send"]
    orders = [o for c in read_trace(out) if c.function == "orders_get" for o in c.answer]
    assert orders and {o["comment"] for o in orders} <= set(stand_ins)  # the same stand-in everywhere

    code, said = check(capsys, str(out), "--sim-scenario", "resources/scenarios/never_fills.toml")
    assert code == 0, "\n".join(said)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("not json at all\n", "line 1: not JSON"),
        ('{"seq": 1, "args": []}\n', 'line 1: not a trace call (needs a "function" name)'),
        ("", "no calls in it"),
    ],
)
def test_a_file_that_is_no_trace_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, says: str
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content)
    code, out = check(capsys, str(bad))
    assert code == 2 and len(out) == 1 and says in out[0] and out[0].startswith("execution-engine trace-check: ")


def test_a_missing_trace_or_bad_scenario_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = check(capsys, str(tmp_path / "absent.jsonl"))
    absent = tmp_path / "absent.jsonl"
    assert code == 2
    assert out == [
        f"execution-engine trace-check: {absent}: no such file (give a trace written by --record-broker-trace)"
    ]
    scenario = tmp_path / "s.toml"
    scenario.write_text("[behaviour]\nrequote_every = 'often'\n")
    code, out = check(capsys, str(TRACES / "default.jsonl"), "--sim-scenario", str(scenario))
    assert code == 2 and len(out) == 1 and "behaviour.requote_every: expected an integer" in out[0]


def shifted(value: Any, by: int) -> Any:
    """Every ticket in an answer or arguments moved by `by`, as another server numbers them."""
    if isinstance(value, list):
        return [shifted(v, by) for v in value]
    if not isinstance(value, dict):
        return value
    return {
        k: v + by if k in TICKETS and isinstance(v, int) and not isinstance(v, bool) and v else shifted(v, by)
        for k, v in value.items()
    }


def test_a_trace_from_a_server_that_numbers_tickets_otherwise_replays_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tickets are never the simulator's: later calls that name one ask about the simulator's own."""
    lines = [
        {**d, "answer": shifted(d.get("answer"), 7_000_000), "kwargs": shifted(d.get("kwargs"), 7_000_000)}
        if "function" in d
        else d
        for d in lines_of(TRACES / "slow_fill.jsonl")
    ]
    assert any(d.get("kwargs", {}).get("ticket", 0) > 7_000_000 for d in lines)
    trace = write(tmp_path / "other-server.jsonl", lines)
    code, out = check(capsys, str(trace), "--sim-scenario", "resources/scenarios/slow_fill.toml")
    assert code == 0, "\n".join(out)


def test_anonymize_never_writes_over_the_trace_itself(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "day.jsonl"
    trace.write_bytes((TRACES / "default.jsonl").read_bytes())
    code, out = check(capsys, str(trace), "--anonymize", str(trace))
    assert code == 2 and len(out) == 1 and "that is the trace itself" in out[0]
    assert trace.read_bytes() == (TRACES / "default.jsonl").read_bytes()
