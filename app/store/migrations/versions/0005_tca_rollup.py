"""GET /tca's figures kept summed per period: table tca_rollup, maintained by triggers (issue 16).

Revision ID: 0005
Revises: 0004
Create Date: 2027-03-10

One row per (grain, period, dimension, group, metric, value in whole tenths of a pip): how many executions
created in that UTC day, pentad (days 1-5, 6-10, ..., 26-end), dekad (1-10, 11-20, 21-end), month or
quarter, in that symbol, UTC hour of day or size band, have that value. The counts (executions, sent,
filled) are metrics whose only value is 0. Percentiles by nearest rank, means and standard deviations
are exact from these counts.

Triggers on execution_logs and execution_tca subtract a row's old contribution and add its new one in the
writing transaction itself, whoever writes (the engine, the bench's seeding, a repair by hand): the rollup
cannot drift from the rows. The SQL is written out here, not imported, so that this revision stays what it
was when app.store.tca_aggregates changes; `verify` checks the two agree.
"""

from __future__ import annotations

import itertools

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Each grain made of whole periods of the one before: a range is read as few periods as it can be.
GRAINS = ("day", "pentad", "dekad", "month", "quarter")
# (where the period's number is in YYYY-MM-DD, the first number of each of its periods)
STARTS = {
    "pentad": (9, (1, 6, 11, 16, 21, 26)),
    "dekad": (9, (1, 11, 21)),
    "month": (9, (1,)),
    "quarter": (6, (1, 4, 7, 10)),
}
DIMS = ("symbol", "hour", "size")
LOG_METRICS = ("executions", "sent", "filled", "slippage_pips")
TCA_METRICS = (
    "spread_pips",
    "slippage_vs_arrival_pips",
    "markout_1s_pips",
    "markout_5s_pips",
    "markout_30s_pips",
    "markout_60s_pips",
)
FILLED = "('FILLED', 'PARTIALLY_FILLED')"
BANDS = ((10_000, "<10k"), (100_000, "10k-100k"), (1_000_000, "100k-1M"), (10_000_000, "1M-10M"))
KEYS = "symbol, created, units"


def period(grain: str, day: str) -> str:
    """The first day of the grain's period holding `day` (YYYY-MM-DD text): the same text on both backends."""
    if grain == "day":
        return day
    at, starts = STARTS[grain]
    number = f"substr({day}, {at}, 2)"
    ladder = " ".join(f"WHEN {number} < '{b:02d}' THEN '{a:02d}'" for a, b in itertools.pairwise(starts))
    first = f"CASE {ladder} ELSE '{starts[-1]:02d}' END" if ladder else f"'{starts[0]:02d}'"
    return f"substr({day}, 1, {at - 1}) || {first}" + (" || '-01'" if at == 6 else "")


