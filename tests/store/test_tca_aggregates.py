"""GET /tca's figures (issue 16 item 4) against a small case computed by hand, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, text, update

from app import __version__
from app.store.repository import ExecutionStore
from app.store.tables import execution_logs, execution_tca
from app.store.tca_aggregates import GroupBy, MetricStats, TcaGroup, _cover, rolled_up
from tests.conftest import AUDIT_KEY
from tests.postgres import postgres_url

D = Decimal
DAY = datetime(2027, 3, 3, tzinfo=UTC)


def at(hour: int, minute: int, day: datetime = DAY) -> datetime:
    return day.replace(hour=hour, minute=minute)


# id: symbol, status, sent, units, created, slippage, (spread, vs arrival, 1s, 5s, 30s, 60s) or None
CASE: dict[str, tuple[Any, ...]] = {
    "e0": (
        "EURUSD",
        "FILLED",
        True,
        1000,
        at(9, 0, DAY.replace(day=2)),
        "50.0",
        ("9.0", "9.0", None, None, None, None),
    ),
    "e1": ("EURUSD", "FILLED", True, 50_000, at(9, 10), "9.0", ("1.0", "0.5", "0.2", "-0.3", "1.0", "2.0")),
    "e2": ("EURUSD", "FILLED", True, 150_000, at(9, 40), "10.0", ("1.2", "2.5", "0.4", None, None, None)),
    "e3": ("EURUSD", "PARTIALLY_FILLED", True, 5000, at(14, 0), "-1.0", ("0.8", "-1.5", "-0.2", None, None, None)),
    "e4": ("EURUSD", "REJECTED", False, 20_000, at(14, 30), None, None),
    "e5": ("EURUSD", "EXPIRED", True, 20_000, at(9, 50), None, None),
    "j1": ("USDJPY", "FILLED", True, 2_000_000, at(14, 20), "0.0", ("2.0", "0.7", "1.1", None, None, None)),
}
HORIZONS = ("1s", "5s", "30s", "60s")


def write_case(store: ExecutionStore, day: datetime = DAY) -> None:
    """CASE's executions, on `day` (and the day before) instead of DAY's."""
    logs, tcas = [], []
    for eid, (symbol, status, sent, units, on_day, slip, tca) in CASE.items():
        created = on_day + (day - DAY)
        logs.append(
            {
                "execution_id": eid,
                "request_id": f"req_{eid}",
                "rpm_decision_id": f"rpm_{eid}",
                "symbol": symbol,
                "direction": 1,
                "intended_units": D(units),
                "status": status,
                "decision_status": "APPROVED",
                "broker": "sim",
                "attempts": 1,
                "fill_count": 1 if tca else 0,
                "execution_engine_version": __version__,
                "created_timestamp": created,
                "submission_timestamp": created if sent else None,
                "last_update_timestamp": created,
                "slippage_pips": D(slip) if slip else None,
            }
        )
        if tca:
            spread, arrival, *marks = tca
            tcas.append(
                {
                    "execution_id": eid,
                    "arrival_mid": D("1.1"),
                    "spread_pips": D(spread),
                    "slippage_vs_arrival_pips": D(arrival),
                    "pip": D("0.0001"),
                    "marked_from": created,
                    "markouts_missing": None,
                    "markouts_pending": 0,
                    **{f"markout_{h}_pips": D(m) if m else None for h, m in zip(HORIZONS, marks, strict=True)},
                }
            )
    with store.db.write_transaction() as conn:
        conn.execute(insert(execution_logs), [{c.name: row.get(c.name) for c in execution_logs.c} for row in logs])
        conn.execute(insert(execution_tca), tcas)


def stats(
    count: int, mean: str | None = None, p50: str | None = None, p90: str | None = None, stdev: str | None = None
) -> MetricStats:
    def d(text: str | None) -> Decimal | None:
        return D(text) if text else None

    return MetricStats(count, d(mean), d(p50), d(p90), d(stdev))


NONE = stats(0)


async def groups(store: ExecutionStore, by: GroupBy) -> dict[str, TcaGroup]:
    found = await store.tca_groups(by, DAY, DAY.replace(day=4))
    return {g.group: g for g in found}


async def test_per_symbol_counts_means_and_nearest_rank_percentiles(
    store_factory: Callable[[], ExecutionStore],
) -> None:
    store = store_factory()
    write_case(store)
    by_symbol = await groups(store, GroupBy.SYMBOL)
    assert list(by_symbol) == ["EURUSD", "USDJPY"]  # e0 is the day before: outside the range
    eur = by_symbol["EURUSD"]
    assert (eur.executions, eur.sent, eur.filled, eur.fill_ratio) == (5, 4, 3, D("0.7500"))
    assert eur.spread_pips_mean == D("1.00")  # (1.0 + 1.2 + 0.8) / 3
    # 9.0, 10.0, -1.0: sorted as numbers (-1, 9, 10), not as text ("-1.0", "10.0", "9.0")
    assert eur.metrics["slippage_pips"] == stats(3, "6.00", "9.0", "10.0", "6.08")  # √37
    assert eur.metrics["slippage_vs_arrival_pips"] == stats(3, "0.50", "0.5", "2.5", "2.00")
    assert eur.metrics["markout_1s_pips"] == stats(3, "0.13", "0.2", "0.4", "0.31")  # 0.4 / 3; √(0.28 / 3)
    assert eur.metrics["markout_5s_pips"] == stats(1, "-0.30", "-0.3", "-0.3")
    assert eur.metrics["markout_60s_pips"] == stats(1, "2.00", "2.0", "2.0")
    jpy = by_symbol["USDJPY"]
    assert (jpy.executions, jpy.sent, jpy.filled, jpy.fill_ratio, jpy.spread_pips_mean) == (1, 1, 1, D(1), D(2))
    assert jpy.metrics["slippage_pips"] == stats(1, "0.00", "0.0", "0.0")
    assert jpy.metrics["markout_30s_pips"] == NONE


async def test_per_hour_of_arrival_and_per_size_band(store_factory: Callable[[], ExecutionStore]) -> None:
    store = store_factory()
    write_case(store)
    by_hour = await groups(store, GroupBy.HOUR)
    assert list(by_hour) == ["09", "14"]
    assert (by_hour["09"].executions, by_hour["09"].sent, by_hour["09"].filled) == (3, 3, 2)
    assert by_hour["09"].metrics["slippage_pips"] == stats(2, "9.50", "9.0", "10.0", "0.71")
    assert (by_hour["14"].executions, by_hour["14"].sent, by_hour["14"].filled) == (3, 2, 2)
    assert by_hour["14"].metrics["markout_1s_pips"] == stats(2, "0.45", "-0.2", "1.1", "0.92")

    by_size = await groups(store, GroupBy.SIZE)
    assert {k: g.executions for k, g in by_size.items()} == {"<10k": 1, "10k-100k": 3, "100k-1M": 1, "1M-10M": 1}
    assert list(by_size) == ["<10k", "10k-100k", "100k-1M", "1M-10M"]


async def test_an_empty_range_has_no_groups(store_factory: Callable[[], ExecutionStore]) -> None:
    store = store_factory()
    write_case(store)
    assert (
        await store.tca_groups(GroupBy.SYMBOL, datetime(2000, 1, 1, tzinfo=UTC), datetime(2000, 1, 2, tzinfo=UTC)) == []
    )


async def test_a_spread_off_an_absurd_quote_is_answered(
    store_factory: Callable[[], ExecutionStore],
) -> None:
    """The store holds a spread of 20 digits; its square overflows 64-bit integers. GET /tca still answers,
    its count and mean exact."""
    store = store_factory()
    write_case(store)
    with store.db.write_transaction() as conn:
        conn.execute(update(execution_tca).where(execution_tca.c.execution_id == "e1").values(spread_pips=D("3e9")))
    eur = (await groups(store, GroupBy.SYMBOL))["EURUSD"]
    assert eur.spread_pips_mean == D("1000000000.67")  # (3,000,000,000 + 1.2 + 0.8) / 3
    assert eur.metrics["slippage_pips"] == stats(3, "6.00", "9.0", "10.0", "6.08")  # the other figures as they were


@pytest.mark.postgres
def test_on_postgresql_the_rollup_is_read_from_its_key_alone() -> None:
    """Revision 0006: the key's index carries the counts. Once vacuumed, GET /tca's read of the rollup is an
    index-only scan, which visits no page of the table (a year by hour had visited one for every other row)."""
    urls = postgres_url()
    url = next(urls)
    store = ExecutionStore.open(url, AUDIT_KEY)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        write_case(store)
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE tca_rollup"))
            conn.execute(text("SET enable_seqscan = off"))  # a table this small would be read whole otherwise
            conn.execute(text("SET enable_bitmapscan = off"))
            read = rolled_up(GroupBy.HOUR, _cover(DAY, DAY.replace(day=4))[0])
            sql = str(read.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
            plan = "\n".join(row[0] for row in conn.execute(text(f"EXPLAIN {sql}")))
        assert "Index Only Scan using pk_tca_rollup on tca_rollup" in plan, plan
        assert "Index Scan using pk_tca_rollup" not in plan, plan
    finally:
        engine.dispose()
        store.close()
        urls.close()
