"""`GET /tca`: transaction-cost figures per group of executions, computed by the database.

Groups: the symbol, the UTC hour of day the execution arrived, or its size band. Per group: how many
executions, how many reached the broker and how many of those filled (the fill ratio), the mean spread
paid, and for slippage (against the intended price and against the arrival mid) and each mark-out the
count, the mean and the 50th and 90th percentiles.

Exact on both backends: pips have one decimal, so sums are taken in whole tenths of a pip (SQLite keeps
the numbers as text and would add them as floats), and a percentile is one of the values themselves
(the nearest rank: the value at rank ⌈p·n⌉), picked with ROW_NUMBER — SQLite has no percentile function.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    func,
    insert,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from app.domain.contracts import ExecutionStatus
from app.domain.tca import HORIZONS_S, horizon_name
from app.store.tables import execution_logs, execution_tca
from app.store.tca import markout_column

L, T = execution_logs, execution_tca
S = ExecutionStatus
PERCENTILES = (50, 90)
# Size bands by intended units, upper bounds exclusive: (label, upper bound or None for the last).
SIZE_BANDS: tuple[tuple[str, int | None], ...] = (
    ("<10k", 10_000),
    ("10k-100k", 100_000),
    ("100k-1M", 1_000_000),
    ("1M-10M", 10_000_000),
    (">=10M", None),
)
METRICS: dict[str, Any] = {
    "slippage_pips": L.c.slippage_pips,
    "slippage_vs_arrival_pips": T.c.slippage_vs_arrival_pips,
    **{f"markout_{horizon_name(h)}_pips": markout_column(h) for h in HORIZONS_S},
}
_CENT = Decimal("0.01")


class GroupBy(StrEnum):
    SYMBOL = "symbol"
    HOUR = "hour"
    SIZE = "size"


@dataclass(frozen=True)
class MetricStats:
    count: int
    mean: Decimal | None  # to a hundredth of a pip
    p50: Decimal | None
    p90: Decimal | None
    stdev: Decimal | None = None  # the sample standard deviation, to a hundredth (for a confidence band)


@dataclass(frozen=True)
class TcaGroup:
    group: str
    executions: int
    sent: int  # reached the broker
    filled: int  # filled, in full or in part
    fill_ratio: Decimal | None  # filled ÷ sent, to 4 decimals
    spread_pips_mean: Decimal | None  # the spread at arrival of the filled executions
    metrics: dict[str, MetricStats]


def _raw(column: Any) -> ColumnElement[Any]:
    return type_coerce(column, NullType())  # the driver's value: no per-row conversion


def _tenths(conn: Connection, column: Any) -> ColumnElement[Any]:
    """The value in whole tenths of a pip, as an integer the database adds exactly."""
    if conn.dialect.name == "sqlite":
        return cast(func.round(cast(_raw(column), Float) * 10), Integer)
    return cast(_raw(column) * literal_column("10"), BigInteger)


def _sortable(conn: Connection, column: Any) -> ColumnElement[Any]:
    # SQLite's text would sort "10.0" before "9.0"; a tenth of a pip is exact as a double.
    return cast(_raw(column), Float) if conn.dialect.name == "sqlite" else column


def _group(conn: Connection, by: GroupBy) -> ColumnElement[Any]:
    created = L.c.created_timestamp
    if by is GroupBy.SYMBOL:
        return L.c.symbol
    if by is GroupBy.HOUR:
        if conn.dialect.name == "sqlite":  # kept as UTC text
            return cast(func.strftime("%H", _raw(created)), Integer)
        return cast(func.extract("hour", func.timezone("UTC", created)), Integer)
    units = _sortable(conn, L.c.intended_units)
    bands = [(units < literal_column(str(upper)), label) for label, upper in SIZE_BANDS if upper is not None]
    return case(*bands, else_=SIZE_BANDS[-1][0])


def _materialize(conn: Connection, by: GroupBy, start: datetime | None, end: datetime | None) -> Table:
    """The range's executions read once into a temporary table: the group, whether sent and filled, and
    each figure in whole tenths of a pip. The statements after it neither join nor convert again."""
    conds = []
    if start is not None:
        conds.append(L.c.created_timestamp >= start)
    if end is not None:
        conds.append(L.c.created_timestamp < end)
    filled = L.c.status.in_([S.FILLED.value, S.PARTIALLY_FILLED.value])
    sent = or_(L.c.submission_timestamp.is_not(None), filled)
    figures = {"spread": T.c.spread_pips, **METRICS}
    base = Table(
        "tca_base",
        MetaData(),
        Column("grp", Integer if by is GroupBy.HOUR else String(32)),
        Column("sent", Integer),
        Column("filled", Integer),
        *[Column(name, BigInteger) for name in figures],
        prefixes=["TEMPORARY"],
    )
    rows = (
        select(
            _group(conn, by),
            case((sent, 1), else_=0),
            case((filled, 1), else_=0),
            *[_tenths(conn, column) for column in figures.values()],
        )
        .select_from(L.outerjoin(T, T.c.execution_id == L.c.execution_id))
        .where(and_(True, *conds))
    )
    conn.exec_driver_sql("DROP TABLE IF EXISTS tca_base")  # one left by an interrupted call on this connection
    base.create(conn)
    conn.execute(insert(base).from_select([c.name for c in base.c], rows))
    return base


def _totals(conn: Connection, base: Table) -> dict[Any, dict[str, Any]]:
    columns: list[ColumnElement[Any]] = [
        base.c.grp,
        func.count().label("executions"),
        func.sum(base.c.sent).label("sent"),
        func.sum(base.c.filled).label("filled"),
        func.count(base.c.spread).label("spread_n"),
        func.sum(base.c.spread).label("spread_t"),
    ]
    for name in METRICS:
        tenths = base.c[name]
        columns += [
            func.count(tenths).label(f"{name}_n"),
            func.sum(tenths).label(f"{name}_t"),
            func.sum(tenths * tenths).label(f"{name}_q"),
        ]
    return {row.grp: dict(row._mapping) for row in conn.execute(select(*columns).group_by(base.c.grp))}


def _percentiles(conn: Connection, base: Table, name: str) -> dict[tuple[Any, int], Decimal]:
    """(group, p) → the value at rank ⌈p·n/100⌉ of the group's non-null values of the metric."""
    tenths = base.c[name]
    ranked = (
        select(
            base.c.grp,
            tenths.label("v"),
            func.row_number().over(partition_by=base.c.grp, order_by=tenths).label("rn"),
            func.count().over(partition_by=base.c.grp).label("n"),
        )
        .where(tenths.is_not(None))
        .subquery()
    )
    # Integer division on both backends: (n·p + 99) // 100 is ⌈n·p/100⌉.
    ranks = {p: (ranked.c.n * p + 99) // 100 for p in PERCENTILES}
    pick = select(
        ranked.c.grp, ranked.c.v, *[case((ranked.c.rn == r, 1), else_=0).label(f"is{p}") for p, r in ranks.items()]
    ).where(or_(*[ranked.c.rn == r for r in ranks.values()]))
    found: dict[tuple[Any, int], Decimal] = {}
    for row in conn.execute(pick):
        for p in PERCENTILES:
            if row._mapping[f"is{p}"]:
                found[(row.grp, p)] = Decimal(int(row.v)).scaleb(-1)
    return found


def _mean(count: int, tenths: Any) -> Decimal | None:
    if not count:
        return None
    return (Decimal(int(tenths)) / 10 / count).quantize(_CENT, rounding=ROUND_HALF_EVEN)


def _stdev(count: int, tenths: Any, squares: Any) -> Decimal | None:
    """Σx and Σx² in tenths, exact: the sample variance is (nΣx² − (Σx)²) / n(n − 1), over 100 for pips²."""
    if count < 2:
        return None
    n, total, sq = count, int(tenths), int(squares)
    variance = Decimal(n * sq - total * total) / (n * (n - 1)) / 100
    return variance.sqrt().quantize(_CENT, rounding=ROUND_HALF_EVEN)


def tca_groups(conn: Connection, by: GroupBy, start: datetime | None, end: datetime | None) -> list[TcaGroup]:
    """The groups with at least one execution in [start, end), in the group's order."""
    base = _materialize(conn, by, start, end)
    try:
        totals = _totals(conn, base)
        percentiles = {name: _percentiles(conn, base, name) for name in METRICS}
    finally:
        conn.exec_driver_sql("DROP TABLE tca_base")
    groups = []
    for key in sorted(totals, key=_order(by)):
        t = totals[key]
        metrics = {
            name: MetricStats(
                count=t[f"{name}_n"],
                mean=_mean(t[f"{name}_n"], t[f"{name}_t"]),
                p50=percentiles[name].get((key, 50)),
                p90=percentiles[name].get((key, 90)),
                stdev=_stdev(t[f"{name}_n"], t[f"{name}_t"], t[f"{name}_q"]),
            )
            for name in METRICS
        }
        sent, filled = int(t["sent"] or 0), int(t["filled"] or 0)
        groups.append(
            TcaGroup(
                group=_label(by, key),
                executions=t["executions"],
                sent=sent,
                filled=filled,
                fill_ratio=(Decimal(filled) / sent).quantize(Decimal("0.0001")) if sent else None,
                spread_pips_mean=_mean(t["spread_n"], t["spread_t"]),
                metrics=metrics,
            )
        )
    return groups


def _label(by: GroupBy, key: Any) -> str:
    return f"{int(key):02d}" if by is GroupBy.HOUR else str(key)


def _order(by: GroupBy) -> Any:
    if by is GroupBy.SIZE:
        bands = [label for label, _ in SIZE_BANDS]
        return lambda key: bands.index(key)
    return lambda key: key
