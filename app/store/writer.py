"""Group commit: one writer thread runs every write of the process in shared transactions.

Concurrent executions hand their writes to the writer; it takes all that are waiting, runs them in
ONE transaction, makes ONE durable commit, and only then answers each caller. A caller that has its
answer therefore knows its write is on disk: the rule "PENDING is durable before the order is sent"
holds for every one of them, while the cost of a synchronous commit is shared. Should one write of
a batch fail (a duplicate order_id, say), the batch is rolled back and its writes are run again one
by one, so that failure stays its caller's alone.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Dialect, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import UpdateBase

from app.domain.audit import GENESIS, AuditEvent, AuditSigner
from app.domain.audit_events import AuditEventType
from app.domain.execution import utcnow
from app.store.checkpoints import CheckpointLog
from app.store.database import Database
from app.store.tables import audit_events

log = logging.getLogger(__name__)
T = TypeVar("T")
FAILURES_KEPT = 1_000  # enough to count the failures of any recent window; older ones age out


# Built once: hot-path statements are reused rather than rebuilt for every transaction.
_HEAD = select(audit_events.c.seq, audit_events.c.hash).order_by(audit_events.c.seq.desc()).limit(1)
_APPEND = insert(audit_events)


class WriteBatch:
    """One write transaction: the rows of every write in it, run together, and the audit chain's head.

    Writes add rows to shared statements; at the end each statement runs once for all of them (one
    executemany instead of one execute per write), the audit events last, in chain order."""

    def __init__(self, conn: Connection, signer: AuditSigner) -> None:
        self.conn = conn  # for a write that needs an answer at once (a generated key)
        self._signer = signer
        last = conn.execute(_HEAD).first()
        self.seq: int = last.seq if last else 0
        self.hash: str = last.hash if last else GENESIS
        self._rows: dict[UpdateBase, list[dict[str, Any]]] = {}
        self._events: list[dict[str, Any]] = []

    def add(self, statement: UpdateBase, rows: dict[str, Any] | list[dict[str, Any]]) -> None:
        bucket = self._rows.setdefault(statement, [])
        if isinstance(rows, dict):
            bucket.append(rows)
        else:
            bucket.extend(rows)

    def audit(
        self, event_type: AuditEventType, execution_id: str | None, data: dict[str, Any], at: datetime | None = None
    ) -> AuditEvent:
        ev = self._signer.make(self.seq + 1, at or utcnow(), event_type, execution_id, data, self.hash)
        self.seq, self.hash = ev.seq, ev.hash
        self._events.append(ev.__dict__)
        return ev

    def flush(self) -> None:
        for statement, rows in [*self._rows.items(), (_APPEND, self._events)]:
            if rows:
                _prepared(statement, self.conn.dialect, tuple(rows[0])).run(self.conn, rows)
        self._rows.clear()
        self._events = []


class _Prepared:
    """A statement compiled once, run as one executemany with its columns' own bind processors.

    The same conversions SQLAlchemy applies (the store's TypeDecorators included), without its
    per-row bookkeeping: on a batch of hundreds of rows that bookkeeping was the writer's main cost."""

    def __init__(self, statement: UpdateBase, dialect: Dialect, keys: tuple[str, ...]) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        self.sql = str(compiled)
        self.names = list(compiled.positiontup or compiled.binds)
        # The type as this dialect has it (dialect_impl): the generic type's own processor is its
        # generic impl's, which for a Numeric is a float conversion.
        self.processors = [
            _naming(n, compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect)) for n in self.names
        ]
        self.positional = bool(compiled.positional)

    def run(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        columns = list(zip(self.names, self.processors, strict=True))
        if self.positional:
            params: list[Any] = [tuple(p(row[n]) if p else row[n] for n, p in columns) for row in rows]
        else:
            params = [{n: p(row[n]) if p else row[n] for n, p in columns} for row in rows]
        conn.exec_driver_sql(self.sql, params)


def _naming(column: str, process: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """The processor, its refusal of a value (ValueError) saying which column it was for."""
    if process is None:
        return None

    def run(value: Any) -> Any:
        try:
            return process(value)
        except ValueError as exc:
            raise ValueError(f"{column}: {exc}") from exc

    return run


@functools.cache
def _prepared(statement: UpdateBase, dialect: Dialect, keys: tuple[str, ...]) -> _Prepared:
    return _Prepared(statement, dialect, keys)


WriteOp = Callable[[WriteBatch], T]
_STOP = object()


class GroupCommitWriter:
    def __init__(
        self, db: Database, signer: AuditSigner, *, max_batch: int = 512, checkpoints: CheckpointLog | None = None
    ) -> None:
        self._db = db
        self._signer = signer
        self._checkpoints = checkpoints
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._started = False
        self.commits = 0
        self.failed_commits = 0
        self._failed_at: collections.deque[datetime] = collections.deque(maxlen=FAILURES_KEPT)

    def failed_commits_since(self, since: datetime) -> int:
        """Failed commits from `since` on (the database-errors alert looks at a recent window, not at all time)."""
        return sum(1 for at in tuple(self._failed_at) if at >= since)

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def stop(self) -> None:
        if self._started and self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    async def write(self, op: WriteOp[T]) -> T:
        if not self._started:
            raise RuntimeError("the store writer is not running")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._queue.put((op, fut, loop))
        return await fut

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

    def _transaction(self, ops: list[WriteOp[Any]]) -> list[Any]:
        with self._db.write_transaction() as conn:
            batch = WriteBatch(conn, self._signer)
            start = batch.seq
            results = [op(batch) for op in ops]
            batch.flush()
        self.commits += 1
        if self._checkpoints is not None and batch.seq != start:
            self._checkpoints.write(batch.seq, batch.hash)
        return results

    def _commit(self, batch: list[tuple[WriteOp[Any], asyncio.Future[Any], asyncio.AbstractEventLoop]]) -> None:
        outcomes: list[tuple[Any, BaseException | None]]
        try:
            outcomes = [(r, None) for r in self._transaction([op for op, _, _ in batch])]
        except Exception as exc:
            if len(batch) == 1:
                outcomes = [(None, exc)]
            else:
                outcomes = []
                for op, _, _ in batch:
                    try:
                        outcomes.append((self._transaction([op])[0], None))
                    except Exception as own:  # this write's failure is its caller's alone
                        outcomes.append((None, own))
            if not isinstance(exc, IntegrityError):  # not one caller's bad write: the database failed
                log.exception("store commit failed for a batch of %d writes", len(batch))
                self.failed_commits += 1
                self._failed_at.append(utcnow())
        # One wake-up per event loop per batch, not one per write.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]] = {}
        for (_op, fut, loop), (result, error) in zip(batch, outcomes, strict=True):
            by_loop.setdefault(loop, []).append((fut, result, error))
        for loop, answers in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody is waiting any more
                loop.call_soon_threadsafe(_answer, answers)


def _answer(answers: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for fut, result, error in answers:
        if fut.done():  # the caller gave up (cancelled); the write stands
            continue
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(result)
