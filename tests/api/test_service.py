"""EngineService on a loop it does not own, as the Qt console runs it: starts, serves, stops, leaves signals alone."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from app.host.service import EngineService, is_loopback
from app.host.settings import Settings
from tests.api.polling import eventually_async
from tests.api.served import ROOT, serve_env
from tests.builders import rpm_payload


async def test_the_service_serves_the_api_and_the_inbox_on_the_running_loop(tmp_path: Path) -> None:
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    settings = Settings(
        data_dir=tmp_path,
        broker="sim",
        port=0,
        inbox=tmp_path / "inbox",
        audit_key="service-test-key-0123456789",
        api_token=None,
    )
    service = EngineService(settings)
    await service.start()
    try:
        assert service.endpoint is not None and service.token is not None
        headers = {"Authorization": f"Bearer {service.token.secret}"}
        async with httpx.AsyncClient(base_url=service.endpoint.url, headers=headers) as api:
            confirmation = (await api.post("/execute", json=rpm_payload(units=1000))).json()
            assert confirmation["status"] == "FILLED"

        (tmp_path / "inbox" / "one.json").write_text(json.dumps(rpm_payload(units=1000)))
        answer = tmp_path / "inbox" / "outbox" / "one.confirmation.json"
        assert json.loads(await eventually_async(lambda: answer.exists() and answer.read_text()))["status"] == "FILLED"
        assert {sig: signal.getsignal(sig) for sig in handlers} == handlers  # the owner's, not uvicorn's
    finally:
        assert await service.stop(drain_s=5.0) == 0
    async with httpx.AsyncClient() as after:
        with pytest.raises(httpx.ConnectError):
            await after.get(f"{service.endpoint.url}/health")  # the port is closed


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("0.0.0.0", False), ("", False), ("8.8.8.8", False)],
)
def test_only_loopback_addresses_count_as_local(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_service_on_an_exposed_address_needs_a_chosen_token(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="EXEC_API_TOKEN"):
        EngineService(Settings(data_dir=tmp_path, host="0.0.0.0", api_token=None))
    EngineService(Settings(data_dir=tmp_path, host="0.0.0.0", api_token="chosen-by-the-operator-0123456789"))


def test_the_service_runs_unchanged_on_the_qt_event_loop(tmp_path: Path) -> None:
    """The console's case: qasync's loop, not asyncio's. In a process of its own: a qasync loop, once
    closed, leaves Qt objects behind that would break the Qt tests running after it."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.api.on_qt_loop", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**serve_env(), "QT_QPA_PLATFORM": "offscreen"},
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["api:FILLED", "inbox:FILLED", "left:0"]


async def test_a_start_cancelled_while_the_runtime_is_built_leaves_nothing_running(tmp_path: Path) -> None:
    """The console closed while the terminal was still answering: what the build opens is closed again."""

    def writers() -> int:
        return sum(1 for t in threading.enumerate() if t.name == "store-writer")

    before = writers()
    service = EngineService(Settings(data_dir=tmp_path, broker="sim", port=0, audit_key="c" * 24))
    starting = asyncio.ensure_future(service.start())
    await eventually_async(lambda: service.endpoint is not None, every_s=0)  # the port is claimed: building
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await starting
    assert service.runtime is None
    await service.stop(drain_s=10.0)  # waits for what the cancelled build opened, and closes it
    assert writers() == before
    assert (tmp_path / "executions.db").exists()
    assert not (tmp_path / "executions.db-wal").exists()  # SQLite removes it when the last connection closes
    assert service.endpoint is not None
    async with httpx.AsyncClient() as after:
        with pytest.raises(httpx.ConnectError):
            await after.get(f"{service.endpoint.url}/health")
