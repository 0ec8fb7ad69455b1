"""Fills record `fee_qty`: the part of a fill's quantity the venue kept as its fee.

Spot buys on Binance pay their commission in the asset bought, so the position grows by less
than the order filled; existing fills kept nothing (0).
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

# `schema.Money`: exact NUMERIC on PostgreSQL, text on SQLite.
MONEY = sa.String().with_variant(sa.Numeric(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("fills") as batch:
        batch.add_column(sa.Column("fee_qty", MONEY, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("fills") as batch:
        batch.drop_column("fee_qty")
