"""The store's tables: docs/DESIGN.md's execution_logs schema, the requests behind it, every
fill, every input that could not be executed, and the append-only audit trail."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Context, Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
)

from app.domain.bounds import (
    LOTS_DIGITS,
    MONEY_DIGITS,
    PIPS_DIGITS,
    PIPS_LIMIT_DIGITS,
    PRICE_DIGITS,
    TIMEOUT_DIGITS,
    UNITS_DIGITS,
)


class ExactDecimal(TypeDecorator[Decimal]):
    """NUMERIC on PostgreSQL; text on SQLite, whose NUMERIC would round through a float.

    A value the column cannot keep exactly (more decimals than its scale, too large, not finite) is
    refused, never rounded as PostgreSQL would. The contract's bounds (app.domain.bounds) refuse such values
    where they enter: this is the store's own guarantee should one get here all the same."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int | None = None, scale: int | None = None) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision, self.scale = precision, scale

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def _keeps(self, value: Decimal) -> bool:
        if not value.is_finite():
            return False
        if self.precision is None or self.scale is None:
            return True  # an unbounded NUMERIC (and text on SQLite)
        step = Decimal(1).scaleb(-self.scale)
        return value.copy_abs() < Decimal(10) ** (self.precision - self.scale) and value == value.quantize(
            step, context=Context(prec=self.precision)
        )

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not self._keeps(value):
            raise ValueError(f"{value} does not fit NUMERIC({self.precision}, {self.scale}) exactly; not recorded")
        if value.is_zero():
            value = value.copy_abs()  # -0 is 0: PostgreSQL's NUMERIC has no signed zero, SQLite's text would
        return format(value, "f") if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value) if isinstance(value, str) else Decimal(str(value))


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps are stored and returned as UTC, whatever the backend keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

UNITS = ExactDecimal(*UNITS_DIGITS)
PRICE = ExactDecimal(*PRICE_DIGITS)
LOTS = ExactDecimal(*LOTS_DIGITS)
PIPS = ExactDecimal(*PIPS_DIGITS)

