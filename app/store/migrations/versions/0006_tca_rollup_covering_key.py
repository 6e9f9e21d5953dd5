"""tca_rollup's primary key carries each count on PostgreSQL: GET /tca reads its index alone (issue 16).

Revision ID: 0006
Revises: 0005
Create Date: 2027-03-20

PostgreSQL keeps a table's rows in a heap apart from its indexes: reading a year of the rollup by hour
visited one heap page for about every other row (a day's counts are written over the whole day, among
every other period's). With the count included in the primary key's index, and the pages the vacuum has
marked all-visible, the read is an index-only scan. SQLite keeps the rollup as its primary key already
(WITHOUT ROWID): nothing changes there. The rows are kept as they are.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

KEY = "dim, grain, period, grp, metric, tenths"


def _key(include: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"ALTER TABLE tca_rollup DROP CONSTRAINT pk_tca_rollup,"
            f" ADD CONSTRAINT pk_tca_rollup PRIMARY KEY ({KEY}){include}"
        )


def upgrade() -> None:
    _key(" INCLUDE (n)")


def downgrade() -> None:
    _key("")
