"""Building the engine from settings: which broker, which store, which keys — in stages.

Build objects, then connect, then run: the same Runtime serves `execute`, `serve` and the console.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from app.adapters.broker.connection import ConnectionSupervisor
from app.adapters.broker.mt5_adapter import MT5Broker
from app.adapters.broker.types import BrokerUnavailable, SupervisedBroker
from app.adapters.sim.scenario import load_scenario
from app.adapters.sim.terminal import SimulatedTerminal
from app.adapters.trace.recorder import recording
from app.adapters.trace.tracefile import TraceFile
from app.engine.engine import ExecutionEngine
from app.host.audit_key import load_or_create_key
from app.host.credentials import mt5_password
from app.host.settings import Settings
from app.store.repository import ExecutionStore

log = logging.getLogger(__name__)


@dataclass
class BrokerChoice:
    broker: SupervisedBroker
    why: str
    trace: TraceFile | None = None  # the broker trace being recorded, closed at the stop


def mt5_initialize_kwargs(settings: Settings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"timeout": settings.mt5_timeout_ms}
    if settings.mt5_path:
        kwargs["path"] = settings.mt5_path
    if settings.mt5_login is not None:
        kwargs["login"] = settings.mt5_login
    if settings.mt5_server:
        kwargs["server"] = settings.mt5_server
    password = mt5_password(settings.mt5_password, settings.mt5_login)
    if password is not None:
        kwargs["password"] = password
    return kwargs


def simulator(settings: Settings, *, persist: bool = True) -> SimulatedTerminal:
    """The simulated terminal; its orders and deals live in the data dir unless the scenario says where."""
    scenario = load_scenario(settings.sim_scenario)
    if persist and not scenario.behaviour.state_file:
        state = settings.data_dir / "sim-state.json"
        scenario = replace(scenario, behaviour=replace(scenario.behaviour, state_file=str(state)))
    return SimulatedTerminal(scenario)


def choose_broker(settings: Settings) -> BrokerChoice:
    """mt5 where the MetaTrader5 module imports and a terminal answers; otherwise the simulator."""
    if settings.broker != "sim":
        try:
            module, trace = recording(importlib.import_module("MetaTrader5"), settings.broker_trace)
        except ImportError:
            if settings.broker == "mt5":
                raise BrokerUnavailable(
                    "--broker mt5: the MetaTrader5 package is not installed (Windows only)"
                ) from None
            why = "sim: no MetaTrader5 module on this machine"
        else:
            kwargs = mt5_initialize_kwargs(settings)
            if module.initialize(**kwargs):
                broker = MT5Broker(module, name="mt5", initialize_kwargs=kwargs)
                return BrokerChoice(broker, "mt5: terminal answered", trace)
            code, message = module.last_error()
            if trace is not None:
                trace.close()
            if settings.broker == "mt5":
                raise BrokerUnavailable(f"--broker mt5: the terminal did not answer initialize(): {code} {message}")
            why = f"sim: the MT5 terminal did not answer ({code} {message})"
    else:
        why = "sim: chosen by --broker sim"
    return simulated_broker(settings, why)


def simulated_broker(
    settings: Settings, why: str, venues: Callable[[Any], Any] = lambda terminal: terminal
) -> BrokerChoice:
    """The adapter over the simulator (seen through `venues`, the demo's), recorded where asked."""
    module, trace = recording(venues(simulator(settings)), settings.broker_trace)
    return BrokerChoice(MT5Broker(module, name="sim"), why, trace)


@dataclass
class Runtime:
    settings: Settings
    store: ExecutionStore
    broker: SupervisedBroker
    broker_why: str
    trace: TraceFile | None = None
    engine: ExecutionEngine = field(init=False)
    link: ConnectionSupervisor = field(init=False)
    _tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.engine = ExecutionEngine(self.broker, self.store, self.settings.engine_config())
        self.link = ConnectionSupervisor(self.broker)

    @classmethod
    def build(cls, settings: Settings, choose: Callable[[Settings], BrokerChoice] = choose_broker) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        secret = settings.audit_key.get_secret_value() if settings.audit_key else None
        key = load_or_create_key(settings.data_dir, secret)
        store = ExecutionStore.open(settings.database_url, key, settings.data_dir)
        choice = choose(settings)
        return cls(settings, store, choice.broker, choice.why, choice.trace)

    async def start(self) -> None:
        """Connect, then bring every unfinished execution to its true state and check the broker's
        positions against the record before taking new executions.

        A terminal that does not answer does not stop the start: the link supervisor keeps trying,
        executions are rejected meanwhile, and what could not be reconciled is retried by the watch."""
        try:
            await self.broker.connect()
        except BrokerUnavailable as exc:
            log.error("broker unavailable at start-up: %s", exc)
            await self.link.check_once()
        await self.engine.restore_halt()
        recovered = await self.engine.recover()
        if recovered:
            log.info("reconciled %d unfinished executions at start-up", len(recovered))
        await self.engine.positions.check_logged()
        resumed = await self.engine.markouts.resume()
        if resumed:
            log.info("resumed the mark-outs of %d executions", resumed)
        self._tasks = [
            asyncio.create_task(self.engine.markouts.run(), name="mark-outs"),
            asyncio.create_task(self.engine.watch(), name="reconciler"),
            asyncio.create_task(self.engine.positions.watch(), name="position-reconciliation"),
            asyncio.create_task(self.link.run(), name="broker-link"),
        ]

    async def stop(self, drain_s: float = 10.0) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # Bounded: a task stuck in a broker call that never answers must not hold the stop.
            await asyncio.wait(self._tasks, timeout=5.0)
        left = await self.engine.drain(drain_s)
        if left:
            log.warning("%d executions still in flight at shutdown: they will be reconciled at the next start", left)
        await self.broker.close()
        if self.trace is not None:
            self.trace.close()
        self.store.close()
