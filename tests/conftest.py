"""Shared fixtures: a real engine on the real adapter, the simulator and an SQLite file per test."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import AsyncIterator, Callable, Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
import pytest_asyncio  # noqa: E402

from app.broker.mt5_adapter import MT5Broker  # noqa: E402
from app.engine.config import EngineConfig  # noqa: E402
from app.engine.engine import ExecutionEngine  # noqa: E402
from app.sim.scenario import Scenario  # noqa: E402
from app.sim.terminal import SimulatedTerminal  # noqa: E402
from app.store.repository import ExecutionStore  # noqa: E402
from tests.postgres import postgres_url  # noqa: E402

AUDIT_KEY = b"test-audit-key-0123456789abcdef"

# Delays in milliseconds so that retry, back-off and timeout paths run in a test's time.
FAST = {"backoff_initial_s": 0.002, "poll_interval_s": 0.01, "order_timeout_s": 0.5}


@dataclass
class Harness:
    engine: ExecutionEngine
    sim: SimulatedTerminal
    broker: MT5Broker
    store: ExecutionStore


@pytest.fixture(params=["sqlite"])
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

    async def make(*, behaviour: dict[str, Any] | None = None, symbols: dict[str, dict[str, Any]] | None = None,
                   account: dict[str, Any] | None = None, scenario: Scenario | None = None, **config: Any) -> Harness:
        scenario = (scenario or Scenario()).with_overrides(account=account, symbols=symbols, behaviour=behaviour)
        sim = SimulatedTerminal(scenario)
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
