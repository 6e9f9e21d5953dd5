"""Transaction-cost analysis per fill: table execution_tca (issue 16).

Revision ID: 0004
Revises: 0003
Create Date: 2027-02-01

Only a table is added; nothing is changed. Executions filled before this revision have no row: their
mark-outs were never sampled, and the moment has passed.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def exact(precision: int, scale: int) -> sa.types.TypeEngine[Any]:
    return sa.Numeric(precision, scale).with_variant(sa.String(40), "sqlite")


PRICE, PIPS = exact(24, 10), exact(20, 1)


def upgrade() -> None:
    op.create_table(
        "execution_tca",
        sa.Column("execution_id", sa.String(36), primary_key=True),
        sa.Column("arrival_mid", PRICE, nullable=False),
        sa.Column("spread_pips", PIPS),
        sa.Column("slippage_vs_arrival_pips", PIPS),
        sa.Column("pip", PRICE, nullable=False),
        sa.Column("marked_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("markout_1s_pips", PIPS),
        sa.Column("markout_5s_pips", PIPS),
        sa.Column("markout_30s_pips", PIPS),
        sa.Column("markout_60s_pips", PIPS),
        sa.Column("markouts_missing", sa.String(20)),
        sa.Column("markouts_pending", sa.SmallInteger, nullable=False),
    )
    op.create_index("idx_tca_pending", "execution_tca", ["markouts_pending"])


def downgrade() -> None:
    op.drop_index("idx_tca_pending", "execution_tca")
    op.drop_table("execution_tca")
