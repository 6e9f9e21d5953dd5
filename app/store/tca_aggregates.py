"""`GET /tca`: transaction-cost figures per group of executions, read from their rollup.

Groups: the symbol, the UTC hour of day the execution arrived, or its size band. Per group: how many
executions, how many reached the broker and how many of those filled (the fill ratio), the mean spread
paid, and for slippage (against the intended price and against the arrival mid) and each mark-out the
count, the mean, the 50th and 90th percentiles and the standard deviation.

Table tca_rollup (migration 0005, kept by triggers; checked and rebuilt by app.store.tca_rollup) counts,
per UTC day, pentad, dekad, month, quarter and group, how many executions have each value of each figure
in whole tenths of a pip. A range is read as the fewest whole periods that tile it, plus the executions
themselves for the part days at its ends. Every figure is exact from those counts on both backends: sums
in integers, and a percentile is one of the values themselves (the nearest rank: the value at rank
⌈p·n⌉), found by counting up the values in order. (Computing them in the database instead was measured
on a million: faster on PostgreSQL, slower on SQLite, and it needs sums that cannot overflow.)
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Float,
    Integer,
    Select,
    and_,
    case,
    cast,
    func,
    literal_column,
    or_,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from app.domain.contracts import ExecutionStatus
from app.domain.tca import HORIZONS_S, horizon_name
from app.store.tables import execution_logs, execution_tca, tca_rollup
from app.store.tca import markout_column

L, T, R = execution_logs, execution_tca, tca_rollup
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
COUNTS = ("executions", "sent", "filled")  # counted in the rollup as a metric whose only value is 0
# The rollup's periods, each made of whole ones of the one before (migration 0005), and for each but the day
# where its number is in YYYY-MM-DD and the first number of each of its periods.
GRAINS = ("day", "pentad", "dekad", "month", "quarter")
STARTS = {
    "pentad": (9, (1, 6, 11, 16, 21, 26)),
    "dekad": (9, (1, 11, 21)),
    "month": (9, (1,)),
    "quarter": (6, (1, 4, 7, 10)),
}
# Sentinels for an open range: both on every grain's boundary, so no period is computed beyond them.
_FIRST, _LAST = datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 1, tzinfo=UTC)
_CENT = Decimal("0.01")
Histogram = Counter[int]  # value in tenths of a pip → how many executions have it


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


def _utc(conn: Connection, fmt: str) -> ColumnElement[Any]:
    """The creation time as text in a strftime format (%Y, %m, %d, %H): SQLite keeps it as UTC text."""
    created = L.c.created_timestamp
    if conn.dialect.name == "sqlite":
        return func.strftime(fmt, _raw(created))
    pg = fmt.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD").replace("%H", "HH24")
    return func.to_char(func.timezone("UTC", created), pg)


def _group(conn: Connection, by: GroupBy) -> ColumnElement[Any]:
    if by is GroupBy.SYMBOL:
        return L.c.symbol
    if by is GroupBy.HOUR:
        return _utc(conn, "%H")
    units = cast(_raw(L.c.intended_units), Float) if conn.dialect.name == "sqlite" else L.c.intended_units
    bands = [(units < literal_column(str(upper)), label) for label, upper in SIZE_BANDS if upper is not None]
    return case(*bands, else_=SIZE_BANDS[-1][0])


def _values(conn: Connection) -> dict[str, ColumnElement[Any]]:
    """Each rollup metric's value for an execution (its row of execution_logs joined to execution_tca)."""
    filled = L.c.status.in_([S.FILLED.value, S.PARTIALLY_FILLED.value])
    sent = or_(L.c.submission_timestamp.is_not(None), filled)
    zero: ColumnElement[Any] = literal_column("0")
    return {
        "executions": zero,
        "sent": case((sent, zero)),
        "filled": case((filled, zero)),
        "spread_pips": _tenths(conn, T.c.spread_pips),
        **{name: _tenths(conn, column) for name, column in METRICS.items()},
    }


