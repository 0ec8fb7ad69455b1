"""Every error the API answers is `{"error": "<one readable sentence>"}` with a fitting status:
bad parameters (FastAPI's 422 list flattened into one message), a missing or wrong token,
commands the control service refuses, and a database that cannot be read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from trading_bot.control import ControlError
from trading_bot.storage.database import StorageError

log = structlog.get_logger("trading_bot.api")

_WHERE = {"query": "query parameter", "path": "path parameter", "header": "header"}


class ErrorBody(BaseModel):
    error: str


class ApiError(Exception):
    """A request the API answers with `status` and `message`."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": message}, status, headers=headers)


def validation_message(errors: Sequence[Any]) -> str:
    """FastAPI's list of problems as one sentence: `query parameter limit: ...; ...`."""
    parts = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        where = f"{_WHERE.get(loc[0], loc[0])} {'.'.join(loc[1:])}".strip() if loc else "request"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.message, exc.headers)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return error_response(exc.status_code, str(exc.detail), exc.headers)

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, validation_message(exc.errors()))

    async def refused(_: Request, exc: Exception) -> JSONResponse:
        return error_response(400, str(exc))

    async def storage(request: Request, exc: Exception) -> JSONResponse:
        log.error("API request failed to read the database", path=request.url.path, error=str(exc))
        return error_response(503, "the database cannot be read now; see the bot's log")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(ControlError, refused)
    app.add_exception_handler(StorageError, storage)
