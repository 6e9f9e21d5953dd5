"""Group commit: one writer thread runs every write of the process in shared transactions.

Concurrent executions hand their writes to the writer; it takes all that are waiting, runs each in
its own savepoint (one failing write, such as a duplicate order_id, does not sink the others), makes
ONE durable commit, and only then answers each caller. A caller that has its answer therefore knows
its write is on disk: the rule "PENDING is durable before the order is sent" holds for every one of
them, while the cost of a synchronous commit is shared.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, insert, select

from app.audit import GENESIS, AuditEvent, AuditSigner
from app.execution import utcnow
from app.store.database import Database
from app.store.tables import audit_events

log = logging.getLogger(__name__)
T = TypeVar("T")


class Chain:
    """The audit chain's head inside one write transaction."""

    def __init__(self, conn: Connection, signer: AuditSigner) -> None:
        self._conn = conn
        self._signer = signer
        last = conn.execute(
            select(audit_events.c.seq, audit_events.c.hash).order_by(audit_events.c.seq.desc()).limit(1)
        ).first()
        self.seq: int = last.seq if last else 0
        self.hash: str = last.hash if last else GENESIS
        self._pending: list[AuditEvent] = []

    def append(
        self, event_type: str, execution_id: str | None, data: dict[str, Any], at: datetime | None = None
    ) -> AuditEvent:
        ev = self._signer.make(self.seq + 1, at or utcnow(), event_type, execution_id, data, self.hash)
        self._pending.append(ev)
        self.seq, self.hash = ev.seq, ev.hash
        return ev

    def flush(self) -> None:
        if self._pending:
            self._conn.execute(insert(audit_events), [ev.__dict__ for ev in self._pending])
            self._pending.clear()

    def mark(self) -> tuple[int, str, int]:
        return self.seq, self.hash, len(self._pending)

    def reset(self, mark: tuple[int, str, int]) -> None:
        self.seq, self.hash, keep = mark
        del self._pending[keep:]


WriteOp = Callable[[Connection, Chain], T]
_STOP = object()


class GroupCommitWriter:
    def __init__(self, db: Database, signer: AuditSigner, *, max_batch: int = 512) -> None:
        self._db = db
        self._signer = signer
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._started = False
        self.commits = 0
        self.writes = 0
        self.failed_commits = 0  # read by the database-errors alert

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def stop(self) -> None:
        if self._started and self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def submit(self, op: WriteOp[T]) -> Future[T]:
        if not self._started:
            raise RuntimeError("the store writer is not running")
        fut: Future[T] = Future()
        self._queue.put((op, fut))
        return fut

    async def write(self, op: WriteOp[T]) -> T:
        return await asyncio.wrap_future(self.submit(op))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            while len(batch) < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    self._commit(batch)
                    return
                batch.append(nxt)
            self._commit(batch)

    def _commit(self, batch: list[tuple[WriteOp[Any], Future[Any]]]) -> None:
        outcomes: list[tuple[Future[Any], Any, BaseException | None]] = []
        try:
            with self._db.write_transaction() as conn:
                chain = Chain(conn, self._signer)
                for op, fut in batch:
                    mark = chain.mark()
                    savepoint = conn.begin_nested()
                    try:
                        result = op(conn, chain)
                        chain.flush()
                        savepoint.commit()
                        outcomes.append((fut, result, None))
                    except Exception as exc:  # one write's failure is that caller's alone
                        savepoint.rollback()
                        chain.reset(mark)
                        outcomes.append((fut, None, exc))
        except Exception as exc:
            log.exception("store commit failed for a batch of %d writes", len(batch))
            self.failed_commits += 1
            for _op, fut in batch:
                fut.set_exception(exc)
            return
        self.commits += 1
        self.writes += len(batch)
        for fut, result, error in outcomes:
            if error is not None:
                fut.set_exception(error)
            else:
                fut.set_result(result)
