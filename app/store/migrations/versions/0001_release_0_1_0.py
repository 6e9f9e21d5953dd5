"""The schema of release 0.1.0, as its metadata.create_all and triggers made it.

Revision ID: 0001
Revises:
Create Date: 2026-12-01

Stores of that release have no alembic_version table: app.store.migrate recognises them by their
tables and stamps them here. Exact numbers are NUMERIC on PostgreSQL and text on SQLite, whose NUMERIC
would round through a float; the widths are release 0.1.0's (0002 widens them).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def exact(precision: int, scale: int) -> sa.types.TypeEngine[Any]:
    return sa.Numeric(precision, scale).with_variant(sa.String(40), "sqlite")


def utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


# The audit trail is append-only: the database itself refuses UPDATE and DELETE (and TRUNCATE).
SQLITE_TRIGGERS = [
    """CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
]
PG_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$""",
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
       FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""",
    """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
       FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "execution_requests",
        sa.Column("request_id", sa.String(36), primary_key=True),
        sa.Column("rpm_order_id", sa.String(64), nullable=False, unique=True),
        sa.Column("execution_id", sa.String(36), nullable=False),
        sa.Column("received_timestamp", utc(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("source", sa.String(255)),
        sa.Column("decision_status", sa.String(10), nullable=False),
        sa.Column("config_hash", sa.String(128)),
        sa.Column("timeout_seconds", exact(10, 3), nullable=False),
        sa.Column("max_slippage_pips", exact(8, 2)),
        sa.Column("rpm_output_raw", sa.Text, nullable=False),
    )
    op.create_table(
        "execution_logs",
        sa.Column("execution_id", sa.String(36), primary_key=True),
        sa.Column("order_id", sa.String(36)),
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("rpm_decision_id", sa.String(64), nullable=False, unique=True),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("direction", sa.SmallInteger, nullable=False),
        sa.Column("intended_units", exact(20, 2), nullable=False),
        sa.Column("executed_units", exact(20, 2)),
        sa.Column("lots", exact(18, 8)),
        sa.Column("intended_price", exact(18, 8)),
        sa.Column("fill_price", exact(18, 8)),
        sa.Column("slippage_pips", exact(10, 1)),
        sa.Column("slippage_category", sa.String(12)),
        sa.Column("market_bid", exact(18, 8)),
        sa.Column("market_ask", exact(18, 8)),
        sa.Column("spread_pips", exact(10, 1)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("rejection_reason", sa.String(50)),
        sa.Column("rejection_details", sa.Text),
        sa.Column("decision_status", sa.String(10), nullable=False),
        sa.Column("broker", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("fill_count", sa.Integer, nullable=False),
        sa.Column("confidence_score", exact(6, 4)),
        sa.Column("regime", sa.String(40)),
        sa.Column("risk_per_trade", exact(14, 2)),
        sa.Column("model_version", sa.String(40)),
        sa.Column("rpm_version", sa.String(40)),
        sa.Column("execution_engine_version", sa.String(20), nullable=False),
        sa.Column("created_timestamp", utc(), nullable=False),
        sa.Column("submission_timestamp", utc()),
        sa.Column("fill_timestamp", utc()),
        sa.Column("cancel_requested_timestamp", utc()),
        sa.Column("last_update_timestamp", utc(), nullable=False),
    )
    op.create_index("idx_symbol_date", "execution_logs", ["symbol", "created_timestamp"])
    op.create_index("idx_status", "execution_logs", ["status", "created_timestamp"])
    op.create_index("idx_order_id", "execution_logs", ["order_id"])
    op.create_index("idx_request_id", "execution_logs", ["request_id"])
    op.create_index("idx_created", "execution_logs", ["created_timestamp", "execution_id"])
    op.create_table(
        "execution_fills",
        sa.Column("fill_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("execution_id", sa.String(36), nullable=False),
        sa.Column("broker_order_id", sa.String(36), nullable=False),
        sa.Column("deal_id", sa.String(36), nullable=False),
        sa.Column("lots", exact(18, 8), nullable=False),
        sa.Column("units", exact(20, 2), nullable=False),
        sa.Column("price", exact(18, 8), nullable=False),
        sa.Column("fill_timestamp", utc(), nullable=False),
    )
    op.create_index("ix_execution_fills_execution_id", "execution_fills", ["execution_id"])
    op.create_index("uq_fill_deal", "execution_fills", ["execution_id", "deal_id"], unique=True)
    op.create_table(
        "intake_errors",
        sa.Column("intake_error_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("received_timestamp", utc(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("source", sa.String(255)),
        sa.Column("rpm_order_id", sa.String(64)),
        sa.Column("errors", sa.Text, nullable=False),
        sa.Column("raw_payload", sa.Text, nullable=False),
    )
    op.create_index("ix_intake_errors_received_timestamp", "intake_errors", ["received_timestamp"])
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=False),
        sa.Column("event_timestamp", utc(), nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("execution_id", sa.String(36)),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(64), nullable=False),
    )
    op.create_index("idx_audit_time", "audit_events", ["event_timestamp"])
    op.create_index("idx_audit_execution", "audit_events", ["execution_id", "seq"])
    for statement in SQLITE_TRIGGERS if op.get_bind().dialect.name == "sqlite" else PG_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("stores are never downgraded: going back could drop what users recorded")
