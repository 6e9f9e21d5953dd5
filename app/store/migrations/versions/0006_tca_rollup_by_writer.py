"""tca_rollup kept by the store's writer, no longer by triggers (issue 16).

Revision ID: 0006
Revises: 0005
Create Date: 2027-03-20

The triggers of revision 0005 upserted 15 periods and groups for each figure of each row a statement
touched, one row at a time: with them an execution cost the writer 15-29 % more. The writer now adds each
group commit's changes to the rollup once per key (app.store.tca_rollup). The counts are as the triggers
left them, which is what the rows give, so nothing is recounted here. Rows changed outside the writer are
no longer counted as they change: `verify` names the difference and `execution-engine db rebuild-tca`
counts the rollup again.
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_0005 = importlib.import_module("app.store.migrations.versions.0005_tca_rollup")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name, _timing, table, _statement, _when in _0005.triggers(_0005.Sql("sqlite")):
        op.execute(f"DROP TRIGGER {name}" if sqlite else f"DROP TRIGGER {name} ON {table}")
        if not sqlite:
            op.execute(f"DROP FUNCTION {name}()")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for trigger in _0005.triggers(_0005.Sql(dialect)):
        _0005._create_trigger(dialect == "sqlite", *trigger)
