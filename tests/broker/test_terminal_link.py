"""The adapter against a terminal that misbehaves: lost, AutoTrading off, hidden symbols, silent."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from app.adapters.broker.connection import ConnectionSupervisor, LinkState
from app.adapters.broker.mt5_adapter import MT5Broker
from app.adapters.broker.types import BrokerUnavailable
from app.adapters.sim.scenario import Scenario
from app.adapters.sim.terminal import SimulatedTerminal
from app.domain.contracts import ExecutionStatus, RejectionReason
from tests.builders import rpm
from tests.conftest import Harness, HarnessFactory

S, R = ExecutionStatus, RejectionReason


class Tampered:
    """A MetaTrader5-like module with some functions replaced, the rest passed through."""

    def __init__(self, module: Any, **overrides: Any) -> None:
        self._module = module
        self.__dict__.update(overrides)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


async def run(h: Harness):  # type: ignore[no-untyped-def]
    parsed, raw = rpm()
    return await h.engine.execute(parsed, raw=raw, channel="test")


async def test_a_terminal_lost_mid_session_is_seen_and_recovered(harness: Harness) -> None:
    link = ConnectionSupervisor(harness.broker, backoff_initial_s=0)
    assert (await link.check_once()).state is LinkState.CONNECTED
    harness.sim.set_connected(False)
    assert (await link.check_once()).state is not LinkState.CONNECTED
    rejected = await run(harness)
    assert (rejected.status, rejected.rejection_reason) == (S.REJECTED, R.MARKET_DATA_UNAVAILABLE)
    assert harness.sim.order_send_calls == 0  # nothing is sent while disconnected
    harness.sim.set_connected(True)
    assert (await link.check_once()).state is LinkState.CONNECTED
    assert (await run(harness)).status is S.FILLED


async def test_a_silent_terminal_is_reinitialized_with_back_off(harness: Harness) -> None:
    answers = {"ipc": False}
    initialize_calls = 0
    sim = harness.sim

    def terminal_info() -> Any:
        return sim.terminal_info() if answers["ipc"] else None

    def initialize(*args: Any, **kwargs: Any) -> bool:
        nonlocal initialize_calls
        initialize_calls += 1
        return answers["ipc"] and sim.initialize(*args, **kwargs)

    broker = MT5Broker(Tampered(sim, terminal_info=terminal_info, initialize=initialize), name="sim")
    link = ConnectionSupervisor(broker, backoff_initial_s=60)
    try:
        status = await link.check_once()
        assert status.state is LinkState.RECONNECTING and status.attempts == 1
        await link.check_once()  # inside the back-off: no second initialize yet
        assert initialize_calls == 1
        answers["ipc"] = True
        link._next_attempt = 0  # the back-off has run out
        assert (await link.check_once()).state is LinkState.CONNECTED
        assert initialize_calls == 2
    finally:
        await broker.close()


async def test_autotrading_disabled_is_refused_with_a_clear_message(harness_factory: HarnessFactory) -> None:
    h = await harness_factory()
    sim = h.sim
    h.broker.mt5 = Tampered(sim, terminal_info=lambda: sim.terminal_info()._replace(trade_allowed=False))
    execution = await run(h)
    assert execution.rejection_reason is R.SYMBOL_NOT_TRADABLE
    assert "AutoTrading" in (execution.rejection_details or "")
    assert sim.order_send_calls == 0


async def test_autotrading_switched_off_at_send_is_a_final_rejection(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(behaviour={"reject_retcode": 10027})
    execution = await run(h)
    assert execution.rejection_reason is R.BROKER_REJECTION
    assert "10027 TRADE_RETCODE_CLIENT_DISABLES_AT" in (execution.rejection_details or "")
    assert h.sim.order_send_calls == 1


async def test_a_symbol_outside_market_watch_is_selected_first(harness: Harness) -> None:
    assert harness.sim.symbol_select("EURUSD", False)
    assert harness.sim.symbol_info("EURUSD").visible is False
    assert (await run(harness)).status is S.FILLED
    assert harness.sim.symbol_info("EURUSD").visible is True


async def test_a_terminal_that_never_answers_initialize_is_unavailable() -> None:
    sim = SimulatedTerminal(Scenario())

    release = threading.Event()

    def hangs(*args: Any, **kwargs: Any) -> bool:
        release.wait(300)
        return False

    broker = MT5Broker(Tampered(sim, initialize=hangs), name="mt5")
    try:
        # Given up while the terminal still hangs: waiting on it would outlast the test's timeout.
        with pytest.raises(BrokerUnavailable, match="did not answer initialize"):
            await broker.connect(answer_within_s=0.1)
    finally:
        release.set()
    await broker.close()
