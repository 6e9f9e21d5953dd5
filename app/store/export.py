"""The compliance export: one CSV row per execution, with its RPM context, streamed in bounded memory.

The same function serves `execution-engine export`, `GET /audit_trail?format=csv` and the console's
export dialog, so the three can never disagree.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO, cast

from sqlalchemy import Connection, Select, String, case, func, literal, or_, select, type_coerce
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from app.domain.contracts import ExecutionStatus
from app.domain.jsontext import plain
from app.store.repository import execution_filters
from app.store.tables import ExactDecimal, UtcDateTime, execution_logs, execution_requests, execution_tca

if TYPE_CHECKING:
    import psycopg
    from psycopg.abc import Buffer

L, Q, T = execution_logs, execution_requests, execution_tca

EXPORT_COLUMNS: list[tuple[str, Any]] = [
    ("execution_id", L.c.execution_id),
    ("rpm_order_id", L.c.rpm_decision_id),
    ("request_id", L.c.request_id),
    ("order_id", L.c.order_id),
    ("created_timestamp", L.c.created_timestamp),
    ("submission_timestamp", L.c.submission_timestamp),
    ("fill_timestamp", L.c.fill_timestamp),
    ("last_update_timestamp", L.c.last_update_timestamp),
    ("symbol", L.c.symbol),
    ("direction", L.c.direction),
    ("intended_units", L.c.intended_units),
    ("executed_units", L.c.executed_units),
    ("lots", L.c.lots),
    ("intended_price", L.c.intended_price),
    ("fill_price", L.c.fill_price),
    ("slippage_pips", L.c.slippage_pips),
    ("slippage_category", L.c.slippage_category),
    ("market_bid", L.c.market_bid),
    ("market_ask", L.c.market_ask),
    ("spread_pips", L.c.spread_pips),
    ("status", L.c.status),
    ("rejection_reason", L.c.rejection_reason),
    ("rejection_details", L.c.rejection_details),
    ("decision_status", L.c.decision_status),
    ("broker", L.c.broker),
    ("attempts", L.c.attempts),
    ("fill_count", L.c.fill_count),
    ("confidence_score", L.c.confidence_score),
    ("regime", L.c.regime),
    ("risk_per_trade", L.c.risk_per_trade),
    ("model_version", L.c.model_version),
    ("rpm_version", L.c.rpm_version),
    ("execution_engine_version", L.c.execution_engine_version),
    ("config_hash", Q.c.config_hash),
    ("channel", Q.c.channel),
    ("source", Q.c.source),
    ("cancel_requested_timestamp", L.c.cancel_requested_timestamp),  # appended: readers of 0.1.0's columns keep theirs
    # transaction-cost analysis (app.domain.tca), empty for an execution without a fill
    ("arrival_mid", T.c.arrival_mid),
    ("slippage_vs_arrival_pips", T.c.slippage_vs_arrival_pips),
    ("markout_1s_pips", T.c.markout_1s_pips),
    ("markout_5s_pips", T.c.markout_5s_pips),
    ("markout_30s_pips", T.c.markout_30s_pips),
    ("markout_60s_pips", T.c.markout_60s_pips),
    ("markouts_missing", T.c.markouts_missing),
]
HEADER = [name for name, _ in EXPORT_COLUMNS]
# The cells that may hold a comma, a quote or a line break: texts that come from outside (the RPM's
# ids, regime and versions, the inbox file's name) and the engine's prose. The rest are identifiers,
# enums, numbers and timestamps of fixed shapes.
FREE_TEXT = {
    "rpm_order_id",
    "rejection_details",
    "regime",
    "model_version",
    "rpm_version",
    "config_hash",
    "source",
}


def export_query(
    start: datetime | None, end: datetime | None, symbol: str | None = None, statuses: Sequence[ExecutionStatus] = ()
) -> Select[Any]:
    return (
        select(*[col for _, col in EXPORT_COLUMNS])
        .select_from(
            L.outerjoin(Q, Q.c.request_id == L.c.request_id).outerjoin(T, T.c.execution_id == L.c.execution_id)
        )
        .where(*execution_filters(start, end, symbol, statuses))
        .order_by(L.c.created_timestamp, L.c.execution_id)
    )


def count_query(
    start: datetime | None, end: datetime | None, symbol: str | None = None, statuses: Sequence[ExecutionStatus] = ()
) -> Select[Any]:
    return select(func.count()).select_from(L).where(*execution_filters(start, end, symbol, statuses))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(value)


def _sqlite_time(value: str | None) -> str:
    # SQLite keeps UTC as 'YYYY-MM-DD HH:MM:SS.ffffff': reshaped, not parsed (the export's hot loop).
    return f"{value[:10]}T{value[11:23]}Z" if value else ""


def _converters(conn: Connection) -> list[Callable[[Any], str]]:
    """One converter per column, for the raw values the database driver hands back."""
    sqlite = conn.dialect.name == "sqlite"
    out: list[Callable[[Any], str]] = []
    for _name, column in EXPORT_COLUMNS:
        if sqlite and isinstance(column.type, UtcDateTime):
            out.append(_sqlite_time)
        elif sqlite and isinstance(column.type, ExactDecimal):
            out.append(lambda v: plain(Decimal(v)) if v else "")  # exact text, perhaps padded by 0.1.0
        else:
            out.append(_cell)
    return out


def _raw(stmt: Select[Any]) -> Select[Any]:
    # The driver's raw values: the per-cell typing of the store's column types is the export's hot loop.
    raw: list[ColumnElement[Any]] = [type_coerce(c, NullType()) for c in stmt.selected_columns]
    return stmt.with_only_columns(*raw)


def iter_rows(conn: Connection, stmt: Select[Any], batch: int = 5000) -> Iterator[list[str]]:
    """Rows as CSV cells, streamed in batches (bounded memory on any store size).

    Through csv.writer, the reference for the CSV the backends write themselves (below).
    """
    convert = _converters(conn)
    for rows in conn.execution_options(stream_results=True, yield_per=batch).execute(_raw(stmt)).partitions():
        for row in rows:
            yield [f(v) for f, v in zip(convert, row, strict=True)]


# A backend's export: the finished CSV text in chunks of `size` rows (the last may be shorter),
# each with its row count.
Chunks = Generator[tuple[str, int], None, None]


def _sql_cells(
    timestamp: Callable[[ColumnElement[Any]], ColumnElement[Any]],
    text: Callable[[str, ColumnElement[Any]], ColumnElement[Any]],
    number: Callable[[ColumnElement[Any]], ColumnElement[Any]],
) -> list[ColumnElement[Any]]:
    """SQL for each export column's cell, as `_cell` writes it: timestamps, texts as `text` has them,
    exact numbers as `number` spells them plain."""
    cells: list[ColumnElement[Any]] = []
    for name, column in EXPORT_COLUMNS:
        raw = type_coerce(column, NullType())
        if isinstance(column.type, UtcDateTime):
            cells.append(timestamp(raw))
        elif isinstance(column.type, ExactDecimal):
            cells.append(number(raw))
        elif isinstance(column.type, String):
            cells.append(text(name, raw))
        else:
            cells.append(raw)  # integers: the database's own text is str(int)
    return cells


def _sqlite_timestamp(raw: ColumnElement[Any]) -> ColumnElement[Any]:
    # SQLite keeps UTC as 'YYYY-MM-DD HH:MM:SS.ffffff': cut to the millisecond, as _cell truncates.
    return case((raw.is_(None), None), else_=func.printf("%.10sT%.12sZ", raw, func.substr(raw, 12)))


def _sqlite_number(raw: ColumnElement[Any]) -> ColumnElement[Any]:
    # SQLite keeps format(Decimal, "f") text (no exponent): padding zeros past the point to drop, and
    # a zero that an earlier release may have written signed.
    trimmed = func.rtrim(func.rtrim(raw, literal("0")), literal("."))
    spelled = case((func.instr(raw, literal(".")) > 0, trimmed), else_=raw)
    return case((spelled == literal("-0"), literal("0")), else_=spelled)


def _sqlite_text(name: str, raw: ColumnElement[Any]) -> ColumnElement[Any]:
    """csv.writer's QUOTE_MINIMAL, for the cells that may need it."""
    if name not in FREE_TEXT:
        return raw
    special = or_(*[func.instr(raw, literal(ch)) > 0 for ch in (",", '"', "\n", "\r")])
    quoted = literal('"') + func.replace(raw, literal('"'), literal('""')) + literal('"')
    return case((special, quoted), else_=raw)


