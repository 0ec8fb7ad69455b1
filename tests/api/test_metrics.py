"""/metrics on a real paper bot: hub counts, order flow, latency and state gauges."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from trading_bot.api.metrics import MAX_REASONS, BotMetrics, reason_label
from trading_bot.core.events import OrderRejected

from .conftest import Served


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_count_what_the_bot_did(finished: Served) -> None:
    app = finished.app
    response = await finished.client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    hub = app.pipeline.hub
    candles = found[("trading_bot_events_total", (("type", "CANDLE_DATA_PROCESSED"),))]
    assert candles == hub.published["CANDLE_DATA_PROCESSED"] == 600
    requests = hub.published["ORDER_REQUEST_GENERATED"]
    assert requests > 5
    # every order request of a replayed candle is timed from that candle's dispatch
    assert found[("trading_bot_candle_to_order_seconds_count", ())] == requests
    assert found[("trading_bot_candle_to_order_seconds_sum", ())] > 0
    filled = found[("trading_bot_orders_total", (("status", "filled"),))]
    submitted = found[("trading_bot_orders_total", (("status", "submitted"),))]
    assert 0 < filled <= submitted == hub.published["ORDER_SUBMITTED"]
    assert found[("trading_bot_fills_total", (("role", "entry"),))] > 0
    assert found[("trading_bot_equity", ())] == app.pipeline.portfolio.equity
    assert found[("trading_bot_open_positions", ())] == app.pipeline.portfolio.open_position_count()
    assert found[("trading_bot_paused", ())] == 0
    assert found[("trading_bot_tasks_failed", ())] == 0
    assert found[("trading_bot_api_stream_clients", ())] == 0
    # every handler is timed: the strategy host ran once per closed candle
    host = (("handler", "StrategyHost._on_candle"),)
    assert found[("trading_bot_handler_seconds_count", host)] >= 600

    await finished.client.post("/api/v1/pause")
    paused = samples((await finished.client.get("/metrics")).text)
    assert paused[("trading_bot_paused", ())] == 1


def test_rejection_reasons_make_few_labels(finished: Served) -> None:
    assert reason_label("trading is paused (by command (api)): no new entries") == (
        "trading is paused"
    )
    assert reason_label("5 positions are open already (risk.max_open_positions)") == (
        "n positions are open already"
    )
    assert reason_label(
        "daily loss limit hit: no new entries until 2024-01-02T00:00:00Z"
    ) == reason_label("daily loss limit hit: no new entries until 2024-03-09T00:00:00Z")
    metrics: BotMetrics = finished.api.app.state.metrics
    hub = finished.app.pipeline.hub
    before = len(metrics.rejections.collect()[0].samples) // 2  # _total and _created each
    for n in range(MAX_REASONS + 10):
        hub.publish(OrderRejected("SYN/USD", "reason " + "x" * n, 0))
    labels = {s.labels["reason"] for s in metrics.rejections.collect()[0].samples}
    assert len(labels) == MAX_REASONS + 1 and "other" in labels
    other = metrics.registry.get_sample_value("trading_bot_rejections_total", {"reason": "other"})
    assert other == 10 + before  # the replay's own reasons took some of the places
