"""File → Export audit trail: the same CSV as `execution-engine export`, its rows those of the store."""

from __future__ import annotations

import csv
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QAbstractButton, QLabel
from pytestqt.qtbot import QtBot

from app.domain.contracts import ExecutionStatus
from app.interfaces.cli import main as engine_cli
from app.store.export import write_csv
from app.store.repository import ExecutionStore
from tests.ui.conftest import AUDIT_KEY, WindowFactory, drive, make_settings, post
from tests.ui.rows import bulk_insert
from ui import export_job
from ui.dialogs.export_dialog import ExportDialog
from ui.main_window import MainWindow


def open_export(qtbot: QtBot, window: MainWindow) -> ExportDialog:
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = window.export_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    return dialog


def run_export(qtbot: QtBot, dialog: ExportDialog, out: Path) -> None:
    dialog.path.setText(str(out))
    with qtbot.waitSignal(dialog.export_finished, timeout=60_000):
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)


def test_the_dialog_reads_as_prose_without_markdown_backticks(qtbot: QtBot, window_factory: WindowFactory) -> None:
    window, _console = window_factory()
    dialog = open_export(qtbot, window)
    texts = [w.text() for w in dialog.findChildren(QLabel) + dialog.findChildren(QAbstractButton)]
    assert "execution-engine export" in dialog.message.text()
    assert not [t for t in texts if "`" in t]


def test_the_export_writes_the_same_file_as_the_command_line_with_the_rows_of_the_store(
    qtbot: QtBot, window_factory: WindowFactory, tmp_path: Path
) -> None:
    window, console = window_factory()
    for symbol in ("EURUSD", "USDJPY", "GBPUSD"):
        post(qtbot, console, symbol=symbol)
    post(qtbot, console, status="REJECTED")
    today = datetime.now(UTC).date().isoformat()

    dialog = open_export(qtbot, window)
    run_export(qtbot, dialog, tmp_path / "console.csv")

    settings = console.settings
    command = ["export", "--db", settings.database_url, "--data-dir", str(settings.data_dir)]
    command += ["--start-date", today, "--end-date", today, "--out", str(tmp_path / "command.csv")]
    assert engine_cli(command) == 0
    exported = (tmp_path / "console.csv").read_bytes()
    assert exported == (tmp_path / "command.csv").read_bytes()
    rows = list(csv.DictReader(exported.decode().splitlines()))
    stored = drive(qtbot, console.runtime.store.history(limit=100))
    assert sorted(r["execution_id"] for r in rows) == sorted(e.execution_id for e in stored)
    assert {r["status"] for r in rows} == {"FILLED", "REJECTED"}
    assert "Exported 4 executions" in dialog.message.text()


def test_symbol_and_status_filters_narrow_the_export(
    qtbot: QtBot, window_factory: WindowFactory, tmp_path: Path
) -> None:
    window, console = window_factory()
    for symbol in ("EURUSD", "USDJPY", "EURUSD"):
        post(qtbot, console, symbol=symbol)
    post(qtbot, console, status="REJECTED")
    qtbot.waitUntil(lambda: window.blotter.symbol.findText("USDJPY") > 0)

    dialog = open_export(qtbot, window)
    dialog.symbol.setCurrentText("EURUSD")
    dialog.statuses[ExecutionStatus.FILLED].setChecked(True)
    run_export(qtbot, dialog, tmp_path / "eurusd-filled.csv")

    rows = list(csv.DictReader((tmp_path / "eurusd-filled.csv").read_text().splitlines()))
    assert len(rows) == 2
    assert {(r["symbol"], r["status"]) for r in rows} == {("EURUSD", "FILLED")}


def test_a_day_range_with_nothing_in_it_exports_the_header_only(
    qtbot: QtBot, window_factory: WindowFactory, tmp_path: Path
) -> None:
    window, console = window_factory()
    post(qtbot, console)
    dialog = open_export(qtbot, window)
    dialog.first_day.setDate(QDate(2020, 1, 1))
    dialog.last_day.setDate(QDate(2020, 1, 31))
    run_export(qtbot, dialog, tmp_path / "january-2020.csv")

    lines = (tmp_path / "january-2020.csv").read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("execution_id,")


def test_cancelling_a_large_export_stops_it_and_leaves_no_file(
    qtbot: QtBot, window_factory: WindowFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The export holds at its first thousand rows until the trader has clicked Cancel: at 100,000
    # rows a second it would otherwise be over before the click.
    clicked = threading.Event()

    def held_write_csv(*args: Any, progress: Any, **kwargs: Any) -> int:
        def step(rows: int) -> bool:
            clicked.wait(60)
            return bool(progress(rows))

        return write_csv(*args, progress=step, **kwargs)

    monkeypatch.setattr(export_job, "write_csv", held_write_csv)
    settings = make_settings(tmp_path)
    settings.data_dir.mkdir(parents=True)
    store = ExecutionStore.open(settings.database_url, AUDIT_KEY.encode())
    bulk_insert(store, 100_000, start=datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0))
    store.close()
    window, _console = window_factory()
    dialog = open_export(qtbot, window)
    out = tmp_path / "big.csv"
    dialog.path.setText(str(out))

    with qtbot.waitSignal(dialog.progressed, timeout=60_000):
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert dialog.progress.maximum() == 100_000
    with qtbot.waitSignal(dialog.export_finished, timeout=60_000) as finished:
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
        clicked.set()

    result = finished.args[0]
    assert result.cancelled and result.rows < 100_000
    assert not out.exists() and not (tmp_path / "big.csv.part").exists()
    assert "Cancelled" in dialog.message.text()
