"""The dashboard in a real headless Chromium (Debian's, driven by Playwright; no browser is
downloaded): during a paper run the page loads, its equity follows the trades, the pause button
pauses the bot, and the page fits a phone. A screenshot is saved in artifacts/."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Browser

from tests.app.botprocess import STARTED, BotProcess, write_config
from tests.browser.conftest import TOKEN, dashboard_address
from trading_bot.backtest.result import write_json
from trading_bot.backtest.runner import run_backtest
from trading_bot.core.settings import PipelineSettings
from trading_bot.data.files import load_candles

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


async def test_the_dashboard_follows_a_paper_run_and_pauses_it(
    tmp_path: Path, browser: Browser
) -> None:
    config = write_config(tmp_path / "bot.toml", tmp_path, candles=100_000, speed=20)
    bot = await BotProcess.start(config, tmp_path, TRADING_BOT_API__TOKEN=TOKEN)
    dashboard = await dashboard_address(bot)
    await bot.wait_for(STARTED)
    try:
        page = await browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        await page.goto(f"{dashboard}#token={TOKEN}")
        await page.wait_for_function("document.getElementById('equity').textContent !== '–'")
        assert await page.is_visible("#synthetic")  # the sample says what it is
        assert "#token" not in page.url  # taken out of the address bar
        first = await page.text_content("#equity")
        await page.wait_for_function(
            "(first) => document.getElementById('equity').textContent !== first", arg=first
        )  # updated live, from the event stream, as trades happen
        await page.wait_for_selector("#trades tr >> nth=1")  # a closed trade is listed
        fits = await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert fits, "the page is wider than a phone"
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=ARTIFACTS / "dashboard-phone.png", full_page=True)

        await page.click("#pause")
        await page.wait_for_selector("#state:has-text('PAUSED')")
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as api:
            status = (await api.get(f"{dashboard}api/v1/status")).json()
        assert status["status"]["paused"] is True
        await page.set_viewport_size({"width": 1280, "height": 900})
        await page.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)
    finally:
        assert await bot.stop() == 0


async def test_the_dashboard_opens_a_backtest_result(
    tmp_path: Path, browser: Browser, shared_data: Path
) -> None:
    frame = load_candles(shared_data / "binance-BTCUSDT-1h.csv.gz").iloc[:2000]
    result = run_backtest(frame, PipelineSettings(), "BTC/USDT")
    path = tmp_path / "result.json"
    write_json(result, path)
    config = write_config(tmp_path / "bot.toml", tmp_path, candles=100, speed=0)
    bot = await BotProcess.start(config, tmp_path, TRADING_BOT_API__TOKEN=TOKEN)
    dashboard = await dashboard_address(bot)
    try:
        page = await browser.new_page()
        await page.goto(dashboard)  # no token: the backtest viewer needs none
        await page.set_input_files("#result-file", path)
        await page.wait_for_selector("#result:not([hidden])")
        rows = await page.locator("#result-trades tr").count()
        assert rows == len(result.trades) + 1  # and the header
        summary = await page.text_content("#result-summary")
        assert summary is not None and f"{len(result.trades)} trades" in summary
    finally:
        assert await bot.stop() == 0
