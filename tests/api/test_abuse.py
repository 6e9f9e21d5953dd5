"""The local API under abuse from any local user: half-sent requests by the thousand, slow bodies,
requests for another host (DNS rebinding), weak tokens on an exposed address; and IPv6 loopback."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import selectors
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import httpx
import pytest

from app.host.service import EngineService
from app.host.settings import Settings
from app.interfaces.api import connections
from tests.api.served import ROOT, Served, serve_command, serve_env
from tests.builders import rpm_payload

HALF_OPEN = 2000
DESKTOP_NOFILE = 1024  # a desktop's usual limit of open files per process


def _raise_own_nofile(wanted: int) -> bool:
    """Raise this process's soft limit of open files to `wanted`, within the hard limit; whether it could."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return True
    if hard != resource.RLIM_INFINITY and hard < wanted:
        return False
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return True


def _desktop_nofile() -> None:
    """In the served process before it runs: the limit a desk's machine would give it."""
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = DESKTOP_NOFILE if hard == resource.RLIM_INFINITY else min(DESKTOP_NOFILE, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


@pytest.fixture
def half_open() -> Iterator[list[socket.socket]]:
    """Connections the test holds open itself; all closed at the end, whatever happened."""
    held: list[socket.socket] = []
    yield held
    for sock in held:
        sock.close()


def _open_half_sent(address: tuple[str, int], count: int, within_s: float) -> list[socket.socket]:
    """`count` connections, opened all at once, each with a request whose headers are never finished."""
    selector = selectors.DefaultSelector()
    opened: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            opened.append(sock)
            sock.setblocking(False)
            sock.connect_ex(address)
            selector.register(sock, selectors.EVENT_WRITE)
        deadline = time.monotonic() + within_s
        waiting = count
        while waiting:
            left = deadline - time.monotonic()
            assert left > 0, f"{waiting} of {count} connections not made within {within_s} s"
            for key, _events in selector.select(timeout=left):
                selector.unregister(key.fileobj)
                waiting -= 1
                with contextlib.suppress(OSError):  # already let go by the server: still held here
                    sock = cast(socket.socket, key.fileobj)
                    sock.send(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Never: ")  # headers never finished
    except BaseException:
        for sock in opened:
            sock.close()
        raise
    finally:
        selector.close()
    return opened


@pytest.mark.skipif(os.name != "posix", reason="file descriptor limits are POSIX")
def test_health_and_executions_are_answered_while_2000_half_open_connections_are_held(
    tmp_path: Path, half_open: list[socket.socket]
) -> None:
    if not _raise_own_nofile(HALF_OPEN + 256):
        pytest.skip(f"the hard limit of open files is below {HALF_OPEN + 256}")
    served = Served.start(tmp_path, preexec_fn=_desktop_nofile)
    try:
        address = urlsplit(served.url)
        assert address.hostname is not None and address.port is not None
        half_open += _open_half_sent((address.hostname, address.port), HALF_OPEN, within_s=60.0)

        # Bounded, not timed: on a busy machine the kernel's backlog of the 2,000 may take a while to
        # drain, and a connection waits for its SYN to be retried; what matters is that it is answered.
        for _ in range(3):
            assert httpx.get(f"{served.url}/health", timeout=60.0).json()["status"] == "ok"
        with served.client() as api:
            assert api.post("/execute", json=rpm_payload(units=1000)).json()["status"] == "FILLED"
        descriptors = Path(f"/proc/{served.proc.pid}/fd")
        if descriptors.exists():  # the connections it keeps are bounded, not the 2,000 offered
            assert len(list(descriptors.iterdir())) < connections.MAX_CONNECTIONS + 100
    finally:
        for sock in half_open:
            sock.close()
        code = served.stop()
    assert code == 0, served.output
    assert not [line for line in served.lines if "Traceback" in line or "out of system resource" in line]


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[EngineService]:
    settings = Settings(data_dir=tmp_path, broker="sim", port=0, audit_key="abuse-test-key-0123456789", api_token=None)
    service = EngineService(settings)
    await service.start()
    yield service
    await service.stop(drain_s=1.0)


async def _connect(service: EngineService) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    assert service.endpoint is not None
    return await asyncio.open_connection(service.endpoint.host, service.endpoint.port)


async def test_a_request_whose_headers_do_not_come_in_time_is_disconnected(
    service: EngineService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connections, "HEADERS_S", 0.2)
    reader, writer = await _connect(service)
    writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and nothing more
    assert await asyncio.wait_for(reader.read(), timeout=60.0) == b""  # closed, nothing answered
    writer.close()


async def test_a_request_whose_body_does_not_come_in_time_is_disconnected_quietly_and_nothing_is_recorded(
    service: EngineService, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(connections, "BODY_S", 0.2)
    assert service.token is not None and service.runtime is not None
    reader, writer = await _connect(service)
    head = (
        "POST /execute HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n"
        f"Authorization: Bearer {service.token.secret}\r\n\r\n"
    )
    with caplog.at_level(logging.WARNING):
        writer.write(head.encode() + b'{"decision": ')  # 13 bytes of the 1000 promised
        assert await asyncio.wait_for(reader.read(), timeout=60.0) == b""
        writer.close()
        async with httpx.AsyncClient() as client:  # the server goes on, and has had time to say anything
            assert (await client.get(f"{service.endpoint.url}/health")).status_code == 200  # type: ignore[union-attr]
    assert await service.runtime.store.intake_errors() == []
    assert not [r for r in caplog.records if r.exc_info is not None], [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize("host", ["evil.com", "evil.com:8787", "127.0.0.1.evil.com", "localhost.evil.com"])
@pytest.mark.parametrize("path", ["/health", "/history"])
def test_a_request_naming_another_host_is_refused(served: Served, host: str, path: str) -> None:
    response = httpx.get(f"{served.url}{path}", headers={"Host": host, "Authorization": f"Bearer {served.token}"})
    assert response.status_code == 421
    assert "Host header" in response.json()["detail"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST", "[::1]"])
def test_a_request_naming_this_server_is_answered(served: Served, host: str) -> None:
    port = urlsplit(served.url).port
    for given in (host, f"{host}:{port}"):
        assert httpx.get(f"{served.url}/health", headers={"Host": given}).status_code == 200


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
@pytest.mark.parametrize("host", ["::1", "[::1]"])
def test_the_api_serves_on_ipv6_loopback(tmp_path: Path, host: str) -> None:
    served = Served.start(tmp_path, "--host", host)
    try:
        assert served.url.startswith("http://[::1]:")
        assert httpx.get(f"{served.url}/health", timeout=60.0).json()["status"] == "ok"
        assert httpx.get(f"{served.url}/health", headers={"Host": "evil.com"}).status_code == 421
    finally:
        assert served.stop() == 0, served.output


@pytest.mark.parametrize(
    ("token", "said"),
    [
        ("x" * 31, "EXEC_API_TOKEN has 31 characters: it needs 32 or more"),
        ("   ", "EXEC_API_TOKEN is blank"),
        ("", "Set EXEC_API_TOKEN to a strong secret (32 characters or more"),
    ],
    ids=["short", "blank", "none"],
)
def test_an_exposed_address_needs_a_token_of_32_characters(tmp_path: Path, token: str, said: str) -> None:
    done = subprocess.run(
        serve_command(tmp_path, "--host", "0.0.0.0"),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=serve_env({"EXEC_API_TOKEN": token}),
        timeout=60,
    )
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("execution-engine serve: ") and said in line
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened
