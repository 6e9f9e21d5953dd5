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

    def metric(self, name: str, row: str = "s") -> str:
        """The value a row gives the metric, in tenths; NULL when it gives none."""
        if name == "executions":
            return "0"
        if name == "sent":
            return f"CASE WHEN {row}.submission_timestamp IS NOT NULL OR {row}.status IN {FILLED} THEN 0 END"
        if name == "filled":
            return f"CASE WHEN {row}.status IN {FILLED} THEN 0 END"
        return self.tenths(f"{row}.{name}")

    def rows(self, source: str, metrics: tuple[str, ...], sign: int) -> str:
        """(symbol, created, units, metric, tenths, n): each source row's values, counted `sign` times."""
        names = " UNION ALL ".join(f"SELECT '{m}' AS metric" for m in metrics)
        value = "CASE m.metric " + " ".join(f"WHEN '{m}' THEN {self.metric(m)}" for m in metrics) + " END"
        return (
            f"SELECT {KEYS}, metric, tenths, {sign} AS n FROM ("
            f"SELECT s.symbol, s.created, s.units, m.metric, {value} AS tenths FROM ({source}) s, ({names}) m"
            ") v WHERE tenths IS NOT NULL"
        )

    def keys(self, row: str, source: str = "") -> str:
        """(grain, period, dim, grp) of the execution `row` of execution_logs: one row per grain and dim."""
        at, day = f"{row}.created_timestamp", self.day(f"{row}.created_timestamp")
        groups = {"symbol": f"{row}.symbol", "hour": self.hour(at), "size": self.band(f"{row}.intended_units")}
        return " UNION ALL ".join(
            f"SELECT '{g}' AS grain, {period(g, day)} AS period, '{d}' AS dim, {groups[d]} AS grp{source}"
            for g in GRAINS
            for d in DIMS
        )

    def values(self, row: str, metrics: tuple[str, ...], sign: int, source: str = "") -> str:
        """(metric, tenths, n): the values of the metrics in `row` (NULL for none), counted `sign` times."""
        return " UNION ALL ".join(
            f"SELECT '{m}' AS metric, {self.metric(m, row)} AS tenths, {sign} AS n{source}" for m in metrics
        )

    def add(self, keys: str, *values: str, net: bool = False) -> str:
        """Add the values to the rollup under each of the keys; `net` first cancels an old value against its
        new one, so that an update that changes no figure writes nothing. Triggers are written this way:
        one execution's keys spelled out, no grouping but of its few values (the hot path's cost)."""
        rows = " UNION ALL ".join(values)
        delta = f"SELECT metric, tenths, n FROM ({rows}) v WHERE tenths IS NOT NULL"
        if net:
            delta = f"SELECT metric, tenths, SUM(n) AS n FROM ({delta}) v GROUP BY metric, tenths HAVING SUM(n) <> 0"
        return (
            "INSERT INTO tca_rollup (grain, period, dim, grp, metric, tenths, n)"
            f" SELECT k.grain, k.period, k.dim, k.grp, d.metric, d.tenths, d.n FROM ({delta}) d, ({keys}) k WHERE true"
            " ON CONFLICT (grain, period, dim, grp, metric, tenths) DO UPDATE SET n = tca_rollup.n + excluded.n"
        )

    def backfill(self, *parts: str) -> str:
        """Count the parts' rows, of every execution written before this revision, into the rollup's days."""
        hour, band = self.hour("r.created"), self.band("r.units")
        group = f"CASE d.dim WHEN 'symbol' THEN r.symbol WHEN 'hour' THEN {hour} ELSE {band} END"
        dims = " UNION ALL ".join(f"SELECT '{d}' AS dim" for d in DIMS)
        spread = (
            f"SELECT {self.day('r.created')} AS period, d.dim, {group} AS grp, r.metric, r.tenths, r.n"
            f" FROM ({' UNION ALL '.join(parts)}) r, ({dims}) d"
        )
        return (
            "INSERT INTO tca_rollup (grain, period, dim, grp, metric, tenths, n)"
            f" SELECT 'day', period, dim, grp, metric, tenths, SUM(n) FROM ({spread}) x"
            " GROUP BY period, dim, grp, metric, tenths"
        )


# Every execution's rows, with its keys (symbol, created, units): what the backfill counts.
LOGS = (
    "SELECT l.symbol AS symbol, l.created_timestamp AS created, l.intended_units AS units, l.status AS status,"
    " l.submission_timestamp AS submission_timestamp, l.slippage_pips AS slippage_pips FROM execution_logs l"
)
TCAS = (
    "SELECT l.symbol AS symbol, l.created_timestamp AS created, l.intended_units AS units, "
    + ", ".join(f"t.{m} AS {m}" for m in TCA_METRICS)
    + " FROM execution_logs l JOIN execution_tca t ON t.execution_id = l.execution_id"
)
LOG_KEYS = ("execution_id", "symbol", "created_timestamp", "intended_units")


def triggers(sql: Sql) -> list[tuple[str, str, str, str, str | None]]:
    """(name, timing, table, statements, WHEN condition or None) of every trigger."""
    log = {row: sql.keys(row) for row in ("OLD", "NEW")}
    tca = {
        row: sql.keys("l", f" FROM execution_logs l WHERE l.execution_id = {row}.execution_id")
        for row in ("OLD", "NEW")
    }
    tca_of = {row: f" FROM execution_tca t WHERE t.execution_id = {row}.execution_id" for row in ("OLD", "NEW")}
    figures = ("status", "submission_timestamp", "slippage_pips")

    def same(columns: tuple[str, ...]) -> str:
        return " AND ".join(f"NOT ({sql.distinct(f'OLD.{c}', f'NEW.{c}')})" for c in columns)

    def changed(columns: tuple[str, ...]) -> str:
        return " OR ".join(sql.distinct(f"OLD.{c}", f"NEW.{c}") for c in columns)

    def log_all(row: str, sign: int) -> str:
        return sql.add(log[row], sql.values(row, LOG_METRICS, sign), sql.values("t", TCA_METRICS, sign, tca_of[row]))

    def tca_all(row: str, sign: int) -> str:
        return sql.add(tca[row], sql.values(row, TCA_METRICS, sign))

    return [
        ("tca_rollup_log_insert", "INSERT", "execution_logs", log_all("NEW", 1), None),
        (  # the engine's updates: a status, a time sent, a slippage; the execution's keys as they were
            "tca_rollup_log_update",
            "UPDATE",
            "execution_logs",
            sql.add(
                log["NEW"], sql.values("OLD", LOG_METRICS[1:], -1), sql.values("NEW", LOG_METRICS[1:], 1), net=True
            ),
            f"{same(LOG_KEYS)} AND ({changed(figures)})",
        ),
        (  # a repair by hand: the execution moved to other keys, all its counts with it
            "tca_rollup_log_rekey",
            "UPDATE",
            "execution_logs",
            f"{log_all('OLD', -1)}; {log_all('NEW', 1)}",
            changed(LOG_KEYS),
        ),
        ("tca_rollup_log_delete", "DELETE", "execution_logs", log_all("OLD", -1), None),
        (
            "tca_rollup_tca_insert",
            "INSERT",
            "execution_tca",
            sql.add(tca["NEW"], sql.values("NEW", TCA_METRICS, 1)),
            None,
        ),
        (
            "tca_rollup_tca_update",
            "UPDATE",
            "execution_tca",
            sql.add(tca["NEW"], sql.values("OLD", TCA_METRICS, -1), sql.values("NEW", TCA_METRICS, 1), net=True),
            f"{same(('execution_id',))} AND ({changed(TCA_METRICS)})",
        ),
        (
            "tca_rollup_tca_rekey",
            "UPDATE",
            "execution_tca",
            f"{tca_all('OLD', -1)}; {tca_all('NEW', 1)}",
            changed(("execution_id",)),
        ),
        (
            "tca_rollup_tca_delete",
            "DELETE",
            "execution_tca",
            sql.add(tca["OLD"], sql.values("OLD", TCA_METRICS, -1)),
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
    op.execute(sql.backfill(sql.rows(LOGS, LOG_METRICS, 1), sql.rows(TCAS, TCA_METRICS, 1)))
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