def _per_execution(conn: Connection, by: GroupBy, *where: ColumnElement[bool], day: bool = False) -> Select[Any]:
    """(the UTC day when `day`,) grp and each rollup metric's value of the executions matching `where`."""
    return (
        select(
            *([_utc(conn, "%Y-%m-%d").label("period")] if day else []),
            _group(conn, by).label("grp"),
            *[value.label(name) for name, value in _values(conn).items()],
        )
        .select_from(L.outerjoin(T, T.c.execution_id == L.c.execution_id))
        .where(and_(True, *where))
    )


def contributions(conn: Connection, by: GroupBy) -> Select[Any]:
    """(period, grp, metric, tenths, n): the rollup's days computed from the executions themselves."""
    per_row = _per_execution(conn, by, day=True).subquery("v")
    names = union_all(*[select(literal_column(f"'{name}'").label("metric")) for name in _values(conn)]).subquery("m")
    value = case({name: per_row.c[name] for name in _values(conn)}, value=names.c.metric)
    counted = select(per_row.c.period, per_row.c.grp, names.c.metric, value.label("tenths")).select_from(
        per_row.join(names, true())
    )
    keys = list(counted.subquery("c").c)
    return select(*keys, func.count().label("n")).where(keys[-1].is_not(None)).group_by(*keys)


def _floor(d: date, grain: str) -> date:
    if grain == "day":
        return d
    at, starts = STARTS[grain]
    if at == 6:
        return d.replace(month=max(s for s in starts if s <= d.month), day=1)
    return d.replace(day=max(s for s in starts if s <= d.day))


def _ceil(d: date, grain: str) -> date:
    floor = _floor(d, grain)
    if floor == d:
        return d
    if grain == "day":
        return d + timedelta(days=1)
    at, starts = STARTS[grain]
    later = [s for s in starts if s > (floor.month if at == 6 else floor.day)]
    if later:
        return floor.replace(month=later[0]) if at == 6 else floor.replace(day=later[0])
    if at == 6:
        return date(floor.year + 1, 1, 1)
    return (floor.replace(day=28) + timedelta(days=4)).replace(day=1)  # the first of the next month


def _tiles(lo: date, hi: date, grains: tuple[str, ...] = GRAINS) -> list[tuple[str, date, date]]:
    """[lo, hi) as runs of whole periods, (grain, first, end), the coarsest that fit."""
    if lo >= hi:
        return []
    if len(grains) == 1:
        return [(grains[0], lo, hi)]
    a, b = _ceil(lo, grains[1]), _floor(hi, grains[1])
    if a >= b:
        return [(grains[0], lo, hi)]
    return [(grains[0], lo, a), *_tiles(a, b, grains[1:]), (grains[0], b, hi)]


def _cover(start: datetime, end: datetime) -> tuple[list[tuple[str, date, date]], list[tuple[datetime, datetime]]]:
    """[start, end) as periods of the rollup and the part days at its ends, read from the executions."""
    first, last = start.astimezone(UTC), end.astimezone(UTC)
    lo, hi = first.date() + timedelta(days=1 if first.time() != time(0) else 0), last.date()
    if lo >= hi:
        return [], [(start, end)]
    edges = [(start, datetime.combine(lo, time(0), UTC)), (datetime.combine(hi, time(0), UTC), end)]
    return _tiles(lo, hi), [(a, b) for a, b in edges if a < b]


def _histograms(conn: Connection, by: GroupBy, start: datetime, end: datetime) -> dict[str, dict[str, Histogram]]:
    """grp → metric → its histogram over the executions created in [start, end)."""
    periods, edges = _cover(start, end)
    found: dict[str, dict[str, Histogram]] = defaultdict(lambda: defaultdict(Counter))
    metrics = list(_values(conn))
    for a, b in edges:  # a part day: its few executions read one by one
        for row in conn.execute(_per_execution(conn, by, L.c.created_timestamp >= a, L.c.created_timestamp < b)):
            grp, values = row[0], row[1:]
            for metric, tenths in zip(metrics, values, strict=True):
                if tenths is not None:
                    found[grp][metric][int(tenths)] += 1
    if periods:
        for row in conn.execute(rolled_up(by, periods)):
            found[row.grp][row.metric][int(row.tenths)] += int(row.n)
    return found


