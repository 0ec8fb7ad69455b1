"""`create_api`: the FastAPI application of one running bot.

Everything under `/api/v1` needs the bearer token; `/metrics` too unless
`api.metrics_need_token = false`; the OpenAPI spec (`/openapi.json`, which holds no secret)
does not. The interactive docs pages are off: they load scripts from a CDN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import SecretStr

from trading_bot import __version__
from trading_bot.api.auth import token_check
from trading_bot.api.errors import install_error_handlers
from trading_bot.api.metrics import BotMetrics
from trading_bot.api.routes import ERRORS, api_router
from trading_bot.api.settings import ApiSettings
from trading_bot.api.stream import EventStream
from trading_bot.api.tasks import TaskProvider, named_tasks
from trading_bot.control import BotControl
from trading_bot.core.hub import EventHub

STATIC = Path(__file__).with_name("static")  # the dashboard: built assets, no CDN
DESCRIPTION = (
    "Status, books and controls of a running trading-bot. Send the API token as "
    '`Authorization: Bearer <token>`. Errors are `{"error": "<message>"}`.'
)


def create_api(
    control: BotControl,
    hub: EventHub,
    settings: ApiSettings,
    token: SecretStr,
    tasks: TaskProvider = named_tasks,
) -> FastAPI:
    """The API of the bot `control` drives, fed by `hub`. `tasks` gives the background tasks
    `/api/v1/tasks` shows (default: the loop's named tasks). `app.state.stream` is the event
    stream (close it before stopping the server) and `app.state.metrics` the metrics."""
    app = FastAPI(
        title="trading-bot",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization"],
        )
    auth = token_check(token)
    bot_metrics = BotMetrics(control, hub, tasks)
    stream = EventStream(hub, bot_metrics.registry, settings.event_backlog)
    app.state.stream = stream
    app.state.metrics = bot_metrics
    app.include_router(api_router(control, stream, tasks, auth))

    metrics_dependencies = [Depends(auth)] if settings.metrics_need_token else []
    metrics_errors: dict[int | str, dict[str, Any]] = (
        {401: ERRORS[401]} if settings.metrics_need_token else {}
    )

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        """The dashboard page: it holds no secret; it asks for the token, or reads it from the
        address (`#token=...`, never sent to a server)."""
        return FileResponse(STATIC / "index.html")

    @app.get(
        "/metrics",
        response_class=PlainTextResponse,
        dependencies=metrics_dependencies,
        responses=metrics_errors,
        summary="Prometheus metrics",
    )
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(
            generate_latest(bot_metrics.registry), media_type=CONTENT_TYPE_LATEST
        )

    return app
