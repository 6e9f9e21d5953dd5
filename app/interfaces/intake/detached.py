"""Work that must outlive whoever waits for it: an execution handed to the engine is never cancelled
because a client hung up, a request timed out or a channel stopped waiting at shutdown.

The engine's drain and the next start's reconciliation look after whatever is still running then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

_running: set[asyncio.Task[Any]] = set()  # strong references: a task nobody awaits any more must still finish


def _settled(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:  # retrieved here, in case its waiter is gone
        log.debug("detached task %s ended with %r", task.get_name(), task.exception())


async def detached(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` in a task of its own and wait for it; cancelling the wait leaves the task running."""
    task = asyncio.ensure_future(work)
    _running.add(task)
    task.add_done_callback(_settled)
    return await asyncio.shield(task)
