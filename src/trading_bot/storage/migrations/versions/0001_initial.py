"""Initial schema: orders, fills, trades, equity, open positions and bot state.

Written by hand to match `trading_bot.storage.schema`; it spells its types out rather than
importing the models, so that it keeps describing this revision when the models change.
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# `schema.Money`: exact NUMERIC on PostgreSQL, text on SQLite.
MONEY = sa.String().with_variant(sa.Numeric(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("client_order_id", sa.String(), nullable=False),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("side", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("qty", MONEY, nullable=False),
        sa.Column("price", MONEY, nullable=True),
        sa.Column("stop_loss", MONEY, nullable=True),
        sa.Column("take_profit", MONEY, nullable=True),
        sa.Column("expires", sa.BigInteger(), nullable=True),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("filled_qty", MONEY, nullable=False),
        sa.Column("avg_fill_price", MONEY, nullable=False),
        sa.Column("parent_id", sa.String(), nullable=True),
        sa.Column("oco_id", sa.String(), nullable=True),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("updated_time", sa.BigInteger(), nullable=False),
        sa.Column("venue_order_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("client_order_id", name="pk_orders"),
    )
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_table(
        "fills",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("fill_id", sa.String(), nullable=False),
        sa.Column("client_order_id", sa.String(), nullable=False),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("side", sa.String(), nullable=False),
        sa.Column("qty", MONEY, nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("fee", MONEY, nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fills"),
        sa.UniqueConstraint("fill_id", name="uq_fills_fill_id"),
    )
    op.create_index("ix_fills_client_order_id", "fills", ["client_order_id"])
    op.create_table(
        "trades",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("side", sa.String(), nullable=False),
        sa.Column("entry_time", sa.BigInteger(), nullable=False),
        sa.Column("exit_time", sa.BigInteger(), nullable=False),
        sa.Column("entry_price", MONEY, nullable=False),
        sa.Column("exit_price", MONEY, nullable=False),
        sa.Column("qty", MONEY, nullable=False),
        sa.Column("pnl", MONEY, nullable=False),
        sa.Column("fees", MONEY, nullable=False),
        sa.Column("exit_reason", sa.String(), nullable=False),
        sa.Column("entry_reason", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trades"),
    )
    op.create_table(
        "equity",
        sa.Column("time", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("equity", sa.Double(), nullable=False),
        sa.Column("cash", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("time", name="pk_equity"),
    )
    op.create_table(
        "positions",
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("qty", MONEY, nullable=False),
        sa.Column("avg_price", MONEY, nullable=False),
        sa.Column("opened_time", sa.BigInteger(), nullable=False),
        sa.Column("entry_fees", MONEY, nullable=False),
        sa.Column("realized_pnl", MONEY, nullable=False),
        sa.Column("last_price", sa.Double(), nullable=False),
        sa.Column("entry_reason", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("symbol", name="pk_positions"),
    )
    op.create_table(
        "bot_state",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_bot_state"),
    )


def downgrade() -> None:
    for table in ("bot_state", "positions", "equity", "trades", "fills", "orders"):
        op.drop_table(table)
