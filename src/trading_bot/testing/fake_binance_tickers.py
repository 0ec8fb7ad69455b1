"""24 h tickers on the fake Binance: `GET /api/v3/ticker/24hr` in Binance's FULL shape.

Mount it on a `FakeBinance` before that starts, with the same candle frames:

    fake = FakeBinance({"BTC/USDT": frame}, "1h", live_from_ms=start)
    FakeBinanceTickers(fake, {"BTC/USDT": frame})
    async with fake:
        ...  # BinanceScanSource(BinanceRest(fake.settings(), fake.clock), markets)

The statistics are those of the candles that closed in the 24 hours before the fake's clock
(Binance's rolling window, at candle resolution): open of the first, close of the last, the
high, the low, the base volume and the quote volume (volume x close, as the fake's klines).
`symbol=` answers one object, `symbols=["A","B"]` an array, neither every symbol; an unknown
symbol is -1121.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson
import pandas as pd
from aiohttp import web

from trading_bot.data.files import frame_to_arrays
from trading_bot.testing.fake_binance import FakeBinance

DAY_MS = 86_400_000


class FakeBinanceTickers:
    def __init__(self, fake: FakeBinance, markets: Mapping[str, pd.DataFrame]) -> None:
        self.fake = fake
        self._arrays = {
            symbol.replace("/", ""): frame_to_arrays(f) for symbol, f in markets.items()
        }
        fake.mount(self._add_routes)

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v3/ticker/24hr", self._ticker)

    async def _ticker(self, request: web.Request) -> web.Response:
        query = request.query
        try:
            if "symbol" in query:
                wanted: list[str] | None = [query["symbol"]]
            elif "symbols" in query:
                wanted = [str(s) for s in orjson.loads(query["symbols"])]
            else:
                wanted = None
        except orjson.JSONDecodeError:
            return _error(400, -1100, "Illegal characters found in parameter 'symbols'.")
        names = list(self._arrays) if wanted is None else wanted
        if any(name not in self._arrays for name in names):
            return _error(400, -1121, "Invalid symbol.")
        rows = [self._row(name) for name in names]
        body: Any = rows[0] if "symbol" in query else rows
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    def _row(self, venue: str) -> dict[str, Any]:
        times, opens, highs, lows, closes, volumes = self._arrays[venue]
        now, tf = self.fake.clock.now_ms(), self.fake.timeframe_ms
        window = np.flatnonzero((times >= now - DAY_MS) & (times + tf <= now))
        if len(window) == 0:
            window = np.array([0])
        first, last = int(window[0]), int(window[-1])
        o, c = float(opens[first]), float(closes[last])
        volume = float(volumes[window].sum())
        quote = float((volumes[window] * closes[window]).sum())
        return {
            "symbol": venue,
            "priceChange": _num(c - o),
            "priceChangePercent": f"{(c - o) / o * 100:.3f}",
            "weightedAvgPrice": _num(quote / volume if volume else c),
            "prevClosePrice": _num(float(closes[first - 1]) if first else o),
            "lastPrice": _num(c),
            "lastQty": "0.01000000",
            "bidPrice": _num(c),
            "bidQty": "1.00000000",
            "askPrice": _num(c),
            "askQty": "1.00000000",
            "openPrice": _num(o),
            "highPrice": _num(float(highs[window].max())),
            "lowPrice": _num(float(lows[window].min())),
            "volume": _num(volume),
            "quoteVolume": _num(quote),
            "openTime": int(times[first]),
            "closeTime": int(times[last]) + tf - 1,
            "firstId": 1,
            "lastId": 100,
            "count": 100,
        }


def _num(x: float) -> str:
    return f"{x:.8f}"


def _error(status: int, code: int, msg: str) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status)
