"""`execution-engine serve` as an operator runs it: where it listens, how it stops, what it refuses."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from app.interfaces.cli import main as cli_main
from app.store.repository import ExecutionStore
from tests.api.polling import eventually
from tests.api.served import AUDIT_KEY, ROOT, SCENARIOS, Served, serve_command, serve_env
from tests.builders import rpm_payload


def slow_fills(tmp_path: Path) -> str:
    """A scenario whose broker rests every market order 0.6 s before filling it."""
    scenario = tmp_path / "slow_fill.toml"
    scenario.write_text("[behaviour]\npending_fill_after_s = 0.6\n")
    return str(scenario)


def stored_status(data_dir: Path, execution_id: str) -> str:
    store = ExecutionStore.open(f"sqlite:///{data_dir / 'x.db'}", AUDIT_KEY.encode())
    try:
        execution = asyncio.run(store.get(execution_id))
    finally:
        store.close()
    assert execution is not None
    return execution.status.value


def test_serve_says_where_it_listens_which_broker_and_database(served: Served) -> None:
    assert served.url.startswith("http://127.0.0.1:")
    assert "broker: sim: chosen by --broker sim" in served.lines
    assert f"database: sqlite:///{served.data_dir / 'x.db'}" in served.lines
    assert httpx.get(f"{served.url}/openapi.json").json()["info"]["title"] == "FX execution engine"


def test_sigterm_lets_an_execution_in_flight_finish_then_exits_0(tmp_path: Path) -> None:
    served = Served.start(tmp_path, "--sim-scenario", slow_fills(tmp_path))
    with served.client() as api:
        pending = api.post("/execute", params={"wait": "false"}, json=rpm_payload(units=1000)).json()
    assert pending["status"] == "PENDING"

    assert served.stop(signal.SIGTERM) == 0, served.output
    assert "SIGTERM received: stopping; waiting up to 10 s for executions in flight" in served.lines
    assert served.lines[-1] == "stopped"
    assert stored_status(tmp_path, pending["execution_id"]) == "FILLED"


def test_sigint_past_the_drain_bound_leaves_the_execution_recoverable_and_says_so(tmp_path: Path) -> None:
    never_fills = str(SCENARIOS / "never_fills.toml")
    served = Served.start(tmp_path, "--sim-scenario", never_fills, "--order-timeout", "30", "--drain-timeout", "0.3")
    with served.client() as api:
        pending = api.post("/execute", params={"wait": "false"}, json=rpm_payload(units=1000)).json()
        eventually(lambda: api.get(f"/executions/{pending['execution_id']}").json()["status"] == "SUBMITTED")

    assert served.stop(signal.SIGINT) == 0, served.output
    assert served.lines[-1] == "stopped; 1 executions still in flight will be reconciled at the next start"
    assert stored_status(tmp_path, pending["execution_id"]) == "SUBMITTED"  # not lost: the next start reconciles it


def test_a_non_loopback_host_is_refused_without_a_chosen_token(tmp_path: Path) -> None:
    done = subprocess.run(
        [*serve_command(tmp_path), "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=serve_env(),
        timeout=60,
    )
    assert done.returncode == 2
    assert "refusing to serve the API on '0.0.0.0'" in done.stderr
    assert "EXEC_API_TOKEN" in done.stderr
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened


def test_a_non_loopback_host_is_served_with_exec_api_token(tmp_path: Path) -> None:
    token = "a-strong-operator-chosen-token-0123456789"
    served = Served.start(tmp_path, "--host", "0.0.0.0", env={"EXEC_API_TOKEN": token})
    try:
        assert served.url.startswith("http://0.0.0.0:")
        assert "api token: from EXEC_API_TOKEN" in served.lines
        assert not (tmp_path / "api-token").exists()
        port = served.url.rsplit(":", 1)[1]
        local = httpx.get(f"http://127.0.0.1:{port}/history", headers={"Authorization": f"Bearer {token}"})
        assert local.status_code == 200
    finally:
        assert served.stop() == 0


def test_a_port_already_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        command = [*serve_command(tmp_path), "--port", str(port)]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=serve_env(), timeout=60)
    assert done.returncode == 2
    assert f"--port {port}: already in use" in done.stderr
    assert not (tmp_path / "x.db").exists()  # refused before the store was opened


@pytest.mark.parametrize("port", ["-1", "65536", "http"])
def test_a_port_that_is_no_port_is_refused_by_the_command_line(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        cli_main(["serve", "--port", port])
    assert refused.value.code == 2
    assert "is not a TCP port" in capsys.readouterr().err


def test_a_halt_outlives_a_restart_and_the_start_says_so(tmp_path: Path) -> None:
    served = Served.start(tmp_path)
    with served.client() as api:
        api.post("/halt", json={"reason": "desk closed for the night"})
    assert served.stop() == 0

    restarted = Served.start(tmp_path)
    try:
        assert (
            "trading HALTED since before this start: desk closed for the night (POST /resume to resume)"
            in restarted.lines
        )
        with restarted.client() as api:
            assert api.get("/health").json()["trading_halted"] is True
    finally:
        assert restarted.stop() == 0
