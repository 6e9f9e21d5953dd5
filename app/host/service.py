"""The engine, the local API and the inbox as one service on whichever event loop runs it.

`execution-engine serve` runs it on asyncio; the Qt console runs the same object on the qasync loop.
Nothing here touches signals or the terminal: the caller decides when to stop and what to print.
Start in stages — claim the port (a port in use fails before anything is opened), build (on a
worker thread: opening the store and asking for a terminal block), connect and reconcile, then serve
— and stop in the reverse order: take no new work, let executions in flight finish within a bound,
then close. What is still running at the bound stays recoverable:
the engine reconciles it at the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import uvicorn

from app.host.runtime import BrokerChoice, Runtime, choose_broker
from app.host.settings import Settings
from app.host.token import ApiToken, load_or_create_token
from app.interfaces.api.app import create_app
from app.interfaces.api.connections import BACKLOG, GuardedConnection
from app.interfaces.intake.inbox import InboxWatcher

log = logging.getLogger(__name__)
_STARTUP_TIMEOUT_S = 10.0
MIN_EXPOSED_TOKEN = 32  # characters of a token guarding an API other machines can reach


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers: the process (or the Qt application) owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def is_loopback(host: str) -> bool:
    """True when every address `host` names is a loopback address (a name is resolved)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos)


def check_exposure(settings: Settings) -> None:
    """Refuse a blank token, and to listen beyond this machine unless the operator chose a strong token
    (EXEC_API_TOKEN, at least MIN_EXPOSED_TOKEN characters)."""
    chosen = settings.api_token.get_secret_value() if settings.api_token is not None else ""
    if chosen and not chosen.strip():
        raise ValueError("EXEC_API_TOKEN is blank: set it to a strong secret, or unset it to have one generated")
    if is_loopback(settings.host):
        return
    refusing = f"refusing to serve the API on {settings.host!r}: not a loopback address, other machines could reach it"
    make_one = 'python -c "import secrets; print(secrets.token_urlsafe(32))" makes one'
    if not chosen:
        raise ValueError(
            f"{refusing}. Set EXEC_API_TOKEN to a strong secret ({MIN_EXPOSED_TOKEN} characters or more: {make_one}) "
            "to allow this, or use --host 127.0.0.1."
        )
    if len(chosen.strip()) < MIN_EXPOSED_TOKEN:
        raise ValueError(
            f"{refusing}, and EXEC_API_TOKEN has {len(chosen.strip())} characters: it needs {MIN_EXPOSED_TOKEN} "
            f"or more ({make_one}), or use --host 127.0.0.1."
        )


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 lets the system choose a free one."""
    try:
        family, _type, _proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        return socket.create_server(address, family=family)
    except OSError as exc:
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


class EngineService:
    """Runtime + API server + inbox watcher; `start()` and `stop()` on the loop that is running."""

    def __init__(
        self,
        settings: Settings,
        *,
        serve_api: bool = True,
        choose_broker: Callable[[Settings], BrokerChoice] = choose_broker,
    ) -> None:
        if serve_api:
            check_exposure(settings)
        self.settings = settings
        self.choose_broker = choose_broker
        self.serve_api = serve_api
        self.runtime: Runtime | None = None
        self.token: ApiToken | None = None
        self.endpoint: Endpoint | None = None
        self.inbox: InboxWatcher | None = None
        self._server: _EmbeddedServer | None = None
        self._server_task: asyncio.Task[None] | None = None
        self._unwanted: asyncio.Future[None] | None = None  # closing a runtime built for a cancelled start

    async def start(self) -> None:
        # The port and the token first: a port in use fails the start before anything is opened.
        sock: socket.socket | None = None
        if self.serve_api:
            secret = self.settings.api_token.get_secret_value() if self.settings.api_token else None
            self.token = await asyncio.to_thread(load_or_create_token, self.settings.data_dir, secret)
            sock = _listen(self.settings.host, self.settings.port)
            self.endpoint = Endpoint(self.settings.host, sock.getsockname()[1])
        try:
            self.runtime = await self._build()
            await self.runtime.start()
            if sock is not None:
                await self._start_api(self.runtime, sock)
                sock = None  # uvicorn's now
            if self.settings.inbox is not None:
                self.inbox = InboxWatcher(
                    self.runtime.engine, self.settings.inbox, max_concurrent=self.settings.max_in_flight
                )
                await self.inbox.start()
        except BaseException:
            if sock is not None:
                sock.close()
            await self.stop(drain_s=0.0)
            raise

    async def _build(self) -> Runtime:
        """Runtime.build on a worker thread. A start cancelled meanwhile (the console closed while the
        terminal was still answering) cannot stop that thread: what it builds is closed when it is done."""
        building = asyncio.ensure_future(asyncio.to_thread(Runtime.build, self.settings, self.choose_broker))
        try:
            return await asyncio.shield(building)
        except asyncio.CancelledError:
            self._unwanted = asyncio.ensure_future(self._close_when_built(building))
            raise

    @staticmethod
    async def _close_when_built(building: asyncio.Future[Runtime]) -> None:
        try:
            runtime = await building
        except Exception:  # nothing was built, nothing to close
            return
        await runtime.stop(drain_s=0.0)

    async def _start_api(self, runtime: Runtime, sock: socket.socket) -> None:
        assert self.token is not None and self.endpoint is not None
        config = uvicorn.Config(
            create_app(runtime.engine, self.token.secret, runtime.link, host=self.settings.host),
            loop="none",  # the loop already running: asyncio here, qasync in the console
            http=GuardedConnection,  # deadlines for requests, a bound on connections (app.interfaces.api.connections)
            backlog=BACKLOG,
            lifespan="off",
            log_config=None,  # leave the process's logging as its owner set it up
            log_level="warning",
            access_log=False,
            ws="none",
        )
        server = _EmbeddedServer(config)
        self._server = server
        self._server_task = asyncio.create_task(server.serve(sockets=[sock]), name="api server")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _STARTUP_TIMEOUT_S
        while not server.started:
            if self._server_task.done():
                self._server_task.result()
                raise RuntimeError("the API server stopped while starting")
            if loop.time() > deadline:
                raise RuntimeError(f"the API server did not start within {_STARTUP_TIMEOUT_S:g} s")
            await asyncio.sleep(0.01)
        log.info("API listening on %s", self.endpoint.url)

    async def stop(self, drain_s: float = 10.0) -> int:
        """Take no new work, give what is in flight `drain_s` seconds, close. Returns how many executions
        were still running at the bound (each is reconciled at the next start)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + drain_s

        def remaining() -> float:
            return max(0.0, deadline - loop.time())

        if self.inbox is not None:
            await self.inbox.close_intake()
        if self._server is not None:
            # uvicorn closes its listening socket at once and waits for requests in progress, this long.
            self._server.config.timeout_graceful_shutdown = math.ceil(drain_s)
            self._server.should_exit = True
        left = 0
        if self.runtime is not None:
            engine = self.runtime.engine
            left = await engine.drain(remaining())
        if self.inbox is not None:
            await self.inbox.stop(remaining())  # the answers for executions that just finished
        if self._server_task is not None:
            _done, pending = await asyncio.wait({self._server_task}, timeout=remaining() + 1.0)
            if pending and self._server is not None:
                self._server.force_exit = True
                self._server_task.cancel()
            await asyncio.gather(self._server_task, return_exceptions=True)
            self._server_task = None
        if self.runtime is not None:
            await self.runtime.stop(drain_s=remaining())
            self.runtime = None
        if self._unwanted is not None:
            await asyncio.wait({self._unwanted}, timeout=remaining())
        return left
