"""Mark-outs: the mid 1 s, 5 s, 30 s and 60 s after each fill, signed for the trade (app.domain.tca).

One queue of moments, in time order. At its moment a mark-out is read from the broker's live quote; a
moment that passed while the engine was not watching (down, busy, the broker away) is looked up in the
broker's tick history instead, or recorded missing when the history has no tick for it. The queue lives
in the store too (execution_tca.markouts_pending): a restart resumes it (`resume`).

The clock is injected, and `run_due` samples what is due by it: tests move the clock instead of waiting.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from app.adapters.broker.types import Broker, BrokerUnavailable, Quote
from app.domain.execution import utcnow
from app.domain.tca import MarkoutJob, MarkoutSource, horizon_name
from app.engine.slippage import slippage_pips
from app.store.repository import ExecutionStore

log = logging.getLogger(__name__)

LIVE_WITHIN = timedelta(seconds=1)  # later than this after its moment, the live quote is not that moment's
RETRY_AFTER = timedelta(seconds=5)  # the broker could not be asked: try again (from history) this much later
IDLE_S = 3600.0  # the runner's longest sleep when nothing is due; a new mark-out wakes it at once


class MarkoutScheduler:
    def __init__(
        self,
        broker: Broker,
        store: ExecutionStore,
        *,
        clock: Callable[[], datetime] = utcnow,
        on_recorded: Callable[[str], None] | None = None,
    ) -> None:
        self.broker = broker
        self.store = store
        self.clock = clock
        self._on_recorded = on_recorded
        self._queue: list[tuple[datetime, datetime, str, int]] = []  # (try at, moment, execution id, horizon)
        self._jobs: dict[str, MarkoutJob] = {}
        self._queued: set[tuple[str, int]] = set()
        self._left: dict[str, int] = {}  # per execution, its horizons still queued
        self._wake: asyncio.Event | None = None

    def schedule(self, job: MarkoutJob) -> None:
        """Queue the execution's mark-outs not yet settled (a horizon already queued is not queued twice)."""
        self._jobs[job.execution_id] = job
        for horizon in job.tca.pending:
            if (job.execution_id, horizon) not in self._queued:
                self._queued.add((job.execution_id, horizon))
                self._left[job.execution_id] = self._left.get(job.execution_id, 0) + 1
                due = job.tca.due(horizon)
                heapq.heappush(self._queue, (due, due, job.execution_id, horizon))
        if self._wake is not None:
            self._wake.set()

    async def resume(self) -> int:
        """Queue what the store says is still to sample (after a restart); returns how many executions."""
        pending = await self.store.pending_markouts()
        for p in pending:
            self.schedule(p)
        return len(pending)

    def next_due(self) -> datetime | None:
        return self._queue[0][0] if self._queue else None

    async def run_due(self) -> int:
        """Sample every mark-out whose moment has come by the clock; returns how many were settled."""
        settled = 0
        while self._queue and self._queue[0][0] <= self.clock():
            _try_at, due, execution_id, horizon = heapq.heappop(self._queue)
            if not await self._sample(self._jobs[execution_id], horizon, due):
                heapq.heappush(self._queue, (self.clock() + RETRY_AFTER, due, execution_id, horizon))
                continue
            settled += 1
            self._queued.discard((execution_id, horizon))
            self._left[execution_id] -= 1
            if not self._left[execution_id]:
                del self._left[execution_id], self._jobs[execution_id]
        return settled

    async def run(self) -> None:
        """Sample mark-outs as their moments come, until cancelled."""
        self._wake = asyncio.Event()
        while True:
            try:
                await self.run_due()
            except Exception:  # a store or broker failure must not end the mark-outs: what is queued stays
                log.exception("mark-out sampling failed")
            nxt = self.next_due()
            delay = IDLE_S if nxt is None else max(0.0, (nxt - self.clock()).total_seconds())
            self._wake.clear()
            try:
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _sample(self, job: MarkoutJob, horizon: int, due: datetime) -> bool:
        """Read and record one mark-out; False when the broker could not be asked (try again later)."""
        try:
            source, quote = MarkoutSource.QUOTE, None
            if self.clock() - due <= LIVE_WITHIN:
                quote = await self.broker.quote(job.symbol)
            if quote is None:  # late, or no live quote (the terminal away): the tick history, if it has one
                source, quote = MarkoutSource.HISTORY, await self.broker.quote_at(job.symbol, due)
        except BrokerUnavailable as exc:
            log.info("mark-out %s of %s waits for the broker: %s", horizon_name(horizon), job.execution_id, exc)
            return False
        await self._record(job, horizon, due, source, quote)
        return True

    async def _record(
        self, job: MarkoutJob, horizon: int, due: datetime, source: MarkoutSource, quote: Quote | None
    ) -> None:
        pips = None if quote is None else slippage_pips(job.direction, quote.mid, job.fill_price, job.pip)
        event = {
            "horizon": horizon_name(horizon),
            "moment": due,
            "source": (MarkoutSource.MISSING if quote is None else source).value,
            "mid": None if quote is None else quote.mid,
            "quote_time": None if quote is None else quote.time,
            "fill_price": job.fill_price,
            "markout_pips": pips,
        }
        if await self.store.record_markout(job.execution_id, horizon, pips, event) and self._on_recorded:
            self._on_recorded(job.execution_id)
