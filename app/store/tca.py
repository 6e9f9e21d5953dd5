"""The TCA rows of executions (table execution_tca): written with the first fill, mark-outs added as known."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Select, case, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from app.domain.tca import HORIZONS_S, MarkoutJob, Tca, horizon_name
from app.store.tables import execution_logs, execution_tca
from app.store.writer import WriteBatch

T = execution_tca


def markout_column(horizon_s: int) -> Any:
    return T.c[f"markout_{horizon_name(horizon_s)}_pips"]


def _upsert(dialect: Any) -> Any:
    stmt = dialect.insert(T)
    return stmt.on_conflict_do_update(
        index_elements=[T.c.execution_id],
        set_={"slippage_vs_arrival_pips": stmt.excluded.slippage_vs_arrival_pips},
    )


# Built once per backend: the writer runs each as one executemany for the whole batch.
_UPSERT = {"sqlite": _upsert(sqlite), "postgresql": _upsert(postgresql)}


def write_tca(batch: WriteBatch, execution_id: str, tca: Tca, pip: Decimal) -> None:
    """The arrival figures: inserted with the first fill; a later fill (the VWAP moved) updates the
    slippage against arrival and leaves the mark-outs, timed from the first fill, as they are."""
    row = {
        "execution_id": execution_id,
        "arrival_mid": tca.arrival_mid,
        "spread_pips": tca.spread_pips,
        "slippage_vs_arrival_pips": tca.slippage_vs_arrival_pips,
        "pip": pip,
        "marked_from": tca.marked_from,
        "markouts_pending": len(HORIZONS_S),
    }
    batch.add(_UPSERT[batch.conn.dialect.name], row)


def record_markout(conn: Connection, execution_id: str, horizon_s: int, pips: Decimal | None) -> bool:
    """One horizon's mark-out, or its absence (pips None); False when it was settled already."""
    column = markout_column(horizon_s)
    values: dict[str, Any] = {"markouts_pending": T.c.markouts_pending - 1}
    if pips is None:
        values["markouts_missing"] = _appended(T.c.markouts_missing, literal(horizon_name(horizon_s)))
    else:
        values[column.name] = pips
    settled = conn.execute(
        update(T).where(T.c.execution_id == execution_id, column.is_(None), T.c.markouts_pending > 0).values(values)
    )
    return bool(settled.rowcount)


def _appended(missing: ColumnElement[Any], name: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((missing.is_(None), name), else_=missing + literal(" ") + name)


def _tca(row: Any) -> Tca:
    missing = frozenset(int(h.rstrip("s")) for h in (row.markouts_missing or "").split())
    return Tca(
        arrival_mid=row.arrival_mid,
        spread_pips=row.spread_pips,
        slippage_vs_arrival_pips=row.slippage_vs_arrival_pips,
        marked_from=row.marked_from,
        markouts_pips={h: row._mapping[markout_column(h)] for h in HORIZONS_S},
        missing=missing,
    )


def read_tca(conn: Connection, execution_id: str) -> Tca | None:
    row = conn.execute(select(T).where(T.c.execution_id == execution_id)).first()
    return _tca(row) if row is not None else None


def _pending_query() -> Select[Any]:
    L = execution_logs
    return (
        select(T, L.c.symbol, L.c.direction, L.c.fill_price)
        .select_from(T.join(L, L.c.execution_id == T.c.execution_id))
        .where(T.c.markouts_pending > 0, L.c.fill_price.is_not(None))
        .order_by(T.c.marked_from)
    )


def pending_markouts(conn: Connection) -> list[MarkoutJob]:
    return [
        MarkoutJob(row.execution_id, row.symbol, row.direction, row.fill_price, row.pip, _tca(row))
        for row in conn.execute(_pending_query())
    ]
