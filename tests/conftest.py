"""Shared fixtures: a real engine on the real adapter, the simulator and an SQLite file per test."""

from __future__ import annotations

import os
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from app.adapters.broker.mt5_adapter import MT5Broker
from app.adapters.sim.scenario import Scenario
from app.adapters.sim.terminal import SimulatedTerminal
from app.engine.config import EngineConfig
from app.engine.engine import ExecutionEngine
from app.store.repository import ExecutionStore
from tests.postgres import postgres_url

AUDIT_KEY = b"test-audit-key-0123456789abcdef"

# Delays in milliseconds so that retry, back-off and timeout paths run in a test's time.
FAST = {"backoff_initial_s": 0.002, "poll_interval_s": 0.01, "order_timeout_s": 0.5}


# Simulated seconds an order rests at the broker before it fills, in tests that say when it fills.
REST_S = 100.0


class BrokerClock:
    """The simulator's clock: the machine's, plus what the test has moved it on by. An order resting
    REST_S fills when the test advances the clock, never because the machine was slow."""

    def __init__(self) -> None:
        self._ahead = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return time.time() + self._ahead

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._ahead += seconds


@dataclass
class Harness:
    engine: ExecutionEngine
    sim: SimulatedTerminal
    broker: MT5Broker
    store: ExecutionStore


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'executions.db'}"
    else:
        yield from postgres_url()


@pytest.fixture
def store_factory(db_url: str) -> Iterator[Callable[[], ExecutionStore]]:
    opened: list[ExecutionStore] = []

    def make() -> ExecutionStore:
        store = ExecutionStore.open(db_url, AUDIT_KEY)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


HarnessFactory = Callable[..., Any]


@pytest_asyncio.fixture
async def harness_factory(store_factory: Callable[[], ExecutionStore]) -> AsyncIterator[HarnessFactory]:
    brokers: list[MT5Broker] = []

    async def make(
        *,
        behaviour: dict[str, Any] | None = None,
        symbols: dict[str, dict[str, Any]] | None = None,
        account: dict[str, Any] | None = None,
        scenario: Scenario | None = None,
        clock: Callable[[], float] = time.time,
        **config: Any,
    ) -> Harness:
        scenario = (scenario or Scenario()).with_overrides(account=account, symbols=symbols, behaviour=behaviour)
        sim = SimulatedTerminal(scenario, clock=clock)
        broker = MT5Broker(sim, name="sim")
        await broker.connect()
        brokers.append(broker)
        engine = ExecutionEngine(broker, store_factory(), EngineConfig(**{**FAST, **config}))
        return Harness(engine, sim, broker, engine.store)

    yield make
    for broker in brokers:
        await broker.close()


@pytest_asyncio.fixture
async def harness(harness_factory: HarnessFactory) -> Harness:
    h: Harness = await harness_factory()
    return h