class Sql:
    """The expressions that differ between the backends: SQLite keeps timestamps and numbers as text."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"

    def tenths(self, x: str) -> str:
        if self.sqlite:
            return f"CAST(round(CAST({x} AS REAL) * 10) AS INTEGER)"
        return f"CAST({x} * 10 AS BIGINT)"

    def day(self, at: str) -> str:
        """The UTC day of a timestamp as YYYY-MM-DD."""
        return f"date({at})" if self.sqlite else f"to_char({at} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"

    def hour(self, at: str) -> str:
        return f"strftime('%H', {at})" if self.sqlite else f"to_char({at} AT TIME ZONE 'UTC', 'HH24')"

    def band(self, units: str) -> str:
        number = f"CAST({units} AS REAL)" if self.sqlite else units
        whens = " ".join(f"WHEN {number} < {upper} THEN '{label}'" for upper, label in BANDS)
        return f"CASE {whens} ELSE '>=10M' END"

    def distinct(self, a: str, b: str) -> str:
        return f"{a} IS NOT {b}" if self.sqlite else f"{a} IS DISTINCT FROM {b}"

    def metric(self, name: str) -> str:
        """The value a source row `s` gives the metric, in tenths; NULL when it gives none."""
        if name == "executions":
            return "0"
        if name == "sent":
            return f"CASE WHEN s.submitted IS NOT NULL OR s.status IN {FILLED} THEN 0 END"
        if name == "filled":
            return f"CASE WHEN s.status IN {FILLED} THEN 0 END"
        return self.tenths(f"s.{name}")

    def rows(self, source: str, metrics: tuple[str, ...], sign: int) -> str:
        """(symbol, created, units, metric, tenths, n): each source row's values, counted `sign` times."""
        names = " UNION ALL ".join(f"SELECT '{m}' AS metric" for m in metrics)
        value = "CASE m.metric " + " ".join(f"WHEN '{m}' THEN {self.metric(m)}" for m in metrics) + " END"
        return (
            f"SELECT {KEYS}, metric, tenths, {sign} AS n FROM ("
            f"SELECT s.symbol, s.created, s.units, m.metric, {value} AS tenths FROM ({source}) s, ({names}) m"
            ") v WHERE tenths IS NOT NULL"
        )

    def upsert(self, *parts: str, net: bool = True, grains: tuple[str, ...] = GRAINS) -> str:
        """Add the parts' rows to the rollup, spread over every grain and dimension. `net` first cancels an
        old row against its new one: an update that changes no figure writes nothing."""
        rows = " UNION ALL ".join(parts)
        if net:
            rows = f"SELECT {KEYS}, metric, tenths, SUM(n) AS n FROM ({rows}) r GROUP BY {KEYS}, metric, tenths"
        day = self.day("r.created")
        names = " UNION ALL ".join(f"SELECT '{g}' AS grain" for g in grains)
        dims = " UNION ALL ".join(f"SELECT '{d}' AS dim" for d in DIMS)
        first = "CASE g.grain " + " ".join(f"WHEN '{g}' THEN {period(g, day)}" for g in grains) + " END"
        hour, band = self.hour("r.created"), self.band("r.units")
        group = f"CASE d.dim WHEN 'symbol' THEN r.symbol WHEN 'hour' THEN {hour} ELSE {band} END"
        spread = (
            f"SELECT g.grain, {first} AS period, d.dim, {group} AS grp, r.metric, r.tenths, r.n"
            f" FROM ({rows}) r, ({names}) g, ({dims}) d WHERE r.n <> 0"
        )
        return (
            "INSERT INTO tca_rollup (grain, period, dim, grp, metric, tenths, n)"
            f" SELECT grain, period, dim, grp, metric, tenths, SUM(n) FROM ({spread}) x"
            " WHERE true GROUP BY grain, period, dim, grp, metric, tenths HAVING SUM(n) <> 0"
            " ON CONFLICT (grain, period, dim, grp, metric, tenths) DO UPDATE SET n = tca_rollup.n + excluded.n"
        )


def log_source(row: str) -> str:
    return (
        f"SELECT {row}.symbol AS symbol, {row}.created_timestamp AS created, {row}.intended_units AS units,"
        f" {row}.status AS status, {row}.submission_timestamp AS submitted, {row}.slippage_pips AS slippage_pips"
    )


def tca_of_log(row: str, tables: str = "execution_tca t WHERE") -> str:
    """The TCA row of the execution `row` of execution_logs, with its keys."""
    metrics = ", ".join(f"t.{m}" for m in TCA_METRICS)
    return (
        f"SELECT {row}.symbol AS symbol, {row}.created_timestamp AS created, {row}.intended_units AS units, {metrics}"
        f" FROM {tables} t.execution_id = {row}.execution_id"
    )


def log_of_tca(row: str) -> str:
    """The TCA row `row` of execution_tca, with its execution's keys."""
    metrics = ", ".join(f"{row}.{m} AS {m}" for m in TCA_METRICS)
    return (
        f"SELECT l.symbol, l.created_timestamp AS created, l.intended_units AS units, {metrics}"
        f" FROM execution_logs l WHERE l.execution_id = {row}.execution_id"
    )


LOG_COLUMNS = (
    "execution_id",
    "symbol",
    "created_timestamp",
    "intended_units",
    "status",
    "submission_timestamp",
    "slippage_pips",
)
TCA_COLUMNS = ("execution_id", *TCA_METRICS)


