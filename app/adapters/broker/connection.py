"""Watching the terminal link: a lost terminal is detected, shown, and reconnected with back-off.

While the link is down nothing is sent: step 1 sees a disconnected terminal and rejects the
execution (MARKET_DATA_UNAVAILABLE) rather than holding it, so upstream hears at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.adapters.broker.types import BrokerUnavailable, SupervisedBroker
from app.domain.execution import utcnow
from app.domain.retry import RetryPolicy

log = logging.getLogger(__name__)


class LinkState(StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"  # the terminal answers but has lost its trade server: it reconnects itself
    RECONNECTING = "reconnecting"  # the terminal itself does not answer: we initialize() again, with back-off


@dataclass(frozen=True)
class LinkStatus:
    state: LinkState
    since: datetime
    detail: str
    attempts: int = 0


class ConnectionSupervisor:
    def __init__(
        self,
        broker: SupervisedBroker,
        *,
        check_interval_s: float = 2.0,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 60.0,
        answer_within_s: float = 10.0,
    ) -> None:
        self.broker = broker
        self.check_interval_s = check_interval_s
        self.retry = RetryPolicy(backoff_initial_s, 2.0, max_delay_s=backoff_max_s)  # never gives up
        self.answer_within_s = answer_within_s
        self.status = LinkStatus(LinkState.CONNECTED, utcnow(), "connected")
        self._listeners: list[Callable[[LinkStatus], None]] = []
        self._next_attempt = 0.0

    def subscribe(self, listener: Callable[[LinkStatus], None]) -> None:
        self._listeners.append(listener)

    def _set(self, state: LinkState, detail: str, attempts: int = 0) -> None:
        changed = state is not self.status.state
        self.status = LinkStatus(state, utcnow() if changed else self.status.since, detail, attempts)
        if changed:
            log.warning("broker link %s: %s", state.value, detail)
            for listener in list(self._listeners):
                listener(self.status)

    async def check_once(self) -> LinkStatus:
        answers, connected, detail = await self.broker.probe(self.answer_within_s)
        if answers:
            self._set(LinkState.CONNECTED if connected else LinkState.DISCONNECTED, detail)
            return self.status
        loop = asyncio.get_running_loop()
        attempts = self.status.attempts if self.status.state is LinkState.RECONNECTING else 0
        if loop.time() < self._next_attempt:
            return self.status
        attempts += 1
        try:
            await self.broker.reconnect(self.answer_within_s)
        except BrokerUnavailable as exc:
            self._next_attempt = loop.time() + self.retry.delay(attempts)
            self._set(LinkState.RECONNECTING, f"{detail}; reconnect attempt {attempts} failed: {exc}", attempts)
            return self.status
        self._set(LinkState.CONNECTED, f"reconnected after {attempts} attempt(s)")
        return self.status

    async def run(self) -> None:
        while True:
            try:
                await self.check_once()
            except Exception:  # the watch must outlive any one bad check
                log.exception("broker link check failed")
            await asyncio.sleep(self.check_interval_s)
