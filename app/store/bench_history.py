"""`bench --history N`: the desk's queries and the compliance export on a store of N executions."""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app.domain.contracts import ExecutionStatus
from app.store.export import write_csv
from app.store.repository import ExecutionStore
from app.store.seed import seed_store
from app.store.tables import execution_logs
from app.store.tca_aggregates import GroupBy

REPEAT = 20
TCA_REPEAT = 3


async def _median_ms(query: Callable[[], Awaitable[Any]], repeat: int = REPEAT) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        await query()
        timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 3)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


async def history_bench(store: ExecutionStore, size: int, progress: Callable[[str], None] = print) -> dict[str, Any]:
    have = await store.read(lambda conn: conn.execute(select(func.count()).select_from(execution_logs)).scalar_one())
    if have < size:
        progress(
            f"seeding {size - have} executions (one-off; tens of minutes for a million: the TCA rollup counts each)…"
        )
        await asyncio.to_thread(seed_store, store.db, store.signer, size - have)
    now = datetime.now(UTC)
    day = (now - timedelta(days=100), now - timedelta(days=99))
    newest = (await store.history(limit=1))[0]
    queries: dict[str, Callable[[], Awaitable[Any]]] = {
        "history_newest_50": lambda: store.history(limit=50),
        "history_symbol_50": lambda: store.history(symbol="EURUSD", limit=50),
        "history_rejected_50": lambda: store.history(statuses=[ExecutionStatus.REJECTED], limit=50),
        "history_one_day": lambda: store.history(start=day[0], end=day[1], limit=1000),
        "audit_one_day": lambda: store.audit_range(day[0], day[1], limit=1000),
        "by_execution_id": lambda: store.get(newest.execution_id),
        "by_rpm_order_id": lambda: store.get_by_rpm_order(newest.rpm_decision_id),
    }
    month, year = now - timedelta(days=30), now - timedelta(days=365)
    # GET /tca's aggregates (from the rollup, but for the part days at the ends), median of 3 as the report says.
    tca: dict[str, Callable[[], Awaitable[Any]]] = {
        "tca_symbol_30_days": lambda: store.tca_groups(GroupBy.SYMBOL, month, now),
        "tca_hour_30_days": lambda: store.tca_groups(GroupBy.HOUR, month, now),
        "tca_symbol_365_days": lambda: store.tca_groups(GroupBy.SYMBOL, year, now),
        "tca_size_365_days": lambda: store.tca_groups(GroupBy.SIZE, year, now),
        "tca_hour_365_days": lambda: store.tca_groups(GroupBy.HOUR, year, now),  # the most groups: the most rows
    }
    result: dict[str, Any] = {"store_executions": max(have, size), "queries_ms": {}}
    for name, query in queries.items():
        result["queries_ms"][name] = await _median_ms(query)
    for name, query in tca.items():
        result["queries_ms"][name] = await _median_ms(query, TCA_REPEAT)
    rss_before = _rss_mb()
    with tempfile.TemporaryDirectory(prefix="exec-export-") as tmp:
        out = Path(tmp) / "audit.csv"

        def export() -> tuple[int, float]:
            with store.db.reader.connect() as conn, out.open("w", newline="", encoding="utf-8") as fh:
                rows = write_csv(conn, fh, None, None)
            return rows, os.path.getsize(out) / 1e6

        started = time.perf_counter()
        rows, size_mb = await asyncio.to_thread(export)
        seconds = time.perf_counter() - started
    result["export"] = {
        "rows": rows,
        "rows_per_s": round(rows / seconds),
        "csv_mb": round(size_mb, 1),
        "peak_rss_growth_mb": round(max(0.0, _rss_mb() - rss_before), 1),
    }
    return result
