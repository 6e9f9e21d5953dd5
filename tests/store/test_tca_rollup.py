"""GET /tca from its rollup (table tca_rollup, kept by triggers) against the figures computed here from the
executions themselves: random executions written through the store, concurrently so that group commits mix
them, on both databases, any range; rows repaired by hand; the rollup itself altered, named by verify and
counted again."""

from __future__ import annotations

import asyncio
import os
import random
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, delete, select, text, update

from app.adapters.broker.types import Fill
from app.domain.audit_events import AuditEventType as A
from app.domain.contracts import ExecutionStatus
from app.domain.execution import Execution
from app.domain.tca import HORIZONS_S, Tca, horizon_name
from app.store.repository import DuplicateOrder, ExecutionStore
from app.store.tables import execution_logs, execution_tca
from app.store.tca_aggregates import SIZE_BANDS, GroupBy, MetricStats, TcaGroup
from tests.commands import cli
from tests.store.test_store import execution, verified

D = Decimal
S = ExecutionStatus
CENT = D("0.01")
MARKOUTS = [f"markout_{horizon_name(h)}_pips" for h in HORIZONS_S]
# Across a year's end and a whole quarter, so that every grain is read.
FIRST = datetime(2026, 12, 20, tzinfo=UTC)
SPAN = timedelta(days=120)


def _band(units: Decimal) -> str:
    return next(label for label, upper in SIZE_BANDS if upper is None or units < upper)


