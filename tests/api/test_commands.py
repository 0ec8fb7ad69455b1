"""POST commands act through the control service on the running bot, and show in the views."""

from __future__ import annotations

from trading_bot.core.events import PositionClosed

from .conftest import Served


async def test_pause_shows_in_status_and_resume_lifts_it(running: Served) -> None:
    client, risk = running.client, running.app.pipeline.risk
    paused = (await client.post("/api/v1/pause")).json()
    assert paused == {"paused": True, "changed": True} and risk.paused
    status = (await client.get("/api/v1/status")).json()["status"]
    assert status["paused"] is True and "by command (api)" in status["pause_reason"]
    assert (await client.post("/api/v1/pause")).json()["changed"] is False
    assert (await client.post("/api/v1/resume")).json() == {"paused": False, "changed": True}
    assert not risk.paused
    assert (await client.get("/api/v1/status")).json()["status"]["paused"] is False


async def test_close_and_close_all_exit_at_market(holding: Served) -> None:
    """Only the commands close: the strategy holds its long until told otherwise."""
    client, portfolio = holding.client, holding.app.pipeline.portfolio
    await holding.until(lambda: portfolio.open_position_count() == 1)
    assert (await client.post("/api/v1/pause")).status_code == 200  # no new entry after
    response = await client.post("/api/v1/close/syn-usd")
    assert response.status_code == 200
    assert "SYN/USD at market" in response.json()["result"]
    await holding.until(lambda: portfolio.open_position_count() == 0)
    closed = [e for e in holding.events if isinstance(e, PositionClosed)][-1]
    assert "by command (api)" in closed.trade.exit_reason

    assert (await client.post("/api/v1/resume")).status_code == 200
    await holding.until(lambda: portfolio.open_position_count() == 1)
    assert (await client.post("/api/v1/pause")).status_code == 200
    assert (await client.post("/api/v1/closeall")).json() == {"positions_closing": 1}
    await holding.until(lambda: portfolio.open_position_count() == 0)
    closed = [e for e in holding.events if isinstance(e, PositionClosed)][-1]
    assert "by command (api)" in closed.trade.exit_reason
