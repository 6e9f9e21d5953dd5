"""Wider exact-number columns on PostgreSQL, as the release after 0.1.0 (46062cf) made them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Units to 8 decimals, prices to 10, pips to 19 digits, a model's confidence unbounded (app.domain.bounds):
what the engine computes no longer fails a write or is rounded. Every column only widens, so every
value is kept. That release widened a 0.1.0 store when it opened it; its stores match this revision.
SQLite keeps these numbers as text of any length: nothing to change there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UNITS, PRICE, PIPS = sa.Numeric(28, 8), sa.Numeric(24, 10), sa.Numeric(20, 1)
WIDER = {  # (table, column): (release 0.1.0's type, this revision's)
    ("execution_logs", "intended_units"): (sa.Numeric(20, 2), UNITS),
    ("execution_logs", "executed_units"): (sa.Numeric(20, 2), UNITS),
    ("execution_logs", "intended_price"): (sa.Numeric(18, 8), PRICE),
    ("execution_logs", "fill_price"): (sa.Numeric(18, 8), PRICE),
    ("execution_logs", "market_bid"): (sa.Numeric(18, 8), PRICE),
    ("execution_logs", "market_ask"): (sa.Numeric(18, 8), PRICE),
    ("execution_logs", "slippage_pips"): (sa.Numeric(10, 1), PIPS),
    ("execution_logs", "spread_pips"): (sa.Numeric(10, 1), PIPS),
    ("execution_logs", "confidence_score"): (sa.Numeric(6, 4), sa.Numeric()),
    ("execution_fills", "units"): (sa.Numeric(20, 2), UNITS),
    ("execution_fills", "price"): (sa.Numeric(18, 8), PRICE),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for (table, column), (before, after) in WIDER.items():
        op.alter_column(table, column, type_=after, existing_type=before)


def downgrade() -> None:
    raise NotImplementedError("stores are never downgraded: narrower columns could round what users recorded")
