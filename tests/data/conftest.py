"""Shared by the data tests: where the real market data lives (../shared/data from the repo)."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture
def data_dir() -> Path:
    assert DATA_DIR.is_dir(), f"the real market data is missing: expected it in {DATA_DIR}"
    return DATA_DIR
