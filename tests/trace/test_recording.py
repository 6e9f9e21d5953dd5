"""Recording a broker trace: every call as a JSON line, no secret written, owner-only, rotated by size."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from app.adapters.sim.scenario import Scenario
from app.adapters.sim.terminal import SimulatedTerminal
from app.adapters.trace.format import REDACTED, read_trace
from app.adapters.trace.recorder import RecordingModule
from app.adapters.trace.tracefile import TraceFile
from app.host.runtime import choose_broker
from app.host.settings import Settings

LOGIN, PASSWORD, SERVER = 7_654_321, "s3cret-Pa55word", "Broker-Live"


def desk_terminal() -> SimulatedTerminal:
    return SimulatedTerminal(Scenario().with_overrides(account={"login": LOGIN, "server": SERVER}))


def test_every_call_is_a_line_with_its_answer_last_error_and_times(tmp_path: Path) -> None:
    trace = TraceFile(tmp_path / "t.jsonl")
    mt5 = RecordingModule(SimulatedTerminal(), trace)
    mt5.initialize()
    tick = mt5.symbol_info_tick("EURUSD")
    assert mt5.symbol_info("NOPE") is None
    trace.close()

    calls = read_trace(tmp_path / "t.jsonl")
    assert [c.function for c in calls] == ["initialize", "symbol_info_tick", "symbol_info"]
    assert calls[1].answer == tick._asdict()  # the record by its field names
    assert calls[2].answer is None and calls[2].last_error == [-1, "Terminal: Call failed"]
    for call in calls:
        assert call.raw["monotonic"] > 0 and call.raw["duration_ms"] >= 0


def test_bars_are_written_as_one_dict_per_row(tmp_path: Path) -> None:
    trace = TraceFile(tmp_path / "t.jsonl")
    mt5 = RecordingModule(SimulatedTerminal(), trace)
    mt5.initialize()
    bars = mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M1, 0, 3)
    trace.close()
    answer = read_trace(tmp_path / "t.jsonl")[-1].answer
    assert len(answer) == 3 and set(answer[0]) == set(bars.dtype.names)


def test_passwords_and_logins_are_never_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The desk's path: the real package's place taken by a terminal that wants this login."""
    monkeypatch.setitem(sys.modules, "MetaTrader5", desk_terminal())
    path = tmp_path / "trace.jsonl"
    settings = Settings(
        broker="mt5",
        data_dir=tmp_path,
        mt5_login=LOGIN,
        mt5_server=SERVER,
        mt5_password=PASSWORD,
        broker_trace=path,
    )
    choice = choose_broker(settings)
    mt5 = choice.broker.mt5  # type: ignore[attr-defined]
    assert mt5.login(LOGIN, PASSWORD, SERVER)
    assert mt5.account_info().login == LOGIN  # the caller still sees it
    assert choice.trace is not None
    choice.trace.close()

    text = path.read_text()
    assert PASSWORD not in text and str(LOGIN) not in text
    calls = read_trace(path)
    assert calls[0].function == "initialize" and calls[0].kwargs["password"] == REDACTED
    assert calls[0].kwargs["login"] == REDACTED and calls[0].kwargs["server"] == SERVER
    assert calls[1].args[:2] == [REDACTED, REDACTED]
    assert calls[2].answer["login"] == REDACTED


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_the_trace_is_its_owners_only_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        trace = TraceFile(tmp_path / "t.jsonl")
        RecordingModule(SimulatedTerminal(), trace).initialize()
        trace.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "t.jsonl").stat().st_mode) == 0o600