def triggers(sql: Sql) -> list[tuple[str, str, str, str, str | None]]:
    """(name, timing, table, statement, WHEN condition or None) of every trigger."""
    changed = {
        table: " OR ".join(sql.distinct(f"OLD.{c}", f"NEW.{c}") for c in columns)
        for table, columns in (("execution_logs", LOG_COLUMNS), ("execution_tca", TCA_COLUMNS))
    }
    return [
        (
            "tca_rollup_log_insert",
            "INSERT",
            "execution_logs",
            sql.upsert(
                sql.rows(log_source("NEW"), LOG_METRICS, 1), sql.rows(tca_of_log("NEW"), TCA_METRICS, 1), net=False
            ),
            None,
        ),
        (
            "tca_rollup_log_update",
            "UPDATE",
            "execution_logs",
            sql.upsert(
                sql.rows(log_source("OLD"), LOG_METRICS, -1),
                sql.rows(log_source("NEW"), LOG_METRICS, 1),
                sql.rows(tca_of_log("OLD"), TCA_METRICS, -1),
                sql.rows(tca_of_log("NEW"), TCA_METRICS, 1),
            ),
            changed["execution_logs"],
        ),
        (
            "tca_rollup_log_delete",
            "DELETE",
            "execution_logs",
            sql.upsert(
                sql.rows(log_source("OLD"), LOG_METRICS, -1), sql.rows(tca_of_log("OLD"), TCA_METRICS, -1), net=False
            ),
            None,
        ),
        (
            "tca_rollup_tca_insert",
            "INSERT",
            "execution_tca",
            sql.upsert(sql.rows(log_of_tca("NEW"), TCA_METRICS, 1), net=False),
            None,
        ),
        (
            "tca_rollup_tca_update",
            "UPDATE",
            "execution_tca",
            sql.upsert(sql.rows(log_of_tca("OLD"), TCA_METRICS, -1), sql.rows(log_of_tca("NEW"), TCA_METRICS, 1)),
            changed["execution_tca"],
        ),
        (
            "tca_rollup_tca_delete",
            "DELETE",
            "execution_tca",
            sql.upsert(sql.rows(log_of_tca("OLD"), TCA_METRICS, -1), net=False),
            None,
        ),
    ]


def _create_trigger(sqlite: bool, name: str, timing: str, table: str, statement: str, when: str | None) -> None:
    condition = f" WHEN ({when})" if when else ""
    if sqlite:
        op.execute(f"CREATE TRIGGER {name} AFTER {timing} ON {table} FOR EACH ROW{condition} BEGIN {statement}; END")
        return
    op.execute(
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {statement}; RETURN NULL; END $$"
    )
    op.execute(f"CREATE TRIGGER {name} AFTER {timing} ON {table} FOR EACH ROW{condition} EXECUTE FUNCTION {name}()")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "tca_rollup",
        sa.Column("grain", sa.String(7), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),  # the period's first day, YYYY-MM-DD
        sa.Column("dim", sa.String(6), nullable=False),
        sa.Column("grp", sa.String(32), nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("tenths", sa.BigInteger, nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("dim", "grain", "period", "grp", "metric", "tenths", name="pk_tca_rollup"),
        sqlite_with_rowid=False,
    )
    sql = Sql(dialect)
    # The rows written before this revision, counted once into days, the days summed into the coarser grains.
    op.execute(
        sql.upsert(
            sql.rows(log_source("l") + " FROM execution_logs l", LOG_METRICS, 1),
            sql.rows(tca_of_log("l", "execution_logs l JOIN execution_tca t ON"), TCA_METRICS, 1),
            net=False,
            grains=GRAINS[:1],
        )
    )
    for grain in GRAINS[1:]:
        op.execute(
            "INSERT INTO tca_rollup (grain, period, dim, grp, metric, tenths, n)"
            f" SELECT '{grain}', first, dim, grp, metric, tenths, SUM(n) FROM ("
            f"SELECT {period(grain, 'period')} AS first, dim, grp, metric, tenths, n FROM tca_rollup"
            " WHERE grain = 'day') d GROUP BY first, dim, grp, metric, tenths"
        )
    for name, timing, table, statement, when in triggers(sql):
        _create_trigger(dialect == "sqlite", name, timing, table, statement, when)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name, _timing, table, _statement, _when in triggers(Sql("sqlite")):
        op.execute(f"DROP TRIGGER {name}" if sqlite else f"DROP TRIGGER {name} ON {table}")
        if not sqlite:
            op.execute(f"DROP FUNCTION {name}()")
    op.drop_table("tca_rollup")
