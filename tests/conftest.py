"""Shared test helpers: where the real market data lives."""

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    assert SHARED_DATA.is_dir(), f"the real market data is expected in {SHARED_DATA}"
    return SHARED_DATA
