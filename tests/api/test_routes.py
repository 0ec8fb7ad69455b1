"""Every route on a real paper bot over real HTTP: the shapes agree with the books, bad
requests get one readable JSON error, and no answer ever holds a secret."""

from __future__ import annotations

from decimal import Decimal

from .conftest import SECRET_KEY, TOKEN, Served

GET_ROUTES = (
    "status",
    "balance",
    "positions",
    "orders",
    "trades",
    "equity",
    "performance",
    "logs",
    "config",
    "tasks",
)


async def test_views_agree_with_the_books(finished: Served) -> None:
    app, client = finished.app, finished.client
    portfolio = app.pipeline.portfolio
    body = (await client.get("/api/v1/status")).json()
    status, health = body["status"], body["health"]
    assert status["mode"] == "paper" and status["synthetic"] and status["symbol"] == "SYN/USD"
    assert status["paused"] is False and status["venue"] == app.describe_venue()
    assert status["equity"] == portfolio.equity and status["uptime_s"] > 0
    assert health["healthy"] is True and health["problems"] == []

    balance = (await client.get("/api/v1/balance")).json()
    assert balance["cash"] == float(portfolio.cash) and balance["starting_cash"] == 10_000

    positions = (await client.get("/api/v1/positions")).json()
    assert [p["symbol"] for p in positions] == [p.symbol for p in portfolio.open_positions()]
    for shown, held in zip(positions, portfolio.open_positions(), strict=True):
        assert Decimal(shown["qty"]) == held.qty  # money stays exact: a decimal string

    orders = (await client.get("/api/v1/orders")).json()
    open_orders = app.pipeline.execution.open_orders()
    assert [o["client_order_id"] for o in orders] == [o.client_order_id for o in open_orders]
    assert all(o["status"] in ("new", "submitted", "accepted", "partially_filled") for o in orders)


async def test_trades_are_paged_newest_first(finished: Served) -> None:
    stored = finished.app.store.load_trades()
    assert len(stored) > 5
    first = (await finished.client.get("/api/v1/trades", params={"limit": 3})).json()
    assert first["total"] == len(stored) and first["limit"] == 3 and first["offset"] == 0
    newest = stored[::-1]
    assert [t["exit_time"] for t in first["trades"]] == [t.exit_time for t in newest[:3]]
    second = (await finished.client.get("/api/v1/trades?limit=3&offset=3")).json()
    assert [t["exit_time"] for t in second["trades"]] == [t.exit_time for t in newest[3:6]]
    assert Decimal(second["trades"][0]["pnl"]) == newest[3].pnl
    past_the_end = (await finished.client.get(f"/api/v1/trades?offset={len(stored)}")).json()
    assert past_the_end["trades"] == []


async def test_equity_is_the_stored_series(finished: Served) -> None:
    stored = finished.app.store.load_equity()
    everything = (await finished.client.get("/api/v1/equity?limit=20000")).json()["points"]
    assert [(p["time"], p["equity"], p["cash"]) for p in everything] == stored
    since = stored[-10][0]
    tail = (await finished.client.get(f"/api/v1/equity?since={since}&limit=4")).json()
    assert [p["time"] for p in tail["points"]] == [row[0] for row in stored[-4:]]


async def test_performance_logs_config_and_tasks(finished: Served) -> None:
    client = finished.client
    performance = (await client.get("/api/v1/performance?days=366")).json()
    trades = finished.app.store.load_trades()
    assert performance["profit"]["trades"] == len(trades)
    assert sum(row["trades"] for row in performance["by_reason"]) == len(trades)
    assert len(performance["daily"]) == 366

    lines = (await client.get("/api/v1/logs?lines=500")).json()["lines"]
    assert any('"bot started"' in line for line in lines)

    config = (await client.get("/api/v1/config")).json()["config"]
    assert config["bot"]["mode"] == "paper" and config["replay"]["candles"] == 600
    assert config["binance"]["api_key"] == "***"

    body = (await client.get("/api/v1/tasks")).json()
    assert body["scheduled"] == []  # no periodic service is enabled in this run
    tasks = {t["name"]: t for t in body["tasks"]}
    assert tasks["storage-flush"]["state"] == "running"  # the app's own named tasks


async def test_no_route_ever_returns_a_secret(finished: Served) -> None:
    for route in GET_ROUTES:
        response = await finished.client.get(f"/api/v1/{route}")
        assert response.status_code == 200, (route, response.text)
        assert SECRET_KEY not in response.text and TOKEN not in response.text, route
    spec = (await finished.client.get("/openapi.json")).text
    assert SECRET_KEY not in spec and TOKEN not in spec


async def test_bad_requests_get_one_readable_json_error(finished: Served) -> None:
    client = finished.client
    response = await client.get("/api/v1/trades?limit=0&offset=x")
    assert response.status_code == 422
    message = response.json()["error"]
    assert "query parameter limit: Input should be greater than or equal to 1" in message
    assert "query parameter offset: Input should be a valid integer" in message

    response = await client.post("/api/v1/close/DOGE-USD")
    assert response.status_code == 404
    assert response.json() == {"error": "no open position or order named 'DOGE-USD'"}

    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json() == {"error": "Not Found"}
    response = await client.delete("/api/v1/status")
    assert response.status_code == 405 and response.json() == {"error": "Method Not Allowed"}


async def test_candles_of_a_traded_symbol(finished: Served) -> None:
    client, processor = finished.client, finished.app.pipeline.processor
    recent = processor.recent("SYN/USD", finished.app.timeframe)
    status = (await client.get("/api/v1/status")).json()["status"]
    assert status["symbols"] == ["SYN/USD"]
    for path in ("/api/v1/candles", "/api/v1/candles?symbol=SYN/USD"):
        candles = (await client.get(path)).json()
        assert [c["open_time"] for c in candles] == [c.open_time for c in recent]
    unknown = await client.get("/api/v1/candles?symbol=ETH/USDT")
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "ETH/USDT is not traded now (traded: SYN/USD)"}
