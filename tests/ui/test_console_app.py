"""The whole console as `execution-console` runs it, and one console per data dir."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from app import __version__
from ui.main import build_parser, build_settings, main
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
            window.close()
        else:
            QTimer.singleShot(50, close_once_an_execution_shows)

    QTimer.singleShot(0, close_once_an_execution_shows)
    given = ["--sim-scenario", str(SCENARIOS / scenario)] if scenario else []
    code = main(["--demo", "--data-dir", str(tmp_path / "demo"), "--port", "0", *given])

    assert code == 0
    assert seen["rows"] >= 1 and seen["api"] == 1
    again = SingleInstance(tmp_path / "demo")
    assert again.acquire()  # the console let go of its data dir
    again.release()


def test_a_second_console_on_the_same_data_dir_brings_the_first_forward_and_exits(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path
) -> None:
    running = SingleInstance(tmp_path)
    assert running.acquire()
    try:
        with qtbot.waitSignal(running.activated, timeout=5000):
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


def test_a_console_that_cannot_start_says_why_and_exits_with_an_error(qapp: QApplication, tmp_path: Path) -> None:
    taken = socket.create_server(("127.0.0.1", 0))  # the API's port is in use
    port = taken.getsockname()[1]
    told: list[str] = []

    def close_the_message() -> None:
        box = next((w for w in qapp.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()), None)
        if box is None:
            QTimer.singleShot(50, close_the_message)
            return
        told.append(box.text())
        box.close()

    QTimer.singleShot(0, close_the_message)
    try:
        code = main(["--data-dir", str(tmp_path), "--broker", "sim", "--port", str(port)])
    finally:
        taken.close()

    assert code == 1
    assert told and f"cannot listen on 127.0.0.1:{port}" in told[0]


def test_version_answers_without_a_display(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert __version__ in capsys.readouterr().out
