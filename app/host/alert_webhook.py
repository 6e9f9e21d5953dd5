"""Alerts POSTed as JSON to the desk's webhook (EXEC_ALERT_WEBHOOK / --alert-webhook): its chat or pager.

The loop only puts an alert on a queue; one task sends them in order, each POST on a worker thread,
retried with the one back-off policy (app.domain.retry) after a connection failure or a 5xx answer.
The URL may carry a secret (a token in its path or query): logs and messages name its scheme and host only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from app.domain.retry import RetryPolicy

log = logging.getLogger(__name__)
SETTING = "--alert-webhook (EXEC_ALERT_WEBHOOK)"
POLICY = RetryPolicy(initial_s=1.0, max_delay_s=30.0, max_attempts=5)
QUEUE_LIMIT = 200  # alerts waiting for a webhook that is down; more are dropped, and logged


def webhook_where(url: str) -> str:
    """The URL's scheme and host: what logs may show of it (its path and query may hold a token)."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def check_webhook_url(url: str) -> str:
    """The URL, stripped; a ValueError of one line naming the setting when it cannot be posted to."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{SETTING}: not an http:// or https:// URL with a host; give the webhook's full URL"
            " (e.g. https://chat.example.com/hooks/…) or leave it unset"
        )
    return url


class AlertWebhook:
    """Sends each payload once it is queued, retrying within `policy`; `start` and `stop` on the running loop."""

    def __init__(self, url: str, policy: RetryPolicy = POLICY, timeout_s: float = 10.0) -> None:
        self._url = check_webhook_url(url)
        self.where = webhook_where(self._url)
        self.policy = policy
        self.timeout_s = timeout_s
        self.delivered = 0
        self.given_up = 0
        self._queue: asyncio.Queue[dict[str, Any]] | None = None
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"AlertWebhook({self.where})"

    def start(self) -> None:
        self._queue = asyncio.Queue(QUEUE_LIMIT)
        self._task = asyncio.create_task(self._run(), name="alert webhook")

    def send(self, payload: dict[str, Any]) -> None:
        """Queue one payload; never waits (a webhook that is slow or down must not hold the engine)."""
        if self._queue is None:
            raise RuntimeError("the alert webhook has not started")
        try:
            self._queue.put_nowait(payload)
        except asyncio.QueueFull:
            log.error("alert webhook %s: %d alerts waiting already; this one is dropped", self.where, QUEUE_LIMIT)

    async def flush(self) -> None:
        """Wait until every queued payload is delivered or given up on."""
        if self._queue is not None:
            await self._queue.join()

    async def stop(self, timeout_s: float = 2.0) -> None:
        """Give the queued payloads `timeout_s` to go out, then stop sending."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.flush(), timeout_s)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            payload = await self._queue.get()
            try:
                if await self._deliver(json.dumps(payload).encode()):
                    self.delivered += 1
                else:
                    self.given_up += 1
            finally:
                self._queue.task_done()

    async def _deliver(self, body: bytes) -> bool:
        failures = 0
        while True:
            failed = await asyncio.to_thread(self._post, body)
            if failed is None:
                return True
            why, worth_retrying = failed
            failures += 1
            if not worth_retrying or self.policy.exhausted(failures):
                log.error("alert webhook %s: not delivered after %d attempts (%s)", self.where, failures, why)
                return False
            delay = self.policy.delay(failures)
            log.warning("alert webhook %s: %s; retrying in %g s", self.where, why, delay)
            await asyncio.sleep(delay)

    def _post(self, body: bytes) -> tuple[str, bool] | None:
        """One POST on a worker thread: None when accepted, else why not (never the URL itself) and
        whether another attempt may do better (not after a 4xx: the request itself is refused)."""
        request = urllib.request.Request(
            self._url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                answer.read()
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code}", exc.code >= 500 or exc.code == 429  # 429: too many, for now
        except (urllib.error.URLError, OSError) as exc:
            return f"no answer ({getattr(exc, 'reason', exc)})", True
        return None
