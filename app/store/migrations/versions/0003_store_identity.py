"""The store records which audit key signs it: table store_identity (one row, the key's fingerprint).

Revision ID: 0003
Revises: 0002
Create Date: 2027-01-15

Only a table is added; nothing is changed. The migration cannot know the key: the row is written by
the first start at this revision (ExecutionStore.open), which holds the key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_identity",
        sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("key_fingerprint", sa.String(16), nullable=False),
        sa.Column("recorded_timestamp", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("store_identity")
