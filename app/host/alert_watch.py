"""The alert rules evaluated in the background, each alert sent to the webhook when it starts firing.

The console shows alerts in its window (ui/controllers/monitor.py); this watch is what tells a desk
that is not looking at a window — the same whether the engine runs under `serve` or in the console.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from app import __version__
from app.domain.execution import utcnow
from app.engine.engine import ExecutionEngine
from app.engine.metrics import Alert, compute_metrics
from app.host.alert_webhook import AlertWebhook
from app.interfaces.api.control import broker_connected

log = logging.getLogger(__name__)
CHECK_S = 5.0


def engine_alerts(engine: ExecutionEngine) -> Callable[[], Awaitable[list[Alert]]]:
    """The alerts firing now, as GET /metrics computes them."""

    async def firing() -> list[Alert]:
        connected = await broker_connected(engine)
        extra = engine.positions.alerts()
        metrics = await compute_metrics(engine.store, broker_connected=connected, extra_alerts=extra)
        return metrics.active_alerts

    return firing


def alert_payload(alert: Alert) -> dict[str, Any]:
    """What the webhook receives: the alert's fields, and a `text` line that chat webhooks show as is."""
    return {
        "rule": alert.rule,
        "severity": alert.severity,
        "message": alert.message,
        "raised_at": utcnow().isoformat(),
        "host": socket.gethostname(),
        "source": f"fx-execution-console {__version__}",
        "text": f"{alert.severity.upper()}: {alert.message}",
    }


class AlertWatch:
    """Every `interval_s`: the rules evaluated; a rule that starts firing is sent once, until it stops."""

    def __init__(
        self, firing: Callable[[], Awaitable[list[Alert]]], webhook: AlertWebhook, interval_s: float = CHECK_S
    ) -> None:
        self.firing, self.webhook, self.interval_s = firing, webhook, interval_s
        self._open: set[str] = set()

    async def check(self) -> list[Alert]:
        """One evaluation; returns the alerts it sent."""
        now = await self.firing()
        raised = [a for a in now if a.rule not in self._open]
        self._open = {a.rule for a in now}
        for alert in raised:
            self.webhook.send(alert_payload(alert))
        return raised

    async def run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:  # a store that fails one evaluation must not end the watch
                log.warning("alert rules could not be evaluated for the webhook", exc_info=True)
            await asyncio.sleep(self.interval_s)
