"""Alembic environment: migrate on the connection that `Database.migrate()` hands over."""

from alembic import context

from trading_bot.storage.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the migrations with trading_bot.storage.Database(url).migrate()")

context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
