"""Market data: candle files, synthetic candles, timeframes, and the DataProcessor that turns a
stream of raw updates into closed candles, exactly once and in order."""
