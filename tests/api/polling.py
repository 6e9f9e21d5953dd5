"""Waiting for a condition a user would wait for: a bounded poll, never a bare sleep. The bounds are
generous (a busy machine may be slow); they only cost time when a test fails."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


def eventually(check: Callable[[], Any], within_s: float = 60.0, every_s: float = 0.05) -> Any:
    """Poll `check` until it returns something truthy; that value. AssertionError after `within_s`."""
    deadline = time.monotonic() + within_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within_s} s")
        time.sleep(every_s)


async def eventually_async(check: Callable[[], Any], within_s: float = 60.0, every_s: float = 0.02) -> Any:
    """The same on a running loop; `check` may be a plain function or return an awaitable."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within_s} s")
        await asyncio.sleep(every_s)
