"""Shared test helpers: where the real market data lives, and the process-wide logging."""

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from tests.app.botprocess import BotProcess
from trading_bot.logs import AUDIT_LOGGER

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    assert SHARED_DATA.is_dir(), f"the real market data is expected in {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture(autouse=True)
def no_bot_outlives_its_test() -> Iterator[None]:
    yield
    BotProcess.kill_leftovers()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Leave the process-wide logging set-up as the test found it (for tests that configure
    logging as the command does)."""
    loggers = [logging.getLogger(), logging.getLogger(AUDIT_LOGGER)]
    saved = [(logger, list(logger.handlers), logger.level) for logger in loggers]
    structlog_config = structlog.get_config()
    yield
    for logger, handlers, level in saved:
        for handler in list(logger.handlers):
            if handler not in handlers:
                logger.removeHandler(handler)
                handler.close()
        logger.setLevel(level)
    structlog.configure(**structlog_config)
