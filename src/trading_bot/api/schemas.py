"""Response bodies of the API. The control service's own views (frozen dataclasses) are used
as they are; these wrap them where a route returns more than one view or a page."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from trading_bot.api.tasks import TaskView
from trading_bot.control import DayPnl, Health, Profit, ReasonPerformance, Status
from trading_bot.core.model import Trade
from trading_bot.services.scheduler import TaskInfo


class CandleBody(BaseModel):
    symbol: str
    timeframe_ms: int
    open_time: int  # epoch ms
    open: float
    high: float
    low: float
    close: float
    volume: float
    closed: bool


class StatusBody(BaseModel):
    status: Status
    health: Health


class TradesPage(BaseModel):
    """Closed trades, newest first; `offset` counts back from the newest."""

    total: int
    limit: int
    offset: int
    trades: list[Trade]


class EquityPoint(BaseModel):
    time: int  # epoch ms of the candle close it was marked at
    equity: float
    cash: float


class EquitySeries(BaseModel):
    points: list[EquityPoint]


class PerformanceBody(BaseModel):
    profit: Profit
    daily: list[DayPnl]  # newest first
    by_reason: list[ReasonPerformance]  # best first


class LogLines(BaseModel):
    lines: list[str]  # JSON lines of the log file, oldest first


class ConfigBody(BaseModel):
    config: dict[str, Any]  # every secret masked


class TaskList(BaseModel):
    tasks: list[TaskView]  # the bot's background tasks
    scheduled: list[TaskInfo]  # the periodic services: runs, errors, last and next run


class PauseResult(BaseModel):
    paused: bool
    changed: bool  # False: it already was as asked


class CloseResult(BaseModel):
    result: str


class CloseAllResult(BaseModel):
    positions_closing: int
