"""Every /api route and /metrics refuse callers without the right bearer token, with a JSON
error; the OpenAPI spec is public and declares the scheme."""

from __future__ import annotations

import httpx

from .conftest import Served

ROUTES = [
    ("GET", "/api/v1/status"),
    ("GET", "/api/v1/trades?limit=0"),  # the token is checked before the parameters
    ("GET", "/api/v1/events"),
    ("POST", "/api/v1/pause"),
    ("POST", "/api/v1/closeall"),
    ("POST", "/api/v1/close/SYN-USD"),
    ("GET", "/metrics"),
]


async def test_no_token_and_wrong_tokens_get_401(finished: Served) -> None:
    base = str(finished.client.base_url)
    wrong = [
        {},
        {"Authorization": "Bearer not-the-token-at-all-000000"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
    ]
    async with httpx.AsyncClient(base_url=base) as anonymous:
        for method, path in ROUTES:
            for headers in wrong:
                response = await anonymous.request(method, path, headers=headers)
                assert response.status_code == 401, (method, path, headers)
                assert response.headers["www-authenticate"] == "Bearer"
                assert "bearer token" in response.json()["error"]
    assert not finished.app.pipeline.risk.paused  # nothing refused was carried out


async def test_the_spec_is_public_and_declares_the_bearer_scheme(finished: Served) -> None:
    async with httpx.AsyncClient(base_url=str(finished.client.base_url)) as anonymous:
        spec = (await anonymous.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["bearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The token of the [api] section, or the one generated at the first start",
    }
    operations = [op for item in spec["paths"].values() for op in item.values()]
    assert len(operations) >= 15
    assert all(op["security"] == [{"bearerToken": []}] for op in operations)
    assert all("401" in op["responses"] for op in operations)
