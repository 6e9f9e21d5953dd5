"""The trace's writer: lines gathered and written together keep the calls' order and all reach the
file; a request is written as it was sent; a disk that fails stops the recording, never the trading."""

from __future__ import annotations

import errno
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import pytest

import app.adapters.mt5.constants as mt5c
from app.adapters.sim.terminal import SimulatedTerminal
from app.adapters.trace import tracefile
from app.adapters.trace.format import read_trace
from app.adapters.trace.recorder import RecordingModule
from app.adapters.trace.tracefile import TraceFile

NEVER_ALONE = 3600.0  # a gathering window no test outlasts: lines are written only by flush() or close()


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_lines_gathered_into_one_write_keep_their_order_and_all_reach_the_file_on_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.jsonl"
    trace = TraceFile(path, gather_s=NEVER_ALONE)
    mt5 = RecordingModule(SimulatedTerminal(), trace)
    trace.open()
    writes: list[int] = []
    real_write = os.write
    monkeypatch.setattr(tracefile.os, "write", lambda fd, data: writes.append(fd) or real_write(fd, data))
    mt5.initialize()
    symbols = ["EURUSD", "GBPUSD", "USDJPY"] * 100
    for symbol in symbols:
        mt5.symbol_info_tick(symbol)
    trace.close()

    calls = read_trace(path)
    assert [c.args for c in calls[1:]] == [[s] for s in symbols]
    assert [c.raw["seq"] for c in calls] == list(range(1, len(symbols) + 2))
    assert len(writes) == 1  # the 301 lines in one write


def test_calls_from_several_threads_are_numbered_in_the_order_the_file_has_them(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    trace = TraceFile(path, gather_s=0.0)
    mt5 = RecordingModule(SimulatedTerminal(), trace)
    mt5.initialize()

    def ask() -> None:
        for _ in range(200):
            mt5.symbol_info_tick("EURUSD")

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    trace.close()
    assert [c.raw["seq"] for c in read_trace(path)] == list(range(1, 802))


def test_flush_writes_what_was_submitted_and_the_recording_goes_on_in_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    trace = TraceFile(path, gather_s=NEVER_ALONE)
    mt5 = RecordingModule(SimulatedTerminal(), trace)
    mt5.initialize()
    mt5.terminal_info()
    trace.flush()
    assert [line.get("function") for line in lines_of(path)[1:]] == ["initialize", "terminal_info"]

    mt5.terminal_info()
    trace.close()
    lines = lines_of(path)
    assert sum("trace" in line for line in lines) == 1  # one header: the file was not opened again
    assert lines[-1]["function"] == "terminal_info" and lines[-1]["same_as"] == 2


def test_a_request_changed_after_the_call_is_written_as_it_was_sent(tmp_path: Path) -> None:
    trace = TraceFile(tmp_path / "t.jsonl", gather_s=NEVER_ALONE)
    mt5 = RecordingModule(SimulatedTerminal(), trace)
    mt5.initialize()
    tick = mt5.symbol_info_tick("EURUSD")
    request = {
        "action": mt5c.TRADE_ACTION_DEAL,
        "symbol": "EURUSD",
        "volume": 0.1,
        "type": mt5c.ORDER_TYPE_BUY,
        "price": tick.ask,
        "type_filling": mt5c.ORDER_FILLING_FOK,
    }
    mt5.order_check(request)
    request["volume"] = 5.0  # the caller reuses its dict before the line is built
    trace.close()
    assert read_trace(tmp_path / "t.jsonl")[-1].args == [{**request, "volume": 0.1}]


def initialized(path: Path) -> tuple[TraceFile, SimulatedTerminal, RecordingModule]:
    """A recording whose initialize() line is already in the file (what a failure must not take back)."""
    trace = TraceFile(path, gather_s=NEVER_ALONE)
    sim = SimulatedTerminal()
    mt5 = RecordingModule(sim, trace)
    mt5.initialize()
    trace.flush()
    return trace, sim, mt5


def test_a_disk_that_fails_stops_the_recording_never_the_trading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "t.jsonl"
    trace, sim, mt5 = initialized(path)

    def full_disk(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tracefile.os, "write", full_disk)
    with caplog.at_level(logging.ERROR, logger=tracefile.__name__):
        assert mt5.symbol_info_tick("EURUSD") == sim.symbol_info_tick("EURUSD")
        trace.flush()
        monkeypatch.undo()  # the disk has room again: the recording stays stopped
        assert mt5.account_info() is not None
        trace.close()

    assert [r.getMessage() for r in caplog.records] == [
        f"broker trace {path}: cannot write ([Errno 28] No space left on device): recording stopped"
    ]
    assert [line.get("function") for line in lines_of(path)[1:]] == ["initialize"]


def test_a_line_that_cannot_be_built_stops_the_recording_never_the_trading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "t.jsonl"
    trace, sim, mt5 = initialized(path)

    def unencodable(data: object) -> str:
        raise ValueError("Out of range float values are not JSON compliant")

    monkeypatch.setattr(tracefile, "dumps", unencodable)
    with caplog.at_level(logging.ERROR, logger=tracefile.__name__):
        assert mt5.symbol_info_tick("EURUSD") == sim.symbol_info_tick("EURUSD")
        trace.flush()
        for _ in range(3):  # later calls are answered, and their lines drained, not piled up
            assert mt5.account_info() is not None
        trace.flush()
        trace.close()

    assert [r.getMessage() for r in caplog.records] == [
        f"broker trace {path}: a line could not be written"
        " (ValueError: Out of range float values are not JSON compliant): recording stopped"
    ]
    assert trace._lines == []
    assert [line.get("function") for line in lines_of(path)[1:]] == ["initialize"]
