"""The dashboard of a bot trading a dynamic universe (live on the fake Binance, in a real
headless Chromium): the chart offers the traded symbols in a list, and shows the candles of the
one picked, never another's."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser

from tests.app.botprocess import STARTED, BotProcess
from tests.app.test_binance_live import live_config, venue_env
from tests.app.test_universe_live import UNIVERSE, markets
from tests.browser.conftest import TOKEN, dashboard_address
from trading_bot.testing.fake_binance import FakeBinance
from trading_bot.testing.fake_binance_tickers import FakeBinanceTickers
from trading_bot.testing.fake_binance_trading import FakeBinanceTrading

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
# BTC traded above 17,000 and ETH below 700 in these candles: a close says whose it is
CHART_CLOSES = "candleSeries.data().map((c) => c.close)"


async def test_the_chart_shows_the_traded_symbol_picked_in_its_list(
    tmp_path: Path, browser: Browser, shared_data: Path
) -> None:
    frames = markets(shared_data, candles=3000)
    fake = FakeBinance(frames, "1s", pace_s=0.01)
    FakeBinanceTickers(fake, frames)
    venue = FakeBinanceTrading(fake, balances={"USDT": 10_000})
    async with venue:
        env = {**venue_env(venue), **UNIVERSE, "TRADING_BOT_API__TOKEN": TOKEN}
        bot = await BotProcess.start(live_config(tmp_path), tmp_path, **env)
        dashboard = await dashboard_address(bot)
        await bot.wait_for(STARTED)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.goto(f"{dashboard}#token={TOKEN}")
            choice = page.locator("#chart-symbol")
            await choice.wait_for(state="visible")  # two symbols are traded: a list shows
            options = await choice.locator("option").all_text_contents()
            assert options == ["BTC/USDT", "ETH/USDT"]
            await page.wait_for_function(f"{CHART_CLOSES}.length > 0")
            btc = await page.evaluate(CHART_CLOSES)
            assert min(btc) > 10_000  # the configured symbol first

            await choice.select_option("ETH/USDT")
            await page.wait_for_function(f"{CHART_CLOSES}.every((close) => close < 1000)")
            shown = await page.evaluate(CHART_CLOSES)
            await page.wait_for_function(  # live candles arrive, and only ETH's
                f"{CHART_CLOSES}.length > {len(shown)}"
            )
            assert max(await page.evaluate(CHART_CLOSES)) < 1000
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=ARTIFACTS / "dashboard-universe.png", full_page=True)
        finally:
            assert await bot.stop() == 0
