"""Bearer-token check for every `/api` route (and `/metrics` unless configured otherwise)."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from trading_bot.api.errors import ApiError

CHALLENGE = {"WWW-Authenticate": "Bearer"}

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearerToken",
    description="The token of the [api] section, or the one generated at the first start",
)


def token_check(token: SecretStr) -> Callable[..., Awaitable[None]]:
    """A dependency refusing requests without `Authorization: Bearer <token>` (401)."""
    expected = token.get_secret_value().encode()

    async def check(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if credentials is None:
            raise ApiError(
                401, "missing bearer token: send 'Authorization: Bearer <token>'", CHALLENGE
            )
        # constant time: how long a comparison takes must not tell how much of a guess is right
        if not secrets.compare_digest(credentials.credentials.encode(), expected):
            raise ApiError(401, "wrong bearer token", CHALLENGE)

    return check
