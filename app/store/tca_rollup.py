"""Table tca_rollup checked and rebuilt: what GET /tca reads (app.store.tca_aggregates).

Triggers keep it (migration 0005): whoever writes an execution's rows counts them in the same
transaction. Only a hand on the table itself, or on the triggers, can leave it behind: `verify` names
the first count that differs from the executions (`drift`), and `rebuild` (the command
`execution-engine db rebuild-tca`) counts it again from them.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    String,
    case,
    delete,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from app.store.tables import tca_rollup
from app.store.tca_aggregates import (
    COUNTS,
    GRAINS,
    STARTS,
    GroupBy,
    contributions,
)

R = tca_rollup
_KEY = ("grain", "period", "dim", "grp", "metric", "tenths")


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


def _expected(conn: Connection, by: GroupBy, grain: str) -> Select[Any]:
    """(period, grp, metric, tenths, n) as the grain should hold them: days from the executions, coarser
    periods from the rollup's days."""
    return contributions(conn, by) if grain == "day" else _summed_days(by, grain)


def _count_of(rows: Select[Any], key: Any) -> Select[Any]:
    sub = rows.subquery()
    return select(sub.c.n).where(*[sub.c[name] == key._mapping[name] for name in ("period", "grp", "metric", "tenths")])


def drift(conn: Connection) -> str | None:
    """One line naming where tca_rollup differs from the counts its executions give, or None: its days
    recomputed from the executions, its coarser periods from its days."""
    for by in GroupBy:
        for grain, source in [("day", "executions"), *[(grain, "days") for grain in GRAINS[1:]]]:
            stored = _stored(by, grain)
            expected = _expected(conn, by, grain)
            key = conn.execute(stored.except_(expected).limit(1)).first()
            key = key or conn.execute(expected.except_(stored).limit(1)).first()
            if key is None:
                continue
            found, given = (conn.execute(_count_of(rows, key)).scalar() or 0 for rows in (stored, expected))
            value = "" if key.metric in COUNTS else f" {Decimal(int(key.tenths)).scaleb(-1)}"
            return (
                f"tca_rollup: {by.value} {key.grp}, {grain} {key.period}: {key.metric}{value} counted {found} times"
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
            rows = _expected(conn, by, grain).subquery("r")
            keyed = select(literal(grain, String), rows.c.period, literal(by.value, String), *list(rows.c)[1:])
            conn.execute(insert(R).from_select([*_KEY, "n"], keyed))
    return int(conn.execute(select(func.count()).select_from(R)).scalar_one())
