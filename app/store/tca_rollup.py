"""Table tca_rollup kept, checked and rebuilt: what GET /tca reads (app.store.tca_aggregates).

The store's writer keeps it (since revision 0006): each write transaction reads the TCA figures of the
executions it touches before its first change to them and after its last, and adds the difference to the
rollup with one upsert per key for the whole group commit. An engine update that changes one figure
writes only that figure's counts, and executions that share a day, symbol, hour or size band share
their upserts.

Rows changed by anything but the writer (a repair by hand, the bench's seeding) leave the rollup behind:
`verify` names the first count that differs from the executions (`drift`), and `rebuild` (the command
`execution-engine db rebuild-tca`) counts the rollup again from them.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    Insert,
    Select,
    String,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from app.store.tables import execution_logs, execution_tca, tca_rollup
from app.store.tca_aggregates import (
    COUNTS,
    GRAINS,
    STARTS,
    GroupBy,
    counted,
    figures,
    group_of,
    period_start,
    utc_text,
)

L, T, R = execution_logs, execution_tca, tca_rollup
Place = tuple[str, str, str, str]  # (grain, period, dim, grp): where an execution is counted
Value = tuple[str, int]  # (metric, tenths): what it counts there
_KEY = ("grain", "period", "dim", "grp", "metric", "tenths")


def _upsert(dialect: Any) -> Any:
    stmt = dialect.insert(R)
    return stmt.on_conflict_do_update(index_elements=list(R.primary_key.columns), set_={"n": R.c.n + stmt.excluded.n})


ADD = {"sqlite": _upsert(sqlite), "postgresql": _upsert(postgresql)}  # n added to a key's count


@functools.lru_cache(maxsize=4096)
def _periods(day: str) -> tuple[tuple[str, str], ...]:
    """(grain, its period's first day) for every grain, of a UTC day given as YYYY-MM-DD."""
    d = date.fromisoformat(day)
    return tuple((grain, period_start(d, grain).isoformat()) for grain in GRAINS)


@dataclass(frozen=True)
class _Query:
    sql: str
    binds: list[str]
    positional: bool
    metrics: tuple[str, ...]  # the names of the figures, in the order of their columns
    constants: dict[str, Any]  # the values of its other binds (a format, say)


_QUERIES: dict[tuple[str, int], _Query] = {}


def _query(conn: Connection, ids: int) -> _Query:
    """Each execution's id, day, groups and figures, for `ids` execution ids: compiled once per backend
    and number of ids (at most the writer's batch), run without SQLAlchemy's per-statement work."""
    key = (conn.dialect.name, ids)
    if key not in _QUERIES:
        binds: list[BindParameter[Any]] = [bindparam(f"id{k}", "") for k in range(ids)]
        values = figures(conn)
        compiled = (
            select(
                L.c.execution_id,
                utc_text(conn, "%Y-%m-%d"),
                *[group_of(conn, by) for by in GroupBy],
                *values.values(),
            )
            .select_from(L.outerjoin(T, T.c.execution_id == L.c.execution_id))
            .where(L.c.execution_id.in_(binds))
            .compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        )
        names = list(compiled.positiontup or compiled.params)
        _QUERIES[key] = _Query(str(compiled), names, bool(compiled.positional), tuple(values), dict(compiled.params))
    return _QUERIES[key]


@functools.lru_cache(maxsize=4096)
def _places(where: tuple[Any, ...]) -> tuple[Place, ...]:
    """Every (grain, period, dim, grp) an execution of (day, symbol, hour, size band) is counted under."""
    day, groups = where[0], where[1:]
    return tuple(
        (grain, period, by.value, grp)
        for grain, period in _periods(day)
        for by, grp in zip(GroupBy, groups, strict=True)
    )


Counted = tuple[tuple[Any, ...], frozenset[Value]]  # an execution's (day, groups) and the values it counts


def _read(conn: Connection, ids: Collection[str]) -> dict[str, Counted]:
    """The executions as the rollup counts them, read on the driver's own cursor: this runs twice a commit."""
    query = _query(conn, len(ids))
    given = {**query.constants, **{f"id{k}": execution_id for k, execution_id in enumerate(ids)}}
    params: Any = tuple(given[n] for n in query.binds) if query.positional else given
    cursor = conn.connection.cursor()
    try:
        cursor.execute(query.sql, params)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    at = 2 + len(GroupBy)
    return {
        row[0]: (
            tuple(row[1:at]),
            frozenset((m, int(v)) for m, v in zip(query.metrics, row[at:], strict=True) if v is not None),
        )
        for row in rows
    }


def _values(metrics: tuple[str, ...], figures: Any) -> Iterable[Value]:
    return ((m, int(v)) for m, v in zip(metrics, figures, strict=True) if v is not None)


def _count(into: Counter[tuple[Any, ...]], where: tuple[Any, ...], values: Iterable[Value], sign: int) -> None:
    places = _places(where)
    for value in values:
        for place in places:
            into[place + value] += sign


def _difference(before: Counted | None, after: Counted | None, into: Counter[tuple[Any, ...]]) -> None:
    if before is not None and after is not None and before[0] == after[0]:
        # the engine's case: the same day and groups, only the figures that changed
        _count(into, after[0], after[1] - before[1], 1)
        _count(into, after[0], before[1] - after[1], -1)
        return
    if before is not None:
        _count(into, before[0], before[1], -1)
    if after is not None:
        _count(into, after[0], after[1], 1)


class RollupChanges:
    """What one write transaction changes in the rollup: the executions it touches, counted before and after."""

    def __init__(self) -> None:
        self._before: dict[str, Counted | None] = {}
        self._unread: set[str] = set()

    def touch_rows(self, statement: UpdateBase, rows: list[dict[str, Any]]) -> None:
        """A statement not yet run, with these rows: those of the rollup's tables name their execution as
        `execution_id`, or in an update's WHERE as `key_execution_id`."""
        table = getattr(getattr(statement, "table", None), "name", None)
        if table not in (L.name, T.name):
            return
        new = table == L.name and type(statement) is Insert  # an execution's first row: nothing counted before
        for row in rows:
            self.touch(row["execution_id"] if "execution_id" in row else row["key_execution_id"], new=new)

    def touch(self, execution_id: str, *, new: bool = False) -> None:
        """The execution's rows change in this transaction; `new`: its log is being inserted (a plain
        INSERT, which fails if it is there), so there is nothing to count before."""
        if execution_id in self._before or execution_id in self._unread:
            return
        if new:
            self._before[execution_id] = None
        else:
            self._unread.add(execution_id)

    def read_before(self, conn: Connection) -> None:
        """Count the touched executions as they are, before any statement of the transaction changes them."""
        if self._unread:
            found = _read(conn, self._unread)
            for execution_id in self._unread:
                self._before[execution_id] = found.get(execution_id)
            self._unread.clear()

    def rows(self, conn: Connection) -> list[dict[str, Any]]:
        """After the transaction's last change: what to add to each key of the rollup."""
        self.read_before(conn)
        if not self._before:
            return []
        after = _read(conn, self._before)
        into: Counter[tuple[Any, ...]] = Counter()
        for execution_id, before in self._before.items():
            _difference(before, after.get(execution_id), into)
        return [{**dict(zip(_KEY, key, strict=True)), "n": n} for key, n in into.items() if n]


def contributions(conn: Connection, by: GroupBy) -> Select[Any]:
    """(period, grp, metric, tenths, n): the rollup's days computed from the executions themselves."""
    return counted(conn, by, day=True)


def _first_of(grain: str, day: ColumnElement[Any]) -> ColumnElement[Any]:
    """The first day of the grain's period holding `day` (YYYY-MM-DD text)."""
    at, starts = STARTS[grain]
    number = func.substr(day, at, 2, type_=String)
    ladder = [(number < f"{b:02d}", f"{a:02d}") for a, b in itertools.pairwise(starts)]
    first: ColumnElement[Any] = case(*ladder, else_=f"{starts[-1]:02d}") if ladder else literal(f"{starts[0]:02d}")
    period = func.substr(day, 1, at - 1, type_=String) + first
    return period + "-01" if at == 6 else period


def _stored(by: GroupBy, grain: str) -> Select[Any]:
    return select(R.c.period, R.c.grp, R.c.metric, R.c.tenths, R.c.n).where(
        R.c.dim == by.value, R.c.grain == grain, R.c.n != 0
    )


def _summed_days(by: GroupBy, grain: str) -> Select[Any]:
    """The rollup's days summed into the grain's periods."""
    period = _first_of(grain, R.c.period)
    keys = [period.label("period"), R.c.grp, R.c.metric, R.c.tenths]
    summed = select(*keys, func.sum(R.c.n).label("n")).where(R.c.dim == by.value, R.c.grain == "day")
    return summed.group_by(*keys[1:], period).having(func.sum(R.c.n) != 0)


def _count_of(rows: Select[Any], key: Any) -> Select[Any]:
    sub = rows.subquery()
    return select(sub.c.n).where(*[sub.c[name] == key._mapping[name] for name in ("period", "grp", "metric", "tenths")])


def drift(conn: Connection) -> str | None:
    """One line naming where tca_rollup differs from the counts its executions give, or None: its days
    recomputed from the executions, its coarser periods from its days."""
    for by in GroupBy:
        for grain, source in [("day", "executions"), *[(grain, "days") for grain in GRAINS[1:]]]:
            stored = _stored(by, grain)
            expected = contributions(conn, by) if grain == "day" else _summed_days(by, grain)
            key = conn.execute(stored.except_(expected).limit(1)).first()
            key = key or conn.execute(expected.except_(stored).limit(1)).first()
            if key is None:
                continue
            counted, given = (conn.execute(_count_of(rows, key)).scalar() or 0 for rows in (stored, expected))
            value = "" if key.metric in COUNTS else f" {Decimal(int(key.tenths)).scaleb(-1)}"
            return (
                f"tca_rollup: {by.value} {key.grp}, {grain} {key.period}: {key.metric}{value} counted {counted} times"
                f" where its {source} give {given} (GET /tca's figures there are wrong:"
                " `execution-engine db rebuild-tca` counts them again from the executions)"
            )
    return None


def rebuild(conn: Connection) -> int:
    """Count the rollup again from the executions; its rows, counted. In a write transaction of the store
    (Database.write_transaction), which no writer's additions can interleave with."""
    conn.execute(delete(R))
    for by in GroupBy:
        # The days from the executions, then each coarser grain from the days just written.
        for grain in GRAINS:
            rows = (contributions(conn, by) if grain == "day" else _summed_days(by, grain)).subquery("r")
            keyed = select(literal(grain, String), rows.c.period, literal(by.value, String), *list(rows.c)[1:])
            conn.execute(insert(R).from_select([*_KEY, "n"], keyed))
    return int(conn.execute(select(func.count()).select_from(R)).scalar_one())