def _stats(values: list[Decimal]) -> MetricStats:
    n = len(values)
    if not n:
        return MetricStats(0, None, None, None, None)
    ordered = sorted(values)
    total = sum(values, D(0))
    stdev = None
    if n > 1:
        variance = (n * sum((v * v for v in values), D(0)) - total * total) / (n * (n - 1))
        stdev = variance.sqrt().quantize(CENT, rounding=ROUND_HALF_EVEN)
    return MetricStats(
        count=n,
        mean=(total / n).quantize(CENT, rounding=ROUND_HALF_EVEN),
        p50=ordered[-(-n * 50 // 100) - 1],
        p90=ordered[-(-n * 90 // 100) - 1],
        stdev=stdev,
    )


def expected(conn: Connection, by: GroupBy, start: datetime | None, end: datetime | None) -> list[TcaGroup]:
    """GET /tca's groups computed in Python from every execution's rows, as docs/CONTRACT.md §3a defines them."""
    tcas = {row.execution_id: row for row in conn.execute(select(execution_tca))}
    members: dict[str, list[Any]] = defaultdict(list)
    for log in conn.execute(select(execution_logs)):
        created = log.created_timestamp
        if (start is None or created >= start) and (end is None or created < end):
            key = {"symbol": log.symbol, "hour": f"{created.hour:02d}", "size": _band(log.intended_units)}[by.value]
            members[key].append((log, tcas.get(log.execution_id)))
    order = [label for label, _ in SIZE_BANDS]
    groups = []
    for key in sorted(members, key=order.index if by is GroupBy.SIZE else None):
        rows = members[key]
        filled = sum(log.status in (S.FILLED, S.PARTIALLY_FILLED) for log, _ in rows)
        sent = sum(
            log.submission_timestamp is not None or log.status in (S.FILLED, S.PARTIALLY_FILLED) for log, _ in rows
        )

        def values(column: str, rows: list[Any] = rows) -> list[Decimal]:
            if column == "slippage_pips":
                found = [log.slippage_pips for log, _ in rows]
            else:
                found = [tca._mapping[column] for _, tca in rows if tca is not None]
            return [v for v in found if v is not None]

        groups.append(
            TcaGroup(
                group=key,
                executions=len(rows),
                sent=sent,
                filled=filled,
                fill_ratio=(D(filled) / sent).quantize(D("0.0001")) if sent else None,
                spread_pips_mean=_stats(values("spread_pips")).mean,
                metrics={m: _stats(values(m)) for m in ("slippage_pips", "slippage_vs_arrival_pips", *MARKOUTS)},
            )
        )
    return groups


def tenth(rng: random.Random, low: int, high: int) -> Decimal:
    return D(rng.randint(low, high)) / 10


async def write_random_executions(store: ExecutionStore, rng: random.Random, count: int, lanes: int = 8) -> None:
    """Executions as the engine writes them: created, maybe sent, maybe filled in one or more fills (the
    slippage moving with each fill's VWAP), then mark-outs found or missing, some still pending. `lanes`
    at once, so that one group commit holds writes of several; each lane also sends an RPM order id twice,
    whose refusal has the writer run that commit's writes again one by one."""
    plans = [
        (
            f"rpm-{i}",
            str(rng.choice([1000, 9999, 10_000, 50_000, 100_000, 999_999, 1_000_000, 12_000_000])),
            rng.choice(["EURUSD", "USDJPY", "GBPUSD"]),
            rng.choice([1, -1]),
            FIRST + timedelta(seconds=rng.randrange(int(SPAN.total_seconds()))),
            random.Random(rng.random()),  # a lane's own: the same seed writes the same figures, whatever the order
        )
        for i in range(count)
    ]

    async def lane(mine: list[Any]) -> None:
        for n, (rpm, units, symbol, direction, created, own) in enumerate(mine):
            request, ex = execution(rpm, units=units, symbol=symbol, direction=direction, created=created)
            await store.create_execution(request, ex, [])
            if n == 1:
                again, twice = execution(mine[0][0], created=created)
                with pytest.raises(DuplicateOrder):
                    await store.create_execution(again, twice, [])
            await _progress(store, ex, own)

    await asyncio.gather(*(lane(plans[k::lanes]) for k in range(lanes)))


async def _progress(store: ExecutionStore, ex: Execution, rng: random.Random) -> None:
    fate = rng.choice(["pending", "rejected", "submitted", "expired", "filled", "partial", "filled"])
    if fate == "pending":
        return
    if fate == "rejected":
        ex.status = S.REJECTED
        await store.save(ex, [])
        return
    ex.status, ex.submission_timestamp = S.SUBMITTED, ex.created_timestamp + timedelta(milliseconds=5)
    await store.save(ex, [])
    if fate in ("submitted", "expired"):
        if fate == "expired":
            ex.status = S.EXPIRED
            await store.save(ex, [])
        return
    spread = rng.choice([None, tenth(rng, 0, 30)])
    for n in range(rng.randint(1, 3)):
        ex.status = S.FILLED if fate == "filled" and n == 0 else S.PARTIALLY_FILLED
        ex.slippage_pips = tenth(rng, -40, 60)
        fill = Fill(f"deal-{n}", D("0.01"), D("1.1"), ex.created_timestamp)
        tca = Tca(D("1.1"), spread, rng.choice([None, tenth(rng, -30, 50)]), ex.created_timestamp)
        arrival = {
            "arrival_mid": tca.arrival_mid,
            "spread_pips": tca.spread_pips,
            "slippage_vs_arrival_pips": tca.slippage_vs_arrival_pips,
            "marked_from": tca.marked_from,
        }  # the audit event the engine writes with the figures, which verify holds the row to
        await store.save(ex, [(A.TCA_ARRIVAL, arrival)], [("order", fill, D(1000))], tca=(tca, D("0.0001")))
    for h in HORIZONS_S:
        if rng.random() < 0.8:
            pips = tenth(rng, -25, 35) if rng.random() < 0.85 else None
            await store.record_markout(ex.execution_id, h, pips, {"horizon": horizon_name(h), "markout_pips": pips})


def ranges(rng: random.Random) -> list[tuple[datetime | None, datetime | None]]:
    """Open, whole, a month, a dekad, pentads, a quarter, at midnight or not, and random ones."""
    found: list[tuple[datetime | None, datetime | None]] = [
        (None, None),
        (FIRST, FIRST + SPAN),
        (datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC)),
        (datetime(2027, 2, 11, tzinfo=UTC), datetime(2027, 2, 21, tzinfo=UTC)),
        (datetime(2027, 2, 6, tzinfo=UTC), datetime(2027, 2, 16, tzinfo=UTC)),
        (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 4, 1, tzinfo=UTC)),
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), datetime(2027, 4, 2, 0, 1, tzinfo=UTC)),
        (datetime(2027, 1, 31, 13, tzinfo=UTC), None),
    ]
    for _ in range(6):
        a, b = sorted(FIRST + timedelta(minutes=rng.randrange(int(SPAN.total_seconds() // 60))) for _ in range(2))
        found.append((a, b))
    return found


async def assert_rollup_answers(store: ExecutionStore, rng: random.Random, seed: int) -> None:
    for start, end in ranges(rng):
        for by in GroupBy:
            found = await store.tca_groups(by, start, end)
            want = await store.read(lambda conn, by=by, start=start, end=end: expected(conn, by, start, end))
            assert found == want, f"seed {seed}: group_by={by.value} [{start}, {end})"


async def test_the_rollup_answers_as_the_executions_do(store_factory: Callable[[], ExecutionStore]) -> None:
    seed = int(os.environ.get("TCA_SEED", random.randrange(2**32)))
    rng = random.Random(seed)
    store = store_factory()
    await write_random_executions(store, rng, 80)
    await assert_rollup_answers(store, rng, seed)
    assert verified(store).problems == [], f"seed {seed}"


async def test_rows_repaired_by_hand_move_their_counts_too(store_factory: Callable[[], ExecutionStore]) -> None:
    seed = int(os.environ.get("TCA_SEED", random.randrange(2**32)))
    rng = random.Random(seed)
    store = store_factory()
    await write_random_executions(store, rng, 30)
    # Symbol, day and size changed, rows deleted: not by the engine.
    with store.db.write_transaction() as conn:
        ids = (
            conn.execute(select(execution_logs.c.execution_id).order_by(execution_logs.c.execution_id)).scalars().all()
        )
        moved, gone, untracked = ids[0], ids[1], ids[2]
        conn.execute(
            update(execution_logs)
            .where(execution_logs.c.execution_id == moved)
            .values(symbol="AUDUSD", intended_units=D(20_000_000), created_timestamp=FIRST + timedelta(days=9, hours=5))
        )
        conn.execute(delete(execution_logs).where(execution_logs.c.execution_id == gone))
        conn.execute(delete(execution_tca).where(execution_tca.c.execution_id == untracked))
    await assert_rollup_answers(store, rng, seed)
    assert not [p for p in verified(store).problems if p.startswith("tca_rollup: ")], f"seed {seed}"


async def test_verify_names_a_rollup_count_that_differs_from_the_executions(
    store_factory: Callable[[], ExecutionStore],
) -> None:
    store = store_factory()
    await write_random_executions(store, random.Random(7), 10)
    assert verified(store).problems == []
    with store.db.write_transaction() as conn:
        conn.execute(text("UPDATE tca_rollup SET n = n + 1 WHERE dim = 'hour' AND grain = 'month' AND metric = 'sent'"))
    problems = verified(store).problems
    assert len(problems) == 1 and problems[0].startswith("tca_rollup: hour "), problems
    assert ", month 2" in problems[0] and ": sent counted " in problems[0], problems
    assert "`execution-engine db rebuild-tca` counts them again from the executions" in problems[0], problems

    done = cli("db", "rebuild-tca", "--db", store.db.url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{store.db.describe()}: GET /tca's rollup counted again from the executions ("), done
    assert verified(store).problems == []
    await assert_rollup_answers(store, random.Random(7), 7)
