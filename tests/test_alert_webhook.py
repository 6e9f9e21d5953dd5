"""Alerts POSTed to the desk's webhook: against a local HTTP server, retried, never holding the loop."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from app.domain.retry import RetryPolicy
from app.engine.metrics import Alert
from app.host.alert_watch import AlertWatch
from app.host.alert_webhook import AlertWebhook, check_webhook_url
from app.host.service import EngineService
from app.host.settings import Settings
from app.interfaces.intake.receive import receive
from tests.builders import rpm_payload
from tests.test_cli import cli

FAST = RetryPolicy(initial_s=0.01, max_attempts=3)
SECRET = "t0ken-in-the-query"


class Hook:
    """A webhook receiver: answers each POST with the next scripted status (200 once they run out)."""

    def __init__(self) -> None:
        self.answers: list[int] = []
        self.bodies: list[dict[str, Any]] = []
        self.arrived = threading.Event()
        self.release = threading.Event()  # the answer waits for it (5 s at most)
        self.release.set()
        self.on_arrival: Callable[[], object] = lambda: None
        self.released: list[bool] = []  # per request: was it released in time
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hook.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                hook.arrived.set()
                hook.on_arrival()
                hook.released.append(hook.release.wait(60))
                self.send_response(hook.answers.pop(0) if hook.answers else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/desk?token={SECRET}"


@pytest.fixture
def hook() -> Iterator[Hook]:
    receiver = Hook()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.release.set()
    receiver.server.shutdown()
    receiver.server.server_close()
    thread.join()


async def test_an_alert_is_posted_as_json(hook: Hook) -> None:
    webhook = AlertWebhook(hook.url, FAST)
    webhook.start()
    webhook.send({"rule": "broker_disconnected", "severity": "critical"})
    await webhook.flush()
    await webhook.stop()

    assert hook.bodies == [{"rule": "broker_disconnected", "severity": "critical"}]
    assert webhook.delivered == 1


async def test_a_500_is_retried_and_the_url_s_secret_is_never_logged(
    hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    hook.answers = [500]
    webhook = AlertWebhook(hook.url, FAST)
    webhook.start()
    with caplog.at_level(logging.WARNING):
        webhook.send({"rule": "r"})
        await webhook.flush()
    await webhook.stop()

    assert hook.bodies == [{"rule": "r"}, {"rule": "r"}]
    assert webhook.delivered == 1
    assert "HTTP 500; retrying" in caplog.text
    assert SECRET not in caplog.text and "/hooks/desk" not in caplog.text


async def test_a_webhook_that_keeps_failing_is_given_up_after_the_policy_s_retries(hook: Hook) -> None:
    hook.answers = [503] * 10
    webhook = AlertWebhook(hook.url, FAST)
    webhook.start()
    webhook.send({"rule": "r"})
    await webhook.flush()
    await webhook.stop()

    assert len(hook.bodies) == 1 + 3  # the first attempt and the policy's three retries
    assert (webhook.delivered, webhook.given_up) == (0, 1)


async def test_a_4xx_is_not_retried(hook: Hook) -> None:
    hook.answers = [404]
    webhook = AlertWebhook(hook.url, FAST)
    webhook.start()
    webhook.send({"rule": "r"})
    await webhook.flush()
    await webhook.stop()

    assert len(hook.bodies) == 1 and webhook.given_up == 1


async def test_a_webhook_waiting_to_answer_does_not_hold_the_loop(hook: Hook) -> None:
    loop = asyncio.get_running_loop()
    hook.release.clear()
    # The receiver answers only once the loop has run a callback: a POST made on the loop would hold
    # it, and the receiver would give up waiting (released False).
    hook.on_arrival = lambda: loop.call_soon_threadsafe(hook.release.set)
    webhook = AlertWebhook(hook.url, FAST)
    webhook.start()
    webhook.send({"rule": "r"})
    await webhook.flush()
    await webhook.stop()

    assert hook.released == [True] and webhook.delivered == 1


async def test_each_alert_is_sent_once_when_it_starts_firing(hook: Hook) -> None:
    down = Alert("broker_disconnected", "critical", "the broker is not connected")
    slow = Alert("avg_slippage", "warning", "average slippage 6 pips")
    evaluations = iter([[down], [down, slow], [slow], [down, slow]])

    async def firing() -> list[Alert]:
        return next(evaluations)

    webhook = AlertWebhook(hook.url, FAST)
    webhook.start()
    watch = AlertWatch(firing, webhook)
    for _ in range(4):
        await watch.check()
    await webhook.flush()
    await webhook.stop()

    assert [(b["rule"], b["severity"]) for b in hook.bodies] == [
        ("broker_disconnected", "critical"),
        ("avg_slippage", "warning"),
        ("broker_disconnected", "critical"),  # it stopped firing, then fired again: a new alert
    ]
    assert hook.bodies[0]["text"] == "CRITICAL: the broker is not connected"


@pytest.mark.parametrize("url", ["not a url", "ftp://desk/hook", "https://", "http://host:port/x"])
def test_a_url_that_cannot_be_posted_to_is_refused_naming_the_setting(url: str) -> None:
    with pytest.raises(ValueError, match=r"^--alert-webhook \(EXEC_ALERT_WEBHOOK\): not an http"):
        check_webhook_url(url)


def test_serve_with_a_bad_webhook_url_exits_with_one_line_naming_it(tmp_path: Path) -> None:
    done = cli("serve", "--broker", "sim", "--port", "0", "--alert-webhook", "chat.example.com/hook", data_dir=tmp_path)

    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0].startswith("execution-engine serve: --alert-webhook (EXEC_ALERT_WEBHOOK): not an http")


async def test_the_service_sends_an_alert_that_starts_firing_to_the_webhook(hook: Hook, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, broker="sim", audit_key="webhook-test-key-0123456789", alert_webhook=hook.url
    )
    service = EngineService(settings, serve_api=False)
    await service.start()
    try:
        assert service.runtime is not None
        for _ in range(11):  # one more than the rule's 10 rejections an hour (TRADING_HALTED)
            await receive(service.runtime.engine, json.dumps(rpm_payload(halted=True)).encode(), channel="test")
        assert await asyncio.to_thread(hook.arrived.wait, 30)  # the watch's next evaluation sends it
    finally:
        await service.stop(drain_s=1.0)

    assert hook.bodies[0]["rule"] == "rejections_high"
    assert hook.bodies[0]["text"] == "WARNING: 11 rejections in the last hour > 10 (100% of executions)"


def test_a_blank_webhook_setting_is_no_webhook(tmp_path: Path) -> None:
    service = EngineService(Settings(data_dir=tmp_path, alert_webhook="  "), serve_api=False)
    assert service.webhook is None