execution_requests = Table(
    "execution_requests",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("rpm_order_id", String(64), nullable=False, unique=True),  # the idempotency key
    Column("execution_id", String(36), nullable=False),
    Column("received_timestamp", UtcDateTime, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("source", String(255)),
    Column("decision_status", String(10), nullable=False),
    Column("config_hash", String(128)),
    Column("timeout_seconds", ExactDecimal(*TIMEOUT_DIGITS), nullable=False),
    Column("max_slippage_pips", ExactDecimal(*PIPS_LIMIT_DIGITS)),
    Column("rpm_output_raw", Text, nullable=False),  # verbatim, as received
)

execution_logs = Table(
    "execution_logs",
    metadata,
    Column("execution_id", String(36), primary_key=True),
    Column("order_id", String(36)),
    Column("request_id", String(36), nullable=False),
    Column("rpm_decision_id", String(64), nullable=False, unique=True),
    # trade details
    Column("symbol", String(32), nullable=False),
    Column("direction", SmallInteger, nullable=False),
    Column("intended_units", UNITS, nullable=False),
    Column("executed_units", UNITS),
    Column("lots", LOTS),
    # prices
    Column("intended_price", PRICE),
    Column("fill_price", PRICE),
    Column("slippage_pips", PIPS),
    Column("slippage_category", String(12)),
    Column("market_bid", PRICE),
    Column("market_ask", PRICE),
    Column("spread_pips", PIPS),
    # status
    Column("status", String(20), nullable=False),
    Column("rejection_reason", String(50)),
    Column("rejection_details", Text),
    Column("decision_status", String(10), nullable=False),
    Column("broker", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("fill_count", Integer, nullable=False, default=0),
    # metadata
    Column("confidence_score", ExactDecimal()),  # a model's float, kept as sent: no bound to round it to
    Column("regime", String(40)),
    Column("risk_per_trade", ExactDecimal(*MONEY_DIGITS)),
    # governance
    Column("model_version", String(40)),
    Column("rpm_version", String(40)),
    Column("execution_engine_version", String(20), nullable=False),
    # timestamps
    Column("created_timestamp", UtcDateTime, nullable=False),
    Column("submission_timestamp", UtcDateTime),
    Column("fill_timestamp", UtcDateTime),
    Column("cancel_requested_timestamp", UtcDateTime),
    Column("last_update_timestamp", UtcDateTime, nullable=False),
    Index("idx_symbol_date", "symbol", "created_timestamp"),
    Index("idx_status", "status", "created_timestamp"),
    Index("idx_order_id", "order_id"),
    Index("idx_request_id", "request_id"),
    Index("idx_created", "created_timestamp", "execution_id"),  # the export's order, without a sort
)

execution_fills = Table(
    "execution_fills",
    metadata,
    Column("fill_id", Integer, primary_key=True, autoincrement=True),
    Column("execution_id", String(36), nullable=False, index=True),
    Column("broker_order_id", String(36), nullable=False),
    Column("deal_id", String(36), nullable=False),
    Column("lots", LOTS, nullable=False),
    Column("units", UNITS, nullable=False),
    Column("price", PRICE, nullable=False),
    Column("fill_timestamp", UtcDateTime, nullable=False),
    Index("uq_fill_deal", "execution_id", "deal_id", unique=True),
)

# One row per execution that filled (app.domain.tca): the arrival figures, written with the first fill,
# and the mark-outs as they become known. A new table: execution_logs is sealed by the audit trail.
execution_tca = Table(
    "execution_tca",
    metadata,
    Column("execution_id", String(36), primary_key=True),
    Column("arrival_mid", PRICE, nullable=False),
    Column("spread_pips", PIPS),
    Column("slippage_vs_arrival_pips", PIPS),
    Column("pip", PRICE, nullable=False),  # the symbol's pip: mark-outs after a restart need no broker to price
    Column("marked_from", UtcDateTime, nullable=False),  # the fill's time; the mark-outs count from it
    Column("markout_1s_pips", PIPS),
    Column("markout_5s_pips", PIPS),
    Column("markout_30s_pips", PIPS),
    Column("markout_60s_pips", PIPS),
    Column("markouts_missing", String(20)),  # the horizons no price was found for, e.g. "30s 60s"
    Column("markouts_pending", SmallInteger, nullable=False),  # horizons still to sample: what a restart resumes
    Index("idx_tca_pending", "markouts_pending"),
)

intake_errors = Table(
    "intake_errors",
    metadata,
    Column("intake_error_id", Integer, primary_key=True, autoincrement=True),
    Column("received_timestamp", UtcDateTime, nullable=False, index=True),
    Column("channel", String(20), nullable=False),
    Column("source", String(255)),
    Column("rpm_order_id", String(64)),  # when one could be read at all
    Column("errors", Text, nullable=False),  # JSON list of {field, message}
    Column("raw_payload", Text, nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("event_timestamp", UtcDateTime, nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("execution_id", String(36)),
    Column("payload", Text, nullable=False),  # canonical JSON
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("signature", String(64), nullable=False),
    Index("idx_audit_time", "event_timestamp"),
    Index("idx_audit_execution", "execution_id", "seq"),
)

# One row: the fingerprint of the audit key that signs this store (app.domain.audit.AuditSigner.fingerprint),
# so that a check with another key says so instead of calling every record forged.
store_identity = Table(
    "store_identity",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("key_fingerprint", String(16), nullable=False),
    Column("recorded_timestamp", UtcDateTime, nullable=False),
)

# GET /tca's figures summed per period (app.store.tca_aggregates), kept by triggers on execution_logs and
# execution_tca (migration 0005): how many executions of a (grain, period, dim, grp) have a metric's value,
# in whole tenths of a pip. Never written by the application.
tca_rollup = Table(
    "tca_rollup",
    metadata,
    Column("grain", String(7), nullable=False),  # day, pentad, dekad, month or quarter
    Column("period", String(10), nullable=False),  # the period's first day, YYYY-MM-DD (UTC)
    Column("dim", String(6), nullable=False),  # symbol, hour or size
    Column("grp", String(32), nullable=False),
    Column("metric", String(32), nullable=False),  # executions, sent, filled (value 0) or a figure in pips
    Column("tenths", BigInteger, nullable=False),
    Column("n", BigInteger, nullable=False),
    # on PostgreSQL the key's index carries n (revision 0006), so that GET /tca reads the index alone
    PrimaryKeyConstraint(
        "dim", "grain", "period", "grp", "metric", "tenths", name="pk_tca_rollup", postgresql_include=["n"]
    ),
    sqlite_with_rowid=False,
)
