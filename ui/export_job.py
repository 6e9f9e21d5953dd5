"""The audit export behind the dialog: app.store.export.write_csv on a worker thread, cancellable.

The very function `execution-engine export` runs, over the same date reading (app.domain.dates), so the
dialog's file and the command's are the same bytes. Written to a temporary name and renamed when
complete: a cancelled or failed export leaves no half file where the trader expects a whole one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from app.domain.contracts import ExecutionStatus
from app.domain.dates import parse_end, parse_start
from app.store.export import count_query, write_csv
from app.store.repository import ExecutionStore

Progress = Callable[[int, int], None]  # (rows written, rows in total), called on the worker thread


def date_range(first: date, last: date) -> tuple[datetime, datetime]:
    """UTC days from `first` to `last` inclusive, read exactly as the command line reads them."""
    return parse_start(first.isoformat()), parse_end(last.isoformat())


@dataclass(frozen=True)
class ExportRequest:
    out: Path
    first_day: date
    last_day: date
    symbol: str | None = None
    statuses: tuple[ExecutionStatus, ...] = ()


@dataclass
class ExportResult:
    rows: int
    total: int
    cancelled: bool
    path: Path | None


@dataclass
class ExportJob:
    store: ExecutionStore
    request: ExportRequest
    progress_every: int = 1000
    _cancel: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        self._cancel.set()

    def run(self, progress: Progress) -> ExportResult:
        """Count, then write; blocking — run it on a worker thread."""
        req = self.request
        start, end = date_range(req.first_day, req.last_day)
        statuses: Sequence[ExecutionStatus] = req.statuses
        req.out.parent.mkdir(parents=True, exist_ok=True)
        partial = req.out.with_name(req.out.name + ".part")
        with self.store.db.reader.connect() as conn:
            total = int(conn.execute(count_query(start, end, req.symbol, statuses)).scalar_one())
            progress(0, total)

            def step(rows: int) -> bool:
                progress(rows, total)
                return not self._cancel.is_set()

            try:
                with partial.open("w", newline="", encoding="utf-8") as out:
                    rows = write_csv(
                        conn,
                        out,
                        start,
                        end,
                        symbol=req.symbol,
                        statuses=statuses,
                        progress=step,
                        progress_every=self.progress_every,
                    )
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
        if self._cancel.is_set():
            partial.unlink(missing_ok=True)
            return ExportResult(rows, total, cancelled=True, path=None)
        partial.replace(req.out)
        return ExportResult(rows, total, cancelled=False, path=req.out)
