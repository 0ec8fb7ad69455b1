"""Alembic migrations of the storage schema, run by `Database.migrate()` (no alembic.ini)."""
