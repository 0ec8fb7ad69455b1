"""The `/api/v1` routes: thin calls into the control service, which every face shares (the
Telegram commands call the same methods), plus paged reads of the store.

Every route is `async def`: FastAPI runs plain `def` routes in worker threads, and the
pipeline must only be touched from the event loop. Database reads go to a thread explicitly.

The commands (POST) take no body and no query parameter: one sent is refused (422), never
ignored, so that `close/BTC-USDT?qty=0.1` cannot close the whole position while its caller
believes it closed a part."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from trading_bot.api.errors import ApiError, ErrorBody
from trading_bot.api.schemas import (
    CandleBody,
    CloseAllResult,
    CloseResult,
    ConfigBody,
    EquityPoint,
    EquitySeries,
    LogLines,
    PauseResult,
    PerformanceBody,
    StatusBody,
    TaskList,
    TradesPage,
)
from trading_bot.api.stream import STREAMED, EventStream
from trading_bot.api.tasks import TaskProvider, task_views
from trading_bot.config import settings_summary
from trading_bot.control import Balance, BotControl, ControlError, PositionView
from trading_bot.core.model import Order

WHO = "api"  # who paused or closed, as the pause reason and the trade's exit reason tell
MAX_TIME_MS = 10**15  # far beyond any candle; keeps numbers inside what databases store

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No bearer token, or a wrong one"},
    422: {"model": ErrorBody, "description": "A parameter is invalid; the message says which"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Nothing of that name"}
}


async def takes_nothing(request: Request) -> None:
    """Refuses a command sent with a body or query parameters it would not read."""
    if request.query_params:
        names = ", ".join(sorted(set(request.query_params)))[:80]
        raise ApiError(422, f"query parameter {names}: this command takes no parameters")
    length = request.headers.get("content-length", "0")
    if length != "0" or "transfer-encoding" in request.headers:
        raise ApiError(422, "request body: this command takes no body")


COMMAND = [Depends(takes_nothing)]


def api_router(
    control: BotControl,
    stream: EventStream,
    tasks: TaskProvider,
    auth: Callable[..., Any],
) -> APIRouter:
    router = APIRouter(prefix="/api/v1", dependencies=[Depends(auth)], responses=ERRORS)
    store = control.bot.store

    @router.get("/status", summary="Mode, venue, feed health, pause, uptime and version")
    async def status() -> StatusBody:
        return StatusBody(status=control.status(), health=control.health())

    @router.get("/balance", response_model=Balance)
    async def balance() -> Any:
        return control.balance()

    @router.get("/positions", response_model=list[PositionView])
    async def positions() -> Any:
        return control.positions()

    @router.get(
        "/candles", summary="The latest closed candles of a traded symbol", responses=_NOT_FOUND
    )
    async def candles(
        symbol: Annotated[
            str | None,
            Query(max_length=40, description="BASE/QUOTE; default: the configured symbol"),
        ] = None,
    ) -> list[CandleBody]:
        try:
            return [CandleBody(**c._asdict()) for c in control.candles(symbol)]
        except ControlError as exc:
            raise ApiError(404, str(exc)) from None

    @router.get("/orders", summary="Open orders", response_model=list[Order])
    async def orders() -> Any:
        return control.bot.pipeline.execution.open_orders()

    @router.get("/trades", summary="Closed trades, newest first, a page at a time")
    async def trades(
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_TIME_MS)] = 0,
    ) -> TradesPage:
        total = await asyncio.to_thread(store.trade_count)
        page = await asyncio.to_thread(store.load_trades, limit, offset)
        return TradesPage(total=total, limit=limit, offset=offset, trades=page[::-1])

    @router.get("/equity", summary="Equity after each closed candle, oldest first")
    async def equity(
        since: Annotated[int | None, Query(ge=0, le=MAX_TIME_MS, description="epoch ms")] = None,
        limit: Annotated[int, Query(ge=1, le=20_000, description="the latest points")] = 2_000,
    ) -> EquitySeries:
        rows = await asyncio.to_thread(store.load_equity, since, limit)
        return EquitySeries(points=[EquityPoint(time=t, equity=e, cash=c) for t, e, c in rows])

    @router.get("/performance", summary="Profit, daily PnL and results by entry reason")
    async def performance(
        days: Annotated[int, Query(ge=1, le=366)] = 7,
    ) -> PerformanceBody:
        return PerformanceBody(
            profit=await control.profit(),
            daily=await control.daily(days),
            by_reason=await control.performance(),
        )

    @router.get("/logs", summary="The last lines of the log file", responses=_NOT_FOUND)
    async def logs(lines: Annotated[int, Query(ge=1, le=500)] = 100) -> LogLines:
        try:
            return LogLines(lines=await asyncio.to_thread(control.logs, lines))
        except ControlError as exc:
            raise ApiError(404, str(exc)) from None

    @router.get("/config", summary="The effective configuration, secrets masked")
    async def config() -> ConfigBody:
        return ConfigBody(config=settings_summary(control.bot.settings))

    @router.get("/tasks", summary="Background tasks, and the periodic services' schedule")
    async def background_tasks() -> TaskList:
        return TaskList(tasks=task_views(tasks()), scheduled=control.scheduled())

    @router.post(
        "/pause", dependencies=COMMAND, summary="No new entries (exits and protection go on)"
    )
    async def pause() -> PauseResult:
        changed = control.pause(WHO)
        return PauseResult(paused=True, changed=changed)

    @router.post("/resume", dependencies=COMMAND, summary="New entries again")
    async def resume() -> PauseResult:
        changed = control.resume()
        return PauseResult(paused=False, changed=changed)

    @router.post(
        "/close/{target}",
        dependencies=COMMAND,
        summary="Close a position at market, or cancel an open order by its client id",
        responses=_NOT_FOUND,
    )
    async def close(
        target: Annotated[
            str, Path(min_length=1, max_length=64, description="SYN-USD, SYNUSD or a client id")
        ],
    ) -> CloseResult:
        try:
            return CloseResult(result=control.close(target, WHO))
        except ControlError as exc:
            raise ApiError(404, str(exc)) from None

    @router.post(
        "/closeall",
        dependencies=COMMAND,
        summary="Cancel every open order and close every position",
    )
    async def close_all() -> CloseAllResult:
        return CloseAllResult(positions_closing=control.close_all(WHO))

    @router.get(
        "/events",
        response_class=EventSourceResponse,
        summary="Live events (Server-Sent Events): " + ", ".join(STREAMED.values()),
        description="Each event's `data` is the JSON of the hub event; `id` counts hub events, "
        "so a gap means events this client was not sent. A `dropped` event tells how many "
        "were lost because the client read too slowly. Nothing is replayed on reconnect.",
    )
    async def events() -> AsyncIterator[ServerSentEvent]:
        async with stream.connect() as client:
            async for item in client.items():
                seq = None if item.seq is None else str(item.seq)
                yield ServerSentEvent(raw_data=item.data, event=item.name, id=seq)

    return router
