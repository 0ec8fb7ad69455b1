"""An entry's stop and target survive a restart between the entry's submission and its fill."""

from pathlib import Path

from trading_bot.core.model import Direction, OrderRole
from trading_bot.storage import Database, Recorder, StateStore

from .conftest import MakeDriver


def test_a_restored_entry_places_its_stop_and_target_when_it_fills(
    make_driver: MakeDriver, tmp_path: Path
) -> None:
    database = Database(f"sqlite:///{tmp_path}/bot.sqlite")
    database.migrate()
    store = StateStore(database)
    before = make_driver({0: (Direction.LONG, 95.0, 110.0)})
    recorder = Recorder(before.pipeline.hub, before.pipeline.execution.get)
    before.candle(100, 100, 100, 100)  # the signal: a market entry waits for the next open
    store.save(recorder.take_batch())

    after = make_driver({})
    (entry,) = store.load_orders(open_only=True)
    assert (entry.stop_loss, entry.take_profit) == (95, 110)
    after.pipeline.execution.restore([entry], sequence=1)
    after.pipeline.broker.submit(entry)
    after.index = 1
    after.candle(100, 101, 99, 100)
    roles = {o.role: o for o in after.pipeline.execution.open_orders()}
    assert set(roles) == {OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT}
    assert roles[OrderRole.STOP_LOSS].price == 95
    assert roles[OrderRole.TAKE_PROFIT].oco_id == roles[OrderRole.STOP_LOSS].client_order_id
    assert roles[OrderRole.STOP_LOSS].client_order_id == "tb-2"  # ids continue, never reused
