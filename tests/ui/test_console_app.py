"""The whole console as `execution-console` runs it, and one console per data dir."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox
from pytestqt.qtbot import QtBot

from app import __version__
from app.tools.demo import DemoVenues
from ui.main import build_parser, build_settings, main, with_usable_data_dir
from ui.main_window import MainWindow
from ui.single_instance import SingleInstance

SCENARIOS = Path(__file__).resolve().parents[2] / "resources" / "scenarios"


@pytest.mark.parametrize("scenario", [None, "instant.toml", "exchange.toml"], ids=["demo-desk", "instant", "exchange"])
def test_the_demo_console_starts_shows_executions_and_stops(
    qapp: QApplication, tmp_path: Path, scenario: str | None
) -> None:
    seen: dict[str, int] = {}
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.start(30_000)

    def close_once_an_execution_shows() -> None:
        windows = [w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow)]
        window = windows[0] if windows else None
        if window is not None and window.is_attached and (window.model.rowCount() > 0 or not deadline.isActive()):
            seen["rows"] = window.model.rowCount()
            seen["api"] = int("API http://127.0.0.1:" in window.status.api.text())
            seen["why"] = int("chosen by --demo" in window.status.broker.toolTip())
            assert window.console is not None
            seen["venues"] = int(isinstance(getattr(window.console.runtime.broker, "mt5", None), DemoVenues))
            window.close()
        else:
            QTimer.singleShot(50, close_once_an_execution_shows)

    QTimer.singleShot(0, close_once_an_execution_shows)
    given = ["--sim-scenario", str(SCENARIOS / scenario)] if scenario else []
    code = main(["--demo", "--data-dir", str(tmp_path / "demo"), "--port", "0", *given])

    assert code == 0
    assert seen["rows"] >= 1 and seen["api"] == 1
    assert seen["why"] == 1  # the status bar names --demo, the flag the trader gave
    assert seen["venues"] == 1  # the demo's broker was built with its venues, not patched after serving
    again = SingleInstance(tmp_path / "demo")
    assert again.acquire()  # the console let go of its data dir
    again.release()


def test_a_second_console_on_the_same_data_dir_brings_the_first_forward_and_exits(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path
) -> None:
    running = SingleInstance(tmp_path)
    assert running.acquire()
    try:
        with qtbot.waitSignal(running.activated, timeout=60_000):
            code = main(["--data-dir", str(tmp_path), "--broker", "sim", "--port", "0"])
        assert code == 0
    finally:
        running.release()


def test_the_demo_keeps_to_its_own_data_dir_and_a_short_order_timeout(tmp_path: Path) -> None:
    args = build_parser().parse_args(["--demo"])
    settings = build_settings(args, environ={"EXEC_DB_URL": "postgresql+psycopg://desk@db/prod"})
    assert settings.data_dir.name == "demo"
    assert settings.database_url.startswith("sqlite:///") and "demo" in settings.database_url
    assert settings.broker == "sim" and settings.order_timeout_s < 60

    explicit = build_settings(
        build_parser().parse_args(["--demo", "--data-dir", str(tmp_path), "--order-timeout", "30"])
    )
    assert explicit.data_dir == tmp_path and explicit.order_timeout_s == 30


def _answer_the_message(qapp: QApplication, told: list[str], button: str | None = None) -> None:
    """Once the start-up message shows: note its text and the status bar's, then press `button` (or close)."""

    def answer() -> None:
        box = next((w for w in qapp.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()), None)
        if box is None:
            QTimer.singleShot(50, answer)
            return
        told.append(box.text())
        windows = [w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow)]
        told.extend(w.status.broker.text() for w in windows)
        chosen = next((b for b in box.buttons() if b.text() == button), None)
        if chosen is not None:
            chosen.click()
        else:
            box.close()

    QTimer.singleShot(0, answer)


def test_a_port_in_use_is_named_and_the_trader_may_quit(qapp: QApplication, tmp_path: Path) -> None:
    taken = socket.create_server(("127.0.0.1", 0))  # the API's port is in use
    port = taken.getsockname()[1]
    told: list[str] = []
    _answer_the_message(qapp, told)
    try:
        code = main(["--data-dir", str(tmp_path), "--broker", "sim", "--port", str(port)])
    finally:
        taken.close()

    assert code == 2
    assert f"--port {port}: already in use" in told[0] and "Traceback" not in told[0]
    assert "engine not started" in told[1] and "connecting" not in told[1]


def test_a_port_in_use_can_be_traded_for_a_free_one(qapp: QApplication, tmp_path: Path) -> None:
    taken = socket.create_server(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    told: list[str] = []
    api: list[str] = []
    _answer_the_message(qapp, told, "Use any free port")

    def close_once_attached() -> None:
        window = next((w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow)), None)
        if window is not None and window.is_attached:
            api.append(window.status.api.text())
            window.close()
        else:
            QTimer.singleShot(50, close_once_attached)

    QTimer.singleShot(0, close_once_attached)
    try:
        code = main(["--data-dir", str(tmp_path), "--broker", "sim", "--port", str(port)])
    finally:
        taken.close()

    assert code == 0
    assert told and api and f":{port}" not in api[0] and "API http://127.0.0.1:" in api[0]


def test_a_bad_db_url_is_named_as_the_db_setting(qapp: QApplication, tmp_path: Path) -> None:
    told: list[str] = []
    _answer_the_message(qapp, told)
    code = main(["--data-dir", str(tmp_path), "--broker", "sim", "--port", "0", "--db", "nonsense"])

    assert code == 2
    assert told[0].startswith("--db: 'nonsense' is not a database URL")
    assert "engine not started" in told[1]


def test_a_data_dir_that_cannot_be_used_is_named_with_a_way_to_choose_another(
    qapp: QApplication, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    told: list[str] = []
    _answer_the_message(qapp, told)
    code = main(["--data-dir", str(a_file / "data"), "--broker", "sim", "--port", "0"])

    assert code == 2
    assert told[0].startswith(f"--data-dir {a_file / 'data'}: cannot be used as the data dir")
    err = capsys.readouterr().err
    assert "Traceback" not in err and "--data-dir" in err


def test_another_data_dir_chosen_in_the_dialog_is_used(
    qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    chosen = tmp_path / "chosen"
    chosen.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_args: str(chosen))
    told: list[str] = []
    _answer_the_message(qapp, told, "Choose another folder…")
    settings = build_settings(build_parser().parse_args(["--data-dir", str(a_file / "data")]))

    usable = with_usable_data_dir(settings)

    assert told and usable is not None and usable.data_dir == chosen


def test_version_answers_without_a_display(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert __version__ in capsys.readouterr().out


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_stops_the_console_cleanly(
    qapp: QApplication, tmp_path: Path, signum: signal.Signals, capsys: pytest.CaptureFixture[str]
) -> None:
    sent: list[bool] = []

    def signal_once_attached() -> None:
        window = next((w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow)), None)
        if window is not None and window.is_attached:
            sent.append(True)
            os.kill(os.getpid(), signum)
        else:
            QTimer.singleShot(50, signal_once_attached)

    QTimer.singleShot(0, signal_once_attached)
    code = main(["--data-dir", str(tmp_path), "--broker", "sim", "--port", "0"])

    assert sent and code == 0
    assert "Traceback" not in capsys.readouterr().err
    wal = tmp_path / "executions.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed: the store is whole in one file
    again = SingleInstance(tmp_path)
    assert again.acquire()  # the data dir was let go
    again.release()
