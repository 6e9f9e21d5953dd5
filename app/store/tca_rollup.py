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
from collections.abc import Collection
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
    literal_column,
    select,
    true,
    union_all,
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
    figures,
    group_of,
    per_execution,
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


class _Counted:
    """Where one execution is counted and the values it counts there."""

    __slots__ = ("places", "values")

    def __init__(self, row: Any, metrics: tuple[str, ...]) -> None:
        day, groups, values = row[1], row[2 : 2 + len(GroupBy)], row[2 + len(GroupBy) :]
        self.places: tuple[Place, ...] = tuple(
            (grain, period, by.value, grp)
            for grain, period in _periods(day)
            for by, grp in zip(GroupBy, groups, strict=True)
        )
        self.values: dict[Value, int] = {(m, int(v)): 1 for m, v in zip(metrics, values, strict=True) if v is not None}


def _read(conn: Connection, ids: Collection[str]) -> dict[str, _Counted]:
    query = _query(conn, len(ids))
    given = {**query.constants, **{f"id{k}": execution_id for k, execution_id in enumerate(ids)}}
    params: Any = tuple(given[n] for n in query.binds) if query.positional else given
    return {row[0]: _Counted(row, query.metrics) for row in conn.exec_driver_sql(query.sql, params)}


def _count(into: Counter[tuple[Any, ...]], places: tuple[Place, ...], values: dict[Value, int], sign: int) -> None:
    for value, n in values.items():
        if n:
            for place in places:
                into[place + value] += sign * n


def _difference(before: _Counted | None, after: _Counted | None, into: Counter[tuple[Any, ...]]) -> None:
    if before is not None and after is not None and before.places == after.places:
        changed = dict(after.values)
        for value, n in before.values.items():
            changed[value] = changed.get(value, 0) - n
        _count(into, after.places, changed, 1)  # the engine's case: only the figures that changed
        return
    if before is not None:
        _count(into, before.places, before.values, -1)
    if after is not None:
        _count(into, after.places, after.values, 1)


class RollupChanges:
    """What one write transaction changes in the rollup: the executions it touches, counted before and after."""

    def __init__(self) -> None:
        self._before: dict[str, _Counted | None] = {}
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
    per_row = per_execution(conn, by, day=True).subquery("v")
    names = union_all(*[select(literal_column(f"'{name}'").label("metric")) for name in figures(conn)]).subquery("m")
    value = case({name: per_row.c[name] for name in figures(conn)}, value=names.c.metric)
    counted = select(per_row.c.period, per_row.c.grp, names.c.metric, value.label("tenths")).select_from(
        per_row.join(names, true())
    )
    keys = list(counted.subquery("c").c)
    return select(*keys, func.count().label("n")).where(keys[-1].is_not(None)).group_by(*keys)


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
