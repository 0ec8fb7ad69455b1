"""Candles shared by every worker of a run: loaded once, never pickled per trial.

The open times and the OHLCV columns are stored as two numpy arrays. The local engine writes
them once to `.npy` files that each worker memory-maps read-only (the pages are shared through
the OS page cache); Ray `ray.put`s them once and its workers read them zero-copy from the
object store. Either way a worker rebuilds the frame as a view on those arrays, without a copy:
a backtest only reads its candles. Extra columns of a file (OANDA's spread) are not shared:
the backtest does not read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from trading_bot.data.files import COLUMNS, frame_to_arrays


@dataclass(frozen=True, slots=True)
class CandleArrays:
    times: npt.NDArray[np.int64]
    ohlcv: npt.NDArray[np.float64]
    """Shape (5, bars): open, high, low, close, volume; row-major, so the frame needs no copy."""
    synthetic: bool = False

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> CandleArrays:
        times, *columns = frame_to_arrays(frame)
        synthetic = bool(frame.attrs.get("synthetic", False))
        return cls(times, np.ascontiguousarray(np.stack(columns)), synthetic)

    def frame(self) -> pd.DataFrame:
        """The candles as the backtest reads them, a view on the arrays."""
        index = pd.DatetimeIndex(self.times.astype("datetime64[ms]"), name="time")
        frame = pd.DataFrame(
            self.ohlcv.T,
            index=index.tz_localize("UTC").as_unit("ns"),
            columns=list(COLUMNS),
            copy=False,
        )
        frame.attrs["synthetic"] = self.synthetic
        return frame

    def save(self, directory: Path) -> SharedCandles:
        np.save(directory / "times.npy", self.times)
        np.save(directory / "ohlcv.npy", self.ohlcv)
        return SharedCandles(str(directory), self.synthetic)


@dataclass(frozen=True, slots=True)
class SharedCandles:
    """What a local worker receives once at start: where the arrays are, a few bytes."""

    directory: str
    synthetic: bool

    def open(self) -> CandleArrays:
        directory = Path(self.directory)
        times = np.load(directory / "times.npy", mmap_mode="r")
        ohlcv = np.load(directory / "ohlcv.npy", mmap_mode="r")
        return CandleArrays(times, ohlcv, self.synthetic)
