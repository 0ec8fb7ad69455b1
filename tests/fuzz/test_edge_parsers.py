"""Fuzzing every parser at the edge (hypothesis): whatever arrives, nothing crashes and nothing
is silently corrupted; a bad message is dropped with a counted reason, a bad reply is a
TemporaryError, a bad configuration is a ConfigError with one line per problem."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trading_bot.config import ConfigError, load_settings
from trading_bot.core.events import CandleDataProcessed, MarketDataReceived
from trading_bot.core.hub import EventHub
from trading_bot.core.model import Candle, Instrument
from trading_bot.data.processor import DataProcessor
from trading_bot.venues.binance.feed import KlineTranslator
from trading_bot.venues.binance.markets import Market, Markets
from trading_bot.venues.binance.rest import decode_reply
from trading_bot.venues.binance.schemas import ExchangeInfo, StreamKline
from trading_bot.venues.binance.stream import FrameParser
from trading_bot.venues.errors import TemporaryError
from trading_bot.venues.oanda.schemas import stream_decoder
from trading_bot.venues.oanda.stream import LineParser

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats()
json_values = st.recursive(
    scalars | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**12), 10**12),
    st.sampled_from(["NaN", "Infinity", "-1", "0", "1e309", "", "abc"]),
).map(str)


def kline_frame(price: Any, *, closed: bool = True) -> bytes:
    kline = {"t": 60_000, "s": "BTCUSDT", "i": "1m", "o": price, "c": price, "h": price,
             "l": price, "v": "1", "x": closed}  # fmt: skip
    return orjson.dumps({"stream": "btcusdt@kline_1m", "data": {"e": "kline", "E": 1, "k": kline}})


@FUZZ
@given(st.binary(max_size=300) | json_values.map(orjson.dumps))
def test_binance_stream_frames_never_crash_the_parser(frame: bytes) -> None:
    parser = FrameParser()
    parsed = parser.parse(frame)
    assert parsed is not None or sum(parser.dropped.values()) == 1


@FUZZ
@given(numbers)
def test_impossible_prices_never_reach_the_strategy(price: str) -> None:
    """NaN, infinite, negative or zero prices are refused at the boundary, and counted."""
    hub = EventHub()
    processor = DataProcessor(hub)
    published: list[Candle] = []
    hub.subscribe(CandleDataProcessed, lambda e: published.append(e.candle))
    parser = FrameParser()
    markets = Markets([Market("BTC/USDT", "BTCUSDT", "TRADING", Instrument("BTC/USDT"))])
    translate = KlineTranslator(markets, ["BTC/USDT"], "1m", parser).candle
    kline = parser.parse(kline_frame(price))
    if isinstance(kline, StreamKline):
        candle = translate(kline)
        assert candle is not None
        hub.publish(MarketDataReceived(candle))
    value = _number(price)
    if value is not None and 0 < value < math.inf:
        assert [c.close for c in published] == [value]
    else:
        assert published == []
        assert sum(parser.dropped.values()) + sum(processor.dropped.values()) == 1


@FUZZ
@given(st.binary(max_size=300) | json_values.map(orjson.dumps))
def test_binance_rest_replies_of_any_shape_are_temporary_errors(body: bytes) -> None:
    try:
        decode_reply("/api/v3/exchangeInfo", body, ExchangeInfo)
    except TemporaryError as exc:
        assert "/api/v3/exchangeInfo" in str(exc)


@FUZZ
@given(st.binary(max_size=300) | json_values.map(orjson.dumps))
def test_oanda_stream_lines_never_crash_the_parser(line: bytes) -> None:
    parser = LineParser(stream_decoder)
    parsed = parser.parse(line)
    assert parsed is not None or sum(parser.dropped.values()) <= 1


toml_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200
) | st.lists(
    st.tuples(
        st.sampled_from(["bot", "risk", "binance", "telegram", "replay", "nope"]),
        st.sampled_from(["mode", "venue", "max_leverage", "symbol", "chat_ids", "speed", "x"]),
        st.sampled_from(['"live"', "-1", "1e999", "[1, 2]", '"BTC/USDT"', "true", "{}", "nan"]),
    ),
    max_size=4,
).map(lambda rows: "\n".join(f"[{s}]\n{k} = {v}" for s, k, v in rows))


@settings(max_examples=200, deadline=None)
@given(toml_text)
def test_any_configuration_file_loads_or_says_what_is_wrong(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bot.toml"
        path.write_text(text, encoding="utf-8")
        try:
            load_settings(path, {})
        except ConfigError as exc:
            assert exc.problems and all(p and "\n" not in p for p in exc.problems)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