def rolled_up(by: GroupBy, periods: list[tuple[str, date, date]]) -> Select[Any]:
    """(grp, metric, tenths, n) summed over the rollup's runs of periods (grain, first, end)."""
    rolled = union_all(
        *[
            select(R.c.grp, R.c.metric, R.c.tenths, R.c.n).where(
                R.c.dim == by.value, R.c.grain == grain, R.c.period >= a.isoformat(), R.c.period < b.isoformat()
            )
            for grain, a, b in periods
        ]
    ).subquery("r")
    keys = [rolled.c.grp, rolled.c.metric, rolled.c.tenths]
    return select(*keys, func.sum(rolled.c.n).label("n")).group_by(*keys)


def _mean(count: int, tenths: int) -> Decimal | None:
    if not count:
        return None
    return (Decimal(tenths) / 10 / count).quantize(_CENT, rounding=ROUND_HALF_EVEN)


def _stdev(count: int, tenths: int, squares: int) -> Decimal | None:
    """Σx and Σx² in tenths, exact: the sample variance is (nΣx² − (Σx)²) / n(n − 1), over 100 for pips²."""
    if count < 2:
        return None
    variance = Decimal(count * squares - tenths * tenths) / (count * (count - 1)) / 100
    return variance.sqrt().quantize(_CENT, rounding=ROUND_HALF_EVEN)


def _nearest_ranks(values: list[tuple[int, int]], count: int) -> dict[int, Decimal]:
    """p → the value at rank ⌈p·count/100⌉ of the (value, how many) sorted by value."""
    ranks = {p: (count * p + 99) // 100 for p in PERCENTILES}
    found: dict[int, Decimal] = {}
    seen = 0
    for value, n in values:
        seen += n
        for p, rank in ranks.items():
            if p not in found and seen >= rank:
                found[p] = Decimal(value).scaleb(-1)
    return found


def _stats(histogram: Histogram) -> MetricStats:
    values = sorted((v, n) for v, n in histogram.items() if n)
    count = sum(n for _, n in values)
    total = sum(v * n for v, n in values)
    percentiles = _nearest_ranks(values, count) if count else {}
    return MetricStats(
        count=count,
        mean=_mean(count, total),
        p50=percentiles.get(50),
        p90=percentiles.get(90),
        stdev=_stdev(count, total, sum(v * v * n for v, n in values)),
    )


def tca_groups(conn: Connection, by: GroupBy, start: datetime | None, end: datetime | None) -> list[TcaGroup]:
    """The groups with at least one execution in [start, end), in the group's order."""
    histograms = _histograms(conn, by, start or _FIRST, end or _LAST)
    groups = []
    for key in sorted(histograms, key=_order(by)):
        h = histograms[key]
        executions, sent, filled = (h[name][0] for name in COUNTS)
        if not executions:
            continue  # a group whose executions all moved out of it: its counts are back to 0
        spread = _stats(h["spread_pips"])
        groups.append(
            TcaGroup(
                group=key,
                executions=executions,
                sent=sent,
                filled=filled,
                fill_ratio=(Decimal(filled) / sent).quantize(Decimal("0.0001")) if sent else None,
                spread_pips_mean=spread.mean,
                metrics={name: _stats(h[name]) for name in METRICS},
            )
        )
    return groups


def _order(by: GroupBy) -> Any:
    if by is GroupBy.SIZE:
        bands = [label for label, _ in SIZE_BANDS]
        return lambda key: bands.index(key)
    return lambda key: key
