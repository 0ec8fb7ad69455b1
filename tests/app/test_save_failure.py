"""A save the database refuses loses nothing: its records go with the next save, and the
periodic saving goes on. The refusal is a real SQLite error inside the real transaction (a
trigger that aborts inserts of trades), so the store's rollback is exercised too."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from trading_bot.core.events import FeedEnded, PositionClosed
from trading_bot.storage import Database, StateStore

from .test_control import start

REFUSE_TRADES = """
CREATE TRIGGER refuse_trades BEFORE INSERT ON trades
BEGIN SELECT RAISE(ABORT, 'disk I/O error (test)'); END
"""


async def test_a_refused_save_is_kept_and_saved_later(
    tmp_path: Path, restore_logging: None
) -> None:
    url = f"sqlite:///{tmp_path}/bot.sqlite"
    database = Database(url)
    database.migrate()  # the tables exist: the trigger goes on them before the bot starts
    database.close()
    with sqlite3.connect(tmp_path / "bot.sqlite") as connection:
        connection.execute(REFUSE_TRADES)

    run = await start(tmp_path, candles=600, speed=0)
    await run.until(lambda: bool(run.of(FeedEnded)))
    trades = len(run.of(PositionClosed))
    assert trades > 5
    with pytest.raises(Exception, match="disk I/O error"):
        await run.app._flush()
    flusher = next(t for t in run.app.tasks if t.get_name() == "storage-flush")
    assert not flusher.done()  # the periodic saves failed too, and go on
    store = StateStore(Database(url))
    assert store.trade_count() == 0  # each failed save was rolled back whole

    with sqlite3.connect(tmp_path / "bot.sqlite") as connection:
        connection.execute("DROP TRIGGER refuse_trades")
    await run.app._flush()
    assert store.trade_count() == trades  # every trade, once
    booked = [e.trade for e in run.of(PositionClosed) if isinstance(e, PositionClosed)]
    saved = store.load_trades(limit=trades + 1)
    key = sorted((t.exit_time, t.symbol, str(t.qty)) for t in booked)
    assert sorted((t.exit_time, t.symbol, str(t.qty)) for t in saved) == key
    run.app.request_stop()
    assert await run.task == 0
    await run.app.market.close()