def _sqlite_chunks(conn: Connection, stmt: Select[Any], size: int) -> Chunks:
    """Finished CSV lines built by SQLite: one printf per row, in C (NULL prints as the empty cell).

    Building the cells in Python costs a call per cell; 36 million of them for a million rows.
    """
    cells = _sql_cells(_sqlite_timestamp, _sqlite_text, _sqlite_number)
    line = func.printf(",".join(["%s"] * len(cells)) + "\n", *cells)
    lines: Select[Any] = stmt.with_only_columns(type_coerce(line, NullType()))
    for chunk in conn.execution_options(stream_results=True, yield_per=size).execute(lines).partitions():
        yield "".join([text for (text,) in chunk]), len(chunk)


def _postgresql_timestamp(raw: ColumnElement[Any]) -> ColumnElement[Any]:
    # MS truncates to the millisecond, as isoformat(timespec="milliseconds") does; NULL stays NULL.
    return func.to_char(func.timezone("UTC", raw), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')


def _postgresql_number(raw: ColumnElement[Any]) -> ColumnElement[Any]:
    # NUMERIC pads to its column's scale; trim_scale (PostgreSQL 13+) drops those zeros, never a digit.
    return func.trim_scale(raw)


def _postgresql_text(_name: str, raw: ColumnElement[Any]) -> ColumnElement[Any]:
    # COPY quotes the cells itself (free text or not). It writes an empty string as "" to tell it
    # from NULL; csv.writer writes both as nothing.
    return func.nullif(raw, literal(""))


def _driver_statement(compiled: SQLCompiler) -> tuple[str, dict[str, Any]]:
    """The SQL and its parameters as SQLAlchemy would hand them to the driver (IN lists expanded,
    the column types' bind processing applied), for a statement SQLAlchemy cannot run itself."""
    state = compiled.construct_expanded_state()
    dialect = compiled.dialect
    # dialect_impl: the type as this dialect has it (the generic type's processor is its generic impl's).
    processors = {
        name: bind.type.dialect_impl(dialect).bind_processor(dialect) for name, bind in compiled.binds.items()
    }
    processors.update(state.processors)  # the expanded IN items'
    params = {name: (p(v) if (p := processors.get(name)) else v) for name, v in state.parameters.items()}
    return state.statement, params


def _postgresql_chunks(conn: Connection, stmt: Select[Any], size: int) -> Chunks:
    """COPY … TO STDOUT (FORMAT csv): PostgreSQL writes the CSV itself, quoting every cell as
    csv.writer's QUOTE_MINIMAL does (a comma, a quote, CR or LF in it), and psycopg hands it over a
    row at a time. A lone CR is quoted, as by SQLite's path and Python 3.13's csv module (3.11 and
    3.12 leave it bare, which their own reader cannot read back).

    Fetching rows through a cursor costs a Python object per row and a round trip per batch.
    """
    cells = stmt.with_only_columns(*_sql_cells(_postgresql_timestamp, _postgresql_text, _postgresql_number))
    sql, params = _driver_statement(cells.compile(dialect=conn.dialect))
    driver = cast("psycopg.Connection[Any]", conn.connection.driver_connection)
    # In a savepoint of the connection's own transaction (SQLAlchemy's, begun if need be): a COPY
    # stopped early (cancel, a failed write) is cancelled on the server by psycopg, which aborts
    # the transaction; rolling back to the savepoint leaves the caller's connection usable.
    with (
        conn.begin_nested(),
        driver.cursor() as cursor,
        cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy,
    ):
        encoding = driver.info.encoding  # the client encoding COPY writes in
        rows: list[Buffer] = []
        for row in copy:  # one CopyData message per row
            rows.append(row)
            if len(rows) == size:
                yield b"".join(rows).decode(encoding), size
                rows = []
        if rows:
            yield b"".join(rows).decode(encoding), len(rows)


_BACKEND_CHUNKS: dict[str, Callable[[Connection, Select[Any], int], Chunks]] = {
    "sqlite": _sqlite_chunks,
    "postgresql": _postgresql_chunks,
}


def write_csv(
    conn: Connection,
    out: TextIO,
    start: datetime | None,
    end: datetime | None,
    *,
    symbol: str | None = None,
    statuses: Sequence[ExecutionStatus] = (),
    progress: Callable[[int], bool] | None = None,
    progress_every: int = 5000,
) -> int:
    """Write the export; `progress(rows_so_far)` may return False to cancel. Returns the rows written."""
    csv.writer(out, lineterminator="\n").writerow(HEADER)
    chunks = _BACKEND_CHUNKS[conn.dialect.name]  # the store's two backends (app.store.database)
    rows = 0
    # Closed on the way out, cancel or error: that stops the query (on PostgreSQL, the COPY).
    with closing(chunks(conn, export_query(start, end, symbol, statuses), progress_every)) as written:
        for text, count in written:
            out.write(text)
            rows += count
            if progress is not None and count == progress_every and progress(rows) is False:
                break
    if progress is not None:
        progress(rows)
    return rows