@pytest.mark.parametrize("gather_s", [0.0, 3600.0], ids=["lines-as-they-come", "all-lines-in-one-batch"])
def test_the_trace_rotates_by_size_and_keeps_the_newest_parts(tmp_path: Path, gather_s: float) -> None:
    path = tmp_path / "t.jsonl"
    trace = TraceFile(path, max_bytes=4000, backups=2, gather_s=gather_s)
    mt5 = RecordingModule(SimulatedTerminal(), trace)
    mt5.initialize()
    for _ in range(60):
        mt5.symbol_info_tick("EURUSD")
    trace.close()

    parts = sorted(p.name for p in tmp_path.iterdir())
    assert parts == ["t.jsonl", "t.jsonl.1", "t.jsonl.2"]
    for part in tmp_path.iterdir():
        assert part.stat().st_size < 4000 + 600  # rotated after the line that reached the size
        first = json.loads(part.read_text().splitlines()[0])
        assert first["trace"] and first["module"] == "SimulatedTerminal"  # each part says what it is
    # each part reads on its own: no line refers to one in another part
    seqs = [c.raw["seq"] for p in ("t.jsonl.2", "t.jsonl.1", "t.jsonl") for c in read_trace(tmp_path / p)]
    assert seqs == sorted(seqs) and seqs[-1] == 61  # oldest part dropped, order kept


def test_execute_records_with_the_flag_and_the_console_takes_it_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.interfaces.cli import main
    from tests.builders import rpm_payload
    from ui.main import build_parser, build_settings

    monkeypatch.delenv("EXEC_BROKER_TRACE", raising=False)
    rpm = tmp_path / "rpm.json"
    rpm.write_text(json.dumps(rpm_payload(units=30_000)))
    trace = tmp_path / "execute.jsonl"
    argv = [
        "execute",
        str(rpm),
        "--broker",
        "sim",
        "--data-dir",
        str(tmp_path / "d"),
        "--record-broker-trace",
        str(trace),
    ]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "FILLED"
    sends = [c for c in read_trace(trace) if c.function == "order_send"]
    assert len(sends) == 1 and sends[0].answer["volume"] == 0.3

    console = build_settings(build_parser().parse_args(["--record-broker-trace", str(trace)]))
    assert console.broker_trace == trace


def test_a_trace_that_cannot_be_written_stops_the_start_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.interfaces.cli import main
    from tests.builders import rpm_payload

    rpm = tmp_path / "rpm.json"
    rpm.write_text(json.dumps(rpm_payload()))
    trace = rpm / "trace.jsonl"  # under a file, not a folder
    argv = [
        "execute",
        str(rpm),
        "--broker",
        "sim",
        "--data-dir",
        str(tmp_path / "d"),
        "--record-broker-trace",
        str(trace),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(
        f"execution-engine execute: --record-broker-trace {trace}: cannot be written"
    )


def test_an_answer_repeated_is_written_once_and_read_back_whole(tmp_path: Path) -> None:
    """Each line refers to the one before it of the same call: a part reads on its own."""
    trace = TraceFile(tmp_path / "t.jsonl")
    mt5 = RecordingModule(SimulatedTerminal(), trace)
    mt5.initialize()
    first = mt5.terminal_info()
    for _ in range(3):
        assert mt5.terminal_info() == first
    trace.close()

    lines = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()[1:]]
    assert [line.get("same_as") for line in lines[1:]] == [None, 2, 3, 4]
    assert "answer" not in lines[-1]
    assert all(c.answer == first._asdict() for c in read_trace(tmp_path / "t.jsonl")[1:])


def test_a_record_that_changed_in_a_few_fields_is_written_as_those_fields(tmp_path: Path) -> None:
    trace = TraceFile(tmp_path / "t.jsonl")
    sim = SimulatedTerminal()
    mt5 = RecordingModule(sim, trace)
    mt5.initialize()
    mt5.symbol_info("EURUSD")
    sim.set_quote("EURUSD", "1.09600", "1.09612")
    moved = mt5.symbol_info("EURUSD")
    trace.close()

    last = json.loads((tmp_path / "t.jsonl").read_text().splitlines()[-1])
    assert last["same_as"] == 2 and {"bid", "ask"} <= set(last["except"]) and len(last["except"]) < 10
    assert read_trace(tmp_path / "t.jsonl")[-1].answer == moved._asdict()
