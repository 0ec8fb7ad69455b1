"""Persistence at the edge: the recorder buffers events in memory, the store writes them to
SQLite or PostgreSQL in batches and reads the bot's state back at start."""

from trading_bot.storage.batch import RecordBatch
from trading_bot.storage.database import Database, StorageError
from trading_bot.storage.recorder import Recorder
from trading_bot.storage.store import StateStore

__all__ = ["Database", "RecordBatch", "Recorder", "StateStore", "StorageError"]
